//! `credgate screen` reads each list once. The test runs alone in its own process, because
//! it counts the bytes the whole process reads (`rchar` in `/proc/self/io`).

mod common;

use std::path::Path;

use common::{build_sample, sample_today};
use credgate::batch::{self, Format, Job, Local};
use credgate::engine::Engine;
use credgate_index::ids::Mode;
use credgate_index::model::Scenario;
use credgate_index::source::SNIFF_LEN;

const DENIED: &str = "914101027110665834"; // court defaulter: deny in procurement
const FAST: &str = "914101844590813695"; // red list: fast_track in procurement

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

/// A list of `rows` ASCII rows, well past the sniff window, then one Chinese name.
fn late_chinese_list(rows: usize) -> String {
    let mut text = String::from("id,name\n");
    for _ in 0..rows {
        text.push_str(&format!("{FAST},ACME Trading\n"));
    }
    text.push_str(&format!("{DENIED},恒达建材\n"));
    text
}

/// Screens `input` into `out` as NDJSON; the bytes the process read meanwhile.
fn screen(engine: &Engine, input: &Path, out: &Path) -> (u64, batch::Summary) {
    let today = sample_today();
    let mut local = Local::new(engine, Scenario::Procurement, today, today, Mode::Strict);
    local.workers = 2;
    let job = Job {
        input: input.to_path_buf(),
        id_column: None,
        out: Some(out.to_path_buf()),
        format: Format::Ndjson,
        chunk_rows: 4096,
        progress: false,
        full_ids: false,
        encoding: Default::default(),
    };
    let before = bytes_read();
    let summary = batch::run(&job, &mut local).unwrap();
    (bytes_read() - before, summary)
}

/// Regression: a list whose first 64 KiB were ASCII was scanned for its first non-ASCII
/// byte with a second handle before being read, so such a list was read twice up to its
/// first Chinese text (an ASCII-only one from end to end). The encoding is now decided as
/// the list streams, at its first non-ASCII byte, whichever encoding that byte is in.
#[cfg(target_os = "linux")]
#[test]
fn a_list_with_late_chinese_text_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    build_sample(&root, sample_today());
    let engine = Engine::open(&root).unwrap();

    let rows = 40 * SNIFF_LEN / 32;
    let text = late_chinese_list(rows);
    let gb18030 = encoding_rs::GB18030.encode(&text).0.into_owned();
    for (what, bytes) in [("utf-8", text.as_bytes()), ("gb18030", &gb18030[..])] {
        let input = dir.path().join(format!("{what}.csv"));
        let out = dir.path().join(format!("{what}.ndjson"));
        std::fs::write(&input, bytes).unwrap();
        let (read, summary) = screen(&engine, &input, &out);
        let size = bytes.len() as u64;
        assert!(size > 16 * SNIFF_LEN as u64);
        assert!(
            read >= size && read < size + size / 10,
            "{what}: a list of {size} bytes took {read} bytes of reading"
        );

        assert_eq!(summary.rows, rows as u64 + 1, "{what}");
        assert_eq!((summary.invalid, summary.not_utf8), (0, 0), "{what}");
        let results: Vec<serde_json::Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), rows + 1, "{what}");
        assert_eq!(results[0]["decision"], "fast_track", "{what}");
        let last = results.last().unwrap();
        assert_eq!(last["row"], rows + 1, "{what}: {last}");
        assert_eq!(last["decision"], "deny", "{what}: {last}");
        assert_eq!(last["columns"]["name"], "恒达建材", "{what}: {last}");
    }
}
