//! Writing snapshot files: a header placeholder, the payload streamed through CRC32C and
//! SHA-256, then the real header and an fsync. Files are written inside a temporary
//! generation directory, so a half-written file is never visible to readers.
//!
//! A large file is also synced as it grows, every [`SYNC_EVERY`] bytes, on a thread of its
//! own (see [`Syncer`]). Left to the kernel, a build's last gigabytes of snapshot sit dirty in
//! the page cache until the final fsync, which then waits seconds for all of them with
//! nothing else to do; synced along the way, they go to disk while the build still computes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use super::{encode_header, FileKind, HEADER_LEN};
use crate::manifest::FileEntry;

pub struct FileWriter {
    path: PathBuf,
    kind: FileKind,
    out: BufWriter<File>,
    crc: u32,
    sha: Sha256,
    len: u64,
    /// Payload bytes written since the syncer was last asked to sync, and how many make it
    /// sync ([`SYNC_EVERY`]; tests set fewer).
    unsynced: u64,
    sync_every: u64,
    syncer: Option<Syncer>,
}

/// Payload bytes between two syncs of a growing file.
const SYNC_EVERY: u64 = 64 << 20;

impl FileWriter {
    pub fn create(dir: &Path, kind: FileKind) -> io::Result<FileWriter> {
        let path = dir.join(kind.file_name());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&[0u8; HEADER_LEN])?;
        Ok(FileWriter {
            path,
            kind,
            out,
            crc: 0,
            sha: Sha256::new(),
            len: 0,
            unsynced: 0,
            sync_every: SYNC_EVERY,
            syncer: None,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)?;
        self.unsynced += bytes.len() as u64;
        if self.unsynced >= self.sync_every {
            self.unsynced = 0;
            // What is buffered reaches the page cache first, so the sync takes it too.
            self.out.flush()?;
            match &mut self.syncer {
                Some(s) => s.poke()?,
                None => self.syncer = Some(Syncer::start(self.out.get_ref())?),
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the header and makes the file durable.
    pub fn finish(self) -> io::Result<FileEntry> {
        let FileWriter {
            path,
            kind,
            out,
            crc,
            sha,
            len,
            unsynced: _,
            sync_every: _,
            syncer,
        } = self;
        if let Some(s) = syncer {
            s.stop()?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&encode_header(kind, len, crc))?;
        file.sync_all()?;
        Ok(FileEntry {
            name: path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned(),
            bytes: HEADER_LEN as u64 + len,
            crc32c: crc,
            sha256: hex(&sha.finalize()),
        })
    }
}

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        FileWriter::write(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Syncs a file being written, on a thread of its own, whenever poked: the writer never
/// waits for the disk. One poke waits while a sync runs; a poke beyond it is dropped, since
/// the sync it would wait for takes those bytes too. The first error is kept and returned
/// by [`Syncer::stop`] (a failed sync is not reported again by a later one, so it must not
/// be lost).
struct Syncer {
    poke: Option<SyncSender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Syncer {
    /// Starts the thread and asks it for a first sync.
    fn start(file: &File) -> io::Result<Syncer> {
        let file = file.try_clone()?;
        let (poke, pokes) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || {
                for () in pokes {
                    file.sync_data()?;
                }
                Ok(())
            })?;
        let mut syncer = Syncer {
            poke: Some(poke),
            thread: Some(thread),
        };
        syncer.poke()?;
        Ok(syncer)
    }

    fn poke(&mut self) -> io::Result<()> {
        match self.poke.as_ref().map(|p| p.try_send(())) {
            // The thread ended, so a sync failed: its error.
            Some(Err(TrySendError::Disconnected(()))) => match self.join() {
                Err(e) => Err(e),
                Ok(()) => Err(io::Error::other("the sync thread stopped")),
            },
            _ => Ok(()),
        }
    }

    fn join(&mut self) -> io::Result<()> {
        self.poke = None;
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Ok(()),
        }
    }

    /// Lets the thread finish the sync under way and returns its first error.
    fn stop(mut self) -> io::Result<()> {
        self.join()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        // Dropped unfinished (the write failed): still ends before the directory goes.
        let _ = self.join();
    }
}

/// Writes a whole payload as one file.
pub fn write_file(dir: &Path, kind: FileKind, payload: &[u8]) -> io::Result<FileEntry> {
    let mut w = FileWriter::create(dir, kind)?;
    w.write(payload)?;
    w.finish()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fresh_dir;

    #[test]
    fn a_file_synced_as_it_grows_is_the_file_written_at_once() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (once, grown) = (fresh_dir("writer-once"), fresh_dir("writer-grown"));
        let whole = write_file(&once, FileKind::Records, &payload).expect("written at once");

        let mut w = FileWriter::create(&grown, FileKind::Records).expect("created");
        w.sync_every = 10_000;
        for chunk in payload.chunks(3_000) {
            w.write(chunk).expect("written");
        }
        assert!(
            w.syncer.is_some(),
            "the growing file was synced along the way"
        );
        let synced = w.finish().expect("finished");

        assert_eq!(synced.sha256, whole.sha256);
        assert_eq!(synced.crc32c, whole.crc32c);
        assert_eq!(synced.bytes, whole.bytes);
        let name = FileKind::Records.file_name();
        assert_eq!(
            std::fs::read(grown.join(name)).expect("read"),
            std::fs::read(once.join(name)).expect("read")
        );
        for d in [once, grown] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
