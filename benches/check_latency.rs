//! Per-call latency of one in-process check, with percentiles (criterion's `engine` bench
//! reports means and medians of batches, not a p99), and the time `Snapshot::open` takes.
//!
//! Run (what `benches/compare.sh` does):
//!   cargo bench --bench check_latency -- ROOT [CHECKS]
//! ROOT is a snapshot root; CHECKS (default 200,000) is how many checks of each kind are timed.
//!
//! It opens ROOT eleven times and prints the median and max wall time of `Engine::open`
//! (`Snapshot::open` plus compiling the catalogue: headers and the manifest are read and
//! checked, the data files are mapped but not read) and the process RSS after the last open.
//! It then runs `Engine::verify` once, as the server does before serving (after it, strings
//! are borrowed from the heap unchecked), and prints how long that took. It then picks sample identifiers as `benches/engine.rs` does — organisations with records,
//! persons reached through links, valid codes not in the snapshot — and times every
//! `Engine::check` on its own with `Instant` (two clock reads per call, about 20–40 ns of the
//! figure), cycling through 4096 samples of each kind, and prints the median, p99 and p99.9.
//!
//! With `--callgrind` it skips the timing and runs `CHECKS` checks of each kind in
//! `check_loop`, so `valgrind --tool=callgrind --toggle-collect=*check_loop*` counts only the
//! check path.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use credgate::engine::{Engine, Options};
use credgate_index::date::Day;
use credgate_index::ids::Id;
use credgate_index::model::Scenario;

#[path = "support/samples.rs"]
mod samples;

use samples::samples;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[inline(never)]
fn check_loop(engine: &Engine, ids: &[Id], scenario: Scenario, today: Day, n: usize) -> usize {
    let mut acc = 0;
    for i in 0..n {
        let d = engine.check(
            &ids[i % ids.len()],
            scenario,
            today,
            today,
            Options::default(),
        );
        acc += black_box(d.decision) as usize;
    }
    acc
}

fn timed(engine: &Engine, ids: &[Id], scenario: Scenario, today: Day, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let d = engine.check(
            &ids[i % ids.len()],
            scenario,
            today,
            today,
            Options::default(),
        );
        black_box(d.decision);
        out.push(t.elapsed());
    }
    out.sort_unstable();
    out
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_nanos() as f64 / 1000.0
}

fn main() {
    // `cargo bench` appends `--bench`; ignore it and any other flag but ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let callgrind = args.iter().any(|a| a == "--callgrind");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(root) = pos.first().map(PathBuf::from) else {
        eprintln!("usage: check_latency ROOT [CHECKS] [--callgrind]");
        std::process::exit(2);
    };
    let n: usize = pos.get(1).and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let today = Day::parse("2026-11-28").expect("valid date");

    let mut opens = Vec::new();
    let mut engine = None;
    for _ in 0..11 {
        let t = Instant::now();
        let e = Engine::open(&root).unwrap_or_else(|e| panic!("open {}: {e}", root.display()));
        opens.push(t.elapsed());
        engine = Some(e);
    }
    let engine = engine.expect("opened at least once");
    opens.sort_unstable();
    println!(
        "open_ms median {:.3} max {:.3} rss_after_open_mib {:.1} subjects {}",
        opens[5].as_secs_f64() * 1e3,
        opens[10].as_secs_f64() * 1e3,
        rss_kib() as f64 / 1024.0,
        engine.snapshot().subject_count()
    );
    // As the server does before it serves (strings are then borrowed unchecked). After the
    // RSS figure above, which is meant to show what opening alone maps in.
    let t = Instant::now();
    engine
        .verify()
        .unwrap_or_else(|e| panic!("verify {}: {e}", root.display()));
    println!(
        "verify_ms {:.1} id_index {}",
        t.elapsed().as_secs_f64() * 1e3,
        engine.snapshot().has_id_index()
    );

    let s = samples(&engine, today);
    let kinds = [
        ("hit_org", &s.orgs, Scenario::Procurement),
        ("hit_linked_person", &s.linked_persons, Scenario::Transport),
        ("miss", &s.misses, Scenario::Procurement),
    ];
    for (name, ids, scenario) in kinds {
        if ids.is_empty() {
            println!("check {name} no samples");
            continue;
        }
        if callgrind {
            black_box(check_loop(&engine, ids, scenario, today, n));
            continue;
        }
        // One untimed pass brings the sampled pages into memory and the caches up.
        black_box(check_loop(&engine, ids, scenario, today, ids.len()));
        let t = timed(&engine, ids, scenario, today, n);
        println!(
            "check {name} samples {} n {n} median_us {:.3} p99_us {:.3} p999_us {:.3} max_us {:.3}",
            ids.len(),
            pct(&t, 0.5),
            pct(&t, 0.99),
            pct(&t, 0.999),
            pct(&t, 1.0)
        );
    }
}
