//! Byte scans eight bytes at a time (SWAR: one `u64` holds eight bytes), for the hot path's
//! short searches: the query string's `&`, `=`, `%` and `+`, and the bytes a JSON string
//! must escape. A per-byte loop costs four or five instructions a byte; these cost about
//! one, and the strings run to tens of bytes.
//!
//! The core is the classic test for a zero byte: `(x - 0x0101…) & !x & 0x8080…` has a
//! byte's high bit set only if some byte at or below it (in memory order, for a
//! little-endian load) was zero, and the lowest set bit marks the first zero byte exactly.

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// High bits marking bytes of `x` below `n` (exact for the first such byte; `n <= 0x80`).
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * n as u64) & !x & HIGH
}

/// High bits marking bytes of `x` equal to `b` (exact for the first such byte).
fn equal(x: u64, b: u8) -> u64 {
    below(x ^ (ONES * b as u64), 1)
}

fn word(w: &[u8]) -> u64 {
    u64::from_le_bytes(w.try_into().expect("chunks of eight"))
}

/// The position of the first byte of `bytes` that is `a` or `b`.
pub fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    find_any(bytes, [a, b])
}

/// The position of the first byte of `bytes` that is one of `set`.
pub fn find_any<const N: usize>(bytes: &[u8], set: [u8; N]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let x = word(w);
        let hit = set.iter().fold(0, |hit, &b| hit | equal(x, b));
        if hit != 0 {
            return Some(at + hit.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|c| set.contains(c))
        .map(|i| at + i)
}

/// Whether any byte of `bytes` is one JSON escapes: a control character, `"` or `\`.
pub fn json_escape_needed(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = word(w);
        if below(x, 0x20) | equal(x, b'"') | equal(x, b'\\') != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that cover whole words and a partial last one, every byte value at every
    /// position, over fillers that would hide a borrow (0x00, 0x80, 0xff) or sit next to
    /// the searched bytes.
    fn cases(mut f: impl FnMut(&[u8])) {
        for len in [0, 1, 7, 8, 9, 16, 17, 24] {
            for fill in [b'a', 0x00, 0x21, 0x24, 0x5d, 0x80, 0xff] {
                f(&vec![fill; len]);
                for at in 0..len {
                    for c in 0..=255u8 {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        f(&b);
                    }
                }
            }
        }
    }

    #[test]
    fn find_either_finds_the_first_of_two_bytes() {
        cases(|b| {
            for (x, y) in [(b'&', b'='), (b'%', b'+'), (0, 0xff)] {
                let naive = b.iter().position(|&c| c == x || c == y);
                assert_eq!(find_either(b, x, y), naive, "{b:?} {x} {y}");
            }
        });
        assert_eq!(
            find_either(b"id=1&scenario=procurement", b'&', b'='),
            Some(2)
        );
        assert_eq!(find_either(b"aaaaaaaaaaaa&=", b'=', b'&'), Some(12));
    }

    #[test]
    fn json_escape_needed_finds_every_byte_that_needs_escaping() {
        cases(|b| {
            let naive = b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
            assert_eq!(json_escape_needed(b), naive, "{b:?}");
        });
    }
}
