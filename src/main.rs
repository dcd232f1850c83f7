//! The `credgate` binary: a thin clap front over the library's commands.

#![deny(unsafe_code)]

use clap::{Parser, Subcommand};

use credgate::cli;

#[derive(Parser, Debug)]
#[command(
    name = "credgate",
    version,
    about = "Screening against the joint incentive / joint punishment credit lists"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// One decision as JSON.
    Check(cli::check::Args),
    /// Batch screening of a supplier list (CSV or xlsx).
    #[command(after_help = cli::screen::AFTER_HELP)]
    Screen(cli::screen::Args),
}

fn main() {
    let code = match Cli::parse().command {
        Command::Check(args) => cli::check::run(args),
        Command::Screen(args) => cli::screen::run(args),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("credgate: {e:#}");
            std::process::exit(3);
        }
    }
}
