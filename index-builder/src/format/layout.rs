//! Byte layout of the fixed-width tables. This module is the single definition of where each
//! field lives; the writer encodes through it and the reader decodes through it.
//!
//! All integers are little-endian. Dates are `i32` days since 1970-01-01; "none" is
//! [`NONE_LOW`] for dates that bound from below and [`NONE_HIGH`] for dates that bound from
//! above, so that comparisons need no branch on presence. Strings are [`StrRef`]s into the
//! string heap.

use crate::date::Day;
use crate::format::{i32_at, u16_at, u32_at, u64_at};

/// "No date" for a lower bound (e.g. a link's `from`, a record's `act_ended_on`).
pub const NONE_LOW: i32 = i32::MIN;
/// "No date" for an upper bound (e.g. `effective_until`, an erase or stop date).
pub const NONE_HIGH: i32 = i32::MAX;

pub fn opt_low(d: Option<Day>) -> i32 {
    d.map_or(NONE_LOW, |d| d.0)
}

pub fn opt_high(d: Option<Day>) -> i32 {
    d.map_or(NONE_HIGH, |d| d.0)
}

pub fn low_opt(v: i32) -> Option<Day> {
    (v != NONE_LOW).then_some(Day(v))
}

pub fn high_opt(v: i32) -> Option<Day> {
    (v != NONE_HIGH).then_some(Day(v))
}

/// A string in the heap: length in the top 24 bits, offset in the low 40 bits.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StrRef(pub u64);

impl StrRef {
    pub const MAX_LEN: usize = (1 << 24) - 1;
    pub const MAX_OFFSET: u64 = (1 << 40) - 1;

    pub fn new(offset: u64, len: usize) -> StrRef {
        assert!(
            len <= Self::MAX_LEN && offset <= Self::MAX_OFFSET,
            "string heap limits exceeded"
        );
        StrRef(((len as u64) << 40) | offset)
    }

    pub fn offset(self) -> usize {
        (self.0 & Self::MAX_OFFSET) as usize
    }

    pub fn len(self) -> usize {
        (self.0 >> 40) as usize
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn end(self) -> usize {
        self.offset() + self.len()
    }
}

/// One subject (an organisation or a person), 48 bytes, in identifier order, so the
/// subject's ordinal is its index in the table and its rank in `ids.fst`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SubjectRow {
    pub id: [u8; 18],
    pub subject_type: u8,
    /// Bit 0: nonconforming USCC (fails only MOD 31).
    pub flags: u8,
    pub name: StrRef,
    pub rec_start: u32,
    pub rec_count: u32,
    /// For a person: range in `links_by_person`; for an organisation: in `links_by_org`.
    pub link_start: u32,
    pub link_count: u32,
    /// Bit per list class the subject has any record in (1 << Class::code()).
    pub class_mask: u8,
}

impl SubjectRow {
    pub const LEN: usize = 48;
    pub const NONCONFORMING: u8 = 1;

    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.id);
        out.push(self.subject_type);
        out.push(self.flags);
        out.extend_from_slice(&self.name.0.to_le_bytes());
        out.extend_from_slice(&self.rec_start.to_le_bytes());
        out.extend_from_slice(&self.rec_count.to_le_bytes());
        out.extend_from_slice(&self.link_start.to_le_bytes());
        out.extend_from_slice(&self.link_count.to_le_bytes());
        out.push(self.class_mask);
        out.resize(start + Self::LEN, 0);
    }

    pub fn decode(b: &[u8]) -> SubjectRow {
        SubjectRow {
            id: b[0..18].try_into().expect("18 bytes"),
            subject_type: b[18],
            flags: b[19],
            name: StrRef(u64_at(b, 20)),
            rec_start: u32_at(b, 28),
            rec_count: u32_at(b, 32),
            link_start: u32_at(b, 36),
            link_count: u32_at(b, 40),
            class_mask: b[44],
        }
    }
}

/// One list record, 80 bytes, grouped by subject (ordinal order), within a subject by
/// effective_from then record_id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RecordRow {
    pub record_id: StrRef,
    pub authority: StrRef,
    pub doc_no: StrRef,
    pub reason: StrRef,
    pub subject: u32,
    pub list: u16,
    pub decided_on: i32,
    pub effective_from: i32,
    /// Inclusive; [`NONE_HIGH`] when open-ended.
    pub effective_until: i32,
    /// [`NONE_LOW`] when not given.
    pub act_ended_on: i32,
    /// The first day the record no longer exists (personal retention); [`NONE_HIGH`] if never.
    pub erase_on: i32,
    /// The first day a repair, removal, revocation or a corrected/revoked objection ends
    /// the record's effect; [`NONE_HIGH`] if none. Derived from the events, kept here so the
    /// check path needs no event scan to decide activity.
    pub stop_on: i32,
    pub event_start: u32,
    pub event_count: u32,
    pub subject_name: StrRef,
}

impl RecordRow {
    pub const LEN: usize = 80;

    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        for s in [self.record_id, self.authority, self.doc_no, self.reason] {
            out.extend_from_slice(&s.0.to_le_bytes());
        }
        out.extend_from_slice(&self.subject.to_le_bytes());
        out.extend_from_slice(&self.list.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for d in [
            self.decided_on,
            self.effective_from,
            self.effective_until,
            self.act_ended_on,
            self.erase_on,
            self.stop_on,
        ] {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&self.event_start.to_le_bytes());
        out.extend_from_slice(&self.event_count.to_le_bytes());
        out.extend_from_slice(&self.subject_name.0.to_le_bytes());
        debug_assert_eq!(out.len() - start, Self::LEN);
    }

    pub fn decode(b: &[u8]) -> RecordRow {
        RecordRow {
            record_id: StrRef(u64_at(b, 0)),
            authority: StrRef(u64_at(b, 8)),
            doc_no: StrRef(u64_at(b, 16)),
            reason: StrRef(u64_at(b, 24)),
            subject: u32_at(b, 32),
            list: u16_at(b, 36),
            decided_on: i32_at(b, 40),
            effective_from: i32_at(b, 44),
            effective_until: i32_at(b, 48),
            act_ended_on: i32_at(b, 52),
            erase_on: i32_at(b, 56),
            stop_on: i32_at(b, 60),
            event_start: u32_at(b, 64),
            event_count: u32_at(b, 68),
            subject_name: StrRef(u64_at(b, 72)),
        }
    }
}

/// Event kinds in `events.tbl`: the repair actions keep their `RepairAction` codes (1–3).
pub const EVENT_OBJECTION: u8 = 10;

/// A repair/removal/revocation or an objection, 32 bytes, grouped by record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EventRow {
    /// `RepairAction::code()` or [`EVENT_OBJECTION`].
    pub kind: u8,
    /// For objections: 0 while open, else `Outcome::code()`.
    pub outcome: u8,
    pub record: u32,
    /// Repairs: decided_on. Objections: filed_on.
    pub date: i32,
    /// Objections: closed_on ([`NONE_HIGH`] while open). Repairs: [`NONE_HIGH`].
    pub closed_on: i32,
    pub authority: StrRef,
    pub doc_no: StrRef,
}

impl EventRow {
    pub const LEN: usize = 32;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind);
        out.push(self.outcome);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.record.to_le_bytes());
        out.extend_from_slice(&self.date.to_le_bytes());
        out.extend_from_slice(&self.closed_on.to_le_bytes());
        out.extend_from_slice(&self.authority.0.to_le_bytes());
        out.extend_from_slice(&self.doc_no.0.to_le_bytes());
    }

    pub fn decode(b: &[u8]) -> EventRow {
        EventRow {
            kind: b[0],
            outcome: b[1],
            record: u32_at(b, 4),
            date: i32_at(b, 8),
            closed_on: i32_at(b, 12),
            authority: StrRef(u64_at(b, 16)),
            doc_no: StrRef(u64_at(b, 24)),
        }
    }
}

/// A role a person holds in an organisation, 24 bytes. Stored twice: in `links_by_person`
/// (`this` = person, `other` = org) and in `links_by_org` (`this` = org, `other` = person).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LinkRow {
    pub this: u32,
    pub other: u32,
    pub role: u8,
    /// [`NONE_LOW`] when open at the start.
    pub from: i32,
    /// Inclusive; [`NONE_HIGH`] when still held.
    pub until: i32,
}

impl LinkRow {
    pub const LEN: usize = 24;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.this.to_le_bytes());
        out.extend_from_slice(&self.other.to_le_bytes());
        out.extend_from_slice(&[self.role, 0, 0, 0]);
        out.extend_from_slice(&self.from.to_le_bytes());
        out.extend_from_slice(&self.until.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
    }

    pub fn decode(b: &[u8]) -> LinkRow {
        LinkRow {
            this: u32_at(b, 0),
            other: u32_at(b, 4),
            role: b[8],
            from: i32_at(b, 12),
            until: i32_at(b, 16),
        }
    }
}

/// Names FST values: postings start (index into `names.post`, u32 entries) in the low 40
/// bits, count in the high 24.
pub fn posting_value(start: u64, count: u32) -> u64 {
    assert!(start < (1 << 40) && count < (1 << 24));
    ((count as u64) << 40) | start
}

pub fn posting_range(v: u64) -> (usize, usize) {
    let start = (v & ((1 << 40) - 1)) as usize;
    (start, start + (v >> 40) as usize)
}

/// Bitmap groups in `bitmaps.bin`.
pub const BITMAP_LIST: u8 = 1;
pub const BITMAP_CLASS: u8 = 2;
pub const BITMAP_DOMAIN: u8 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_at_their_width() {
        let s = SubjectRow {
            id: *b"91110000600037341L",
            subject_type: 1,
            flags: 1,
            name: StrRef::new(77, 12),
            rec_start: 5,
            rec_count: 2,
            link_start: 9,
            link_count: 3,
            class_mask: 0b1010,
        };
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(out.len(), SubjectRow::LEN);
        assert_eq!(SubjectRow::decode(&out), s);

        let r = RecordRow {
            record_id: StrRef::new(1, 2),
            authority: StrRef::new(3, 4),
            doc_no: StrRef::new(5, 6),
            reason: StrRef::new(7, 8),
            subject: 42,
            list: 3,
            decided_on: -5,
            effective_from: 100,
            effective_until: NONE_HIGH,
            act_ended_on: NONE_LOW,
            erase_on: 400,
            stop_on: 300,
            event_start: 7,
            event_count: 1,
            subject_name: StrRef::new(9, 10),
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out.len(), RecordRow::LEN);
        assert_eq!(RecordRow::decode(&out), r);

        let e = EventRow {
            kind: EVENT_OBJECTION,
            outcome: 2,
            record: 4,
            date: 10,
            closed_on: 12,
            authority: StrRef::new(0, 1),
            doc_no: StrRef::default(),
        };
        let mut out = Vec::new();
        e.encode(&mut out);
        assert_eq!(out.len(), EventRow::LEN);
        assert_eq!(EventRow::decode(&out), e);

        let l = LinkRow {
            this: 1,
            other: 2,
            role: 3,
            from: NONE_LOW,
            until: 99,
        };
        let mut out = Vec::new();
        l.encode(&mut out);
        assert_eq!(out.len(), LinkRow::LEN);
        assert_eq!(LinkRow::decode(&out), l);
    }

    #[test]
    fn str_refs_and_postings_pack() {
        let s = StrRef::new(StrRef::MAX_OFFSET, StrRef::MAX_LEN);
        assert_eq!(
            (s.offset() as u64, s.len()),
            (StrRef::MAX_OFFSET, StrRef::MAX_LEN)
        );
        assert_eq!(posting_range(posting_value(1000, 3)), (1000, 1003));
    }
}
