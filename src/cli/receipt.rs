//! `credgate receipt verify --public-key FILE < response`: checks a receipt offline.
//!
//! Both receipt versions are accepted (see [`crate::trust::receipt`]): version 2 is checked
//! along its Merkle path to the signed root. Standard input is either a check response (one JSON object with a `receipt` member) or a
//! whole `/v1/screen` response whose last line is its receipt. Exit status 0: the signature
//! holds and the content matches it; 1: something was altered (or the receipt is missing or
//! was made with another key); 2: the key file or the input could not be read.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::trust::receipt::{
    parse_public_key, parse_strict, verify_batch, verify_check, VerifyError,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verify the receipt of a response read on stdin.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The server's public key: the JSON of GET /v1/receipts/public-key, or the bare base64.
    #[arg(long)]
    pub public_key: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Verify(a) = args.command;
    let text = std::fs::read_to_string(&a.public_key)
        .with_context(|| format!("reading {}", a.public_key.display()))?;
    let key = parse_public_key(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading the response on stdin")?;
    // One JSON object is a check; anything else (NDJSON or CSV lines) is a batch.
    let result = match serde_json::from_slice::<serde_json::Value>(&input) {
        // Read again strictly: the digest covers one meaning of the text, so a member named
        // twice (which serde_json reads as its last) is refused, not verified.
        Ok(v) if v.get("receipt").is_some() && v.get("decision").is_some() => parse_strict(&input)
            .map_err(|e| VerifyError::Malformed(e.to_string()))
            .and_then(|v| verify_check(&v, &key)),
        _ => verify_batch(&input, &key),
    };
    match result {
        Ok(r) => {
            let mut what = r
                .rows
                .map_or("check".to_string(), |n| format!("batch of {n} rows"));
            if let (Some(scenario), Some(as_of)) = (&r.scenario, &r.as_of) {
                what.push_str(&format!(", scenario {scenario} as of {as_of}"));
            }
            if let (Some(i), Some(n)) = (r.leaf_index, r.leaves) {
                what.push_str(&format!(", receipt {} of {n} signed together", i + 1));
            }
            eprintln!(
                "valid: receipt {} ({what}) checked at {} against snapshot {}",
                r.id, r.checked_at, r.snapshot
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("credgate: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
