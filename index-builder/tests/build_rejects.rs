//! Rejections that need more than one row to see: the later copies of a row delivered twice
//! (every copy when the copies differ), a repair or objection naming no record (or a
//! rejected one), and one identifier given as both an organisation and a person. Each is reported with file, line and reason, counted
//! against its file, and nothing else is lost.

use std::path::Path;

use credgate_index::build::{build, BuildError, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::reader::Snapshot;
use credgate_index::source::Encoding;

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn options(source: &Path, out: &Path, max_rejects: Option<u64>) -> BuildOptions {
    BuildOptions {
        source: source.to_path_buf(),
        out: out.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects,
        history_from: None,
        today: Day::parse("2026-11-28").unwrap(),
        keep: 2,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    }
}

fn source(dir: &Path) {
    write(
        dir,
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             R1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             R2,market_abnormal,org,9144030071526726XG,乙公司,市监局,D2,,2024-01-01,2024-01-01,,\n\
             R3,court_defaulter,org,410170198703280932,丙公司,法院,D3,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(
        dir,
        "lists/b.csv",
        &format!(
            "{LIST_HEADER}\
             R1,tax_major_violation,org,121200004013590816,丁单位,税务局,D4,,2024-02-01,2024-02-01,,\n\
             R4,court_defaulter,person,410170198703280932,张三,法院,D5,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(dir, "repairs.csv", "record_id,action,decided_on,authority,doc_no\nR1,repair,2025-01-01,法院,X1\nR9,repair,2025-01-01,法院,X2\nR2,removal,2025-03-01,市监局,X3\n");
    write(
        dir,
        "objections.csv",
        "record_id,filed_on,closed_on,outcome\nR1,2024-06-01,,\nR8,2024-06-01,2024-06-10,upheld\n",
    );
    write(
        dir,
        "links.csv",
        "org_id,person_id,person_name,role,from,until\n",
    );
}

#[test]
fn cross_row_rejects_name_file_line_and_reason() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    source(src.path());
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    let mut got: Vec<String> = report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{} {} | {}", r.file, r.line, r.record_id, r.reason))
        .collect();
    got.sort();
    let want = [
        "lists/a.csv:2 R1 | duplicate record_id \"R1\": also at lists/b.csv:2, differing in \
         list_code, subject_id, subject_name, authority, doc_no, decided_on, effective_from; \
         which copy is right is unknown, so every copy is rejected",
        "lists/b.csv:2 R1 | duplicate record_id \"R1\": also at lists/a.csv:2, differing in \
         list_code, subject_id, subject_name, authority, doc_no, decided_on, effective_from; \
         which copy is right is unknown, so every copy is rejected",
        "lists/b.csv:3 R4 | subject_id 410170198703280932 is already known with subject_type org; rows disagree on subject_type",
        "objections.csv:2 R1 | objection for record_id \"R1\", whose copies differ (at \
         lists/a.csv:2 and lists/b.csv:2) and were all rejected as duplicates",
        "objections.csv:3 R8 | objection for unknown record_id \"R8\" (no such row in lists/, or that row was rejected)",
        "repairs.csv:2 R1 | repair for record_id \"R1\", whose copies differ (at \
         lists/a.csv:2 and lists/b.csv:2) and were all rejected as duplicates",
        "repairs.csv:3 R9 | repair for unknown record_id \"R9\" (no such row in lists/, or that row was rejected)",
    ];
    assert_eq!(got, want);

    // Every rejected row is counted against its own file; the rest made it into the snapshot.
    let m = &report.manifest;
    let rejected: Vec<(String, u64, u64)> = m
        .sources
        .iter()
        .map(|s| (s.path.clone(), s.rows, s.rejected))
        .collect();
    assert!(
        rejected.contains(&("lists/a.csv".into(), 3, 1)),
        "{rejected:?}"
    );
    assert!(
        rejected.contains(&("lists/b.csv".into(), 2, 2)),
        "{rejected:?}"
    );
    assert!(
        rejected.contains(&("repairs.csv".into(), 3, 2)),
        "{rejected:?}"
    );
    assert!(
        rejected.contains(&("objections.csv".into(), 2, 2)),
        "{rejected:?}"
    );
    assert_eq!(m.counts.rejects, 7);
    assert_eq!(
        (m.counts.records, m.counts.repairs, m.counts.objections),
        (2, 1, 0)
    );

    // The report on disk says the same.
    let csv = std::fs::read_to_string(report.rejects_path).unwrap();
    assert_eq!(csv.lines().count(), 1 + 7);
    assert!(csv.starts_with("file,line,record_id,reason\n"));
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    assert!(snap.lookup(b"9144030071526726XG").is_some());
}

#[test]
fn too_many_rejects_fail_the_build_and_publish_nothing() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    source(src.path());
    let err = build(&options(src.path(), out.path(), Some(6)))
        .err()
        .expect("7 rejects > 6");
    assert!(
        matches!(
            err,
            BuildError::TooManyRejects {
                count: 7,
                max: 6,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was published"), "{err}");
    assert!(!out.path().join("CURRENT").exists());
    // The rejects report is there for the operator all the same.
    assert_eq!(
        std::fs::read_to_string(out.path().join("rejects.csv"))
            .unwrap()
            .lines()
            .count(),
        8
    );
}

/// A link rejected for a type conflict offers nothing: its person name does not name the
/// subject its person id belongs to, even when nothing else names that subject.
#[test]
fn a_rejected_link_names_no_subject() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             R1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             R2,court_defaulter,org,410170198703280932,,法院,D2,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(
        src.path(),
        "links.csv",
        "org_id,person_id,person_name,role,from,until\n\
         91110000600037341L,410170198703280932,某人,legal_rep,,\n",
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    let got: Vec<String> = report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{} | {}", r.file, r.line, r.reason))
        .collect();
    assert_eq!(
        got,
        ["links.csv:2 | org_id or person_id is already known as a subject of the other type"]
    );
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    let ord = snap.lookup(b"410170198703280932").expect("a subject");
    let subject = snap.subject(ord).unwrap();
    assert_eq!(snap.str(subject.name), "");
    assert_eq!(snap.links_of(&subject).count(), 0);
    assert_eq!(report.manifest.counts.links, 0);
}

/// Regression: a quote left open swallowed every row after it into one field, the build
/// rejected that one row for its width and published without the rest. The end of the file
/// inside a quoted field now fails the build, which names the file and the quote's line.
#[test]
fn an_unclosed_quote_fails_the_build_and_publishes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut text = format!(
        "{LIST_HEADER}\
         U-1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
         U-X,court_defaulter,org,9144030071526726XG,\"未闭合,法院,D2,,2024-01-01,2024-01-01,,\n"
    );
    for i in 0..100 {
        text.push_str(&format!(
            "U-{i}0,court_defaulter,org,121200004013590816,丁单位,法院,D{i},,2024-01-01,2024-01-01,,\n"
        ));
    }
    write(src.path(), "lists/u2.csv", &text);
    let err = build(&options(src.path(), out.path(), None))
        .err()
        .expect("an unclosed quote fails the build");
    assert_eq!(
        err.to_string(),
        "lists/u2.csv line 3: a double-quoted field begins on this line and is never closed, \
         so the rest of the file (lines 3 to 103) was read as one field; look for an unclosed \
         double quote on that line and close it (a quote inside a quoted field is written \
         twice: \"\")"
    );
    assert!(!out.path().join("CURRENT").exists());
}

/// The rejects of a build as `file:line record_id | reason`, in report order.
fn reject_lines(report: &credgate_index::build::BuildReport) -> Vec<String> {
    report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{} {} | {}", r.file, r.line, r.record_id, r.reason))
        .collect()
}

const ROW_D1: &str =
    "D1,court_defaulter,org,91110000600037341L,甲公司,法院,(2024)京01执1号,,2024-01-01,2024-01-01,,\n";

/// Regression: the same row delivered three times (in two export files, once twice in the
/// same one) rejected every copy, so the defaulter came out clear. Now the first copy is
/// the record, with its repair and objection, and each later copy is reported.
#[test]
fn identical_copies_keep_the_first_and_report_the_others() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(src.path(), "lists/a.csv", &format!("{LIST_HEADER}{ROW_D1}"));
    // Blanks around fields and a full-width identifier normalise to the same row.
    let padded = "D1 , court_defaulter,org,９１１１００００６０００３７３４１Ｌ,甲公司,法院,\
                  (2024)京01执1号,, 2024-01-01,2024-01-01,,\n";
    write(
        src.path(),
        "lists/b.csv",
        &format!("{LIST_HEADER}{ROW_D1}X1,market_abnormal,org,9144030071526726XG,乙公司,市监局,M1,,2024-01-01,2024-01-01,,\n{padded}"),
    );
    write(
        src.path(),
        "repairs.csv",
        "record_id,action,decided_on,authority,doc_no\nD1,repair,2025-01-01,法院,X1\n",
    );
    write(
        src.path(),
        "objections.csv",
        "record_id,filed_on,closed_on,outcome\nD1,2024-06-01,,\n",
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(
        reject_lines(&report),
        [
            "lists/b.csv:2 D1 | duplicate of lists/a.csv:2 (identical; the first copy is kept)",
            "lists/b.csv:4 D1 | duplicate of lists/a.csv:2 (identical; the first copy is kept)",
        ]
    );
    let m = &report.manifest;
    assert_eq!(
        (m.counts.records, m.counts.repairs, m.counts.objections),
        (2, 1, 1)
    );
    let per_file: Vec<(&str, u64, u64)> = m
        .sources
        .iter()
        .map(|s| (s.path.as_str(), s.rows, s.rejected))
        .collect();
    assert_eq!(
        per_file,
        [
            ("lists/a.csv", 1, 0),
            ("lists/b.csv", 3, 2),
            ("repairs.csv", 1, 0),
            ("objections.csv", 1, 0)
        ]
    );
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    let subject = snap
        .subject(snap.lookup(b"91110000600037341L").unwrap())
        .unwrap();
    let records: Vec<_> = snap.records_of(&subject).map(|(_, r)| r).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(snap.str(records[0].record_id), "D1");
    assert_eq!(snap.str(records[0].doc_no), "(2024)京01执1号");
    assert_eq!(snap.events_of(&records[0]).count(), 2);
}

/// Copies that differ in any column cannot be told apart: every copy is rejected, the
/// reason says in which columns each differs from the first, and the record's repair is
/// rejected with them. A copy identical to the first does not save it.
#[test]
fn differing_copies_reject_every_copy_and_say_how_they_differ() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let other = "D1,court_defaulter,org,91110000600037341L,甲公司,法院,(2024)京01执2号,,2024-01-01,2024-02-01,,\n";
    write(
        src.path(),
        "lists/a.csv",
        &format!("{LIST_HEADER}{ROW_D1}{ROW_D1}{other}X1,market_abnormal,org,9144030071526726XG,乙公司,市监局,M1,,2024-01-01,2024-01-01,,\n"),
    );
    write(
        src.path(),
        "repairs.csv",
        "record_id,action,decided_on,authority,doc_no\nD1,repair,2025-01-01,法院,X1\n",
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(
        reject_lines(&report),
        [
            "lists/a.csv:3 D1 | duplicate record_id \"D1\": also at lists/a.csv:2, identical to \
             it, but other copies differ; which copy is right is unknown, so every copy is \
             rejected",
            "lists/a.csv:2 D1 | duplicate record_id \"D1\": also at lists/a.csv:4, differing in \
             doc_no, effective_from; which copy is right is unknown, so every copy is rejected",
            "lists/a.csv:4 D1 | duplicate record_id \"D1\": also at lists/a.csv:2, differing in \
             doc_no, effective_from; which copy is right is unknown, so every copy is rejected",
            "repairs.csv:2 D1 | repair for record_id \"D1\", whose copies differ (at \
             lists/a.csv:2 and lists/a.csv:4) and were all rejected as duplicates",
        ]
    );
    let m = &report.manifest;
    assert_eq!((m.counts.records, m.counts.repairs), (1, 0));
    // Its subject has no other row, so it is not known at all.
    let snap = Snapshot::open(out.path()).unwrap();
    assert_eq!(snap.lookup(b"91110000600037341L"), None);
    assert!(snap.lookup(b"9144030071526726XG").is_some());
}

/// Regression: with every list code misspelt, every list row was rejected and the build
/// still published an empty snapshot, which answered clear for everyone. Now it fails and
/// the generation being served stays, however many rejects are allowed; list files with no
/// rows at all fail the same way.
#[test]
fn a_build_that_accepts_no_list_row_publishes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    source(src.path());
    build(&options(src.path(), out.path(), None)).unwrap();
    let current = std::fs::read_to_string(out.path().join("CURRENT")).unwrap();

    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             R1,court_defaulters,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             R2,market_abnormals,org,9144030071526726XG,乙公司,市监局,D2,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(
        src.path(),
        "lists/b.csv",
        &format!(
            "{LIST_HEADER}R3,court_defaulters,org,121200004013590816,丁单位,法院,D4,,2024-02-01,2024-02-01,,\n"
        ),
    );
    for max_rejects in [None, Some(1000)] {
        let err = build(&options(src.path(), out.path(), max_rejects))
            .err()
            .expect("no list row accepted");
        assert!(
            matches!(err, BuildError::NoListRowAccepted { rows: 3, .. }),
            "{err}"
        );
        assert!(
            err.to_string().starts_with(
                "all 3 rows of lists/ were rejected, so the snapshot would list nobody; \
                 nothing was published (whatever --max-rejects says). See "
            ),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(out.path().join("CURRENT")).unwrap(),
            current
        );
    }
    // The report says why each row went.
    let report = std::fs::read_to_string(out.path().join("rejects.csv")).unwrap();
    assert!(
        report.contains("unknown list_code \"\"court_defaulters\"\""),
        "{report}"
    );

    write(src.path(), "lists/a.csv", LIST_HEADER);
    write(src.path(), "lists/b.csv", LIST_HEADER);
    let err = build(&options(src.path(), out.path(), None))
        .err()
        .expect("no list row at all");
    assert!(
        matches!(err, BuildError::NoListRowAccepted { rows: 0, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("lists/ holds no data rows"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("CURRENT")).unwrap(),
        current
    );
}

/// Regression: a record whose copies differ is rejected whole, but its first copy still
/// offered its subject's name, and being the newest it won: the organisation was shown and
/// found under a name only a rejected row gave. The name now comes from the accepted record.
#[test]
fn a_record_whose_copies_differ_names_nobody() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             R1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2023-01-01,2023-01-01,,\n\
             R2,court_defaulter,org,91110000600037341L,甲新名公司,法院,D2,,2024-06-01,2024-06-01,,\n\
             R2,court_defaulter,org,91110000600037341L,甲新名公司,法院,D3,,2024-06-01,2024-06-01,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(report.reject_count, 2);
    let snap = Snapshot::open(out.path()).unwrap();
    let s = snap
        .subject(snap.lookup(b"91110000600037341L").unwrap())
        .unwrap();
    assert_eq!(snap.str(s.name), "甲公司");
    assert!(snap.names().get("甲新名公司").is_none());
    assert!(snap.names().get("甲公司").is_some());
}

/// Regression: a subject was entered in the identifier index by the first row naming it,
/// even when that row was then rejected as a duplicate whose copies differ, or as a link
/// whose other side has the other subject type; so an organisation whose every list row was
/// rejected was `known` with no records. A subject now enters only through an accepted row:
/// a list row or a link.
#[test]
fn a_subject_named_only_by_rejected_rows_is_not_known() {
    use credgate_index::ids::gen::{sample_ric, sample_uscc};
    let id = |b: [u8; 18]| String::from_utf8(b.to_vec()).unwrap();
    let kept = id(sample_uscc(1)); // one accepted row, one with a bad date
    let bad_date = id(sample_uscc(2)); // its only row has a bad date
    let contradicted = id(sample_uscc(3)); // both copies of its record differ
    let (dup_org, dup_person) = (id(sample_uscc(4)), id(sample_ric(5))); // copies naming each
    let both_types = "410170198703280932"; // a person, then an org_id in a link
    let behind_conflict = id(sample_ric(6)); // the person of that rejected link
    let (link_org, link_person) = (id(sample_uscc(7)), id(sample_ric(8))); // an accepted link
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             K1,court_defaulter,org,{kept},甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             K2,court_defaulter,org,{kept},甲公司,法院,D2,,2024-02-30,2024-03-01,,\n\
             B1,market_abnormal,org,{bad_date},乙公司,市监局,D3,,2024-13-01,2024-01-01,,\n\
             C1,court_defaulter,org,{contradicted},丙公司,法院,D4,,2024-01-01,2024-01-01,,\n\
             C1,court_defaulter,org,{contradicted},丙公司,法院,D5,,2024-01-01,2024-01-01,,\n\
             E1,court_defaulter,org,{dup_org},丁公司,法院,D6,,2024-01-01,2024-01-01,,\n\
             E1,court_defaulter,person,{dup_person},王某,法院,D6,,2024-01-01,2024-01-01,,\n\
             P1,court_defaulter,person,{both_types},张三,法院,D7,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(
        src.path(),
        "links.csv",
        &format!(
            "org_id,person_id,person_name,role,from,until\n\
             {both_types},{behind_conflict},李四,legal_rep,,\n\
             {link_org},{link_person},赵六,legal_rep,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    let mut reasons: Vec<String> = report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{}", r.file, r.line))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "links.csv:2",
            "lists/a.csv:3",
            "lists/a.csv:4",
            "lists/a.csv:5",
            "lists/a.csv:6",
            "lists/a.csv:7",
            "lists/a.csv:8"
        ]
    );

    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    for gone in [
        &bad_date,
        &contradicted,
        &dup_org,
        &dup_person,
        &behind_conflict,
    ] {
        assert_eq!(snap.lookup(gone.as_bytes()), None, "{gone} is known");
        assert_eq!(
            snap.lookup_fst(gone.as_bytes()),
            None,
            "{gone} is in ids.fst"
        );
    }
    // Nor are their names found: 乙, 丙, 丁, 王某 and 李四 name nobody.
    let names: Vec<String> = {
        use fst::{IntoStreamer, Streamer};
        let mut stream = snap.names().into_stream();
        let mut names = Vec::new();
        while let Some((k, _)) = stream.next() {
            names.push(String::from_utf8(k.to_vec()).unwrap());
        }
        names
    };
    assert_eq!(names, ["张三", "甲公司", "赵六"]);
    assert_eq!(report.manifest.counts.subjects, 4);

    // A subject with an accepted and a rejected row keeps the accepted record.
    let s = snap.subject(snap.lookup(kept.as_bytes()).unwrap()).unwrap();
    let records: Vec<String> = snap
        .records_of(&s)
        .map(|(_, r)| snap.str(r.record_id).to_string())
        .collect();
    assert_eq!(records, ["K1"]);
    assert_eq!(snap.str(s.name), "甲公司");

    // Subjects known only through an accepted link stay, linked to each other, and the
    // person whose org_id was rejected keeps the record.
    let org = snap.lookup(link_org.as_bytes()).expect("the link's org");
    let person = snap
        .lookup(link_person.as_bytes())
        .expect("the link's person");
    let p = snap.subject(person).unwrap();
    assert_eq!(snap.str(p.name), "赵六");
    let links: Vec<(u32, u32)> = snap.links_of(&p).map(|l| (l.this, l.other)).collect();
    assert_eq!(links, [(person, org)]);
    let o = snap.subject(org).unwrap();
    let links: Vec<(u32, u32)> = snap.links_of(&o).map(|l| (l.this, l.other)).collect();
    assert_eq!(links, [(org, person)]);
    let z = snap
        .subject(snap.lookup(both_types.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(snap.records_of(&z).count(), 1);
    assert_eq!(snap.links_of(&z).count(), 0);
    for ord in 0..snap.subject_count() {
        let s = snap.subject(ord).unwrap();
        assert!(
            s.rec_count + s.link_count > 0,
            "{} has no record and no link",
            snap.subject_id(ord)
        );
    }
}

/// Codes that are a valid resident ID number and, read leniently, a USCC as well (about one
/// person's number in eleven passes the USCC checks but MOD 31): the only identifiers whose
/// rows can disagree on subject_type.
fn both_types(n: usize) -> Vec<String> {
    use credgate_index::ids::gen::sample_ric;
    use credgate_index::ids::{parse_ric, parse_uscc, Mode};
    let today = Day::parse("2026-11-28").unwrap();
    let codes: Vec<String> = (0..100_000u64)
        .map(|seed| String::from_utf8(sample_ric(seed).to_vec()).unwrap())
        .filter(|c| parse_ric(c, today).is_ok() && parse_uscc(c, Mode::Lenient).is_ok())
        .take(n)
        .collect();
    assert_eq!(codes.len(), n);
    codes
}

/// The snapshot's subject under `id`: its type's wire name, its name and its records' ids.
fn subject_of(snap: &Snapshot, id: &str) -> Option<(&'static str, String, Vec<String>)> {
    use credgate_index::model::SubjectType;
    let s = snap.subject(snap.lookup(id.as_bytes())?).unwrap();
    let records = snap
        .records_of(&s)
        .map(|(_, r)| snap.str(r.record_id).to_string())
        .collect();
    let t = SubjectType::from_code(s.subject_type).unwrap().as_str();
    Some((t, snap.str(s.name).to_string(), records))
}

/// Regression: the first row naming an identifier fixed its subject's type even when that
/// row was then rejected. Here both copies of an organisation's record differ and are
/// rejected, and the later, valid person's record under the same code was rejected in turn
/// ("already known with subject_type org") and the subject dropped: a defaulter cleared by
/// rows the report itself calls unusable. Only accepted rows decide a subject's type.
#[test]
fn a_rejected_duplicate_does_not_decide_its_subjects_type() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let both = "410170198703280932";
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             D1,court_defaulter,org,{both},甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             D1,court_defaulter,org,{both},甲公司,法院,D2,,2024-01-01,2024-01-01,,\n\
             P1,court_defaulter,person,{both},张三,法院,P1,,2024-03-01,2024-03-01,,\n\
             K1,court_defaulter,org,91110000600037341L,乙公司,法院,K1,,2024-01-01,2024-01-01,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    let lines: Vec<String> = report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{}", r.file, r.line))
        .collect();
    assert_eq!(lines, ["lists/a.csv:3", "lists/a.csv:2"]);
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    assert_eq!(
        subject_of(&snap, both),
        Some(("person", "张三".to_string(), vec!["P1".to_string()]))
    );
    assert!(snap.names().get("甲公司").is_none());
    assert_eq!(report.manifest.counts.records, 2);
}

/// The records of a code named with both types wait until its type is settled, and are
/// then judged like any other: the accepted one keeps its repair and its identical copy is
/// reported as such; the one of the other type is rejected, and its objection names no
/// record.
#[test]
fn a_contested_codes_records_keep_their_events_and_copies() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let both = "410170198703280932";
    let p1 = format!("P1,court_defaulter,person,{both},张三,法院,P1,,2024-03-01,2024-03-01,,\n");
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             D1,court_defaulter,org,{both},甲公司,法院,D1,,2024-01-01,2024-01-01,,\n\
             D1,court_defaulter,org,{both},甲公司,法院,D2,,2024-01-01,2024-01-01,,\n\
             {p1}\
             O1,market_abnormal,org,{both},甲公司,市监局,O1,,2024-04-01,2024-04-01,,\n"
        ),
    );
    write(src.path(), "lists/b.csv", &format!("{LIST_HEADER}{p1}"));
    write(
        src.path(),
        "repairs.csv",
        "record_id,action,decided_on,authority,doc_no\nP1,repair,2025-01-01,法院,X1\n",
    );
    write(
        src.path(),
        "objections.csv",
        "record_id,filed_on,closed_on,outcome\nO1,2024-06-01,,\n",
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(
        reject_lines(&report),
        [
            format!(
                "lists/a.csv:5 O1 | subject_id {both} is already known with subject_type \
                 person; rows disagree on subject_type"
            ),
            "objections.csv:2 O1 | objection for unknown record_id \"O1\" (no such row in \
             lists/, or that row was rejected)"
                .to_string(),
            "lists/a.csv:3 D1 | duplicate record_id \"D1\": also at lists/a.csv:2, differing \
             in doc_no; which copy is right is unknown, so every copy is rejected"
                .to_string(),
            "lists/a.csv:2 D1 | duplicate record_id \"D1\": also at lists/a.csv:3, differing \
             in doc_no; which copy is right is unknown, so every copy is rejected"
                .to_string(),
            "lists/b.csv:2 P1 | duplicate of lists/a.csv:4 (identical; the first copy is kept)"
                .to_string(),
        ]
    );
    let m = &report.manifest;
    assert_eq!(
        (m.counts.records, m.counts.repairs, m.counts.objections),
        (1, 1, 0)
    );
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    assert_eq!(
        subject_of(&snap, both),
        Some(("person", "张三".to_string(), vec!["P1".to_string()]))
    );
    let s = snap.subject(snap.lookup(both.as_bytes()).unwrap()).unwrap();
    let (_, record) = snap.records_of(&s).next().unwrap();
    assert_eq!(snap.events_of(&record).count(), 1);
}

/// The same for links: a link rejected because its person is an organisation does not make
/// its org_id an organisation, so a later link naming that code as a person stands.
#[test]
fn a_rejected_link_does_not_decide_its_other_sides_type() {
    use credgate_index::ids::gen::sample_uscc;
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let codes = both_types(2);
    let (org_listed, person_later) = (&codes[0], &codes[1]);
    let other_org = String::from_utf8(sample_uscc(9).to_vec()).unwrap();
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             L1,court_defaulter,org,{org_listed},丙公司,法院,L1,,2024-01-01,2024-01-01,,\n"
        ),
    );
    write(
        src.path(),
        "links.csv",
        &format!(
            "org_id,person_id,person_name,role,from,until\n\
             {person_later},{org_listed},王五,legal_rep,,\n\
             {other_org},{person_later},李四,legal_rep,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(
        reject_lines(&report),
        ["links.csv:2  | org_id or person_id is already known as a subject of the other type"]
    );
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    assert_eq!(
        subject_of(&snap, person_later),
        Some(("person", "李四".to_string(), vec![]))
    );
    let person = snap.lookup(person_later.as_bytes()).unwrap();
    let org = snap
        .lookup(other_org.as_bytes())
        .expect("the accepted link's org");
    let p = snap.subject(person).unwrap();
    let links: Vec<(u32, u32)> = snap.links_of(&p).map(|l| (l.this, l.other)).collect();
    assert_eq!(links, [(person, org)]);
    assert_eq!(
        subject_of(&snap, org_listed),
        Some(("org", "丙公司".to_string(), vec!["L1".to_string()]))
    );
    assert!(snap.names().get("王五").is_none());
    assert_eq!(report.manifest.counts.links, 1);
}

/// A person's record erased at build time (rule 6) never appears, so it does not decide
/// its code's type either: an organisation's record under the same code is kept, not
/// rejected as a conflict with a record nobody may see.
#[test]
fn a_record_erased_at_build_does_not_decide_its_subjects_type() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let both = "410170198703280932";
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             E1,court_defaulter,person,{both},张三,法院,E1,,2015-01-01,2015-01-01,2016-01-01,2016-01-01\n\
             O1,court_defaulter,org,{both},丙公司,法院,O1,,2024-01-01,2024-01-01,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(reject_lines(&report), Vec::<String>::new());
    assert_eq!(report.manifest.counts.erased_at_build, 1);
    let snap = Snapshot::open(out.path()).unwrap();
    snap.verify().unwrap();
    assert_eq!(
        subject_of(&snap, both),
        Some(("org", "丙公司".to_string(), vec!["O1".to_string()]))
    );
}

/// Regression: the manifest's `history_from` (rule 5's "the data reaches back to") was the
/// earliest effective_from of every list row without a type conflict, the copies of a
/// record rejected as duplicates included: a rejected row dated 2010 made a snapshot of
/// records from 2020 on claim ten years of history, and so grant the green channel to
/// subjects it knows nothing about. It now comes from the records accepted, those erased at
/// build time included (see ARCHITECTURE.md).
#[test]
fn history_from_comes_from_accepted_records_only() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let both = "410170198703280932";
    write(
        src.path(),
        "lists/a.csv",
        &format!(
            "{LIST_HEADER}\
             K1,court_defaulter,org,91110000600037341L,甲公司,法院,K1,,2020-03-01,2020-03-01,,\n\
             D1,court_defaulter,org,9144030071526726XG,乙公司,法院,D1,,2010-01-01,2010-01-01,,\n\
             D1,court_defaulter,org,9144030071526726XG,乙公司,法院,D2,,2010-01-01,2010-01-01,,\n\
             T1,court_defaulter,org,{both},丙公司,法院,T1,,2021-01-01,2021-01-01,,\n\
             T2,court_defaulter,person,{both},张三,法院,T2,,2009-01-01,2009-01-01,,\n"
        ),
    );
    write(
        src.path(),
        "lists/b.csv",
        &format!(
            "{LIST_HEADER}\
             B1,court_defaulter,org,121200004013590816,丁单位,法院,B1,,2008-13-01,2008-01-01,,\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(
        report.reject_count,
        4,
        "{:?}",
        report.read_rejects().unwrap()
    );
    assert_eq!(
        report.manifest.history_from,
        Some(Day::parse("2020-03-01").unwrap())
    );

    // A record erased at build time was accepted, and its history did exist: it counts.
    write(
        src.path(),
        "lists/c.csv",
        &format!(
            "{LIST_HEADER}\
             E1,court_defaulter,person,11010519491231002X,王某,法院,E1,,2015-06-01,2015-06-01,2016-01-01,2016-01-01\n"
        ),
    );
    let report = build(&options(src.path(), out.path(), None)).unwrap();
    assert_eq!(report.manifest.counts.erased_at_build, 1);
    assert_eq!(
        report.manifest.history_from,
        Some(Day::parse("2015-06-01").unwrap())
    );
}
