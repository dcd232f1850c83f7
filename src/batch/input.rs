//! Reading a supplier list in chunks: CSV (UTF-8 or GB18030, BOM tolerated) or the first
//! worksheet of an `.xlsx`, and finding its identifier column by name.
//!
//! A reader never holds the file: it fills one [`Chunk`] of at most `chunk_rows` rows at a
//! time, and chunks are recycled, so memory stays flat however long the list is. What a row
//! is, and which rows are skipped, is the rule of [`super::records`], which `/v1/screen`
//! follows too.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use calamine::{DataRef, Reader as _, Xlsx};
use credgate_index::source::Encoding;
use credgate_index::source::{Decoded, MalformedInput};

use super::records::{
    csv_fields_into, invalid_row, is_blank_row, missing_id, row_text, shown_raw, Lines, Records,
};
use super::BatchError;
use crate::engine::screen::ScreenError;

/// Header names that mark the identifier column, most specific first: a list with both a
/// credit code and a legal representative's identity number is screened by the credit code.
/// `id` is here too, for [`is_header_row`]; as a column it comes before all of them
/// ([`id_column`]). The counter page (`web/app.js`) holds a copy, checked by a test.
pub const ID_COLUMNS: &[&str] = &[
    "统一社会信用代码",
    "社会信用代码",
    "信用代码",
    "uscc",
    "credit_code",
    "身份证号码",
    "身份证号",
    "公民身份号码",
    "证件号码",
    "证件号",
    "subject_id",
    "id",
];

/// A block of consecutive data rows, stored as one string and cell boundaries so that
/// reading a row allocates nothing once the chunk's buffers have grown.
#[derive(Default, Debug)]
pub struct Chunk {
    /// 1-based number of the chunk's first data row.
    pub first_row: u64,
    text: String,
    /// End offset in `text` of every cell.
    cell_ends: Vec<usize>,
    /// End index in `cell_ends` of every row.
    row_ends: Vec<usize>,
    /// Why each row could not be parsed, if it could not (its one cell is then its text).
    malformed: Vec<Option<Cow<'static, str>>>,
    /// How many of the rows were malformed for not being UTF-8.
    pub not_utf8: u64,
}

impl Chunk {
    pub fn clear(&mut self, first_row: u64) {
        self.first_row = first_row;
        self.text.clear();
        self.cell_ends.clear();
        self.row_ends.clear();
        self.malformed.clear();
        self.not_utf8 = 0;
    }

    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    pub fn push_cell(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.cell_ends.push(self.text.len());
    }

    pub fn end_row(&mut self) {
        self.row_ends.push(self.cell_ends.len());
        self.malformed.push(None);
    }

    /// Adds a row that could not be parsed: its text as its one cell, and why.
    pub fn push_malformed(&mut self, text: &str, why: impl Into<Cow<'static, str>>) {
        self.push_cell(text);
        self.row_ends.push(self.cell_ends.len());
        self.malformed.push(Some(why.into()));
    }

    /// Adds a row that is not UTF-8 ([`Chunk::push_malformed`]), counted in `not_utf8`.
    pub fn push_not_utf8(&mut self, text: &str, why: String) {
        self.push_malformed(text, why);
        self.not_utf8 += 1;
    }

    /// Why row `i` could not be parsed; `None` when its cells are its fields.
    pub fn malformed(&self, i: usize) -> Option<&str> {
        self.malformed[i].as_deref()
    }

    /// The error row `i` is answered with instead of a decision: it could not be parsed
    /// (`invalid_row`), or it has no column `id_col` (`missing_id`). As `/v1/screen` answers.
    pub fn row_error(&self, i: usize, id_col: usize) -> Option<ScreenError> {
        if let Some(why) = self.malformed(i) {
            return Some(invalid_row(why));
        }
        (self.row(i).len() <= id_col).then(|| missing_id(id_col))
    }

    /// The text row `i` is screened by, and echoed as its `input`: the identifier's cell,
    /// or the whole row when it could not be parsed.
    pub fn input(&self, i: usize, id_col: usize) -> &str {
        match self.malformed(i) {
            Some(_) => self.cell(i, 0),
            None => self.cell(i, id_col),
        }
    }

    /// The cells of row `i` of the chunk (0-based).
    pub fn row(&self, i: usize) -> impl ExactSizeIterator<Item = &str> + '_ {
        let (first, last) = self.cell_range(i);
        (first..last).map(move |c| self.cell_at(c))
    }

    /// Cell `col` of row `i`, empty when the row is shorter.
    pub fn cell(&self, i: usize, col: usize) -> &str {
        let (first, last) = self.cell_range(i);
        if first + col < last {
            self.cell_at(first + col)
        } else {
            ""
        }
    }

    fn cell_range(&self, i: usize) -> (usize, usize) {
        let first = if i == 0 { 0 } else { self.row_ends[i - 1] };
        (first, self.row_ends[i])
    }

    fn cell_at(&self, c: usize) -> &str {
        let start = if c == 0 { 0 } else { self.cell_ends[c - 1] };
        &self.text[start..self.cell_ends[c]]
    }
}

/// The kind of input file, by extension: `.xlsx` is a workbook, anything else CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Csv,
    Xlsx,
}

impl InputKind {
    pub fn of(path: &Path) -> InputKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("xlsx") => InputKind::Xlsx,
            _ => InputKind::Csv,
        }
    }
}

/// A header name as names compare: trimmed, lower case.
fn norm(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The column a header names as the identifier's: the one called `id`, else the one with
/// the most specific name of [`ID_COLUMNS`]; `None` when no name says so. Names compare
/// trimmed and case-insensitively.
pub fn named_id_column<S: AsRef<str>>(names: &[S]) -> Option<usize> {
    let names: Vec<String> = names.iter().map(|n| norm(n.as_ref())).collect();
    std::iter::once(&"id")
        .chain(ID_COLUMNS)
        .find_map(|c| names.iter().position(|n| n == c))
}

/// The identifier column of a list with a header, on every path (`credgate screen`, and
/// `POST /v1/screen` for CSV and xlsx): [`named_id_column`], else the first column.
pub fn id_column<S: AsRef<str>>(names: &[S]) -> usize {
    named_id_column(names).unwrap_or(0)
}

/// The identifier column of a header: the one named `wanted` (from `--id-column`; names
/// compare trimmed and case-insensitively), or [`id_column`].
pub fn find_id_column(headers: &[String], wanted: Option<&str>) -> Result<usize, BatchError> {
    let Some(wanted) = wanted else {
        return Ok(id_column(headers));
    };
    headers
        .iter()
        .position(|h| norm(h) == norm(wanted))
        .ok_or_else(|| BatchError::NoIdColumn {
            wanted: wanted.to_string(),
            headers: headers.to_vec(),
        })
}

/// The column names and identifier column of a list whose first row is `first`, when that
/// row is a header ([`is_header_row`] with [`ID_COLUMNS`]); `None` when it is data. Names
/// are trimmed. `credgate screen` (without `--id-column`) and `POST /v1/screen` both lay a
/// list out by this.
pub fn header_layout<S: AsRef<str>>(first: &[S]) -> Option<(Vec<String>, usize)> {
    if !is_header_row(first, ID_COLUMNS) {
        return None;
    }
    let names: Vec<String> = first
        .iter()
        .map(|f| f.as_ref().trim().to_string())
        .collect();
    let id_col = id_column(&names);
    Some((names, id_col))
}

/// The column names of a list without a header of `n` columns: `id` (the identifier is the
/// first column), then `column2`, `column3`, … (`/v1/screen` names them the same way).
pub fn headerless_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i == 0 {
                "id".to_string()
            } else {
                format!("column{}", i + 1)
            }
        })
        .collect()
}

/// Whether the first non-blank row of a list is its header: when one of its cells is one of
/// `id_names` (lower-case; cells compare trimmed and lower-cased), or when none of its cells
/// looks like an identifier ([`looks_like_id`]). A row of data holds its supplier's code,
/// mistyped or not, wherever its column is; header names are words, even one such as
/// "2025年营业额". So a list without a header keeps its first row whether its first identifier
/// is mistyped or its first column holds names, and that row is screened (an identifier
/// that is wrong is reported invalid) instead of taken for a header. `credgate screen` and
/// `POST /v1/screen` both decide by this rule.
pub fn is_header_row<S: AsRef<str>>(cells: &[S], id_names: &[&str]) -> bool {
    let named = cells
        .iter()
        .any(|c| id_names.contains(&c.as_ref().trim().to_lowercase().as_str()));
    named || !cells.iter().any(|c| looks_like_id(c.as_ref()))
}

/// Whether a cell looks like an identifier, valid or not: 15 to 18 letters and digits (ASCII
/// or full-width) once spaces and hyphens are dropped, at least 6 of them digits, and nothing
/// else.
pub fn looks_like_id(cell: &str) -> bool {
    let (mut len, mut digits) = (0, 0);
    for c in cell.chars() {
        match c {
            '0'..='9' | '０'..='９' => digits += 1,
            'a'..='z' | 'A'..='Z' | 'ａ'..='ｚ' | 'Ａ'..='Ｚ' => {}
            ' ' | '\t' | '\u{3000}' | '-' | '－' | '‐'..='―' => continue,
            _ => return false,
        }
        len += 1;
    }
    (15..=18).contains(&len) && digits >= 6
}

/// One row of a list as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Cells(Vec<String>),
    /// A CSV record that is not valid CSV (or not UTF-8): its text as echoed, and why
    /// ([`super::records`]).
    Malformed(String, Cow<'static, str>),
    /// A CSV record that is not UTF-8: its text as echoed, and why ([`row_text`]).
    NotUtf8(String, String),
}

/// The names of a list's columns and where its identifier is, decided from its first row
/// by [`header_layout`] (with `--id-column`, the first row is always the header and names
/// the column). A row that is no header is data (a first row that is not valid CSV is data
/// too): the identifier is its first cell and the columns are called `id`, `column2`,
/// `column3`, …; the row is given back to `reader` to be read again.
pub fn layout(
    first: Row,
    wanted: Option<&str>,
    reader: &mut RowReader,
) -> Result<(Vec<String>, usize), BatchError> {
    let width = match (&first, wanted) {
        (Row::Cells(cells), Some(_)) => {
            let names: Vec<String> = cells.iter().map(|c| c.trim().to_string()).collect();
            let id_col = find_id_column(&names, wanted)?;
            return Ok((names, id_col));
        }
        (Row::Cells(cells), None) => match header_layout(cells) {
            Some(layout) => return Ok(layout),
            None => cells.len(),
        },
        (Row::Malformed(text, _) | Row::NotUtf8(text, _), Some(wanted)) => {
            return Err(BatchError::NoIdColumn {
                wanted: wanted.to_string(),
                headers: vec![text.clone()],
            })
        }
        (Row::Malformed(..) | Row::NotUtf8(..), None) => 1,
    };
    let names = headerless_names(width);
    reader.unread(first);
    Ok((names, 0))
}

/// Streams the rows of one input file.
pub struct RowReader {
    source: Source,
    /// A first row that turned out to be data ([`layout`]): the first row of the first fill.
    unread: Option<Row>,
}

enum Source {
    Csv(Box<CsvRows>),
    Xlsx(Box<XlsxRows>),
}

impl RowReader {
    /// Opens `path` and reads its first row (the header, unless [`layout`] finds it is
    /// data). `bytes_read` follows how far into a CSV file the reader is, for the progress
    /// bar.
    pub fn open(
        path: &Path,
        kind: InputKind,
        encoding: Encoding,
        bytes_read: Arc<AtomicU64>,
    ) -> Result<(RowReader, Row), BatchError> {
        match kind {
            InputKind::Csv => {
                let (rows, first) = CsvRows::open(path, encoding, bytes_read)?;
                Ok((RowReader::new(Source::Csv(Box::new(rows))), first))
            }
            InputKind::Xlsx => {
                let (rows, first) = XlsxRows::open(path)?;
                Ok((
                    RowReader::new(Source::Xlsx(Box::new(rows))),
                    Row::Cells(first),
                ))
            }
        }
    }

    fn new(source: Source) -> RowReader {
        RowReader {
            source,
            unread: None,
        }
    }

    /// Gives back the first row, which is data, to be the first row of the first fill.
    pub fn unread(&mut self, row: Row) {
        self.unread = Some(row);
    }

    /// Refills `chunk` with up to `max` rows; an empty chunk means the end of the file.
    pub fn fill(
        &mut self,
        chunk: &mut Chunk,
        first_row: u64,
        max: usize,
    ) -> Result<(), BatchError> {
        chunk.clear(first_row);
        match self.unread.take() {
            Some(Row::Cells(cells)) => {
                for cell in &cells {
                    chunk.push_cell(cell);
                }
                chunk.end_row();
            }
            Some(Row::Malformed(text, why)) => chunk.push_malformed(&text, why),
            Some(Row::NotUtf8(text, why)) => chunk.push_not_utf8(&text, why),
            None => {}
        }
        match &mut self.source {
            Source::Csv(r) => r.fill(chunk, max),
            Source::Xlsx(r) => r.fill(chunk, max),
        }
    }
}

/// A file that counts the bytes read from it.
struct Counted {
    file: File,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The rows of a CSV file, cut into records and fields by the rule of [`super::records`],
/// which `/v1/screen` follows too.
pub struct CsvRows {
    path: PathBuf,
    /// The file's text: UTF-8 passed through, GB18030 decoded on the fly; unless declared,
    /// the encoding is decided at the first non-ASCII byte as the file streams, so the file
    /// is read once, whether it is a regular file or a pipe.
    text: Decoded<Counted>,
    /// Text read and not yet cut off: the unfinished record, from its start.
    buf: Vec<u8>,
    /// The line (1-based) `buf` starts on.
    line: u64,
    lines: Lines,
    /// How much of `buf` `lines` has scanned.
    scanned: usize,
    /// Records cut and not yet handed out, from the `next`th.
    ready: Records,
    next: usize,
    eof: bool,
}

/// The longest record: a quote left open would otherwise make the rest of a file one row,
/// held in memory.
pub const MAX_RECORD: usize = 1 << 20;

/// Bytes read from the file at a time.
const READ_BLOCK: usize = 256 * 1024;

impl CsvRows {
    fn open(
        path: &Path,
        encoding: Encoding,
        read: Arc<AtomicU64>,
    ) -> Result<(CsvRows, Row), BatchError> {
        let io_err = |err| BatchError::Io {
            path: path.to_path_buf(),
            err,
        };
        let file = Counted {
            file: File::open(path).map_err(io_err)?,
            read,
        };
        let mut rows = CsvRows {
            path: path.to_path_buf(),
            text: Decoded::new(file, encoding),
            buf: Vec::with_capacity(READ_BLOCK),
            line: 1,
            lines: Lines::new(true),
            scanned: 0,
            ready: Records::default(),
            next: 0,
            eof: false,
        };
        // The first row, whatever it turns out to be. A byte-order mark (UTF-8's, or
        // GB18030's once decoded) is no part of it.
        rows.read_more()?;
        if rows.buf.starts_with(b"\xEF\xBB\xBF") {
            rows.buf.drain(..3);
        }
        let mut first = None;
        rows.each_row(1, |row| first = Some(row.to_row()))?;
        let Some(first) = first else {
            return Err(BatchError::Empty {
                path: path.to_path_buf(),
            });
        };
        Ok((rows, first))
    }

    /// Reads the next block of text; false at the end of the file.
    fn read_more(&mut self) -> Result<bool, BatchError> {
        if self.eof {
            return Ok(false);
        }
        let at = self.buf.len();
        self.buf.resize(at + READ_BLOCK, 0);
        let n = loop {
            match self.text.read(&mut self.buf[at..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(at);
                    return Err(self.read_error(e));
                }
            }
        };
        self.buf.truncate(at + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(true)
    }

    fn read_error(&self, e: io::Error) -> BatchError {
        match e.get_ref().and_then(|x| x.downcast_ref::<MalformedInput>()) {
            Some(m) => BatchError::Encoding {
                path: self.path.clone(),
                line: m.line,
                // Only a GB18030 decoder finds bytes that are not text.
                encoding: self.text.detected().name(),
                detail: m.to_string(),
            },
            None => BatchError::Io {
                path: self.path.clone(),
                err: e,
            },
        }
    }

    /// Cuts the records that `buf` completes into `ready`, keeping the unfinished one.
    fn cut(&mut self) -> Result<(), BatchError> {
        self.ready.clear();
        self.next = 0;
        // Line ends are ASCII, which no byte of a UTF-8 character is: the bytes are cut as
        // read, and each record is then checked ([`row_text`]).
        let end = self.buf.len();
        let mut start = self
            .lines
            .scan(&self.buf[..end], self.scanned, 0, &mut self.ready);
        if self.eof {
            self.lines.finish(&self.buf[start..], &mut self.ready);
            start = self.buf.len();
        }
        self.scanned = end - start;
        self.line += newlines(&self.buf[..start]);
        self.buf.drain(..start);
        if self.buf.len() > MAX_RECORD {
            return Err(BatchError::Csv {
                path: self.path.clone(),
                line: self.line,
                detail: format!(
                    "a row longer than {} MiB starts here; is a double quote left open?",
                    MAX_RECORD >> 20
                ),
            });
        }
        Ok(())
    }

    /// Calls `f` with up to `max` further rows.
    fn each_row(&mut self, max: usize, mut f: impl FnMut(RecordRow<'_>)) -> Result<(), BatchError> {
        let mut done = 0;
        while done < max {
            if self.next == self.ready.len() {
                if !self.read_more()? && self.buf.is_empty() {
                    break;
                }
                self.cut()?;
                continue;
            }
            // One vector of fields for the records cut from one block (they borrow it).
            let mut fields = Vec::new();
            while done < max && self.next < self.ready.len() {
                let rec = self.ready.get(self.next);
                self.next += 1;
                match row_text(rec) {
                    Ok(text) => match csv_fields_into(text, &mut fields) {
                        Ok(()) => f(RecordRow::Cells(&fields)),
                        Err(why) => f(RecordRow::Malformed(text.into(), why.into())),
                    },
                    Err(why) => f(RecordRow::NotUtf8(shown_raw(rec), why)),
                }
                done += 1;
            }
        }
        Ok(())
    }

    fn fill(&mut self, chunk: &mut Chunk, max: usize) -> Result<(), BatchError> {
        let room = max.saturating_sub(chunk.len());
        self.each_row(room, |row| match row {
            RecordRow::Cells(cells) => {
                for cell in cells {
                    chunk.push_cell(cell);
                }
                chunk.end_row();
            }
            RecordRow::Malformed(text, why) => chunk.push_malformed(&text, why),
            RecordRow::NotUtf8(text, why) => chunk.push_not_utf8(&text, why),
        })
    }
}

/// A record as read: its fields, or its text and why it could not be parsed.
enum RecordRow<'a> {
    Cells(&'a [Cow<'a, str>]),
    Malformed(Cow<'a, str>, Cow<'static, str>),
    /// A record that is not UTF-8: its text as echoed, and why.
    NotUtf8(Cow<'a, str>, String),
}

impl RecordRow<'_> {
    fn to_row(&self) -> Row {
        match self {
            RecordRow::Cells(cells) => Row::Cells(cells.iter().map(|c| c.to_string()).collect()),
            RecordRow::Malformed(text, why) => Row::Malformed(text.to_string(), why.clone()),
            RecordRow::NotUtf8(text, why) => Row::NotUtf8(text.to_string(), why.clone()),
        }
    }
}

/// Line ends in `text`: LF, CRLF, or a CR alone (old Mac exports), as [`Lines`] cuts them.
fn newlines(text: &[u8]) -> u64 {
    let lf = text.iter().filter(|&&b| b == b'\n').count() as u64;
    if crate::scan::find_any(text, [b'\r']).is_none() {
        return lf;
    }
    let lone_cr = text
        .windows(2)
        .filter(|w| w[0] == b'\r' && w[1] != b'\n')
        .count();
    let last_cr = text.last() == Some(&b'\r');
    lf + (lone_cr + usize::from(last_cr)) as u64
}

/// The first worksheet of a workbook, read cell by cell through calamine's streaming
/// reader. The workbook's shared-string table is held in memory (the format requires it);
/// the cells are not.
pub struct XlsxRows {
    path: PathBuf,
    /// calamine's cell reader borrows the workbook, so it cannot live beside it in one
    /// struct; instead a thread owns both and hands rows over this bounded channel.
    rows: std::sync::mpsc::Receiver<Result<Vec<String>, String>>,
    _thread: std::thread::JoinHandle<()>,
}

impl XlsxRows {
    fn open(path: &Path) -> Result<(XlsxRows, Vec<String>), BatchError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<String>, String>>(4096);
        let owned = path.to_path_buf();
        let thread = std::thread::spawn(move || {
            if let Err(e) = stream_sheet(&owned, &tx) {
                let _ = tx.send(Err(e));
            }
        });
        let mut rows = XlsxRows {
            path: path.to_path_buf(),
            rows: rx,
            _thread: thread,
        };
        let header = loop {
            match rows.next_row()? {
                Some(r) if is_blank_row(&r) => continue,
                Some(r) => break r,
                None => {
                    return Err(BatchError::Empty {
                        path: path.to_path_buf(),
                    })
                }
            }
        };
        Ok((rows, header))
    }

    fn next_row(&mut self) -> Result<Option<Vec<String>>, BatchError> {
        match self.rows.recv() {
            Ok(Ok(row)) => Ok(Some(row)),
            Ok(Err(detail)) => Err(BatchError::Xlsx {
                path: self.path.clone(),
                detail,
            }),
            Err(_) => Ok(None),
        }
    }

    fn fill(&mut self, chunk: &mut Chunk, max: usize) -> Result<(), BatchError> {
        while chunk.len() < max {
            let Some(row) = self.next_row()? else { break };
            if is_blank_row(&row) {
                continue;
            }
            for cell in &row {
                chunk.push_cell(cell);
            }
            chunk.end_row();
        }
        Ok(())
    }
}

/// Sends the rows of the first worksheet in order, filling gaps with empty cells. Stops
/// quietly when the receiver is gone (the run ended early).
fn stream_sheet(
    path: &Path,
    tx: &std::sync::mpsc::SyncSender<Result<Vec<String>, String>>,
) -> Result<(), String> {
    let file = BufReader::new(File::open(path).map_err(|e| e.to_string())?);
    for_each_sheet_row(file, |row| tx.send(Ok(row)).is_ok())
}

/// Calls `f` with each row of the first worksheet of the workbook in `reader`, in order,
/// gaps filled with empty cells; stops when `f` returns false. A malformed workbook is an
/// error, never a panic (see [`super::workbook`]).
fn for_each_sheet_row<R: Read + io::Seek>(
    mut reader: R,
    mut f: impl FnMut(Vec<String>) -> bool,
) -> Result<(), String> {
    let repaired =
        super::workbook::guarded(|| super::workbook::repair_shared_strings(&mut reader))?;
    super::workbook::guarded(move || match repaired {
        Some(bytes) => sheet_rows(io::Cursor::new(bytes), &mut f),
        None => {
            reader.rewind().map_err(|e| e.to_string())?;
            sheet_rows(reader, &mut f)
        }
    })
}

/// [`for_each_sheet_row`] for a workbook calamine can be given.
fn sheet_rows<R: Read + io::Seek>(
    reader: R,
    f: &mut impl FnMut(Vec<String>) -> bool,
) -> Result<(), String> {
    let mut book: Xlsx<_> = Xlsx::new(reader).map_err(|e| e.to_string())?;
    let sheet = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| "the workbook has no worksheet".to_string())?;
    let mut cells = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| e.to_string())?;
    let mut row: Vec<String> = Vec::new();
    let mut at: Option<u32> = None;
    while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
        let (r, c) = cell.get_position();
        if at != Some(r) {
            // Rows the sheet leaves out entirely are blank rows: skipped like blank lines.
            if at.is_some() && !f(std::mem::take(&mut row)) {
                return Ok(());
            }
            at = Some(r);
        }
        let c = c as usize;
        if row.len() < c {
            row.resize(c, String::new());
        }
        row.push(cell_text(cell.get_value()));
    }
    if at.is_some() {
        f(row);
    }
    Ok(())
}

/// The first worksheet of an uploaded workbook as CSV for `POST /v1/screen`, which then
/// finds its header and identifier column as in a CSV body ([`header_layout`]). Rows of
/// blank cells are left out ([`is_blank_row`]). A workbook is a zip archive and cannot be
/// read as a stream, so it is converted whole (the server bounds its size by the screen
/// body limit).
pub fn xlsx_to_csv(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(bytes.len() * 2));
    let mut empty = true;
    let mut failed = None;
    for_each_sheet_row(io::Cursor::new(bytes), |row| {
        if is_blank_row(&row) {
            return true;
        }
        empty = false;
        match out.write_record(&row) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e.to_string());
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if empty {
        return Err("the first worksheet has no rows".to_string());
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// A cell as the text a person sees. Identifiers typed as numbers (all-digit resident IDs
/// lose their last digits in a float, which then fail the check) keep their integer digits.
pub fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e17 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => d.to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn id_column_is_id_else_the_most_specific_name_else_the_first() {
        let h = headers(&["序号", " ID ", "企业名称", "统一社会信用代码"]);
        assert_eq!(id_column(&h), 1);
        assert_eq!(
            id_column(&headers(&["序号", "身份证号码", "统一社会信用代码"])),
            2
        );
        assert_eq!(id_column(&headers(&["name", "Credit_Code"])), 1);
        assert_eq!(id_column(&headers(&["名称", "统一社会信用代码"])), 1);
        for h in [
            &["code"][..],
            &["name", "code"],
            &["tax id"],
            &["ID Number"],
        ] {
            assert_eq!(id_column(&headers(h)), 0, "{h:?}");
            assert_eq!(named_id_column(&headers(h)), None, "{h:?}");
        }
        assert_eq!(find_id_column(&h, Some("企业名称")).unwrap(), 2);
        assert_eq!(find_id_column(&h, None).unwrap(), 1);
    }

    #[test]
    fn a_header_is_a_row_with_no_identifier_in_it() {
        let header = |cells: &[&str]| is_header_row(cells, ID_COLUMNS);
        assert!(header(&["名称", "统一社会信用代码"]));
        assert!(header(&["序号", "企业名称", "2025年营业额", "代码"]));
        assert!(header(&["code", "name"]));
        assert!(header(&["name", "ID"]));
        // Data: a code anywhere in the row, valid, mistyped, spaced or full-width.
        assert!(!header(&["恒达", "914101027110665834"]));
        assert!(!header(&["410102196804120212", "王建国"]));
        assert!(!header(&["王建国", "4101 0219 6804 1202 12"]));
        assert!(!header(&["９１４１０１０２７１１０６６５８３４"]));
        assert!(!header(&["1", "恒达", "91410102711066583"]));
        // Not an identifier: too short, too few digits, or other characters in it.
        assert!(!looks_like_id("13812345678"));
        assert!(!looks_like_id("ABCDEFGHIJKLMNO12"));
        assert!(!looks_like_id("2025年营业额12345678901"));
    }

    #[test]
    fn a_missing_id_column_lists_the_headers() {
        let err = find_id_column(&headers(&["name", "phone"]), Some("code")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"name\", \"phone\""), "{msg}");
        assert!(msg.contains("\"code\""), "{msg}");
    }

    #[test]
    fn chunk_rows_and_cells() {
        let mut c = Chunk::default();
        c.clear(7);
        for row in [&["a", "", "b"][..], &["c"][..]] {
            for cell in row {
                c.push_cell(cell);
            }
            c.end_row();
        }
        assert_eq!(c.len(), 2);
        assert_eq!(c.row(0).collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(c.cell(1, 0), "c");
        assert_eq!(c.cell(1, 2), "");
    }

    /// Reads a CSV file through [`RowReader`]: the first row, then every other row.
    fn read_csv(bytes: &[u8]) -> Result<Vec<Row>, BatchError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        let (mut reader, first) =
            RowReader::open(file.path(), InputKind::Csv, Encoding::Auto, Arc::default())?;
        let mut rows = vec![first];
        let mut chunk = Chunk::default();
        loop {
            reader.fill(&mut chunk, 0, 1000)?;
            if chunk.is_empty() {
                return Ok(rows);
            }
            for i in 0..chunk.len() {
                rows.push(match chunk.malformed(i) {
                    Some(why) => {
                        Row::Malformed(chunk.cell(i, 0).to_string(), why.to_string().into())
                    }
                    None => Row::Cells(chunk.row(i).map(str::to_string).collect()),
                });
            }
        }
    }

    #[test]
    fn csv_rows_are_cut_by_the_shared_rule_across_reads() {
        // Rows of Chinese text and quoted line breaks over several read blocks, so that
        // characters and quoted fields are split between reads.
        let mut text = "\u{FEFF}名称,id\r\n".to_string();
        let mut want = vec![Row::Cells(vec!["名称".into(), "id".into()])];
        for i in 0..40_000 {
            text.push_str(&format!("\"恒达\n第{i}号\",9141{i}\n  \n"));
            want.push(Row::Cells(vec![
                format!("恒达\n第{i}号"),
                format!("9141{i}"),
            ]));
        }
        text.push_str(",\n\"open,\n");
        want.push(Row::Cells(vec![String::new(), String::new()]));
        want.push(Row::Malformed(
            "\"open,\n".into(),
            "a quoted field is not closed".into(),
        ));
        assert!(text.len() > 3 * READ_BLOCK);
        let got = read_csv(text.as_bytes()).unwrap();
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn a_row_past_the_limit_stops_the_run_at_its_line() {
        let mut text = b"id\n914101027110665834\n\"".to_vec();
        text.resize(text.len() + MAX_RECORD + 10, b'x');
        match read_csv(&text) {
            Err(BatchError::Csv { line, detail, .. }) => {
                assert_eq!(line, 3);
                assert!(detail.contains("quote"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        // First non-ASCII bytes that are not UTF-8 make the list GB18030, whose bytes these
        // are not either.
        let err = read_csv(b"id\n91410\xff\n").unwrap_err();
        assert!(
            matches!(err, BatchError::Encoding { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_record_that_is_not_utf8_is_a_row_of_its_own() {
        // Read as UTF-8 by its first non-ASCII bytes; the bad bytes come in a later read.
        let mut text = b"id,name\n".to_vec();
        while text.len() < 2 * READ_BLOCK {
            text.extend_from_slice("91410,恒达\n".as_bytes());
        }
        let good = text.len() / "91410,恒达\n".len();
        text.extend_from_slice(b"91410,\xBA\xE3\n91411,x\n");
        let rows = read_csv(&text).unwrap();
        assert_eq!(rows.len(), good + 3);
        assert_eq!(
            rows[good + 1],
            Row::Malformed(
                "91410,\u{FFFD}\u{FFFD}".into(),
                "the row is not UTF-8 (byte 7 of the row)".into()
            )
        );
        assert_eq!(rows[good + 2], Row::Cells(vec!["91411".into(), "x".into()]));
    }

    #[test]
    fn numeric_cells_keep_their_digits() {
        assert_eq!(
            cell_text(&DataRef::Float(41010219680412.0)),
            "41010219680412"
        );
        assert_eq!(cell_text(&DataRef::Float(1.5)), "1.5");
        assert_eq!(cell_text(&DataRef::Int(7)), "7");
    }
}
