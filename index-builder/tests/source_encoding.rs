//! How a source file's encoding is decided and what a wrong one says: detection by the
//! first non-ASCII bytes wherever they are, declarations for the directory and per file,
//! and the errors of a file that is not in the encoding it is read in.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use credgate_index::date::Day;
use credgate_index::source::{
    read_source, Collect, Encoding, EncodingFrom, SourceError, SourceOptions, SourceSummary,
    SNIFF_LEN,
};
use encoding_rs::GB18030;

const CODES: &[&str] = &["court_defaulter"];
const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";
/// A row with no character outside ASCII.
const ASCII_ROW: &str =
    "A,court_defaulter,org,9144030071526726XG,ACME Trading,,,,2020-01-01,2020-01-01,,\n";

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn read_with(
    dir: &Path,
    encoding: Encoding,
    files: &[(&str, Encoding)],
) -> Result<(SourceSummary, Collect), SourceError> {
    let opts = SourceOptions {
        encoding,
        file_encodings: files
            .iter()
            .map(|(p, e)| (p.to_string(), *e))
            .collect::<BTreeMap<_, _>>(),
        today: Day::parse("2024-06-01").unwrap(),
    };
    let mut sink = Collect::default();
    let summary = read_source(dir, CODES, &opts, &mut sink)?;
    Ok((summary, sink))
}

fn read(dir: &Path) -> Result<(SourceSummary, Collect), SourceError> {
    read_with(dir, Encoding::Auto, &[])
}

fn gb(text: &str) -> Vec<u8> {
    let (bytes, _, lossy) = GB18030.encode(text);
    assert!(!lossy);
    bytes.into_owned()
}

/// The header and ASCII rows, then one filler row padded so that the text is `len` bytes
/// long; returns the text and its line count.
fn ascii_prefix(len: usize) -> (String, u64) {
    let mut text = LIST_HEADER.to_string();
    let mut lines = 1;
    let filler = |pad: usize| {
        format!(
            "F,court_defaulter,org,9144030071526726XG,ACME,,,{},2020-01-01,2020-01-01,,\n",
            "x".repeat(pad)
        )
    };
    while text.len() + ASCII_ROW.len() + filler(0).len() <= len {
        text.push_str(ASCII_ROW);
        lines += 1;
    }
    text.push_str(&filler(len - text.len() - filler(0).len()));
    assert_eq!(text.len(), len);
    (text, lines + 1)
}

/// A GB18030 row whose name, its first non-ASCII bytes, starts `NAME_AT` bytes in.
const GB_ROW_START: &str = "G,court_defaulter,org,91110000600037341L,";
const GB_ROW_REST: &str = "北京某某科技有限公司,北京市第一中级人民法院,,,2020-01-01,2020-01-01,,\n";

/// Regression: a GB18030 export whose first 64 KiB were ASCII (rows of ASCII-only fields
/// before the first Chinese name) was read as UTF-8 and failed at that name, telling the
/// operator to declare an encoding that SPEC §3 says is detected. The first non-ASCII byte
/// is put just past the first window, on the last byte of the scan's first window (so its
/// character is cut there), and far into the file.
#[test]
fn a_gb18030_file_whose_first_window_is_ascii_is_detected_by_its_first_chinese_text() {
    for name_at in [SNIFF_LEN, 2 * SNIFF_LEN - 1, 5 * SNIFF_LEN + 7] {
        let dir = tempfile::tempdir().unwrap();
        let (prefix, lines) = ascii_prefix(name_at - GB_ROW_START.len());
        let mut bytes = prefix.into_bytes();
        bytes.extend_from_slice(GB_ROW_START.as_bytes());
        assert_eq!(bytes.len(), name_at);
        bytes.extend_from_slice(&gb(GB_ROW_REST));
        bytes.extend_from_slice(ASCII_ROW.as_bytes());
        write(dir.path(), "lists/court.csv", &bytes);

        let (summary, rows) = read(dir.path()).unwrap();
        let file = &summary.files[0];
        assert_eq!(
            (file.encoding, file.encoding_from),
            ("gb18030", EncodingFrom::Detected),
            "first non-ASCII byte at {name_at}"
        );
        assert_eq!(file.bytes, bytes.len() as u64);
        assert!(rows.rejects.is_empty(), "{:?}", rows.rejects);
        let g = rows.lists.iter().find(|r| r.record_id == "G").unwrap();
        assert_eq!(g.subject_name, "北京某某科技有限公司");
        assert_eq!(g.authority, "北京市第一中级人民法院");
        assert_eq!(g.line, lines + 1);
        assert_eq!(rows.lists.len() as u64, lines + 1);
    }
}

/// ASCII throughout is UTF-8, however long; and a UTF-8 file whose first Chinese text comes
/// after an ASCII window is still UTF-8.
#[test]
fn ascii_throughout_and_utf8_after_an_ascii_window_are_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let (ascii, _) = ascii_prefix(3 * SNIFF_LEN + 11);
    write(dir.path(), "lists/a.csv", ascii.as_bytes());
    let (mut late, _) = ascii_prefix(SNIFF_LEN + 100);
    late.push_str(GB_ROW_START);
    late.push_str(GB_ROW_REST);
    write(dir.path(), "lists/b.csv", late.as_bytes());
    let (summary, rows) = read(dir.path()).unwrap();
    for f in &summary.files {
        assert_eq!(
            (f.encoding, f.encoding_from),
            ("utf-8", EncodingFrom::Detected)
        );
    }
    assert!(rows.rejects.is_empty(), "{:?}", rows.rejects);
    let g = rows.lists.iter().find(|r| r.record_id == "G").unwrap();
    assert_eq!(g.subject_name, "北京某某科技有限公司");
}

/// A file that mixes encodings still fails, naming file and line, what it was read as and
/// why, and how to say otherwise: here UTF-8 (its first non-ASCII bytes, past an ASCII
/// window, and the window of text from them on) and then GB18030.
#[test]
fn a_file_mixing_encodings_after_an_ascii_window_fails_at_the_line_that_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let (prefix, mut lines) = ascii_prefix(SNIFF_LEN + 500);
    let mut bytes = prefix.into_bytes();
    let utf8_from = bytes.len();
    while bytes.len() < utf8_from + SNIFF_LEN {
        bytes.extend_from_slice(format!("{GB_ROW_START}{GB_ROW_REST}").as_bytes());
        lines += 1;
    }
    bytes.extend_from_slice(&gb(&format!("{GB_ROW_START}{GB_ROW_REST}")));
    write(dir.path(), "lists/mixed.csv", &bytes);
    let err = read(dir.path()).unwrap_err();
    match &err {
        SourceError::Encoding {
            path,
            line,
            encoding,
            from,
            ..
        } => assert_eq!(
            (path.as_str(), *line, *encoding, *from),
            (
                "lists/mixed.csv",
                lines + 1,
                "utf-8",
                EncodingFrom::Detected
            )
        ),
        other => panic!("expected an encoding error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "lists/mixed.csv line {}: not valid utf-8: invalid UTF-8 in field 5; the file was \
             read as utf-8 because its first non-ASCII bytes are UTF-8. If it is a GB18030 \
             export, declare it with --file-encoding lists/mixed.csv=gb18030; otherwise fix \
             the bytes on that line or re-save the file as UTF-8",
            lines + 1
        )
    );
}

/// A file detected as GB18030 that then holds bytes GB18030 has no use for (a Latin-1 or
/// damaged export) fails with what it was read as, why, and the ways out.
#[test]
fn a_detected_gb18030_file_with_bad_bytes_says_why_it_was_read_as_gb18030() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gb(&format!("{LIST_HEADER}{GB_ROW_START}{GB_ROW_REST}"));
    let bad_at = bytes.len() + 3;
    bytes.extend_from_slice(b"B,c\xFF\xFFurt,org\n");
    write(dir.path(), "lists/bad.csv", &bytes);
    assert_eq!(
        read(dir.path()).unwrap_err().to_string(),
        format!(
            "lists/bad.csv line 3: not valid gb18030: malformed byte sequence FF at byte \
             offset {bad_at}; the file was read as gb18030 because its first non-ASCII bytes \
             are not UTF-8. If it is UTF-8, declare it with --file-encoding lists/bad.csv=utf-8; \
             if it is in another encoding (Big5, Latin-1, …), re-save it as UTF-8; otherwise \
             fix the bytes on that line"
        )
    );
}

/// A per-file encoding overrides the directory's, both ways, and the summary says each file
/// was declared. GB18030 text whose bytes happen to be valid UTF-8 (鍖椾含 in GB18030 is
/// 北京 in UTF-8) is detected as UTF-8, wrongly; only a declaration reads it right.
#[test]
fn a_per_file_encoding_overrides_the_directory_one() {
    let dir = tempfile::tempdir().unwrap();
    let misleading = format!(
        "{LIST_HEADER}M,court_defaulter,org,91110000600037341L,鍖椾含,,,,2020-01-01,2020-01-01,,\n"
    );
    assert_eq!(
        gb(&misleading),
        misleading.replace("鍖椾含", "北京").as_bytes()
    );
    write(dir.path(), "lists/gb.csv", &gb(&misleading));
    let utf8 = format!("{LIST_HEADER}U,court_defaulter,org,9144030071526726XG,深圳某公司,,,,2020-01-01,2020-01-01,,\n");
    write(dir.path(), "lists/utf8.csv", utf8.as_bytes());

    // Detected: the GB18030 file comes out as "北京".
    let (_, rows) = read(dir.path()).unwrap();
    assert_eq!(rows.lists[0].subject_name, "北京");

    // Declared for that file, under a detected or a UTF-8 directory.
    for dir_encoding in [Encoding::Auto, Encoding::Utf8] {
        let (summary, rows) = read_with(
            dir.path(),
            dir_encoding,
            &[("lists/gb.csv", Encoding::Gb18030)],
        )
        .unwrap();
        let names: Vec<&str> = rows.lists.iter().map(|r| r.subject_name.as_str()).collect();
        assert_eq!(names, ["鍖椾含", "深圳某公司"]);
        let from: Vec<_> = summary
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.encoding, f.encoding_from))
            .collect();
        let utf8_from = if dir_encoding == Encoding::Auto {
            EncodingFrom::Detected
        } else {
            EncodingFrom::Declared
        };
        assert_eq!(
            from,
            [
                ("lists/gb.csv", "gb18030", EncodingFrom::Declared),
                ("lists/utf8.csv", "utf-8", utf8_from)
            ]
        );
    }

    // A GB18030 directory with one UTF-8 file, and a file left to detection in it.
    let (summary, rows) = read_with(
        dir.path(),
        Encoding::Gb18030,
        &[("lists/utf8.csv", Encoding::Utf8)],
    )
    .unwrap();
    assert_eq!(rows.lists[1].subject_name, "深圳某公司");
    assert_eq!(summary.files[1].encoding_from, EncodingFrom::Declared);
    let (summary, _) = read_with(
        dir.path(),
        Encoding::Gb18030,
        &[("lists/utf8.csv", Encoding::Auto)],
    )
    .unwrap();
    assert_eq!(
        (summary.files[1].encoding, summary.files[1].encoding_from),
        ("utf-8", EncodingFrom::Detected)
    );

    // Declared wrongly: the error says it was declared, and how to declare it right.
    let err = read_with(
        dir.path(),
        Encoding::Auto,
        &[("lists/utf8.csv", Encoding::Gb18030)],
    );
    let err = match err {
        Ok((_, rows)) => panic!("read as GB18030, UTF-8 comes out garbled: {rows:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with("lists/utf8.csv line 2: not valid gb18030: "),
        "{err}"
    );
    assert!(
        err.contains(
            "the file was declared gb18030. If it is UTF-8, declare it with --file-encoding \
             lists/utf8.csv=utf-8"
        ),
        "{err}"
    );
}

/// A per-file encoding for a path that is not a source file is an error naming the path
/// and the files there are, not a declaration silently ignored.
#[test]
fn a_per_file_encoding_for_an_unknown_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lists/court.csv", LIST_HEADER.as_bytes());
    write(
        dir.path(),
        "links.csv",
        b"org_id,person_id,person_name,role,from,until\n",
    );
    for path in ["court.csv", "lists/cuort.csv", "lists/README.txt"] {
        let err = read_with(dir.path(), Encoding::Auto, &[(path, Encoding::Gb18030)]).unwrap_err();
        assert!(
            matches!(&err, SourceError::UnknownEncodingFile { path: p, .. } if p == path),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "--file-encoding {path:?}: no such source file in {}; give the path relative \
                 to the source directory, one of: lists/court.csv, links.csv",
                dir.path().display()
            )
        );
    }
    let (summary, _) = read_with(
        dir.path(),
        Encoding::Auto,
        &[("links.csv", Encoding::Gb18030)],
    )
    .unwrap();
    assert_eq!(summary.files[1].encoding, "gb18030");
}
