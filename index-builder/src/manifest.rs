//! The manifest: what a snapshot generation holds, how it was made, and the checksums of
//! every other file. It is written last; its presence is what makes a generation complete.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::date::Day;
use crate::model::Class;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Short content digest: the first 16 hex digits of `content_sha256`.
    pub snapshot_id: String,
    /// SHA-256 over the names and SHA-256 digests of all data files, in a fixed order.
    pub content_sha256: String,
    /// RFC 3339, UTC.
    pub built_at: String,
    /// The calendar day (CST) the build ran; personal records erased by then were dropped.
    pub built_on: Day,
    /// The earliest day the data speaks for: `--history-from`, else the earliest
    /// effective_from of an accepted record (one erased at build time included; a rejected
    /// row never). Rule 5's three clean years need it at least three years back.
    pub history_from: Option<Day>,
    pub builder_version: String,
    /// The lists, in the order of the records' list index.
    pub lists: Vec<ListEntry>,
    pub counts: Counts,
    pub sources: Vec<SourceEntry>,
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListEntry {
    pub code: String,
    pub name: String,
    pub class: Class,
    pub domain: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub subjects: u64,
    pub orgs: u64,
    pub persons: u64,
    pub records: u64,
    pub repairs: u64,
    pub objections: u64,
    pub links: u64,
    pub names: u64,
    /// Organisations whose code fails only the MOD 31 check (SPEC §1), kept and flagged.
    pub nonconforming: u64,
    /// Personal records already past their erase date at build time, dropped (rule 6).
    pub erased_at_build: u64,
    /// Repairs and objections of those erased records, dropped with them.
    pub events_of_erased: u64,
    /// Rows rejected, by any reason; the rejects report lists each.
    pub rejects: u64,
    pub per_list: BTreeMap<String, SetCount>,
    pub per_class: BTreeMap<String, SetCount>,
    pub per_domain: BTreeMap<String, SetCount>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SetCount {
    pub records: u64,
    pub subjects: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    pub rejected: u64,
    /// `utf-8` or `gb18030`: what the file was read as.
    pub encoding: String,
    /// `detected` (from the file's first non-ASCII bytes) or `declared` (by the operator);
    /// absent in manifests written before builders recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_from: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    /// Whole file length, header included.
    pub bytes: u64,
    /// CRC32C of the payload (as in the file header).
    pub crc32c: u32,
    /// SHA-256 of the payload, hex.
    pub sha256: String,
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2026-11-28T20:34:11Z`).
pub fn rfc3339_utc(secs: i64) -> String {
    let day = Day(secs.div_euclid(86_400) as i32);
    let s = secs.rem_euclid(86_400);
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_898_051), "2026-11-28T20:34:11Z");
    }
}
