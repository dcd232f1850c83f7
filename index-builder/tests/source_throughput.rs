//! Parsing throughput on a generated source directory (not a timing assertion: it prints).
//!
//! ```text
//! SOURCE_ROWS=1000000 cargo test --release -p credgate-index --test source_throughput \
//!     -- --ignored --nocapture
//! ```
//! The file is written to a temp dir and removed afterwards; nothing is committed.

use std::fs;
use std::io::{BufWriter, Write};
use std::time::Instant;

use credgate_index::date::Day;
use credgate_index::ids::gen::{sample_ric, sample_uscc};
use credgate_index::source::{
    read_source, Encoding, LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceOptions,
    SourceSink, LIST_COLUMNS,
};
use encoding_rs::GB18030;

/// Counts rows and keeps a checksum of a few fields so nothing is optimised away.
#[derive(Default)]
struct Count {
    rows: u64,
    rejects: u64,
    check: u64,
}

impl SourceSink for Count {
    fn list_row(&mut self, row: ListRow) {
        self.rows += 1;
        self.check = self
            .check
            .wrapping_add(row.subject_id[17] as u64 + row.subject_name.len() as u64);
    }
    fn repair(&mut self, _: RepairRow) {}
    fn objection(&mut self, _: ObjectionRow) {}
    fn link(&mut self, _: LinkRow) {}
    fn reject(&mut self, _: Reject) {
        self.rejects += 1;
    }
}

fn row(i: u64) -> String {
    let person = i.is_multiple_of(3);
    let id = if person {
        sample_ric(i).to_vec()
    } else {
        sample_uscc(i).to_vec()
    };
    format!(
        "R{i:09},{},{},{},北京某某科技有限公司{i},北京市第一中级人民法院,(2020)京01执{i}号,有履行能力而拒不履行生效法律文书确定义务,2020-05-06,2020-05-07,{},\n",
        ["court_defaulter", "tax_major_violation", "market_abnormal"][(i % 3) as usize],
        if person { "person" } else { "org" },
        String::from_utf8(id).unwrap(),
        if i.is_multiple_of(2) { "2025-05-06" } else { "" },
    )
}

fn measure(label: &str, encode_gb: bool, rows: u64) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("lists")).unwrap();
    let path = dir.path().join("lists/big.csv");
    let mut out = BufWriter::new(fs::File::create(&path).unwrap());
    let mut chunk = LIST_COLUMNS.join(",") + "\n";
    for i in 0..rows {
        chunk.push_str(&row(i));
        if chunk.len() > 1 << 20 || i + 1 == rows {
            if encode_gb {
                out.write_all(&GB18030.encode(&chunk).0).unwrap();
            } else {
                out.write_all(chunk.as_bytes()).unwrap();
            }
            chunk.clear();
        }
    }
    out.flush().unwrap();
    drop(out);
    let bytes = fs::metadata(&path).unwrap().len();

    let opts = SourceOptions {
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
        today: Day::parse("2024-06-01").unwrap(),
    };
    let codes = ["court_defaulter", "tax_major_violation", "market_abnormal"];
    let mut sink = Count::default();
    let start = Instant::now();
    let summary = read_source(dir.path(), &codes, &opts, &mut sink).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!((sink.rows, sink.rejects), (rows, 0));
    println!(
        "{label}: {rows} rows, {:.1} MiB ({}) in {secs:.2} s: {:.0} rows/s, {:.0} MiB/s (check {})",
        bytes as f64 / (1 << 20) as f64,
        summary.files[0].encoding,
        rows as f64 / secs,
        bytes as f64 / (1 << 20) as f64 / secs,
        sink.check
    );
}

#[test]
#[ignore = "throughput measurement; run in release with --ignored --nocapture"]
fn throughput() {
    let rows: u64 = std::env::var("SOURCE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    measure("utf-8", false, rows);
    measure("gb18030", true, rows);
}
