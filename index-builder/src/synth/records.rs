//! The record stream: one list row per requested record, with the repairs, objections and
//! deliberate faults that go with it.

use super::faults::{break_check, impossible_date, Fault, FAULTS};
use super::lists::{self, COURT_DEFAULTER, DEPARTMENTS, LISTS, SHARES, UNKNOWN_CODES};
use super::names::Text;
use super::places::{self, Place, PLACES};
use super::report::{FileStats, SynthError, SynthReport};
use super::rng::{mix, Rng};
use super::sink::{format_u64, Sink};
use super::subjects::{self, listed_person_key};
use super::{SynthOptions, LINKS_HEADER, LIST_HEADER, OBJECTIONS_HEADER, REPAIRS_HEADER};
use crate::date::Day;
use std::path::Path;

/// One list row in this many carries a deliberate fault (0.2 %).
const BAD_EVERY: u64 = 500;

/// A new subject is drawn for this share of records (per 10,000); the others reuse one
/// drawn before, so about 0.7 × N distinct subjects appear and early ones collect several
/// records, often in different domains.
const NEW_SUBJECT: u64 = 7_000;

const REPAIR_CHANCE: u64 = 100;
const OBJECTION_CHANCE: u64 = 50;
/// Share of repairs and objections followed by one for a record that does not exist.
const ORPHAN_CHANCE: u64 = 300;

/// A record id: list prefix, decision year and the record's sequence number.
#[derive(Clone, Copy)]
pub(super) struct RecordId {
    bytes: [u8; 32],
    len: usize,
}

impl RecordId {
    fn new(prefix: &str, year: i32, seq: u64) -> RecordId {
        let mut bytes = [0u8; 32];
        let mut len = 0;
        let mut put = |s: &[u8]| {
            bytes[len..len + s.len()].copy_from_slice(s);
            len += s.len();
        };
        put(prefix.as_bytes());
        let mut buf = [0u8; 20];
        put(format_u64(year as u64, &mut buf));
        let digits = format_u64(seq, &mut buf).len();
        for _ in digits..8 {
            put(b"0");
        }
        put(format_u64(seq, &mut buf));
        RecordId { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// One list row as written, kept for the row after it when that row is to repeat it.
#[derive(Clone, Copy)]
struct ListLine {
    list: usize,
    record_id: RecordId,
    code: &'static str,
    is_person: bool,
    id: [u8; 18],
    name: Text,
    authority: Text,
    doc_no: Text,
    reason: &'static str,
    decided: [u8; 10],
    from: [u8; 10],
    until: Option<Day>,
    act_ended: Option<Day>,
}

impl ListLine {
    fn write(&self, sink: &mut Sink) -> Result<(), SynthError> {
        sink.field(self.record_id.as_bytes());
        sink.field(self.code.as_bytes());
        sink.field(if self.is_person { b"person" } else { b"org" });
        sink.field(&self.id);
        sink.field(self.name.as_bytes());
        sink.field(self.authority.as_bytes());
        sink.field(self.doc_no.as_bytes());
        sink.field(self.reason.as_bytes());
        sink.field(&self.decided);
        sink.field(&self.from);
        sink.day(self.until);
        sink.end_day(self.act_ended)
    }
}

pub(super) struct Generator {
    pub(super) seed: u64,
    records: u64,
    pub(super) rng: Rng,
    bad_offset: u64,
    fault_offset: u64,
    lists: Vec<Sink>,
    repairs: Sink,
    objections: Sink,
    pub(super) links: Sink,
    pub(super) orgs_drawn: u64,
    pub(super) persons_drawn: u64,
    pub(super) link_persons: u64,
    /// The valid row just written when the next row is a duplicate of it.
    original: Option<ListLine>,
    orphans: u64,
    rows_per_list: [u64; 12],
    valid_per_list: [u64; 12],
    /// List rows naming an organisation, then a person.
    rows_per_type: [u64; 2],
    pub(super) report: SynthReport,
}

pub(super) const START: Day = Day(16_436); // 2015-01-01
pub(super) const END: Day = Day(20_757); // 2026-10-31
const RETENTION_CUTOFF: Day = Day(18_628); // 2021-01-01

impl Generator {
    pub(super) fn new(out: &Path, opts: &SynthOptions) -> Result<Generator, SynthError> {
        let mut lists = Vec::with_capacity(DEPARTMENTS.len());
        for dept in DEPARTMENTS {
            lists.push(Sink::create(
                out,
                &format!("lists/{dept}.csv"),
                LIST_HEADER,
            )?);
        }
        let mut setup = Rng::new(mix(&[opts.seed, 0xBAD]));
        Ok(Generator {
            seed: opts.seed,
            records: opts.records,
            rng: Rng::new(mix(&[opts.seed, 0x5EC])),
            // The first fault falls on one of the first 500 rows, never on row 0, so a
            // duplicate always has an earlier valid row to copy its id from.
            bad_offset: 1 + setup.below(BAD_EVERY - 1),
            fault_offset: setup.below(FAULTS.len() as u64),
            lists,
            repairs: Sink::create(out, "repairs.csv", REPAIRS_HEADER)?,
            objections: Sink::create(out, "objections.csv", OBJECTIONS_HEADER)?,
            links: Sink::create(out, "links.csv", LINKS_HEADER)?,
            orgs_drawn: 0,
            persons_drawn: 0,
            link_persons: 0,
            original: None,
            orphans: 0,
            rows_per_list: [0; 12],
            valid_per_list: [0; 12],
            rows_per_type: [0; 2],
            report: SynthReport {
                seed: opts.seed,
                records_requested: opts.records,
                ..SynthReport::default()
            },
        })
    }

    /// Draws a subject key: a new one, or one drawn before.
    pub(super) fn draw(rng: &mut Rng, drawn: &mut u64) -> (u64, bool) {
        if *drawn == 0 || rng.chance(NEW_SUBJECT) {
            *drawn += 1;
            (*drawn - 1, true)
        } else {
            (rng.below(*drawn), false)
        }
    }

    fn fault(&self, i: u64) -> Option<Fault> {
        let slot = i + self.bad_offset;
        slot.is_multiple_of(BAD_EVERY).then(|| {
            FAULTS[((slot / BAD_EVERY + self.fault_offset) % FAULTS.len() as u64) as usize]
        })
    }

    /// Whether the next duplicate repeats its original exactly (the same row delivered
    /// twice: the builder rejects the copy and keeps the record) rather than reusing only
    /// its record_id (the builder rejects both). The two kinds take turns, identical first.
    fn next_duplicate_is_identical(&self) -> bool {
        self.report.bad.identical_duplicates == self.report.bad.duplicate_record_id
    }

    /// Writes list row `i` (0-based) and whatever goes with it.
    pub(super) fn record(&mut self, i: u64) -> Result<(), SynthError> {
        let fault = self.fault(i);
        if fault == Some(Fault::DuplicateRecordId) && self.next_duplicate_is_identical() {
            return self.identical_copy();
        }
        // The row a duplicate is to copy or contradict.
        let copied = i + 1 < self.records && self.fault(i + 1) == Some(Fault::DuplicateRecordId);
        let drawn = self.rng.weighted(&SHARES);
        // A duplicate goes into the same file as the row whose id it reuses, after it, so
        // "the later row of the pair" does not depend on the order files are read in.
        let list = match (fault, &self.original) {
            (Some(Fault::DuplicateRecordId), Some(original)) => original.list,
            _ => drawn,
        };
        let spec = &LISTS[list];
        let is_person = self.rng.chance(spec.person_share);
        let decided = Day(self.rng.range(START.0 as i64, END.0 as i64) as i32);
        let from = if self.rng.chance(7_000) {
            decided
        } else {
            decided.add_days(self.rng.range(1, 15) as i32)
        };
        let (reason, open_ended) = lists::pick_reason(list, &mut self.rng);
        let mut until = lists::effective_until(list, from, open_ended, &mut self.rng);

        // The subject, and the place whose authorities decided.
        let (mut id, name, subject_place, nonconforming) = if is_person {
            let (k, _) = Self::draw(&mut self.rng, &mut self.persons_drawn);
            let p = subjects::person(self.seed, listed_person_key(k));
            (p.id, p.name, places::pick_place(&mut self.rng), false)
        } else {
            let (k, new) = Self::draw(&mut self.rng, &mut self.orgs_drawn);
            let o = subjects::org(self.seed, k);
            if new {
                self.report.nonconforming_subjects += o.nonconforming as u64;
                self.write_links(&o, k, decided)?;
            }
            (o.id, o.name, o.place, o.nonconforming)
        };
        // Regulators list the organisations registered with them; courts and customs also
        // reach subjects from elsewhere.
        let local = match spec.code {
            "court_defaulter" | "customs_dishonest" => 8_000,
            _ => 9_700,
        };
        let place = if self.rng.chance(local) {
            subject_place
        } else {
            places::pick_place(&mut self.rng)
        };
        let place = &PLACES[place];
        let mut authority = Text::new();
        lists::authority(list, place, &mut self.rng, &mut authority);
        let mut doc_no = Text::new();
        let year = decided.ymd().0;
        lists::doc_no(list, place, year, &mut self.rng, &mut doc_no);

        // Personal retention starts when the dishonest act ended, before or after listing.
        // A real export has already shed most records erased by retention, so only one in
        // ten of those whose act ended before 2021 is kept, to exercise the builder's drop.
        let act_ended = (is_person && !spec.red && self.rng.chance(2_000))
            .then(|| {
                if self.rng.chance(5_000) {
                    decided.add_days(-(self.rng.range(30, 720) as i32))
                } else {
                    decided.add_days(self.rng.range(30, 1_500) as i32).min(END)
                }
            })
            .filter(|&ended| ended >= RETENTION_CUTOFF || self.rng.chance(1_000))
            // A faulty row, and the row whose id a duplicate may reuse, carry no end of act:
            // a builder that drops erased records first would otherwise never see the fault.
            .filter(|_| fault.is_none() && self.fault(i + 1).is_none());

        let mut record_id = RecordId::new(spec.prefix, year, i + 1);
        let mut code = spec.code;
        let mut decided_bytes = decided.to_bytes();
        let mut from_bytes = from.to_bytes();
        match fault {
            None => {}
            Some(Fault::BadCheck) => {
                self.report.bad.bad_check += 1;
                break_check(&mut id, is_person);
            }
            Some(Fault::ImpossibleDate) => {
                self.report.bad.impossible_date += 1;
                let which = self.report.bad.impossible_date;
                let target = if which.is_multiple_of(2) {
                    &mut decided_bytes
                } else {
                    &mut from_bytes
                };
                *target = impossible_date(year, which);
            }
            Some(Fault::UnknownListCode) => {
                self.report.bad.unknown_list_code += 1;
                let n = self.report.bad.unknown_list_code as usize;
                code = UNKNOWN_CODES[n % UNKNOWN_CODES.len()];
            }
            Some(Fault::DuplicateRecordId) => {
                self.report.bad.duplicate_record_id += 1;
                record_id = self
                    .original
                    .take()
                    .expect("the row before a fault is valid")
                    .record_id;
            }
            Some(Fault::UntilBeforeFrom) => {
                self.report.bad.until_before_from += 1;
                until = Some(from.add_days(-(self.rng.range(1, 365) as i32)));
            }
        }

        let line = ListLine {
            list,
            record_id,
            code,
            is_person,
            id,
            name,
            authority,
            doc_no,
            reason,
            decided: decided_bytes,
            from: from_bytes,
            until,
            act_ended,
        };
        line.write(&mut self.lists[spec.dept])?;

        if fault != Some(Fault::UnknownListCode) {
            self.rows_per_list[list] += 1;
        }
        self.rows_per_type[is_person as usize] += 1;
        if fault.is_some() {
            return Ok(());
        }

        self.valid_per_list[list] += 1;
        // Rows of a record whose copies differ are rejected with them: counted here.
        let contradicted = copied && !self.next_duplicate_is_identical();
        if copied {
            self.original = Some(line);
        }
        self.report.nonconforming_rows += nonconforming as u64;
        self.report.open_ended_court_defaulter +=
            (list == COURT_DEFAULTER && until.is_none()) as u64;
        if let Some(ended) = act_ended {
            self.report.act_ended_on_set += 1;
            self.report.act_ended_before_2021 += (ended < RETENTION_CUTOFF) as u64;
            // A record the builder may drop as erased gets no repair or objection, which it
            // would otherwise have to report as pointing at an unknown record.
            return Ok(());
        }
        // The row a duplicate copies always has a repair, so that every source shows both
        // fates of a duplicated record's events: attached to the copy kept, or rejected.
        if copied || self.rng.chance(REPAIR_CHANCE) {
            let span = until.map_or(1_200, |u| (u.0 - from.0).clamp(1, 1_200));
            let on = from.add_days(self.rng.range(1, span as i64) as i32);
            self.write_repair(&record_id, on, place, &authority)?;
            self.report.bad.events_of_contradicted += contradicted as u64;
            if self.rng.chance(ORPHAN_CHANCE) {
                let orphan = self.orphan_id(spec.prefix, year);
                self.write_repair(&orphan, on, place, &authority)?;
                self.report.bad.orphan_repairs += 1;
            }
        }
        if self.rng.chance(OBJECTION_CHANCE) {
            let filed = decided.add_days(self.rng.range(3, 180) as i32);
            self.write_objection(&record_id, filed)?;
            self.report.bad.events_of_contradicted += contradicted as u64;
            if self.rng.chance(ORPHAN_CHANCE) {
                let orphan = self.orphan_id(spec.prefix, year);
                self.write_objection(&orphan, filed)?;
                self.report.bad.orphan_objections += 1;
            }
        }
        Ok(())
    }

    /// Writes the valid row before again, unchanged, into the same file: the same row
    /// delivered twice.
    fn identical_copy(&mut self) -> Result<(), SynthError> {
        let line = self
            .original
            .take()
            .expect("the row before a fault is valid");
        self.report.bad.identical_duplicates += 1;
        line.write(&mut self.lists[LISTS[line.list].dept])?;
        self.rows_per_list[line.list] += 1;
        self.rows_per_type[line.is_person as usize] += 1;
        Ok(())
    }

    /// An id of the list's shape whose sequence number lies beyond every written row.
    fn orphan_id(&mut self, prefix: &str, year: i32) -> RecordId {
        self.orphans += 1;
        RecordId::new(prefix, year, self.records + self.orphans)
    }

    fn write_repair(
        &mut self,
        id: &RecordId,
        on: Day,
        place: &Place,
        authority: &Text,
    ) -> Result<(), SynthError> {
        let action = ["repair", "removal", "revocation"][self.rng.weighted(&[60, 25, 15])];
        let mut doc = Text::new();
        lists::repair_doc_no(action, place, on.ymd().0, &mut self.rng, &mut doc);
        let s = &mut self.repairs;
        s.field(id.as_bytes());
        s.field(action.as_bytes());
        s.day(Some(on));
        s.field(authority.as_bytes());
        s.end(doc.as_bytes())
    }

    fn write_objection(&mut self, id: &RecordId, filed: Day) -> Result<(), SynthError> {
        let s = &mut self.objections;
        s.field(id.as_bytes());
        s.day(Some(filed));
        if self.rng.chance(2_500) {
            self.report.objections_open += 1;
            s.field(b"");
            return s.end(b"");
        }
        // Objections are answered within about twelve working days, sometimes later.
        s.day(Some(filed.add_days(self.rng.range(5, 40) as i32)));
        s.end(["upheld", "corrected", "revoked"][self.rng.weighted(&[60, 25, 15])].as_bytes())
    }

    /// Flushes every file and completes the report.
    pub(super) fn finish(mut self) -> Result<SynthReport, SynthError> {
        let mut report = std::mem::take(&mut self.report);
        let mut sinks: Vec<&mut Sink> = self.lists.iter_mut().collect();
        sinks.push(&mut self.repairs);
        sinks.push(&mut self.objections);
        sinks.push(&mut self.links);
        for sink in sinks {
            sink.finish()?;
            report.bytes += sink.bytes;
            report.files.insert(
                sink.rel.clone(),
                FileStats {
                    rows: sink.rows,
                    bytes: sink.bytes,
                },
            );
        }
        report.list_rows_written = self.lists.iter().map(|s| s.rows).sum();
        report.repairs = self.repairs.rows;
        report.objections = self.objections.rows;
        report.links = self.links.rows;
        for (l, spec) in LISTS.iter().enumerate() {
            report
                .rows_per_list
                .insert(spec.code.to_string(), self.rows_per_list[l]);
            report
                .valid_per_list
                .insert(spec.code.to_string(), self.valid_per_list[l]);
        }
        report.valid_list_rows = self.valid_per_list.iter().sum();
        report
            .rows_per_subject_type
            .insert("org".into(), self.rows_per_type[0]);
        report
            .rows_per_subject_type
            .insert("person".into(), self.rows_per_type[1]);
        report
            .distinct_subjects
            .insert("org".into(), self.orgs_drawn);
        report
            .distinct_subjects
            .insert("person".into(), self.persons_drawn);
        report.expected_rejects = report.bad.total();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_and_calendar_constants() {
        assert_eq!(RecordId::new("ZX", 2023, 42).as_bytes(), b"ZX202300000042");
        assert_eq!(
            RecordId::new("ZX", 2023, 123_456_789).as_bytes(),
            b"ZX2023123456789"
        );
        assert_eq!(START.to_string(), "2015-01-01");
        assert_eq!(END.to_string(), "2026-10-31");
        assert_eq!(RETENTION_CUTOFF.to_string(), "2021-01-01");
    }
}
