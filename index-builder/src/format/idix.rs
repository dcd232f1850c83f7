//! `ids.idx`: a hash index from an 18-byte normalised identifier to its subject ordinal,
//! made for the check path (format version 2; FORMAT.md, "Identifier index").
//!
//! `ids.fst` answers the same question, but walks one FST node per key byte (about 2,800
//! instructions and a dozen scattered reads per lookup at 1M records). Identifiers are all 18
//! bytes, so a hash table does better: one hash, one cache line of 8-byte slots, then the
//! subject row — which the check reads next anyway, so the key itself is not stored here but
//! compared against the row's identifier. That keeps the index at about 10 bytes a subject
//! (the FST takes about 9) instead of the 27 an 18-byte-key table would take.
//!
//! The table is laid out in hash order: entries sorted by their 32-bit hash, each at the first
//! free slot at or after its home slot, with overflow running past the last home slot rather
//! than wrapping. That order lets the builder write the file in one pass from sorted
//! (hash, ordinal) pairs, and lets a lookup for an absent key stop at the first slot whose hash
//! is greater than its own, so misses cost about as much as hits.

use std::io;
use std::path::Path;

use super::writer::FileWriter;
use super::{u32_at, FileKind};
use crate::manifest::FileEntry;

/// Bytes before the slots: home slot count, entry count, 8 reserved zero bytes (so that
/// slots stay 8-byte aligned in the mapped file and never straddle a cache line).
pub const IDIX_HEADER: usize = 16;
/// One slot: the key's 32-bit hash, then its ordinal ([`EMPTY`] in a free slot).
pub const SLOT: usize = 8;
/// The ordinal of a free slot (its hash field is zero).
pub const EMPTY: u32 = u32::MAX;
/// Identifiers are this long; the index holds nothing else.
pub const KEY_LEN: usize = 18;

/// The documented hash of an identifier (FORMAT.md): three little-endian words of the key
/// (bytes 0–7, 8–15 and 16–17 zero-extended), each mixed in Fx style, then the MurmurHash3
/// 64-bit finaliser; the index keeps the high 32 bits.
#[inline]
pub fn hash(key: &[u8; KEY_LEN]) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let w0 = u64::from_le_bytes(key[0..8].try_into().expect("8 bytes"));
    let w1 = u64::from_le_bytes(key[8..16].try_into().expect("8 bytes"));
    let w2 = u16::from_le_bytes(key[16..18].try_into().expect("2 bytes")) as u64;
    let mut h = w0.wrapping_mul(K);
    h = (h.rotate_left(5) ^ w1).wrapping_mul(K);
    h = (h.rotate_left(5) ^ w2).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 32) as u32
}

/// The home slot of a hash among `homes` slots: the hash scaled to the range (multiply and
/// keep the high half), so that home order is hash order.
#[inline]
pub fn home(hash: u32, homes: u32) -> usize {
    ((hash as u64 * homes as u64) >> 32) as usize
}

/// How many home slots an index of `n` keys has: load n/homes below 0.8.
pub fn home_count(n: u32) -> u32 {
    let homes = n as u64 + n as u64 / 4 + 1;
    u32::try_from(homes).expect("identifier count fits the index")
}

/// Writes `ids.idx` from (identifier, ordinal) pairs in any order (the builder passes the
/// same sorted sequence it feeds to `ids.fst`). Holds 8 bytes a key while it sorts them into
/// hash order.
pub fn write(
    dir: &Path,
    pairs: impl IntoIterator<Item = ([u8; KEY_LEN], u32)>,
) -> io::Result<FileEntry> {
    write_entries(
        dir,
        pairs
            .into_iter()
            .map(|(key, ord)| entry(&key, ord))
            .collect(),
    )
}

/// One identifier's entry as [`write_entries`] takes it: its hash above its ordinal.
pub fn entry(key: &[u8; KEY_LEN], ord: u32) -> u64 {
    ((hash(key) as u64) << 32) | ord as u64
}

/// Writes ids.idx from [`entry`] values in any order: 8 bytes per identifier in memory,
/// which a builder can collect while it streams the identifiers for ids.fst.
pub fn write_entries(dir: &Path, mut entries: Vec<u64>) -> io::Result<FileEntry> {
    // Equal hashes keep ordinal order, which makes the file a function of the key set.
    entries.sort_unstable();
    let count = entries.len() as u64;
    write_sorted(dir, count, entries.into_iter().map(Ok))
}

/// Writes ids.idx from `count` [`entry`] values in ascending order (a builder that sorts
/// them externally, within its memory budget, streams them here).
pub fn write_sorted(
    dir: &Path,
    count: u64,
    entries: impl Iterator<Item = io::Result<u64>>,
) -> io::Result<FileEntry> {
    let n = u32::try_from(count)
        .ok()
        .filter(|&n| n < EMPTY)
        .ok_or_else(|| io::Error::other("too many identifiers for ids.idx"))?;
    let homes = home_count(n);
    let mut w = FileWriter::create(dir, FileKind::IdIndex)?;
    let mut head = [0u8; IDIX_HEADER];
    head[0..4].copy_from_slice(&homes.to_le_bytes());
    head[4..8].copy_from_slice(&n.to_le_bytes());
    w.write(&head)?;
    let mut buf = Vec::with_capacity(1 << 16);
    let mut next = 0usize;
    let mut written = 0u64;
    for e in entries {
        let e = e?;
        written += 1;
        let (h, ord) = ((e >> 32) as u32, e as u32);
        while next < home(h, homes) {
            put_slot(&mut w, &mut buf, 0, EMPTY)?;
            next += 1;
        }
        put_slot(&mut w, &mut buf, h, ord)?;
        next += 1;
    }
    // Up to the last home slot (or past it, where the last entries overflowed), then one
    // free slot that ends every probe.
    while next < homes as usize {
        put_slot(&mut w, &mut buf, 0, EMPTY)?;
        next += 1;
    }
    put_slot(&mut w, &mut buf, 0, EMPTY)?;
    if written != count {
        return Err(io::Error::other(format!(
            "ids.idx: {written} entries given, {count} announced"
        )));
    }
    w.write(&buf)?;
    w.finish()
}

/// Appends one slot to `buf`, handing full buffers to the file.
fn put_slot(w: &mut FileWriter, buf: &mut Vec<u8>, hash: u32, ord: u32) -> io::Result<()> {
    buf.extend_from_slice(&hash.to_le_bytes());
    buf.extend_from_slice(&ord.to_le_bytes());
    if buf.len() >= 1 << 16 {
        w.write(buf)?;
        buf.clear();
    }
    Ok(())
}

/// A mapped `ids.idx` payload whose shape (header, slot count) was checked at open.
#[derive(Clone)]
pub struct IdIndex<B> {
    bytes: B,
    homes: u32,
    len: u32,
}

impl<B: AsRef<[u8]>> IdIndex<B> {
    /// Checks the header against the payload length and the subject count (constant time).
    pub fn new(bytes: B, subjects: u32) -> Result<IdIndex<B>, String> {
        let b = bytes.as_ref();
        if b.len() < IDIX_HEADER || !(b.len() - IDIX_HEADER).is_multiple_of(SLOT) {
            return Err(format!(
                "{} bytes is not a {IDIX_HEADER}-byte header and whole {SLOT}-byte slots",
                b.len()
            ));
        }
        let (homes, len) = (u32_at(b, 0), u32_at(b, 4));
        let slots = (b.len() - IDIX_HEADER) / SLOT;
        if len != subjects {
            return Err(format!("{len} identifiers for {subjects} subjects"));
        }
        if homes as usize > slots || slots <= len as usize || homes == 0 {
            return Err(format!(
                "{homes} home slots and {slots} slots cannot hold {len} identifiers"
            ));
        }
        Ok(IdIndex { bytes, homes, len })
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn slots(&self) -> &[u8] {
        &self.bytes.as_ref()[IDIX_HEADER..]
    }

    /// The ordinal of `key`. `id_of(ord)` gives the identifier subject `ord` carries (its
    /// row's first 18 bytes), against which a hash match is confirmed.
    #[inline]
    pub fn get<'a>(
        &self,
        key: &[u8; KEY_LEN],
        id_of: impl Fn(u32) -> Option<&'a [u8]>,
    ) -> Option<u32> {
        let h = hash(key);
        let slots = self.slots();
        let mut at = home(h, self.homes) * SLOT;
        while let Some(s) = slots.get(at..at + SLOT) {
            let (sh, ord) = (u32_at(s, 0), u32_at(s, 4));
            if ord == EMPTY || sh > h {
                return None;
            }
            if sh == h && id_of(ord) == Some(&key[..]) {
                return Some(ord);
            }
            at += SLOT;
        }
        None
    }

    /// Reads every slot: each subject's identifier is present exactly once, under its own
    /// hash, in hash order, and reachable from its home slot without crossing a free slot.
    pub fn verify<'a>(&self, id_of: impl Fn(u32) -> Option<&'a [u8]>) -> Result<(), String> {
        let mut seen = vec![0u64; (self.len as usize).div_ceil(64)];
        let (mut count, mut last_hash, mut last_free) = (0u32, 0u32, None::<usize>);
        for (i, s) in self.slots().chunks_exact(SLOT).enumerate() {
            let (h, ord) = (u32_at(s, 0), u32_at(s, 4));
            if ord == EMPTY {
                if h != 0 {
                    return Err(format!("free slot {i} has a hash"));
                }
                last_free = Some(i);
                continue;
            }
            let key: &[u8; KEY_LEN] = id_of(ord)
                .filter(|_| ord < self.len)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| format!("slot {i}: ordinal {ord} out of bounds"))?;
            if seen[ord as usize / 64] & (1 << (ord % 64)) != 0 {
                return Err(format!("slot {i}: ordinal {ord} appears twice"));
            }
            seen[ord as usize / 64] |= 1 << (ord % 64);
            if hash(key) != h {
                return Err(format!(
                    "slot {i}: hash {h:08x} is not that of subject {ord}'s identifier"
                ));
            }
            let home = home(h, self.homes);
            if h < last_hash || home > i || last_free.is_some_and(|f| f >= home) {
                return Err(format!(
                    "slot {i}: subject {ord} is out of hash order or not reachable from its home slot {home}"
                ));
            }
            last_hash = h;
            count += 1;
        }
        if last_free.is_none_or(|f| f + 1 != self.slots().len() / SLOT) {
            return Err("the last slot is not free".into());
        }
        if count != self.len {
            return Err(format!("{count} slots in use for {} identifiers", self.len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is part of the format (FORMAT.md gives the formula; these values were also
    /// computed from that text independently): they must never change.
    #[test]
    fn the_hash_is_pinned() {
        assert_eq!(hash(b"91110000600037341L"), 0x5709_ebdd);
        assert_eq!(hash(b"410102196804120211"), 0x24f8_c780);
        assert_eq!(hash(b"000000000000000000"), 0x3ea8_7227);
    }

    #[test]
    fn home_slots_follow_hash_order_and_stay_in_range() {
        for homes in [1u32, 2, 7, 1000, u32::MAX] {
            assert_eq!(home(0, homes), 0);
            assert!(home(u32::MAX, homes) < homes as usize);
            assert!(home(1 << 31, homes) <= home((1 << 31) + 1, homes));
        }
        assert_eq!(home_count(0), 1);
        assert!(home_count(1_000_000) as f64 * 0.8 >= 1_000_000.0);
    }
}
