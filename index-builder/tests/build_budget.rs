//! The memory budget changes where the builder's working sets live, never what it writes:
//! a build whose budget forces hundreds of spilled runs publishes the same files, byte for
//! byte, and the same rejects.csv as a build that keeps everything in memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use credgate_index::build::{build_with_budget, BuildOptions, BuildReport};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::reader::Snapshot;
use credgate_index::ids::gen::sample_uscc;
use credgate_index::ids::ric;
use credgate_index::source::Encoding;
use credgate_index::synth::{self, SynthOptions};

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

fn options(source: &Path, out: &Path) -> BuildOptions {
    BuildOptions {
        source: source.to_path_buf(),
        out: out.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: None,
        history_from: None,
        today: Day::parse("2026-11-28").unwrap(),
        keep: 2,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A seeded synthetic source (which already holds duplicate record ids among its bad rows)
/// plus the cross-row cases the synth does not write: a subject given as org then person,
/// a record id copied three times, differently, and one delivered twice, the same,
/// repairs and objections of an unknown and of duplicated records, a link whose person is known as an org, and a person named only by
/// a link; and subjects named only by rejected rows (differing copies, a link whose person
/// is known as an org), which the build drops and renumbers around.
fn source(dir: &Path) {
    synth::generate(
        dir,
        &SynthOptions {
            records: 6_000,
            seed: 11,
        },
    )
    .unwrap();
    std::fs::write(
        dir.join("lists/zz_extra.csv"),
        format!(
            "{LIST_HEADER}\
             X1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             X2,court_defaulter,person,91110000600037341L,甲,法院,D2,,2024-01-01,2024-01-01,,\n\
             X3,market_abnormal,org,9144030071526726XG,乙公司,市监局,D3,,2024-01-01,2024-01-01,,\n\
             X3,tax_major_violation,org,121200004013590816,丁单位,税务局,D4,,2024-02-01,2024-02-01,,\n\
             X4,court_defaulter,org,9144030071526726XG,乙公司新名,法院,D5,,2025-01-01,2025-01-01,,\n\
             X3,court_defaulter,org,121200004013590816,丁单位,法院,D6,,2024-03-01,2024-03-01,,\n\
             X5,court_defaulter,org,410170198703280932,丙公司,法院,D7,,2024-01-01,2024-01-01,,\n\
             X6,court_defaulter,person,410170198703280932,张三,法院,D8,,2024-01-01,2024-01-01,,\n\
             X7,court_defaulter,org,121200004013590816,丁单位,法院,D9,,2024-04-01,2024-04-01,,\n\
             X8,court_defaulter,org,{gone_a},戊公司,法院,D10,,2024-01-01,2024-01-01,,\n\
             X8,court_defaulter,org,{gone_b},己公司,法院,D10,,2024-01-01,2024-01-01,,\n",
            gone_a = std::str::from_utf8(&sample_uscc(901)).unwrap(),
            gone_b = std::str::from_utf8(&sample_uscc(902)).unwrap(),
        ),
    )
    .unwrap();
    // X7 delivered again in another file, the same row: the first copy stays the record.
    std::fs::write(
        dir.join("lists/zz_extra2.csv"),
        format!(
            "{LIST_HEADER}\
             X7,court_defaulter,org,121200004013590816,丁单位,法院,D9,,2024-04-01,2024-04-01,,\n"
        ),
    )
    .unwrap();
    append(
        &dir.join("repairs.csv"),
        "X3,repair,2025-01-01,法院,Y1\nNOPE,repair,2025-01-01,法院,Y2\nX4,repair,2025-06-01,法院,Y3\n\
         X7,repair,2025-07-01,法院,Y4\n",
    );
    append(
        &dir.join("objections.csv"),
        "X3,2024-06-01,,\nNOPE2,2024-06-01,2024-06-10,upheld\n",
    );
    let body = b"11010119900307013";
    let person = format!(
        "{}{}",
        std::str::from_utf8(body).unwrap(),
        ric::check_char(body).unwrap() as char
    );
    append(
        &dir.join("links.csv"),
        &format!(
            "91110000600037341L,410170198703280932,某人,legal_rep,,\n\
             121200004013590816,{person},只在链接里,legal_rep,,\n\
             {gone_c},410170198703280932,某人,director,,\n",
            gone_c = std::str::from_utf8(&sample_uscc(903)).unwrap(),
        ),
    );
}

/// Every file of the published generation by name; the manifest without `built_at`.
fn snapshot(report: &BuildReport) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&report.generation).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut bytes = std::fs::read(entry.path()).unwrap();
        if name == "MANIFEST" {
            // The header's checksum covers built_at too: compare the JSON after it.
            let start = credgate_index::format::HEADER_LEN;
            let mut json: serde_json::Value = serde_json::from_slice(&bytes[start..]).unwrap();
            json.as_object_mut().unwrap().remove("built_at");
            bytes = serde_json::to_vec(&json).unwrap();
        }
        out.insert(name, bytes);
    }
    out
}

#[test]
fn a_tiny_budget_spills_and_writes_the_same_snapshot() {
    let src = tempfile::tempdir().unwrap();
    source(src.path());

    let roomy = tempfile::tempdir().unwrap();
    let big = build_with_budget(&options(src.path(), roomy.path()), 1 << 30).unwrap();
    assert_eq!(big.spill_files, 0, "1 GiB holds this source in memory");

    let tight = tempfile::tempdir().unwrap();
    let small = build_with_budget(&options(src.path(), tight.path()), 64 << 10).unwrap();
    assert!(
        small.spill_files > 100,
        "64 KiB forces many runs, got {}",
        small.spill_files
    );

    let (a, b) = (snapshot(&big), snapshot(&small));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same files"
    );
    for (name, bytes) in &a {
        assert!(&b[name] == bytes, "{name} differs between the budgets");
    }
    assert_eq!(
        big.generation.file_name(),
        small.generation.file_name(),
        "same snapshot id"
    );
    assert_eq!(
        std::fs::read(roomy.path().join("rejects.csv")).unwrap(),
        std::fs::read(tight.path().join("rejects.csv")).unwrap()
    );
    assert_eq!(big.rejects, small.rejects);
    // No spill directory or temporary generation is left behind.
    for root in [roomy.path(), tight.path()] {
        let left: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    // The extra rows were judged as the one-by-one reader judges them.
    let reasons: Vec<String> = big
        .rejects
        .iter()
        .filter(|r| {
            r.file.ends_with("zz_extra.csv")
                || r.record_id.starts_with('X')
                || r.record_id.starts_with("NOPE")
                || r.reason.contains("other type")
        })
        .map(|r| format!("{}:{} {} {}", r.file, r.line, r.record_id, r.reason))
        .collect();
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("zz_extra.csv:9 X6 subject_id 410170198703280932 is already known with subject_type org"), "{reasons:#?}");
    assert!(
        has("zz_extra.csv:4 X3 duplicate record_id \"X3\": also at lists/zz_extra.csv:5"),
        "{reasons:#?}"
    );
    assert!(
        has("zz_extra.csv:5 X3 duplicate record_id \"X3\": also at lists/zz_extra.csv:4"),
        "{reasons:#?}"
    );
    assert!(
        has("zz_extra.csv:7 X3 duplicate record_id \"X3\": also at lists/zz_extra.csv:4"),
        "{reasons:#?}"
    );
    assert!(has("NOPE repair for unknown record_id"), "{reasons:#?}");
    assert!(has("NOPE2 objection for unknown record_id"), "{reasons:#?}");
    assert!(
        has("X3 repair for record_id \"X3\", whose copies differ (at lists/zz_extra.csv:4 and lists/zz_extra.csv:5)"),
        "{reasons:#?}"
    );
    assert!(
        has("X3 objection for record_id \"X3\", whose copies differ"),
        "{reasons:#?}"
    );
    assert!(
        has("org_id or person_id is already known as a subject of the other type"),
        "{reasons:#?}"
    );
    assert!(
        has("zz_extra2.csv:2 X7 duplicate of lists/zz_extra.csv:10 (identical; the first copy is kept)"),
        "{reasons:#?}"
    );
    assert!(!has("X7 repair"), "{reasons:#?}");
    assert_eq!(reasons.iter().filter(|r| r.contains(" X7 ")).count(), 1);

    // The subjects that only rejected rows name are in neither snapshot, which both verify
    // (the ids index was written again without them, the links renumbered).
    for root in [roomy.path(), tight.path()] {
        let snap = Snapshot::open(root).unwrap();
        snap.verify().unwrap();
        for seed in [901, 902, 903] {
            assert_eq!(snap.lookup(&sample_uscc(seed)), None, "{seed}");
        }
        assert!(snap.lookup(b"410170198703280932").is_some());
    }
}
