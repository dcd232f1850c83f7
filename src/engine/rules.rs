//! The rules of SPEC §5, one function each, and the check that combines them.

use credgate_index::date::Day;
use credgate_index::format::layout::{RecordRow, SubjectRow, EVENT_OBJECTION, NONE_HIGH};
use credgate_index::ids::{Id, IdType};
use credgate_index::model::{Binding, Class, Kind, Role, Scenario, SubjectType};

use super::decision::{ActiveRecord, AppliedMeasure, Basis, Because, Decision, Outcome, Via};
use super::{DisplayId, Engine, Options};

/// Rule 6: a record exists until its erase day, judged both by today (a served snapshot
/// stops showing it on that day) and by as_of (an as-of date past the erase day sees it gone).
/// Erased records never appear, whatever as_of.
#[inline]
pub fn present(r: &RecordRow, as_of: Day, today: Day) -> bool {
    today.0 < r.erase_on && as_of.0 < r.erase_on
}

/// Rule 1: inside its effective window (both ends inclusive) and not ended by a repair,
/// removal, revocation or a corrected/revoked objection on or before `d` (`stop_on`).
#[inline]
pub fn active_on(r: &RecordRow, d: Day) -> bool {
    r.effective_from <= d.0 && d.0 <= r.effective_until && d.0 < r.stop_on
}

/// Whether the record was active on any day of `[from, to]` (rule 5's clean years).
#[inline]
pub fn active_during(r: &RecordRow, from: Day, to: Day) -> bool {
    let last = r.effective_until.min(r.stop_on.saturating_sub(1)).min(to.0);
    r.effective_from.max(from.0) <= last
}

/// Rule 3: a person's role reaches an org record when it was held on the record's
/// decided_on (from and until inclusive, either open).
#[inline]
pub fn role_held_on(from: i32, until: i32, d: i32) -> bool {
    from <= d && d <= until
}

/// One of the subject's active records, direct or through a link.
#[derive(Clone, Copy)]
pub(crate) struct Hit {
    pub record: RecordRow,
    pub via: Option<(u32, SubjectRow, Role)>,
}

impl Engine {
    /// The subject's active records on `as_of`: its own, and for a person the records of
    /// organisations reaching it through a role (rule 3).
    pub(crate) fn active_hits(
        &self,
        subject: &SubjectRow,
        as_of: Day,
        today: Day,
        out: &mut Vec<Hit>,
    ) {
        let snap = self.snapshot();
        for (_, r) in snap.records_of(subject) {
            if present(&r, as_of, today) && active_on(&r, as_of) {
                out.push(Hit {
                    record: r,
                    via: None,
                });
            }
        }
        if subject.subject_type == SubjectType::Person.code() {
            for link in snap.links_of(subject) {
                let Some(role) = Role::from_code(link.role) else {
                    continue;
                };
                let Some(org) = snap.subject(link.other) else {
                    continue;
                };
                if org.class_mask & self.classes_reaching[role.code() as usize] == 0 {
                    continue;
                }
                for (_, r) in snap.records_of(&org) {
                    if self.list(r.list).linked_roles & (1 << role.code()) != 0
                        && role_held_on(link.from, link.until, r.decided_on)
                        && present(&r, as_of, today)
                        // Two link rows for the same role (overlapping terms) reach a record once.
                        && !out.iter().any(|h| {
                            h.record.record_id == r.record_id
                                && h.via.is_some_and(|(o, _, ro)| o == link.other && ro == role)
                        })
                        && active_on(&r, as_of)
                    {
                        out.push(Hit {
                            record: r,
                            via: Some((link.other, org, role)),
                        });
                    }
                }
            }
        }
    }

    /// Rule 6 for the subject itself: a person every one of whose records is erased, and who
    /// holds no role in an organisation, is not known at all: no name in a check, `known:
    /// false` in a profile, not found by name. Organisations' records are never erased.
    pub(crate) fn visible(&self, subject: &SubjectRow, as_of: Day, today: Day) -> bool {
        subject.subject_type != SubjectType::Person.code()
            || subject.link_count > 0
            || self
                .snapshot()
                .records_of(subject)
                .any(|(_, r)| present(&r, as_of, today))
    }

    /// Rule 5's "连续三年无不良信用记录": no focus or black record, own or linked, active on
    /// any day of the `years` years up to `as_of`.
    pub(crate) fn clean_for(
        &self,
        subject: Option<&SubjectRow>,
        as_of: Day,
        today: Day,
        years: u32,
    ) -> bool {
        let Some(subject) = subject else { return true };
        let since = as_of.add_years(-(years as i32));
        let snap = self.snapshot();
        let bad = |r: &RecordRow| {
            self.list(r.list).class != Class::Red
                && present(r, as_of, today)
                && active_during(r, since, as_of)
        };
        if snap.records_of(subject).any(|(_, r)| bad(&r)) {
            return false;
        }
        if subject.subject_type == SubjectType::Person.code() {
            for link in snap.links_of(subject) {
                let Some(org) = snap.subject(link.other) else {
                    continue;
                };
                let reaches = |r: &RecordRow| {
                    self.list(r.list).linked_roles & (1 << link.role) != 0
                        && role_held_on(link.from, link.until, r.decided_on)
                };
                if snap.records_of(&org).any(|(_, r)| reaches(&r) && bad(&r)) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether the snapshot's history reaches `years` years before `as_of`.
    pub(crate) fn history_covers(&self, as_of: Day, years: u32) -> bool {
        self.snapshot()
            .manifest()
            .history_from
            .is_some_and(|h| h <= as_of.add_years(-(years as i32)))
    }

    /// SPEC §5 for one subject, scenario and date. `today` is the real date (CST) that decides
    /// erasure; tests inject it.
    pub fn check(
        &self,
        id: &Id,
        scenario: Scenario,
        as_of: Day,
        today: Day,
        opts: Options,
    ) -> Decision<'_> {
        let snap = self.snapshot();
        let subject = snap.lookup(id.as_bytes()).and_then(|o| snap.subject(o));
        let mut hits = Vec::new();
        if let Some(s) = &subject {
            self.active_hits(s, as_of, today, &mut hits);
        }

        // Rule 4: active black records (the subject's own) in two or more domains.
        let mut black_domains: Vec<&str> = Vec::new();
        for h in hits.iter().filter(|h| h.via.is_none()) {
            let l = self.list(h.record.list);
            if l.class == Class::Black && !black_domains.contains(&l.domain.as_str()) {
                black_domains.push(&l.domain);
            }
        }
        let heightened = black_domains.len() >= 2;
        // Rule 5: rewards only without an active focus or black record, own or linked.
        let has_bad = hits
            .iter()
            .any(|h| self.list(h.record.list).class != Class::Red);

        let mut measures = Vec::new();
        for c in &self.by_scenario[scenario.code() as usize] {
            let m = &c.measure;
            let mut because = Vec::new();
            match m.kind {
                Kind::Punish => {
                    for h in &hits {
                        let reached = c.reaches[h.record.list as usize]
                            && h.via
                                .is_none_or(|(_, _, role)| c.roles & (1 << role.code()) != 0);
                        if reached {
                            because.push(self.because(h, opts));
                        }
                    }
                }
                Kind::Reward if !has_bad => {
                    for h in hits
                        .iter()
                        .filter(|h| h.via.is_none() && c.reaches[h.record.list as usize])
                    {
                        because.push(self.because(h, opts));
                    }
                    let years = m.clean_years;
                    if because.is_empty()
                        && years > 0
                        && self.history_covers(as_of, years)
                        && self.clean_for(subject.as_ref(), as_of, today, years)
                    {
                        because.push(Because::CleanHistory {
                            clean_years: years,
                            since: as_of.add_years(-(years as i32)),
                        });
                    }
                }
                Kind::Reward => {}
            }
            if because.is_empty() {
                continue;
            }
            let binding = if heightened && m.kind == Kind::Punish {
                Binding::Mandatory
            } else {
                m.binding
            };
            measures.push(AppliedMeasure {
                id: &m.id,
                name: &m.name,
                kind: m.kind,
                binding,
                effect: c.effect,
                basis: Basis {
                    seed: &m.basis.seed,
                    national: &m.basis.national,
                },
                because,
            });
        }

        // Rule 7.
        let decision = if measures.iter().any(|m| {
            m.effect == credgate_index::model::Effect::Deny && m.binding == Binding::Mandatory
        }) {
            Outcome::Deny
        } else if measures.iter().any(|m| m.kind == Kind::Punish) {
            Outcome::Review
        } else if measures.iter().any(|m| m.kind == Kind::Reward) {
            Outcome::FastTrack
        } else {
            Outcome::Clear
        };

        let records = hits
            .iter()
            .map(|h| self.active_record(h, as_of, opts))
            .collect();
        let person = id.id_type() == IdType::Ric;
        Decision {
            id: DisplayId::new(id.as_bytes(), person, opts.full_personal_ids),
            id_type: id.id_type().as_str(),
            scenario,
            as_of,
            decision,
            heightened,
            nonconforming: id.is_nonconforming(),
            name: subject
                .as_ref()
                .filter(|s| self.visible(s, as_of, today))
                .map(|s| self.text(s.name, opts))
                .filter(|n| !n.is_empty()),
            measures,
            records,
            snapshot: snap.id(),
        }
    }

    fn via(&self, via: Option<(u32, SubjectRow, Role)>, opts: Options) -> Option<Via<'_>> {
        let snap = self.snapshot();
        via.map(|(ord, org, role)| Via {
            org: snap.subject_id(ord),
            org_name: self.text(org.name, opts),
            role,
        })
    }

    fn because(&self, h: &Hit, opts: Options) -> Because<'_> {
        Because::Record {
            record_id: self.text(h.record.record_id, opts),
            via: self.via(h.via, opts),
        }
    }

    pub(crate) fn active_record(&self, h: &Hit, as_of: Day, opts: Options) -> ActiveRecord<'_> {
        let snap = self.snapshot();
        let r = &h.record;
        let l = self.list(r.list);
        let under_objection = r.event_count > 0
            && snap
                .events_of(r)
                .any(|e| e.kind == EVENT_OBJECTION && e.date <= as_of.0 && as_of.0 < e.closed_on);
        ActiveRecord {
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
            effective_until: (r.effective_until != NONE_HIGH).then_some(Day(r.effective_until)),
            under_objection,
            via: self.via(h.via, opts),
        }
    }
}
