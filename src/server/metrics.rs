//! Prometheus text exposition (format 0.0.4), written by hand over atomics.
//!
//! Every counter is a relaxed `AtomicU64` in a fixed array indexed by route, status, scenario
//! or outcome, so recording a request is a few uncontended increments and no lock or map
//! lookup; the text is produced only when `/metrics` is scraped.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credgate_index::model::Scenario;

use super::workers;
use crate::engine::{Engine, Outcome};

/// The label values of `route`: one per endpoint, plus `other` for unknown paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Check,
    Screen,
    Subjects,
    Search,
    Snapshot,
    Healthz,
    Readyz,
    Metrics,
    Reload,
    /// The counter page and its assets.
    Page,
    PublicKey,
    Other,
}

impl Route {
    pub const ALL: [Route; 12] = [
        Route::Check,
        Route::Screen,
        Route::Subjects,
        Route::Search,
        Route::Snapshot,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
        Route::Reload,
        Route::Page,
        Route::PublicKey,
        Route::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Check => "/v1/check",
            Route::Screen => "/v1/screen",
            Route::Subjects => "/v1/subjects/{id}",
            Route::Search => "/v1/search",
            Route::Snapshot => "/v1/snapshot",
            Route::Healthz => "/healthz",
            Route::Readyz => "/readyz",
            Route::Metrics => "/metrics",
            Route::Reload => "/v1/admin/reload",
            Route::Page => "/",
            Route::PublicKey => "/v1/receipts/public-key",
            Route::Other => "other",
        }
    }
}

/// Statuses the server answers with; anything else is counted under `other`.
const STATUSES: [u16; 14] = [
    200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431, 500, 503,
];
const NSTATUS: usize = STATUSES.len() + 1;
/// Upper bounds of the latency buckets, in microseconds (100 µs … 10 s).
const BUCKETS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];
const NROUTE: usize = Route::ALL.len();
const NSCEN: usize = Scenario::ALL.len() + 1;

/// Copies of the counters every request touches. A thread counts into the copy of its
/// connection worker ([`workers::home`]), so the workers do not take the same cache lines
/// from each other at every request; a scrape adds them up. With one copy, `perf annotate`
/// put most of `Metrics::request` on its `lock add`s; with copies it cost 0.035–0.037 µs a
/// request against 0.050–0.052 (open server, wrk with 64 connections, two interleaved
/// pairs, 2026-11-30): a small saving on two cores. More workers than copies share them
/// (by worker key, modulo the number of copies).
const SHARDS: usize = 4;

/// One copy of the per-request counters, on cache lines of its own.
#[repr(align(128))]
struct Counters {
    requests: [[AtomicU64; NSTATUS]; NROUTE],
    /// Cumulative counts are computed at scrape time; each slot counts its own bucket
    /// (the last slot is +Inf).
    latency: [[AtomicU64; BUCKETS_US.len() + 1]; NROUTE],
    latency_sum_us: [AtomicU64; NROUTE],
    decisions: [[AtomicU64; 4]; NSCEN],
}

impl Counters {
    fn new() -> Counters {
        Counters {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency_sum_us: std::array::from_fn(|_| AtomicU64::new(0)),
            decisions: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

pub struct Metrics {
    shards: Box<[Counters; SHARDS]>,
    screened_rows: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    connections: AtomicU64,
    /// Each connection worker's open connections (see `server::workers`), once serving.
    workers: parking_lot::Mutex<Vec<Arc<AtomicU64>>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            shards: Box::new(std::array::from_fn(|_| Counters::new())),
            screened_rows: AtomicU64::new(0),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            workers: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// The counters of the calling thread's worker.
    fn mine(&self) -> &Counters {
        &self.shards[workers::home() as usize % SHARDS]
    }

    /// The sum of one counter over the copies.
    fn total(&self, counter: impl Fn(&Counters) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|c| counter(c).load(Relaxed)).sum()
    }

    pub fn request(&self, route: Route, status: u16, elapsed: Duration) {
        let mine = self.mine();
        let r = route as usize;
        let s = STATUSES
            .iter()
            .position(|&x| x == status)
            .unwrap_or(STATUSES.len());
        mine.requests[r][s].fetch_add(1, Relaxed);
        let us = elapsed.as_micros().min(u64::MAX as u128) as u64;
        let b = BUCKETS_US
            .iter()
            .position(|&ub| us <= ub)
            .unwrap_or(BUCKETS_US.len());
        mine.latency[r][b].fetch_add(1, Relaxed);
        mine.latency_sum_us[r].fetch_add(us, Relaxed);
    }

    pub fn decision(&self, scenario: Scenario, outcome: Outcome) {
        let o = Outcome::ALL.iter().position(|&x| x == outcome).unwrap_or(0);
        self.mine().decisions[scenario.code() as usize % NSCEN][o].fetch_add(1, Relaxed);
    }

    pub fn decisions_add(&self, scenario: Scenario, outcome: Outcome, n: u64) {
        if n > 0 {
            let o = Outcome::ALL.iter().position(|&x| x == outcome).unwrap_or(0);
            self.mine().decisions[scenario.code() as usize % NSCEN][o].fetch_add(n, Relaxed);
        }
    }

    pub fn screened(&self, rows: u64) {
        self.screened_rows.fetch_add(rows, Relaxed);
    }

    pub fn reload(&self, ok: bool) {
        if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        }
        .fetch_add(1, Relaxed);
    }

    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Relaxed);
    }

    /// The open-connection counters of the connection workers, shown per worker.
    pub fn set_workers(&self, counters: Vec<Arc<AtomicU64>>) {
        *self.workers.lock() = counters;
    }

    /// The exposition text. `engine` is the snapshot being served, if any.
    pub fn render(&self, engine: Option<&Engine>) -> String {
        let mut o = String::with_capacity(16 * 1024);
        o.push_str("# HELP credgate_requests_total HTTP requests answered, by route and status.\n");
        o.push_str("# TYPE credgate_requests_total counter\n");
        for route in Route::ALL {
            for i in 0..NSTATUS {
                let n = self.total(|c| &c.requests[route as usize][i]);
                if n > 0 {
                    let status = STATUSES
                        .get(i)
                        .map_or("other".to_string(), |s| s.to_string());
                    let _ = writeln!(
                        o,
                        "credgate_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                        route.as_str()
                    );
                }
            }
        }
        o.push_str(
            "# HELP credgate_request_duration_seconds Time from request head to response head.\n",
        );
        o.push_str("# TYPE credgate_request_duration_seconds histogram\n");
        for route in Route::ALL {
            let r = route as usize;
            let counts: Vec<u64> = (0..=BUCKETS_US.len())
                .map(|b| self.total(|c| &c.latency[r][b]))
                .collect();
            let total: u64 = counts.iter().sum();
            if total == 0 {
                continue;
            }
            let mut cum = 0;
            for (i, ub) in BUCKETS_US.iter().enumerate() {
                cum += counts[i];
                let _ = writeln!(
                    o,
                    "credgate_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {cum}",
                    route.as_str(),
                    *ub as f64 / 1e6
                );
            }
            let _ = writeln!(
                o,
                "credgate_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {total}",
                route.as_str()
            );
            let sum = self.total(|c| &c.latency_sum_us[r]) as f64 / 1e6;
            let _ = writeln!(
                o,
                "credgate_request_duration_seconds_sum{{route=\"{}\"}} {sum}",
                route.as_str()
            );
            let _ = writeln!(
                o,
                "credgate_request_duration_seconds_count{{route=\"{}\"}} {total}",
                route.as_str()
            );
        }
        o.push_str("# HELP credgate_decisions_total Decisions given (checks and screened rows), by scenario and outcome.\n");
        o.push_str("# TYPE credgate_decisions_total counter\n");
        for s in Scenario::ALL {
            for (i, outcome) in Outcome::ALL.iter().enumerate() {
                let n = self.total(|c| &c.decisions[s.code() as usize % NSCEN][i]);
                let _ = writeln!(
                    o,
                    "credgate_decisions_total{{scenario=\"{}\",outcome=\"{}\"}} {n}",
                    s.as_str(),
                    outcome.as_str()
                );
            }
        }
        o.push_str("# HELP credgate_screened_rows_total Rows answered by /v1/screen.\n# TYPE credgate_screened_rows_total counter\n");
        let _ = writeln!(
            o,
            "credgate_screened_rows_total {}",
            self.screened_rows.load(Relaxed)
        );
        o.push_str("# HELP credgate_reloads_total Snapshot reloads, by result (a failed one keeps the old snapshot).\n");
        o.push_str("# TYPE credgate_reloads_total counter\n");
        let _ = writeln!(
            o,
            "credgate_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "credgate_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Relaxed)
        );
        o.push_str("# HELP credgate_connections_total TCP connections accepted.\n# TYPE credgate_connections_total counter\n");
        let _ = writeln!(
            o,
            "credgate_connections_total {}",
            self.connections.load(Relaxed)
        );
        o.push_str("# HELP credgate_worker_connections Open connections on each connection worker thread.\n# TYPE credgate_worker_connections gauge\n");
        for (i, c) in self.workers.lock().iter().enumerate() {
            let _ = writeln!(
                o,
                "credgate_worker_connections{{worker=\"{i}\"}} {}",
                c.load(Relaxed)
            );
        }
        // Each family's HELP and TYPE lines come right before its samples, as the text
        // format requires. Without a snapshot the two snapshot families are declared with
        // no sample.
        let manifest = engine.map(|e| e.snapshot().manifest());
        o.push_str("# HELP credgate_snapshot_info The snapshot being served (value 1).\n# TYPE credgate_snapshot_info gauge\n");
        if let Some(m) = manifest {
            let _ = writeln!(
                o,
                "credgate_snapshot_info{{snapshot=\"{}\",format_version=\"{}\",built_at=\"{}\"}} 1",
                escape(&m.snapshot_id),
                m.format_version,
                escape(&m.built_at)
            );
        }
        o.push_str("# HELP credgate_snapshot_age_seconds Seconds since the served snapshot was built.\n# TYPE credgate_snapshot_age_seconds gauge\n");
        if let Some(built) = manifest.and_then(|m| parse_rfc3339_utc(&m.built_at)) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let _ = writeln!(o, "credgate_snapshot_age_seconds {}", (now - built).max(0));
        }
        o.push_str("# HELP credgate_ready Whether a verified snapshot is being served.\n# TYPE credgate_ready gauge\n");
        let _ = writeln!(o, "credgate_ready {}", u8::from(manifest.is_some()));
        o
    }
}

/// Escapes a label value (backslash, quote, newline), as the exposition format requires.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Seconds since the epoch of a manifest's `YYYY-MM-DDTHH:MM:SSZ`.
fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let day = credgate_index::date::Day::parse(s.get(..10)?).ok()?;
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    Some(day.0 as i64 * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_into_status_and_latency_buckets() {
        let m = Metrics::new();
        m.request(Route::Check, 200, Duration::from_micros(90));
        m.request(Route::Check, 200, Duration::from_micros(700));
        m.request(Route::Check, 999, Duration::from_secs(20));
        let text = m.render(None);
        assert!(
            text.contains("credgate_requests_total{route=\"/v1/check\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("credgate_requests_total{route=\"/v1/check\",status=\"other\"} 1"));
        assert!(text.contains(
            "credgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.0001\"} 1"
        ));
        assert!(text.contains(
            "credgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.001\"} 2"
        ));
        assert!(text.contains(
            "credgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("credgate_ready 0"));
    }

    /// Counts made on two connection workers and on another thread land in different
    /// copies and are all in the scrape.
    #[test]
    fn counts_from_every_worker_add_up() {
        let m = Arc::new(Metrics::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let homes = rt.block_on(async {
            let mut w = workers::Workers::start(2).unwrap();
            let mut homes = Vec::new();
            // `spawn` hands a task to the worker with the fewest open; keeping both open
            // until both have counted puts one on each worker.
            let (release, hold) = tokio::sync::watch::channel(false);
            let mut done = Vec::new();
            for n in 1..=2u64 {
                let (m, mut hold) = (m.clone(), hold.clone());
                let (tx, rx) = tokio::sync::oneshot::channel();
                w.spawn(async move {
                    for _ in 0..n * 10 {
                        m.request(Route::Check, 200, Duration::from_micros(200));
                    }
                    m.decision(Scenario::ALL[0], Outcome::ALL[0]);
                    let _ = tx.send(workers::home());
                    let _ = hold.wait_for(|go| *go).await;
                });
                done.push(rx);
            }
            for rx in done {
                homes.push(rx.await.unwrap());
            }
            let _ = release.send(true);
            homes
        });
        assert!(homes[0] != 0 && homes[1] != 0 && homes[0] != homes[1]);
        assert_ne!(
            homes[0] as usize % SHARDS,
            homes[1] as usize % SHARDS,
            "two workers share a copy"
        );
        m.request(Route::Check, 200, Duration::from_micros(200));
        m.decision(Scenario::ALL[0], Outcome::ALL[0]);
        let text = m.render(None);
        assert!(
            text.contains("credgate_requests_total{route=\"/v1/check\",status=\"200\"} 31"),
            "{text}"
        );
        assert!(text.contains(
            "credgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 31"
        ));
        assert!(text.contains("credgate_request_duration_seconds_sum{route=\"/v1/check\"} 0.0062"));
        let decisions = format!(
            "credgate_decisions_total{{scenario=\"{}\",outcome=\"{}\"}} 3",
            Scenario::ALL[0].as_str(),
            Outcome::ALL[0].as_str()
        );
        assert!(text.contains(&decisions), "{text}");
    }

    #[test]
    fn reads_manifest_times() {
        assert_eq!(
            parse_rfc3339_utc("2026-11-28T20:34:11Z"),
            Some(1_795_898_051)
        );
        assert_eq!(parse_rfc3339_utc("2026-11-28 20:34:11"), None);
    }
}
