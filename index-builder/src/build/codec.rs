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
    put_key_bytes(out, s.as_bytes());
}
/// [`put_key_str`] for the bytes of a string read from a frame and not yet checked.
pub(crate) fn put_key_bytes(out: &mut Vec<u8>, s: &[u8]) {
    for part in s.split(|&b| b == 0).enumerate() {
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

/// Reads back what the `put_*` functions wrote, in the same order.
///
/// Run files are written and read by this process only, so a short or malformed frame
/// means a damaged spill directory (a full disk, another process writing into it), not
/// bad input. Reading one must still not panic: a read past the end or a string that is not
/// UTF-8 marks the decoder as failed and yields zeros or an empty string, and
/// [`Dec::finish`] turns the mark into an error for the pass to return. The readers stay
/// infallible per field, which keeps the item decoders as plain as the encoders.
#[derive(Clone)]
pub(crate) struct Dec<'a> {
    b: &'a [u8],
    bad: bool,
}

/// What a failed fixed-width read yields (the widest field is an 18-byte identifier).
const ZEROS: [u8; 32] = [0; 32];

impl<'a> Dec<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Dec<'a> {
        Dec { b, bad: false }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        if n > self.b.len() {
            self.bad = true;
            self.b = &[];
            return &ZEROS[..n.min(ZEROS.len())];
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        head
    }
    /// An error when a read failed (see the type's documentation).
    pub(crate) fn finish(&self) -> std::io::Result<()> {
        if self.bad {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a spilled run holds a damaged frame (short, or a string that is not UTF-8); \
                 the spill directory was changed while the build ran: run the build again \
                 with enough free disk space",
            ));
        }
        Ok(())
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
    /// The raw bytes of the next `n` bytes of the frame (empty and failed when short).
    pub(crate) fn bytes(&mut self, n: usize) -> &'a [u8] {
        if n > self.b.len() {
            self.bad = true;
            self.b = &[];
            return &[];
        }
        self.take(n)
    }
    /// Reads the bytes of a [`put_str`] string borrowed from the frame, not checked as
    /// UTF-8 (see [`Dec::utf8`]).
    pub(crate) fn str_bytes(&mut self) -> &'a [u8] {
        let n = self.u32() as usize;
        self.bytes(n)
    }
    /// `b` as a `str`; an empty one, and the decoder failed, when it is not UTF-8.
    pub(crate) fn utf8(&mut self, b: &'a [u8]) -> &'a str {
        match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(_) => {
                self.bad = true;
                ""
            }
        }
    }
    /// The bytes of a [`put_key_str`] string up to its terminator, the terminator skipped;
    /// `None` (and failed) when the frame ends first.
    fn key_part(&mut self) -> Option<(&'a [u8], bool)> {
        let Some(end) = self.b.iter().position(|&b| b == 0) else {
            self.bad = true;
            self.b = &[];
            return None;
        };
        let part = self.take(end);
        let mark = self.bytes(2);
        if mark.len() < 2 {
            return None;
        }
        Some((part, mark[1] == 0))
    }
    /// Reads a [`put_key_str`] string's bytes onto the end of `out`, each escaped NUL back
    /// to one NUL, without checking them as UTF-8 (the names index takes them as FST keys).
    pub(crate) fn key_bytes_into(&mut self, out: &mut Vec<u8>) {
        while let Some((part, last)) = self.key_part() {
            out.extend_from_slice(part);
            if last {
                break;
            }
            out.push(0);
        }
    }
    /// Reads a [`put_key_str`] string.
    pub(crate) fn key_str(&mut self) -> String {
        let mut out = Vec::new();
        self.key_bytes_into(&mut out);
        String::from_utf8(out).unwrap_or_else(|_| {
            self.bad = true;
            String::new()
        })
    }
    /// Reads a [`put_key_str`] string without a NUL in it borrowed from the frame (the
    /// common case: identifiers and names hold no NUL); `None` when it holds one, and the
    /// caller reads it with [`Dec::key_str`] from a copy of the decoder taken before.
    pub(crate) fn key_str_borrowed(&mut self) -> Option<&'a str> {
        let (part, last) = self.key_part()?;
        if !last {
            return None;
        }
        match std::str::from_utf8(part) {
            Ok(s) => Some(s),
            Err(_) => {
                self.bad = true;
                Some("")
            }
        }
    }
    /// Skips a [`put_key_str`] string (a key field the rest of the frame repeats).
    pub(crate) fn skip_key_str(&mut self) {
        while let Some((_, last)) = self.key_part() {
            if last {
                return;
            }
        }
    }
    /// Bytes left in the frame.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.b
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
