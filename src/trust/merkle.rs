//! The binary SHA-256 Merkle tree that lets one Ed25519 signature cover a batch of receipts
//! (receipt version 2, see [`super::receipt`]).
//!
//! Hashes are domain-separated so a leaf can never be passed off as an inner node or the
//! other way round: a leaf is `SHA-256(0x00 ‖ message)`, a node `SHA-256(0x01 ‖ left ‖
//! right)`. Level by level, nodes are paired left to right (0 with 1, 2 with 3, …); a last
//! node without a partner moves up unchanged. So a tree of `n` leaves is fixed by `n` alone,
//! and a leaf's audit path lists the partners it meets on the way up, bottom first, skipping
//! the levels where it moves up alone. [`root_from_path`] redoes that walk from the leaf
//! index and the leaf count, and fails unless the path has exactly the right length.
//! Some leaves meet the same partners in trees of different sizes, so the count is not
//! fixed by the path alone: the signature covers the root and the count together.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

const LEAF: u8 = 0x00;
const NODE: u8 = 0x01;

/// The hash of a leaf whose content is `message`.
pub fn leaf_hash(message: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF]);
    h.update(message);
    h.finalize().into()
}

/// The hash of a leaf whose content is `parts` one after another: [`leaf_hash`] of their
/// concatenation, without building it.
pub fn leaf_hash_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Every level of the tree over `leaves` (level 0 the leaves, the last level the root).
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Builds the tree; `leaves` must not be empty.
    pub fn new(leaves: Vec<Hash>) -> Tree {
        assert!(!leaves.is_empty(), "a Merkle tree needs at least one leaf");
        let mut levels = vec![leaves];
        while levels.last().map_or(0, Vec::len) > 1 {
            let below = levels.last().expect("at least one level");
            let above: Vec<Hash> = below
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node_hash(l, r),
                    [alone] => *alone,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(above);
        }
        Tree { levels }
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    pub fn root(&self) -> Hash {
        self.levels.last().expect("at least one level")[0]
    }

    /// The audit path of leaf `index`, bottom first.
    pub fn path(&self, index: usize) -> Vec<Hash> {
        self.path_iter(index).copied().collect()
    }

    /// The audit path of leaf `index`, bottom first, read from the tree without copying.
    pub fn path_iter(&self, index: usize) -> impl Iterator<Item = &Hash> + '_ {
        self.path_positions(index)
            .map(|(depth, at)| &self.levels[depth][at])
    }

    /// Where the audit path of leaf `index` lies in the tree: the level and the position in
    /// it of each partner, bottom first. Whoever keeps something per node (the hex of a
    /// signed round's nodes) reads a leaf's path from it with these.
    pub fn path_positions(&self, index: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let below_root = &self.levels[..self.levels.len() - 1];
        below_root
            .iter()
            .enumerate()
            .filter_map(move |(depth, level)| {
                let at = (index >> depth) ^ 1;
                (at < level.len()).then_some((depth, at))
            })
    }

    /// The levels below the root, the leaves first.
    pub fn levels_below_root(&self) -> &[Vec<Hash>] {
        &self.levels[..self.levels.len() - 1]
    }
}

/// The root reached from `leaf` at `index` in a tree of `leaves` leaves along `path`, or
/// `None` when the index is out of range or the path is too short or too long.
pub fn root_from_path(leaf: Hash, index: u64, leaves: u64, path: &[Hash]) -> Option<Hash> {
    if index >= leaves {
        return None;
    }
    let (mut node, mut index, mut width) = (leaf, index, leaves);
    let mut rest = path.iter();
    while width > 1 {
        let partner = index ^ 1;
        if partner < width {
            let p = rest.next()?;
            node = if index % 2 == 0 {
                node_hash(&node, p)
            } else {
                node_hash(p, &node)
            };
        }
        index /= 2;
        width = width.div_ceil(2);
    }
    rest.next().is_none().then_some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_of_every_size_reaches_the_root() {
        for n in 1..=70 {
            let tree = Tree::new(leaves(n));
            assert_eq!(tree.len(), n);
            for i in 0..n {
                let path = tree.path(i);
                assert!(path.len() <= 7, "n={n} i={i}");
                assert!(tree.path_iter(i).eq(path.iter()), "n={n} i={i}");
                let below = tree.levels_below_root();
                assert!(
                    tree.path_positions(i)
                        .map(|(depth, at)| &below[depth][at])
                        .eq(path.iter()),
                    "n={n} i={i}"
                );
                assert_eq!(
                    root_from_path(leaves(n)[i], i as u64, n as u64, &path),
                    Some(tree.root()),
                    "n={n} i={i}"
                );
            }
        }
    }

    #[test]
    fn small_trees_have_the_documented_shape() {
        let l = leaves(3);
        assert_eq!(Tree::new(l[..1].to_vec()).root(), l[0]);
        let root = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(Tree::new(l.clone()).root(), root);
        assert_eq!(Tree::new(l.clone()).path(2), vec![node_hash(&l[0], &l[1])]);
        assert_eq!(leaf_hash_parts(&[b"ab", b"", b"c"]), leaf_hash(b"abc"));
        // A node is not a leaf: the leaf and node prefixes differ.
        assert_ne!(leaf_hash(&[l[0], l[1]].concat()), node_hash(&l[0], &l[1]));
    }

    #[test]
    fn a_wrong_index_or_path_does_not_reach_the_root() {
        let n = 11;
        let ls = leaves(n);
        let tree = Tree::new(ls.clone());
        let root = tree.root();
        for (i, &leaf) in ls.iter().enumerate() {
            let path = tree.path(i);
            for j in (0..n as u64).filter(|&j| j != i as u64) {
                assert_ne!(root_from_path(leaf, j, n as u64, &path), Some(root));
            }
            // The leaf count alone is not always fixed by the path (leaf 0 of 11 and of 12
            // meet the same partners); it is signed together with the root instead.
            assert_eq!(root_from_path(leaf, n as u64, n as u64, &path), None);
            for k in 0..path.len() {
                let mut p = path.clone();
                p[k][0] ^= 1;
                assert_ne!(root_from_path(leaf, i as u64, n as u64, &p), Some(root));
                let mut short = path.clone();
                short.remove(k);
                assert_ne!(root_from_path(leaf, i as u64, n as u64, &short), Some(root));
            }
            let mut long = path.clone();
            long.push(root);
            assert_eq!(root_from_path(leaf, i as u64, n as u64, &long), None);
            let mut other = leaf;
            other[31] ^= 1;
            assert_ne!(root_from_path(other, i as u64, n as u64, &path), Some(root));
        }
    }
}
