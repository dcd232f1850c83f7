//! The items the build passes sort and spill, each with the order its pass needs.
//!
//! `seq` is a row's arrival number (file order, then line order). Every order ends in it or
//! in a key that is unique without it, so sorting is total and the same sequence comes out
//! whether a sorter spilled or not.

use std::cmp::Ordering;

use super::codec::{
    put_i32, put_id, put_key_bytes, put_key_str, put_str, put_u16, put_u32, put_u64, Codec, Dec,
};
use super::views::{EventView, ListView};

/// An identifier as two big-endian integers: compares like the bytes, without a `memcmp`
/// call per comparison (sorting compares identifiers hundreds of millions of times).
#[inline]
pub(crate) fn id_key(id: &[u8; 18]) -> (u128, u16) {
    (
        u128::from_be_bytes(id[..16].try_into().expect("16 bytes")),
        u16::from_be_bytes([id[16], id[17]]),
    )
}

/// Implements `Ord` (and `PartialOrd`) through a key function.
macro_rules! ord_by {
    ($t:ty, |$s:ident| $key:expr) => {
        impl Ord for $t {
            #[inline]
            fn cmp(&self, other: &Self) -> Ordering {
                let key = |$s: &$t| $key;
                key(self).cmp(&key(other))
            }
        }
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
    };
}

/// A list row as read, with its dates in table form (`opt_high`/`opt_low`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListRec {
    pub file: u16,
    pub line: u64,
    pub record_id: String,
    pub list: u16,
    pub subject_type: u8,
    pub subject_id: [u8; 18],
    pub nonconforming: bool,
    pub subject_name: String,
    pub authority: String,
    pub doc_no: String,
    pub reason: String,
    pub decided_on: i32,
    pub effective_from: i32,
    pub effective_until: i32,
    pub act_ended_on: i32,
    /// Set once retention is applied: when the record is erased ([`NONE_HIGH`] never).
    ///
    /// [`NONE_HIGH`]: crate::format::layout::NONE_HIGH
    pub erase_on: i32,
}

impl ListRec {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.file);
        put_u64(out, self.line);
        put_str(out, &self.record_id);
        put_u16(out, self.list);
        out.push(self.subject_type);
        out.extend_from_slice(&self.subject_id);
        out.push(self.nonconforming as u8);
        put_str(out, &self.subject_name);
        put_str(out, &self.authority);
        put_str(out, &self.doc_no);
        put_str(out, &self.reason);
        for v in [
            self.decided_on,
            self.effective_from,
            self.effective_until,
            self.act_ended_on,
            self.erase_on,
        ] {
            put_i32(out, v);
        }
    }

    fn decode(d: &mut Dec<'_>) -> ListRec {
        ListView::read(d).to_owned(d)
    }
}

/// A repair or an objection, as an event row to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventRec {
    pub file: u16,
    pub line: u64,
    pub record_id: String,
    pub kind: u8,
    pub outcome: u8,
    pub date: i32,
    pub closed_on: i32,
    pub authority: String,
    pub doc_no: String,
}

impl EventRec {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.file);
        put_u64(out, self.line);
        put_str(out, &self.record_id);
        out.push(self.kind);
        out.push(self.outcome);
        put_i32(out, self.date);
        put_i32(out, self.closed_on);
        put_str(out, &self.authority);
        put_str(out, &self.doc_no);
    }

    fn decode(d: &mut Dec<'_>) -> EventRec {
        EventView::read(d).to_owned(d)
    }
}

/// A list row or an event, as pass 3 groups them by record id.
#[derive(Clone, Debug, PartialEq, Eq)]
///
/// Boxed: groups then move a pointer, not a 170-byte row.
pub(crate) enum Row {
    List(Box<ListRec>),
    Event(Box<EventRec>),
}

fn encode_row(seq: u64, row: &Row, out: &mut Vec<u8>) {
    put_u64(out, seq);
    match row {
        Row::List(r) => {
            out.push(0);
            r.encode(out);
        }
        Row::Event(e) => {
            out.push(1);
            e.encode(out);
        }
    }
}

fn decode_row(d: &mut Dec<'_>) -> (u64, Row) {
    let seq = d.u64();
    let row = match d.u8() {
        0 => Row::List(Box::new(ListRec::decode(d))),
        _ => Row::Event(Box::new(EventRec::decode(d))),
    };
    (seq, row)
}

/// One place a subject id appears: a list row (slot 0), a link's org (1) or person (2).
/// Sorted by id, then arrival: pass 1 sees whether an id's mentions agree on its type (an
/// id whose mentions disagree is settled by `contested`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mention {
    pub id: [u8; 18],
    pub seq: u64,
    pub slot: u8,
    pub subject_type: u8,
    pub nonconforming: bool,
}

ord_by!(Mention, |m| (
    id_key(&m.id),
    m.seq,
    m.slot,
    m.subject_type,
    m.nonconforming
));

impl Mention {
    /// Where the arrival number lies in the encoding.
    pub(crate) const SEQ_AT: usize = 18;
}

impl Codec for Mention {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        put_u64(out, self.seq);
        out.extend_from_slice(&[self.slot, self.subject_type, self.nonconforming as u8]);
    }
    fn decode(d: &mut Dec<'_>) -> Mention {
        Mention {
            id: d.id(),
            seq: d.u64(),
            slot: d.u8(),
            subject_type: d.u8(),
            nonconforming: d.u8() != 0,
        }
    }
}

/// A subject in identifier order: its index in that order is its ordinal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subject {
    pub id: [u8; 18],
    pub subject_type: u8,
    pub nonconforming: bool,
    /// The rows that name the subject with its type (list rows, and links on either side),
    /// as pass 1 counts them: some may be rejected later (see `support`).
    pub support: u32,
}

ord_by!(Subject, |s| (
    id_key(&s.id),
    s.subject_type,
    s.nonconforming,
    s.support
));

impl Codec for Subject {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&[self.subject_type, self.nonconforming as u8]);
        put_u32(out, self.support);
    }
    fn decode(d: &mut Dec<'_>) -> Subject {
        Subject {
            id: d.id(),
            subject_type: d.u8(),
            nonconforming: d.u8() != 0,
            support: d.u32(),
        }
    }
}

/// A list row or an event, keyed by record id then arrival: each group is one record id's
/// copies and the events naming it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ByRecordId {
    pub seq: u64,
    /// For list rows: erased by retention at build time.
    pub erased: bool,
    pub row: Row,
}

impl ByRecordId {
    pub(crate) fn record_id(&self) -> &str {
        match &self.row {
            Row::List(r) => &r.record_id,
            Row::Event(e) => &e.record_id,
        }
    }
}

impl Ord for ByRecordId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.record_id()
            .cmp(other.record_id())
            .then(self.seq.cmp(&other.seq))
    }
}
impl PartialOrd for ByRecordId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl ByRecordId {
    /// Encodes the item and returns where its arrival number lies in the encoding: at
    /// that offset and [`ByRecordId::SEQ_AGAIN`] bytes after it, so a reader thread can
    /// encode a row before its number is known and the collector write the number in.
    pub(crate) fn encode_at(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        put_key_str(out, self.record_id());
        let at = out.len() - start;
        put_u64(out, self.seq);
        out.push(self.erased as u8);
        encode_row(self.seq, &self.row, out);
        at
    }

    /// The second copy of the arrival number, after the first one and the `erased` byte.
    pub(crate) const SEQ_AGAIN: usize = 9;
}

impl Codec for ByRecordId {
    fn encode(&self, out: &mut Vec<u8>) {
        self.encode_at(out);
    }
    fn decode(d: &mut Dec<'_>) -> ByRecordId {
        d.skip_key_str();
        d.u64();
        let erased = d.u8() != 0;
        let (seq, row) = decode_row(d);
        ByRecordId { seq, erased, row }
    }
}

/// A live record in table order: subject id (so ordinal), effective_from, record id.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LiveRecord(pub Box<ListRec>);

impl LiveRecord {
    fn key(&self) -> (&[u8; 18], i32, &str) {
        (&self.0.subject_id, self.0.effective_from, &self.0.record_id)
    }
}

impl Ord for LiveRecord {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
impl PartialOrd for LiveRecord {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Codec for LiveRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        put_id(out, &self.0.subject_id);
        put_i32(out, self.0.effective_from);
        put_key_str(out, &self.0.record_id);
        self.0.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> LiveRecord {
        d.id();
        d.i32();
        d.skip_key_str();
        LiveRecord(Box::new(ListRec::decode(d)))
    }
}

/// An event of a live record, in the order of its record, then date, kind and arrival.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LiveEvent {
    pub subject_id: [u8; 18],
    pub effective_from: i32,
    pub seq: u64,
    pub ev: EventRec,
}

impl LiveEvent {
    fn key(&self) -> ((u128, u16), i32, &str, i32, u8, u64) {
        (
            id_key(&self.subject_id),
            self.effective_from,
            &self.ev.record_id,
            self.ev.date,
            self.ev.kind,
            self.seq,
        )
    }
}

impl Ord for LiveEvent {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
impl PartialOrd for LiveEvent {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Codec for LiveEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        put_id(out, &self.subject_id);
        put_i32(out, self.effective_from);
        put_key_str(out, &self.ev.record_id);
        put_i32(out, self.ev.date);
        out.push(self.ev.kind);
        put_u64(out, self.seq);
        self.ev.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> LiveEvent {
        let subject_id = d.id();
        let effective_from = d.i32();
        d.skip_key_str();
        d.i32();
        d.u8();
        LiveEvent {
            subject_id,
            effective_from,
            seq: d.u64(),
            ev: EventRec::decode(d),
        }
    }
}

/// A name offered for a subject: by a record (`decided_on`, the newest wins, later arrival
/// on ties; a record whose copies differ offers none) or by a link (the first wins, and only
/// when no record names the subject).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameOffer {
    pub id: [u8; 18],
    pub decided_on: i32,
    pub seq: u64,
    pub name: String,
}

impl Ord for NameOffer {
    fn cmp(&self, other: &Self) -> Ordering {
        let key = |n: &NameOffer| (id_key(&n.id), n.decided_on, n.seq);
        key(self)
            .cmp(&key(other))
            .then_with(|| self.name.cmp(&other.name))
    }
}
impl PartialOrd for NameOffer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl NameOffer {
    /// Where the arrival number lies in the encoding.
    pub(crate) const SEQ_AT: usize = 22;

    /// The encoding of an offer, from its parts (the name borrowed, as bytes: pass 3
    /// copies it from a frame unchecked; pass 5 checks it).
    pub(crate) fn encode_parts(
        id: &[u8; 18],
        decided_on: i32,
        seq: u64,
        name: &[u8],
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(id);
        put_i32(out, decided_on);
        put_u64(out, seq);
        put_key_bytes(out, name);
    }
}

impl Codec for NameOffer {
    fn encode(&self, out: &mut Vec<u8>) {
        NameOffer::encode_parts(
            &self.id,
            self.decided_on,
            self.seq,
            self.name.as_bytes(),
            out,
        );
    }
    fn decode(d: &mut Dec<'_>) -> NameOffer {
        NameOffer {
            id: d.id(),
            decided_on: d.i32(),
            seq: d.u64(),
            name: d.key_str(),
        }
    }
}

/// A link row as read, keyed by its org id then its person id, for the org's ordinal;
/// then it goes on as a [`PersonLink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LinkKey {
    pub org: [u8; 18],
    pub person: [u8; 18],
    pub terms: LinkTerms,
    /// Where the link row is, for its reject if it turns out to be in a type conflict (not
    /// part of the order: `seq` already makes every key unique).
    pub file: u16,
    pub line: u64,
}

ord_by!(LinkKey, |l| (
    id_key(&l.org),
    id_key(&l.person),
    l.terms,
    l.file,
    l.line
));

/// What every sort of a link carries after its two ends, in this order: role, dates and
/// arrival number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LinkTerms {
    pub role: u8,
    pub from: i32,
    pub until: i32,
    pub seq: u64,
}

impl LinkTerms {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.role);
        put_i32(out, self.from);
        put_i32(out, self.until);
        put_u64(out, self.seq);
    }
    fn decode(d: &mut Dec<'_>) -> LinkTerms {
        LinkTerms {
            role: d.u8(),
            from: d.i32(),
            until: d.i32(),
            seq: d.u64(),
        }
    }
}

impl LinkKey {
    /// Where the arrival number lies in the encoding.
    pub(crate) const SEQ_AT: usize = 45;
}

impl Codec for LinkKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.org);
        out.extend_from_slice(&self.person);
        self.terms.encode(out);
        put_u16(out, self.file);
        put_u64(out, self.line);
    }
    fn decode(d: &mut Dec<'_>) -> LinkKey {
        LinkKey {
            org: d.id(),
            person: d.id(),
            terms: LinkTerms::decode(d),
            file: d.u16(),
            line: d.u64(),
        }
    }
}

/// A link once its org is a subject ordinal, keyed by its person's id for the person's
/// ordinal (pass 4). The row's place is not carried: a link that can be in a type conflict
/// (one naming a contested identifier) is set aside before (see `contested`). 39 bytes
/// where a [`LinkKey`] took 63.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PersonLink {
    pub person: [u8; 18],
    pub org: u32,
    pub terms: LinkTerms,
}

ord_by!(PersonLink, |l| (id_key(&l.person), l.org, l.terms));

impl Codec for PersonLink {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.person);
        put_u32(out, self.org);
        self.terms.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> PersonLink {
        PersonLink {
            person: d.id(),
            org: d.u32(),
            terms: LinkTerms::decode(d),
        }
    }
}

/// A link once both its ends are subject ordinals: the two link tables' order (this
/// subject's ordinal, the other's, then the link). It carries what the tables need and the
/// arrival number that makes the order total; the row's place went with the rejects of
/// pass 4. Encoded in 25 bytes where a [`LinkKey`] with ordinals in its id fields took 63,
/// and two of these are sorted for every link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OrdLink {
    pub this: u32,
    pub other: u32,
    pub terms: LinkTerms,
}

ord_by!(OrdLink, |l| (l.this, l.other, l.terms));

impl Codec for OrdLink {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.this);
        put_u32(out, self.other);
        self.terms.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> OrdLink {
        OrdLink {
            this: d.u32(),
            other: d.u32(),
            terms: LinkTerms::decode(d),
        }
    }
}

/// An ids.idx entry (hash above ordinal), sorted as the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IdixEntry(pub u64);

impl Codec for IdixEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.0);
    }
    fn decode(d: &mut Dec<'_>) -> IdixEntry {
        IdixEntry(d.u64())
    }
}

/// A normalised name and a subject ordinal, for the names index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameEntry {
    pub name: String,
    pub ord: u32,
}

/// The first eight bytes of a string, zero-padded, big-endian: a strictly smaller prefix
/// means a smaller string, so most comparisons never reach the bytes.
#[inline]
fn prefix8(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut p = [0u8; 8];
    let n = b.len().min(8);
    p[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(p)
}

impl Ord for NameEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        prefix8(&self.name)
            .cmp(&prefix8(&other.name))
            .then_with(|| self.name.cmp(&other.name))
            .then(self.ord.cmp(&other.ord))
    }
}
impl PartialOrd for NameEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl NameEntry {
    /// The encoding of an entry, from its parts (the name borrowed).
    pub(crate) fn encode_parts(name: &str, ord: u32, out: &mut Vec<u8>) {
        put_key_str(out, name);
        put_u32(out, ord);
    }
}

impl Codec for NameEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        NameEntry::encode_parts(&self.name, self.ord, out);
    }
    fn decode(d: &mut Dec<'_>) -> NameEntry {
        NameEntry {
            name: d.key_str(),
            ord: d.u32(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded generator over small domains, so equal keys and shared prefixes are common.
    struct Gen(u64);

    impl Gen {
        fn pick<T: Clone>(&mut self, from: &[T]) -> T {
            crate::build::lcg(&mut self.0);
            from[(self.0 >> 33) as usize % from.len()].clone()
        }
        fn id(&mut self) -> [u8; 18] {
            // Ids that differ only past the first 16 bytes, and ones that differ early.
            let mut id = *b"91110000600037341L";
            id[17] = self.pick(b"0LX");
            id[16] = self.pick(b"14");
            id[2] = self.pick(b"19");
            id
        }
        fn text(&mut self) -> String {
            self.pick(&[
                "",
                "\0",
                "a",
                "a\0",
                "ab",
                "ZX2016000000051",
                "ZX20160000000512",
                "张三",
            ])
            .to_string()
        }
        fn int(&mut self) -> i32 {
            self.pick(&[i32::MIN, -3, 0, 7, 19_000, i32::MAX])
        }
        fn terms(&mut self, seqs: &[u64]) -> LinkTerms {
            LinkTerms {
                role: self.pick(&[0, 3]),
                from: self.int(),
                until: self.int(),
                seq: self.pick(seqs),
            }
        }
        fn list(&mut self) -> ListRec {
            ListRec {
                file: self.pick(&[0, 3]),
                line: self.pick(&[2, 300]),
                record_id: self.text(),
                list: self.pick(&[0, 5]),
                subject_type: self.pick(&[0, 1]),
                subject_id: self.id(),
                nonconforming: self.pick(&[false, true]),
                subject_name: self.text(),
                authority: self.text(),
                doc_no: self.text(),
                reason: self.text(),
                decided_on: self.int(),
                effective_from: self.int(),
                effective_until: self.int(),
                act_ended_on: self.int(),
                erase_on: self.int(),
            }
        }
        fn event(&mut self) -> EventRec {
            EventRec {
                file: self.pick(&[0, 3]),
                line: self.pick(&[2, 300]),
                record_id: self.text(),
                kind: self.pick(&[0, 2]),
                outcome: self.pick(&[0, 1]),
                date: self.int(),
                closed_on: self.int(),
                authority: self.text(),
                doc_no: self.text(),
            }
        }
    }

    /// Encodings compare as the items do, and decode back to the items.
    fn agree<T: Codec + Ord + std::fmt::Debug>(items: Vec<T>) {
        let enc = |t: &T| {
            let mut out = Vec::new();
            t.encode(&mut out);
            out
        };
        for a in &items {
            let ea = enc(a);
            assert_eq!(&T::decode(&mut Dec::new(&ea)), a);
            for b in &items {
                // Items equal in their order are never both pushed in a build (the order
                // ends in the arrival number, or in a record id that is unique there);
                // their encodings may still differ past the key.
                let want = a.cmp(b);
                if want != std::cmp::Ordering::Equal {
                    assert_eq!(ea.cmp(&enc(b)), want, "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn encodings_sort_like_the_items() {
        let mut g = Gen(7);
        let seqs = [1u64, 2, 1 << 40];
        agree(
            (0..60)
                .map(|_| Mention {
                    id: g.id(),
                    seq: g.pick(&seqs),
                    slot: g.pick(&[0, 2]),
                    subject_type: g.pick(&[0, 1]),
                    nonconforming: g.pick(&[false, true]),
                })
                .collect(),
        );
        agree(
            [0, 1, 1 << 32, (1 << 32) + 5, u64::MAX]
                .map(IdixEntry)
                .to_vec(),
        );
        agree(
            (0..60)
                .map(|_| LinkKey {
                    org: g.id(),
                    person: g.id(),
                    terms: g.terms(&seqs),
                    file: g.pick(&[0, 9]),
                    line: g.pick(&[2, 1 << 33]),
                })
                .collect(),
        );
        let ords = [0, 1, 255, 256, 70_000, u32::MAX];
        agree(
            (0..60)
                .map(|_| PersonLink {
                    person: g.id(),
                    org: g.pick(&ords),
                    terms: g.terms(&seqs),
                })
                .collect(),
        );
        agree(
            (0..60)
                .map(|_| OrdLink {
                    this: g.pick(&ords),
                    other: g.pick(&ords),
                    terms: g.terms(&seqs),
                })
                .collect(),
        );
        agree(
            (0..60)
                .map(|_| NameOffer {
                    id: g.id(),
                    decided_on: g.int(),
                    seq: g.pick(&seqs),
                    name: g.text(),
                })
                .collect(),
        );
        agree(
            (0..60)
                .map(|_| NameEntry {
                    name: g.text(),
                    ord: g.pick(&[0, 1, u32::MAX]),
                })
                .collect(),
        );
        agree((0..80).map(|_| LiveRecord(Box::new(g.list()))).collect());
        agree(
            (0..80)
                .map(|_| LiveEvent {
                    subject_id: g.id(),
                    effective_from: g.int(),
                    seq: g.pick(&seqs),
                    ev: g.event(),
                })
                .collect(),
        );
        agree(
            (0..80)
                .map(|_| {
                    let row = if g.pick(&[false, true]) {
                        Row::List(Box::new(g.list()))
                    } else {
                        Row::Event(Box::new(g.event()))
                    };
                    ByRecordId {
                        seq: g.pick(&seqs),
                        erased: g.pick(&[false, true]),
                        row,
                    }
                })
                .collect(),
        );
    }
}
