//! A cache from the tail of a key to the address of the chain of nodes that spells it.
//!
//! When a key leaves the path of the key before it, the previous key's own nodes below
//! both divergences form a chain: one transition each, no outputs, ending in the final
//! node. That chain accepts exactly the rest of the previous key, so it is identified by
//! those bytes alone, and a chain written before for the same bytes can stand in for all
//! of its nodes at once. In a names index the tails recur constantly ("有限公司", common
//! given names), and one probe here replaces a registry probe per byte, each a likely
//! cache miss. A miss costs one probe; the chain then goes through the registry node by
//! node as before, and its top is remembered here.
//!
//! Cells are one cache line: the tail's hash, the chain's address and the tail itself
//! (equality is confirmed on the bytes, never on the hash alone). Tails longer than
//! [`Suffixes::MAX`] are not cached. Two ways per set, least recently used replaced; the
//! size is fixed at creation.

use super::encode::{mix, spread};

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Cell {
    hash: u64,
    addr: u64,
    /// Length of the tail; 0 for an empty cell (an empty tail is never cached).
    len: u8,
    bytes: [u8; Suffixes::MAX],
}

const EMPTY: Cell = Cell {
    hash: 0,
    addr: 0,
    len: 0,
    bytes: [0; Suffixes::MAX],
};

// A cell is one cache line: a probe costs one line.
const _: () = assert!(std::mem::size_of::<Cell>() == 64);

pub(super) struct Suffixes {
    cells: Vec<Cell>,
    set_mask: usize,
}

impl Suffixes {
    /// The longest tail a cell holds.
    pub(super) const MAX: usize = 47;

    pub(super) fn new(set_bits: u32) -> Suffixes {
        Suffixes {
            cells: vec![EMPTY; 2 << set_bits],
            set_mask: (1 << set_bits) - 1,
        }
    }

    pub(super) fn memory(&self) -> usize {
        self.cells.len() * std::mem::size_of::<Cell>()
    }

    fn set_of(&self, hash: u64) -> usize {
        ((hash >> 32) as usize & self.set_mask) * 2
    }

    /// The address of the chain spelling `tail`, if one is remembered.
    pub(super) fn find(&mut self, hash: u64, tail: &[u8]) -> Option<u64> {
        let set = self.set_of(hash);
        let holds = |c: &Cell| {
            c.hash == hash && c.len as usize == tail.len() && &c.bytes[..tail.len()] == tail
        };
        if holds(&self.cells[set]) {
            return Some(self.cells[set].addr);
        }
        if holds(&self.cells[set + 1]) {
            self.cells.swap(set, set + 1);
            return Some(self.cells[set].addr);
        }
        None
    }

    /// Remembers the chain spelling `tail` (1 to `MAX` bytes) at `addr`.
    pub(super) fn insert(&mut self, hash: u64, tail: &[u8], addr: u64) {
        debug_assert!(!tail.is_empty() && tail.len() <= Self::MAX);
        let mut cell = Cell {
            hash,
            addr,
            len: tail.len() as u8,
            bytes: [0; Self::MAX],
        };
        cell.bytes[..tail.len()].copy_from_slice(tail);
        let set = self.set_of(hash);
        self.cells[set + 1] = self.cells[set];
        self.cells[set] = cell;
    }
}

/// A 64-bit hash of a tail, eight bytes a step, mixed so every byte reaches the set bits.
pub(super) fn hash_tail(tail: &[u8]) -> u64 {
    let mut h = tail.len() as u64;
    let mut words = tail.chunks_exact(8);
    for w in &mut words {
        h = mix(h, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    spread(mix(h, u64::from_le_bytes(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_tail_is_found() {
        let mut s = Suffixes::new(4);
        s.insert(hash_tail(b"abc"), b"abc", 10);
        assert_eq!(s.find(hash_tail(b"abc"), b"abc"), Some(10));
        // A forged hash match with other bytes, or a tail that is a prefix, is no hit.
        assert_eq!(s.find(hash_tail(b"abc"), b"abd"), None);
        assert_eq!(s.find(hash_tail(b"abc"), b"ab"), None);
        assert_eq!(s.find(hash_tail(b"abcd"), b"abcd"), None);
        assert_ne!(hash_tail(b"abc"), hash_tail(b"abc\0"));
    }

    #[test]
    fn a_full_set_forgets_its_least_recently_used_tail() {
        let mut s = Suffixes::new(0);
        s.insert(1, b"a", 10);
        s.insert(2, b"b", 20);
        assert_eq!(s.find(1, b"a"), Some(10));
        s.insert(3, b"c", 30);
        assert_eq!(s.find(2, b"b"), None);
        assert_eq!(s.find(1, b"a"), Some(10));
        assert_eq!(s.find(3, b"c"), Some(30));
        assert_eq!(s.memory(), 2 * 64);
    }
}
