//! `POST /v1/screen`: CSV, NDJSON and JSON array in; NDJSON and CSV out; order, row numbers,
//! echoed columns, invalid rows, and batches larger than one screening chunk.

mod common;

use common::http::TestServer;
use common::{build_sample, sample_today};

fn server(chunk_rows: usize) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.screen_chunk_rows = chunk_rows
    });
    (dir, s)
}

#[test]
fn csv_in_ndjson_out_keeps_order_numbers_and_columns() {
    let (_d, s) = server(2);
    let body = "name,ID,note\r\n\
                恒达,914101027110665834,\"a, quoted\"\"note\"\r\n\
                \r\n\
                孙,410102196804120211,x\n\
                bad,91110000600037341N,y\n\
                short\n\
                clean,91110000600037341L,z\n";
    let r = s.post("/v1/screen?scenario=transport", "text/csv", body.as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let rows = r.lines();
    assert_eq!(rows.len(), 5, "{rows:?}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["row"], i as u64 + 1);
    }
    assert_eq!(rows[0]["input"], "914101027110665834");
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[0]["columns"]["name"], "恒达");
    assert_eq!(rows[0]["columns"]["note"], "a, quoted\"note");
    assert!(rows[0]["columns"].get("ID").is_none());
    assert_eq!(rows[1]["id"], "410102********0211");
    assert_eq!(rows[1]["decision"], "deny");
    assert_eq!(rows[2]["error"]["code"], "invalid_id");
    assert_eq!(rows[2]["error"]["expected_check"], "L");
    assert_eq!(rows[2]["decision"], serde_json::Value::Null);
    assert_eq!(rows[3]["error"]["code"], "missing_id");
    assert_eq!(rows[4]["decision"], "clear");
    assert!(!r.text().contains("\"id\":\"410102196804120211\""));
}

#[test]
fn csv_without_header_and_csv_out() {
    let (_d, s) = server(4096);
    let body = "914101027110665834,恒达\n91110000600037341L,\"x,y\"\n";
    let r = s.post_with(
        "/v1/screen?scenario=procurement",
        &[("Content-Type", "text/csv"), ("Accept", "text/csv")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,column2,decision,heightened,nonconforming,lists,measures,error"
    );
    assert_eq!(
        lines[1],
        "1,914101027110665834,恒达,deny,false,false,court_defaulter,procurement.black.restrict,"
    );
    assert_eq!(
        lines[2],
        "2,91110000600037341L,\"x,y\",clear,false,false,,,"
    );
    assert_eq!(lines.len(), 3);
}

/// `body` (CSV) screened for procurement by a fresh server, answered as NDJSON (the rows)
/// and as CSV (the text).
fn screened_both_ways(body: &str) -> (Vec<serde_json::Value>, String) {
    let (_d, s) = server(4096);
    let path = "/v1/screen?scenario=procurement";
    let rows = s
        .post(path, "text/csv", body.as_bytes())
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let csv = [("Content-Type", "text/csv"), ("Accept", "text/csv")];
    (rows, s.post_with(path, &csv, body.as_bytes()).text())
}

/// Caller cells a spreadsheet would open as formulas (`=`, `+`, `-`, `@`, tab, CR first) come
/// back in a CSV answer with a `'` before them, header names and invalid identifiers
/// included, and a number with a sign alike; NDJSON echoes them as they were. They used to
/// be echoed as sent (CSV injection).
#[test]
fn csv_answers_guard_cells_that_open_as_formulas() {
    let (rows, text) = screened_both_ways(
        "id,=名称,备注\n\
         914101027110665834,\"=HYPERLINK(\"\"http://x\"\",\"\"点此\"\")\",-5\n\
         @SUM(1+1),+86 371 6512 3456,\"\tcmd\"\n\
         91110000600037341L,5,a=1\n",
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,'=名称,备注,decision,heightened,nonconforming,lists,measures,error"
    );
    assert_eq!(
        lines[1],
        "1,914101027110665834,\"'=HYPERLINK(\"\"http://x\"\",\"\"点此\"\")\",'-5,deny,false,false,\
         court_defaulter,procurement.black.restrict,"
    );
    assert!(
        lines[2].starts_with("2,'@SUM(1+1),'+86 371 6512 3456,'\tcmd,,false,false,,,invalid_id: "),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "3,91110000600037341L,5,a=1,clear,false,false,,,");
    assert_eq!(
        rows[0]["columns"]["=名称"],
        "=HYPERLINK(\"http://x\",\"点此\")"
    );
    assert_eq!(rows[0]["columns"]["备注"], "-5");
    assert_eq!(rows[1]["input"], "@SUM(1+1)");
}

/// Cells starting with the full-width `＝`, `＋`, `－` or `＠`, which some spreadsheet
/// applications read as their ASCII forms, come back in a CSV answer with a `'` before them,
/// header names included; a full-width mark further in is no formula, and NDJSON echoes the
/// cells as they were. They used to be echoed as sent.
#[test]
fn csv_answers_guard_cells_that_open_as_full_width_formulas() {
    let (rows, text) = screened_both_ways(
        "id,＝名称,备注\n\
         914101027110665834,\"＝HYPERLINK(\"\"http://x\"\")\",－5\n\
         ＠SUM(1＋1),＋86 371 6512 3456,a＝1\n",
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,id,'＝名称,备注,decision,heightened,nonconforming,lists,measures,error"
    );
    assert_eq!(
        lines[1],
        "1,914101027110665834,\"'＝HYPERLINK(\"\"http://x\"\")\",'－5,deny,false,false,\
         court_defaulter,procurement.black.restrict,"
    );
    assert!(
        lines[2].starts_with("2,'＠SUM(1＋1),'＋86 371 6512 3456,a＝1,,false,false,,,invalid_id: "),
        "{}",
        lines[2]
    );
    assert_eq!(rows[0]["columns"]["＝名称"], "＝HYPERLINK(\"http://x\")");
    assert_eq!(rows[0]["columns"]["备注"], "－5");
    assert_eq!(rows[1]["input"], "＠SUM(1＋1)");
}

/// A person's number split by `/`, `.` or `,` is masked wherever it is echoed (an invalid
/// identifier, another cell, in NDJSON and CSV), digit by digit with its punctuation kept;
/// amounts and dates written with the same marks are echoed as they are. Such a number used
/// to be echoed whole.
#[test]
fn numbers_split_by_punctuation_are_masked_in_echoes() {
    let (rows, text) = screened_both_ways(
        "id,备注,金额\n\
         410102.19680412021X,法人 410102/196804120211,\"1,234,567.89\"\n\
         914101027110665834,\"410102,1968,0412,0211\",2026.11.30 2026/11/30\n",
    );
    assert_eq!(rows[0]["input"], "410102.********021X");
    assert_eq!(rows[0]["error"]["code"], "invalid_id");
    assert_eq!(
        rows[0]["columns"],
        serde_json::json!({"备注": "法人 410102/********0211", "金额": "1,234,567.89"})
    );
    assert_eq!(
        rows[1]["columns"],
        serde_json::json!({"备注": "410102,****,****,0211", "金额": "2026.11.30 2026/11/30"})
    );
    assert!(!text.contains("19680412"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("1,410102.********021X,法人 410102/********0211,\"1,234,567.89\",,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "2,914101027110665834,\"410102,****,****,0211\",2026.11.30 2026/11/30,deny,"
        ),
        "{}",
        lines[2]
    );
}

/// The full-width `／`, `．` and `，` join a person's number as `/`, `.` and `,` do, in an
/// invalid identifier and in another cell, in NDJSON and CSV; amounts and dates written with
/// them are echoed as they are. Such a number used to be echoed whole.
#[test]
fn numbers_split_by_full_width_punctuation_are_masked_in_echoes() {
    let (rows, text) = screened_both_ways(
        "id,备注,金额\n\
         410102／19680412021X,法人 410102．196804120211，2019年,1，234，567．89\n\
         914101027110665834,410102，1968，0412，0211,2026．11．30 2026／11／30\n",
    );
    assert_eq!(rows[0]["input"], "410102／********021X");
    assert_eq!(rows[0]["error"]["code"], "invalid_id");
    assert_eq!(
        rows[0]["columns"],
        serde_json::json!({"备注": "法人 410102．********0211，2019年", "金额": "1，234，567．89"})
    );
    assert_eq!(
        rows[1]["columns"],
        serde_json::json!({"备注": "410102，****，****，0211", "金额": "2026．11．30 2026／11／30"})
    );
    assert!(!text.contains("19680412"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with(
            "1,410102／********021X,法人 410102．********0211，2019年,1，234，567．89,,"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "2,914101027110665834,410102，****，****，0211,2026．11．30 2026／11／30,deny,"
        ),
        "{}",
        lines[2]
    );
}

/// Without a header, a first row whose identifier is mistyped is still row 1: it holds
/// digits, and header names do not. (It used to be taken for a header and vanish, its raw
/// number printed as a header cell.)
#[test]
fn a_mistyped_first_row_is_data_not_a_header() {
    let (_d, s) = server(4096);
    let screen = |body: &str| {
        s.post(
            "/v1/screen?scenario=procurement",
            "text/csv",
            body.as_bytes(),
        )
        .lines()
    };
    let body = "410102196804120212,王建国\n914101027110665834,恒达\n";
    let rows = screen(body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["row"], 1);
    assert_eq!(rows[0]["error"]["code"], "invalid_id");
    assert_eq!(rows[0]["input"], "410102********0212");
    assert_eq!(rows[0]["columns"]["column2"], "王建国");
    assert_eq!(rows[1]["row"], 2);
    assert_eq!(rows[1]["decision"], "deny");

    let r = s.post_with(
        "/v1/screen?scenario=procurement",
        &[("Content-Type", "text/csv"), ("Accept", "text/csv")],
        body.as_bytes(),
    );
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("row,id,column2,decision,"), "{text}");
    assert!(
        lines[1].starts_with("1,410102********0212,王建国,,false,false,,,\"invalid_id: "),
        "{text}"
    );
    assert!(
        lines[2].starts_with("2,914101027110665834,恒达,deny,"),
        "{text}"
    );
    assert!(!text.contains("410102196804120212"), "{text}");

    // Full-width digits are digits too; a header without an `id` field still is one.
    let body = "４１０１０２１９６８０４１２０２１２,王建国\n";
    let rows = screen(body);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["error"]["code"], "invalid_id");
    let body = "代码,名称\n914101027110665834,恒达\n";
    let rows = screen(body);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["columns"]["名称"], "恒达");
}

/// The CSV answer numbers its rows like NDJSON's `row`: data rows from 1, after the header,
/// blank lines skipped, invalid rows included.
#[test]
fn csv_out_rows_carry_the_ndjson_row_numbers() {
    let (_d, s) = server(2);
    let body = "name,id\n恒达,914101027110665834\n\n孙,410102196804120211\nbad,123\n\
                \"open,x\nclean,91110000600037341L\n";
    let ndjson = s
        .post("/v1/screen?scenario=transport", "text/csv", body.as_bytes())
        .lines();
    let r = s.post_with(
        "/v1/screen?scenario=transport",
        &[("Content-Type", "text/csv"), ("Accept", "text/csv")],
        body.as_bytes(),
    );
    let text = r.text();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    assert_eq!(
        &csv.headers().unwrap().iter().collect::<Vec<_>>()[..3],
        ["row", "name", "id"]
    );
    let numbers: Vec<String> = csv
        .records()
        .map(|rec| rec.unwrap()[0].to_string())
        .collect();
    let want: Vec<String> = ndjson.iter().map(|v| v["row"].to_string()).collect();
    assert_eq!(numbers, want, "{text}");
    assert!(numbers.len() >= 4, "{text}");
}

#[test]
fn ndjson_and_json_array_inputs() {
    let (_d, s) = server(4096);
    let body = b"\"914101027110665834\"\n{\"id\":\"91410104MACKHWBA9J\",\"ref\":42}\n\n{\"ref\":1}\nnot json\n";
    let rows = s
        .post(
            "/v1/screen?scenario=procurement&summary=1",
            "application/x-ndjson",
            body,
        )
        .lines();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[1]["columns"]["ref"], 42);
    assert_eq!(rows[2]["error"]["code"], "missing_id");
    assert_eq!(rows[3]["error"]["code"], "invalid_row");
    assert_eq!(rows[3]["row"], 4);
    assert_eq!(rows[4]["summary"]["rows"], 4);
    assert_eq!(rows[4]["summary"]["deny"], 2);
    assert_eq!(rows[4]["summary"]["invalid"], 2);

    let body = br#"[ "914101027110665834", {"id":"410102196804120211"}, 7 ]"#;
    let r = s.post_with(
        "/v1/screen?scenario=transport",
        &[("Content-Type", "application/json"), ("Accept", "text/csv")],
        body,
    );
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "row,input,decision,heightened,nonconforming,lists,measures,error"
    );
    assert!(lines[1].starts_with("1,914101027110665834,deny,"));
    // The echoed input of a person is masked like the id (issue 6).
    assert!(lines[2].starts_with("2,410102********0211,deny,"), "{text}");
    assert!(!text.contains("410102196804120211"));
    assert!(
        lines[3].starts_with("3,7,,false,false,,,invalid_row"),
        "{text}"
    );
}

#[test]
fn many_chunks_stay_in_input_order() {
    let (_d, s) = server(7);
    let ids = [
        "914101027110665834",
        "91110000600037341L",
        "410102196804120211",
        "12345",
    ];
    let expect = ["deny", "clear", "deny", ""];
    let n = 2_000;
    let mut body = String::from("id,seq\n");
    for i in 0..n {
        body.push_str(&format!("{},{i}\n", ids[i % 4]));
    }
    let rows = s
        .post(
            "/v1/screen?scenario=transport&summary=1",
            "text/csv",
            body.as_bytes(),
        )
        .lines();
    assert_eq!(rows.len(), n + 1);
    for (i, row) in rows[..n].iter().enumerate() {
        assert_eq!(row["row"], i as u64 + 1);
        assert_eq!(row["columns"]["seq"], i.to_string());
        assert_eq!(
            row["decision"].as_str().unwrap_or(""),
            expect[i % 4],
            "row {}",
            i + 1
        );
    }
    assert_eq!(rows[n]["summary"]["deny"], n as u64 / 2);
    let m = s.get("/metrics").text();
    assert!(
        m.contains(&format!("credgate_screened_rows_total {n}")),
        "{m}"
    );
}

#[test]
fn a_broken_json_array_ends_the_stream_with_an_error() {
    let (_d, s) = server(1);
    let body = br#"["914101027110665834", "91110000600037341L" "x"]"#;
    let mut c = s.conn();
    c.write(format!("POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes());
    c.write(body);
    let raw = read_raw(&mut c);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\"row\":1"), "{raw}");
    assert!(raw.contains("\"code\":\"bad_body\""), "{raw}");
    // The error is the last line.
    let body_end = raw.trim_end_matches("\r\n0\r\n\r\n");
    assert!(body_end.trim_end().ends_with("}}"), "{raw}");
    assert!(
        raw.find("\"row\":2").unwrap() < raw.find("bad_body").unwrap(),
        "{raw}"
    );
}

fn read_raw(c: &mut common::http::Conn) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let _ = c.reader().read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn an_xlsx_workbook_screens_like_the_same_rows_in_csv() {
    let (_d, s) = server(2);
    let rows = [
        ["名称", "统一社会信用代码", "备注"],
        ["恒达", "914101027110665834", "a, b"],
        ["", "", ""],
        ["孙", "410102196804120211", "x"],
        ["bad", "91110000600037341N", "y"],
        ["clean", "91110000600037341L", "z"],
    ];
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    let xlsx = book.save_to_buffer().unwrap();
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let r = s.post("/v1/screen?scenario=transport", XLSX, &xlsx);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.lines();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0]["decision"], "deny");
    assert_eq!(got[0]["columns"]["名称"], "恒达");
    assert_eq!(got[0]["columns"]["备注"], "a, b");
    assert_eq!(got[1]["id"], "410102********0211");
    assert_eq!(got[2]["error"]["code"], "invalid_id");
    assert_eq!(got[3]["decision"], "clear");
    // The same rows as CSV, with the code column named `id`, give the same answer.
    let csv = "名称,id,备注\n恒达,914101027110665834,\"a, b\"\n孙,410102196804120211,x\n\
               bad,91110000600037341N,y\nclean,91110000600037341L,z\n";
    let want = s.post("/v1/screen?scenario=transport", "text/csv", csv.as_bytes());
    assert_eq!(r.text(), want.text());

    // Not a workbook: a 400 that says so, and the server keeps serving.
    let bad = s.post(
        "/v1/screen?scenario=transport",
        XLSX,
        b"id\n914101027110665834\n",
    );
    let e = bad.error(400, "bad_body");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("xlsx"),
        "{e}"
    );
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn a_body_over_the_limit_ends_with_its_error_line_intact() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.screen_body_limit = 200_000;
    });
    // 16 MB of rows (more than the sockets buffer), chunked, written on a thread of its own
    // while the answer is read, as a client such as curl does: the server stops screening at
    // the limit and must still deliver the error line, not reset the connection under it.
    let row = "914101027110665834\n";
    let chunk = row.repeat(8192 / row.len());
    for _ in 0..3 {
        let mut c = s.conn();
        let mut w = c.reader().get_ref().try_clone().unwrap();
        let chunk = chunk.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let head = "POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\n\
                        Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\n";
            let mut out = head.as_bytes().to_vec();
            out.extend_from_slice(format!("{:x}\r\nid\n\r\n", 3).as_bytes());
            for _ in 0..(16_000_000 / chunk.len()) {
                out.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
            }
            out.extend_from_slice(b"0\r\n\r\n");
            // The server reads the whole body before it closes: every write succeeds.
            w.write_all(&out)
        });
        let raw = read_raw(&mut c);
        let written = writer.join().unwrap();
        assert!(written.is_ok(), "{written:?}");
        assert!(
            raw.starts_with("HTTP/1.1 200"),
            "{}",
            &raw[..raw.len().min(300)]
        );
        let end = raw.trim_end_matches("\r\n0\r\n\r\n").trim_end();
        let last = end.lines().last().unwrap();
        assert!(
            last.contains("\"code\":\"body_too_large\""),
            "last line: {last}"
        );
    }
}

#[test]
fn ragged_csv_rows_keep_the_result_columns_under_their_headers() {
    let (_d, s) = server(2);
    let r = s.post_with(
        "/v1/screen?scenario=procurement",
        &[("Content-Type", "text/csv"), ("Accept", "text/csv")],
        b"id,name\n914101027110665834,a,extra\n914101844590813695\n",
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let decision = rows[0].iter().position(|h| *h == "decision").unwrap();
    assert_eq!(rows[0][..decision], ["row", "id", "name"]);
    assert_eq!(rows[1][decision], "deny", "{text}");
    assert_eq!(rows[2][decision], "fast_track", "{text}");
    assert_eq!(rows[1].len(), rows[0].len(), "{text}");
    assert_eq!(rows[2].len(), rows[0].len(), "{text}");
}

/// An NDJSON or JSON array object gives its identifier as a CSV header does: `id`, else the
/// most specific known identifier name; it has no column order to fall back on, so without
/// such a field the row is `missing_id`.
#[test]
fn an_object_names_its_identifier_as_a_csv_header_does() {
    let (_d, s) = server(4096);
    let body = "{\"名称\":\"恒达\",\"统一社会信用代码\":\"914101027110665834\"}\n\
                {\"身份证号码\":\"410102196804120211\",\"统一社会信用代码\":\"91110000600037341L\"}\n\
                {\"ID\":\"914101027110665834\",\"uscc\":\"x\"}\n\
                {\"ref\":\"914101027110665834\"}\n\
                {\"id\":7}\n";
    let rows = s
        .post(
            "/v1/screen?scenario=procurement",
            "application/x-ndjson",
            body.as_bytes(),
        )
        .lines();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[0]["columns"], serde_json::json!({"名称": "恒达"}));
    assert_eq!(rows[1]["input"], "91110000600037341L");
    assert_eq!(rows[1]["columns"]["身份证号码"], "410102********0211");
    assert_eq!(rows[2]["decision"], "deny");
    assert_eq!(rows[2]["columns"], serde_json::json!({"uscc": "x"}));
    assert_eq!(rows[3]["error"]["code"], "missing_id");
    assert_eq!(rows[4]["error"]["code"], "missing_id");
}

#[test]
fn the_answer_format_follows_the_accept_weights() {
    let (_d, s) = server(2);
    let body = b"914101027110665834\n";
    let answer = |accept: &str| {
        let r = s.post_with(
            "/v1/screen?scenario=transport",
            &[("Content-Type", "text/csv"), ("Accept", accept)],
            body,
        );
        assert_eq!(r.status, 200, "{accept}");
        r.header("content-type").unwrap().to_string()
    };
    const CSV: &str = "text/csv; charset=utf-8";
    const NDJSON: &str = "application/x-ndjson";
    for (accept, want) in [
        ("text/csv", CSV),
        ("TEXT/CSV; charset=utf-8", CSV),
        ("application/json, text/csv", CSV),
        ("text/csv;q=0.5", CSV),
        ("text/csv, application/x-ndjson;q=0.9", CSV),
        ("*/*", NDJSON),
        ("application/x-ndjson", NDJSON),
        // q=0 is "not acceptable" (RFC 9110 §12.4.2): never the type chosen.
        ("text/csv;q=0", NDJSON),
        ("text/csv; q=0.0, application/x-ndjson", NDJSON),
        // The client prefers NDJSON.
        ("application/x-ndjson, text/csv;q=0.5", NDJSON),
        ("text/csv;q=0.2, */*;q=0.8", NDJSON),
    ] {
        assert_eq!(answer(accept), want, "Accept: {accept}");
    }
}

#[test]
fn a_row_longer_than_a_mebibyte_ends_the_batch_instead_of_filling_memory() {
    let (_d, s) = server(2);
    // A quote left open in row 2 would make the rest of the list, however long, one row
    // held whole in memory (a 200 MB list took the server past 1 GB). The batch ends at
    // 1 MiB of one row, as `credgate screen` stops, with the rows before it answered.
    let rows = "914101027110665834\n".repeat(70_000);
    let csv = format!("id\n914101027110665834\n\"open,quote\n{rows}");
    // (The server reads a body 64 KiB at a time at most, so a row is caught within 64 KiB
    // of the limit.)
    let ndjson = format!("\"914101027110665834\"\n\"{}\"\n", "9".repeat(1_200_000));
    let array = format!("[\"914101027110665834\", \"{}\"]", "9".repeat(1_200_000));
    for (ctype, body) in [
        ("text/csv", csv),
        ("application/x-ndjson", ndjson),
        ("application/json", array),
    ] {
        let r = s.post("/v1/screen?scenario=procurement", ctype, body.as_bytes());
        assert_eq!(r.status, 200, "{ctype}");
        let lines = r.lines();
        assert_eq!(lines.len(), 2, "{ctype}: {:?}", &r.text()[..300]);
        assert_eq!(lines[0]["row"], 1, "{ctype}");
        assert_eq!(lines[0]["decision"], "deny", "{ctype}");
        assert_eq!(lines[1]["error"]["code"], "bad_body", "{ctype}");
        let message = lines[1]["error"]["message"].as_str().unwrap();
        assert!(message.contains("longer than 1 MiB"), "{ctype}: {message}");
    }
}

#[test]
fn white_space_before_the_first_row_is_dropped_as_it_comes() {
    let (_d, s) = server(2);
    // 64 MiB of blank lines before the list. Each frame of it used to be kept and the
    // whole of what had come rescanned: minutes of CPU and the body in memory (the
    // client's read timeout, a minute, fails the test when that comes back).
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.resize(body.len() + (64 << 20), b'\n');
    body.extend_from_slice(b"  \r\n  id,n\n914101027110665834,a\n");
    let r = s.post("/v1/screen?scenario=procurement", "text/csv", &body);
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["row"], 1);
    assert_eq!(lines[0]["decision"], "deny");
    assert_eq!(lines[0]["columns"]["n"], "a");

    // The white space dropped still counts toward the body cap.
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let small = TestServer::start(dir.path(), sample_today(), |c| {
        c.screen_body_limit = 1 << 20;
    });
    let mut body = vec![b'\n'; 2 << 20];
    body.extend_from_slice(b"914101027110665834\n");
    small
        .post("/v1/screen?scenario=procurement", "text/csv", &body)
        .error(413, "body_too_large");
    // And a line of it is a row, held to a row's length like any other.
    let mut body = vec![b' '; 2 << 20];
    body.extend_from_slice(b"914101027110665834\n");
    let e = s
        .post("/v1/screen?scenario=procurement", "text/csv", &body)
        .error(400, "bad_body");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 1 MiB"),
        "{e}"
    );
}

#[test]
fn repeated_header_names_get_keys_of_their_own() {
    let (_d, s) = server(2);
    // Two columns called 备注 (and one more called id besides the identifier's): as keys of
    // one JSON object they made `{"备注":"a","备注":"b"}`, which a client reads as one key,
    // the first cell lost.
    let body = "id,备注,备注,id,备注_3\n914101027110665834,a,b,c,d\n";
    let r = s.post(
        "/v1/screen?scenario=procurement",
        "text/csv",
        body.as_bytes(),
    );
    let text = r.text();
    assert_eq!(text.matches("\"备注\":").count(), 1, "{text}");
    let rows = r.lines();
    assert_eq!(
        rows[0]["columns"],
        serde_json::json!({"备注": "a", "备注_3": "b", "id": "c", "备注_3_5": "d"}),
        "{text}"
    );
    // The CSV answer keeps the header as it was.
    let r = s.post_with(
        "/v1/screen?scenario=procurement",
        &[("Content-Type", "text/csv"), ("Accept", "text/csv")],
        body.as_bytes(),
    );
    assert!(
        r.text().starts_with("row,id,备注,备注,id,备注_3,decision"),
        "{}",
        r.text()
    );
}
