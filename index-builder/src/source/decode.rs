//! Turning a source file's raw bytes into a UTF-8 byte stream, in one bounded-memory pass.
//!
//! Source files can be gigabytes, so nothing here buffers a whole file. The raw bytes flow
//! through a [`HashingReader`] (SHA-256 and byte count for the manifest), then, for GB18030
//! files, through a [`Gb18030Reader`] that decodes to UTF-8 with `encoding_rs`. UTF-8 files
//! are passed through unchanged: the CSV reader validates each record as UTF-8 anyway, and
//! reports the record's line when a file that looked like UTF-8 turns out not to be.
//!
//! Detection looks at a file's first non-ASCII bytes: ASCII is the same in both encodings,
//! so only they tell them apart. The source reader and `credgate screen` both decide as the
//! file streams ([`Decoded`]): the ASCII before those bytes passes through as it is, and the
//! window that begins with them decides, wherever in the file they are, so a file (or a
//! pipe) is read once whatever its size.

use std::fmt;
use std::io::{self, Cursor, Read};

use encoding_rs::{Decoder, DecoderResult, GB18030};
use sha2::{Digest, Sha256};

use super::Encoding;

/// How many bytes decide between UTF-8 and GB18030 when the encoding is `Auto`: those from
/// a file's first non-ASCII byte on ([`Decoded`]).
pub const SNIFF_LEN: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Counts and hashes every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The byte count and the lower-case hex SHA-256 of everything read so far.
    pub fn finish(self) -> (u64, String) {
        let digest = self.hasher.finalize();
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from_digit((b >> 4) as u32, 16).expect("nibble"));
            hex.push(char::from_digit((b & 15) as u32, 16).expect("nibble"));
        }
        (self.bytes, hex)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The encoding a file is actually read in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Detected {
    Utf8,
    Gb18030,
}

impl Detected {
    pub fn name(self) -> &'static str {
        match self {
            Detected::Utf8 => "utf-8",
            Detected::Gb18030 => "gb18030",
        }
    }
}

/// How the encoding a file is read in was decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodingFrom {
    /// `Encoding::Auto`: from the file's first non-ASCII bytes.
    Detected,
    /// Given by the operator, for the directory or for the file.
    Declared,
}

impl EncodingFrom {
    pub fn name(self) -> &'static str {
        match self {
            EncodingFrom::Detected => "detected",
            EncodingFrom::Declared => "declared",
        }
    }
}

/// Decides the encoding of a file from its first bytes.
///
/// A UTF-8 BOM or valid UTF-8 means UTF-8 (pure ASCII reads the same either way). A multi-byte
/// character cut at the end of `head` is still UTF-8: the sniff window simply ended inside it.
/// Anything else is taken to be GB18030, the encoding of Chinese government exports.
pub fn sniff(head: &[u8]) -> Detected {
    if head.starts_with(UTF8_BOM) {
        return Detected::Utf8;
    }
    match std::str::from_utf8(head) {
        Ok(_) => Detected::Utf8,
        // `error_len() == None` means the only problem is an incomplete sequence at the very
        // end. Inside the file that is the window edge; at the end of a file it is a truncated
        // UTF-8 file, which the UTF-8 reader then reports with its line.
        Err(e) if e.error_len().is_none() => Detected::Utf8,
        Err(_) => Detected::Gb18030,
    }
}

/// A file's text as UTF-8, read once, its encoding decided as it streams: a source file's
/// for the index builder, a supplier list's for `credgate screen`.
///
/// A declared encoding applies from the first byte. With [`Encoding::Auto`] the bytes pass
/// through unchanged while they are ASCII, which reads the same in both encodings (so an
/// ASCII prefix says nothing). At the first non-ASCII byte the reader holds back the window
/// of up to [`SNIFF_LEN`] bytes that begins with it, decides with [`sniff`], and from there
/// passes the bytes on (UTF-8; the CSV reader validates them) or decodes them (GB18030).
/// Everything before that byte being ASCII, the byte begins a character in either encoding,
/// so the decoder starts on a character. A file without a non-ASCII byte is UTF-8.
///
/// It holds at most that one window beyond the caller's buffer and never reads the file a
/// second time: the bytes from `inner` are read once, in order (the digest of a
/// [`HashingReader`] below it is that of the file).
pub struct Decoded<R> {
    stage: Stage<R>,
    /// The bytes passed through before the encoding was decided, and the line feeds among
    /// them: where a GB18030 decoder that starts there stands in the file, for the line and
    /// the offset its errors name.
    ascii_bytes: u64,
    ascii_lines: u64,
}

enum Stage<R> {
    /// ASCII so far: read straight from the file.
    Ascii(R),
    /// The held-back window, then the rest of the file.
    Utf8(Raw<R>),
    Gb18030(Gb18030Reader<Raw<R>>),
    /// Only while one stage is replaced by the next.
    Moving,
}

impl<R: Read> Decoded<R> {
    /// Reads `inner` in the `requested` encoding, or detects it (`Auto`).
    pub fn new(inner: R, requested: Encoding) -> Decoded<R> {
        let replay = |inner| Cursor::new(Vec::new()).chain(inner);
        let stage = match requested {
            Encoding::Auto => Stage::Ascii(inner),
            Encoding::Utf8 => Stage::Utf8(replay(inner)),
            Encoding::Gb18030 => Stage::Gb18030(Gb18030Reader::new(replay(inner))),
        };
        Decoded {
            stage,
            ascii_bytes: 0,
            ascii_lines: 0,
        }
    }

    /// The encoding the file is read in: while only ASCII has been read (or the file holds
    /// nothing else), UTF-8, which reads ASCII the same.
    pub fn detected(&self) -> Detected {
        match self.stage {
            Stage::Gb18030(_) => Detected::Gb18030,
            _ => Detected::Utf8,
        }
    }

    /// The reader the bytes came from.
    pub fn into_inner(self) -> R {
        match self.stage {
            Stage::Ascii(inner) => inner,
            Stage::Utf8(raw) => raw.into_inner().1,
            Stage::Gb18030(gb) => gb.into_inner().into_inner().1,
            Stage::Moving => unreachable!("a stage is always put back"),
        }
    }

    /// The ASCII stage's read: `out[..n]` was just read from the file and holds a non-ASCII
    /// byte at `first`. The bytes from there on, with enough more of the file to fill the
    /// window, decide the encoding; they are held back and read again through the stage
    /// decided.
    fn decide(&mut self, out: &[u8], first: usize) -> io::Result<()> {
        let Stage::Ascii(mut inner) = std::mem::replace(&mut self.stage, Stage::Moving) else {
            unreachable!("deciding happens once, in the ASCII stage");
        };
        let mut window = Vec::with_capacity(SNIFF_LEN.max(out.len() - first));
        window.extend_from_slice(&out[first..]);
        if window.len() < SNIFF_LEN {
            let held = window.len();
            window.resize(SNIFF_LEN, 0);
            match fill(&mut inner, &mut window[held..]) {
                Ok(got) => window.truncate(held + got),
                Err(e) => {
                    // The error ends the file's reading; the stage is put back all the same.
                    self.stage = Stage::Ascii(inner);
                    return Err(e);
                }
            }
        }
        let detected = sniff(&window[..window.len().min(SNIFF_LEN)]);
        self.pass_ascii(&out[..first]);
        let raw = Cursor::new(window).chain(inner);
        self.stage = match detected {
            Detected::Utf8 => Stage::Utf8(raw),
            Detected::Gb18030 => Stage::Gb18030(Gb18030Reader::starting_at(
                raw,
                self.ascii_bytes,
                self.ascii_lines,
            )),
        };
        Ok(())
    }

    fn pass_ascii(&mut self, ascii: &[u8]) {
        self.ascii_bytes += ascii.len() as u64;
        self.ascii_lines += ascii.iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.stage {
            Stage::Utf8(raw) => raw.read(out),
            Stage::Gb18030(gb) => gb.read(out),
            Stage::Ascii(inner) => {
                let n = inner.read(out)?;
                // `is_ascii` looks at a word at a time; most reads are all ASCII or the
                // first one, which decides.
                if out[..n].is_ascii() {
                    self.pass_ascii(&out[..n]);
                    return Ok(n);
                }
                let first = out[..n].iter().position(|b| !b.is_ascii()).unwrap_or(0);
                self.decide(&out[..n], first)?;
                if first > 0 {
                    // The ASCII before it is the caller's already.
                    return Ok(first);
                }
                self.read(out)
            }
            Stage::Moving => unreachable!("a stage is always put back"),
        }
    }
}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The raw stream after deciding: the held-back window replayed, then the rest of the file.
type Raw<R> = io::Chain<Cursor<Vec<u8>>, R>;

/// The payload of the `io::Error` a [`Gb18030Reader`] returns on bytes that are not GB18030.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedInput {
    /// Physical line (1-based) of the decoded text where the bad bytes sit.
    pub line: u64,
    /// Byte offset of the bad sequence in the file.
    pub offset: u64,
    /// The bad bytes themselves (at most four).
    pub bytes: Vec<u8>,
}

impl fmt::Display for MalformedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed byte sequence")?;
        for b in &self.bytes {
            write!(f, " {b:02X}")?;
        }
        write!(f, " at byte offset {}", self.offset)
    }
}

impl std::error::Error for MalformedInput {}

/// Size of the raw input buffer of the GB18030 decoder.
const DECODE_BUF: usize = 64 * 1024;
/// Below this output size the decoder may be unable to emit a single character, so smaller
/// reads go through a staging buffer.
const MIN_OUT: usize = 16;

/// Decodes GB18030 to UTF-8 as a `Read`, refusing malformed input instead of replacing it:
/// a silently mangled name or identifier would be worse than a clear error.
pub struct Gb18030Reader<R> {
    inner: R,
    decoder: Decoder,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    /// Raw bytes handed to the decoder so far (for the error's offset).
    consumed: u64,
    /// Newlines emitted so far (for the error's line).
    newlines: u64,
    /// An error found after some good output, returned on the next call.
    pending: Option<MalformedInput>,
    /// Output that did not fit a caller's very small buffer.
    spill: [u8; MIN_OUT],
    spill_start: usize,
    spill_end: usize,
}

impl<R: Read> Gb18030Reader<R> {
    pub fn new(inner: R) -> Self {
        Gb18030Reader {
            inner,
            // GB18030 has no BOM handling in encoding_rs; a UTF-8 or GB18030 BOM surfaces as
            // U+FEFF and the header reader strips it.
            decoder: GB18030.new_decoder_without_bom_handling(),
            buf: vec![0u8; DECODE_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            done: false,
            consumed: 0,
            newlines: 0,
            pending: None,
            spill: [0; MIN_OUT],
            spill_start: 0,
            spill_end: 0,
        }
    }

    /// A reader whose input begins `offset` bytes and `lines` line feeds into the file,
    /// after which the decoder starts on a character (the bytes before were ASCII): its
    /// errors then name the file's line and offset.
    fn starting_at(inner: R, offset: u64, lines: u64) -> Self {
        let mut r = Gb18030Reader::new(inner);
        r.consumed = offset;
        r.newlines = lines;
        r
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn decode_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = self.pending.take() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, err));
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.buf[self.start..self.end],
                out,
                self.eof,
            );
            self.start += read;
            self.consumed += read as u64;
            self.newlines += out[..written].iter().filter(|&&b| b == b'\n').count() as u64;
            match result {
                DecoderResult::InputEmpty => {
                    if self.eof {
                        self.done = true;
                    }
                    if written > 0 {
                        return Ok(written);
                    }
                }
                DecoderResult::OutputFull => {
                    if written > 0 {
                        return Ok(written);
                    }
                    return Err(io::Error::other(
                        "GB18030 decoder made no progress: output buffer too small",
                    ));
                }
                DecoderResult::Malformed(len, after) => {
                    let err = MalformedInput {
                        line: self.newlines + 1,
                        offset: self.consumed - after as u64 - len as u64,
                        bytes: self.bad_bytes(len, after),
                    };
                    self.done = true;
                    if written > 0 {
                        self.pending = Some(err);
                        return Ok(written);
                    }
                    return Err(io::Error::new(io::ErrorKind::InvalidData, err));
                }
            }
        }
    }

    /// The malformed bytes, when they are still in the buffer (they may have started in an
    /// earlier buffer, in which case only the offset is reported).
    fn bad_bytes(&self, len: u8, after: u8) -> Vec<u8> {
        let end = self.start.checked_sub(after as usize);
        match end.and_then(|e| e.checked_sub(len as usize).map(|s| (s, e))) {
            Some((s, e)) => self.buf[s..e].to_vec(),
            None => Vec::new(),
        }
    }
}

impl<R: Read> Read for Gb18030Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.spill_start < self.spill_end {
            let n = out.len().min(self.spill_end - self.spill_start);
            out[..n].copy_from_slice(&self.spill[self.spill_start..self.spill_start + n]);
            self.spill_start += n;
            return Ok(n);
        }
        if out.len() >= MIN_OUT {
            return self.decode_into(out);
        }
        let mut stage = [0u8; MIN_OUT];
        let got = self.decode_into(&mut stage)?;
        let n = got.min(out.len());
        out[..n].copy_from_slice(&stage[..n]);
        self.spill[..got - n].copy_from_slice(&stage[n..got]);
        self.spill_start = 0;
        self.spill_end = got - n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn sniff_tells_utf8_from_gb18030() {
        assert_eq!(sniff(b"record_id,name\n"), Detected::Utf8);
        assert_eq!(sniff("甲,乙\n".as_bytes()), Detected::Utf8);
        assert_eq!(sniff(&gb("甲,乙\n")), Detected::Gb18030);
        assert_eq!(sniff(b"\xEF\xBB\xBFa"), Detected::Utf8);
    }

    #[test]
    fn sniff_window_cutting_a_character_is_still_utf8() {
        let text = "名".as_bytes(); // three bytes
        let mut head = b"abc,".to_vec();
        head.extend_from_slice(&text[..2]);
        assert_eq!(sniff(&head), Detected::Utf8);
        // A lone continuation byte is not a cut character.
        assert_eq!(sniff(b"abc\x80def"), Detected::Gb18030);
    }

    /// Bytes of ASCII rows, `len` long.
    fn ascii(len: usize) -> Vec<u8> {
        b"abc,def,0123456789\n"
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()
    }

    /// Reads `r` to the end in reads of `step` bytes.
    fn read_in_steps(mut r: impl Read, step: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; step];
        loop {
            match r.read(&mut chunk)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The streaming decoder decides by a file's first non-ASCII bytes wherever they are, in
    /// reads of any size, and reads each byte of the file once.
    #[test]
    fn decoded_decides_at_the_first_non_ascii_byte_and_reads_once() {
        let text = "甲,乙\n";
        let cases: [(&str, Vec<u8>, Detected); 6] = [
            ("ascii", ascii(3 * SNIFF_LEN + 5), Detected::Utf8),
            (
                "gb18030 late",
                [ascii(2 * SNIFF_LEN - 1), gb(text)].concat(),
                Detected::Gb18030,
            ),
            (
                "utf-8 late",
                [ascii(SNIFF_LEN), text.as_bytes().to_vec()].concat(),
                Detected::Utf8,
            ),
            ("gb18030 first", gb(text), Detected::Gb18030),
            (
                "gb18030 early",
                [ascii(10), gb(text)].concat(),
                Detected::Gb18030,
            ),
            (
                "utf-8 with a BOM",
                [UTF8_BOM, text.as_bytes()].concat(),
                Detected::Utf8,
            ),
        ];
        for (what, bytes, want) in cases {
            let decoded_text = match want {
                Detected::Utf8 => bytes.clone(),
                Detected::Gb18030 => {
                    let (t, _, bad) = GB18030.decode(&bytes);
                    assert!(!bad);
                    t.into_owned().into_bytes()
                }
            };
            for step in [1, 3, 4096, 3 * SNIFF_LEN] {
                let mut d = Decoded::new(HashingReader::new(Cursor::new(&bytes)), Encoding::Auto);
                let out = read_in_steps(&mut d, step).unwrap();
                assert_eq!(d.detected(), want, "{what}, reads of {step}");
                assert_eq!(out, decoded_text, "{what}, reads of {step}");
                let (n, _) = d.into_inner().finish();
                assert_eq!(n, bytes.len() as u64, "{what}: every byte read once");
            }
        }
        // A declared encoding applies from the first byte.
        let d = Decoded::new(Cursor::new(b"abc"), Encoding::Gb18030);
        assert_eq!(d.detected(), Detected::Gb18030);
    }

    /// A GB18030 decoder that starts after an ASCII prefix names the file's line and offset
    /// in its errors, not its own.
    #[test]
    fn a_late_gb18030_decoder_names_the_files_line_and_offset() {
        let prefix = ascii(2 * SNIFF_LEN + 3);
        let lines = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
        let mut bytes = [prefix, gb("北京\n")].concat();
        let bad_at = bytes.len() + 1;
        bytes.extend_from_slice(b"x\xFF\n");
        let mut d = Decoded::new(Cursor::new(bytes), Encoding::Auto);
        let err = read_in_steps(&mut d, 4096).unwrap_err();
        let m = err
            .get_ref()
            .unwrap()
            .downcast_ref::<MalformedInput>()
            .unwrap();
        assert_eq!((m.line, m.offset), (lines + 2, bad_at as u64));
    }

    #[test]
    fn decodes_in_tiny_reads_across_buffer_edges() {
        let text = "有限公司,北京市\n".repeat(10_000);
        let mut r = Gb18030Reader::new(Cursor::new(gb(&text)));
        let mut out = Vec::new();
        let mut chunk = [0u8; 3];
        loop {
            let n = r.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }

    #[test]
    fn malformed_input_names_line_and_offset() {
        let mut bytes = gb("a\n北京\n");
        bytes.extend_from_slice(b"x\xFF\n");
        let mut r = Gb18030Reader::new(Cursor::new(bytes));
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        let m = err
            .get_ref()
            .unwrap()
            .downcast_ref::<MalformedInput>()
            .unwrap();
        assert_eq!(m.line, 3);
        assert_eq!(m.offset, 8);
        assert_eq!(m.to_string(), "malformed byte sequence FF at byte offset 8");
    }

    #[test]
    fn hashing_reader_counts_every_byte() {
        let mut h = HashingReader::new(Cursor::new(b"abc".to_vec()));
        let mut s = Vec::new();
        h.read_to_end(&mut s).unwrap();
        let (n, hex) = h.finish();
        assert_eq!(n, 3);
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
