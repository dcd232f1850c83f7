//! Hot reload: find the generation `CURRENT` names, open and verify it off the async threads,
//! then swap it in with one atomic pointer store.
//!
//! Requests hold an `Arc<Engine>` loaded from the [`ArcSwapOption`](arc_swap::ArcSwapOption)
//! for their whole life, so a request in flight finishes on the snapshot it started with and
//! the old mapping is released when the last of them drops it. A generation that fails to
//! open or verify is refused: it is logged, counted, remembered (the poller does not retry it
//! every tick), and the engine already loaded keeps serving.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use credgate_index::format::FormatError;
use credgate_index::publish;

use super::State;
use crate::engine::{Engine, EngineError};

/// What asked for the reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The start of the server.
    Startup,
    /// `POST /v1/admin/reload` or SIGHUP: a refused generation is tried again.
    Explicit,
    /// The `CURRENT` poller: only a generation not seen before is tried.
    Poll,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Loaded {
        previous: Option<String>,
        snapshot: String,
        generation: String,
    },
    Unchanged {
        snapshot: String,
        generation: String,
    },
}

#[derive(Debug)]
pub enum ReloadError {
    /// `CURRENT` is missing, names nothing valid, or cannot be read.
    Resolve(FormatError),
    Open {
        generation: PathBuf,
        error: EngineError,
    },
    Verify {
        generation: PathBuf,
        error: FormatError,
    },
    /// The poller saw this generation refused already and does not try it again by itself.
    AlreadyRefused(PathBuf),
    /// The blocking task died (only a bug could cause it).
    Task(String),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Resolve(e) => write!(f, "finding the live generation: {e}"),
            ReloadError::Open { generation, error } => {
                write!(f, "opening {}: {error}; the snapshot already loaded, if any, keeps serving", generation.display())
            }
            ReloadError::Verify { generation, error } => write!(
                f,
                "verifying {}: {error}; the snapshot already loaded, if any, keeps serving (rebuild and republish it)",
                generation.display()
            ),
            ReloadError::AlreadyRefused(g) => write!(f, "{} was refused before; POST /v1/admin/reload to retry", g.display()),
            ReloadError::Task(e) => write!(f, "reload task failed: {e}"),
        }
    }
}

impl std::error::Error for ReloadError {}

/// What the reloader remembers between attempts.
#[derive(Default)]
pub struct Tracked {
    loaded: Option<PathBuf>,
    refused: Option<PathBuf>,
    /// The last failure to resolve `CURRENT` the poller reported, so it reports each once.
    unresolved: Option<String>,
}

/// Serialises reloads: two triggers at once would otherwise verify the same generation twice.
#[derive(Default)]
pub struct Reloader {
    tracked: tokio::sync::Mutex<Tracked>,
}

fn generation_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl Reloader {
    /// Loads the generation the root names now, unless it is the one being served.
    pub async fn reload(
        &self,
        state: &State,
        trigger: Trigger,
    ) -> Result<ReloadOutcome, ReloadError> {
        let mut tracked = self.tracked.lock().await;
        let root = state.config.index.clone();
        let generation = tokio::task::spawn_blocking(move || publish::resolve(&root))
            .await
            .map_err(|e| ReloadError::Task(e.to_string()))?
            .map_err(ReloadError::Resolve);
        let generation = match generation {
            Ok(g) => {
                tracked.unresolved = None;
                g
            }
            Err(e) => {
                // A root without CURRENT is normal before the first build: the poller stays
                // quiet about it until a snapshot has been served. After that a CURRENT that
                // names nothing valid is a broken publication: the poller reports it once
                // (a warning and a failed reload), an explicit reload every time.
                let text = e.to_string();
                if trigger != Trigger::Poll {
                    state.metrics.reload(false);
                } else if tracked.loaded.is_some() && tracked.unresolved.as_ref() != Some(&text) {
                    state.metrics.reload(false);
                    tracing::warn!(error = %text, "CURRENT names no loadable generation; the snapshot already loaded keeps serving");
                    tracked.unresolved = Some(text);
                }
                return Err(e);
            }
        };
        if tracked.loaded.as_ref() == Some(&generation) {
            if let Some(engine) = state.engine.load_full() {
                return Ok(ReloadOutcome::Unchanged {
                    snapshot: engine.snapshot().id().to_string(),
                    generation: generation_name(&generation),
                });
            }
        }
        if trigger == Trigger::Poll && tracked.refused.as_ref() == Some(&generation) {
            return Err(ReloadError::AlreadyRefused(generation));
        }
        let g = generation.clone();
        let opened = tokio::task::spawn_blocking(move || -> Result<Engine, ReloadError> {
            let engine = Engine::open(&g).map_err(|error| ReloadError::Open {
                generation: g.clone(),
                error,
            })?;
            engine.verify().map_err(|error| ReloadError::Verify {
                generation: g.clone(),
                error,
            })?;
            Ok(engine)
        })
        .await
        .map_err(|e| ReloadError::Task(e.to_string()))?;
        match opened {
            Ok(engine) => {
                let snapshot = engine.snapshot().id().to_string();
                let previous = state
                    .engine
                    .swap(Some(Arc::new(engine)))
                    .map(|e| e.snapshot().id().to_string());
                state.metrics.reload(true);
                tracing::info!(generation = %generation.display(), snapshot = %snapshot, previous = ?previous, ?trigger, "snapshot loaded");
                tracked.loaded = Some(generation.clone());
                tracked.refused = None;
                Ok(ReloadOutcome::Loaded {
                    previous,
                    snapshot,
                    generation: generation_name(&generation),
                })
            }
            Err(e) => {
                state.metrics.reload(false);
                tracing::error!(error = %e, ?trigger, "snapshot refused");
                tracked.refused = Some(generation);
                Err(e)
            }
        }
    }
}

/// Polls the root's `CURRENT` every `interval` until `shutdown` resolves, reloading when it
/// names a generation other than the one served.
pub async fn watch(
    state: Arc<State>,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tick.tick() => {
                if let Err(e) = state.reloader.reload(&state, Trigger::Poll).await {
                    tracing::debug!(error = %e, "poll found nothing new to load");
                }
            }
        }
    }
}
