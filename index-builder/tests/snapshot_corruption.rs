//! Every file of a generation, damaged in each way a disk or an operator can damage it, is
//! refused with an error that names the file and the problem.

use std::fs;
use std::path::{Path, PathBuf};

use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::reader::Snapshot;
use credgate_index::format::{encode_header, FileKind, Problem, FORMAT_VERSION, HEADER_LEN};
use credgate_index::source::Encoding;

fn sample_generation(root: &Path) -> PathBuf {
    let report = build(&BuildOptions {
        source: Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample"),
        out: root.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: Some(0),
        history_from: None,
        today: Day::parse("2026-11-28").unwrap(),
        keep: 2,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap();
    report.generation
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Applies `damage` to one file of a fresh copy of the generation and returns what opening
/// and then verifying says.
fn damaged(
    gen: &Path,
    kind: FileKind,
    damage: impl Fn(&mut Vec<u8>),
) -> (PathBuf, Result<(), credgate_index::format::FormatError>) {
    let dir = tempfile::tempdir().unwrap().keep();
    copy_dir(gen, &dir);
    let path = dir.join(kind.file_name());
    let mut bytes = fs::read(&path).unwrap();
    damage(&mut bytes);
    fs::write(&path, &bytes).unwrap();
    let result = Snapshot::open(&dir).and_then(|s| s.verify());
    (path, result)
}

#[test]
fn an_intact_generation_opens_and_verifies() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let snap = Snapshot::open(root.path()).unwrap();
    assert_eq!(snap.dir(), gen);
    snap.verify().unwrap();
}

#[test]
fn each_file_refuses_a_flipped_payload_byte() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    for &kind in FileKind::ALL {
        let (path, r) = damaged(&gen, kind, |b| {
            let at = HEADER_LEN + (b.len() - HEADER_LEN) / 2;
            b[at] ^= 0x40;
        });
        let e = r.expect_err(kind.file_name());
        assert_eq!(e.file, path, "{kind:?}");
        assert!(
            matches!(e.problem, Problem::PayloadChecksum { .. }),
            "{kind:?}: {e}"
        );
        assert!(e.to_string().contains("payload checksum mismatch"), "{e}");
    }
}

#[test]
fn each_file_refuses_truncation_and_appended_bytes() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    for &kind in FileKind::ALL {
        let (path, r) = damaged(&gen, kind, |b| b.truncate(b.len() - 1));
        let e = r.expect_err(kind.file_name());
        assert_eq!(e.file, path);
        assert!(
            matches!(e.problem, Problem::Truncated { .. }),
            "{kind:?}: {e}"
        );

        let (_, r) = damaged(&gen, kind, |b| b.truncate(10));
        assert!(matches!(
            r.unwrap_err().problem,
            Problem::Truncated {
                expected: 32,
                found: 10
            }
        ));

        let (_, r) = damaged(&gen, kind, |b| b.push(0));
        assert!(
            matches!(r.unwrap_err().problem, Problem::TrailingBytes { .. }),
            "{kind:?}"
        );
    }
}

#[test]
fn each_file_refuses_bad_magic_and_a_damaged_header() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    for &kind in FileKind::ALL {
        let (_, r) = damaged(&gen, kind, |b| b[0..8].copy_from_slice(b"PK\x03\x04zip!"));
        let e = r.unwrap_err();
        assert!(matches!(e.problem, Problem::BadMagic), "{kind:?}: {e}");
        assert!(
            e.to_string()
                .ends_with("not a credgate snapshot file (bad magic)"),
            "{e}"
        );

        let (_, r) = damaged(&gen, kind, |b| b[17] ^= 1);
        assert!(
            matches!(r.unwrap_err().problem, Problem::HeaderChecksum),
            "{kind:?}"
        );
    }
}

/// Rewrites a header as another version or kind would have, with a valid header checksum.
fn reheader(b: &mut [u8], kind: FileKind, version: u32) {
    let len = (b.len() - HEADER_LEN) as u64;
    let crc = u32::from_le_bytes(b[24..28].try_into().unwrap());
    let mut h = encode_header(kind, len, crc);
    h[12..16].copy_from_slice(&version.to_le_bytes());
    let hc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&hc.to_le_bytes());
    b[..HEADER_LEN].copy_from_slice(&h);
}

#[test]
fn each_file_refuses_a_newer_or_older_format_and_a_foreign_kind() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    for &kind in FileKind::ALL {
        let newer = FORMAT_VERSION + 1;
        let (_, r) = damaged(&gen, kind, |b| reheader(b, kind, newer));
        let e = r.unwrap_err();
        assert!(
            matches!(e.problem, Problem::NewerVersion { found } if found == newer),
            "{kind:?}: {e}"
        );
        assert!(e.to_string().contains("upgrade credgate"), "{e}");

        let (_, r) = damaged(&gen, kind, |b| reheader(b, kind, 0));
        let e = r.unwrap_err();
        assert!(
            matches!(e.problem, Problem::OlderVersion { found: 0 }),
            "{kind:?}: {e}"
        );
        assert!(e.to_string().contains("rebuild the snapshot"), "{e}");

        let other = if kind == FileKind::Records {
            FileKind::Events
        } else {
            FileKind::Records
        };
        let (_, r) = damaged(&gen, kind, |b| reheader(b, other, FORMAT_VERSION));
        let e = r.unwrap_err();
        assert!(
            matches!(e.problem, Problem::WrongKind { .. }),
            "{kind:?}: {e}"
        );
    }
}

#[test]
fn a_file_swapped_for_another_generations_copy_is_caught_by_the_manifest() {
    // Two builds with different data: a valid file from one placed into the other.
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let other_root = tempfile::tempdir().unwrap();
    let other = build(&BuildOptions {
        source: Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample"),
        out: other_root.path().to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: Some(0),
        history_from: Some(Day::parse("2015-01-01").unwrap()),
        // A later day erases one more personal record, so the tables differ.
        today: Day::parse("2027-03-01").unwrap(),
        keep: 2,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap()
    .generation;
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&gen, dir.path());
    fs::copy(other.join("records.tbl"), dir.path().join("records.tbl")).unwrap();
    let e = Snapshot::open(dir.path()).unwrap_err();
    assert!(matches!(e.problem, Problem::ManifestMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("records.tbl: does not match the manifest"),
        "{e}"
    );
}

#[test]
fn a_missing_file_or_missing_generation_is_named() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    fs::remove_file(gen.join("events.tbl")).unwrap();
    let e = Snapshot::open(root.path()).unwrap_err();
    assert!(e.file.ends_with("events.tbl"), "{e}");
    fs::remove_dir_all(&gen).unwrap();
    let e = Snapshot::open(root.path()).unwrap_err().to_string();
    assert!(e.contains("which has no MANIFEST"), "{e}");
}

/// Rewrites the payload of one file of a copy of the generation and makes every checksum
/// agree again (its header and the manifest's entry), as a buggy builder would have written
/// it; returns what opening and verifying says.
fn rewritten(
    gen: &Path,
    kind: FileKind,
    edit: impl Fn(&mut Vec<u8>),
) -> Result<(), credgate_index::format::FormatError> {
    let dir = tempfile::tempdir().unwrap().keep();
    copy_dir(gen, &dir);
    let path = dir.join(kind.file_name());
    let mut payload = fs::read(&path).unwrap()[HEADER_LEN..].to_vec();
    edit(&mut payload);
    let crc = crc32c::crc32c(&payload);
    let mut file = encode_header(kind, payload.len() as u64, crc).to_vec();
    file.extend_from_slice(&payload);
    fs::write(&path, &file).unwrap();

    let mpath = dir.join(FileKind::Manifest.file_name());
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(&mpath).unwrap()[HEADER_LEN..]).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["name"] == kind.file_name() {
            f["bytes"] = (file.len() as u64).into();
            f["crc32c"] = crc.into();
        }
    }
    let json = serde_json::to_vec_pretty(&m).unwrap();
    let mut mfile =
        encode_header(FileKind::Manifest, json.len() as u64, crc32c::crc32c(&json)).to_vec();
    mfile.extend_from_slice(&json);
    fs::write(&mpath, &mfile).unwrap();
    Snapshot::open(&dir).and_then(|s| s.verify())
}

fn slot(payload: &[u8], i: usize) -> (u32, u32) {
    let at = 16 + 8 * i;
    let word = |o: usize| u32::from_le_bytes(payload[at + o..at + o + 4].try_into().unwrap());
    (word(0), word(4))
}

fn set_slot(payload: &mut [u8], i: usize, hash: u32, ord: u32) {
    let at = 16 + 8 * i;
    payload[at..at + 4].copy_from_slice(&hash.to_le_bytes());
    payload[at + 4..at + 8].copy_from_slice(&ord.to_le_bytes());
}

fn used_slots(payload: &[u8]) -> Vec<usize> {
    (0..(payload.len() - 16) / 8)
        .filter(|&i| slot(payload, i).1 != u32::MAX)
        .collect()
}

#[test]
fn an_identifier_index_that_disagrees_with_the_subjects_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let idx = FileKind::IdIndex;
    let malformed = |r: Result<(), credgate_index::format::FormatError>, want: &str| {
        let e = r.unwrap_err();
        assert!(e.file.ends_with("ids.idx"), "{e}");
        assert!(matches!(e.problem, Problem::Malformed { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e} (want {want:?})");
    };

    // Two entries' ordinals swapped: each now sits under another identifier's hash.
    malformed(
        rewritten(&gen, idx, |p| {
            let u = used_slots(p);
            let ((h0, o0), (h1, o1)) = (slot(p, u[0]), slot(p, u[1]));
            set_slot(p, u[0], h0, o1);
            set_slot(p, u[1], h1, o0);
        }),
        "is not that of subject",
    );
    // An ordinal past the subjects.
    malformed(
        rewritten(&gen, idx, |p| {
            let u = used_slots(p);
            let (h, _) = slot(p, u[3]);
            set_slot(p, u[3], h, 1_000_000);
        }),
        "out of bounds",
    );
    // One subject listed twice, another lost.
    malformed(
        rewritten(&gen, idx, |p| {
            let u = used_slots(p);
            let (h, o) = slot(p, u[2]);
            set_slot(p, u[5], h, o);
        }),
        "appears twice",
    );
    // An entry dropped: the count no longer matches.
    malformed(
        rewritten(&gen, idx, |p| {
            let u = used_slots(p);
            set_slot(p, u[4], 0, u32::MAX);
        }),
        "slots in use",
    );
    // The header's count disagrees with the subjects table (found at open).
    let e = rewritten(&gen, idx, |p| {
        let n = u32::from_le_bytes(p[4..8].try_into().unwrap());
        p[4..8].copy_from_slice(&(n + 1).to_le_bytes());
    })
    .unwrap_err();
    assert!(e.to_string().contains("identifiers for"), "{e}");
    // Slots cut short of the home slots.
    let e = rewritten(&gen, idx, |p| p.truncate(24)).unwrap_err();
    assert!(e.to_string().contains("home slots"), "{e}");
    // Not a whole number of slots.
    let e = rewritten(&gen, idx, |p| p.push(0)).unwrap_err();
    assert!(e.to_string().contains("whole 8-byte slots"), "{e}");
}

#[test]
fn a_version_2_generation_without_its_identifier_index_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&gen, dir.path());
    fs::remove_file(dir.path().join("ids.idx")).unwrap();
    let e = Snapshot::open(dir.path()).unwrap_err();
    assert!(e.file.ends_with("ids.idx"), "{e}");
}

#[test]
fn a_file_altered_with_its_checksums_forged_fails_its_sha256() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    // One digit of a document number changed, the header's CRC32C and the manifest's entry
    // recomputed to match: structurally sound, and only the digest can tell.
    let e = rewritten(&gen, FileKind::Strings, |p| {
        let at = p.iter().position(u8::is_ascii_digit).unwrap();
        p[at] = if p[at] == b'9' { b'0' } else { p[at] + 1 };
    })
    .unwrap_err();
    assert!(e.file.ends_with("strings.heap"), "{e}");
    assert!(e.to_string().contains("SHA-256"), "{e}");
}

/// Rewrites the manifest's JSON of a copy of the generation, with a valid header and
/// checksum; returns the copy.
fn with_manifest(gen: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    copy_dir(gen, &dir);
    let mpath = dir.join(FileKind::Manifest.file_name());
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(&mpath).unwrap()[HEADER_LEN..]).unwrap();
    edit(&mut m);
    let json = serde_json::to_vec_pretty(&m).unwrap();
    let mut mfile =
        encode_header(FileKind::Manifest, json.len() as u64, crc32c::crc32c(&json)).to_vec();
    mfile.extend_from_slice(&json);
    fs::write(&mpath, &mfile).unwrap();
    dir
}

#[test]
fn a_manifest_that_claims_a_newer_or_older_format_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let newer = FORMAT_VERSION + 1;
    let dir = with_manifest(&gen, |m| m["format_version"] = newer.into());
    let e = Snapshot::open(&dir).unwrap_err();
    assert!(
        matches!(e.problem, Problem::NewerVersion { found } if found == newer),
        "{e}"
    );
    assert!(e.file.ends_with("MANIFEST"), "{e}");
    assert!(e.to_string().contains("upgrade credgate"), "{e}");

    let dir = with_manifest(&gen, |m| m["format_version"] = 0.into());
    let e = Snapshot::open(&dir).unwrap_err();
    assert!(
        matches!(e.problem, Problem::OlderVersion { found: 0 }),
        "{e}"
    );
}

#[test]
fn a_generation_directory_holding_another_snapshot_is_refused() {
    // A whole generation copied (or renamed) under a name whose snapshot id is not its own:
    // every file agrees with the manifest, but the name CURRENT gives does not.
    let root = tempfile::tempdir().unwrap();
    let gen = sample_generation(root.path());
    let id = Snapshot::open(&gen).unwrap().id().to_string();
    let other = root.path().join("gen-000009-0123456789abcdef");
    copy_dir(&gen, &other);
    credgate_index::publish::set_current(root.path(), "gen-000009-0123456789abcdef").unwrap();
    let e = Snapshot::open(root.path()).unwrap_err();
    assert!(matches!(e.problem, Problem::ManifestMismatch { .. }), "{e}");
    assert!(e.file.ends_with("gen-000009-0123456789abcdef"), "{e}");
    assert!(e.to_string().contains(&id), "{e}");

    // Its own name, or a directory not named as a generation, opens.
    let same = root.path().join(format!("gen-000010-{id}"));
    copy_dir(&gen, &same);
    Snapshot::open(&same).unwrap().verify().unwrap();
    let plain = root.path().join("copy");
    copy_dir(&gen, &plain);
    Snapshot::open(&plain).unwrap().verify().unwrap();
}
