//! Compiling a source directory into a snapshot generation.
//!
//! The source reader validates each row on its own; this module does what needs the whole
//! data set: duplicate record ids, repairs and objections that name no record, personal
//! retention at build time, subject ordinals, the tables, the FSTs and the bitmaps. Then it
//! writes a generation and publishes it atomically (see [`crate::publish`]).

mod named;
mod record_index;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use roaring::RoaringBitmap;
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::format::layout::{
    self, opt_high, opt_low, EventRow, LinkRow, RecordRow, StrRef, SubjectRow, EVENT_OBJECTION,
    NONE_HIGH,
};
use crate::format::writer::{hex, write_file, FileWriter, FxBuild, StringHeap};
use crate::format::{FileKind, FORMAT_VERSION};
use crate::manifest::{rfc3339_utc, Counts, FileEntry, ListEntry, Manifest, SetCount, SourceEntry};
use crate::model::{Class, SubjectType};
use crate::publish::{self, TempGeneration};
use crate::source::{
    self, Encoding, LinkRow as SrcLink, ListRow, ObjectionRow, Reject, RepairRow, SourceOptions,
    SourceSink,
};
use named::NamedSubjects;
use record_index::RecordIndex;

/// Years a person's negative record is kept after the act ended (seed 六(七), rule 6).
pub const PERSONAL_RETENTION_YEARS: i32 = 5;

pub struct BuildOptions {
    pub source: PathBuf,
    /// The snapshot root; the new generation is published under it.
    pub out: PathBuf,
    pub catalog: Catalog,
    /// Fail the build when more rows than this are rejected (`None`: no limit).
    pub max_rejects: Option<u64>,
    pub history_from: Option<Day>,
    /// The build's "today" (CST): retention and birth-date checks are relative to it.
    pub today: Day,
    /// How many generations to keep under the root.
    pub keep: usize,
    pub encoding: Encoding,
}

pub struct BuildReport {
    /// Seconds spent in each phase, in order.
    pub phases: Vec<(&'static str, f64)>,
    pub generation: PathBuf,
    pub manifest: Manifest,
    pub rejects_path: PathBuf,
    pub rejects: Vec<Reject>,
    pub pruned: Vec<String>,
}

#[derive(Debug)]
pub enum BuildError {
    Source(source::SourceError),
    Io {
        path: PathBuf,
        err: io::Error,
    },
    TooManyRejects {
        count: u64,
        max: u64,
        report: PathBuf,
    },
    /// A limit of the format was reached (more than 2^32 records, a string over 16 MiB…).
    Limit(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Source(e) => write!(f, "{e}"),
            BuildError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            BuildError::TooManyRejects { count, max, report } => write!(
                f,
                "{count} rows rejected, more than --max-rejects {max}; nothing was published. See {} for each row and reason",
                report.display()
            ),
            BuildError::Limit(what) => write!(f, "format limit: {what}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl From<source::SourceError> for BuildError {
    fn from(e: source::SourceError) -> BuildError {
        BuildError::Source(e)
    }
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> BuildError + '_ {
    move |err| BuildError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Builds and publishes a generation. On any error nothing is published and `CURRENT` is
/// untouched; the rejects report is written either way.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let mut phases = Phases::default();
    let codes: Vec<&str> = opts.catalog.lists.iter().map(|l| l.code.as_str()).collect();
    let mut asm = Assembler::new(opts.today, opts.catalog.lists.len());
    let src_opts = SourceOptions {
        encoding: opts.encoding,
        today: opts.today,
    };
    // Validating rows is most of the reading cost and is independent per file: workers do
    // it while this thread assembles (see `source::read_source_parallel`).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let summary = source::read_source_parallel(&opts.source, &codes, &src_opts, &mut asm, threads)?;
    let mut sources: Vec<SourceEntry> = summary
        .files
        .iter()
        .map(|f| SourceEntry {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            rows: f.rows,
            rejected: f.rejected,
            encoding: f.encoding.to_string(),
        })
        .collect();
    phases.mark("read sources");
    asm.resolve_duplicates();
    // Cross-row rejects (duplicates, unknown references) are named and counted against the
    // file of their row, like the reader's own rejects.
    for (file, line, record_id, reason) in std::mem::take(&mut asm.cross) {
        let path = summary
            .files
            .get(file as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        if let Some(s) = sources.get_mut(file as usize) {
            s.rejected += 1;
        }
        let reason = name_locations(&reason, &summary.files);
        asm.rejects.push(Reject {
            file: path,
            line,
            record_id,
            reason,
        });
    }

    std::fs::create_dir_all(&opts.out).map_err(io_at(&opts.out))?;
    let rejects_path = opts.out.join("rejects.csv");
    let tmp_rejects = opts
        .out
        .join(format!(".rejects.csv.tmp-{}", std::process::id()));
    source::write_rejects_csv(&tmp_rejects, &asm.rejects).map_err(io_at(&tmp_rejects))?;
    std::fs::rename(&tmp_rejects, &rejects_path).map_err(io_at(&rejects_path))?;
    let reject_count = asm.rejects.len() as u64;
    if let Some(max) = opts.max_rejects {
        if reject_count > max {
            return Err(BuildError::TooManyRejects {
                count: reject_count,
                max,
                report: rejects_path,
            });
        }
    }

    let rejects = std::mem::take(&mut asm.rejects);
    phases.mark("cross-check");
    let tables = asm.finish(&opts.catalog)?;
    phases.mark("lay out tables");
    let history_from = opts.history_from.or(tables.earliest_from);
    let gen = TempGeneration::begin(&opts.out).map_err(io_at(&opts.out))?;
    let mut entries = tables
        .write(gen.dir(), &opts.catalog)
        .map_err(io_at(gen.dir()))?;

    phases.mark("write files");
    let mut sha = Sha256::new();
    for e in &entries {
        sha.update(format!("{}:{}\n", e.name, e.sha256));
    }
    let content_sha256 = hex(&sha.finalize());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut counts = tables.counts;
    counts.rejects = reject_count;
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        snapshot_id: content_sha256[..16].to_string(),
        content_sha256,
        built_at: rfc3339_utc(now),
        built_on: opts.today,
        history_from,
        builder_version: env!("CARGO_PKG_VERSION").to_string(),
        lists: tables.lists,
        counts,
        sources: std::mem::take(&mut sources),
        files: entries.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    let m = write_file(gen.dir(), FileKind::Manifest, &json).map_err(io_at(gen.dir()))?;
    test_hook_abort("MANIFEST");
    entries.push(m);
    let generation = gen
        .commit(&manifest.snapshot_id)
        .map_err(io_at(&opts.out))?;
    let pruned = publish::prune(&opts.out, opts.keep).map_err(io_at(&opts.out))?;
    manifest.files = entries;
    phases.mark("publish");
    Ok(BuildReport {
        phases: phases.done,
        generation,
        manifest,
        rejects_path,
        rejects,
        pruned,
    })
}

/// Replaces `\u{1}<file index>:` placeholders in a reason with the file's path.
fn name_locations(reason: &str, files: &[source::SourceFile]) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut parts = reason.split('\u{1}');
    out.push_str(parts.next().unwrap_or(""));
    for part in parts {
        let (idx, rest) = part.split_once(':').unwrap_or((part, ""));
        let name = idx
            .parse::<usize>()
            .ok()
            .and_then(|i| files.get(i))
            .map_or(idx, |f| f.path.as_str());
        out.push_str(name);
        out.push(':');
        out.push_str(rest);
    }
    out
}

struct Phases {
    start: std::time::Instant,
    last: Option<std::time::Instant>,
    done: Vec<(&'static str, f64)>,
}

impl Default for Phases {
    fn default() -> Phases {
        Phases {
            start: std::time::Instant::now(),
            last: None,
            done: Vec::new(),
        }
    }
}

impl Phases {
    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        let since = self.last.unwrap_or(self.start);
        self.done
            .push((name, now.duration_since(since).as_secs_f64()));
        self.last = Some(now);
    }
}

/// Crash-safety tests set `CREDGATE_TEST_ABORT_AFTER` to a file name: the builder aborts the
/// process right after writing that file, as a kill at that moment would.
fn test_hook_abort(file: &str) {
    if std::env::var_os("CREDGATE_TEST_ABORT_AFTER").is_some_and(|v| v == file) {
        std::process::abort();
    }
}

struct SubjectAcc {
    id: [u8; 18],
    subject_type: SubjectType,
    nonconforming: bool,
    name: StrRef,
    /// decided_on of the record the name came from (the newest record names the subject).
    name_from: i32,
}

struct RecordAcc {
    subject: u32,
    list: u16,
    record_id: StrRef,
    authority: StrRef,
    doc_no: StrRef,
    reason: StrRef,
    subject_name: StrRef,
    decided_on: i32,
    effective_from: i32,
    effective_until: i32,
    act_ended_on: i32,
    erase_on: i32,
    file: u16,
    line: u64,
    state: RecState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecState {
    Live,
    /// Erased by personal retention before the build (rule 6).
    Erased,
    /// Rejected as a duplicate record_id.
    Duplicate,
}

struct EventAcc {
    record: u32,
    row: EventRow,
    file: u16,
    line: u64,
}

struct LinkAcc {
    org: u32,
    person: u32,
    role: u8,
    from: i32,
    until: i32,
}

/// Collects validated rows, then lays out the tables.
struct Assembler {
    today: Day,
    heap: StringHeap,
    subject_index: HashMap<[u8; 18], u32, FxBuild>,
    subjects: Vec<SubjectAcc>,
    records: Vec<RecordAcc>,
    record_ids: RecordIndex,
    /// For each duplicated record id: the first row and every later one.
    duplicates: Vec<(u32, u16, u64)>,
    events: Vec<EventAcc>,
    links: Vec<LinkAcc>,
    /// Rows the source reader rejected on their own.
    rejects: Vec<Reject>,
    /// Rows rejected for what other rows say: (file index, line, record_id, reason).
    cross: Vec<(u16, u64, String, String)>,
    earliest_from: Option<Day>,
    erased_at_build: u64,
    events_of_erased: u64,
}

impl Assembler {
    fn new(today: Day, _lists: usize) -> Assembler {
        Assembler {
            today,
            heap: StringHeap::default(),
            subject_index: HashMap::default(),
            subjects: Vec::new(),
            records: Vec::new(),
            record_ids: RecordIndex::default(),
            duplicates: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            rejects: Vec::new(),
            cross: Vec::new(),
            earliest_from: None,
            erased_at_build: 0,
            events_of_erased: 0,
        }
    }

    fn subject(
        &mut self,
        id: &[u8; 18],
        t: SubjectType,
        nonconforming: bool,
    ) -> Result<u32, SubjectType> {
        // One probe whether the subject is new or known.
        let next = self.subjects.len() as u32;
        let i = *self.subject_index.entry(*id).or_insert(next);
        if i != next {
            let s = &mut self.subjects[i as usize];
            if s.subject_type != t {
                return Err(s.subject_type);
            }
            s.nonconforming |= nonconforming;
            return Ok(i);
        }
        self.subjects.push(SubjectAcc {
            id: *id,
            subject_type: t,
            nonconforming,
            name: StrRef::default(),
            name_from: i32::MIN,
        });
        Ok(i)
    }

    fn cross_reject(&mut self, file: u16, line: u64, record_id: &str, reason: String) {
        self.cross.push((file, line, record_id.to_string(), reason));
    }

    /// Rejects every row of a duplicated record id, naming where each copy is. Locations are
    /// written as `\u{1}file:line` placeholders that [`name_locations`] resolves.
    fn resolve_duplicates(&mut self) {
        let dups = std::mem::take(&mut self.duplicates);
        let mut first_done = std::collections::HashSet::new();
        for (first, file, line) in dups {
            let (ffile, fline, rid) = {
                let r = &self.records[first as usize];
                (r.file, r.line, self.heap.get(r.record_id).to_string())
            };
            self.cross_reject(file, line, &rid, format!("duplicate record_id {rid:?}: also at \u{1}{ffile}:{fline}; every copy rejected"));
            if first_done.insert(first) {
                self.cross_reject(ffile, fline, &rid, format!("duplicate record_id {rid:?}: also at \u{1}{file}:{line}; every copy rejected"));
            }
            self.records[first as usize].state = RecState::Duplicate;
        }
        // Repairs and objections name a record by id; when every copy of that id is rejected,
        // they refer to nothing and are rejected too, never dropped silently.
        let orphaned: Vec<(u16, u64, u8, StrRef)> = self
            .events
            .iter()
            .filter(|e| self.records[e.record as usize].state == RecState::Duplicate)
            .map(|e| {
                (
                    e.file,
                    e.line,
                    e.row.kind,
                    self.records[e.record as usize].record_id,
                )
            })
            .collect();
        for (file, line, kind, rid) in orphaned {
            let rid = self.heap.get(rid).to_string();
            let what = if kind == EVENT_OBJECTION {
                "objection"
            } else {
                "repair"
            };
            let reason =
                format!("{what} for record_id {rid:?}, whose rows were rejected as duplicates");
            self.cross_reject(file, line, &rid, reason);
        }
    }

    fn finish(mut self, catalog: &Catalog) -> Result<Tables, BuildError> {
        // The lookup tables served the reading; freeing them first lowers the peak, which
        // comes while the tables below coexist with what they are made from.
        self.subject_index = HashMap::default();
        self.record_ids = RecordIndex::default();
        self.heap.seal();
        // Events of rejected (duplicate) records go with them: report each.
        let mut kept_events = Vec::with_capacity(self.events.len());
        for e in std::mem::take(&mut self.events) {
            match self.records[e.record as usize].state {
                RecState::Live => kept_events.push(e),
                RecState::Erased => self.events_of_erased += 1,
                RecState::Duplicate => {}
            }
        }

        // Ordinals: subjects in identifier order, so ids.fst is built in one pass.
        // Identifiers are unique, so an unstable sort on (first 16 bytes, last 2 bytes) as
        // big-endian integers gives byte order without indirect 18-byte comparisons.
        let mut keyed: Vec<(u128, u16, u32)> = self
            .subjects
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (hi, lo) = s.id.split_at(16);
                (
                    u128::from_be_bytes(hi.try_into().expect("16 bytes")),
                    u16::from_be_bytes(lo.try_into().expect("2 bytes")),
                    i as u32,
                )
            })
            .collect();
        keyed.sort_unstable();
        let order: Vec<u32> = keyed.into_iter().map(|k| k.2).collect();

        // The names index needs only each subject's name in ordinal order: it is normalised
        // and sorted on a second thread while this one lays out the tables.
        let heap = std::mem::take(&mut self.heap);
        let names: Vec<StrRef> = order
            .iter()
            .map(|&p| self.subjects[p as usize].name)
            .collect();
        let (tables, named) = std::thread::scope(|scope| {
            let named = scope.spawn(|| NamedSubjects::collect(&names, &heap));
            let tables = self.lay_out(catalog, &heap, order, kept_events);
            (tables, join(named))
        });
        let mut tables = tables?;
        tables.heap = heap;
        tables.counts.names = named.len() as u64;
        tables.named = named;
        Ok(tables)
    }

    /// Everything but the names index, from the subjects in identifier order.
    fn lay_out(
        mut self,
        catalog: &Catalog,
        heap: &StringHeap,
        order: Vec<u32>,
        mut kept_events: Vec<EventAcc>,
    ) -> Result<Tables, BuildError> {
        let mut ord_of = vec![0u32; order.len()];
        for (ord, &prov) in order.iter().enumerate() {
            ord_of[prov as usize] = ord as u32;
        }

        // Records: live ones, by subject ordinal, then effective_from, then record id.
        // The key packs (ordinal, effective_from) into one integer; record ids (unique among
        // live records) are compared only on ties, as bytes.
        let recs = &self.records;
        let mut keyed: Vec<(u64, u32)> = recs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RecState::Live)
            .map(|(i, r)| {
                let from = (r.effective_from as u32) ^ 0x8000_0000;
                (
                    ((ord_of[r.subject as usize] as u64) << 32) | from as u64,
                    i as u32,
                )
            })
            .collect();
        keyed.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                heap.raw(recs[a.1 as usize].record_id)
                    .cmp(heap.raw(recs[b.1 as usize].record_id))
            })
        });
        let rec_order: Vec<u32> = keyed.into_iter().map(|k| k.1).collect();
        if rec_order.len() > u32::MAX as usize - 1 {
            return Err(BuildError::Limit("more than 2^32 records".into()));
        }
        let mut new_index = vec![u32::MAX; self.records.len()];
        for (i, &old) in rec_order.iter().enumerate() {
            new_index[old as usize] = i as u32;
        }

        // Events grouped by their record's new index, in date order.
        for e in &mut kept_events {
            e.record = new_index[e.record as usize];
            e.row.record = e.record;
        }
        kept_events.sort_by_key(|e| (e.record, e.row.date, e.row.kind));

        let n_lists = catalog.lists.len();
        let mut per_list = vec![(0u64, RoaringBitmap::new()); n_lists];
        let mut record_rows = Vec::with_capacity(rec_order.len());
        let mut ev_at = 0usize;
        let mut repairs = 0u64;
        let mut objections = 0u64;
        let mut earliest = self.earliest_from;
        for (i, &old) in rec_order.iter().enumerate() {
            let r = &self.records[old as usize];
            let start = ev_at;
            let mut stop_on = NONE_HIGH;
            while ev_at < kept_events.len() && kept_events[ev_at].record == i as u32 {
                let e = &kept_events[ev_at].row;
                if e.kind == EVENT_OBJECTION {
                    objections += 1;
                    if crate::model::Outcome::from_code(e.outcome).is_some_and(|o| o.ends_record())
                    {
                        stop_on = stop_on.min(e.closed_on);
                    }
                } else {
                    repairs += 1;
                    stop_on = stop_on.min(e.date);
                }
                ev_at += 1;
            }
            let subject = ord_of[r.subject as usize];
            per_list[r.list as usize].0 += 1;
            per_list[r.list as usize].1.insert(subject);
            earliest =
                Some(earliest.map_or(Day(r.effective_from), |d: Day| d.min(Day(r.effective_from))));
            record_rows.push(RecordRow {
                record_id: r.record_id,
                authority: r.authority,
                doc_no: r.doc_no,
                reason: r.reason,
                subject,
                list: r.list,
                decided_on: r.decided_on,
                effective_from: r.effective_from,
                effective_until: r.effective_until,
                act_ended_on: r.act_ended_on,
                erase_on: r.erase_on,
                stop_on,
                event_start: start as u32,
                event_count: (ev_at - start) as u32,
                subject_name: r.subject_name,
            });
        }

        drop(rec_order);
        drop(new_index);
        self.records = Vec::new();

        // Links, both directions, with ordinals.
        let mut by_person: Vec<LinkRow> = self
            .links
            .iter()
            .map(|l| LinkRow {
                this: ord_of[l.person as usize],
                other: ord_of[l.org as usize],
                role: l.role,
                from: l.from,
                until: l.until,
            })
            .collect();
        by_person.sort_unstable_by_key(|l| (l.this, l.other, l.role, l.from));
        let mut by_org: Vec<LinkRow> = by_person
            .iter()
            .map(|l| LinkRow {
                this: l.other,
                other: l.this,
                ..*l
            })
            .collect();
        by_org.sort_unstable_by_key(|l| (l.this, l.other, l.role, l.from));

        // Subjects with their ranges.
        let mut subject_rows = Vec::with_capacity(order.len());
        let (mut rec_at, mut lp_at, mut lo_at) = (0usize, 0usize, 0usize);
        let mut counts = Counts::default();
        for (ord, &prov) in order.iter().enumerate() {
            let s = &self.subjects[prov as usize];
            let ord = ord as u32;
            let rec_start = rec_at;
            let mut class_mask = 0u8;
            while rec_at < record_rows.len() && record_rows[rec_at].subject == ord {
                class_mask |= 1
                    << catalog.lists[record_rows[rec_at].list as usize]
                        .class
                        .code();
                rec_at += 1;
            }
            let (table, at) = match s.subject_type {
                SubjectType::Person => (&by_person, &mut lp_at),
                SubjectType::Org => (&by_org, &mut lo_at),
            };
            let link_start = *at;
            while *at < table.len() && table[*at].this == ord {
                *at += 1;
            }
            match s.subject_type {
                SubjectType::Org => counts.orgs += 1,
                SubjectType::Person => counts.persons += 1,
            }
            counts.nonconforming += s.nonconforming as u64;
            subject_rows.push(SubjectRow {
                id: s.id,
                subject_type: s.subject_type.code(),
                flags: if s.nonconforming {
                    SubjectRow::NONCONFORMING
                } else {
                    0
                },
                name: s.name,
                rec_start: rec_start as u32,
                rec_count: (rec_at - rec_start) as u32,
                link_start: link_start as u32,
                link_count: (*at - link_start) as u32,
                class_mask,
            });
        }

        // Names: normalised name → subjects.

        // Bitmaps and counts per list, class and domain.
        let mut bitmaps = Vec::new();
        let mut per_class: HashMap<Class, (u64, RoaringBitmap)> = HashMap::new();
        let mut per_domain: HashMap<&str, (u64, RoaringBitmap)> = HashMap::new();
        for (l, (n, bm)) in catalog.lists.iter().zip(&per_list) {
            counts.per_list.insert(
                l.code.clone(),
                SetCount {
                    records: *n,
                    subjects: bm.len(),
                },
            );
            let c = per_class.entry(l.class).or_default();
            c.0 += n;
            c.1 |= bm;
            let d = per_domain.entry(l.domain.as_str()).or_default();
            d.0 += n;
            d.1 |= bm;
            bitmaps.push((layout::BITMAP_LIST, l.code.clone(), bm.clone()));
        }
        for class in Class::ALL {
            let (n, bm) = per_class.remove(class).unwrap_or_default();
            counts.per_class.insert(
                class.as_str().to_string(),
                SetCount {
                    records: n,
                    subjects: bm.len(),
                },
            );
            bitmaps.push((layout::BITMAP_CLASS, class.as_str().to_string(), bm));
        }
        let mut domains: Vec<_> = per_domain.into_iter().collect();
        domains.sort_by(|a, b| a.0.cmp(b.0));
        for (d, (n, bm)) in domains {
            counts.per_domain.insert(
                d.to_string(),
                SetCount {
                    records: n,
                    subjects: bm.len(),
                },
            );
            bitmaps.push((layout::BITMAP_DOMAIN, d.to_string(), bm));
        }

        counts.subjects = subject_rows.len() as u64;
        counts.records = record_rows.len() as u64;
        counts.repairs = repairs;
        counts.objections = objections;
        counts.links = by_person.len() as u64;
        counts.erased_at_build = self.erased_at_build;
        counts.events_of_erased = self.events_of_erased;

        let lists = catalog
            .lists
            .iter()
            .map(|l| ListEntry {
                code: l.code.clone(),
                name: l.name.clone(),
                class: l.class,
                domain: l.domain.clone(),
            })
            .collect();
        Ok(Tables {
            heap: StringHeap::default(),
            subjects: subject_rows,
            records: record_rows,
            events: kept_events.into_iter().map(|e| e.row).collect(),
            by_person,
            by_org,
            named: NamedSubjects::default(),
            bitmaps,
            counts,
            lists,
            earliest_from: earliest,
        })
    }
}

impl SourceSink for Assembler {
    fn list_row(&mut self, row: ListRow) {
        let subject = match self.subject(&row.subject_id, row.subject_type, row.nonconforming) {
            Ok(s) => s,
            Err(other) => {
                let id = String::from_utf8_lossy(&row.subject_id).into_owned();
                let reason = format!(
                    "subject_id {id} is already known with subject_type {other}; rows disagree on subject_type"
                );
                self.cross_reject(row.file, row.line, &row.record_id, reason);
                return;
            }
        };
        let from = row.effective_from;
        self.earliest_from = Some(self.earliest_from.map_or(from, |d| d.min(from)));
        let mut state = RecState::Live;
        let mut erase_on = NONE_HIGH;
        if row.subject_type == SubjectType::Person {
            if let Some(ended) = row.act_ended_on {
                let erase = ended.add_years(PERSONAL_RETENTION_YEARS);
                erase_on = erase.0;
                if erase <= self.today {
                    state = RecState::Erased;
                    self.erased_at_build += 1;
                }
            }
        }
        let index = self.records.len() as u32;
        let (heap, records) = (&self.heap, &self.records);
        let id_of = |i: u32| heap.raw(records[i as usize].record_id);
        if let Some(first) = self
            .record_ids
            .insert(row.record_id.as_bytes(), index, id_of)
        {
            self.duplicates.push((first, row.file, row.line));
            return;
        }
        let record_id = self.heap.push(&row.record_id);
        // A live record's name is interned where it names the subject, an erased one's after
        // its other strings; one lookup either way, same heap layout.
        let mut subject_name = None;
        if state == RecState::Live {
            let name = self.heap.intern(&row.subject_name);
            subject_name = Some(name);
            let s = &mut self.subjects[subject as usize];
            if row.decided_on.0 >= s.name_from && !name.is_empty() {
                s.name = name;
                s.name_from = row.decided_on.0;
            }
        }
        let authority = self.heap.intern(&row.authority);
        let doc_no = self.heap.push(&row.doc_no);
        let reason = self.heap.intern(&row.reason);
        let subject_name = subject_name.unwrap_or_else(|| self.heap.intern(&row.subject_name));
        let rec = RecordAcc {
            subject,
            list: row.list_code,
            record_id,
            authority,
            doc_no,
            reason,
            subject_name,
            decided_on: row.decided_on.0,
            effective_from: row.effective_from.0,
            effective_until: opt_high(row.effective_until),
            act_ended_on: opt_low(row.act_ended_on),
            erase_on,
            file: row.file,
            line: row.line,
            state,
        };
        self.records.push(rec);
    }

    fn repair(&mut self, row: RepairRow) {
        let Some(record) = self.known_record(&row.record_id, row.file, row.line, "repair") else {
            return;
        };
        let (file, line) = (row.file, row.line);
        let row = EventRow {
            kind: row.action.code(),
            outcome: 0,
            record,
            date: row.decided_on.0,
            closed_on: NONE_HIGH,
            authority: self.heap.intern(&row.authority),
            doc_no: self.heap.push(&row.doc_no),
        };
        self.events.push(EventAcc {
            record,
            row,
            file,
            line,
        });
    }

    fn objection(&mut self, row: ObjectionRow) {
        let Some(record) = self.known_record(&row.record_id, row.file, row.line, "objection")
        else {
            return;
        };
        let (file, line) = (row.file, row.line);
        let row = EventRow {
            kind: EVENT_OBJECTION,
            outcome: row.outcome.map_or(0, |o| o.code()),
            record,
            date: row.filed_on.0,
            closed_on: opt_high(row.closed_on),
            authority: StrRef::default(),
            doc_no: StrRef::default(),
        };
        self.events.push(EventAcc {
            record,
            row,
            file,
            line,
        });
    }

    fn link(&mut self, row: SrcLink) {
        let org = self.subject(&row.org_id, SubjectType::Org, false);
        let person = self.subject(&row.person_id, SubjectType::Person, false);
        let (Ok(org), Ok(person)) = (org, person) else {
            let reason =
                "org_id or person_id is already known as a subject of the other type".to_string();
            self.cross_reject(row.file, row.line, "", reason);
            return;
        };
        let name = self.heap.intern(&row.person_name);
        let p = &mut self.subjects[person as usize];
        if p.name.is_empty() {
            p.name = name;
        }
        self.links.push(LinkAcc {
            org,
            person,
            role: row.role.code(),
            from: opt_low(row.from),
            until: opt_high(row.until),
        });
    }

    fn reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }
}

impl Assembler {
    fn known_record(&mut self, record_id: &str, file: u16, line: u64, what: &str) -> Option<u32> {
        let (heap, records) = (&self.heap, &self.records);
        let id_of = |i: u32| heap.raw(records[i as usize].record_id);
        match self.record_ids.get(record_id.as_bytes(), id_of) {
            Some(r) => Some(r),
            None => {
                let reason = format!("{what} for unknown record_id {record_id:?} (no such row in lists/, or that row was rejected)");
                self.cross_reject(file, line, record_id, reason);
                None
            }
        }
    }
}

/// The laid-out tables, ready to write.
struct Tables {
    heap: StringHeap,
    subjects: Vec<SubjectRow>,
    records: Vec<RecordRow>,
    events: Vec<EventRow>,
    by_person: Vec<LinkRow>,
    by_org: Vec<LinkRow>,
    named: NamedSubjects,
    bitmaps: Vec<(u8, String, RoaringBitmap)>,
    counts: Counts,
    lists: Vec<ListEntry>,
    earliest_from: Option<Day>,
}

impl Tables {
    /// Writes the data files. The two FSTs take most of the time, so the ids FST, the names
    /// FST and the plain tables are written on three threads; the entries come back in the
    /// order of FORMAT.md's table, which the content digest depends on.
    fn write(&self, dir: &Path, catalog: &Catalog) -> io::Result<Vec<FileEntry>> {
        let (ids, names, tables) = std::thread::scope(|scope| {
            let ids = scope.spawn(|| self.write_ids(dir, catalog));
            let names = scope.spawn(|| self.write_names(dir));
            let tables = self.write_tables(dir);
            (join(ids), join(names), tables)
        });
        let mut out = ids?;
        out.extend(names?);
        out.extend(tables?);
        Ok(out)
    }

    fn write_ids(&self, dir: &Path, catalog: &Catalog) -> io::Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        out.push(write_file(
            dir,
            FileKind::Catalog,
            catalog.to_toml().as_bytes(),
        )?);
        let mut w = FileWriter::create(dir, FileKind::Ids)?;
        {
            let mut b = fst::MapBuilder::new(&mut w).map_err(fst_io)?;
            for (ord, s) in self.subjects.iter().enumerate() {
                b.insert(s.id, ord as u64).map_err(fst_io)?;
            }
            b.finish().map_err(fst_io)?;
        }
        out.push(w.finish()?);
        test_hook_abort(FileKind::Ids.file_name());
        // The check path's index, from the same (identifier, ordinal) sequence.
        out.push(crate::format::idix::write(
            dir,
            self.subjects
                .iter()
                .enumerate()
                .map(|(ord, s)| (s.id, ord as u32)),
        )?);
        Ok(out)
    }

    fn write_names(&self, dir: &Path) -> io::Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        let mut postings = Vec::with_capacity(self.named.len() * 4);
        let mut w = FileWriter::create(dir, FileKind::Names)?;
        {
            let mut b = fst::MapBuilder::new(&mut w).map_err(fst_io)?;
            let mut names = self.named.iter().peekable();
            while let Some((name, ord)) = names.next() {
                let start = postings.len() / 4;
                postings.extend_from_slice(&ord.to_le_bytes());
                let mut n = 1u32;
                while let Some((_, ord)) = names.next_if(|(next, _)| *next == name) {
                    postings.extend_from_slice(&ord.to_le_bytes());
                    n += 1;
                }
                b.insert(name, layout::posting_value(start as u64, n))
                    .map_err(fst_io)?;
            }
            b.finish().map_err(fst_io)?;
        }
        out.push(w.finish()?);
        out.push(write_file(dir, FileKind::Postings, &postings)?);
        Ok(out)
    }

    fn write_tables(&self, dir: &Path) -> io::Result<Vec<FileEntry>> {
        let mut out = Vec::new();
        out.push(write_rows(
            dir,
            FileKind::Subjects,
            &self.subjects,
            SubjectRow::encode,
        )?);
        out.push(write_rows(
            dir,
            FileKind::Records,
            &self.records,
            RecordRow::encode,
        )?);
        test_hook_abort(FileKind::Records.file_name());
        out.push(write_rows(
            dir,
            FileKind::Events,
            &self.events,
            EventRow::encode,
        )?);
        out.push(write_rows(
            dir,
            FileKind::LinksByPerson,
            &self.by_person,
            LinkRow::encode,
        )?);
        out.push(write_rows(
            dir,
            FileKind::LinksByOrg,
            &self.by_org,
            LinkRow::encode,
        )?);

        let mut w = FileWriter::create(dir, FileKind::Strings)?;
        let heap_bytes = self.heap_bytes();
        w.write(heap_bytes)?;
        out.push(w.finish()?);

        let mut bm = Vec::new();
        bm.extend_from_slice(&(self.bitmaps.len() as u32).to_le_bytes());
        for (group, name, b) in &self.bitmaps {
            bm.push(*group);
            bm.extend_from_slice(&(name.len() as u16).to_le_bytes());
            bm.extend_from_slice(name.as_bytes());
            bm.extend_from_slice(&(b.serialized_size() as u32).to_le_bytes());
            b.serialize_into(&mut bm)?;
        }
        out.push(write_file(dir, FileKind::Bitmaps, &bm)?);
        Ok(out)
    }

    fn heap_bytes(&self) -> &[u8] {
        self.heap.bytes()
    }
}

fn write_rows<T>(
    dir: &Path,
    kind: FileKind,
    rows: &[T],
    encode: fn(&T, &mut Vec<u8>),
) -> io::Result<FileEntry> {
    let mut w = FileWriter::create(dir, kind)?;
    let mut buf = Vec::with_capacity(1 << 20);
    for r in rows {
        encode(r, &mut buf);
        if buf.len() >= 1 << 20 {
            w.write(&buf)?;
            buf.clear();
        }
    }
    w.write(&buf)?;
    w.finish()
}

/// The result of a writer thread; a panic there is re-raised here.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

fn fst_io(e: fst::Error) -> io::Error {
    match e {
        fst::Error::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}
