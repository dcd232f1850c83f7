//! The subjects' identifiers, handed from pass 1 to the ids thread as pass 1 finds them.
//!
//! ids.fst and ids.idx need only the subjects in identifier order, which pass 1 produces.
//! The ids thread used to start once pass 1 was done and read the subject file back; pass 1
//! runs on one thread (merging the mentions), so the other core idled through it, and the
//! ids thread then competed with passes 3 and 4, which keep both cores busy. Fed as pass 1
//! goes, it builds ids.fst on the idle core. The queue is bounded by bytes (a sorter's
//! share of the memory budget); when it is full pass 1 waits.
//!
//! Pass 1's subjects are those some row names; when passes 3 and 4 reject every row that
//! names one, the build drops it (`support`) and writes the two files again, from the
//! subjects that remain. That costs a second build of them, but only then.
//!
//! A feed closed without [`IdSender::finish`] (pass 1 failed) is an error on the ids side,
//! never a short ids.fst; an ids thread that failed makes the sends no-ops, and the build
//! reports its error when it joins it.

use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Identifiers a batch carries.
const BATCH_IDS: usize = 8192;

enum Msg {
    Ids(Vec<[u8; 18]>),
    End,
}

/// Pass 1's side.
pub(crate) struct IdSender {
    tx: SyncSender<Msg>,
    batch: Vec<[u8; 18]>,
    closed: bool,
}

/// The ids thread's side: `(identifier, ordinal)` in order, as `write_ids_from` takes them.
pub(crate) struct IdFeed {
    rx: Receiver<Msg>,
    batch: std::vec::IntoIter<[u8; 18]>,
    next_ord: u64,
    ended: bool,
}

/// A connected sender and feed that queue up to about `held` bytes of identifiers.
pub(crate) fn channel(held: usize) -> (IdSender, IdFeed) {
    let per_batch = BATCH_IDS * std::mem::size_of::<[u8; 18]>();
    let (tx, rx) = sync_channel((held / per_batch).max(2));
    (
        IdSender {
            tx,
            batch: Vec::with_capacity(BATCH_IDS),
            closed: false,
        },
        IdFeed {
            rx,
            batch: Vec::new().into_iter(),
            next_ord: 0,
            ended: false,
        },
    )
}

impl IdSender {
    /// Queues the next subject's identifier (its ordinal is its place in the sequence).
    pub(crate) fn send(&mut self, id: [u8; 18]) {
        self.batch.push(id);
        if self.batch.len() >= BATCH_IDS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_IDS));
        if !self.closed && !batch.is_empty() && self.tx.send(Msg::Ids(batch)).is_err() {
            // The ids thread failed; the build reports why when it joins it.
            self.closed = true;
        }
    }

    /// Sends the last identifiers and marks the sequence complete.
    pub(crate) fn finish(mut self) {
        self.flush();
        if !self.closed {
            let _ = self.tx.send(Msg::End);
        }
    }
}

impl Iterator for IdFeed {
    type Item = io::Result<([u8; 18], u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(id) = self.batch.next() {
                let ord = self.next_ord;
                self.next_ord += 1;
                return Some(Ok((id, ord)));
            }
            if self.ended {
                return None;
            }
            match self.rx.recv() {
                Ok(Msg::Ids(batch)) => self.batch = batch.into_iter(),
                Ok(Msg::End) => {
                    self.ended = true;
                    return None;
                }
                Err(_) => {
                    self.ended = true;
                    return Some(Err(io::Error::other(
                        "the subjects pass stopped before its last subject",
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u32) -> [u8; 18] {
        let mut id = [b'0'; 18];
        id[..10].copy_from_slice(format!("{i:010}").as_bytes());
        id
    }

    #[test]
    fn the_feed_numbers_the_identifiers_in_order() {
        let (mut tx, feed) = channel(1 << 20);
        let n = 3 * BATCH_IDS as u32 + 11;
        let sender = std::thread::spawn(move || {
            for i in 0..n {
                tx.send(id(i));
            }
            tx.finish();
        });
        let got: Vec<([u8; 18], u64)> = feed.map(Result::unwrap).collect();
        sender.join().unwrap();
        assert_eq!(got.len(), n as usize);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, (k, o))| *o == i as u64 && *k == id(i as u32)));
    }

    #[test]
    fn a_sender_dropped_unfinished_is_an_error_not_a_short_sequence() {
        let (mut tx, feed) = channel(1 << 20);
        for i in 0..BATCH_IDS as u32 + 5 {
            tx.send(id(i));
        }
        drop(tx);
        let items: Vec<_> = feed.collect();
        assert_eq!(items.len(), BATCH_IDS + 1);
        assert!(items[..BATCH_IDS].iter().all(|r| r.is_ok()));
        assert!(items[BATCH_IDS].is_err());
    }

    #[test]
    fn sends_after_the_feed_is_gone_neither_block_nor_fail() {
        let (mut tx, feed) = channel(0);
        drop(feed);
        for i in 0..10 * BATCH_IDS as u32 {
            tx.send(id(i));
        }
        tx.finish();
    }
}
