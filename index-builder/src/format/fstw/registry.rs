//! The table of recently written nodes through which the writer shares equal suffixes.
//!
//! A node is described by its canonical bytes (see `FstWriter::canonical`): its final flag
//! and final output, and each transition's input, output and target address. Two nodes
//! with equal canonical bytes accept the same suffixes with the same outputs, so the second
//! can point at the first instead of being written again.
//!
//! The table is set-associative: a node's 64-bit hash picks a set of [`WAYS`] cells, each
//! holding a hash, the node's address in the FST and where its canonical bytes lie in a
//! ring buffer. Probing reads only the cells; the ring is read only when a hash matches, to
//! confirm that the nodes are equal (a hash match alone is never trusted). Memory is the
//! cells plus the ring, fixed at creation, whatever the number of keys: old entries are
//! replaced (least recently used within a set) or fall out of the ring, and a node whose
//! twin was forgotten is simply written again. Minimality is traded for bounded memory.

/// Cells per set. Two ways keep a hot node from being pushed out by one unlucky neighbour.
const WAYS: usize = 2;

/// Canonical bytes of one node stay under this (2 + 8 + 256 * 17 = 4362); the length is
/// kept in the low bits of a cell's ring position.
const LEN_BITS: u32 = 13;

#[derive(Clone, Copy, Default)]
struct Cell {
    hash: u64,
    /// The node's address in the FST (the address of its last byte).
    addr: u64,
    /// Where the canonical bytes start in the ring, counted over all bytes ever appended
    /// (so an entry that has been overwritten can be told apart), shifted left by
    /// `LEN_BITS`, with their length in the low bits. Zero means an empty cell.
    at_len: u64,
}

pub(super) struct Registry {
    cells: Vec<Cell>,
    set_mask: usize,
    ring: Vec<u8>,
    /// Bytes appended to the ring since creation, skipped tails included.
    appended: u64,
}

impl Registry {
    /// A registry of `2^set_bits` sets and a ring of `ring_bytes` (rounded up to hold at
    /// least one largest node).
    pub(super) fn new(set_bits: u32, ring_bytes: usize) -> Registry {
        let sets = 1usize << set_bits;
        Registry {
            cells: vec![Cell::default(); sets * WAYS],
            set_mask: sets - 1,
            ring: vec![0; ring_bytes.max(1 << LEN_BITS)],
            appended: 0,
        }
    }

    /// Bytes the registry holds, whatever the number of nodes.
    pub(super) fn memory(&self) -> usize {
        self.cells.len() * std::mem::size_of::<Cell>() + self.ring.len()
    }

    fn set_of(&self, hash: u64) -> usize {
        // The high bits: the low ones of a multiplicative hash are the weaker.
        ((hash >> 32) as usize & self.set_mask) * WAYS
    }

    /// The canonical bytes a cell points at, if the ring still holds them.
    fn bytes_of(&self, cell: &Cell) -> Option<&[u8]> {
        let len = (cell.at_len & ((1 << LEN_BITS) - 1)) as usize;
        let at = cell.at_len >> LEN_BITS;
        if len == 0 || at + (self.ring.len() as u64) < self.appended {
            return None;
        }
        let start = (at % self.ring.len() as u64) as usize;
        Some(&self.ring[start..start + len])
    }

    /// The address of a node registered with these canonical bytes, if any. A hit becomes
    /// the most recently used cell of its set.
    pub(super) fn find(&mut self, hash: u64, canon: &[u8]) -> Option<u64> {
        let set = self.set_of(hash);
        for way in 0..WAYS {
            let cell = self.cells[set + way];
            if cell.hash == hash && self.bytes_of(&cell) == Some(canon) {
                self.cells.copy_within(set..set + way, set + 1);
                self.cells[set] = cell;
                return Some(cell.addr);
            }
        }
        None
    }

    /// Registers a node just written at `addr`, in place of its set's least recently used
    /// cell.
    pub(super) fn insert(&mut self, hash: u64, canon: &[u8], addr: u64) {
        debug_assert!(!canon.is_empty() && canon.len() < 1 << LEN_BITS);
        let cap = self.ring.len() as u64;
        // Entries never wrap around the end of the ring: a tail too short is skipped.
        let mut start = self.appended % cap;
        if start + canon.len() as u64 > cap {
            self.appended += cap - start;
            start = 0;
        }
        let at = self.appended;
        let start = start as usize;
        self.ring[start..start + canon.len()].copy_from_slice(canon);
        self.appended += canon.len() as u64;
        let set = self.set_of(hash);
        self.cells.copy_within(set..set + WAYS - 1, set + 1);
        self.cells[set] = Cell {
            hash,
            addr,
            at_len: at << LEN_BITS | canon.len() as u64,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_match_with_other_bytes_is_not_a_hit() {
        let mut r = Registry::new(4, 1 << 13);
        r.insert(7, b"node one", 100);
        assert_eq!(r.find(7, b"node one"), Some(100));
        // Same hash, different node: a collision must not share the address.
        assert_eq!(r.find(7, b"node two"), None);
        assert_eq!(r.find(8, b"node one"), None);
    }

    #[test]
    fn entries_the_ring_has_overwritten_are_forgotten() {
        // A ring of 8192 bytes; entries of 1000 bytes with distinct hashes in distinct sets.
        let mut r = Registry::new(8, 1 << 13);
        let node = |i: u8| vec![i; 1000];
        for i in 0..20u8 {
            r.insert((i as u64) << 32, &node(i), i as u64);
        }
        // The last eight fit in the ring (the tail of 192 bytes is skipped); older ones
        // were overwritten even though their cells remain.
        for i in 0..20u8 {
            let found = r.find((i as u64) << 32, &node(i));
            assert_eq!(found.is_some(), i >= 12, "entry {i}: {found:?}");
        }
    }

    #[test]
    fn a_full_set_forgets_its_least_recently_used_cell() {
        let mut r = Registry::new(0, 1 << 16);
        r.insert(1, b"a", 10);
        r.insert(2, b"b", 20);
        // Using "a" makes "b" the older; a third node replaces "b".
        assert_eq!(r.find(1, b"a"), Some(10));
        r.insert(3, b"c", 30);
        assert_eq!(r.find(1, b"a"), Some(10));
        assert_eq!(r.find(2, b"b"), None);
        assert_eq!(r.find(3, b"c"), Some(30));
        assert!(r.memory() >= 1 << 16);
    }
}
