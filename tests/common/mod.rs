//! Shared helpers for integration tests: build the bundled sample into a temporary root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::source::Encoding;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// The day the sample's documented cases are stated for.
pub fn sample_today() -> Day {
    day("2026-11-28")
}

/// Builds `data/sample` into `root` as of `today`.
pub fn build_sample(root: &Path, today: Day) -> credgate_index::build::BuildReport {
    build(&BuildOptions {
        source: repo().join("data/sample"),
        out: root.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: Some(0),
        history_from: None,
        today,
        keep: 3,
        encoding: Encoding::Auto,
    })
    .expect("sample builds without rejects")
}

pub mod http;
pub mod proc;
