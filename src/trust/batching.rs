//! One Ed25519 signature for every receipt that arrives within a round, made on a signer
//! thread of its own.
//!
//! A request hands in its leaf hash ([`super::merkle::leaf_hash`] of its receipt message)
//! and waits for its proof. The signer thread sleeps on a condition variable while nothing
//! is pending. When leaves arrive it takes every one pending (up to [`MAX_BATCH`]), builds
//! their tree, signs its root once, and hands each waiter a [`Proof`]: its index and a
//! shared reference to the round (tree and signature), so a round of `n` costs one
//! signature, `n - 1` node hashes and `n` channel sends, and no per-leaf allocation on the
//! signer's side.
//!
//! Rounds start at least [`MIN_ROUND_INTERVAL`] apart. A signature costs about 27 µs of CPU
//! on the reference machine, longer than the gap between checks arriving at tens of
//! thousands a second, so a signer that started a round as soon as one leaf was pending
//! (plain group commit) would sign rounds of one or two leaves back to back and spend a
//! whole core doing it. Measured before this design, with a round started by the first
//! request to find the signer idle: 11–16k signatures a second, 30–50 µs of server CPU per
//! check on top of the open server's 26 µs, and the trusted server at 0.40–0.55 of the open
//! one's throughput. With the interval, signing costs at most one signature per interval
//! whatever the load (under 3 % of a core at 1 ms), each round covers the checks of about
//! one interval, and a check waits at most about one interval plus one signature for its
//! round. A check arriving when the last round started more than an interval ago (low
//! load) is signed at once. The pause is a plain `thread::sleep` on the signer thread: it
//! is finer than tokio's millisecond timer wheel, and no request thread sleeps.
//!
//! A request that goes away after queueing its leaf strands nothing: the signer thread owns
//! the pending leaves and signs them whether or not anyone waits. When the signer is
//! dropped the thread signs what is pending and stops; if it ever panicked, the requests
//! waiting and every later one get [`Unsigned`] instead of waiting for ever.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use super::merkle::{Hash, Tree};

/// Leaves signed by one signature at most, so audit paths stay short (≤ 12 hashes).
pub const MAX_BATCH: usize = 4096;

/// The least time from the start of one round to the start of the next (see the module
/// documentation).
pub const MIN_ROUND_INTERVAL: Duration = Duration::from_millis(1);

/// The bytes the signature of a round covers.
pub fn root_message(root: &Hash, leaves: u64) -> Vec<u8> {
    format!("credgate-receipt-root-v2\n{}\n{leaves}", super::hex(root)).into_bytes()
}

/// One signed round: the tree of its leaves and the signature over its root and size.
pub struct Round {
    tree: Tree,
    signature: [u8; 64],
}

impl Round {
    /// Builds the tree over `leaves` (not empty) and signs its root.
    pub fn sign(key: &SigningKey, leaves: Vec<Hash>) -> Arc<Round> {
        let tree = Tree::new(leaves);
        let signature = key
            .sign(&root_message(&tree.root(), tree.len() as u64))
            .to_bytes();
        Arc::new(Round { tree, signature })
    }
}

/// What a leaf's receipt needs from its round: its position, and the round it shares with
/// the other leaves signed with it.
#[derive(Clone)]
pub struct Proof {
    index: usize,
    round: Arc<Round>,
}

impl Proof {
    pub fn index(&self) -> u64 {
        self.index as u64
    }

    /// How many leaves the round signed.
    pub fn leaves(&self) -> u64 {
        self.round.tree.len() as u64
    }

    pub fn root(&self) -> Hash {
        self.round.tree.root()
    }

    pub fn signature(&self) -> &[u8; 64] {
        &self.round.signature
    }

    /// The audit path of the leaf, bottom first.
    pub fn path(&self) -> impl Iterator<Item = &Hash> + '_ {
        self.round.tree.path_iter(self.index)
    }
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proof")
            .field("index", &self.index)
            .field("leaves", &self.leaves())
            .finish_non_exhaustive()
    }
}

/// The signer went away without answering (it panicked): the request cannot get a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsigned;

impl std::fmt::Display for Unsigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the receipt signer failed; see the server log")
    }
}

impl std::error::Error for Unsigned {}

#[derive(Default)]
struct Queue {
    leaves: Vec<Hash>,
    waiters: Vec<oneshot::Sender<Proof>>,
    /// The signer thread is waiting on the condition variable and needs a notification.
    idle: bool,
    /// No more leaves are taken: the signer is being dropped, or its thread has died.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    rounds: AtomicU64,
    leaves: AtomicU64,
}

pub struct BatchSigner {
    key: SigningKey,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchSigner {
    /// Starts the signer thread, rounds at least [`MIN_ROUND_INTERVAL`] apart.
    pub fn new(key: SigningKey) -> Arc<BatchSigner> {
        BatchSigner::with_interval(key, MIN_ROUND_INTERVAL)
    }

    /// Starts the signer thread with rounds at least `interval` apart.
    pub fn with_interval(key: SigningKey, interval: Duration) -> Arc<BatchSigner> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            rounds: AtomicU64::new(0),
            leaves: AtomicU64::new(0),
        });
        let (k, s) = (key.clone(), shared.clone());
        let thread = std::thread::Builder::new()
            .name("receipt-signer".into())
            .spawn(move || run(&k, &s, interval));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // Without a thread no round would ever run: refuse leaves at once instead.
                tracing::error!(error = %e, "the receipt signer thread could not start");
                shared.queue.lock().closed = true;
                None
            }
        };
        Arc::new(BatchSigner {
            key,
            shared,
            thread,
        })
    }

    /// Queues `leaf` for the next round now, and returns the future of its proof. The leaf
    /// is signed whether or not the future is awaited or dropped.
    pub fn sign(&self, leaf: Hash) -> impl Future<Output = Result<Proof, Unsigned>> + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = {
            let mut q = self.shared.queue.lock();
            if q.closed {
                false
            } else {
                q.leaves.push(leaf);
                q.waiters.push(tx);
                if std::mem::take(&mut q.idle) {
                    self.shared.wake.notify_one();
                }
                true
            }
        };
        async move {
            if !queued {
                return Err(Unsigned);
            }
            rx.await.map_err(|_| Unsigned)
        }
    }

    /// Rounds signed and leaves they covered so far by the signer thread (for `/metrics`:
    /// their ratio is the mean round size).
    pub fn signed(&self) -> (u64, u64) {
        (
            self.shared.rounds.load(Relaxed),
            self.shared.leaves.load(Relaxed),
        )
    }

    /// Signs `leaves` (not empty) as one round on the calling thread: one tree, one
    /// signature, a proof each. For tools and tests that need a round of a known size.
    pub fn sign_leaves(&self, leaves: Vec<Hash>) -> Vec<Proof> {
        let round = Round::sign(&self.key, leaves);
        (0..round.tree.len())
            .map(|index| Proof {
                index,
                round: round.clone(),
            })
            .collect()
    }
}

impl Drop for BatchSigner {
    fn drop(&mut self) {
        self.shared.queue.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Closes the queue if the signer thread unwinds, so that no request waits for a round
/// that will never come.
struct CloseOnPanic<'a>(&'a Shared);

impl Drop for CloseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.queue.lock();
            q.closed = true;
            q.leaves.clear();
            // Dropping the senders answers their requests with `Unsigned`.
            q.waiters.clear();
        }
    }
}

/// The signer thread: waits for leaves, keeps rounds `interval` apart, signs everything
/// pending, and stops once closed with nothing pending.
fn run(key: &SigningKey, shared: &Shared, interval: Duration) {
    let _guard = CloseOnPanic(shared);
    let mut last_start: Option<Instant> = None;
    let mut waiters = Vec::new();
    loop {
        let closing = {
            let mut q = shared.queue.lock();
            while q.leaves.is_empty() {
                if q.closed {
                    return;
                }
                q.idle = true;
                shared.wake.wait(&mut q);
            }
            q.closed
        };
        if let Some(due) = last_start.map(|t| t + interval) {
            let now = Instant::now();
            if now < due && !closing {
                // Lets the checks of one interval gather into this round.
                std::thread::sleep(due - now);
            }
        }
        last_start = Some(Instant::now());
        let leaves = {
            let mut q = shared.queue.lock();
            let n = q.leaves.len().min(MAX_BATCH);
            waiters.extend(q.waiters.drain(..n));
            q.leaves.drain(..n).collect::<Vec<Hash>>()
        };
        let n = leaves.len() as u64;
        let round = Round::sign(key, leaves);
        shared.rounds.fetch_add(1, Relaxed);
        shared.leaves.fetch_add(n, Relaxed);
        for (index, w) in waiters.drain(..).enumerate() {
            // A waiter that has gone (its client hung up) needs nothing.
            let _ = w.send(Proof {
                index,
                round: round.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::merkle::{leaf_hash, root_from_path};
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    use std::collections::BTreeMap;

    /// Checks every proof against its leaf, its root and the signature, and that the rounds
    /// they name account for exactly these leaves: every index of every round is used once.
    fn check_all(vk: &VerifyingKey, signed: &[(Hash, Proof)]) {
        let mut rounds: BTreeMap<Hash, (u64, Vec<u64>)> = BTreeMap::new();
        for (leaf, p) in signed {
            let path: Vec<Hash> = p.path().copied().collect();
            let root = root_from_path(*leaf, p.index(), p.leaves(), &path).unwrap();
            assert_eq!(root, p.root());
            vk.verify(
                &root_message(&root, p.leaves()),
                &Signature::from_bytes(p.signature()),
            )
            .unwrap();
            let r = rounds.entry(root).or_insert((p.leaves(), Vec::new()));
            assert_eq!(r.0, p.leaves());
            r.1.push(p.index());
        }
        for (leaves, mut indexes) in rounds.into_values() {
            indexes.sort_unstable();
            assert_eq!(indexes, (0..leaves).collect::<Vec<_>>());
        }
    }

    fn leaf(i: u32) -> Hash {
        leaf_hash(&i.to_le_bytes())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_leaves_all_get_valid_proofs() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::new(key);
        let tasks: Vec<_> = (0..500u32)
            .map(|i| {
                let s = signer.clone();
                tokio::spawn(async move { (leaf(i), s.sign(leaf(i)).await.unwrap()) })
            })
            .collect();
        let mut signed = Vec::new();
        for t in tasks {
            signed.push(t.await.unwrap());
        }
        assert_eq!(signer.signed().1, 500);
        check_all(&vk, &signed);
    }

    #[test]
    fn signers_on_many_threads_share_rounds_that_all_verify() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let vk = key.verifying_key();
        // No pause between rounds, so rounds and submissions interleave as much as they can.
        let signer = BatchSigner::with_interval(key, Duration::ZERO);
        let signed: Vec<(Hash, Proof)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    let s = &signer;
                    scope.spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap();
                        // Each thread queues a burst of leaves, then awaits them all.
                        let pending: Vec<_> = (0..100u32)
                            .map(|i| (leaf(t * 1000 + i), s.sign(leaf(t * 1000 + i))))
                            .collect();
                        pending
                            .into_iter()
                            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(signed.len(), 800);
        assert_eq!(signer.signed().1, 800);
        check_all(&vk, &signed);
    }

    #[test]
    fn a_dropped_request_strands_no_leaf() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::new(key);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // Every other request hangs up before its round; its leaf is still signed, and the
        // requests queued after it are answered.
        let mut kept = Vec::new();
        for i in 0..200u32 {
            let f = signer.sign(leaf(i));
            if i % 2 == 0 {
                kept.push((leaf(i), f));
            }
        }
        let last = signer.sign(leaf(1000));
        let mut signed: Vec<(Hash, Proof)> = kept
            .into_iter()
            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
            .collect();
        signed.push((leaf(1000), rt.block_on(last).unwrap()));
        // Rounds take leaves in the order they came, so once the last one is answered every
        // leaf before it, dropped or not, has been signed.
        assert_eq!(signer.signed().1, 201);
        for (l, p) in &signed {
            let path: Vec<Hash> = p.path().copied().collect();
            assert_eq!(
                root_from_path(*l, p.index(), p.leaves(), &path),
                Some(p.root())
            );
            vk.verify(
                &root_message(&p.root(), p.leaves()),
                &Signature::from_bytes(p.signature()),
            )
            .unwrap();
        }
    }

    #[test]
    fn dropping_the_signer_signs_what_is_pending() {
        let key = SigningKey::from_bytes(&[6; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::new(key);
        let pending: Vec<_> = (0..50u32)
            .map(|i| (leaf(i), signer.sign(leaf(i))))
            .collect();
        drop(signer);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let signed: Vec<(Hash, Proof)> = pending
            .into_iter()
            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
            .collect();
        check_all(&vk, &signed);
    }

    #[test]
    fn rounds_signed_by_hand_cover_their_leaves_in_order() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::new(key);
        for n in [1u32, 2, 3, 64, 65] {
            let leaves: Vec<Hash> = (0..n).map(leaf).collect();
            let proofs = signer.sign_leaves(leaves.clone());
            assert_eq!(proofs.len(), n as usize);
            let signed: Vec<(Hash, Proof)> = leaves.into_iter().zip(proofs).collect();
            for (i, (_, p)) in signed.iter().enumerate() {
                assert_eq!((p.index(), p.leaves()), (i as u64, n as u64));
            }
            check_all(&vk, &signed);
        }
    }
}
