//! The cross-row checks, as sort passes over spilled rows instead of lookups in maps that
//! grow with the input.
//!
//! The rules depend on arrival order (file order, then line order), so every row carries its
//! arrival number `seq` and each pass reproduces what a reader taking rows one by one would
//! decide:
//!
//! 1. subjects — mentions sorted by (id, seq): the first mention of an id fixes its type; a
//!    list row or link whose mention disagrees is rejected. The arrival numbers of those
//!    rows are kept in a compressed bitmap ([`Conflicts`]: at most one bit a row, whatever
//!    the input), which the later passes consult;
//! 2. records — list rows and events sorted by (record_id, seq), as they arrive: rows of a
//!    conflict are set aside; the first remaining list row of an id is the record; any later
//!    copy rejects every copy; an event that arrives before any row of its id names an
//!    unknown record; events of a record rejected as a duplicate are rejected with it.
//!
//! The rows go into the sorters of pass 2 (by record id) and pass 4 (links by org id) as they
//! are read, not through a file in arrival order that a second pass re-sorts: the only fact
//! that needed arrival order, the type conflicts, is a bitmap lookup by `seq` instead.
//!
//! Rejects come out in the order the one-by-one reader produced them: rows rejected when
//! they arrived (type conflicts, unknown records) by arrival, then duplicates by the arrival
//! of the later copy, then events of duplicates by their arrival.

use std::io;

use super::items::{
    ByRecordId, EventRec, LinkKey, ListRec, LiveEvent, LiveRecord, Mention, NameOffer, Row, Subject,
};
use super::spill::{SeqWriter, Sorter, SpillDir};
use crate::date::Day;
use crate::format::layout::{opt_high, opt_low, EVENT_OBJECTION, NONE_HIGH};
use crate::model::SubjectType;
use crate::source::{LinkRow, ListRow, ObjectionRow, Reject, RepairRow, SourceFile, SourceSink};

use super::PERSONAL_RETENTION_YEARS;

/// A reject found by a cross-row check: the index of its file, and the reject itself (its
/// `file` path filled in once the file list is known).
pub(crate) type CrossReject = (u16, Reject);

/// The arrival numbers of rows rejected because a subject id in them is already known with
/// the other subject type. Arrival numbers are dense (1, 2, …), so the bitmap costs at most
/// one bit a row, well inside the memory budget even if every row conflicted.
#[derive(Default)]
pub(crate) struct Conflicts(roaring::RoaringTreemap);

impl Conflicts {
    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.0.contains(seq)
    }
}

/// Pass 0: receives rows from the source reader, numbers them and sorts them for passes 1
/// (mentions), 2 (list rows and events by record id) and 4 (links and their names).
pub(crate) struct Collector<'s> {
    seq: u64,
    today: Day,
    pub(crate) mentions: Sorter<'s, Mention>,
    pub(crate) inputs: RecordInputs<'s>,
    /// Rows the reader rejected on their own, in arrival order.
    pub(crate) rejects: Vec<Reject>,
    /// The first spill error; later rows are dropped and the build fails with it.
    pub(crate) error: Option<io::Error>,
}

impl<'s> Collector<'s> {
    pub(crate) fn new(spill: &'s SpillDir, today: Day) -> Collector<'s> {
        Collector {
            seq: 0,
            today,
            mentions: spill.sorter(),
            inputs: RecordInputs {
                by_record_id: spill.sorter(),
                links: spill.sorter(),
                link_names: spill.sorter(),
            },
            rejects: Vec::new(),
            error: None,
        }
    }

    /// Numbers the next row and pushes its mentions and the row itself (`push`).
    fn add(
        &mut self,
        mentions: &[(u8, [u8; 18], SubjectType, bool)],
        push: impl FnOnce(&mut RecordInputs<'s>, u64) -> io::Result<()>,
    ) {
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
        if let Err(e) = result.and_then(|_| push(&mut self.inputs, seq)) {
            self.error = Some(e);
        }
    }
}

impl SourceSink for Collector<'_> {
    fn list_row(&mut self, r: ListRow) {
        let m = [(0, r.subject_id, r.subject_type, r.nonconforming)];
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
                let erase = ended.add_years(PERSONAL_RETENTION_YEARS);
                row.erase_on = erase.0;
                erased = erase <= self.today;
            }
        }
        self.add(&m, |out, seq| {
            out.by_record_id.push(ByRecordId {
                seq,
                erased,
                row: Row::List(Box::new(row)),
            })
        });
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
        self.add(&[], |out, seq| out.by_record_id.push(event(seq, ev)));
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
        self.add(&[], |out, seq| out.by_record_id.push(event(seq, ev)));
    }

    fn link(&mut self, r: LinkRow) {
        // The org is looked up before the person, as the rows name them.
        let m = [
            (1, r.org_id, SubjectType::Org, false),
            (2, r.person_id, SubjectType::Person, false),
        ];
        self.add(&m, |out, seq| {
            out.links.push(LinkKey {
                a: r.org_id,
                b: r.person_id,
                role: r.role.code(),
                from: opt_low(r.from),
                until: opt_high(r.until),
                seq,
                file: r.file,
                line: r.line,
            })?;
            if r.person_name.is_empty() {
                return Ok(());
            }
            out.link_names.push(NameOffer {
                id: r.person_id,
                decided_on: 0,
                seq,
                name: r.person_name,
            })
        });
    }

    fn reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }
}

fn event(seq: u64, ev: EventRec) -> ByRecordId {
    ByRecordId {
        seq,
        erased: false,
        row: Row::Event(Box::new(ev)),
    }
}

/// Pass 1: the subjects in identifier order (written to a sequence file) and the rows with a
/// mention that disagrees with its subject's type. Returns the subject file and the subject
/// count.
pub(crate) fn subjects(
    spill: &SpillDir,
    mentions: Sorter<'_, Mention>,
    conflicts: &mut Conflicts,
) -> io::Result<(std::path::PathBuf, u64)> {
    let mut mentions = mentions.finish()?.0.prefetch();
    let mut out = SeqWriter::create(spill)?;
    let mut count = 0u64;
    let mut current: Option<Subject> = None;
    while let Some(m) = mentions.next_item()? {
        match &mut current {
            Some(s) if s.id == m.id => {
                if s.subject_type != m.subject_type {
                    conflicts.0.insert(m.seq);
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

/// The sorters pass 0 fills for passes 2 and 4.
pub(crate) struct RecordInputs<'s> {
    pub(crate) by_record_id: Sorter<'s, ByRecordId>,
    /// Links keyed by (org id, person id); pass 4 sets aside those of a type conflict.
    pub(crate) links: Sorter<'s, LinkKey>,
    /// Person names offered by links, keyed by (person id, arrival); pass 5 skips those of
    /// a type conflict.
    pub(crate) link_names: Sorter<'s, NameOffer>,
}

pub(crate) fn reject(file: u16, line: u64, record_id: String, reason: String) -> CrossReject {
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
    /// List rows of a type conflict and events naming no record, by arrival (merged with
    /// pass 4's link conflicts): the rows a one-by-one reader rejected as they arrived.
    pub(crate) on_arrival: Vec<(u64, CrossReject)>,
    /// Duplicate copies, by (arrival of the later copy, 0 for it / 1 for the first copy).
    pub(crate) duplicates: Vec<((u64, u8), CrossReject)>,
    /// Events of duplicated records, by arrival.
    pub(crate) orphaned: Vec<(u64, CrossReject)>,
    pub(crate) events_of_erased: u64,
    /// The earliest effective_from of a list row without a type conflict.
    pub(crate) earliest_from: Option<Day>,
    /// List rows without a type conflict that retention erases at build time.
    pub(crate) erased_at_build: u64,
}

/// Pass 3: one group per record id.
pub(crate) fn records(
    by_record_id: Sorter<'_, ByRecordId>,
    conflicts: &Conflicts,
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
        record_group(std::mem::take(&mut group), conflicts, files, out, &mut acc)?;
    }
    Ok(acc)
}

fn record_group(
    group: Vec<ByRecordId>,
    conflicts: &Conflicts,
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
            Row::List(r) if conflicts.contains(item.seq) => {
                // Rejected as it arrived, so it neither is the record nor duplicates it.
                let id = String::from_utf8_lossy(&r.subject_id).into_owned();
                let other = if r.subject_type == SubjectType::Org.code() {
                    SubjectType::Person
                } else {
                    SubjectType::Org
                };
                let reason = format!(
                    "subject_id {id} is already known with subject_type {other}; rows disagree on subject_type"
                );
                acc.on_arrival
                    .push((item.seq, reject(r.file, r.line, r.record_id, reason)));
            }
            Row::List(r) => {
                let from = Day(r.effective_from);
                acc.earliest_from = Some(acc.earliest_from.map_or(from, |d| d.min(from)));
                acc.erased_at_build += item.erased as u64;
                match &first {
                    None => first = Some((item.seq, item.erased, r)),
                    Some(_) => later.push((item.seq, r.file, r.line)),
                }
            }
            Row::Event(e) if first.is_none() => {
                let what = event_word(e.kind);
                let reason = format!(
                    "{what} for unknown record_id {:?} (no such row in lists/, or that row was rejected)",
                    e.record_id
                );
                acc.on_arrival
                    .push((item.seq, reject(e.file, e.line, e.record_id, reason)));
            }
            Row::Event(e) => events.push((item.seq, e)),
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
