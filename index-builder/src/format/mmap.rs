//! The one place that maps files into memory.
//!
//! Safety contract: snapshot files are write-once. The builder writes a generation into a
//! temporary directory, syncs it and renames it into place; nothing ever opens a published
//! file for writing again, and old generations are only removed (unlinking keeps existing
//! mappings valid on Unix). So the bytes behind a mapping do not change while it is alive,
//! which is what `memmap2::Mmap::map` requires. An operator who edits a file by hand breaks
//! that promise; `verify()` before serving catches a changed payload, but a change *during*
//! serving could be observed as inconsistent data (never as memory unsafety beyond what a
//! concurrent writer to any mapped file can cause).

#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// A read-only, shared memory map of a whole file. Empty files are represented without a
/// mapping (mapping zero bytes is an error on Linux).
#[derive(Clone)]
pub struct Mapped {
    map: Option<Arc<memmap2::Mmap>>,
}

impl Mapped {
    pub fn open(path: &Path) -> std::io::Result<Mapped> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Mapped { map: None });
        }
        // SAFETY: see the module docs — published snapshot files are never modified while
        // mapped; they are created in a temporary directory and only renamed or unlinked.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Mapped {
            map: Some(Arc::new(map)),
        })
    }
}

impl Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &[],
        }
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// A window into a mapped file (a file's payload after its header), usable wherever bytes
/// are read, e.g. as the backing store of an `fst::Map`.
#[derive(Clone)]
pub struct Window {
    map: Mapped,
    start: usize,
    end: usize,
}

impl Window {
    pub fn new(map: Mapped, start: usize, end: usize) -> Window {
        assert!(start <= end && end <= map.len());
        Window { map, start, end }
    }
}

impl Deref for Window {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

impl AsRef<[u8]> for Window {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// A window whose bytes were all checked to be UTF-8 when it was made, so that strings can be
/// borrowed from it without checking them again on every use (the check path reads several
/// heap strings per decision).
///
/// Why [`Utf8Window::get`] is sound: `new` ran `std::str::from_utf8` over every byte of the
/// window, and those bytes cannot change afterwards — a `Window` only ever views a [`Mapped`]
/// file, which the module's contract makes immutable while mapped (the same contract every
/// `&[u8]` handed out from a mapping already relies on). A sub-slice of valid UTF-8 that starts
/// and ends on character boundaries is itself valid UTF-8, and `get` checks both boundaries
/// (and the bounds) before it skips the validation.
#[derive(Clone)]
pub struct Utf8Window {
    window: Window,
}

impl Utf8Window {
    /// Validates the whole window once (linear in its size).
    pub fn new(window: Window) -> Result<Utf8Window, std::str::Utf8Error> {
        std::str::from_utf8(&window)?;
        Ok(Utf8Window { window })
    }

    /// The string at `start..end`, or `None` when the range is out of bounds or does not
    /// start and end on character boundaries.
    #[inline]
    pub fn get(&self, start: usize, end: usize) -> Option<&str> {
        let all: &[u8] = &self.window;
        let bytes = all.get(start..end)?;
        if !boundary(all, start) || !boundary(all, end) {
            return None;
        }
        // SAFETY: `all` is valid UTF-8 (checked in `new`, immutable since, see the type's
        // docs) and `start..end` lies inside it on character boundaries.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

/// Whether a character starts at `at` (or `at` is the end): UTF-8 continuation bytes are
/// `0b10xx_xxxx`.
#[inline]
fn boundary(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_none_or(|&b| (b as i8) >= -0x40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_of(text: &[u8]) -> (tempfile::TempDir, Window) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w");
        std::fs::write(&path, text).unwrap();
        let map = Mapped::open(&path).unwrap();
        let len = map.len();
        (dir, Window::new(map, 0, len))
    }

    #[test]
    fn utf8_windows_hand_out_whole_characters_only() {
        let (_d, w) = window_of("ab北京c".as_bytes());
        let u = Utf8Window::new(w).unwrap();
        assert_eq!(u.get(0, 2), Some("ab"));
        assert_eq!(u.get(2, 8), Some("北京"));
        assert_eq!(u.get(8, 9), Some("c"));
        assert_eq!(u.get(9, 9), Some(""));
        assert_eq!(u.get(3, 5), None, "starts inside 北");
        assert_eq!(u.get(2, 4), None, "ends inside 北");
        assert_eq!(u.get(8, 10), None, "past the end");
        let (_d, bad) = window_of(b"ok\xff");
        assert_eq!(Utf8Window::new(bad).err().map(|e| e.valid_up_to()), Some(2));
    }
}
