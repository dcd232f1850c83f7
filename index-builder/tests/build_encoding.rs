//! `index-builder build` and the source files' encodings: each file read as GB18030 without
//! being declared so is named in the report and the manifest, and `--file-encoding` declares
//! one file's encoding, refusing a path or an encoding it does not know.

mod common;

use std::path::Path;
use std::process::Output;

use credgate_index::format::reader::Snapshot;
use encoding_rs::GB18030;

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

fn source(dir: &Path) {
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    let utf8 = format!(
        "{LIST_HEADER}U1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n"
    );
    std::fs::write(dir.join("lists/a.csv"), utf8).unwrap();
    let gb = format!(
        "{LIST_HEADER}G1,market_abnormal,org,9144030071526726XG,乙公司,市监局,D2,,2024-01-01,2024-01-01,,\n"
    );
    std::fs::write(dir.join("lists/gb.csv"), GB18030.encode(&gb).0).unwrap();
}

fn build(source: &Path, root: &Path, args: &[&str]) -> Output {
    common::build_command(source, root)
        .args(["--today", "2026-11-28"])
        .args(args)
        .output()
        .unwrap()
}

/// `(path, encoding, encoding_from)` of each source file in the manifest of `root`.
fn encodings(root: &Path) -> Vec<(String, String, Option<String>)> {
    let snap = Snapshot::open(root).unwrap();
    snap.manifest()
        .sources
        .iter()
        .map(|s| (s.path.clone(), s.encoding.clone(), s.encoding_from.clone()))
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_file_detected_as_gb18030_is_named_in_the_report_and_the_manifest() {
    let src = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    source(src.path());
    let out = build(src.path(), root.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l == "lists/gb.csv: not UTF-8, read as GB18030"),
        "{stdout}"
    );
    assert!(!stdout.contains("lists/a.csv: not UTF-8"), "{stdout}");
    let detected = Some("detected".to_string());
    assert_eq!(
        encodings(root.path()),
        [
            ("lists/a.csv".into(), "utf-8".into(), detected.clone()),
            ("lists/gb.csv".into(), "gb18030".into(), detected),
        ]
    );
    let snap = Snapshot::open(root.path()).unwrap();
    let s = snap
        .subject(snap.lookup(b"9144030071526726XG").unwrap())
        .unwrap();
    assert_eq!(snap.str(s.name), "乙公司");
}

#[test]
fn file_encoding_declares_one_file() {
    let src = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    source(src.path());
    // The directory declared UTF-8 cannot be read: its GB18030 file fails…
    let out = build(src.path(), root.path(), &["--encoding", "utf-8"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("lists/gb.csv line 2: not valid utf-8")
            && stderr.contains("--file-encoding lists/gb.csv=gb18030"),
        "{stderr}"
    );
    // …until that file is declared GB18030 (a leading ./ is fine).
    let out = build(
        src.path(),
        root.path(),
        &[
            "--encoding",
            "utf-8",
            "--file-encoding",
            "./lists/gb.csv=GB18030",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("not UTF-8"),
        "declared, not detected"
    );
    let declared = Some("declared".to_string());
    assert_eq!(
        encodings(root.path()),
        [
            ("lists/a.csv".into(), "utf-8".into(), declared.clone()),
            ("lists/gb.csv".into(), "gb18030".into(), declared),
        ]
    );
}

#[test]
fn file_encoding_refuses_an_unknown_path_or_encoding() {
    let src = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    source(src.path());
    for (arg, says) in [
        (
            "lists/b.csv=gb18030",
            "--file-encoding \"lists/b.csv\": no such source file in",
        ),
        (
            "lists/gb.csv=big5",
            "--file-encoding \"lists/gb.csv=big5\": unknown encoding \"big5\" for lists/gb.csv",
        ),
        ("lists/gb.csv", "expected PATH=ENCODING"),
    ] {
        let out = build(src.path(), root.path(), &["--file-encoding", arg]);
        assert!(!out.status.success(), "{arg}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{arg}: {stderr}");
        assert!(
            !root.path().join("CURRENT").exists(),
            "{arg}: nothing published"
        );
    }
}

/// Not about encodings, but about what the same command prints: a rejected row's reason that
/// quotes a person's number is masked on standard output, and kept whole in the report.
#[test]
fn the_printed_rejects_mask_people_s_numbers() {
    let src = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    source(src.path());
    // A valid resident ID number under subject_type org: rejected, the reason quoting it.
    let person = "410102196804120211";
    std::fs::write(
        src.path().join("lists/b.csv"),
        format!(
            "{LIST_HEADER}P1,court_defaulter,org,{person},王某,法院,D3,,2024-01-01,2024-01-01,,\n"
        ),
    )
    .unwrap();
    let out = build(src.path(), root.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("reject lists/b.csv:2"), "{stdout}");
    assert!(!stdout.contains(person), "{stdout}");
    assert!(stdout.contains("410102********0211"), "{stdout}");
    let report = std::fs::read_to_string(root.path().join("rejects.csv")).unwrap();
    assert!(report.contains(person), "{report}");
}
