//! Sample identifiers for the engine benches (`engine.rs`, `check_latency.rs`), included with
//! `#[path]`: organisations with records, persons reached through links, and valid codes that
//! are not in the snapshot, spread evenly over the snapshot's ordinals.

use credgate::engine::Engine;
use credgate_index::date::Day;
use credgate_index::ids::{self, gen, Id, Mode};
use credgate_index::model::SubjectType;

pub const SAMPLE: usize = 4096;

pub struct Samples {
    pub orgs: Vec<Id>,
    pub linked_persons: Vec<Id>,
    pub misses: Vec<Id>,
}

pub fn samples(engine: &Engine, today: Day) -> Samples {
    let snap = engine.snapshot();
    let n = snap.subject_count();
    let mut orgs = Vec::new();
    let mut linked_persons = Vec::new();
    let step = (n / (SAMPLE as u32 * 4)).max(1);
    let mut ord = 0;
    while ord < n && (orgs.len() < SAMPLE || linked_persons.len() < SAMPLE) {
        let s = snap.subject(ord).expect("ordinal below subject_count");
        let id = ids::parse(snap.subject_id(ord), Mode::Lenient, today);
        if let Ok(id) = id {
            if s.subject_type == SubjectType::Org.code() && s.rec_count > 0 && orgs.len() < SAMPLE {
                orgs.push(id);
            } else if s.subject_type == SubjectType::Person.code()
                && s.link_count > 0
                && linked_persons.len() < SAMPLE
            {
                linked_persons.push(id);
            }
        }
        ord += step;
    }
    let misses = (0..u64::MAX)
        .map(|seed| gen::sample_uscc(seed ^ 0x5EED_0000))
        .filter(|code| snap.lookup(code).is_none())
        .take(SAMPLE)
        .map(|code| {
            ids::parse(
                std::str::from_utf8(&code).expect("ASCII"),
                Mode::Strict,
                today,
            )
            .expect("generated codes are valid")
        })
        .collect();
    Samples {
        orgs,
        linked_persons,
        misses,
    }
}
