//! Reading the files of a source directory on several threads while the sink still sees
//! every row in file order and line order, exactly as [`read_source`](super::read_source)
//! delivers them (the threads' work is split by `pipeline`: one thread splits the files
//! into records, the others validate batches of them).

use std::path::Path;

use super::pipeline::{self, BATCH};
use super::{
    check_file_encodings, plan_files, LinkRow, ListRow, ObjectionRow, Reject, RepairRow,
    RowContext, SourceError, SourceOptions, SourceSink, SourceSummary,
};

/// A sink that runs on a reader thread and turns rows into batches for the calling thread.
///
/// Whatever work on a row needs nothing from other rows (encoding it for a sort, say) can
/// be done here, in parallel, instead of on the one thread that receives the rows in order.
pub trait BatchSink: SourceSink + Send {
    type Batch: Send;
    /// Rows (accepted or rejected) received since the last [`BatchSink::take`].
    fn rows(&self) -> usize;
    /// The rows received since the last call, as one batch.
    fn take(&mut self) -> Self::Batch;
}

/// Forwards to a [`BatchSink`] on the calling thread, handing each full batch (and the last
/// one) to `consume`: the one-thread form of [`read_source_batched`].
struct Inline<'c, S: BatchSink> {
    inner: S,
    consume: &'c mut dyn FnMut(S::Batch),
}

impl<S: BatchSink> Inline<'_, S> {
    fn pushed(&mut self) {
        if self.inner.rows() >= BATCH {
            (self.consume)(self.inner.take());
        }
    }
}

impl<S: BatchSink> SourceSink for Inline<'_, S> {
    fn list_row(&mut self, row: ListRow) {
        self.inner.list_row(row);
        self.pushed();
    }
    fn repair(&mut self, row: RepairRow) {
        self.inner.repair(row);
        self.pushed();
    }
    fn objection(&mut self, row: ObjectionRow) {
        self.inner.objection(row);
        self.pushed();
    }
    fn link(&mut self, row: LinkRow) {
        self.inner.link(row);
        self.pushed();
    }
    fn reject(&mut self, reject: Reject) {
        self.inner.reject(reject);
        self.pushed();
    }
}

/// The rows as they came, for [`read_source_parallel`].
enum Item {
    List(ListRow),
    Repair(RepairRow),
    Objection(ObjectionRow),
    Link(LinkRow),
    Reject(Reject),
}

#[derive(Default)]
struct Items(Vec<Item>);

impl SourceSink for Items {
    fn list_row(&mut self, row: ListRow) {
        self.0.push(Item::List(row));
    }
    fn repair(&mut self, row: RepairRow) {
        self.0.push(Item::Repair(row));
    }
    fn objection(&mut self, row: ObjectionRow) {
        self.0.push(Item::Objection(row));
    }
    fn link(&mut self, row: LinkRow) {
        self.0.push(Item::Link(row));
    }
    fn reject(&mut self, reject: Reject) {
        self.0.push(Item::Reject(reject));
    }
}

impl BatchSink for Items {
    type Batch = Vec<Item>;
    fn rows(&self) -> usize {
        self.0.len()
    }
    fn take(&mut self) -> Vec<Item> {
        std::mem::replace(&mut self.0, Vec::with_capacity(BATCH))
    }
}

/// [`read_source`](super::read_source) with `threads` worker threads validating rows
/// concurrently. The sink receives the same calls in the same order, and the result (summary
/// or the first error in file order) is the same; `threads <= 1` reads on the calling thread.
///
/// After an error, the threads finish the batches they hold (discarding their rows) before the call
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
    let mut consume = |items: Vec<Item>| {
        for item in items {
            match item {
                Item::List(r) => sink.list_row(r),
                Item::Repair(r) => sink.repair(r),
                Item::Objection(r) => sink.objection(r),
                Item::Link(r) => sink.link(r),
                Item::Reject(r) => sink.reject(r),
            }
        }
    };
    read_source_batched(
        dir,
        list_codes,
        opts,
        threads,
        &Items::default,
        &mut consume,
    )
}

/// Reads a source directory on `threads` worker threads, each row going to a [`BatchSink`]
/// made by `new_sink` on the worker that validates its batch; `consume` receives the batches on
/// the calling thread, in file order and line order (so the rows, concatenated, in the order
/// [`read_source`](super::read_source) delivers them). The result is the same as
/// `read_source`'s; `threads <= 1` reads on the calling thread.
pub fn read_source_batched<S: BatchSink>(
    dir: &Path,
    list_codes: &[&str],
    opts: &SourceOptions,
    threads: usize,
    new_sink: &(dyn Fn() -> S + Sync),
    consume: &mut dyn FnMut(S::Batch),
) -> Result<SourceSummary, SourceError> {
    if threads <= 1 {
        let mut inline = Inline {
            inner: new_sink(),
            consume,
        };
        let result = super::read_source(dir, list_codes, opts, &mut inline);
        if inline.inner.rows() > 0 {
            (inline.consume)(inline.inner.take());
        }
        return result;
    }
    let plan = plan_files(dir)?;
    check_file_encodings(dir, &plan, opts)?;
    let ctx = RowContext::new(list_codes, opts);
    pipeline::run(dir, &plan, &ctx, opts, threads, new_sink, consume)
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
            file_encodings: Default::default(),
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
    fn batches_concatenate_to_the_sequential_rows_on_one_thread_or_several() {
        let dir = tempfile::tempdir().unwrap();
        source(dir.path(), None);
        let mut seq = Collect::default();
        let s1 = read_source(dir.path(), &["tax"], &opts(), &mut seq).unwrap();
        for threads in [1, 2] {
            let mut got = Collect::default();
            let mut batches = 0;
            let mut consume = |items: Vec<Item>| {
                batches += 1;
                assert!(items.len() <= BATCH);
                for item in items {
                    match item {
                        Item::List(r) => got.list_row(r),
                        Item::Repair(r) => got.repair(r),
                        Item::Objection(r) => got.objection(r),
                        Item::Link(r) => got.link(r),
                        Item::Reject(r) => got.reject(r),
                    }
                }
            };
            let s2 = read_source_batched(
                dir.path(),
                &["tax"],
                &opts(),
                threads,
                &Items::default,
                &mut consume,
            )
            .unwrap();
            assert!(batches > 4, "{batches} batches");
            assert_eq!(s1, s2);
            assert_eq!(seq, got);
        }
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
