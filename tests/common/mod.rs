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
    build_source(&repo().join("data/sample"), root, today, Some(0))
        .expect("sample builds without rejects")
}

/// Builds the sources in `source` into the snapshot root `root` as of `today` with the
/// built-in catalogue, keeping three generations.
#[allow(dead_code)] // not every test binary builds its own sources
pub fn build_source(
    source: &Path,
    root: &Path,
    today: Day,
    max_rejects: Option<u64>,
) -> Result<credgate_index::build::BuildReport, credgate_index::build::BuildError> {
    build(&BuildOptions {
        source: source.to_path_buf(),
        out: root.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects,
        history_from: None,
        today,
        keep: 3,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
}

/// Copies the directory tree `from` into `to` (created).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

pub mod http;
pub mod proc;
