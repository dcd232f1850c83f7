//! Workbooks written by hand, part by part, in the forms Excel itself does not write: an
//! empty shared string (`<si/>`) must read as "" and keep every later string in its place,
//! and a workbook that refers to a string it does not hold must get a clean 400, on
//! `POST /v1/screen` and in `credgate screen`.

mod common;

use std::io::Write;

use common::http::TestServer;
use common::{build_sample, sample_today};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The smallest workbook calamine and Excel open: one worksheet whose cells are the given
/// shared-string numbers (row by row, from A1), and the shared-string table `sst` (the
/// items inside `<sst>`).
fn workbook(rows: &[&[usize]], sst: &str) -> Vec<u8> {
    let mut sheet = String::new();
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!("<row r=\"{}\">", r + 1));
        for (c, s) in row.iter().enumerate() {
            let col = (b'A' + c as u8) as char;
            sheet.push_str(&format!("<c r=\"{col}{}\" t=\"s\"><v>{s}</v></c>", r + 1));
        }
        sheet.push_str("</row>");
    }
    let ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
             <Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>\
             </Types>"
                .to_string(),
        ),
        (
            "_rels/.rels",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{rel}/officeDocument\" Target=\"xl/workbook.xml\"/>\
                 </Relationships>"
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <workbook xmlns=\"{ns}\" xmlns:r=\"{rel}\">\
                 <sheets><sheet name=\"名单\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{rel}/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
                 <Relationship Id=\"rId2\" Type=\"{rel}/sharedStrings\" Target=\"sharedStrings.xml\"/>\
                 </Relationships>"
            ),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <worksheet xmlns=\"{ns}\"><sheetData>{sheet}</sheetData></worksheet>"
            ),
        ),
        (
            "xl/sharedStrings.xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"{ns}\">{sst}</sst>"),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A list whose third shared string is empty (`<si/>`): 恒达 and its code come after it,
/// and 孙's number is the table's last item, which a reader that drops the empty item
/// looks for past the table's end.
fn list_with_an_empty_string() -> Vec<u8> {
    let sst = "<si><t>名称</t></si><si><t>统一社会信用代码</t></si><si/>\
               <si><t>恒达</t></si><si><t>914101027110665834</t></si>\
               <si><t>孙</t></si><si><t>410102196804120211</t></si>";
    workbook(&[&[0, 1], &[3, 4], &[2, 4], &[5, 6]], sst)
}

/// A list with a cell that refers to shared string 9 of a table of two.
fn list_with_a_missing_string() -> Vec<u8> {
    workbook(
        &[&[0, 1], &[0, 9]],
        "<si><t>名称</t></si><si><t>id</t></si>",
    )
}

#[test]
fn an_empty_shared_string_is_empty_and_the_rest_keep_their_places() {
    let (_d, s) = TestServer::sample();
    let r = s.post(
        "/v1/screen?scenario=transport",
        XLSX,
        &list_with_an_empty_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = r.lines();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["input"], "914101027110665834");
    assert_eq!(rows[0]["columns"]["名称"], "恒达");
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[1]["input"], "914101027110665834");
    assert_eq!(rows[1]["columns"]["名称"], "");
    assert_eq!(rows[2]["id"], "410102********0211");
    assert_eq!(rows[2]["columns"]["名称"], "孙");
    assert_eq!(rows[2]["decision"], "deny");
}

#[test]
fn a_workbook_that_refers_past_its_strings_is_a_clean_400() {
    let (_d, s) = TestServer::sample();
    let r = s.post(
        "/v1/screen?scenario=transport",
        XLSX,
        &list_with_a_missing_string(),
    );
    let e = r.error(400, "bad_body");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("malformed"), "{msg}");
    assert!(!msg.contains("panic"), "{msg}");
    assert_eq!(s.get("/healthz").status, 200);
    // The server still reads a sound workbook after it.
    let ok = s.post(
        "/v1/screen?scenario=transport",
        XLSX,
        &list_with_an_empty_string(),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[test]
fn credgate_screen_reads_the_same_workbooks_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    build_sample(&root, sample_today());
    let screen = |name: &str, bytes: Vec<u8>| {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_credgate"))
            .args(["screen", input.to_str().unwrap(), "--index"])
            .arg(&root)
            .args(["--scenario", "transport", "--format", "ndjson"])
            .args(["--as-of", &sample_today().to_string()])
            .output()
            .unwrap()
    };
    let out = screen("empty.xlsx", list_with_an_empty_string());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(rows[0]["columns"]["名称"], "恒达");
    assert_eq!(rows[1]["columns"]["名称"], "");
    assert_eq!(rows[2]["id"], "410102********0211");
    assert_eq!(rows[2]["columns"]["名称"], "孙");

    let out = screen("missing.xlsx", list_with_a_missing_string());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("malformed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
