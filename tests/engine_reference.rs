//! The engine against a slow, plainly written evaluation of SPEC §5 over the raw source rows.
//!
//! The reference below reads the synthetic CSV files with the `csv` crate, keeps the rows the
//! builder accepted (everything not in rejects.csv), and applies each rule as the SPEC words
//! it, with linear scans and no precomputation. For random subjects, scenarios, as_of dates and
//! "today"s, the engine and the reference must agree on the decision, heightening, the applied
//! measures and the active records.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use credgate::engine::{Engine, Options};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::ids::{self, Mode};
use credgate_index::model::{Binding, Class, Effect, Kind, Outcome as ObjOutcome, Role, Scenario};
use credgate_index::synth::{generate, SynthOptions};

struct Row {
    record_id: String,
    list: String,
    person: bool,
    subject: String,
    decided: Day,
    from: Day,
    until: Option<Day>,
    act_ended: Option<Day>,
}

struct Link {
    org: String,
    person: String,
    role: Role,
    from: Option<Day>,
    until: Option<Day>,
}

/// (filed_on, closed_on, outcome) of one objection.
type Objection = (Day, Option<Day>, Option<ObjOutcome>);

struct Reference {
    catalog: Catalog,
    rows: Vec<Row>,
    repairs: HashMap<String, Vec<Day>>,
    /// record_id → (filed_on, closed_on, outcome)
    objections: HashMap<String, Vec<Objection>>,
    links: Vec<Link>,
    history_from: Option<Day>,
    /// Row indices by subject and link indices by person: plain indexes, so that the
    /// reference stays a linear reading of the rules but runs fast enough in debug builds.
    rows_of: HashMap<String, Vec<usize>>,
    links_of: HashMap<String, Vec<usize>>,
}

/// Rule 6's erase day: the same calendar day five years after the act ended, and 1 March for
/// an act that ended on 29 February (five years on is a common year).
fn erase_day(ended: Day) -> Day {
    let (y, m, d) = ended.ymd();
    match (m, d) {
        (2, 29) => Day::from_ymd(y + 5, 3, 1).unwrap(),
        _ => Day::from_ymd(y + 5, m, d).unwrap(),
    }
}

fn opt_day(s: &str) -> Option<Day> {
    (!s.is_empty()).then(|| Day::parse(s).unwrap())
}

/// Rows of one CSV file as header → value maps, with their line numbers, minus rejected lines.
fn read_csv(
    path: &Path,
    rel: &str,
    rejected: &HashSet<(String, u64)>,
) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        // Synthetic files have one record per line, after the header.
        let line = i as u64 + 2;
        if rejected.contains(&(rel.to_string(), line)) {
            continue;
        }
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    out
}

impl Reference {
    fn load(source: &Path, root: &Path, history_from: Option<Day>) -> Reference {
        let mut rejected = HashSet::new();
        let mut rdr = csv::Reader::from_path(root.join("rejects.csv")).unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            rejected.insert((rec[0].to_string(), rec[1].parse::<u64>().unwrap()));
        }
        let mut rows = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(source.join("lists"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let rel = format!("lists/{}", f.file_name().unwrap().to_string_lossy());
            for r in read_csv(&f, &rel, &rejected) {
                let person = r["subject_type"] == "person";
                let subject = ids::parse(
                    &r["subject_id"],
                    Mode::Lenient,
                    Day::parse("2026-11-28").unwrap(),
                )
                .unwrap()
                .as_str()
                .to_string();
                rows.push(Row {
                    record_id: r["record_id"].clone(),
                    list: r["list_code"].clone(),
                    person,
                    subject,
                    decided: Day::parse(&r["decided_on"]).unwrap(),
                    from: Day::parse(&r["effective_from"]).unwrap(),
                    until: opt_day(&r["effective_until"]),
                    act_ended: opt_day(&r["act_ended_on"]),
                });
            }
        }
        let mut repairs: HashMap<String, Vec<Day>> = HashMap::new();
        for r in read_csv(&source.join("repairs.csv"), "repairs.csv", &rejected) {
            repairs
                .entry(r["record_id"].clone())
                .or_default()
                .push(Day::parse(&r["decided_on"]).unwrap());
        }
        let mut objections: HashMap<String, Vec<_>> = HashMap::new();
        for r in read_csv(&source.join("objections.csv"), "objections.csv", &rejected) {
            objections.entry(r["record_id"].clone()).or_default().push((
                Day::parse(&r["filed_on"]).unwrap(),
                opt_day(&r["closed_on"]),
                (!r["outcome"].is_empty()).then(|| ObjOutcome::parse(&r["outcome"]).unwrap()),
            ));
        }
        let links: Vec<Link> = read_csv(&source.join("links.csv"), "links.csv", &rejected)
            .into_iter()
            .map(|r| Link {
                org: ids::parse(&r["org_id"], Mode::Lenient, Day(0))
                    .unwrap()
                    .as_str()
                    .to_string(),
                person: r["person_id"].clone(),
                role: Role::parse(&r["role"]).unwrap(),
                from: opt_day(&r["from"]),
                until: opt_day(&r["until"]),
            })
            .collect();
        let mut rows_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            rows_of.entry(r.subject.clone()).or_default().push(i);
        }
        let mut links_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, l) in links.iter().enumerate() {
            links_of.entry(l.person.clone()).or_default().push(i);
        }
        Reference {
            catalog: Catalog::builtin(),
            rows,
            repairs,
            objections,
            links,
            history_from,
            rows_of,
            links_of,
        }
    }

    fn class_of(&self, list: &str) -> Class {
        self.catalog.list(list).unwrap().class
    }

    fn domain_of(&self, list: &str) -> &str {
        &self.catalog.list(list).unwrap().domain
    }

    /// Rule 6: erased five years after the act ended, seen from today or from D.
    fn erased(&self, r: &Row, d: Day, today: Day) -> bool {
        r.person
            && r.act_ended.is_some_and(|e| {
                let erase = erase_day(e);
                erase <= today || erase <= d
            })
    }

    /// The first day the record stops taking effect through repair or objection.
    fn stop(&self, r: &Row) -> Option<Day> {
        let mut stops: Vec<Day> = self.repairs.get(&r.record_id).cloned().unwrap_or_default();
        for (_, closed, outcome) in self.objections.get(&r.record_id).into_iter().flatten() {
            if matches!(outcome, Some(ObjOutcome::Corrected | ObjOutcome::Revoked)) {
                stops.push(closed.unwrap());
            }
        }
        stops.into_iter().min()
    }

    /// Rule 1.
    fn active(&self, r: &Row, d: Day, today: Day) -> bool {
        r.from <= d
            && r.until.is_none_or(|u| d <= u)
            && self.stop(r).is_none_or(|s| d < s)
            && !self.erased(r, d, today)
    }

    /// The roles through which any punitive measure carries this list to persons.
    fn linked_roles(&self, list: &str) -> Vec<Role> {
        let l = self.catalog.list(list).unwrap();
        let mut roles = Vec::new();
        for m in &self.catalog.measures {
            if m.kind == Kind::Punish
                && (m.classes.contains(&l.class) || m.lists.iter().any(|c| c == list))
            {
                roles.extend(m.linked_roles.iter().copied());
            }
        }
        roles
    }

    /// (row, via (org, role)) for the subject's active records, own and linked (rule 3).
    fn hits(&self, s: &str, d: Day, today: Day) -> Vec<(&Row, Option<(String, Role)>)> {
        let mut out = Vec::new();
        for r in self.rows_of(s) {
            if self.active(r, d, today) {
                out.push((r, None));
            }
        }
        for l in self
            .links_of
            .get(s)
            .into_iter()
            .flatten()
            .map(|&i| &self.links[i])
        {
            for r in self.rows_of(&l.org) {
                let held =
                    l.from.is_none_or(|f| f <= r.decided) && l.until.is_none_or(|u| r.decided <= u);
                if r.subject == l.org
                    && held
                    && self.linked_roles(&r.list).contains(&l.role)
                    && self.active(r, d, today)
                {
                    out.push((r, Some((l.org.clone(), l.role))));
                }
            }
        }
        out
    }

    fn rows_of(&self, s: &str) -> impl Iterator<Item = &Row> {
        self.rows_of
            .get(s)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// Every date at which something about the subject's records changes, and the days
    /// around it: where an off-by-one in the engine would show.
    fn boundaries(&self, s: &str) -> Vec<Day> {
        let mut rows: Vec<&Row> = self.rows_of(s).collect();
        for l in self
            .links_of
            .get(s)
            .into_iter()
            .flatten()
            .map(|&i| &self.links[i])
        {
            rows.extend(self.rows_of(&l.org));
        }
        let mut days = Vec::new();
        for r in rows {
            days.extend(
                [
                    Some(r.from),
                    r.until,
                    r.act_ended.map(erase_day),
                    self.stop(r),
                ]
                .into_iter()
                .flatten(),
            );
            for (filed, closed, _) in self.objections.get(&r.record_id).into_iter().flatten() {
                days.extend([Some(*filed), *closed].into_iter().flatten());
            }
        }
        days.iter()
            .flat_map(|d| [d.add_days(-1), *d, d.add_days(1)])
            .collect()
    }

    /// Whether the subject had no focus or black record (own or linked) active on any day of
    /// the `years` years up to D.
    fn clean(&self, s: &str, d: Day, today: Day, years: u32) -> bool {
        let since = d.add_years(-(years as i32));
        let mut day = since;
        // Plainly: look at every day of the window.
        while day <= d {
            if self
                .hits(s, day, today)
                .iter()
                .any(|(r, _)| self.class_of(&r.list) != Class::Red && !self.erased(r, d, today))
            {
                return false;
            }
            day = day.add_days(1);
        }
        true
    }

    fn evaluate(&self, s: &str, scenario: Scenario, d: Day, today: Day) -> Summary {
        let hits = self.hits(s, d, today);
        let mut black_domains = BTreeSet::new();
        for (r, via) in &hits {
            if via.is_none() && self.class_of(&r.list) == Class::Black {
                black_domains.insert(self.domain_of(&r.list).to_string());
            }
        }
        let heightened = black_domains.len() >= 2;
        let bad = hits
            .iter()
            .any(|(r, _)| self.class_of(&r.list) != Class::Red);
        let mut measures = BTreeSet::new();
        let (mut deny, mut punish, mut reward) = (false, false, false);
        for m in &self.catalog.measures {
            let Some(effect) = m.effect_in(scenario) else {
                continue;
            };
            let reaches = |list: &str| {
                m.classes.contains(&self.class_of(list)) || m.lists.iter().any(|c| c == list)
            };
            let applies = match m.kind {
                Kind::Punish => hits.iter().any(|(r, via)| {
                    reaches(&r.list)
                        && via
                            .as_ref()
                            .is_none_or(|(_, role)| m.linked_roles.contains(role))
                }),
                Kind::Reward => {
                    !bad && (hits
                        .iter()
                        .any(|(r, via)| via.is_none() && reaches(&r.list))
                        || (m.clean_years > 0
                            && self
                                .history_from
                                .is_some_and(|h| h <= d.add_years(-(m.clean_years as i32)))
                            && self.clean(s, d, today, m.clean_years)))
                }
            };
            if !applies {
                continue;
            }
            let binding = if heightened && m.kind == Kind::Punish {
                Binding::Mandatory
            } else {
                m.binding
            };
            deny |= effect == Effect::Deny && binding == Binding::Mandatory;
            punish |= m.kind == Kind::Punish;
            reward |= m.kind == Kind::Reward;
            measures.insert(format!("{}:{}", m.id, binding));
        }
        let decision = if deny {
            "deny"
        } else if punish {
            "review"
        } else if reward {
            "fast_track"
        } else {
            "clear"
        };
        let records = hits
            .iter()
            .map(|(r, via)| {
                format!(
                    "{}|{}",
                    r.record_id,
                    via.as_ref()
                        .map_or(String::new(), |(o, role)| format!("{o}/{role}"))
                )
            })
            .collect();
        Summary {
            decision: decision.to_string(),
            heightened,
            measures,
            records,
        }
    }
}

#[derive(Debug, PartialEq)]
struct Summary {
    decision: String,
    heightened: bool,
    measures: BTreeSet<String>,
    records: BTreeSet<String>,
}

fn engine_summary(engine: &Engine, s: &str, scenario: Scenario, d: Day, today: Day) -> Summary {
    let id = ids::parse(s, Mode::Lenient, today).unwrap();
    let v = serde_json::to_value(engine.check(
        &id,
        scenario,
        d,
        today,
        Options {
            full_personal_ids: true,
        },
    ))
    .unwrap();
    Summary {
        decision: v["decision"].as_str().unwrap().to_string(),
        heightened: v["heightened"].as_bool().unwrap(),
        measures: v["measures"]
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
            .collect(),
        records: v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let via = &r["via"];
                let via = if via.is_null() {
                    String::new()
                } else {
                    format!(
                        "{}/{}",
                        via["org"].as_str().unwrap(),
                        via["role"].as_str().unwrap()
                    )
                };
                format!("{}|{}", r["record_id"].as_str().unwrap(), via)
            })
            .collect(),
    }
}

/// A tiny deterministic generator for the test's choices.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn engine_agrees_with_the_reference_on_random_questions() {
    let source = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    generate(
        source.path(),
        &SynthOptions {
            records: 3000,
            seed: 11,
        },
    )
    .unwrap();
    let build_day = Day::parse("2026-11-28").unwrap();
    let report = common::build_source(source.path(), root.path(), build_day, None).unwrap();
    assert!(report.reject_count > 0, "synthetic data carries bad rows");
    let engine = Engine::open(root.path()).unwrap();
    engine.verify().unwrap();
    let reference = Reference::load(source.path(), root.path(), report.manifest.history_from);

    // Subjects to ask about: every linked person, orgs with links, and a sample of the rest.
    let mut persons: Vec<String> = reference.links.iter().map(|l| l.person.clone()).collect();
    persons.sort();
    persons.dedup();
    let mut subjects: Vec<String> = reference.links.iter().map(|l| l.org.clone()).collect();
    subjects.extend(reference.rows.iter().map(|r| r.subject.clone()));
    subjects.sort();
    subjects.dedup();
    subjects.push("91410184MA2MAYK72W".into()); // not in the data (valid code made up here)

    let mut rng = Lcg(20261128);
    let lo = Day::parse("2014-01-01").unwrap().0;
    let hi = Day::parse("2028-06-30").unwrap().0;
    let mut disagreements = Vec::new();
    let mut decisions = HashMap::new();
    for i in 0..4000 {
        // Half the questions are about linked persons, where rule 3 lives.
        let pool = if i % 2 == 0 { &persons } else { &subjects };
        let s = &pool[rng.below(pool.len() as u64) as usize];
        if ids::parse(s, Mode::Lenient, build_day).is_err() {
            continue;
        }
        let scenario = Scenario::ALL[rng.below(Scenario::ALL.len() as u64) as usize];
        // Half the dates sit on or next to a boundary of the subject's records.
        let edges = reference.boundaries(s);
        let d = if !edges.is_empty() && rng.below(2) == 0 {
            edges[rng.below(edges.len() as u64) as usize]
        } else {
            Day(lo + rng.below((hi - lo) as u64) as i32)
        };
        let today = Day(build_day.0 + rng.below(600) as i32);
        let want = reference.evaluate(s, scenario, d, today);
        let got = engine_summary(&engine, s, scenario, d, today);
        *decisions.entry(want.decision.clone()).or_insert(0) += 1;
        if want != got {
            disagreements.push(format!("{s} {scenario} as_of {d} today {today}:\n  reference {want:?}\n  engine    {got:?}"));
        }
    }
    // Rule 5's three clean years around records that ended early (repair, removal,
    // revocation, corrected/revoked objection): the window must end at the stop day.
    let ended: Vec<&Row> = reference
        .rows
        .iter()
        .filter(|r| reference.stop(r).is_some())
        .collect();
    for r in ended {
        let stop = reference.stop(r).unwrap();
        for k in [-1, 0, 1, 400, 1094, 1095, 1096, 1097] {
            let d = stop.add_days(k);
            let today = if d > build_day { d } else { build_day };
            for scenario in [Scenario::Licensing, Scenario::Procurement] {
                let want = reference.evaluate(&r.subject, scenario, d, today);
                let got = engine_summary(&engine, &r.subject, scenario, d, today);
                if want != got {
                    disagreements.push(format!("{} {scenario} as_of {d} today {today} (ended record {}):\n  reference {want:?}\n  engine    {got:?}", r.subject, r.record_id));
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(5)].join("\n")
    );
    // The questions must exercise every outcome, or the comparison proves little.
    for outcome in ["deny", "review", "fast_track", "clear"] {
        assert!(
            decisions.get(outcome).copied().unwrap_or(0) >= 10,
            "too few {outcome}: {decisions:?}"
        );
    }
}
