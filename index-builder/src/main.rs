//! `index-builder`: compiles credgate snapshots from source data, and writes synthetic
//! source data for tests and benchmarks.

#![deny(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use credgate_index::synth::{self, SynthOptions};
use std::path::PathBuf;
use std::time::Instant;

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

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Synth { out, records, seed } => run_synth(out, records, seed),
    }
}

fn run_synth(out: PathBuf, records: u64, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let report = synth::generate(&out, &SynthOptions { records, seed })
        .with_context(|| format!("generating synthetic data into {}", out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "synth: {} records, {} files, {} bytes, {:.2} s, {:.0} records/s, {} bad rows injected -> {}",
        report.list_rows_written,
        report.files.len() + 1,
        report.bytes,
        secs,
        report.list_rows_written as f64 / secs.max(1e-9),
        report.expected_rejects,
        out.display()
    );
    Ok(())
}
