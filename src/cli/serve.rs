//! `credgate serve --index ROOT [--listen ADDR] [--config FILE]` and `credgate serve --demo`.
//!
//! The server starts listening at once and answers `/readyz` with 503 until a verified
//! snapshot is loaded, so an orchestrator can start it before the first build is published.
//! SIGTERM and ctrl-c stop it gracefully; SIGHUP reloads the snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::watch;

use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::source::Encoding;

use crate::server::{self, reload, Auth, Config, State, Trigger};
use crate::trust::audit::{Audit, Durability, Limits};
use crate::trust::privacy::Correlator;
use crate::trust::receipt::Signer;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot root (holding CURRENT) or one generation directory.
    #[arg(long, required_unless_present_any = ["demo", "config"])]
    pub index: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// TOML file of server settings (see `server::Config`); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Build the bundled sample data into a temporary root and serve it.
    #[arg(long, conflicts_with = "index")]
    pub demo: bool,
    /// TOML file of API keys (`credgate keys new`); reloaded with SIGHUP and admin reload.
    /// Without it the server is open to anyone who can reach it, so it then listens only on
    /// a loopback address unless `--insecure-open` is given.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Serve without keys on a non-loopback address (anyone who can connect may query).
    #[arg(long)]
    pub insecure_open: bool,
    /// File of the secret that names subjects in logs and the audit trail (HMAC-SHA256 of
    /// the normalised number); created 0600 if absent. Without it a secret is made for this
    /// process only, so pseudonyms do not match across restarts.
    #[arg(long)]
    pub subject_key: Option<PathBuf>,
    /// Ed25519 key that signs a receipt on every check and batch (created 0600 if absent);
    /// its public half is served at /v1/receipts/public-key.
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// Keep an append-only audit trail (JSONL segments) in this directory.
    #[arg(long)]
    pub audit_dir: Option<PathBuf>,
    /// `batch`: fsync at most every 10 ms, responses do not wait (a crash loses at most the
    /// last window); `sync`: a response waits until its line is on disk, and a trail that
    /// cannot be written makes checks answer 503.
    #[arg(long, default_value = "batch", value_parser = ["batch", "sync"])]
    pub audit_durability: String,
    /// Start a new audit segment past this many bytes (a new day starts one too).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub audit_segment_bytes: u64,
    /// Serve HTTPS with this PEM certificate chain (the server's certificate first);
    /// needs --tls-key.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or SEC1) of --tls-cert; needs --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

/// The bundled sample source set, compiled into the binary so `--demo` works anywhere.
const SAMPLE: &[(&str, &str)] = &[
    (
        "lists/court.csv",
        include_str!("../../data/sample/lists/court.csv"),
    ),
    (
        "lists/market.csv",
        include_str!("../../data/sample/lists/market.csv"),
    ),
    (
        "lists/other.csv",
        include_str!("../../data/sample/lists/other.csv"),
    ),
    (
        "lists/tax.csv",
        include_str!("../../data/sample/lists/tax.csv"),
    ),
    ("links.csv", include_str!("../../data/sample/links.csv")),
    ("repairs.csv", include_str!("../../data/sample/repairs.csv")),
    (
        "objections.csv",
        include_str!("../../data/sample/objections.csv"),
    ),
];

/// Writes the sample sources under `dir/source` and builds them into `dir/index`.
pub fn build_demo(dir: &Path, today: Day) -> anyhow::Result<PathBuf> {
    let source = dir.join("source");
    for (name, text) in SAMPLE {
        let path = source.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&source))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let root = dir.join("index");
    build(&BuildOptions {
        source,
        out: root.clone(),
        catalog: Catalog::builtin(),
        max_rejects: None,
        history_from: None,
        today,
        keep: 1,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .context("building the bundled sample")?;
    Ok(root)
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<Config>(&text)
                .with_context(|| format!("{}: invalid server settings", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(index) = &args.index {
        config.index = index.clone();
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Ok(day) = std::env::var("CREDGATE_TODAY") {
        config.today =
            Some(Day::parse(&day).map_err(|e| anyhow::anyhow!("CREDGATE_TODAY={day:?}: {e}"))?);
        tracing::warn!(today = %day, "CREDGATE_TODAY is set: decisions use a fixed day (testing only)");
    }
    Ok(config)
}

pub fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = load_config(&args)?;
    let _demo_dir;
    if args.demo {
        let dir = tempfile::tempdir().context("creating a temporary directory for the demo")?;
        config.index = build_demo(dir.path(), config.today.unwrap_or_else(Day::today_cst))?;
        eprintln!(
            "credgate: demo snapshot built in {}",
            config.index.display()
        );
        _demo_dir = dir;
    } else if config.index.as_os_str().is_empty() {
        bail!("no snapshot given: pass --index ROOT, set `index` in the config, or use --demo");
    }
    let auth = open_auth(&args, &config)?;
    // Read before anything starts, so a missing or mismatched file stops the server with
    // the file named instead of failing every handshake later.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls::load(cert, key)?),
        _ => None,
    };
    let correlator = match &args.subject_key {
        Some(p) => Correlator::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Correlator::ephemeral().context("making a subject secret")?,
    };
    // Connections are served on worker threads of their own (`server::workers`); this
    // runtime accepts them and runs reloads, signals and the timeout sweeper.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("credgate-main")
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let signer = match &args.signing_key {
        Some(p) => {
            let s = Signer::from_file(p).map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(file = %p.display(), key_id = %s.public_key_json()["key_id"], "receipts are signed");
            Some(s)
        }
        None => {
            // A deployment that keeps keys or an audit trail is one whose callers will want
            // to prove their answers later: say louder that they cannot.
            if args.keys.is_some() || args.audit_dir.is_some() {
                tracing::warn!("no --signing-key: check responses carry no receipts, so callers cannot prove their answers later; give --signing-key FILE (created if absent)");
            } else {
                tracing::info!("no --signing-key: responses carry no receipts");
            }
            None
        }
    };
    let audit = match &args.audit_dir {
        Some(dir) => {
            let durability = Durability::parse(&args.audit_durability).unwrap_or(Durability::Batch);
            let limits = Limits {
                max_segment_bytes: args.audit_segment_bytes.max(1),
                ..Limits::default()
            };
            let a = Audit::open_dir(dir, durability, limits)
                .with_context(|| format!("opening the audit directory {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), ?durability, "audit trail on");
            Some(a)
        }
        None => None,
    };
    runtime.block_on(serve(config, auth, correlator, signer, audit, tls))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The keys, or open access where that is allowed (see [`Args::keys`]).
fn open_auth(args: &Args, config: &Config) -> anyhow::Result<Auth> {
    if let Some(file) = &args.keys {
        let auth = Auth::from_file(file.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        if auth.is_empty() {
            tracing::warn!(file = %file.display(), "the keys file holds no keys: every request but the probes is refused");
        }
        tracing::info!(file = %file.display(), keys = auth.len(), "API keys loaded");
        return Ok(auth);
    }
    let loopback = config.listen.ip().is_loopback();
    if !loopback && !args.insecure_open {
        bail!(
            "refusing to serve {} without API keys: anyone who can reach it could query people's records. \
             Pass --keys FILE (create keys with `credgate keys new`), listen on a loopback address, \
             or pass --insecure-open if an outer layer controls access",
            config.listen
        );
    }
    if loopback {
        tracing::warn!(addr = %config.listen, "no keys file: serving anonymously, on a loopback address only");
    } else {
        tracing::warn!(addr = %config.listen, "no keys file and --insecure-open: serving anonymously to anyone who can connect");
    }
    Ok(Auth::open())
}

async fn serve(
    config: Config,
    auth: Auth,
    correlator: Correlator,
    signer: Option<Signer>,
    audit: Option<Audit>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    // The signals are taken over before anything slow: the default action of SIGHUP and
    // SIGTERM ends the process, so one sent while the first snapshot is verified (seconds
    // for a large one) would kill the server, its audit trail unclosed.
    let stop = shutdown_signal();
    let hup = hangups();
    let poll = config.poll_interval_ms;
    let mut state = State::new(config);
    state.auth = auth;
    state.correlator = correlator;
    state.signer = signer;
    state.audit = audit;
    let scheme = if tls.is_some() { "https" } else { "http" };
    state.tls = tls;
    let state = Arc::new(state);
    let addr = listener.local_addr()?;
    // Connections are answered from here on: `/healthz` at once, `/readyz` with 503 and
    // checks with `not_ready` until the first snapshot is verified and loaded.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut rx = stop_rx.clone();
    let server = tokio::spawn(server::run(listener, state.clone(), async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    tracing::info!(%addr, scheme, "accepting connections; loading the snapshot");
    if let Err(e) = state.reloader.reload(&state, Trigger::Startup).await {
        tracing::error!(error = %e, "no snapshot loaded yet; /readyz answers 503 until one is");
    }
    tracing::info!(%addr, scheme, "credgate listening");
    if poll > 0 {
        let mut rx = stop_rx.clone();
        tokio::spawn(reload::watch(
            state.clone(),
            Duration::from_millis(poll),
            async move {
                let _ = rx.wait_for(|s| *s).await;
            },
        ));
    }
    tokio::spawn(on_sighup(hup, state.clone()));
    stop.await;
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop_tx.send(true);
    server
        .await
        .context("server task")?
        .context("starting the connection workers")?;
    // Every request has been answered: write and sync what the trail still holds.
    if let Some(audit) = &state.audit {
        audit.close();
        tracing::info!("audit trail closed");
    }
    Ok(())
}

/// SIGHUP, taken over from its default action (the end of the process) at once; `None` if
/// it cannot be.
#[cfg(unix)]
fn hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangups() -> Option<()> {
    None
}

/// Reloads the keys and the snapshot on every SIGHUP (one sent before this runs, during
/// the start, is taken too).
#[cfg(unix)]
async fn on_sighup(hup: Option<tokio::signal::unix::Signal>, state: Arc<State>) {
    let Some(mut hup) = hup else {
        return;
    };
    while hup.recv().await.is_some() {
        match state.auth.reload() {
            Ok(Some(n)) => tracing::info!(keys = n, "SIGHUP: keys reloaded"),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: keys file refused; the keys loaded before stay in force")
            }
        }
        match state.reloader.reload(&state, Trigger::Explicit).await {
            Ok(outcome) => tracing::info!(?outcome, "SIGHUP reload"),
            Err(e) => tracing::error!(error = %e, "SIGHUP reload refused"),
        }
    }
}

#[cfg(not(unix))]
async fn on_sighup(_hup: Option<()>, _state: Arc<State>) {}

/// Resolves on SIGTERM or ctrl-c (SIGINT). On Unix both are taken over when this is called,
/// not when it is first polled, so a signal in between is neither lost nor fatal.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        match (term, int) {
            (Some(mut term), Some(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
