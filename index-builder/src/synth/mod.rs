//! A deterministic generator of realistic synthetic source directories (SPEC §3), for tests
//! and benchmarks of the index builder at any scale.
//!
//! `generate(out, &SynthOptions { records, seed })` writes `lists/<department>.csv`,
//! `repairs.csv`, `objections.csv`, `links.csv` and `synth.json`. The same seed and record
//! count give byte-identical files. The mix follows the real system: court defaulters are
//! the largest list, then business anomalies; about 30 % of records name people; subjects
//! recur across records and domains; organisations come with their legal representatives
//! and other role holders; a few codes are nonconforming pilot-area codes; and about 0.2 %
//! of list rows carry a deliberate fault whose kind and count `synth.json` records, with
//! the number of rejects a build must report (`expected_rejects`: a duplicate that differs
//! from its original takes the original and its repairs and objections down with it, an
//! identical one only itself), so a builder test can assert that its rejects are exactly
//! those.
//!
//! ```no_run
//! use credgate_index::synth::{generate, SynthOptions};
//! let report = generate("/tmp/src".as_ref(), &SynthOptions { records: 10_000, seed: 7 })?;
//! assert_eq!(report.list_rows_written, 10_000);
//! # Ok::<(), credgate_index::synth::SynthError>(())
//! ```

mod faults;
mod links;
mod lists;
mod names;
mod places;
mod records;
mod report;
mod rng;
mod sink;
mod subjects;

pub use report::{BadRows, FileStats, SynthError, SynthReport};

use records::Generator;
use std::path::Path;

/// The header of every `lists/*.csv` file.
pub const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on";
pub const REPAIRS_HEADER: &str = "record_id,action,decided_on,authority,doc_no";
pub const OBJECTIONS_HEADER: &str = "record_id,filed_on,closed_on,outcome";
pub const LINKS_HEADER: &str = "org_id,person_id,person_name,role,from,until";

/// The department files written under `lists/`, without the `.csv` extension.
pub fn department_files() -> &'static [&'static str] {
    lists::DEPARTMENTS
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    /// List rows to write (bad rows included).
    pub records: u64,
    pub seed: u64,
}

/// Writes a synthetic source directory into `out` (created if missing; files of the same
/// names are replaced) and returns what was written, which is also saved as `synth.json`.
pub fn generate(out: &Path, opts: &SynthOptions) -> Result<SynthReport, SynthError> {
    let lists_dir = out.join("lists");
    std::fs::create_dir_all(&lists_dir).map_err(|source| SynthError::CreateDir {
        path: lists_dir.clone(),
        source,
    })?;
    let mut generator = Generator::new(out, opts)?;
    for i in 0..opts.records {
        generator.record(i)?;
    }
    let report = generator.finish()?;
    let path = out.join("synth.json");
    let mut json = serde_json::to_vec_pretty(&report).expect("report serialises");
    json.push(b'\n');
    std::fs::write(&path, json).map_err(|source| SynthError::Write { path, source })?;
    Ok(report)
}
