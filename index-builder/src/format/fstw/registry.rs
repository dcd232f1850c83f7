//! The tables of recently written nodes through which the writer shares equal suffixes.
//!
//! A node is described by its canonical words (see `canonical` in the parent module): its
//! final flag and final output, and each transition's input, output and target address.
//! Two nodes with equal canonical words accept the same suffixes with the same outputs, so
//! the second can point at the first instead of being written again.
//!
//! Most frozen nodes are found here (nine in ten while writing a names index), so a probe
//! that hits must be cheap. Each cell is one cache line holding the node's 64-bit hash,
//! its address and, for a node of up to [`INLINE`] canonical words (nearly all of them),
//! the words themselves: a hit costs one line, and equality is confirmed on it (a hash
//! match alone is never trusted). Larger nodes keep their words in a ring buffer the cell
//! points into.
//!
//! Two tables, both two-way set-associative with the least recently used way replaced: a
//! small one that stays in the CPU's cache and holds the nodes found recently (the
//! suffixes that recur across keys, hit again and again), probed first; and a large one of
//! every node written lately. Memory is fixed at creation whatever the number of keys; a
//! node whose twin was forgotten is simply written again (minimality is traded for
//! bounded memory and speed).

/// Canonical words a cell holds itself.
const INLINE: usize = 5;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Cell {
    hash: u64,
    /// The node's address in the FST (the address of its last byte).
    addr: u64,
    /// Length of the canonical words; 0 for an empty cell.
    len: u64,
    /// The canonical words when they fit; else where they start in the ring, as a count of
    /// all words ever appended to it (so an overwritten entry can be told).
    body: [u64; INLINE],
}

const EMPTY: Cell = Cell {
    hash: 0,
    addr: 0,
    len: 0,
    body: [0; INLINE],
};

// A cell is one cache line: a probe costs one line.
const _: () = assert!(std::mem::size_of::<Cell>() == 64);

/// Where canonical words too many for a cell are kept, oldest overwritten first.
struct Ring {
    words: Vec<u64>,
    /// Words appended since creation, skipped tails included.
    appended: u64,
}

impl Ring {
    /// Appends `canon` and returns its position (entries never wrap around the end).
    fn push(&mut self, canon: &[u64]) -> u64 {
        let cap = self.words.len() as u64;
        let mut start = self.appended % cap;
        if start + canon.len() as u64 > cap {
            self.appended += cap - start;
            start = 0;
        }
        let at = self.appended;
        let start = start as usize;
        self.words[start..start + canon.len()].copy_from_slice(canon);
        self.appended += canon.len() as u64;
        at
    }

    /// The `len` words at `at`, if no later entry has overwritten them.
    fn get(&self, at: u64, len: usize) -> Option<&[u64]> {
        let cap = self.words.len() as u64;
        if at + cap < self.appended {
            return None;
        }
        let start = (at % cap) as usize;
        Some(&self.words[start..start + len])
    }
}

impl Cell {
    fn holds(&self, hash: u64, canon: &[u64], ring: &Ring) -> bool {
        if self.hash != hash || self.len != canon.len() as u64 {
            return false;
        }
        if canon.len() <= INLINE {
            return same(&self.body[..canon.len()], canon);
        }
        ring.get(self.body[0], canon.len())
            .is_some_and(|words| same(words, canon))
    }
}

/// A two-way set-associative table of cells.
struct Table {
    cells: Vec<Cell>,
    set_mask: usize,
}

impl Table {
    fn new(set_bits: u32) -> Table {
        Table {
            cells: vec![EMPTY; 2 << set_bits],
            set_mask: (1 << set_bits) - 1,
        }
    }

    fn set_of(&self, hash: u64) -> usize {
        // The high bits: the low ones of a multiplicative hash are the weaker.
        ((hash >> 32) as usize & self.set_mask) * 2
    }

    /// The cell holding this node, made the set's most recently used.
    fn find(&mut self, hash: u64, canon: &[u64], ring: &Ring) -> Option<Cell> {
        let set = self.set_of(hash);
        if self.cells[set].holds(hash, canon, ring) {
            return Some(self.cells[set]);
        }
        if self.cells[set + 1].holds(hash, canon, ring) {
            self.cells.swap(set, set + 1);
            return Some(self.cells[set]);
        }
        None
    }

    /// Puts `cell` in its set in place of the least recently used one.
    fn put(&mut self, cell: Cell) {
        let set = self.set_of(cell.hash);
        self.cells[set + 1] = self.cells[set];
        self.cells[set] = cell;
    }
}

pub(super) struct Registry {
    recent: Table,
    all: Table,
    ring: Ring,
}

impl Registry {
    /// A registry whose small table has `2^recent_bits` sets, its large one `2^all_bits`,
    /// and whose ring holds `ring_words` of large nodes (at least one largest node).
    pub(super) fn new(recent_bits: u32, all_bits: u32, ring_words: usize) -> Registry {
        Registry {
            recent: Table::new(recent_bits),
            all: Table::new(all_bits),
            ring: Ring {
                words: vec![0; ring_words.max(1 << 10)],
                appended: 0,
            },
        }
    }

    /// Bytes the registry holds, whatever the number of nodes.
    pub(super) fn memory(&self) -> usize {
        let cells = self.recent.cells.len() + self.all.cells.len();
        cells * std::mem::size_of::<Cell>() + self.ring.words.len() * 8
    }

    /// The address of a node registered with these canonical words, if any.
    pub(super) fn find(&mut self, hash: u64, canon: &[u64]) -> Option<u64> {
        if let Some(cell) = self.recent.find(hash, canon, &self.ring) {
            return Some(cell.addr);
        }
        let cell = self.all.find(hash, canon, &self.ring)?;
        self.recent.put(cell);
        Some(cell.addr)
    }

    /// Registers a node just written at `addr`.
    pub(super) fn insert(&mut self, hash: u64, canon: &[u64], addr: u64) {
        let mut cell = Cell {
            hash,
            addr,
            len: canon.len() as u64,
            body: [0; INLINE],
        };
        if canon.len() <= INLINE {
            cell.body[..canon.len()].copy_from_slice(canon);
        } else {
            cell.body[0] = self.ring.push(canon);
        }
        self.all.put(cell);
    }
}

/// Word-by-word equality: the words were just stored one by one, and a byte-wise compare
/// of wider loads would stall on forwarding them.
fn same(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_match_with_other_bytes_is_not_a_hit() {
        let mut r = Registry::new(2, 4, 1 << 10);
        let long_one = [1u64; 12];
        let long_two = [2u64; 12];
        r.insert(7, &[1, 2, 3], 100);
        r.insert(9 << 32, &long_one, 200);
        assert_eq!(r.find(7, &[1, 2, 3]), Some(100));
        assert_eq!(r.find(9 << 32, &long_one), Some(200));
        // Same hash, different node (inline or in the ring): a collision shares nothing.
        assert_eq!(r.find(7, &[1, 2, 4]), None);
        assert_eq!(r.find(7, &[1, 2]), None);
        assert_eq!(r.find(9 << 32, &long_two), None);
        assert_eq!(r.find(8, &[1, 2, 3]), None);
    }

    #[test]
    fn nodes_the_ring_has_overwritten_are_forgotten() {
        // A ring of 1024 words; nodes of 125 words with distinct hashes in distinct sets.
        let mut r = Registry::new(0, 8, 1 << 10);
        let node = |i: u8| vec![i as u64; 125];
        for i in 0..20u8 {
            r.insert((i as u64) << 32, &node(i), i as u64);
        }
        // The last eight fit in the ring (a tail of 24 words is skipped at each lap);
        // older ones were overwritten though their cells remain.
        for i in 0..20u8 {
            let found = r.find((i as u64) << 32, &node(i));
            assert_eq!(found.is_some(), i >= 12, "node {i}: {found:?}");
        }
    }

    #[test]
    fn a_full_set_forgets_its_least_recently_used_cell() {
        let mut r = Registry::new(0, 0, 1 << 13);
        r.insert(1, &[b'a' as u64], 10);
        r.insert(2, &[b'b' as u64], 20);
        // Using "a" makes "b" the older; a third node replaces "b".
        assert_eq!(r.find(1, &[b'a' as u64]), Some(10));
        r.insert(3, &[b'c' as u64], 30);
        assert_eq!(r.find(2, &[b'b' as u64]), None);
        assert_eq!(r.find(3, &[b'c' as u64]), Some(30));
        // "a" was found before, so the small table still has it.
        assert_eq!(r.find(1, &[b'a' as u64]), Some(10));
        assert!(r.memory() >= 8 << 13);
    }
}
