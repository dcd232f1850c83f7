//! The bundled sample source set (`data/sample/`) is well formed: the headers of SPEC §3, valid
//! identifiers, list codes the shipped catalogue declares, real dates, and repairs and
//! objections that point at existing records. The decisions it is documented to produce are
//! tested with the engine.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::ids::{ric, uscc};
use credgate_index::model::{Outcome, RepairAction, Role, SubjectType};

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,\
                           doc_no,reason,decided_on,effective_from,effective_until,act_ended_on";
const REPAIRS_HEADER: &str = "record_id,action,decided_on,authority,doc_no";
const OBJECTIONS_HEADER: &str = "record_id,filed_on,closed_on,outcome";
const LINKS_HEADER: &str = "org_id,person_id,person_name,role,from,until";

/// The one code the sample carries on purpose that fails only the MOD 31 check (SPEC §1).
const NONCONFORMING: &str = "91350102896967053Y";

/// The demo date the README's cases are written for.
const DEMO_DAY: &str = "2026-11-28";

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample")
}

/// Reads one CSV file, asserting its header row, and returns (line number, row) pairs.
fn read(path: &Path, header: &str) -> Vec<(u64, csv::StringRecord)> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let found = reader
        .headers()
        .unwrap()
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(found, header, "{path:?}: header row");
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let line = r.position().expect("csv reader tracks positions").line();
            (line, r)
        })
        .collect()
}

/// Why a USCC is not valid, checking every part (GB 32100-2015), or `Ok(())`.
fn check_uscc(code: &str) -> Result<(), &'static str> {
    let b = code.as_bytes();
    if b.len() != 18 {
        return Err("length");
    }
    if b.iter().any(|&c| uscc::char_value(c).is_none()) {
        return Err("character set");
    }
    if !b"123456789ANY".contains(&b[0]) {
        return Err("registration authority");
    }
    if !b[2..8].iter().all(u8::is_ascii_digit) {
        return Err("region");
    }
    if uscc::org_check_char(&b[8..16]) != Some(b[16]) {
        return Err("organisation-code check");
    }
    if uscc::check_char(&b[..17]) != Some(b[17]) {
        return Err("MOD 31 check");
    }
    Ok(())
}

/// Why a resident identity number is not valid (GB 11643-1999), or `Ok(())`.
fn check_ric(id: &str) -> Result<(), String> {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err("shape".into());
    }
    let birth = format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]);
    let day = Day::parse(&birth).map_err(|e| e.to_string())?;
    if day > Day::today_cst() {
        return Err(format!("birth date {birth} is in the future"));
    }
    if ric::check_char(&b[..17]) != Some(b[17]) {
        return Err("check character".into());
    }
    Ok(())
}

fn check_org(code: &str, at: &str) {
    match check_uscc(code) {
        Ok(()) => assert_ne!(code, NONCONFORMING, "{at}: expected to be nonconforming"),
        Err("MOD 31 check") if code == NONCONFORMING => {}
        Err(e) => panic!("{at}: USCC {code}: {e}"),
    }
}

fn check_person(id: &str, at: &str) {
    if let Err(e) = check_ric(id) {
        panic!("{at}: RIC {id}: {e}");
    }
}

fn day(s: &str, at: &str) -> Day {
    Day::parse(s).unwrap_or_else(|e| panic!("{at}: {s:?}: {e}"))
}

fn optional_day(s: &str, at: &str) -> Option<Day> {
    (!s.is_empty()).then(|| day(s, at))
}

/// Every list file; returns the record ids, the subject ids, and the earliest
/// `effective_from` of records still within personal retention on the demo day.
fn check_lists() -> (HashSet<String>, HashSet<String>, Day) {
    let catalog = Catalog::builtin();
    let demo = day(DEMO_DAY, "DEMO_DAY");
    let mut record_ids = HashSet::new();
    let mut subjects = HashSet::new();
    let mut history_from = Day::MAX;
    let mut files: Vec<PathBuf> = std::fs::read_dir(sample_dir().join("lists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    for path in &files {
        for (line, r) in read(path, LIST_HEADER) {
            let at = format!("{}:{line}", path.display());
            assert_eq!(r.len(), 12, "{at}");
            assert!(
                record_ids.insert(r[0].to_string()),
                "{at}: duplicate record_id"
            );
            assert!(catalog.list(&r[1]).is_some(), "{at}: list {:?}", &r[1]);
            match SubjectType::parse(&r[2]) {
                Some(SubjectType::Org) => check_org(&r[3], &at),
                Some(SubjectType::Person) => check_person(&r[3], &at),
                None => panic!("{at}: subject_type {:?}", &r[2]),
            }
            subjects.insert(r[3].to_string());
            for (i, what) in [
                (4, "subject_name"),
                (5, "authority"),
                (6, "doc_no"),
                (7, "reason"),
            ] {
                assert!(!r[i].is_empty(), "{at}: empty {what}");
            }
            let decided = day(&r[8], &at);
            let from = day(&r[9], &at);
            assert!(decided <= from, "{at}: effective before decided");
            if let Some(until) = optional_day(&r[10], &at) {
                assert!(from <= until, "{at}: effective_until before effective_from");
            }
            let ended = optional_day(&r[11], &at);
            if ended.is_some() {
                assert_eq!(
                    &r[2], "person",
                    "{at}: act_ended_on is a personal-retention date"
                );
            }
            if ended.is_none_or(|e| credgate_index::build::erase_day(e) > demo) {
                history_from = history_from.min(from);
            }
        }
    }
    (record_ids, subjects, history_from)
}

#[test]
fn sample_source_set_is_well_formed() {
    let dir = sample_dir();
    let (records, subjects, history_from) = check_lists();
    assert!(
        subjects.len() >= 30,
        "a few dozen subjects: {}",
        subjects.len()
    );

    // The green channel (SPEC §5 rule 5) needs history reaching three years before the demo day.
    let demo = day(DEMO_DAY, "DEMO_DAY");
    assert!(
        history_from.add_years(3) <= demo,
        "history starts {history_from}"
    );

    let path = dir.join("repairs.csv");
    let repairs = read(&path, REPAIRS_HEADER);
    let mut actions = BTreeSet::new();
    for (line, r) in &repairs {
        let at = format!("{}:{line}", path.display());
        assert!(records.contains(&r[0]), "{at}: unknown record {:?}", &r[0]);
        actions.insert(RepairAction::parse(&r[1]).unwrap_or_else(|| panic!("{at}: action")));
        day(&r[2], &at);
        assert!(
            !r[3].is_empty() && !r[4].is_empty(),
            "{at}: authority and doc_no"
        );
    }
    assert_eq!(
        actions.len(),
        RepairAction::ALL.len(),
        "every repair action appears"
    );

    let path = dir.join("objections.csv");
    let mut outcomes = BTreeSet::new();
    for (line, r) in read(&path, OBJECTIONS_HEADER) {
        let at = format!("{}:{line}", path.display());
        assert!(records.contains(&r[0]), "{at}: unknown record {:?}", &r[0]);
        let filed = day(&r[1], &at);
        let closed = optional_day(&r[2], &at);
        let outcome = (!r[3].is_empty())
            .then(|| Outcome::parse(&r[3]).unwrap_or_else(|| panic!("{at}: outcome")));
        assert_eq!(
            closed.is_some(),
            outcome.is_some(),
            "{at}: closed_on iff outcome"
        );
        assert!(
            closed.is_none_or(|c| filed <= c),
            "{at}: closed before filed"
        );
        outcomes.insert(outcome);
    }
    assert_eq!(
        outcomes.len(),
        Outcome::ALL.len() + 1,
        "open and every outcome appear"
    );

    let path = dir.join("links.csv");
    for (line, r) in read(&path, LINKS_HEADER) {
        let at = format!("{}:{line}", path.display());
        check_org(&r[0], &at);
        check_person(&r[1], &at);
        assert!(!r[2].is_empty(), "{at}: person_name");
        Role::parse(&r[3]).unwrap_or_else(|| panic!("{at}: role {:?}", &r[3]));
        let from = day(&r[4], &at);
        if let Some(until) = optional_day(&r[5], &at) {
            assert!(from <= until, "{at}: until before from");
        }
    }
}

/// Every identifier the README documents is valid and, except the one subject documented as
/// having no records, occurs in the sample.
#[test]
fn readme_documents_subjects_of_the_sample() {
    let readme = std::fs::read_to_string(sample_dir().join("../README.md")).unwrap();
    let (_, mut known, _) = check_lists();
    for (_, r) in read(&sample_dir().join("links.csv"), LINKS_HEADER) {
        known.insert(r[0].to_string());
        known.insert(r[1].to_string());
    }
    let ids: BTreeSet<&str> = readme
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 18
                && w.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
        .collect();
    assert!(ids.len() >= 25, "README documents {} ids", ids.len());
    let mut absent = Vec::new();
    for id in ids {
        let valid = id == NONCONFORMING || check_uscc(id).is_ok() || check_ric(id).is_ok();
        assert!(
            valid,
            "README: {id} is neither a valid USCC nor a valid RIC"
        );
        if !known.contains(id) {
            absent.push(id);
        }
    }
    // 郑州恒信电子科技有限公司 is the documented "no records at all" subject.
    assert_eq!(absent, ["91410100MA2MAYK72W"]);
}
