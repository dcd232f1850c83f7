//! Writing screened rows: each input row with its result, as CSV, NDJSON or an xlsx
//! workbook.
//!
//! CSV and NDJSON rows are written by [`RowWriter`], byte for byte as `POST /v1/screen`
//! writes them: a CSV row is the row number (`row`, numbered like NDJSON's `row`), the input
//! columns, then [`RESULT_COLUMNS`]; an NDJSON row is `{"row","input",<ScreenResult
//! fields>,"columns"}`, `columns` holding the other input columns by header name. People's
//! numbers in what is echoed are masked as the server masks them for a key without
//! `personal_full`, unless the run shows them in full (`--full-ids`). An xlsx row holds the
//! same cells as the CSV row, the row number as a number and the flags as booleans.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

pub use super::echo::RESULT_COLUMNS;
use super::echo::{ChunkRow, ColumnKeys, Echoed, RowWriter};
use super::input::Chunk;
use super::render::{error_text, Answer};
use super::{BatchError, Rendered};
use crate::engine::screen::ScreenResult;

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
    /// How rows are laid out: CSV lines for CSV and for the cells of xlsx rows, NDJSON
    /// objects for NDJSON.
    layout: RowLayout,
}

impl Output {
    /// Starts the output and writes its header row (CSV, xlsx). `dest` `None` is stdout,
    /// which cannot take an xlsx (the format needs a seekable file). With `mask`, people's
    /// numbers in echoed text are masked.
    pub fn create(
        format: Format,
        dest: Option<&Path>,
        headers: &[String],
        id_col: usize,
        mask: bool,
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
        let layout = RowLayout::new(format == Format::Ndjson, headers, id_col, mask);
        let kind = match format {
            Format::Csv => {
                let mut w = BufWriter::with_capacity(256 * 1024, sink()?);
                let line = layout.writer.csv_header(headers);
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
                let names = headers.iter().map(|h| layout.writer.echo(h));
                for (c, h) in std::iter::once(ROW_COLUMN.into())
                    .chain(names)
                    .chain(RESULT_COLUMNS.map(Into::into))
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
        Ok(Output { kind, layout })
    }

    /// The layout rows are written in, for screeners that write them themselves
    /// ([`super::Screener::screen_rendered`]); `None` for xlsx, which takes cells.
    pub fn layout(&self) -> Option<&RowLayout> {
        match self.kind {
            Kind::Csv(_) | Kind::Ndjson(_) => Some(&self.layout),
            Kind::Xlsx { .. } => None,
        }
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
        if let Some(layout) = self.layout() {
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
                let layout = &self.layout;
                let echo = layout.writer;
                for (i, r) in results.iter().enumerate() {
                    sheet
                        .write_number(*row, 0, (chunk.first_row + i as u64) as f64)
                        .map_err(err)?;
                    // The cells of the CSV row: the input cells under the header's columns
                    // (so the result columns sit under their headers whatever the row's
                    // width), then the result.
                    let answer = Answer::of_result(r);
                    let cells = ChunkRow(chunk, i);
                    let echoed = echoed(chunk, i, &cells, &layout.keys, layout.id_col);
                    let input = chunk.input(i, layout.id_col);
                    let mut col = 1u16;
                    let mut failed = None;
                    echo.input_cells(input, &answer, &echoed, |cell| {
                        if !cell.is_empty() && failed.is_none() {
                            failed = sheet.write_string(*row, col, cell).err();
                        }
                        col += 1;
                    });
                    if let Some(e) = failed {
                        return Err(err(e));
                    }
                    if r.decision.is_some() {
                        sheet
                            .write_string(*row, col, decision_str(r))
                            .map_err(err)?;
                    }
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
                    if let Some(e) = echo.error(&answer) {
                        sheet
                            .write_string(*row, col + 5, error_text(&e))
                            .map_err(err)?;
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

/// How a CSV or NDJSON output lays out a row, made once per run: shared by the writer and
/// the screeners that write rows on their own threads.
#[derive(Clone, Debug)]
pub struct RowLayout {
    /// CSV lines or NDJSON objects, people's numbers masked or not, how many input columns.
    pub writer: RowWriter,
    /// The NDJSON keys of the list's columns, masked and escaped once for every row.
    pub keys: ColumnKeys,
    pub id_col: usize,
}

impl RowLayout {
    /// The layout of a list with columns `headers`, its identifier in `id_col`: NDJSON
    /// objects or CSV lines, people's numbers masked in what is echoed when `mask`.
    pub fn new(ndjson: bool, headers: &[String], id_col: usize, mask: bool) -> RowLayout {
        let writer = RowWriter {
            csv: !ndjson,
            mask,
            width: headers.len(),
        };
        RowLayout {
            writer,
            keys: writer.column_keys(headers, id_col),
            id_col,
        }
    }

    /// Appends row `i` of `chunk` with its answer ([`RowWriter::write`]).
    pub fn row(&self, out: &mut Vec<u8>, chunk: &Chunk, i: usize, answer: &Answer<'_>) {
        let cells = ChunkRow(chunk, i);
        let echoed = echoed(chunk, i, &cells, &self.keys, self.id_col);
        let number = chunk.first_row + i as u64;
        self.writer
            .write(out, number, chunk.input(i, self.id_col), answer, &echoed);
    }
}

/// What row `i` of `chunk` echoes: its cells, or only its text when it could not be parsed.
fn echoed<'a>(
    chunk: &Chunk,
    i: usize,
    cells: &'a ChunkRow<'a>,
    keys: &'a ColumnKeys,
    id_col: usize,
) -> Echoed<'a> {
    match chunk.malformed(i) {
        Some(_) => Echoed::Raw,
        None => Echoed::Cells {
            keys,
            cells,
            id_col,
        },
    }
}
