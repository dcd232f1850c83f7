//! The audit trail: one JSON line per check, profile look-up and batch, appended to segment
//! files `audit-YYYYMMDD-NNNNNN.jsonl` in one directory; what a segment holds is never
//! rewritten (only the tail of a group that failed is cut off again, below).
//!
//! Requests write their line straight into one shared buffer (under a short lock, no
//! allocation or channel message per line); one writer thread swaps the buffer for an
//! empty one, writes what it took with one `write`, and syncs it with one `fdatasync` (group
//! commit). With durability `Batch` the request does not wait and the thread syncs at most
//! every `window` (10 ms): lines gather for one window and are then written and synced
//! together, so a killed process or a power cut loses at most the last window. The writer
//! is woken only by the first line after it found nothing to write, so at most once a
//! window, not once a line. With `Sync` the request waits until the sync covering its line
//! has returned; requests that arrive while one sync runs share the next.
//!
//! A segment is closed and a new one started when it passes `max_segment_bytes` or the day
//! (China Standard Time) changes. A write or sync error fails the lines of that group: in
//! `Sync` mode their requests answer 503; in `Batch` mode they are counted and logged. The
//! segment is then cut back to where the group began, so that it holds no torn line and no
//! line of a request answered 503, and the next group appends to it: a disk that stays full
//! does not get a new empty segment per attempt. Only if the cut fails too does the next
//! group start a new segment. The thread never panics on I/O.

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use credgate_index::date::Day;
use parking_lot::{Condvar, Mutex as Lock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync at most every window; responses do not wait.
    Batch,
    /// A response waits until its line is on disk.
    Sync,
}

impl Durability {
    pub fn parse(s: &str) -> Option<Durability> {
        match s {
            "batch" => Some(Durability::Batch),
            "sync" => Some(Durability::Sync),
            _ => None,
        }
    }
}

/// A segment being appended to.
pub trait Segment: Send {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the segment back to its first `len` bytes: what a failed group wrote of itself
    /// (a torn line on a full disk, say) is taken out again.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Segment for std::fs::File {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        // The file is opened for appending, so later writes go to the new end.
        self.set_len(len)
    }
}

/// Where segments come from: files in a directory, or (in tests) something that fails.
pub trait Segments: Send + 'static {
    fn open(&mut self, day: Day) -> io::Result<Box<dyn Segment>>;
}

/// Segment files in a directory.
pub struct DirSegments {
    dir: PathBuf,
}

impl DirSegments {
    /// Segments in `dir`, made (with its missing parents) 0700 if absent; a directory that
    /// already exists open to other users is named in a warning, as a secret file is.
    pub fn new(dir: &Path) -> io::Result<DirSegments> {
        if let Some(mode) = make_dir(dir)? {
            super::warn_dir_exposed(
                dir,
                mode,
                "list the trail's segments, or remove and replace them",
            );
        }
        Ok(DirSegments {
            dir: dir.to_path_buf(),
        })
    }
}

/// Makes the trail's directory `dir` (and its missing parents) readable by its owner only
/// (0700), or takes it as it is when it exists; returns its permission bits when users other
/// than its owner may read, enter or write it ([`super::exposed_mode`], the check that
/// key files get). The trail names subjects (masked numbers, pseudonyms; full numbers for
/// keys with `personal_full`), so segments are 0600 and their directory should be the
/// owner's: in one that others may write, a segment can be deleted or replaced. An existing
/// directory is not changed: its mode is the operator's choice, and the warning says it.
pub fn make_dir(dir: &Path) -> io::Result<Option<u32>> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    Ok(super::exposed_mode(dir))
}

impl Segments for DirSegments {
    fn open(&mut self, day: Day) -> io::Result<Box<dyn Segment>> {
        let stamp: String = day.to_string().chars().filter(|c| *c != '-').collect();
        let prefix = format!("audit-{stamp}-");
        let mut next = 1u32;
        for e in std::fs::read_dir(&self.dir)? {
            let name = e?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u32>().ok())
            {
                next = next.max(n + 1);
            }
        }
        let path = self.dir.join(format!("{prefix}{next:06}.jsonl"));
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let f = opts.open(&path)?;
        // The new name must survive a crash too.
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(Box::new(f))
    }
}

/// Counters for `/metrics`.
#[derive(Default, Debug)]
pub struct AuditStats {
    pub lines_written: AtomicU64,
    pub lines_durable: AtomicU64,
    pub lines_failed: AtomicU64,
    pub errors: AtomicU64,
    pub segments: AtomicU64,
}

type Waiter = tokio::sync::oneshot::Sender<Result<(), AuditError>>;

/// The lines handed over and not yet taken by the writer.
#[derive(Default)]
struct Pending {
    /// Whole lines, each ending in a newline.
    buf: Vec<u8>,
    lines: u64,
    /// `Sync` requests whose lines are in `buf`.
    waiters: Vec<Waiter>,
    /// No more lines are taken: the trail is being closed (or never got its thread).
    closed: bool,
    /// Closed by [`Audit::close`]: the server is stopping. A line refused then fails its
    /// request in `Batch` mode too, so no answer goes out after the close without its line.
    stopping: bool,
    /// The writer is waiting for a first line and needs a notification.
    idle: bool,
}

struct Shared {
    pending: Lock<Pending>,
    wake: Condvar,
}

pub struct Audit {
    shared: Arc<Shared>,
    durability: Durability,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub stats: Arc<AuditStats>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuditError {
    /// Writing or syncing the segment failed.
    Io(String),
    /// The writer has been closed (the server is stopping).
    Closed,
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Io(e) => write!(
                f,
                "the audit trail cannot be written ({e}); free space or fix the audit directory"
            ),
            AuditError::Closed => f.write_str("the audit trail is closed: the server is stopping"),
        }
    }
}

impl std::error::Error for AuditError {}

/// How the writer rotates and syncs.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_segment_bytes: u64,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_segment_bytes: 64 * 1024 * 1024,
            window: Duration::from_millis(10),
        }
    }
}

impl Audit {
    pub fn open_dir(dir: &Path, durability: Durability, limits: Limits) -> io::Result<Audit> {
        Ok(Audit::start(
            Box::new(DirSegments::new(dir)?),
            durability,
            limits,
            Day::today_cst,
        ))
    }

    /// Starts the writer thread over `segments`; `today` gives the rotation day.
    pub fn start(
        segments: Box<dyn Segments>,
        durability: Durability,
        limits: Limits,
        today: fn() -> Day,
    ) -> Audit {
        let shared = Arc::new(Shared {
            pending: Lock::new(Pending::default()),
            wake: Condvar::new(),
        });
        let stats = Arc::new(AuditStats::default());
        let mut w = Writer {
            segments,
            current: None,
            group_start: 0,
            day: today(),
            written: 0,
            limits,
            durability,
            today,
            stats: stats.clone(),
        };
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || w.run(&s));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // Nobody would ever write the lines: refuse them (and count them failed).
                tracing::error!(error = %e, "the audit writer thread could not start");
                shared.pending.lock().closed = true;
                None
            }
        };
        Audit {
            shared,
            durability,
            thread: Mutex::new(thread),
            stats,
        }
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Records one line (without its newline). In `Batch` mode returns at once; in `Sync`
    /// mode resolves when the line is on disk, or with the error that kept it off.
    pub async fn record(&self, line: Vec<u8>) -> Result<(), AuditError> {
        self.record_with(|buf| buf.extend_from_slice(&line)).await
    }

    /// Records the line `write` appends (without its newline) to the trail's buffer, under
    /// its lock: `write` must only append one line of JSON, without a newline of its own.
    /// The line is handed over when this is called, whether or not the future is awaited;
    /// in `Sync` mode the future resolves when the line is on disk.
    pub fn record_with(
        &self,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> impl Future<Output = Result<(), AuditError>> + 'static {
        let mut rx = None;
        let mut p = self.shared.pending.lock();
        let taken = !p.closed;
        let stopping = p.stopping;
        if taken {
            write(&mut p.buf);
            p.buf.push(b'\n');
            p.lines += 1;
            if self.durability == Durability::Sync {
                let (tx, r) = tokio::sync::oneshot::channel();
                p.waiters.push(tx);
                rx = Some(r);
            }
            if std::mem::take(&mut p.idle) {
                self.shared.wake.notify_one();
            }
        }
        drop(p);
        if !taken {
            self.stats.lines_failed.fetch_add(1, Relaxed);
        }
        let batch = self.durability == Durability::Batch;
        async move {
            match rx {
                Some(rx) => rx.await.unwrap_or(Err(AuditError::Closed)),
                // A refused line fails the request when it would have waited for it, and
                // in either mode once the server is stopping: `close` has written what it
                // had, so an answer sent now would have no line.
                None if taken || (batch && !stopping) => Ok(()),
                None => Err(AuditError::Closed),
            }
        }
    }

    /// Writes and syncs every line sent so far, then stops the writer. Later records fail.
    pub fn close(&self) {
        let mut p = self.shared.pending.lock();
        p.closed = true;
        p.stopping = true;
        p.idle = false;
        drop(p);
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }

    /// Prometheus lines for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let s = &self.stats;
        let _ = writeln!(out, "# HELP credgate_audit_lines_total Audit lines by state: written (to the kernel), durable (synced), failed (lost to an error).\n# TYPE credgate_audit_lines_total counter");
        let _ = writeln!(
            out,
            "credgate_audit_lines_total{{state=\"written\"}} {}",
            s.lines_written.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "credgate_audit_lines_total{{state=\"durable\"}} {}",
            s.lines_durable.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "credgate_audit_lines_total{{state=\"failed\"}} {}",
            s.lines_failed.load(Relaxed)
        );
        let _ = writeln!(out, "# HELP credgate_audit_errors_total Audit write or sync errors (alert on any).\n# TYPE credgate_audit_errors_total counter\ncredgate_audit_errors_total {}", s.errors.load(Relaxed));
        let _ = writeln!(out, "# HELP credgate_audit_segments_total Audit segments opened.\n# TYPE credgate_audit_segments_total counter\ncredgate_audit_segments_total {}", s.segments.load(Relaxed));
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        self.close();
    }
}

struct Writer {
    segments: Box<dyn Segments>,
    current: Option<Box<dyn Segment>>,
    day: Day,
    /// Bytes in the current segment.
    written: u64,
    /// [`Writer::written`] before the group being written.
    group_start: u64,
    limits: Limits,
    durability: Durability,
    today: fn() -> Day,
    stats: Arc<AuditStats>,
}

impl Writer {
    /// One group per turn: wait for a line; in `Batch` mode let a window's worth of lines
    /// gather (so the thread wakes about 100 times a second at most, not once per line);
    /// take every line waiting by swapping buffers; write them with one call and sync them
    /// with one call; tell the `Sync` waiters. Once closed, it writes what is left and stops.
    fn run(&mut self, shared: &Shared) {
        // The buffer the lines of the last group were taken in, kept for its capacity.
        let mut spare: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut waiters: Vec<Waiter> = Vec::new();
        loop {
            let mut p = shared.pending.lock();
            while p.lines == 0 && !p.closed {
                p.idle = true;
                shared.wake.wait(&mut p);
            }
            if self.durability == Durability::Batch && !p.closed {
                drop(p);
                std::thread::sleep(self.limits.window);
                p = shared.pending.lock();
            }
            // Everything waiting joins this group.
            std::mem::swap(&mut p.buf, &mut spare);
            std::mem::swap(&mut p.waiters, &mut waiters);
            let lines = std::mem::take(&mut p.lines);
            let closing = p.closed;
            drop(p);
            let mut result = Ok(());
            if lines > 0 {
                result = self.write(&spare).and_then(|()| {
                    self.stats.lines_written.fetch_add(lines, Relaxed);
                    self.sync()
                });
                match &result {
                    Ok(()) => {
                        self.stats.lines_durable.fetch_add(lines, Relaxed);
                    }
                    Err(e) => self.failed(lines, e),
                }
            }
            spare.clear();
            for w in waiters.drain(..) {
                let _ = w.send(result.clone());
            }
            if closing {
                return;
            }
        }
    }

    /// A group was not written or not synced: its waiters hear so, and the segment is cut
    /// back to where the group began, so it holds no torn line and no line of a request
    /// that was answered 503. The same segment takes the next group: a disk that stays
    /// full does not get a new (empty) segment per attempt. Only when the cut fails too is
    /// the segment given up, and the next group starts a new one.
    fn failed(&mut self, lines: u64, e: &AuditError) {
        self.stats.lines_failed.fetch_add(lines, Relaxed);
        self.stats.errors.fetch_add(1, Relaxed);
        tracing::error!(error = %e, lines, "audit lines lost");
        if let Some(seg) = self.current.as_mut() {
            match seg.truncate(self.group_start) {
                Ok(()) => self.written = self.group_start,
                Err(cut) => {
                    tracing::error!(error = %cut, "cannot cut the audit segment back; the next lines go to a new segment");
                    self.current = None;
                }
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        let today = (self.today)();
        let rotate = self.current.is_some()
            && (today != self.day || self.written >= self.limits.max_segment_bytes);
        if rotate {
            if let Some(mut s) = self.current.take() {
                // The old segment's lines were counted durable only if this sync holds.
                s.sync().map_err(|e| AuditError::Io(e.to_string()))?;
            }
        }
        if self.current.is_none() {
            let seg = self
                .segments
                .open(today)
                .map_err(|e| AuditError::Io(format!("opening a segment: {e}")))?;
            self.stats.segments.fetch_add(1, Relaxed);
            self.current = Some(seg);
            self.day = today;
            self.written = 0;
        }
        self.group_start = self.written;
        let seg = self.current.as_mut().ok_or(AuditError::Closed)?;
        seg.append(bytes)
            .map_err(|e| AuditError::Io(e.to_string()))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        match self.current.as_mut() {
            Some(s) => s.sync().map_err(|e| AuditError::Io(e.to_string())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn sync_lines_are_on_disk_when_record_returns_and_segments_rotate_by_size() {
        let d = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_segment_bytes: 100,
            ..Limits::default()
        };
        let a = Audit::open_dir(d.path(), Durability::Sync, limits).unwrap();
        for i in 0..20 {
            block(a.record(format!("{{\"n\":{i},\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}}").into_bytes()))
                .unwrap();
            assert_eq!(lines_in(d.path()).len(), i + 1);
        }
        let segments = std::fs::read_dir(d.path()).unwrap().count();
        assert!(segments >= 5, "{segments}");
        let all = lines_in(d.path());
        for (i, l) in all.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["n"], i);
        }
        assert_eq!(a.stats.lines_durable.load(Relaxed), 20);
    }

    #[test]
    fn close_writes_everything_in_batch_mode() {
        let d = tempfile::tempdir().unwrap();
        let a = Audit::open_dir(d.path(), Durability::Batch, Limits::default()).unwrap();
        for i in 0..1000 {
            block(a.record(format!("{{\"n\":{i}}}").into_bytes())).unwrap();
        }
        a.close();
        assert_eq!(lines_in(d.path()).len(), 1000);
        assert_eq!(a.stats.lines_durable.load(Relaxed), 1000);
        // After the close, a line is refused in batch mode too: its answer must not go out.
        assert_eq!(block(a.record(b"{}".to_vec())), Err(AuditError::Closed));
        assert_eq!(a.stats.lines_failed.load(Relaxed), 1);
        assert_eq!(lines_in(d.path()).len(), 1000);
    }

    #[test]
    fn lines_from_many_threads_stay_whole_and_in_order_per_thread() {
        let d = tempfile::tempdir().unwrap();
        let limits = Limits {
            window: Duration::from_millis(1),
            ..Limits::default()
        };
        let a = Audit::open_dir(d.path(), Durability::Batch, limits).unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let a = &a;
                scope.spawn(move || {
                    for i in 0..2000 {
                        // Written piecewise under the lock, as trail lines are.
                        let f = a.record_with(|b| {
                            b.extend_from_slice(format!("{{\"t\":{t},").as_bytes());
                            b.extend_from_slice(format!("\"i\":{i}}}").as_bytes());
                        });
                        drop(f);
                    }
                });
            }
        });
        a.close();
        let lines = lines_in(d.path());
        assert_eq!(lines.len(), 8000);
        let mut next = [0u64; 4];
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t = v["t"].as_u64().unwrap() as usize;
            assert_eq!(v["i"].as_u64().unwrap(), next[t], "{l}");
            next[t] += 1;
        }
        assert_eq!(a.stats.lines_durable.load(Relaxed), 8000);
    }

    #[test]
    fn a_closed_sync_trail_refuses_lines() {
        let d = tempfile::tempdir().unwrap();
        let a = Audit::open_dir(d.path(), Durability::Sync, Limits::default()).unwrap();
        block(a.record(b"{}".to_vec())).unwrap();
        a.close();
        assert_eq!(block(a.record(b"{}".to_vec())), Err(AuditError::Closed));
        assert_eq!(a.stats.lines_failed.load(Relaxed), 1);
        assert_eq!(lines_in(d.path()).len(), 1);
    }

    /// A disk of `room` bytes: a write takes what fits and then fails with ENOSPC, as a
    /// real one does; `bytes` is what the one segment holds.
    #[derive(Default)]
    struct Disk {
        room: u64,
        bytes: Vec<u8>,
    }
    struct Full(Arc<parking_lot::Mutex<Disk>>);
    struct FullSeg(Arc<parking_lot::Mutex<Disk>>);
    impl Segment for FullSeg {
        fn append(&mut self, b: &[u8]) -> io::Result<()> {
            let mut d = self.0.lock();
            let fits = (d.room as usize - d.bytes.len()).min(b.len());
            d.bytes.extend_from_slice(&b[..fits]);
            if fits < b.len() {
                return Err(io::Error::from_raw_os_error(28));
            }
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.0.lock().bytes.truncate(len as usize);
            Ok(())
        }
    }
    impl Segments for Full {
        fn open(&mut self, _: Day) -> io::Result<Box<dyn Segment>> {
            Ok(Box::new(FullSeg(self.0.clone())))
        }
    }

    #[test]
    fn a_full_disk_fails_sync_records_and_recovers_when_space_returns() {
        let disk = Arc::new(parking_lot::Mutex::new(Disk {
            room: 12,
            ..Disk::default()
        }));
        let a = Audit::start(
            Box::new(Full(disk.clone())),
            Durability::Sync,
            Limits::default(),
            || Day(20_000),
        );
        assert_eq!(block(a.record(b"1234".to_vec())), Ok(()));
        // Two attempts on a full disk: each fails, and neither leaves part of its line
        // behind or opens another segment.
        for _ in 0..2 {
            let e = block(a.record(b"0123456789".to_vec())).unwrap_err();
            assert!(
                matches!(e, AuditError::Io(ref m) if m.contains("28") || m.contains("space")),
                "{e:?}"
            );
            assert_eq!(disk.lock().bytes, b"1234\n");
        }
        assert_eq!(a.stats.errors.load(Relaxed), 2);
        disk.lock().room = 100;
        assert_eq!(block(a.record(b"0123456789".to_vec())), Ok(()));
        assert_eq!(disk.lock().bytes, b"1234\n0123456789\n");
        assert_eq!(a.stats.segments.load(Relaxed), 1);
    }

    /// A directory the trail makes is 0700, its parents too; one that exists open to group
    /// or others is reported with its mode (and left as it is); a private one is not.
    #[cfg(unix)]
    #[test]
    fn the_directory_is_made_private_and_an_open_one_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let made = d.path().join("var/audit");
        assert_eq!(make_dir(&made).unwrap(), None);
        assert_eq!(mode(&made), 0o700);
        assert_eq!(mode(&d.path().join("var")), 0o700);
        assert_eq!(
            make_dir(&made).unwrap(),
            None,
            "made once, private the second time"
        );
        for open in [0o755, 0o750, 0o705, 0o770, 0o701] {
            std::fs::set_permissions(&made, std::fs::Permissions::from_mode(open)).unwrap();
            assert_eq!(make_dir(&made).unwrap(), Some(open), "{open:o}");
            assert_eq!(mode(&made), open, "an existing directory is not changed");
        }
        std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o700)).unwrap();
        DirSegments::new(&made).unwrap();
        assert_eq!(mode(&made), 0o700);
    }

    #[test]
    fn rotates_when_the_day_changes() {
        use std::sync::atomic::AtomicI32;
        static DAY: AtomicI32 = AtomicI32::new(20_000);
        let d = tempfile::tempdir().unwrap();
        let a = Audit::start(
            Box::new(DirSegments::new(d.path()).unwrap()),
            Durability::Sync,
            Limits::default(),
            || Day(DAY.load(Relaxed)),
        );
        block(a.record(b"{}".to_vec())).unwrap();
        DAY.store(20_001, Relaxed);
        block(a.record(b"{}".to_vec())).unwrap();
        block(a.record(b"{}".to_vec())).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["audit-20241004-000001.jsonl", "audit-20241005-000001.jsonl"]
        );
    }
}
