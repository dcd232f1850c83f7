//! One Ed25519 signature for every receipt that arrives while the previous one is being made.
//!
//! A request hands in its leaf hash ([`super::merkle::leaf_hash`] of its receipt message)
//! and waits for its proof. There is no signer thread and no timer: the first request to
//! find no signing round in progress runs one itself, right away, over whatever leaves are
//! pending (at low load just its own, so a lone check waits for nothing but its own
//! signature). Requests arriving meanwhile queue their leaves; when the round ends and more
//! are pending, the next round is spawned as a task, so a request never signs for others
//! longer than one round and its own answer is not held back.
//!
//! Rounds that follow one another under load start at least [`MIN_ROUND_INTERVAL`] apart.
//! Without that pause the next round would begin as soon as one leaf was pending, and since
//! a signature takes longer than the gap between arrivals at thousands of checks a second,
//! rounds would hold one or two leaves and signing would occupy a whole core (measured: the
//! signed server at half the open one's req/s). With it, signing costs at most one
//! signature per interval, each round covers the checks of about one interval, and a check
//! under load waits at most about one interval more; a check arriving while the signer is
//! idle is still signed at once. A round takes at most [`MAX_BATCH`] leaves so paths stay
//! short (≤ 12 hashes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::merkle::{Hash, Tree};

/// Leaves signed by one signature at most.
pub const MAX_BATCH: usize = 4096;

/// The least time from the start of one round to the start of the next while leaves keep
/// arriving (see the module documentation).
pub const MIN_ROUND_INTERVAL: Duration = Duration::from_millis(1);

/// What a leaf's receipt needs from its round.
#[derive(Clone, Debug)]
pub struct Proof {
    pub index: u64,
    pub leaves: u64,
    pub path: Vec<Hash>,
    pub root: Hash,
    pub signature: [u8; 64],
}

/// The bytes the signature of a round covers.
pub fn root_message(root: &Hash, leaves: u64) -> Vec<u8> {
    format!("credgate-receipt-root-v2\n{}\n{leaves}", super::hex(root)).into_bytes()
}

#[derive(Default)]
struct Pending {
    leaves: Vec<Hash>,
    waiters: Vec<oneshot::Sender<Proof>>,
    /// A round is running or spawned; whoever clears this last saw no leaves pending.
    signing: bool,
}

pub struct BatchSigner {
    key: SigningKey,
    pending: Mutex<Pending>,
}

/// The signer went away without answering (it panicked): the request cannot get a receipt.
#[derive(Debug)]
pub struct Unsigned;

impl std::fmt::Display for Unsigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the receipt signer failed; see the server log")
    }
}

impl std::error::Error for Unsigned {}

impl BatchSigner {
    pub fn new(key: SigningKey) -> Arc<BatchSigner> {
        Arc::new(BatchSigner {
            key,
            pending: Mutex::new(Pending::default()),
        })
    }

    /// Signs `leaf` in the next round and returns its proof.
    pub async fn sign(self: &Arc<Self>, leaf: Hash) -> Result<Proof, Unsigned> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut p = self.pending.lock();
            p.leaves.push(leaf);
            p.waiters.push(tx);
            !std::mem::replace(&mut p.signing, true)
        };
        if lead {
            // No await between queueing and this call, so a dropped request cannot leave
            // its leaf pending with no round to sign it.
            self.round();
        }
        rx.await.map_err(|_| Unsigned)
    }

    /// Signs `leaves` (not empty) as one round: one tree, one signature, a proof each.
    pub fn sign_leaves(&self, leaves: Vec<Hash>) -> Vec<Proof> {
        let n = leaves.len() as u64;
        let tree = Tree::new(leaves);
        let root = tree.root();
        let signature = self.key.sign(&root_message(&root, n)).to_bytes();
        (0..tree.len())
            .map(|i| Proof {
                index: i as u64,
                leaves: n,
                path: tree.path(i),
                root,
                signature,
            })
            .collect()
    }

    /// Signs what is pending, then hands any newer leaves to a fresh round.
    fn round(self: &Arc<Self>) {
        let started = Instant::now();
        let (leaves, waiters) = {
            let mut p = self.pending.lock();
            let n = p.leaves.len().min(MAX_BATCH);
            let leaves: Vec<Hash> = p.leaves.drain(..n).collect();
            let waiters: Vec<_> = p.waiters.drain(..n).collect();
            (leaves, waiters)
        };
        if !leaves.is_empty() {
            for (w, proof) in waiters.into_iter().zip(self.sign_leaves(leaves)) {
                // A waiter that has gone (its client hung up) needs nothing.
                let _ = w.send(proof);
            }
        }
        let more = {
            let mut p = self.pending.lock();
            if p.leaves.is_empty() {
                p.signing = false;
            }
            p.signing
        };
        if more {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let me = self.clone();
                    rt.spawn(async move {
                        tokio::time::sleep_until((started + MIN_ROUND_INTERVAL).into()).await;
                        me.round()
                    });
                }
                // Outside a runtime (a test or tool signing by hand) there is no one else
                // to hand the round to.
                Err(_) => self.round(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::merkle::{leaf_hash, root_from_path};
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_leaves_all_get_valid_proofs() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::new(key);
        let tasks: Vec<_> = (0..500u32)
            .map(|i| {
                let s = signer.clone();
                tokio::spawn(async move {
                    let leaf = leaf_hash(&i.to_le_bytes());
                    (leaf, s.sign(leaf).await.unwrap())
                })
            })
            .collect();
        for t in tasks {
            let (leaf, p) = t.await.unwrap();
            let root = root_from_path(leaf, p.index, p.leaves, &p.path).unwrap();
            assert_eq!(root, p.root);
            vk.verify(
                &root_message(&root, p.leaves),
                &Signature::from_bytes(&p.signature),
            )
            .unwrap();
        }
    }
}
