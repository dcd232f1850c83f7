//! A subject's profile (`GET /v1/subjects/{id}`): every record it has with its history, its
//! links, and the decision in every scenario.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use credgate_index::date::Day;
use credgate_index::format::layout::{high_opt, low_opt, RecordRow, EVENT_OBJECTION, NONE_HIGH};
use credgate_index::ids::{Id, IdType};
use credgate_index::model::{
    Class, Outcome as ObjOutcome, RepairAction, Role, Scenario, SubjectType,
};

use super::decision::{ActiveRecord, Outcome};
use super::rules::{active_on, present};
use super::{display_id, Engine, Options};

#[derive(Serialize)]
pub struct Profile<'a> {
    pub id: String,
    pub id_type: &'static str,
    pub name: Option<Cow<'a, str>>,
    pub nonconforming: bool,
    pub as_of: Day,
    /// Whether the subject is in the snapshot at all (a record or a link).
    pub known: bool,
    pub decisions: BTreeMap<&'static str, Outcome>,
    pub heightened: bool,
    pub records: Vec<ProfileRecord<'a>>,
    /// A person's share of organisations' records (rule 3): the records active on as_of
    /// that reach the person through a role held on the record's decided_on, each with the
    /// organisation and role it came through, as a check lists them. They explain the
    /// decisions that deny a person with no record of their own. Empty for organisations.
    pub linked_records: Vec<ActiveRecord<'a>>,
    pub links: Vec<ProfileLink<'a>>,
    pub snapshot: &'a str,
}

#[derive(Serialize)]
pub struct ProfileRecord<'a> {
    pub record_id: Cow<'a, str>,
    pub list_code: &'a str,
    pub list_name: &'a str,
    pub class: Class,
    pub domain: &'a str,
    pub authority: Cow<'a, str>,
    pub doc_no: Cow<'a, str>,
    pub reason: Cow<'a, str>,
    pub decided_on: Day,
    pub effective_from: Day,
    pub effective_until: Option<Day>,
    pub act_ended_on: Option<Day>,
    /// Personal records: the day the record will be erased (rule 6).
    pub erase_on: Option<Day>,
    /// On as_of: `active`, `pending` (not yet effective), `expired` or `ended` (by repair,
    /// removal, revocation or an objection). A record that is not active says what stopped
    /// it first: one revoked before its effective_from is `ended` (it never takes effect),
    /// one removed after its effective_until is `expired`.
    pub status: &'static str,
    pub history: Vec<Event<'a>>,
}

#[derive(Serialize)]
pub struct Event<'a> {
    pub event: &'static str,
    pub date: Day,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<Day>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub authority: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub doc_no: Cow<'a, str>,
}

#[derive(Serialize)]
pub struct ProfileLink<'a> {
    /// The other side: an organisation for a person, a person (masked) for an organisation.
    pub id: String,
    pub name: Cow<'a, str>,
    pub role: Role,
    pub from: Option<Day>,
    pub until: Option<Day>,
}

fn status(r: &RecordRow, d: Day) -> &'static str {
    if active_on(r, d) {
        "active"
    } else if d.0 >= r.stop_on && r.stop_on <= r.effective_until {
        // Stopped by an event on or before the last day it would have had: also before it
        // began, when it never takes effect.
        "ended"
    } else if d.0 < r.effective_from {
        "pending"
    } else {
        "expired"
    }
}

impl Engine {
    pub fn profile(&self, id: &Id, as_of: Day, today: Day, opts: Options) -> Profile<'_> {
        let snap = self.snapshot();
        // A person whose records are all erased is not known (rule 6, `Engine::visible`).
        let subject = snap
            .lookup(id.as_bytes())
            .and_then(|o| snap.subject(o))
            .filter(|s| self.visible(s, as_of, today));
        let mut records = Vec::new();
        let mut linked_records = Vec::new();
        let mut links = Vec::new();
        if let Some(s) = &subject {
            let mut hits = Vec::new();
            self.active_hits(s, as_of, today, &mut hits);
            linked_records.extend(
                hits.iter()
                    .filter(|h| h.via.is_some())
                    .map(|h| self.active_record(h, as_of, opts)),
            );
            for (_, r) in snap.records_of(s).filter(|(_, r)| present(r, as_of, today)) {
                let l = self.list(r.list);
                let history = snap
                    .events_of(&r)
                    .map(|e| {
                        let (event, outcome) = if e.kind == EVENT_OBJECTION {
                            (
                                "objection",
                                Some(
                                    ObjOutcome::from_code(e.outcome).map_or("open", |o| o.as_str()),
                                ),
                            )
                        } else {
                            (
                                RepairAction::from_code(e.kind).map_or("repair", |a| a.as_str()),
                                None,
                            )
                        };
                        Event {
                            event,
                            date: Day(e.date),
                            closed_on: high_opt(e.closed_on),
                            outcome,
                            authority: self.text(e.authority, opts),
                            doc_no: self.text(e.doc_no, opts),
                        }
                    })
                    .collect();
                records.push(ProfileRecord {
                    record_id: self.text(r.record_id, opts),
                    list_code: &l.code,
                    list_name: &l.name,
                    class: l.class,
                    domain: &l.domain,
                    authority: self.text(r.authority, opts),
                    doc_no: self.text(r.doc_no, opts),
                    reason: self.text(r.reason, opts),
                    decided_on: Day(r.decided_on),
                    effective_from: Day(r.effective_from),
                    effective_until: (r.effective_until != NONE_HIGH)
                        .then_some(Day(r.effective_until)),
                    act_ended_on: low_opt(r.act_ended_on),
                    erase_on: high_opt(r.erase_on),
                    status: status(&r, as_of),
                    history,
                });
            }
            let person = s.subject_type == SubjectType::Person.code();
            for l in snap.links_of(s) {
                let Some(other) = snap.subject(l.other) else {
                    continue;
                };
                let Some(role) = Role::from_code(l.role) else {
                    continue;
                };
                links.push(ProfileLink {
                    // The other side of a person's link is an org, and vice versa.
                    id: display_id(&other.id, !person, opts.full_personal_ids),
                    name: self.text(other.name, opts),
                    role,
                    from: low_opt(l.from),
                    until: high_opt(l.until),
                });
            }
        }
        let mut decisions = BTreeMap::new();
        let mut heightened = false;
        for &scenario in Scenario::ALL {
            let d = self.check(id, scenario, as_of, today, opts);
            heightened |= d.heightened;
            decisions.insert(scenario.as_str(), d.decision);
        }
        Profile {
            id: display_id(
                id.as_bytes(),
                id.id_type() == IdType::Ric,
                opts.full_personal_ids,
            ),
            id_type: id.id_type().as_str(),
            name: subject
                .as_ref()
                .map(|s| self.text(s.name, opts))
                .filter(|n| !n.is_empty()),
            nonconforming: id.is_nonconforming(),
            as_of,
            known: subject.is_some(),
            decisions,
            heightened,
            records,
            linked_records,
            links,
            snapshot: snap.id(),
        }
    }
}
