//! Reading a source directory on several threads, every file split once and validated by
//! all of them: the engine of [`read_source_batched`](super::read_source_batched).
//!
//! One splitter thread reads the files in order (hashing, decoding, splitting CSV records,
//! mapping the header: cheap and sequential by nature) and cuts the records into batches.
//! Validator threads take the batches in turn and validate and encode their rows, the
//! costly part, which needs nothing from other rows. The calling thread receives the
//! results in batch order, so the sink sees the rows in file order and line order as
//! [`read_source`](super::read_source) delivers them.
//!
//! Before, each worker validated a whole file of its own; as the calling thread takes the
//! files in order and a worker may run only a few batches ahead, the worker on the next
//! file soon waited, and a source whose rows sit mostly in two or three large files (a 10M
//! source: court, market and links.csv hold 80 % of the bytes) was read on one core.
//!
//! Memory stays at a few batches per thread: the queue of jobs and the queue of results
//! awaited in order are both bounded. No deadlock is possible: the result the calling thread
//! waits on belongs to the oldest job, which was queued before every later one, so a
//! validator has taken it or will take it next, and validators never wait on anything but
//! the job queue.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::header::{ColumnMap, FileKind};
use super::parallel::BatchSink;
use super::records::Record;
use super::{
    read_file_records, validate_record, RowContext, SourceError, SourceFile, SourceOptions,
    SourceSummary,
};

/// Records per batch.
pub(super) const BATCH: usize = 4096;
/// Jobs queued for the validators, and results awaited in order, per validator.
const JOBS_PER_THREAD: usize = 2;
const SLOTS_PER_THREAD: usize = 4;

/// Records of one file copied back to back: their text, their fields' end offsets (each
/// record's relative to its own text), and per record where its parts lie and its line.
#[derive(Default)]
struct RawBatch {
    text: String,
    ends: Vec<usize>,
    recs: Vec<RawRec>,
}

struct RawRec {
    text_end: usize,
    ends_end: usize,
    line: u64,
}

impl RawBatch {
    fn push(&mut self, rec: &Record<'_>) {
        let (text, ends) = rec.parts();
        self.text.push_str(text);
        self.ends.extend_from_slice(ends);
        self.recs.push(RawRec {
            text_end: self.text.len(),
            ends_end: self.ends.len(),
            line: rec.line,
        });
    }

    /// The records, as the reader gave them.
    fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let mut at = (0, 0);
        self.recs.iter().map(move |r| {
            let (text_start, ends_start) = at;
            at = (r.text_end, r.ends_end);
            Record::from_parts(
                &self.text[text_start..r.text_end],
                &self.ends[ends_start..r.ends_end],
                r.line,
            )
        })
    }
}

/// A batch to validate, with what validation needs of its file, and where its result goes.
struct Job<B> {
    index: u16,
    kind: FileKind,
    cols: ColumnMap,
    path: std::sync::Arc<str>,
    raw: RawBatch,
    done: SyncSender<Done<B>>,
}

/// A validated batch: the sink's batch and the rows it counted.
struct Done<B> {
    batch: B,
    rows: u64,
    rejected: u64,
}

/// What the calling thread takes next, in order: a batch's result, or a file's end.
enum Slot<B> {
    Batch(Receiver<Done<B>>),
    File(Result<SourceFile, SourceError>),
}

/// Reads the files of `plan` with one splitter and `validators` validator threads (see the
/// module documentation); `consume` receives the batches in order on the calling thread.
pub(super) fn run<S: BatchSink>(
    dir: &Path,
    plan: &[(String, FileKind)],
    ctx: &RowContext<'_>,
    opts: &SourceOptions,
    validators: usize,
    new_sink: &(dyn Fn() -> S + Sync),
    consume: &mut dyn FnMut(S::Batch),
) -> Result<SourceSummary, SourceError> {
    let validators = validators.max(1);
    let (job_tx, job_rx) = sync_channel::<Job<S::Batch>>(JOBS_PER_THREAD * validators);
    let (slot_tx, slot_rx) = sync_channel::<Slot<S::Batch>>(SLOTS_PER_THREAD * validators);
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| {
        scope.spawn(move || split(dir, plan, opts, &job_tx, &slot_tx));
        for _ in 0..validators {
            scope.spawn(|| validate(&job_rx, ctx, new_sink));
        }
        // Returning drops the receiver: a splitter still sending stops, and so, once the
        // splitter has dropped the job queue, do the validators.
        deliver(slot_rx, consume)
    })
}

/// The splitter: every file in order, cut into jobs; then the file's end (or its error,
/// after which nothing more is read). Stops when the calling thread has gone.
fn split<B>(
    dir: &Path,
    plan: &[(String, FileKind)],
    opts: &SourceOptions,
    jobs: &SyncSender<Job<B>>,
    slots: &SyncSender<Slot<B>>,
) {
    for (i, (rel, kind)) in plan.iter().enumerate() {
        let path: std::sync::Arc<str> = rel.as_str().into();
        let mut raw = RawBatch::default();
        let mut cols: Option<ColumnMap> = None;
        let mut live = true;
        let send = |raw: &mut RawBatch, cols: &ColumnMap| {
            let (done, result) = sync_channel(1);
            let job = Job {
                index: i as u16,
                kind: *kind,
                cols: cols.clone(),
                path: path.clone(),
                raw: std::mem::take(raw),
                done,
            };
            slots.send(Slot::Batch(result)).is_ok() && jobs.send(job).is_ok()
        };
        let encoding = opts.encoding_of(rel);
        let result = read_file_records(dir, rel.clone(), *kind, encoding, &mut |c, rec| {
            let c = cols.get_or_insert_with(|| c.clone());
            raw.push(rec);
            if raw.recs.len() >= BATCH {
                live = send(&mut raw, c);
            }
            live
        });
        if !live {
            return;
        }
        if let Some(c) = &cols {
            if !raw.recs.is_empty() && !send(&mut raw, c) {
                return;
            }
        }
        let failed = result.is_err();
        if slots.send(Slot::File(result)).is_err() || failed {
            return;
        }
    }
}

/// A validator: takes jobs until the splitter is done, each validated into a batch of its
/// own sink.
fn validate<S: BatchSink>(
    jobs: &Mutex<Receiver<Job<S::Batch>>>,
    ctx: &RowContext<'_>,
    new_sink: &(dyn Fn() -> S + Sync),
) {
    let _drain = DrainOnPanic(jobs);
    let mut sink = new_sink();
    loop {
        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else {
            return;
        };
        let (mut rows, mut rejected) = (0u64, 0u64);
        for rec in job.raw.records() {
            rows += 1;
            rejected += validate_record(
                &rec, job.kind, &job.cols, ctx, job.index, &job.path, &mut sink,
            ) as u64;
        }
        let batch = sink.take();
        // The calling thread has gone when this fails; the splitter stops soon after.
        let _ = job.done.send(Done {
            batch,
            rows,
            rejected,
        });
    }
}

/// Keeps a panicking validator taking jobs, and dropping them, until the splitter stops. If
/// every validator died, a splitter blocked on the full job queue would otherwise wait for
/// ever, and the scope with it. Each dropped job's result reads as failed, so the calling
/// thread returns at the first of them; its queue of results then closes, which stops the
/// splitter, which closes the job queue, which ends this loop.
struct DrainOnPanic<'a, B>(&'a Mutex<Receiver<Job<B>>>);

impl<B> Drop for DrainOnPanic<'_, B> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let jobs = self.0.lock().unwrap_or_else(|e| e.into_inner());
            while jobs.recv().is_ok() {}
        }
    }
}

/// Hands the batches to `consume` in order and counts each file's rows into its summary.
fn deliver<B>(
    slots: Receiver<Slot<B>>,
    consume: &mut dyn FnMut(B),
) -> Result<SourceSummary, SourceError> {
    let mut summary = SourceSummary::default();
    let (mut rows, mut rejected) = (0u64, 0u64);
    // The queue ends when the splitter is done: after the last file, at an error (sent
    // here first), or because it panicked, which the scope raises when it joins.
    for slot in slots {
        match slot {
            Slot::Batch(result) => {
                // A result channel closed without a result means its validator panicked;
                // the scope re-raises that panic, so this error is never seen.
                let Ok(done) = result.recv() else {
                    return Err(SourceError::Io {
                        path: "(reader thread)".into(),
                        err: std::io::Error::other("a source reader thread stopped"),
                    });
                };
                rows += done.rows;
                rejected += done.rejected;
                consume(done.batch);
            }
            Slot::File(Ok(mut file)) => {
                (file.rows, file.rejected) = (rows, rejected);
                (rows, rejected) = (0, 0);
                summary.files.push(file);
            }
            Slot::File(Err(e)) => return Err(e),
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::source::{read_source, read_source_parallel, Collect, Encoding, SourceOptions};
    use crate::source::{LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceSink};

    const HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

    fn opts(encoding: Encoding) -> SourceOptions {
        SourceOptions {
            encoding,
            file_encodings: Default::default(),
            today: Day::parse("2026-01-01").unwrap(),
        }
    }

    /// One list file of several batches; `bad_utf8_at` puts a byte that is not UTF-8 in
    /// that row.
    fn source(dir: &Path, rows: usize, bad_utf8_at: Option<usize>) {
        std::fs::create_dir_all(dir.join("lists")).unwrap();
        let mut text = HEADER.as_bytes().to_vec();
        for i in 0..rows {
            let name = if Some(i) == bad_utf8_at {
                b"\xff\xfe".to_vec()
            } else {
                format!("名称{i}").into_bytes()
            };
            text.extend_from_slice(format!("R-{i},tax,org,91110000600037341L,").as_bytes());
            text.extend_from_slice(&name);
            // Every 50th row spans two lines (a quoted newline), so line numbers skip.
            let reason = if i % 50 == 0 {
                "\"two\nlines\""
            } else {
                "理由"
            };
            text.extend_from_slice(
                format!(",局,文{i},{reason},2020-02-03,2020-02-04,,\n").as_bytes(),
            );
        }
        std::fs::write(dir.join("lists/a.csv"), text).unwrap();
    }

    #[test]
    fn a_batch_gives_back_the_records_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), 120, None);
        let mut want: Vec<(Vec<String>, u64)> = Vec::new();
        let mut raw = RawBatch::default();
        read_file_records(
            dir.path(),
            "lists/a.csv".into(),
            FileKind::List,
            Encoding::Auto,
            &mut |_, rec| {
                want.push((rec.iter().map(str::to_string).collect(), rec.line));
                raw.push(rec);
                true
            },
        )
        .unwrap();
        let got: Vec<(Vec<String>, u64)> = raw
            .records()
            .map(|r| (r.iter().map(str::to_string).collect(), r.line))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 120);
        assert!(got.iter().any(|(f, _)| f[7] == "two\nlines"));
    }

    #[test]
    fn an_error_in_a_later_batch_is_the_sequential_readers_error() {
        // The bad row lies two batches in: the batches before it are delivered, then the
        // error, as the one-thread reader reports it; nothing hangs.
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), 3 * BATCH, Some(2 * BATCH + 7));
        let mut seq = Collect::default();
        let e1 = read_source(dir.path(), &["tax"], &opts(Encoding::Utf8), &mut seq).unwrap_err();
        let mut par = Collect::default();
        let e2 = read_source_parallel(dir.path(), &["tax"], &opts(Encoding::Utf8), &mut par, 2)
            .unwrap_err();
        assert_eq!(e1.to_string(), e2.to_string());
        assert!(e2.to_string().contains("lists/a.csv"), "{e2}");
        assert_eq!(seq.lists.len(), par.lists.len());
        assert!(par.lists.len() >= 2 * BATCH, "{}", par.lists.len());
    }

    /// A sink whose validator panics at a given row.
    struct Panicky(Collect, usize);

    impl SourceSink for Panicky {
        fn list_row(&mut self, row: ListRow) {
            if row.line as usize >= self.1 {
                panic!("validator fails at line {}", row.line);
            }
            self.0.list_row(row);
        }
        fn repair(&mut self, row: RepairRow) {
            self.0.repair(row);
        }
        fn objection(&mut self, row: ObjectionRow) {
            self.0.objection(row);
        }
        fn link(&mut self, row: LinkRow) {
            self.0.link(row);
        }
        fn reject(&mut self, reject: Reject) {
            self.0.reject(reject);
        }
    }

    impl BatchSink for Panicky {
        type Batch = usize;
        fn rows(&self) -> usize {
            self.0.lists.len() + self.0.rejects.len()
        }
        fn take(&mut self) -> usize {
            let n = self.rows();
            self.0 = Collect::default();
            n
        }
    }

    #[test]
    fn a_panicking_validator_fails_the_read_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), 3 * BATCH, None);
        let result = std::panic::catch_unwind(|| {
            let mut rows = 0usize;
            let _ = crate::source::read_source_batched(
                dir.path(),
                &["tax"],
                &opts(Encoding::Auto),
                2,
                &|| Panicky(Collect::default(), BATCH + 100),
                &mut |n| rows += n,
            );
        });
        assert!(result.is_err(), "the validator's panic reaches the caller");
    }

    #[test]
    fn validators_that_all_panic_fail_the_read_instead_of_hanging() {
        // Every validator dies on its first batch while the splitter still has many batches
        // to queue: the splitter must not be left blocked on a job queue nobody takes from.
        // Run on a thread so that a hang fails the test instead of stalling the suite.
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), 40 * BATCH, None);
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                let _ = crate::source::read_source_batched(
                    &path,
                    &["tax"],
                    &opts(Encoding::Auto),
                    2,
                    &|| Panicky(Collect::default(), 0),
                    &mut |_| {},
                );
            });
            let _ = tx.send(result.is_err());
        });
        let panicked = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the read returned (no hang)");
        assert!(panicked, "the validators' panic reaches the caller");
    }
}
