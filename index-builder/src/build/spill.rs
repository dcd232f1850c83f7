//! External sorting: the builder's working sets (rows, subject mentions, records, events,
//! names) go through [`Sorter`]s, which keep items in memory up to a byte budget, then spill
//! sorted runs to files and merge them back in order.
//!
//! Items are held encoded, not as Rust values: each is written once into one byte arena per
//! sorter, and its encoding is its sort key ([`Codec`]: the key fields first, big-endian,
//! strings escaped so that comparing encodings as bytes orders the items). Sorting then
//! moves 24-byte index entries that carry the first 16 bytes of the encoding, and compares
//! the arena only when those are equal; a spill writes the arena in index order, and a merge
//! compares frames as bytes. Nothing is allocated per item until a pass decodes it, and the
//! memory counted against the budget is exactly the arena and index held.
//!
//! A full buffer is sorted and written on a thread of its own while the sorter fills a
//! second one, so the pass feeding the sorter (reading and validating rows, above all) does
//! not stop for the sort and the write. The two buffers share the sorter's budget: each may
//! hold half of it, and one run at a time is in flight.
//!
//! Every item type has a total order (its key, then its arrival sequence number), so the
//! merged output is the same sequence whatever the budget and however the runs fell: a
//! build with a tiny budget writes exactly the snapshot an all-in-memory build writes.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::codec::{Codec, Dec};
pub(crate) use super::runs::{read_seq, SeqWriter};
use super::runs::{Merge, Prefetch, RunReader};

/// How many runs one merge reads at once, at least and at most; more runs are first merged
/// in groups of that many. Each open run costs a file handle and a read buffer
/// ([`RUN_BUFFER`]), so the fan-in grows with the sorter's share of the budget (see
/// [`SpillDir::fan_in`]).
const FAN_IN_MIN: usize = 16;
const FAN_IN_MAX: usize = 64;
/// Items a run needs to be written on a thread of its own rather than by the sorter.
const BACKGROUND_MIN: usize = 4096;
/// Read and write buffer of one run file.
pub(super) const RUN_BUFFER: usize = 256 << 10;

/// Where the sorters of one build put their runs, and how many bytes each may hold.
pub(crate) struct SpillDir {
    pub(crate) dir: PathBuf,
    /// Names this directory's runs apart from another `SpillDir`'s in the same directory.
    prefix: &'static str,
    /// Bytes one sorter may hold in memory before it spills a run.
    pub(crate) per_sorter: usize,
    /// See [`SpillDir::fan_in`].
    fan_in: usize,
    next: AtomicU64,
    spilled: AtomicU64,
}

impl SpillDir {
    pub(crate) fn new(dir: PathBuf, per_sorter: usize) -> io::Result<SpillDir> {
        SpillDir::named(dir, "run", per_sorter)
    }

    /// A second set of sorters in the same directory (for another thread), whose runs are
    /// named `{prefix}-NNNNNN`.
    pub(crate) fn named(
        dir: PathBuf,
        prefix: &'static str,
        per_sorter: usize,
    ) -> io::Result<SpillDir> {
        std::fs::create_dir_all(&dir)?;
        Ok(SpillDir {
            dir,
            prefix,
            per_sorter: per_sorter.max(1),
            fan_in: (per_sorter / (8 * RUN_BUFFER)).clamp(FAN_IN_MIN, FAN_IN_MAX),
            next: AtomicU64::new(0),
            spilled: AtomicU64::new(0),
        })
    }

    /// How many runs one merge reads at once: as many as an eighth of a sorter's share of
    /// the budget buys read buffers for, within [`FAN_IN_MIN`]..=[`FAN_IN_MAX`].
    ///
    /// Every merge of a group rewrites its runs, a pass over their bytes on the thread that
    /// finishes the sorter while the passes wait: at 10M records and the default budget the
    /// rows by record id fell into about 40 runs, and a fan-in of 16 rewrote most of them
    /// twice before the final merge. With 64 they merge once. A sorter merges only after it
    /// has given back its own buffers, so the read buffers come out of its share.
    pub(crate) fn fan_in(&self) -> usize {
        self.fan_in
    }

    /// Runs spilled so far because a sorter was over budget (0: everything fitted).
    pub(crate) fn runs_spilled(&self) -> u64 {
        self.spilled.load(AtomicOrdering::Relaxed)
    }

    pub(super) fn run_path(&self) -> PathBuf {
        let n = self.next.fetch_add(1, AtomicOrdering::Relaxed);
        self.dir.join(format!("{}-{n:06}", self.prefix))
    }

    /// A sorter: items come out in the order of their encodings.
    pub(crate) fn sorter<T: Codec>(&self) -> Sorter<'_, T> {
        Sorter {
            spill: self,
            arena: Vec::new(),
            index: Vec::new(),
            scratch: Vec::new(),
            runs: Vec::new(),
            writing: None,
            in_flight: 0,
            _item: std::marker::PhantomData,
        }
    }
}

/// One held item: the first 16 bytes of its encoding (zero-padded, big-endian, so a smaller
/// prefix means a smaller item) and where the whole encoding lies in the arena.
#[derive(Clone, Copy)]
struct Entry {
    hi: u64,
    lo: u64,
    off: u32,
    len: u32,
}

impl Entry {
    fn new(bytes: &[u8], off: usize) -> Entry {
        let mut p = [0u8; 16];
        let n = bytes.len().min(16);
        p[..n].copy_from_slice(&bytes[..n]);
        Entry {
            hi: u64::from_be_bytes(p[..8].try_into().expect("8 bytes")),
            lo: u64::from_be_bytes(p[8..].try_into().expect("8 bytes")),
            off: off as u32,
            len: bytes.len() as u32,
        }
    }

    fn bytes<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.off as usize..self.off as usize + self.len as usize]
    }
}

#[inline]
fn cmp_entries(arena: &[u8], a: &Entry, b: &Entry) -> Ordering {
    (a.hi, a.lo).cmp(&(b.hi, b.lo)).then_with(|| {
        // Equal prefixes: the first 16 bytes are equal (or zero padding), so the rest
        // decides, which is also where a shorter encoding ends first.
        let (a, b) = (a.bytes(arena), b.bytes(arena));
        let skip = a.len().min(b.len()).min(16);
        cmp_bytes(&a[skip..], &b[skip..])
    })
}

/// Compares byte strings exactly as `<[u8]>::cmp` does, eight bytes at a time. The ties the
/// sorters and merges break are mostly short (the last bytes of an identifier, then an
/// arrival number), and there a `memcmp` call costs more than the comparison itself: it was
/// a tenth of the build's CPU time.
#[inline]
pub(super) fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let (mut ca, mut cb) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        let x = u64::from_be_bytes(x.try_into().expect("8 bytes"));
        let y = u64::from_be_bytes(y.try_into().expect("8 bytes"));
        if x != y {
            return x.cmp(&y);
        }
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Sorts on two threads: each half on its own, then one merge pass (the stable sort finds
/// the two sorted runs and only merges them). Equal entries have equal bytes, so the result
/// is the same as one sort's.
fn sort_entries(arena: &[u8], index: &mut [Entry]) {
    const PAR_MIN: usize = 1 << 14;
    let cmp = |a: &Entry, b: &Entry| cmp_entries(arena, a, b);
    if index.len() < PAR_MIN {
        index.sort_unstable_by(cmp);
        return;
    }
    let (a, b) = index.split_at_mut(index.len() / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| b.sort_unstable_by(cmp));
        a.sort_unstable_by(cmp);
    });
    index.sort_by(cmp);
}

/// A full buffer being sorted and written as a run; the thread hands the buffers back,
/// emptied, for the sorter to refill.
type Writing = std::thread::JoinHandle<io::Result<(Vec<u8>, Vec<Entry>)>>;

/// Sorts a full buffer and writes it as the run file `path`.
fn write_run(path: &Path, arena: &[u8], index: &mut [Entry]) -> io::Result<()> {
    sort_entries(arena, index);
    let mut w = BufWriter::with_capacity(RUN_BUFFER, File::create(path)?);
    // In key order the items lie scattered over the arena, and copied one by one each copy
    // waits for memory on its own: this was a tenth of a 10M build's CPU time. Reading the
    // first and last byte of a group's items first (loads that depend on nothing) lets those
    // waits overlap; the copies then find the items in the cache. Twice as fast, measured
    // on 8M items of 20–60 bytes.
    for group in index.chunks(GATHER_GROUP) {
        let mut touched = 0u8;
        for e in group {
            let bytes = e.bytes(arena);
            if let (Some(first), Some(last)) = (bytes.first(), bytes.last()) {
                touched ^= first ^ last;
            }
        }
        std::hint::black_box(touched);
        for e in group {
            w.write_all(&e.len.to_le_bytes())?;
            w.write_all(e.bytes(arena))?;
        }
    }
    w.flush()
}

/// Items whose bytes a run's writer loads together before copying them.
const GATHER_GROUP: usize = 32;

/// Collects items, spilling sorted runs when over budget; [`Sorter::finish`] yields them
/// in order.
pub(crate) struct Sorter<'s, T> {
    spill: &'s SpillDir,
    arena: Vec<u8>,
    index: Vec<Entry>,
    scratch: Vec<u8>,
    runs: Vec<PathBuf>,
    /// The run in flight, if any, and the bytes its buffers hold.
    writing: Option<Writing>,
    in_flight: usize,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

impl<T> Drop for Sorter<'_, T> {
    fn drop(&mut self) {
        // A sorter dropped early (the build failed elsewhere) still waits for its writer, so
        // no thread writes into a spill directory being removed.
        if let Some(w) = self.writing.take() {
            let _ = w.join();
        }
        // Its runs, when it was dropped unfinished (a finished sorter handed them to its
        // merge): a sorter given up on purpose (see `contested::Held`) frees its disk space
        // now, not when the build ends.
        for run in &self.runs {
            let _ = std::fs::remove_file(run);
        }
    }
}

impl<'s, T: Codec> Sorter<'s, T> {
    pub(crate) fn push(&mut self, item: T) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        item.encode(&mut scratch);
        drop(item);
        let result = self.push_encoded(&scratch);
        self.scratch = scratch;
        result
    }

    /// Pushes an item already encoded as `T::encode` would (by a reader thread, or copied
    /// from a frame of another stream): the sorter only copies the bytes in.
    pub(crate) fn push_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        let need = bytes.len();
        let full = self.arena.len() + need > self.arena.capacity()
            || self.index.len() == self.index.capacity();
        if full && !self.grow(need) {
            if !self.index.is_empty() {
                self.spill_run()?;
            }
            if !self.grow(need) {
                // One item larger than the whole budget: held alone, spilled below.
                self.arena.reserve_exact(need);
                self.index.reserve_exact(1);
            }
        }
        let off = self.arena.len();
        self.arena.extend_from_slice(bytes);
        self.index.push(Entry::new(bytes, off));
        if self.held() > self.limit() {
            self.spill_run()?;
        }
        Ok(())
    }

    /// Bytes one of the two buffers may hold.
    fn limit(&self) -> usize {
        (self.spill.per_sorter / 2).max(1)
    }

    /// Bytes held by the buffer being filled: the arena's and the index's whole capacity
    /// (their slack is resident too once written, and they are kept from run to run).
    fn held(&self) -> usize {
        self.arena.capacity() + self.index.capacity() * std::mem::size_of::<Entry>()
    }

    /// Bytes held in all, the run in flight included: what the budget bounds.
    #[cfg(test)]
    fn held_in_all(&self) -> usize {
        self.held() + self.in_flight
    }

    /// Makes room for one more item of `need` bytes, doubling the arena or the index but
    /// never past the budget (nor past the 4 GiB an entry can address); false when the
    /// room is not there.
    fn grow(&mut self, need: usize) -> bool {
        let ent = std::mem::size_of::<Entry>();
        let cap = self.index.capacity();
        let index_cap = if self.index.len() < cap {
            cap
        } else if cap >= 1024 || 1024 * ent <= self.limit() {
            (cap * 2).max(1024)
        } else {
            // A share too small for the first 1,024 entries (a few KiB, as the small
            // sorters' shares are under a budget of a few MiB) takes an index of what half
            // of it holds, so that its runs hold many items and not one each.
            (self.limit() / 2 / ent).max(cap + 1)
        };
        let arena_min = self.arena.len() + need;
        let mut arena_cap = self.arena.capacity();
        if arena_min > arena_cap {
            // Doubling, else whatever the budget leaves beside the index.
            let left = self.limit().saturating_sub(index_cap * ent);
            arena_cap = (arena_cap * 2)
                .max(1 << 16)
                .min(left)
                .min(u32::MAX as usize);
        }
        if arena_cap < arena_min || arena_cap + index_cap * ent > self.limit() {
            return false;
        }
        self.arena.reserve_exact(arena_cap - self.arena.len());
        self.index.reserve_exact(index_cap - self.index.len());
        true
    }

    /// Hands the full buffer to a thread that sorts and writes it as a run, and goes on
    /// with the other buffer (the one the previous run was written from, emptied).
    fn spill_run(&mut self) -> io::Result<()> {
        let (mut arena, mut index) = self.wait()?.unwrap_or_default();
        arena.clear();
        index.clear();
        // Refilling memory already mapped costs no page faults, and it stays within the
        // budget either way.
        std::mem::swap(&mut arena, &mut self.arena);
        std::mem::swap(&mut index, &mut self.index);
        self.spill.spilled.fetch_add(1, AtomicOrdering::Relaxed);
        let path = self.spill.run_path();
        self.runs.push(path.clone());
        if index.len() < BACKGROUND_MIN {
            // A tiny run (a tiny budget) costs less to write than a thread to start.
            write_run(&path, &arena, &mut index)?;
            (self.arena, self.index) = (arena, index);
            self.arena.clear();
            self.index.clear();
            return Ok(());
        }
        self.in_flight = arena.capacity() + index.capacity() * std::mem::size_of::<Entry>();
        let thread = std::thread::Builder::new()
            .name("spill".into())
            .spawn(move || {
                write_run(&path, &arena, &mut index)?;
                Ok((arena, index))
            })?;
        self.writing = Some(thread);
        Ok(())
    }

    /// Waits for the run in flight, if any: its error, or its buffers back. A panic there
    /// is raised here.
    fn wait(&mut self) -> io::Result<Option<(Vec<u8>, Vec<Entry>)>> {
        let Some(thread) = self.writing.take() else {
            return Ok(None);
        };
        self.in_flight = 0;
        let buffers = thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        Ok(Some(buffers))
    }

    /// The items in order, and how many runs were spilled.
    pub(crate) fn finish(mut self) -> io::Result<(Sorted<T>, usize)> {
        if self.runs.is_empty() {
            sort_entries(&self.arena, &mut self.index);
            let held = Held {
                arena: std::mem::take(&mut self.arena),
                index: std::mem::take(&mut self.index).into_iter(),
            };
            return Ok((Sorted::Memory(held, std::marker::PhantomData), 0));
        }
        if !self.index.is_empty() {
            self.spill_run()?;
        }
        // Give the buffers back before the merge reads.
        self.wait()?;
        self.arena = Vec::new();
        self.index = Vec::new();
        let spilled = self.runs.len();
        let mut runs = std::mem::take(&mut self.runs);
        // Merging runs into one and writing it again costs a pass over their bytes, so the
        // first group is only as large as needed for every later group (and the final
        // merge) to take `fan_in` runs: with 16, 17 runs merge 2, then 16, not 16 then 2.
        let fan_in = self.spill.fan_in();
        let mut group_len = first_group_len(runs.len(), fan_in);
        while runs.len() > fan_in {
            let group: Vec<PathBuf> = runs.drain(..group_len).collect();
            group_len = fan_in;
            let path = self.spill.run_path();
            let mut merged = Merge::open(group)?;
            let mut w = BufWriter::with_capacity(RUN_BUFFER, File::create(&path)?);
            while let Some(frame) = merged.next_frame()? {
                w.write_all(&(frame.len() as u32).to_le_bytes())?;
                w.write_all(frame)?;
            }
            w.flush()?;
            runs.push(path);
        }
        Ok((Sorted::Merge(Merge::open(runs)?), spilled))
    }
}

/// How many of `runs` runs to merge first so that every later merge takes `fan_in` runs
/// and the last one exactly `fan_in` (each merge of k runs leaves k - 1 fewer).
fn first_group_len(runs: usize, fan_in: usize) -> usize {
    if runs > fan_in {
        (runs - fan_in - 1) % (fan_in - 1) + 2
    } else {
        fan_in
    }
}

/// A sorter's items that never left memory, in order.
pub(crate) struct Held {
    arena: Vec<u8>,
    index: std::vec::IntoIter<Entry>,
}

/// A sorter's output, from memory or merged from runs; or a sequence file read back.
pub(crate) enum Sorted<T> {
    Memory(Held, std::marker::PhantomData<fn() -> T>),
    Merge(Merge),
    File(RunReader),
    /// Merged ahead on a thread of its own ([`Sorted::prefetch`]).
    Ahead(Prefetch),
}

impl<T> Sorted<T> {
    /// The next frame in order.
    pub(super) fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        let frame = match self {
            Sorted::Ahead(p) => return p.next_frame(),
            Sorted::Memory(held, _) => match held.index.next() {
                Some(e) => e.bytes(&held.arena),
                None => {
                    // Drained: the arena goes back now, not when the pass ends.
                    held.arena = Vec::new();
                    return Ok(None);
                }
            },
            Sorted::Merge(m) => return m.next_frame(),
            Sorted::File(r) => {
                if !r.advance()? {
                    return Ok(None);
                }
                r.frame()
            }
        };
        Ok(Some(frame))
    }
}

impl<T> Sorted<T> {
    /// Whether [`Sorted::peek_in_place`] can look at the next frame where it lies.
    pub(super) fn peeks_in_place(&self) -> bool {
        matches!(self, Sorted::Ahead(_) | Sorted::Memory(..))
    }

    /// The next frame, not taken: streams held in memory or merged ahead only (see
    /// [`Sorted::peeks_in_place`]); `None` for the others and at the end.
    pub(super) fn peek_in_place(&mut self) -> io::Result<Option<&[u8]>> {
        match self {
            Sorted::Ahead(p) => p.peek_frame(),
            Sorted::Memory(held, _) => {
                Ok(held.index.as_slice().first().map(|e| e.bytes(&held.arena)))
            }
            Sorted::Merge(_) | Sorted::File(_) => Ok(None),
        }
    }

    /// Takes the frame [`Sorted::peek_in_place`] returned.
    pub(super) fn skip_in_place(&mut self) {
        match self {
            Sorted::Ahead(p) => p.skip_frame(),
            Sorted::Memory(held, _) => {
                held.index.next();
            }
            Sorted::Merge(_) | Sorted::File(_) => {}
        }
    }
}

impl<T: Codec> Sorted<T> {
    pub(crate) fn next_item(&mut self) -> io::Result<Option<T>> {
        let Some(frame) = self.next_frame()? else {
            return Ok(None);
        };
        let mut d = Dec::new(frame);
        let item = T::decode(&mut d);
        d.finish()?;
        Ok(Some(item))
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

impl<T: Codec> Peek<T> {
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

/// Removes the spill directory and whatever runs are left in it.
pub(crate) fn remove(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::{put_key_str, put_u32};
    use super::*;

    #[derive(PartialEq, Eq, PartialOrd, Ord, Debug, Clone)]
    struct Item(u32, String);

    impl Codec for Item {
        fn encode(&self, out: &mut Vec<u8>) {
            put_u32(out, self.0);
            put_key_str(out, &self.1);
        }
        fn decode(d: &mut Dec<'_>) -> Item {
            Item(d.u32(), d.key_str())
        }
    }

    fn drain(mut out: Sorted<Item>) -> Vec<Item> {
        let mut got = Vec::new();
        while let Some(i) = out.next_item().unwrap() {
            got.push(i);
        }
        got
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
        let (out, runs) = s.finish().unwrap();
        let got = drain(out);
        let left = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(left, 0, "every run is deleted once read");
        remove(&dir).unwrap();
        (got, runs)
    }

    fn items() -> Vec<Item> {
        // A seeded LCG, so the test is deterministic; short strings with NULs and shared
        // prefixes, so ties on the 16-byte prefix and escaped bytes are both exercised.
        let mut x = 12345u64;
        (0..5000)
            .map(|i| {
                crate::build::lcg(&mut x);
                let tail = match (x >> 20) % 4 {
                    0 => String::new(),
                    1 => "\0".to_string(),
                    2 => format!("same-long-prefix-{}", i % 7),
                    _ => format!("v{i}"),
                };
                Item((x >> 40) as u32 % 97, tail)
            })
            .collect()
    }

    #[test]
    fn cmp_bytes_agrees_with_slice_order() {
        // Seeded: short strings over a tiny alphabet, so equal prefixes of every length
        // (across and inside 8-byte chunks) and proper prefixes are common.
        let mut x = 99u64;
        let mut next = || crate::build::lcg(&mut x) >> 33;
        let words: Vec<Vec<u8>> = (0..400)
            .map(|_| {
                let len = next() as usize % 24;
                (0..len)
                    .map(|_| [0u8, 1, 0xFF][next() as usize % 3])
                    .collect()
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(cmp_bytes(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn spilled_and_in_memory_sorts_agree() {
        let items = items();
        let mut want = items.clone();
        want.sort();
        let (mem, runs) = sorted_with(usize::MAX, &items);
        assert_eq!(runs, 0);
        assert_eq!(mem, want);
        // 512 bytes a run: hundreds of runs, so merges of merges (FAN_IN) are exercised.
        let (spilled, runs) = sorted_with(512, &items);
        assert!(runs > FAN_IN_MIN * FAN_IN_MIN, "{runs} runs");
        assert_eq!(spilled, want);
    }

    #[test]
    fn a_prefetched_stream_is_the_same_stream() {
        let items = items();
        let mut want = items.clone();
        want.sort();
        for budget in [usize::MAX, 512] {
            let dir = std::env::temp_dir().join(format!(
                "credgate-spill-ahead-{}-{budget}",
                std::process::id()
            ));
            let spill = SpillDir::new(dir.clone(), budget).unwrap();
            let mut s = spill.sorter::<Item>();
            for i in &items {
                s.push(i.clone()).unwrap();
            }
            let (out, _) = s.finish().unwrap();
            assert_eq!(drain(out.prefetch()), want);
            remove(&dir).unwrap();
        }
    }

    #[test]
    fn a_small_share_spills_runs_of_many_items_not_one_each() {
        // 8 KiB a sorter, 4 KiB a buffer: less than the 1,024 entries (24 KiB) an index
        // first takes. Every item once went alone into a run of its own.
        let items = items();
        let (got, runs) = sorted_with(8 << 10, &items);
        let mut want = items.clone();
        want.sort();
        assert_eq!(got, want);
        assert!(
            runs > 1 && runs < items.len() / 20,
            "{runs} runs for {} items",
            items.len()
        );
    }

    #[test]
    fn the_budget_bounds_what_a_sorter_holds() {
        let dir = std::env::temp_dir().join(format!("credgate-spill-held-{}", std::process::id()));
        let budget = 1 << 20;
        let spill = SpillDir::new(dir.clone(), budget).unwrap();
        let mut s = spill.sorter::<Item>();
        for i in 0..200_000u32 {
            s.push(Item(i.wrapping_mul(2654435761), format!("{i}")))
                .unwrap();
            // The buffer being filled and the one being written, together.
            let held = s.held_in_all();
            assert!(held <= budget, "{held} bytes held");
        }
        // Each run fills most of its half of the budget: about 34 bytes an item (22
        // encoded, 24 of index less the half-empty slack) in 512 KiB is over 10,000 items.
        assert!(
            !s.runs.is_empty() && s.runs.len() < 40,
            "{} runs",
            s.runs.len()
        );
        let (out, _) = s.finish().unwrap();
        let got = drain(out);
        assert_eq!(got.len(), 200_000);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        remove(&dir).unwrap();
    }

    #[test]
    fn an_error_writing_a_run_fails_the_sorter_instead_of_hanging() {
        let dir = std::env::temp_dir().join(format!("credgate-spill-err-{}", std::process::id()));
        let spill = SpillDir::new(dir.clone(), 1 << 20).unwrap();
        let mut s = spill.sorter::<Item>();
        // The runs' directory disappears: the writer thread cannot create its file.
        remove(&dir).unwrap();
        let mut result = Ok(());
        for i in 0..200_000u32 {
            result = s.push(Item(i, format!("item {i}")));
            if result.is_err() {
                break;
            }
        }
        let err = match result {
            Err(e) => e,
            Ok(()) => match s.finish() {
                Err(e) => e,
                Ok(_) => panic!("a sorter whose runs cannot be written succeeded"),
            },
        };
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    }

    #[test]
    fn merges_of_merges_rewrite_as_few_runs_as_needed() {
        // 17 runs (FAN_IN_MIN + 1, a small budget's fan-in): the first group merges only 2
        // of them, then the final merge reads 16; the items still come out in order.
        let dir = std::env::temp_dir().join(format!("credgate-spill-fan-{}", std::process::id()));
        let spill = SpillDir::new(dir.clone(), 1 << 16).unwrap();
        assert_eq!(spill.fan_in(), FAN_IN_MIN);
        let mut s = spill.sorter::<Item>();
        let mut i = 0u32;
        while s.runs.len() < FAN_IN_MIN + 1 {
            s.push(Item(i.wrapping_mul(2654435761) % 1000, format!("{i}")))
                .unwrap();
            i += 1;
        }
        let (out, runs) = s.finish().unwrap();
        assert!(runs > FAN_IN_MIN);
        let got = drain(out);
        assert_eq!(got.len(), i as usize);
        assert!(got.windows(2).all(|w| w[0] <= w[1]));
        remove(&dir).unwrap();

        assert_eq!(first_group_len(17, 16), 2);
        assert_eq!(first_group_len(18, 16), 3);
        assert_eq!(first_group_len(31, 16), 16);
        assert_eq!(first_group_len(32, 16), 2);
        assert_eq!(first_group_len(40, 64), 64);
        for fan_in in [FAN_IN_MIN, 23, FAN_IN_MAX] {
            for n in fan_in + 1..10 * fan_in {
                // Simulate the merges: every group after the first is full, and the final
                // merge reads exactly `fan_in` runs.
                let (mut left, mut group) = (n, first_group_len(n, fan_in));
                let mut groups = Vec::new();
                while left > fan_in {
                    groups.push(group);
                    left = left - group + 1;
                    group = fan_in;
                }
                assert_eq!(left, fan_in, "{n} runs");
                assert!(groups[1..].iter().all(|&g| g == fan_in), "{n}: {groups:?}");
            }
        }
    }

    #[test]
    fn the_fan_in_grows_with_the_budget_within_its_bounds() {
        let dir = std::env::temp_dir().join(format!("credgate-spill-fanin-{}", std::process::id()));
        let fan_in = |per_sorter: usize| SpillDir::new(dir.clone(), per_sorter).unwrap().fan_in();
        // The default budget's share (2 GiB / 10), a 256 MiB budget's, and extremes.
        assert_eq!(fan_in((2usize << 30) / 10), FAN_IN_MAX);
        assert_eq!(fan_in((256usize << 20) / 10), FAN_IN_MIN);
        assert_eq!(fan_in(1), FAN_IN_MIN);
        assert_eq!(fan_in(usize::MAX), FAN_IN_MAX);
        assert_eq!(fan_in(8 * RUN_BUFFER * 40), 40);
        remove(&dir).unwrap();
    }

    #[test]
    fn a_merge_of_many_runs_in_one_group_is_in_order() {
        // Over FAN_IN_MIN runs with a fan-in that takes them all at once: no rewrite.
        let dir = std::env::temp_dir().join(format!("credgate-spill-wide-{}", std::process::id()));
        let mut spill = SpillDir::new(dir.clone(), 1 << 16).unwrap();
        spill.fan_in = FAN_IN_MAX;
        let mut items: Vec<Item> = (0..5)
            .flat_map(|k| {
                items()
                    .into_iter()
                    .map(move |i| Item(i.0, format!("{}{k}", i.1)))
            })
            .collect();
        let mut s = spill.sorter::<Item>();
        for i in &items {
            s.push(i.clone()).unwrap();
        }
        items.sort();
        let (out, runs) = s.finish().unwrap();
        assert!(runs > FAN_IN_MIN && runs <= FAN_IN_MAX, "{runs} runs");
        // Nothing was merged into a run of its own before the final merge.
        assert!(matches!(&out, Sorted::Merge(m) if m.runs() == runs));
        assert_eq!(drain(out), items);
        remove(&dir).unwrap();
    }

    #[test]
    fn frames_larger_than_a_run_reader_buffer_merge_in_order() {
        // Frames larger than a run reader's RUN_BUFFER are read past its buffer; between
        // them, small frames straddle the buffer's refills.
        let mut items = items();
        let mut x = 7u64;
        for i in 0..12 {
            crate::build::lcg(&mut x);
            let len = RUN_BUFFER + (x >> 40) as usize % RUN_BUFFER;
            items.push(Item(
                (x >> 33) as u32 % 97,
                "w".repeat(len) + &i.to_string(),
            ));
        }
        let mut want = items.clone();
        want.sort();
        let (spilled, runs) = sorted_with(4 * RUN_BUFFER, &items);
        assert!(runs > 2, "{runs} runs");
        assert_eq!(spilled, want);
    }

    #[test]
    fn a_run_that_ends_inside_a_frame_is_an_error_not_an_end() {
        let dir = crate::testing::fresh_dir("spill-cut");
        let whole = [&5u32.to_le_bytes()[..], b"abcde"].concat();
        for (cut, what) in [(whole.len() + 2, "a length"), (whole.len() + 7, "a body")] {
            let mut bytes = [&whole[..], &whole[..]].concat();
            bytes.truncate(cut);
            let path = dir.join(format!("cut-{cut}"));
            std::fs::write(&path, &bytes).unwrap();
            let mut r = RunReader::open(path.clone()).unwrap();
            assert!(r.advance().unwrap());
            assert_eq!(r.frame(), b"abcde");
            let err = r.advance().expect_err(what);
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{what}");
            assert!(err.to_string().contains("ends inside a frame"), "{err}");
            assert!(path.exists(), "a cut run is not taken for read and removed");
        }
        remove(&dir).unwrap();
    }
}
