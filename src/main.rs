//! The `credgate` binary: a thin layer of argument parsing over the library.

#![deny(unsafe_code)]

use clap::{Parser, Subcommand};

use credgate::cli;

#[derive(Parser)]
#[command(
    name = "credgate",
    version,
    about = "Screening against the joint incentive / joint punishment lists"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one identifier in one scenario.
    Check(cli::check::Args),
    /// Serve the HTTP API.
    Serve(cli::serve::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Serve(args) => cli::serve::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("credgate: {e:#}");
            std::process::exit(1);
        }
    }
}
