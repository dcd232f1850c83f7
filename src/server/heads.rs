//! Closing connections that keep the server waiting for a request head, without a timer per
//! request.
//!
//! A client that sends its head a byte at a time (slowloris), or a keep-alive connection left
//! idle, must not hold a connection slot for ever: `header_read_timeout_ms` after a
//! connection starts waiting for a head it is closed. hyper can enforce this itself, but it
//! arms a timer in tokio's wheel for every request, reads the clock to do so and makes the
//! time driver walk the wheel at every park; on `/v1/check` that was about a tenth of
//! credgate's user-space instructions per request beyond the bare hyper server's.
//!
//! Here each connection has a [`Watch`]: one atomic word holding either `BUSY` (a request is
//! being answered) or the tick of a coarse clock at which the connection began waiting. The
//! service marks the connection busy when hyper hands it a request, and an [`Idle`] token
//! travelling with the response body marks it waiting again when the body is done (a
//! streamed `/v1/screen` answer may take minutes and is not a wait for a head). One sweeper
//! task advances the clock every tick (a quarter of the timeout, between 5 ms and 1 s) and
//! aborts the tasks of connections that have waited longer than the timeout. A waiting
//! connection is therefore closed between the timeout and the timeout plus two ticks after
//! it began waiting. A request body that stops arriving is not the guard's: each read of a
//! body frame has the same timeout (`routes::next_frame`), and one that trickles in is
//! bounded by the body limits.
//!
//! An answer the client stops taking is the same kind of wait, on the other side: a client
//! that sends a batch and then reads nothing of its streamed answer stalls the server's
//! writes once the socket buffers are full, and the connection, its slot and the batch's
//! pipeline would wait for ever. The connection's stream is wrapped in [`Stalls`], which
//! notes on the watch since when a write has been blocked (cleared by any write that moves);
//! the sweeper closes a connection whose writes have made no progress for
//! `send_timeout_ms`. A client that reads slowly but steadily keeps its connection: every
//! write that moves resets the clock. That timeout is longer than the head's (a minute by
//! default, as nginx's `send_timeout`) because the kernel lets a blocked write move again
//! only once the client has read about a third of the socket buffers, which are megabytes
//! on a fast link: a client reading steadily at 300 KB/s was cut by a 500 ms limit.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::{AbortHandle, JoinHandle};

/// The watch word of a connection that is answering a request.
const BUSY: u64 = u64::MAX;

/// The stall word of a connection whose last write moved (or that has written nothing).
const MOVING: u64 = u64::MAX;

/// The connections of one server and the sweeper's clock.
pub struct HeadGuard {
    inner: Arc<Inner>,
}

struct Inner {
    /// Ticks since the guard was made; advanced by the sweeper only.
    clock: AtomicU64,
    tick: Duration,
    /// A connection waiting this many ticks or more is closed.
    limit: u64,
    /// A connection whose writes have been blocked this many ticks or more is closed.
    stall_limit: u64,
    conns: Mutex<Conns>,
}

#[derive(Default)]
struct Conns {
    next: u64,
    live: HashMap<u64, Slot>,
}

struct Slot {
    watch: Arc<Watch>,
    /// Set once the connection's task is spawned.
    task: Option<AbortHandle>,
}

impl HeadGuard {
    /// A guard closing connections that wait more than `timeout` for a head, or whose writes
    /// have been blocked for more than `send_timeout`.
    pub fn new(timeout: Duration, send_timeout: Duration) -> HeadGuard {
        let tick = (timeout / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
        // Waiting began at most one tick before the clock last moved, so `ceil(timeout /
        // tick) + 1` ticks of difference mean at least `timeout` of real waiting.
        let ticks = |t: Duration| t.as_nanos().div_ceil(tick.as_nanos()) as u64 + 1;
        HeadGuard {
            inner: Arc::new(Inner {
                clock: AtomicU64::new(0),
                tick,
                limit: ticks(timeout),
                stall_limit: ticks(send_timeout),
                conns: Mutex::new(Conns::default()),
            }),
        }
    }

    /// Starts the sweeper on the current tokio runtime; abort the handle to stop it.
    pub fn spawn_sweeper(&self) -> JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(inner.tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                inner.sweep();
            }
        })
    }

    /// Registers a new connection, waiting for its first head from now. Keep the returned
    /// [`Registration`] for as long as the connection lives (move it into its task) and
    /// hand the task to [`HeadGuard::attach`].
    pub fn register(&self) -> Registration {
        let watch = Arc::new(Watch {
            state: AtomicU64::new(self.inner.now()),
            stalled: AtomicU64::new(MOVING),
            guard: self.inner.clone(),
        });
        let mut conns = self.inner.conns.lock();
        let id = conns.next;
        conns.next += 1;
        conns.live.insert(
            id,
            Slot {
                watch: watch.clone(),
                task: None,
            },
        );
        Registration {
            id,
            watch,
            guard: self.inner.clone(),
        }
    }

    /// Lets the sweeper abort the task serving connection `id`. A connection that already
    /// ended is not registered again.
    pub fn attach(&self, id: u64, task: AbortHandle) {
        if let Some(slot) = self.inner.conns.lock().live.get_mut(&id) {
            slot.task = Some(task);
        }
    }

    /// Connections registered and not yet ended.
    #[cfg(test)]
    fn live(&self) -> usize {
        self.inner.conns.lock().live.len()
    }
}

impl Inner {
    fn now(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }

    /// Advances the clock and aborts every connection that has waited too long for a head,
    /// or whose writes have been blocked too long.
    fn sweep(&self) {
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let conns = self.conns.lock();
        for slot in conns.live.values() {
            let since = slot.watch.state.load(Ordering::Relaxed);
            let stalled = slot.watch.stalled.load(Ordering::Relaxed);
            let waited_too_long = since != BUSY && now.saturating_sub(since) >= self.limit;
            let stuck_too_long =
                stalled != MOVING && now.saturating_sub(stalled) >= self.stall_limit;
            if waited_too_long || stuck_too_long {
                if let Some(task) = &slot.task {
                    // The task's future is dropped, which closes the socket and unregisters.
                    task.abort();
                }
            }
        }
    }
}

/// Whether one connection is answering a request, or since when it has been waiting; and
/// since when its writes have been blocked, if they are.
pub struct Watch {
    state: AtomicU64,
    /// The tick at which a write began to be blocked, or [`MOVING`].
    stalled: AtomicU64,
    guard: Arc<Inner>,
}

impl Watch {
    /// A request head has arrived: no timeout until its answer is done.
    fn busy(&self) {
        self.state.store(BUSY, Ordering::Relaxed);
    }

    /// The answer is done: the connection waits for its next head from now.
    fn waiting(&self) {
        self.state.store(self.guard.now(), Ordering::Relaxed);
    }

    /// A write could not go out (the client's socket buffers are full); the stall began
    /// now unless it already had.
    fn write_blocked(&self) {
        if self.stalled.load(Ordering::Relaxed) == MOVING {
            self.stalled.store(self.guard.now(), Ordering::Relaxed);
        }
    }

    /// A write went out: whatever stall there was is over.
    fn write_moved(&self) {
        if self.stalled.load(Ordering::Relaxed) != MOVING {
            self.stalled.store(MOVING, Ordering::Relaxed);
        }
    }

    /// Notes the outcome of a write (or flush) on the stall clock.
    fn wrote<T>(&self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match &r {
            Poll::Pending => self.write_blocked(),
            Poll::Ready(_) => self.write_moved(),
        }
        r
    }
}

/// A connection's stream, noting on its [`Watch`] when its writes are blocked and when they
/// move again, so that the sweeper can close a connection whose client has stopped taking
/// its answer.
pub struct Stalls<S> {
    io: S,
    watch: Arc<Watch>,
}

impl<S> Stalls<S> {
    pub fn new(io: S, watch: Arc<Watch>) -> Stalls<S> {
        Stalls { io, watch }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Stalls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stalls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.watch.wrote(Pin::new(&mut this.io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.watch
            .wrote(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.watch.wrote(Pin::new(&mut this.io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.watch.wrote(Pin::new(&mut this.io).poll_shutdown(cx))
    }
}

/// A connection's place in the guard; dropping it (the connection's task ending or being
/// aborted) removes the connection.
pub struct Registration {
    id: u64,
    watch: Arc<Watch>,
    guard: Arc<Inner>,
}

impl Registration {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn watch(&self) -> &Arc<Watch> {
        &self.watch
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.guard.conns.lock().live.remove(&self.id);
    }
}

/// Marks its connection waiting when dropped: made when a request arrives (after
/// [`Watch::busy`]) and carried by the response body, which hyper drops once it is sent.
pub struct Idle(Arc<Watch>);

impl Idle {
    pub fn new(watch: Arc<Watch>) -> Idle {
        watch.busy();
        Idle(watch)
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.0.waiting();
    }
}

/// A response body that holds its connection busy until it is finished or dropped.
pub struct Tracked<B> {
    body: B,
    idle: Option<Idle>,
}

impl<B> Tracked<B> {
    pub fn new(body: B, idle: Idle) -> Tracked<B> {
        Tracked {
            body,
            idle: Some(idle),
        }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            // The last frame is out: the wait for the next head starts now, even if hyper
            // keeps the body a little longer.
            this.idle = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    fn waiting(r: &Registration) -> bool {
        r.watch.state.load(Ordering::Relaxed) != BUSY
    }

    #[test]
    fn ticks_cover_the_timeout() {
        for ms in [1u64, 7, 20, 200, 999, 10_000, 60_000] {
            let g = HeadGuard::new(Duration::from_millis(ms), Duration::from_millis(ms));
            let tick = g.inner.tick;
            // A wait that began just before a tick is seen one tick later than it began.
            assert!(
                tick * (g.inner.limit as u32 - 1) >= Duration::from_millis(ms),
                "{ms}"
            );
            assert!(tick * (g.inner.limit as u32) <= Duration::from_millis(ms) + tick * 2);
        }
    }

    #[test]
    fn a_body_marks_its_connection_busy_until_it_is_done() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let g = HeadGuard::new(Duration::from_millis(100), Duration::from_secs(60));
        let r = g.register();
        assert!(waiting(&r));
        let mut body = Tracked::new(
            Full::new(Bytes::from_static(b"abc")),
            Idle::new(r.watch().clone()),
        );
        assert!(!waiting(&r));
        let first = rt.block_on(body.frame()).unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), Bytes::from_static(b"abc"));
        assert!(
            !waiting(&r),
            "the last frame is out, but the end not yet seen"
        );
        assert!(rt.block_on(body.frame()).is_none());
        assert!(waiting(&r));
        // A body dropped unfinished (the client went away) ends the busy spell too.
        let body = Tracked::new(Full::new(Bytes::new()), Idle::new(r.watch().clone()));
        assert!(!waiting(&r));
        drop(body);
        assert!(waiting(&r));
    }

    #[test]
    fn the_sweeper_aborts_only_connections_waiting_too_long() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let g = HeadGuard::new(Duration::from_millis(40), Duration::from_secs(60));
            let (idle_conn, busy_conn) = (g.register(), g.register());
            let (idle_id, busy_id) = (idle_conn.id(), busy_conn.id());
            let busy_token = Idle::new(busy_conn.watch().clone());
            let idle_task = tokio::spawn(async move {
                let _r = idle_conn;
                std::future::pending::<()>().await
            });
            let busy_task = tokio::spawn(async move {
                let _r = busy_conn;
                std::future::pending::<()>().await
            });
            g.attach(idle_id, idle_task.abort_handle());
            g.attach(busy_id, busy_task.abort_handle());
            assert_eq!(g.live(), 2);
            // Drive the clock by hand: a just-registered connection survives a sweep.
            g.inner.sweep();
            tokio::task::yield_now().await;
            assert!(!idle_task.is_finished());
            for _ in 0..g.inner.limit {
                g.inner.sweep();
            }
            let e = idle_task.await.unwrap_err();
            assert!(e.is_cancelled());
            assert_eq!(g.live(), 1, "the aborted task unregistered itself");
            assert!(!busy_task.is_finished());
            // Once its answer is done the busy one waits, and goes the same way.
            drop(busy_token);
            for _ in 0..g.inner.limit {
                g.inner.sweep();
            }
            assert!(busy_task.await.unwrap_err().is_cancelled());
            assert_eq!(g.live(), 0);
        });
    }

    #[test]
    fn the_sweeper_aborts_a_busy_connection_whose_writes_are_stuck() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let g = HeadGuard::new(Duration::from_millis(40), Duration::from_millis(100));
            assert!(g.inner.stall_limit > g.inner.limit);
            let conn = g.register();
            let (id, watch) = (conn.id(), conn.watch().clone());
            let _busy = Idle::new(watch.clone());
            let task = tokio::spawn(async move {
                let _r = conn;
                std::future::pending::<()>().await
            });
            g.attach(id, task.abort_handle());
            // Writes that block and move again, each time within the limit: kept.
            for _ in 0..3 {
                watch.write_blocked();
                for _ in 0..g.inner.stall_limit - 1 {
                    g.inner.sweep();
                }
                watch.write_moved();
                g.inner.sweep();
            }
            tokio::task::yield_now().await;
            assert!(!task.is_finished());
            // A write blocked for the whole limit: closed, busy or not.
            watch.write_blocked();
            for _ in 0..g.inner.stall_limit {
                g.inner.sweep();
            }
            assert!(task.await.unwrap_err().is_cancelled());
            assert_eq!(g.live(), 0);
        });
    }

    #[test]
    fn attaching_an_ended_connection_is_a_no_op() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let g = HeadGuard::new(Duration::from_millis(40), Duration::from_secs(60));
            let r = g.register();
            let id = r.id();
            let t = tokio::spawn(async move { drop(r) });
            let handle = t.abort_handle();
            t.await.unwrap();
            g.attach(id, handle);
            assert_eq!(g.live(), 0);
        });
    }
}
