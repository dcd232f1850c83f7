//! Writing the result part of a screened row straight into an output buffer, as NDJSON
//! fields or CSV cells, for `credgate screen` and `POST /v1/screen` alike.
//!
//! A row's answer comes either from the lean path (a [`Verdict`]: list and measure indices,
//! names borrowed from the catalogue) or as an owned [`ScreenResult`] (the `--server`
//! client, the xlsx writer, error rows); [`Answer`] is a borrowed view of either, so both
//! are written by the same code. The bytes are those serde wrote before (field order,
//! `null`s, serde_json's string escaping, the csv crate's quoting); the tests below compare
//! the two.

use std::ops::Range;

use credgate_index::ids::Id;

use crate::engine::screen::{ScreenError, ScreenResult};
use crate::engine::verdict::{ScreenPlan, Verdict};
use crate::engine::Outcome;

/// Codes of lists or measures: owned strings, or indices into a name table.
#[derive(Clone, Copy)]
pub enum Codes<'a> {
    Owned(&'a [String]),
    Indexed(&'a [u16], &'a Names<'a>),
}

impl<'a> Codes<'a> {
    fn len(&self) -> usize {
        match self {
            Codes::Owned(v) => v.len(),
            Codes::Indexed(v, _) => v.len(),
        }
    }

    fn get(&self, i: usize) -> &'a str {
        match *self {
            Codes::Owned(v) => &v[i],
            Codes::Indexed(v, names) => names.names[v[i] as usize],
        }
    }
}

/// A table of names (a plan's list codes or measure ids) with each name's JSON string made
/// once: the same few names are written on row after row of a batch.
pub struct Names<'a> {
    names: &'a [&'a str],
    /// Every name as a JSON string, one after the other.
    json: Vec<u8>,
    /// Where each name's JSON string ends in `json`.
    ends: Vec<usize>,
}

impl<'a> Names<'a> {
    pub fn new(names: &'a [&'a str]) -> Names<'a> {
        let mut json = Vec::with_capacity(names.iter().map(|n| n.len() + 2).sum());
        let mut ends = Vec::with_capacity(names.len());
        for n in names {
            json_str(&mut json, n);
            ends.push(json.len());
        }
        Names { names, json, ends }
    }

    /// The JSON string of name `i`.
    fn json(&self, i: u16) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.json[start..self.ends[i]]
    }
}

/// The names a plan's verdicts refer to by index ([`Answer::of_verdict`]), made once per
/// plan.
pub struct PlanNames<'p> {
    pub lists: Names<'p>,
    pub measures: Names<'p>,
}

impl<'p> PlanNames<'p> {
    pub fn new(plan: &'p ScreenPlan<'_>) -> PlanNames<'p> {
        PlanNames {
            lists: Names::new(plan.list_codes()),
            measures: Names::new(plan.measure_ids()),
        }
    }
}

/// The result fields of one row, borrowed.
#[derive(Clone, Copy)]
pub struct Answer<'a> {
    /// The identifier as shown (masked unless entitled); `None` when invalid.
    pub id: Option<&'a str>,
    pub id_type: Option<&'static str>,
    pub decision: Option<Outcome>,
    pub heightened: bool,
    pub nonconforming: bool,
    pub lists: Codes<'a>,
    pub measures: Codes<'a>,
    pub error: Option<&'a ScreenError>,
}

impl<'a> Answer<'a> {
    pub fn of_result(r: &'a ScreenResult) -> Answer<'a> {
        Answer {
            id: r.id.as_deref(),
            id_type: r.id_type,
            decision: r.decision,
            heightened: r.heightened,
            nonconforming: r.nonconforming,
            lists: Codes::Owned(&r.lists),
            measures: Codes::Owned(&r.measures),
            error: r.error.as_ref(),
        }
    }

    /// A lean verdict for `id`, by the plan whose `names` these are; `shown` is `id` as the
    /// caller may see it ([`Id::shown`]).
    pub fn of_verdict(
        names: &'a PlanNames<'_>,
        id: &Id,
        shown: &'a str,
        v: &'a Verdict,
    ) -> Answer<'a> {
        Answer {
            id: Some(shown),
            id_type: Some(id.id_type().as_str()),
            decision: v.decision,
            heightened: v.heightened,
            nonconforming: id.is_nonconforming(),
            lists: Codes::Indexed(&v.lists, &names.lists),
            measures: Codes::Indexed(&v.measures, &names.measures),
            error: None,
        }
    }

    /// `"id":…,"id_type":…,"decision":…,"heightened":…,"nonconforming":…,"lists":[…],
    /// "measures":[…],"error":…` — a [`ScreenResult`]'s fields, without braces. (The row
    /// writer uses [`Answer::write_json_fields_after`]; this is the tests' plain form.)
    #[cfg(test)]
    pub fn write_json_fields(&self, out: &mut Vec<u8>) {
        self.write_json_fields_after(out, None);
    }

    /// The same fields (`"id":…` to `"error":…`) after a JSON string that `out[escaped.1]` holds, written
    /// of the text `escaped.0` (a row's `input`): an `id` that is the same text, as it is for
    /// most rows, is copied from there instead of escaped a second time.
    pub fn write_json_fields_after(
        &self,
        out: &mut Vec<u8>,
        escaped: Option<(&str, Range<usize>)>,
    ) {
        out.extend_from_slice(b"\"id\":");
        match (self.id, escaped) {
            (Some(id), Some((text, at))) if id == text => out.extend_from_within(at),
            _ => json_opt_str(out, self.id),
        }
        out.extend_from_slice(b",\"id_type\":");
        match self.id_type {
            // A word of the vocabulary (`uscc`, `ric`): nothing to escape.
            Some(t) => word(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"decision\":");
        match self.decision {
            // A word of the vocabulary: nothing to escape.
            Some(d) => word(out, d.as_str()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"heightened\":");
        boolean(out, self.heightened);
        out.extend_from_slice(b",\"nonconforming\":");
        boolean(out, self.nonconforming);
        out.extend_from_slice(b",\"lists\":");
        json_codes(out, self.lists);
        out.extend_from_slice(b",\"measures\":");
        json_codes(out, self.measures);
        out.extend_from_slice(b",\"error\":");
        match self.error {
            None => out.extend_from_slice(b"null"),
            Some(e) => {
                out.extend_from_slice(b"{\"code\":");
                json_str(out, e.code);
                out.extend_from_slice(b",\"message\":");
                json_str(out, &e.message);
                if let Some(c) = e.expected_check {
                    out.extend_from_slice(b",\"expected_check\":");
                    json_str(out, c.encode_utf8(&mut [0u8; 4]));
                }
                out.push(b'}');
            }
        }
    }

    /// The six result cells of a CSV row, each but the last followed by a comma (no line
    /// end): the decision, the two flags (`false` for an invalid row), the lists and measures
    /// joined with `;`, and the error as `code: message`.
    pub fn write_csv_cells(&self, out: &mut Vec<u8>) {
        self.write_decision_cells(out);
        if let Some(e) = self.error {
            csv_field(out, &error_text(e));
        }
    }

    fn write_decision_cells(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.decision.map_or("", Outcome::as_str).as_bytes());
        out.push(b',');
        out.extend_from_slice(bool_str(self.heightened).as_bytes());
        out.push(b',');
        out.extend_from_slice(bool_str(self.nonconforming).as_bytes());
        out.push(b',');
        csv_joined(out, self.lists);
        out.push(b',');
        csv_joined(out, self.measures);
        out.push(b',');
    }
}

/// An error as one cell of a CSV or xlsx row: `code: message`.
pub fn error_text(e: &ScreenError) -> String {
    let mut text = String::with_capacity(e.code.len() + 2 + e.message.len());
    text.push_str(e.code);
    text.push_str(": ");
    text.push_str(&e.message);
    text
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn json_codes(out: &mut Vec<u8>, codes: Codes<'_>) {
    out.push(b'[');
    for i in 0..codes.len() {
        if i > 0 {
            out.push(b',');
        }
        match codes {
            Codes::Owned(v) => json_str(out, &v[i]),
            Codes::Indexed(v, names) => out.extend_from_slice(names.json(v[i])),
        }
    }
    out.push(b']');
}

/// A JSON string as serde_json escapes it (the check writer's escaper).
pub use crate::engine::json::string as json_str;
use crate::engine::json::{boolean, word};

/// A CSV field as the csv crate writes it by default: quoted (quotes doubled) when it
/// holds a comma, a quote, CR or LF; and a field a spreadsheet would take for a formula
/// ([`formula_like`]) with a `'` before it. Every text cell of a CSV answer goes through
/// here (echoed cells, header names, error messages, and lists and measures through
/// [`csv_joined`]); the row number, which credgate writes itself, does not.
pub fn csv_field(out: &mut Vec<u8>, f: &str) {
    let guard = formula_like(f);
    if f.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        if guard {
            out.push(b'\'');
        }
        for c in f.bytes() {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        if guard {
            out.push(b'\'');
        }
        out.extend_from_slice(f.as_bytes());
    }
}

/// Whether a spreadsheet opening the CSV would read a cell starting this way as a formula
/// (CSV injection: `=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`): its first character is `=`, `+`, `-`,
/// `@`, a tab or a carriage return, OWASP's list, or the full-width `＝`, `＋`, `－` or `＠`
/// (U+FF1D, U+FF0B, U+FF0D, U+FF20), which some spreadsheet applications fold to the ASCII
/// forms as they read a cell, Chinese input methods typing them readily. Such a cell is
/// written with a `'` before it, which Excel and LibreOffice take as "text" and do not show.
/// A number such as `-5` or `+86 371 6512 3456` is guarded too: telling a harmless number
/// from a formula (`-2+3+cmd|' /C calc'!A0`) is what the spreadsheet gets wrong, so the rule
/// looks at the first character only, and such a cell reads `'-5` in a text editor.
pub fn formula_like(f: &str) -> bool {
    matches!(
        f.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

/// Codes joined with `;` as one CSV field.
fn csv_joined(out: &mut Vec<u8>, codes: Codes<'_>) {
    let n = codes.len();
    // The joined cell starts with the first code: a catalogue may name a list or measure
    // anything, so it is guarded as any other text.
    let plain = (n == 0 || !formula_like(codes.get(0)))
        && (0..n).all(|i| {
            !codes
                .get(i)
                .bytes()
                .any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
        });
    if plain {
        for i in 0..n {
            if i > 0 {
                out.push(b';');
            }
            out.extend_from_slice(codes.get(i).as_bytes());
        }
    } else {
        let joined: Vec<&str> = (0..n).map(|i| codes.get(i)).collect();
        csv_field(out, &joined.join(";"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<ScreenResult> {
        let decided = |lists: &[&str], measures: &[&str]| ScreenResult {
            id: Some("410102********0211".into()),
            id_type: Some("ric"),
            decision: Some(Outcome::Deny),
            heightened: true,
            nonconforming: false,
            lists: lists.iter().map(|s| s.to_string()).collect(),
            measures: measures.iter().map(|s| s.to_string()).collect(),
            error: None,
        };
        let error = |message: &str, expected_check| {
            ScreenResult::undecided(Some(ScreenError {
                code: "invalid_id",
                message: message.into(),
                expected_check,
            }))
        };
        vec![
            decided(&[], &[]),
            decided(&["court_defaulter"], &["procurement.black.restrict"]),
            decided(&["a", "b,c", "d\"e"], &["m1", "m\n2"]),
            error("check character: expected 'L', found 'N'", Some('L')),
            error("控制字符 \u{1} tab\t \\ \"q\" \u{7f} line\nbreak", None),
            ScreenResult {
                nonconforming: true,
                decision: Some(Outcome::FastTrack),
                ..decided(&[], &["licensing.red.green_channel"])
            },
        ]
    }

    #[test]
    fn json_fields_are_what_serde_writes() {
        for r in results() {
            let mut out = b"{".to_vec();
            Answer::of_result(&r).write_json_fields(&mut out);
            out.push(b'}');
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&r).unwrap()
            );
        }
    }

    #[test]
    fn json_strings_escape_like_serde() {
        for s in [
            "",
            "plain",
            "中文",
            "a\"b",
            "back\\slash",
            "\u{0}\u{8}\u{c}\u{1f}",
            "\u{7f}é",
        ] {
            let mut out = Vec::new();
            json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn csv_cells_are_what_the_csv_crate_writes() {
        for r in results() {
            let mut out = Vec::new();
            Answer::of_result(&r).write_csv_cells(&mut out);
            out.push(b'\n');
            // The former writer: the csv crate with the same six cells.
            let a = Answer::of_result(&r);
            let cells: Vec<String> = vec![
                a.decision.map_or("", Outcome::as_str).to_string(),
                r.heightened.to_string(),
                r.nonconforming.to_string(),
                r.lists.join(";"),
                r.measures.join(";"),
                r.error.as_ref().map(error_text).unwrap_or_default(),
            ];
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            w.write_record(&cells).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(w.into_inner().unwrap()).unwrap()
            );
        }
    }

    /// A cell a spreadsheet would read as a formula gets a `'` before it (OWASP's CSV
    /// injection rule, and the full-width forms of its marks), inside the quotes when it is
    /// quoted; numbers that start with a sign too, and nothing else.
    #[test]
    fn cells_that_start_like_a_formula_are_guarded() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("=1+1", "'=1+1"),
            ("+86 371 6512 3456", "'+86 371 6512 3456"),
            ("-5", "'-5"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\tcmd", "'\tcmd"),
            ("\r=1", "\"'\r=1\""),
            ("-1,2", "\"'-1,2\""),
            ("5", "5"),
            ("a=1", "a=1"),
            (" =1", " =1"),
            ("'=1", "'=1"),
            // The full-width forms, which some spreadsheets read as the ASCII ones; another
            // character of the same width, or one further in, is no formula.
            ("＝1", "'＝1"),
            ("＋86 371", "'＋86 371"),
            ("－5", "'－5"),
            ("＠SUM(A1)", "'＠SUM(A1)"),
            ("＝1,2", "\"'＝1,2\""),
            ("a＝1", "a＝1"),
            ("＇＝1", "＇＝1"),
            ("ｘ", "ｘ"),
            ("", ""),
        ] {
            let mut out = Vec::new();
            csv_field(&mut out, cell);
            assert_eq!(String::from_utf8(out).unwrap(), written, "{cell:?}");
        }
        // The joined lists and measures, whose first code could be anything a catalogue
        // names.
        let r = ScreenResult {
            lists: vec!["-list".into(), "b".into()],
            measures: vec!["m".into(), "=m".into()],
            ..results()[1].clone()
        };
        let mut out = Vec::new();
        Answer::of_result(&r).write_csv_cells(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "deny,true,false,'-list;b,m;=m,"
        );
    }

    /// Codes by index into a table whose JSON strings were made once write the bytes that
    /// the same codes as strings, escaped on every row, write: in JSON and in CSV, for names
    /// that need escaping or quoting too.
    #[test]
    fn indexed_codes_write_what_owned_codes_write() {
        let table = ["court_defaulter", "b,c", "d\"e", "m\n2", "控制\u{1}\\", ""];
        let names = Names::new(&table);
        let all: Vec<u16> = vec![1, 0, 5, 4, 3, 2];
        for n in 0..=all.len() {
            let picked = &all[..n];
            let owned: Vec<String> = picked.iter().map(|&i| table[i as usize].into()).collect();
            let r = ScreenResult {
                lists: owned.clone(),
                measures: owned.iter().rev().cloned().collect(),
                ..results()[1].clone()
            };
            let reversed: Vec<u16> = picked.iter().rev().copied().collect();
            let indexed = Answer {
                lists: Codes::Indexed(picked, &names),
                measures: Codes::Indexed(&reversed, &names),
                ..Answer::of_result(&r)
            };
            let (mut json, mut csv) = (Vec::new(), Vec::new());
            indexed.write_json_fields(&mut json);
            indexed.write_csv_cells(&mut csv);
            let (mut want_json, mut want_csv) = (Vec::new(), Vec::new());
            Answer::of_result(&r).write_json_fields(&mut want_json);
            Answer::of_result(&r).write_csv_cells(&mut want_csv);
            assert_eq!(String::from_utf8(json), String::from_utf8(want_json));
            assert_eq!(String::from_utf8(csv), String::from_utf8(want_csv));
        }
    }
}
