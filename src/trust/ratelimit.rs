//! Per-key rate limits: a token bucket of `burst` tokens refilled at `rate` per second, kept
//! as one atomic number so that concurrent requests of one key never take a lock.
//!
//! The bucket is stored the way the generic cell rate algorithm stores it: as the
//! "theoretical arrival time" `tat`, the moment at which the bucket would be full again. A
//! request at `now` is allowed when `tat - now <= (burst - 1) * interval` (that many tokens
//! are owed at most), and then moves `tat` one `interval` on. This is exactly a token bucket
//! (the tokens left are `burst - (tat - now) / interval`), but an update is a single
//! compare-and-swap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Bucket {
    /// Nanoseconds between two tokens.
    interval: u64,
    /// Nanoseconds of debt allowed: `(burst - 1) * interval`.
    tolerance: u64,
    rate: f64,
    burst: u32,
    /// Theoretical arrival time, in nanoseconds since [`epoch`].
    tat: AtomicU64,
}

/// The process-wide origin of the buckets' clock.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since the buckets' clock started.
pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos().min(u64::MAX as u128) as u64
}

impl Bucket {
    pub fn new(rate_per_second: f64, burst: u32) -> Bucket {
        let burst = burst.max(1);
        // A whole burst's worth of time stays below a quarter of the clock's range, so no
        // sum below can overflow however slow the rate: at most one token in some 1.5 years
        // for a burst of 100, which is as good as none.
        let most = u64::MAX / 4 / u64::from(burst);
        let interval = (1e9 / rate_per_second).clamp(1.0, most as f64) as u64;
        Bucket {
            interval,
            tolerance: interval.saturating_mul(burst as u64 - 1),
            rate: rate_per_second,
            burst,
            tat: AtomicU64::new(0),
        }
    }

    pub fn same_limits(&self, rate: f64, burst: u32) -> bool {
        self.rate == rate && self.burst == burst.max(1)
    }

    /// Takes a token now: `Ok` or `Err(how long until one is free)`.
    pub fn take(&self) -> Result<(), Duration> {
        self.take_at(now_ns())
    }

    /// Takes a token at `now` (nanoseconds on the buckets' clock).
    pub fn take_at(&self, now: u64) -> Result<(), Duration> {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let start = tat.max(now);
            let debt = start - now;
            if debt > self.tolerance {
                return Err(Duration::from_nanos(debt - self.tolerance));
            }
            match self.tat.compare_exchange_weak(
                tat,
                start + self.interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(seen) => tat = seen,
            }
        }
    }
}

/// Whole seconds for `Retry-After` (at least 1, rounded up).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    s.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let b = Bucket::new(2.0, 3);
        let t0 = 10 * S;
        for _ in 0..3 {
            assert!(b.take_at(t0).is_ok());
        }
        let wait = b.take_at(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Half a second later one token has come back, and only one.
        assert!(b.take_at(t0 + S / 2).is_ok());
        assert!(b.take_at(t0 + S / 2).is_err());
        // After a long pause the bucket is full again but not fuller.
        let t1 = t0 + 100 * S;
        for _ in 0..3 {
            assert!(b.take_at(t1).is_ok());
        }
        assert!(b.take_at(t1).is_err());
    }

    #[test]
    fn concurrent_takers_get_exactly_the_burst() {
        let b = std::sync::Arc::new(Bucket::new(0.001, 100));
        let now = 5 * S;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || (0..100).filter(|_| b.take_at(now).is_ok()).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 100);
    }

    /// Regression: a rate so slow that a burst's worth of time passed the clock's range
    /// overflowed a sum (a panic in debug builds; a wrap, and so a full bucket, in release).
    #[test]
    fn an_absurdly_slow_rate_still_allows_the_burst_and_then_nothing() {
        let b = Bucket::new(1e-9, 100);
        let now = 7 * S;
        assert_eq!((0..200).filter(|_| b.take_at(now).is_ok()).count(), 100);
        assert!(b.take_at(now + 1000 * S).is_err());
        let b = Bucket::new(f64::MIN_POSITIVE, u32::MAX);
        assert!(b.take_at(now).is_ok());
        assert!(b.take_at(now).is_ok());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }
}
