//! What a synthetic run wrote (`synth.json`) and how it can fail.
//!
//! The report is the ground truth for tests of the index builder: the rows it must reject
//! are exactly [`BadRows::total`], broken down by kind (`tests/synth.rs` builds a source and
//! holds the builder to it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Why a synthetic data set could not be written.
#[derive(Debug)]
pub enum SynthError {
    /// The output directory (or `lists/` inside it) could not be created.
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file could not be created or written.
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::CreateDir { path, source } => write!(
                f,
                "cannot create directory {}: {source}; choose an --out path you may write to",
                path.display()
            ),
            SynthError::Write { path, source } => write!(
                f,
                "cannot write {}: {source}; check free disk space and permissions",
                path.display()
            ),
        }
    }
}

impl std::error::Error for SynthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SynthError::CreateDir { source, .. } | SynthError::Write { source, .. } => Some(source),
        }
    }
}

/// Rows written on purpose so that the builder must reject them, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRows {
    /// List rows whose subject_id fails its check: the RIC check character, or the inner
    /// organisation-code check (position 17) of a USCC, which no lenient mode accepts.
    pub bad_check: u64,
    /// List rows with a well-shaped date that does not exist (2023-02-30).
    pub impossible_date: u64,
    /// List rows whose list_code is none of the twelve standard codes.
    pub unknown_list_code: u64,
    /// List rows reusing the record_id of the valid row before them, with other content:
    /// which copy is right is unknown, so the builder rejects both, the earlier one too.
    pub duplicate_record_id: u64,
    /// List rows repeating the valid row before them exactly (the same row delivered
    /// twice): the builder rejects the repeat and keeps the record.
    #[serde(default)]
    pub identical_duplicates: u64,
    /// List rows whose effective_until lies before effective_from.
    pub until_before_from: u64,
    /// Repairs for a record_id that no list row has.
    pub orphan_repairs: u64,
    /// Objections for a record_id that no list row has.
    pub orphan_objections: u64,
    /// Repairs and objections of the rows a `duplicate_record_id` row contradicts:
    /// rejected with both copies of their record.
    #[serde(default)]
    pub events_of_contradicted: u64,
}

impl BadRows {
    /// Bad rows in the list files: the rows written with a fault.
    pub fn list_rows(&self) -> u64 {
        self.bad_check
            + self.impossible_date
            + self.unknown_list_code
            + self.duplicate_record_id
            + self.identical_duplicates
            + self.until_before_from
    }

    /// Every row the builder must reject or report: the bad rows, the valid rows that a
    /// differing duplicate takes down with it, with their repairs and objections, and the
    /// orphans.
    pub fn total(&self) -> u64 {
        self.list_rows()
            + self.duplicate_record_id
            + self.events_of_contradicted
            + self.orphan_repairs
            + self.orphan_objections
    }
}

/// Rows and bytes of one output file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStats {
    /// Data rows, not counting the header.
    pub rows: u64,
    pub bytes: u64,
}

/// The content of `synth.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthReport {
    pub seed: u64,
    pub records_requested: u64,
    /// Rows in `lists/*.csv`: one per requested record, bad ones included.
    pub list_rows_written: u64,
    /// List rows with no injected fault (the rows a differing duplicate contradicts
    /// included: valid on their own, the builder rejects them for the duplicate).
    pub valid_list_rows: u64,
    /// Rows per standard list code as written (rows with an injected fault other than an
    /// unknown code included).
    pub rows_per_list: BTreeMap<String, u64>,
    /// Valid rows per standard list code.
    pub valid_per_list: BTreeMap<String, u64>,
    /// List rows per subject type (`org`, `person`).
    pub rows_per_subject_type: BTreeMap<String, u64>,
    /// Distinct subjects drawn for list rows, per subject type.
    pub distinct_subjects: BTreeMap<String, u64>,
    /// Valid court_defaulter rows with no end of term (listing ground 1).
    pub open_ended_court_defaulter: u64,
    /// Valid person rows that carry act_ended_on.
    pub act_ended_on_set: u64,
    /// Of those, rows whose act ended before 2021-01-01: erased by the five-year retention
    /// for any build after 2025-12-31.
    pub act_ended_before_2021: u64,
    /// Rows in repairs.csv, orphans included.
    pub repairs: u64,
    /// Rows in objections.csv, orphans included.
    pub objections: u64,
    /// Objections still open (no closed_on, no outcome).
    pub objections_open: u64,
    pub links: u64,
    /// Organisations whose code fails only MOD 31 (pilot-area style), among those listed.
    pub nonconforming_subjects: u64,
    /// Valid list rows whose subject_id is such a code; the builder keeps them.
    pub nonconforming_rows: u64,
    /// Link rows whose org_id is such a code.
    pub nonconforming_link_rows: u64,
    pub bad: BadRows,
    /// `bad.total()`, the number of rejects a build must report.
    pub expected_rejects: u64,
    /// Every file written, by path relative to the output directory.
    pub files: BTreeMap<String, FileStats>,
    /// Bytes of all CSV files.
    pub bytes: u64,
}
