//! Role holders of listed organisations (`links.csv`).
//!
//! Every organisation gets its links when it first appears in a record: a legal
//! representative always, often a principal, sometimes directors, shareholders, an actual
//! controller and directly responsible persons. Start dates fall before or after the first
//! record's decision date, some roles have ended, and some representatives changed after the
//! decision, so the rule "role held on the record's decided_on" (SPEC §5.3) has cases on
//! both sides.

use super::names::OrgKind;
use super::records::Generator;
use super::report::SynthError;
use super::subjects::{self, link_person_key, listed_person_key, operator_key, Org, Person};
use crate::date::Day;

impl Generator {
    pub(super) fn write_links(
        &mut self,
        org: &Org,
        key: u64,
        decided: Day,
    ) -> Result<(), SynthError> {
        // Legal representative. An individual business is represented by its operator, whose
        // surname may be in the business's name; other organisations sometimes changed
        // representative after the decision, and then the earlier one is the one who counts.
        if org.kind == OrgKind::Individual {
            let operator = subjects::person(self.seed, operator_key(key));
            let from = decided.add_days(-(self.rng.range(30, 3_650) as i32));
            self.link(org, &operator, "legal_rep", from, None)?;
        } else if self.rng.chance(2_000) {
            let earlier = self.link_person();
            let changed = decided.add_days(self.rng.range(1, 400) as i32);
            let since = decided.add_days(-(self.rng.range(200, 3_650) as i32));
            self.link(
                org,
                &earlier,
                "legal_rep",
                since,
                Some(changed.add_days(-1)),
            )?;
            let current = self.link_person();
            self.link(org, &current, "legal_rep", changed, None)?;
        } else {
            let rep = self.link_person();
            let from = decided.add_days(-(self.rng.range(30, 3_650) as i32));
            self.link(org, &rep, "legal_rep", from, None)?;
            // In small companies the representative is often also the principal.
            if self.rng.chance(3_000) {
                self.link(org, &rep, "principal", from, None)?;
            }
        }
        if self.rng.chance(3_000) {
            self.other_role(org, "principal", decided)?;
        }
        if self.rng.chance(3_000) {
            for _ in 0..self.rng.range(1, 2) {
                self.other_role(org, "responsible", decided)?;
            }
        }
        let corporate = matches!(org.kind, OrgKind::Enterprise | OrgKind::Cooperative);
        if corporate && self.rng.chance(2_000) {
            for _ in 0..self.rng.range(1, 3) {
                self.other_role(org, "director", decided)?;
            }
        }
        if corporate && self.rng.chance(3_000) {
            for _ in 0..self.rng.range(1, 2) {
                self.other_role(org, "shareholder", decided)?;
            }
        }
        if org.kind == OrgKind::Enterprise && self.rng.chance(1_500) {
            self.other_role(org, "controller", decided)?;
        }
        Ok(())
    }

    /// A role held by a fresh or recurring person: mostly since before the decision, some
    /// only from after it, and some already ended.
    fn other_role(&mut self, org: &Org, role: &str, decided: Day) -> Result<(), SynthError> {
        let person = self.link_person();
        let from = if self.rng.chance(8_500) {
            decided.add_days(-(self.rng.range(0, 2_000) as i32))
        } else {
            decided.add_days(self.rng.range(1, 400) as i32)
        };
        let until = self
            .rng
            .chance(1_200)
            .then(|| from.add_days(self.rng.range(90, 2_500) as i32));
        self.link(org, &person, role, from, until)
    }

    /// A person to name in a link: usually someone new, sometimes a listed person (a
    /// defaulter who also runs a company) or someone already holding a role elsewhere.
    fn link_person(&mut self) -> Person {
        let key = if self.persons_drawn > 0 && self.rng.chance(1_500) {
            listed_person_key(self.rng.below(self.persons_drawn))
        } else if self.link_persons > 0 && self.rng.chance(1_000) {
            link_person_key(self.rng.below(self.link_persons))
        } else {
            self.link_persons += 1;
            link_person_key(self.link_persons - 1)
        };
        subjects::person(self.seed, key)
    }

    fn link(
        &mut self,
        org: &Org,
        person: &Person,
        role: &str,
        from: Day,
        until: Option<Day>,
    ) -> Result<(), SynthError> {
        self.report.nonconforming_link_rows += org.nonconforming as u64;
        let s = &mut self.links;
        s.field(&org.id);
        s.field(&person.id);
        s.field(person.name.as_bytes());
        s.field(role.as_bytes());
        s.day(Some(from));
        s.end_day(until)
    }
}
