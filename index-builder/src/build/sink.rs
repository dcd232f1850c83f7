//! Snapshot files written behind the pass that produces them.
//!
//! Checksumming (CRC32C and SHA-256), copying into the page cache and the final fsync of a
//! table cost a few seconds of a 10M-record build, and pass 5 (the tables) and pass 6 (the
//! names FST) are single-threaded: done inline, they stretch the build's longest one-core
//! phases. A [`Sink`] collects bytes into 1 MiB buffers and hands each full buffer to a
//! thread of its own, which feeds a [`FileWriter`] and sends the emptied buffer back; the
//! producing pass only fills buffers. [`Sink::finish`] returns a [`Pending`] file whose
//! header and fsync complete on that thread while the build goes on (the tables' fsyncs
//! then overlap the names FST), and [`Pending::wait`] collects its manifest entry.
//!
//! The bytes and their order are exactly those an inline writer would write: one thread
//! per file consumes one channel in order.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::format::writer::FileWriter;
use crate::format::FileKind;
use crate::manifest::FileEntry;

/// The size of one buffer handed to the writer thread.
const CHUNK: usize = 1 << 20;
/// Full buffers that may wait for the writer: enough to ride out a slow write, and a bound
/// on the memory a sink holds (three buffers with the one being filled).
const QUEUED: usize = 2;

type Writer = JoinHandle<io::Result<FileEntry>>;

/// A snapshot file fed through a writer thread; see the module documentation.
pub(crate) struct Sink {
    path: PathBuf,
    buf: Vec<u8>,
    /// Rows put so far (for tables of fixed-size rows: the next row's index).
    pub(crate) rows: u64,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    writer: Option<Writer>,
}

impl Sink {
    pub(crate) fn create(dir: &Path, kind: FileKind) -> io::Result<Sink> {
        // Created here, so a file that cannot be created fails the pass at once.
        let mut w = FileWriter::create(dir, kind)?;
        let path = w.path().to_path_buf();
        let (full, full_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUED);
        let (empty_tx, empty) = mpsc::channel::<Vec<u8>>();
        let writer = std::thread::Builder::new()
            .name("sink".into())
            .spawn(move || {
                for mut buf in full_rx {
                    w.write(&buf)?;
                    buf.clear();
                    // The sink may be gone (it finished): the buffer is then just dropped.
                    let _ = empty_tx.send(buf);
                }
                w.finish()
            })?;
        Ok(Sink {
            path,
            buf: Vec::with_capacity(CHUNK),
            rows: 0,
            full: Some(full),
            empty,
            writer: Some(writer),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row, encoded by `encode`.
    pub(crate) fn put(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        encode(&mut self.buf);
        self.rows += 1;
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Sends the current buffer to the writer and continues in an emptied one.
    fn hand_over(&mut self) -> io::Result<()> {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let buf = std::mem::replace(&mut self.buf, next);
        let sent = self.full.as_ref().map(|tx| tx.send(buf));
        if let Some(Err(_)) = sent {
            // The writer stopped on an error: that error is the one to report.
            return Err(self.stop());
        }
        Ok(())
    }

    /// The writer's error after it stopped early.
    fn stop(&mut self) -> io::Error {
        self.full = None;
        match self.writer.take().map(join) {
            Some(Err(e)) => e,
            _ => io::Error::other(format!(
                "{}: the writer thread stopped without an error",
                self.path.display()
            )),
        }
    }

    /// Hands over the last bytes; the file's header and fsync complete on the writer
    /// thread.
    pub(crate) fn finish(mut self) -> io::Result<Pending> {
        if !self.buf.is_empty() {
            self.hand_over()?;
        }
        self.full = None;
        Ok(Pending(self.writer.take()))
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Dropped unfinished (the build failed elsewhere): the writer still ends before the
        // temporary generation it writes into is removed.
        self.full = None;
        if let Some(w) = self.writer.take() {
            let _ = join(w);
        }
    }
}

/// A file whose writer thread is completing it.
pub(crate) struct Pending(Option<Writer>);

impl Pending {
    /// The file's manifest entry, once it is written and durable.
    pub(crate) fn wait(mut self) -> io::Result<FileEntry> {
        join(self.0.take().expect("waited once"))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            let _ = join(w);
        }
    }
}

fn join(w: Writer) -> io::Result<FileEntry> {
    w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fresh_dir;

    #[test]
    fn a_sink_writes_what_an_inline_writer_writes() {
        let (a, b) = (fresh_dir("sink-inline"), fresh_dir("sink-sink"));
        // Seeded bytes, put as rows of varying sizes and written raw, across many chunks.
        let mut x = 7u64;
        let mut rows = Vec::new();
        for _ in 0..3000 {
            crate::build::lcg(&mut x);
            let len = (x >> 52) as usize;
            rows.push(vec![(x >> 24) as u8; len]);
        }
        let mut w = FileWriter::create(&a, FileKind::Strings).unwrap();
        let mut s = Sink::create(&b, FileKind::Strings).unwrap();
        for (i, r) in rows.iter().enumerate() {
            w.write(r).unwrap();
            if i % 2 == 0 {
                s.put(|out| out.extend_from_slice(r)).unwrap();
            } else {
                Write::write_all(&mut s, r).unwrap();
            }
        }
        assert_eq!(s.rows, rows.len().div_ceil(2) as u64);
        let want = w.finish().unwrap();
        let got = s.finish().unwrap().wait().unwrap();
        assert_eq!(got.sha256, want.sha256);
        assert_eq!(got.crc32c, want.crc32c);
        assert_eq!(got.bytes, want.bytes);
        let name = FileKind::Strings.file_name();
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap()
        );
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn a_file_that_exists_already_is_an_error_at_create() {
        let dir = fresh_dir("sink-exists");
        let first = Sink::create(&dir, FileKind::Events).unwrap();
        let err = Sink::create(&dir, FileKind::Events)
            .err()
            .expect("an error");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        first.finish().unwrap().wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
