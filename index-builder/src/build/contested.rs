//! Identifiers that rows name with both subject types: their type decided by accepted rows
//! only.
//!
//! A code can be a valid resident ID number and, read leniently, a USCC as well (about one
//! person's number in eleven), so rows can disagree on whether it is an organisation or a
//! person. The first row that names it and is accepted decides; a later row that says the
//! other type is rejected. A row rejected for anything else decides nothing, and neither
//! does a record retention has already erased (rule 6: it never appears). The order of the
//! judgements is:
//!
//! 1. each row on its own (the reader; a rejected row never reaches the build's passes);
//! 2. the copies of a record id (pass 3): when they differ, every copy is rejected, whatever
//!    type each says;
//! 3. retention: a person's record already erased is dropped;
//! 4. the types, in arrival order, among the rows left: list rows (read first, so every list
//!    row comes before every link) and links. A link is accepted only when both its ends
//!    agree with the types known so far, so a link rejected for one end does not decide the
//!    other's type either.
//!
//! Pass 1 cannot know steps 2 and 3, which pass 3 finds, and pass 3 could not run before
//! pass 1 without another pass over the rows. But only contested identifiers, those whose
//! rows say both types, can have a row rejected for its type: pass 1 keeps their mentions
//! here ([`Contested`]) and the arrival numbers of the rows that name them; passes 3 and 4
//! set those rows aside (everything else goes on as before), and [`settle_types`] decides
//! once pass 3 has said which of them are rejected copies or erased. The rows set aside are
//! then finished by the passes' own code with the conflicts known ([`Settled::conflicts`]),
//! and `support::settle` takes the contested subjects' types from [`Settled::subjects`].
//! With no contested identifier, the usual case, this costs a copy of each mention into a
//! buffer reused from one identifier to the next in pass 1, and one test of an empty bitmap
//! per record id in pass 3 and per link in pass 4.

use roaring::RoaringTreemap;

use super::checks::Conflicts;
use super::items::{Mention, Subject};
use crate::model::SubjectType;

/// The identifiers pass 1 found named with both types, and every mention of them.
#[derive(Default, Debug)]
pub(crate) struct Contested {
    /// The arrival numbers of the rows that name a contested identifier.
    rows: RoaringTreemap,
    /// Each contested identifier with its pass-1 ordinal, in identifier order.
    ids: Vec<([u8; 18], u32)>,
    /// Their mentions: `ids[i]`'s are `mentions[ends[i - 1]..ends[i]]`, in arrival order.
    mentions: Vec<Mention>,
    ends: Vec<usize>,
}

impl Contested {
    /// Records the identifier pass 1 numbered `ord`, named by `mentions` (in arrival
    /// order), which disagree on its type.
    pub(crate) fn add(&mut self, ord: u32, mentions: &[Mention]) {
        let Some(first) = mentions.first() else {
            return;
        };
        self.ids.push((first.id, ord));
        for m in mentions {
            self.rows.insert(m.seq);
        }
        self.mentions.extend_from_slice(mentions);
        self.ends.push(self.mentions.len());
    }

    /// Whether the row that arrived `seq`-th names a contested identifier: its fate waits
    /// for [`settle_types`].
    #[inline]
    pub(crate) fn names(&self, seq: u64) -> bool {
        !self.rows.is_empty() && self.rows.contains(seq)
    }

    fn mentions_of(&self, i: usize) -> &[Mention] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.mentions[start..self.ends[i]]
    }
}

/// What [`settle_types`] decided.
#[derive(Default, Debug)]
pub(crate) struct Settled {
    /// The rows rejected because an identifier in them already has the other type: list
    /// rows and links, by arrival number.
    pub(crate) conflicts: Conflicts,
    /// Each contested subject by its pass-1 ordinal, in order: as accepted rows make it
    /// (type, flag, and the number of accepted rows naming it as `support`), or `None` when
    /// no accepted row names it, and it is no subject.
    pub(crate) subjects: Vec<(u32, Option<Subject>)>,
}

/// Decides the contested identifiers' types. `no_say` holds the arrival numbers of their
/// list rows that decide nothing: copies of a record whose copies differ, and records
/// retention has erased (pass 3).
pub(crate) fn settle_types(contested: &Contested, no_say: &RoaringTreemap) -> Settled {
    let n = contested.ids.len();
    let mut settled = Settled::default();
    if n == 0 {
        return settled;
    }
    // List rows come before links: an identifier with a list row that says something has
    // the type of the first such row, before any link is looked at.
    let mut types: Vec<Option<u8>> = (0..n)
        .map(|i| {
            contested
                .mentions_of(i)
                .iter()
                .find(|m| m.slot == 0 && !no_say.contains(m.seq))
                .map(|m| m.subject_type)
        })
        .collect();
    let mut accepted = vec![0u32; n];

    // Then the links naming a contested identifier, in arrival order: a link stands when
    // each of its contested ends agrees with the types known when it arrives (its other
    // ends name a subject of one type only, which it agrees with).
    let mut links: Vec<(u64, u8, usize, u8)> = Vec::new();
    for i in 0..n {
        for m in contested.mentions_of(i).iter().filter(|m| m.slot != 0) {
            links.push((m.seq, m.slot, i, m.subject_type));
        }
    }
    links.sort_unstable();
    for row in links.chunk_by(|a, b| a.0 == b.0) {
        // Both ends may be the same code: then the org end's type holds for the person end.
        let mut so_far: [(usize, Option<u8>); 2] = [(usize::MAX, None); 2];
        let mut stands = true;
        for (k, &(_, _, i, t)) in row.iter().enumerate() {
            let known = so_far[..k]
                .iter()
                .find(|(j, _)| *j == i)
                .map_or(types[i], |(_, t)| *t);
            stands &= known.is_none_or(|known| known == t);
            so_far[k] = (i, Some(known.unwrap_or(t)));
        }
        if stands {
            for &(_, _, i, t) in row {
                types[i].get_or_insert(t);
                accepted[i] += 1;
            }
        } else {
            settled.conflicts.insert(row[0].0);
        }
    }

    for (i, &(id, ord)) in contested.ids.iter().enumerate() {
        let Some(t) = types[i] else {
            settled.subjects.push((ord, None));
            continue;
        };
        let mut nonconforming = false;
        for m in contested.mentions_of(i).iter().filter(|m| m.slot == 0) {
            if no_say.contains(m.seq) {
                continue;
            }
            if m.subject_type == t {
                accepted[i] += 1;
                nonconforming |= m.nonconforming;
            } else {
                settled.conflicts.insert(m.seq);
            }
        }
        debug_assert!(SubjectType::from_code(t).is_some());
        let subject = Subject {
            id,
            subject_type: t,
            nonconforming,
            support: accepted[i],
        };
        settled
            .subjects
            .push((ord, (accepted[i] > 0).then_some(subject)));
    }
    settled
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: u8 = 1;
    const PERSON: u8 = 2;

    fn id(n: u8) -> [u8; 18] {
        let mut id = [b'1'; 18];
        id[17] = b'0' + n;
        id
    }

    fn m(n: u8, seq: u64, slot: u8, subject_type: u8) -> Mention {
        Mention {
            id: id(n),
            seq,
            slot,
            subject_type,
            nonconforming: false,
        }
    }

    fn types(s: &Settled) -> Vec<(u32, Option<u8>)> {
        s.subjects
            .iter()
            .map(|(o, s)| (*o, s.map(|s| s.subject_type)))
            .collect()
    }

    fn conflicts(s: &Settled, upto: u64) -> Vec<u64> {
        (0..upto).filter(|&q| s.conflicts.contains(q)).collect()
    }

    #[test]
    fn the_first_accepted_row_decides() {
        let mut c = Contested::default();
        // 0: an org's record whose copies differ (1, 2), then a person's record (3) and an
        // org's again (4).
        c.add(
            0,
            &[
                m(0, 1, 0, ORG),
                m(0, 2, 0, ORG),
                m(0, 3, 0, PERSON),
                m(0, 4, 0, ORG),
            ],
        );
        // 5: a person's erased record (5), an org's (6).
        c.add(5, &[m(5, 5, 0, PERSON), m(5, 6, 0, ORG)]);
        // 7: nothing but rejected copies.
        c.add(7, &[m(7, 7, 0, ORG), m(7, 8, 0, PERSON)]);
        let no_say: RoaringTreemap = [1, 2, 5, 7, 8].into_iter().collect();
        let s = settle_types(&c, &no_say);
        assert_eq!(types(&s), [(0, Some(PERSON)), (5, Some(ORG)), (7, None)]);
        assert_eq!(conflicts(&s, 10), [4]);
        assert!(c.names(8) && !c.names(9));
    }

    #[test]
    fn a_rejected_link_decides_neither_end() {
        let mut c = Contested::default();
        // 0 is listed as an org (1); a link (10) names 1 as its org and 0 as its person, and
        // is rejected for 0; a link (11) then names 1 as a person, which stands.
        c.add(0, &[m(0, 1, 0, ORG), m(0, 10, 2, PERSON)]);
        c.add(1, &[m(1, 10, 1, ORG), m(1, 11, 2, PERSON)]);
        // 2 is both ends of one link (12), which cannot stand, then a person (13).
        c.add(
            2,
            &[m(2, 12, 1, ORG), m(2, 12, 2, PERSON), m(2, 13, 2, PERSON)],
        );
        let s = settle_types(&c, &RoaringTreemap::new());
        assert_eq!(
            types(&s),
            [(0, Some(ORG)), (1, Some(PERSON)), (2, Some(PERSON))]
        );
        assert_eq!(conflicts(&s, 20), [10, 12]);
        let support: Vec<u32> = s.subjects.iter().map(|(_, s)| s.unwrap().support).collect();
        assert_eq!(support, [1, 1, 1]);
    }
}
