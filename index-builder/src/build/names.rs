//! The subjects' names and the names index, on a thread beside the table writer.
//!
//! A subject's name (its newest record's subject_name, else its first link's person_name)
//! depends only on the two name-offer streams and the subject order, not on anything the
//! table writer (pass 5) computes. So this thread decides each name, hands it to pass 5
//! through a bounded channel ([`NameFeed`]), and sorts the normalised names itself. Once
//! every subject is named it merges them and writes names.fst and names.post while pass 5
//! is still writing the tables. Before, pass 5 did all of it and the names index was built
//! afterwards on one thread with the other core idle: about a tenth of a 10M build.
//!
//! Errors stop both sides: when this thread fails it drops its sender, and pass 5's next
//! name is an error (the build reports this thread's error); when pass 5 fails it drops
//! the feed, and this thread's next send finds nobody listening and returns without
//! writing the index.

use std::io;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::checks::Conflicts;
use super::codec::Dec;
use super::items::{NameEntry, NameOffer, Subject};
use super::sink::Sink;
use super::spill::{read_seq, Sorter, SpillDir};
use super::views::{Frames, NameView};
use crate::format::fstw::FstWriter;
use crate::format::layout;
use crate::format::FileKind;
use crate::manifest::FileEntry;
use crate::names::normalize_name_into;

/// Bytes of name text a batch carries: enough that the channel costs little per name.
const BATCH_BYTES: usize = 64 << 10;
/// Names a batch carries at most (the offsets are 8 bytes each).
const BATCH_NAMES: usize = 8192;
/// What one queued batch may hold in memory: its text (reserved once, so it does not
/// double) and its offsets.
const BATCH_HELD: usize = 2 * BATCH_BYTES;

/// The names of consecutive subjects, back to back.
#[derive(Default)]
struct Batch {
    text: String,
    ends: Vec<usize>,
}

/// The sending side, on the names thread.
pub(crate) struct NameSender {
    tx: SyncSender<Batch>,
    batch: Batch,
}

/// The receiving side, in pass 5: the subjects' names in ordinal order.
pub(crate) struct NameFeed {
    rx: Receiver<Batch>,
    batch: Batch,
    next: usize,
}

/// A connected sender and feed that queue up to about `held` bytes of names.
///
/// The names thread should run far ahead of pass 5: its own share of the work (deciding
/// and sorting the names) is light, and the heavy part, merging the names and writing
/// names.fst, only starts once every subject is named. With a short queue it moved in
/// step with pass 5 and the index was again written after the tables, on one core. The
/// queue is bounded by bytes, a sorter's share of the memory budget, so it stays within it.
pub(crate) fn channel(held: usize) -> (NameSender, NameFeed) {
    let (tx, rx) = sync_channel((held / BATCH_HELD).max(2));
    (
        NameSender {
            tx,
            batch: Batch::default(),
        },
        NameFeed {
            rx,
            batch: Batch::default(),
            next: 0,
        },
    )
}

impl NameSender {
    /// Queues the next subject's name; false once the feed is gone (pass 5 stopped).
    pub(crate) fn send(&mut self, name: &str) -> bool {
        if self.batch.text.capacity() == 0 {
            self.batch.text.reserve(BATCH_BYTES + 256);
        }
        self.batch.text.push_str(name);
        self.batch.ends.push(self.batch.text.len());
        let full = self.batch.text.len() >= BATCH_BYTES || self.batch.ends.len() >= BATCH_NAMES;
        !full || self.flush()
    }

    /// Sends what is queued; false once the feed is gone.
    pub(crate) fn flush(&mut self) -> bool {
        if self.batch.ends.is_empty() {
            return true;
        }
        let batch = std::mem::take(&mut self.batch);
        self.tx.send(batch).is_ok()
    }
}

impl NameFeed {
    /// The next subject's name. An error when the names thread stopped before naming it:
    /// the build then reports that thread's own error.
    pub(crate) fn next_name(&mut self) -> io::Result<&str> {
        if self.next == self.batch.ends.len() {
            self.batch = self.rx.recv().map_err(|_| {
                io::Error::other("the subject names thread stopped before naming every subject")
            })?;
            self.next = 0;
        }
        let start = match self.next {
            0 => 0,
            i => self.batch.ends[i - 1],
        };
        let end = self.batch.ends[self.next];
        self.next += 1;
        Ok(&self.batch.text[start..end])
    }
}

/// What the names thread reads: the offers of pass 3 and pass 0, and the type conflicts
/// (a conflicting link offers no name).
pub(crate) struct NameInputs<'s> {
    pub(crate) record_names: Sorter<'s, NameOffer>,
    pub(crate) link_names: Sorter<'s, NameOffer>,
    pub(crate) conflicts: &'s Conflicts,
}

/// Names every subject of the subject file in order, sending each name to pass 5, then
/// writes names.fst and names.post into `dir`. `None` when pass 5 stopped listening (it
/// failed; the build reports its error and writes no index).
pub(crate) fn name_subjects(
    spill: &SpillDir,
    dir: &Path,
    subjects: &Path,
    inputs: NameInputs<'_>,
    mut out: NameSender,
) -> io::Result<Option<(Vec<FileEntry>, u64)>> {
    let mut record_names = Frames::new(inputs.record_names.finish()?.0.prefetch());
    let mut link_names = Frames::new(inputs.link_names.finish()?.0.prefetch());
    let mut names = spill.sorter::<NameEntry>();
    let mut name_text = String::new();
    let mut normalized = String::new();
    let mut scratch = Vec::new();
    let mut subs = read_seq::<Subject>(subjects)?;
    let mut ord = 0u32;
    while let Some(s) = subs.next_item()? {
        // The newest record's name, else the first link's. Offers are sorted by subject id
        // first, so a subject's offers are the frames that begin with its id. Those before
        // it are of a subject dropped for want of an accepted row (see `support`): a copy
        // of a record whose copies differ and a rejected link offer names too.
        skip_before(&mut record_names, &s.id)?;
        skip_before(&mut link_names, &s.id)?;
        let mut named = false;
        name_text.clear();
        while let Some(frame) = record_names.peek()? {
            if !frame.starts_with(&s.id) {
                break;
            }
            let n = NameView::of_frame(frame)?;
            name_text.clear();
            name_text.push_str(&n.name);
            named = true;
            record_names.advance();
        }
        while let Some(frame) = link_names.peek()? {
            if !frame.starts_with(&s.id) {
                break;
            }
            let n = NameView::of_frame(frame)?;
            if !named && !inputs.conflicts.contains(n.seq) {
                name_text.push_str(&n.name);
                named = true;
            }
            link_names.advance();
        }
        normalized.clear();
        normalize_name_into(&name_text, &mut normalized);
        if !normalized.is_empty() {
            scratch.clear();
            NameEntry::encode_parts(&normalized, ord, &mut scratch);
            names.push_encoded(&scratch)?;
        }
        if !out.send(&name_text) {
            return Ok(None);
        }
        ord += 1;
    }
    if !out.flush() {
        return Ok(None);
    }
    drop(out);
    write_names(dir, names).map(Some)
}

/// Skips the offers, which begin with their subject's id, of ids before `id`.
fn skip_before<T>(offers: &mut Frames<T>, id: &[u8; 18]) -> io::Result<()> {
    while let Some(frame) = offers.peek()? {
        if frame.get(..id.len()).is_some_and(|f| f >= &id[..]) {
            break;
        }
        offers.advance();
    }
    Ok(())
}

/// names.fst and its postings from the (normalised name, ordinal) entries, read in place
/// from their frames (no string is decoded per entry, only each distinct name once, for
/// the FST); returns the files' entries and the number of names.
pub(crate) fn write_names(
    dir: &Path,
    names: Sorter<'_, NameEntry>,
) -> io::Result<(Vec<FileEntry>, u64)> {
    let mut frames = Frames::new(names.finish()?.0.prefetch());
    let mut postings = Sink::create(dir, FileKind::Postings)?;
    let mut w = Sink::create(dir, FileKind::Names)?;
    let mut count = 0u64;
    // The current name as encoded (escaped and terminated: equal names, equal bytes), and
    // as the FST takes it.
    let mut key = Vec::new();
    let mut name = Vec::new();
    {
        let mut b = FstWriter::new(&mut w)?;
        while let Some(frame) = frames.peek()? {
            let (k, ord) = split_entry(frame)?;
            key.clear();
            key.extend_from_slice(k);
            let start = postings.rows;
            postings.put(|p| p.extend_from_slice(&ord.to_le_bytes()))?;
            frames.advance();
            while let Some(frame) = frames.peek()? {
                let (k, ord) = split_entry(frame)?;
                if k != key.as_slice() {
                    break;
                }
                postings.put(|p| p.extend_from_slice(&ord.to_le_bytes()))?;
                frames.advance();
            }
            let n = postings.rows - start;
            count += n;
            unescape_key(&key, &mut name);
            b.insert(&name, layout::posting_value(start, n as u32))?;
        }
        b.finish()?;
    }
    let (names, postings) = (w.finish()?, postings.finish()?);
    Ok((vec![names.wait()?, postings.wait()?], count))
}

/// A `NameEntry` frame's encoded name (terminator included) and ordinal.
fn split_entry(frame: &[u8]) -> io::Result<(&[u8], u32)> {
    let n = frame.len();
    if n < 6 || frame[n - 6..n - 4] != [0, 0] {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a names entry of {n} bytes in the spill directory is damaged (no name \
                 terminator before its ordinal); was the directory written by another \
                 process? Run the build again"
            ),
        ));
    }
    let ord = u32::from_be_bytes(frame[n - 4..].try_into().expect("4 bytes"));
    Ok((&frame[..n - 4], ord))
}

/// The name bytes of an encoded key (see `codec::put_key_str`), as the names FST takes them.
fn unescape_key(key: &[u8], out: &mut Vec<u8>) {
    out.clear();
    Dec::new(key).key_bytes_into(out);
}

#[cfg(test)]
mod tests {
    use super::super::spill;
    use super::*;
    use crate::testing::fresh_dir;
    use std::collections::BTreeMap;

    #[test]
    fn the_feed_hands_over_every_name_in_order() {
        let (mut tx, mut feed) = channel(4 * BATCH_HELD);
        // More than a batch, empty names among them, and multi-byte text across batches.
        let names: Vec<String> = (0..3 * BATCH_NAMES + 5)
            .map(|i| match i % 3 {
                0 => String::new(),
                1 => format!("张三{i}"),
                _ => format!("name {i}"),
            })
            .collect();
        let sent = names.clone();
        let sender = std::thread::spawn(move || {
            for n in &sent {
                assert!(tx.send(n));
            }
            assert!(tx.flush());
        });
        for want in &names {
            assert_eq!(feed.next_name().unwrap(), want);
        }
        sender.join().unwrap();
        // The sender is gone: asking for more is an error, not a wait.
        assert!(feed.next_name().is_err());
    }

    #[test]
    fn a_sender_whose_feed_is_gone_stops_instead_of_blocking() {
        let (mut tx, feed) = channel(4 * BATCH_HELD);
        drop(feed);
        // The first full batch finds nobody listening.
        let stopped = (0..BATCH_NAMES * 8).any(|i| !tx.send(&format!("n{i}")));
        assert!(stopped);
    }

    #[test]
    fn a_failing_names_thread_fails_pass_5_instead_of_hanging() {
        let dir = fresh_dir("names-fail");
        let spill = SpillDir::new(dir.join("spill"), 1 << 20).unwrap();
        let conflicts = Conflicts::default();
        let (tx, mut feed) = channel(4 * BATCH_HELD);
        let inputs = NameInputs {
            record_names: spill.sorter(),
            link_names: spill.sorter(),
            conflicts: &conflicts,
        };
        // No subject file: the thread fails at once; the feed then errors.
        let missing = dir.join("no-such-subjects");
        let result = std::thread::scope(|scope| {
            let t = scope.spawn(|| name_subjects(&spill, &dir, &missing, inputs, tx));
            assert!(feed.next_name().is_err());
            t.join().unwrap()
        });
        let err = result.expect_err("the thread reports its error");
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        spill::remove(&dir).unwrap();
    }

    #[test]
    fn unescaping_gives_back_the_name() {
        for name in ["", "a", "a\0b", "\0", "\0\0x", "x\0"] {
            let mut key = Vec::new();
            super::super::codec::put_key_str(&mut key, name);
            let mut out = Vec::new();
            unescape_key(&key, &mut out);
            assert_eq!(out, name.as_bytes(), "{name:?}");
        }
    }

    /// names.fst and names.post as a map from each name to its sorted ordinals would give.
    fn check_index(budget: usize, entries: &[(String, u32)]) {
        let dir = fresh_dir(&format!("names-index-{budget}"));
        let spill = SpillDir::new(dir.join("spill"), budget).unwrap();
        let mut sorter = spill.sorter::<NameEntry>();
        for (name, ord) in entries {
            sorter
                .push(NameEntry {
                    name: name.clone(),
                    ord: *ord,
                })
                .unwrap();
        }
        let (files, count) = write_names(&dir, sorter).unwrap();
        assert_eq!(count, entries.len() as u64);
        assert_eq!(files.len(), 2);
        let mut want: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (name, ord) in entries {
            want.entry(name).or_default().push(*ord);
        }
        let payload = |kind: FileKind| {
            let bytes = std::fs::read(dir.join(kind.file_name())).unwrap();
            bytes[32..].to_vec()
        };
        let map = fst::Map::new(payload(FileKind::Names)).unwrap();
        let post = payload(FileKind::Postings);
        let ords: Vec<u32> = post
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(map.len(), want.len());
        let mut stream = map.stream();
        let mut got = Vec::new();
        while let Some((k, v)) = fst::Streamer::next(&mut stream) {
            let (start, n) = ((v & ((1 << 40) - 1)) as usize, (v >> 40) as usize);
            let mut o = ords[start..start + n].to_vec();
            o.sort_unstable();
            got.push((String::from_utf8(k.to_vec()).unwrap(), o));
        }
        let want: Vec<(String, Vec<u32>)> = want
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                (k.to_string(), v)
            })
            .collect();
        assert_eq!(got, want);
        spill::remove(&dir).unwrap();
    }

    #[test]
    fn the_names_index_read_in_place_matches_the_names() {
        // Seeded: a small alphabet with NULs, so shared names, names that begin others
        // and escaped bytes are all common; in memory and through hundreds of runs.
        let mut x = 41u64;
        let mut next = || crate::build::lcg(&mut x) >> 33;
        let entries: Vec<(String, u32)> = (0..4000u32)
            .map(|ord| {
                let len = 1 + next() as usize % 5;
                let name: String = (0..len)
                    .map(|_| ['a', 'b', '\0', '名'][next() as usize % 4])
                    .collect();
                (name, ord)
            })
            .collect();
        check_index(usize::MAX, &entries);
        check_index(1024, &entries);
    }
}
