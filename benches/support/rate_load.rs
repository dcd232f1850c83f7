//! A fixed-rate (open-loop) HTTP load generator for the "p99 < 1 ms at half of peak load"
//! target of SPEC §9. wrk drives a server as fast as it answers (closed loop), which says
//! what the peak is but not what latency a client sees at a given offered load; Debian ships
//! no wrk2. This tool sends requests on a fixed schedule and measures each latency from the
//! moment the request *should* have been sent, so a stalled server is charged for every
//! request that queued behind the stall (no "coordinated omission").
//!
//! ```text
//! rate_load ADDR PATHS_FILE RATE SECONDS [CONNECTIONS]
//! ```
//!
//! `PATHS_FILE` holds one request target per line (`/v1/check?id=…&scenario=…`), used in
//! turn. Request `k` (counting from 0 over all connections) is due at `start + k / RATE`;
//! connection `c` carries requests `c, c + C, c + 2C, …`. A response that is not 2xx, or a
//! socket error, counts as an error. Prints one line:
//!
//! ```text
//! RATE offered achieved p50_ms p90_ms p99_ms p999_ms max_ms errors sent svc_p50_ms svc_p99_ms
//! ```
//!
//! The last two are the server's response time as this client sees it: from the request's
//! write to its response's last byte, leaving out how late the request was sent. The
//! percentiles before them, from the schedule, are the ones SPEC §9's target is about; the
//! response times say how much of a tail is the server's own and how much is requests
//! queued behind earlier ones on the same connection, or a client thread that ran late.
//!
//! One thread per connection (default 16). Built with the harness: `cargo build --release --example rate_load`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    paths: Vec<String>,
    rate: f64,
    seconds: f64,
    connections: usize,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 4 || a.len() > 5 {
        return Err("usage: rate_load ADDR PATHS_FILE RATE SECONDS [CONNECTIONS]".into());
    }
    let text = std::fs::read_to_string(&a[1]).map_err(|e| format!("{}: {e}", a[1]))?;
    let paths: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if paths.is_empty() {
        return Err(format!("{}: no request targets", a[1]));
    }
    let num = |s: &str, what: &str| -> Result<f64, String> {
        match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
            _ => Err(format!("{what} must be a positive number, got {s:?}")),
        }
    };
    let connections = match a.get(4) {
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| format!("CONNECTIONS must be a positive integer, got {s:?}"))?,
        None => 16,
    };
    Ok(Args {
        addr: a[0].clone(),
        paths,
        rate: num(&a[2], "RATE")?,
        seconds: num(&a[3], "SECONDS")?,
        connections,
    })
}

/// What one connection saw: latencies in microseconds and the error count.
struct Tally {
    micros: Vec<u32>,
    /// From each request's write to its response's end.
    service: Vec<u32>,
    errors: u64,
}

/// Reads one HTTP/1.1 response (status line, headers, a `Content-Length` body) and says
/// whether it was 2xx. The servers measured here always send `Content-Length`.
fn read_response(r: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<bool> {
    line.clear();
    r.read_line(line)?;
    let ok = line.split(' ').nth(1).is_some_and(|s| s.starts_with('2'));
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| std::io::ErrorKind::InvalidData)?;
            }
        }
    }
    std::io::copy(&mut r.by_ref().take(length as u64), &mut std::io::sink())?;
    Ok(ok)
}

/// One connection on its own thread with a blocking socket: `thread::sleep` wakes within
/// tens of microseconds on Linux, where an async runtime's timer wheel rounds to whole
/// milliseconds and would add up to 1 ms of its own to every latency.
fn connection(args: &Args, index: usize, start: Instant, total: u64) -> Result<Tally, String> {
    let tcp = TcpStream::connect(&args.addr).map_err(|e| format!("connect {}: {e}", args.addr))?;
    let _ = tcp.set_nodelay(true);
    let mut writer = tcp.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(64 * 1024, tcp);
    let interval = 1.0 / args.rate;
    let step = args.connections as u64;
    let mut tally = Tally {
        micros: Vec::with_capacity((total / step + 1) as usize),
        service: Vec::with_capacity((total / step + 1) as usize),
        errors: 0,
    };
    let mut request = Vec::with_capacity(256);
    let mut line = String::new();
    let mut k = index as u64;
    while k < total {
        let due = start + Duration::from_secs_f64(k as f64 * interval);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let path = &args.paths[(k % args.paths.len() as u64) as usize];
        request.clear();
        write!(
            request,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            args.addr
        )
        .expect("write to a Vec");
        let sent = Instant::now();
        let ok = writer
            .write_all(&request)
            .and_then(|_| read_response(&mut reader, &mut line));
        // Measured from when the request was due, not from when it could be sent.
        let took = due.elapsed().as_micros().min(u32::MAX as u128) as u32;
        tally.micros.push(took);
        tally
            .service
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match ok {
            Ok(true) => {}
            Ok(false) => tally.errors += 1,
            Err(_) => {
                // The connection is gone: every request left on its schedule fails, which is
                // what a client would see.
                tally.errors += 1 + (total - k - 1) / step;
                break;
            }
        }
        k += step;
    }
    Ok(tally)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = match args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let total = (args.rate * args.seconds).round() as u64;
    // Give every connection time to connect before the schedule starts.
    let start = Instant::now() + Duration::from_millis(200);
    let threads: Vec<_> = (0..args.connections)
        .map(|c| {
            let args = args.clone();
            std::thread::spawn(move || connection(&args, c, start, total))
        })
        .collect();
    let mut micros = Vec::with_capacity(total as usize);
    let mut service = Vec::with_capacity(total as usize);
    let mut errors = 0;
    for t in threads {
        match t.join().expect("connection thread") {
            Ok(tally) => {
                micros.extend_from_slice(&tally.micros);
                service.extend_from_slice(&tally.service);
                errors += tally.errors;
            }
            Err(e) => {
                eprintln!("rate_load: {e}");
                std::process::exit(1);
            }
        }
    }
    let elapsed = start.elapsed();
    micros.sort_unstable();
    service.sort_unstable();
    let sent = micros.len();
    println!(
        "RATE {:.0} {:.0} {:.3} {:.3} {:.3} {:.3} {:.3} {} {} {:.3} {:.3}",
        args.rate,
        sent as f64 / elapsed.as_secs_f64(),
        percentile(&micros, 50.0),
        percentile(&micros, 90.0),
        percentile(&micros, 99.0),
        percentile(&micros, 99.9),
        micros.last().copied().unwrap_or(0) as f64 / 1000.0,
        errors,
        sent,
        percentile(&service, 50.0),
        percentile(&service, 99.0),
    );
}
