//! CSV records with the line each one starts on, read with `csv-core` into reused buffers.
//!
//! The `csv` crate's record position is where the reader *started looking* for a record, so
//! a record after an empty line (which csv skips) reports the empty line, and a CRLF file
//! reports every record one line early. A rejects report that points at the wrong line is
//! worse than none, so this reader drives `csv-core` itself and counts the skipped empty
//! lines. Records end at `\n` only: the `\r` of a CRLF ending stays at the end of the last
//! field and is trimmed away with the other blanks, while quoted fields keep theirs.

use std::io::{self, BufRead, BufReader, Read};

/// Largest record accepted, in decoded bytes. Real rows are a few hundred bytes; a record
/// this long is almost always an unclosed quote swallowing the rest of the file, and
/// stopping here keeps memory bounded.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Most fields accepted in one record (the widest file has 12 columns).
pub const MAX_RECORD_FIELDS: usize = 4096;

/// One record, borrowed from the reader's buffers until the next call.
#[derive(Debug)]
pub struct Record<'a> {
    text: &'a str,
    ends: &'a [usize],
    /// The 1-based line the record starts on.
    pub line: u64,
}

impl<'a> Record<'a> {
    /// A record over `text` whose fields end at `ends` (offsets into `text`), as
    /// [`Record::parts`] gave them: a record copied into a batch and read back there.
    pub(crate) fn from_parts(text: &'a str, ends: &'a [usize], line: u64) -> Record<'a> {
        Record { text, ends, line }
    }

    /// The record's text and its fields' end offsets into it.
    pub(crate) fn parts(&self) -> (&'a str, &'a [usize]) {
        (self.text, self.ends)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`, untrimmed.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // Field boundaries sit at ASCII delimiters, so they are character boundaries.
        self.text.get(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }
}

/// A record built from field values, for tests of header mapping and row validation.
#[cfg(test)]
pub struct OwnedRecord {
    text: String,
    ends: Vec<usize>,
}

#[cfg(test)]
impl OwnedRecord {
    pub fn new(fields: &[&str]) -> Self {
        let mut text = String::new();
        let mut ends = Vec::new();
        for f in fields {
            text.push_str(f);
            ends.push(text.len());
        }
        OwnedRecord { text, ends }
    }

    pub fn record(&self) -> Record<'_> {
        Record {
            text: &self.text,
            ends: &self.ends,
            line: 2,
        }
    }
}

/// Why a record could not be read.
#[derive(Debug)]
pub enum RecordError {
    Io(io::Error),
    /// The record is not valid UTF-8; `line` is the physical line of the first bad byte and
    /// `field` its 1-based field number.
    Utf8 {
        line: u64,
        field: usize,
    },
    /// The record starting on `line` exceeds [`MAX_RECORD_BYTES`] or [`MAX_RECORD_FIELDS`].
    TooLarge {
        line: u64,
    },
    /// The input ended inside a double-quoted field that began on `line`: the quote was
    /// never closed, so the field ran to the end of the input, on `last_line`. csv-core
    /// accepts that as a record; we refuse it, because the rows it swallowed would
    /// otherwise vanish as one malformed row.
    UnclosedQuote {
        line: u64,
        last_line: u64,
    },
}

pub struct RecordReader<R> {
    input: BufReader<R>,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R) -> Self {
        RecordReader {
            input: BufReader::with_capacity(64 * 1024, inner),
            core: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: vec![0; 1024],
            ends: vec![0; 32],
        }
    }

    /// The stream the records are read from.
    pub fn get_ref(&self) -> &R {
        self.input.get_ref()
    }

    pub fn into_inner(self) -> R {
        self.input.into_inner()
    }

    /// The next record, or `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, RecordError> {
        let first_line = self.core.line();
        // Empty lines before the record are consumed by csv-core without a record; count them
        // while the record has not started (with `\n` as the only terminator, each is one byte).
        let mut skipped = 0u64;
        let mut started = false;
        let (mut outlen, mut endlen) = (0, 0);
        // At the end of the input a record still open is ended by a line end of our own
        // rather than by telling csv-core the input is over: outside quotes the line end
        // ends the record just as the end of input would, inside a quoted field it becomes
        // part of the field and csv-core asks for more. Told then that the input is over,
        // it gives the record only if a quoted field was open (csv-core accepts an
        // unclosed quote at the end of input; we refuse it, or the rows it swallowed would
        // vanish as one malformed row) and nothing if no record had begun after all (a
        // byte-order mark alone). csv-core does not expose its state, and a clone of its
        // reader does not copy the tables it runs on, so this is how to ask.
        let mut fed_line_end = false;
        let mut unclosed = false;
        loop {
            let (res, nin, nout, nend) = {
                let input = self.input.fill_buf().map_err(RecordError::Io)?;
                if !started {
                    let k = input.iter().take_while(|&&b| b == b'\n').count();
                    skipped += k as u64;
                    started = k < input.len();
                }
                let out = &mut self.out[outlen..];
                let ends = &mut self.ends[endlen..];
                if !input.is_empty() {
                    self.core.read_record(input, out, ends)
                } else if started && !fed_line_end {
                    let (res, nin, nout, nend) = self.core.read_record(b"\n", out, ends);
                    fed_line_end = nin == 1;
                    (res, 0, nout, nend)
                } else {
                    let (res, nin, nout, nend) = self.core.read_record(&[], out, ends);
                    unclosed = fed_line_end;
                    (res, nin, nout, nend)
                }
            };
            self.input.consume(nin);
            outlen += nout;
            endlen += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        return Err(RecordError::TooLarge {
                            line: first_line + skipped,
                        });
                    }
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= MAX_RECORD_FIELDS {
                        return Err(RecordError::TooLarge {
                            line: first_line + skipped,
                        });
                    }
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                csv_core::ReadRecordResult::End => return Ok(None),
                csv_core::ReadRecordResult::Record => break,
            }
        }
        let line = first_line + skipped;
        let ends = &self.ends[..endlen];
        let bytes = &self.out[..outlen];
        if unclosed {
            // The open field is the record's last; the line ends before it (inside earlier
            // quoted fields) say on which line its quote stands, those inside it on which
            // line the input ended. The field ends with the line end fed above, and
            // perhaps the file's own last one: neither begins another line.
            let start = endlen.checked_sub(2).map_or(0, |i| ends[i]);
            let newlines = |b: &[u8]| b.iter().filter(|&&b| b == b'\n').count() as u64;
            let field = &bytes[start..bytes.len() - 1];
            let field = field.strip_suffix(b"\n").unwrap_or(field);
            let line = line + newlines(&bytes[..start]);
            return Err(RecordError::UnclosedQuote {
                line,
                last_line: line + newlines(field),
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(Record { text, ends, line })),
            Err(e) => {
                let at = e.valid_up_to();
                let newlines = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
                Err(RecordError::Utf8 {
                    line: line + newlines,
                    field: ends.iter().take_while(|&&end| end <= at).count() + 1,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut r = RecordReader::new(input);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push((rec.line, rec.iter().map(str::to_string).collect()));
        }
        out
    }

    #[test]
    fn lines_are_where_records_start() {
        let got = records(b"h1,h2\n\n\na,b\r\n\"x\ny\",z\r\n\r\nlast,1");
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 4, 5, 7, 8]);
        assert_eq!(got[1].1, ["a", "b\r"]);
        assert_eq!(got[2].1, ["x\ny", "z\r"]);
        assert_eq!(got[3].1, ["\r"]);
        assert_eq!(got[4].1, ["last", "1"]);
    }

    #[test]
    fn grows_buffers_for_long_records() {
        let long = "字".repeat(5000);
        let input = format!("{long},{}\n", "x,".repeat(100));
        let got = records(input.as_bytes());
        assert_eq!(got[0].1[0], long);
        assert_eq!(
            got[0].1.len(),
            102,
            "the trailing comma opens an empty field"
        );
    }

    #[test]
    fn an_unclosed_quote_stops_at_the_size_limit() {
        let mut input = b"a,b\nc,\"never closed\n".to_vec();
        input.extend_from_slice(&vec![b'x'; MAX_RECORD_BYTES + 10]);
        let mut r = RecordReader::new(&input[..]);
        assert!(r.next_record().unwrap().is_some());
        match r.next_record() {
            Err(RecordError::TooLarge { line }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        let commas = vec![b','; MAX_RECORD_FIELDS * 2];
        let mut r = RecordReader::new(&commas[..]);
        assert!(matches!(
            r.next_record(),
            Err(RecordError::TooLarge { line: 1 })
        ));
    }

    /// Reads `input` to its end, or to the first error.
    fn read_all(input: &[u8]) -> Result<Vec<u64>, RecordError> {
        let mut r = RecordReader::new(input);
        let mut lines = Vec::new();
        while let Some(rec) = r.next_record()? {
            lines.push(rec.line);
        }
        Ok(lines)
    }

    #[test]
    fn an_unclosed_quote_at_the_end_of_input_is_an_error() {
        // Regression: csv-core ends the record at the end of input, so the rows after the
        // quote came out as one last field and vanished with the row that swallowed them.
        let input = "h1,h2\na,b\nc,\"未闭合\nd,e\nf,g\n";
        match read_all(input.as_bytes()) {
            Err(RecordError::UnclosedQuote { line, last_line }) => {
                assert_eq!((line, last_line), (3, 5))
            }
            other => panic!("{other:?}"),
        }
        // Without a final line end, and with earlier quoted fields spanning lines: the line
        // is the quote's, not the record's.
        match read_all(b"h\n\"x\ny\",\"z\nw") {
            Err(RecordError::UnclosedQuote { line, last_line }) => {
                assert_eq!((line, last_line), (3, 4))
            }
            other => panic!("{other:?}"),
        }
        match read_all(b"h\n\"") {
            Err(RecordError::UnclosedQuote { line, last_line }) => {
                assert_eq!((line, last_line), (2, 2))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn closed_quotes_and_inner_quotes_at_the_end_of_input_are_fine() {
        let endings: [&[u8]; 7] = [
            b"h\n\"a\"",
            b"h\n\"a\"\n",
            b"h\n\"a\"\"b\"",
            b"h\na,",
            b"h\nab\"c",
            b"h\n\"a\"b\"c",
            b"h\n\n\n",
        ];
        for input in endings {
            let got = read_all(input);
            assert!(got.is_ok(), "{:?}: {got:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn invalid_utf8_names_the_physical_line_and_field() {
        let mut r = RecordReader::new(&b"a,b\nc,\"d\ne\xFF\"\n"[..]);
        assert!(r.next_record().unwrap().is_some());
        match r.next_record() {
            Err(RecordError::Utf8 { line, field }) => assert_eq!((line, field), (3, 2)),
            other => panic!("{other:?}"),
        }
    }
}
