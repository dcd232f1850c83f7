//! External sorting: the builder's working sets (rows, subject mentions, records, events,
//! names) go through [`Sorter`]s, which keep items in memory up to a byte budget, then spill
//! sorted runs to files and merge them back in order.
//!
//! Every item type has a total order (its key, then its arrival sequence number), so the
//! merged output is the same sequence whatever the budget and however the runs fell: a
//! build with a tiny budget writes exactly the snapshot an all-in-memory build writes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// How many runs one merge reads at once; more runs are first merged in groups of this many
/// (each open run costs a file handle and a read buffer).
const FAN_IN: usize = 16;
/// Read and write buffer of one run file.
const RUN_BUFFER: usize = 64 << 10;

/// An item that can be written to a run file and read back.
pub(crate) trait Codec: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(d: &mut Dec<'_>) -> Self;
    /// Heap bytes the item owns besides its own size (strings, boxes), for the budget;
    /// [`alloc`] gives one allocation's cost.
    fn heap_bytes(&self) -> usize {
        0
    }
}

/// What an allocation of `len` bytes costs in memory: the allocator's header and rounding
/// (about 16 bytes with glibc), nothing for an empty string.
pub(crate) fn alloc(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len + 16
    }
}

/// Little-endian field writers for [`Codec::encode`].
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

/// Reads back what the `put_*` functions wrote, in the same order. Run files are written
/// and read by this process only, so a short or malformed frame is a bug and panics.
pub(crate) struct Dec<'a> {
    b: &'a [u8],
}

impl<'a> Dec<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Dec<'a> {
        Dec { b }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        head
    }
    pub(crate) fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take(2).try_into().expect("2 bytes"))
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }
    pub(crate) fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    pub(crate) fn id(&mut self) -> [u8; 18] {
        self.take(18).try_into().expect("18 bytes")
    }
    pub(crate) fn string(&mut self) -> String {
        let n = self.u32() as usize;
        String::from_utf8(self.take(n).to_vec()).expect("run files hold UTF-8")
    }
}

/// Where the sorters of one build put their runs, and how many bytes each may hold.
pub(crate) struct SpillDir {
    pub(crate) dir: PathBuf,
    /// Bytes one sorter may hold in memory before it spills a run.
    pub(crate) per_sorter: usize,
    next: std::sync::atomic::AtomicU64,
    spilled: std::sync::atomic::AtomicU64,
}

impl SpillDir {
    pub(crate) fn new(dir: PathBuf, per_sorter: usize) -> io::Result<SpillDir> {
        std::fs::create_dir_all(&dir)?;
        Ok(SpillDir {
            dir,
            per_sorter: per_sorter.max(1),
            next: std::sync::atomic::AtomicU64::new(0),
            spilled: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Runs spilled so far because a sorter was over budget (0: everything fitted).
    pub(crate) fn runs_spilled(&self) -> u64 {
        self.spilled.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn run_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dir.join(format!("run-{n:06}"))
    }

    pub(crate) fn sorter<T: Codec + Ord + Send>(&self) -> Sorter<'_, T> {
        Sorter {
            spill: self,
            items: Vec::new(),
            used: 0,
            runs: Vec::new(),
        }
    }
}

/// Collects items, spilling sorted runs when over budget; [`Sorter::finish`] yields them
/// in order.
pub(crate) struct Sorter<'s, T> {
    spill: &'s SpillDir,
    items: Vec<T>,
    used: usize,
    runs: Vec<PathBuf>,
}

impl<'s, T: Codec + Ord + Send> Sorter<'s, T> {
    pub(crate) fn push(&mut self, item: T) -> io::Result<()> {
        // What the items own on the heap, plus the vector's whole capacity (it grows by
        // doubling, so up to half of it is slack that is resident all the same).
        self.used += item.heap_bytes();
        self.items.push(item);
        let total = self.used + self.items.capacity() * std::mem::size_of::<T>();
        if total > self.spill.per_sorter {
            self.spill_run()?;
        }
        Ok(())
    }

    fn spill_run(&mut self) -> io::Result<()> {
        par_sort(&mut self.items);
        self.spill
            .spilled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.spill.run_path();
        let mut w = BufWriter::with_capacity(RUN_BUFFER, File::create(&path)?);
        let mut buf = Vec::new();
        for item in self.items.drain(..) {
            buf.clear();
            item.encode(&mut buf);
            w.write_all(&(buf.len() as u32).to_le_bytes())?;
            w.write_all(&buf)?;
        }
        w.flush()?;
        // The run's items are on disk: give their memory back, not just their count.
        self.items = Vec::new();
        self.used = 0;
        self.runs.push(path);
        Ok(())
    }

    /// The items in order, and how many runs were spilled.
    pub(crate) fn finish(mut self) -> io::Result<(Sorted<T>, usize)> {
        if self.runs.is_empty() {
            par_sort(&mut self.items);
            return Ok((Sorted::Memory(self.items.into_iter()), 0));
        }
        if !self.items.is_empty() {
            self.spill_run()?;
        }
        let spilled = self.runs.len();
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > FAN_IN {
            let group: Vec<PathBuf> = runs.drain(..FAN_IN).collect();
            let path = self.spill.run_path();
            let mut merged = Merge::<T>::open(group)?;
            let mut w = BufWriter::with_capacity(RUN_BUFFER, File::create(&path)?);
            let mut buf = Vec::new();
            while let Some(item) = merged.next_item()? {
                buf.clear();
                item.encode(&mut buf);
                w.write_all(&(buf.len() as u32).to_le_bytes())?;
                w.write_all(&buf)?;
            }
            w.flush()?;
            runs.push(path);
        }
        Ok((Sorted::Merge(Merge::open(runs)?), spilled))
    }
}

/// Sorts on two threads: each half on its own, then one merge pass (the stable sort finds
/// the two sorted runs and only merges them). Items are totally ordered, so the result is
/// the same as one sort's.
fn par_sort<T: Ord + Send>(items: &mut [T]) {
    const PAR_MIN: usize = 1 << 14;
    if items.len() < PAR_MIN {
        items.sort_unstable();
        return;
    }
    let (a, b) = items.split_at_mut(items.len() / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| b.sort_unstable());
        a.sort_unstable();
    });
    items.sort();
}

/// A sorter's output, from memory or merged from runs; or a sequence file read back.
pub(crate) enum Sorted<T> {
    Memory(std::vec::IntoIter<T>),
    Merge(Merge<T>),
    File(RunReader),
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

impl<T: Codec + Ord> Sorted<T> {
    pub(crate) fn next_item(&mut self) -> io::Result<Option<T>> {
        match self {
            Sorted::Memory(it) => Ok(it.next()),
            Sorted::Merge(m) => m.next_item(),
            Sorted::File(r) => r.next(),
        }
    }

    /// With one item of lookahead, for merge joins.
    pub(crate) fn peekable(self) -> Peek<T> {
        Peek {
            inner: self,
            head: None,
        }
    }
}

/// A [`Sorted`] stream with a lookahead item.
pub(crate) struct Peek<T> {
    inner: Sorted<T>,
    head: Option<T>,
}

impl<T: Codec + Ord> Peek<T> {
    pub(crate) fn peek(&mut self) -> io::Result<Option<&T>> {
        if self.head.is_none() {
            self.head = self.inner.next_item()?;
        }
        Ok(self.head.as_ref())
    }

    /// The next item if `take` accepts it.
    pub(crate) fn next_if(&mut self, take: impl FnOnce(&T) -> bool) -> io::Result<Option<T>> {
        match self.peek()? {
            Some(item) if take(item) => Ok(self.head.take()),
            _ => Ok(None),
        }
    }
}

/// Reads one run file's frames.
pub(crate) struct RunReader {
    path: PathBuf,
    keep: bool,
    r: BufReader<File>,
    buf: Vec<u8>,
}

impl RunReader {
    fn open(path: PathBuf) -> io::Result<RunReader> {
        let r = BufReader::with_capacity(RUN_BUFFER, File::open(&path)?);
        Ok(RunReader {
            path,
            keep: false,
            r,
            buf: Vec::new(),
        })
    }

    fn next<T: Codec>(&mut self) -> io::Result<Option<T>> {
        let mut len = [0u8; 4];
        match self.r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                // Exhausted: the disk space goes back now, not at the end of the build.
                if !self.keep {
                    let _ = std::fs::remove_file(&self.path);
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        self.buf.resize(u32::from_le_bytes(len) as usize, 0);
        self.r.read_exact(&mut self.buf)?;
        Ok(Some(T::decode(&mut Dec::new(&self.buf))))
    }
}

/// A k-way merge of sorted runs.
pub(crate) struct Merge<T> {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
}

impl<T: Codec + Ord> Merge<T> {
    fn open(paths: Vec<PathBuf>) -> io::Result<Merge<T>> {
        let mut readers = Vec::with_capacity(paths.len());
        let mut heap = BinaryHeap::with_capacity(paths.len());
        for (i, p) in paths.into_iter().enumerate() {
            let mut r = RunReader::open(p)?;
            if let Some(item) = r.next()? {
                heap.push(Reverse((item, i)));
            }
            readers.push(r);
        }
        Ok(Merge { readers, heap })
    }

    fn next_item(&mut self) -> io::Result<Option<T>> {
        let Some(Reverse((item, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(next) = self.readers[i].next()? {
            self.heap.push(Reverse((next, i)));
        }
        Ok(Some(item))
    }
}

/// Removes the spill directory and whatever runs are left in it.
pub(crate) fn remove(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(PartialEq, Eq, PartialOrd, Ord, Debug, Clone)]
    struct Item(u32, String);

    impl Codec for Item {
        fn encode(&self, out: &mut Vec<u8>) {
            put_u32(out, self.0);
            put_str(out, &self.1);
        }
        fn decode(d: &mut Dec<'_>) -> Item {
            Item(d.u32(), d.string())
        }
        fn heap_bytes(&self) -> usize {
            self.1.len()
        }
    }

    fn sorted_with(budget: usize, items: &[Item]) -> (Vec<Item>, usize) {
        let dir = std::env::temp_dir().join(format!(
            "credgate-spill-test-{}-{budget}",
            std::process::id()
        ));
        let spill = SpillDir::new(dir.clone(), budget).unwrap();
        let mut s = spill.sorter::<Item>();
        for i in items {
            s.push(i.clone()).unwrap();
        }
        let (mut out, runs) = s.finish().unwrap();
        let mut got = Vec::new();
        while let Some(i) = out.next_item().unwrap() {
            got.push(i);
        }
        let left = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(left, 0, "every run is deleted once read");
        remove(&dir).unwrap();
        (got, runs)
    }

    #[test]
    fn spilled_and_in_memory_sorts_agree() {
        // A seeded LCG, so the test is deterministic.
        let mut x = 12345u64;
        let items: Vec<Item> = (0..5000)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                Item((x >> 40) as u32 % 97, format!("v{i}"))
            })
            .collect();
        let mut want = items.clone();
        want.sort();
        let (mem, runs) = sorted_with(usize::MAX, &items);
        assert_eq!(runs, 0);
        assert_eq!(mem, want);
        // 512 bytes a run: hundreds of runs, so merges of merges (FAN_IN) are exercised.
        let (spilled, runs) = sorted_with(512, &items);
        assert!(runs > FAN_IN * FAN_IN, "{runs} runs");
        assert_eq!(spilled, want);
    }
}
