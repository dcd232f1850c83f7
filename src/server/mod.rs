//! The HTTP server of SPEC §7 on hyper 1.x and tokio.
//!
//! [`run`] accepts connections until its `shutdown` future resolves, serving each on its own
//! task with hyper's HTTP/1.1 connection driver, on one of the connection [`workers`] (a
//! single-threaded runtime per thread; the connection stays on it). A semaphore caps open
//! connections (the accept loop waits for a free permit rather than accepting and
//! dropping). The head guard
//! ([`heads`]) closes a connection that has waited longer than `header_read_timeout_ms` for a
//! request head, which bounds both a slow head (slowloris) and an idle keep-alive connection,
//! with one sweeper instead of a timer per request; the same sweeper closes a connection whose
//! writes have been blocked for `send_timeout_ms` (a client that stopped reading its answer).
//! On shutdown the listener is dropped, idle connections are closed, and requests in flight
//! finish (bounded by `shutdown_grace`).
//!
//! With TLS ([`tls`], `State::tls`) each accepted connection first completes its handshake
//! on its own task, bounded by the same header-read timeout (a client that connects and
//! sends nothing is dropped after it, as over plain HTTP), and is then served exactly like a
//! plain one: the same builder, limits, permit and graceful shutdown. A failed handshake
//! (a plain-HTTP request to the TLS port, say) ends only that connection.
//!
//! The engine lives in an [`ArcSwapOption`]: a request loads it once (no lock) and keeps
//! that snapshot to its end; [`reload`] swaps in a verified new one.

pub mod auth;
pub mod body;
pub mod errors;
pub mod heads;
pub mod incoming;
pub mod metrics;
pub mod query;
pub mod reload;
pub mod routes;
pub mod rows;
pub mod screen;
pub mod split;
pub mod tls;
pub mod trail;
pub mod web;
pub mod workers;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use credgate_index::date::Day;

use crate::engine::Engine;
use crate::trust::audit::Audit;
use crate::trust::privacy::Correlator;
use crate::trust::receipt::Signer;

pub use auth::{Auth, Caller};
pub use body::Body;
use heads::{HeadGuard, Idle, Stalls, Tracked};
pub use metrics::Metrics;
pub use reload::{Reloader, Trigger};
use workers::Workers;

/// Server settings: `--config FILE` (TOML, every key optional) over these defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Snapshot root (holding `CURRENT`) or one generation directory.
    pub index: PathBuf,
    pub listen: SocketAddr,
    /// Open connections at most; the accept loop waits when they are all taken.
    pub max_connections: usize,
    /// A request head must arrive within this many milliseconds of the connection starting to
    /// wait for it; this also closes keep-alive connections idle for that long, and ends a
    /// request whose body sends nothing for that long (408 `body_timeout`).
    pub header_read_timeout_ms: u64,
    /// A connection whose writes have been blocked this many milliseconds (a client that
    /// takes nothing of its answer) is closed.
    pub send_timeout_ms: u64,
    /// Request body cap for every endpoint but `/v1/screen`.
    pub body_limit: u64,
    /// Request body cap for `/v1/screen`.
    pub screen_body_limit: u64,
    /// Rows screened per blocking task in `/v1/screen`.
    pub screen_chunk_rows: usize,
    /// How often `CURRENT` is checked for a new generation; 0 turns the poller off.
    pub poll_interval_ms: u64,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace_ms: u64,
    /// Connection worker threads (see [`workers`]); 0: one for each CPU the process may use.
    pub workers: usize,
    /// TESTING ONLY: decide as if today were this day (YYYY-MM-DD) instead of the day in
    /// China Standard Time. Also read from the `CREDGATE_TODAY` environment variable.
    pub today: Option<Day>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            index: PathBuf::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 10_000,
            header_read_timeout_ms: 10_000,
            send_timeout_ms: 60_000,
            body_limit: 64 * 1024,
            screen_body_limit: 512 * 1024 * 1024,
            screen_chunk_rows: 4096,
            poll_interval_ms: 2_000,
            shutdown_grace_ms: 30_000,
            workers: 0,
            today: None,
        }
    }
}

/// Everything a request handler needs, shared by all connections.
pub struct State {
    pub engine: ArcSwapOption<Engine>,
    pub config: Config,
    pub metrics: Metrics,
    pub reloader: Reloader,
    /// API keys (or open access), reloaded with the snapshot.
    pub auth: Auth,
    /// Names subjects in logs and the audit trail without their numbers.
    pub correlator: Correlator,
    /// Signs receipts for checks and batches (`--signing-key`); `None`: no receipts.
    pub signer: Option<Signer>,
    /// The audit trail (`--audit-dir`); `None`: none is kept.
    pub audit: Option<Audit>,
    /// TLS (`--tls-cert`, `--tls-key`); `None`: plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl State {
    pub fn new(config: Config) -> State {
        State {
            engine: ArcSwapOption::empty(),
            config,
            metrics: Metrics::new(),
            reloader: Reloader::default(),
            auth: Auth::open(),
            // Replaced by the secret of `--subject-key` when one is given.
            correlator: Correlator::ephemeral()
                .expect("the operating system's random source is available"),
            signer: None,
            audit: None,
            tls: None,
        }
    }

    /// The longest a request body may go without sending anything: the header read timeout.
    pub fn body_wait(&self) -> Duration {
        Duration::from_millis(self.config.header_read_timeout_ms.max(1))
    }

    /// The day decisions are made on: today in China Standard Time, or the configured
    /// testing day.
    pub fn today(&self) -> Day {
        self.config.today.unwrap_or_else(Day::today_cst)
    }

    /// How many connection workers to start: `workers`, or one for each CPU.
    pub fn worker_count(&self) -> usize {
        match self.config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Serves `listener` until `shutdown` resolves, then lets in-flight requests finish.
///
/// Connections are served on worker threads of their own (see [`workers`]); if they cannot
/// be started (the system refuses a thread), this returns the error before accepting.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // With receipts, a worker running out of tasks starts a receipt round that is due, and
    // a round for which every open connection waits starts at once (see `trust::batching`).
    let on_idle = state.signer.as_ref().map(|_| {
        let st = state.clone();
        Arc::new(move |every| {
            if let Some(signer) = &st.signer {
                // This runs in the worker's scheduler, outside any task: a panic here would
                // end the worker and its connections. (Signing a round that panics closes
                // the signer instead, see `trust::batching`.)
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    signer.worker_idle(every)
                }));
            }
        }) as workers::OnIdle
    });
    let mut workers = Workers::start_with(state.worker_count(), on_idle)?;
    state.metrics.set_workers(workers.counters());
    if let Some(signer) = &state.signer {
        signer.serve_on_workers(workers.counters());
    }
    let limit = Arc::new(Semaphore::new(state.config.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let head_timeout = Duration::from_millis(state.config.header_read_timeout_ms.max(1));
    // No hyper timer: the head guard enforces the header read timeout (see `heads`).
    let send_timeout = Duration::from_millis(state.config.send_timeout_ms.max(1));
    let heads = HeadGuard::new(head_timeout, send_timeout);
    let sweeper = heads.spawn_sweeper();
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and similar: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The socket moves to the worker's reactor: taken off this runtime's here, put on
        // the worker's by the connection's task.
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "could not hand a connection to a worker");
                continue;
            }
        };
        state.metrics.connection_opened();
        let st = state.clone();
        let registration = heads.register();
        let conn_id = registration.id();
        let watch = registration.watch().clone();
        // Writes that stop moving (a client that takes nothing of its answer) are noted on
        // the connection's watch, and the connection closed after the timeout (see `heads`).
        let stalls = watch.clone();
        let service = service_fn(move |req| {
            let idle = Idle::new(watch.clone());
            // The hot path is answered here, in the call; the rest on the future (the
            // future is built only then, so the small one is not moved around big).
            let now = routes::answer_now(req, &st);
            let st = st.clone();
            async move {
                let resp = match now {
                    routes::Answer::Now(resp) => resp,
                    routes::Answer::Check(waiting) => waiting.answer(&st).await,
                    routes::Answer::Later(req) => routes::handle(req, st).await,
                };
                Ok::<_, Infallible>(resp.map(|body| Tracked::new(body, idle)))
            }
        });
        // The watcher is taken now, so a shutdown that comes before the task first runs still
        // reaches the connection.
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let task = match &state.tls {
            None => workers.spawn(async move {
                let _registration = registration;
                let Some(stream) = on_worker(stream, stalls, peer) else {
                    return;
                };
                let conn = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                drop(permit);
            }),
            Some(acceptor) => {
                // The handshake runs on the connection's own task so a slow client cannot
                // stall the accept loop.
                let acceptor = acceptor.clone();
                workers.spawn(async move {
                    let _registration = registration;
                    let Some(stream) = on_worker(stream, stalls, peer) else {
                        return;
                    };
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(head_timeout, handshake).await {
                        Ok(Ok(tls)) => {
                            let conn =
                                watcher.watch(builder.serve_connection(TokioIo::new(tls), service));
                            if let Err(e) = conn.await {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop(permit);
                })
            }
        };
        heads.attach(conn_id, task.abort_handle());
    }
    drop(listener);
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over; closing remaining connections"),
    }
    sweeper.abort();
    workers.stop().await;
    Ok(())
}

/// A connection's socket put on the reactor of the worker calling this, with its writes
/// watched for stalls (see `heads`); `None`, logged, if the reactor refuses it.
fn on_worker(
    stream: std::net::TcpStream,
    watch: Arc<heads::Watch>,
    peer: SocketAddr,
) -> Option<Stalls<tokio::net::TcpStream>> {
    match tokio::net::TcpStream::from_std(stream) {
        Ok(s) => Some(Stalls::new(s, watch)),
        Err(e) => {
            tracing::warn!(%peer, error = %e, "a worker could not take a connection");
            None
        }
    }
}
