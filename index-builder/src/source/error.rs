//! Why a source directory could not be read at all.
//!
//! These are the fatal errors: the build stops and the operator fixes the file or the options.
//! A bad *row* is never one of these; it becomes a [`Reject`](super::Reject) and the build goes
//! on.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::decode::EncodingFrom;
use super::header::FileKind;

/// A fatal problem with a source directory or one of its files.
#[derive(Debug)]
pub enum SourceError {
    /// The operating system refused to list or read something.
    Io { path: PathBuf, err: io::Error },
    /// `lists/` is missing or holds no `*.csv` file; a snapshot without lists is meaningless.
    NoListFiles { dir: PathBuf },
    /// More files than the `u16` file index of the rows can name.
    TooManyFiles { count: usize },
    /// The header row does not name exactly the columns SPEC §3 defines for this file.
    Header {
        /// Path relative to the source directory, e.g. `lists/court.csv`.
        path: String,
        missing: Vec<String>,
        unknown: Vec<String>,
        duplicate: Vec<String>,
    },
    /// The file is empty, or holds only blank lines: not even the header row is there.
    EmptyFile { path: String, kind: FileKind },
    /// The bytes are not valid in the encoding the file is being read in.
    Encoding {
        path: String,
        /// The physical line (1-based) holding the bad bytes.
        line: u64,
        /// `utf-8` or `gb18030`: what the file was read as.
        encoding: &'static str,
        /// Whether that encoding was detected or declared.
        from: EncodingFrom,
        /// How the bytes are bad, e.g. "invalid UTF-8 in field 4".
        detail: String,
    },
    /// A per-file encoding names a path that is not one of the source files.
    UnknownEncodingFile {
        /// The path as given.
        path: String,
        /// The source directory.
        dir: PathBuf,
        /// The source files, relative to `dir`.
        files: Vec<String>,
    },
    /// The file ends inside a double-quoted field: its quote, on `line`, is never closed,
    /// so everything from there to the file's last line, `last_line`, was read as one field.
    UnclosedQuote {
        path: String,
        line: u64,
        last_line: u64,
    },
    /// A record longer than the reader accepts, almost always an unclosed quote.
    RecordTooLarge {
        path: String,
        line: u64,
        max_bytes: usize,
        max_fields: usize,
    },
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Io { path, err } => {
                write!(
                    f,
                    "cannot read {}: {err}; check that the path exists and is readable",
                    path.display()
                )
            }
            SourceError::NoListFiles { dir } => write!(
                f,
                "no list files in {}: the source directory must contain a lists/ directory \
                 with at least one *.csv file (SPEC §3)",
                dir.display()
            ),
            SourceError::TooManyFiles { count } => write!(
                f,
                "the source directory has {count} CSV files, more than the {} a build can \
                 index; merge list files (e.g. one per department)",
                u16::MAX
            ),
            SourceError::Header {
                path,
                missing,
                unknown,
                duplicate,
            } => {
                write!(f, "{path}: bad header row:")?;
                if !missing.is_empty() {
                    write!(f, " missing column(s) {};", missing.join(", "))?;
                }
                if !unknown.is_empty() {
                    write!(f, " unknown column(s) {};", unknown.join(", "))?;
                }
                if !duplicate.is_empty() {
                    write!(f, " duplicate column(s) {};", duplicate.join(", "))?;
                }
                write!(
                    f,
                    " the first line must name the columns of SPEC §3 for this file, \
                     in any order"
                )
            }
            SourceError::EmptyFile { path, kind } => {
                write!(
                    f,
                    "{path} is empty: a header row is expected, naming the columns {} (SPEC §3); \
                     a file with no rows holds that header row alone",
                    kind.columns().join(",")
                )?;
                if *kind != FileKind::List {
                    f.write_str(", or leave the file out (it is optional)")?;
                }
                Ok(())
            }
            SourceError::Encoding {
                path,
                line,
                encoding,
                from,
                detail,
            } => {
                write!(f, "{path} line {line}: not valid {encoding}: {detail}; ")?;
                let utf8 = *encoding == "utf-8";
                match (from, utf8) {
                    (EncodingFrom::Detected, true) => f.write_str(
                        "the file was read as utf-8 because its first non-ASCII bytes are \
                         UTF-8. ",
                    )?,
                    (EncodingFrom::Detected, false) => f.write_str(
                        "the file was read as gb18030 because its first non-ASCII bytes are \
                         not UTF-8. ",
                    )?,
                    (EncodingFrom::Declared, _) => write!(f, "the file was declared {encoding}. ")?,
                }
                if utf8 {
                    write!(
                        f,
                        "If it is a GB18030 export, declare it with --file-encoding \
                         {path}=gb18030; otherwise fix the bytes on that line or re-save the \
                         file as UTF-8"
                    )
                } else {
                    write!(
                        f,
                        "If it is UTF-8, declare it with --file-encoding {path}=utf-8; if it is \
                         in another encoding (Big5, Latin-1, …), re-save it as UTF-8; \
                         otherwise fix the bytes on that line"
                    )
                }
            }
            SourceError::UnknownEncodingFile { path, dir, files } => {
                write!(
                    f,
                    "--file-encoding {path:?}: no such source file in {}; give the path \
                     relative to the source directory, one of: ",
                    dir.display()
                )?;
                const SHOWN: usize = 12;
                f.write_str(&files[..files.len().min(SHOWN)].join(", "))?;
                if files.len() > SHOWN {
                    write!(f, " (and {} more)", files.len() - SHOWN)?;
                }
                Ok(())
            }
            SourceError::UnclosedQuote {
                path,
                line,
                last_line,
            } => write!(
                f,
                "{path} line {line}: a double-quoted field begins on this line and is never \
                 closed, so the rest of the file (lines {line} to {last_line}) was read as one \
                 field; look for an unclosed double quote on that line and close it (a quote \
                 inside a quoted field is written twice: \"\")"
            ),
            SourceError::RecordTooLarge {
                path,
                line,
                max_bytes,
                max_fields,
            } => write!(
                f,
                "{path} line {line}: the record starting here is longer than {max_bytes} bytes \
                 or {max_fields} fields; look for an unclosed double quote on that line"
            ),
        }
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SourceError::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}
