//! Connection workers: one single-threaded tokio runtime per thread, each serving the
//! connections handed to it from start to end.
//!
//! The accept loop ([`super::run`]) takes a connection and gives it to the worker with the
//! fewest open connections, which registers its socket with its own reactor and runs its
//! task. A connection's reads, writes, wake-ups and timers then all happen on one thread.
//!
//! Why not tokio's multi-threaded scheduler, which moves tasks between its threads? A
//! `/v1/check` is a few microseconds of work between a socket read and a socket write, so
//! the scheduler's own costs make a visible share of it: its shared run queues, the atomic
//! task-state transitions, and waking an idle thread to steal work. Measured with
//! `benches/instructions.sh` (callgrind, the same requests): 14,822 instructions a check with
//! the multi-threaded scheduler, 14,040 with workers; the bare hyper "hello" server laid out
//! the same way went from 7,867 to 7,271. Under `wrk` the server spent 1–17 % less CPU a
//! check (benches/RESULTS.md, "Session 19").
//!
//! What is given up is stealing. A worker busy with one connection's long computation
//! delays its other connections, so work longer than a request's usual few microseconds
//! leaves the worker: batch screening runs its chunks on the blocking pool (see
//! [`super::screen`]), and so do name search, whose fuzzy look-ups can take tens of
//! milliseconds, and a subject's profile, which gathers its whole history. Connections are
//! balanced by count, not by load; with keep-alive clients each carrying requests of the
//! same kind, counts track load.
//!
//! A worker can be given a hook it calls each time it runs out of tasks, just before it
//! would sleep ([`Workers::start_with`]): with receipts, the server's hook lets the receipt
//! signer start a round that is due on a thread with nothing else to do (see
//! `trust::batching`).
//!
//! Each worker's blocking pool is its own runtime's. Everything else (the accept loop, the
//! head guard's sweeper, reloads, signals) runs on the runtime that called
//! [`super::run`].

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The worker threads and what the accept loop needs to share connections among them.
pub struct Workers {
    slots: Vec<Slot>,
    /// Where the search for the least-loaded worker starts, so ties go round.
    next: usize,
}

struct Slot {
    handle: Handle,
    /// Connections handed to this worker and not yet ended (shown by `/metrics`).
    open: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

thread_local! {
    /// The key of the worker this thread is (see [`home`]); 0 on any other thread.
    static HOME: Cell<u64> = const { Cell::new(0) };
    /// The runtime of the worker this thread is.
    static HOME_RUNTIME: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Keys of workers, unique in the process (several servers may run in one, as in tests).
static NEXT_HOME: AtomicU64 = AtomicU64::new(1);

/// The worker the calling thread is, as a key unique in the process; 0 when it is not a
/// worker thread. A task that waits for something another thread finishes (a receipt round,
/// say) can note where it waits, so the finisher can wake all the waiters of one worker
/// with a single hand-over instead of one cross-thread wake-up each: waking a task of a
/// single-threaded runtime from another thread costs a system call to wake its reactor.
pub fn home() -> u64 {
    HOME.with(Cell::get)
}

/// The runtime of the worker the calling thread is, if it is one (see [`home`]).
pub fn home_runtime() -> Option<Handle> {
    HOME_RUNTIME.with(|h| h.borrow().clone())
}

/// How long a stopping worker waits for its blocking tasks (batch chunks, searches) before
/// its thread ends without them.
const BLOCKING_GRACE: Duration = Duration::from_secs(5);

/// Called on a worker's thread each time it runs out of tasks, just before it sleeps, with
/// `true` when every worker is then out of tasks (see [`Workers::start_with`]). Tasks it
/// wakes on this worker run at once instead of the worker sleeping.
pub type OnIdle = Arc<dyn Fn(bool) + Send + Sync>;

impl Workers {
    /// Starts `n` workers (at least one), threads named `credgate-worker-N`.
    pub fn start(n: usize) -> io::Result<Workers> {
        Workers::start_with(n, None)
    }

    /// Starts `n` workers (at least one), with `on_idle` called by each as it runs out of
    /// tasks.
    pub fn start_with(n: usize, on_idle: Option<OnIdle>) -> io::Result<Workers> {
        let n = n.max(1);
        // Workers out of tasks (between running out and being woken).
        let idle = Arc::new(AtomicUsize::new(0));
        let mut slots = Vec::with_capacity(n);
        for i in 0..n {
            let mut builder = Builder::new_current_thread();
            builder
                .enable_all()
                .thread_name(format!("credgate-worker-{i}-blocking"));
            if let Some(on_idle) = &on_idle {
                let (on_idle, parking, waking) = (on_idle.clone(), idle.clone(), idle.clone());
                builder
                    .on_thread_park(move || on_idle(parking.fetch_add(1, SeqCst) + 1 == n))
                    .on_thread_unpark(move || {
                        waking.fetch_sub(1, SeqCst);
                    });
            }
            let runtime = builder.build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let home = NEXT_HOME.fetch_add(1, Relaxed);
            let own = handle.clone();
            let thread = thread::Builder::new()
                .name(format!("credgate-worker-{i}"))
                .spawn(move || {
                    HOME.with(|h| h.set(home));
                    HOME_RUNTIME.with(|h| *h.borrow_mut() = Some(own));
                    // Runs the worker's tasks until told to stop (or the sender is dropped);
                    // the connections still open then end with the runtime.
                    let _ = runtime.block_on(stopped);
                    runtime.shutdown_timeout(BLOCKING_GRACE);
                })?;
            slots.push(Slot {
                handle,
                open: Arc::new(AtomicU64::new(0)),
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Ok(Workers { slots, next: 0 })
    }

    /// The open-connection counter of each worker, in order (for `/metrics`).
    pub fn counters(&self) -> Vec<Arc<AtomicU64>> {
        self.slots.iter().map(|s| s.open.clone()).collect()
    }

    /// Runs `connection` on the worker with the fewest open connections, counted as open
    /// until it ends (or is aborted).
    pub fn spawn<F>(&mut self, connection: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let n = self.slots.len();
        let mut best = self.next % n;
        let mut least = u64::MAX;
        for k in 0..n {
            let i = (self.next + k) % n;
            let open = self.slots[i].open.load(Relaxed);
            if open < least {
                least = open;
                best = i;
            }
        }
        self.next = (best + 1) % n;
        let slot = &self.slots[best];
        let open = Counted::new(slot.open.clone());
        slot.handle.spawn(async move {
            let _open = open;
            connection.await
        })
    }

    /// Stops every worker: the connections still open on them end, blocking tasks get
    /// [`BLOCKING_GRACE`], and this returns when every worker thread has ended.
    pub async fn stop(mut self) {
        for s in &mut self.slots {
            if let Some(stop) = s.stop.take() {
                let _ = stop.send(());
            }
        }
        let threads: Vec<_> = self
            .slots
            .iter_mut()
            .filter_map(|s| s.thread.take())
            .collect();
        let joined = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        });
        let _ = joined.await;
    }
}

impl Drop for Workers {
    /// Workers not stopped by [`Workers::stop`] (the accept loop's task aborted, say) are
    /// told to stop; their threads end on their own.
    fn drop(&mut self) {
        for s in &mut self.slots {
            if let Some(stop) = s.stop.take() {
                let _ = stop.send(());
            }
        }
    }
}

/// One open connection on a worker's counter, for as long as it lives.
struct Counted(Arc<AtomicU64>);

impl Counted {
    fn new(counter: Arc<AtomicU64>) -> Counted {
        counter.fetch_add(1, Relaxed);
        Counted(counter)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn connections_go_to_the_worker_with_the_fewest_and_are_counted_until_they_end() {
        runtime().block_on(async {
            let mut w = Workers::start(2).unwrap();
            let counters = w.counters();
            let (release, hold) = tokio::sync::watch::channel(false);
            let mut names = Vec::new();
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let mut hold = hold.clone();
                let (tx, rx) = oneshot::channel();
                tasks.push(w.spawn(async move {
                    let _ = tx.send(thread::current().name().map(str::to_owned));
                    let _ = hold.wait_for(|r| *r).await;
                }));
                names.push(rx.await.unwrap().unwrap());
            }
            // Two each, alternating, each on its worker's own thread.
            assert_eq!(
                names,
                [
                    "credgate-worker-0",
                    "credgate-worker-1",
                    "credgate-worker-0",
                    "credgate-worker-1"
                ]
            );
            assert_eq!(counters[0].load(Relaxed), 2);
            assert_eq!(counters[1].load(Relaxed), 2);
            // One ends on worker 0: the next goes there, where fewer are open.
            tasks.remove(0).abort();
            while counters[0].load(Relaxed) != 1 {
                tokio::task::yield_now().await;
            }
            let (tx, rx) = oneshot::channel();
            w.spawn(async move {
                let _ = tx.send(thread::current().name().map(str::to_owned));
            });
            assert_eq!(rx.await.unwrap().unwrap(), "credgate-worker-0");
            let _ = release.send(true);
            for t in tasks {
                t.await.unwrap();
            }
            while counters.iter().any(|c| c.load(Relaxed) != 0) {
                tokio::task::yield_now().await;
            }
            w.stop().await;
        });
    }

    /// Each worker calls the hook on its own thread as it runs out of tasks, saying whether
    /// every worker has; a task the hook wakes there runs instead of the worker sleeping.
    #[test]
    fn workers_out_of_tasks_call_the_hook_on_their_own_thread() {
        use std::sync::Mutex;
        // (thread name, every) of each call, and a waker the hook fires once.
        let calls: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let wake: Arc<Mutex<Option<oneshot::Sender<String>>>> = Arc::default();
        let (c, wk) = (calls.clone(), wake.clone());
        let hook: OnIdle = Arc::new(move |every| {
            let name = thread::current().name().unwrap_or_default().to_owned();
            c.lock().unwrap().push((name.clone(), every));
            if let Some(tx) = wk.lock().unwrap().take() {
                let _ = tx.send(name);
            }
        });
        runtime().block_on(async {
            let mut w = Workers::start_with(2, Some(hook)).unwrap();
            // Both start with nothing to do: both run out, and the second to do so sees
            // that every worker has.
            while !calls.lock().unwrap().iter().any(|(_, every)| *every) {
                tokio::task::yield_now().await;
            }
            // A connection on worker 0 waits for what the hook sends. Worker 0 runs it until
            // it waits, runs out of tasks and calls the hook, which wakes the connection on
            // the same thread; the connection then runs before the worker sleeps.
            let (tx, rx) = oneshot::channel();
            *wake.lock().unwrap() = Some(tx);
            let (done_tx, done) = oneshot::channel();
            w.spawn(async move {
                let by = rx.await.unwrap();
                let _ = done_tx.send((by, thread::current().name().map(str::to_owned)));
            });
            let (by, on) = tokio::time::timeout(Duration::from_secs(60), done)
                .await
                .expect("the hook woke the connection")
                .unwrap();
            assert_eq!(by, "credgate-worker-0");
            assert_eq!(on.as_deref(), Some("credgate-worker-0"));
            let calls = calls.lock().unwrap().clone();
            assert!(
                calls.iter().all(|(n, _)| n.starts_with("credgate-worker-")),
                "{calls:?}"
            );
            w.stop().await;
        });
    }

    #[test]
    fn stopping_ends_the_connections_still_open_and_every_worker_thread() {
        runtime().block_on(async {
            let mut w = Workers::start(3).unwrap();
            let counters = w.counters();
            let (tx, rx) = oneshot::channel::<()>();
            let (started_tx, started) = oneshot::channel();
            let task = w.spawn(async move {
                let _keep = tx;
                let _ = started_tx.send(());
                std::future::pending::<()>().await
            });
            started.await.unwrap();
            w.stop().await;
            // The connection's future was dropped with its runtime: its sender went with it.
            assert!(rx.await.is_err());
            assert!(task.await.unwrap_err().is_cancelled());
            assert!(counters.iter().all(|c| c.load(Relaxed) == 0));
        });
    }
}
