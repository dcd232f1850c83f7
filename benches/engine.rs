//! One check inside the process (SPEC §9: < 5 µs median on a 10M-record snapshot).
//!
//! The snapshot is synthetic (`index-builder synth`, seed 7) and cached under
//! `target/bench-data/`; the first run builds it, which takes a while at 10M.
//!
//! Run:
//!   CREDGATE_BENCH_RECORDS=10000000 cargo bench --bench engine -- --warm-up-time 2 --measurement-time 5
//! (default 1,000,000 records).
//!
//! Groups: `engine/check_*` is `Engine::check` (identifier already parsed) for hits on
//! organisations, hits on persons reached through links, and misses; `engine/check_json`
//! adds parsing the identifier and serialising the decision to JSON, i.e. everything the
//! server does per request except HTTP (`check_json_serde`: the same through serde_json);
//! `lookup/fst` and `lookup/idix` (`ids.idx`, format version 2) against a `HashMap` baseline
//! over the same identifiers isolate the identifier index.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use credgate::engine::{Engine, Options};
use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;
use credgate_index::source::Encoding;
use credgate_index::synth::{generate, SynthOptions};

#[path = "support/samples.rs"]
mod samples;

use samples::samples;

fn records() -> u64 {
    std::env::var("CREDGATE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn today() -> Day {
    Day::parse("2026-11-28").unwrap()
}

/// The cached snapshot root for `n` records, built on first use.
fn snapshot_root(n: u64) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let root = base.join(format!("root-{n}"));
    if root.join("CURRENT").exists() {
        return root;
    }
    let source = base.join(format!("synth-{n}"));
    if !source.join("synth.json").exists() {
        eprintln!(
            "bench: generating {n} synthetic records into {}",
            source.display()
        );
        generate(
            &source,
            &SynthOptions {
                records: n,
                seed: 7,
            },
        )
        .unwrap();
    }
    eprintln!("bench: building {}", root.display());
    build(&BuildOptions {
        source: source.clone(),
        out: root.clone(),
        catalog: Catalog::builtin(),
        max_rejects: None,
        history_from: None,
        today: today(),
        keep: 1,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap();
    // The source is only needed to build; keep the disk tidy.
    let _ = std::fs::remove_dir_all(&source);
    root
}

fn bench(c: &mut Criterion) {
    let n = records();
    let engine = Engine::open(&snapshot_root(n)).unwrap();
    // As the server does before it serves: verified strings are then borrowed unchecked.
    engine.verify().unwrap();
    let s = samples(&engine, today());
    eprintln!(
        "bench: {n} records, {} subjects; samples: {} orgs, {} linked persons, {} misses",
        engine.snapshot().subject_count(),
        s.orgs.len(),
        s.linked_persons.len(),
        s.misses.len()
    );
    let d = today();
    let opts = Options::default();

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    for (name, ids, scenario) in [
        ("check_hit_org", &s.orgs, Scenario::Procurement),
        (
            "check_hit_linked_person",
            &s.linked_persons,
            Scenario::Transport,
        ),
        ("check_miss", &s.misses, Scenario::Procurement),
    ] {
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % ids.len();
                black_box(engine.check(&ids[i], scenario, d, d, opts).decision)
            })
        });
    }
    let texts: Vec<String> = s.orgs.iter().map(|id| id.as_str().to_string()).collect();
    let mut i = 0;
    let mut buf = Vec::with_capacity(4096);
    g.bench_function("check_json", |b| {
        b.iter(|| {
            i = (i + 1) % texts.len();
            let id = ids::parse(&texts[i], Mode::Lenient, d).unwrap();
            buf.clear();
            engine
                .check(&id, Scenario::Procurement, d, d, opts)
                .write_json(&mut buf);
            black_box(buf.len())
        })
    });
    let mut i = 0;
    g.bench_function("check_json_serde", |b| {
        b.iter(|| {
            i = (i + 1) % texts.len();
            let id = ids::parse(&texts[i], Mode::Lenient, d).unwrap();
            buf.clear();
            serde_json::to_writer(
                &mut buf,
                &engine.check(&id, Scenario::Procurement, d, d, opts),
            )
            .unwrap();
            black_box(buf.len())
        })
    });
    g.finish();

    // The identifier index alone, against a HashMap over the same keys.
    let snap = engine.snapshot();
    let keys: Vec<[u8; 18]> = s
        .orgs
        .iter()
        .chain(&s.misses)
        .map(|id| *id.as_bytes())
        .collect();
    let map: HashMap<[u8; 18], u32> = (0..snap.subject_count())
        .map(|o| (snap.subject_id(o).as_bytes().try_into().unwrap(), o))
        .collect();
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("fst", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(snap.lookup_fst(&keys[i]))
        })
    });
    if snap.has_id_index() {
        let mut i = 0;
        g.bench_function("idix", |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(snap.lookup(&keys[i]))
            })
        });
    }
    let mut i = 0;
    g.bench_function("hashmap_baseline", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(map.get(&keys[i]))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
