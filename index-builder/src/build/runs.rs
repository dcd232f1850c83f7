//! Run files and the threads that read them ahead: a run reader, the k-way merge of runs
//! by their frames' bytes, the sequence file of the subjects, and [`Sorted::prefetch`].
//!
//! A frame is a little-endian u32 length, then an item's encoding (see `codec`).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::codec::Codec;
use super::spill::{cmp_bytes, Sorted, SpillDir, RUN_BUFFER};

/// Reads one run file's frames (a little-endian length, then the encoding).
pub(crate) struct RunReader {
    path: PathBuf,
    keep: bool,
    r: BufReader<File>,
    buf: Vec<u8>,
}

impl RunReader {
    pub(super) fn open(path: PathBuf) -> io::Result<RunReader> {
        let r = BufReader::with_capacity(RUN_BUFFER, File::open(&path)?);
        Ok(RunReader {
            path,
            keep: false,
            r,
            buf: Vec::new(),
        })
    }

    /// Reads the next frame into the buffer; false at the end of the file. A file that
    /// ends inside a frame (its length or its bytes) is an error, never taken for the end.
    pub(super) fn advance(&mut self) -> io::Result<bool> {
        if self.r.fill_buf()?.is_empty() {
            // Exhausted: the disk space goes back now, not at the end of the build.
            if !self.keep {
                let _ = std::fs::remove_file(&self.path);
            }
            return Ok(false);
        }
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len).map_err(|e| self.cut(e))?;
        self.buf.resize(u32::from_le_bytes(len) as usize, 0);
        self.r.read_exact(&mut self.buf).map_err(|e| self.cut(e))?;
        Ok(true)
    }

    fn cut(&self, e: io::Error) -> io::Error {
        if e.kind() != io::ErrorKind::UnexpectedEof {
            return e;
        }
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{}: the run ends inside a frame", self.path.display()),
        )
    }

    pub(super) fn frame(&self) -> &[u8] {
        &self.buf
    }
}

/// A run's current frame in the merge heap, ordered by its bytes (then by run, which only
/// decides between equal bytes, that is between equal items).
struct Head {
    frame: Vec<u8>,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_bytes(&self.frame, &other.frame).then(self.run.cmp(&other.run))
    }
}

/// A k-way merge of sorted runs, by the frames' bytes.
pub(crate) struct Merge {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Reverse<Head>>,
    /// The frame last handed out (its buffer is reused for the run's next frame).
    out: Vec<u8>,
}

impl Merge {
    pub(super) fn open(paths: Vec<PathBuf>) -> io::Result<Merge> {
        let mut readers = Vec::with_capacity(paths.len());
        let mut heap = BinaryHeap::with_capacity(paths.len());
        for (run, p) in paths.into_iter().enumerate() {
            let mut r = RunReader::open(p)?;
            if r.advance()? {
                heap.push(Reverse(Head {
                    frame: std::mem::take(&mut r.buf),
                    run,
                }));
            }
            readers.push(r);
        }
        Ok(Merge {
            readers,
            heap,
            out: Vec::new(),
        })
    }

    /// How many runs this merge reads.
    #[cfg(test)]
    pub(super) fn runs(&self) -> usize {
        self.readers.len()
    }

    pub(super) fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        let Some(Reverse(head)) = self.heap.pop() else {
            return Ok(None);
        };
        let r = &mut self.readers[head.run];
        // The popped frame becomes the output; the output's old buffer reads the next one.
        r.buf = std::mem::replace(&mut self.out, head.frame);
        if r.advance()? {
            self.heap.push(Reverse(Head {
                frame: std::mem::take(&mut r.buf),
                run: head.run,
            }));
        }
        Ok(Some(&self.out))
    }
}

/// Bytes of frames per batch a prefetching thread hands over, and batches in flight: a
/// few MiB at most beside the sorters' budget. Batches go back to the thread to be
/// refilled, so they are allocated once.
const AHEAD_BATCH: usize = 1 << 20;
const AHEAD_BATCHES: usize = 3;

/// The receiving end of a prefetching thread; dropping it stops and joins the thread.
pub(crate) struct Prefetch {
    rx: Option<std::sync::mpsc::Receiver<io::Result<Vec<u8>>>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    /// The batch being read (length-prefixed frames) and the read position in it.
    batch: Vec<u8>,
    pos: usize,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prefetch {
    pub(super) fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        if !self.fill()? {
            return Ok(None);
        }
        let (start, end) = self.span();
        self.pos = end;
        Ok(Some(&self.batch[start..end]))
    }

    /// The next frame, left in place: the batch it lies in is only handed back once the
    /// reader has moved past it, so a pass can look at a frame without copying it.
    pub(super) fn peek_frame(&mut self) -> io::Result<Option<&[u8]>> {
        if !self.fill()? {
            return Ok(None);
        }
        let (start, end) = self.span();
        Ok(Some(&self.batch[start..end]))
    }

    /// Moves past the frame [`Prefetch::peek_frame`] returned.
    pub(super) fn skip_frame(&mut self) {
        if self.pos < self.batch.len() {
            self.pos = self.span().1;
        }
    }

    /// Where the frame at the read position lies in the batch.
    fn span(&self) -> (usize, usize) {
        let head: [u8; 4] = self.batch[self.pos..self.pos + 4]
            .try_into()
            .expect("4 bytes");
        let start = self.pos + 4;
        (start, start + u32::from_le_bytes(head) as usize)
    }

    /// Makes sure a frame is at the read position, taking the next batch if needed; false
    /// at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.batch.len() {
            return Ok(true);
        }
        let Some(rx) = &self.rx else {
            return Ok(false);
        };
        match rx.recv() {
            Ok(Ok(batch)) => {
                let done = std::mem::replace(&mut self.batch, batch);
                let _ = self.back.send(done);
                self.pos = 0;
                Ok(true)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                // The thread is done: at the end of its stream, or because it panicked,
                // which is raised here rather than taken for the end.
                self.rx = None;
                if let Some(t) = self.thread.take() {
                    if let Err(panic) = t.join() {
                        std::panic::resume_unwind(panic);
                    }
                }
                Ok(false)
            }
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Closing the channel first makes a thread blocked on sending return.
        self.rx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes items in the order given to a file that can be read back several times with
/// [`read_seq`] (the subjects, which four passes read in identifier order).
pub(crate) struct SeqWriter {
    path: PathBuf,
    w: BufWriter<File>,
    buf: Vec<u8>,
}

impl SeqWriter {
    pub(crate) fn create(spill: &SpillDir) -> io::Result<SeqWriter> {
        let path = spill.run_path();
        let w = BufWriter::with_capacity(RUN_BUFFER, File::create(&path)?);
        Ok(SeqWriter {
            path,
            w,
            buf: Vec::new(),
        })
    }

    pub(crate) fn push<T: Codec>(&mut self, item: &T) -> io::Result<()> {
        self.buf.clear();
        item.encode(&mut self.buf);
        self.w.write_all(&(self.buf.len() as u32).to_le_bytes())?;
        self.w.write_all(&self.buf)
    }

    pub(crate) fn finish(mut self) -> io::Result<PathBuf> {
        self.w.flush()?;
        Ok(self.path)
    }
}

/// Reads a [`SeqWriter`] file from the start; the file is kept.
pub(crate) fn read_seq<T>(path: &Path) -> io::Result<Sorted<T>> {
    let mut r = RunReader::open(path.to_path_buf())?;
    r.keep = true;
    Ok(Sorted::File(r))
}

impl<T: 'static> Sorted<T> {
    /// The same stream, with the merging (reading runs, comparing frames) done on a thread
    /// of its own, ahead of the pass: the pass decodes and works while the next frames are
    /// gathered, on the other core. Frames cross over in batches of bytes, so no item is
    /// allocated on one thread and freed on the other. A stream held in memory is returned
    /// as it is: handing its frames over would copy every byte to save nothing but
    /// stepping through an index.
    pub(crate) fn prefetch(mut self) -> Sorted<T> {
        if matches!(self, Sorted::Memory(..)) {
            return self;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD_BATCHES);
        let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::spawn(move || loop {
            let mut batch = spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(AHEAD_BATCH + (64 << 10)));
            batch.clear();
            let mut end = false;
            while batch.len() < AHEAD_BATCH {
                match self.next_frame() {
                    Ok(Some(frame)) => {
                        batch.extend_from_slice(&(frame.len() as u32).to_le_bytes());
                        batch.extend_from_slice(frame);
                    }
                    Ok(None) => {
                        end = true;
                        break;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
                return;
            }
            if end {
                return;
            }
        });
        Sorted::Ahead(Prefetch {
            rx: Some(rx),
            back,
            batch: Vec::new(),
            pos: 0,
            thread: Some(thread),
        })
    }
}
