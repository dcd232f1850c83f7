//! The cross-row checks, as sort passes over spilled rows instead of lookups in maps that
//! grow with the input.
//!
//! The rules depend on arrival order (file order, then line order), so every row carries its
//! arrival number `seq` and each pass reproduces what a reader taking rows one by one would
//! decide:
//!
//! 1. subjects — mentions sorted by (id, seq): the first mention of an id fixes its type; a
//!    list row or link whose mention disagrees is rejected;
//! 2. records — surviving list rows and events sorted by (record_id, seq): the first list
//!    row of an id is the record; any later copy rejects every copy; an event that arrives
//!    before any row of its id names an unknown record; events of a record rejected as a
//!    duplicate are rejected with it.
//!
//! Rejects come out in the order the one-by-one reader produced them: rows rejected when
//! they arrived (type conflicts, unknown records) by arrival, then duplicates by the arrival
//! of the later copy, then events of duplicates by their arrival.

use std::io;

use super::items::{
    Arrived, ByRecordId, Conflict, EventRec, LinkKey, LinkRec, ListRec, LiveEvent, LiveRecord,
    Mention, NameOffer, Row, Subject,
};
use super::spill::{SeqWriter, Sorter, SpillDir};
use crate::date::Day;
use crate::format::layout::{opt_high, opt_low, EVENT_OBJECTION, NONE_HIGH, NONE_LOW};
use crate::model::SubjectType;
use crate::source::{LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceFile, SourceSink};

use super::PERSONAL_RETENTION_YEARS;

/// A reject found by a cross-row check: the index of its file, and the reject itself (its
/// `file` path filled in once the file list is known).
pub(crate) type CrossReject = (u16, Reject);

/// Pass 0: receives rows from the source reader, numbers them and spills them.
pub(crate) struct Collector<'s> {
    seq: u64,
    pub(crate) mentions: Sorter<'s, Mention>,
    pub(crate) rows: Sorter<'s, Arrived>,
    /// Rows the reader rejected on their own, in arrival order.
    pub(crate) rejects: Vec<Reject>,
    /// The first spill error; later rows are dropped and the build fails with it.
    pub(crate) error: Option<io::Error>,
}

impl<'s> Collector<'s> {
    pub(crate) fn new(spill: &'s SpillDir) -> Collector<'s> {
        Collector {
            seq: 0,
            mentions: spill.sorter(),
            // Rows arrive numbered in order: they are written as they come, never sorted.
            rows: spill.sequence(),
            rejects: Vec::new(),
            error: None,
        }
    }

    fn add(&mut self, mentions: &[(u8, [u8; 18], SubjectType, bool)], row: Row) {
        if self.error.is_some() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let mut result = Ok(());
        for &(slot, id, t, nonconforming) in mentions {
            result = result.and_then(|_| {
                self.mentions.push(Mention {
                    id,
                    seq,
                    slot,
                    subject_type: t.code(),
                    nonconforming,
                })
            });
        }
        if let Err(e) = result.and_then(|_| self.rows.push(Arrived { seq, row })) {
            self.error = Some(e);
        }
    }
}

impl SourceSink for Collector<'_> {
    fn list_row(&mut self, r: ListRow) {
        let m = [(0, r.subject_id, r.subject_type, r.nonconforming)];
        let row = ListRec {
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
        self.add(&m, Row::List(Box::new(row)));
    }

    fn repair(&mut self, r: RepairRow) {
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
        self.add(&[], Row::Event(Box::new(ev)));
    }

    fn objection(&mut self, r: ObjectionRow) {
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
        self.add(&[], Row::Event(Box::new(ev)));
    }

    fn link(&mut self, r: LinkRow) {
        // The org is looked up before the person, as the rows name them.
        let m = [
            (1, r.org_id, SubjectType::Org, false),
            (2, r.person_id, SubjectType::Person, false),
        ];
        let row = LinkRec {
            file: r.file,
            line: r.line,
            org_id: r.org_id,
            person_id: r.person_id,
            person_name: r.person_name,
            role: r.role.code(),
            from: opt_low(r.from),
            until: opt_high(r.until),
        };
        self.add(&m, Row::Link(Box::new(row)));
    }

    fn reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }
}

/// Pass 1: the subjects in identifier order (written to a sequence file) and the mentions
/// that disagree with their subject's type. Returns the subject file and the subject count.
pub(crate) fn subjects(
    spill: &SpillDir,
    mentions: Sorter<'_, Mention>,
    conflicts: &mut Sorter<'_, Conflict>,
) -> io::Result<(std::path::PathBuf, u64)> {
    let mut mentions = mentions.finish()?.0.prefetch();
    let mut out = SeqWriter::create(spill)?;
    let mut count = 0u64;
    let mut current: Option<Subject> = None;
    while let Some(m) = mentions.next_item()? {
        match &mut current {
            Some(s) if s.id == m.id => {
                if s.subject_type != m.subject_type {
                    conflicts.push(Conflict {
                        seq: m.seq,
                        slot: m.slot,
                        known: s.subject_type,
                    })?;
                } else if m.slot == 0 {
                    s.nonconforming |= m.nonconforming;
                }
            }
            _ => {
                if let Some(s) = current.take() {
                    out.push(&s)?;
                    count += 1;
                }
                current = Some(Subject {
                    id: m.id,
                    subject_type: m.subject_type,
                    nonconforming: m.slot == 0 && m.nonconforming,
                });
            }
        }
    }
    if let Some(s) = current {
        out.push(&s)?;
        count += 1;
    }
    Ok((out.finish()?, count))
}

/// What pass 2 gathers besides the sorted records.
#[derive(Default)]
pub(crate) struct Arrivals {
    /// Rows rejected on arrival, with their arrival number.
    pub(crate) rejected: Vec<(u64, CrossReject)>,
    pub(crate) earliest_from: Option<Day>,
    pub(crate) erased_at_build: u64,
}

/// The sorters pass 2 fills.
pub(crate) struct RecordInputs<'s> {
    pub(crate) by_record_id: Sorter<'s, ByRecordId>,
    /// Accepted links keyed by (org id, person id).
    pub(crate) links: Sorter<'s, LinkKey>,
    /// Person names offered by accepted links, keyed by (person id, arrival).
    pub(crate) link_names: Sorter<'s, NameOffer>,
}

/// Pass 2: rows in arrival order joined with the type conflicts; applies retention.
pub(crate) fn arrivals(
    rows: Sorter<'_, Arrived>,
    conflicts: Sorter<'_, Conflict>,
    today: Day,
    out: &mut RecordInputs<'_>,
) -> io::Result<Arrivals> {
    let mut rows = rows.finish()?.0.prefetch();
    let mut conflicts = conflicts.finish()?.0.peekable();
    let mut acc = Arrivals::default();
    while let Some(Arrived { seq, row }) = rows.next_item()? {
        let mut known = None;
        while let Some(c) = conflicts.next_if(|c| c.seq == seq)? {
            known.get_or_insert(c.known);
        }
        match row {
            Row::List(mut r) => {
                if let Some(known) = known {
                    let id = String::from_utf8_lossy(&r.subject_id).into_owned();
                    let other = SubjectType::from_code(known).expect("a type code");
                    let reason = format!(
                        "subject_id {id} is already known with subject_type {other}; rows disagree on subject_type"
                    );
                    acc.rejected
                        .push((seq, reject(r.file, r.line, r.record_id, reason)));
                    continue;
                }
                let from = Day(r.effective_from);
                acc.earliest_from = Some(acc.earliest_from.map_or(from, |d| d.min(from)));
                let mut erased = false;
                if r.subject_type == SubjectType::Person.code() && r.act_ended_on != NONE_LOW {
                    let erase = Day(r.act_ended_on).add_years(PERSONAL_RETENTION_YEARS);
                    r.erase_on = erase.0;
                    if erase <= today {
                        erased = true;
                        acc.erased_at_build += 1;
                    }
                }
                out.by_record_id.push(ByRecordId {
                    seq,
                    erased,
                    row: Row::List(r),
                })?;
            }
            Row::Event(e) => out.by_record_id.push(ByRecordId {
                seq,
                erased: false,
                row: Row::Event(e),
            })?,
            Row::Link(l) => {
                if known.is_some() {
                    let reason =
                        "org_id or person_id is already known as a subject of the other type";
                    acc.rejected.push((
                        seq,
                        reject(l.file, l.line, String::new(), reason.to_string()),
                    ));
                    continue;
                }
                out.links.push(LinkKey {
                    a: l.org_id,
                    b: l.person_id,
                    role: l.role,
                    from: l.from,
                    until: l.until,
                    seq,
                })?;
                if !l.person_name.is_empty() {
                    out.link_names.push(NameOffer {
                        id: l.person_id,
                        decided_on: 0,
                        seq,
                        name: l.person_name,
                    })?;
                }
            }
        }
    }
    Ok(acc)
}

fn reject(file: u16, line: u64, record_id: String, reason: String) -> CrossReject {
    (
        file,
        Reject {
            file: String::new(),
            line,
            record_id,
            reason,
        },
    )
}

/// The sorters pass 3 fills: what the tables are written from.
pub(crate) struct TableInputs<'s> {
    pub(crate) records: Sorter<'s, LiveRecord>,
    pub(crate) events: Sorter<'s, LiveEvent>,
    /// Names offered by records, keyed by (subject id, decided_on, arrival).
    pub(crate) record_names: Sorter<'s, NameOffer>,
}

#[derive(Default)]
pub(crate) struct RecordChecks {
    /// Events naming no record, by arrival (merged with pass 2's arrival rejects).
    pub(crate) unknown: Vec<(u64, CrossReject)>,
    /// Duplicate copies, by (arrival of the later copy, 0 for it / 1 for the first copy).
    pub(crate) duplicates: Vec<((u64, u8), CrossReject)>,
    /// Events of duplicated records, by arrival.
    pub(crate) orphaned: Vec<(u64, CrossReject)>,
    pub(crate) events_of_erased: u64,
}

/// Pass 3: one group per record id.
pub(crate) fn records(
    by_record_id: Sorter<'_, ByRecordId>,
    files: &[SourceFile],
    out: &mut TableInputs<'_>,
) -> io::Result<RecordChecks> {
    let mut sorted = by_record_id.finish()?.0.prefetch().peekable();
    let mut acc = RecordChecks::default();
    let mut group: Vec<ByRecordId> = Vec::new();
    while let Some(head) = sorted.next_if(|_| true)? {
        group.clear();
        group.push(head);
        while let Some(next) = sorted.next_if(|n| n.record_id() == group[0].record_id())? {
            group.push(next);
        }
        record_group(std::mem::take(&mut group), files, out, &mut acc)?;
    }
    Ok(acc)
}

fn record_group(
    group: Vec<ByRecordId>,
    files: &[SourceFile],
    out: &mut TableInputs<'_>,
    acc: &mut RecordChecks,
) -> io::Result<()> {
    let path = |file: u16| files.get(file as usize).map_or("", |f| f.path.as_str());
    let mut first: Option<(u64, bool, Box<ListRec>)> = None;
    let mut later: Vec<(u64, u16, u64)> = Vec::new();
    let mut events: Vec<(u64, Box<EventRec>)> = Vec::new();
    for item in group {
        match item.row {
            Row::List(r) => match &first {
                None => first = Some((item.seq, item.erased, r)),
                Some(_) => later.push((item.seq, r.file, r.line)),
            },
            Row::Event(e) if first.is_none() => {
                let what = event_word(e.kind);
                let reason = format!(
                    "{what} for unknown record_id {:?} (no such row in lists/, or that row was rejected)",
                    e.record_id
                );
                acc.unknown
                    .push((item.seq, reject(e.file, e.line, e.record_id, reason)));
            }
            Row::Event(e) => events.push((item.seq, e)),
            Row::Link(_) => {}
        }
    }
    let Some((seq, erased, rec)) = first else {
        return Ok(());
    };
    // A record that is not erased names its subject even when it is then rejected as a
    // duplicate: the one-by-one reader named the subject as the first copy arrived.
    if !erased && !rec.subject_name.is_empty() {
        out.record_names.push(NameOffer {
            id: rec.subject_id,
            decided_on: rec.decided_on,
            seq,
            name: rec.subject_name.clone(),
        })?;
    }
    let rid = &rec.record_id;
    if !later.is_empty() {
        for (i, &(lseq, file, line)) in later.iter().enumerate() {
            let reason = format!(
                "duplicate record_id {rid:?}: also at {}:{}; every copy rejected",
                path(rec.file),
                rec.line
            );
            acc.duplicates
                .push(((lseq, 0), reject(file, line, rid.clone(), reason)));
            if i == 0 {
                let reason = format!(
                    "duplicate record_id {rid:?}: also at {}:{line}; every copy rejected",
                    path(file)
                );
                acc.duplicates
                    .push(((lseq, 1), reject(rec.file, rec.line, rid.clone(), reason)));
            }
        }
        for (eseq, e) in events {
            let what = event_word(e.kind);
            let reason =
                format!("{what} for record_id {rid:?}, whose rows were rejected as duplicates");
            acc.orphaned
                .push((eseq, reject(e.file, e.line, rid.clone(), reason)));
        }
        return Ok(());
    }
    if erased {
        acc.events_of_erased += events.len() as u64;
        return Ok(());
    }
    for (eseq, ev) in events {
        out.events.push(LiveEvent {
            subject_id: rec.subject_id,
            effective_from: rec.effective_from,
            seq: eseq,
            ev: *ev,
        })?;
    }
    out.records.push(LiveRecord(rec))
}

fn event_word(kind: u8) -> &'static str {
    if kind == EVENT_OBJECTION {
        "objection"
    } else {
        "repair"
    }
}
