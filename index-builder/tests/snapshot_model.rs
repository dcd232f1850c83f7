//! Build → open against a `BTreeMap` model: every subject is found with exactly its records
//! and fields, names lead back to their subjects, and identifiers not in the data are absent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;

use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::layout::{high_opt, NONE_HIGH};
use credgate_index::format::reader::Snapshot;
use credgate_index::ids::gen::{sample_ric, sample_uscc};
use credgate_index::source::Encoding;

#[derive(Clone, Debug)]
struct Rec {
    record_id: String,
    list: &'static str,
    subject: String,
    person: bool,
    name: String,
    authority: String,
    from: Day,
    until: Option<Day>,
}

const LISTS: [&str; 4] = [
    "court_defaulter",
    "market_abnormal",
    "tax_a_grade",
    "environment",
];

fn records() -> impl Strategy<Value = Vec<Rec>> {
    // Subjects drawn from a small pool so that subjects have several records.
    prop::collection::vec(
        (
            0u64..40,
            any::<bool>(),
            0usize..4,
            0i32..3000,
            prop::option::of(0i32..2000),
            0u8..5,
        ),
        1..80,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (subject, person, list, from, len, name))| {
                let id = if person {
                    sample_ric(subject)
                } else {
                    sample_uscc(subject)
                };
                let from = Day(Day::parse("2016-01-01").unwrap().0 + from);
                Rec {
                    record_id: format!("R{i:05}"),
                    list: if person {
                        "court_defaulter"
                    } else {
                        LISTS[list]
                    },
                    subject: String::from_utf8(id.to_vec()).unwrap(),
                    person,
                    name: format!(
                        "主体{subject}号{}",
                        ["", "有限公司", " 分公司", "，商行", "\"引号\""][name as usize]
                    ),
                    authority: format!("机关{}", subject % 3),
                    from,
                    until: len.map(|l| Day(from.0 + l)),
                }
            })
            .collect()
    })
}

fn write_source(dir: &Path, recs: &[Rec]) {
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    let mut csv = String::from("record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n");
    for r in recs {
        let name = r.name.replace('"', "\"\"");
        let until = r.until.map(|d| d.to_string()).unwrap_or_default();
        let t = if r.person { "person" } else { "org" };
        writeln!(
            csv,
            "{},{},{t},{},\"{name}\",{},D-{},,{},{},{until},",
            r.record_id, r.list, r.subject, r.authority, r.record_id, r.from, r.from
        )
        .unwrap();
    }
    std::fs::write(dir.join("lists/all.csv"), csv).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn snapshot_matches_the_model(recs in records(), misses in prop::collection::vec(1000u64..2000, 5)) {
        // A subject drawn both as org and person cannot happen: the pools differ in form.
        let src = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        write_source(src.path(), &recs);
        let report = build(&BuildOptions {
            source: src.path().to_path_buf(),
            out: root.path().to_path_buf(),
            catalog: Catalog::builtin(),
            max_rejects: Some(0),
            history_from: None,
            today: Day::parse("2026-11-28").unwrap(),
            keep: 1,
            encoding: Encoding::Auto,
            file_encodings: Default::default(),
        }).unwrap();
        let snap = Snapshot::open(root.path()).unwrap();
        snap.verify().unwrap();

        let mut model: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
        for r in &recs {
            model.entry(r.subject.as_str()).or_default().push(r);
        }
        prop_assert_eq!(snap.subject_count() as usize, model.len());
        prop_assert_eq!(report.manifest.counts.records as usize, recs.len());
        for (id, want) in &model {
            let ord = snap.lookup(id.as_bytes());
            prop_assert!(ord.is_some(), "{} not found", id);
            let s = snap.subject(ord.unwrap()).unwrap();
            prop_assert_eq!(snap.subject_id(ord.unwrap()), *id);
            let mut got: Vec<(String, String, Day, Option<Day>, String)> = snap.records_of(&s).map(|(_, r)| {
                let list = snap.manifest().lists[r.list as usize].code.clone();
                (snap.str(r.record_id).to_string(), list, Day(r.effective_from), high_opt(r.effective_until), snap.str(r.authority).to_string())
            }).collect();
            let mut want: Vec<_> = want.iter().map(|r| (r.record_id.clone(), r.list.to_string(), r.from, r.until, r.authority.clone())).collect();
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
            // Records of a subject are ordered by effective_from.
            let froms: Vec<i32> = snap.records_of(&s).map(|(_, r)| r.effective_from).collect();
            prop_assert!(froms.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(snap.records_of(&s).all(|(_, r)| r.effective_until == NONE_HIGH || r.effective_until >= r.effective_from));
            // The subject's name leads back to it through the names FST.
            let key = credgate_index::names::normalize_name(snap.str(s.name));
            let value = snap.names().get(&key);
            prop_assert!(value.is_some());
            prop_assert!(snap.posting(value.unwrap()).any(|o| o == ord.unwrap()));
        }
        for m in misses {
            for id in [sample_uscc(m), sample_ric(m)] {
                let s = std::str::from_utf8(&id).unwrap();
                if !model.contains_key(s) {
                    prop_assert!(snap.lookup(&id).is_none(), "{} should be absent", s);
                }
            }
        }
    }
}
