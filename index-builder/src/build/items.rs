//! The items the build passes sort and spill, each with the order its pass needs.
//!
//! `seq` is a row's arrival number (file order, then line order). Every order ends in it or
//! in a key that is unique without it, so sorting is total and the same sequence comes out
//! whether a sorter spilled or not.

use std::cmp::Ordering;

use super::spill::{alloc, put_i32, put_str, put_u16, put_u32, put_u64, Codec, Dec};

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
        ListRec {
            file: d.u16(),
            line: d.u64(),
            record_id: d.string(),
            list: d.u16(),
            subject_type: d.u8(),
            subject_id: d.id(),
            nonconforming: d.u8() != 0,
            subject_name: d.string(),
            authority: d.string(),
            doc_no: d.string(),
            reason: d.string(),
            decided_on: d.i32(),
            effective_from: d.i32(),
            effective_until: d.i32(),
            act_ended_on: d.i32(),
            erase_on: d.i32(),
        }
    }

    fn heap_bytes(&self) -> usize {
        alloc(self.record_id.len())
            + alloc(self.subject_name.len())
            + alloc(self.authority.len())
            + alloc(self.doc_no.len())
            + alloc(self.reason.len())
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
        EventRec {
            file: d.u16(),
            line: d.u64(),
            record_id: d.string(),
            kind: d.u8(),
            outcome: d.u8(),
            date: d.i32(),
            closed_on: d.i32(),
            authority: d.string(),
            doc_no: d.string(),
        }
    }

    fn heap_bytes(&self) -> usize {
        alloc(self.record_id.len()) + alloc(self.authority.len()) + alloc(self.doc_no.len())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkRec {
    pub file: u16,
    pub line: u64,
    pub org_id: [u8; 18],
    pub person_id: [u8; 18],
    pub person_name: String,
    pub role: u8,
    pub from: i32,
    pub until: i32,
}

/// Any accepted source row, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
///
/// Boxed: sorts then move a pointer, not a 170-byte row.
pub(crate) enum Row {
    List(Box<ListRec>),
    Event(Box<EventRec>),
    Link(Box<LinkRec>),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Arrived {
    pub seq: u64,
    pub row: Row,
}

impl Ord for Arrived {
    fn cmp(&self, other: &Self) -> Ordering {
        self.seq.cmp(&other.seq)
    }
}
impl PartialOrd for Arrived {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Codec for Arrived {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_row(self.seq, &self.row, out);
    }

    fn decode(d: &mut Dec<'_>) -> Arrived {
        decode_row(d)
    }

    fn heap_bytes(&self) -> usize {
        row_heap_bytes(&self.row)
    }
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
        Row::Link(l) => {
            out.push(2);
            put_u16(out, l.file);
            put_u64(out, l.line);
            out.extend_from_slice(&l.org_id);
            out.extend_from_slice(&l.person_id);
            put_str(out, &l.person_name);
            out.push(l.role);
            put_i32(out, l.from);
            put_i32(out, l.until);
        }
    }
}

fn decode_row(d: &mut Dec<'_>) -> Arrived {
    let seq = d.u64();
    let row = match d.u8() {
        0 => Row::List(Box::new(ListRec::decode(d))),
        1 => Row::Event(Box::new(EventRec::decode(d))),
        _ => Row::Link(Box::new(LinkRec {
            file: d.u16(),
            line: d.u64(),
            org_id: d.id(),
            person_id: d.id(),
            person_name: d.string(),
            role: d.u8(),
            from: d.i32(),
            until: d.i32(),
        })),
    };
    Arrived { seq, row }
}

fn row_heap_bytes(row: &Row) -> usize {
    match row {
        Row::List(r) => alloc(std::mem::size_of::<ListRec>()) + r.heap_bytes(),
        Row::Event(e) => alloc(std::mem::size_of::<EventRec>()) + e.heap_bytes(),
        Row::Link(l) => alloc(std::mem::size_of::<LinkRec>()) + alloc(l.person_name.len()),
    }
}

/// One place a subject id appears: a list row (slot 0), a link's org (1) or person (2).
/// Sorted by id, then arrival: the first mention of an id fixes its type.
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

/// A mention whose type disagrees with the subject's: `known` is the type the first
/// mention fixed. Sorted by arrival, to be joined back to the rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Conflict {
    pub seq: u64,
    pub slot: u8,
    pub known: u8,
}

impl Codec for Conflict {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.seq);
        out.extend_from_slice(&[self.slot, self.known]);
    }
    fn decode(d: &mut Dec<'_>) -> Conflict {
        Conflict {
            seq: d.u64(),
            slot: d.u8(),
            known: d.u8(),
        }
    }
}

/// A subject in identifier order: its index in that order is its ordinal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subject {
    pub id: [u8; 18],
    pub subject_type: u8,
    pub nonconforming: bool,
}

ord_by!(Subject, |s| (
    id_key(&s.id),
    s.subject_type,
    s.nonconforming
));

impl Codec for Subject {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&[self.subject_type, self.nonconforming as u8]);
    }
    fn decode(d: &mut Dec<'_>) -> Subject {
        Subject {
            id: d.id(),
            subject_type: d.u8(),
            nonconforming: d.u8() != 0,
        }
    }
}

/// A list row that passed the type check, or an event, keyed by record id then arrival:
/// each group is one record id's copies and the events naming it.
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
            Row::Link(_) => "",
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

impl Codec for ByRecordId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.erased as u8);
        encode_row(self.seq, &self.row, out);
    }
    fn decode(d: &mut Dec<'_>) -> ByRecordId {
        let erased = d.u8() != 0;
        let a = decode_row(d);
        ByRecordId {
            seq: a.seq,
            erased,
            row: a.row,
        }
    }
    fn heap_bytes(&self) -> usize {
        row_heap_bytes(&self.row)
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
        self.0.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> LiveRecord {
        LiveRecord(Box::new(ListRec::decode(d)))
    }
    fn heap_bytes(&self) -> usize {
        alloc(std::mem::size_of::<ListRec>()) + self.0.heap_bytes()
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

    /// Whether this event belongs to `r`.
    pub(crate) fn of(&self, r: &ListRec) -> bool {
        self.subject_id == r.subject_id
            && self.effective_from == r.effective_from
            && self.ev.record_id == r.record_id
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
        out.extend_from_slice(&self.subject_id);
        put_i32(out, self.effective_from);
        put_u64(out, self.seq);
        self.ev.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> LiveEvent {
        LiveEvent {
            subject_id: d.id(),
            effective_from: d.i32(),
            seq: d.u64(),
            ev: EventRec::decode(d),
        }
    }
    fn heap_bytes(&self) -> usize {
        self.ev.heap_bytes()
    }
}

/// A name offered for a subject: by a record (`decided_on`, the newest wins, later arrival
/// on ties) or by a link (the first wins, and only when no record names the subject).
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

impl Codec for NameOffer {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        put_i32(out, self.decided_on);
        put_u64(out, self.seq);
        put_str(out, &self.name);
    }
    fn decode(d: &mut Dec<'_>) -> NameOffer {
        NameOffer {
            id: d.id(),
            decided_on: d.i32(),
            seq: d.u64(),
            name: d.string(),
        }
    }
    fn heap_bytes(&self) -> usize {
        alloc(self.name.len())
    }
}

/// An accepted link, keyed by `a` (an id, or an ordinal in its first four bytes) then `b`,
/// so the same type carries a link through both ordinal lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LinkKey {
    pub a: [u8; 18],
    pub b: [u8; 18],
    pub role: u8,
    pub from: i32,
    pub until: i32,
    pub seq: u64,
}

ord_by!(LinkKey, |l| (
    id_key(&l.a),
    id_key(&l.b),
    l.role,
    l.from,
    l.until,
    l.seq
));

impl Codec for LinkKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.a);
        out.extend_from_slice(&self.b);
        out.push(self.role);
        put_i32(out, self.from);
        put_i32(out, self.until);
        put_u64(out, self.seq);
    }
    fn decode(d: &mut Dec<'_>) -> LinkKey {
        LinkKey {
            a: d.id(),
            b: d.id(),
            role: d.u8(),
            from: d.i32(),
            until: d.i32(),
            seq: d.u64(),
        }
    }
}

/// An ordinal as a key that sorts like the number.
pub(crate) fn ord_key(ord: u32) -> [u8; 18] {
    let mut k = [0u8; 18];
    k[..4].copy_from_slice(&ord.to_be_bytes());
    k
}

pub(crate) fn key_ord(k: &[u8; 18]) -> u32 {
    u32::from_be_bytes(k[..4].try_into().expect("4 bytes"))
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

impl Codec for NameEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, &self.name);
        put_u32(out, self.ord);
    }
    fn decode(d: &mut Dec<'_>) -> NameEntry {
        NameEntry {
            name: d.string(),
            ord: d.u32(),
        }
    }
    fn heap_bytes(&self) -> usize {
        alloc(self.name.len())
    }
}
