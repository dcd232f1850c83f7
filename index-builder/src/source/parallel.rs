//! Reading the files of a source directory on several threads while the sink still sees
//! every row in file order and line order, exactly as [`read_source`](super::read_source)
//! delivers them.
//!
//! Parsing and validating rows (CSV scanning, UTF-8 checks, identifier check characters,
//! dates, SHA-256 of the raw bytes) is most of the reading cost and needs nothing from other
//! files, so worker threads each take the next unread file and validate it into batches.
//! The calling thread hands the batches to the sink file by file. Each file has its own
//! bounded channel, so a worker that runs ahead of the sink waits instead of buffering a
//! whole file: memory stays at a few batches per thread whatever the source size.
//!
//! No deadlock is possible: files are claimed in increasing order, so the file the sink waits
//! on is always held by a worker that is reading it (or has finished it), never by one that is
//! blocked on a later file's channel.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::{
    plan_files, read_file, LinkRow, ListRow, ObjectionRow, Reject, RepairRow, RowContext,
    SourceError, SourceFile, SourceOptions, SourceSink, SourceSummary,
};

/// Rows per batch handed from a worker to the sink.
const BATCH: usize = 4096;
/// Batches a worker may have in flight per file before it waits for the sink.
const BATCHES_IN_FLIGHT: usize = 8;

enum Item {
    List(ListRow),
    Repair(RepairRow),
    Objection(ObjectionRow),
    Link(LinkRow),
    Reject(Reject),
}

enum Msg {
    Rows(Vec<Item>),
    Done(Result<SourceFile, SourceError>),
}

/// Collects a worker's rows into batches and sends them to the sink's thread. When the sink's
/// side has gone (the build stopped at an earlier file's error) rows are dropped.
struct BatchSink {
    tx: SyncSender<Msg>,
    batch: Vec<Item>,
    closed: bool,
}

impl BatchSink {
    fn push(&mut self, item: Item) {
        if self.closed {
            return;
        }
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.batch.is_empty() || self.closed {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if self.tx.send(Msg::Rows(batch)).is_err() {
            self.closed = true;
        }
    }
}

impl SourceSink for BatchSink {
    fn list_row(&mut self, row: ListRow) {
        self.push(Item::List(row));
    }
    fn repair(&mut self, row: RepairRow) {
        self.push(Item::Repair(row));
    }
    fn objection(&mut self, row: ObjectionRow) {
        self.push(Item::Objection(row));
    }
    fn link(&mut self, row: LinkRow) {
        self.push(Item::Link(row));
    }
    fn reject(&mut self, reject: Reject) {
        self.push(Item::Reject(reject));
    }
}

/// [`read_source`](super::read_source) with `threads` worker threads validating files
/// concurrently. The sink receives the same calls in the same order, and the result (summary
/// or the first error in file order) is the same; `threads <= 1` reads on the calling thread.
///
/// After an error, workers finish the file they are on (discarding its rows) before the call
/// returns.
pub fn read_source_parallel(
    dir: &Path,
    list_codes: &[&str],
    opts: &SourceOptions,
    sink: &mut dyn SourceSink,
    threads: usize,
) -> Result<SourceSummary, SourceError> {
    if threads <= 1 {
        return super::read_source(dir, list_codes, opts, sink);
    }
    let plan = plan_files(dir)?;
    let ctx = RowContext::new(list_codes, opts);
    let mut senders = Vec::with_capacity(plan.len());
    let mut receivers = Vec::with_capacity(plan.len());
    for _ in &plan {
        let (tx, rx) = sync_channel::<Msg>(BATCHES_IN_FLIGHT);
        senders.push(Mutex::new(Some(tx)));
        receivers.push(rx);
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let workers = threads.min(plan.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let tx = senders[i]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("each file is claimed once");
                let (rel, kind) = &plan[i];
                let mut batches = BatchSink {
                    tx,
                    batch: Vec::with_capacity(BATCH),
                    closed: false,
                };
                let result = read_file(
                    dir,
                    rel.clone(),
                    *kind,
                    i as u16,
                    &ctx,
                    opts.encoding,
                    &mut batches,
                );
                batches.flush();
                // A send error means the sink's side stopped; nothing is waiting for this.
                let _ = batches.tx.send(Msg::Done(result));
            });
        }
        let result = deliver(receivers, sink);
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    })
}

/// Hands every file's batches to the sink in file order. Dropping the receivers on return
/// releases any worker still sending.
fn deliver(
    receivers: Vec<Receiver<Msg>>,
    sink: &mut dyn SourceSink,
) -> Result<SourceSummary, SourceError> {
    let mut summary = SourceSummary::default();
    for rx in &receivers {
        loop {
            // A closed channel before `Done` means the worker panicked; the scope re-raises
            // that panic when it joins, so the value returned here is never seen.
            let Ok(msg) = rx.recv() else {
                return Err(SourceError::Io {
                    path: "(reader thread)".into(),
                    err: std::io::Error::other("a source reader thread stopped"),
                });
            };
            match msg {
                Msg::Rows(items) => {
                    for item in items {
                        match item {
                            Item::List(r) => sink.list_row(r),
                            Item::Repair(r) => sink.repair(r),
                            Item::Objection(r) => sink.objection(r),
                            Item::Link(r) => sink.link(r),
                            Item::Reject(r) => sink.reject(r),
                        }
                    }
                }
                Msg::Done(Ok(file)) => {
                    summary.files.push(file);
                    break;
                }
                Msg::Done(Err(e)) => return Err(e),
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Day;
    use crate::source::{read_source, Collect, Encoding};

    const HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n";

    fn opts() -> SourceOptions {
        SourceOptions {
            encoding: Encoding::Auto,
            today: Day::parse("2026-01-01").unwrap(),
        }
    }

    /// Several list files with good and bad rows, larger than one batch each.
    fn source(dir: &Path, bad_header_in: Option<&str>) {
        std::fs::create_dir_all(dir.join("lists")).unwrap();
        for (f, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let mut text = if bad_header_in == Some(name) {
                "record_id,oops\n".to_string()
            } else {
                HEADER.to_string()
            };
            for i in 0..(BATCH + 300) {
                let date = if i % 97 == 0 {
                    "2020-02-30"
                } else {
                    "2020-02-03"
                };
                text.push_str(&format!(
                    "R{f}-{i},tax,org,91110000600037341L,名称{i},局,文{i},理由,{date},2020-02-04,,\n"
                ));
            }
            std::fs::write(dir.join(format!("lists/{name}.csv")), text).unwrap();
        }
        std::fs::write(
            dir.join("repairs.csv"),
            "record_id,action,decided_on,authority,doc_no\nR0-1,repair,2021-01-01,局,号\nR1-2,bogus,2021-01-01,局,号\n",
        )
        .unwrap();
    }

    #[test]
    fn same_calls_in_the_same_order_as_the_sequential_reader() {
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), None);
        let mut seq = Collect::default();
        let s1 = read_source(dir.path(), &["tax"], &opts(), &mut seq).unwrap();
        for threads in [2, 3, 8] {
            let mut par = Collect::default();
            let s2 =
                read_source_parallel(dir.path(), &["tax"], &opts(), &mut par, threads).unwrap();
            assert_eq!(s1, s2);
            assert_eq!(seq, par);
        }
        assert!(seq.rejects.len() > 4 && seq.lists.len() > 4 * BATCH);
    }

    #[test]
    fn stops_at_the_first_bad_file_after_delivering_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), Some("c"));
        let mut seq = Collect::default();
        let e1 = read_source(dir.path(), &["tax"], &opts(), &mut seq).unwrap_err();
        let mut par = Collect::default();
        let e2 = read_source_parallel(dir.path(), &["tax"], &opts(), &mut par, 2).unwrap_err();
        assert_eq!(e1.to_string(), e2.to_string());
        assert!(e2.to_string().contains("lists/c.csv"), "{e2}");
        assert_eq!(seq, par);
    }
}
