//! Snapshots written by earlier format versions, committed under data/fixtures, must keep
//! opening, verifying and deciding as they did. A format change that breaks one of these
//! bumps FORMAT_VERSION and adds a fixture (index-builder/FORMAT.md, "Versioning").

mod common;

use common::{day, repo};
use credgate::engine::{Engine, Options, Outcome};
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;

#[test]
fn format_v1_sample_fixture_opens_verifies_and_decides() {
    let engine = Engine::open(&repo().join("data/fixtures/snapshot-v1")).unwrap();
    engine.verify().unwrap();
    assert_eq!(engine.snapshot().manifest().format_version, 1);
    let today = day("2026-11-28");
    for (id, scenario, want) in [
        ("914101027110665834", Scenario::Procurement, Outcome::Deny),
        ("410102196804120211", Scenario::Transport, Outcome::Deny),
        ("91410105MA3LWF6F8Q", Scenario::Licensing, Outcome::Review),
        (
            "914101844590813695",
            Scenario::Procurement,
            Outcome::FastTrack,
        ),
    ] {
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
