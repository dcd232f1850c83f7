//! CSV output files written through large in-memory buffers.
//!
//! Fields are appended as byte slices straight into the file's buffer, so a row costs no
//! allocation; the generator only emits text that needs no CSV quoting.

use super::report::SynthError;
use crate::date::Day;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes buffered per file before a write to the operating system.
const CAPACITY: usize = 1 << 20;

pub struct Sink {
    /// Path relative to the output directory, as reported in `synth.json`.
    pub rel: String,
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Data rows written, not counting the header.
    pub rows: u64,
    /// Bytes written, including the header.
    pub bytes: u64,
}

impl Sink {
    /// Creates (or truncates) `root/rel` and writes the header line.
    pub fn create(root: &Path, rel: &str, header: &str) -> Result<Sink, SynthError> {
        let path = root.join(rel);
        let file = File::create(&path).map_err(|source| SynthError::Write {
            path: path.clone(),
            source,
        })?;
        let mut buf = Vec::with_capacity(CAPACITY + 4096);
        buf.extend_from_slice(header.as_bytes());
        buf.push(b'\n');
        Ok(Sink {
            rel: rel.to_string(),
            path,
            file,
            buf,
            rows: 0,
            bytes: 0,
        })
    }

    /// Appends a field followed by a comma.
    pub fn field(&mut self, value: &[u8]) {
        self.buf.extend_from_slice(value);
        self.buf.push(b',');
    }

    /// Appends a date field (empty for `None`) followed by a comma.
    pub fn day(&mut self, value: Option<Day>) {
        if let Some(d) = value {
            self.buf.extend_from_slice(&d.to_bytes());
        }
        self.buf.push(b',');
    }

    /// Appends the last field of a row, ends the row and flushes a full buffer.
    pub fn end(&mut self, value: &[u8]) -> Result<(), SynthError> {
        self.buf.extend_from_slice(value);
        self.buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() >= CAPACITY {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends a row whose last field is a date.
    pub fn end_day(&mut self, value: Option<Day>) -> Result<(), SynthError> {
        match value {
            Some(d) => self.end(&d.to_bytes()),
            None => self.end(b""),
        }
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        self.file
            .write_all(&self.buf)
            .map_err(|source| SynthError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes what is buffered and syncs nothing: a synthetic data set needs no durability,
    /// only completeness when this returns.
    pub fn finish(&mut self) -> Result<(), SynthError> {
        self.flush()
    }
}

/// Formats `n` in decimal (ASCII digits) into `buf` without allocating.
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        let mut buf = [0u8; 20];
        assert_eq!(format_u64(0, &mut buf), b"0");
        assert_eq!(format_u64(1_234_567, &mut buf), b"1234567");
        assert_eq!(
            format_u64(u64::MAX, &mut buf),
            u64::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn writes_rows_after_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = Sink::create(dir.path(), "t.csv", "a,b,c").unwrap();
        sink.field(b"x");
        sink.day(Day::from_ymd(2024, 2, 29));
        sink.end_day(None).unwrap();
        sink.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert_eq!(text, "a,b,c\nx,2024-02-29,\n");
        assert_eq!((sink.rows, sink.bytes), (1, text.len() as u64));
    }
}
