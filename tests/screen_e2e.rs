//! `credgate screen --server` against the real `/v1/screen` of a real server: the same
//! output as screening offline against the same snapshot, and the same rows, row numbers,
//! answers and errors as the server gives the same list posted to it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::http::TestServer;
use common::{build_sample, sample_today};
use credgate_index::date::Day;

#[test]
fn screening_through_the_server_matches_screening_offline() {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    let server = TestServer::start(root.path(), sample_today(), |_| {});
    server.wait_ready(None);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("suppliers.csv");
    let mut text = String::from("序号,统一社会信用代码,备注\n");
    let ids = [
        "914101027110665834",
        "410102196804120211",
        "91410105MA3LWF6F8Q",
        "914101844590813695",
        "91410184MAUN17PB6X",
        "９１４１ ０１００ ＭＡ２ＭＡＹＫ７２Ｗ",
    ];
    for i in 0..600 {
        text.push_str(&format!("{i},{},第{i}行\n", ids[i % ids.len()]));
    }
    std::fs::write(&input, text).unwrap();

    let run = |target: &[&str], out: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_credgate"))
            .arg("screen")
            .arg(&input)
            .args(target)
            .args([
                "--scenario",
                "procurement",
                "--as-of",
                "2026-11-28",
                "--chunk-rows",
                "128",
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap();
        // Some rows are denied and one is invalid: exit 1 by the documented scheme.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(out).unwrap()
    };
    let url = format!("http://{}", server.addr);
    let remote = run(&["--server", &url], &dir.path().join("remote.csv"));
    let local = run(
        &["--index", root.path().to_str().unwrap()],
        &dir.path().join("local.csv"),
    );
    assert_eq!(remote.lines().count(), 601);
    assert_eq!(remote, local);
    assert!(remote.lines().nth(1).unwrap().contains("deny"), "{remote}");
    server.stop();
}

/// A sample snapshot served by a real server, and a directory for lists and results.
struct Env {
    root: tempfile::TempDir,
    dir: tempfile::TempDir,
    server: TestServer,
}

/// What one run of `credgate screen` gave.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn env() -> Env {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    // The CLI decides with today's date in China; so does this server.
    let server = TestServer::start(root.path(), Day::today_cst(), |c| c.screen_chunk_rows = 2);
    server.wait_ready(None);
    Env {
        root,
        dir: tempfile::tempdir().unwrap(),
        server,
    }
}

impl Env {
    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// `credgate screen LIST --index ROOT` (`remote` false) or `--server URL`, with
    /// `--scenario procurement --as-of 2026-11-28 --format FORMAT` and `extra`, to stdout.
    fn cli(&self, list: &Path, remote: bool, format: &str, extra: &[&str]) -> Run {
        let url = self.url();
        let target = if remote {
            ["--server", url.as_str()]
        } else {
            ["--index", self.root.path().to_str().unwrap()]
        };
        let o = Command::new(env!("CARGO_BIN_EXE_credgate"))
            .arg("screen")
            .arg(list)
            .args(target)
            .args([
                "--scenario",
                "procurement",
                "--as-of",
                "2026-11-28",
                "--format",
                format,
            ])
            .args(extra)
            .output()
            .unwrap();
        Run {
            code: o.status.code(),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The list posted to `/v1/screen` as CSV, answered in `format` (`csv` or `ndjson`).
    fn post(&self, list: &[u8], format: &str, query: &str) -> String {
        self.post_as(list, "text/csv", format, query)
    }

    /// The list posted to `/v1/screen` as `content_type`, answered in `format`.
    fn post_as(&self, list: &[u8], content_type: &str, format: &str, query: &str) -> String {
        let accept = if format == "csv" {
            "text/csv"
        } else {
            "application/x-ndjson"
        };
        let r = self.server.post_with(
            &format!("/v1/screen?scenario=procurement&as_of=2026-11-28{query}"),
            &[("Content-Type", content_type), ("Accept", accept)],
            list,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// Screens `list` offline and through the server, in CSV and NDJSON, checks that both
    /// ways give the same bytes, and returns the NDJSON rows.
    fn cli_both_ways(&self, name: &str, list: &[u8], extra: &[&str]) -> Vec<serde_json::Value> {
        let path = self.write(name, list);
        let mut rows = Vec::new();
        for format in ["csv", "ndjson"] {
            let local = self.cli(&path, false, format, extra);
            let remote = self.cli(&path, true, format, extra);
            assert!(matches!(local.code, Some(0 | 1)), "{name}: {local:?}");
            assert_eq!(
                (remote.code, &remote.stdout),
                (local.code, &local.stdout),
                "{name} as {format}: --server, then --index; {}",
                remote.stderr
            );
            if format == "ndjson" {
                rows = lines(&local.stdout);
            }
        }
        rows
    }

    /// [`Env::cli_both_ways`], and the same bytes again from the server for the list posted
    /// to it.
    fn every_way(&self, name: &str, list: &[u8]) -> Vec<serde_json::Value> {
        let content_type = if name.ends_with(".xlsx") {
            XLSX
        } else {
            "text/csv"
        };
        let rows = self.cli_both_ways(name, list, &[]);
        let path = self.dir.path().join(name);
        for format in ["csv", "ndjson"] {
            let cli = self.cli(&path, false, format, &[]);
            assert_eq!(
                cli.stdout,
                self.post_as(list, content_type, format, ""),
                "{name} as {format}: credgate screen, then POST /v1/screen"
            );
        }
        rows
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A workbook whose first sheet holds `rows`.
fn workbook(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn lines(ndjson: &str) -> Vec<serde_json::Value> {
    ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `--lenient` with `--server` asks the server for `lenient=true` (it was refused): the
/// sample's pilot-area code is then a nonconforming organisation under review, as offline.
#[test]
fn lenient_goes_through_to_the_server() {
    let e = env();
    let list = b"id\n91350102896967053Y\n914101027110665834\n";
    let rows = e.cli_both_ways("lenient.csv", list, &["--lenient"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["decision"], "review", "{rows:?}");
    assert_eq!(rows[0]["nonconforming"], true, "{rows:?}");
    assert_eq!(rows[1]["decision"], "deny", "{rows:?}");
    // Without it, the same code is invalid both ways.
    let rows = e.cli_both_ways("strict.csv", list, &[]);
    assert_eq!(rows[0]["error"]["code"], "invalid_id", "{rows:?}");
}

/// A row whose identifier cell holds only white space (a space, a tab) is a row like any
/// other, answered `invalid_id` offline, through the server and by the server itself. The
/// client used to send a one-column CSV in which that cell became a blank line, which the
/// server skips, and `--server` failed the whole run: "sent 3 rows, got 1 results".
#[test]
fn a_blank_identifier_cell_is_an_invalid_row_through_the_server_too() {
    let e = env();
    let list = "id,name\n914101027110665834,恒达\n ,无代码\n\t,制表符\n\"a,\"\"b\"\"\nc\",引号\n";
    let rows = e.cli_both_ways("blank-id.csv", list.as_bytes(), &[]);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["decision"], "deny");
    for (row, input) in rows[1..].iter().zip([" ", "\t", "a,\"b\"\nc"]) {
        assert_eq!(row["error"]["code"], "invalid_id", "{row}");
        assert_eq!(row["input"], input, "{row}");
    }
    assert_eq!(
        (rows[1]["row"].as_u64(), rows[3]["row"].as_u64()),
        (Some(2), Some(4))
    );
}

/// The CLI writes CSV and NDJSON with the server's writer: the same columns and cells for
/// the same rows, invalid ones included (`false` flags and `code: message`, where the CLI
/// left the flags empty and dropped the code), and people's numbers masked alike in the
/// identifier, the other columns and messages.
#[test]
fn the_cli_writes_the_rows_the_server_writes() {
    let e = env();
    let list = "id,name,note\n\
                914101027110665834,恒达,\"a, \"\"quoted\"\" note\"\n\
                91410184MAUN17PB6X,校验位错,x\n\
                410102196804120211,王建国,法人 410102196804120211\n\
                410102196804120212,王建国,typo\n\
                914101844590813695\n\
                91410104MACKHWBA9J,b,extra,cells\n";
    let rows = e.every_way("writer.csv", list.as_bytes());
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(rows[1]["error"]["code"], "invalid_id");
    assert_eq!(rows[2]["input"], "410102********0211");
    assert_eq!(rows[2]["columns"]["note"], "法人 410102********0211");
    assert_eq!(rows[3]["input"], "410102********0212");
    assert_eq!(rows[5]["columns"]["column4"], "cells");
    let csv = e.post(list.as_bytes(), "csv", "");
    assert!(
        csv.lines()
            .nth(2)
            .unwrap()
            .starts_with("2,91410184MAUN17PB6X,校验位错,x,,false,false,,,\"invalid_id: "),
        "{csv}"
    );
    assert!(!csv.contains("196804"), "{csv}");
}

/// `--full-ids` shows people's numbers in full, as `credgate check --full-ids` does: in `id`,
/// in `input`, in the other columns and in CSV cells. Without it they are masked there as
/// the server masks them (they used to be masked in `id` only). Through a server, `id` is
/// what the server shows the key: masked by an open server.
#[test]
fn full_ids_shows_people_s_numbers_and_masking_is_the_default() {
    let e = env();
    let person = "410102196804120211";
    let list = format!("id,rep\n{person},{person}\n4101021968041202,x\n");
    let path = e.write("people.csv", list.as_bytes());
    let masked = lines(&e.cli(&path, false, "ndjson", &[]).stdout);
    assert_eq!(masked[0]["id"], "410102********0211");
    assert_eq!(masked[0]["input"], "410102********0211");
    assert_eq!(masked[0]["columns"]["rep"], "410102********0211");
    assert_eq!(masked[1]["input"], "410102******1202");

    let full = lines(&e.cli(&path, false, "ndjson", &["--full-ids"]).stdout);
    assert_eq!(full[0]["id"], person);
    assert_eq!(full[0]["input"], person);
    assert_eq!(full[0]["columns"]["rep"], person);
    assert_eq!(full[1]["input"], "4101021968041202");
    let csv = e.cli(&path, false, "csv", &["--full-ids"]).stdout;
    assert!(csv.contains(&format!("\n1,{person},{person},")), "{csv}");

    let remote = lines(&e.cli(&path, true, "ndjson", &["--full-ids"]).stdout);
    assert_eq!(remote[0]["id"], "410102********0211", "the server's answer");
    assert_eq!(remote[0]["input"], person, "the operator's own file");
    assert_eq!(remote[0]["columns"]["rep"], person);
}

/// One rule for what a row is, on every path (batch::records): a line of white space is no
/// row and is not numbered; every other line is a row with a result (`,` is `invalid_id`,
/// never dropped); a row that is not valid CSV is `invalid_row`, never a decision; a row
/// without the identifier's column is `missing_id`. The CLI used to read with the csv crate:
/// it numbered a line of spaces as a row, dropped `,`, and read a quote left open as a
/// code to decide.
#[test]
fn every_path_counts_the_same_rows() {
    let e = env();
    let rows = e.every_way("spaces.csv", b"id\n \n914101027110665834\n");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["row"].as_u64(), &rows[0]["decision"]),
        (Some(1), &"deny".into())
    );

    let list = b"id,tag\r\n\r\n914101027110665834,a\n,\n\t \x0c\n91410184MAUN17PB6B,b\n";
    let rows = e.every_way("comma.csv", list);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1]["row"], 2);
    assert_eq!(rows[1]["error"]["code"], "invalid_id");
    assert_eq!(rows[2]["row"], 3);
    assert!(rows[2]["decision"].is_string(), "{rows:?}");

    // Lines ended by a CR alone (old Mac exports) are rows like any others; a CR inside
    // quotes stays in its field.
    let list = b"id,tag\r914101027110665834,a\r\r91410184MAUN17PB6B,\"b\rc\"\r";
    let rows = e.every_way("mac.csv", list);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["decision"], "deny", "{rows:?}");
    assert_eq!(rows[1]["row"], 2);
    assert_eq!(rows[1]["columns"]["tag"], "b\rc", "{rows:?}");

    let rows = e.every_way("open.csv", b"id,tag\n\"914101027110665834\n");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["error"]["code"], "invalid_row", "{rows:?}");
    assert!(rows[0]["decision"].is_null());

    // A quote inside a field opens a quoted stretch for the record cutter, so the next line
    // belongs to the same row; text after a closing quote makes a row invalid.
    let list = b"name,id\nx\n\"a\"b,914101027110665834\n\xef\xbc\x91,91410102\"7110665834,a\n914101844590813695,b\n";
    let rows = e.every_way("quotes.csv", list);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["error"]["code"], "missing_id", "{rows:?}");
    assert_eq!(rows[1]["error"]["code"], "invalid_row", "{rows:?}");
    assert_eq!(rows[2]["error"]["code"], "invalid_id", "{rows:?}");
}

/// One rule picks the identifier column on every path and in every format: the column
/// named `id`, else the one with the most specific known name (统一社会信用代码 before
/// 身份证号码), else the first. The server used to screen the first column unless one was
/// called `id`, and the CLI refused a header without a known name; a first row with a known
/// name is a header on both sides.
#[test]
fn every_path_screens_the_same_column() {
    let e = env();
    let deny = "914101027110665834";
    for (name, header, code_first) in [
        ("chinese.csv", "名称,统一社会信用代码", false),
        ("spaced.csv", " 名称 , 统一社会信用代码 ", false),
        ("person-and-org.csv", "身份证号码,统一社会信用代码", false),
        ("id-wins.csv", "统一社会信用代码, ID ", false),
        ("code.csv", "code,name", true),
        ("name-code.csv", "name,code", false),
        ("tax-id.csv", "tax id,名称", true),
        ("id-number.csv", "ID Number,名称", true),
    ] {
        let row = if code_first {
            format!("{deny},恒达")
        } else {
            format!("恒达,{deny}")
        };
        let list = format!("{header}\n{row}\n");
        let rows = e.every_way(name, list.as_bytes());
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        let want_code = !header.starts_with("name,");
        assert_eq!(
            rows[0]["input"] == deny,
            want_code,
            "{name}: the header picks the column: {rows:?}"
        );
    }
    // A known name makes the first row a header even with an identifier beside it.
    let other = "91410184MAUN17PB6B";
    let rows = e.every_way("named.csv", format!("uscc,{other}\n{deny},x\n").as_bytes());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["columns"][other], "x", "{rows:?}");

    // A workbook: the CLI reads it, the server gets it posted.
    let book = workbook(&[
        &["序号", "名称", "统一社会信用代码"],
        &["1", "恒达", deny],
        &["", " ", "\t"],
        &["2", "无名", "91410184MAUN17PB6X"],
    ]);
    let rows = e.every_way("list.xlsx", &book);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[1]["error"]["code"], "invalid_id");
}

/// A row holding bytes that are not UTF-8 (a GBK name pasted into a UTF-8 list, past the
/// first Chinese text by which the CLI tells the encoding) is a row answered `invalid_row` with the
/// same message offline, through the server and by the server itself; the CLI used to stop
/// the whole run at it. The server takes a first record that is not UTF-8 for data, not a
/// header: it is row 1, answered alike.
#[test]
fn a_row_that_is_not_utf8_is_an_invalid_row_every_way() {
    let e = env();
    let mut list = "id,name\n".as_bytes().to_vec();
    let mut n = 0;
    while list.len() < 70_000 {
        list.extend_from_slice("914101027110665834,恒达\n".as_bytes());
        n += 1;
    }
    list.extend_from_slice(b"914101844590813695,");
    list.extend_from_slice(&[0xBA, 0xE3, 0xB4, 0xEF]); // 恒达 in GBK
    list.extend_from_slice(b"\n91410184MAUN17PB6X,x\n");
    let rows = e.every_way("mixed.csv", &list);
    assert_eq!(rows.len(), n + 2, "{:?}", &rows[n..]);
    assert_eq!(rows[0]["decision"], "deny");
    let bad = &rows[n];
    assert_eq!(bad["row"], n + 1, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_row", "{bad}");
    assert_eq!(
        bad["error"]["message"],
        "the row is not UTF-8 (byte 20 of the row)"
    );
    assert_eq!(rows[n + 1]["error"]["code"], "invalid_id");

    let mut list = "名称,id,".as_bytes().to_vec();
    list.extend_from_slice(&[0xE6, 0x81, b'\n']); // a character cut short
    list.extend_from_slice(b"914101027110665834,x\n");
    let rows = lines(&e.post(&list, "ndjson", ""));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["error"]["code"], "invalid_row", "{rows:?}");
    assert_eq!(rows[1]["decision"], "deny", "{rows:?}");
}

/// Column names are the caller's text, echoed as NDJSON keys and CSV header cells on every
/// path: quotes, backslashes, control characters, non-ASCII text, an empty name and names
/// that hold a person's number (masked like any echoed text, unless `--full-ids`) give the
/// bytes below, offline, through the server and from `/v1/screen` alike. The writer prepares
/// each name once per batch; these are the bytes it wrote when it did so on every row, but
/// for the second name masked as `410102********0211`, which gets `_10` (its column) to be a
/// key of its own.
#[test]
fn awkward_column_names_are_echoed_byte_for_byte() {
    let e = env();
    let list = "id,\"quo\"\"te\",back\\slash,\"tab\tctl\u{1}del\u{7f}\",\"line\nbreak\",\
                名称 Ünï 🙂,410102196804120211,法人 410102 19680412 0211,,\
                ４１０１０２１９６８０４１２０２１１,91410184MAUN17PB6B\n\
                914101027110665834,\"a\"\"b\",c\\d,\"x\ty\",\"l\nm\",恒达,\
                410102196804120211,note,,w,z\n\
                91410184MAUN17PB6X,1,2\n\
                410102196804120211,1,2,3,4,5,6,7,8,9,10,extra,410102196804120211\n";
    let rows = e.every_way("awkward.csv", list.as_bytes());
    assert_eq!(rows.len(), 3, "{rows:?}");
    let path = e.dir.path().join("awkward.csv");
    let ndjson = e.cli(&path, false, "ndjson", &[]).stdout;
    assert_eq!(ndjson, AWKWARD_NDJSON, "{ndjson}");
    let csv = e.cli(&path, false, "csv", &[]).stdout;
    assert_eq!(csv, AWKWARD_CSV, "{csv}");
    let full = e.cli(&path, false, "ndjson", &["--full-ids"]).stdout;
    assert_eq!(full, AWKWARD_NDJSON_FULL, "{full}");
    let full = e.cli(&path, false, "csv", &["--full-ids"]).stdout;
    assert_eq!(full, AWKWARD_CSV_FULL, "{full}");
}

const AWKWARD_NDJSON: &str = concat!(
    "{\"row\":1,\"input\":\"914101027110665834\",\"id\":\"914101027110665834\",\"id_type\":\"uscc\",\"decision\":\"deny\",\"heightened\":false,\"nonconforming\":false,\"lists\":[\"court_defaulter\"],\"measures\":[\"procurement.black.restrict\"],\"error\":null,\"columns\":{\"quo\\\"te\":\"a\\\"b\",\"back\\\\slash\":\"c\\\\d\",\"tab\\tctl\\u0001del\u{7f}\":\"x\\ty\",\"line\\nbreak\":\"l\\nm\",\"名称 Ünï 🙂\":\"恒达\",\"410102********0211\":\"410102********0211\",\"法人 410102 ******** 0211\":\"note\",\"\":\"\",\"410102********0211_10\":\"w\",\"91410184MAUN17PB6B\":\"z\"}}\n",
    "{\"row\":2,\"input\":\"91410184MAUN17PB6X\",\"id\":null,\"id_type\":null,\"decision\":null,\"heightened\":false,\"nonconforming\":false,\"lists\":[],\"measures\":[],\"error\":{\"code\":\"invalid_id\",\"message\":\"invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'B', found 'X' (a nonconforming pilot-area code is accepted only in lenient mode)\",\"expected_check\":\"B\"},\"columns\":{\"quo\\\"te\":\"1\",\"back\\\\slash\":\"2\"}}\n",
    "{\"row\":3,\"input\":\"410102********0211\",\"id\":\"410102********0211\",\"id_type\":\"ric\",\"decision\":\"clear\",\"heightened\":false,\"nonconforming\":false,\"lists\":[\"court_defaulter\"],\"measures\":[],\"error\":null,\"columns\":{\"quo\\\"te\":\"1\",\"back\\\\slash\":\"2\",\"tab\\tctl\\u0001del\u{7f}\":\"3\",\"line\\nbreak\":\"4\",\"名称 Ünï 🙂\":\"5\",\"410102********0211\":\"6\",\"法人 410102 ******** 0211\":\"7\",\"\":\"8\",\"410102********0211_10\":\"9\",\"91410184MAUN17PB6B\":\"10\",\"column12\":\"extra\",\"column13\":\"410102********0211\"}}\n",
);
const AWKWARD_CSV: &str = concat!(
    "row,id,\"quo\"\"te\",back\\slash,tab\tctl\u{1}del\u{7f},\"line\n",
    "break\",名称 Ünï 🙂,410102********0211,法人 410102 ******** 0211,,410102********0211,91410184MAUN17PB6B,decision,heightened,nonconforming,lists,measures,error\n",
    "1,914101027110665834,\"a\"\"b\",c\\d,x\ty,\"l\n",
    "m\",恒达,410102********0211,note,,w,z,deny,false,false,court_defaulter,procurement.black.restrict,\n",
    "2,91410184MAUN17PB6X,1,2,,,,,,,,,,false,false,,,\"invalid_id: invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'B', found 'X' (a nonconforming pilot-area code is accepted only in lenient mode)\"\n",
    "3,410102********0211,1,2,3,4,5,6,7,8,9,10,clear,false,false,court_defaulter,,\n",
);
const AWKWARD_NDJSON_FULL: &str = concat!(
    "{\"row\":1,\"input\":\"914101027110665834\",\"id\":\"914101027110665834\",\"id_type\":\"uscc\",\"decision\":\"deny\",\"heightened\":false,\"nonconforming\":false,\"lists\":[\"court_defaulter\"],\"measures\":[\"procurement.black.restrict\"],\"error\":null,\"columns\":{\"quo\\\"te\":\"a\\\"b\",\"back\\\\slash\":\"c\\\\d\",\"tab\\tctl\\u0001del\u{7f}\":\"x\\ty\",\"line\\nbreak\":\"l\\nm\",\"名称 Ünï 🙂\":\"恒达\",\"410102196804120211\":\"410102196804120211\",\"法人 410102 19680412 0211\":\"note\",\"\":\"\",\"４１０１０２１９６８０４１２０２１１\":\"w\",\"91410184MAUN17PB6B\":\"z\"}}\n",
    "{\"row\":2,\"input\":\"91410184MAUN17PB6X\",\"id\":null,\"id_type\":null,\"decision\":null,\"heightened\":false,\"nonconforming\":false,\"lists\":[],\"measures\":[],\"error\":{\"code\":\"invalid_id\",\"message\":\"invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'B', found 'X' (a nonconforming pilot-area code is accepted only in lenient mode)\",\"expected_check\":\"B\"},\"columns\":{\"quo\\\"te\":\"1\",\"back\\\\slash\":\"2\"}}\n",
    "{\"row\":3,\"input\":\"410102196804120211\",\"id\":\"410102196804120211\",\"id_type\":\"ric\",\"decision\":\"clear\",\"heightened\":false,\"nonconforming\":false,\"lists\":[\"court_defaulter\"],\"measures\":[],\"error\":null,\"columns\":{\"quo\\\"te\":\"1\",\"back\\\\slash\":\"2\",\"tab\\tctl\\u0001del\u{7f}\":\"3\",\"line\\nbreak\":\"4\",\"名称 Ünï 🙂\":\"5\",\"410102196804120211\":\"6\",\"法人 410102 19680412 0211\":\"7\",\"\":\"8\",\"４１０１０２１９６８０４１２０２１１\":\"9\",\"91410184MAUN17PB6B\":\"10\",\"column12\":\"extra\",\"column13\":\"410102196804120211\"}}\n",
);
const AWKWARD_CSV_FULL: &str = concat!(
    "row,id,\"quo\"\"te\",back\\slash,tab\tctl\u{1}del\u{7f},\"line\n",
    "break\",名称 Ünï 🙂,410102196804120211,法人 410102 19680412 0211,,４１０１０２１９６８０４１２０２１１,91410184MAUN17PB6B,decision,heightened,nonconforming,lists,measures,error\n",
    "1,914101027110665834,\"a\"\"b\",c\\d,x\ty,\"l\n",
    "m\",恒达,410102196804120211,note,,w,z,deny,false,false,court_defaulter,procurement.black.restrict,\n",
    "2,91410184MAUN17PB6X,1,2,,,,,,,,,,false,false,,,\"invalid_id: invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'B', found 'X' (a nonconforming pilot-area code is accepted only in lenient mode)\"\n",
    "3,410102196804120211,1,2,3,4,5,6,7,8,9,10,clear,false,false,court_defaulter,,\n",
);
