//! `credgate screen`: supplier lists in CSV (UTF-8, GB18030) and xlsx, screened against the
//! sample snapshot, written as CSV, NDJSON and xlsx; order, invalid rows, exit codes, and the
//! `--server` client against a stand-in endpoint.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use calamine::{Data, Reader, Xlsx};
use common::{build_sample, sample_today};
use credgate::batch::{self, Format, Job, Local};
use credgate::engine::screen::ScreenResult;
use credgate::engine::{Engine, Options, Outcome};
use credgate::trust::privacy::mask_numbers;
use credgate_index::date::Day;
use credgate_index::ids::{gen, Mode};
use credgate_index::model::Scenario;

const DENIED: &str = "914101027110665834"; // court defaulter: deny in procurement
const PERSON: &str = "410102196804120211"; // its legal representative
const FAST: &str = "914101844590813695"; // red list: fast_track in procurement

struct Fixture {
    dir: tempfile::TempDir,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    build_sample(&root, sample_today());
    Fixture { dir, root }
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Screens `input` in-process with the sample's day as today.
    fn screen(
        &self,
        input: &Path,
        out: &Path,
        format: Format,
        chunk_rows: usize,
    ) -> batch::Summary {
        self.screen_with(input, out, format, chunk_rows, false, false)
    }

    /// Like [`Fixture::screen`], optionally looking a chunk's identifiers up in sorted order,
    /// and optionally showing people's numbers in full (`--full-ids`).
    fn screen_with(
        &self,
        input: &Path,
        out: &Path,
        format: Format,
        chunk_rows: usize,
        sorted: bool,
        full_ids: bool,
    ) -> batch::Summary {
        let engine = Engine::open(&self.root).unwrap();
        let today = sample_today();
        let mut local = Local::new(&engine, Scenario::Procurement, today, today, Mode::Strict);
        local.sorted = sorted;
        local.full_ids = full_ids;
        local.workers = 2;
        let job = Job {
            input: input.to_path_buf(),
            id_column: None,
            out: Some(out.to_path_buf()),
            format,
            chunk_rows,
            progress: false,
            full_ids,
            encoding: Default::default(),
        };
        batch::run(&job, &mut local).unwrap()
    }

    /// `credgate screen LIST --index <the fixture> --scenario procurement --format FORMAT
    /// --out OUT`.
    fn cli_out(&self, list: &Path, format: &str, out: &Path) -> Output {
        self.cli(&[
            list.to_str().unwrap(),
            "--index",
            self.root.to_str().unwrap(),
            "--scenario",
            "procurement",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ])
    }

    /// `credgate screen FILE --index ROOT --scenario procurement` and `extra`.
    fn procurement(&self, file: &std::path::Path, extra: &[&str]) -> Output {
        let mut args = vec![
            file.to_str().unwrap(),
            "--index",
            self.root.to_str().unwrap(),
            "--scenario",
            "procurement",
        ];
        args.extend_from_slice(extra);
        self.cli(&args)
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_credgate"))
            .arg("screen")
            .args(args)
            .output()
            .unwrap()
    }
}

fn suppliers_csv() -> String {
    format!(
        "序号,企业名称,统一社会信用代码,备注\n\
         1,恒达建材,{DENIED},老客户\n\
         2,王建国,{PERSON},\"含,逗号\"\n\
         3,无名公司,91410184MAUN17PB6X,校验位错\n\
         \n\
         4,红名单企业,\u{3000}９１４１０１８４４５９０８１３６９５ ,全角\n"
    )
}

fn read_ndjson(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn chinese_csv_utf8_and_gb18030_with_echoed_columns() {
    let f = fixture();
    let text = suppliers_csv();
    let utf8 = f.write("s.csv", text.as_bytes());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let bom = f.write("bom.csv", &bom);
    let gb = f.write("gb.csv", &encoding_rs::GB18030.encode(&text).0);

    let out = f.path("out.csv");
    let summary = f.screen(&utf8, &out, Format::Csv, 2);
    let rows = read_csv(&out);
    assert_eq!(
        rows[0],
        [
            "row",
            "序号",
            "企业名称",
            "统一社会信用代码",
            "备注",
            "decision",
            "heightened",
            "nonconforming",
            "lists",
            "measures",
            "error"
        ]
    );
    assert_eq!(rows.len(), 5, "the blank line is not a row");
    // The row number, then the input columns, then the result.
    assert_eq!(
        &rows[1][..6],
        ["1", "1", "恒达建材", DENIED, "老客户", "deny"]
    );
    assert!(rows[1][8].contains("court_defaulter"), "{:?}", rows[1]);
    assert!(!rows[1][9].is_empty());
    // A person's number is masked as the server masks it (shown in full with --full-ids,
    // below).
    assert_eq!(
        &rows[2][..5],
        ["2", "2", "王建国", "410102********0211", "含,逗号"]
    );
    assert_eq!(rows[3][5], "", "an invalid row has no decision");
    let engine = Engine::open(&f.root).unwrap();
    let today = sample_today();
    let want = engine.screen_one(
        "91410184MAUN17PB6X",
        Scenario::Procurement,
        today,
        today,
        Mode::Strict,
        Options::default(),
    );
    let error = want.error.unwrap();
    assert_eq!(rows[3][10], format!("invalid_id: {}", error.message));
    assert_eq!(rows[3][6..8], ["false", "false"], "as the server writes it");
    // Numbered like NDJSON's `row`: the blank line is not counted.
    assert_eq!(rows[4][0], "4");
    assert_eq!(rows[4][3], "\u{3000}９１４１０１８４４５９０８１３６９５ ");
    assert_eq!(rows[4][5], "fast_track");
    assert_eq!(summary.rows, 4);
    assert_eq!(summary.invalid, 1);
    let person = engine.screen_one(
        PERSON,
        Scenario::Procurement,
        today,
        today,
        Mode::Strict,
        Options::default(),
    );
    assert_eq!(rows[2][5], person.decision.unwrap().as_str());
    assert_eq!(
        summary.count(Outcome::Deny),
        1 + u64::from(person.decision == Some(Outcome::Deny))
    );

    for input in [bom, gb] {
        let again = f.path("again.csv");
        f.screen(&input, &again, Format::Csv, 3);
        assert_eq!(read_csv(&again), rows, "{}", input.display());
    }

    // With --full-ids the list comes back as it was given.
    let full = f.path("full.csv");
    f.screen_with(&utf8, &full, Format::Csv, 2, false, true);
    let full = read_csv(&full);
    assert_eq!(&full[2][..5], ["2", "2", "王建国", PERSON, "含,逗号"]);
}

/// A GB18030 list whose first 64 KiB are ASCII: many rows before the first Chinese name.
fn late_chinese_list() -> Vec<u8> {
    let mut text = String::from("id,name\n");
    while text.len() < 70_000 {
        text.push_str(&format!("{FAST},ACME Trading\n"));
    }
    text.push_str(&format!("{DENIED},恒达建材\n"));
    encoding_rs::GB18030.encode(&text).0.into_owned()
}

/// Regression: a GB18030 list whose first 64 KiB were ASCII was read as UTF-8 and failed at
/// its first Chinese name. A regular file is now detected by its first non-ASCII bytes.
#[test]
fn a_gb18030_list_with_an_ascii_first_window_is_detected_by_its_first_chinese_text() {
    let f = fixture();
    let input = f.write("late.csv", &late_chinese_list());
    let out = f.path("late-out.csv");
    f.screen(&input, &out, Format::Csv, 4096);
    let rows = read_csv(&out);
    let last = rows.last().unwrap();
    assert_eq!(&last[1..4], [DENIED, "恒达建材", "deny"]);
    assert_eq!(&rows[1][1..4], [FAST, "ACME Trading", "fast_track"]);
}

/// `credgate screen /dev/stdin --index <fixture> --scenario procurement --format ndjson` and
/// `extra`, with `list` piped in: its exit code, stdout and stderr.
fn screen_piped(f: &Fixture, list: Vec<u8>, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args(["screen", "/dev/stdin", "--index"])
        .arg(&f.root)
        .args(["--scenario", "procurement", "--format", "ndjson"])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The run may end (a usage error) before the list is written.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&list);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A list read from a pipe is told apart as a file is, by its first non-ASCII bytes
/// wherever they are: the encoding is decided as the list streams, so nothing is read
/// twice. (It used to be decided by a pipe's first 64 KiB alone, which read this list as
/// UTF-8 and made its Chinese row an `invalid_row`.) `--encoding gb18030` reads it the same.
#[test]
fn a_piped_list_is_detected_by_its_first_chinese_text() {
    let f = fixture();
    let list = late_chinese_list();
    let rows = list.iter().filter(|&&b| b == b'\n').count() - 1;
    for extra in [&[][..], &["--encoding", "GB18030"]] {
        let (code, stdout, stderr) = screen_piped(&f, list.clone(), extra);
        assert_eq!(code, Some(1), "{extra:?}: {stderr}");
        let results: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), rows, "{extra:?}");
        assert_eq!(results[0]["decision"], "fast_track", "{extra:?}");
        let last = results.last().unwrap();
        assert_eq!(last["decision"], "deny", "{extra:?}: {last}");
        assert_eq!(last["columns"]["name"], "恒达建材", "{extra:?}: {last}");
        assert!(stderr.contains("invalid 0;"), "{extra:?}: {stderr}");
    }

    let (code, _, stderr) = screen_piped(&f, list, &["--encoding", "big5"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown encoding \"big5\"; expected auto, utf-8 or gb18030"),
        "{stderr}"
    );
}

/// A piped list read as UTF-8 by its first Chinese text, with a GBK row further on: that
/// row is an `invalid_row` (not the end of the run: every other row is screened), and the
/// summary says why and what to do.
#[test]
fn a_piped_list_with_a_row_that_is_not_utf8_is_screened_whole() {
    let f = fixture();
    let mut list = format!("id,name\n{FAST},恒达建材\n").into_bytes();
    while list.len() < 70_000 {
        list.extend_from_slice(format!("{FAST},ACME Trading\n").as_bytes());
    }
    list.extend_from_slice(format!("{DENIED},").as_bytes());
    list.extend_from_slice(&[0xBA, 0xE3, 0xB4, 0xEF, b'\n']); // 恒达 in GBK
    let rows = list.iter().filter(|&&b| b == b'\n').count() - 1;
    let (code, stdout, stderr) = screen_piped(&f, list, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), rows);
    assert_eq!(results[0]["decision"], "fast_track");
    let last = results.last().unwrap();
    assert_eq!(last["error"]["code"], "invalid_row", "{last}");
    assert!(
        stderr.contains("invalid 1;")
            && stderr.contains("1 of the invalid rows are not UTF-8")
            && stderr.contains("--encoding gb18030"),
        "{stderr}"
    );
}

/// `input` screened for procurement as of 2026-11-28 with `--format csv` (one row is invalid:
/// exit 1), the file written.
fn csv_of(f: &Fixture, input: &Path) -> String {
    let out = f.path("f.out.csv");
    let o = f.procurement(
        input,
        &[
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
            "--as-of",
            "2026-11-28",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    std::fs::read_to_string(&out).unwrap()
}

/// `--format csv` guards cells a spreadsheet would open as formulas, as the server's CSV
/// answer does (a `'` before them); NDJSON keeps them as they were.
#[test]
fn csv_output_guards_cells_that_open_as_formulas() {
    let f = fixture();
    let input = f.write(
        "f.csv",
        "id,=名称,备注\n914101027110665834,=1+1,-5\n@SUM(1),+86,\"\tx\"\n".as_bytes(),
    );
    let text = csv_of(&f, &input);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,'=名称,备注,decision,heightened,nonconforming,lists,measures,error"
    );
    assert_eq!(
        lines[1],
        "1,914101027110665834,'=1+1,'-5,deny,false,false,court_defaulter,procurement.black.restrict,"
    );
    assert!(
        lines[2].starts_with("2,'@SUM(1),'+86,'\tx,,false,false,,,invalid_id: "),
        "{}",
        lines[2]
    );
    let out = f.path("f.out.ndjson");
    let o = f.procurement(
        &input,
        &[
            "--format",
            "ndjson",
            "--out",
            out.to_str().unwrap(),
            "--as-of",
            "2026-11-28",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows = read_ndjson(&out);
    assert_eq!(
        rows[0]["columns"],
        serde_json::json!({"=名称": "=1+1", "备注": "-5"})
    );
    assert_eq!(rows[1]["input"], "@SUM(1)");
}

/// The full-width `＝`, `＋`, `－` and `＠`, which some spreadsheet applications read as their
/// ASCII forms, are guarded as those are; a full-width mark inside a cell is not. Such cells
/// used to be written as they were.
#[test]
fn csv_output_guards_cells_that_open_as_full_width_formulas() {
    let f = fixture();
    let input = f.write(
        "f.csv",
        "id,＝名称,备注\n914101027110665834,＝1＋1,－5\n＠SUM(1),＋86,a＝1\n".as_bytes(),
    );
    let text = csv_of(&f, &input);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,'＝名称,备注,decision,heightened,nonconforming,lists,measures,error"
    );
    assert_eq!(
        lines[1],
        "1,914101027110665834,'＝1＋1,'－5,deny,false,false,court_defaulter,procurement.black.restrict,"
    );
    assert!(
        lines[2].starts_with("2,'＠SUM(1),'＋86,a＝1,,false,false,,,invalid_id: "),
        "{}",
        lines[2]
    );
}

#[test]
fn ndjson_rows_carry_the_result_and_the_other_columns() {
    let f = fixture();
    let input = f.write("s.csv", suppliers_csv().as_bytes());
    let out = f.path("out.ndjson");
    f.screen(&input, &out, Format::Ndjson, 64);
    let rows = read_ndjson(&out);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["row"], 1);
    assert_eq!(rows[0]["input"], DENIED);
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[0]["id_type"], "uscc");
    assert_eq!(
        rows[0]["columns"],
        serde_json::json!({"序号": "1", "企业名称": "恒达建材", "备注": "老客户"})
    );
    assert_eq!(
        rows[1]["id"], "410102********0211",
        "people are masked in results"
    );
    assert_eq!(
        rows[1]["input"], "410102********0211",
        "and in what is echoed"
    );
    assert_eq!(rows[2]["error"]["code"], "invalid_id");
    assert!(rows[2]["decision"].is_null());
    assert_eq!(
        rows[3]["row"], 4,
        "rows are numbered without the blank line"
    );
    assert_eq!(rows[3]["id"], FAST);
}

#[test]
fn xlsx_in_and_out() {
    let f = fixture();
    // An xlsx supplier list, with the identifier column named in English.
    let input = f.path("in.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in [
        ["name", "Credit_Code", "amount"],
        ["恒达建材", DENIED, ""],
        ["红名单企业", FAST, ""],
        ["bad", "123", ""],
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    sheet.write_number(1, 2, 1250.0).unwrap();
    book.save(&input).unwrap();

    let out = f.path("out.xlsx");
    let summary = f.screen(&input, &out, Format::Xlsx, 1);
    assert_eq!((summary.rows, summary.invalid), (3, 1));

    let mut back: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = back.worksheet_range_at(0).unwrap().unwrap();
    let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    let s = |v: &str| Data::String(v.to_string());
    // The row number first, as a number, then the input columns, then the result.
    assert_eq!(cell(0, 0), s("row"));
    assert_eq!(cell(0, 2), s("Credit_Code"));
    assert_eq!(cell(0, 4), s("decision"));
    assert_eq!(cell(0, 9), s("error"));
    assert_eq!(cell(1, 0), Data::Float(1.0));
    assert_eq!(cell(3, 0), Data::Float(3.0));
    assert_eq!(cell(1, 1), s("恒达建材"));
    assert_eq!(
        cell(1, 3),
        s("1250"),
        "numbers echo as the text a person sees"
    );
    assert_eq!(cell(1, 4), s("deny"));
    assert_eq!(cell(1, 5), Data::Bool(false));
    assert!(matches!(cell(1, 7), Data::String(ref l) if l.contains("court_defaulter")));
    assert_eq!(cell(2, 4), s("fast_track"));
    assert_eq!(cell(3, 4), Data::Empty);
    assert!(matches!(cell(3, 9), Data::String(ref e) if !e.is_empty()));
}

/// A seeded mix of the sample's listed subjects, unlisted codes and numbers, and bad input.
fn mixed_ids(n: usize, seed: u64) -> Vec<String> {
    const LISTED: [&str; 4] = [DENIED, PERSON, FAST, "91410184MAUN17PB6B"];
    (0..n)
        .map(|i| {
            let h = gen::mix(seed ^ i as u64);
            match h % 10 {
                0 => LISTED[(h >> 8) as usize % LISTED.len()].to_string(),
                1 => format!("BAD{}", h % 1000),
                2..=5 => String::from_utf8(gen::sample_ric(h).to_vec()).unwrap(),
                _ => String::from_utf8(gen::sample_uscc(h).to_vec()).unwrap(),
            }
        })
        .collect()
}

#[test]
fn output_order_is_input_order_across_chunks() {
    let f = fixture();
    let ids = mixed_ids(50_000, 7);
    let mut text = String::from("n,id\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&format!("{i},{id}\n"));
    }
    let input = f.write("big.csv", text.as_bytes());
    let out = f.path("big.ndjson");
    // Odd-sized chunks, so rows straddle chunk edges and each chunk is sorted for lookup.
    let summary = f.screen_with(&input, &out, Format::Ndjson, 4_999, true, false);
    assert_eq!(summary.rows, 50_000);

    let engine = Engine::open(&f.root).unwrap();
    let today = sample_today();
    let file = std::fs::File::open(&out).unwrap();
    let mut invalid = 0;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let want = engine.screen_one(
            &ids[i],
            Scenario::Procurement,
            today,
            today,
            Mode::Strict,
            Options::default(),
        );
        invalid += usize::from(want.error.is_some());
        assert_eq!(v["row"], i + 1);
        // Echoed as the server echoes it: a person's number as the masked `id`, a valid
        // organisation code as given, anything else with its numbers masked.
        let input = match (want.id_type, &want.id) {
            (Some("ric"), Some(id)) => id.clone(),
            (Some(_), _) => ids[i].clone(),
            _ => mask_numbers(&ids[i]).into_owned(),
        };
        assert_eq!(v["input"], input.as_str());
        assert_eq!(v["columns"]["n"], i.to_string());
        let mut got = v.clone();
        for k in ["row", "input", "columns"] {
            got.as_object_mut().unwrap().remove(k);
        }
        assert_eq!(got, serde_json::to_value(&want).unwrap(), "row {}", i + 1);
    }
    assert_eq!(summary.invalid as usize, invalid);
    assert!(invalid > 4_000, "the mix has invalid rows: {invalid}");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn exit_codes_and_messages() {
    let f = fixture();
    let root = f.root.to_str().unwrap();
    let unlisted = String::from_utf8(gen::sample_uscc(42).to_vec()).unwrap();
    let clean = f.write(
        "clean.csv",
        format!("企业名称,信用代码\n甲,{unlisted}\n").as_bytes(),
    );
    let bad = f.write("bad.csv", b"name,id\nx,12345\n");
    let nocol = f.write("nocol.csv", "名称,电话\n甲,123\n".as_bytes());

    let o = f.procurement(&clean, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        stdout.starts_with("row,企业名称,信用代码,decision,"),
        "{stdout}"
    );
    assert!(
        stdout.lines().nth(1).unwrap().starts_with("1,甲,"),
        "{stdout}"
    );
    assert!(
        stderr(&o).contains("1 rows: deny 0, review 0, fast_track 0, clear 1, invalid 0;"),
        "{}",
        stderr(&o)
    );

    let o = f.procurement(&bad, &[]);
    assert_eq!(o.status.code(), Some(1), "an invalid row: {}", stderr(&o));
    assert!(stderr(&o).contains("invalid 1"));

    let o = f.procurement(&nocol, &[]);
    // No known name: the first column is the identifier's, as on the server.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid 1"), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\n1,甲,123,,false,false,,,invalid_id: "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = f.procurement(&nocol, &["--id-column", "税号"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no column named \"税号\"")
            && stderr(&o).contains("\"名称\", \"电话\""),
        "{}",
        stderr(&o)
    );
    let o = f.procurement(&nocol, &["--id-column", " 电话 "]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "--id-column picks the column: {}",
        stderr(&o)
    );

    let o = f.cli(&[
        clean.to_str().unwrap(),
        "--index",
        root,
        "--scenario",
        "lottery",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown scenario"), "{}", stderr(&o));
    // A day outside the accepted years: refused with the range, as the server refuses it.
    let o = f.procurement(&clean, &["--as-of", "0000-01-01"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the accepted range 1949-01-01 to 2199-12-31"),
        "{}",
        stderr(&o)
    );
    let o = f.procurement(&clean, &["--format", "xlsx"]);
    assert_eq!(o.status.code(), Some(2));
    let o = f.cli(&[
        "/nonexistent.csv",
        "--index",
        root,
        "--scenario",
        "procurement",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = f.cli(&[
        clean.to_str().unwrap(),
        "--index",
        "/nonexistent",
        "--scenario",
        "procurement",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// A list without a header whose first identifier is mistyped: the first row holds digits,
/// so it is data (row 1, `invalid_id`), not a header that would swallow it.
#[test]
fn a_headerless_list_keeps_a_mistyped_first_row() {
    let f = fixture();
    let typo = "410102196804120212"; // PERSON with a wrong check digit
    let input = f.write(
        "headerless.csv",
        format!("{typo},王建国\n{DENIED},恒达\n").as_bytes(),
    );
    let out = f.path("out.csv");
    let summary = f.screen(&input, &out, Format::Csv, 64);
    assert_eq!((summary.rows, summary.invalid), (2, 1));
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(&rows[0][..4], ["row", "id", "column2", "decision"]);
    assert_eq!(&rows[1][..4], ["1", "410102********0212", "王建国", ""]);
    assert!(rows[1][8].contains("check"), "{:?}", rows[1]);
    assert_eq!(&rows[2][..4], ["2", DENIED, "恒达", "deny"]);

    let out = f.path("out.ndjson");
    f.screen(&input, &out, Format::Ndjson, 64);
    let rows = read_ndjson(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["row"], 1);
    assert_eq!(rows[0]["error"]["code"], "invalid_id");
    assert_eq!(rows[0]["columns"], serde_json::json!({"column2": "王建国"}));
    assert_eq!(rows[1]["row"], 2);
    assert_eq!(rows[1]["decision"], "deny");

    // Full-width digits are digits; the binary agrees, and exits 1 for the invalid row.
    let wide = f.write(
        "wide.csv",
        "４１０１０２１９６８０４１２０２１２,王建国\n".as_bytes(),
    );
    let o = f.cli(&[
        wide.to_str().unwrap(),
        "--index",
        f.root.to_str().unwrap(),
        "--scenario",
        "procurement",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 rows:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid 1"), "{}", stderr(&o));
}

#[test]
fn cli_xlsx_out_by_extension_matches_the_engine() {
    let f = fixture();
    let input = f.write("s.csv", suppliers_csv().as_bytes());
    let out = f.path("r.xlsx");
    let o = f.cli(&[
        input.to_str().unwrap(),
        "--index",
        f.root.to_str().unwrap(),
        "--scenario",
        "procurement",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let engine = Engine::open(&f.root).unwrap();
    let today = Day::today_cst();
    let want = engine.screen_one(
        DENIED,
        Scenario::Procurement,
        today,
        today,
        Mode::Strict,
        Options::default(),
    );
    let mut back: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = back.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.height(), 5);
    assert_eq!(
        range.get_value((1, 5)),
        Some(&Data::String(want.decision.unwrap().as_str().to_string()))
    );
}

/// A stand-in for `POST /v1/screen`: reads each keep-alive request's NDJSON body of
/// identifier strings, screens it with the engine and answers NDJSON in
/// the endpoint's row shape. Checks the bearer token.
fn stand_in_server(root: PathBuf, token: &'static str) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let engine = Engine::open(&root).unwrap();
        let today = Day::today_cst();
        let mut requests = 0;
        let mut conns = Vec::new();
        listener.set_nonblocking(false).unwrap();
        // The client opens two connections; serve each on its own thread until it closes.
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            conns.push(stream);
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = conns
                .into_iter()
                .map(|stream| {
                    let engine = &engine;
                    s.spawn(move || serve(stream, engine, today, token))
                })
                .collect();
            for h in handles {
                requests += h.join().unwrap();
            }
        });
        requests
    });
    (url, handle)
}

fn serve(stream: std::net::TcpStream, engine: &Engine, today: Day, token: &str) -> usize {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut served = 0;
    loop {
        let mut head = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                return served;
            }
            if line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let len: usize = head
            .iter()
            .find_map(|h| {
                h.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap();
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        assert!(
            head[0].starts_with("POST /v1/screen?scenario=procurement&as_of=2026-11-28 "),
            "{}",
            head[0]
        );
        let authorized = head
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&format!("authorization: Bearer {token}")));
        let (status, answer) = if authorized {
            let mut out = Vec::new();
            let ids = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            for (i, line) in ids.enumerate() {
                let id: String = serde_json::from_slice(line).unwrap();
                let r: ScreenResult = engine.screen_one(
                    &id,
                    Scenario::Procurement,
                    Day::parse("2026-11-28").unwrap(),
                    today,
                    Mode::Strict,
                    Options::default(),
                );
                let mut v = serde_json::to_value(&r).unwrap();
                v["row"] = (i + 1).into();
                v["input"] = id.into();
                v["columns"] = serde_json::json!({});
                serde_json::to_writer(&mut out, &v).unwrap();
                out.push(b'\n');
            }
            ("200 OK", out)
        } else {
            (
                "401 Unauthorized",
                br#"{"error":{"code":"unauthorized","message":"bad token"}}"#.to_vec(),
            )
        };
        write!(
            writer,
            "HTTP/1.1 {status}\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        )
        .unwrap();
        writer.write_all(&answer).unwrap();
        served += 1;
    }
}

#[test]
fn server_mode_matches_offline_mode() {
    let f = fixture();
    let ids = mixed_ids(3_000, 11);
    let mut text = String::from("备注,证件号码\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&format!("r{i},{id}\n"));
    }
    let input = f.write("list.csv", text.as_bytes());
    let (url, server) = stand_in_server(f.root.clone(), "s3cret");
    let remote_out = f.path("remote.csv");
    let common = [
        "--scenario",
        "procurement",
        "--as-of",
        "2026-11-28",
        "--chunk-rows",
        "1000",
    ];
    // `credgate screen` against the stand-in at `url`, with the token it expects.
    let screen_remote = |url: &str| {
        let mut args = vec![
            input.to_str().unwrap(),
            "--server",
            url,
            "--token",
            "s3cret",
            "--out",
            remote_out.to_str().unwrap(),
        ];
        args.extend(common);
        f.cli(&args)
    };
    let o = screen_remote(&url);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        server.join().unwrap(),
        6,
        "three chunks, each split over two connections"
    );

    let local_out = f.path("local.csv");
    let mut args = vec![
        input.to_str().unwrap(),
        "--index",
        f.root.to_str().unwrap(),
        "--out",
        local_out.to_str().unwrap(),
    ];
    args.extend(common);
    let o = f.cli(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(read_csv(&remote_out), read_csv(&local_out));

    // A refused token is a server failure: exit 3 with the server's message.
    let (url, server) = stand_in_server(f.root.clone(), "other");
    let o = screen_remote(&url);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("HTTP 401"), "{}", stderr(&o));
    server.join().unwrap();
}

/// The token can stay off the command line, where `ps` shows it to every user: from the
/// first line of `--token-file`, or from `CREDGATE_TOKEN`.
#[test]
fn the_server_token_comes_from_a_file_or_the_environment() {
    let f = fixture();
    let input = f.write("list.csv", format!("id\n{DENIED}\n{FAST}\n").as_bytes());
    let token_file = f.write("token", b"s3cret\n");
    let empty_file = f.write("empty-token", b"\n");
    let screen = |url: &str, extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_credgate"));
        c.args(["screen", input.to_str().unwrap(), "--server", url])
            .args(["--scenario", "procurement", "--as-of", "2026-11-28"])
            .args(extra)
            .env_remove("CREDGATE_TOKEN");
        if let Some(t) = env {
            c.env("CREDGATE_TOKEN", t);
        }
        c.output().unwrap()
    };
    let (url, server) = stand_in_server(f.root.clone(), "s3cret");
    let o = screen(&url, &["--token-file", token_file.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("deny"));
    server.join().unwrap();

    let (url, server) = stand_in_server(f.root.clone(), "s3cret");
    let o = screen(&url, &[], Some("s3cret"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    server.join().unwrap();

    // --token wins over the environment; an empty or missing file is a usage error.
    let (url, server) = stand_in_server(f.root.clone(), "s3cret");
    let o = screen(&url, &["--token", "s3cret"], Some("wrong"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    server.join().unwrap();
    let o = screen(
        "http://127.0.0.1:9",
        &["--token-file", empty_file.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("first line is empty"), "{}", stderr(&o));
    let missing = f.path("no-such-token");
    let o = screen(
        "http://127.0.0.1:9",
        &["--token-file", missing.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--token-file"), "{}", stderr(&o));
}

#[test]
fn out_appears_only_whole_and_never_over_the_input() {
    let f = fixture();
    let list = f.write("list.csv", format!("id\n{DENIED}\n{FAST}\n").as_bytes());
    let out = f.write("results.csv", b"earlier results\n");
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(f.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = files();

    // A run that fails once its output has begun (no server there) leaves the earlier
    // results as they were, and no partial file.
    let o = f.cli(&[
        list.to_str().unwrap(),
        "--server",
        "http://127.0.0.1:9",
        "--scenario",
        "procurement",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"earlier results\n");
    assert_eq!(files(), before);

    // The input as the output is refused before anything is written.
    let o = f.procurement(&list, &["--out", list.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("input file"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&list).unwrap(),
        format!("id\n{DENIED}\n{FAST}\n")
    );

    // A run that succeeds replaces the results whole, in every format.
    for (name, format) in [("results.csv", "csv"), ("results.xlsx", "xlsx")] {
        let o = f.cli_out(&list, format, &f.path(name));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
    assert!(read_csv(&out)[1].contains(&"deny".to_string()));
    assert!(std::fs::metadata(f.path("results.xlsx")).unwrap().len() > 0);
    assert!(
        !files().iter().any(|n| n.ends_with(".partial")),
        "{:?}",
        files()
    );
}

#[test]
fn ragged_rows_keep_the_result_columns_under_their_headers() {
    let f = fixture();
    // One row longer than the header, one shorter.
    let list = f.write(
        "ragged.csv",
        format!("id,name\n{DENIED},a,extra\n{FAST}\n").as_bytes(),
    );
    for format in ["csv", "xlsx"] {
        let out = f.path(&format!("ragged-out.{format}"));
        let o = f.cli_out(&list, format, &out);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        if format == "xlsx" {
            continue;
        }
        let rows = read_csv(&out);
        let decision = rows[0].iter().position(|h| h == "decision").unwrap();
        assert_eq!(rows[0][..decision], ["row", "id", "name"]);
        for r in &rows[1..] {
            assert_eq!(r.len(), rows[0].len(), "{r:?}");
        }
        assert_eq!(rows[1][decision], "deny", "{rows:?}");
        assert_eq!(rows[2][decision], "fast_track", "{rows:?}");
    }
}

#[test]
fn server_mode_works_against_a_server_that_signs_receipts() {
    let f = fixture();
    let key = f.path("signing.key");
    let p = common::proc::Proc::serve(
        &[
            "--index",
            f.root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--signing-key",
            key.to_str().unwrap(),
        ],
        &[("CREDGATE_TODAY", "2026-11-28")],
    );
    let url = format!("http://{}", p.connect_addr());
    let list = f.write("list.csv", format!("id\n{DENIED}\n{FAST}\n").as_bytes());
    let out = f.path("signed.csv");
    // The batch ends with the server's receipt line, which is not a row.
    let o = f.cli(&[
        list.to_str().unwrap(),
        "--server",
        &url,
        "--scenario",
        "procurement",
        "--out",
        out.to_str().unwrap(),
    ]);
    p.stop("TERM");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[1].contains(&"deny".to_string()), "{rows:?}");
    assert!(rows[2].contains(&"fast_track".to_string()), "{rows:?}");
}

#[cfg(unix)]
#[test]
fn out_that_is_no_plain_file_is_written_through_not_replaced() {
    let f = fixture();
    let list = f.write("list.csv", format!("id\n{DENIED}\n").as_bytes());
    // A symbolic link to a results file: the link stays, and its target gets the results.
    let target = f.write("target.csv", b"old\n");
    let link = f.path("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = f.cli_out(&list, "csv", &link);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(read_csv(&target)[1].contains(&"deny".to_string()));

    // A named pipe (as /dev/null or a process reading the results would be) stays a pipe.
    let fifo = f.path("results.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = f.cli_out(&list, "csv", &fifo);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(reader.join().unwrap().contains("deny"));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}
