//! How the builder's sorted items are encoded: the encoding of an item is its sort key.
//!
//! Fields are written big-endian, signed integers with the sign bit flipped and strings
//! that take part in the order escaped and terminated, so that comparing two encodings as
//! byte strings orders the items. The sorters (`spill`) then never decode an item to
//! compare it, and hold nothing per item but its bytes.

/// An item that can be held encoded, sorted as bytes, written to a run file and read back.
///
/// `encode` writes the fields that order the item first, with the `put_*` functions below:
/// comparing two encodings as byte strings must give the order the pass needs (the items'
/// `Ord`, where they have one; `items.rs` tests that the two agree). No encoding of a type
/// may be a proper prefix of another's, which fixed-width fields and [`put_key_str`] ensure.
pub(crate) trait Codec: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(d: &mut Dec<'_>) -> Self;
}

/// Big-endian field writers for [`Codec::encode`]: unsigned integers compare as their bytes.
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}
/// A signed integer with its sign bit flipped, so negative values sort first.
pub(crate) fn put_i32(out: &mut Vec<u8>, v: i32) {
    put_u32(out, (v as u32) ^ 0x8000_0000);
}
pub(crate) fn put_id(out: &mut Vec<u8>, id: &[u8; 18]) {
    out.extend_from_slice(id);
}
/// A string that sorts like `str`: its bytes, each NUL written as `00 FF`, then `00 00`.
/// The terminator is below every byte and every escaped NUL, so a string sorts before any
/// longer string it begins, and the fields after it never decide against its bytes.
pub(crate) fn put_key_str(out: &mut Vec<u8>, s: &str) {
    for part in s.as_bytes().split(|&b| b == 0).enumerate() {
        if part.0 > 0 {
            out.extend_from_slice(&[0, 0xFF]);
        }
        out.extend_from_slice(part.1);
    }
    out.extend_from_slice(&[0, 0]);
}
/// A string that does not take part in the order: its length, then its bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

/// Reads back what the `put_*` functions wrote, in the same order. Run files are written
/// and read by this process only, so a short or malformed frame is a bug and panics.
pub(crate) struct Dec<'a> {
    b: &'a [u8],
}

impl<'a> Dec<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Dec<'a> {
        Dec { b }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        head
    }
    pub(crate) fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take(2).try_into().expect("2 bytes"))
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take(8).try_into().expect("8 bytes"))
    }
    pub(crate) fn i32(&mut self) -> i32 {
        (self.u32() ^ 0x8000_0000) as i32
    }
    pub(crate) fn id(&mut self) -> [u8; 18] {
        self.take(18).try_into().expect("18 bytes")
    }
    pub(crate) fn string(&mut self) -> String {
        let n = self.u32() as usize;
        String::from_utf8(self.take(n).to_vec()).expect("run files hold UTF-8")
    }
    /// Reads a [`put_key_str`] string.
    pub(crate) fn key_str(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let end = self
                .b
                .iter()
                .position(|&b| b == 0)
                .expect("a terminated key");
            out.extend_from_slice(self.take(end));
            let mark = self.take(2);
            if mark[1] == 0 {
                break;
            }
            out.push(0);
        }
        String::from_utf8(out).expect("run files hold UTF-8")
    }
    /// Skips a [`put_key_str`] string (a key field the rest of the frame repeats).
    pub(crate) fn skip_key_str(&mut self) {
        loop {
            let end = self
                .b
                .iter()
                .position(|&b| b == 0)
                .expect("a terminated key");
            self.take(end);
            if self.take(2)[1] == 0 {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str, n: u32) -> Vec<u8> {
        let mut out = Vec::new();
        put_key_str(&mut out, s);
        put_u32(&mut out, n);
        out
    }

    #[test]
    fn key_strings_sort_like_str_and_read_back() {
        let words = [
            "", "\0", "\0\0", "a", "a\0", "a\0b", "ab", "b", "中", "ä", "a\u{1}",
        ];
        for a in words {
            for b in words {
                for (m, n) in [(0, 0), (0, u32::MAX), (u32::MAX, 0)] {
                    let want = a.cmp(b).then(m.cmp(&n));
                    assert_eq!(key(a, m).cmp(&key(b, n)), want, "{a:?},{m} vs {b:?},{n}");
                }
            }
            let bytes = key(a, 7);
            let mut d = Dec::new(&bytes);
            assert_eq!(d.key_str(), a);
            assert_eq!(d.u32(), 7);
            let mut d = Dec::new(&bytes);
            d.skip_key_str();
            assert_eq!(d.u32(), 7);
        }
    }

    #[test]
    fn signed_integers_sort_by_value() {
        let vals = [i32::MIN, -1_000_000, -1, 0, 1, 20_000, i32::MAX];
        for a in vals {
            for b in vals {
                let (mut x, mut y) = (Vec::new(), Vec::new());
                put_i32(&mut x, a);
                put_i32(&mut y, b);
                assert_eq!(x.cmp(&y), a.cmp(&b));
            }
            let mut x = Vec::new();
            put_i32(&mut x, a);
            assert_eq!(Dec::new(&x).i32(), a);
        }
    }
}
