//! What a row of a CSV list is: one rule for `credgate screen` and `POST /v1/screen`, so the
//! same file gets the same rows and row numbers on every path.
//!
//! - A record ends at a line end outside double quotes (a quoted field may hold line
//!   breaks): LF, CRLF, or a CR alone, as old Mac exports end lines.
//! - A record of nothing but white space (space, tab, CR, LF, form feed) is not a row: it is
//!   skipped and not numbered. Every other record is a row and gets a result: `,` is a row
//!   whose identifier is empty (`invalid_id`).
//! - A record's fields follow RFC 4180 ([`csv_fields`]). A record that breaks those rules (a
//!   quote left open, text after a closing quote) is a row answered `invalid_row`, never a
//!   decision read from a guess at its fields.
//! - A row without the identifier's column is answered `missing_id`.
//!
//! A worksheet has cells, not lines: a row whose cells are all white space is skipped
//! ([`is_blank_row`]), every other row is a row.

use std::borrow::Cow;

use crate::engine::screen::ScreenError;

/// Complete records, copied out of a stream in order.
#[derive(Default)]
pub struct Records {
    pub data: Vec<u8>,
    /// End offset of each record in `data`; record `i` starts where `i - 1` ended.
    pub ends: Vec<usize>,
}

impl Records {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    pub fn push(&mut self, rec: &[u8]) {
        self.data.extend_from_slice(rec);
        self.ends.push(self.data.len());
    }

    /// Adds a line unless it is blank; a CR before its end is dropped.
    pub fn push_unless_blank(&mut self, rec: &[u8]) {
        if !is_blank(rec) {
            self.push(rec.strip_suffix(b"\r").unwrap_or(rec));
        }
    }
}

/// Whether a record or a cell is nothing but white space (ASCII: space, tab, CR, LF, form
/// feed), and so no row.
pub fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// Whether a worksheet row is no row: every cell blank ([`is_blank`]).
pub fn is_blank_row<S: AsRef<str>>(cells: &[S]) -> bool {
    cells.iter().all(|c| is_blank(c.as_ref().as_bytes()))
}

/// Cuts text into records at line feeds: outside double quotes for CSV, at every one for
/// NDJSON. It keeps only whether the text scanned so far is inside quotes, so the text can
/// come in pieces of any size.
#[derive(Clone, Debug)]
pub struct Lines {
    csv: bool,
    in_quotes: bool,
}

impl Lines {
    pub fn new(csv: bool) -> Lines {
        Lines {
            csv,
            in_quotes: false,
        }
    }

    /// Scans `buf[scan..]`, where the unfinished record begins at `start`; every record that
    /// ends in it goes to `out` (unless blank). Returns where the unfinished record now
    /// begins.
    pub fn scan(&mut self, buf: &[u8], scan: usize, mut start: usize, out: &mut Records) -> usize {
        // From one quote or line end to the next, eight bytes at a time. A CSV line ends at
        // a line feed or at a carriage return (CRLF, and the CR alone of old Mac exports:
        // the LF of a CRLF then ends an empty record, which is no row). NDJSON's quotes are
        // not looked for, and only a line feed ends its record.
        let set = if self.csv {
            [b'"', b'\n', b'\r']
        } else {
            [b'\n'; 3]
        };
        let mut i = scan;
        while let Some(p) = crate::scan::find_any(&buf[i.min(buf.len())..], set) {
            let at = i + p;
            if buf[at] == b'"' && self.csv {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                out.push_unless_blank(&buf[start..at]);
                start = at + 1;
            }
            i = at + 1;
        }
        start
    }

    /// The end of the text: what is left is the last record (even inside an open quote,
    /// where it is a record that does not parse).
    pub fn finish(&mut self, rest: &[u8], out: &mut Records) {
        out.push_unless_blank(rest);
        self.in_quotes = false;
    }
}

/// Splits one CSV record (RFC 4180 quoting) into fields.
pub fn csv_fields(rec: &str) -> Result<Vec<Cow<'_, str>>, &'static str> {
    let mut fields = Vec::new();
    csv_fields_into(rec, &mut fields)?;
    Ok(fields)
}

/// [`csv_fields`] into a vector that is cleared first, so that a chunk's records reuse one.
pub fn csv_fields_into<'a>(
    rec: &'a str,
    fields: &mut Vec<Cow<'a, str>>,
) -> Result<(), &'static str> {
    let b = rec.as_bytes();
    fields.clear();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            let mut s = String::new();
            i += 1;
            let mut seg = i;
            loop {
                let Some(j) = b[i..].iter().position(|&c| c == b'"').map(|p| p + i) else {
                    return Err("a quoted field is not closed");
                };
                s.push_str(&rec[seg..j]);
                if b.get(j + 1) == Some(&b'"') {
                    s.push('"');
                    i = j + 2;
                    seg = i;
                } else {
                    i = j + 1;
                    break;
                }
            }
            if i < b.len() && b[i] != b',' {
                return Err("text follows a closing quote");
            }
            fields.push(Cow::Owned(s));
        } else {
            let j = b[i..]
                .iter()
                .position(|&c| c == b',')
                .map_or(b.len(), |p| p + i);
            fields.push(Cow::Borrowed(&rec[i..j]));
            i = j;
        }
        if i >= b.len() {
            return Ok(());
        }
        i += 1;
        if i == b.len() {
            fields.push(Cow::Borrowed(""));
            return Ok(());
        }
    }
}

/// A record's text, or why it is not text: a CSV row (of a UTF-8 file or body) holding bytes
/// that are not UTF-8 is a row answered `invalid_row` with this message, on every path.
pub fn row_text(rec: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(rec).map_err(|e| {
        format!(
            "the row is not UTF-8 (byte {} of the row)",
            e.valid_up_to() + 1
        )
    })
}

/// How a row that could not be read is echoed: invalid UTF-8 replaced, at most 256 bytes'
/// worth of characters, and never a cut number ([`crate::trust::privacy::cut`]).
pub fn shown_raw(rec: &[u8]) -> Cow<'_, str> {
    const SHOWN: usize = 256;
    let head = &rec[..rec.len().min(SHOWN)];
    match String::from_utf8_lossy(head) {
        Cow::Borrowed(s) if rec.len() <= SHOWN => Cow::Borrowed(s),
        text => {
            // Characters past the cut decide whether it split a number.
            let more = String::from_utf8_lossy(&rec[head.len()..rec.len().min(SHOWN + 4)]);
            let whole = format!("{text}{more}");
            let shown = text.chars().count();
            Cow::Owned(crate::trust::privacy::cut(&whole, shown).into_owned())
        }
    }
}

/// The error of a row that could not be read (`message` from [`csv_fields`], or
/// [`row_text`]'s).
pub fn invalid_row(message: impl Into<String>) -> ScreenError {
    ScreenError {
        code: "invalid_row",
        message: message.into(),
        expected_check: None,
    }
}

/// The error of a row too short to have the identifier's column (0-based `id_col`).
pub fn missing_id(id_col: usize) -> ScreenError {
    ScreenError {
        code: "missing_id",
        message: format!("the row has no column {}", id_col + 1),
        expected_check: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &[u8], piece: usize) -> Vec<String> {
        let mut lines = Lines::new(true);
        let mut out = Records::default();
        let (mut buf, mut start) = (Vec::new(), 0);
        for part in text.chunks(piece.max(1)) {
            let scan = buf.len();
            buf.extend_from_slice(part);
            start = lines.scan(&buf, scan, start, &mut out);
        }
        lines.finish(&buf[start..], &mut out);
        (0..out.len())
            .map(|i| String::from_utf8(out.get(i).to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn blank_records_are_no_rows_and_everything_else_is_one() {
        let text = b"id,tag\r\n\n \t\r\n,\n\"a\nb\",x\n\x0c\n\"open,\n";
        let want = ["id,tag", ",", "\"a\nb\",x", "\"open,\n"];
        for piece in [1, 2, 3, 7, 100] {
            assert_eq!(records(text, piece), want, "pieces of {piece}");
        }
        assert_eq!(records("\u{3000}\n".as_bytes(), 4), ["\u{3000}"]);
    }

    #[test]
    fn csv_fields_follow_rfc4180() {
        let f = |s| {
            csv_fields(s)
                .unwrap()
                .into_iter()
                .map(|c| c.into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(f("a,b,c"), ["a", "b", "c"]);
        assert_eq!(f("a,,"), ["a", "", ""]);
        assert_eq!(f(","), ["", ""]);
        assert_eq!(f("\"x,\"\"y\"\"\",z"), ["x,\"y\"", "z"]);
        assert_eq!(f("\"a\nb\""), ["a\nb"]);
        assert_eq!(
            csv_fields("\"abc").unwrap_err(),
            "a quoted field is not closed"
        );
        assert_eq!(
            csv_fields("\"a\"b").unwrap_err(),
            "text follows a closing quote"
        );
    }

    #[test]
    fn a_worksheet_row_of_white_space_is_no_row() {
        assert!(is_blank_row(&["", " ", "\t"]));
        assert!(!is_blank_row(&["", "\u{3000}"]));
        assert!(!is_blank_row(&["", "x"]));
    }
}
