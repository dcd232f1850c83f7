//! Subjects by name (`GET /v1/search`): exact, then prefix, then edit distance ≤ 2, over the
//! names FST built from normalised names.

use std::fmt;

use fst::automaton::Str;
use fst::{Automaton, IntoStreamer, Streamer};
use serde::Serialize;

use credgate_index::date::Day;
use credgate_index::model::SubjectType;
use credgate_index::names::normalize_name;

use super::{display_id, Engine, Options};
use crate::trust::privacy;

#[derive(Serialize, Debug)]
pub struct SearchHit<'a> {
    pub id: String,
    pub id_type: &'static str,
    pub name: std::borrow::Cow<'a, str>,
    /// `exact`, `prefix` or `fuzzy`.
    #[serde(rename = "match")]
    pub how: &'static str,
    /// Edit distance (in characters) between the normalised query and name.
    pub distance: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SearchError {
    EmptyName,
    /// Fuzzy search of names longer than [`MAX_FUZZY_CHARS`] characters is refused: the
    /// automaton's rows grow with the query.
    TooLongForFuzzy,
    /// A query with more than [`MAX_DIGITS`] digits in a row, from a caller who may not see
    /// people's numbers in full: names that hold one show it masked, and matching such a
    /// query would tell the hidden digits one guess at a time.
    TooManyDigits,
}

/// The most digits in a row (separators aside) a name search may hold for a caller without
/// `personal_full`: the first six of a person's number are shown anyway.
pub const MAX_DIGITS: usize = 6;

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::EmptyName => f.write_str("name is empty after normalisation"),
            SearchError::TooLongForFuzzy => {
                f.write_str("name is too long for a fuzzy search; search without fuzzy")
            }
            SearchError::TooManyDigits => write!(
                f,
                "name holds more than {MAX_DIGITS} digits in a row: a key without \
                 personal_full may not search by what a masked number hides; look the \
                 subject up by its identifier (/v1/check, /v1/subjects/{{id}}) instead"
            ),
        }
    }
}

impl std::error::Error for SearchError {}

/// The most edits a fuzzy search allows (SPEC §7).
pub const MAX_DISTANCE: u32 = 2;

/// The most edits a fuzzy search allows for a query of `chars` characters: two from four
/// characters on, one for two or three, none for one. Two edits to a two-character personal
/// name leave nothing of it (刘洋 would find 孙丽 and 张伟), and a person's name is two or
/// three characters; a typo there is one character. Company names are longer and get two.
pub fn max_distance(chars: usize) -> u32 {
    match chars {
        0 | 1 => 0,
        2 | 3 => 1,
        _ => MAX_DISTANCE,
    }
}

/// The longest query (in characters) a fuzzy search accepts.
pub const MAX_FUZZY_CHARS: usize = 64;

/// A Levenshtein automaton over Unicode scalar values, run on the UTF-8 bytes of FST keys.
///
/// fst's own `Levenshtein` counts in a way that misses edits of multi-byte characters, so a
/// one-character typo in a Chinese name (孙利 for 孙丽) would not be found. This one keeps
/// one row of the classic dynamic programme per state and feeds it a whole character at a
/// time: bytes of an incomplete character are held in the state until it completes.
pub struct CharLevenshtein {
    query: Vec<char>,
    max: u32,
}

#[derive(Clone, Debug)]
pub struct LevState {
    /// `row[i]`: edits between the first i query characters and the key so far.
    row: Vec<u32>,
    pending: [u8; 4],
    pending_len: u8,
}

impl CharLevenshtein {
    pub fn new(query: &str, max: u32) -> CharLevenshtein {
        CharLevenshtein {
            query: query.chars().collect(),
            max,
        }
    }

    fn step(&self, row: &[u32], c: char) -> Vec<u32> {
        let mut next = Vec::with_capacity(row.len());
        next.push(row[0] + 1);
        for (i, &q) in self.query.iter().enumerate() {
            let substitute = row[i] + u32::from(q != c);
            next.push(substitute.min(row[i + 1] + 1).min(next[i] + 1));
        }
        next
    }
}

fn utf8_len(first: u8) -> u8 {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Automaton for CharLevenshtein {
    type State = Option<LevState>;

    fn start(&self) -> Option<LevState> {
        Some(LevState {
            row: (0..=self.query.len() as u32).collect(),
            pending: [0; 4],
            pending_len: 0,
        })
    }

    fn is_match(&self, state: &Option<LevState>) -> bool {
        state
            .as_ref()
            .is_some_and(|s| s.pending_len == 0 && s.row[self.query.len()] <= self.max)
    }

    fn can_match(&self, state: &Option<LevState>) -> bool {
        state.is_some()
    }

    fn accept(&self, state: &Option<LevState>, byte: u8) -> Option<LevState> {
        let s = state.as_ref()?;
        let mut pending = s.pending;
        pending[s.pending_len as usize] = byte;
        let len = s.pending_len + 1;
        if len < utf8_len(pending[0]) {
            return Some(LevState {
                row: s.row.clone(),
                pending,
                pending_len: len,
            });
        }
        let c = std::str::from_utf8(&pending[..len as usize])
            .ok()?
            .chars()
            .next()?;
        let row = self.step(&s.row, c);
        // Once every cell exceeds the budget, no continuation can come back under it.
        if row.iter().all(|&d| d > self.max) {
            return None;
        }
        Some(LevState {
            row,
            pending: [0; 4],
            pending_len: 0,
        })
    }
}

/// Edit distance in characters (for ranking the automaton's matches).
fn char_distance(a: &str, b: &str) -> u32 {
    let aut = CharLevenshtein::new(a, u32::MAX);
    let row = b.chars().fold(
        (0..=aut.query.len() as u32).collect::<Vec<_>>(),
        |row, c| aut.step(&row, c),
    );
    row[aut.query.len()]
}

impl Engine {
    /// Subjects by name, as of `today`: a person whose records are all erased by then is
    /// not found (rule 6, `Engine::visible`).
    pub fn search(
        &self,
        name: &str,
        fuzzy: bool,
        limit: usize,
        today: Day,
        opts: Options,
    ) -> Result<Vec<SearchHit<'_>>, SearchError> {
        let q = normalize_name(name);
        if q.is_empty() {
            return Err(SearchError::EmptyName);
        }
        if !opts.full_personal_ids && privacy::most_digits_in_a_row(&q) > MAX_DIGITS {
            return Err(SearchError::TooManyDigits);
        }
        let snap = self.snapshot();
        let names = snap.names();
        // Ordinals in match order (exact, prefix, fuzzy by distance), each subject once.
        let mut found: Vec<(u32, &'static str, u32)> = Vec::new();
        let mut take = |value: u64, how: &'static str, distance: u32| {
            for ord in snap.posting(value) {
                if found.len() < limit
                    && !found.iter().any(|(o, _, _)| *o == ord)
                    && snap
                        .subject(ord)
                        .is_some_and(|s| self.visible(&s, today, today))
                {
                    found.push((ord, how, distance));
                }
            }
            found.len() >= limit
        };
        let mut full = names.get(&q).is_some_and(|v| take(v, "exact", 0));
        let mut prefix = names.search(Str::new(&q).starts_with()).into_stream();
        while !full {
            let Some((key, v)) = prefix.next() else { break };
            let key = std::str::from_utf8(key).unwrap_or("");
            full = take(v, "prefix", char_distance(&q, key));
        }
        if fuzzy && !full {
            let chars = q.chars().count();
            if chars > MAX_FUZZY_CHARS {
                return Err(SearchError::TooLongForFuzzy);
            }
            // One pass per distance, nearest first: a pass at distance d streams the names
            // within d and takes those exactly d away, in name order. (Ranking the first
            // names the automaton yields would miss near names that sort after many far
            // ones: the stream is in byte order, not by distance.)
            for d in 1..=max_distance(chars) {
                if full {
                    break;
                }
                let mut stream = names.search(CharLevenshtein::new(&q, d)).into_stream();
                while let Some((key, v)) = stream.next() {
                    let key = std::str::from_utf8(key).unwrap_or("");
                    if char_distance(&q, key) == d && take(v, "fuzzy", d) {
                        full = true;
                        break;
                    }
                }
            }
        }
        let out = found
            .into_iter()
            .filter_map(|(ord, how, distance)| {
                let s = snap.subject(ord)?;
                let person = s.subject_type == SubjectType::Person.code();
                Some(SearchHit {
                    id: display_id(&s.id, person, opts.full_personal_ids),
                    id_type: if person { "ric" } else { "uscc" },
                    name: self.text(s.name, opts),
                    how,
                    distance,
                })
            })
            .collect();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_in_a_row_count_across_separators() {
        use privacy::most_digits_in_a_row;
        assert_eq!(most_digits_in_a_row("恒达公司"), 0);
        assert_eq!(most_digits_in_a_row("供应商2024年12号"), 4);
        assert_eq!(most_digits_in_a_row("法人4101021"), 7);
        assert_eq!(most_digits_in_a_row("410184-1979-0"), 11);
        assert_eq!(most_digits_in_a_row("４１０１０２１"), 7);
        // Punctuation joins groups as masking reads them: a name masked as
        // `410102/********0211` must not be matched digit by digit across the `/`.
        assert_eq!(most_digits_in_a_row("法人410102/196804"), 12);
        assert_eq!(most_digits_in_a_row("2026.11.30"), 8);
        // Their full-width forms too, though a query reaches the count with them folded to
        // ASCII (`normalize_name`).
        assert_eq!(most_digits_in_a_row("法人410102／196804"), 12);
        assert_eq!(most_digits_in_a_row("410102，1968．04"), 12);
        assert_eq!(most_digits_in_a_row("410102、196804"), 6);
    }
    use fst::{IntoStreamer, Map, Streamer};

    fn matches(query: &str, keys: &[&str], max: u32) -> Vec<String> {
        let mut keys = keys.to_vec();
        keys.sort();
        let map = Map::from_iter(keys.iter().map(|k| (*k, 0u64))).unwrap();
        let mut out = Vec::new();
        let mut s = map.search(CharLevenshtein::new(query, max)).into_stream();
        while let Some((k, _)) = s.next() {
            out.push(String::from_utf8(k.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn one_chinese_character_typo_is_one_edit() {
        assert_eq!(
            matches("孙利", &["孙丽", "赵敏", "孙丽华", "李"], 1),
            ["孙丽"].map(String::from)
        );
        assert_eq!(
            matches("孙利", &["孙丽", "赵敏", "孙丽华", "李"], 2),
            ["孙丽", "孙丽华", "李", "赵敏"].map(String::from)
        );
        assert_eq!(char_distance("孙利", "孙丽"), 1);
        assert_eq!(char_distance("恒达建材有限公司", "恒大建材有限公司"), 1);
    }

    #[test]
    fn agrees_with_the_plain_distance_on_mixed_text() {
        let keys = [
            "abc科技",
            "abd科技",
            "ab科技",
            "xyz",
            "abc科技有限公司",
            "ａbc",
        ];
        for q in ["abc科技", "ab", "科技", "xy", "abc科技公司"] {
            for max in 0..=2 {
                let got = matches(q, &keys, max);
                let mut want: Vec<String> = keys
                    .iter()
                    .filter(|k| char_distance(q, k) <= max)
                    .map(|k| k.to_string())
                    .collect();
                want.sort();
                assert_eq!(got, want, "{q} within {max}");
            }
        }
    }
}
