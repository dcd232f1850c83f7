//! The rows of a `/v1/screen` batch: parsing one record (a CSV record, an NDJSON line or a
//! JSON array element), screening it, and writing its result as NDJSON or CSV. Runs on the
//! blocking pool, one chunk of records per call.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::screen::Batch;
use super::split::{InputFormat, Records};
use crate::batch::echo::{Echoed, RowWriter};
use crate::batch::input::{header_layout, headerless_names, named_id_column};
use crate::batch::records::{invalid_row, missing_id, row_text, shown_raw};
use crate::batch::render::{Answer, PlanNames};
use crate::engine::screen::{ScreenError, ScreenResult};
use crate::engine::verdict::{ScreenPlan, Verdict};
use crate::engine::{Engine, Outcome};

/// How a CSV body is laid out, decided from its first record.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvLayout {
    pub id_col: usize,
    /// Column names: the header's, or `id, column2, column3, …` when there is none.
    pub names: Vec<String>,
}

/// The first record is a header or data by the rule `credgate screen` follows too
/// ([`header_layout`]: a header when a field is a known identifier name or none looks like
/// an identifier; the id is then the column named `id`, else the one with the most specific
/// known name, else the first). A first row holding a mistyped identifier, or names before
/// the codes, is data and gets its result. A first record that is not valid CSV, or not
/// UTF-8, is data too (an `invalid_row` result). Otherwise the body has no header: the id is the first column
/// and the others are called `column2`, `column3`, …. Returns the layout and whether the
/// record was a header.
pub fn csv_layout(first: &[u8]) -> (CsvLayout, bool) {
    let fields = row_text(first).ok().and_then(|text| csv_fields(text).ok());
    if let Some((names, id_col)) = fields.as_deref().and_then(header_layout) {
        return (CsvLayout { id_col, names }, true);
    }
    (
        CsvLayout {
            id_col: 0,
            names: headerless_names(fields.map_or(1, |f| f.len())),
        },
        false,
    )
}

/// The first line of a CSV answer: `row`, the input columns, then the result columns.
/// Header names are the caller's text, masked like every echo.
pub fn csv_header(batch: &Batch) -> String {
    let id = ["id".to_string()];
    let input = ["input".to_string()];
    let names: &[String] = match (&batch.layout, batch.input) {
        (Some(l), InputFormat::Csv) => &l.names,
        (None, InputFormat::Csv) => &id,
        _ => &input,
    };
    let header = batch.writer(names.len()).csv_header(names);
    String::from_utf8_lossy(&header).into_owned()
}

pub use crate::batch::records::{csv_fields, csv_fields_into};
pub use crate::batch::render::csv_field as write_csv_field;

/// Counts of a batch, for `?summary=1` and the metrics.
#[derive(Default, Clone, Debug, PartialEq)]
pub struct Tally {
    pub rows: u64,
    pub by_outcome: [u64; 4],
    pub invalid: u64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.rows += o.rows;
        self.invalid += o.invalid;
        for (a, b) in self.by_outcome.iter_mut().zip(o.by_outcome) {
            *a += b;
        }
    }

    pub fn outcomes(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.iter().copied().zip(self.by_outcome)
    }

    pub fn summary_line(&self) -> String {
        let mut m = Map::new();
        m.insert("rows".into(), self.rows.into());
        for (o, n) in self.outcomes() {
            m.insert(o.as_str().into(), n.into());
        }
        m.insert("invalid".into(), self.invalid.into());
        format!("{}\n", serde_json::json!({ "summary": m }))
    }
}

/// An NDJSON/JSON row: its identifier and the other fields of its object, if any.
type JsonRow<'a> = (Cow<'a, str>, Option<Map<String, Value>>);

/// The identifier of an NDJSON or JSON array object and its other fields. The field is
/// chosen as a CSV column is ([`named_id_column`]): `id`, else the most specific known
/// identifier name (such as `统一社会信用代码`). An object has no column order to fall back
/// on, so without such a field the row is `missing_id`.
fn object_id(mut m: Map<String, Value>) -> Result<JsonRow<'static>, (&'static str, String)> {
    let keys: Vec<&String> = m.keys().collect();
    let Some(key) = named_id_column(&keys).map(|i| keys[i].clone()) else {
        return Err((
            "missing_id",
            "the object has no `id` (or 统一社会信用代码, 身份证号码, … field)".to_string(),
        ));
    };
    match m.remove(&key) {
        Some(Value::String(s)) => Ok((Cow::Owned(s), Some(m))),
        _ => Err((
            "missing_id",
            format!("the object's `{key}` is not a string"),
        )),
    }
}

fn row_error(code: &'static str, message: impl Into<String>) -> ScreenResult {
    ScreenResult::undecided(Some(ScreenError {
        code,
        message: message.into(),
        expected_check: None,
    }))
}

/// A JSON string with nothing to unescape (`"91…"`, possibly followed by white space),
/// borrowed; `None` for anything else, which then goes through serde_json.
fn plain_json_string(body: &[u8]) -> Option<&str> {
    let inner = body.strip_prefix(b"\"")?;
    let end = inner.iter().position(|&b| b == b'"')?;
    let (text, rest) = (&inner[..end], &inner[end + 1..]);
    if text.iter().any(|&b| b == b'\\' || b < 0x20) || !rest.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// Screens `input` by the lean path and hands the row's answer to `f`; `names` are the
/// plan's.
fn with_answer<R>(
    plan: &ScreenPlan<'_>,
    names: &PlanNames<'_>,
    v: &mut Verdict,
    input: &str,
    full_ids: bool,
    f: impl FnOnce(&Answer<'_>) -> R,
) -> R {
    match plan.screen(input, v) {
        Ok(id) => {
            let shown = id.shown(full_ids);
            f(&Answer::of_verdict(names, &id, shown.as_str(), v))
        }
        Err(e) => {
            let r = ScreenResult::undecided(Some(ScreenError::invalid_id(&e)));
            f(&Answer::of_result(&r))
        }
    }
}

/// Screens a chunk of records whose first is row `start_row`; returns the output bytes.
pub fn screen_chunk(
    engine: &Engine,
    batch: &Batch,
    chunk: &Records,
    start_row: u64,
) -> (Bytes, Tally) {
    let mut out = Vec::with_capacity(chunk.len() * 200);
    let mut tally = Tally::default();
    let plan = ScreenPlan::new(engine, batch.scenario, batch.as_of, batch.today, batch.mode);
    // The names the rows' verdicts refer to, as JSON strings, made once for the chunk.
    let names = PlanNames::new(&plan);
    let mut v = Verdict::default();
    // One vector of fields for every CSV record of the chunk (they all borrow from it).
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    // What every row of the batch shares: its writer, CSV lines as wide as the list's
    // columns (one, `input`, for JSON rows), and the identifier's column.
    let (width, id_col) = match (batch.input, &batch.layout) {
        (InputFormat::Csv, Some(l)) => (l.names.len(), l.id_col),
        _ => (1, 0),
    };
    let writer = batch.writer(width);
    for i in 0..chunk.len() {
        let rec = chunk.get(i);
        let row = start_row + i as u64;
        match batch.input {
            InputFormat::Csv => {
                let text = match row_text(rec) {
                    Ok(t) => t,
                    Err(why) => {
                        let r = ScreenResult::undecided(Some(invalid_row(why)));
                        let raw = shown_raw(rec);
                        let a = Answer::of_result(&r);
                        emit(&mut out, &writer, row, &raw, &a, Echoed::Raw, &mut tally);
                        continue;
                    }
                };
                if let Err(msg) = csv_fields_into(text, &mut fields) {
                    let r = ScreenResult::undecided(Some(invalid_row(msg)));
                    let a = Answer::of_result(&r);
                    emit(&mut out, &writer, row, text, &a, Echoed::Raw, &mut tally);
                    continue;
                }
                let cols = Echoed::Cells {
                    keys: &batch.keys,
                    cells: &fields,
                    id_col,
                };
                match fields.get(id_col) {
                    None => {
                        let r = ScreenResult::undecided(Some(missing_id(id_col)));
                        let a = Answer::of_result(&r);
                        emit(&mut out, &writer, row, "", &a, cols, &mut tally);
                    }
                    Some(id) => with_answer(&plan, &names, &mut v, id, batch.full_ids, |a| {
                        emit(&mut out, &writer, row, id, a, cols, &mut tally)
                    }),
                }
            }
            InputFormat::Ndjson | InputFormat::JsonArray => {
                let t = rec
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(rec.len());
                let body = &rec[t..];
                let parsed: Result<JsonRow, (&'static str, String)> = match body.first() {
                    Some(b'"') => match plain_json_string(body) {
                        Some(s) => Ok((Cow::Borrowed(s), None)),
                        None => serde_json::from_slice::<String>(body)
                            .map(|s| (Cow::Owned(s), None))
                            .map_err(|e| ("invalid_row", e.to_string())),
                    },
                    Some(b'{') => match serde_json::from_slice::<Map<String, Value>>(body) {
                        Ok(m) => object_id(m),
                        Err(e) => Err(("invalid_row", e.to_string())),
                    },
                    _ => Err((
                        "invalid_row",
                        "expected an identifier string or an object with a string `id`".to_string(),
                    )),
                };
                match parsed {
                    Ok((input, map)) => {
                        let cols = Echoed::Json(map.as_ref());
                        with_answer(&plan, &names, &mut v, &input, batch.full_ids, |a| {
                            emit(&mut out, &writer, row, &input, a, cols, &mut tally)
                        });
                    }
                    Err((code, msg)) => {
                        let r = row_error(code, msg);
                        let raw = shown_raw(body);
                        let a = Answer::of_result(&r);
                        emit(&mut out, &writer, row, &raw, &a, Echoed::Raw, &mut tally);
                    }
                }
            }
        }
    }
    (Bytes::from(out), tally)
}

/// Writes one row ([`RowWriter::write`]) and counts it.
fn emit(
    out: &mut Vec<u8>,
    writer: &RowWriter,
    row: u64,
    input: &str,
    r: &Answer<'_>,
    echoed: Echoed<'_>,
    tally: &mut Tally,
) {
    tally.rows += 1;
    match r.decision {
        Some(d) => tally.by_outcome[Outcome::ALL.iter().position(|&o| o == d).unwrap_or(0)] += 1,
        None => tally.invalid += 1,
    }
    writer.write(out, row, input, r, &echoed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echoed_row_is_cut_without_leaving_part_of_a_number() {
        let mut row = b"\xFF".to_vec();
        row.extend_from_slice("a".repeat(242).as_bytes());
        row.extend_from_slice(b"410102196804120211,x");
        let shown = shown_raw(&row);
        assert!(!shown.contains("4101021"), "{shown}");
        assert!(shown.ends_with('a'), "{shown}");
        assert_eq!(shown_raw(b"short,row"), "short,row");
    }

    #[test]
    fn layout_from_the_first_record() {
        let (l, header) = csv_layout(b"name,ID,note");
        assert!(header);
        assert_eq!((l.id_col, l.names.len()), (1, 3));
        let (l, header) = csv_layout(b"914101027110665834,x");
        assert!(!header);
        assert_eq!(l.names, ["id", "column2"]);
        let (l, header) = csv_layout(b"code,name");
        assert!(header);
        assert_eq!(l.id_col, 0);
        // A mistyped identifier is still data, full-width ones too; so is a row with names
        // before the code, and one that is not valid CSV.
        for data in [
            "410102196804120212,王建国",
            "４１０１０２１９６８０４１２０２１２,王建国",
            "9141010271106658,short",
            "\"410102196804120211,x",
            "恒达,914101027110665834",
            "恒达,\"9141 0102 7110 6658 34\"",
        ] {
            let (l, header) = csv_layout(data.as_bytes());
            assert!(!header, "{data}");
            assert_eq!(l.id_col, 0);
        }
        // Header names, whatever the language, digits in them or not.
        let (l, header) = csv_layout("统一社会信用代码,名称".as_bytes());
        assert!(header);
        assert_eq!(l.names, ["统一社会信用代码", "名称"]);
        let (_, header) = csv_layout("名称,2025年营业额,代码".as_bytes());
        assert!(header);
    }

    #[test]
    fn csv_fields_are_escaped_on_output() {
        let mut out = Vec::new();
        write_csv_field(&mut out, "a,\"b\"");
        assert_eq!(out, b"\"a,\"\"b\"\"\"");
    }
}
