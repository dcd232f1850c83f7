//! Compiling a source directory into a snapshot generation.
//!
//! The source reader validates each row on its own; this module does what needs the whole
//! data set: duplicate record ids, repairs and objections that name no record, personal
//! retention at build time, subject ordinals (only subjects an accepted row names: see
//! `support`), the tables, the FSTs and the bitmaps. Then it
//! writes a generation and publishes it atomically (see [`crate::publish`]).

mod checks;
mod codec;
mod collect;
mod contested;
mod emit;
mod idfeed;
mod items;
mod names;
mod rejects;
mod runs;
mod sink;
mod spill;
mod support;
mod views;

/// The build's tests draw their seeded data from one linear congruential generator: this
/// advances `x` one step and returns the new state (callers take the bits they need, the
/// high ones being the better mixed).
#[cfg(test)]
pub(crate) fn lcg(x: &mut u64) -> u64 {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *x
}

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use roaring::RoaringBitmap;
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::format::layout;
use crate::format::writer::{hex, write_file};
use crate::format::{FileKind, FORMAT_VERSION};
use crate::manifest::{rfc3339_utc, Counts, ListEntry, Manifest, SetCount, SourceEntry};
use crate::model::Class;
use crate::publish::{self, TempGeneration};
use crate::source::{self, Encoding, Reject, SourceOptions};
use checks::{RecordInputs, TableInputs};
use collect::Collector;
pub use rejects::FIRST_REJECTS;
use spill::SpillDir;

/// Years a person's negative record is kept after the act ended (seed 六(七), rule 6).
pub const PERSONAL_RETENTION_YEARS: i32 = 5;

/// Rule 6: the first day a person's record no longer exists, for an act that ended on
/// `act_ended_on` (seed 六(七): 失信记录只保留5年, 5年后予以消除). The record is kept five
/// years counted from that day and is gone from the same calendar day five years later. An
/// act that ended on 29 February is kept to the end of 28 February of the fifth year (a
/// common year; 民法典 Art. 202: without a corresponding day, the month's last day ends the
/// period) and is gone from 1 March: gone on 28 February, it would be kept 1,825 days, a day
/// short of any five years.
pub fn erase_day(act_ended_on: Day) -> Day {
    let same_day = act_ended_on.add_years(PERSONAL_RETENTION_YEARS);
    if same_day.ymd().2 == act_ended_on.ymd().2 {
        same_day
    } else {
        // `add_years` moved 29 February back to the 28th; the period ends on it.
        same_day.add_days(1)
    }
}

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
    /// The encoding of the source files…
    pub encoding: Encoding,
    /// …but those named here (relative to `source`, e.g. `lists/court.csv`), in theirs.
    pub file_encodings: BTreeMap<String, Encoding>,
}

pub struct BuildReport {
    /// Seconds spent in each phase, in order.
    pub phases: Vec<(&'static str, f64)>,
    pub generation: PathBuf,
    pub manifest: Manifest,
    pub rejects_path: PathBuf,
    /// How many rows were rejected: the rows of `rejects_path`.
    pub reject_count: u64,
    /// The first [`FIRST_REJECTS`] of them, in the report's order (the whole report may not
    /// fit in memory: [`BuildReport::read_rejects`] reads it back).
    pub first_rejects: Vec<Reject>,
    /// The generations and leftovers pruned after publishing (see [`publish::prune`]).
    pub pruned: Vec<String>,
    /// Why pruning failed, if it did. The generation is published all the same (`CURRENT`
    /// names it); what was not removed is removed by the next build's prune.
    pub prune_error: Option<String>,
    /// Sorted runs the external sort spilled (0: everything fitted in the memory budget).
    pub spill_files: u64,
    /// Of those, the runs of the rows naming identifiers given both subject types, which
    /// wait until their types are settled (see `contested`).
    pub contested_spill_files: u64,
    /// Of those, the runs of the rejected rows (see `rejects`).
    pub rejects_spill_files: u64,
}

impl BuildReport {
    /// Every reject, read back from `rejects_path` in the report's order (the build keeps
    /// only the first few in memory). The next build under the same root replaces the file.
    pub fn read_rejects(&self) -> io::Result<Vec<Reject>> {
        source::read_rejects_csv(&self.rejects_path)
    }
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
    /// No row of `lists/` was accepted: every one was rejected, or there were none (`rows`
    /// is 0). A snapshot from them would list nobody and answer "clear" for every subject.
    NoListRowAccepted {
        /// List rows read, all rejected.
        rows: u64,
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
            BuildError::NoListRowAccepted { rows: 0, .. } => write!(
                f,
                "lists/ holds no data rows (its files have a header row at most), so the \
                 snapshot would list nobody; nothing was published. Check the export of the \
                 list files"
            ),
            BuildError::NoListRowAccepted { rows, report } => write!(
                f,
                "all {rows} rows of lists/ were rejected, so the snapshot would list nobody; \
                 nothing was published (whatever --max-rejects says). See {} for each row and \
                 reason",
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

/// The memory budget when none is given: 2 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 2 << 30;

/// Builds and publishes a generation within [`DEFAULT_MEMORY_BUDGET`].
pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    build_with_budget(opts, DEFAULT_MEMORY_BUDGET)
}

/// Builds and publishes a generation. On any error nothing is published and `CURRENT` is
/// untouched; the rejects report is written either way.
///
/// The working sets are sorted externally (see `spill`): up to `memory_budget` bytes of
/// them are held in memory, the rest spilled as sorted runs into a `spill/` directory inside
/// the temporary generation (so a killed build leaves nothing a reader sees, and the next
/// build or prune removes it). The snapshot written is the same whatever the budget.
pub fn build_with_budget(
    opts: &BuildOptions,
    memory_budget: u64,
) -> Result<BuildReport, BuildError> {
    let mut phases = Phases::default();
    let codes: Vec<&str> = opts.catalog.lists.iter().map(|l| l.code.as_str()).collect();
    let gen = TempGeneration::begin(&opts.out).map_err(io_at(&opts.out))?;
    let spill_path = gen.dir().join("spill");
    // Up to nine sorters hold items at once: while pass 3 drains the rows by record id and
    // fills the records, events and record names, pass 4 runs beside it (the links
    // draining, then the links by person id draining and the two link orders filling), the
    // link names wait, and the ids thread sorts the ids.idx entries. Each gets a tenth of
    // the budget, which leaves a tenth for merge and prefetch buffers and the readers.
    // (Pass 0 holds four: the mentions, the rows by record id, the links and link names.
    // Pass 5 holds seven: the records, events, both name offers, both link orders and the
    // names; the names thread's queue of decided names takes an eighth tenth.)
    let per_sorter = usize::try_from(memory_budget / 10).unwrap_or(usize::MAX);
    let spill = SpillDir::new(spill_path.clone(), per_sorter).map_err(io_at(&spill_path))?;
    // The working sets of identifiers named with both types, from pass 1 until their types
    // are settled (see `contested`), are at most four sorters at once, each given an
    // eighth of a tenth: together half the last tenth. They hold nothing in the usual
    // case, where no identifier is named with both types.
    let contested_spill = SpillDir::named(spill_path.clone(), "contested", per_sorter / 8)
        .map_err(io_at(&spill_path))?;
    // The rejected rows, from pass 0 until the report is written, are one sorter given
    // another eighth of the last tenth. It holds little in the usual case, where few rows
    // are rejected; a noisy source's millions of rejects spill like any other working set.
    let rejects_spill = SpillDir::named(spill_path.clone(), "rejects", per_sorter / 8)
        .map_err(io_at(&spill_path))?;
    let sio = |e| BuildError::Io {
        path: spill_path.clone(),
        err: e,
    };

    // Pass 0: read. Validating rows and encoding them for the sorters is most of the
    // reading cost and is independent per file: workers do it while this thread numbers
    // the rows and copies them straight into the sorters of passes 1 to 4 (no
    // arrival-order copy: see `checks`).
    let src_opts = SourceOptions {
        encoding: opts.encoding,
        file_encodings: opts.file_encodings.clone(),
        today: opts.today,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut collector = Collector::new(&spill, rejects::Rejects::new(&rejects_spill));
    let today = opts.today;
    let summary = source::read_source_batched(
        &opts.source,
        &codes,
        &src_opts,
        threads,
        &|| collect::Encoder::new(today),
        &mut |batch| collector.consume(batch),
    )?;
    if let Some(e) = collector.error.take() {
        return Err(sio(e));
    }
    let Collector {
        mentions,
        inputs,
        rejects,
        ..
    } = collector;
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
            encoding_from: Some(f.encoding_from.name().to_string()),
        })
        .collect();
    phases.mark("read sources");

    // Pass 1: subject types. ids.fst and ids.idx are written on a thread of their own,
    // fed the subjects as pass 1 finds them (see `idfeed`). Identifiers named with both
    // types are set aside until pass 3 has said which rows are accepted (see `contested`).
    let mut contested = contested::Contested::new(&contested_spill);
    let (id_sender, id_feed) = idfeed::channel(per_sorter);
    let ids = Background::spawn({
        let dir = gen.dir().to_path_buf();
        let spill_dir = spill_path.clone();
        move || -> io::Result<(Vec<crate::manifest::FileEntry>, u64)> {
            let spill = SpillDir::named(spill_dir, "ids", per_sorter)?;
            let entries = emit::write_ids_from(&dir, id_feed, &spill)?;
            Ok((entries, spill.runs_spilled()))
        }
    });
    let (subject_file, _) = {
        // The sender is this block's: when pass 1 fails it is dropped here, unfinished,
        // which ends the ids thread with an error, before the return joins that thread
        // (dropped after `ids`, it left the join waiting for subjects forever).
        let mut id_sender = id_sender;
        let subjects = checks::subjects(&spill, mentions, &mut contested, &mut |s| {
            id_sender.send(s.id)
        })
        .and_then(|done| test_hook_fail("subjects").map(|()| done));
        if subjects.is_ok() {
            id_sender.finish();
        }
        subjects
    }
    .map_err(sio)?;
    // Timed on its own: pass 1 runs on this thread alone, before the passes it unblocks.
    phases.mark("subjects");

    let RecordInputs {
        by_record_id,
        links,
        link_names,
    } = inputs;
    let mut table_inputs = TableInputs {
        records: spill.sorter(),
        events: spill.sorter(),
        record_names: spill.sorter(),
    };
    // Passes 3 and 4 read different inputs (the rows by record id; the subjects and the
    // links), so pass 4 (link ordinals) runs on a thread beside pass 3.
    let (checked, ordinals) = std::thread::scope(|scope| {
        let ordinals =
            scope.spawn(|| emit::link_ordinals(&spill, &subject_file, links, &contested));
        let checked = checks::records(
            by_record_id,
            &contested,
            &summary.files,
            &mut table_inputs,
            rejects,
        );
        let ordinals = ordinals
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (checked, ordinals)
    });
    let mut checked = checked.map_err(sio)?;
    let link_orders = ordinals.map_err(sio)?;
    // The types of the identifiers named with both, from the rows accepted; then the rows
    // of theirs that passes 3 and 4 set aside are judged (see `contested`).
    let contested::Settled {
        conflicts,
        subjects: contested_subjects,
    } = contested::settle_types(contested, &checked.no_say).map_err(sio)?;
    checks::finish_deferred(&mut checked, &conflicts, &summary.files, &mut table_inputs)
        .map_err(sio)?;
    let emit::LinkOrders {
        mut by_person,
        mut by_org,
        deferred: deferred_links,
    } = link_orders;
    let mut links_withdrawn = emit::finish_links(
        deferred_links,
        &mut by_person,
        &mut by_org,
        &conflicts,
        &mut checked.rejects,
    )
    .map_err(sio)?;

    let rejects_path = opts.out.join("rejects.csv");
    // Written inside the build's temporary directory (same file system, so the rename is
    // atomic): a build killed before the rename leaves it there, where the next prune
    // removes it with the rest, and two builds at once never share the name.
    let tmp_rejects = gen.dir().join("rejects.csv.tmp");
    // The rejects come out of their sorter in the report's order, cross-row rejects named
    // and counted against the file of their row, like the reader's own rejects.
    let rejects::Written {
        count: reject_count,
        first: first_rejects,
    } = checked
        .rejects
        .write(&tmp_rejects, &summary.files, &mut sources)
        .map_err(|e| match e {
            rejects::WriteError::Spill(e) => sio(e),
            rejects::WriteError::Report(e) => io_at(&tmp_rejects)(e),
        })?;
    test_hook_abort("rejects.csv");
    std::fs::rename(&tmp_rejects, &rejects_path).map_err(io_at(&rejects_path))?;
    // A source whose list rows are all rejected (a misspelt list code throughout, the
    // wrong catalogue) would publish a snapshot that clears everyone, however many rejects
    // the operator allows; so would list files holding only their header (an export that
    // failed), which is no better than the lists/ without CSV files the reader refuses.
    // Either way the snapshot being served stays.
    let (list_rows, list_rejected) = sources
        .iter()
        .filter(|s| s.path.starts_with("lists/"))
        .fold((0, 0), |(rows, rejected), s| {
            (rows + s.rows, rejected + s.rejected)
        });
    if list_rejected >= list_rows {
        return Err(BuildError::NoListRowAccepted {
            rows: list_rows,
            report: rejects_path,
        });
    }
    if let Some(max) = opts.max_rejects {
        if reject_count > max {
            return Err(BuildError::TooManyRejects {
                count: reject_count,
                max,
                report: rejects_path,
            });
        }
    }
    // A subject named only by rows passes 3 and 4 rejected is no subject (see `support`):
    // from here on, the subjects are those that remain, and the links are renumbered.
    let mut withdrawn = std::mem::take(&mut checked.withdrawn);
    withdrawn.append(&mut links_withdrawn);
    let (subject_file, renumber) =
        support::settle(&spill, &subject_file, withdrawn, contested_subjects).map_err(sio)?;
    // ids.fst and ids.idx were written from pass 1's subjects meanwhile; when some are
    // dropped, they are written again, beside pass 5, from those that remain.
    let ids = if renumber.dropped() == 0 {
        ids
    } else {
        let (_, spilled_before) = ids.join().map_err(io_at(gen.dir()))?;
        for kind in [FileKind::Ids, FileKind::IdIndex] {
            let path = gen.dir().join(kind.file_name());
            std::fs::remove_file(&path).map_err(io_at(&path))?;
        }
        Background::spawn({
            let dir = gen.dir().to_path_buf();
            let spill_dir = spill_path.clone();
            let subjects = subject_file.clone();
            move || -> io::Result<(Vec<crate::manifest::FileEntry>, u64)> {
                let spill = SpillDir::named(spill_dir, "ids-kept", per_sorter)?;
                let mut subs = spill::read_seq::<items::Subject>(&subjects)?;
                let mut ord = 0u64;
                let feed = std::iter::from_fn(move || {
                    let next = subs.next_item().transpose()?;
                    let item = next.map(|s| (s.id, ord));
                    ord += 1;
                    Some(item)
                });
                let entries = emit::write_ids_from(&dir, feed, &spill)?;
                Ok((entries, spilled_before + spill.runs_spilled()))
            }
        })
    };
    phases.mark("cross-check");

    // Pass 5: every table in subject order. Pass 6, the names index, runs beside it: a
    // thread names the subjects (pass 5 takes the names from it), sorts the names and
    // writes names.fst and names.post while pass 5 is still writing (see `names`).
    let TableInputs {
        records,
        events,
        record_names,
    } = table_inputs;
    let dir = gen.dir();
    let (name_sender, name_feed) = names::channel(per_sorter);
    let name_inputs = names::NameInputs {
        record_names,
        link_names,
        conflicts: &conflicts,
    };
    let streams = emit::Streams {
        records,
        events,
        by_person,
        by_org,
        names: name_feed,
    };
    let (written, named) = std::thread::scope(|scope| {
        let named = std::thread::Builder::new()
            .name("names".into())
            .spawn_scoped(scope, || {
                names::name_subjects(&spill, dir, &subject_file, name_inputs, name_sender)
            });
        let written = emit::tables(dir, &opts.catalog, &subject_file, &renumber, streams);
        // The feed is gone by now (`tables` took it), so the thread cannot wait on it.
        let named = named.map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (written, named)
    });
    // The names thread's error first: when it fails, pass 5 fails only for want of names.
    let named = named.map_err(io_at(dir))?.map_err(io_at(dir))?;
    let written = written?;
    let (name_entries, name_count) = named.ok_or_else(|| BuildError::Io {
        path: dir.to_path_buf(),
        err: io::Error::other("the names thread stopped although the tables were written"),
    })?;
    phases.mark("write tables and names");

    // ids.fst has been written meanwhile, on its thread.
    let (ids, ids_spilled) = ids.join().map_err(io_at(dir))?;
    // The tables' writers completed their files (checksums, header, fsync) meanwhile.
    let mut tables = Vec::new();
    for (pending, kind) in written.entries.into_iter().zip(TABLE_FILES) {
        tables.push(pending.wait().map_err(io_at(dir))?);
        test_hook_abort(kind.file_name());
    }
    let contested_spill_files = contested_spill.runs_spilled();
    let rejects_spill_files = rejects_spill.runs_spilled();
    let spill_files =
        spill.runs_spilled() + ids_spilled + contested_spill_files + rejects_spill_files;
    spill::remove(&spill_path).map_err(io_at(&spill_path))?;

    let mut counts = written.counts;
    counts.names = name_count;
    counts.rejects = reject_count;
    counts.erased_at_build = checked.erased_at_build;
    counts.events_of_erased = checked.events_of_erased;
    let bitmaps = summarise(&opts.catalog, &written.per_list, &mut counts);
    let mut bm = Vec::new();
    bm.extend_from_slice(&(bitmaps.len() as u32).to_le_bytes());
    for (group, name, b) in &bitmaps {
        bm.push(*group);
        bm.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bm.extend_from_slice(name.as_bytes());
        bm.extend_from_slice(&(b.serialized_size() as u32).to_le_bytes());
        b.serialize_into(&mut bm).map_err(io_at(dir))?;
    }
    let catalog_entry = write_file(dir, FileKind::Catalog, opts.catalog.to_toml().as_bytes())
        .map_err(io_at(dir))?;
    let bitmap_entry = write_file(dir, FileKind::Bitmaps, &bm).map_err(io_at(dir))?;
    // FORMAT.md's order, which the content digest depends on.
    let mut entries = vec![catalog_entry];
    entries.extend(ids);
    entries.extend(name_entries);
    entries.extend(tables);
    entries.push(bitmap_entry);
    phases.mark("write indexes");

    let mut sha = Sha256::new();
    for e in &entries {
        sha.update(format!("{}:{}\n", e.name, e.sha256));
    }
    let content_sha256 = hex(&sha.finalize());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lists = opts
        .catalog
        .lists
        .iter()
        .map(|l| ListEntry {
            code: l.code.clone(),
            name: l.name.clone(),
            class: l.class,
            domain: l.domain.clone(),
        })
        .collect();
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        snapshot_id: content_sha256[..16].to_string(),
        content_sha256,
        built_at: rfc3339_utc(now),
        built_on: opts.today,
        history_from: opts.history_from.or(checked.earliest_from),
        builder_version: env!("CARGO_PKG_VERSION").to_string(),
        lists,
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
    // Published: from here on the build has done its job, and a failure to remove older
    // generations is reported with it rather than turned into a failed build.
    let (pruned, prune_error) =
        match test_hook_fail("prune").and_then(|()| publish::prune(&opts.out, opts.keep)) {
            Ok(pruned) => (pruned, None),
            Err(e) => (Vec::new(), Some(format!("{}: {e}", opts.out.display()))),
        };
    manifest.files = entries;
    phases.mark("publish");
    Ok(BuildReport {
        phases: phases.done,
        generation,
        manifest,
        rejects_path,
        reject_count,
        first_rejects,
        pruned,
        prune_error,
        spill_files,
        contested_spill_files,
        rejects_spill_files,
    })
}

/// The files pass 5 writes, in the order of its entries.
const TABLE_FILES: [FileKind; 6] = [
    FileKind::Subjects,
    FileKind::Records,
    FileKind::Events,
    FileKind::LinksByPerson,
    FileKind::LinksByOrg,
    FileKind::Strings,
];

/// Per list, class and domain: the record counts and subject bitmaps.
fn summarise(
    catalog: &Catalog,
    per_list: &[(u64, RoaringBitmap)],
    counts: &mut Counts,
) -> Vec<(u8, String, RoaringBitmap)> {
    let mut bitmaps = Vec::new();
    let mut per_class: HashMap<Class, (u64, RoaringBitmap)> = HashMap::new();
    let mut per_domain: HashMap<&str, (u64, RoaringBitmap)> = HashMap::new();
    for (l, (n, bm)) in catalog.lists.iter().zip(per_list) {
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
    bitmaps
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

/// Failure tests set `CREDGATE_TEST_FAIL_AT` to a point of the build: there the builder
/// fails as an I/O error would.
fn test_hook_fail(point: &str) -> io::Result<()> {
    if std::env::var_os("CREDGATE_TEST_FAIL_AT").is_some_and(|v| v == point) {
        return Err(io::Error::other(format!("injected failure at {point}")));
    }
    Ok(())
}

/// A writer thread that is always joined: by [`Background::join`], or when the build
/// returns early, on drop (so it never writes into a temporary generation being removed).
struct Background<T>(Option<std::thread::JoinHandle<T>>);

impl<T: Send + 'static> Background<T> {
    fn spawn(f: impl FnOnce() -> T + Send + 'static) -> Background<T> {
        Background(Some(std::thread::spawn(f)))
    }

    /// The thread's result; a panic there is re-raised here.
    fn join(mut self) -> T {
        let handle = self.0.take().expect("joined once");
        handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn a_record_is_gone_five_years_to_the_day_after_the_act_ended() {
        let d = |s: &str| Day::parse(s).unwrap();
        for (ended, gone) in [
            ("2020-06-30", "2025-06-30"),
            ("2020-02-28", "2025-02-28"),
            ("2020-02-29", "2025-03-01"),
            ("2020-03-01", "2025-03-01"),
            ("2019-02-28", "2024-02-28"),
            ("2019-03-01", "2024-03-01"),
        ] {
            assert_eq!(erase_day(d(ended)), d(gone), "act ended {ended}");
        }
    }
}
