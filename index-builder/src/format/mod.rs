//! The snapshot format: every file a header, a payload and checksums.
//!
//! A snapshot generation is a directory of write-once files. Each file starts with a 32-byte
//! header (see FORMAT.md beside the crate root):
//!
//! ```text
//! 0..8    magic  b"CREDGATE"
//! 8..12   kind   four ASCII bytes naming the file's role (b"RECS", b"IDFS", ...)
//! 12..16  format version, u32 LE
//! 16..24  payload length, u64 LE (the file is exactly 32 + this long)
//! 24..28  CRC32C of the payload, u32 LE
//! 28..32  CRC32C of bytes 0..28, u32 LE
//! ```
//!
//! Opening checks the header only (cheap, independent of size); [`verify_payload`] checks the
//! payload checksum and runs once before a snapshot is served.

pub mod fstw;
pub mod idix;
pub mod layout;
mod mmap;
pub mod reader;
pub mod writer;

pub use mmap::{Mapped, Utf8Window, Window};

use std::fmt;
use std::path::{Path, PathBuf};

pub const MAGIC: [u8; 8] = *b"CREDGATE";
/// The version this code writes. A layout change bumps it.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest version this code reads. Version 1 lacks `ids.idx`; its identifiers are looked
/// up in `ids.fst`.
pub const MIN_READ_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 32;

macro_rules! file_kinds {
    ($($variant:ident = $tag:literal, $name:literal;)+) => {
        /// The role of a file in a snapshot generation; each has a fixed file name.
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
        pub enum FileKind { $($variant,)+ }

        impl FileKind {
            pub const ALL: &'static [FileKind] = &[$(FileKind::$variant,)+];
            pub fn tag(self) -> [u8; 4] { match self { $(FileKind::$variant => *$tag,)+ } }
            pub fn file_name(self) -> &'static str { match self { $(FileKind::$variant => $name,)+ } }
            pub fn from_tag(tag: [u8; 4]) -> Option<FileKind> {
                match &tag { $($tag => Some(FileKind::$variant),)+ _ => None }
            }
        }
    };
}

file_kinds! {
    Manifest = b"MANI", "MANIFEST";
    Catalog = b"CTLG", "catalog.toml.cg";
    Ids = b"IDFS", "ids.fst";
    IdIndex = b"IDIX", "ids.idx";
    Names = b"NMFS", "names.fst";
    Postings = b"POST", "names.post";
    Subjects = b"SUBJ", "subjects.tbl";
    Records = b"RECS", "records.tbl";
    Events = b"EVNT", "events.tbl";
    LinksByPerson = b"LNKP", "links_by_person.tbl";
    LinksByOrg = b"LNKO", "links_by_org.tbl";
    Strings = b"STRS", "strings.heap";
    Bitmaps = b"BMAP", "bitmaps.bin";
}

/// What is wrong with a snapshot, and in which file.
#[derive(Debug)]
pub struct FormatError {
    pub file: PathBuf,
    pub problem: Problem,
}

#[derive(Debug)]
pub enum Problem {
    Io(std::io::Error),
    /// Shorter than a header, or shorter than the header says.
    Truncated {
        expected: u64,
        found: u64,
    },
    /// Longer than the header says (something was appended).
    TrailingBytes {
        expected: u64,
        found: u64,
    },
    /// Not a credgate file at all.
    BadMagic,
    /// A credgate file, but of another role than its name says.
    WrongKind {
        expected: [u8; 4],
        found: [u8; 4],
    },
    /// Written by a newer credgate than this one.
    NewerVersion {
        found: u32,
    },
    /// Written by an older credgate whose layout this one no longer reads.
    OlderVersion {
        found: u32,
    },
    HeaderChecksum,
    PayloadChecksum {
        expected: u32,
        found: u32,
    },
    /// The manifest disagrees with the file (size or checksum recorded at build time).
    ManifestMismatch {
        what: String,
    },
    /// The payload does not have the structure its kind requires.
    Malformed {
        what: String,
    },
    /// A root without a `CURRENT` pointer, or a pointer naming no generation.
    NoSnapshot {
        what: String,
    },
}

impl FormatError {
    pub fn new(file: impl Into<PathBuf>, problem: Problem) -> FormatError {
        FormatError {
            file: file.into(),
            problem,
        }
    }

    pub fn malformed(file: impl Into<PathBuf>, what: impl Into<String>) -> FormatError {
        FormatError::new(file, Problem::Malformed { what: what.into() })
    }
}

fn tag_str(t: &[u8; 4]) -> String {
    String::from_utf8_lossy(t).into_owned()
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.problem {
            Problem::Io(e) => write!(f, "{file}: {e}"),
            Problem::Truncated { expected, found } => write!(
                f,
                "{file}: truncated: {found} bytes, expected {expected}; the snapshot is damaged, rebuild it"
            ),
            Problem::TrailingBytes { expected, found } => write!(
                f,
                "{file}: {found} bytes, expected {expected}; the file was modified after it was written, rebuild the snapshot"
            ),
            Problem::BadMagic => write!(f, "{file}: not a credgate snapshot file (bad magic)"),
            Problem::WrongKind { expected, found } => write!(
                f,
                "{file}: holds a {} file where a {} file belongs",
                tag_str(found),
                tag_str(expected)
            ),
            Problem::NewerVersion { found } => write!(
                f,
                "{file}: format version {found} is newer than this credgate reads (up to {FORMAT_VERSION}); upgrade credgate"
            ),
            Problem::OlderVersion { found } => write!(
                f,
                "{file}: format version {found} is older than this credgate reads (from {MIN_READ_VERSION}); rebuild the snapshot with index-builder"
            ),
            Problem::HeaderChecksum => write!(f, "{file}: header checksum mismatch; the snapshot is damaged, rebuild it"),
            Problem::PayloadChecksum { expected, found } => write!(
                f,
                "{file}: payload checksum mismatch (CRC32C {found:08x}, expected {expected:08x}); the snapshot is damaged, rebuild it"
            ),
            Problem::ManifestMismatch { what } => write!(f, "{file}: does not match the manifest: {what}"),
            Problem::Malformed { what } => write!(f, "{file}: malformed: {what}"),
            Problem::NoSnapshot { what } => write!(f, "{file}: {what}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Builds the header for a payload of the given kind.
pub fn encode_header(kind: FileKind, payload_len: u64, payload_crc: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&kind.tag());
    h[12..16].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&payload_len.to_le_bytes());
    h[24..28].copy_from_slice(&payload_crc.to_le_bytes());
    let hc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&hc.to_le_bytes());
    h
}

/// Checks a whole file's header against its expected kind and its length, and returns the
/// payload. Cost is independent of the payload's size.
pub fn check_header<'a>(
    path: &Path,
    kind: FileKind,
    bytes: &'a [u8],
) -> Result<&'a [u8], FormatError> {
    let err = |p| Err(FormatError::new(path, p));
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= 8 && bytes[0..8] != MAGIC {
            return err(Problem::BadMagic);
        }
        return err(Problem::Truncated {
            expected: HEADER_LEN as u64,
            found: bytes.len() as u64,
        });
    }
    if bytes[0..8] != MAGIC {
        return err(Problem::BadMagic);
    }
    if crc32c::crc32c(&bytes[0..28]) != u32_at(bytes, 28) {
        return err(Problem::HeaderChecksum);
    }
    let found: [u8; 4] = bytes[8..12].try_into().expect("4 bytes");
    if found != kind.tag() {
        return err(Problem::WrongKind {
            expected: kind.tag(),
            found,
        });
    }
    let version = u32_at(bytes, 12);
    if version > FORMAT_VERSION {
        return err(Problem::NewerVersion { found: version });
    }
    if version < MIN_READ_VERSION {
        return err(Problem::OlderVersion { found: version });
    }
    let expected = HEADER_LEN as u64 + u64_at(bytes, 16);
    let actual = bytes.len() as u64;
    if actual < expected {
        return err(Problem::Truncated {
            expected,
            found: actual,
        });
    }
    if actual > expected {
        return err(Problem::TrailingBytes {
            expected,
            found: actual,
        });
    }
    Ok(&bytes[HEADER_LEN..])
}

/// Checks the payload checksum of a file whose header [`check_header`] accepted.
pub fn verify_payload(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    let expected = u32_at(bytes, 24);
    let found = crc32c::crc32c(&bytes[HEADER_LEN..]);
    if expected != found {
        return Err(FormatError::new(
            path,
            Problem::PayloadChecksum { expected, found },
        ));
    }
    Ok(())
}

/// The payload CRC32C recorded in a header.
pub fn header_crc(bytes: &[u8]) -> u32 {
    u32_at(bytes, 24)
}

#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

#[inline]
pub(crate) fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
