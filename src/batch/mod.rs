//! Batch screening of a supplier list (`credgate screen`): read the list in chunks, screen
//! each chunk, write the results in input order, next chunk.
//!
//! Three stages run at once on their own threads, joined by bounded channels so that at
//! most a handful of chunks exist at any time and memory stays flat on any file size:
//!
//! ```text
//! reader (CSV/xlsx → Chunk) ─▶ screener (Chunk → results, on `workers` threads) ─▶ writer
//!        ▲                                                                          │
//!        └──────────────────────── emptied chunks come back ◀──────────────────────┘
//! ```
//!
//! The screener is either the engine in this process ([`Local`]) or a credgate server's
//! `POST /v1/screen` ([`remote::Remote`]). For CSV and NDJSON output the local screener
//! writes the rows itself, on its worker threads, from the engine's lean path
//! ([`crate::engine::verdict`]), and the writer only copies bytes; otherwise a screener
//! produces one [`ScreenResult`] per row and the writer writes them ([`render`] writes the
//! same bytes either way).

pub mod echo;
pub mod error;
pub mod input;
pub mod local;
pub mod output;
pub mod records;
pub mod remote;
pub mod render;
mod workbook;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::BatchError;
pub use input::{Chunk, InputKind};
pub use local::Local;
pub use output::{Format, RowLayout};

use crate::engine::screen::ScreenResult;
use crate::engine::Outcome;

/// Rows per chunk: large enough that per-chunk costs (thread hand-off, a sort, an HTTP
/// request) vanish, small enough that a few chunks in flight stay a few tens of megabytes.
pub const CHUNK_ROWS: usize = 64 * 1024;

/// Turns one chunk of rows into one result per row, in row order.
pub trait Screener {
    fn screen(
        &mut self,
        chunk: &Chunk,
        id_col: usize,
        out: &mut Vec<ScreenResult>,
    ) -> Result<(), BatchError>;

    /// Screens the chunk and writes its rows in `layout` straight into `out` (several
    /// threads can write their parts at once, and no result is built per row). Returns
    /// false when this screener does not do that; the pipeline then calls
    /// [`Screener::screen`] and the writer writes the results.
    fn screen_rendered(
        &mut self,
        _chunk: &Chunk,
        _layout: &RowLayout,
        _out: &mut Rendered,
    ) -> Result<bool, BatchError> {
        Ok(false)
    }
}

/// A chunk's rows written out by a screener: consecutive parts (one per thread), and the
/// counts of what they hold.
#[derive(Default)]
pub struct Rendered {
    pub parts: Vec<Vec<u8>>,
    pub counts: Summary,
}

/// What comes out of screening one chunk: results, or rendered rows.
#[derive(Default)]
pub struct Screened {
    pub results: Vec<ScreenResult>,
    pub rendered: Rendered,
    /// Whether `rendered` holds this chunk's rows (else `results` does).
    pub is_rendered: bool,
}

/// Where the list comes from and where the results go.
#[derive(Clone, Debug)]
pub struct Job {
    pub input: PathBuf,
    /// The identifier column's header (`--id-column`); found by name when `None`.
    pub id_column: Option<String>,
    /// `None` writes to stdout.
    pub out: Option<PathBuf>,
    pub format: Format,
    pub chunk_rows: usize,
    /// Draw a progress line on stderr (only sensible when stderr is a terminal).
    pub progress: bool,
    /// Echo people's numbers in full (`--full-ids`); else they are masked as the server
    /// masks them for a key without `personal_full`.
    pub full_ids: bool,
    /// The encoding of a CSV list (`--encoding`): by its first non-ASCII bytes, or declared.
    pub encoding: credgate_index::source::Encoding,
}

/// What a run did, for the summary line and the exit code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub rows: u64,
    /// Indexed like [`Outcome::ALL`]: deny, review, fast_track, clear.
    pub by_decision: [u64; 4],
    pub invalid: u64,
    /// How many of the invalid rows were CSV records that are not UTF-8.
    pub not_utf8: u64,
    pub seconds: f64,
}

impl Summary {
    pub fn count(&self, o: Outcome) -> u64 {
        self.by_decision[Outcome::ALL.iter().position(|x| *x == o).expect("in ALL")]
    }

    /// Adds the counts of another part of the run.
    pub fn merge(&mut self, other: &Summary) {
        self.rows += other.rows;
        self.invalid += other.invalid;
        self.not_utf8 += other.not_utf8;
        for (a, b) in self.by_decision.iter_mut().zip(other.by_decision) {
            *a += b;
        }
    }

    /// Counts one row: its decision, or `None` for an invalid one.
    pub fn count_row(&mut self, decision: Option<Outcome>) {
        self.rows += 1;
        match decision {
            Some(d) => {
                self.by_decision[Outcome::ALL.iter().position(|x| *x == d).expect("in ALL")] += 1
            }
            None => self.invalid += 1,
        }
    }

    fn add(&mut self, results: &[ScreenResult]) {
        self.rows += results.len() as u64;
        for r in results {
            match r.decision {
                Some(d) => {
                    self.by_decision[Outcome::ALL.iter().position(|x| *x == d).expect("in ALL")] +=
                        1
                }
                None => self.invalid += 1,
            }
        }
    }

    pub fn ids_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows:", self.rows)?;
        for (o, n) in Outcome::ALL.iter().zip(self.by_decision) {
            write!(f, " {} {n},", o.as_str())?;
        }
        write!(
            f,
            " invalid {}; {:.2} s, {:.0} IDs/s",
            self.invalid,
            self.seconds,
            self.ids_per_second()
        )?;
        if self.not_utf8 > 0 {
            write!(
                f,
                "; {} of the invalid rows are not UTF-8: save the list as UTF-8 or GB18030 \
                 throughout (a GB18030 list taken for UTF-8 by its first non-ASCII bytes can be \
                 declared with --encoding gb18030)",
                self.not_utf8
            )?;
        }
        Ok(())
    }
}

/// Screens the whole list of `job` with `screener`; the output is complete when this
/// returns `Ok`.
///
/// An `--out` file appears only whole: the results go to a hidden `.NAME.PID.partial`
/// beside it, renamed over `NAME` once everything is written, and removed when the run
/// fails. A failed run therefore leaves an earlier `NAME` as it was, and a killed one
/// leaves only the partial file. An `--out` that is the input file itself is refused. An
/// `--out` that exists and is not a plain file (`/dev/null`, a pipe, a symbolic link) is
/// written to directly: renaming over it would replace the device, pipe or link itself.
pub fn run(job: &Job, screener: &mut dyn Screener) -> Result<Summary, BatchError> {
    let Some(dest) = &job.out else {
        return run_to(job, None, screener);
    };
    let refuse = |detail: String| BatchError::Output {
        path: Some(dest.clone()),
        detail,
    };
    if same_file(&job.input, dest) {
        return Err(refuse(
            "it is the input file; write the results somewhere else".into(),
        ));
    }
    if std::fs::symlink_metadata(dest).is_ok_and(|m| !m.file_type().is_file()) {
        return run_to(job, Some(dest), screener);
    }
    let name = dest
        .file_name()
        .ok_or_else(|| refuse("not a file name".into()))?;
    let partial = dest.with_file_name(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    match run_to(job, Some(&partial), screener) {
        Ok(summary) => {
            std::fs::rename(&partial, dest).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                refuse(format!("moving the finished results into place: {e}"))
            })?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            // Errors about the partial file are errors about the destination.
            Err(match e {
                BatchError::Output {
                    path: Some(p),
                    detail,
                } if p == partial => refuse(detail),
                other => other,
            })
        }
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
        false
    }
    #[cfg(not(unix))]
    {
        matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(a), Ok(b)) if a == b
        )
    }
}

/// [`run`], writing to `out` (`None`: stdout).
fn run_to(
    job: &Job,
    out: Option<&std::path::Path>,
    screener: &mut dyn Screener,
) -> Result<Summary, BatchError> {
    let started = Instant::now();
    let kind = InputKind::of(&job.input);
    let bytes_read = Arc::new(AtomicU64::new(0));
    let (mut reader, first) =
        input::RowReader::open(&job.input, kind, job.encoding, bytes_read.clone())?;
    let (headers, id_col) = input::layout(first, job.id_column.as_deref(), &mut reader)?;
    let mask = !job.full_ids;
    let mut output = output::Output::create(job.format, out, &headers, id_col, mask)?;
    // The screener writes rows itself for CSV and NDJSON, in the output's layout.
    let layout = output.layout().cloned();
    let total_bytes = match kind {
        InputKind::Csv => std::fs::metadata(&job.input).map(|m| m.len()).ok(),
        InputKind::Xlsx => None,
    };
    let chunk_rows = job.chunk_rows.max(1);
    let progress = job.progress.then(|| Progress::new(total_bytes, bytes_read));

    // Two chunks queued ahead of the screener and two behind it bound the memory in use:
    // with the one being filled, the one being screened and the one being written, seven
    // at most ever exist.
    const CHUNKS: usize = 7;
    let (feed_tx, feed_rx) = sync_channel::<Result<(Chunk, Screened), BatchError>>(2);
    let (done_tx, done_rx) = sync_channel::<(Chunk, Screened)>(2);
    let (free_tx, free_rx) = channel::<(Chunk, Screened)>();

    std::thread::scope(|s| {
        s.spawn(move || {
            let mut next_row = 1u64;
            let mut made = 0;
            loop {
                // Emptied chunks and their output buffers come back to be filled again. Once
                // as many exist as the stages can hold, the reader waits for one: fresh ones
                // would grow their buffers from nothing, page by page, every time.
                let (mut chunk, screened) = match free_rx.try_recv() {
                    Ok(free) => free,
                    Err(_) if made < CHUNKS => {
                        made += 1;
                        Default::default()
                    }
                    Err(_) => match free_rx.recv() {
                        Ok(free) => free,
                        // The writer stopped; it says why.
                        Err(_) => return,
                    },
                };
                let filled = reader.fill(&mut chunk, next_row, chunk_rows);
                let stop = !matches!(filled, Ok(())) || chunk.is_empty();
                if stop {
                    if let Err(e) = filled {
                        let _ = feed_tx.send(Err(e));
                    }
                    return;
                }
                next_row += chunk.len() as u64;
                if feed_tx.send(Ok((chunk, screened))).is_err() {
                    return;
                }
            }
        });
        let writer = s.spawn(move || -> Result<Summary, BatchError> {
            let mut summary = Summary::default();
            let mut progress = progress;
            for (chunk, mut screened) in done_rx {
                summary.not_utf8 += chunk.not_utf8;
                if screened.is_rendered {
                    output.write_rendered(&screened.rendered)?;
                    summary.merge(&screened.rendered.counts);
                } else {
                    output.write_chunk(&chunk, &screened.results)?;
                    summary.add(&screened.results);
                }
                if let Some(p) = &mut progress {
                    p.draw(summary.rows, started.elapsed(), false);
                }
                screened.results.clear();
                let _ = free_tx.send((chunk, screened));
            }
            output.finish()?;
            if let Some(p) = &mut progress {
                p.draw(summary.rows, started.elapsed(), true);
            }
            Ok(summary)
        });

        let screened = (|| {
            for fed in feed_rx {
                let (chunk, mut screened) = fed?;
                screened.is_rendered = match &layout {
                    Some(l) => screener.screen_rendered(&chunk, l, &mut screened.rendered)?,
                    None => false,
                };
                if !screened.is_rendered {
                    screener.screen(&chunk, id_col, &mut screened.results)?;
                    debug_assert_eq!(screened.results.len(), chunk.len());
                }
                if done_tx.send((chunk, screened)).is_err() {
                    // The writer stopped; its error is the one to report.
                    break;
                }
            }
            Ok(())
        })();
        drop(done_tx);
        let written = writer.join().expect("writer thread panicked");
        screened?;
        let mut summary = written?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    })
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
struct Progress {
    total_bytes: Option<u64>,
    bytes_read: Arc<AtomicU64>,
    last: Option<Instant>,
}

impl Progress {
    fn new(total_bytes: Option<u64>, bytes_read: Arc<AtomicU64>) -> Progress {
        Progress {
            total_bytes,
            bytes_read,
            last: None,
        }
    }

    fn draw(&mut self, rows: u64, elapsed: Duration, last: bool) {
        let now = Instant::now();
        if !last
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        let rate = rows as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut line = String::from("\r");
        if let Some(total) = self.total_bytes.filter(|t| *t > 0) {
            let done = if last {
                total
            } else {
                self.bytes_read.load(Ordering::Relaxed).min(total)
            };
            let width = 30;
            let filled = (done as f64 / total as f64 * width as f64) as usize;
            line.push('[');
            line.push_str(&"#".repeat(filled));
            line.push_str(&" ".repeat(width - filled));
            line.push_str(&format!("] {:>3}% ", done * 100 / total));
        }
        line.push_str(&format!(
            "{rows} rows, {rate:.0} IDs/s, {:.1} s",
            elapsed.as_secs_f64()
        ));
        if last {
            line.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
}

/// Whether a progress bar makes sense: only for a person watching a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
