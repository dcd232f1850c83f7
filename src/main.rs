//! The `credgate` command line: a thin layer of argument parsing over the library, one
//! subcommand per task, each in its own `cli` module.

#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use credgate::cli;

/// mimalloc instead of the system allocator: a trusted check's buffers are often freed on
/// another thread than the one that made them (the worker that answers after a receipt
/// round, the audit writer), which with glibc takes the other arena's lock; mimalloc halves
/// the futex calls of a trusted server and, with the release profile's LTO, its CPU a check
/// drops by 8-28 % (Cargo.toml, benches/RESULTS.md "Session 12").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Screening of organisations and people against China's joint incentive / joint punishment
/// credit lists.
#[derive(Parser)]
#[command(name = "credgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the form of USCCs and resident ID numbers: one JSON object per identifier.
    Validate(cli::validate::Args),
    /// Decide one subject in one scenario: the decision JSON of SPEC §7 on stdout.
    Check(cli::check::Args),
    /// Batch-screen a supplier list (CSV or xlsx): every row with its decision.
    #[command(after_help = cli::screen::AFTER_HELP)]
    Screen(cli::screen::Args),
    /// Serve the HTTP API (SPEC §7); `--demo` builds and serves the bundled sample.
    Serve(cli::serve::Args),
    /// Manage API keys: `credgate keys new --name N --scopes check,profile --file keys.toml`.
    Keys(cli::keys::Args),
    /// Verify a signed receipt offline: `credgate receipt verify --public-key pk.json < resp`.
    Receipt(cli::receipt::Args),
}

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with status 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => cli::validate::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Screen(args) => cli::screen::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Keys(args) => cli::keys::run(args),
        Command::Receipt(args) => cli::receipt::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("credgate: {e:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
