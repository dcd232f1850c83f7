//! `credgate check` end to end: a real snapshot, the real binary, its stdout and exit codes.

mod common;

use std::process::Command;

use common::{build_sample, sample_today};

fn check(root: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .arg("check")
        .arg("--index")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn prints_the_decision_and_exits_0() {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    // Full-width input with spaces is normalised before the lookup.
    let (code, out, _) = check(
        root.path(),
        &[
            "--id",
            "９１４１ ０１０２ ７１１０ ６６５８３４",
            "--scenario",
            "procurement",
            "--as-of",
            "2026-11-28",
        ],
    );
    assert_eq!(code, 0);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["id"], "914101027110665834");
    assert_eq!(d["id_type"], "uscc");
    assert_eq!(d["decision"], "deny");
    assert_eq!(d["scenario"], "procurement");
    assert_eq!(d["as_of"], "2026-11-28");
    assert_eq!(d["records"][0]["list_code"], "court_defaulter");
    assert_eq!(d["snapshot"].as_str().unwrap().len(), 16);
}

#[test]
fn invalid_input_is_one_line_on_stderr_with_exit_2() {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    for (args, needle) in [
        (
            vec!["--id", "91110000600037341N", "--scenario", "procurement"],
            "should be 'L'",
        ),
        (
            vec!["--id", "914101027110665834", "--scenario", "bidding"],
            "unknown scenario \"bidding\"",
        ),
        (
            vec![
                "--id",
                "914101027110665834",
                "--scenario",
                "procurement",
                "--as-of",
                "2026-02-30",
            ],
            "not a calendar date",
        ),
        (
            vec!["--id", "91350102896967053Y", "--scenario", "procurement"],
            "MOD 31",
        ),
    ] {
        let (code, out, err) = check(root.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn lenient_accepts_a_nonconforming_code_and_flags_it() {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    let (code, out, err) = check(
        root.path(),
        &[
            "--id",
            "91350102896967053Y",
            "--scenario",
            "procurement",
            "--as-of",
            "2026-11-28",
            "--lenient",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["nonconforming"], true);
    assert_eq!(d["decision"], "review");
}
