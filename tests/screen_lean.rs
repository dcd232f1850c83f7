//! The lean screening path ([`ScreenPlan`]) against the full check: for every subject of the
//! bundled sample and of a seeded synthetic snapshot, every scenario, several as_of dates and
//! two "today"s, the row the lean path gives must equal the row built from
//! [`Engine::check`] ([`Engine::screen_one`]) — decision, heightening, nonconformity, lists
//! in record order and measures in catalogue order. Random valid identifiers that are in no
//! list, and invalid ones, must get the same answer or the same error.

mod common;

use credgate::engine::screen::ScreenResult;
use credgate::engine::verdict::{ScreenPlan, Verdict};
use credgate::engine::{Engine, Options, Outcome};
use credgate_index::date::Day;
use credgate_index::ids::{gen, Mode};
use credgate_index::model::Scenario;
use credgate_index::synth::{generate, SynthOptions};

use common::{build_sample, day, sample_today};

/// Compares the two paths for `inputs` over every scenario, `dates` and `todays`, both
/// modes and both masking options; returns how many rows each decision got (so a test
/// can insist the comparison met every outcome) and panics with the first disagreements.
fn compare(engine: &Engine, inputs: &[String], dates: &[Day], todays: &[Day]) -> [u64; 5] {
    let mut seen = [0u64; 5];
    let mut diffs = Vec::new();
    let mut v = Verdict::default();
    for &today in todays {
        for &as_of in dates {
            for &scenario in Scenario::ALL.iter() {
                for mode in [Mode::Strict, Mode::Lenient] {
                    let plan = ScreenPlan::new(engine, scenario, as_of, today, mode);
                    for (n, input) in inputs.iter().enumerate() {
                        // Alternate the entitlement so both id forms are compared.
                        let full = n % 2 == 1;
                        let opts = Options {
                            full_personal_ids: full,
                        };
                        let want = engine.screen_one(input, scenario, as_of, today, mode, opts);
                        let got = plan.screen_result(input, full, &mut v);
                        match want.decision {
                            Some(d) => {
                                seen[Outcome::ALL.iter().position(|&o| o == d).unwrap()] += 1
                            }
                            None => seen[4] += 1,
                        }
                        if want != got && diffs.len() < 10 {
                            diffs.push(format!(
                                "{input} {scenario} as_of {as_of} today {today} {mode:?}:\n  check {want:?}\n  lean  {got:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    seen
}

/// Every identifier the snapshot holds (listed subjects and linked persons).
fn all_subjects(engine: &Engine) -> Vec<String> {
    let snap = engine.snapshot();
    (0..snap.subject_count())
        .map(|o| snap.subject_id(o).to_string())
        .collect()
}

/// Valid identifiers made up from a seed (almost surely in no list), and broken ones: a
/// wrong check character, a wrong length, a bad character, a 15-digit legacy number.
fn made_up(seed: u64, n: u64) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let s = gen::mix(seed + i);
        let uscc = gen::sample_uscc(s);
        let ric = gen::sample_ric(s);
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        out.push(text(&uscc));
        out.push(text(&ric));
        out.push(text(&gen::sample_ric15(s)));
        let mut bad = uscc;
        bad[17] = if bad[17] == b'0' { b'1' } else { b'0' };
        out.push(text(&bad));
        let mut bad = ric;
        bad[17] = if bad[17] == b'X' { b'0' } else { b'X' };
        out.push(text(&bad));
        out.push(text(&uscc[..17]));
        out.push(format!("{}I", text(&uscc[..17])));
        out.push(format!(
            " {}-{} ",
            text(&uscc[..9]),
            text(&uscc[9..]).to_lowercase()
        ));
    }
    out.push(String::new());
    out.push("not an id".into());
    out
}

#[test]
fn lean_screening_matches_check_on_the_sample() {
    let root = tempfile::tempdir().unwrap();
    let today = sample_today();
    build_sample(root.path(), today);
    let engine = Engine::open(root.path()).unwrap();
    let mut inputs = all_subjects(&engine);
    inputs.extend(made_up(7, 50));
    let dates = [
        day("2015-06-30"),
        day("2021-01-01"),
        day("2024-05-01"),
        today,
        day("2027-03-15"),
        day("2031-12-31"),
    ];
    let seen = compare(&engine, &inputs, &dates, &[today, day("2029-01-01")]);
    // The sample is built to show every outcome and invalid rows.
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

#[test]
fn lean_screening_matches_check_on_a_synthetic_snapshot() {
    let source = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    generate(
        source.path(),
        &SynthOptions {
            records: 2000,
            seed: 23,
        },
    )
    .unwrap();
    let build_day = day("2026-11-28");
    common::build_source(source.path(), root.path(), build_day, None).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let mut inputs = all_subjects(&engine);
    inputs.extend(made_up(99, 100));
    let dates = [
        day("2019-07-01"),
        day("2023-02-28"),
        build_day,
        day("2028-06-30"),
    ];
    let seen = compare(&engine, &inputs, &dates, &[build_day, day("2030-01-01")]);
    assert!(
        seen[0] > 0 && seen[1] > 0 && seen[3] > 0 && seen[4] > 0,
        "{seen:?}"
    );
}

#[test]
fn a_reused_verdict_carries_nothing_over() {
    let root = tempfile::tempdir().unwrap();
    let today = sample_today();
    build_sample(root.path(), today);
    let engine = Engine::open(root.path()).unwrap();
    let plan = ScreenPlan::new(&engine, Scenario::Procurement, today, today, Mode::Strict);
    let mut v = Verdict::default();
    // A listed subject, then an invalid input, then a miss: each answer stands alone.
    let listed = "914101027110665834";
    let first = plan.screen_result(listed, false, &mut v);
    assert!(!first.lists.is_empty(), "{first:?}");
    assert!(plan.screen("91410102711066583X", &mut v).is_err());
    assert_eq!((v.decision, v.lists.len(), v.measures.len()), (None, 0, 0));
    let miss = plan.screen_result("91410184MA2MAYK72W", false, &mut v);
    assert!(miss.lists.is_empty(), "{miss:?}");
    let want: ScreenResult = engine.screen_one(
        "91410184MA2MAYK72W",
        Scenario::Procurement,
        today,
        today,
        Mode::Strict,
        Options::default(),
    );
    assert_eq!(miss, want);
}
