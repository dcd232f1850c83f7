//! Reading a source directory (SPEC §3): list files, repairs, objections and links, streamed
//! row by row into a [`SourceSink`], each row validated on its own.
//!
//! Every data row ends up as exactly one sink call: a typed row, or a [`Reject`] saying which
//! column is wrong and why. Empty lines are not rows. Problems that make a whole file
//! unreadable (a wrong header, an empty file, an unclosed quote, bytes that are not in the
//! file's encoding, I/O) are a [`SourceError`] and stop the build. Checks that need more
//! than one row (duplicate `record_id`, repairs of unknown records) belong to the consumer.
//!
//! Files are read once, in bounded memory: the raw bytes are hashed (SHA-256, for the
//! manifest) as they stream through the encoding layer and the CSV reader, which reuses one
//! record buffer for the whole file and refuses a record over 1 MiB (an unclosed quote) and a
//! file that ends inside a quoted field (an unclosed quote near the end).
//! Line numbers are those of the line a record starts on, counting every physical line
//! (header, empty lines and newlines inside quoted fields included). Records end at `\n`;
//! CRLF works, a file with bare `\r` (classic Mac) line endings does not.
//!
//! ```no_run
//! use credgate_index::date::Day;
//! use credgate_index::source::{read_source, Collect, Encoding, SourceOptions};
//!
//! let opts = SourceOptions {
//!     encoding: Encoding::Auto,
//!     file_encodings: Default::default(),
//!     today: Day::today_cst(),
//! };
//! let mut rows = Collect::default();
//! let summary = read_source("data/sample".as_ref(), &["court_defaulter"], &opts, &mut rows)?;
//! println!("{} files, {} rejects", summary.files.len(), rows.rejects.len());
//! # Ok::<(), credgate_index::source::SourceError>(())
//! ```

mod decode;
mod error;
mod header;
mod parallel;
mod pipeline;
mod records;
mod rejects;
mod rows;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::date::Day;
use crate::model::{Outcome, RepairAction, Role, SubjectType};

pub use decode::{
    sniff, Decoded, Detected, EncodingFrom, Gb18030Reader, MalformedInput, SNIFF_LEN,
};
pub use error::SourceError;
pub use header::{FileKind, LINK_COLUMNS, LIST_COLUMNS, OBJECTION_COLUMNS, REPAIR_COLUMNS};
pub use parallel::{read_source_batched, read_source_parallel, BatchSink};
pub use rejects::{read_rejects_csv, write_rejects_csv, Collect, RejectCounter, RejectsWriter};

use decode::HashingReader;
use header::{is_blank, ColumnMap};
use records::{Record, RecordError, RecordReader};

/// The character encoding of the source files.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Encoding {
    /// Per file: UTF-8 (with or without BOM) when the file's first non-ASCII bytes are valid
    /// UTF-8 (or it has none), else GB18030, decided as the file streams. See [`Decoded`].
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

impl Encoding {
    /// The encoding an operator names: `auto`, `utf-8` (or `utf8`), `gb18030` (or `gbk`,
    /// which GB18030 contains), in any case.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Encoding::Auto),
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "gb18030" | "gbk" => Some(Encoding::Gb18030),
            _ => None,
        }
    }
}

/// How to read a source directory.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// The encoding of every file not in `file_encodings`.
    pub encoding: Encoding,
    /// Per-file encodings, by path relative to the source directory (`lists/court.csv`,
    /// `links.csv`), overriding `encoding`: a directory can then mix UTF-8 files with
    /// GB18030 ones whose detection would go wrong. A path that names no source file
    /// is an error ([`SourceError::UnknownEncodingFile`]).
    pub file_encodings: BTreeMap<String, Encoding>,
    /// The build day: resident ID birth dates after it are invalid.
    pub today: Day,
}

impl SourceOptions {
    /// The encoding to read the file at `rel` (relative to the source directory) in.
    pub fn encoding_of(&self, rel: &str) -> Encoding {
        self.file_encodings
            .get(rel)
            .copied()
            .unwrap_or(self.encoding)
    }
}

/// One row of `lists/*.csv`: a subject's entry on a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    /// Index into [`SourceSummary::files`].
    pub file: u16,
    /// Line where the row starts (1-based; the header is line 1).
    pub line: u64,
    pub record_id: String,
    /// Index of the row's list code in the `list_codes` given to [`read_source`].
    pub list_code: u16,
    pub subject_type: SubjectType,
    /// The normalised USCC or 18-character resident ID number.
    pub subject_id: [u8; 18],
    /// A USCC that fails only its MOD 31 check (SPEC §1), kept and flagged.
    pub nonconforming: bool,
    pub subject_name: String,
    pub authority: String,
    pub doc_no: String,
    pub reason: String,
    pub decided_on: Day,
    pub effective_from: Day,
    /// Inclusive; `None` is open-ended.
    pub effective_until: Option<Day>,
    pub act_ended_on: Option<Day>,
}

/// One row of `repairs.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairRow {
    pub file: u16,
    pub line: u64,
    pub record_id: String,
    pub action: RepairAction,
    pub decided_on: Day,
    pub authority: String,
    pub doc_no: String,
}

/// One row of `objections.csv`; `closed_on` and `outcome` are both set or both `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectionRow {
    pub file: u16,
    pub line: u64,
    pub record_id: String,
    pub filed_on: Day,
    pub closed_on: Option<Day>,
    pub outcome: Option<Outcome>,
}

/// One row of `links.csv`: a person's role in an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub file: u16,
    pub line: u64,
    pub org_id: [u8; 18],
    pub person_id: [u8; 18],
    pub person_name: String,
    pub role: Role,
    pub from: Option<Day>,
    pub until: Option<Day>,
}

/// A data row that failed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Path relative to the source directory, e.g. `lists/court.csv`.
    pub file: String,
    pub line: u64,
    /// The row's `record_id` when it has one, else empty.
    pub record_id: String,
    /// What is wrong: column, value and why.
    pub reason: String,
}

/// Receives the rows of a source directory, in file order and line order.
pub trait SourceSink {
    fn list_row(&mut self, row: ListRow);
    fn repair(&mut self, row: RepairRow);
    fn objection(&mut self, row: ObjectionRow);
    fn link(&mut self, row: LinkRow);
    fn reject(&mut self, reject: Reject);
}

/// What was read from one file, for the snapshot manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the source directory, `/`-separated.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's raw bytes.
    pub sha256: String,
    pub bytes: u64,
    /// Data rows read (header and empty lines excluded), accepted or not.
    pub rows: u64,
    /// How many of `rows` were rejected.
    pub rejected: u64,
    /// `utf-8` or `gb18030`.
    pub encoding: &'static str,
    /// Whether `encoding` was detected or declared.
    pub encoding_from: EncodingFrom,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceSummary {
    pub files: Vec<SourceFile>,
}

/// What row validation needs besides the row.
pub(crate) struct RowContext<'a> {
    pub list_codes: HashMap<&'a str, u16>,
    pub today: Day,
}

/// Reads `lists/*.csv` (sorted by name), then `repairs.csv`, `objections.csv` and `links.csv`
/// (each optional) from `dir`, sending every data row to `sink`.
///
/// A missing `lists/` directory or one without `*.csv` files is an error. `list_codes` are
/// the codes the catalogue declares; a row naming another code is rejected.
pub fn read_source(
    dir: &Path,
    list_codes: &[&str],
    opts: &SourceOptions,
    sink: &mut dyn SourceSink,
) -> Result<SourceSummary, SourceError> {
    let plan = plan_files(dir)?;
    check_file_encodings(dir, &plan, opts)?;
    let ctx = RowContext::new(list_codes, opts);
    let mut summary = SourceSummary::default();
    for (index, (rel, kind)) in plan.into_iter().enumerate() {
        let encoding = opts.encoding_of(&rel);
        let file = read_file(dir, rel, kind, index as u16, &ctx, encoding, sink)?;
        summary.files.push(file);
    }
    Ok(summary)
}

impl<'a> RowContext<'a> {
    fn new(list_codes: &[&'a str], opts: &SourceOptions) -> RowContext<'a> {
        RowContext {
            list_codes: list_codes
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, i as u16))
                .collect(),
            today: opts.today,
        }
    }
}

/// The files of a source directory in reading order, each with its path relative to `dir`.
fn plan_files(dir: &Path) -> Result<Vec<(String, FileKind)>, SourceError> {
    let mut plan: Vec<(String, FileKind)> = list_files(dir)?
        .into_iter()
        .map(|name| (format!("lists/{name}"), FileKind::List))
        .collect();
    for (name, kind) in [
        ("repairs.csv", FileKind::Repair),
        ("objections.csv", FileKind::Objection),
        ("links.csv", FileKind::Link),
    ] {
        let path = dir.join(name);
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => plan.push((name.to_string(), kind)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(SourceError::Io { path, err }),
        }
    }
    if plan.len() > u16::MAX as usize {
        return Err(SourceError::TooManyFiles { count: plan.len() });
    }
    Ok(plan)
}

/// Refuses a per-file encoding for a path that is not one of the files `plan` reads: a typo
/// there would otherwise leave the file to detection, unnoticed.
fn check_file_encodings(
    dir: &Path,
    plan: &[(String, FileKind)],
    opts: &SourceOptions,
) -> Result<(), SourceError> {
    for path in opts.file_encodings.keys() {
        if !plan.iter().any(|(rel, _)| rel == path) {
            return Err(SourceError::UnknownEncodingFile {
                path: path.clone(),
                dir: dir.into(),
                files: plan.iter().map(|(rel, _)| rel.clone()).collect(),
            });
        }
    }
    Ok(())
}

/// The names of the `*.csv` files in `dir/lists`, sorted.
fn list_files(dir: &Path) -> Result<Vec<String>, SourceError> {
    let lists = dir.join("lists");
    let entries = match fs::read_dir(&lists) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SourceError::NoListFiles { dir: dir.into() })
        }
        Err(err) => return Err(SourceError::Io { path: lists, err }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| SourceError::Io {
            path: lists.clone(),
            err,
        })?;
        let path = entry.path();
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        // `metadata` follows symlinks, so a linked-in department file counts.
        if is_csv && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    if names.is_empty() {
        return Err(SourceError::NoListFiles { dir: dir.into() });
    }
    names.sort();
    Ok(names)
}

fn read_file(
    dir: &Path,
    rel: String,
    kind: FileKind,
    index: u16,
    ctx: &RowContext<'_>,
    encoding: Encoding,
    sink: &mut dyn SourceSink,
) -> Result<SourceFile, SourceError> {
    let (mut rows, mut rejected) = (0u64, 0u64);
    let path = rel.clone();
    let mut file = read_file_records(dir, rel, kind, encoding, &mut |cols, rec| {
        rows += 1;
        rejected += validate_record(rec, kind, cols, ctx, index, &path, sink) as u64;
        true
    })?;
    (file.rows, file.rejected) = (rows, rejected);
    Ok(file)
}

/// Reads one file: its raw bytes hashed, decoded, split into records, the header mapped,
/// and every non-blank data record handed to `visit` with the column map, in line order,
/// until `visit` returns false (the reader stops there). Validating the records is the
/// visitor's business, so the result's `rows` and `rejected` are left at 0.
pub(crate) fn read_file_records(
    dir: &Path,
    rel: String,
    kind: FileKind,
    encoding: Encoding,
    visit: &mut dyn FnMut(&ColumnMap, &Record<'_>) -> bool,
) -> Result<SourceFile, SourceError> {
    let path: PathBuf = dir.join(&rel);
    let io_err = |err| SourceError::Io {
        path: path.clone(),
        err,
    };
    let file = File::open(&path).map_err(io_err)?;
    // Decided as the file streams, at its first non-ASCII byte: the file is read once.
    let text = Decoded::new(HashingReader::new(file), encoding);
    let mut file = SourceFile {
        path: rel,
        sha256: String::new(),
        bytes: 0,
        rows: 0,
        rejected: 0,
        encoding: text.detected().name(),
        encoding_from: match encoding {
            Encoding::Auto => EncodingFrom::Detected,
            Encoding::Utf8 | Encoding::Gb18030 => EncodingFrom::Declared,
        },
    };
    let text = read_rows(text, kind, &mut file, &path, visit)?;
    file.encoding = text.detected().name();
    (file.bytes, file.sha256) = text.into_inner().finish();
    Ok(file)
}

/// Reads the header and hands every data row of one decoded stream to `visit`; returns the
/// stream so the caller can take the encoding and the digest from it.
fn read_rows<R: Read>(
    stream: Decoded<R>,
    kind: FileKind,
    file: &mut SourceFile,
    path: &Path,
    visit: &mut dyn FnMut(&ColumnMap, &Record<'_>) -> bool,
) -> Result<Decoded<R>, SourceError> {
    let mut reader = RecordReader::new(stream);
    let mut columns: Option<ColumnMap> = None;
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => {
                // What the file is read as is known by now: bytes that are wrong in an
                // encoding come after those that decided it.
                file.encoding = reader.get_ref().detected().name();
                return Err(record_error(e, file, path));
            }
        };
        if is_blank(&rec) {
            continue;
        }
        let Some(cols) = &columns else {
            columns = Some(ColumnMap::from_header(kind, &rec, &file.path)?);
            continue;
        };
        if !visit(cols, &rec) {
            break;
        }
    }
    if columns.is_none() {
        // Not even a header: an export that failed, more often than not. Reading it as no
        // rows would drop, unnoticed, whatever it should have held (for links.csv, the
        // persons organisations' records reach), so it is an error for every kind of file.
        return Err(SourceError::EmptyFile {
            path: file.path.clone(),
            kind,
        });
    }
    Ok(reader.into_inner())
}

/// Validates one data record of a file of `kind` (file number `index`, at `path`) and hands
/// the row, or its reject, to `sink`; true when the row was rejected.
pub(crate) fn validate_record(
    rec: &Record<'_>,
    kind: FileKind,
    cols: &ColumnMap,
    ctx: &RowContext<'_>,
    index: u16,
    path: &str,
    sink: &mut dyn SourceSink,
) -> bool {
    let line = rec.line;
    let outcome = if rec.len() != cols.width {
        Err(rows::Rejected {
            record_id: String::new(),
            reason: format!(
                "wrong number of fields: {}, expected {}",
                rec.len(),
                cols.width
            ),
        })
    } else {
        match kind {
            FileKind::List => rows::list(rec, cols, ctx, index, line).map(|r| sink.list_row(r)),
            FileKind::Repair => rows::repair(rec, cols, index, line).map(|r| sink.repair(r)),
            FileKind::Objection => {
                rows::objection(rec, cols, index, line).map(|r| sink.objection(r))
            }
            FileKind::Link => rows::link(rec, cols, ctx, index, line).map(|r| sink.link(r)),
        }
    };
    match outcome {
        Ok(()) => false,
        Err(rejected) => {
            sink.reject(Reject {
                file: path.to_string(),
                line,
                record_id: rejected.record_id,
                reason: rejected.reason,
            });
            true
        }
    }
}

/// Turns a record reader error into the fatal error that names the file and line.
fn record_error(e: RecordError, file: &SourceFile, path: &Path) -> SourceError {
    match e {
        RecordError::Utf8 { line, field } => SourceError::Encoding {
            path: file.path.clone(),
            line,
            encoding: file.encoding,
            from: file.encoding_from,
            detail: format!("invalid UTF-8 in field {field}"),
        },
        RecordError::UnclosedQuote { line, last_line } => SourceError::UnclosedQuote {
            path: file.path.clone(),
            line,
            last_line,
        },
        RecordError::TooLarge { line } => SourceError::RecordTooLarge {
            path: file.path.clone(),
            line,
            max_bytes: records::MAX_RECORD_BYTES,
            max_fields: records::MAX_RECORD_FIELDS,
        },
        RecordError::Io(err) => {
            match err
                .get_ref()
                .and_then(|e| e.downcast_ref::<MalformedInput>())
            {
                Some(m) => SourceError::Encoding {
                    path: file.path.clone(),
                    line: m.line,
                    encoding: file.encoding,
                    from: file.encoding_from,
                    detail: m.to_string(),
                },
                None => SourceError::Io {
                    path: path.to_path_buf(),
                    err,
                },
            }
        }
    }
}
