//! Each source file is read once. The test runs alone in its own process, because it
//! counts the bytes the whole process reads (`rchar` in `/proc/self/io`).

use std::path::Path;

use credgate_index::date::Day;
use credgate_index::source::{read_source, Collect, Encoding, SourceOptions, SNIFF_LEN};

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

/// Bytes this process has read through read(2) and friends so far.
fn bytes_read() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .expect("an rchar line")
        .trim()
        .parse()
        .unwrap()
}

fn read(dir: &Path) -> (u64, Collect) {
    let opts = SourceOptions {
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
        today: Day::parse("2024-06-01").unwrap(),
    };
    let mut rows = Collect::default();
    let before = bytes_read();
    let summary = read_source(dir, &["court_defaulter"], &opts, &mut rows).unwrap();
    let read = bytes_read() - before;
    assert_eq!(summary.files[0].encoding, "utf-8");
    (read, rows)
}

/// Regression: a file whose first 64 KiB were ASCII was scanned for its first non-ASCII
/// byte with a second handle before being read, so an ASCII-only file (an export with
/// pinyin or no names) was read twice from end to end. The encoding is now decided as the
/// file streams, at its first non-ASCII byte.
#[cfg(target_os = "linux")]
#[test]
fn an_ascii_file_larger_than_the_sniff_window_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = LIST_HEADER.to_string();
    let mut n = 0u64;
    while text.len() < 64 * SNIFF_LEN {
        n += 1;
        text.push_str(&format!(
            "A{n},court_defaulter,org,9144030071526726XG,ACME Trading,,,,2020-01-01,2020-01-01,,\n"
        ));
    }
    std::fs::create_dir_all(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/a.csv"), &text).unwrap();

    let (read, rows) = read(dir.path());
    assert_eq!(rows.lists.len() as u64, n);
    let size = text.len() as u64;
    assert!(
        read >= size && read < size + size / 4,
        "a file of {size} bytes took {read} bytes of reading"
    );
}
