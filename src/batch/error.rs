//! What can stop a batch run. A bad identifier never does: it becomes an `invalid_id` error
//! in its row's result.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::engine::EngineError;

#[derive(Debug)]
pub enum BatchError {
    /// The input file cannot be opened or read.
    Io { path: PathBuf, err: io::Error },
    /// The input has no header row.
    Empty { path: PathBuf },
    /// Bytes that are not text in the file's (sniffed) encoding: GB18030 (a record that is
    /// not UTF-8 is a row answered `invalid_row`, not the end of the run).
    Encoding {
        path: PathBuf,
        line: u64,
        encoding: &'static str,
        detail: String,
    },
    /// A CSV record too long to be a row (a quote left open swallowing the rest of the file).
    Csv {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    /// The workbook cannot be read.
    Xlsx { path: PathBuf, detail: String },
    /// No header is the column `--id-column` names.
    NoIdColumn {
        wanted: String,
        headers: Vec<String>,
    },
    /// Writing the results failed (`path` `None`: stdout or an already named file).
    Output {
        path: Option<PathBuf>,
        detail: String,
    },
    /// The snapshot cannot be opened.
    Snapshot { path: PathBuf, err: EngineError },
    /// The server cannot be reached or answered something other than results.
    Remote { url: String, detail: String },
}

impl BatchError {
    /// The process exit code for this failure: 3 when the snapshot or the server failed,
    /// 2 for everything about the input, the output or the arguments.
    pub fn exit_code(&self) -> i32 {
        match self {
            BatchError::Snapshot { .. } | BatchError::Remote { .. } => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            BatchError::Empty { path } => write!(
                f,
                "{}: no header row; the first non-empty row must name the columns, one of them the identifier",
                path.display()
            ),
            BatchError::Encoding { path, line, encoding, detail } => {
                write!(
                    f,
                    "{}:{line}: not valid {encoding} text ({detail}); it was read as {encoding} \
                     by its first non-ASCII bytes; save the file as UTF-8 or GB18030 throughout",
                    path.display()
                )
            }
            BatchError::Csv { path, line, detail } => {
                write!(f, "{}:{line}: {detail}", path.display())
            }
            BatchError::Xlsx { path, detail } => write!(
                f,
                "{}: cannot read the workbook ({detail}); save it as .xlsx or export it as CSV",
                path.display()
            ),
            BatchError::NoIdColumn { wanted, headers } => {
                let list = headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ");
                write!(f, "no column named {wanted:?}; the header has: {list}")
            }
            BatchError::Output { path: Some(p), detail } => {
                write!(f, "writing {}: {detail}", p.display())
            }
            BatchError::Output { path: None, detail } => write!(f, "writing results: {detail}"),
            BatchError::Snapshot { path, err } => {
                write!(f, "opening snapshot {}: {err}", path.display())
            }
            BatchError::Remote { url, detail } => write!(f, "server {url}: {detail}"),
        }
    }
}

impl std::error::Error for BatchError {}
