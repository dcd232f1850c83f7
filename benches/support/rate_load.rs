//! A fixed-rate (open-loop) HTTP load generator for the "p99 < 1 ms at half of peak load"
//! target of SPEC §9. wrk drives a server as fast as it answers (closed loop), which says
//! what the peak is but not what latency a client sees at a given offered load; Debian ships
//! no wrk2. This tool sends requests on a fixed schedule and measures each latency from the
//! moment the request *should* have been sent, so a stalled server is charged for every
//! request that queued behind the stall (no "coordinated omission").
//!
//! ```text
//! rate_load ADDR PATHS_FILE RATE SECONDS [CONNECTIONS [THREADS]]
//! ```
//!
//! `PATHS_FILE` holds one request target per line (`/v1/check?id=…&scenario=…`), used in
//! turn. Request `k` (counting from 0 over all connections) is due at `start + k / RATE`;
//! connection `c` carries requests `c, c + C, c + 2C, …`, one at a time (HTTP/1.1 keep-alive,
//! no pipelining), so a request due while its connection still waits for the one before is
//! sent when that answer is in, and the wait counts in its latency. A response that is not
//! 2xx, or a socket error, counts as an error. Prints one line:
//!
//! ```text
//! RATE offered achieved p50_ms p90_ms p99_ms p999_ms max_ms errors sent svc_p50_ms svc_p99_ms
//! ```
//!
//! The last two are the server's response time as this client sees it: from the request's
//! write to its response's last byte, leaving out how late the request was sent. The
//! percentiles before them, from the schedule, are the ones SPEC §9's target is about; the
//! response times say how much of a tail is the server's own and how much is requests
//! queued behind earlier ones on the same connection, or a client that ran late.
//!
//! The connections (default 16) are shared among THREADS event loops (default 1), each an
//! epoll set with non-blocking sockets and a timerfd armed, to the nanosecond, for the next
//! request due; a request costs the client a write, a read and a share of one `epoll_wait`.
//! (An async runtime's timer wheel rounds to whole milliseconds and would add up to 1 ms of
//! its own to every latency.) Until 2026-11-30 each connection had a thread of its own with
//! blocking sockets and `thread::sleep`, which added its own wake-ups to every request: at
//! 40,000 requests a second the event loop measured a p50 of 0.028–0.033 ms where the
//! threads measured 0.074–0.078 ms, against the same servers. The p99 did not change (10–36
//! ms with either): it comes from spells in which the host runs this machine's CPUs several
//! times slower (`host_probe`; benches/RESULTS.md, "Session 17").
//!
//! Built with the harness: `cargo build --release --example rate_load`.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

struct Args {
    addr: String,
    paths: Vec<String>,
    rate: f64,
    seconds: f64,
    connections: usize,
    threads: usize,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 4 || a.len() > 6 {
        return Err("usage: rate_load ADDR PATHS_FILE RATE SECONDS [CONNECTIONS [THREADS]]".into());
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
    let count = |i: usize, what: &str, default: usize| -> Result<usize, String> {
        match a.get(i) {
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|&c| c > 0)
                .ok_or_else(|| format!("{what} must be a positive integer, got {s:?}")),
            None => Ok(default),
        }
    };
    let connections = count(4, "CONNECTIONS", 16)?;
    let threads = count(5, "THREADS", 1)?.min(connections);
    Ok(Args {
        addr: a[0].clone(),
        paths,
        rate: num(&a[2], "RATE")?,
        seconds: num(&a[3], "SECONDS")?,
        connections,
        threads,
    })
}

/// What one event loop saw: latencies in microseconds and the error count.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    /// From each request's write to its response's end.
    service: Vec<u32>,
    errors: u64,
}

/// One connection of an event loop.
struct Conn {
    tcp: TcpStream,
    /// The next request of its schedule (`c, c + C, …`), or the one in flight.
    k: u64,
    /// When the request in flight was written.
    sent: Option<Instant>,
    /// Bytes of responses read and not yet consumed.
    buf: Vec<u8>,
    done: bool,
}

/// The length of the complete response at the start of `buf` and whether it was 2xx, or
/// `None` while it is incomplete. The servers measured here always send `Content-Length`.
fn complete_response(buf: &[u8]) -> Result<Option<(usize, bool)>, ErrorKind> {
    let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head_text = std::str::from_utf8(&buf[..head]).map_err(|_| ErrorKind::InvalidData)?;
    let mut lines = head_text.split("\r\n");
    let ok = lines
        .next()
        .and_then(|status| status.split(' ').nth(1))
        .is_some_and(|code| code.starts_with('2'));
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| ErrorKind::InvalidData)?;
            }
        }
    }
    let total = head + 4 + length;
    Ok((buf.len() >= total).then_some((total, ok)))
}

/// A relative timer setting for `d` from now (at least 1 ns: zero would disarm it).
fn timer_in(d: Duration) -> Itimerspec {
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    Itimerspec {
        it_interval: zero,
        it_value: Timespec {
            tv_sec: d.as_secs() as _,
            tv_nsec: d.subsec_nanos().max(u32::from(d.as_secs() == 0)) as _,
        },
    }
}

const TIMER: u64 = u64::MAX;

/// One event loop carrying the connections `first, first + threads, …` until every
/// request of their schedules is answered or failed.
fn event_loop(args: &Args, first: usize, start: Instant, total: u64) -> Result<Tally, String> {
    let os = |what: &str, e: std::io::Error| format!("{what}: {e}");
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| os("epoll", e.into()))?;
    let timer = timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )
    .map_err(|e| os("timerfd", e.into()))?;
    epoll::add(
        &poll,
        &timer,
        epoll::EventData::new_u64(TIMER),
        epoll::EventFlags::IN,
    )
    .map_err(|e| os("epoll_ctl", e.into()))?;
    let step = args.connections as u64;
    let mut conns = Vec::new();
    for c in (first..args.connections).step_by(args.threads) {
        let tcp =
            TcpStream::connect(&args.addr).map_err(|e| format!("connect {}: {e}", args.addr))?;
        let _ = tcp.set_nodelay(true);
        tcp.set_nonblocking(true).map_err(|e| os("O_NONBLOCK", e))?;
        epoll::add(
            &poll,
            tcp.as_fd(),
            epoll::EventData::new_u64(conns.len() as u64),
            epoll::EventFlags::IN,
        )
        .map_err(|e| os("epoll_ctl", e.into()))?;
        conns.push(Conn {
            tcp,
            k: c as u64,
            sent: None,
            buf: Vec::with_capacity(16 * 1024),
            done: c as u64 >= total,
        });
    }
    let per = total / step + 1;
    let mut tally = Tally {
        micros: Vec::with_capacity((per * conns.len() as u64) as usize),
        service: Vec::with_capacity((per * conns.len() as u64) as usize),
        errors: 0,
    };
    let interval = 1.0 / args.rate;
    let due = |k: u64| start + Duration::from_secs_f64(k as f64 * interval);
    let mut request = Vec::with_capacity(256);
    let mut events = Vec::with_capacity(conns.len() + 1);
    let mut armed: Option<Instant> = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Write every request that is due on a connection with nothing in flight, and find
        // the next due time among the others.
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut live = false;
        for conn in conns.iter_mut().filter(|c| !c.done) {
            live = true;
            if conn.sent.is_some() {
                continue;
            }
            let at = due(conn.k);
            if at > now {
                next = Some(next.map_or(at, |n| n.min(at)));
                continue;
            }
            let path = &args.paths[(conn.k % args.paths.len() as u64) as usize];
            request.clear();
            write!(
                request,
                "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
                args.addr
            )
            .expect("write to a Vec");
            conn.sent = Some(Instant::now());
            // One small request on an idle connection: the socket's send buffer is empty.
            if (&conn.tcp).write_all(&request).is_err() {
                fail(conn, &mut tally, total, step);
            }
        }
        if !live {
            return Ok(tally);
        }
        if next != armed {
            let setting = match next {
                Some(at) => timer_in(at.saturating_duration_since(Instant::now())),
                None => timer_in(Duration::ZERO).disarmed(),
            };
            timerfd_settime(&timer, TimerfdTimerFlags::empty(), &setting)
                .map_err(|e| os("timerfd_settime", e.into()))?;
            armed = next;
        }
        events.clear();
        match epoll::wait(&poll, spare_capacity(&mut events), None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(os("epoll_wait", e.into())),
        }
        for event in &events {
            let key = event.data.u64();
            if key == TIMER {
                let mut expirations = [0u8; 8];
                let _ = rustix::io::read(&timer, &mut expirations);
                armed = None;
                continue;
            }
            let conn = &mut conns[key as usize];
            if !conn.done {
                receive(conn, &mut chunk, &mut tally, &due, total, step);
            }
            if conn.done {
                // Level-triggered: a closed socket left in the set would be reported for ever.
                let _ = epoll::delete(&poll, conn.tcp.as_fd());
            }
        }
    }
}

/// Reads what `conn` has for us and takes in its response when it is complete.
fn receive(
    conn: &mut Conn,
    chunk: &mut [u8],
    tally: &mut Tally,
    due: &impl Fn(u64) -> Instant,
    total: u64,
    step: u64,
) {
    loop {
        match (&conn.tcp).read(chunk) {
            Ok(0) => return fail(conn, tally, total, step),
            Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return fail(conn, tally, total, step),
        }
    }
    let (length, ok) = match complete_response(&conn.buf) {
        Ok(None) => return,
        Ok(Some(complete)) => complete,
        Err(_) => return fail(conn, tally, total, step),
    };
    let Some(sent) = conn.sent.take() else {
        // An answer to nothing asked: the stream is out of step.
        return fail(conn, tally, total, step);
    };
    let end = Instant::now();
    // Measured from when the request was due, not from when it could be sent.
    tally
        .micros
        .push(micros(end.saturating_duration_since(due(conn.k))));
    tally.service.push(micros(end - sent));
    if !ok {
        tally.errors += 1;
    }
    conn.buf.drain(..length);
    conn.k += step;
    conn.done = conn.k >= total;
    if !conn.buf.is_empty() {
        // More than one response to one request: the stream is out of step.
        if conn.done {
            tally.errors += 1;
        }
        fail(conn, tally, total, step);
    }
}

/// The connection is gone or out of step: its request in flight (or due next) and every
/// request left on its schedule fail, which is what a client would see.
fn fail(conn: &mut Conn, tally: &mut Tally, total: u64, step: u64) {
    if !conn.done {
        tally.errors += 1 + (total - conn.k - 1) / step;
        conn.done = true;
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

trait Disarmed {
    fn disarmed(self) -> Self;
}

impl Disarmed for Itimerspec {
    /// The setting that disarms a timer: a zero `it_value`.
    fn disarmed(mut self) -> Itimerspec {
        self.it_value = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        self
    }
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
        Ok(a) => std::sync::Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let total = (args.rate * args.seconds).round() as u64;
    // Give every connection time to connect before the schedule starts.
    let start = Instant::now() + Duration::from_millis(200);
    let threads: Vec<_> = (0..args.threads)
        .map(|t| {
            let args = args.clone();
            std::thread::spawn(move || event_loop(&args, t, start, total))
        })
        .collect();
    let mut micros = Vec::with_capacity(total as usize);
    let mut service = Vec::with_capacity(total as usize);
    let mut errors = 0;
    for t in threads {
        match t.join().expect("event loop thread") {
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
