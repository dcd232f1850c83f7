//! Writing snapshot files: a header placeholder, the payload streamed through CRC32C and
//! SHA-256, then the real header and an fsync. Files are written inside a temporary
//! generation directory, so a half-written file is never visible to readers.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::layout::StrRef;
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

/// The string heap under construction. Short strings that repeat (authorities, reasons,
/// names) are stored once; unique ones (record ids, document numbers) can skip the
/// dedup table with [`StringHeap::push`].
///
/// The dedup table holds a 64-bit hash of each string and its place in the heap (16 bytes an
/// entry, no allocation per string); a hit is confirmed against the heap bytes, and a string
/// whose hash a different one already holds goes to a small exact map, so deduplication is
/// exact whatever the hash does.
#[derive(Default)]
pub struct StringHeap {
    bytes: Vec<u8>,
    dedup: HashMap<u64, StrRef, FxBuild>,
    collided: HashMap<Box<str>, StrRef, FxBuild>,
}

impl StringHeap {
    /// Strings longer than this are not deduplicated (they rarely repeat and would bloat
    /// the table).
    const DEDUP_MAX: usize = 96;

    pub fn intern(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::default();
        }
        if s.len() > Self::DEDUP_MAX {
            return self.push(s);
        }
        let h = hash64(s.as_bytes());
        match self.dedup.get(&h) {
            None => {
                let r = self.push(s);
                self.dedup.insert(h, r);
                r
            }
            Some(&r) if self.raw(r) == s.as_bytes() => r,
            Some(_) => {
                if let Some(&r) = self.collided.get(s) {
                    return r;
                }
                let r = self.push(s);
                self.collided.insert(s.into(), r);
                r
            }
        }
    }

    /// Frees the dedup table once no more strings will be interned (later `intern` calls
    /// still work, they just start a fresh table).
    pub fn seal(&mut self) {
        self.dedup = HashMap::default();
        self.collided = HashMap::default();
        self.bytes.shrink_to_fit();
    }

    pub fn push(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::default();
        }
        let r = StrRef::new(self.bytes.len() as u64, s.len());
        self.bytes.extend_from_slice(s.as_bytes());
        r
    }

    /// The raw bytes of a string (no UTF-8 check: cheap enough for sort comparators).
    pub fn raw(&self, r: StrRef) -> &[u8] {
        &self.bytes[r.offset()..r.end()]
    }

    pub fn get(&self, r: StrRef) -> &str {
        std::str::from_utf8(&self.bytes[r.offset()..r.end()]).expect("heap holds UTF-8")
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A fast, non-cryptographic hasher for the builder's in-memory maps (keys come from the
/// operator's own source files, so hash flooding is not a concern). Multiply-rotate over
/// eight bytes at a time, in the manner of rustc's FxHasher.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A well-mixed 64-bit hash of a byte string, for tables that key on the hash and confirm
/// hits against the bytes they keep elsewhere: Fx over the bytes and the length, then the
/// MurmurHash3 finaliser (the table's own Fx hashing of the `u64` is a single multiply).
pub fn hash64(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    h.write(bytes);
    h.write_usize(bytes.len());
    let mut k = h.finish();
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_stores_each_short_string_once() {
        let mut heap = StringHeap::default();
        let a = heap.intern("北京市市场监督管理局");
        let b = heap.intern("reason");
        assert_eq!(heap.intern("北京市市场监督管理局"), a);
        assert_eq!(heap.intern("reason"), b);
        assert_ne!(heap.push("reason"), b, "push never deduplicates");
        assert_eq!(heap.get(a), "北京市市场监督管理局");
        let long = "x".repeat(StringHeap::DEDUP_MAX + 1);
        assert_ne!(heap.intern(&long), heap.intern(&long));
    }

    #[test]
    fn a_hash_collision_still_deduplicates_exactly() {
        let mut heap = StringHeap::default();
        let first = heap.intern("first");
        // Pretend "second" hashes like "first": its slot then holds a different string.
        heap.dedup.insert(hash64(b"second"), first);
        let second = heap.intern("second");
        assert_ne!(second, first);
        assert_eq!(heap.get(second), "second");
        assert_eq!(heap.intern("second"), second);
        assert_eq!(heap.intern("first"), first);
    }
}
