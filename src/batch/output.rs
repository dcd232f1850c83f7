//! Writing screened rows: each input row as it came, then the result columns, as CSV,
//! NDJSON or an xlsx workbook.
//!
//! CSV and xlsx rows carry the row number (`row`, numbered like NDJSON's `row`: data rows
//! from 1, blank rows skipped), every input column (the identifier as the caller wrote it: it
//! is the caller's own data, so a person's number is echoed unmasked) and then
//! [`RESULT_COLUMNS`]. An NDJSON row is the `POST /v1/screen` shape: `{"row","input",
//! <ScreenResult fields>,"columns"}` where `id` is the normalised, masked identifier and
//! `columns` holds the other input columns by header name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

use super::input::Chunk;
use super::render::{csv_field, json_str, Answer};
use super::{BatchError, Rendered};
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

/// The first column of every CSV and xlsx row: the row's number in the input.
pub const ROW_COLUMN: &str = "row";

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
    Csv(BufWriter<Sink>),
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
                let mut w = BufWriter::with_capacity(256 * 1024, sink()?);
                let mut line = Vec::new();
                for (i, h) in std::iter::once(ROW_COLUMN)
                    .chain(headers.iter().map(String::as_str))
                    .chain(RESULT_COLUMNS)
                    .enumerate()
                {
                    if i > 0 {
                        line.push(b',');
                    }
                    csv_field(&mut line, h);
                }
                line.push(b'\n');
                w.write_all(&line).map_err(|e| out_err(e.to_string()))?;
                Kind::Csv(w)
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
                for (c, h) in std::iter::once(ROW_COLUMN)
                    .chain(headers.iter().map(String::as_str))
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

    /// The layout rows are written in, for screeners that write them themselves
    /// ([`super::Screener::screen_rendered`]); `None` for xlsx, which takes cells.
    pub fn layout(&self) -> Option<RowLayout<'_>> {
        let ndjson = match self.kind {
            Kind::Csv(_) => false,
            Kind::Ndjson(_) => true,
            Kind::Xlsx { .. } => return None,
        };
        Some(RowLayout {
            ndjson,
            headers: &self.headers,
            id_col: self.id_col,
        })
    }

    /// Writes rows already rendered in this output's format, in order.
    pub fn write_rendered(&mut self, rendered: &Rendered) -> Result<(), BatchError> {
        let w = match &mut self.kind {
            Kind::Csv(w) | Kind::Ndjson(w) => w,
            Kind::Xlsx { path, .. } => {
                return Err(BatchError::Output {
                    path: Some(path.clone()),
                    detail: "rendered rows cannot go into an xlsx workbook".into(),
                })
            }
        };
        for part in &rendered.parts {
            w.write_all(part).map_err(|e| BatchError::Output {
                path: None,
                detail: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Writes one screened chunk; `results[i]` belongs to row `i` of the chunk.
    pub fn write_chunk(
        &mut self,
        chunk: &Chunk,
        results: &[ScreenResult],
    ) -> Result<(), BatchError> {
        let layout = self.layout();
        if let Some(layout) = layout {
            let mut buf = Vec::with_capacity(results.len() * 160);
            for (i, r) in results.iter().enumerate() {
                layout.row(&mut buf, chunk, i, &Answer::of_result(r));
            }
            let (Kind::Csv(w) | Kind::Ndjson(w)) = &mut self.kind else {
                unreachable!("a layout exists for CSV and NDJSON only")
            };
            return w.write_all(&buf).map_err(|e| BatchError::Output {
                path: None,
                detail: e.to_string(),
            });
        }
        match &mut self.kind {
            Kind::Csv(_) | Kind::Ndjson(_) => unreachable!("written above"),
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
                    sheet
                        .write_number(*row, 0, (chunk.first_row + i as u64) as f64)
                        .map_err(err)?;
                    // The input cells under the header's columns (see `RowLayout::row`), so
                    // the result columns sit under their headers whatever the row's width.
                    for (c, cell) in chunk.row(i).take(width).enumerate() {
                        sheet.write_string(*row, 1 + c as u16, cell).map_err(err)?;
                    }
                    let mut col = 1 + width as u16;
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
            Kind::Csv(mut w) | Kind::Ndjson(mut w) => w.flush().map_err(|e| BatchError::Output {
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

/// How a CSV or NDJSON output lays out a row; shared by the writer and the screeners that
/// write rows on their own threads.
#[derive(Clone, Copy)]
pub struct RowLayout<'a> {
    pub ndjson: bool,
    pub headers: &'a [String],
    pub id_col: usize,
}

impl RowLayout<'_> {
    /// Appends row `i` of `chunk` with its answer: in CSV the row number, every input cell,
    /// then the result cells; in NDJSON `{"row","input",<result fields>,"columns"}` where
    /// `columns` holds the other input cells by header name (cells past the header by their
    /// 1-based position).
    pub fn row(&self, out: &mut Vec<u8>, chunk: &Chunk, i: usize, answer: &Answer<'_>) {
        let mut digits = itoa_buf();
        let number = itoa(&mut digits, chunk.first_row + i as u64);
        if !self.ndjson {
            out.extend_from_slice(number);
            out.push(b',');
            // Exactly the header's columns, so that the result columns stay under their
            // headers: a short row is padded with empty cells, and the cells of a long row
            // beyond the header's are not echoed (they have no column to go in; NDJSON
            // output echoes them as `columnN`).
            let width = self.headers.len();
            let mut written = 0;
            for cell in chunk.row(i).take(width) {
                csv_field(out, cell);
                out.push(b',');
                written += 1;
            }
            for _ in written..width {
                out.push(b',');
            }
            answer.write_csv_cells(out);
            out.push(b'\n');
            return;
        }
        out.extend_from_slice(b"{\"row\":");
        out.extend_from_slice(number);
        out.extend_from_slice(b",\"input\":");
        json_str(out, chunk.cell(i, self.id_col));
        out.push(b',');
        answer.write_json_fields(out);
        out.extend_from_slice(b",\"columns\":{");
        let mut cells = chunk.row(i);
        let width = cells.len().max(self.headers.len());
        let mut first = true;
        for c in 0..width {
            let cell = cells.next().unwrap_or("");
            if c == self.id_col {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            match self.headers.get(c) {
                Some(h) => json_str(out, h),
                None => json_str(out, itoa_str(&mut digits, c as u64 + 1)),
            }
            out.push(b':');
            json_str(out, cell);
        }
        out.extend_from_slice(b"}}\n");
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// The decimal digits of `n`, written into `buf`.
fn itoa(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

fn itoa_str(buf: &mut [u8; 20], n: u64) -> &str {
    std::str::from_utf8(itoa(buf, n)).expect("digits are ASCII")
}
