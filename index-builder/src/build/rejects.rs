//! The rejected rows, held within the memory budget like the other working sets.
//!
//! A noisy source rejects a large share of its rows (a million of ten million is no rarity),
//! and every reject carries four strings: kept in a `Vec`, they were the one working set
//! the budget did not bound. They go through a [`Sorter`] instead, keyed by their place in
//! `rejects.csv`, which is the order a one-by-one reader finds them in: first the rows the
//! reader rejected on their own, by arrival; then the rows rejected as they arrived
//! (type conflicts of links, then of list rows and events, by arrival); then the copies of
//! duplicated record ids, by the arrival of the later copy; then the events of records whose
//! copies differ, by arrival. Each reject also takes a number as it is pushed, which keeps
//! rejects of equal keys in the order they were found, as a stable sort did before. The
//! merged stream is written out as the report, and only its count and its first few rejects
//! stay in memory, for the build's report.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::checks::CrossReject;
use super::codec::{put_str, put_u32, put_u64, Codec, Dec};
use super::spill::{Sorter, SpillDir};
use crate::manifest::SourceEntry;
use crate::source::{Reject, RejectsWriter, SourceFile};

/// Rejects the build report keeps, in report order (the CLI prints ten).
pub const FIRST_REJECTS: usize = 10;

/// The parts of the report, in their order (see the module docs).
const READ: u8 = 0;
const ON_ARRIVAL: u8 = 1;
const DUPLICATE: u8 = 2;
const ORPHANED: u8 = 3;

/// Rejects found on arrival: pass 4's links before pass 3's rows of the same arrival, as
/// they were concatenated before being sorted.
const FROM_LINKS: u8 = 0;
const FROM_RECORDS: u8 = 1;

/// A reject whose `file` is already its path (the reader's); others name their file by its
/// index in the source summary, resolved when the report is written.
const NAMED: u32 = u32::MAX;

/// One reject with its place in the report: (part, key, sub-key, push number), then the
/// reject itself. The push number makes every key distinct, so the order is total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RejectItem {
    part: u8,
    key: u64,
    sub: u8,
    n: u64,
    file: u32,
    reject: Reject,
}

impl Codec for RejectItem {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.part);
        put_u64(out, self.key);
        out.push(self.sub);
        put_u64(out, self.n);
        put_u32(out, self.file);
        put_u64(out, self.reject.line);
        put_str(out, &self.reject.file);
        put_str(out, &self.reject.record_id);
        put_str(out, &self.reject.reason);
    }

    fn decode(d: &mut Dec<'_>) -> RejectItem {
        let (part, key, sub, n, file, line) = (d.u8(), d.u64(), d.u8(), d.u64(), d.u32(), d.u64());
        let mut string = || {
            let b = d.str_bytes();
            d.utf8(b).to_string()
        };
        let (path, record_id, reason) = (string(), string(), string());
        RejectItem {
            part,
            key,
            sub,
            n,
            file,
            reject: Reject {
                file: path,
                line,
                record_id,
                reason,
            },
        }
    }
}

/// The build's rejects, pushed as they are found, in any order of the parts.
pub(crate) struct Rejects<'s> {
    sorter: Sorter<'s, RejectItem>,
    pushed: u64,
}

/// Where writing the report failed: the spill directory is not the report's file, and an
/// error names the one it happened in.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// Reading the rejects back from the runs they spilled to.
    Spill(io::Error),
    /// Creating or writing the report itself.
    Report(io::Error),
}

/// What writing the report kept.
pub(crate) struct Written {
    pub(crate) count: u64,
    /// The first [`FIRST_REJECTS`] rejects of the report.
    pub(crate) first: Vec<Reject>,
}

impl<'s> Rejects<'s> {
    pub(crate) fn new(spill: &'s SpillDir) -> Rejects<'s> {
        Rejects {
            sorter: spill.sorter(),
            pushed: 0,
        }
    }

    /// Rejects pushed so far.
    #[cfg(test)]
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    fn push(&mut self, part: u8, key: u64, sub: u8, file: u32, reject: Reject) -> io::Result<()> {
        let n = self.pushed;
        self.pushed += 1;
        self.sorter.push(RejectItem {
            part,
            key,
            sub,
            n,
            file,
            reject,
        })
    }

    /// A row the reader rejected on its own; these come in arrival order.
    pub(crate) fn read(&mut self, reject: Reject) -> io::Result<()> {
        self.push(READ, 0, 0, NAMED, reject)
    }

    /// A link rejected for a type conflict, by its arrival.
    pub(crate) fn link_conflict(&mut self, seq: u64, (file, r): CrossReject) -> io::Result<()> {
        self.push(ON_ARRIVAL, seq, FROM_LINKS, file.into(), r)
    }

    /// A list row or event of pass 3 rejected as it arrived, by its arrival.
    pub(crate) fn on_arrival(&mut self, seq: u64, (file, r): CrossReject) -> io::Result<()> {
        self.push(ON_ARRIVAL, seq, FROM_RECORDS, file.into(), r)
    }

    /// A copy of a duplicated record id, by (arrival of the later copy, 0 for it, 1 for
    /// the first copy).
    pub(crate) fn duplicate(&mut self, key: (u64, u8), (file, r): CrossReject) -> io::Result<()> {
        self.push(DUPLICATE, key.0, key.1, file.into(), r)
    }

    /// An event of a record whose copies differ, by its arrival.
    pub(crate) fn orphaned(&mut self, seq: u64, (file, r): CrossReject) -> io::Result<()> {
        self.push(ORPHANED, seq, 0, file.into(), r)
    }

    /// Writes the report to `path` in order, naming each cross-row reject's file by its
    /// path in `files` and counting it against that file in `sources` (the reader counted
    /// its own rejects already).
    pub(crate) fn write(
        self,
        path: &Path,
        files: &[SourceFile],
        sources: &mut [SourceEntry],
    ) -> Result<Written, WriteError> {
        use WriteError::{Report, Spill};
        let mut sorted = self.sorter.finish().map_err(Spill)?.0;
        let file = File::create(path).map_err(Report)?;
        let mut w = RejectsWriter::new(BufWriter::new(file)).map_err(Report)?;
        let mut written = Written {
            count: 0,
            first: Vec::new(),
        };
        while let Some(item) = sorted.next_item().map_err(Spill)? {
            let mut reject = item.reject;
            if item.file != NAMED {
                let file = item.file as usize;
                if let Some(f) = files.get(file) {
                    reject.file = f.path.clone();
                }
                if let Some(s) = sources.get_mut(file) {
                    s.rejected += 1;
                }
            }
            w.write(&reject).map_err(Report)?;
            written.count += 1;
            if written.first.len() < FIRST_REJECTS {
                written.first.push(reject);
            }
        }
        w.finish().and_then(|mut b| b.flush()).map_err(Report)?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(line: u64, reason: &str) -> Reject {
        Reject {
            file: String::new(),
            line,
            record_id: format!("R{line}"),
            reason: reason.to_string(),
        }
    }

    #[test]
    fn an_item_round_trips_through_its_encoding() {
        let item = RejectItem {
            part: DUPLICATE,
            key: 1 << 40,
            sub: 1,
            n: 7,
            file: 3,
            reject: Reject {
                file: "lists/a.csv".into(),
                line: 12,
                record_id: "R\0x".into(),
                reason: "duplicate record_id \"R\"".into(),
            },
        };
        let mut bytes = Vec::new();
        item.encode(&mut bytes);
        let mut d = Dec::new(&bytes);
        assert_eq!(RejectItem::decode(&mut d), item);
        d.finish().unwrap();
    }

    /// The parts come out in report order whatever order they were found in, each by its
    /// key, and rejects of equal keys in the order they were pushed; at any budget.
    #[test]
    fn the_report_is_in_part_key_then_push_order() {
        for budget in [usize::MAX, 256] {
            let dir = crate::testing::fresh_dir(&format!("rejects-order-{budget}"));
            let spill = SpillDir::new(dir.join("spill"), budget).unwrap();
            let mut r = Rejects::new(&spill);
            r.orphaned(5, (0, reject(50, "orphan"))).unwrap();
            r.duplicate((9, 1), (1, reject(91, "first copy"))).unwrap();
            r.on_arrival(4, (0, reject(40, "row conflict"))).unwrap();
            r.duplicate((9, 0), (1, reject(90, "later copy"))).unwrap();
            r.on_arrival(4, (0, reject(41, "event of it"))).unwrap();
            r.read(Reject {
                file: "lists/a.csv".into(),
                ..reject(2, "bad id")
            })
            .unwrap();
            r.link_conflict(4, (2, reject(42, "link conflict")))
                .unwrap();
            r.link_conflict(1, (9, reject(11, "link, no such file")))
                .unwrap();
            r.read(Reject {
                file: "lists/a.csv".into(),
                ..reject(1, "bad date")
            })
            .unwrap();
            let files: Vec<SourceFile> = ["lists/a.csv", "repairs.csv", "links.csv"]
                .iter()
                .map(|p| SourceFile {
                    path: p.to_string(),
                    sha256: String::new(),
                    bytes: 0,
                    rows: 0,
                    rejected: 0,
                    encoding: "utf-8",
                    encoding_from: crate::source::EncodingFrom::Detected,
                })
                .collect();
            let mut sources: Vec<SourceEntry> = files
                .iter()
                .map(|f| SourceEntry {
                    path: f.path.clone(),
                    sha256: String::new(),
                    bytes: 0,
                    rows: 0,
                    rejected: 0,
                    encoding: "utf-8".into(),
                    encoding_from: None,
                })
                .collect();
            let path = dir.join("rejects.csv");
            let written = r.write(&path, &files, &mut sources).unwrap();
            let got: Vec<String> = crate::source::read_rejects_csv(&path)
                .unwrap()
                .iter()
                .map(|r| format!("{}:{} {}", r.file, r.line, r.reason))
                .collect();
            assert_eq!(
                got,
                [
                    "lists/a.csv:2 bad id",
                    "lists/a.csv:1 bad date",
                    ":11 link, no such file",
                    "links.csv:42 link conflict",
                    "lists/a.csv:40 row conflict",
                    "lists/a.csv:41 event of it",
                    "repairs.csv:90 later copy",
                    "repairs.csv:91 first copy",
                    "lists/a.csv:50 orphan",
                ],
                "budget {budget}"
            );
            assert_eq!(written.count, 9);
            assert_eq!(written.first.len(), 9);
            let counted: Vec<u64> = sources.iter().map(|s| s.rejected).collect();
            assert_eq!(
                counted,
                [3, 2, 1],
                "the reader's own rejects are not counted"
            );
            assert!(budget == usize::MAX || spill.runs_spilled() > 0);
            super::super::spill::remove(&dir).unwrap();
        }
    }

    /// An error reading the spilled runs back is the spill directory's, and one creating
    /// the report is the report's, so that the build names the right path.
    #[test]
    fn a_failed_write_says_whether_the_spill_or_the_report_failed() {
        let dir = crate::testing::fresh_dir("rejects-write-error");
        fn fill(spill: &SpillDir) -> Rejects<'_> {
            let mut r = Rejects::new(spill);
            for line in 0..64 {
                r.read(Reject {
                    file: "lists/a.csv".into(),
                    ..reject(line, "bad id")
                })
                .unwrap();
            }
            r
        }
        let spill = SpillDir::new(dir.join("spill"), 256).unwrap();
        let r = fill(&spill);
        assert!(spill.runs_spilled() > 0);
        // The runs written so far disappear under the build.
        for entry in std::fs::read_dir(dir.join("spill")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::remove_file(path).unwrap();
            }
        }
        match r.write(&dir.join("rejects.csv"), &[], &mut []) {
            Err(WriteError::Spill(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            Err(e) => panic!("expected a spill error, got {e:?}"),
            Ok(_) => panic!("the runs were removed, yet the report was written"),
        }
        let spill = SpillDir::new(dir.join("spill2"), usize::MAX).unwrap();
        let r = fill(&spill);
        match r.write(&dir.join("no-such-dir").join("rejects.csv"), &[], &mut []) {
            Err(WriteError::Report(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            Err(e) => panic!("expected a report error, got {e:?}"),
            Ok(_) => panic!("the report's directory does not exist, yet it was written"),
        }
        super::super::spill::remove(&dir).unwrap();
    }
}
