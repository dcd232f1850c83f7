//! Writing screened rows: each input row as it came, then the result columns, as CSV,
//! NDJSON or an xlsx workbook.
//!
//! CSV and xlsx rows carry every input column (the identifier as the caller wrote it: it is
//! the caller's own data, so a person's number is echoed unmasked) followed by
//! [`RESULT_COLUMNS`]. An NDJSON row is the `POST /v1/screen` shape: `{"row","input",
//! <ScreenResult fields>,"columns"}` where `id` is the normalised, masked identifier and
//! `columns` holds the other input columns by header name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::input::Chunk;
use super::BatchError;
use crate::engine::screen::ScreenResult;

/// The columns appended to every CSV and xlsx row.
pub const RESULT_COLUMNS: [&str; 6] = [
    "decision",
    "heightened",
    "nonconforming",
    "lists",
    "measures",
    "error",
];

/// The most data rows an xlsx worksheet holds (1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The format an output path's extension asks for; CSV when it says nothing known.
    pub fn of_path(path: &Path) -> Format {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
            .unwrap_or(Format::Csv)
    }
}

type Sink = Box<dyn Write + Send>;

enum Kind {
    Csv(Box<csv::Writer<Sink>>),
    Ndjson(BufWriter<Sink>),
    Xlsx {
        book: Box<Workbook>,
        path: PathBuf,
        row: u32,
    },
}

pub struct Output {
    kind: Kind,
    headers: Vec<String>,
    id_col: usize,
}

impl Output {
    /// Starts the output and writes its header row (CSV, xlsx). `dest` `None` is stdout,
    /// which cannot take an xlsx (the format needs a seekable file).
    pub fn create(
        format: Format,
        dest: Option<&Path>,
        headers: Vec<String>,
        id_col: usize,
    ) -> Result<Output, BatchError> {
        let out_err = |detail: String| BatchError::Output {
            path: dest.map(Path::to_path_buf),
            detail,
        };
        let sink = || -> Result<Sink, BatchError> {
            match dest {
                Some(p) => Ok(Box::new(
                    File::create(p).map_err(|e| out_err(e.to_string()))?,
                )),
                None => Ok(Box::new(io::stdout())),
            }
        };
        let kind = match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .flexible(true)
                    .buffer_capacity(256 * 1024)
                    .from_writer(sink()?);
                let header = headers.iter().map(String::as_str).chain(RESULT_COLUMNS);
                w.write_record(header).map_err(|e| out_err(e.to_string()))?;
                Kind::Csv(Box::new(w))
            }
            Format::Ndjson => Kind::Ndjson(BufWriter::with_capacity(256 * 1024, sink()?)),
            Format::Xlsx => {
                let Some(path) = dest else {
                    return Err(out_err(
                        "an xlsx workbook cannot be written to stdout; give --out FILE.xlsx"
                            .to_string(),
                    ));
                };
                let mut book = Box::new(Workbook::new());
                // Constant-memory mode flushes each finished row to a temporary file, so a
                // million-row workbook does not sit in memory.
                let sheet = book.add_worksheet_with_constant_memory();
                for (c, h) in headers
                    .iter()
                    .map(String::as_str)
                    .chain(RESULT_COLUMNS)
                    .enumerate()
                {
                    sheet
                        .write_string(0, c as u16, h)
                        .map_err(|e| out_err(e.to_string()))?;
                }
                Kind::Xlsx {
                    book,
                    path: path.to_path_buf(),
                    row: 1,
                }
            }
        };
        Ok(Output {
            kind,
            headers,
            id_col,
        })
    }

    /// Writes one screened chunk; `results[i]` belongs to row `i` of the chunk.
    pub fn write_chunk(
        &mut self,
        chunk: &Chunk,
        results: &[ScreenResult],
    ) -> Result<(), BatchError> {
        match &mut self.kind {
            Kind::Csv(w) => {
                let err = |e: csv::Error| BatchError::Output {
                    path: None,
                    detail: e.to_string(),
                };
                for (i, r) in results.iter().enumerate() {
                    for cell in chunk.row(i) {
                        w.write_field(cell).map_err(err)?;
                    }
                    for field in result_fields(r) {
                        w.write_field(field.as_bytes()).map_err(err)?;
                    }
                    w.write_record(None::<&[u8]>).map_err(err)?;
                }
            }
            Kind::Ndjson(w) => {
                let err = |e: io::Error| BatchError::Output {
                    path: None,
                    detail: e.to_string(),
                };
                for (i, r) in results.iter().enumerate() {
                    let row = NdRow {
                        row: chunk.first_row + i as u64,
                        input: chunk.cell(i, self.id_col),
                        result: r,
                        columns: Columns {
                            headers: &self.headers,
                            id_col: self.id_col,
                            chunk,
                            row: i,
                        },
                    };
                    serde_json::to_writer(&mut *w, &row)
                        .map_err(io::Error::from)
                        .map_err(err)?;
                    w.write_all(b"\n").map_err(err)?;
                }
            }
            Kind::Xlsx { book, path, row } => {
                let err = |e: rust_xlsxwriter::XlsxError| BatchError::Output {
                    path: Some(path.clone()),
                    detail: e.to_string(),
                };
                if u64::from(*row) + results.len() as u64 > XLSX_MAX_ROWS + 1 {
                    return Err(BatchError::Output {
                        path: Some(path.clone()),
                        detail: format!(
                            "an xlsx worksheet holds at most {XLSX_MAX_ROWS} data rows; write \
                             this list as CSV or NDJSON instead (--format csv)"
                        ),
                    });
                }
                let sheet = book.worksheet_from_index(0).map_err(err)?;
                let width = self.headers.len();
                for (i, r) in results.iter().enumerate() {
                    let mut col = 0u16;
                    for cell in chunk.row(i) {
                        sheet.write_string(*row, col, cell).map_err(err)?;
                        col += 1;
                    }
                    // Result columns sit under their headers even when a row is short.
                    let mut col = col.max(width as u16);
                    if r.error.is_none() {
                        sheet
                            .write_string(*row, col, decision_str(r))
                            .map_err(err)?;
                        sheet
                            .write_boolean(*row, col + 1, r.heightened)
                            .map_err(err)?;
                        sheet
                            .write_boolean(*row, col + 2, r.nonconforming)
                            .map_err(err)?;
                        sheet
                            .write_string(*row, col + 3, r.lists.join(";"))
                            .map_err(err)?;
                        sheet
                            .write_string(*row, col + 4, r.measures.join(";"))
                            .map_err(err)?;
                    }
                    col += 5;
                    if let Some(e) = &r.error {
                        sheet.write_string(*row, col, &e.message).map_err(err)?;
                    }
                    *row += 1;
                }
            }
        }
        Ok(())
    }

    /// Flushes everything; the output is complete only after this returns.
    pub fn finish(self) -> Result<(), BatchError> {
        match self.kind {
            Kind::Csv(mut w) => w.flush().map_err(|e| BatchError::Output {
                path: None,
                detail: e.to_string(),
            }),
            Kind::Ndjson(mut w) => w.flush().map_err(|e| BatchError::Output {
                path: None,
                detail: e.to_string(),
            }),
            Kind::Xlsx { mut book, path, .. } => book.save(&path).map_err(|e| BatchError::Output {
                path: Some(path.clone()),
                detail: e.to_string(),
            }),
        }
    }
}

fn decision_str(r: &ScreenResult) -> &'static str {
    r.decision.map_or("", |d| d.as_str())
}

/// The six result fields of a CSV row. Invalid rows leave the decision fields empty and say
/// why in `error`. Only a row on two or more lists (rare) allocates, to join them.
fn result_fields(r: &ScreenResult) -> [std::borrow::Cow<'_, str>; 6] {
    use std::borrow::Cow;
    let b = |v: bool| Cow::Borrowed(if v { "true" } else { "false" });
    if let Some(e) = &r.error {
        return [
            Cow::Borrowed(""),
            Cow::Borrowed(""),
            Cow::Borrowed(""),
            Cow::Borrowed(""),
            Cow::Borrowed(""),
            Cow::Borrowed(e.message.as_str()),
        ];
    }
    [
        Cow::Borrowed(decision_str(r)),
        b(r.heightened),
        b(r.nonconforming),
        joined(&r.lists),
        joined(&r.measures),
        Cow::Borrowed(""),
    ]
}

fn joined(items: &[String]) -> std::borrow::Cow<'_, str> {
    match items {
        [] => "".into(),
        [one] => one.as_str().into(),
        _ => items.join(";").into(),
    }
}

#[derive(serde::Serialize)]
struct NdRow<'a> {
    row: u64,
    input: &'a str,
    #[serde(flatten)]
    result: &'a ScreenResult,
    columns: Columns<'a>,
}

/// The non-identifier input columns of one row, by header name; cells past the header are
/// keyed by their 1-based position.
struct Columns<'a> {
    headers: &'a [String],
    id_col: usize,
    chunk: &'a Chunk,
    row: usize,
}

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut cells = self.chunk.row(self.row);
        let width = cells.len().max(self.headers.len());
        for c in 0..width {
            let cell = cells.next().unwrap_or("");
            if c == self.id_col {
                continue;
            }
            match self.headers.get(c) {
                Some(h) => map.serialize_entry(h, cell)?,
                None => map.serialize_entry(&(c + 1).to_string(), cell)?,
            }
        }
        map.end()
    }
}
