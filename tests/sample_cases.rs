//! The documented cases of data/README.md, end to end: build the sample, open the snapshot,
//! check each subject. One row per case; the rule it shows is in the README.

mod common;

use common::{build_sample, build_source, day, sample_today};
use credgate::engine::{Engine, Options, Outcome};
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;

struct Case {
    id: &'static str,
    scenario: &'static str,
    as_of: &'static str,
    today: &'static str,
    expect: Outcome,
}

const fn case(
    id: &'static str,
    scenario: &'static str,
    as_of: &'static str,
    expect: Outcome,
) -> Case {
    Case {
        id,
        scenario,
        as_of,
        today: "2026-11-28",
        expect,
    }
}

use Outcome::{Clear, Deny, FastTrack, Review};

const CASES: &[Case] = &[
    case("914101027110665834", "procurement", "2026-11-28", Deny),
    case("914101027110665834", "licensing", "2026-11-28", Review),
    case("914101027110665834", "transport", "2026-11-28", Deny),
    case("410102196804120211", "transport", "2026-11-28", Deny),
    case("410102196804120211", "consumption", "2026-11-28", Deny),
    case("410102196804120211", "market_entry", "2026-11-28", Deny),
    case("410102196804120211", "honors", "2026-11-28", Deny),
    case("410184197509231962", "transport", "2026-11-28", Clear),
    case("410184197509231962", "consumption", "2026-11-28", Clear),
    case("410105198211050914", "honors", "2026-11-28", Deny),
    case("410105198211050914", "transport", "2026-11-28", Clear),
    case("410105198008211022", "transport", "2026-11-28", Deny),
    case("91410184MAUN17PB6B", "licensing", "2026-11-28", Review),
    case("91410184MAUN17PB6B", "procurement", "2026-11-28", Deny),
    case("91410105MA3LWF6F8Q", "licensing", "2026-11-28", Review),
    case("91410105MA3LWF6F8Q", "procurement", "2026-11-28", Review),
    case("91410105MA3LWF6F8Q", "transport", "2026-11-28", Clear),
    case("914101844590813695", "procurement", "2026-11-28", FastTrack),
    case("91410122MADDKA5R1D", "procurement", "2026-11-28", Review),
    case("91410100MA2MAYK72W", "procurement", "2026-11-28", Clear),
    case("91410100MA2MAYK72W", "licensing", "2026-11-28", FastTrack),
    case("91410184MA6D045U85", "licensing", "2026-11-28", Clear),
    Case {
        id: "91410184MA6D045U85",
        scenario: "licensing",
        as_of: "2027-11-28",
        today: "2027-11-28",
        expect: FastTrack,
    },
    case("91410103MACWCW8956", "procurement", "2026-12-31", Clear),
    case("91410103MACWCW8956", "procurement", "2027-01-01", Deny),
    case("91410100338847532D", "procurement", "2025-05-09", Deny),
    case("91410100338847532D", "procurement", "2025-05-10", Clear),
    case("914101840331111969", "procurement", "2025-06-17", Deny),
    case("914101840331111969", "procurement", "2025-06-18", Clear),
    case("91410108MAB3PY0C77", "procurement", "2025-08-31", Deny),
    case("91410108MAB3PY0C77", "procurement", "2025-09-01", Clear),
    case("91410100MAUX0W9KXP", "procurement", "2024-11-30", Deny),
    case("91410100MAUX0W9KXP", "procurement", "2024-12-01", Clear),
    case("91410104MACKHWBA9J", "procurement", "2026-11-28", Deny),
    case("91410184MATY51UW3C", "procurement", "2025-03-13", Deny),
    case("91410184MATY51UW3C", "procurement", "2025-03-14", Clear),
    case("91410102MAM7WRQ31P", "procurement", "2026-11-28", Deny),
    case("91410184MAH6HK6C7A", "procurement", "2025-11-24", Deny),
    case("91410184MAH6HK6C7A", "procurement", "2025-11-25", Clear),
    case("410184197902141699", "transport", "2026-11-28", Deny),
    case("410184197902141699", "consumption", "2026-11-28", Deny),
    case("410103197107301034", "procurement", "2021-01-01", Clear),
    case("410103197107301034", "procurement", "2026-11-28", Clear),
    case("410184198412021381", "procurement", "2026-11-28", Deny),
    case("410184198412021381", "honors", "2026-11-28", Deny),
    Case {
        id: "410184198412021381",
        scenario: "procurement",
        as_of: "2026-11-28",
        today: "2027-03-01",
        expect: Clear,
    },
    Case {
        id: "410184198412021381",
        scenario: "procurement",
        as_of: "2027-03-01",
        today: "2026-11-28",
        expect: Clear,
    },
    case(
        "410184199003080609",
        "public_services",
        "2026-11-28",
        FastTrack,
    ),
];

fn engine() -> (tempfile::TempDir, Engine) {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    let engine = Engine::open(root.path()).unwrap();
    engine.verify().unwrap();
    (root, engine)
}

#[test]
fn every_documented_case_decides_as_documented() {
    let (_root, engine) = engine();
    let mut failures = Vec::new();
    for c in CASES {
        let id = ids::parse(c.id, Mode::Strict, day(c.today)).unwrap();
        let scenario = Scenario::parse(c.scenario).unwrap();
        let d = engine.check(
            &id,
            scenario,
            day(c.as_of),
            day(c.today),
            Options::default(),
        );
        if d.decision != c.expect {
            failures.push(format!(
                "{} {} as_of {} today {}: got {:?}, expected {:?}\n{}",
                c.id,
                c.scenario,
                c.as_of,
                c.today,
                d.decision,
                c.expect,
                serde_json::to_string_pretty(&d).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

fn check_json(
    engine: &Engine,
    id: &str,
    scenario: Scenario,
    as_of: &str,
    mode: Mode,
) -> serde_json::Value {
    let id = ids::parse(id, mode, sample_today()).unwrap();
    serde_json::to_value(engine.check(
        &id,
        scenario,
        day(as_of),
        sample_today(),
        Options::default(),
    ))
    .unwrap()
}

#[test]
fn heightened_punishment_makes_recommended_measures_mandatory() {
    // Rule 4: black records in tax and environment.
    let (_root, engine) = engine();
    let d = check_json(
        &engine,
        "91410184MAUN17PB6B",
        Scenario::Licensing,
        "2026-11-28",
        Mode::Strict,
    );
    assert_eq!(d["heightened"], true);
    let focus = d["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "licensing.focus.prudent_review");
    assert_eq!(
        focus.expect("focus measure applied")["binding"],
        "mandatory"
    );
}

#[test]
fn open_objection_is_reported_and_does_not_suspend() {
    // Rule 2.
    let (_root, engine) = engine();
    let d = check_json(
        &engine,
        "91410104MACKHWBA9J",
        Scenario::Procurement,
        "2026-11-28",
        Mode::Strict,
    );
    assert_eq!(d["decision"], "deny");
    assert_eq!(d["records"][0]["under_objection"], true);
    let d = check_json(
        &engine,
        "91410102MAM7WRQ31P",
        Scenario::Procurement,
        "2026-11-28",
        Mode::Strict,
    );
    assert_eq!(d["records"][0]["under_objection"], false);
}

#[test]
fn linked_person_answer_names_org_and_role_and_masks_the_person() {
    // Rule 3, and masking of people's numbers.
    let (_root, engine) = engine();
    let d = check_json(
        &engine,
        "410102196804120211",
        Scenario::Transport,
        "2026-11-28",
        Mode::Strict,
    );
    assert_eq!(d["id"], "410102********0211");
    let via = &d["records"][0]["via"];
    assert_eq!(via["org"], "914101027110665834");
    assert_eq!(via["role"], "legal_rep");
    assert_eq!(d["measures"][0]["because"][0]["via"]["role"], "legal_rep");
}

#[test]
fn nonconforming_code_is_flagged_when_lenient() {
    let (_root, engine) = engine();
    assert!(ids::parse("91350102896967053Y", Mode::Strict, sample_today()).is_err());
    let d = check_json(
        &engine,
        "91350102896967053Y",
        Scenario::Procurement,
        "2026-11-28",
        Mode::Lenient,
    );
    assert_eq!(d["nonconforming"], true);
    assert_eq!(d["decision"], "review");
}

#[test]
fn green_channel_cites_the_clean_history() {
    let (_root, engine) = engine();
    let d = check_json(
        &engine,
        "91410100MA2MAYK72W",
        Scenario::Licensing,
        "2026-11-28",
        Mode::Strict,
    );
    assert_eq!(d["measures"][0]["id"], "licensing.red.green_channel");
    assert_eq!(d["measures"][0]["because"][0]["clean_years"], 3);
}

#[test]
fn build_counts_the_erased_record_and_rejects_nothing() {
    let root = tempfile::tempdir().unwrap();
    let report = build_sample(root.path(), sample_today());
    assert_eq!(report.manifest.counts.erased_at_build, 1);
    assert_eq!(report.manifest.counts.rejects, 0);
    assert!(report.read_rejects().unwrap().is_empty());
}

#[test]
fn a_person_whose_records_are_all_erased_is_not_known() {
    let (_root, engine) = engine();
    let today = sample_today();
    let full = Options {
        full_personal_ids: true,
    };
    // 陈志强: his only record was erased at build time; he holds no role anywhere.
    let chen = ids::parse("410103197107301034", Mode::Strict, today).unwrap();
    let p = engine.profile(&chen, today, today, full);
    assert!(!p.known && p.name.is_none() && p.records.is_empty());
    assert!(engine
        .search("陈志强", false, 10, today, full)
        .unwrap()
        .is_empty());

    // 周海燕: her only record is erased on 2027-03-01. Until then she is known by name.
    let zhou = ids::parse("410184198412021381", Mode::Strict, today).unwrap();
    let erase = day("2027-03-01");
    let before = engine.profile(&zhou, today, today, full);
    assert!(before.known);
    assert_eq!(before.name.as_deref(), Some("周海燕"));
    let hits = engine.search("周海燕", false, 10, today, full).unwrap();
    assert_eq!(hits.len(), 1);
    let d = engine.check(&zhou, Scenario::Procurement, today, today, full);
    assert_eq!(d.name.as_deref(), Some("周海燕"));
    // Seen from the erase day, as of it or from a served snapshot's today: no trace.
    for (as_of, now) in [(erase, today), (today, erase)] {
        let d = engine.check(&zhou, Scenario::Procurement, as_of, now, full);
        assert!(d.name.is_none() && d.records.is_empty(), "{as_of} {now}");
        let p = engine.profile(&zhou, as_of, now, full);
        assert!(!p.known && p.name.is_none(), "{as_of} {now}");
    }
    assert!(engine
        .search("周海燕", false, 10, erase, full)
        .unwrap()
        .is_empty());

    // A person with links stays known by name: 高建军's record runs, and he holds a role.
    let gao = ids::parse("410108197301091757", Mode::Strict, today).unwrap();
    assert!(engine.profile(&gao, today, today, full).known);
}

/// Regression: the same court-defaulter row delivered in two export files made the builder
/// reject both copies, and the defaulter came out "clear". Identical copies now keep the
/// first: the decisions are the sample's, a repair of a duplicated record still takes
/// effect, and each later copy is reported.
#[test]
fn a_row_delivered_twice_still_decides_as_once() {
    let source = tempfile::tempdir().unwrap();
    let sample = common::repo().join("data/sample");
    for rel in [
        "lists/court.csv",
        "lists/market.csv",
        "lists/other.csv",
        "lists/tax.csv",
        "repairs.csv",
        "objections.csv",
        "links.csv",
    ] {
        let to = source.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(sample.join(rel), to).unwrap();
    }
    // The second export pads an identifier with blanks: identical after parsing and
    // normalisation all the same. Files are read in name order, so its copy of
    // SAF-2023-0001 is the first one and other.csv's the later.
    std::fs::write(
        source.path().join("lists/court_export2.csv"),
        "record_id,list_code,subject_type,subject_id,subject_name,authority,doc_no,reason,decided_on,effective_from,effective_until,act_ended_on\n\
         JUD-2024-0001,court_defaulter,org, 914101027110665834 ,郑州市中原区恒达建材有限公司,郑州市中原区人民法院,(2024)豫0102执1234号,有履行能力而拒不履行生效法律文书确定义务,2024-03-15,2024-03-15,,\n\
         SAF-2023-0001,safety_production,org,914101840331111969,新郑市华鑫化工有限公司,新郑市应急管理局,新应急罚〔2023〕9号,发生较大生产安全事故，对事故发生负有责任,2023-08-01,2023-08-10,2026-08-09,\n",
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let report = build_source(source.path(), root.path(), sample_today(), None).unwrap();
    let rejects: Vec<String> = report
        .read_rejects()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{} {} | {}", r.file, r.line, r.record_id, r.reason))
        .collect();
    assert_eq!(
        rejects,
        [
            "lists/court_export2.csv:2 JUD-2024-0001 | duplicate of lists/court.csv:2 \
             (identical; the first copy is kept)",
            "lists/other.csv:2 SAF-2023-0001 | duplicate of lists/court_export2.csv:3 \
             (identical; the first copy is kept)",
        ]
    );
    let engine = Engine::open(root.path()).unwrap();
    engine.verify().unwrap();
    let decide = |id: &str, as_of: &str| {
        let id = ids::parse(id, Mode::Strict, sample_today()).unwrap();
        let options = Options::default();
        engine
            .check(
                &id,
                Scenario::Procurement,
                day(as_of),
                sample_today(),
                options,
            )
            .decision
    };
    assert_eq!(decide("914101027110665834", "2026-11-28"), Deny);
    // SAF-2023-0001's repair of 2025-06-18 attaches to the copy kept.
    assert_eq!(decide("914101840331111969", "2025-06-17"), Deny);
    assert_eq!(decide("914101840331111969", "2025-06-18"), Clear);
}
