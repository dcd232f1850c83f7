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
            SearchError::TooLongForFuzzy => {
                f.write_str("name is too long for a fuzzy search; search without fuzzy")
            }
        }
    }
}

impl std::error::Error for SearchError {}

/// The most edits a fuzzy search allows (SPEC §7).
pub const MAX_DISTANCE: u32 = 2;

impl Engine {
    pub fn search(
        &self,
        name: &str,
        fuzzy: bool,
        limit: usize,
        opts: Options,
    ) -> Result<Vec<SearchHit<'_>>, SearchError> {
        let q = normalize_name(name);
        if q.is_empty() {
            return Err(SearchError::EmptyName);
        }
        let snap = self.snapshot();
        let names = snap.names();
        // Ordinals in match order (exact, prefix, fuzzy), each subject once.
        let mut found: Vec<(u32, &'static str)> = Vec::new();
        let mut take = |value: u64, how: &'static str| {
            for ord in snap.posting(value) {
                if found.len() < limit && !found.iter().any(|(o, _)| *o == ord) {
                    found.push((ord, how));
                }
            }
            found.len() >= limit
        };
        let mut full = names.get(&q).is_some_and(|v| take(v, "exact"));
        let mut prefix = names.search(Str::new(&q).starts_with()).into_stream();
        while !full {
            let Some((_, v)) = prefix.next() else { break };
            full = take(v, "prefix");
        }
        if fuzzy && !full {
            let aut =
                Levenshtein::new(&q, MAX_DISTANCE).map_err(|_| SearchError::TooLongForFuzzy)?;
            let mut stream = names.search(aut).into_stream();
            while !full {
                let Some((_, v)) = stream.next() else { break };
                full = take(v, "fuzzy");
            }
        }
        let out = found
            .into_iter()
            .filter_map(|(ord, how)| {
                let s = snap.subject(ord)?;
                let person = s.subject_type == SubjectType::Person.code();
                Some(SearchHit {
                    id: display_id(&s.id, person, opts.full_personal_ids),
                    id_type: if person { "ric" } else { "uscc" },
                    name: snap.str(s.name),
                    how,
                })
            })
            .collect();
        Ok(out)
    }
}
