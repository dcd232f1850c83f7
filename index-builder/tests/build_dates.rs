//! `index-builder build --today` and `--history-from` take the days `as_of` takes everywhere
//! else (`Day::parse_as_of`): a real day from 1949-01-01 to 2199-12-31.

mod common;

use std::path::Path;
use std::process::Output;

const LIST: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n\
    U1,court_defaulter,org,91110000600037341L,甲公司,法院,D1,,2024-01-01,2024-01-01,,\n";

fn build(source: &Path, root: &Path, args: &[&str]) -> Output {
    common::build_command(source, root)
        .args(args)
        .output()
        .unwrap()
}

/// A day outside the range is refused before anything is built, with a message that names
/// the option and the range, and the exit code of any other bad option value. Such days used
/// to be taken: `--today 0001-01-01` built a snapshot as of year 1.
#[test]
fn days_outside_1949_to_2199_are_refused() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("lists")).unwrap();
    std::fs::write(src.path().join("lists/a.csv"), LIST).unwrap();
    let root = tempfile::tempdir().unwrap();
    let bad_option = build(src.path(), root.path(), &["--memory-budget", "lots"]);
    assert_eq!(bad_option.status.code(), Some(1));
    for (option, day) in [
        ("--today", "1948-12-31"),
        ("--today", "0001-01-01"),
        ("--today", "2200-01-01"),
        ("--history-from", "1900-01-01"),
        ("--history-from", "9999-12-31"),
    ] {
        let args = if option == "--today" {
            vec![option, day]
        } else {
            vec!["--today", "2026-11-28", option, day]
        };
        let out = build(src.path(), root.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            bad_option.status.code(),
            "{option} {day}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "{option} \"{day}\": outside the accepted range 1949-01-01 to 2199-12-31"
            )),
            "{option} {day}: {stderr}"
        );
        assert!(!root.path().join("CURRENT").exists(), "{option} {day}");
    }
    // The ends of the range are days like any other.
    let out = build(
        src.path(),
        root.path(),
        &["--today", "2199-12-31", "--history-from", "1949-01-01"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.path().join("CURRENT").exists());
}
