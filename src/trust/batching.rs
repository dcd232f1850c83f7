//! One Ed25519 signature for every receipt that arrives within a round.
//!
//! A request hands in its leaf hash ([`super::merkle::leaf_hash`] of its receipt message)
//! and waits for its proof. A round takes every leaf pending (up to [`MAX_BATCH`]), builds
//! their tree, signs its root once, and hands each waiter a [`Proof`]: its index and a
//! shared reference to the round (tree and signature), so a round of `n` costs one
//! signature, `n - 1` node hashes and `n` channel sends, and no per-leaf allocation.
//!
//! Rounds start at least [`MIN_ROUND_INTERVAL`] apart. A signature costs about 27 µs of CPU
//! on the reference machine, longer than the gap between checks arriving at tens of
//! thousands a second, so starting a round whenever the signer is free (plain group
//! commit, or, as before this design, whenever a request found no round running) signs
//! rounds of one or two leaves back to back. Measured that way (1M snapshot, wrk with 64
//! connections): 11–16k signatures a second, 57–77 µs of server CPU per check against the
//! open server's 25–26, and 0.40–0.52 of its throughput; plain group commit on a thread
//! of its own, and intervals of 100–250 µs, measured worse than 1 ms. With the interval,
//! signing costs at most one signature per interval whatever the load, a round covers the
//! checks of about one interval, and a check waits at most about one interval plus one
//! signature for its round.
//!
//! The interval was 1 ms until 2026-11-29. That day the host was quicker (a signature about
//! 18 µs) and, with the present design, wrk's 64 connections left a trusted server a
//! quarter idle: its checks were waiting for rounds, not for CPU. At 250 µs, seven rounds
//! of two interleaved `benches/trust_cost.sh` runs gave 48.8–70.7k trusted checks a second
//! against 44.5–50.2k at 1 ms, more in every round, for the same 16–24 µs of server CPU a
//! check; with [`FALLBACK_DELAY`] at 50 µs instead of 100 as well, 49.4–68.1k in four
//! rounds; 125 µs was no better than 250 (benches/RESULTS.md, "Session 11: receipt
//! rounds"). At most 4,000 signatures a second cost about 7 % of a core.
//!
//! Who signs: the first check to queue a leaf once a round is due signs it right there, on
//! its own (tokio worker) thread, which under load is running anyway, so a round starts
//! within one arrival gap of its due time. A check arriving after a quiet spell is thus
//! signed at once. When no check arrives after the due time (the end of a burst, or every
//! client waiting for this very round), a signer thread of its own, asleep on an alarm
//! ([`super::alarm`]) until its deadline, signs it instead; its deadline is exact, not the
//! millisecond of tokio's timer wheel, and no request thread sleeps.
//!
//! In the server, a connection worker that runs out of tasks also starts a round that is
//! due ([`BatchSigner::worker_idle`], called just before the worker would sleep): no check
//! is coming to it, and it has nothing else to do. When every worker has run out of tasks
//! with leaves pending, nothing will run until a request comes, so the last of them sets
//! the signer thread's deadline to the due time plus [`FALLBACK_DELAY`]; otherwise the
//! thread waits [`BUSY_FALLBACK_DELAY`] after the due time, a safety net for a worker that
//! stays busy with other work and neither gets a check nor runs out of tasks. Under load
//! the thread had signed about a fifth of the rounds 100 µs after their due time, mostly
//! while the workers were runnable but not running (two cores shared with the load
//! generator), and every such round cost the thread's wake-up and a hand-over to each
//! worker. Measured on 2026-11-30 (session 22) with `wrk -c64` on the 1M snapshot over 6 s:
//! the thread signed 3,671 of 17,779 rounds before and 1,006 of 17,791 after, and workers
//! running out of tasks started 5,226. `OPEN=0 ROUNDS=8 benches/trust_cost.sh <before>
//! <after>` (22:52–22:54): context switches 0.149–0.162 a trusted check before, 0.121–0.138
//! after, fewer in every round; server CPU a check, medians 32.1 and 31.6 µs, lower in seven
//! rounds of eight; req/s medians 33.5k and 34.1k, higher in six. One client sending checks
//! one after another, with or without a second connection open and idle, was answered as
//! fast as before (benches/RESULTS.md, "Session 22").
//!
//! A round also starts before its due time when every connection the server has open is
//! waiting for it ([`BatchSigner::serve_on_workers`]): a connection carries one request
//! at a time, so no other check can come to join the round, and waiting for the due time
//! would only hold up its clients. One client sending checks one after another is the plain
//! case: each check used to wait for the due time (250 µs after the last round) and then for
//! the signer thread's [`FALLBACK_DELAY`], and now signs its round at once; it signed a round
//! per check before as well, so this costs no signatures. Measured on 2026-11-30 (a slow
//! spell of the host) with `rate_load` sending 20,000 checks over one connection to a server
//! with receipts and an audit trail, three interleaved rounds: 2,338–2,421 checks a second
//! and median response times of 0.407–0.412 ms before, 3,668–5,037 and 0.192–0.211 ms with
//! it. Under `wrk -c64` every connection is seldom waiting at once (1 round of 17,557 in
//! 6 s), so the rounds there are as before (benches/RESULTS.md, "Session 22").
//!
//! The signer thread's deadline is the due time plus [`FALLBACK_DELAY`] (or
//! [`BUSY_FALLBACK_DELAY`], as above). Each round, as it
//! starts, sets the deadline for the next one (with the queue locked), and a leaf sets it
//! only if the thread has woken since; under load the checks start every round before its
//! deadline and each start moves the deadline on, so the thread sleeps through the rounds
//! that checks start. On Linux the alarm is a `timerfd`, and moving it wakes nobody: from
//! 2026-11-30 (session 21) the thread wakes mostly for rounds no check starts, where before
//! it woke at every round's deadline to find the round already started (about 4,100
//! wake-ups a second, 1.2 a round, session 20).
//! `OPEN=0 ROUNDS=5 benches/trust_cost.sh <before> <after>` (2026-11-30 20:03): futex calls
//! 0.074–0.097 a trusted check before, 0.001–0.002 after; context switches 0.241–0.274
//! before, 0.165–0.181 after; server CPU a check, medians of 19.5 and 17.4 µs, lower in
//! three rounds of five, but rounds of one build differ as much (benches/RESULTS.md,
//! "Session 21"). Before that change, the thread's deadline stayed armed from
//! round to round on a condition variable and a check notified it only after a quiet
//! spell, where at first a check notified it at every round. The delay lets the checks
//! that keep arriving start the round on their worker thread, where answering the waiters
//! of that thread is a local wake-up, instead of the signer thread starting it at the due
//! time and waking every waiting worker from outside. Measured on the 1M snapshot with wrk
//! and 64 connections, the signer thread used to sign a large share of the rounds and
//! spent half of its time in futex wake-ups and waits: two wake-ups a round (a
//! notification from the first check of the round, then its deadline) against one with
//! the deadline kept armed.
//! With the audit trail's hand-over (one wake-up a window), futex calls per trusted check
//! went from 0.17–0.24 to 0.09–0.12 and context switches from 0.26–0.37 to 0.20–0.26 (perf
//! stat over interleaved wrk rounds, `benches/trust_cost.sh`; the open server: 0.02–0.03
//! and 0.06–0.12).
//!
//! Measured and rejected as well: making a round due at once when 16 leaves wait (and
//! signing the next at once when a round ends with 16 waiting), to shorten the wait of
//! closed-loop clients at high rates. Over five interleaved rounds its req/s was within the
//! noise of the 1 ms interval alone (+3–6 %), and its p99 was worse in every round (12–50
//! ms against 6–11), with about twice the signatures.
//!
//! Measured and rejected too: having the signer thread wake the waiters of its rounds from
//! a task spawned on the runtime (one wake-up from outside a round instead of one per
//! waiter, each through the runtime's shared queue; the waiters then woken from a worker
//! into its own run queue). Over eight interleaved rounds (`wrk -c64`, load 6.3–7.1) a
//! trusted check cost 33–45 µs of server CPU with it (median 39.5) against 32–45 (38)
//! without it and 35–44 (38) before either: nothing above the noise, for a task a round.
//! Under that load the signer thread signed 42 % of the rounds
//! (`credgate_receipt_rounds_signer_thread_total`), the checks the rest.
//!
//! Since connections run on worker threads of their own (`server::workers`, a
//! single-threaded runtime each), a round's waiters are spread over the workers, and waking
//! a task of a worker from another thread costs a system call (to wake that worker's
//! reactor). Each waiter therefore notes its worker when it queues, and a round answers the
//! waiters of its own thread's worker at once and those of each other worker through one
//! task handed to that worker. Measured with `benches/trust_cost.sh` (three interleaved
//! rounds, trusted servers only): 2.46–2.50 system calls a trusted check with a wake-up
//! each, 2.04–2.15 with the hand-over; server CPU 17.5–19.3 µs a check against 17.7–20.5,
//! lower in each round but within the noise (benches/RESULTS.md, "Session 19").
//!
//! What a round costs beyond its signature (benches/RESULTS.md, "Session 23"): a build that
//! signed nothing was not measurably faster under `wrk -c64` (the signature is about 2–3 µs
//! a check at about 12 checks a round), and with the interval at zero (a round a check) the
//! same build took 43–49 µs of server CPU a check against 23–27 at 250 µs, with three times
//! the context switches. Each round costs waits, hand-overs and wake-ups whatever it signs,
//! so rounds are kept few. Also measured and rejected then, for
//! no change in throughput: starting a round whenever a worker runs out of tasks, due or
//! not (half as many rounds again), and leaving the other worker's waiters in a mailbox it
//! empties itself while it runs (wake-ups a check 0.098–0.124 against 0.105–0.121: most of
//! them are the workers woken by the client's next requests, which arrive in bursts as the
//! rounds' answers do).
//!
//! Rounds of each worker's own checks were measured and rejected too (2026-12-01, session
//! 24): a queue a worker, so a round's waiters are all on the thread that signs it and no
//! round hands anything to another worker. Signed as each worker ran out of tasks, a round
//! held 6.3 checks under `wrk -c64` instead of 12.3 (twice the signatures), for the same
//! throughput (req/s medians 37.3k against 35.1k as set, four interleaved rounds within the
//! noise of each other); signed at the due time as now, but per worker, it was no better
//! (32.2k). Intervals of 400 and 600 µs were no better than 250 either (benches/RESULTS.md,
//! "Session 24").
//!
//! A request that goes away after queueing its leaf strands nothing: queueing and, when
//! due, signing happen in the synchronous part of [`BatchSigner::sign`], and pending leaves
//! are signed by whoever starts the next round whether or not anyone waits for them. When
//! the signer is dropped its thread signs what is pending and stops; if signing a round
//! ever panicked, the requests waiting and every later one get [`Unsigned`] instead of
//! waiting for ever.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use parking_lot::{Mutex, MutexGuard};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::alarm::Alarm;
use super::merkle::{Hash, Tree};
use crate::server::workers;

/// Leaves signed by one signature at most, so audit paths stay short (≤ 12 hashes).
pub const MAX_BATCH: usize = 4096;

/// The least time from the start of one round to the start of the next (see the module
/// documentation).
pub const MIN_ROUND_INTERVAL: Duration = Duration::from_micros(250);

/// How long after a round's due time the signer thread waits for a check to start the
/// round before starting it itself (see the module documentation): a few arrival gaps at
/// tens of thousands of checks a second, and two fifths of [`MIN_ROUND_INTERVAL`] added to
/// the wait of the checks of a round that no check after the due time starts.
///
/// It was 50 µs while the thread slept on a condition variable, whose timed waits the
/// kernel lets end up to 50 µs late (the default timer slack of a thread), so the thread
/// woke 50–100 µs after the due time. A `timerfd` rings on time: at 50 µs the thread
/// signed 22–24 % of the rounds under `wrk -c64` instead of 13–17 %, waking both workers
/// from outside for each; at 100 µs it signs 11–14 %, as before, and switches context
/// 600–850 times a second instead of 4,200–4,500 (`/metrics` and the thread's
/// `voluntary_ctxt_switches`, builds interleaved, 2026-11-30 19:59 and 20:04).
pub const FALLBACK_DELAY: Duration = Duration::from_micros(100);

/// The signer thread's delay instead of [`FALLBACK_DELAY`] when the server's connection
/// workers report running out of tasks ([`BatchSigner::worker_idle`]): a worker then starts
/// a due round as it runs out of tasks, and when every worker has run out the thread signs
/// at the due time itself, so this delay only covers a worker that stays busy without a
/// check coming to it (see the module documentation).
pub const BUSY_FALLBACK_DELAY: Duration = Duration::from_millis(1);

/// The bytes the signature of a round covers.
pub fn root_message(root: &Hash, leaves: u64) -> Vec<u8> {
    format!("credgate-receipt-root-v2\n{}\n{leaves}", super::hex(root)).into_bytes()
}

/// One signed round: the tree of its leaves and the signature over its root and size.
pub struct Round {
    tree: Tree,
    signature: [u8; 64],
    /// The root in lower-case hex and the signature in standard base64, as every receipt of
    /// the round shows them: written once a round rather than once a receipt.
    root_hex: [u8; 64],
    signature_b64: [u8; 88],
    /// Every node below the root in lower-case hex, level after level (the leaves first),
    /// and where each level starts: a leaf's audit path is copied from here, so each node
    /// is rendered once a round instead of once for every receipt whose path holds it
    /// (a round of `n` has about `2n` nodes; its receipts' paths hold about `n log2 n`).
    nodes_hex: Vec<[u8; 64]>,
    level_starts: Vec<usize>,
}

impl Round {
    /// Builds the tree over `leaves` (not empty) and signs its root.
    pub fn sign(key: &SigningKey, leaves: Vec<Hash>) -> Arc<Round> {
        use base64::Engine as _;
        let tree = Tree::new(leaves);
        let signature = key
            .sign(&root_message(&tree.root(), tree.len() as u64))
            .to_bytes();
        let mut root_hex = [0u8; 64];
        super::hex_into(&tree.root(), &mut root_hex);
        let mut signature_b64 = [0u8; 88];
        // 64 bytes are always 88 base64 characters with padding.
        let _ =
            base64::engine::general_purpose::STANDARD.encode_slice(signature, &mut signature_b64);
        let below_root = tree.levels_below_root();
        let mut nodes_hex = Vec::with_capacity(below_root.iter().map(Vec::len).sum());
        let mut level_starts = Vec::with_capacity(below_root.len());
        for level in below_root {
            level_starts.push(nodes_hex.len());
            nodes_hex.extend(level.iter().map(|h| {
                let mut hex = [0u8; 64];
                super::hex_into(h, &mut hex);
                hex
            }));
        }
        Arc::new(Round {
            tree,
            signature,
            root_hex,
            signature_b64,
            nodes_hex,
            level_starts,
        })
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

    /// [`Proof::root`] in lower-case hex.
    pub fn root_hex(&self) -> &[u8; 64] {
        &self.round.root_hex
    }

    /// [`Proof::signature`] in standard base64 with padding.
    pub fn signature_b64(&self) -> &[u8; 88] {
        &self.round.signature_b64
    }

    /// The audit path of the leaf, bottom first.
    pub fn path(&self) -> impl Iterator<Item = &Hash> + '_ {
        self.round.tree.path_iter(self.index)
    }

    /// [`Proof::path`] in lower-case hex, rendered once for the whole round.
    pub fn path_hex(&self) -> impl Iterator<Item = &[u8; 64]> + '_ {
        let r = &*self.round;
        r.tree
            .path_positions(self.index)
            .map(|(depth, at)| &r.nodes_hex[r.level_starts[depth] + at])
    }

    /// How many hashes [`Proof::path`] holds.
    pub fn path_len(&self) -> usize {
        self.round.tree.path_positions(self.index).count()
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

/// A request waiting for its proof, and the connection worker it waits on (see
/// [`workers::home`]; 0: not a worker thread).
type Waiter = (oneshot::Sender<Proof>, u64);

#[derive(Default)]
struct Queue {
    leaves: Vec<Hash>,
    waiters: Vec<Waiter>,
    /// The runtime of each connection worker a waiter has come from, by its key.
    homes: Vec<(u64, Handle)>,
    /// When the last round started; the next may start `interval` later.
    last_start: Option<Instant>,
    /// A round is being signed (by the signer thread or by a request).
    signing: bool,
    /// The deadline the alarm is set for, until the signer thread wakes.
    alarm_at: Option<Instant>,
    /// No more leaves are taken: the signer is being dropped, or a round panicked.
    closed: bool,
}

impl Queue {
    /// Whether a round may start at `now`: none is running, and the last one started at
    /// least `interval` ago.
    fn due(&self, now: Instant, interval: Duration) -> bool {
        !self.signing && self.last_start.is_none_or(|t| now >= t + interval)
    }

    /// When the signer thread should sign the leaves pending itself: when the next round
    /// is due (or `now`, if that is past), plus `delay` for a check to start it.
    fn fallback_at(&self, now: Instant, interval: Duration, delay: Duration) -> Instant {
        self.last_start.map_or(now, |t| (t + interval).max(now)) + delay
    }

    /// Starts a round: marks it running and takes the leaves pending (at most
    /// [`MAX_BATCH`]) and their waiters.
    fn take(&mut self, now: Instant) -> Taken {
        self.signing = true;
        self.last_start = Some(now);
        let n = self.leaves.len().min(MAX_BATCH);
        Taken {
            leaves: self.leaves.drain(..n).collect(),
            waiters: self.waiters.drain(..n).collect(),
            homes: self.homes.clone(),
        }
    }
}

/// A round's leaves and waiters, and the runtimes its waiters' workers run.
struct Taken {
    leaves: Vec<Hash>,
    waiters: Vec<Waiter>,
    homes: Vec<(u64, Handle)>,
}

/// Hands a waiter its proof: leaf `index` of `round`. A waiter that has gone (its client
/// hung up) needs nothing.
fn send(waiter: oneshot::Sender<Proof>, index: usize, round: &Arc<Round>) {
    let _ = waiter.send(Proof {
        index,
        round: round.clone(),
    });
}

/// Answers a round's waiters. Those waiting on the calling thread's worker (or on no worker)
/// are answered here; those of each other worker are answered by one task handed to that
/// worker, which wakes them there: waking each from here would cost a system call apiece to
/// wake that worker's reactor (a worker is a single-threaded runtime, `server::workers`).
/// (See the module documentation for what it saves.)
fn answer(round: &Arc<Round>, waiters: Vec<Waiter>, homes: &[(u64, Handle)]) {
    let here = workers::home();
    // By worker key: the waiters of that worker, with their indices in the round.
    type Group = Vec<(usize, oneshot::Sender<Proof>)>;
    let mut away: Vec<(u64, Group)> = Vec::new();
    for (index, (w, home)) in waiters.into_iter().enumerate() {
        if home == 0 || home == here {
            send(w, index, round);
        } else {
            match away.iter_mut().find(|(k, _)| *k == home) {
                Some((_, group)) => group.push((index, w)),
                None => away.push((home, vec![(index, w)])),
            }
        }
    }
    for (home, group) in away {
        let round = round.clone();
        let deliver = move || {
            for (index, w) in group {
                send(w, index, &round);
            }
        };
        match homes.iter().find(|(k, _)| *k == home) {
            // A worker that has stopped drops the task, and with it the senders: its
            // waiters were dropped with it.
            Some((_, runtime)) => drop(runtime.spawn(async move { deliver() })),
            None => deliver(),
        }
    }
}

struct Shared {
    key: SigningKey,
    interval: Duration,
    queue: Mutex<Queue>,
    /// When the signer thread next looks at the queue. It is set with the queue locked, so
    /// its deadline always belongs to the leaves then pending.
    alarm: Alarm,
    rounds: AtomicU64,
    leaves: AtomicU64,
    /// Rounds the signer thread signed.
    by_thread: AtomicU64,
    /// Rounds started before their due time because every open connection was waiting.
    drained: AtomicU64,
    /// The open-connection counters of the server's workers, once it serves on them (see
    /// [`BatchSigner::serve_on_workers`]).
    connections: std::sync::OnceLock<Vec<Arc<AtomicU64>>>,
    /// The signer thread's delay once the server serves on workers
    /// ([`BUSY_FALLBACK_DELAY`]; tests set others).
    busy_delay: Duration,
    /// Rounds a worker started as it ran out of tasks.
    at_idle: AtomicU64,
}

impl Shared {
    /// Signs a round taken with [`Queue::take`], answers its waiters, and marks the signer
    /// free again. Leaves queued meanwhile set the alarm for their own round when they came.
    /// `by_thread`: the caller is the signer thread (counted for `/metrics`).
    fn sign_round(&self, taken: Taken, by_thread: bool) {
        // If signing panics, nothing could be answered any more: close instead of leaving
        // `signing` set and every later request waiting for ever.
        let guard = CloseOnPanic(self);
        let n = taken.leaves.len() as u64;
        let round = Round::sign(&self.key, taken.leaves);
        self.rounds.fetch_add(1, Relaxed);
        self.leaves.fetch_add(n, Relaxed);
        if by_thread {
            self.by_thread.fetch_add(1, Relaxed);
        }
        answer(&round, taken.waiters, &taken.homes);
        std::mem::forget(guard);
        self.queue.lock().signing = false;
    }

    /// Sets the alarm for `at` (`now` being the time the caller read).
    fn arm(&self, q: &mut Queue, at: Instant, now: Instant) {
        self.alarm.set(at.saturating_duration_since(now));
        q.alarm_at = Some(at);
    }

    /// Sets the alarm for `at` unless it is set for earlier already.
    fn arm_by(&self, q: &mut Queue, at: Instant, now: Instant) {
        if q.alarm_at.is_none_or(|a| a > at) {
            self.arm(q, at, now);
        }
    }

    /// How long after a round's due time the signer thread signs it if nobody has.
    fn delay(&self) -> Duration {
        if self.connections.get().is_some() {
            self.busy_delay
        } else {
            FALLBACK_DELAY
        }
    }

    /// Whether `waiting` requests are all the server's open connections hold: each carries
    /// one request at a time, so no other request can come to join the round.
    fn everyone_waits(&self, waiting: usize) -> bool {
        self.connections.get().is_some_and(|open| {
            let open: u64 = open.iter().map(|c| c.load(Relaxed)).sum();
            open > 0 && waiting as u64 >= open
        })
    }

    /// Starts a round on the calling thread: takes its leaves, sets the alarm for the next
    /// round (under load, that round's leaves then find it set and leave it alone), unlocks
    /// the queue and signs. `by_thread`: the caller is the signer thread.
    fn start_round(&self, mut q: MutexGuard<'_, Queue>, now: Instant, by_thread: bool) {
        let taken = q.take(now);
        let next = q.fallback_at(now, self.interval, self.delay());
        self.arm(&mut q, next, now);
        drop(q);
        self.sign_round(taken, by_thread);
    }
}

pub struct BatchSigner {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchSigner {
    /// Starts the signer, rounds at least [`MIN_ROUND_INTERVAL`] apart.
    pub fn new(key: SigningKey) -> Arc<BatchSigner> {
        BatchSigner::with_interval(key, MIN_ROUND_INTERVAL)
    }

    /// Starts the signer with rounds at least `interval` apart.
    pub fn with_interval(key: SigningKey, interval: Duration) -> Arc<BatchSigner> {
        BatchSigner::with_delays(key, interval, BUSY_FALLBACK_DELAY)
    }

    /// Starts the signer with rounds at least `interval` apart and `busy_delay` for
    /// [`BUSY_FALLBACK_DELAY`].
    fn with_delays(key: SigningKey, interval: Duration, busy_delay: Duration) -> Arc<BatchSigner> {
        let shared = Arc::new(Shared {
            key,
            interval,
            queue: Mutex::new(Queue::default()),
            alarm: Alarm::new(),
            rounds: AtomicU64::new(0),
            leaves: AtomicU64::new(0),
            by_thread: AtomicU64::new(0),
            drained: AtomicU64::new(0),
            connections: std::sync::OnceLock::new(),
            busy_delay,
            at_idle: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("receipt-signer".into())
            .spawn(move || run(&s));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // Without a thread no round would ever run: refuse leaves at once instead.
                tracing::error!(error = %e, "the receipt signer thread could not start");
                shared.queue.lock().closed = true;
                None
            }
        };
        Arc::new(BatchSigner { shared, thread })
    }

    /// Queues `leaf` for the next round now, and returns the future of its proof. The leaf
    /// is signed whether or not the future is awaited or dropped.
    ///
    /// When a round is due (none running, and the last one started at least the interval
    /// ago) the round is signed here, on the caller's thread, before returning: under load
    /// the first check after the due time starts the round at once, on a thread that is
    /// running anyway, instead of waiting for the signer thread to be scheduled. So is a
    /// round before its due time, if none is running, once the leaves waiting for it are as
    /// many as the server's open connections (see [`BatchSigner::serve_on_workers`]).
    pub fn sign(&self, leaf: Hash) -> impl Future<Output = Result<Proof, Unsigned>> + 'static {
        let (tx, rx) = oneshot::channel();
        let shared = &*self.shared;
        let mut q = shared.queue.lock();
        let queued = !q.closed;
        if queued {
            let home = workers::home();
            if home != 0 && !q.homes.iter().any(|(k, _)| *k == home) {
                if let Some(runtime) = workers::home_runtime() {
                    q.homes.push((home, runtime));
                }
            }
            q.leaves.push(leaf);
            q.waiters.push((tx, home));
            let now = Instant::now();
            let due = q.due(now, shared.interval);
            // Every open connection waiting: nothing else can join the round.
            let drained = !due && !q.signing && shared.everyone_waits(q.waiters.len());
            if due || drained {
                if drained {
                    shared.drained.fetch_add(1, Relaxed);
                }
                shared.start_round(q, now, false);
            } else {
                // The signer thread signs this leaf's round a little after its due time
                // unless a check does first. The round that started last set the alarm for
                // that already, unless the thread has woken since.
                let at = q.fallback_at(now, shared.interval, shared.delay());
                shared.arm_by(&mut q, at, now);
            }
        }
        async move {
            if !queued {
                return Err(Unsigned);
            }
            rx.await.map_err(|_| Unsigned)
        }
    }

    /// The server serves on connection workers, `open` being each worker's count of open
    /// connections, and each calls [`BatchSigner::worker_idle`] as it runs out of tasks. From
    /// now on:
    /// - the requests that can be waiting at once are bounded by the open connections: when
    ///   every one of them waits for the next round, the round starts at once instead of at
    ///   its due time;
    /// - the signer thread waits [`BUSY_FALLBACK_DELAY`] after a round's due time instead of
    ///   [`FALLBACK_DELAY`].
    ///
    /// Set once; later calls are ignored.
    pub fn serve_on_workers(&self, open: Vec<Arc<AtomicU64>>) {
        let _ = self.shared.connections.set(open);
    }

    /// Rounds started before their due time because every open connection was waiting.
    pub fn drained(&self) -> u64 {
        self.shared.drained.load(Relaxed)
    }

    /// Called by a connection worker as it runs out of tasks, on its thread (see
    /// [`crate::server::workers::Workers::start_with`]); `every`: every worker has.
    ///
    /// A round that is due is signed here: no check is coming to this worker to start it,
    /// and the thread has nothing else to do. A round not yet due is left to the next check
    /// or the next worker to run out of tasks, unless every worker has: then nothing runs
    /// until a request comes, and the signer thread is set to sign it at its due time.
    pub fn worker_idle(&self, every: bool) {
        let shared = &*self.shared;
        let mut q = shared.queue.lock();
        if q.closed || q.signing || q.leaves.is_empty() {
            return;
        }
        let now = Instant::now();
        if q.due(now, shared.interval) {
            shared.at_idle.fetch_add(1, Relaxed);
            shared.start_round(q, now, false);
        } else if every {
            let at = q.fallback_at(now, shared.interval, FALLBACK_DELAY);
            shared.arm_by(&mut q, at, now);
        }
    }

    /// Rounds a worker started as it ran out of tasks ([`BatchSigner::worker_idle`]).
    pub fn started_at_idle(&self) -> u64 {
        self.shared.at_idle.load(Relaxed)
    }

    /// Rounds signed and leaves they covered so far by [`BatchSigner::sign`] (for `/metrics`:
    /// their ratio is the mean round size).
    pub fn signed(&self) -> (u64, u64) {
        (
            self.shared.rounds.load(Relaxed),
            self.shared.leaves.load(Relaxed),
        )
    }

    /// Of the rounds [`BatchSigner::signed`] counts, those the signer thread signed because
    /// no check came after their due time to sign them (for `/metrics`).
    pub fn signed_by_thread(&self) -> u64 {
        self.shared.by_thread.load(Relaxed)
    }

    /// Signs `leaves` (not empty) as one round on the calling thread: one tree, one
    /// signature, a proof each. For tools and tests that need a round of a known size.
    pub fn sign_leaves(&self, leaves: Vec<Hash>) -> Vec<Proof> {
        let round = Round::sign(&self.shared.key, leaves);
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
        let mut q = self.shared.queue.lock();
        q.closed = true;
        let now = Instant::now();
        self.shared.arm(&mut q, now, now);
        drop(q);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Closes the queue if a round unwinds, so that no request waits for a round that will
/// never come.
struct CloseOnPanic<'a>(&'a Shared);

impl Drop for CloseOnPanic<'_> {
    fn drop(&mut self) {
        let mut q = self.0.queue.lock();
        q.closed = true;
        q.signing = false;
        q.leaves.clear();
        // Dropping the senders answers their requests with `Unsigned`.
        q.waiters.clear();
        tracing::error!("signing a round of receipts panicked; receipts are off until restart");
    }
}

/// The signer thread: signs the rounds that no check arrives to start. It sleeps on the
/// alarm, which each round sets for the next round's due time plus [`FALLBACK_DELAY`] (and
/// a leaf, if the thread has woken since); when it rings, the thread signs what is pending
/// if a round may start, and otherwise sets the alarm again for when one may. Once closed
/// it signs what is pending and stops.
fn run(shared: &Shared) {
    let mut woken = false;
    loop {
        let mut q = shared.queue.lock();
        let now = Instant::now();
        // The deadline that rang is gone; one set since it rang (still ahead) stands.
        if std::mem::take(&mut woken) && q.alarm_at.is_some_and(|a| a <= now) {
            q.alarm_at = None;
        }
        if q.signing {
            // A check is signing a round; look again after it (a round takes tens of µs).
            if !q.leaves.is_empty() || q.closed {
                shared.arm(&mut q, now + FALLBACK_DELAY, now);
            }
        } else if q.leaves.is_empty() {
            if q.closed {
                return;
            }
            // Nothing pending: the next leaf sets the alarm.
        } else if q.closed || q.due(now, shared.interval) {
            shared.start_round(q, now, true);
            continue;
        } else {
            // An earlier deadline set since the thread last woke stays (a worker out of
            // tasks sets the due time itself).
            let at = q.fallback_at(now, shared.interval, shared.delay());
            shared.arm_by(&mut q, at, now);
        }
        drop(q);
        shared.alarm.wait();
        woken = true;
    }
}

#[cfg(test)]
mod tests {
    use super::super::merkle::{leaf_hash, root_from_path};
    use super::*;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    use std::collections::BTreeMap;

    /// Checks every proof against its leaf, its root and the signature (once a round: its
    /// proofs share it), and that the rounds they name account for exactly these leaves:
    /// every index of every round is used once.
    fn check_all(vk: &VerifyingKey, signed: &[(Hash, Proof)]) {
        let mut rounds: BTreeMap<Hash, (u64, [u8; 64], Vec<u64>)> = BTreeMap::new();
        for (leaf, p) in signed {
            let path: Vec<Hash> = p.path().copied().collect();
            let root = root_from_path(*leaf, p.index(), p.leaves(), &path).unwrap();
            assert_eq!(root, p.root());
            let r = rounds.entry(root).or_insert_with(|| {
                vk.verify(
                    &root_message(&root, p.leaves()),
                    &Signature::from_bytes(p.signature()),
                )
                .unwrap();
                (p.leaves(), *p.signature(), Vec::new())
            });
            assert_eq!((r.0, &r.1), (p.leaves(), p.signature()));
            r.2.push(p.index());
        }
        for (leaves, _, mut indexes) in rounds.into_values() {
            indexes.sort_unstable();
            assert_eq!(indexes, (0..leaves).collect::<Vec<_>>());
        }
    }

    fn leaf(i: u32) -> Hash {
        leaf_hash(&i.to_le_bytes())
    }

    /// A signer over the key of `seed` with rounds at least `interval` apart, and its
    /// verifying key.
    fn keyed_signer(seed: u8, interval: Duration) -> (VerifyingKey, Arc<BatchSigner>) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (
            key.verifying_key(),
            BatchSigner::with_interval(key, interval),
        )
    }

    /// A single-threaded runtime to await proofs on.
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
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

    /// A round that no check arrives to start after its due time is signed by the signer
    /// thread, and counted as such.
    #[test]
    fn rounds_no_check_starts_are_signed_by_the_signer_thread() {
        let (vk, signer) = keyed_signer(9, Duration::from_millis(200));
        let rt = runtime();
        // The first leaf finds a round due and is signed by its caller; the next three
        // queue well before the next round is due, and nothing comes after them.
        let first = rt.block_on(signer.sign(leaf(0))).unwrap();
        let pending: Vec<_> = (1..4u32).map(|i| (leaf(i), signer.sign(leaf(i)))).collect();
        let mut signed: Vec<(Hash, Proof)> = pending
            .into_iter()
            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
            .collect();
        signed.push((leaf(0), first));
        check_all(&vk, &signed);
        assert_eq!(signer.signed(), (2, 4));
        assert_eq!(signer.signed_by_thread(), 1);
    }

    /// More leaves than one round takes, queued with nothing after them: the signer thread
    /// signs a full round at the due time, and the rest a round later.
    #[test]
    fn the_signer_thread_signs_what_a_full_round_leaves() {
        // Long enough for a debug build to queue them all before the next round is due.
        let (vk, signer) = keyed_signer(8, Duration::from_millis(300));
        let rt = runtime();
        let first = rt.block_on(signer.sign(leaf(0))).unwrap();
        let n = MAX_BATCH as u32 + 10;
        let pending: Vec<_> = (1..=n).map(|i| (leaf(i), signer.sign(leaf(i)))).collect();
        let mut signed: Vec<(Hash, Proof)> = pending
            .into_iter()
            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
            .collect();
        assert_eq!(signed[0].1.leaves(), MAX_BATCH as u64);
        assert_eq!(signed[n as usize - 1].1.leaves(), 10);
        signed.push((leaf(0), first));
        check_all(&vk, &signed);
        assert_eq!(signer.signed(), (3, n as u64 + 1));
        assert_eq!(signer.signed_by_thread(), 2);
    }

    /// With the server's connections counted, a round starts as soon as there are as many
    /// leaves waiting as connections open, long before its due time; with fewer it waits.
    #[test]
    fn a_round_starts_at_once_when_every_connection_waits() {
        // Far longer than the test: a round that waited for its due time would hang it.
        let (vk, signer) = keyed_signer(9, Duration::from_secs(600));
        let (a, b) = (Arc::new(AtomicU64::new(2)), Arc::new(AtomicU64::new(1)));
        signer.serve_on_workers(vec![a.clone(), b.clone()]);
        let rt = runtime();
        // The first leaf finds no round before it, so its round is due at once.
        let mut signed = vec![(leaf(0), rt.block_on(signer.sign(leaf(0))).unwrap())];
        // Two leaves, three connections open: the third could still send one.
        let two: Vec<_> = (1..=2).map(|i| (leaf(i), signer.sign(leaf(i)))).collect();
        assert_eq!(signer.signed(), (1, 1));
        // The third connection's leaf: everyone waits, and the round is signed right here.
        let third = signer.sign(leaf(3));
        assert_eq!((signer.signed(), signer.drained()), ((2, 4), 1));
        for (l, f) in two.into_iter().chain([(leaf(3), third)]) {
            signed.push((l, rt.block_on(f).unwrap()));
        }
        assert!(signed[1..].iter().all(|(_, p)| p.leaves() == 3));
        // One connection closes: two leaves are now everyone.
        b.store(0, Relaxed);
        let (four, five) = (signer.sign(leaf(4)), signer.sign(leaf(5)));
        assert_eq!((signer.signed(), signer.drained()), ((3, 6), 2));
        signed.push((leaf(4), rt.block_on(four).unwrap()));
        signed.push((leaf(5), rt.block_on(five).unwrap()));
        // No connection open (the server is not serving): leaves wait for the due time.
        a.store(0, Relaxed);
        let _pending = signer.sign(leaf(6));
        assert_eq!((signer.signed(), signer.drained()), ((3, 6), 2));
        check_all(&vk, &signed);
        assert_eq!(signer.signed_by_thread(), 0);
    }

    /// A signer whose workers report running out of tasks, with rounds `interval` apart and
    /// the signer thread's safety net ten minutes away (so the thread signs only what
    /// `worker_idle` sets it to), and its verifying key.
    fn reporting_signer(seed: u8, interval: Duration) -> (VerifyingKey, Arc<BatchSigner>) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let vk = key.verifying_key();
        let signer = BatchSigner::with_delays(key, interval, Duration::from_secs(600));
        // Workers with no connection open: no round starts for want of arrivals.
        signer.serve_on_workers(Vec::new());
        (vk, signer)
    }

    /// A worker running out of tasks starts a round that is due, and only one that is due.
    #[test]
    fn a_worker_running_out_of_tasks_starts_a_due_round() {
        let interval = Duration::from_millis(50);
        let (vk, signer) = reporting_signer(10, interval);
        let rt = runtime();
        // Read before the first round starts, so the second is due no sooner than
        // `interval` after this.
        let started = Instant::now();
        let mut signed = vec![(leaf(0), rt.block_on(signer.sign(leaf(0))).unwrap())];
        let pending = signer.sign(leaf(1));
        // Not due yet (unless this thread was held up): a worker running out of tasks
        // while another is busy leaves it.
        signer.worker_idle(false);
        if started.elapsed() < interval {
            assert_eq!(signer.signed(), (1, 1));
        }
        std::thread::sleep(interval);
        signer.worker_idle(false);
        assert_eq!((signer.signed(), signer.started_at_idle()), ((2, 2), 1));
        signed.push((leaf(1), rt.block_on(pending).unwrap()));
        // Nothing pending: running out of tasks signs nothing.
        signer.worker_idle(true);
        assert_eq!(signer.signed(), (2, 2));
        check_all(&vk, &signed);
        assert_eq!(signer.signed_by_thread(), 0);
    }

    /// When every worker has run out of tasks, a round not yet due is signed by the signer
    /// thread soon after its due time, not after [`BUSY_FALLBACK_DELAY`].
    #[test]
    fn when_every_worker_is_out_of_tasks_the_thread_signs_at_the_due_time() {
        let (vk, signer) = reporting_signer(11, Duration::from_millis(50));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut signed = vec![(leaf(0), rt.block_on(signer.sign(leaf(0))).unwrap())];
        let pending = signer.sign(leaf(1));
        signer.worker_idle(true);
        // Without the alarm moved to the due time this would wait ten minutes.
        let proof = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), pending).await })
            .expect("signed after the due time")
            .unwrap();
        signed.push((leaf(1), proof));
        check_all(&vk, &signed);
        assert_eq!(
            (
                signer.signed(),
                signer.signed_by_thread(),
                signer.started_at_idle()
            ),
            ((2, 2), 1, 0)
        );
    }

    #[test]
    fn signers_on_many_threads_share_rounds_that_all_verify() {
        // No pause between rounds, so rounds and submissions interleave as much as they can.
        let (vk, signer) = keyed_signer(4, Duration::ZERO);
        let signed: Vec<(Hash, Proof)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    let s = &signer;
                    scope.spawn(move || {
                        let rt = runtime();
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
        let rt = runtime();
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
        let rt = runtime();
        let signed: Vec<(Hash, Proof)> = pending
            .into_iter()
            .map(|(l, f)| (l, rt.block_on(f).unwrap()))
            .collect();
        check_all(&vk, &signed);
    }

    /// Polls `f` once, without a runtime.
    /// A round's waiters on other workers are answered through one task handed to each
    /// worker, those on the answering thread's own worker (or on none) at once, and one
    /// whose worker is unknown at once too; each gets its own index of the round.
    #[test]
    fn waiters_of_other_workers_are_answered_on_their_worker() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut w = workers::Workers::start(2).unwrap();
            // Each worker's key and runtime, as `sign` notes them.
            let mut homes = Vec::new();
            for _ in 0..2 {
                let (tx, rx) = oneshot::channel();
                w.spawn(async move {
                    let _ = tx.send((workers::home(), workers::home_runtime().unwrap()));
                });
                homes.push(rx.await.unwrap());
            }
            assert!(homes[0].0 != 0 && homes[0].0 != homes[1].0);
            assert_eq!(workers::home(), 0, "the test's own thread is no worker");
            let key = SigningKey::from_bytes(&[7; 32]);
            let round = Round::sign(&key, (0..5).map(leaf).collect());
            // Waiters on worker 0, worker 1, no worker, worker 1, and an unknown worker.
            let at = [homes[0].0, homes[1].0, 0, homes[1].0, 999];
            let (senders, receivers): (Vec<_>, Vec<_>) =
                at.iter().map(|_| oneshot::channel::<Proof>()).unzip();
            let waiters = senders.into_iter().zip(at).collect();
            // Answered from worker 0: its own waiter directly, worker 1's by hand-over.
            let (done_tx, done) = oneshot::channel();
            let known = homes.clone();
            w.spawn(async move {
                answer(&round, waiters, &known);
                let _ = done_tx.send(());
            });
            done.await.unwrap();
            for (i, rx) in receivers.into_iter().enumerate() {
                let proof = rx.await.unwrap();
                assert_eq!(proof.index(), i as u64);
                assert_eq!(proof.leaves(), 5);
            }
            w.stop().await;
        });
    }

    fn poll_once<F: Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::pin::Pin::new(f).poll(&mut cx)
    }

    #[test]
    fn a_due_round_is_signed_by_the_caller_and_the_next_waits_for_its_due_time() {
        // Rounds an hour apart: the signer thread's deadline never comes during the test.
        let (vk, signer) = keyed_signer(8, Duration::from_secs(3600));
        // The first leaf finds a round due and is signed before `sign` returns.
        let mut first = Box::pin(signer.sign(leaf(1)));
        let std::task::Poll::Ready(Ok(p1)) = poll_once(&mut first) else {
            panic!("the first round was not signed by its caller");
        };
        assert_eq!((p1.index(), p1.leaves()), (0, 1));
        // The next two wait for the next round: neither a check nor the signer thread
        // starts it before its due time.
        let mut second = Box::pin(signer.sign(leaf(2)));
        let mut third = Box::pin(signer.sign(leaf(3)));
        assert!(poll_once(&mut second).is_pending());
        assert!(poll_once(&mut third).is_pending());
        assert_eq!(signer.signed(), (1, 1));
        // Dropping the signer signs what is pending, as one round.
        drop(signer);
        let rt = runtime();
        let p2 = rt.block_on(second).unwrap();
        let p3 = rt.block_on(third).unwrap();
        assert_eq!((p2.index(), p3.index(), p3.leaves()), (0, 1, 2));
        check_all(&vk, &[(leaf(1), p1), (leaf(2), p2), (leaf(3), p3)]);
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
                // The round's own spellings of its root, path and signature, as receipts
                // show them.
                assert_eq!(p.root_hex(), super::super::hex(&p.root()).as_bytes());
                assert!(p
                    .path_hex()
                    .map(|h| h.to_vec())
                    .eq(p.path().map(|h| super::super::hex(h).into_bytes())));
                assert_eq!(p.path_len(), p.path().count());
                assert_eq!(
                    &p.signature_b64()[..],
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        p.signature()
                    )
                    .as_bytes()
                );
            }
            check_all(&vk, &signed);
        }
    }
}
