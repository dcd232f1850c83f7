//! Finding a record by its `record_id` while the lists are read: duplicates, and the
//! record a repair or objection names.
//!
//! The ids already live in the string heap, so the index keeps only a 64-bit hash of each id
//! and the record's position (16 bytes an entry, no allocation per record). A hash hit is
//! confirmed by comparing the id bytes in the heap; two different ids with the same hash
//! (possible, if astronomically rare) go to a small exact map, so answers never depend on
//! the hash being collision-free.

use crate::format::writer::{hash64 as hash, FxBuild};
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct RecordIndex {
    by_hash: HashMap<u64, u32, FxBuild>,
    /// Ids whose hash an earlier, different id already holds.
    collided: HashMap<Box<[u8]>, u32, FxBuild>,
}

impl RecordIndex {
    /// Records `id` as record `index` unless an earlier record has the same id; returns that
    /// earlier record. `id_of` gives the id bytes of a record already indexed.
    pub(crate) fn insert<'h>(
        &mut self,
        id: &[u8],
        index: u32,
        id_of: impl Fn(u32) -> &'h [u8],
    ) -> Option<u32> {
        let h = hash(id);
        match self.by_hash.get(&h) {
            None => {
                self.by_hash.insert(h, index);
                None
            }
            Some(&other) if id_of(other) == id => Some(other),
            Some(_) => match self.collided.get(id) {
                Some(&other) => Some(other),
                None => {
                    self.collided.insert(id.into(), index);
                    None
                }
            },
        }
    }

    /// The record with this id, if any.
    pub(crate) fn get<'h>(&self, id: &[u8], id_of: impl Fn(u32) -> &'h [u8]) -> Option<u32> {
        match self.by_hash.get(&hash(id)) {
            None => None,
            Some(&other) if id_of(other) == id => Some(other),
            Some(_) => self.collided.get(id).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_and_reports_the_first_copy() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("R{i}")).collect();
        let mut idx = RecordIndex::default();
        let of = |i: u32| ids[i as usize].as_bytes();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(idx.insert(id.as_bytes(), i as u32, of), None);
        }
        assert_eq!(idx.insert(b"R77", 99_999, of), Some(77));
        assert_eq!(idx.get(b"R4242", of), Some(4242));
        assert_eq!(idx.get(b"R10000", of), None);
        assert_eq!(idx.get(b"", of), None);
    }

    #[test]
    fn a_hash_collision_is_resolved_by_the_bytes() {
        // Force a collision: put record 0's slot under the hash of another id.
        let ids = ["first", "second"];
        let of = |i: u32| ids[i as usize].as_bytes();
        let mut idx = RecordIndex::default();
        idx.by_hash.insert(hash(b"second"), 0);
        assert_eq!(idx.get(b"second", of), None, "slot holds a different id");
        assert_eq!(idx.insert(b"second", 1, of), None);
        assert_eq!(idx.get(b"second", of), Some(1));
        assert_eq!(idx.insert(b"second", 2, of), Some(1));
        assert_eq!(idx.get(b"first", of), None);
    }
}
