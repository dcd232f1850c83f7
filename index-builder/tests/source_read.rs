//! Reading real source directories written to temp dirs: file discovery and order, headers,
//! encodings, line endings, quoting, line numbers, digests and the fatal errors.

use std::fs;
use std::path::Path;

use credgate_index::date::Day;
use credgate_index::model::{Outcome, RepairAction, Role, SubjectType};
use credgate_index::source::{
    read_source, write_rejects_csv, Collect, Encoding, SourceError, SourceOptions, SourceSummary,
};
use encoding_rs::GB18030;
use sha2::{Digest, Sha256};

const CODES: &[&str] = &["court_defaulter", "market_abnormal", "tax_a_grade"];
const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on";

fn opts(encoding: Encoding) -> SourceOptions {
    SourceOptions {
        encoding,
        file_encodings: Default::default(),
        today: Day::parse("2024-06-01").unwrap(),
    }
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn read(dir: &Path, encoding: Encoding) -> Result<(SourceSummary, Collect), SourceError> {
    let mut sink = Collect::default();
    let summary = read_source(dir, CODES, &opts(encoding), &mut sink)?;
    Ok((summary, sink))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn reads_a_whole_directory_in_order_with_digests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Written out of order: lists are read sorted by name, non-CSV files are ignored.
    let b_list = format!(
        "\u{feff}{LIST_HEADER}\r\n\
         B1,court_defaulter,person,110105491231002,张三,法院,(2020)京01执1号,拒不履行,2020-01-02,2020-01-03,,\r\n\
         \r\n\
         B2,market_abnormal,org,91110000600037341N,某公司,市场监管局,,未年报,2021-01-01,2021-01-01,2023-12-31,\r\n"
    );
    write(d, "lists/b_market.csv", b_list.as_bytes());
    // Another department exports the columns in another order.
    let a_list = "effective_from,record_id,subject_id,subject_type,list_code,subject_name,authority,doc_no,reason,decided_on,effective_until,act_ended_on\n\
                  2022-03-04,A1,9144030071526726XG,org,tax_a_grade,深圳某公司,税务局,,A级,2022-03-01,2023-03-03,\n";
    write(d, "lists/a_tax.csv", a_list.as_bytes());
    write(d, "lists/README.txt", b"not a list");
    let repairs =
        "record_id,action,decided_on,authority,doc_no\nB2,repair,2022-06-01,市场监管局,修复1号\n";
    write(d, "repairs.csv", repairs.as_bytes());
    let objections = "outcome,closed_on,filed_on,record_id\n,,2020-02-01,B1\ncorrected,2021-02-20,2021-02-01,B2\n";
    write(d, "objections.csv", objections.as_bytes());
    let links = "org_id,person_id,person_name,role,from,until\n91110000600037341L,11010519491231002X,张三,controller,,\n";
    write(d, "links.csv", links.as_bytes());

    let (summary, rows) = read(d, Encoding::Auto).unwrap();
    let paths: Vec<&str> = summary.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "lists/a_tax.csv",
            "lists/b_market.csv",
            "repairs.csv",
            "objections.csv",
            "links.csv"
        ]
    );
    for f in &summary.files {
        let bytes = fs::read(d.join(&f.path)).unwrap();
        assert_eq!(f.sha256, sha256_hex(&bytes), "{}", f.path);
        assert_eq!(f.bytes, bytes.len() as u64);
        assert_eq!(f.encoding, "utf-8");
        assert_eq!(f.rejected, 0);
    }
    let counts: Vec<u64> = summary.files.iter().map(|f| f.rows).collect();
    assert_eq!(counts, [1, 2, 1, 2, 1]);
    assert!(rows.rejects.is_empty(), "{:?}", rows.rejects);

    let a1 = &rows.lists[0];
    assert_eq!((a1.file, a1.line, a1.record_id.as_str()), (0, 2, "A1"));
    assert_eq!(a1.list_code, 2);
    assert_eq!(&a1.subject_id, b"9144030071526726XG");
    assert_eq!(a1.effective_from, Day::parse("2022-03-04").unwrap());
    assert_eq!(a1.effective_until, Day::parse("2023-03-03").ok());
    assert_eq!(a1.subject_name, "深圳某公司");

    let b1 = &rows.lists[1];
    assert_eq!((b1.file, b1.line, b1.record_id.as_str()), (1, 2, "B1"));
    assert_eq!(b1.subject_type, SubjectType::Person);
    assert_eq!(&b1.subject_id, b"11010519491231002X");
    assert_eq!(
        b1.act_ended_on, None,
        "CRLF must not leave \\r in the last field"
    );
    let b2 = &rows.lists[2];
    assert_eq!(
        (b2.line, b2.nonconforming),
        (4, true),
        "empty line 3 is skipped"
    );
    assert_eq!(b2.reason, "未年报");

    assert_eq!(rows.repairs[0].action, RepairAction::Repair);
    assert_eq!((rows.repairs[0].file, rows.repairs[0].line), (2, 2));
    assert_eq!(rows.objections[0].outcome, None);
    assert_eq!(rows.objections[1].outcome, Some(Outcome::Corrected));
    assert_eq!(rows.objections[1].closed_on, Day::parse("2021-02-20").ok());
    assert_eq!(rows.links[0].role, Role::Controller);
    assert_eq!(rows.links[0].file, 4);
}

#[test]
fn quoted_fields_keep_commas_and_newlines_and_lines_are_where_records_start() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{LIST_HEADER}\r\n\
         Q1,court_defaulter,org,91110000600037341L,\"某公司, 北京分公司\",法院,,\"第一行\r\n第二行\n第三行\",2020-01-01,2020-01-01,,\"2020-01-01\"\r\n\
         Q2,court_defaulter,org,91110000600037341L,\"say \"\"hi\"\"\",法院,,,2020-01-01,2020-01-01,,\n\
         Q3,court_defaulter,org,91110000600037341L,x,法院,,\"multi\nline\",2020-01-01,2019-01-01,2018-01-01,\n\
         Q4,court_defaulter,org,91110000600037341L\n"
    );
    write(dir.path(), "lists/q.csv", body.as_bytes());
    let (_, rows) = read(dir.path(), Encoding::Auto).unwrap();
    assert_eq!(rows.lists.len(), 2);
    assert_eq!(rows.lists[0].subject_name, "某公司, 北京分公司");
    assert_eq!(rows.lists[0].reason, "第一行\r\n第二行\n第三行");
    assert_eq!(rows.lists[0].line, 2);
    assert_eq!(rows.lists[0].act_ended_on, Day::parse("2020-01-01").ok());
    assert_eq!(rows.lists[1].subject_name, "say \"hi\"");
    assert_eq!(rows.lists[1].line, 5);
    let rejects: Vec<(u64, &str, &str)> = rows
        .rejects
        .iter()
        .map(|r| (r.line, r.record_id.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        rejects,
        [
            (
                6,
                "Q3",
                "effective_until 2018-01-01 is before effective_from 2019-01-01"
            ),
            (8, "", "wrong number of fields: 4, expected 12"),
        ]
    );
    assert!(rows.rejects.iter().all(|r| r.file == "lists/q.csv"));
}

#[test]
fn gb18030_files_are_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{LIST_HEADER}\r\n\
         G1,court_defaulter,org,91110000600037341L,北京某某科技有限公司,北京市第一中级人民法院,(2019)京01执字第123号,有履行能力而拒不履行生效法律文书确定义务,2019-05-06,2019-05-06,,\r\n\
         G2,court_defaulter,person,11010519491231002X,张三,北京市第一中级人民法院,,,2019-05-06,2019-05-06,,\r\n"
    );
    let (bytes, _, lossy) = GB18030.encode(&text);
    assert!(!lossy);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file must not be UTF-8"
    );
    write(dir.path(), "lists/court.csv", &bytes);

    let (summary, rows) = read(dir.path(), Encoding::Auto).unwrap();
    assert_eq!(summary.files[0].encoding, "gb18030");
    assert_eq!(summary.files[0].sha256, sha256_hex(&bytes));
    assert_eq!(summary.files[0].bytes, bytes.len() as u64);
    assert_eq!(rows.lists.len(), 2, "{:?}", rows.rejects);
    assert_eq!(rows.lists[0].subject_name, "北京某某科技有限公司");
    assert_eq!(rows.lists[0].doc_no, "(2019)京01执字第123号");
    assert_eq!(
        rows.lists[0].reason,
        "有履行能力而拒不履行生效法律文书确定义务"
    );
    assert_eq!(rows.lists[1].subject_name, "张三");
    assert_eq!(rows.lists[1].line, 3);

    // Declared GB18030 reads the same.
    let (_, declared) = read(dir.path(), Encoding::Gb18030).unwrap();
    assert_eq!(declared, rows);

    // Forced UTF-8: a fatal error naming the file and the first line with Chinese text.
    let err = read(dir.path(), Encoding::Utf8).unwrap_err();
    match &err {
        SourceError::Encoding {
            path,
            line,
            encoding,
            ..
        } => assert_eq!(
            (path.as_str(), *line, *encoding),
            ("lists/court.csv", 2, "utf-8")
        ),
        other => panic!("expected an encoding error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "lists/court.csv line 2: not valid utf-8: invalid UTF-8 in field 5; the file was declared \
         utf-8. If it is a GB18030 export, declare it with --file-encoding \
         lists/court.csv=gb18030; otherwise fix the bytes on that line or re-save the file as \
         UTF-8"
    );
}

#[test]
fn a_file_that_stops_being_utf8_after_the_sniff_window_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = format!("{LIST_HEADER}\n");
    let row = "U,court_defaulter,org,91110000600037341L,某公司,,,,2020-01-01,2020-01-01,,\n";
    let mut lines = 1;
    while body.len() < 70_000 {
        body.push_str(row);
        lines += 1;
    }
    let mut bytes = body.into_bytes();
    let (gb, _, _) = GB18030
        .encode("X,court_defaulter,org,91110000600037341L,某公司,,,,2020-01-01,2020-01-01,,\n");
    bytes.extend_from_slice(&gb);
    write(dir.path(), "lists/late.csv", &bytes);
    let err = read(dir.path(), Encoding::Auto).unwrap_err();
    match err {
        SourceError::Encoding { path, line, .. } => {
            assert_eq!((path.as_str(), line), ("lists/late.csv", lines + 1))
        }
        other => panic!("expected an encoding error, got {other:?}"),
    }
}

#[test]
fn malformed_gb18030_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = GB18030
        .encode(&format!(
            "{LIST_HEADER}\nM1,court_defaulter,org,91110000600037341L,某公司,,,,2020-01-01,2020-01-01,,\n"
        ))
        .0
        .into_owned();
    let bad_at = bytes.len() as u64 + 3;
    bytes.extend_from_slice(b"M2,\xFF\xFF,org\n");
    write(dir.path(), "lists/bad.csv", &bytes);
    let err = read(dir.path(), Encoding::Auto).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "lists/bad.csv line 3: not valid gb18030: malformed byte sequence FF at byte \
             offset {bad_at}; the file was read as gb18030 because its first non-ASCII bytes \
             are not UTF-8. If it is UTF-8, declare it with --file-encoding lists/bad.csv=utf-8; \
             if it is in another encoding (Big5, Latin-1, …), re-save it as UTF-8; otherwise \
             fix the bytes on that line"
        )
    );
}

#[test]
fn header_errors_are_fatal_and_name_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lists/ok.csv",
        format!("{LIST_HEADER}\n").as_bytes(),
    );
    write(
        dir.path(),
        "repairs.csv",
        b"record_id,action,decided,authority,doc_no,note\nR1,repair,2020-01-01,,,\n",
    );
    let err = read(dir.path(), Encoding::Auto).unwrap_err();
    assert_eq!(
        err.to_string(),
        "repairs.csv: bad header row: missing column(s) decided_on; unknown column(s) \
         \"decided\", \"note\"; the first line must name the columns of SPEC §3 for this \
         file, in any order"
    );
}

/// An empty file (0 bytes, or blank lines only) has no header row; the error says that,
/// rather than listing every column as missing from a header that is not there.
#[test]
fn an_empty_file_is_an_error_that_says_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "lists/ok.csv",
        format!("{LIST_HEADER}\n").as_bytes(),
    );
    write(dir.path(), "repairs.csv", b"");
    assert_eq!(
        read(dir.path(), Encoding::Auto).unwrap_err().to_string(),
        "repairs.csv is empty: a header row is expected, naming the columns \
         record_id,action,decided_on,authority,doc_no (SPEC §3); a file with no rows holds \
         that header row alone, or leave the file out (it is optional)"
    );
    fs::remove_file(dir.path().join("repairs.csv")).unwrap();
    write(dir.path(), "lists/empty.csv", b"\n \r\n\n");
    assert_eq!(
        read(dir.path(), Encoding::Auto).unwrap_err().to_string(),
        format!(
            "lists/empty.csv is empty: a header row is expected, naming the columns \
             {LIST_HEADER} (SPEC §3); a file with no rows holds that header row alone"
        )
    );
}

#[test]
fn lists_directory_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let err = read(dir.path(), Encoding::Auto).unwrap_err();
    assert!(matches!(err, SourceError::NoListFiles { .. }), "{err:?}");
    write(dir.path(), "lists/notes.txt", b"x");
    let err = read(dir.path(), Encoding::Auto).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "the source directory must contain a lists/ directory with at least one *.csv \
             file (SPEC §3)"
        ),
        "{err}"
    );
}

#[test]
fn rejects_report_round_trips_through_csv() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{LIST_HEADER}\n\
         R1,foo,org,91110000600037341L,,,,,2020-01-01,2020-01-01,,\n\
         R2,court_defaulter,company,91110000600037341L,,,,,2020-01-01,2020-01-01,,\n"
    );
    write(dir.path(), "lists/x.csv", body.as_bytes());
    let (summary, rows) = read(dir.path(), Encoding::Auto).unwrap();
    assert_eq!((summary.files[0].rows, summary.files[0].rejected), (2, 2));
    let out = dir.path().join("rejects.csv");
    write_rejects_csv(&out, &rows.rejects).unwrap();
    let mut r = csv::Reader::from_path(&out).unwrap();
    let got: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        got,
        [
            [
                "lists/x.csv",
                "2",
                "R1",
                "unknown list_code \"foo\" (not in the catalogue)"
            ],
            [
                "lists/x.csv",
                "3",
                "R2",
                "subject_type must be org or person, got \"company\""
            ],
        ]
    );
}
