//! Name search (`GET /v1/search`, `Engine::search`) on a hand-written source built into a
//! real snapshot: fuzzy hits come nearest first however many farther names sort before
//! them, and the edits allowed shrink with the query (SPEC §7 sets at most two).

mod common;

use credgate::engine::search::max_distance;
use credgate::engine::{Engine, Options};
use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::ids::ric;
use credgate_index::source::Encoding;

use common::day;

/// A valid resident number for person `n` (born 1990-01-01 in 110101).
fn ric(n: u32) -> String {
    let body = format!("11010119900101{n:03}");
    let check = ric::check_char(body.as_bytes()).unwrap() as char;
    format!("{body}{check}")
}

/// Builds a snapshot of one focus record for each name and opens it.
fn engine(names: &[String]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source");
    std::fs::create_dir_all(src.join("lists")).unwrap();
    let mut lists = String::from(
        "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,\
         decided_on,effective_from,effective_until,act_ended_on\n",
    );
    for (i, name) in names.iter().enumerate() {
        lists.push_str(&format!(
            "R{i},court_defaulter,person,{},{name},某法院,某文号{i},某事由,2026-01-01,2026-01-01,,\n",
            ric(i as u32)
        ));
    }
    std::fs::write(src.join("lists/all.csv"), lists).unwrap();
    std::fs::write(
        src.join("repairs.csv"),
        "record_id,action,decided_on,authority,doc_no\n",
    )
    .unwrap();
    std::fs::write(
        src.join("objections.csv"),
        "record_id,filed_on,closed_on,outcome\n",
    )
    .unwrap();
    std::fs::write(
        src.join("links.csv"),
        "org_id,person_id,person_name,role,from,until\n",
    )
    .unwrap();
    build(&BuildOptions {
        source: src,
        out: dir.path().join("root"),
        catalog: Catalog::builtin(),
        max_rejects: Some(0),
        history_from: None,
        today: day("2026-11-28"),
        keep: 1,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap();
    let engine = Engine::open(&dir.path().join("root")).unwrap();
    (dir, engine)
}

fn search(engine: &Engine, name: &str, limit: usize) -> Vec<(String, String, u32)> {
    engine
        .search(name, true, limit, day("2026-11-28"), Options::default())
        .unwrap()
        .into_iter()
        .map(|h| (h.name.into_owned(), h.how.to_string(), h.distance))
        .collect()
}

#[test]
fn fuzzy_hits_come_nearest_first_whatever_sorts_before_them() {
    // 150 names two edits from 石锋怡 that sort before the one name one edit away (丁 is
    // U+4E01, 石 U+77F3): the first names the automaton streams are all far ones.
    let middles: Vec<char> = (0x4E00u32..).filter_map(char::from_u32).take(150).collect();
    let mut names: Vec<String> = middles.iter().map(|m| format!("丁{m}怡")).collect();
    names.push("石峰怡".into());
    names.push("刘洋".into());
    names.push("孙丽".into());
    let (_d, engine) = engine(&names);
    let hits = search(&engine, "石锋怡", 3);
    assert_eq!(hits[0], ("石峰怡".into(), "fuzzy".into(), 1), "{hits:?}");
    // A three-character name allows one edit: 丁X怡 are two away and not offered.
    assert_eq!(hits.len(), 1, "{hits:?}");
    // Two characters: one edit. 刘洋 and 孙丽 are two apart; 刘阳 is one from 刘洋.
    assert_eq!(
        search(&engine, "刘阳", 10),
        [("刘洋".into(), "fuzzy".into(), 1)]
    );
    assert!(search(&engine, "孙洋", 10).iter().all(|h| h.2 <= 1));
    // One character: no edits (prefix hits only).
    assert!(search(&engine, "丑", 200).is_empty());
    assert!(search(&engine, "丁", 200).iter().all(|h| h.1 == "prefix"));
}

#[test]
fn the_edits_allowed_grow_with_the_query_to_two() {
    assert_eq!(
        (1..=6).map(max_distance).collect::<Vec<_>>(),
        [0, 1, 1, 2, 2, 2]
    );
}
