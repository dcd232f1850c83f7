//! Cutting a streamed `/v1/screen` body into records as its bytes arrive: CSV records
//! (newlines inside quotes do not end a record), NDJSON lines, or the elements of one JSON
//! array. The splitter only finds boundaries; parsing a record is left to the screening
//! workers, so the async side does little more than scan bytes.

use std::fmt;

use crate::batch::records::Lines;
pub use crate::batch::records::Records;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Ndjson,
    JsonArray,
}

/// The body is not one well-formed JSON array, or holds a row longer than [`MAX_RECORD`]
/// (rows themselves are never a structural error).
#[derive(Debug, PartialEq, Eq)]
pub struct StructureError {
    /// What is wrong with the body as a whole.
    pub about: &'static str,
    pub offset: u64,
    pub message: &'static str,
}

impl fmt::Display for StructureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at byte {}: {}",
            self.about, self.offset, self.message
        )
    }
}

/// The longest row the splitter holds, as `credgate screen` caps it
/// ([`crate::batch::input::MAX_RECORD`]): a quote left open in a CSV row, a line or an array
/// element that never ends, would otherwise make the rest of the body one row, held whole in
/// memory.
pub const MAX_RECORD: usize = crate::batch::input::MAX_RECORD;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Json {
    BeforeOpen,
    ElemOrClose,
    Elem,
    InElem { depth: u32, in_str: bool, esc: bool },
    AfterElem,
    Done,
}

pub struct Splitter {
    format: InputFormat,
    buf: Vec<u8>,
    /// How far `buf` has been scanned.
    scan: usize,
    /// Start of the record being scanned.
    start: usize,
    /// Bytes dropped from the front of `buf` so far (for error offsets).
    dropped: u64,
    /// CSV and NDJSON: the records' line rule, shared with `credgate screen`.
    lines: Lines,
    json: Json,
}

impl Splitter {
    pub fn new(format: InputFormat) -> Splitter {
        Splitter {
            format,
            buf: Vec::new(),
            scan: 0,
            start: 0,
            dropped: 0,
            lines: Lines::new(format == InputFormat::Csv),
            json: Json::BeforeOpen,
        }
    }

    /// Adds bytes; complete non-blank records are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Records) -> Result<(), StructureError> {
        self.buf.extend_from_slice(bytes);
        match self.format {
            InputFormat::Csv | InputFormat::Ndjson => self.lines(out),
            InputFormat::JsonArray => self.json(out)?,
        }
        // Keep only the unfinished record.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.dropped += self.start as u64;
            self.start = 0;
        }
        if self.buf.len() > MAX_RECORD {
            return Err(StructureError {
                about: "a row is too long",
                offset: self.dropped,
                message: "a row longer than 1 MiB starts here; is a double quote left open?",
            });
        }
        Ok(())
    }

    /// The end of the body: the last record without a newline, or a structural error.
    pub fn finish(&mut self, out: &mut Records) -> Result<(), StructureError> {
        match self.format {
            InputFormat::Csv | InputFormat::Ndjson => {
                self.lines.finish(&self.buf[self.start..], out);
                self.start = self.buf.len();
                Ok(())
            }
            InputFormat::JsonArray => match self.json {
                Json::Done => Ok(()),
                Json::BeforeOpen => Err(self.error(
                    self.buf.len(),
                    "the body is not a JSON array (expected `[`)",
                )),
                _ => Err(self.error(
                    self.buf.len(),
                    "the JSON array is not closed (the body ended early)",
                )),
            },
        }
    }

    fn error(&self, at: usize, message: &'static str) -> StructureError {
        StructureError {
            about: "the body is not one JSON array",
            offset: self.dropped + at as u64,
            message,
        }
    }

    fn lines(&mut self, out: &mut Records) {
        self.start = self.lines.scan(&self.buf, self.scan, self.start, out);
        self.scan = self.buf.len();
    }

    fn json(&mut self, out: &mut Records) -> Result<(), StructureError> {
        let mut i = self.scan;
        while i < self.buf.len() {
            let c = self.buf[i];
            match self.json {
                Json::BeforeOpen
                | Json::ElemOrClose
                | Json::Elem
                | Json::AfterElem
                | Json::Done
                    if c.is_ascii_whitespace() =>
                {
                    self.start = i + 1;
                }
                Json::BeforeOpen => {
                    if c != b'[' {
                        return Err(self.error(i, "the body is not a JSON array (expected `[`)"));
                    }
                    self.json = Json::ElemOrClose;
                    self.start = i + 1;
                }
                Json::ElemOrClose if c == b']' => {
                    self.json = Json::Done;
                    self.start = i + 1;
                }
                Json::ElemOrClose | Json::Elem => {
                    if c == b',' || c == b']' {
                        return Err(self.error(
                            i,
                            "an array element is missing (two commas, or a comma before `]`)",
                        ));
                    }
                    self.start = i;
                    self.json = Json::InElem {
                        depth: 0,
                        in_str: false,
                        esc: false,
                    };
                    continue;
                }
                Json::AfterElem => match c {
                    b',' => {
                        self.json = Json::Elem;
                        self.start = i + 1;
                    }
                    b']' => {
                        self.json = Json::Done;
                        self.start = i + 1;
                    }
                    _ => return Err(self.error(i, "expected `,` or `]` after an array element")),
                },
                Json::Done => return Err(self.error(i, "data after the closing `]` of the array")),
                Json::InElem {
                    depth,
                    in_str: true,
                    esc,
                } => match (esc, c) {
                    (true, _) => {
                        self.json = Json::InElem {
                            depth,
                            in_str: true,
                            esc: false,
                        }
                    }
                    (false, b'\\') => {
                        self.json = Json::InElem {
                            depth,
                            in_str: true,
                            esc: true,
                        }
                    }
                    (false, b'"') if depth == 0 => self.end_elem(i + 1, out),
                    (false, b'"') => {
                        self.json = Json::InElem {
                            depth,
                            in_str: false,
                            esc: false,
                        }
                    }
                    _ => {}
                },
                Json::InElem {
                    depth,
                    in_str: false,
                    ..
                } => match c {
                    b'"' => {
                        self.json = Json::InElem {
                            depth,
                            in_str: true,
                            esc: false,
                        }
                    }
                    b'{' | b'[' => {
                        self.json = Json::InElem {
                            depth: depth + 1,
                            in_str: false,
                            esc: false,
                        }
                    }
                    // A bare scalar (a number, `true`, `null`) ends at what follows it.
                    b',' | b']' if depth == 0 => {
                        self.end_elem(i, out);
                        continue;
                    }
                    c if depth == 0 && c.is_ascii_whitespace() => self.end_elem(i, out),
                    b'}' | b']' if depth == 0 => {
                        return Err(self.error(i, "unbalanced `}` in an array element"))
                    }
                    b'}' | b']' if depth == 1 => self.end_elem(i + 1, out),
                    b'}' | b']' => {
                        self.json = Json::InElem {
                            depth: depth - 1,
                            in_str: false,
                            esc: false,
                        }
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        self.scan = i;
        Ok(())
    }
}

impl Splitter {
    /// Ends the element that started at `self.start` just before `end`.
    fn end_elem(&mut self, end: usize, out: &mut Records) {
        out.push(&self.buf[self.start..end]);
        self.json = Json::AfterElem;
        self.start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split at every possible point and returns the records.
    fn split_everywhere(format: InputFormat, input: &[u8]) -> Result<Vec<Vec<u8>>, StructureError> {
        let mut first: Option<Vec<Vec<u8>>> = None;
        for cut in 0..=input.len() {
            let mut s = Splitter::new(format);
            let mut out = Records::default();
            s.feed(&input[..cut], &mut out)?;
            s.feed(&input[cut..], &mut out)?;
            s.finish(&mut out)?;
            let recs: Vec<Vec<u8>> = (0..out.len()).map(|i| out.get(i).to_vec()).collect();
            if let Some(f) = &first {
                assert_eq!(f, &recs, "cut at {cut}");
            }
            first = Some(recs);
        }
        Ok(first.unwrap())
    }

    fn strs(v: Vec<Vec<u8>>) -> Vec<String> {
        v.into_iter()
            .map(|r| String::from_utf8(r).unwrap())
            .collect()
    }

    #[test]
    fn csv_records_keep_quoted_newlines_and_skip_blank_lines() {
        let r = split_everywhere(
            InputFormat::Csv,
            b"id,name\r\n1,\"a\nb\"\n\n2,\"x\"\"y\"\n3",
        )
        .unwrap();
        assert_eq!(strs(r), ["id,name", "1,\"a\nb\"", "2,\"x\"\"y\"", "3"]);
    }

    #[test]
    fn ndjson_lines() {
        let r = split_everywhere(InputFormat::Ndjson, b"\"a\"\n{\"id\":\"b\"}\r\n\n  \n").unwrap();
        assert_eq!(strs(r), ["\"a\"", "{\"id\":\"b\"}"]);
    }

    #[test]
    fn json_array_elements_with_nesting_and_escapes() {
        let r = split_everywhere(
            InputFormat::JsonArray,
            br#" [ "a" , {"id":"b,]","x":[1,{"y":"\"}"}]}, 7 ] "#,
        )
        .unwrap();
        assert_eq!(
            strs(r),
            [r#""a""#, r#"{"id":"b,]","x":[1,{"y":"\"}"}]}"#, "7"]
        );
        assert!(split_everywhere(InputFormat::JsonArray, b"[]")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_row_that_never_ends_is_refused_past_the_cap() {
        let rows = b"914101027110665834\n".repeat(MAX_RECORD / 19 * 3);
        // Each with where its long row starts.
        for (format, open, at) in [
            (InputFormat::Csv, &b"id\n\"open,quote\n"[..], 3),
            (InputFormat::Ndjson, b"\"a\"\n\"no newline ", 4),
            (InputFormat::JsonArray, b"[\"a\", \"no end ", 6),
        ] {
            let mut s = Splitter::new(format);
            let mut out = Records::default();
            s.feed(open, &mut out).unwrap();
            let text = if format == InputFormat::Csv {
                rows.clone()
            } else {
                vec![b'9'; rows.len()]
            };
            let e = text
                .chunks(64 * 1024)
                .find_map(|piece| s.feed(piece, &mut out).err())
                .unwrap_or_else(|| panic!("{format:?}: no error"));
            assert_eq!(e.about, "a row is too long", "{format:?}");
            assert_eq!(e.offset, at, "{format:?}: {e}");
        }
        // Many short rows, however many, are no long row.
        let mut s = Splitter::new(InputFormat::Csv);
        let mut out = Records::default();
        for piece in rows.chunks(64 * 1024) {
            s.feed(piece, &mut out).unwrap();
        }
    }

    #[test]
    fn json_array_structure_errors() {
        for (input, msg) in [
            (&b"{\"id\":1}"[..], "not a JSON array"),
            (b"[\"a\",]", "missing"),
            (b"[\"a\" \"b\"]", "expected `,`"),
            (b"[\"a\"] x", "after the closing"),
            (b"[\"a\"", "not closed"),
            (b"[}]", "unbalanced"),
        ] {
            let e = split_everywhere(InputFormat::JsonArray, input).unwrap_err();
            assert!(
                e.message.contains(msg),
                "{:?}: {e}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
