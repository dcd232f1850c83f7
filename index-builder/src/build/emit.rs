//! Writing the tables from the sorted streams, one subject at a time, in identifier order.
//!
//! Subjects, records, events, links and strings are streamed to their files as each subject
//! is reached, so nothing here grows with the input but the bitmaps (a few bits a subject)
//! and the authority/reason dedup table (bounded). Each subject's name comes from the names
//! thread (see `names`), which also writes the names index meanwhile; ids.fst is written
//! from the subjects in identifier order on a thread of its own, fed by pass 1 (`idfeed`),
//! and written again from the subjects that remain if `support` drops any.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::path::Path;

use roaring::RoaringBitmap;

use super::checks::{self, Conflicts};
use super::codec::{put_i32, put_u16, put_u32, put_u64, Codec, Dec};
use super::contested::Contested;
use super::items::{
    IdixEntry, LinkKey, LinkTerms, LiveEvent, LiveRecord, OrdLink, PersonLink, Subject,
};
use super::names::NameFeed;
use super::rejects::Rejects;
use super::sink::{Pending, Sink};
use super::spill::{read_seq, Sorter, SpillDir};
use super::support::{Renumber, Withdrawn};
use super::views::{text, Frames, ListView, LiveEventView};
use super::BuildError;
use crate::catalog::Catalog;
use crate::format::fstw::FstWriter;
use crate::format::idix;
use crate::format::layout::{
    EventRow, LinkRow, RecordRow, StrRef, SubjectRow, EVENT_OBJECTION, NONE_HIGH,
};
use crate::format::FileKind;
use crate::manifest::{Counts, FileEntry};
use crate::model::{Outcome, SubjectType};

/// The two link tables' orders pass 4 produces, and the links it set aside.
pub(crate) struct LinkOrders<'s> {
    pub(crate) by_person: Sorter<'s, OrdLink>,
    pub(crate) by_org: Sorter<'s, OrdLink>,
    /// The links naming a contested identifier (see `contested`), with both ordinals,
    /// waiting for the types to be settled ([`finish_links`]).
    pub(crate) deferred: Sorter<'s, DeferredLink>,
}

/// A link pass 4 set aside because an end of it is contested: in order of its person's
/// identifier (then arrival), for the walk that gives it that person's ordinal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeferredLink {
    key: LinkKey,
    org: u32,
    /// The person's ordinal, once the second walk has given it.
    person: u32,
}

impl Codec for DeferredLink {
    fn encode(&self, out: &mut Vec<u8>) {
        let l = &self.key;
        out.extend_from_slice(&l.person);
        put_u64(out, l.terms.seq);
        out.extend_from_slice(&l.org);
        put_u32(out, self.org);
        put_u32(out, self.person);
        out.push(l.terms.role);
        put_i32(out, l.terms.from);
        put_i32(out, l.terms.until);
        put_u16(out, l.file);
        put_u64(out, l.line);
    }
    fn decode(d: &mut Dec<'_>) -> DeferredLink {
        let person = d.id();
        let seq = d.u64();
        let org = d.id();
        let (org_ord, person_ord) = (d.u32(), d.u32());
        let (role, from, until) = (d.u8(), d.i32(), d.i32());
        DeferredLink {
            key: LinkKey {
                org,
                person,
                terms: LinkTerms {
                    role,
                    from,
                    until,
                    seq,
                },
                file: d.u16(),
                line: d.u64(),
            },
            org: org_ord,
            person: person_ord,
        }
    }
}

/// Pass 4: gives each link the ordinals of its org and its person, producing the two link
/// tables' orders: by (person, org, …) and by (org, person, …). A link naming a contested
/// identifier waits, with its ordinals, for [`finish_links`]; no other link can have an
/// end of the other type.
pub(crate) fn link_ordinals<'s>(
    spill: &'s SpillDir,
    subjects: &Path,
    links: Sorter<'s, LinkKey>,
    contested: &Contested<'s>,
) -> io::Result<LinkOrders<'s>> {
    let mut waiting = contested.sorter::<DeferredLink>();
    let mut set_aside = 0u64;
    // Links sorted by org id: replace the org id by its ordinal, re-key by person id.
    let mut by_person_id = spill.sorter::<PersonLink>();
    let mut links = links.finish()?.0.prefetch().peekable();
    let mut subs = read_seq::<Subject>(subjects)?;
    let mut ord = 0u32;
    while let Some(s) = subs.next_item()? {
        while let Some(l) = links.next_if(|l| l.org == s.id)? {
            if contested.names(l.terms.seq) {
                waiting.push(DeferredLink {
                    key: l,
                    org: ord,
                    person: 0,
                })?;
                set_aside += 1;
                continue;
            }
            by_person_id.push(PersonLink {
                person: l.person,
                org: ord,
                terms: l.terms,
            })?;
        }
        ord += 1;
    }
    // The links set aside get their person's ordinal in the same walk as the others.
    let mut waiting = waiting.finish()?.0.peekable();
    let mut deferred = contested.sorter::<DeferredLink>();
    // Sorted by (person id, org ordinal, …): the person's ordinal completes both tables.
    let mut by_person = spill.sorter::<OrdLink>();
    let mut by_org = spill.sorter::<OrdLink>();
    let mut links = by_person_id.finish()?.0.prefetch().peekable();
    let mut subs = read_seq::<Subject>(subjects)?;
    let mut ord = 0u32;
    while let Some(s) = subs.next_item()? {
        while let Some(l) = links.next_if(|l| l.person == s.id)? {
            push_link(&mut by_person, &mut by_org, l.org, ord, l.terms)?;
        }
        // (Looked at only when there are any: the usual case has none.)
        while set_aside > 0 {
            let Some(mut d) = waiting.next_if(|d| d.key.person == s.id)? else {
                break;
            };
            d.person = ord;
            deferred.push(d)?;
            set_aside -= 1;
        }
        ord += 1;
    }
    Ok(LinkOrders {
        by_person,
        by_org,
        deferred,
    })
}

fn push_link(
    by_person: &mut Sorter<'_, OrdLink>,
    by_org: &mut Sorter<'_, OrdLink>,
    org: u32,
    person: u32,
    terms: LinkTerms,
) -> io::Result<()> {
    by_person.push(OrdLink {
        this: person,
        other: org,
        terms,
    })?;
    by_org.push(OrdLink {
        this: org,
        other: person,
        terms,
    })
}

/// The links that pass 4 set aside (`deferred`), once `conflicts` says which were rejected
/// for a type: the others join the tables' orders, the rejected go to `rejects`. Returns
/// both ends of each rejected link (the end whose type agrees loses a support).
pub(crate) fn finish_links(
    deferred: Sorter<'_, DeferredLink>,
    by_person: &mut Sorter<'_, OrdLink>,
    by_org: &mut Sorter<'_, OrdLink>,
    conflicts: &Conflicts,
    rejects: &mut Rejects<'_>,
) -> io::Result<Withdrawn> {
    let mut withdrawn = Withdrawn::default();
    let mut deferred = deferred.finish()?.0;
    while let Some(d) = deferred.next_item()? {
        let l = d.key;
        if conflicts.contains(l.terms.seq) {
            let reason = "org_id or person_id is already known as a subject of the other type";
            rejects.link_conflict(
                l.terms.seq,
                checks::reject(l.file, l.line, String::new(), reason.to_string()),
            )?;
            withdrawn.push(l.org, SubjectType::Org.code());
            withdrawn.push(l.person, SubjectType::Person.code());
            continue;
        }
        push_link(by_person, by_org, d.org, d.person, l.terms)?;
    }
    Ok(withdrawn)
}

/// The sorted streams pass 5 reads beside the subject file.
pub(crate) struct Streams<'s> {
    pub(crate) records: Sorter<'s, LiveRecord>,
    pub(crate) events: Sorter<'s, LiveEvent>,
    pub(crate) by_person: Sorter<'s, OrdLink>,
    pub(crate) by_org: Sorter<'s, OrdLink>,
    /// Each subject's name, in ordinal order, from the names thread (see `names`).
    pub(crate) names: NameFeed,
}

/// What pass 5 produced besides the files.
pub(crate) struct Written {
    /// In the order of FORMAT.md: subjects, records, events, the two link tables, strings;
    /// their writers are still completing them (see `sink`).
    pub(crate) entries: Vec<Pending>,
    pub(crate) counts: Counts,
    /// Per catalogue list: records, and the ordinals of subjects with one.
    pub(crate) per_list: Vec<(u64, RoaringBitmap)>,
}

/// The string heap, written as it grows. Authorities and reasons repeat across millions of
/// records and are stored once, through a table that stops growing at a fixed size (so the
/// heap is the same whatever the memory budget); names are stored once per subject and
/// reused by the subject's records that carry the same name.
struct HeapOut {
    out: Sink,
    len: u64,
    shared: HashMap<String, StrRef, BuildHasherDefault<WordHasher>>,
}

impl HeapOut {
    const SHARED_MAX: usize = 1 << 16;
    const SHARED_LEN_MAX: usize = 96;

    fn push(&mut self, s: &str) -> Result<StrRef, BuildError> {
        if s.is_empty() {
            return Ok(StrRef::default());
        }
        if s.len() > StrRef::MAX_LEN || self.len + s.len() as u64 > StrRef::MAX_OFFSET {
            return Err(BuildError::Limit(format!(
                "string heap over 1 TiB or a string over 16 MiB ({} bytes)",
                s.len()
            )));
        }
        let r = StrRef::new(self.len, s.len());
        self.len += s.len() as u64;
        self.out
            .put(|b| b.extend_from_slice(s.as_bytes()))
            .map_err(|e| io_err(self.out.path(), e))?;
        Ok(r)
    }

    fn shared(&mut self, s: &str) -> Result<StrRef, BuildError> {
        if let Some(&r) = self.shared.get(s) {
            return Ok(r);
        }
        let r = self.push(s)?;
        if self.shared.len() < Self::SHARED_MAX && s.len() <= Self::SHARED_LEN_MAX {
            self.shared.insert(s.to_string(), r);
        }
        Ok(r)
    }
}

/// The shared-string table's hash: eight bytes a step (multiply and rotate), where the
/// default SipHash costs more than the rest of a lookup. Pass 5 looks up an authority and a
/// reason for every record on its single thread; the strings come from the source, not
/// from a client, so resistance to chosen collisions buys nothing here. Which strings are
/// shared depends only on the order they arrive in, not on the hash.
#[derive(Default)]
struct WordHasher(u64);

impl WordHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.mix(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        let rest = words.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, b: u8) {
        self.mix(b as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn io_err(path: &Path, err: io::Error) -> BuildError {
    BuildError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Pass 5: subjects, records, events, links and strings, in ordinal order.
///
/// `subjects` are those that remain (see `support`); the links carry pass 4's ordinals,
/// among all the subjects pass 1 found, which `renumber` turns into theirs.
pub(crate) fn tables(
    dir: &Path,
    catalog: &Catalog,
    subjects: &Path,
    renumber: &Renumber,
    streams: Streams<'_>,
) -> Result<Written, BuildError> {
    let io_at = |e| io_err(dir, e);
    // Records and events are read in place from their frames (see `views`): no string of
    // theirs is allocated on this thread, which writes every table alone.
    let mut names = streams.names;
    let mut records = Frames::new(streams.records.finish().map_err(io_at)?.0.prefetch());
    let mut events = Frames::new(streams.events.finish().map_err(io_at)?.0.prefetch());
    let mut by_person = streams
        .by_person
        .finish()
        .map_err(io_at)?
        .0
        .prefetch()
        .peekable();
    let mut by_org = streams
        .by_org
        .finish()
        .map_err(io_at)?
        .0
        .prefetch()
        .peekable();

    let mut subject_out = Sink::create(dir, FileKind::Subjects).map_err(io_at)?;
    let mut record_out = Sink::create(dir, FileKind::Records).map_err(io_at)?;
    let mut event_out = Sink::create(dir, FileKind::Events).map_err(io_at)?;
    let mut person_out = Sink::create(dir, FileKind::LinksByPerson).map_err(io_at)?;
    let mut org_out = Sink::create(dir, FileKind::LinksByOrg).map_err(io_at)?;
    let mut heap = HeapOut {
        out: Sink::create(dir, FileKind::Strings).map_err(io_at)?,
        len: 0,
        shared: HashMap::default(),
    };
    let mut per_list = vec![(0u64, RoaringBitmap::new()); catalog.lists.len()];
    let mut counts = Counts::default();

    let mut subs = read_seq::<Subject>(subjects).map_err(io_at)?;
    let mut pass1_ords = renumber.kept();
    let mut ord = 0u32;
    while let Some(s) = subs.next_item().map_err(io_at)? {
        // The links name this subject by the ordinal pass 1 gave it.
        let pass1_ord = pass1_ords.next().unwrap_or(u32::MAX);
        let name_text = names.next_name().map_err(io_at)?;
        let name = heap.push(name_text)?;

        let rec_start = record_out.rows;
        let mut class_mask = 0u8;
        while let Some(frame) = records.peek().map_err(io_at)? {
            if !frame.starts_with(&s.id) {
                break;
            }
            let (r, key_len) = ListView::live(frame).map_err(io_at)?;
            // A record's events are the frames that begin with its key (subject id,
            // effective_from, record id): the two orders share that prefix.
            let key = &frame[..key_len];
            let index = record_out.rows;
            if index >= u32::MAX as u64 {
                return Err(BuildError::Limit("more than 2^32 records".into()));
            }
            let event_start = event_out.rows;
            let mut stop_on = NONE_HIGH;
            while let Some(frame) = events.peek().map_err(io_at)? {
                if !frame.starts_with(key) {
                    break;
                }
                let e = LiveEventView::of_frame(frame).map_err(io_at)?.ev;
                if e.kind == EVENT_OBJECTION {
                    counts.objections += 1;
                    if Outcome::from_code(e.outcome).is_some_and(|o| o.ends_record()) {
                        stop_on = stop_on.min(e.closed_on);
                    }
                } else {
                    counts.repairs += 1;
                    stop_on = stop_on.min(e.date);
                }
                let row = EventRow {
                    kind: e.kind,
                    outcome: e.outcome,
                    record: index as u32,
                    date: e.date,
                    closed_on: e.closed_on,
                    authority: heap.shared(text(e.authority).map_err(io_at)?)?,
                    doc_no: heap.push(text(e.doc_no).map_err(io_at)?)?,
                };
                event_out.put(|b| row.encode(b)).map_err(io_at)?;
                events.advance();
            }
            let subject_name = if r.subject_name == name_text.as_bytes() {
                name
            } else {
                heap.push(text(r.subject_name).map_err(io_at)?)?
            };
            let row = RecordRow {
                record_id: heap.push(text(r.record_id).map_err(io_at)?)?,
                authority: heap.shared(text(r.authority).map_err(io_at)?)?,
                doc_no: heap.push(text(r.doc_no).map_err(io_at)?)?,
                reason: heap.shared(text(r.reason).map_err(io_at)?)?,
                subject: ord,
                list: r.list,
                decided_on: r.decided_on,
                effective_from: r.effective_from,
                effective_until: r.effective_until,
                act_ended_on: r.act_ended_on,
                erase_on: r.erase_on,
                stop_on,
                event_start: event_start as u32,
                event_count: (event_out.rows - event_start) as u32,
                subject_name,
            };
            record_out.put(|b| row.encode(b)).map_err(io_at)?;
            let list = &mut per_list[r.list as usize];
            list.0 += 1;
            list.1.insert(ord);
            class_mask |= 1 << catalog.lists[r.list as usize].class.code();
            records.advance();
        }

        let subject_type = SubjectType::from_code(s.subject_type).expect("a type code");
        let (links, out) = match subject_type {
            SubjectType::Person => (&mut by_person, &mut person_out),
            SubjectType::Org => (&mut by_org, &mut org_out),
        };
        let link_start = out.rows;
        while let Some(l) = links.next_if(|l| l.this == pass1_ord).map_err(io_at)? {
            let row = LinkRow {
                this: ord,
                other: renumber.ordinal(l.other),
                role: l.terms.role,
                from: l.terms.from,
                until: l.terms.until,
            };
            out.put(|b| row.encode(b)).map_err(io_at)?;
        }
        let link_count = out.rows - link_start;
        match subject_type {
            SubjectType::Org => counts.orgs += 1,
            SubjectType::Person => counts.persons += 1,
        }
        counts.nonconforming += s.nonconforming as u64;
        let row = SubjectRow {
            id: s.id,
            subject_type: s.subject_type,
            flags: if s.nonconforming {
                SubjectRow::NONCONFORMING
            } else {
                0
            },
            name,
            rec_start: rec_start as u32,
            rec_count: (record_out.rows - rec_start) as u32,
            link_start: link_start as u32,
            link_count: link_count as u32,
            class_mask,
        };
        subject_out.put(|b| row.encode(b)).map_err(io_at)?;
        ord += 1;
    }
    // A person's links to an org were both written above (the org is a subject too); any
    // left over would mean a link to an id that is not a subject, which pass 4 rules out.
    debug_assert!(by_person.peek().map_err(io_at)?.is_none());
    debug_assert!(by_org.peek().map_err(io_at)?.is_none());

    counts.subjects = subject_out.rows;
    counts.records = record_out.rows;
    counts.links = person_out.rows;
    let mut entries = Vec::new();
    for out in [
        subject_out,
        record_out,
        event_out,
        person_out,
        org_out,
        heap.out,
    ] {
        entries.push(out.finish().map_err(io_at)?);
    }
    Ok(Written {
        entries,
        counts,
        per_list,
    })
}

/// Writes ids.fst from a sorted (identifier, ordinal) sequence, then the check path's hash
/// index ids.idx from the same sequence. The index needs its entries (8 bytes a subject:
/// 1.4 GB for 170M subjects) in hash order, so they go through a sorter like every other
/// working set, and spill beyond its share of the memory budget.
pub(crate) fn write_ids_from(
    dir: &Path,
    ids: impl Iterator<Item = io::Result<([u8; 18], u64)>>,
    spill: &SpillDir,
) -> io::Result<Vec<FileEntry>> {
    let mut w = Sink::create(dir, FileKind::Ids)?;
    let mut index = spill.sorter::<IdixEntry>();
    let mut count = 0u64;
    {
        let mut b = FstWriter::new(&mut w)?;
        for item in ids {
            let (id, ord) = item?;
            b.insert(&id, ord)?;
            let ord = u32::try_from(ord).map_err(|_| io::Error::other("too many subjects"))?;
            index.push(IdixEntry(idix::entry(&id, ord)))?;
            count += 1;
        }
        b.finish()?;
    }
    let entry = w.finish()?.wait()?;
    super::test_hook_abort(FileKind::Ids.file_name());
    let mut sorted = index.finish()?.0.prefetch();
    let entries = std::iter::from_fn(move || sorted.next_item().transpose());
    let idix = idix::write_sorted(dir, count, entries.map(|e| e.map(|e| e.0)))?;
    Ok(vec![entry, idix])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn the_word_hasher_tells_apart_strings_that_differ_anywhere() {
        // Seeded: strings that differ in one byte at every position, in their length only
        // (a trailing NUL), and across the 8-byte boundary; no two may hash alike.
        let hasher = BuildHasherDefault::<WordHasher>::default();
        let mut seen = HashMap::new();
        let mut x = 3u64;
        for len in 0..24usize {
            for _ in 0..200 {
                crate::build::lcg(&mut x);
                let s: String = (0..len)
                    .map(|i| char::from(b'a' + ((x >> (i % 48)) % 3) as u8))
                    .collect();
                for t in [s.clone(), format!("{s}\0")] {
                    let h = hasher.hash_one(&t);
                    if let Some(other) = seen.insert(h, t.clone()) {
                        assert_eq!(other, t, "{other:?} and {t:?} hash alike");
                    }
                }
            }
        }
        assert!(seen.len() > 2000, "{} distinct strings", seen.len());
    }
}
