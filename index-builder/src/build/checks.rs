//! The cross-row checks, as sort passes over spilled rows instead of lookups in maps that
//! grow with the input.
//!
//! The rules depend on arrival order (file order, then line order), so every row carries its
//! arrival number `seq` and each pass reproduces what a reader taking rows one by one would
//! decide:
//!
//! 1. subjects — mentions sorted by (id, seq): an id whose mentions all say one type is a
//!    subject of that type. An id whose mentions say both is contested: only accepted rows
//!    may decide its type, and which rows are accepted is known only after pass 3, so its
//!    mentions are set aside ([`Contested`]) and every row naming it waits (see
//!    `contested`). Each subject counts the mentions that agree with its type, its
//!    support: a subject whose every such row is rejected later (a copy of a record whose
//!    copies differ, a link whose other side has the other type) is no subject at all, and
//!    `support` drops it once passes 3 and 4 have said which;
//! 2. records — list rows and events sorted by (record_id, seq), as they arrive: the first
//!    list row of an id is the record. Later copies identical to it in every column (the
//!    same row delivered twice) are rejected and the first copy stays the record; if any
//!    copy differs, which one is right is unknown and every copy is rejected, whatever type
//!    each says. "Identical" compares the rows' encodings without their file and line, so
//!    it needs nothing beyond the group of frames of one id, which the pass holds anyway;
//!    only a duplicated id reads its group a second time. An event that arrives before any
//!    row of its id names an unknown record; events of a record whose copies differ are
//!    rejected with it, those of a kept record attach to it. Each copy rejected for
//!    differing withdraws its subject's support. A record whose subject is contested waits
//!    ([`Deferred`]) unless it is rejected or erased anyway: once the types are settled,
//!    [`finish_deferred`] judges it the same way, its rows rejected for their type when its
//!    subject turned out to have the other one ([`Conflicts`]).
//!
//! The rows go into the sorters of pass 2 (by record id) and pass 4 (links by org id) as they
//! are read (`collect`), not through a file in arrival order that a second pass re-sorts:
//! the only facts that need arrival order, which rows name a contested subject and which
//! were rejected for their type, are bitmap lookups by `seq` instead.
//!
//! Rejects come out in the order the one-by-one reader produced them: rows rejected when
//! they arrived (type conflicts, unknown records) by arrival, then duplicates by the arrival
//! of the later copy, then events of duplicates by their arrival. They go into the build's
//! sorter of rejects, keyed so (see `rejects`).

use std::io;

use roaring::RoaringTreemap;

use super::contested::Contested;
use super::items::{ByRecordId, LinkKey, LiveEvent, LiveRecord, Mention, NameOffer, Subject};
use super::rejects::Rejects;
use super::spill::{SeqWriter, Sorted, Sorter, SpillDir};
use super::support::Withdrawn;
use super::views::{record_id_key_len, text, ByRecordIdView, EventView, Frames, ListView, RowView};
use crate::date::Day;
use crate::format::layout::EVENT_OBJECTION;
use crate::model::SubjectType;
use crate::source::{Reject, SourceFile};

/// A reject found by a cross-row check: the index of its file, and the reject itself (its
/// `file` path filled in once the file list is known).
pub(crate) type CrossReject = (u16, Reject);

/// The arrival numbers of rows rejected because a subject id in them is already known with
/// the other subject type (see `contested`). Arrival numbers are dense (1, 2, …), so the
/// bitmap costs at most one bit a row, well inside the memory budget even if every row
/// conflicted.
#[derive(Default, Debug)]
pub(crate) struct Conflicts(RoaringTreemap);

impl Conflicts {
    pub(crate) fn contains(&self, seq: u64) -> bool {
        !self.0.is_empty() && self.0.contains(seq)
    }

    pub(crate) fn insert(&mut self, seq: u64) {
        self.0.insert(seq);
    }
}

/// Pass 1: the subjects in identifier order (written to a sequence file), and the
/// identifiers named with both types, set aside with their mentions in `contested`; each
/// subject is also handed to `each` as it is written. A contested identifier's subject is
/// written with its first mention's type for now (`support` settles it). Returns the
/// subject file and the subject count.
pub(crate) fn subjects(
    spill: &SpillDir,
    mentions: Sorter<'_, Mention>,
    contested: &mut Contested<'_>,
    each: &mut dyn FnMut(&Subject),
) -> io::Result<(std::path::PathBuf, u64)> {
    let mut mentions = mentions.finish()?.0.prefetch();
    let mut out = SeqWriter::create(spill)?;
    let mut count = 0u64;
    let mut current: Option<Subject> = None;
    // The current identifier's mentions, until they disagree on its type; from then on
    // (`both`) they go straight to `contested`.
    let mut held = contested.held();
    let mut both = false;
    let mut done = |s: &Subject| -> io::Result<()> {
        out.push(s)?;
        each(s);
        Ok(())
    };
    while let Some(m) = mentions.next_item()? {
        match &mut current {
            Some(s) if s.id == m.id => {
                if s.subject_type != m.subject_type {
                    if !both {
                        both = true;
                        // The subject being written is the `count`-th.
                        contested.add(count as u32, &mut held)?;
                    }
                } else {
                    s.support = s.support.saturating_add(1);
                    if m.slot == 0 {
                        s.nonconforming |= m.nonconforming;
                    }
                }
            }
            _ => {
                if let Some(s) = current.take() {
                    done(&s)?;
                    count += 1;
                }
                held.clear();
                both = false;
                current = Some(Subject {
                    id: m.id,
                    subject_type: m.subject_type,
                    nonconforming: m.slot == 0 && m.nonconforming,
                    support: 1,
                });
            }
        }
        if both {
            contested.push(&m)?;
        } else {
            held.push(m)?;
        }
    }
    if let Some(s) = current {
        done(&s)?;
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

pub(crate) struct RecordChecks<'s> {
    /// The build's rejects, the reader's already in: pass 3 adds list rows of a type
    /// conflict and events naming no record (rejected as they arrived), duplicate copies
    /// and the events of records whose copies differ (see `rejects`).
    pub(crate) rejects: Rejects<'s>,
    pub(crate) events_of_erased: u64,
    /// The earliest effective_from of an accepted record, erased at build time or not:
    /// the default `history_from` of the manifest.
    pub(crate) earliest_from: Option<Day>,
    /// Records (list rows kept, not rejected) that retention erases at build time.
    pub(crate) erased_at_build: u64,
    /// The subjects of the copies rejected because a record's copies differ (a contested
    /// subject's are left to `contested`, which counts its accepted rows itself).
    pub(crate) withdrawn: Withdrawn,
    /// The list rows naming a contested identifier that decide nothing about its type:
    /// copies of a record whose copies differ, and records erased at build time.
    pub(crate) no_say: RoaringTreemap,
    /// The records whose subject is contested, waiting for the types to be settled: every
    /// frame of each (its list rows and events), in a sorter of `contested`'s, which
    /// [`finish_deferred`] reads back grouped by record id as pass 3 read them (`None`
    /// once it has).
    deferred: Option<Sorter<'s, ByRecordId>>,
}

/// How pass 3 treats a record whose subject is contested (see `contested`).
#[derive(Clone, Copy)]
enum Types<'a> {
    /// Pass 3 proper: such a record waits, unless it is rejected or erased anyway.
    Pending(&'a Contested<'a>),
    /// Once the types are settled: these rows were rejected for their type.
    Settled(&'a Conflicts),
}

/// Pass 3: one group per record id.
pub(crate) fn records<'s>(
    by_record_id: Sorter<'_, ByRecordId>,
    contested: &Contested<'s>,
    files: &[SourceFile],
    out: &mut TableInputs<'_>,
    rejects: Rejects<'s>,
) -> io::Result<RecordChecks<'s>> {
    let mut acc = RecordChecks {
        rejects,
        events_of_erased: 0,
        earliest_from: None,
        erased_at_build: 0,
        withdrawn: Withdrawn::default(),
        no_say: RoaringTreemap::new(),
        deferred: Some(contested.sorter()),
    };
    let mut scratch = Vec::new();
    let types = Types::Pending(contested);
    each_group(by_record_id.finish()?.0, |group, ends| {
        record_group(group, ends, types, files, out, &mut acc, &mut scratch)
    })?;
    Ok(acc)
}

/// Hands `f` the frames of each record id of `sorted` in turn, copied back to back (`ends`
/// marks where each ends), so the group is read in place; the buffers are reused from
/// group to group.
fn each_group(
    sorted: Sorted<ByRecordId>,
    mut f: impl FnMut(&[u8], &[usize]) -> io::Result<()>,
) -> io::Result<()> {
    let mut sorted = Frames::new(sorted.prefetch());
    let mut group = Vec::new();
    let mut ends = Vec::new();
    while let Some(head) = sorted.peek()? {
        group.clear();
        ends.clear();
        let key_len = record_id_key_len(head)?;
        group.extend_from_slice(head);
        ends.push(group.len());
        sorted.advance();
        // Record ids are escaped and terminated in the key, so the frames of the same id
        // are exactly those that begin with the same key bytes.
        while let Some(next) = sorted.peek()? {
            if !next.starts_with(&group[..key_len]) {
                break;
            }
            group.extend_from_slice(next);
            ends.push(group.len());
            sorted.advance();
        }
        f(&group, &ends)?;
    }
    Ok(())
}

/// Pass 3 for the records it set aside, once `conflicts` says which rows were rejected for
/// their type: each is judged as pass 3 judges the others, its rows rejected for their type
/// when they are in `conflicts`.
pub(crate) fn finish_deferred(
    acc: &mut RecordChecks<'_>,
    conflicts: &Conflicts,
    files: &[SourceFile],
    out: &mut TableInputs<'_>,
) -> io::Result<()> {
    let Some(deferred) = acc.deferred.take() else {
        return Ok(());
    };
    let mut scratch = Vec::new();
    let types = Types::Settled(conflicts);
    each_group(deferred.finish()?.0, |group, ends| {
        record_group(group, ends, types, files, out, acc, &mut scratch)
    })
}

/// The frames of one record id, copied back to back into `group`; `ends` marks where each
/// ends.
fn frames<'g>(group: &'g [u8], ends: &'g [usize]) -> impl Iterator<Item = &'g [u8]> + 'g {
    ends.iter().scan(0, move |start, &end| {
        let frame = &group[*start..end];
        *start = end;
        Some(frame)
    })
}

/// The first list row of a record id and what the later ones are to it.
struct Copies<'g> {
    seq: u64,
    erased: bool,
    rec: ListView<'g>,
    /// How many later rows there are.
    later: u64,
    /// The first later row that differs from the first row, if any does.
    differing: Option<ListView<'g>>,
}

fn record_group(
    group: &[u8],
    ends: &[usize],
    types: Types<'_>,
    files: &[SourceFile],
    out: &mut TableInputs<'_>,
    acc: &mut RecordChecks<'_>,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    let path = |file: u16| files.get(file as usize).map_or("", |f| f.path.as_str());
    let mut first: Option<Copies<'_>> = None;
    let mut events: Vec<(u64, EventView<'_>)> = Vec::new();
    for frame in frames(group, ends) {
        let item = ByRecordIdView::of_frame(frame)?;
        match item.row {
            RowView::List(r) => match &mut first {
                None => {
                    first = Some(Copies {
                        seq: item.seq,
                        erased: item.erased,
                        rec: r,
                        later: 0,
                        differing: None,
                    })
                }
                Some(c) => {
                    c.later += 1;
                    if c.differing.is_none() && r.content() != c.rec.content() {
                        c.differing = Some(r);
                    }
                }
            },
            // Events are read after every list file, so they follow the list rows.
            RowView::Event(e) if first.is_none() => {
                acc.rejects.on_arrival(item.seq, unknown_record(e)?)?;
            }
            RowView::Event(e) => events.push((item.seq, e)),
        }
    }
    let Some(copies) = first else {
        return Ok(());
    };
    let (seq, erased, rec) = (copies.seq, copies.erased, copies.rec);
    if let Some(differing) = copies.differing {
        // Which copy is right is unknown: every copy is rejected, whatever type it says.
        duplicates(group, ends, types, &copies, files, acc)?;
        let rid = text(rec.record_id)?;
        for (eseq, e) in events {
            let what = event_word(e.kind);
            let reason = format!(
                "{what} for record_id {rid:?}, whose copies differ (at {}:{} and {}:{}) and \
                 were all rejected as duplicates",
                path(rec.file),
                rec.line,
                path(differing.file),
                differing.line
            );
            acc.rejects
                .orphaned(eseq, reject(e.file, e.line, rid.to_string(), reason))?;
        }
        return Ok(());
    }
    match types {
        Types::Pending(contested) if contested.names(seq) => {
            if erased {
                // Erased, it decides nothing, whichever type its subject has; its copies
                // (identical, so erased too) neither.
                for frame in frames(group, ends) {
                    let item = ByRecordIdView::of_frame(frame)?;
                    if let RowView::List(_) = item.row {
                        acc.no_say.insert(item.seq);
                    }
                }
            } else {
                let deferred = acc.deferred.as_mut().expect("pass 3 sets records aside");
                for frame in frames(group, ends) {
                    deferred.push_encoded(frame)?;
                }
                return Ok(());
            }
        }
        Types::Settled(conflicts) if conflicts.contains(seq) => {
            // Its subject has the other type. Its copies, identical, say the same type:
            // each is rejected as it arrived, and its events name no record.
            for frame in frames(group, ends) {
                let item = ByRecordIdView::of_frame(frame)?;
                if let RowView::List(r) = item.row {
                    acc.rejects.on_arrival(item.seq, type_conflict(&r)?)?;
                }
            }
            for (eseq, e) in events {
                acc.rejects.on_arrival(eseq, unknown_record(e)?)?;
            }
            return Ok(());
        }
        _ => {}
    }
    // The record is accepted. A record that is not erased names its subject; a copy
    // identical to it changes nothing.
    if !erased && !rec.subject_name.is_empty() {
        scratch.clear();
        NameOffer::encode_parts(
            &rec.subject_id,
            rec.decided_on,
            seq,
            rec.subject_name,
            scratch,
        );
        out.record_names.push_encoded(scratch)?;
    }
    if copies.later > 0 {
        // Only a duplicated record id reads its group a second time, from memory.
        duplicates(group, ends, types, &copies, files, acc)?;
    }
    // Its history is the data's, also when retention erases it (the record existed; it is
    // only no longer shown). Copies rejected above, and rows of a type conflict, say
    // nothing about how far back the data reaches.
    let from = Day(rec.effective_from);
    acc.earliest_from = Some(acc.earliest_from.map_or(from, |d| d.min(from)));
    if erased {
        acc.erased_at_build += 1;
        acc.events_of_erased += events.len() as u64;
        return Ok(());
    }
    // The rows go on re-keyed for pass 5: their encodings copied behind the new keys, as
    // `LiveEvent` and `LiveRecord` encode them.
    for (eseq, ev) in events {
        scratch.clear();
        ev.encode_live(&rec.subject_id, rec.effective_from, eseq, scratch);
        out.events.push_encoded(scratch)?;
    }
    scratch.clear();
    rec.encode_live(scratch);
    out.records.push_encoded(scratch)
}

/// The reject of an event whose record id names no accepted record.
fn unknown_record(e: EventView<'_>) -> io::Result<CrossReject> {
    let what = event_word(e.kind);
    let rid = text(e.record_id)?;
    let reason = format!(
        "{what} for unknown record_id {rid:?} (no such row in lists/, or that row was rejected)"
    );
    Ok(reject(e.file, e.line, rid.to_string(), reason))
}

/// The reject of a list row whose subject has the other type.
fn type_conflict(r: &ListView<'_>) -> io::Result<CrossReject> {
    let id = String::from_utf8_lossy(&r.subject_id).into_owned();
    let other = if r.subject_type == SubjectType::Org.code() {
        SubjectType::Person
    } else {
        SubjectType::Org
    };
    let reason = format!(
        "subject_id {id} is already known with subject_type {other}; rows disagree on subject_type"
    );
    Ok(reject(
        r.file,
        r.line,
        text(r.record_id)?.to_string(),
        reason,
    ))
}

/// Rejects the later copies of a duplicated record id: when every copy is the first one
/// again (the same row delivered twice, say in two export files), only the later copies,
/// and the first stays the record; when any copy differs, which one is right is unknown,
/// and every copy goes, the first included.
fn duplicates(
    group: &[u8],
    ends: &[usize],
    types: Types<'_>,
    copies: &Copies<'_>,
    files: &[SourceFile],
    acc: &mut RecordChecks<'_>,
) -> io::Result<()> {
    let path = |file: u16| files.get(file as usize).map_or("", |f| f.path.as_str());
    let rec = &copies.rec;
    let rid = text(rec.record_id)?;
    // A rejected copy no longer supports its subject; a contested subject's accepted rows
    // are counted by `contested`, to which the copy says nothing.
    let withdraw = |acc: &mut RecordChecks<'_>, seq: u64, r: &ListView<'_>| match types {
        Types::Pending(contested) if contested.names(seq) => {
            acc.no_say.insert(seq);
        }
        _ => acc.withdrawn.push(r.subject_id, r.subject_type),
    };
    let mut first_later = true;
    for frame in frames(group, ends) {
        let item = ByRecordIdView::of_frame(frame)?;
        let RowView::List(r) = item.row else {
            continue;
        };
        if item.seq == copies.seq {
            continue;
        }
        let reason = match &copies.differing {
            None => format!(
                "duplicate of {}:{} (identical; the first copy is kept)",
                path(rec.file),
                rec.line
            ),
            Some(_) => {
                let columns = r.differing_columns(rec);
                let how = if columns.is_empty() {
                    "identical to it, but other copies differ".to_string()
                } else {
                    format!("differing in {}", columns.join(", "))
                };
                format!(
                    "duplicate record_id {rid:?}: also at {}:{}, {how}; which copy is right \
                     is unknown, so every copy is rejected",
                    path(rec.file),
                    rec.line
                )
            }
        };
        acc.rejects.duplicate(
            (item.seq, 0),
            reject(r.file, r.line, rid.to_string(), reason),
        )?;
        if copies.differing.is_some() {
            withdraw(acc, item.seq, &r);
        }
        if let (true, Some(d)) = (first_later, &copies.differing) {
            withdraw(acc, copies.seq, rec);
            // The first copy, reported after the first later one.
            let reason = format!(
                "duplicate record_id {rid:?}: also at {}:{}, differing in {}; which copy is \
                 right is unknown, so every copy is rejected",
                path(d.file),
                d.line,
                d.differing_columns(rec).join(", ")
            );
            acc.rejects.duplicate(
                (item.seq, 1),
                reject(rec.file, rec.line, rid.to_string(), reason),
            )?;
        }
        first_later = false;
    }
    Ok(())
}

fn event_word(kind: u8) -> &'static str {
    if kind == EVENT_OBJECTION {
        "objection"
    } else {
        "repair"
    }
}
