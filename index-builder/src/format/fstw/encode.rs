//! The bytes of a node as fst 0.4 reads them, and a node's identity for the registry.
//!
//! A node is read backwards from its last byte (its address), whose top two bits say its
//! kind: `11` one transition to the node written just before it, with no output (just
//! the input); `10` one transition (output, target, their sizes, input); `0f` any other
//! node, `f` its final flag (outputs, targets, inputs, each in reverse transition order,
//! then a 256-byte input index above 32 transitions, the sizes, and the transition count
//! in the state byte's low six bits or in a byte of its own). Integers are little-endian
//! in as few bytes as the largest of their kind in the node needs; a target is stored as
//! the distance back from the node's first byte, 0 meaning the empty final node.

use super::{Open, EMPTY_ADDRESS};

/// Above this many transitions a node carries a 256-byte index from input byte to
/// transition (the reader expects it exactly then).
const INDEX_ABOVE: usize = 32;
/// The bytes a one-transition node can name by their rank in this list (1-based, in six
/// bits of its state byte) instead of spending a byte on its input; the order is fixed by
/// the format.
const COMMON_INPUTS: &[u8; 63] = b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

/// A node's identity for the registry, in words: transition count, final flag and
/// whether any output is set; the final output; then each transition's input and target
/// (an FST stays under 2^56 bytes, see `MAX_LEN`) in one word, and its output. Outputs
/// are left out when all are zero, so most nodes take two words and fit a registry cell.
pub(super) fn canonical(node: &Open, out: &mut Vec<u64>) {
    out.clear();
    let outputs = node.final_output != 0 || node.arcs.iter().any(|a| a.output != 0);
    out.push(node.arcs.len() as u64 | (node.is_final as u64) << 9 | (outputs as u64) << 10);
    if outputs && node.is_final {
        out.push(node.final_output);
    }
    for a in &node.arcs {
        out.push(a.target << 8 | a.input as u64);
        if outputs {
            out.push(a.output);
        }
    }
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// One step of the writer's hashes (of nodes here, of key tails in `suffixes`): rotate,
/// mix in a word, multiply.
pub(super) fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(26) ^ w).wrapping_mul(K)
}

/// The last step of the writer's hashes. A multiplication carries each bit only upwards:
/// fold the high half back down so every bit of every word reaches the bits that pick a
/// set.
pub(super) fn spread(h: u64) -> u64 {
    let h = (h ^ h >> 32).wrapping_mul(K);
    h ^ h >> 29
}

/// A 64-bit hash of canonical words. The registry confirms every match word for word, so
/// only its spread matters.
pub(super) fn hash_words(words: &[u64]) -> u64 {
    spread(words.iter().fold(0u64, |h, &w| mix(h, w)))
}

/// Bytes needed for `v` little-endian, at least one.
fn pack_size(v: u64) -> usize {
    ((64 - v.leading_zeros()) as usize).div_ceil(8).max(1)
}

fn pack(out: &mut Vec<u8>, v: u64, size: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..size]);
}

/// The six-bit code of each byte: its 1-based rank in `COMMON_INPUTS`, 0 for the others.
const COMMON_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < COMMON_INPUTS.len() {
        t[COMMON_INPUTS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    t
};

fn common_code(input: u8) -> u8 {
    COMMON_CODE[input as usize]
}

/// How a transition written at `start` names its target: the distance back, or 0 for the
/// empty final node.
fn delta(start: u64, target: u64) -> u64 {
    if target == EMPTY_ADDRESS {
        0
    } else {
        start - target
    }
}

/// Appends the bytes of `node`, whose first byte lands at address `start`, to `out`.
/// `last_addr` is the node written just before it, which a lone transition without output
/// reaches implicitly.
pub(super) fn encode(node: &Open, start: u64, last_addr: u64, out: &mut Vec<u8>) {
    let arcs = &node.arcs;
    if arcs.len() == 1 && !node.is_final {
        let a = arcs[0];
        let code = common_code(a.input);
        if a.target == last_addr && a.output == 0 {
            // One transition to the node right before: just the input.
            if code == 0 {
                out.push(a.input);
            }
            out.push(0b11_000000 | code);
        } else {
            let osize = if a.output == 0 {
                0
            } else {
                pack_size(a.output)
            };
            if osize > 0 {
                pack(out, a.output, osize);
            }
            let d = delta(start, a.target);
            let tsize = pack_size(d);
            pack(out, d, tsize);
            out.push((tsize << 4 | osize) as u8);
            if code == 0 {
                out.push(a.input);
            }
            out.push(0b10_000000 | code);
        }
        return;
    }
    // Any other node: outputs, targets and inputs, each in reverse transition order.
    let any_output = node.final_output != 0 || arcs.iter().any(|a| a.output != 0);
    let osize = if any_output {
        arcs.iter()
            .map(|a| pack_size(a.output))
            .fold(pack_size(node.final_output), usize::max)
    } else {
        0
    };
    let tsize = arcs
        .iter()
        .map(|a| pack_size(delta(start, a.target)))
        .max()
        .unwrap_or(0);
    if any_output {
        if node.is_final {
            pack(out, node.final_output, osize);
        }
        for a in arcs.iter().rev() {
            pack(out, a.output, osize);
        }
    }
    for a in arcs.iter().rev() {
        pack(out, delta(start, a.target), tsize);
    }
    out.extend(arcs.iter().rev().map(|a| a.input));
    if arcs.len() > INDEX_ABOVE {
        let at = out.len();
        out.resize(at + 256, 255);
        for (i, a) in arcs.iter().enumerate() {
            out[at + a.input as usize] = i as u8;
        }
    }
    out.push((tsize << 4 | osize) as u8);
    let n = arcs.len();
    let in_state = if (1..=63).contains(&n) { n as u8 } else { 0 };
    if in_state == 0 {
        // 256 transitions are written as 1, which the state byte would have held itself.
        out.push(if n == 256 { 1 } else { n as u8 });
    }
    out.push((node.is_final as u8) << 6 | in_state);
}
