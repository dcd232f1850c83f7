//! The `credgate` subcommands.

pub mod check;
pub mod serve;
