//! Snapshots written by earlier format versions, committed under data/fixtures, must keep
//! opening, verifying and deciding as they did. A format change that breaks one of these
//! bumps FORMAT_VERSION and adds a fixture (index-builder/FORMAT.md, "Versioning").

mod common;

use common::{day, repo};
use credgate::engine::{Engine, Options, Outcome};
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;

/// The decisions both fixtures (built from data/sample as of 2026-11-28) must give.
const CASES: [(&str, Scenario, Outcome); 4] = [
    ("914101027110665834", Scenario::Procurement, Outcome::Deny),
    ("410102196804120211", Scenario::Transport, Outcome::Deny),
    ("91410105MA3LWF6F8Q", Scenario::Licensing, Outcome::Review),
    (
        "914101844590813695",
        Scenario::Procurement,
        Outcome::FastTrack,
    ),
];

fn decides_as_built(engine: &Engine) {
    let today = day("2026-11-28");
    for (id, scenario, want) in CASES {
        let id = ids::parse(id, Mode::Strict, today).unwrap();
        assert_eq!(
            engine
                .check(&id, scenario, today, today, Options::default())
                .decision,
            want,
            "{id:?}"
        );
    }
}

#[test]
fn format_v1_sample_fixture_opens_verifies_and_decides() {
    let engine = Engine::open(&repo().join("data/fixtures/snapshot-v1")).unwrap();
    engine.verify().unwrap();
    assert_eq!(engine.snapshot().manifest().format_version, 1);
    // Version 1 has no identifier index: lookups go through ids.fst.
    assert!(!engine.snapshot().has_id_index());
    decides_as_built(&engine);
}

#[test]
fn format_v2_sample_fixture_opens_verifies_and_decides() {
    let engine = Engine::open(&repo().join("data/fixtures/snapshot-v2")).unwrap();
    engine.verify().unwrap();
    assert_eq!(engine.snapshot().manifest().format_version, 2);
    assert!(engine.snapshot().has_id_index());
    decides_as_built(&engine);
}

#[test]
fn both_fixtures_give_the_same_decisions_for_every_subject_and_json_as_serde() {
    let v1 = Engine::open(&repo().join("data/fixtures/snapshot-v1")).unwrap();
    let v2 = Engine::open(&repo().join("data/fixtures/snapshot-v2")).unwrap();
    v1.verify().unwrap();
    v2.verify().unwrap();
    let (s1, s2) = (v1.snapshot(), v2.snapshot());
    assert_eq!(s1.subject_count(), s2.subject_count());
    let today = day("2026-11-28");
    for ord in 0..s1.subject_count() {
        let text = s1.subject_id(ord);
        assert_eq!(s2.lookup(text.as_bytes()), Some(ord), "{text}");
        let id = ids::parse(text, Mode::Lenient, today).unwrap();
        for &scenario in Scenario::ALL {
            let (a, b) = (
                v1.check(&id, scenario, today, today, Options::default()),
                v2.check(&id, scenario, today, today, Options::default()),
            );
            let (mut ja, mut jb) = (Vec::new(), Vec::new());
            a.write_json(&mut ja);
            b.write_json(&mut jb);
            // The hand-written JSON of the check path is exactly serde's.
            assert_eq!(ja, serde_json::to_vec(&a).unwrap(), "{text} {scenario:?}");
            assert_eq!(jb, serde_json::to_vec(&b).unwrap(), "{text} {scenario:?}");
            // Everything but the snapshot id (the content digest covers ids.idx).
            let strip = |j: Vec<u8>, snap: &str| String::from_utf8(j).unwrap().replace(snap, "");
            assert_eq!(
                strip(ja, a.snapshot),
                strip(jb, b.snapshot),
                "{text} {scenario:?}"
            );
        }
    }
}
