//! `credgate validate` run as a real process: arguments, standard input, JSON and exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn credgate(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the credgate binary runs");
    // Standard input is fed from another thread while this one collects the output: with
    // both in one thread, a large input fills the output pipe and the two processes wait on
    // each other. Dropping the handle closes standard input, which ends the stream.
    let mut pipe = child.stdin.take().unwrap();
    let bytes = stdin.unwrap_or_default().to_vec();
    let feeder = std::thread::spawn(move || pipe.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    out
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[test]
fn valid_arguments_exit_zero() {
    let out = credgate(
        &[
            "validate",
            "--as-of",
            "2024-06-01",
            "9111-0000 6000 37341L",
            "44011320141005001x",
            "110105491231002",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        json_lines(&out),
        [
            json!({"input": "9111-0000 6000 37341L", "valid": true, "id_type": "uscc",
                   "normalized": "91110000600037341L", "error": null}),
            json!({"input": "44011320141005001x", "valid": true, "id_type": "ric",
                   "normalized": "44011320141005001X", "error": null}),
            json!({"input": "110105491231002", "valid": true, "id_type": "ric",
                   "normalized": "11010519491231002X", "error": null}),
        ]
    );
}

#[test]
fn any_invalid_argument_exits_one() {
    let out = credgate(
        &[
            "validate",
            "91110000600037341L",
            "36042619910102009X",
            "hello",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["valid"], true);
    assert_eq!(
        rows[1],
        json!({"input": "36042619910102009X", "valid": false, "id_type": "ric",
               "normalized": null, "expected_check": "3",
               "error": "invalid resident ID number: check character (position 18) should be '3', found 'X'; the number is probably mistyped"})
    );
    assert_eq!(
        rows[2],
        json!({"input": "hello", "valid": false, "id_type": null, "normalized": null,
               "error": "wrong length: 5 characters; expected 18 (USCC or resident ID number) or 15 digits (legacy resident ID number)"})
    );
}

#[test]
fn standard_input_is_read_line_by_line() {
    // CRLF endings, a byte-order mark, blank lines, full-width input, bytes that are not
    // UTF-8, and no newline after the last line.
    let mut input = b"\xEF\xBB\xBF91110000600037341L\r\n\r\n".to_vec();
    input.extend_from_slice("９１１１００００６０００３７３４１Ｌ\n".as_bytes());
    input.extend_from_slice(b"   \n9111\xB0\xA1\n360426199113010079");
    let out = credgate(&["validate", "--as-of", "2024-06-01"], Some(&input));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["input"], "91110000600037341L");
    assert_eq!(rows[0]["valid"], true);
    assert_eq!(rows[1]["normalized"], "91110000600037341L");
    assert_eq!(rows[2]["input"], "9111\u{FFFD}\u{FFFD}");
    assert_eq!(
        rows[2]["error"],
        "bad character '\u{FFFD}' at position 5: expected a letter or a digit"
    );
    assert_eq!(
        rows[3]["error"],
        "invalid resident ID number: birth date (positions 7-14) is no calendar day: month 13 does not exist"
    );
}

#[test]
fn all_valid_standard_input_exits_zero() {
    let mut input = String::new();
    for _ in 0..10_000 {
        input.push_str("92340602MA2PBMEM24\n121200004013590816\n");
    }
    let out = credgate(&["validate"], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out).len(), 20_000);
}

#[test]
fn lenient_accepts_nonconforming_codes() {
    let code = "91350100M000100Y4L";
    let strict = credgate(&["validate", code], None);
    assert_eq!(strict.status.code(), Some(1));
    let row = &json_lines(&strict)[0];
    assert_eq!(
        (&row["valid"], &row["nonconforming"], &row["expected_check"]),
        (&json!(false), &json!(true), &json!("3"))
    );

    let lenient = credgate(&["validate", "--lenient", code], None);
    assert_eq!(lenient.status.code(), Some(0));
    assert_eq!(
        json_lines(&lenient),
        [
            json!({"input": code, "valid": true, "id_type": "uscc", "normalized": code,
                "error": null, "nonconforming": true})
        ]
    );
}

#[test]
fn birth_dates_are_judged_against_as_of() {
    let out = credgate(
        &["validate", "--as-of", "2014-10-04", "44011320141005001X"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json_lines(&out)[0]["error"],
        "invalid resident ID number: birth date (positions 7-14) is after the day the number is judged on"
    );
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        &["validate", "--as-of", "2024-13-01", "91110000600037341L"][..],
        &["validate", "--as-of", "0000-01-01", "91110000600037341L"][..],
        &["validate", "--no-such-flag"][..],
        &["no-such-command"][..],
        &[][..],
    ] {
        let out = credgate(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn every_part_of_a_code_is_checked_not_only_its_check_characters() {
    // Both pass their check characters; position 2 and the address code are wrong.
    let out = credgate(
        &[
            "validate",
            "--lenient",
            "--as-of",
            "2024-06-01",
            "9A110000600037341Q",
            "010105491231002",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let rows = json_lines(&out);
    assert_eq!(
        rows[0]["error"],
        "invalid USCC: bad character 'A' at position 2: expected an entity type of \
         registration authority 9 (1, 2 or 3)"
    );
    assert_eq!(
        rows[1]["error"],
        "invalid resident ID number: bad character '0' at position 1: expected 1-9 (a \
         province-level address code, or 9 for a foreigner's permanent residence card)"
    );
    assert!(rows
        .iter()
        .all(|r| r["valid"] == false && r["normalized"].is_null()));
}
