//! Subjects by name (`GET /v1/search`): exact, then prefix, then edit distance ≤ 2, over the
//! names FST built from normalised names.

use std::fmt;

use fst::automaton::{Levenshtein, Str};
use fst::{Automaton, IntoStreamer, Streamer};
use serde::Serialize;

use credgate_index::model::SubjectType;
use credgate_index::names::normalize_name;

use super::{display_id, Engine, Options};

#[derive(Serialize, Debug)]
pub struct SearchHit<'a> {
    pub id: String,
    pub id_type: &'static str,
    pub name: &'a str,
    /// `exact`, `prefix` or `fuzzy`.
    #[serde(rename = "match")]
    pub how: &'static str,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SearchError {
    EmptyName,
    /// The fuzzy automaton for this query is too large (very long names).
    TooLongForFuzzy,
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::EmptyName => f.write_str("name is empty after normalisation"),
            SearchError::TooLongForFuzzy => f.write_str("name is too long for a fuzzy search; search without fuzzy"),
        }
    }
}

impl std::error::Error for SearchError {}

/// The most edits a fuzzy search allows (SPEC §7).
pub const MAX_DISTANCE: u32 = 2;

impl Engine {
    pub fn search(&self, name: &str, fuzzy: bool, limit: usize, opts: Options) -> Result<Vec<SearchHit<'_>>, SearchError> {
        let q = normalize_name(name);
        if q.is_empty() {
            return Err(SearchError::EmptyName);
        }
        let snap = self.snapshot();
        let names = snap.names();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let mut take = |value: u64, how: &'static str, out: &mut Vec<SearchHit<'_>>| {
            for ord in snap.posting(value) {
                if out.len() >= limit || seen.contains(&ord) {
                    continue;
                }
                let Some(s) = snap.subject(ord) else { continue };
                seen.push(ord);
                let person = s.subject_type == SubjectType::Person.code();
                out.push(SearchHit {
                    id: display_id(&s.id, person, opts.full_personal_ids),
                    id_type: if person { "ric" } else { "uscc" },
                    name: snap.str(s.name),
                    how,
                });
            }
        };
        if let Some(v) = names.get(&q) {
            take(v, "exact", &mut out);
        }
        let mut prefix = names.search(Str::new(&q).starts_with()).into_stream();
        while out.len() < limit {
            let Some((_, v)) = prefix.next() else { break };
            take(v, "prefix", &mut out);
        }
        if fuzzy && out.len() < limit {
            let aut = Levenshtein::new(&q, MAX_DISTANCE).map_err(|_| SearchError::TooLongForFuzzy)?;
            let mut stream = names.search(aut).into_stream();
            while out.len() < limit {
                let Some((_, v)) = stream.next() else { break };
                take(v, "fuzzy", &mut out);
            }
        }
        Ok(out)
    }
}
