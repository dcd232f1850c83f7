//! Property-style test: generated messy list files (seeded) where the generator knows, for
//! every data row, the line it starts on and whether it is valid. Every data row must become
//! exactly one sink call, at that line, of the right kind; empty lines must become none.

use std::fs;

use credgate_index::date::Day;
use credgate_index::ids::gen::{mix, sample_ric, sample_uscc};
use credgate_index::source::{read_source, Collect, Encoding, SourceOptions, LIST_COLUMNS};

const CODES: &[&str] = &["court_defaulter", "market_abnormal", "tax_a_grade"];

/// A seeded stream of numbers (SplitMix64), identical on every platform.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = mix(self.0);
        self.0 % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Quotes a field when it needs it (or sometimes anyway).
fn field(rng: &mut Rng, v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) || rng.below(8) == 0 {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

struct Generated {
    text: String,
    /// (start line, valid) of every data row.
    rows: Vec<(u64, bool)>,
}

fn generate(seed: u64, count: usize) -> Generated {
    let mut rng = Rng(seed);
    // A random column order, as another department might export.
    let mut order: Vec<usize> = (0..LIST_COLUMNS.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut text = String::new();
    let mut rows = Vec::new();
    let newline = |rng: &mut Rng| if rng.below(2) == 0 { "\n" } else { "\r\n" };
    let header: Vec<&str> = order.iter().map(|&c| LIST_COLUMNS[c]).collect();
    text.push_str(&header.join(","));
    text.push_str(newline(&mut rng));
    for n in 0..count {
        match rng.below(12) {
            0 => text.push_str(newline(&mut rng)),
            1 => {
                text.push_str("   ");
                text.push_str(newline(&mut rng));
            }
            _ => {}
        }
        let line = text.matches('\n').count() as u64 + 1;
        let person = rng.below(2) == 0;
        let id_seed = rng.below(1 << 40);
        let id = if person {
            String::from_utf8(sample_ric(id_seed).to_vec()).unwrap()
        } else {
            String::from_utf8(sample_uscc(id_seed).to_vec()).unwrap()
        };
        let record_id = format!("R{seed}-{n}");
        let name = rng.pick(&[
            "某公司",
            "张三, 李四",
            "say \"hi\"",
            "多行\n名称",
            " 空格 ",
            "",
        ]);
        let mut f: Vec<String> = vec![
            record_id,
            rng.pick(CODES).to_string(),
            if person { "person" } else { "org" }.to_string(),
            id,
            name.to_string(),
            rng.pick(&["法院", "税务局,稽查局", ""]).to_string(),
            rng.pick(&["(2020)京01执1号", ""]).to_string(),
            rng.pick(&["拒不履行\r\n生效文书", "未年报", ""])
                .to_string(),
            "2020-01-02".to_string(),
            "2020-01-03".to_string(),
            rng.pick(&["", "2025-01-03", "2020-01-03"]).to_string(),
            rng.pick(&["", "2019-12-31"]).to_string(),
        ];
        let mut valid = true;
        let mut width = f.len();
        match rng.below(10) {
            // Valid oddities: full-width digits, and a USCC failing only its MOD 31 check
            // (kept as nonconforming).
            0 => f[3] = f[3].replace('1', "１"),
            1 if !person => {
                let wrong = if f[3].ends_with('0') { "1" } else { "0" };
                f[3].replace_range(17..18, wrong);
            }
            2..=4 => {
                valid = false;
                match rng.below(7) {
                    0 => f[8] = "2020-13-01".into(),
                    1 => f[1] = "no_such_list".into(),
                    2 => f[2] = "company".into(),
                    // A wrong RIC check character; for a USCC a character outside its set.
                    3 if person => {
                        let wrong = if f[3].ends_with('0') { "1" } else { "0" };
                        f[3].replace_range(17..18, wrong);
                    }
                    3 => f[3].replace_range(0..1, "I"),
                    4 => f[10] = "2019-01-01".into(),
                    5 => f[0] = " ".into(),
                    _ => width = if rng.below(2) == 0 { 11 } else { 13 },
                }
            }
            _ => {}
        }
        let mut out: Vec<String> = order.iter().map(|&c| field(&mut rng, &f[c])).collect();
        out.resize(width, "extra".to_string());
        text.push_str(&out.join(","));
        if n + 1 < count || rng.below(2) == 0 {
            text.push_str(newline(&mut rng));
        }
        rows.push((line, valid));
    }
    Generated { text, rows }
}

#[test]
fn every_data_row_becomes_exactly_one_sink_call() {
    let opts = SourceOptions {
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
        today: Day::parse("2024-06-01").unwrap(),
    };
    let (mut nonconforming, mut wrong_width) = (0, 0);
    for seed in 0..24u64 {
        let g = generate(seed, 300);
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("lists")).unwrap();
        fs::write(dir.path().join("lists/messy.csv"), &g.text).unwrap();
        let mut sink = Collect::default();
        let summary = read_source(dir.path(), CODES, &opts, &mut sink).unwrap();

        let file = &summary.files[0];
        assert_eq!(file.rows, g.rows.len() as u64, "seed {seed}");
        assert_eq!(
            sink.lists.len() + sink.rejects.len(),
            g.rows.len(),
            "seed {seed}"
        );
        assert_eq!(file.rejected, sink.rejects.len() as u64);
        let accepted: Vec<u64> = sink.lists.iter().map(|r| r.line).collect();
        let rejected: Vec<u64> = sink.rejects.iter().map(|r| r.line).collect();
        let want_accepted: Vec<u64> = g.rows.iter().filter(|r| r.1).map(|r| r.0).collect();
        let want_rejected: Vec<u64> = g.rows.iter().filter(|r| !r.1).map(|r| r.0).collect();
        assert_eq!(accepted, want_accepted, "seed {seed}: {:?}", sink.rejects);
        assert_eq!(rejected, want_rejected, "seed {seed}");
        nonconforming += sink.lists.iter().filter(|r| r.nonconforming).count();
        wrong_width += sink
            .rejects
            .iter()
            .filter(|r| r.reason.starts_with("wrong number of fields"))
            .count();
    }
    // The generator really produced the oddities it claims to.
    assert!(nonconforming > 0 && wrong_width > 0);
}
