//! `credgate validate [ID…]`: checks the form of identifiers and prints one JSON object per
//! identifier.
//!
//! Identifiers come from the arguments or, when there are none, one per line from standard
//! input. Input is streamed line by line into a buffered writer, so a file of millions of
//! lines runs in constant memory. The command echoes each input back: the caller supplied
//! it and the output stays on the caller's machine, unlike logs, which never hold raw
//! resident ID numbers.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use credgate_index::date::{DateError, Day};
use credgate_index::ids::{self, Id, IdError, IdType, Mode};
use serde::{Serialize, Serializer};

#[derive(clap::Args, Debug)]
#[command(after_help = "Output: one JSON object per identifier, e.g.
  {\"input\":\"9111-0000 6000 37341L\",\"valid\":true,\"id_type\":\"uscc\",\"normalized\":\"91110000600037341L\",\"error\":null}
\"nonconforming\":true is added for a USCC that fails only its MOD 31 check, and
\"expected_check\" when a check character is wrong. Blank stdin lines are skipped.
Exit status: 0 when every identifier is valid, 1 when any is not, 2 on a usage or I/O error.")]
pub struct Args {
    /// Identifiers (USCC or resident ID number, 18 characters, or a 15-digit legacy number).
    /// Without any, one identifier per line is read from standard input.
    pub ids: Vec<String>,

    /// Accept USCCs that are well formed but fail the MOD 31 check (pilot-area codes issued
    /// before GB 32100); they are reported valid with "nonconforming": true.
    #[arg(long)]
    pub lenient: bool,

    /// Judge birth dates against this day (YYYY-MM-DD) instead of today in China Standard
    /// Time.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub as_of: Option<Day>,
}

fn parse_day(s: &str) -> Result<Day, DateError> {
    Day::parse_as_of(s)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mode = if args.lenient {
        Mode::Lenient
    } else {
        Mode::Strict
    };
    let mut v = Validator {
        mode,
        today: args.as_of.unwrap_or_else(Day::today_cst),
        out: BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
        all_valid: true,
    };
    let written = if args.ids.is_empty() {
        v.stdin_lines()
    } else {
        args.ids.iter().try_for_each(|id| v.one(id))
    };
    match written.and_then(|()| v.out.flush()) {
        Ok(()) => {}
        // A reader that stops early (`| head`) is not a failure of this command.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("writing the results to standard output"),
    }
    Ok(if v.all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

struct Validator<W: Write> {
    mode: Mode,
    today: Day,
    out: W,
    all_valid: bool,
}

impl<W: Write> Validator<W> {
    /// Validates every non-blank line of standard input. Bytes that are not UTF-8 (a GBK
    /// file, say) are replaced by U+FFFD and then reported as bad characters, rather than
    /// stopping the whole run.
    fn stdin_lines(&mut self) -> io::Result<()> {
        let stdin = io::stdin();
        let mut reader = stdin.lock();
        let mut buf = Vec::with_capacity(256);
        let mut first = true;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            let mut line = buf.as_slice();
            if first {
                // Files saved by Windows editors often start with a byte-order mark.
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
                first = false;
            }
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = String::from_utf8_lossy(line);
            if text.trim().is_empty() {
                continue;
            }
            self.one(&text)?;
        }
    }

    fn one(&mut self, input: &str) -> io::Result<()> {
        let result = ids::parse(input, self.mode, self.today);
        self.all_valid &= result.is_ok();
        serde_json::to_writer(&mut self.out, &Report::new(input, &result))?;
        self.out.write_all(b"\n")
    }
}

/// The JSON object printed for one input.
#[derive(Serialize)]
struct Report<'a> {
    input: &'a str,
    valid: bool,
    id_type: Option<IdType>,
    normalized: Option<&'a str>,
    error: Option<Message<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    nonconforming: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_check: Option<char>,
}

impl<'a> Report<'a> {
    fn new(input: &'a str, result: &'a Result<Id, IdError>) -> Report<'a> {
        match result {
            Ok(id) => Report {
                input,
                valid: true,
                id_type: Some(id.id_type()),
                normalized: Some(id.as_str()),
                error: None,
                nonconforming: id.is_nonconforming(),
                expected_check: None,
            },
            Err(e) => Report {
                input,
                valid: false,
                id_type: e.id_type(),
                normalized: None,
                error: Some(Message(e)),
                nonconforming: e.is_nonconforming(),
                expected_check: e.expected_check(),
            },
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Serialises an error through its `Display`, without building a `String` first.
struct Message<'a>(&'a IdError);

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(mode: Mode, inputs: &[&str]) -> (bool, String) {
        let mut v = Validator {
            mode,
            today: Day::from_ymd(2024, 6, 1).unwrap(),
            out: Vec::new(),
            all_valid: true,
        };
        for i in inputs {
            v.one(i).unwrap();
        }
        (v.all_valid, String::from_utf8(v.out).unwrap())
    }

    #[test]
    fn reports_are_single_json_lines() {
        let (ok, out) = lines(Mode::Strict, &["91110000600037341L", "91110000600037341N"]);
        assert!(!ok);
        assert_eq!(
            out,
            concat!(
                r#"{"input":"91110000600037341L","valid":true,"id_type":"uscc","normalized":"91110000600037341L","error":null}"#,
                "\n",
                r#"{"input":"91110000600037341N","valid":false,"id_type":"uscc","normalized":null,"error":"invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'L', found 'N' (a nonconforming pilot-area code is accepted only in lenient mode)","nonconforming":true,"expected_check":"L"}"#,
                "\n"
            )
        );
    }

    #[test]
    fn lenient_marks_nonconforming_codes_valid() {
        let (ok, out) = lines(Mode::Lenient, &["91350100M000100Y4L"]);
        assert!(ok);
        assert_eq!(
            out,
            "{\"input\":\"91350100M000100Y4L\",\"valid\":true,\"id_type\":\"uscc\",\
             \"normalized\":\"91350100M000100Y4L\",\"error\":null,\"nonconforming\":true}\n"
        );
    }
}
