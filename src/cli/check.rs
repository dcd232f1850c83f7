//! `credgate check --index ROOT --id ID --scenario S [--as-of D] [--lenient]`: one decision as
//! JSON on stdout. Exit 0 on a decision; 2 on an invalid identifier, scenario or date; 3 when
//! the snapshot cannot be opened or fails its checksums.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use credgate_index::date::Day;
use credgate_index::ids::Mode;
use credgate_index::model::Scenario;

use crate::engine::{Engine, Options};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot root (or a generation directory).
    #[arg(long)]
    pub index: PathBuf,
    /// USCC or resident identity number (full-width, spaces and hyphens are fine).
    #[arg(long)]
    pub id: String,
    /// licensing, procurement, fiscal_funds, market_entry, honors, finance, transport,
    /// consumption, inspection or public_services.
    #[arg(long)]
    pub scenario: String,
    /// The date to decide for (YYYY-MM-DD); default today in China Standard Time.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Accept organisation codes that fail only the MOD 31 check (pilot-area codes).
    #[arg(long)]
    pub lenient: bool,
    /// Show people's identity numbers in full (the operator is entitled to them).
    #[arg(long)]
    pub full_ids: bool,
}

/// Exit status when the snapshot cannot be opened or is damaged (as `credgate screen`).
pub const EXIT_SNAPSHOT: u8 = 3;

/// A usage problem: reported on one line, exit code 2.
#[derive(Debug)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

pub fn parse_scenario(s: &str) -> Result<Scenario, Invalid> {
    Scenario::parse(s).ok_or_else(|| {
        Invalid(format!(
            "unknown scenario {s:?}; expected one of: {}",
            Scenario::expected()
        ))
    })
}

pub fn parse_as_of(s: Option<&str>, today: Day) -> Result<Day, Invalid> {
    match s {
        None | Some("") => Ok(today),
        Some(s) => Day::parse_as_of(s).map_err(|e| Invalid(format!("as_of {s:?}: {e}"))),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let today = Day::today_cst();
    let mode = if args.lenient {
        Mode::Lenient
    } else {
        Mode::Strict
    };
    let usage = |e: Invalid| {
        eprintln!("credgate check: {e}");
        Ok(ExitCode::from(super::EXIT_FAILURE))
    };
    let (scenario, as_of) = match (|| {
        Ok::<_, Invalid>((
            parse_scenario(&args.scenario)?,
            parse_as_of(args.as_of.as_deref(), today)?,
        ))
    })() {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    // Checksums included: a snapshot damaged on disk is refused, not answered from. The
    // snapshot comes before the identifier because it settles the type of the rare codes
    // valid as both kinds.
    let engine = match Engine::open_checked(&args.index) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("credgate check: snapshot {}: {e}", args.index.display());
            return Ok(ExitCode::from(EXIT_SNAPSHOT));
        }
    };
    let id = match engine.parse_id(&args.id, mode, today) {
        Ok(id) => id,
        Err(e) => return usage(Invalid(format!("invalid id: {e}"))),
    };
    let decision = engine.check(
        &id,
        scenario,
        as_of,
        today,
        Options {
            full_personal_ids: args.full_ids,
        },
    );
    let mut out = serde_json::to_vec_pretty(&decision)?;
    out.push(b'\n');
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A reader that stops early is not a failure of this command (as in `validate`).
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        // A full disk and the like: a one-line error and exit 2, not a panic.
        Err(e) => Err(anyhow::Error::new(e).context("writing the decision to standard output")),
    }
}
