//! The rejects report (`file,line,record_id,reason`) and small sinks built on [`SourceSink`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::{LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceSink};

/// Writes rejects as CSV, one at a time, so a source with millions of bad rows does not
/// need them all in memory.
pub struct RejectsWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> RejectsWriter<W> {
    /// Starts the report with its header row.
    pub fn new(out: W) -> io::Result<Self> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(["file", "line", "record_id", "reason"])
            .map_err(io::Error::from)?;
        Ok(RejectsWriter { csv })
    }

    pub fn write(&mut self, r: &Reject) -> io::Result<()> {
        let line = r.line.to_string();
        self.csv
            .write_record([r.file.as_str(), &line, &r.record_id, &r.reason])
            .map_err(io::Error::from)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}

/// Writes `rejects` to a new CSV file at `path` (replacing it).
pub fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> io::Result<()> {
    let mut w = RejectsWriter::new(BufWriter::new(File::create(path)?))?;
    for r in rejects {
        w.write(r)?;
    }
    w.finish()?.flush()
}

/// Reads a report written by [`RejectsWriter`] back, in its order: for tests and tools
/// that check a build's rejects (a build keeps only the first few in memory).
pub fn read_rejects_csv(path: &Path) -> io::Result<Vec<Reject>> {
    let mut csv = csv::Reader::from_path(path).map_err(io::Error::from)?;
    let mut rejects = Vec::new();
    for record in csv.records() {
        let record = record.map_err(io::Error::from)?;
        let field = |i: usize| record.get(i).unwrap_or_default().to_string();
        let line = field(1).parse().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: line {:?}: {e}", path.display(), field(1)),
            )
        })?;
        rejects.push(Reject {
            file: field(0),
            line,
            record_id: field(2),
            reason: field(3),
        });
    }
    Ok(rejects)
}

/// Passes every call on to `inner` and counts the rows and rejects going through, so a
/// caller can enforce the operator's reject threshold while streaming.
pub struct RejectCounter<S> {
    pub inner: S,
    pub rows: u64,
    pub rejects: u64,
}

impl<S: SourceSink> RejectCounter<S> {
    pub fn new(inner: S) -> Self {
        RejectCounter {
            inner,
            rows: 0,
            rejects: 0,
        }
    }
}

impl<S: SourceSink> SourceSink for RejectCounter<S> {
    fn list_row(&mut self, row: ListRow) {
        self.rows += 1;
        self.inner.list_row(row);
    }
    fn repair(&mut self, row: RepairRow) {
        self.rows += 1;
        self.inner.repair(row);
    }
    fn objection(&mut self, row: ObjectionRow) {
        self.rows += 1;
        self.inner.objection(row);
    }
    fn link(&mut self, row: LinkRow) {
        self.rows += 1;
        self.inner.link(row);
    }
    fn reject(&mut self, reject: Reject) {
        self.rejects += 1;
        self.inner.reject(reject);
    }
}

/// Keeps everything in memory: for tests and small source sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collect {
    pub lists: Vec<ListRow>,
    pub repairs: Vec<RepairRow>,
    pub objections: Vec<ObjectionRow>,
    pub links: Vec<LinkRow>,
    pub rejects: Vec<Reject>,
}

impl SourceSink for Collect {
    fn list_row(&mut self, row: ListRow) {
        self.lists.push(row);
    }
    fn repair(&mut self, row: RepairRow) {
        self.repairs.push(row);
    }
    fn objection(&mut self, row: ObjectionRow) {
        self.objections.push(row);
    }
    fn link(&mut self, row: LinkRow) {
        self.links.push(row);
    }
    fn reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_quoted_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.csv");
        let rejects = vec![
            Reject {
                file: "lists/court.csv".into(),
                line: 7,
                record_id: "R-7".into(),
                reason: "subject_type must be org or person, got \"company\"".into(),
            },
            Reject {
                file: "links.csv".into(),
                line: 12,
                record_id: String::new(),
                reason: "wrong number of fields: 5, expected 6".into(),
            },
        ];
        write_rejects_csv(&path, &rejects).unwrap();
        assert_eq!(read_rejects_csv(&path).unwrap(), rejects);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "file,line,record_id,reason\n\
             lists/court.csv,7,R-7,\"subject_type must be org or person, got \"\"company\"\"\"\n\
             links.csv,12,,\"wrong number of fields: 5, expected 6\"\n"
        );
    }

    #[test]
    fn counter_counts_and_forwards() {
        let mut c = RejectCounter::new(Collect::default());
        c.reject(Reject {
            file: "repairs.csv".into(),
            line: 2,
            record_id: "x".into(),
            reason: "r".into(),
        });
        assert_eq!((c.rows, c.rejects, c.inner.rejects.len()), (0, 1, 1));
    }
}
