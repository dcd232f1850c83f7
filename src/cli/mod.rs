//! Subcommands of the `credgate` binary. Each module exposes `Args` (clap) and
//! `run(Args) -> anyhow::Result<ExitCode>`.

pub mod check;
pub mod keys;
pub mod receipt;
pub mod screen;
pub mod serve;
pub mod validate;

/// Exit status for a usage error or a failure to do the job at all (unreadable input,
/// unwritable output); clap uses the same status for its usage errors.
pub const EXIT_FAILURE: u8 = 2;
