//! `credgate keys new --name N --scopes a,b [--file FILE] [--rate R [--burst B]]`: makes a
//! fresh bearer token, prints it once on stdout, and appends its entry (the token's SHA-256,
//! never the token) to the keys file, or prints the entry when no file is given.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::trust::keys::{entry_toml, new_token, KeyTable, Scope};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a key: the token is printed once; only its digest is stored.
    New(NewArgs),
}

#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// Name of the key, as the audit trail and the logs show it.
    #[arg(long)]
    pub name: String,
    /// Comma-separated scopes: check, screen, profile, search, admin, personal_full.
    #[arg(long, value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// Keys file to append the entry to (created 0600 if absent); without it the entry is
    /// printed on stderr for you to add.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Requests per second the key may make (token bucket refill rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Bucket size: requests the key may make at once, at least 1 (default: one second's worth).
    #[arg(long, requires = "rate")]
    pub burst: Option<u32>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::New(a) => new(a),
    }
}

fn new(a: NewArgs) -> anyhow::Result<ExitCode> {
    let mut scopes = Vec::new();
    for s in &a.scopes {
        let s = s.trim();
        match Scope::parse(s) {
            Some(x) if !scopes.contains(&x) => scopes.push(x),
            Some(_) => {}
            None => bail!(
                "unknown scope {s:?}; expected one of: {}",
                Scope::expected()
            ),
        }
    }
    if let Some(r) = a.rate {
        if !(r.is_finite() && r > 0.0) {
            bail!("--rate {r} must be a positive number of requests per second");
        }
    }
    // A burst of 0 is written as given, so the check below refuses it as the server would.
    let rate = a
        .rate
        .map(|r| (r, a.burst.unwrap_or_else(|| r.ceil().max(1.0) as u32)));
    let token = new_token().context("making a token")?;
    let entry = entry_toml(&a.name, &token, &scopes, rate);
    // The entry is checked as the server will read it, with the file's other entries when
    // there is a file, so an empty name, a zero burst, a duplicate name or a broken file is
    // refused here instead of by the server at its next start or reload.
    let existing = match &a.file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        },
        None => String::new(),
    };
    let shown = a
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from("(the new entry)"));
    KeyTable::parse(&format!("{existing}{entry}"), &shown, None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match &a.file {
        Some(path) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.append(true).create(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            f.write_all(entry.as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "credgate: key {:?} added to {}; reload the server (SIGHUP or POST /v1/admin/reload). The token below is shown only now.",
                a.name,
                path.display()
            );
        }
        None => eprintln!(
            "credgate: add this entry to the keys file; the token below is shown only now:{entry}"
        ),
    }
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
