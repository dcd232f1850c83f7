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
