//! `credgate screen FILE (--index ROOT | --server URL [--token T | --token-file F]) --scenario S [--as-of D]
//! [--out FILE] [--format csv|ndjson|xlsx] [--id-column NAME] [--lenient] [--full-ids]`: batch
//! screening of a supplier list. See [`AFTER_HELP`] for the output and the exit codes.

use std::path::PathBuf;

use credgate_index::date::Day;
use credgate_index::ids::Mode;
use credgate_index::source::Encoding;

use super::check::{parse_as_of, parse_scenario, Invalid};
use crate::batch::{self, BatchError, Format, Job, Local, Summary, CHUNK_ROWS};
use crate::engine::{Engine, Outcome};

pub const AFTER_HELP: &str = "\
Input: CSV (UTF-8 or GB18030, a BOM is fine) or .xlsx (first worksheet). The identifier
column, as POST /v1/screen picks it: the one named with --id-column, else the one named id,
else the one with the most specific of 统一社会信用代码, 社会信用代码, 信用代码, uscc,
credit_code, 身份证号码, 身份证号, 公民身份号码, 证件号码, 证件号, subject_id (case and spaces
ignored), else the first column. The first row is the header when it has one of those
names (or --id-column is given) or none of its cells looks like an identifier (15 to 18
letters and digits, at least 6 of them digits); otherwise the list has no header: the
first row is data, the identifier is the first column and the others are called column2,
column3, .... Rows as POST /v1/screen counts them: a line of only white space
(or a worksheet row of blank cells) is skipped and not numbered; every other line is a row
with a result: an empty identifier is invalid_id, a line that is not valid CSV (a quote
left open) or not UTF-8 (in a list read as UTF-8) invalid_row, a row without the
identifier's column missing_id. A list is read as GB18030 when its first non-ASCII bytes
are not UTF-8 (wherever they are, in a file or a pipe), unless --encoding says.

Output (--out FILE or stdout; format from --format, else the extension of --out, else CSV),
the rows POST /v1/screen writes for the same list: CSV and xlsx give the row number (row,
counted like NDJSON's \"row\"), the input columns, then decision, heightened, nonconforming,
lists, measures (codes joined with ';') and error (code: message). NDJSON rows are
{\"row\",\"input\",\"id\",\"id_type\",\"decision\",...,\"columns\"}. People's numbers are
masked (410102********0211) in the identifier, in the other columns and in messages, as the
server masks them, unless --full-ids is given (with --server, \"id\" is then what the server
shows the token). An invalid identifier gets an error in its row and never stops the run.

A summary goes to stderr at the end; a progress bar too when stderr is a terminal.

Exit codes:
  0  every row screened; none denied, none invalid
  1  every row screened; at least one deny or invalid identifier (check the output)
  2  usage or input/output problem: bad scenario or date, unreadable file, no column named
     by --id-column, unwritable output (partial output may have been written)
  3  the snapshot could not be opened, or the server failed";

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["index", "server"])))]
pub struct Args {
    /// The supplier list: .csv or .xlsx.
    pub file: PathBuf,
    /// Screen offline against this snapshot root (or generation directory).
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Screen through a credgate server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: Option<String>,
    /// Bearer token for --server. A token on the command line is visible to every user of
    /// the machine (`ps`): prefer --token-file or the CREDGATE_TOKEN environment variable,
    /// which is used when neither option is given.
    #[arg(long, requires = "server", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the bearer token for --server from this file (its first line; a file written
    /// by `umask 077; echo TOKEN > FILE`, say).
    #[arg(long, requires = "server")]
    pub token_file: Option<PathBuf>,
    /// licensing, procurement, fiscal_funds, market_entry, honors, finance, transport,
    /// consumption, inspection or public_services.
    #[arg(long)]
    pub scenario: String,
    /// The date to decide for (YYYY-MM-DD); default today in China Standard Time.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Write results here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// csv, ndjson or xlsx (xlsx needs --out).
    #[arg(long)]
    pub format: Option<String>,
    /// The header of the identifier column, when it is not the one found by name (or the
    /// first).
    #[arg(long)]
    pub id_column: Option<String>,
    /// Accept organisation codes that fail only the MOD 31 check (pilot-area codes); with
    /// --server, asks the server for `lenient=true`.
    #[arg(long)]
    pub lenient: bool,
    /// Show people's identity numbers in full, in `id` and in everything echoed from the
    /// list (the operator is entitled to them); with --server, `id` is as the server shows
    /// it to the token.
    #[arg(long)]
    pub full_ids: bool,
    /// The encoding of a CSV list: auto (UTF-8 when its first non-ASCII bytes are, else
    /// GB18030), utf-8 or gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Rows per chunk (memory in use grows with it).
    #[arg(long, default_value_t = CHUNK_ROWS, hide = true)]
    pub chunk_rows: usize,
    /// Screening threads for --index (default: available cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Screen each chunk in identifier order instead of input order (for measuring: on a
    /// 10M-record snapshot it did not pay, see benches/screen.sh).
    #[arg(long, hide = true)]
    pub sort_ids: bool,
}

/// The exit code of a finished run: 1 when anything needs a person's attention.
pub fn exit_code(s: &Summary) -> i32 {
    if s.count(Outcome::Deny) > 0 || s.invalid > 0 {
        1
    } else {
        0
    }
}

pub fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    match screen(args) {
        Ok(summary) => {
            eprintln!("credgate screen: {summary}");
            Ok(std::process::ExitCode::from(exit_code(&summary) as u8))
        }
        Err(e) => {
            eprintln!("credgate screen: {e}");
            let code = match e {
                Failure::Usage(_) => 2,
                Failure::Batch(b) => b.exit_code(),
            };
            Ok(std::process::ExitCode::from(code as u8))
        }
    }
}

/// The token for `--server`: `--token`, else the first line of `--token-file`, else
/// `CREDGATE_TOKEN` (none: the server must serve anonymously).
fn token(given: Option<String>, file: Option<&std::path::Path>) -> Result<Option<String>, Invalid> {
    if let Some(t) = given {
        return Ok(Some(t));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Invalid(format!("--token-file {}: {e}", path.display())))?;
        let line = text.lines().next().unwrap_or("").trim();
        if line.is_empty() {
            return Err(Invalid(format!(
                "--token-file {}: its first line is empty; write the token there",
                path.display()
            )));
        }
        return Ok(Some(line.to_string()));
    }
    Ok(std::env::var("CREDGATE_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

enum Failure {
    Usage(Invalid),
    Batch(BatchError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(e) => write!(f, "{e}"),
            Failure::Batch(e) => write!(f, "{e}"),
        }
    }
}

impl From<Invalid> for Failure {
    fn from(e: Invalid) -> Self {
        Failure::Usage(e)
    }
}

impl From<BatchError> for Failure {
    fn from(e: BatchError) -> Self {
        Failure::Batch(e)
    }
}

fn screen(args: Args) -> Result<Summary, Failure> {
    let today = Day::today_cst();
    let scenario = parse_scenario(&args.scenario)?;
    let as_of = parse_as_of(args.as_of.as_deref(), today)?;
    let mode = if args.lenient {
        Mode::Lenient
    } else {
        Mode::Strict
    };
    let format = match (&args.format, &args.out) {
        (Some(f), _) => Format::parse(f).ok_or_else(|| {
            Invalid(format!(
                "unknown format {f:?}; expected csv, ndjson or xlsx"
            ))
        })?,
        (None, Some(out)) => Format::of_path(out),
        (None, None) => Format::Csv,
    };
    if format == Format::Xlsx && args.out.is_none() {
        return Err(Invalid(
            "--format xlsx needs --out FILE.xlsx (a workbook cannot go to stdout)".into(),
        )
        .into());
    }
    let encoding = Encoding::parse(&args.encoding).ok_or_else(|| {
        Invalid(format!(
            "unknown encoding {:?}; expected auto, utf-8 or gb18030",
            args.encoding
        ))
    })?;
    let job = Job {
        encoding,
        input: args.file,
        id_column: args.id_column,
        out: args.out,
        format,
        chunk_rows: args.chunk_rows,
        progress: batch::stderr_is_terminal(),
        full_ids: args.full_ids,
    };
    if let Some(root) = &args.index {
        let engine = Engine::open_checked(root).map_err(|err| BatchError::Snapshot {
            path: root.clone(),
            err,
        })?;
        let mut local = Local::new(&engine, scenario, as_of, today, mode);
        if let Some(w) = args.workers {
            local.workers = w.max(1);
        }
        local.sorted = args.sort_ids;
        local.full_ids = args.full_ids;
        Ok(batch::run(&job, &mut local)?)
    } else {
        let url = args
            .server
            .as_deref()
            .expect("clap requires --index or --server");
        let token = token(args.token, args.token_file.as_deref())?;
        let mut remote = batch::remote::Remote::new(url, token, scenario, as_of, mode)?;
        Ok(batch::run(&job, &mut remote)?)
    }
}
