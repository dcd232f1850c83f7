//! The lean screening path: what one row of a batch needs — the decision, heightening, the
//! lists and the applied measures — computed without building a [`Decision`](super::Decision).
//!
//! A batch asks the same scenario and date of every row, so a [`ScreenPlan`] prepares once
//! what does not depend on the subject: the scenario's compiled measures, which reward
//! measures can apply through a clean history at all, and the whole answer for an
//! identifier that is in no list (most rows of a real supplier list), so that a miss costs
//! one lookup. For a hit, the rules of SPEC §5 run over the subject's active records as in
//! [`Engine::check`], but lists and measures come out as small indices into the snapshot's
//! lists and the scenario's measures, kept in a [`Verdict`] that the caller reuses row after
//! row: once its vectors have grown, screening a row allocates nothing. Strings are borrowed
//! from the catalogue when the row is written.
//!
//! `tests/screen_lean.rs` checks that this path and `check` agree on every subject of the
//! sample and of a synthetic snapshot, for every scenario and several dates.

use credgate_index::date::Day;
use credgate_index::format::layout::SubjectRow;
use credgate_index::ids::{Id, IdError, Mode};
use credgate_index::model::{Binding, Class, Effect, Kind, Scenario};

use super::rules::Hit;
use super::{Compiled, Engine, Outcome};

/// Everything a batch's rows share, prepared once per batch.
pub struct ScreenPlan<'e> {
    engine: &'e Engine,
    scenario: Scenario,
    as_of: Day,
    today: Day,
    mode: Mode,
    /// Per measure of the scenario: the clean years of its green channel when that route
    /// is open on `as_of` (a reward with `clean_years` and history reaching back far
    /// enough), else 0.
    clean_years: Vec<u32>,
    /// The answer for a subject in no list.
    miss_decision: Outcome,
    miss_measures: Vec<u16>,
    list_codes: Vec<&'e str>,
    measure_ids: Vec<&'e str>,
}

/// The answer for one row; reuse one per thread, its vectors keep their capacity.
#[derive(Default)]
pub struct Verdict {
    pub decision: Option<Outcome>,
    pub heightened: bool,
    /// Snapshot list indices of the lists with an active record (own or linked), in record
    /// order, once each: names via [`ScreenPlan::list_code`].
    pub lists: Vec<u16>,
    /// Indices of the applied measures among the scenario's, in catalogue order: names via
    /// [`ScreenPlan::measure_id`].
    pub measures: Vec<u16>,
    hits: Vec<Hit>,
}

impl Verdict {
    fn clear(&mut self) {
        self.decision = None;
        self.heightened = false;
        self.lists.clear();
        self.measures.clear();
        self.hits.clear();
    }
}

impl<'e> ScreenPlan<'e> {
    pub fn new(
        engine: &'e Engine,
        scenario: Scenario,
        as_of: Day,
        today: Day,
        mode: Mode,
    ) -> ScreenPlan<'e> {
        let compiled = &engine.by_scenario[scenario.code() as usize];
        let clean_years = compiled
            .iter()
            .map(|c| {
                let years = c.measure.clean_years;
                let open = c.measure.kind == Kind::Reward
                    && years > 0
                    && engine.history_covers(as_of, years);
                if open {
                    years
                } else {
                    0
                }
            })
            .collect();
        let mut plan = ScreenPlan {
            engine,
            scenario,
            as_of,
            today,
            mode,
            clean_years,
            miss_decision: Outcome::Clear,
            miss_measures: Vec::new(),
            list_codes: engine.lists.iter().map(|l| l.code.as_str()).collect(),
            measure_ids: compiled.iter().map(|c| c.measure.id.as_str()).collect(),
        };
        let mut miss = Verdict::default();
        plan.apply_measures(None, &mut miss);
        plan.miss_decision = miss.decision.unwrap_or(Outcome::Clear);
        plan.miss_measures = miss.measures;
        plan
    }

    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    pub fn as_of(&self) -> Day {
        self.as_of
    }

    /// The codes of the snapshot's lists, by [`Verdict::lists`] index.
    pub fn list_codes(&self) -> &[&'e str] {
        &self.list_codes
    }

    /// The ids of the scenario's measures, by [`Verdict::measures`] index.
    pub fn measure_ids(&self) -> &[&'e str] {
        &self.measure_ids
    }

    /// The code of a snapshot list named in [`Verdict::lists`].
    pub fn list_code(&self, index: u16) -> &'e str {
        self.list_codes[index as usize]
    }

    /// The id of a measure named in [`Verdict::measures`].
    pub fn measure_id(&self, index: u16) -> &'e str {
        self.measure_ids[index as usize]
    }

    /// Parses `input` (type detected, the plan's mode) and screens it into `v`. An invalid
    /// identifier is returned as the error and leaves `v` undecided.
    pub fn screen(&self, input: &str, v: &mut Verdict) -> Result<Id, IdError> {
        match self.engine.parse_id(input, self.mode, self.today) {
            Ok(id) => {
                self.verdict(&id, v);
                Ok(id)
            }
            Err(e) => {
                v.clear();
                Err(e)
            }
        }
    }

    /// Screens a valid identifier: the same decision, heightening, lists and measures as
    /// [`Engine::check`] for the plan's scenario, as_of and today.
    pub fn verdict(&self, id: &Id, v: &mut Verdict) {
        v.clear();
        let snap = self.engine.snapshot();
        let Some(subject) = snap.lookup(id.as_bytes()).and_then(|o| snap.subject(o)) else {
            v.decision = Some(self.miss_decision);
            v.measures.extend_from_slice(&self.miss_measures);
            return;
        };
        self.engine
            .active_hits(&subject, self.as_of, self.today, &mut v.hits);
        for h in &v.hits {
            if !v.lists.contains(&h.record.list) {
                v.lists.push(h.record.list);
            }
        }
        // Rule 4: the subject's own active black records span two or more domains.
        let mut first_domain: Option<&str> = None;
        for h in v.hits.iter().filter(|h| h.via.is_none()) {
            let l = self.engine.list(h.record.list);
            if l.class != Class::Black {
                continue;
            }
            match first_domain {
                None => first_domain = Some(&l.domain),
                Some(d) if d != l.domain => {
                    v.heightened = true;
                    break;
                }
                Some(_) => {}
            }
        }
        self.apply_measures(Some(&subject), v);
    }

    /// Rules 2, 3, 5 and 7 over `v.hits` (and `v.heightened`): fills `v.measures` and
    /// `v.decision`.
    fn apply_measures(&self, subject: Option<&SubjectRow>, v: &mut Verdict) {
        let engine = self.engine;
        let has_bad = v
            .hits
            .iter()
            .any(|h| engine.list(h.record.list).class != Class::Red);
        let (mut deny, mut punish, mut reward) = (false, false, false);
        let compiled: &[Compiled] = &engine.by_scenario[self.scenario.code() as usize];
        for (k, c) in compiled.iter().enumerate() {
            let m = &c.measure;
            let applied = match m.kind {
                Kind::Punish => v.hits.iter().any(|h| {
                    c.reaches[h.record.list as usize]
                        && h.via
                            .is_none_or(|(_, _, role)| c.roles & (1 << role.code()) != 0)
                }),
                Kind::Reward if !has_bad => {
                    v.hits
                        .iter()
                        .any(|h| h.via.is_none() && c.reaches[h.record.list as usize])
                        || (self.clean_years[k] > 0
                            && engine.clean_for(
                                subject,
                                self.as_of,
                                self.today,
                                self.clean_years[k],
                            ))
                }
                Kind::Reward => false,
            };
            if !applied {
                continue;
            }
            v.measures.push(k as u16);
            let binding = if v.heightened && m.kind == Kind::Punish {
                Binding::Mandatory
            } else {
                m.binding
            };
            deny |= c.effect == Effect::Deny && binding == Binding::Mandatory;
            punish |= m.kind == Kind::Punish;
            reward |= m.kind == Kind::Reward;
        }
        // Rule 7.
        v.decision = Some(if deny {
            Outcome::Deny
        } else if punish {
            Outcome::Review
        } else if reward {
            Outcome::FastTrack
        } else {
            Outcome::Clear
        });
    }
}
