//! SPEC §5 rule by rule, on small hand-written sources built into real snapshots: one row per
//! case, citing the rule it shows. Where `data/README.md`'s sample shows a rule once, these
//! rows walk its boundaries (the day before, the day of, the day after) and the cases the
//! sample has no room for: several events on one record, roles that end on the decided_on,
//! a person reached through two roles, rewards blocked through a link.

mod common;

use std::path::Path;

use credgate::engine::{Engine, Options, Outcome};
use credgate_index::build::{build, BuildOptions, BuildReport};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;
use credgate_index::source::Encoding;

use common::day;
use Outcome::{Clear, Deny, FastTrack, Review};

const LIST_HEADER: &str = "record_id,list_code,subject_type,subject_id,subject_name,authority,\
                           doc_no,reason,decided_on,effective_from,effective_until,act_ended_on";

/// One list row: `record_id list subject_type subject_id decided_on effective_from
/// effective_until act_ended_on`, blank-separated, `-` for an empty date.
fn list_row(spec: &str) -> String {
    let f: Vec<&str> = spec.split_whitespace().collect();
    assert_eq!(f.len(), 8, "{spec}");
    let d = |s: &str| {
        if s == "-" {
            String::new()
        } else {
            s.to_string()
        }
    };
    format!(
        "{},{},{},{},主体{},某机关,某文号〔{}〕,某事由,{},{},{},{}",
        f[0],
        f[1],
        f[2],
        f[3],
        f[0],
        f[0],
        f[4],
        f[5],
        d(f[6]),
        d(f[7])
    )
}

/// A source directory: list rows (see [`list_row`]) and the other files' data rows as
/// written.
struct Source<'a> {
    lists: &'a [&'a str],
    repairs: &'a [&'a str],
    objections: &'a [&'a str],
    links: &'a [&'a str],
}

fn write_source(dir: &Path, src: &Source<'_>) {
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    let file = |header: &str, rows: Vec<String>| {
        let mut text = format!("{header}\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        text
    };
    let plain = |rows: &[&str]| -> Vec<String> { rows.iter().map(|r| r.to_string()).collect() };
    std::fs::write(
        dir.join("lists/all.csv"),
        file(LIST_HEADER, src.lists.iter().map(|r| list_row(r)).collect()),
    )
    .unwrap();
    std::fs::write(
        dir.join("repairs.csv"),
        file(
            "record_id,action,decided_on,authority,doc_no",
            plain(src.repairs),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("objections.csv"),
        file(
            "record_id,filed_on,closed_on,outcome",
            plain(src.objections),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("links.csv"),
        file(
            "org_id,person_id,person_name,role,from,until",
            plain(src.links),
        ),
    )
    .unwrap();
}

/// Builds `src` with `catalog` as of `today` (no rejects allowed) and opens it.
fn open(
    src: &Source<'_>,
    catalog: Catalog,
    today: Day,
) -> (tempfile::TempDir, Engine, BuildReport) {
    let dir = tempfile::tempdir().unwrap();
    write_source(&dir.path().join("source"), src);
    let report = build(&BuildOptions {
        source: dir.path().join("source"),
        out: dir.path().join("root"),
        catalog,
        max_rejects: Some(0),
        history_from: None,
        today,
        keep: 1,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap();
    let engine = Engine::open(&dir.path().join("root")).unwrap();
    engine.verify().unwrap();
    (dir, engine, report)
}

fn check(
    engine: &Engine,
    id: &str,
    scenario: Scenario,
    as_of: Day,
    today: Day,
) -> serde_json::Value {
    let id = ids::parse(id, Mode::Strict, today).unwrap();
    let full = Options {
        full_personal_ids: true,
    };
    serde_json::to_value(engine.check(&id, scenario, as_of, today, full)).unwrap()
}

fn outcome(v: &serde_json::Value) -> Outcome {
    *Outcome::ALL
        .iter()
        .find(|o| v["decision"] == o.as_str())
        .unwrap()
}

/// The build day of [`RULES`] and the `today` of its rows.
const TODAY: &str = "2026-11-28";

const RULES: Source<'static> = Source {
    lists: &[
        // Rule 1: the effective window, both ends inclusive.
        "R1-WIN procurement_misconduct org 914101844590813695 2024-12-20 2025-01-01 2025-12-31 -",
        // Rule 1: a repair decided on D.
        "R1-REP safety_production org 91410122MADDKA5R1D 2024-01-01 2024-01-01 - -",
        // Rule 1: an objection closed `corrected` on D; one closed `upheld`.
        "R1-COR environment org 91410100MA2MAYK72W 2025-01-01 2025-01-01 - -",
        "R1-UPH environment org 91410184MA6D045U85 2025-01-01 2025-01-01 - -",
        // Rule 1: revoked before it took effect.
        "R1-EARLY customs_dishonest org 91410103MACWCW8956 2024-11-20 2025-01-01 - -",
        // Rule 1: two events; the earlier one ends it.
        "R1-TWO food_drug org 91410100338847532D 2024-01-01 2024-01-01 - -",
        // Rule 2: an objection filed on D and still open.
        "R2-OPEN market_serious_illegal org 914101840331111969 2026-01-01 2026-01-01 - -",
        // Rule 3: an organisation on the court-defaulter list (and a focus list).
        "R3-CD court_defaulter org 914101027110665834 2024-03-15 2024-03-15 - -",
        "R3-FOC market_abnormal org 914101027110665834 2025-01-01 2025-01-01 - -",
        // Rule 3: a person listed directly who also holds a role in R3-CD's organisation.
        "R3-OWN court_defaulter person 410184197902141699 2025-04-08 2025-04-08 - -",
        // Rule 4: two domains; one domain twice.
        "R4-TAX tax_major_violation org 91410184MAUN17PB6B 2025-01-10 2025-01-10 - -",
        "R4-ENV environment org 91410184MAUN17PB6B 2025-02-01 2025-02-01 - -",
        "R4-FOC market_abnormal org 91410184MAUN17PB6B 2026-01-01 2026-01-01 - -",
        "R4-T1 tax_major_violation org 91410105MA3LWF6F8Q 2025-01-10 2025-01-10 - -",
        "R4-T2 tax_major_violation org 91410105MA3LWF6F8Q 2025-06-10 2025-06-10 - -",
        // Rule 5: red only; red with an active focus record; red of a person whose
        // organisation is a court defaulter; a focus record that ended 2024-11-27.
        "R5-RED tax_a_grade org 91410184MATY51UW3C 2026-01-01 2026-01-01 - -",
        "R5-RF1 contract_honoring org 91410104MACKHWBA9J 2026-01-01 2026-01-01 - -",
        "R5-RF2 market_abnormal org 91410104MACKHWBA9J 2026-02-01 2026-02-01 - -",
        "R5-PRED honest_model person 410184199003080609 2025-01-01 2025-01-01 - -",
        "R5-END market_abnormal org 91410108MAB3PY0C77 2023-01-01 2023-01-01 2024-11-27 -",
        // Rule 5: the history reaches back to 2020-01-01 (an expired A-grade record).
        "R5-OLD tax_a_grade org 91410100MAUX0W9KXP 2020-01-01 2020-01-01 2020-12-31 -",
        // Rule 5 and 6: a person's focus record in the three years, erased on 2027-01-01.
        "R5-ERA market_abnormal person 410103197107301034 2021-01-01 2021-01-01 2025-06-30 2022-01-01",
    ],
    repairs: &[
        "R1-REP,repair,2025-06-18,某机关,某文号",
        "R1-EARLY,revocation,2024-12-01,某机关,某文号",
        "R1-TWO,removal,2025-09-01,某机关,某文号",
    ],
    objections: &[
        "R1-COR,2025-02-20,2025-03-14,corrected",
        "R1-UPH,2025-02-20,2025-03-14,upheld",
        "R1-TWO,2025-07-01,2025-08-01,revoked",
        "R2-OPEN,2026-11-28,,",
    ],
    links: &[
        // Held until the record's decided_on: reached.
        "914101027110665834,410102196804120211,王建国,legal_rep,2019-05-01,2024-03-15",
        // From the day after: not reached.
        "914101027110665834,410184197509231962,李秀英,legal_rep,2024-03-16,",
        // A director: named by honors, not by transport.
        "914101027110665834,410105198211050914,张伟,director,,",
        // Two roles in the same organisation.
        "914101027110665834,410105198008211022,孙丽,legal_rep,2020-01-01,",
        "914101027110665834,410105198008211022,孙丽,controller,2020-01-01,",
        // Listed directly too.
        "914101027110665834,410184197902141699,刘洋,principal,2022-01-01,",
        // An honest model whose organisation is a court defaulter.
        "914101027110665834,410184199003080609,赵敏,shareholder,2023-01-01,",
        // The legal representative of an organisation black-listed in two domains.
        "91410184MAUN17PB6B,410184198412021381,周海燕,legal_rep,2018-11-20,",
    ],
};

struct Case {
    rule: &'static str,
    id: &'static str,
    scenario: Scenario,
    as_of: &'static str,
    today: &'static str,
    expect: Outcome,
}

const fn at(
    rule: &'static str,
    id: &'static str,
    scenario: Scenario,
    as_of: &'static str,
    expect: Outcome,
) -> Case {
    Case {
        rule,
        id,
        scenario,
        as_of,
        today: TODAY,
        expect,
    }
}

use Scenario::{Honors, Licensing, Procurement, PublicServices, Transport};

const CASES: &[Case] = &[
    at(
        "1 before effective_from",
        "914101844590813695",
        Procurement,
        "2024-12-31",
        Clear,
    ),
    at(
        "1 effective_from == D",
        "914101844590813695",
        Procurement,
        "2025-01-01",
        Deny,
    ),
    at(
        "1 effective_until == D",
        "914101844590813695",
        Procurement,
        "2025-12-31",
        Deny,
    ),
    at(
        "1 after effective_until",
        "914101844590813695",
        Procurement,
        "2026-01-01",
        Clear,
    ),
    at(
        "1 repair the day after D",
        "91410122MADDKA5R1D",
        Procurement,
        "2025-06-17",
        Deny,
    ),
    at(
        "1 repair on D",
        "91410122MADDKA5R1D",
        Procurement,
        "2025-06-18",
        Clear,
    ),
    at(
        "1 corrected the day after D",
        "91410100MA2MAYK72W",
        Procurement,
        "2025-03-13",
        Deny,
    ),
    at(
        "1 corrected on D",
        "91410100MA2MAYK72W",
        Procurement,
        "2025-03-14",
        Clear,
    ),
    at(
        "1 upheld on D",
        "91410184MA6D045U85",
        Procurement,
        "2025-03-14",
        Deny,
    ),
    at(
        "1 revoked before effective_from",
        "91410103MACWCW8956",
        Procurement,
        "2025-01-01",
        Clear,
    ),
    at(
        "1 two events, before",
        "91410100338847532D",
        Procurement,
        "2025-07-31",
        Deny,
    ),
    at(
        "1 two events, the first",
        "91410100338847532D",
        Procurement,
        "2025-08-01",
        Clear,
    ),
    at(
        "1 two events, the second",
        "91410100338847532D",
        Procurement,
        "2025-09-01",
        Clear,
    ),
    at(
        "2 objection open on D",
        "914101840331111969",
        Procurement,
        "2026-11-28",
        Deny,
    ),
    at(
        "3 role until == decided_on",
        "410102196804120211",
        Transport,
        TODAY,
        Deny,
    ),
    at(
        "3 role from > decided_on",
        "410184197509231962",
        Transport,
        TODAY,
        Clear,
    ),
    at(
        "3 director, honors names it",
        "410105198211050914",
        Honors,
        TODAY,
        Deny,
    ),
    at(
        "3 director, transport does not",
        "410105198211050914",
        Transport,
        TODAY,
        Clear,
    ),
    at(
        "3 no measure with a role",
        "410102196804120211",
        Procurement,
        TODAY,
        Clear,
    ),
    at("3 two roles", "410105198008211022", Transport, TODAY, Deny),
    at(
        "3 listed directly and linked",
        "410184197902141699",
        Transport,
        TODAY,
        Deny,
    ),
    at(
        "4 two domains",
        "91410184MAUN17PB6B",
        Licensing,
        TODAY,
        Review,
    ),
    at(
        "4 two domains",
        "91410184MAUN17PB6B",
        Procurement,
        TODAY,
        Deny,
    ),
    at(
        "4 one domain twice",
        "91410105MA3LWF6F8Q",
        Licensing,
        TODAY,
        Review,
    ),
    at("5 red", "91410184MATY51UW3C", Procurement, TODAY, FastTrack),
    at(
        "5 red with a focus record",
        "91410104MACKHWBA9J",
        Procurement,
        TODAY,
        Review,
    ),
    at(
        "5 red, linked black",
        "410184199003080609",
        PublicServices,
        TODAY,
        Clear,
    ),
    at(
        "5 green channel",
        "91110000600037341L",
        Licensing,
        TODAY,
        FastTrack,
    ),
    at(
        "5 history too short",
        "91110000600037341L",
        Licensing,
        "2022-06-01",
        Clear,
    ),
    at(
        "5 history just long enough",
        "91110000600037341L",
        Licensing,
        "2023-01-01",
        FastTrack,
    ),
    at(
        "5 ended 2024-11-27",
        "91410108MAB3PY0C77",
        Licensing,
        "2027-11-27",
        Clear,
    ),
    at(
        "5 three clean years",
        "91410108MAB3PY0C77",
        Licensing,
        "2027-11-28",
        FastTrack,
    ),
    at(
        "5 green channel blocked by a link",
        "410102196804120211",
        Licensing,
        TODAY,
        Clear,
    ),
    at(
        "5 focus record in the three years",
        "410103197107301034",
        Licensing,
        TODAY,
        Clear,
    ),
    Case {
        rule: "5, 6 the record is erased",
        id: "410103197107301034",
        scenario: Licensing,
        as_of: "2027-01-01",
        today: "2027-01-01",
        expect: FastTrack,
    },
    at(
        "6 not yet erased",
        "410103197107301034",
        Procurement,
        "2024-01-01",
        Review,
    ),
    Case {
        rule: "6 erased, seen from an earlier as_of",
        id: "410103197107301034",
        scenario: Procurement,
        as_of: "2024-01-01",
        today: "2027-01-01",
        expect: Clear,
    },
];

#[test]
fn every_rule_decides_at_its_boundaries() {
    let (_dir, engine, report) = open(&RULES, Catalog::builtin(), day(TODAY));
    assert_eq!(report.manifest.history_from, Some(day("2020-01-01")));
    let mut failures = Vec::new();
    for c in CASES {
        let v = check(&engine, c.id, c.scenario, day(c.as_of), day(c.today));
        if outcome(&v) != c.expect {
            failures.push(format!(
                "rule {}: {} {} as_of {} today {}: got {}, expected {:?}",
                c.rule, c.id, c.scenario, c.as_of, c.today, v["decision"], c.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rule 2, and rule 1's upheld objection: `under_objection` is true from the day an
/// objection is filed until the day it is closed, and the record applies meanwhile.
#[test]
fn an_objection_is_open_from_its_filing_to_its_closing() {
    let (_dir, engine, _) = open(&RULES, Catalog::builtin(), day(TODAY));
    let today = day(TODAY);
    let under = |id: &str, as_of: &str| {
        let v = check(&engine, id, Procurement, day(as_of), today);
        assert_eq!(outcome(&v), Deny, "{id} {as_of}");
        v["records"][0]["under_objection"].as_bool().unwrap()
    };
    assert!(!under("914101840331111969", "2026-11-27"));
    assert!(under("914101840331111969", "2026-11-28"));
    assert!(!under("91410184MA6D045U85", "2025-02-19"));
    assert!(under("91410184MA6D045U85", "2025-02-20"));
    assert!(under("91410184MA6D045U85", "2025-03-13"));
    assert!(!under("91410184MA6D045U85", "2025-03-14"));
    assert!(under("91410100MA2MAYK72W", "2025-03-13"));
}

/// Rules 3 and 7: a record reached through two roles is reported once per role, each
/// with the organisation it came through; a person listed directly has both kinds.
#[test]
fn linked_records_name_their_organisation_and_role() {
    let (_dir, engine, _) = open(&RULES, Catalog::builtin(), day(TODAY));
    let today = day(TODAY);
    let vias = |v: &serde_json::Value| -> Vec<String> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let via = &r["via"];
                format!(
                    "{} {}",
                    r["record_id"].as_str().unwrap(),
                    if via.is_null() {
                        "own".to_string()
                    } else {
                        format!(
                            "{}/{}",
                            via["org"].as_str().unwrap(),
                            via["role"].as_str().unwrap()
                        )
                    }
                )
            })
            .collect()
    };
    let v = check(&engine, "410105198008211022", Transport, today, today);
    assert_eq!(
        vias(&v),
        [
            "R3-CD 914101027110665834/legal_rep",
            "R3-CD 914101027110665834/controller"
        ]
    );
    assert_eq!(v["measures"][0]["because"].as_array().unwrap().len(), 2);
    let v = check(&engine, "410184197902141699", Transport, today, today);
    assert_eq!(
        vias(&v),
        ["R3-OWN own", "R3-CD 914101027110665834/principal"]
    );
    // The director's link carries the record (it counts against rewards), but no transport
    // measure names directors.
    let v = check(&engine, "410105198211050914", Transport, today, today);
    assert_eq!(vias(&v), ["R3-CD 914101027110665834/director"]);
    assert!(v["measures"].as_array().unwrap().is_empty());
    // The focus record of the same organisation reaches nobody: no focus measure names a role.
    let v = check(&engine, "410102196804120211", Licensing, today, today);
    assert_eq!(vias(&v), ["R3-CD 914101027110665834/legal_rep"]);
}

/// Rule 4: heightening counts the subject's own black records (ARCHITECTURE.md); the
/// person whose organisation is black-listed in two domains is not heightened.
#[test]
fn heightening_needs_two_domains_of_the_subjects_own_black_records() {
    let (_dir, engine, _) = open(&RULES, Catalog::builtin(), day(TODAY));
    let today = day(TODAY);
    let v = check(&engine, "91410184MAUN17PB6B", Licensing, today, today);
    assert_eq!(v["heightened"], true);
    let bindings: Vec<String> = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["id"].as_str().unwrap(),
                m["binding"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        bindings,
        [
            "licensing.black.strict_review:mandatory",
            "licensing.focus.prudent_review:mandatory"
        ]
    );
    assert_eq!(v["records"].as_array().unwrap().len(), 3);
    let v = check(&engine, "91410105MA3LWF6F8Q", Licensing, today, today);
    assert_eq!(v["heightened"], false);
    let v = check(&engine, "410184198412021381", Honors, today, today);
    assert_eq!((v["heightened"].clone(), outcome(&v)), (false.into(), Deny));
}

/// Rules 4 and 7: under heightening a recommended `deny` becomes a mandatory one and so
/// denies; without it, it is advisory and yields `review`.
#[test]
fn heightening_turns_an_advisory_denial_into_a_denial() {
    let text = std::fs::read_to_string(common::repo().join("data/catalog.toml")).unwrap();
    let text = format!(
        "{text}\n[[measure]]\nid = \"licensing.focus.advisory_deny\"\nname = \"建议不予许可\"\n\
         kind = \"punish\"\nbinding = \"recommended\"\nclasses = [\"focus\"]\nlists = []\n\
         scenarios = {{ licensing = \"deny\" }}\nlinked_roles = []\nclean_years = 0\n\
         basis = {{ seed = \"三(三)\", national = [] }}\n"
    );
    let catalog = Catalog::parse(&text, "test catalogue").unwrap();
    let (_dir, engine, _) = open(&RULES, catalog, day(TODAY));
    let today = day(TODAY);
    // A focus record only: the advisory denial is a review.
    let v = check(&engine, "91410104MACKHWBA9J", Licensing, today, today);
    assert_eq!(outcome(&v), Review);
    // Two domains of black records and a focus record: heightened, denied.
    let v = check(&engine, "91410184MAUN17PB6B", Licensing, today, today);
    assert_eq!((v["heightened"].clone(), outcome(&v)), (true.into(), Deny));
    let advisory = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "licensing.focus.advisory_deny")
        .unwrap();
    assert_eq!(advisory["binding"], "mandatory");
}

/// Rule 6 (seed 六(七): 失信记录只保留5年, 5年后予以消除): a person's record is kept five
/// years from the day the act ended and is gone from the same calendar day five years later.
/// An act that ended on 29 February is kept to the end of 28 February of the fifth year and
/// gone from 1 March: gone on 28 February, it was kept 1,825 days, a day short of any five
/// years (1,826 or 1,827 days).
#[test]
fn a_record_whose_act_ended_on_29_february_is_kept_five_full_years() {
    const LEAP: Source<'static> = Source {
        lists: &[
            "R6-LEAP court_defaulter person 410108197301091757 2019-06-01 2019-06-01 - 2020-02-29",
            "R6-DAY court_defaulter person 410184197706191154 2019-06-01 2019-06-01 - 2020-06-30",
        ],
        repairs: &[],
        objections: &[],
        links: &[],
    };
    let (leap, other) = ("410108197301091757", "410184197706191154");
    let decide = |engine: &Engine, id: &str, as_of: &str, today: &str| {
        outcome(&check(engine, id, Transport, day(as_of), day(today)))
    };
    let (_dir, engine, _) = open(&LEAP, Catalog::builtin(), day("2024-06-01"));
    for (id, d, expect) in [
        (other, "2025-06-29", Deny),
        (other, "2025-06-30", Clear),
        (leap, "2025-02-27", Deny),
        (leap, "2025-02-28", Deny),
        (leap, "2025-03-01", Clear),
    ] {
        assert_eq!(decide(&engine, id, d, d), expect, "{id} on {d}");
    }
    // A served snapshot whose real date has reached the erase day shows it for no as_of.
    assert_eq!(decide(&engine, leap, "2025-02-28", "2025-03-01"), Clear);
    let id = ids::parse(leap, Mode::Strict, day("2024-06-01")).unwrap();
    let p = engine.profile(
        &id,
        day("2024-06-01"),
        day("2024-06-01"),
        Options::default(),
    );
    assert_eq!(p.records[0].erase_on, Some(day("2025-03-01")));
    // The builder keeps it on 28 February and drops it from 1 March.
    let (_dir, engine, report) = open(&LEAP, Catalog::builtin(), day("2025-02-28"));
    assert_eq!(report.manifest.counts.erased_at_build, 0);
    assert_eq!(decide(&engine, leap, "2025-02-28", "2025-02-28"), Deny);
    let (_dir, _, report) = open(&LEAP, Catalog::builtin(), day("2025-03-01"));
    assert_eq!(report.manifest.counts.erased_at_build, 1);
}

/// A profile's record `status` on as_of says what stopped the record first: one revoked
/// before it took effect is `ended` (it never will take effect), not `pending`; one that
/// expired before a later removal is `expired`, not `ended`.
#[test]
fn a_profile_status_says_what_stopped_the_record_first() {
    const STATUS: Source<'static> = Source {
        lists: &[
            "S-EARLY customs_dishonest org 91410103MACWCW8956 2024-11-20 2025-01-01 - -",
            "S-LATE food_drug org 91410100338847532D 2024-01-01 2024-01-01 2024-12-31 -",
            "S-MID environment org 91410100MA2MAYK72W 2024-01-01 2024-01-01 2025-12-31 -",
            "S-OPEN tax_major_violation org 91410184MATY51UW3C 2024-01-01 2025-01-01 2025-12-31 -",
        ],
        repairs: &[
            "S-EARLY,revocation,2024-12-01,某机关,某文号",
            "S-LATE,removal,2025-03-01,某机关,某文号",
            "S-MID,repair,2025-06-18,某机关,某文号",
        ],
        objections: &[],
        links: &[],
    };
    let (_dir, engine, _) = open(&STATUS, Catalog::builtin(), day(TODAY));
    let status = |id: &str, as_of: &str| {
        let id = ids::parse(id, Mode::Strict, day(TODAY)).unwrap();
        let p = engine.profile(&id, day(as_of), day(TODAY), Options::default());
        assert_eq!(p.records.len(), 1);
        p.records[0].status
    };
    let mut wrong = Vec::new();
    for (id, as_of, expect) in [
        ("91410103MACWCW8956", "2024-11-30", "pending"),
        ("91410103MACWCW8956", "2024-12-01", "ended"),
        ("91410103MACWCW8956", "2025-02-01", "ended"),
        ("91410100338847532D", "2024-06-01", "active"),
        ("91410100338847532D", "2025-01-15", "expired"),
        ("91410100338847532D", "2025-06-01", "expired"),
        ("91410100MA2MAYK72W", "2025-06-17", "active"),
        ("91410100MA2MAYK72W", "2025-06-18", "ended"),
        ("91410100MA2MAYK72W", "2026-06-01", "ended"),
        ("91410184MATY51UW3C", "2024-06-01", "pending"),
        ("91410184MATY51UW3C", "2025-12-31", "active"),
        ("91410184MATY51UW3C", "2026-01-01", "expired"),
    ] {
        let got = status(id, as_of);
        if got != expect {
            wrong.push(format!("{id} on {as_of}: {got}, expected {expect}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The three ways to ask agree on the rule cases' snapshot: for every subject, scenario and
/// date of [`CASES`], the lean screening path ([`ScreenPlan`]) gives the row
/// [`Engine::screen_one`] builds from the check, a profile gives the check's decision, and
/// the hand-written JSON of `/v1/check` is serde's.
#[test]
fn screening_profiles_and_checks_agree_on_the_rule_cases() {
    use credgate::engine::verdict::{ScreenPlan, Verdict};
    let (_dir, engine, _) = open(&RULES, Catalog::builtin(), day(TODAY));
    let snap = engine.snapshot();
    let subjects: Vec<String> = (0..snap.subject_count())
        .map(|o| snap.subject_id(o).to_string())
        .chain(["91110000600037341L".to_string()])
        .collect();
    let mut days: Vec<(Day, Day)> = CASES.iter().map(|c| (day(c.as_of), day(c.today))).collect();
    days.sort();
    days.dedup();
    let full = Options {
        full_personal_ids: true,
    };
    let mut wrong = Vec::new();
    let mut v = Verdict::default();
    for &(as_of, today) in &days {
        for &scenario in Scenario::ALL {
            let plan = ScreenPlan::new(&engine, scenario, as_of, today, Mode::Strict);
            for s in &subjects {
                let want = engine.screen_one(s, scenario, as_of, today, Mode::Strict, full);
                let got = plan.screen_result(s, true, &mut v);
                if want != got {
                    wrong.push(format!(
                        "{s} {scenario} {as_of} {today}: lean {got:?}, check {want:?}"
                    ));
                }
                let id = ids::parse(s, Mode::Strict, today).unwrap();
                let d = engine.check(&id, scenario, as_of, today, full);
                let p = engine.profile(&id, as_of, today, full);
                if p.decisions[scenario.as_str()] != d.decision {
                    wrong.push(format!("{s} {scenario} {as_of} {today}: profile differs"));
                }
                let mut hand = Vec::new();
                d.write_json(&mut hand);
                if hand != serde_json::to_vec(&d).unwrap() {
                    wrong.push(format!("{s} {scenario} {as_of} {today}: JSON differs"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{}",
        wrong[..wrong.len().min(10)].join("\n")
    );
}
