//! `index-builder`: compiles credgate snapshots from source data, and writes synthetic
//! source data for tests and benchmarks.

#![deny(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use credgate_index::build::{build_with_budget, BuildError, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::reader::Snapshot;
use credgate_index::mask::mask_numbers;
use credgate_index::source::Encoding;
use credgate_index::synth::{self, SynthOptions};

#[derive(Parser)]
#[command(
    name = "index-builder",
    version,
    about = "Build and inspect credgate snapshots"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a source directory (SPEC §3) into a new snapshot generation under --out and
    /// publish it atomically. Exit 1 when the build fails (nothing is published).
    Build {
        /// The source directory: lists/*.csv, repairs.csv, objections.csv, links.csv.
        #[arg(long)]
        source: PathBuf,
        /// The snapshot root: generations, CURRENT and rejects.csv live here.
        #[arg(long)]
        out: PathBuf,
        /// The catalogue of lists and measures (default: the shipped data/catalog.toml).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Fail, publishing nothing, when more rows than this are rejected.
        #[arg(long)]
        max_rejects: Option<u64>,
        /// The earliest day the data speaks for (default: the earliest effective_from of
        /// an accepted record, one erased at build time included; rejected rows never):
        /// YYYY-MM-DD from 1949-01-01 to 2199-12-31.
        #[arg(long)]
        history_from: Option<String>,
        /// Source encoding: auto (each file by its first non-ASCII bytes: UTF-8, else
        /// GB18030), utf-8 or gb18030.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// One file's encoding, overriding --encoding: PATH=auto|utf-8|gb18030, PATH
        /// relative to --source (e.g. lists/court.csv=gb18030). Repeatable.
        #[arg(long = "file-encoding", value_name = "PATH=ENCODING")]
        file_encodings: Vec<String>,
        /// How many generations to keep under the root.
        #[arg(long, default_value_t = 3)]
        keep: usize,
        /// Build as of this day instead of today (CST): retention and birth dates use it.
        /// YYYY-MM-DD from 1949-01-01 to 2199-12-31.
        #[arg(long)]
        today: Option<String>,
        /// Memory for the builder's working sets (the rows, subjects, records, names, the
        /// ids.idx entries and the rows naming codes given both subject types, all sorted
        /// within it): bytes, or with a KiB/MiB/GiB
        /// suffix. Beyond it, sorted runs spill to a directory inside the temporary
        /// generation; peak memory stays near it plus a few tens of MiB.
        #[arg(long, default_value = "2GiB")]
        memory_budget: String,
    },
    /// Read every byte of a snapshot and check all checksums and references.
    Verify {
        /// A snapshot root (its CURRENT generation) or a generation directory.
        path: PathBuf,
    },
    /// Print a snapshot's manifest (counts, sources, files) as JSON.
    Inspect {
        /// A snapshot root (its CURRENT generation) or a generation directory.
        path: PathBuf,
    },
    /// Write a realistic synthetic source directory (SPEC §3), deterministic for a seed.
    Synth {
        /// Directory to write lists/*.csv, repairs.csv, objections.csv, links.csv and
        /// synth.json into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of list rows to write, deliberately bad ones included.
        #[arg(long)]
        records: u64,
        /// Seed of the generator; the same seed and record count give identical files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Synth { out, records, seed } => run_synth(out, records, seed),
        Command::Build {
            source,
            out,
            catalog,
            max_rejects,
            history_from,
            encoding,
            file_encodings,
            keep,
            today,
            memory_budget,
        } => run_build(
            source,
            out,
            catalog,
            max_rejects,
            history_from,
            encoding,
            file_encodings,
            keep,
            today,
            memory_budget,
        ),
        Command::Verify { path } => run_verify(path),
        Command::Inspect { path } => run_inspect(path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("index-builder: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `123`, `64KiB`, `512MiB`, `2GiB` (also `K`, `M`, `G`, `KB`… as the same binary units).
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The `--file-encoding PATH=ENCODING` values, by path (a leading `./` dropped). A path given
/// twice with different encodings is an error; whether each names a source file, the
/// build checks.
fn parse_file_encodings(values: &[String]) -> anyhow::Result<BTreeMap<String, Encoding>> {
    let mut map = BTreeMap::new();
    for value in values {
        let Some((path, name)) = value.rsplit_once('=') else {
            anyhow::bail!(
                "--file-encoding {value:?}: expected PATH=ENCODING, e.g. lists/court.csv=gb18030"
            );
        };
        let path = path.trim();
        let path = path.strip_prefix("./").unwrap_or(path);
        let encoding = Encoding::parse(name).ok_or_else(|| {
            anyhow::anyhow!(
                "--file-encoding {value:?}: unknown encoding {name:?} for {path}: expected \
                 auto, utf-8 or gb18030 (a file in another encoding must be converted to \
                 UTF-8 first)"
            )
        })?;
        if path.is_empty() {
            anyhow::bail!("--file-encoding {value:?}: no path before the '='");
        }
        if let Some(before) = map.insert(path.to_string(), encoding) {
            if before != encoding {
                anyhow::bail!("--file-encoding: {path} is given two different encodings");
            }
        }
    }
    Ok(map)
}

/// A day option of `build`, read as the server and `credgate` read `as_of`
/// ([`Day::parse_as_of`]): a year outside 1949..=2199 is a typo, and retention or a
/// manifest's `history_from` computed from it would be nonsense.
fn parse_day(what: &str, s: &str) -> anyhow::Result<Day> {
    Day::parse_as_of(s).map_err(|e| anyhow::anyhow!("--{what} {s:?}: {e}"))
}

#[allow(clippy::too_many_arguments)]
fn run_build(
    source: PathBuf,
    out: PathBuf,
    catalog: Option<PathBuf>,
    max_rejects: Option<u64>,
    history_from: Option<String>,
    encoding: String,
    file_encodings: Vec<String>,
    keep: usize,
    today: Option<String>,
    memory_budget: String,
) -> anyhow::Result<()> {
    let budget = parse_bytes(&memory_budget)
        .ok_or_else(|| anyhow::anyhow!("--memory-budget {memory_budget:?}: expected bytes, or a number with KiB, MiB or GiB (e.g. 512MiB)"))?;
    let started = Instant::now();
    let catalog = match &catalog {
        Some(path) => Catalog::load(path)?,
        None => Catalog::builtin(),
    };
    let encoding = Encoding::parse(&encoding).ok_or_else(|| {
        anyhow::anyhow!(
            "--encoding {encoding:?}: expected auto, utf-8 or gb18030 (a file in another \
             encoding must be converted to UTF-8 first)"
        )
    })?;
    let file_encodings = parse_file_encodings(&file_encodings)?;
    let opts = BuildOptions {
        source,
        out,
        catalog,
        max_rejects,
        history_from: history_from
            .map(|s| parse_day("history-from", &s))
            .transpose()?,
        today: today
            .map(|s| parse_day("today", &s))
            .transpose()?
            .unwrap_or_else(Day::today_cst),
        keep,
        encoding,
        file_encodings,
    };
    let report = match build_with_budget(&opts, budget) {
        Ok(r) => r,
        Err(e @ (BuildError::TooManyRejects { .. } | BuildError::NoListRowAccepted { .. })) => {
            return Err(e.into())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("building {}", opts.source.display())))
        }
    };
    let c = &report.manifest.counts;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "snapshot {} -> {}",
        report.manifest.snapshot_id,
        report.generation.display()
    );
    println!(
        "records {} subjects {} (orgs {}, persons {}) repairs {} objections {} links {} names {}",
        c.records, c.subjects, c.orgs, c.persons, c.repairs, c.objections, c.links, c.names
    );
    println!(
        "nonconforming {} erased_at_build {} rejects {} (report: {})",
        c.nonconforming,
        c.erased_at_build,
        c.rejects,
        report.rejects_path.display()
    );
    if c.records == 0 {
        // A build fails when no list row is accepted, but accepted rows may all be past
        // personal retention: allowed, never silent.
        eprintln!(
            "warning: the snapshot holds no records: retention erased every one; every check \
             against it answers clear"
        );
    }
    // A file in Big5 or Latin-1 is not UTF-8 either, and reading it as GB18030 may well
    // succeed, garbled: so every file read as GB18030 without being declared so is named.
    for s in &report.manifest.sources {
        if s.encoding == "gb18030" && s.encoding_from.as_deref() == Some("detected") {
            println!("{}: not UTF-8, read as GB18030", s.path);
        }
    }
    // Build logs travel further than the sources do: people's numbers in a reason (a valid
    // number under the wrong subject_type, a mistyped one) are masked here. The rejects
    // report beside the snapshot keeps them whole, for whoever corrects the source.
    for r in report.first_rejects.iter().take(10) {
        println!(
            "  reject {}:{} {} {}",
            r.file,
            r.line,
            mask_numbers(&r.record_id),
            mask_numbers(&r.reason)
        );
    }
    if report.reject_count > 10 {
        println!("  … {} more in the report", report.reject_count - 10);
    }
    let phases: Vec<String> = report
        .phases
        .iter()
        .map(|(n, s)| format!("{n} {s:.2} s"))
        .collect();
    println!("phases: {}", phases.join(", "));
    println!(
        "memory budget {budget} bytes: {} sorted runs spilled",
        report.spill_files
    );
    if report.contested_spill_files > 0 {
        println!(
            "  {} of them rows naming codes given both subject types",
            report.contested_spill_files
        );
    }
    println!(
        "built in {secs:.2} s ({:.0} records/s)",
        c.records as f64 / secs.max(1e-9)
    );
    if !report.pruned.is_empty() {
        println!("pruned {}", report.pruned.join(", "));
    }
    // The snapshot is published and served: the build succeeded, and what it could not
    // tidy away is left for the next build's prune, said on stderr where a cron job's
    // mail or a unit's journal shows it.
    if let Some(e) = &report.prune_error {
        eprintln!(
            "warning: {} is published and CURRENT names it, but removing older generations \
             failed ({e}); the next build prunes again",
            report.generation.display()
        );
    }
    Ok(())
}

fn run_verify(path: PathBuf) -> anyhow::Result<()> {
    let started = Instant::now();
    let snap = Snapshot::open(&path)?;
    snap.verify()?;
    println!(
        "ok: snapshot {} ({}), {} records, verified in {:.2} s",
        snap.id(),
        snap.dir().display(),
        snap.record_count(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_inspect(path: PathBuf) -> anyhow::Result<()> {
    let snap = Snapshot::open(&path)?;
    println!("{}", serde_json::to_string_pretty(snap.manifest())?);
    Ok(())
}

fn run_synth(out: PathBuf, records: u64, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let report = synth::generate(&out, &SynthOptions { records, seed })
        .with_context(|| format!("generating synthetic data into {}", out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "synth: {} records, {} files, {} bytes, {:.2} s, {:.0} records/s, {} bad rows injected, {} rejects expected of a build -> {}",
        report.list_rows_written,
        report.files.len() + 1,
        report.bytes,
        secs,
        report.list_rows_written as f64 / secs.max(1e-9),
        report.bad.list_rows(),
        report.expected_rejects,
        out.display()
    );
    Ok(())
}
