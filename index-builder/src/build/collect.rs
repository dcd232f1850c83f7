//! Pass 0: the rows as they are read, encoded for the sorters of the later passes.
//!
//! Encoding a row (its sort keys first, its fields after: see `codec`) needs nothing but
//! the row, so it runs on the reader threads ([`Encoder`]), beside the validation. The one
//! fact only the calling thread knows is the row's arrival number (file order, then line
//! order), which every item carries; the encoder leaves room for it and the [`Collector`],
//! which receives the batches in order, writes it in and copies the bytes into the sorters.
//! Before, the collector built and encoded every item itself, and that one thread bounded
//! the whole reading phase.

use std::io;

use super::checks::RecordInputs;
use super::codec::Codec;
use super::erase_day;
use super::items::{ByRecordId, EventRec, LinkKey, LinkTerms, ListRec, Mention, NameOffer, Row};
use super::rejects::Rejects;
use super::spill::{Sorter, SpillDir};
use crate::date::Day;
use crate::format::layout::{opt_high, opt_low, EVENT_OBJECTION, NONE_HIGH};
use crate::model::SubjectType;
use crate::source::{BatchSink, LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceSink};

/// Pass 0, on the calling thread: numbers the rows, which the reader threads have already
/// encoded ([`Encoder`]), and sorts them for passes 1 (mentions), 2 (list rows and events
/// by record id) and 4 (links and their names). Numbering needs file order and line order,
/// so it stays on one thread; all it does per row is write the number into the encodings
/// and copy them into the sorters.
pub(crate) struct Collector<'s> {
    seq: u64,
    pub(crate) mentions: Sorter<'s, Mention>,
    pub(crate) inputs: RecordInputs<'s>,
    /// Rows the reader rejected on their own, pushed in arrival order.
    pub(crate) rejects: Rejects<'s>,
    /// The first spill error; later rows are dropped and the build fails with it.
    pub(crate) error: Option<io::Error>,
}

impl<'s> Collector<'s> {
    pub(crate) fn new(spill: &'s SpillDir, rejects: Rejects<'s>) -> Collector<'s> {
        Collector {
            seq: 0,
            mentions: spill.sorter(),
            inputs: RecordInputs {
                by_record_id: spill.sorter(),
                links: spill.sorter(),
                link_names: spill.sorter(),
            },
            rejects,
            error: None,
        }
    }

    /// Takes one batch of a reader thread: numbers its rows in order and sorts them.
    pub(crate) fn consume(&mut self, batch: Encoded) {
        let Encoded {
            mut bytes,
            pieces,
            rejects,
            ..
        } = batch;
        if self.error.is_some() {
            return;
        }
        for r in rejects {
            if let Err(e) = self.rejects.read(r) {
                self.error = Some(e);
                return;
            }
        }
        let mut start = 0usize;
        for p in pieces {
            if p.new_row {
                self.seq += 1;
            }
            let end = start + p.len as usize;
            let item = &mut bytes[start..end];
            for at in p.seq_at {
                if at != NO_SEQ {
                    let at = at as usize;
                    item[at..at + 8].copy_from_slice(&self.seq.to_be_bytes());
                }
            }
            let result = match p.to {
                To::Mentions => self.mentions.push_encoded(item),
                To::ByRecordId => self.inputs.by_record_id.push_encoded(item),
                To::Links => self.inputs.links.push_encoded(item),
                To::LinkNames => self.inputs.link_names.push_encoded(item),
            };
            if let Err(e) = result {
                self.error = Some(e);
                return;
            }
            start = end;
        }
    }
}

/// Which sorter of pass 0 an encoded item goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum To {
    Mentions,
    ByRecordId,
    Links,
    LinkNames,
}

/// No arrival number at this place of a [`Piece`].
const NO_SEQ: u32 = u32::MAX;

/// One encoded item of a batch: its sorter, its length, and where the arrival number goes
/// (written as 0 by the encoder). `new_row` marks the first item of a row, which takes the
/// next arrival number; the row's other items share it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Piece {
    to: To,
    new_row: bool,
    len: u32,
    seq_at: [u32; 2],
}

/// A batch of rows encoded on a reader thread: the items' bytes back to back, one
/// [`Piece`] each, and the rows rejected on their own.
#[derive(Default)]
pub(crate) struct Encoded {
    bytes: Vec<u8>,
    pieces: Vec<Piece>,
    rejects: Vec<Reject>,
    rows: usize,
}

/// Pass 0, on a reader thread: turns each validated row into the encodings of its sorter
/// items, everything but the arrival number, which only the calling thread knows.
pub(crate) struct Encoder {
    today: Day,
    batch: Encoded,
}

impl Encoder {
    pub(crate) fn new(today: Day) -> Encoder {
        Encoder {
            today,
            batch: Encoded::default(),
        }
    }

    /// Encodes one item with `encode`, which returns where its arrival number lies.
    fn piece(&mut self, to: To, new_row: bool, encode: impl FnOnce(&mut Vec<u8>) -> [u32; 2]) {
        let start = self.batch.bytes.len();
        let seq_at = encode(&mut self.batch.bytes);
        let len = self.batch.bytes.len() - start;
        self.batch.pieces.push(Piece {
            to,
            new_row,
            len: len as u32,
            seq_at,
        });
    }

    fn mention(&mut self, new_row: bool, slot: u8, id: [u8; 18], t: SubjectType, nc: bool) {
        let m = Mention {
            id,
            seq: 0,
            slot,
            subject_type: t.code(),
            nonconforming: nc,
        };
        self.piece(To::Mentions, new_row, |out| {
            m.encode(out);
            [Mention::SEQ_AT as u32, NO_SEQ]
        });
    }

    fn by_record_id(&mut self, new_row: bool, item: ByRecordId) {
        self.piece(To::ByRecordId, new_row, |out| {
            let at = item.encode_at(out);
            [at as u32, (at + ByRecordId::SEQ_AGAIN) as u32]
        });
    }
}

impl BatchSink for Encoder {
    type Batch = Encoded;
    fn rows(&self) -> usize {
        self.batch.rows
    }
    fn take(&mut self) -> Encoded {
        std::mem::take(&mut self.batch)
    }
}

impl SourceSink for Encoder {
    fn list_row(&mut self, r: ListRow) {
        self.batch.rows += 1;
        let mut row = ListRec {
            file: r.file,
            line: r.line,
            record_id: r.record_id,
            list: r.list_code,
            subject_type: r.subject_type.code(),
            subject_id: r.subject_id,
            nonconforming: r.nonconforming,
            subject_name: r.subject_name,
            authority: r.authority,
            doc_no: r.doc_no,
            reason: r.reason,
            decided_on: r.decided_on.0,
            effective_from: r.effective_from.0,
            effective_until: opt_high(r.effective_until),
            act_ended_on: opt_low(r.act_ended_on),
            erase_on: NONE_HIGH,
        };
        // Retention needs nothing but the row and the build day, so it is applied here; a
        // row rejected later (type conflict, duplicate) is simply not counted as erased.
        let mut erased = false;
        if r.subject_type == SubjectType::Person {
            if let Some(ended) = r.act_ended_on {
                let erase = erase_day(ended);
                row.erase_on = erase.0;
                erased = erase <= self.today;
            }
        }
        self.mention(true, 0, r.subject_id, r.subject_type, r.nonconforming);
        let item = ByRecordId {
            seq: 0,
            erased,
            row: Row::List(Box::new(row)),
        };
        self.by_record_id(false, item);
    }

    fn repair(&mut self, r: RepairRow) {
        self.batch.rows += 1;
        let ev = EventRec {
            file: r.file,
            line: r.line,
            record_id: r.record_id,
            kind: r.action.code(),
            outcome: 0,
            date: r.decided_on.0,
            closed_on: NONE_HIGH,
            authority: r.authority,
            doc_no: r.doc_no,
        };
        self.by_record_id(true, event(0, ev));
    }

    fn objection(&mut self, r: ObjectionRow) {
        self.batch.rows += 1;
        let ev = EventRec {
            file: r.file,
            line: r.line,
            record_id: r.record_id,
            kind: EVENT_OBJECTION,
            outcome: r.outcome.map_or(0, |o| o.code()),
            date: r.filed_on.0,
            closed_on: opt_high(r.closed_on),
            authority: String::new(),
            doc_no: String::new(),
        };
        self.by_record_id(true, event(0, ev));
    }

    fn link(&mut self, r: LinkRow) {
        self.batch.rows += 1;
        // The org is looked up before the person, as the rows name them.
        self.mention(true, 1, r.org_id, SubjectType::Org, false);
        self.mention(false, 2, r.person_id, SubjectType::Person, false);
        let key = LinkKey {
            org: r.org_id,
            person: r.person_id,
            terms: LinkTerms {
                role: r.role.code(),
                from: opt_low(r.from),
                until: opt_high(r.until),
                seq: 0,
            },
            file: r.file,
            line: r.line,
        };
        self.piece(To::Links, false, |out| {
            key.encode(out);
            [LinkKey::SEQ_AT as u32, NO_SEQ]
        });
        if r.person_name.is_empty() {
            return;
        }
        let offer = NameOffer {
            id: r.person_id,
            decided_on: 0,
            seq: 0,
            name: r.person_name,
        };
        self.piece(To::LinkNames, false, |out| {
            offer.encode(out);
            [NameOffer::SEQ_AT as u32, NO_SEQ]
        });
    }

    fn reject(&mut self, reject: Reject) {
        self.batch.rows += 1;
        self.batch.rejects.push(reject);
    }
}

fn event(seq: u64, ev: EventRec) -> ByRecordId {
    ByRecordId {
        seq,
        erased: false,
        row: Row::Event(Box::new(ev)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outcome, RepairAction, Role};

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn list(
        line: u64,
        record_id: &str,
        t: SubjectType,
        id: &[u8; 18],
        ended: Option<Day>,
    ) -> ListRow {
        ListRow {
            file: 0,
            line,
            record_id: record_id.to_string(),
            list_code: 1,
            subject_type: t,
            subject_id: *id,
            nonconforming: line.is_multiple_of(2),
            subject_name: format!("名称{line}"),
            authority: "局".to_string(),
            doc_no: String::new(),
            reason: "reason\0with a NUL".to_string(),
            decided_on: day("2020-01-02"),
            effective_from: day("2020-01-03"),
            effective_until: line.is_multiple_of(3).then(|| day("2030-01-01")),
            act_ended_on: ended,
        }
    }

    /// What the collector pushed before the encoding moved to the reader threads: each item
    /// built with its arrival number and encoded by its `Codec`.
    fn pushed_directly(inputs: &mut RecordInputs<'_>, mentions: &mut Sorter<'_, Mention>) {
        let org = *b"91110000600037341L";
        let person = *b"110101199003074477";
        let today = day("2026-11-28");
        let rows = [
            list(2, "R1", SubjectType::Org, &org, None),
            list(
                3,
                "R2",
                SubjectType::Person,
                &person,
                Some(day("2010-05-01")),
            ),
            list(4, "", SubjectType::Person, &person, Some(day("2025-05-01"))),
        ];
        let mut seq = 0;
        for r in rows {
            seq += 1;
            mentions
                .push(Mention {
                    id: r.subject_id,
                    seq,
                    slot: 0,
                    subject_type: r.subject_type.code(),
                    nonconforming: r.nonconforming,
                })
                .unwrap();
            let mut rec = ListRec {
                file: r.file,
                line: r.line,
                record_id: r.record_id.clone(),
                list: r.list_code,
                subject_type: r.subject_type.code(),
                subject_id: r.subject_id,
                nonconforming: r.nonconforming,
                subject_name: r.subject_name.clone(),
                authority: r.authority.clone(),
                doc_no: r.doc_no.clone(),
                reason: r.reason.clone(),
                decided_on: r.decided_on.0,
                effective_from: r.effective_from.0,
                effective_until: opt_high(r.effective_until),
                act_ended_on: opt_low(r.act_ended_on),
                erase_on: NONE_HIGH,
            };
            let mut erased = false;
            if let (SubjectType::Person, Some(e)) = (r.subject_type, r.act_ended_on) {
                rec.erase_on = erase_day(e).0;
                erased = Day(rec.erase_on) <= today;
            }
            let row = Row::List(Box::new(rec));
            inputs
                .by_record_id
                .push(ByRecordId { seq, erased, row })
                .unwrap();
        }
        seq += 1;
        let repair = EventRec {
            file: 1,
            line: 2,
            record_id: "R1".into(),
            kind: RepairAction::Removal.code(),
            outcome: 0,
            date: day("2021-01-01").0,
            closed_on: NONE_HIGH,
            authority: "局".into(),
            doc_no: "号".into(),
        };
        inputs.by_record_id.push(event(seq, repair)).unwrap();
        seq += 1;
        let objection = EventRec {
            file: 2,
            line: 2,
            record_id: "R2".into(),
            kind: EVENT_OBJECTION,
            outcome: Outcome::Revoked.code(),
            date: day("2021-01-01").0,
            closed_on: day("2021-02-01").0,
            authority: String::new(),
            doc_no: String::new(),
        };
        inputs.by_record_id.push(event(seq, objection)).unwrap();
        for (line, name) in [(2, "张三"), (3, "")] {
            seq += 1;
            for (slot, id, t) in [(1, org, SubjectType::Org), (2, person, SubjectType::Person)] {
                let m = Mention {
                    id,
                    seq,
                    slot,
                    subject_type: t.code(),
                    nonconforming: false,
                };
                mentions.push(m).unwrap();
            }
            let key = LinkKey {
                org,
                person,
                terms: LinkTerms {
                    role: Role::LegalRep.code(),
                    from: opt_low(Some(day("2019-01-01"))),
                    until: opt_high(None),
                    seq,
                },
                file: 3,
                line,
            };
            inputs.links.push(key).unwrap();
            if !name.is_empty() {
                let offer = NameOffer {
                    id: person,
                    decided_on: 0,
                    seq,
                    name: name.into(),
                };
                inputs.link_names.push(offer).unwrap();
            }
        }
    }

    /// The same rows through the reader-thread encoder and the collector.
    fn through_the_encoder(collector: &mut Collector<'_>) {
        let org = *b"91110000600037341L";
        let person = *b"110101199003074477";
        let mut enc = Encoder::new(day("2026-11-28"));
        enc.list_row(list(2, "R1", SubjectType::Org, &org, None));
        enc.list_row(list(
            3,
            "R2",
            SubjectType::Person,
            &person,
            Some(day("2010-05-01")),
        ));
        // A reject between rows takes no arrival number.
        enc.reject(Reject {
            file: "lists/a.csv".into(),
            line: 4,
            record_id: "X".into(),
            reason: "bad".into(),
        });
        // Batches split anywhere: the numbering carries over.
        collector.consume(enc.take());
        enc.list_row(list(
            4,
            "",
            SubjectType::Person,
            &person,
            Some(day("2025-05-01")),
        ));
        enc.repair(RepairRow {
            file: 1,
            line: 2,
            record_id: "R1".into(),
            action: RepairAction::Removal,
            decided_on: day("2021-01-01"),
            authority: "局".into(),
            doc_no: "号".into(),
        });
        enc.objection(ObjectionRow {
            file: 2,
            line: 2,
            record_id: "R2".into(),
            filed_on: day("2021-01-01"),
            closed_on: Some(day("2021-02-01")),
            outcome: Some(Outcome::Revoked),
        });
        for (line, name) in [(2, "张三"), (3, "")] {
            enc.link(LinkRow {
                file: 3,
                line,
                org_id: org,
                person_id: person,
                person_name: name.into(),
                role: Role::LegalRep,
                from: Some(day("2019-01-01")),
                until: None,
            });
        }
        assert_eq!(enc.rows(), 5);
        collector.consume(enc.take());
    }

    fn frames<T: Codec>(s: Sorter<'_, T>) -> Vec<Vec<u8>> {
        let mut out = s.finish().unwrap().0;
        let mut got = Vec::new();
        while let Some(f) = out.next_frame().unwrap() {
            got.push(f.to_vec());
        }
        got
    }

    #[test]
    fn items_encoded_on_reader_threads_equal_items_encoded_by_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(dir.path().join("spill"), 1 << 20).unwrap();
        let mut want = Collector::new(&spill, Rejects::new(&spill));
        pushed_directly(&mut want.inputs, &mut want.mentions);
        let mut got = Collector::new(&spill, Rejects::new(&spill));
        through_the_encoder(&mut got);
        assert!(got.error.is_none());
        assert_eq!(got.rejects.pushed(), 1);
        assert_eq!(got.seq, 7);
        let want_mentions = frames(want.mentions);
        assert_eq!(want_mentions.len(), 7);
        assert_eq!(frames(got.mentions), want_mentions);
        let want_rows = frames(want.inputs.by_record_id);
        assert_eq!(want_rows.len(), 5);
        assert_eq!(frames(got.inputs.by_record_id), want_rows);
        assert_eq!(frames(got.inputs.links), frames(want.inputs.links));
        let want_names = frames(want.inputs.link_names);
        assert_eq!(want_names.len(), 1);
        assert_eq!(frames(got.inputs.link_names), want_names);
    }
}
