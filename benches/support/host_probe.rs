//! How steady is this machine's CPU? Runs one thread per CPU, each timing a fixed chunk of
//! arithmetic (about 30 µs) over and over with a 200 µs rest between chunks, and prints,
//! for every 50 ms window in which a thread's median chunk took more than 1.3 times its
//! median over the whole run, the window's start and that factor.
//!
//! ```text
//! cargo build --release --example host_probe
//! target/release/examples/host_probe [SECONDS]      # default 10; run it on an idle machine
//! ```
//!
//! Nothing in the probe waits on anything but the clock, so on an idle machine a window whose
//! median chunk is two or three times slower means the CPU itself ran slower or in pieces:
//! the host took it (a virtual machine's neighbours, frequency changes). When every thread's
//! slow windows fall at the same moments, the whole machine slowed down. On the reference
//! machine this happens every two seconds or so for 100–150 ms, by 2–5× (benches/RESULTS.md,
//! "Session 17"), which is what keeps SPEC §9's "p99 < 1 ms at half of peak load" out of
//! reach there for credgate and the bare hyper server alike.

use std::time::{Duration, Instant};

fn work(n: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..n {
        x = x.rotate_left(7) ^ i.wrapping_mul(0x0100_0000_01b3);
    }
    x
}

/// (ms since start, chunk ns) for every chunk one thread ran.
fn probe(start: Instant, seconds: f64) -> Vec<(u32, u32)> {
    let mut chunks = Vec::new();
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        std::hint::black_box(work(std::hint::black_box(40_000)));
        let took = t.elapsed().as_nanos().min(u32::MAX as u128) as u32;
        chunks.push(((t - start).as_millis() as u32, took));
        std::thread::sleep(Duration::from_micros(200));
    }
    chunks
}

fn median(v: &mut [u32]) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64
}

fn main() {
    let seconds: f64 = match std::env::args().nth(1) {
        None => 10.0,
        Some(s) => match s.parse() {
            Ok(v) if v > 0.0 && v < 3600.0 => v,
            _ => {
                eprintln!("usage: host_probe [SECONDS] (a positive number under 3600)");
                std::process::exit(2);
            }
        },
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    let threads: Vec<_> = (0..cpus)
        .map(|_| std::thread::spawn(move || probe(start, seconds)))
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let chunks = t.join().expect("probe thread");
        let mut all: Vec<u32> = chunks.iter().map(|c| c.1).collect();
        let overall = median(&mut all);
        let mut slow = Vec::new();
        let mut window = Vec::new();
        let mut at = 0;
        for (ms, took) in chunks.into_iter().chain([(u32::MAX, 0)]) {
            if ms / 50 != at {
                if !window.is_empty() {
                    let factor = median(&mut window) / overall;
                    if factor > 1.3 {
                        slow.push(format!("{}ms:{factor:.2}x", at * 50));
                    }
                }
                at = ms / 50;
                window.clear();
            }
            window.push(took);
        }
        println!(
            "thread {i}: {} chunks, median {:.1} µs; {} of {} windows of 50 ms slow: {}",
            all.len(),
            overall / 1000.0,
            slow.len(),
            (seconds * 20.0).ceil() as u64,
            slow.join(" ")
        );
    }
}
