//! A deadline one thread sleeps until and other threads move without waking it.
//!
//! The receipt signer thread ([`super::batching`]) must sign a round that no check comes to
//! sign, so it sleeps until the round's due time plus a little. Under load, checks start
//! every round themselves and push that deadline on by one interval each time. With a
//! condition variable the sleeper has to wake at its old deadline to learn the new one:
//! about 4,000 wake-ups a second that do nothing, each a context switch on a machine whose
//! two cores the checks need (benches/RESULTS.md, "Session 20"). On Linux the deadline is
//! a `timerfd` instead: setting it is one system call and wakes nobody, so the sleeper
//! wakes only when a deadline is really reached. Elsewhere a condition variable stands in,
//! with the old behaviour.

use std::time::Duration;

/// The signer thread's alarm: a `timerfd` on Linux, else (or if the kernel refuses one) a
/// condition variable.
pub struct Alarm(Inner);

enum Inner {
    #[cfg(target_os = "linux")]
    Timer(TimerAlarm),
    Condvar(CondvarAlarm),
}

impl Alarm {
    pub fn new() -> Alarm {
        #[cfg(target_os = "linux")]
        match TimerAlarm::new() {
            Ok(t) => return Alarm(Inner::Timer(t)),
            Err(e) => tracing::warn!(
                error = %e,
                "no timerfd for the receipt signer; its thread will wake once a round"
            ),
        }
        Alarm(Inner::Condvar(CondvarAlarm::default()))
    }

    /// Rings `after` from now (at once for zero), replacing any deadline set before and
    /// forgetting a ring nobody has waited for yet.
    pub fn set(&self, after: Duration) {
        match &self.0 {
            #[cfg(target_os = "linux")]
            Inner::Timer(t) => t.set(after),
            Inner::Condvar(c) => c.set(after),
        }
    }

    /// Sleeps until the alarm rings (at once if it has rung since the last
    /// [`Alarm::set`] or `wait`).
    pub fn wait(&self) {
        match &self.0 {
            #[cfg(target_os = "linux")]
            Inner::Timer(t) => t.wait(),
            Inner::Condvar(c) => c.wait(),
        }
    }
}

/// A `timerfd` on the monotonic clock.
#[cfg(target_os = "linux")]
struct TimerAlarm {
    fd: std::os::fd::OwnedFd,
}

#[cfg(target_os = "linux")]
impl TimerAlarm {
    fn new() -> std::io::Result<TimerAlarm> {
        use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
        let fd = timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC)?;
        Ok(TimerAlarm { fd })
    }

    fn set(&self, after: Duration) {
        use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
        // A zero it_value would disarm the timer: the nearest deadline is one nanosecond.
        let after = after.max(Duration::from_nanos(1));
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: after.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: after.subsec_nanos().into(),
            },
        };
        // Fails only for a bad descriptor or value, which this type rules out.
        if let Err(e) = timerfd_settime(&self.fd, TimerfdTimerFlags::empty(), &spec) {
            tracing::error!(error = %e, "setting the receipt signer's alarm failed");
        }
    }

    fn wait(&self) {
        let mut expirations = [0u8; 8];
        loop {
            match rustix::io::read(&self.fd, &mut expirations) {
                Ok(_) => return,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    // Not expected for a timerfd; returning lets the caller look at its
                    // state again instead of sleeping for ever.
                    tracing::error!(error = %e, "waiting on the receipt signer's alarm failed");
                    std::thread::sleep(Duration::from_millis(1));
                    return;
                }
            }
        }
    }
}

/// The same with a condition variable: each `set` wakes the sleeper, which then sleeps
/// again until the new deadline.
#[derive(Default)]
struct CondvarAlarm {
    deadline: parking_lot::Mutex<Option<std::time::Instant>>,
    wake: parking_lot::Condvar,
}

impl CondvarAlarm {
    fn set(&self, after: Duration) {
        *self.deadline.lock() = Some(std::time::Instant::now() + after);
        self.wake.notify_one();
    }

    fn wait(&self) {
        let mut d = self.deadline.lock();
        loop {
            match *d {
                Some(at) if std::time::Instant::now() >= at => {
                    *d = None;
                    return;
                }
                Some(at) => {
                    self.wake.wait_until(&mut d, at);
                }
                None => self.wake.wait(&mut d),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    /// Rings no earlier than its deadline; a later `set` replaces an earlier deadline
    /// (also from another thread while the sleeper sleeps); a ring nobody waited for is
    /// kept until the next wait, and forgotten by a new `set`.
    fn rings_at_its_latest_deadline(alarm: Arc<Alarm>) {
        let start = Instant::now();
        alarm.set(Duration::from_millis(20));
        alarm.wait();
        assert!(start.elapsed() >= Duration::from_millis(20));

        // Moved on while the sleeper sleeps: it wakes at the later deadline only. (The first
        // deadline leaves the mover thread 195 ms to be scheduled, so a busy machine does
        // not make the test fail.)
        let start = Instant::now();
        alarm.set(Duration::from_millis(200));
        let mover = {
            let alarm = alarm.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                alarm.set(Duration::from_millis(300));
            })
        };
        alarm.wait();
        assert!(start.elapsed() >= Duration::from_millis(300));
        mover.join().unwrap();

        // A ring that came before the wait is not lost...
        alarm.set(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let start = Instant::now();
        alarm.wait();
        assert!(start.elapsed() < Duration::from_secs(5));
        // ...and a new deadline replaces one that has rung unheard.
        alarm.set(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let start = Instant::now();
        alarm.set(Duration::from_millis(40));
        alarm.wait();
        assert!(start.elapsed() >= Duration::from_millis(40));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_timer_alarm_rings_at_its_latest_deadline() {
        rings_at_its_latest_deadline(Arc::new(Alarm(Inner::Timer(TimerAlarm::new().unwrap()))));
    }

    #[test]
    fn the_condvar_alarm_rings_at_its_latest_deadline() {
        rings_at_its_latest_deadline(Arc::new(Alarm(Inner::Condvar(CondvarAlarm::default()))));
    }
}
