//! One screened row written out with what it echoes of the caller's input, as an NDJSON
//! object or a CSV line: the one writer of `credgate screen` (CSV and NDJSON, and the cells
//! of its xlsx rows) and of `POST /v1/screen`, so the same rows give the same bytes.
//!
//! NDJSON: `{"row","input",<the result's fields>,"columns"}`. CSV: `row`, the input
//! columns, then [`RESULT_COLUMNS`]. Echoed text is the caller's, and a person's number in
//! it is masked ([`mask_numbers`]) unless the reader may see it (a key with
//! `personal_full`, `credgate screen --full-ids`): the identifier of a row whose number is a
//! person's shows as the masked `id`, a valid organisation code as it was written, any
//! other identifier text and every other cell, header name and error message with each run
//! of digits masked.

use std::borrow::Cow;
use std::io::Write;

use serde_json::{Map, Value};

use super::input::Chunk;
use super::render::{csv_field, json_str, Answer};
use crate::engine::screen::ScreenError;
use crate::trust::privacy::mask_numbers;

/// The result columns of a CSV row, after the input columns.
pub const RESULT_COLUMNS: [&str; 6] = [
    "decision",
    "heightened",
    "nonconforming",
    "lists",
    "measures",
    "error",
];

/// The cells of one input row.
pub trait Cells {
    /// How many cells the row has.
    fn count(&self) -> usize;
    /// Cell `i`; `i < count()`.
    fn cell(&self, i: usize) -> &str;
}

impl<S: AsRef<str>> Cells for Vec<S> {
    fn count(&self) -> usize {
        self.len()
    }

    fn cell(&self, i: usize) -> &str {
        self[i].as_ref()
    }
}

/// Row `i` of a chunk of `credgate screen`.
pub struct ChunkRow<'a>(pub &'a Chunk, pub usize);

impl Cells for ChunkRow<'_> {
    fn count(&self) -> usize {
        self.0.row(self.1).len()
    }

    fn cell(&self, i: usize) -> &str {
        self.0.cell(self.1, i)
    }
}

/// What a row echoes besides its result.
pub enum Echoed<'a> {
    /// A CSV or worksheet row: its cells, named by `keys` (the batch's column names; cells
    /// past them `columnN`), the identifier in cell `id_col` (which a short row lacks).
    Cells {
        keys: &'a ColumnKeys,
        cells: &'a dyn Cells,
        id_col: usize,
    },
    /// A row that could not be parsed: only its text, which is the row's `input`, and in CSV
    /// its first cell.
    Raw,
    /// An NDJSON or JSON array row: the other fields of its object, if it is one.
    Json(Option<&'a Map<String, Value>>),
}

/// The keys of a batch's NDJSON `columns` objects: every column name as echoed (masked
/// unless the batch shows people's numbers in full), written as a JSON string and its `:`.
/// The names are the same on every row of a batch, so they are masked and escaped once, when
/// the batch starts ([`RowWriter::column_keys`]), and each row copies their bytes: done on
/// every row, that work was a visible share of the user time of
/// `credgate screen --format ndjson`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnKeys {
    /// `"name":` of every column, one after the other.
    bytes: Vec<u8>,
    /// Where each column's key ends in `bytes`.
    ends: Vec<usize>,
    /// Whether the names were masked: the writer that copies them must mask what it echoes
    /// too.
    masked: bool,
}

impl ColumnKeys {
    /// The key of column `i` (`"name":`), `None` past the named columns.
    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

/// How rows are written: the same for every row of a batch.
#[derive(Clone, Copy, Debug)]
pub struct RowWriter {
    /// CSV lines, else NDJSON objects.
    pub csv: bool,
    /// Mask people's numbers in echoed text.
    pub mask: bool,
    /// The input columns of a CSV line: the names of the list's columns (one, `input`, for
    /// JSON rows). A short row is padded to it, and the cells of a long row past it are not
    /// echoed (they have no column to go in; NDJSON echoes them as `columnN`).
    pub width: usize,
}

impl RowWriter {
    /// Caller text as it may be echoed.
    pub fn echo<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.mask {
            mask_numbers(text)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// The identifier text `input` as echoed with its answer: in full when not masking; a
    /// person's recognised number as its (masked) `id`; a recognised organisation code as
    /// written; anything else with its numbers masked.
    pub fn shown<'t>(&self, input: &'t str, answer: &Answer<'t>) -> Cow<'t, str> {
        match (answer.id, answer.id_type) {
            _ if !self.mask => Cow::Borrowed(input),
            (Some(id), Some("ric")) => Cow::Borrowed(id),
            (Some(_), Some(_)) => Cow::Borrowed(input),
            _ => mask_numbers(input),
        }
    }

    /// The error of an answer as echoed (a message may quote the row).
    pub fn error<'e>(&self, answer: &Answer<'e>) -> Option<Cow<'e, ScreenError>> {
        let e = answer.error?;
        Some(match self.echo(&e.message) {
            Cow::Borrowed(_) => Cow::Borrowed(e),
            Cow::Owned(message) => Cow::Owned(ScreenError {
                message,
                ..e.clone()
            }),
        })
    }

    /// The keys of the `columns` objects of a batch whose columns are called `names`, the
    /// identifier in column `id_col` (not echoed), as this writer echoes them: to be made
    /// once per batch and handed to every row's [`Echoed::Cells`].
    ///
    /// Keys are unique, as a JSON object's names must be for a client to read them all: a
    /// name already taken by an earlier echoed column (the same header twice, or two that
    /// mask alike) gets `_N` appended, N its column number from 1 (`备注`, `备注_3`), as
    /// often as it takes.
    pub fn column_keys(&self, names: &[String], id_col: usize) -> ColumnKeys {
        let mut keys = ColumnKeys {
            bytes: Vec::with_capacity(names.iter().map(|n| n.len() + 3).sum()),
            ends: Vec::with_capacity(names.len()),
            masked: self.mask,
        };
        let mut taken = std::collections::HashSet::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let mut key = self.echo(n);
            if i != id_col {
                while taken.contains(key.as_ref()) {
                    key = Cow::Owned(format!("{key}_{}", i + 1));
                }
                taken.insert(key.clone().into_owned());
            }
            json_str(&mut keys.bytes, &key);
            keys.bytes.push(b':');
            keys.ends.push(keys.bytes.len());
        }
        keys
    }

    /// The header line of a CSV answer: `row`, `names` (masked like every echo), the result
    /// columns.
    pub fn csv_header(&self, names: &[String]) -> Vec<u8> {
        let mut out = b"row".to_vec();
        for n in names {
            out.push(b',');
            csv_field(&mut out, &self.echo(n));
        }
        for n in RESULT_COLUMNS {
            out.push(b',');
            out.extend_from_slice(n.as_bytes());
        }
        out.push(b'\n');
        out
    }

    /// Calls `f` with each input cell of a CSV line of the row, echoed: exactly
    /// [`RowWriter::width`] of them.
    pub fn input_cells(
        &self,
        input: &str,
        answer: &Answer<'_>,
        echoed: &Echoed<'_>,
        mut f: impl FnMut(&str),
    ) {
        let width = self.width.max(1);
        let mut written = 0;
        match echoed {
            Echoed::Cells { cells, id_col, .. } => {
                for i in 0..cells.count().min(width) {
                    if i == *id_col {
                        f(&self.shown(input, answer));
                    } else {
                        f(&self.echo(cells.cell(i)));
                    }
                    written += 1;
                }
            }
            Echoed::Raw | Echoed::Json(_) => {
                f(&self.shown(input, answer));
                written = 1;
            }
        }
        for _ in written..width {
            f("");
        }
    }

    /// Appends the row: number `row`, identifier text `input`, its answer, and what it
    /// echoes.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        row: u64,
        input: &str,
        answer: &Answer<'_>,
        echoed: &Echoed<'_>,
    ) {
        let error = self.error(answer);
        let answer = Answer {
            error: error.as_deref(),
            ..*answer
        };
        if self.csv {
            crate::engine::json::decimal(out, row);
            out.push(b',');
            self.input_cells(input, &answer, echoed, |cell| {
                csv_field(out, cell);
                out.push(b',');
            });
            answer.write_csv_cells(out);
            out.push(b'\n');
            return;
        }
        out.extend_from_slice(b"{\"row\":");
        crate::engine::json::decimal(out, row);
        out.extend_from_slice(b",\"input\":");
        let shown = self.shown(input, &answer);
        let at = out.len();
        json_str(out, &shown);
        let escaped = (&*shown, at..out.len());
        out.push(b',');
        answer.write_json_fields_after(out, Some(escaped));
        out.extend_from_slice(b",\"columns\":");
        self.write_columns(out, echoed);
        out.extend_from_slice(b"}\n");
    }

    /// The `columns` object: entries in order, `columnN` for cells past the names, an
    /// object's other fields (sorted by key) without `id`.
    fn write_columns(&self, out: &mut Vec<u8>, echoed: &Echoed<'_>) {
        out.push(b'{');
        let mut first = true;
        let mut comma = |out: &mut Vec<u8>| {
            if !first {
                out.push(b',');
            }
            first = false;
        };
        let key = |out: &mut Vec<u8>, k: &str| {
            json_str(out, &self.echo(k));
            out.push(b':');
        };
        match echoed {
            Echoed::Raw | Echoed::Json(None) => {}
            Echoed::Cells {
                keys,
                cells,
                id_col,
            } => {
                debug_assert!(
                    keys.ends.is_empty() || keys.masked == self.mask,
                    "keys made by a writer that masks otherwise"
                );
                for i in 0..cells.count() {
                    if i == *id_col {
                        continue;
                    }
                    comma(out);
                    match keys.get(i) {
                        Some(k) => out.extend_from_slice(k),
                        None => key(out, &format!("column{}", i + 1)),
                    }
                    json_str(out, &self.echo(cells.cell(i)));
                }
            }
            Echoed::Json(Some(map)) => {
                for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "id") {
                    comma(out);
                    key(out, k);
                    json_value(out, v, self.mask);
                }
            }
        }
        out.push(b'}');
    }
}

/// A JSON value as serde_json writes it (compact), with people's numbers masked when `mask`:
/// in strings and object keys at every depth, and a number that is one (an NDJSON
/// `{"rep":410102196804120211}`) becomes the masked string, since `410102********0211` is
/// no JSON number.
fn json_value(out: &mut Vec<u8>, v: &Value, mask: bool) {
    match v {
        _ if !mask => {
            // Writing a JSON value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, v);
        }
        Value::String(s) => json_str(out, &mask_numbers(s)),
        Value::Number(n) => {
            // Written into a buffer on the stack first, so that a number with nothing to mask
            // costs no allocation.
            let mut buf = [0u8; 40];
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            let owned;
            let text = if write!(cursor, "{n}").is_ok() {
                let len = cursor.position() as usize;
                std::str::from_utf8(&buf[..len]).unwrap_or_default()
            } else {
                owned = n.to_string();
                &owned
            };
            match mask_numbers(text) {
                Cow::Owned(masked) => json_str(out, &masked),
                Cow::Borrowed(text) => out.extend_from_slice(text.as_bytes()),
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(out, item, true);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_str(out, &mask_numbers(k));
                out.push(b':');
                json_value(out, item, true);
            }
            out.push(b'}');
        }
        Value::Null | Value::Bool(_) => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::screen::ScreenResult;

    const PERSON: &str = "410102196804120211";

    fn invalid(message: &str) -> ScreenResult {
        ScreenResult::undecided(Some(ScreenError {
            code: "invalid_id",
            message: message.into(),
            expected_check: None,
        }))
    }

    fn write(w: RowWriter, input: &str, r: &ScreenResult, echoed: &Echoed<'_>) -> String {
        let mut out = Vec::new();
        w.write(&mut out, 7, input, &Answer::of_result(r), echoed);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_lines_pad_short_rows_and_mask_what_they_echo() {
        let names = ["id".to_string(), "rep".to_string(), "note".to_string()];
        let cells = vec!["4101021968041202", PERSON];
        let r = invalid(&format!("bad: {PERSON}"));
        let w = RowWriter {
            csv: true,
            mask: true,
            width: 3,
        };
        let keys = w.column_keys(&names, 0);
        let echoed = Echoed::Cells {
            keys: &keys,
            cells: &cells,
            id_col: 0,
        };
        assert_eq!(
            write(w, cells[0], &r, &echoed),
            "7,410102******1202,410102********0211,,,false,false,,,\
             invalid_id: bad: 410102********0211\n"
        );
        let w = RowWriter { mask: false, ..w };
        assert_eq!(
            write(w, cells[0], &r, &echoed),
            format!("7,4101021968041202,{PERSON},,,false,false,,,invalid_id: bad: {PERSON}\n")
        );
        assert_eq!(
            String::from_utf8(w.csv_header(&names)).unwrap(),
            "row,id,rep,note,decision,heightened,nonconforming,lists,measures,error\n"
        );
    }

    #[test]
    fn ndjson_rows_echo_the_other_cells_by_name() {
        let names = ["name".to_string(), "id".to_string()];
        let cells = vec!["恒达", "x", PERSON];
        let w = RowWriter {
            csv: false,
            mask: true,
            width: 2,
        };
        let keys = w.column_keys(&names, 1);
        let echoed = Echoed::Cells {
            keys: &keys,
            cells: &cells,
            id_col: 1,
        };
        let line = write(w, "x", &invalid("too short"), &echoed);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["row"], 7);
        assert_eq!(v["input"], "x");
        assert_eq!(
            v["columns"],
            serde_json::json!({"name": "恒达", "column3": "410102********0211"})
        );
        // An unparsable row echoes its text as `input` and nothing else.
        let line = write(w, PERSON, &invalid("broken"), &Echoed::Raw);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["input"], "410102********0211");
        assert_eq!(v["columns"], serde_json::json!({}));
    }

    /// The `columns` object as the writer wrote it when it masked and escaped every column
    /// name on every row (a name an earlier echoed column took getting `_N`, N its column).
    fn columns_per_row(w: RowWriter, names: &[String], cells: &[String], id_col: usize) -> String {
        let mut unique: Vec<String> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut key = w.echo(n).into_owned();
            let earlier = |k: &str| (0..i).any(|j| j != id_col && unique[j] == k);
            while i != id_col && earlier(&key) {
                key = format!("{key}_{}", i + 1);
            }
            unique.push(key);
        }
        let mut out = b"{".to_vec();
        let mut first = true;
        for (i, cell) in cells.iter().enumerate() {
            if i == id_col {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            match unique.get(i) {
                Some(k) => json_str(&mut out, k),
                None => json_str(&mut out, &w.echo(&format!("column{}", i + 1))),
            }
            out.push(b':');
            json_str(&mut out, &w.echo(cell));
        }
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    /// The `columns` object of an NDJSON row, cut out of the line.
    fn columns_of(line: &str) -> &str {
        let at = line.find(",\"columns\":").unwrap() + ",\"columns\":".len();
        line[at..].strip_suffix("}\n").unwrap()
    }

    proptest::proptest! {
        /// Keys made once per batch give the bytes that masking and escaping every name on
        /// every row gave: for any names (quotes, backslashes, control characters, non-ASCII,
        /// people's numbers), rows shorter and longer than the header, masked or not.
        #[test]
        fn keys_made_once_write_what_every_row_wrote(
            names in proptest::collection::vec(
                "[a-z\"\\\\\\x00-\\x1f\\x7f名称 ]{0,6}|[0-9 ]{14,20}|410102196804120211|４１０１０２１９６８０４１２０２１１",
                0..5,
            ),
            cells in proptest::collection::vec("\\PC{0,4}|410102196804120211", 0..7),
            id_col in 0usize..4,
            mask in proptest::bool::ANY,
        ) {
            let w = RowWriter { csv: false, mask, width: names.len() };
            let keys = w.column_keys(&names, id_col);
            let echoed = Echoed::Cells { keys: &keys, cells: &cells, id_col };
            let line = write(w, "x", &invalid("too short"), &echoed);
            proptest::prop_assert_eq!(columns_of(&line), columns_per_row(w, &names, &cells, id_col));
        }
    }

    #[test]
    fn awkward_names_are_keys_as_before() {
        let names: Vec<String> = [
            "quo\"te",
            "back\\slash",
            "tab\tctl\u{1}del\u{7f}",
            "line\nbreak",
            "名称 Ünï 🙂",
            "",
            PERSON,
            "法人 410102 19680412 0211",
            "４１０１０２１９６８０４１２０２１１",
            "91410184MAUN17PB6B",
        ]
        .map(String::from)
        .to_vec();
        let cells: Vec<String> = (0..12).map(|i| format!("v{i}")).collect();
        for mask in [true, false] {
            let w = RowWriter {
                csv: false,
                mask,
                width: names.len(),
            };
            let keys = w.column_keys(&names, 0);
            let echoed = Echoed::Cells {
                keys: &keys,
                cells: &cells,
                id_col: 0,
            };
            let line = write(w, "x", &invalid("too short"), &echoed);
            assert_eq!(
                columns_of(&line),
                columns_per_row(w, &names, &cells, 0),
                "{line}"
            );
        }
        let w = RowWriter {
            csv: false,
            mask: true,
            width: names.len(),
        };
        assert_eq!(
            String::from_utf8(w.column_keys(&names, 0).bytes).unwrap(),
            "\"quo\\\"te\":\"back\\\\slash\":\"tab\\tctl\\u0001del\u{7f}\":\"line\\nbreak\":\
             \"名称 Ünï 🙂\":\"\":\"410102********0211\":\"法人 410102 ******** 0211\":\
             \"410102********0211_9\":\"91410184MAUN17PB6B\":"
        );
    }

    /// A row's `id` that is the text of its `input` is copied from the `input` just written
    /// instead of escaped again: the line is what serde writes of the row either way, the
    /// same text or not, plain or needing escapes.
    #[test]
    fn an_id_like_the_input_is_written_as_serde_writes_it() {
        let decided = |id: &str| ScreenResult {
            id: Some(id.into()),
            id_type: Some("uscc"),
            decision: Some(crate::engine::Outcome::Deny),
            heightened: false,
            nonconforming: false,
            lists: vec!["court_defaulter".into()],
            measures: Vec::new(),
            error: None,
        };
        for (input, id) in [
            ("914101027110665834", "914101027110665834"),
            ("9141 0102 7110 6658 34", "914101027110665834"),
            ("a\"b\\c\u{1}", "a\"b\\c\u{1}"),
            ("a\"b", "a\"c"),
            ("", ""),
        ] {
            for mask in [true, false] {
                let w = RowWriter {
                    csv: false,
                    mask,
                    width: 1,
                };
                let r = decided(id);
                let line = write(w, input, &r, &Echoed::Raw);
                let fields = serde_json::to_string(&r).unwrap();
                let want = format!(
                    "{{\"row\":7,\"input\":{},{},\"columns\":{{}}}}\n",
                    serde_json::to_string(&w.shown(input, &Answer::of_result(&r))).unwrap(),
                    &fields[1..fields.len() - 1]
                );
                assert_eq!(line, want, "{input:?} {id:?}");
            }
        }
    }
}
