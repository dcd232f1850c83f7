//! The `credgate` subcommands, one module each.

pub mod check;
pub mod screen;
