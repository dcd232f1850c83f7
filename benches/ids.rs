//! Identifier validation speed: 1,000 seeded generated codes per group, throughput in
//! validations. Target (SPEC §9 budget for batch screening): ≥ 5M validations/s on one core.
//!
//! Run: `cargo bench --bench ids -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use credgate::date::Day;
use credgate::ids::{gen, parse, parse_ric, parse_uscc, Mode};

const N: u64 = 1_000;

fn text(code: &[u8]) -> String {
    String::from_utf8(code.to_vec()).expect("generated codes are ASCII")
}

/// Single-character typos of valid codes plus a few wrong lengths and foreign characters:
/// what a batch of bad input mostly looks like.
fn invalid_inputs() -> Vec<String> {
    (0..N)
        .map(|seed| {
            let h = gen::mix(seed ^ 0xBAD);
            let mut code = if seed % 2 == 0 {
                gen::sample_uscc(seed)
            } else {
                gen::sample_ric(seed)
            };
            match seed % 10 {
                8 => text(&code[..17]),
                9 => format!("{}张", text(&code[..10])),
                _ => {
                    let pos = (h % 18) as usize;
                    code[pos] = if code[pos] == b'7' { b'8' } else { b'7' };
                    text(&code)
                }
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let today = Day::from_ymd(2024, 6, 1).expect("real day");
    let usccs: Vec<String> = (0..N).map(|s| text(&gen::sample_uscc(s))).collect();
    let rics: Vec<String> = (0..N).map(|s| text(&gen::sample_ric(s))).collect();
    let legacy: Vec<String> = (0..N).map(|s| text(&gen::sample_ric15(s))).collect();
    let mut invalid = invalid_inputs();
    // A typo in an all-digit resident ID number can, rarely, spell a valid USCC (the
    // documented ambiguity of untyped input); such inputs are not invalid and are dropped.
    invalid.retain(|s| parse(s, Mode::Strict, today).is_err());
    for s in &invalid_inputs() {
        if let Ok(id) = parse(s, Mode::Strict, today) {
            eprintln!("typo {s} reads as a valid {}", id.id_type());
        }
    }
    assert!(usccs.iter().all(|s| parse_uscc(s, Mode::Strict).is_ok()));
    assert!(rics
        .iter()
        .chain(&legacy)
        .all(|s| parse_ric(s, today).is_ok()));
    assert!(invalid
        .iter()
        .all(|s| parse(s, Mode::Strict, today).is_err()));

    let mut g = c.benchmark_group("ids/uscc_valid");
    g.throughput(Throughput::Elements(N));
    g.bench_function("parse_uscc", |b| {
        b.iter(|| {
            for s in &usccs {
                black_box(parse_uscc(black_box(s), Mode::Strict)).ok();
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for s in &usccs {
                black_box(parse(black_box(s), Mode::Strict, today)).ok();
            }
        })
    });
    g.finish();

    for (name, inputs) in [("ids/ric_valid", &rics), ("ids/ric_15", &legacy)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(N));
        g.bench_function("parse_ric", |b| {
            b.iter(|| {
                for s in inputs {
                    black_box(parse_ric(black_box(s), today)).ok();
                }
            })
        });
        g.bench_function("parse", |b| {
            b.iter(|| {
                for s in inputs {
                    black_box(parse(black_box(s), Mode::Strict, today)).ok();
                }
            })
        });
        g.finish();
    }

    let mut g = c.benchmark_group("ids/invalid");
    g.throughput(Throughput::Elements(invalid.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for s in &invalid {
                black_box(parse(black_box(s), Mode::Strict, today)).ok();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
