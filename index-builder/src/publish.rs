//! Publishing generations under a snapshot root, atomically.
//!
//! ```text
//! ROOT/
//!   CURRENT                    one line: the name of the live generation
//!   gen-000007-3f2a9c1e0b4d5a66/   a complete generation (MANIFEST present)
//!   .tmp-<pid>-<nanos>/         a build in progress (never opened by readers), flock-ed by it
//!   .publish.lock              held while a builder commits or prunes
//! ```
//!
//! A build writes every file into a `.tmp-` directory, syncs them, renames the directory to
//! its `gen-` name, syncs ROOT, then replaces `CURRENT` by writing `CURRENT.tmp` and renaming
//! it over. A crash at any point leaves `CURRENT` naming the previous complete generation.
//!
//! Builders may publish into one root at once: the commit (choosing the next sequence number,
//! the rename, `CURRENT`) and the pruning each hold an exclusive lock on `.publish.lock`, so
//! two commits never choose the same name, `CURRENT` only moves to newer generations, and a
//! prune never removes the generation another builder has just made live. The lock is an
//! advisory `flock`, released by the kernel when a builder dies holding it.
//!
//! A build holds a `flock` on its `.tmp-` directory for its whole life, so a prune tells a
//! dead build's leftovers (unlocked) from a live one's without trusting its process id, which
//! the kernel gives to another process in time and which means nothing to a builder in
//! another PID namespace sharing the root.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::format::{FileKind, FormatError, Problem};

pub const CURRENT: &str = "CURRENT";
const GEN_PREFIX: &str = "gen-";
const TMP_PREFIX: &str = ".tmp-";
const LOCK: &str = ".publish.lock";

/// Holds the root's publication lock until dropped (closing the file releases it).
struct PublishLock(#[allow(dead_code)] fs::File);

impl PublishLock {
    fn acquire(root: &Path) -> io::Result<PublishLock> {
        let path = root.join(LOCK);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        flock(&file, true)
            .map_err(|e| io::Error::new(e.kind(), format!("locking {}: {e}", path.display())))?;
        Ok(PublishLock(file))
    }
}

/// Takes an exclusive advisory lock (`flock`) on `file`, released when it is closed: waiting
/// for it (`wait`), or else answering `false` at once when another open file holds it.
fn flock(file: &fs::File, wait: bool) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use rustix::fs::FlockOperation;
        let op = if wait {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::NonBlockingLockExclusive
        };
        match rustix::fs::flock(file, op) {
            Ok(()) => Ok(true),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, wait);
        Ok(true)
    }
}

/// Resolves what a reader was given: a root with `CURRENT`, or a generation directory.
pub fn resolve(path: &Path) -> Result<PathBuf, FormatError> {
    // A directory with a MANIFEST is a generation (a root never has one), whatever else it
    // holds: the server opens the directory a first resolve found, and a stray `CURRENT` in
    // it must not send that second resolve elsewhere.
    if path.join(FileKind::Manifest.file_name()).is_file() {
        return Ok(path.to_path_buf());
    }
    let current = path.join(CURRENT);
    match fs::read_to_string(&current) {
        Ok(text) => {
            let name = text.trim();
            if !is_generation_name(name) {
                return Err(FormatError::new(
                    &current,
                    Problem::NoSnapshot {
                        what: format!("names {name:?}, which is not a generation directory name"),
                    },
                ));
            }
            let dir = path.join(name);
            if !dir.join(FileKind::Manifest.file_name()).is_file() {
                return Err(FormatError::new(
                    &current,
                    Problem::NoSnapshot {
                        what: format!("names {name}, which has no MANIFEST (was it deleted?)"),
                    },
                ));
            }
            Ok(dir)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if path.is_dir() {
                Err(FormatError::new(
                    path,
                    Problem::NoSnapshot {
                        what: "neither a snapshot root (no CURRENT) nor a generation (no MANIFEST); build one with `index-builder build`".into(),
                    },
                ))
            } else {
                Err(FormatError::new(
                    path,
                    Problem::Io(io::Error::new(io::ErrorKind::NotFound, "no such directory")),
                ))
            }
        }
        Err(e) => Err(FormatError::new(&current, Problem::Io(e))),
    }
}

/// The snapshot id a generation directory's name states (`gen-000007-3f2a9c1e0b4d5a66` →
/// `3f2a9c1e0b4d5a66`), or `None` for a name that is not a generation's.
pub fn generation_id(name: &str) -> Option<&str> {
    let (seq, id) = name.strip_prefix(GEN_PREFIX)?.split_once('-')?;
    (!seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty()).then_some(id)
}

fn is_generation_name(name: &str) -> bool {
    name.starts_with(GEN_PREFIX)
        && name.len() > GEN_PREFIX.len()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A generation being written. Dropping it without [`TempGeneration::commit`] removes it.
pub struct TempGeneration {
    root: PathBuf,
    dir: PathBuf,
    committed: bool,
    /// The directory, open and locked: what tells a prune that this build is alive.
    _alive: fs::File,
}

impl TempGeneration {
    pub fn begin(root: &Path) -> io::Result<TempGeneration> {
        fs::create_dir_all(root)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = root.join(format!("{TMP_PREFIX}{}-{nanos}", std::process::id()));
        // Created and locked under the publication lock, so that no prune sees it unlocked.
        let _lock = PublishLock::acquire(root)?;
        fs::create_dir(&dir)?;
        let alive = fs::File::open(&dir)?;
        if !flock(&alive, false)
            .map_err(|e| io::Error::new(e.kind(), format!("locking {}: {e}", dir.display())))?
        {
            return Err(io::Error::other(format!(
                "{} is locked by another build",
                dir.display()
            )));
        }
        Ok(TempGeneration {
            root: root.to_path_buf(),
            dir,
            committed: false,
            _alive: alive,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renames the finished generation into place and points `CURRENT` at it.
    pub fn commit(mut self, snapshot_id: &str) -> io::Result<PathBuf> {
        sync_dir(&self.dir)?;
        let _lock = PublishLock::acquire(&self.root)?;
        let seq = generations(&self.root)?
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(0)
            + 1;
        let name = format!("{GEN_PREFIX}{seq:06}-{snapshot_id}");
        let target = self.root.join(&name);
        fs::rename(&self.dir, &target)?;
        sync_dir(&self.root)?;
        self.committed = true;
        write_current(&self.root, &name)?;
        Ok(target)
    }
}

impl Drop for TempGeneration {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Atomically points `CURRENT` at a generation name (under the root's publication lock).
pub fn set_current(root: &Path, name: &str) -> io::Result<()> {
    let _lock = PublishLock::acquire(root)?;
    write_current(root, name)
}

/// Replaces `CURRENT`; the caller holds the publication lock.
fn write_current(root: &Path, name: &str) -> io::Result<()> {
    let tmp = root.join(format!("{CURRENT}.tmp-{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(name.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    fs::rename(&tmp, root.join(CURRENT))?;
    sync_dir(root)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// The complete generations under a root, as (sequence, name), oldest first.
pub fn generations(root: &Path) -> io::Result<Vec<(u64, String)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix(GEN_PREFIX) {
            if let Some(seq) = rest.split('-').next().and_then(|s| s.parse().ok()) {
                out.push((seq, name));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes all but the newest `keep` generations (never the one `CURRENT` names), temporary
/// directories left by builds that are no longer running (no lock held on them), and
/// `CURRENT.tmp-…` files left by a builder killed while it replaced `CURRENT`.
pub fn prune(root: &Path, keep: usize) -> io::Result<Vec<String>> {
    // Under the lock, `CURRENT` and the generations are read as one state: a commit of
    // another builder cannot make live a generation this prune has counted as old.
    let _lock = PublishLock::acquire(root)?;
    let current = fs::read_to_string(root.join(CURRENT)).unwrap_or_default();
    let current = current.trim();
    let gens = generations(root)?;
    let mut removed = Vec::new();
    let excess = gens.len().saturating_sub(keep.max(1));
    for (_, name) in gens.into_iter().take(excess) {
        if name != current {
            remove(&root.join(&name))?;
            removed.push(name);
        }
    }
    for entry in fs::read_dir(root)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        // Only a holder of the lock writes `CURRENT.tmp-…`: under it, one is a leftover of a
        // builder killed between writing it and renaming it over `CURRENT`.
        if name.starts_with(&format!("{CURRENT}.tmp-")) {
            remove(&root.join(&name))?;
            removed.push(name);
            continue;
        }
        if name.starts_with(TMP_PREFIX) {
            let path = root.join(&name);
            let dir = match fs::File::open(&path) {
                Ok(dir) => dir,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            };
            let dead = flock(&dir, false).map_err(|e| {
                io::Error::new(e.kind(), format!("locking {}: {e}", path.display()))
            })?;
            if dead {
                remove(&path)?;
                removed.push(name);
            }
        }
    }
    Ok(removed)
}

/// Removes a directory with everything in it, or a file or symbolic link (not what it
/// points to); an error names the path.
fn remove(path: &Path) -> io::Result<()> {
    let is_dir = fs::symlink_metadata(path).map(|m| m.is_dir());
    let result = match is_dir {
        Ok(true) => fs::remove_dir_all(path),
        Ok(false) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("removing {}: {e}", path.display()),
        )),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits a generation (a MANIFEST of one byte) under `id` into `root`, and says where.
    fn publish(root: &Path, id: &str) -> PathBuf {
        let g = TempGeneration::begin(root).unwrap();
        fs::write(g.dir().join("MANIFEST"), b"x").unwrap();
        g.commit(id).unwrap()
    }

    #[test]
    fn commit_points_current_and_prune_keeps_newest() {
        let root = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for i in 0..3 {
            let dir = publish(root.path(), &format!("id{i}"));
            names.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(
            names,
            ["gen-000001-id0", "gen-000002-id1", "gen-000003-id2"]
        );
        assert_eq!(
            resolve(root.path()).unwrap(),
            root.path().join("gen-000003-id2")
        );
        let removed = prune(root.path(), 2).unwrap();
        assert_eq!(removed, ["gen-000001-id0"]);
    }

    #[test]
    fn abandoned_temp_generation_is_removed_and_current_untouched() {
        let root = tempfile::tempdir().unwrap();
        publish(root.path(), "a");
        let tmp = {
            let g = TempGeneration::begin(root.path()).unwrap();
            g.dir().to_path_buf()
        };
        assert!(!tmp.exists());
        assert_eq!(
            fs::read_to_string(root.path().join(CURRENT)).unwrap(),
            "gen-000001-a\n"
        );
    }

    /// Builders publishing into one root at once: every commit succeeds under a name of its
    /// own, none of them prunes a generation another has just made live, and `CURRENT` always
    /// names a generation that exists.
    #[test]
    fn concurrent_publishers_neither_collide_nor_prune_the_live_generation() {
        let root = tempfile::tempdir().unwrap();
        let threads = 6;
        let barrier = std::sync::Barrier::new(threads);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (root, barrier) = (root.path(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    for i in 0..40 {
                        let g = TempGeneration::begin(root).unwrap();
                        fs::write(g.dir().join("MANIFEST"), b"x").unwrap();
                        // Every other thread publishes the same content, so the same id.
                        let id = if t % 2 == 0 {
                            "same".to_string()
                        } else {
                            format!("t{t}i{i}")
                        };
                        g.commit(&id)
                            .unwrap_or_else(|e| panic!("thread {t} commit {i}: {e}"));
                        prune(root, 1).unwrap_or_else(|e| panic!("thread {t} prune {i}: {e}"));
                        resolve(root).unwrap_or_else(|e| panic!("thread {t} after {i}: {e}"));
                    }
                });
            }
        });
        let dir = resolve(root.path()).unwrap();
        assert!(dir.join("MANIFEST").is_file());
    }

    /// A build killed mid-way leaves its temporary generation; the next prune removes it
    /// even when the dead builder's process id has been given to another process (here 1,
    /// which always exists), and leaves alone the one a live build is writing.
    #[test]
    fn prune_removes_a_dead_builds_leftovers_whatever_its_pid_names_now() {
        let root = tempfile::tempdir().unwrap();
        publish(root.path(), "a");
        let leftover = root.path().join(format!("{TMP_PREFIX}1-12345"));
        fs::create_dir(&leftover).unwrap();
        fs::write(leftover.join("records.tbl"), b"half").unwrap();
        let live = TempGeneration::begin(root.path()).unwrap();
        let removed = prune(root.path(), 3).unwrap();
        assert_eq!(removed, [format!("{TMP_PREFIX}1-12345")]);
        assert!(!leftover.exists());
        assert!(live.dir().is_dir());
    }

    /// A builder killed while it replaced `CURRENT` leaves its `CURRENT.tmp-<pid>`; the next
    /// prune removes it (it is written only under the publication lock the prune holds).
    #[test]
    fn prune_removes_a_current_left_half_replaced() {
        let root = tempfile::tempdir().unwrap();
        publish(root.path(), "a");
        let left = root.path().join(format!("{CURRENT}.tmp-424242"));
        fs::write(&left, "gen-000002-b\n").unwrap();
        let removed = prune(root.path(), 3).unwrap();
        assert_eq!(removed, [format!("{CURRENT}.tmp-424242")]);
        assert!(!left.exists());
        assert_eq!(
            fs::read_to_string(root.path().join(CURRENT)).unwrap(),
            "gen-000001-a\n"
        );
    }

    /// A generation holding a stray `CURRENT` (a copy of the root's, say) is still the
    /// generation: the server resolves the root, then opens the directory it found, and must
    /// not follow that file a second time.
    #[test]
    fn a_generation_with_a_stray_current_resolves_to_itself() {
        let root = tempfile::tempdir().unwrap();
        let gen = publish(root.path(), "a");
        fs::copy(root.path().join(CURRENT), gen.join(CURRENT)).unwrap();
        assert_eq!(resolve(root.path()).unwrap(), gen);
        assert_eq!(resolve(&gen).unwrap(), gen);
    }

    /// A stray file (not a directory) under a temporary generation's name does not make the
    /// prune, and so every build after it, fail once the generation is published.
    #[test]
    fn prune_removes_a_stray_file_named_as_a_temporary_generation() {
        let root = tempfile::tempdir().unwrap();
        publish(root.path(), "a");
        let stray = root.path().join(format!("{TMP_PREFIX}stray"));
        fs::write(&stray, b"").unwrap();
        let removed = prune(root.path(), 3).unwrap();
        assert_eq!(removed, [format!("{TMP_PREFIX}stray")]);
        assert!(!stray.exists());
    }

    #[test]
    fn resolve_explains_what_is_missing() {
        let root = tempfile::tempdir().unwrap();
        let e = resolve(root.path()).unwrap_err().to_string();
        assert!(e.contains("neither a snapshot root"), "{e}");
        fs::write(root.path().join(CURRENT), "../etc\n").unwrap();
        let e = resolve(root.path()).unwrap_err().to_string();
        assert!(e.contains("not a generation directory name"), "{e}");
    }
}
