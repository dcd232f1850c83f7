//! The names index input: every named subject's normalised name, sorted by (name, ordinal).
//!
//! Millions of names are normalised into one buffer instead of one `String` each, and sorted
//! through 24-byte entries whose first eight name bytes, as a big-endian integer, settle most
//! comparisons without touching the buffer.

use crate::format::layout::StrRef;
use crate::format::writer::StringHeap;
use crate::names::normalize_name_into;

#[derive(Default)]
pub(crate) struct NamedSubjects {
    text: String,
    /// (first 8 bytes big-endian, zero-padded; offset; length; ordinal), sorted.
    entries: Vec<(u64, u64, u32, u32)>,
}

impl NamedSubjects {
    /// `names[ordinal]` is each subject's name (empty: unnamed).
    pub(crate) fn collect(names: &[StrRef], heap: &StringHeap) -> NamedSubjects {
        let mut text = String::new();
        let mut entries = Vec::with_capacity(names.len());
        for (ord, name) in names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let start = text.len();
            normalize_name_into(heap.get(*name), &mut text);
            let len = text.len() - start;
            if len == 0 {
                continue;
            }
            let bytes = &text.as_bytes()[start..];
            let mut prefix = [0u8; 8];
            let n = bytes.len().min(8);
            prefix[..n].copy_from_slice(&bytes[..n]);
            entries.push((
                u64::from_be_bytes(prefix),
                start as u64,
                len as u32,
                ord as u32,
            ));
        }
        // A strictly smaller zero-padded prefix always means a smaller string; equal
        // prefixes fall through to the bytes, then the ordinal.
        let t = text.as_bytes();
        let slice = |e: &(u64, u64, u32, u32)| &t[e.1 as usize..e.1 as usize + e.2 as usize];
        entries.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| slice(a).cmp(slice(b)))
                .then(a.3.cmp(&b.3))
        });
        NamedSubjects { text, entries }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// (name, ordinal) in sorted order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.entries
            .iter()
            .map(|e| (&self.text[e.1 as usize..e.1 as usize + e.2 as usize], e.3))
    }
}
