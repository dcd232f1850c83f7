//! Writing snapshot files: a header placeholder, the payload streamed through CRC32C and
//! SHA-256, then the real header and an fsync. Files are written inside a temporary
//! generation directory, so a half-written file is never visible to readers.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
}

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
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)
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
        } = self;
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
