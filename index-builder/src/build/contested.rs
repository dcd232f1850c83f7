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
//! rows say both types, can have a row rejected for its type: pass 1 hands their mentions to
//! [`Contested`], which notes the arrival numbers of the rows that name them; passes 3 and 4
//! set those rows aside (everything else goes on as before), and [`settle_types`] decides
//! once pass 3 has said which of them are rejected copies or erased. The rows set aside are
//! then finished by the passes' own code with the conflicts known ([`Settled::conflicts`]),
//! and `support::settle` takes the contested subjects' types from [`Settled::subjects`].
//!
//! # Memory
//!
//! A source may name contested identifiers in any number of rows, so what grows with those
//! rows is held like the build's other working sets, within the memory budget, in sorters
//! that spill sorted runs beyond it: the mentions (pass 1 to [`settle_types`]), the records
//! and links passes 3 and 4 set aside, the verdict on each mention, and the subjects whose
//! type `support` changes. They share the spill directory [`Contested::new`] is given, whose
//! sorters together hold at most four shares of it at once (the mentions, the records set
//! aside and the links set aside, twice while pass 4 gives them their persons' ordinals;
//! then the mentions, the verdicts and both sets aside). Pass 1's buffer of the mentions of
//! the identifier at hand, kept until it is known whether they disagree ([`Held`]), goes
//! to a sorter of its own beyond half a share.
//!
//! Two things stay in memory whatever the budget, bounded by the rows read and not by the
//! budget, like the build's other bitmaps of arrival numbers (`Conflicts`, pass 3's
//! `no_say`):
//!
//! - the arrival numbers of the rows that name a contested identifier, a bitmap: at most
//!   8 KiB and a header of a few bytes for each 65,536 arrival numbers the rows read span,
//!   about one bit a row read;
//! - while [`settle_types`] walks those rows in arrival order, each contested identifier's
//!   type so far: two bits an identifier, ⌈n / 4⌉ bytes for n of them; and an identifier
//!   is contested only when rows name it, so at most a quarter of a byte a row that names
//!   one.
//!
//! With no contested identifier, the usual case, this costs one test of an empty bitmap per
//! record id in pass 3 and per link in pass 4, and in pass 1 a copy of each mention into a
//! buffer reused from one identifier to the next; no sorter here ever holds an item.

use std::io;

use roaring::RoaringTreemap;

use super::checks::Conflicts;
use super::codec::{put_u32, put_u64, Codec, Dec};
use super::items::{Mention, Subject};
use super::spill::{Peek, Sorter, SpillDir};
use crate::model::SubjectType;

/// The identifiers pass 1 found named with both types, and every mention of them.
pub(crate) struct Contested<'s> {
    /// Where the sorters of this module and of the rows set aside spill.
    spill: &'s SpillDir,
    /// The arrival numbers of the rows that name a contested identifier.
    rows: RoaringTreemap,
    /// How many identifiers were found contested so far; the number of the next one.
    codes: u32,
    /// The number and pass-1 ordinal of the identifier whose mentions go in now.
    open: (u32, u32),
    /// Their mentions, by arrival.
    mentions: Sorter<'s, ContestedMention>,
}

impl<'s> Contested<'s> {
    /// No contested identifier yet; the working sets go to `spill`'s sorters (see the
    /// module documentation).
    pub(crate) fn new(spill: &'s SpillDir) -> Contested<'s> {
        Contested {
            spill,
            rows: RoaringTreemap::new(),
            codes: 0,
            open: (0, 0),
            mentions: spill.sorter(),
        }
    }

    /// A sorter for rows naming a contested identifier that a pass sets aside.
    pub(crate) fn sorter<T: Codec>(&self) -> Sorter<'s, T> {
        self.spill.sorter()
    }

    /// Pass 1's buffer of the mentions of the identifier at hand.
    pub(crate) fn held(&self) -> Held<'s> {
        Held {
            spill: self.spill,
            buf: Vec::new(),
            cap: (self.spill.per_sorter / 2 / std::mem::size_of::<Mention>()).max(1),
            over: None,
        }
    }

    /// Records the identifier pass 1 numbered `ord`, whose mentions so far, `held` (which
    /// this empties), disagree on its type. Its later mentions go in with
    /// [`Contested::push`].
    pub(crate) fn add(&mut self, ord: u32, held: &mut Held<'_>) -> io::Result<()> {
        self.open = (self.codes, ord);
        self.codes += 1;
        // The mentions the buffer overflowed with came before those left in it.
        if let Some(over) = held.over.take() {
            let mut earlier = over.finish()?.0;
            while let Some(m) = earlier.next_item()? {
                self.push(&m)?;
            }
        }
        for m in held.buf.drain(..) {
            self.push(&m)?;
        }
        Ok(())
    }

    /// A later mention of the identifier last added, in arrival order.
    pub(crate) fn push(&mut self, m: &Mention) -> io::Result<()> {
        let (code, ord) = self.open;
        self.rows.insert(m.seq);
        self.mentions.push(ContestedMention {
            seq: m.seq,
            slot: m.slot,
            code,
            ord,
            id: m.id,
            subject_type: m.subject_type,
            nonconforming: m.nonconforming,
        })
    }

    /// Whether the row that arrived `seq`-th names a contested identifier: its fate waits
    /// for [`settle_types`].
    #[inline]
    pub(crate) fn names(&self, seq: u64) -> bool {
        !self.rows.is_empty() && self.rows.contains(seq)
    }
}

/// The mentions of the identifier pass 1 is at, until it knows whether they disagree on its
/// type: in a buffer reused from one identifier to the next, and beyond half a share of the
/// budget (an identifier named by very many rows) in a sorter, which is dropped with its
/// runs when they agree after all.
pub(crate) struct Held<'s> {
    spill: &'s SpillDir,
    buf: Vec<Mention>,
    /// How many mentions `buf` takes before it moves them to `over`.
    cap: usize,
    over: Option<Sorter<'s, Mention>>,
}

impl Held<'_> {
    pub(crate) fn push(&mut self, m: Mention) -> io::Result<()> {
        if self.buf.len() >= self.cap {
            let over = self.over.get_or_insert_with(|| self.spill.sorter());
            for m in self.buf.drain(..) {
                over.push(m)?;
            }
        }
        self.buf.push(m);
        Ok(())
    }

    /// Forgets the mentions held, for the next identifier.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.over = None;
    }
}

/// A mention of a contested identifier (its number `code`, its pass-1 ordinal `ord`), in
/// arrival order: the encoding begins with the arrival number and the slot (0 a list row,
/// 1 a link's org, 2 its person).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ContestedMention {
    seq: u64,
    slot: u8,
    code: u32,
    ord: u32,
    id: [u8; 18],
    subject_type: u8,
    nonconforming: bool,
}

impl Codec for ContestedMention {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.seq);
        out.push(self.slot);
        put_u32(out, self.code);
        put_u32(out, self.ord);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&[self.subject_type, self.nonconforming as u8]);
    }
    fn decode(d: &mut Dec<'_>) -> ContestedMention {
        ContestedMention {
            seq: d.u64(),
            slot: d.u8(),
            code: d.u32(),
            ord: d.u32(),
            id: d.id(),
            subject_type: d.u8(),
            nonconforming: d.u8() != 0,
        }
    }
}

/// What [`settle_types`] said of one mention, by the identifier's pass-1 ordinal, then
/// arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Verdict {
    ord: u32,
    seq: u64,
    slot: u8,
    id: [u8; 18],
    subject_type: u8,
    /// A list row's flag (a link's mention never sets it).
    nonconforming: bool,
    accepted: bool,
}

impl Codec for Verdict {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.ord);
        put_u64(out, self.seq);
        out.push(self.slot);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&[
            self.subject_type,
            self.nonconforming as u8,
            self.accepted as u8,
        ]);
    }
    fn decode(d: &mut Dec<'_>) -> Verdict {
        Verdict {
            ord: d.u32(),
            seq: d.u64(),
            slot: d.u8(),
            id: d.id(),
            subject_type: d.u8(),
            nonconforming: d.u8() != 0,
            accepted: d.u8() != 0,
        }
    }
}

/// What [`settle_types`] decided.
pub(crate) struct Settled<'s> {
    /// The rows rejected because an identifier in them already has the other type: list
    /// rows and links, by arrival number.
    pub(crate) conflicts: Conflicts,
    pub(crate) subjects: SettledSubjects<'s>,
}

/// Each contested subject by its pass-1 ordinal, in order, read once: as accepted rows make
/// it (type, flag, and the number of accepted rows naming it as `support`), or `None` when
/// no accepted row names it, and it is no subject.
pub(crate) struct SettledSubjects<'s> {
    spill: &'s SpillDir,
    verdicts: Peek<Verdict>,
    codes: u32,
}

impl<'s> SettledSubjects<'s> {
    /// Whether no identifier was contested.
    pub(crate) fn is_empty(&self) -> bool {
        self.codes == 0
    }

    /// A sorter for what a pass keeps of these subjects (spilling like the others).
    pub(crate) fn sorter<T: Codec>(&self) -> Sorter<'s, T> {
        self.spill.sorter()
    }

    /// The next subject: its pass-1 ordinal, and what it is.
    pub(crate) fn next_subject(&mut self) -> io::Result<Option<(u32, Option<Subject>)>> {
        let Some(first) = self.verdicts.next_if(|_| true)? else {
            return Ok(None);
        };
        let mut subject = Subject {
            id: first.id,
            subject_type: 0,
            nonconforming: false,
            support: 0,
        };
        let mut take = |v: &Verdict| {
            if v.accepted {
                subject.subject_type = v.subject_type;
                subject.nonconforming |= v.nonconforming;
                subject.support += 1;
            }
        };
        take(&first);
        while let Some(v) = self.verdicts.next_if(|v| v.ord == first.ord)? {
            take(&v);
        }
        debug_assert!(
            subject.support == 0 || SubjectType::from_code(subject.subject_type).is_some()
        );
        Ok(Some((first.ord, (subject.support > 0).then_some(subject))))
    }
}

/// Each contested identifier's type so far, by its number: two bits each, 0 while unknown,
/// else the type's code.
struct TypesSoFar(Vec<u8>);

impl TypesSoFar {
    fn new(codes: u32) -> TypesSoFar {
        TypesSoFar(vec![0; (codes as usize).div_ceil(4)])
    }

    /// The type of identifier `code`; an error for a number no identifier has (only a
    /// damaged run can hold one).
    fn get(&self, code: u32) -> io::Result<Option<u8>> {
        let byte = self.0.get(code as usize / 4).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a spilled mention names contested identifier {code}, which is none"),
            )
        })?;
        let t = (byte >> (code % 4 * 2)) & 3;
        Ok((t != 0).then_some(t))
    }

    /// Gives identifier `code`, whose type is unknown, type `t`.
    fn set(&mut self, code: u32, t: u8) {
        debug_assert!((1..4).contains(&t));
        self.0[code as usize / 4] |= (t & 3) << (code % 4 * 2);
    }
}

/// Decides the contested identifiers' types. `no_say` holds the arrival numbers of their
/// list rows that decide nothing: copies of a record whose copies differ, and records
/// retention has erased (pass 3).
///
/// The rows naming them are walked once in arrival order, so list rows come before links:
/// an identifier with a list row that says something has the type of the first such row,
/// and a later list row of the other type is rejected. A link stands when each of its
/// contested ends agrees with the types known when it arrives (its other ends name a
/// subject of one type only, which it agrees with), and then gives a type to an end that
/// had none.
pub(crate) fn settle_types<'s>(
    contested: Contested<'s>,
    no_say: &RoaringTreemap,
) -> io::Result<Settled<'s>> {
    let Contested {
        spill,
        codes,
        mentions,
        ..
    } = contested;
    let mut conflicts = Conflicts::default();
    let mut verdicts = spill.sorter::<Verdict>();
    let mut types = TypesSoFar::new(codes);
    let mut mentions = mentions.finish()?.0.peekable();
    let verdict = |m: &ContestedMention, accepted: bool| Verdict {
        ord: m.ord,
        seq: m.seq,
        slot: m.slot,
        id: m.id,
        subject_type: m.subject_type,
        nonconforming: m.slot == 0 && m.nonconforming,
        accepted,
    };
    // One row's mentions (a list row's one, or a link's contested ends), and a link's ends
    // with the types they have so far.
    let mut row: Vec<ContestedMention> = Vec::with_capacity(2);
    let mut so_far: Vec<(u32, u8)> = Vec::with_capacity(2);
    while let Some(first) = mentions.next_if(|_| true)? {
        row.clear();
        row.push(first);
        while let Some(m) = mentions.next_if(|m| m.seq == first.seq)? {
            row.push(m);
        }
        if first.slot == 0 {
            for m in &row {
                let accepted = if no_say.contains(m.seq) {
                    false
                } else if let Some(t) = types.get(m.code)? {
                    if t != m.subject_type {
                        conflicts.insert(m.seq);
                    }
                    t == m.subject_type
                } else {
                    types.set(m.code, m.subject_type);
                    true
                };
                verdicts.push(verdict(m, accepted))?;
            }
            continue;
        }
        // Both ends may be the same code: then the org end's type holds for the person end.
        so_far.clear();
        let mut stands = true;
        for m in &row {
            let known = match so_far.iter().find(|(c, _)| *c == m.code) {
                Some(&(_, t)) => Some(t),
                None => types.get(m.code)?,
            };
            stands &= known.is_none_or(|known| known == m.subject_type);
            so_far.push((m.code, known.unwrap_or(m.subject_type)));
        }
        if stands {
            for m in &row {
                if types.get(m.code)?.is_none() {
                    types.set(m.code, m.subject_type);
                }
            }
        } else {
            conflicts.insert(first.seq);
        }
        for m in &row {
            verdicts.push(verdict(m, stands))?;
        }
    }
    Ok(Settled {
        conflicts,
        subjects: SettledSubjects {
            spill,
            verdicts: verdicts.finish()?.0.peekable(),
            codes,
        },
    })
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

    /// The identifiers, each with its pass-1 ordinal and its mentions, as pass 1 hands
    /// them over: the first mentions held, the rest pushed.
    fn contested<'s>(spill: &'s SpillDir, codes: &[(u32, Vec<Mention>)]) -> Contested<'s> {
        let mut c = Contested::new(spill);
        let mut held = c.held();
        for (ord, mentions) in codes {
            held.clear();
            let (first, rest) = mentions.split_at(mentions.len().min(2));
            for m in first {
                held.push(*m).unwrap();
            }
            c.add(*ord, &mut held).unwrap();
            for m in rest {
                c.push(m).unwrap();
            }
        }
        c
    }

    fn subjects(s: &mut Settled<'_>) -> Vec<(u32, Option<Subject>)> {
        let mut out = Vec::new();
        while let Some(x) = s.subjects.next_subject().unwrap() {
            out.push(x);
        }
        out
    }

    fn types(subjects: &[(u32, Option<Subject>)]) -> Vec<(u32, Option<u8>)> {
        subjects
            .iter()
            .map(|(o, s)| (*o, s.map(|s| s.subject_type)))
            .collect()
    }

    fn conflicts(s: &Settled<'_>, upto: u64) -> Vec<u64> {
        (0..upto).filter(|&q| s.conflicts.contains(q)).collect()
    }

    /// Share sizes for each test: one that holds everything, and one so small that every
    /// sorter spills runs of a few items.
    const SHARES: [usize; 2] = [1 << 20, 64];

    #[test]
    fn the_first_accepted_row_decides() {
        for share in SHARES {
            let dir = tempfile::tempdir().unwrap();
            let spill = SpillDir::named(dir.path().join("spill"), "contested", share).unwrap();
            let c = contested(
                &spill,
                &[
                    // 0: an org's record whose copies differ (1, 2), then a person's record
                    // (3) and an org's again (4).
                    (
                        0,
                        vec![
                            m(0, 1, 0, ORG),
                            m(0, 2, 0, ORG),
                            m(0, 3, 0, PERSON),
                            m(0, 4, 0, ORG),
                        ],
                    ),
                    // 5: a person's erased record (5), an org's (6).
                    (5, vec![m(5, 5, 0, PERSON), m(5, 6, 0, ORG)]),
                    // 7: nothing but rejected copies.
                    (7, vec![m(7, 7, 0, ORG), m(7, 8, 0, PERSON)]),
                ],
            );
            assert!(c.names(8) && !c.names(9));
            let no_say: RoaringTreemap = [1, 2, 5, 7, 8].into_iter().collect();
            let mut s = settle_types(c, &no_say).unwrap();
            assert_eq!(conflicts(&s, 10), [4]);
            let got = subjects(&mut s);
            assert_eq!(
                types(&got),
                [(0, Some(PERSON)), (5, Some(ORG)), (7, None)],
                "share {share}"
            );
            assert!((spill.runs_spilled() > 0) == (share == 64), "share {share}");
        }
    }

    #[test]
    fn a_rejected_link_decides_neither_end() {
        for share in SHARES {
            let dir = tempfile::tempdir().unwrap();
            let spill = SpillDir::named(dir.path().join("spill"), "contested", share).unwrap();
            let c = contested(
                &spill,
                &[
                    // 0 is listed as an org (1); a link (10) names 1 as its org and 0 as its
                    // person, and is rejected for 0; a link (11) then names 1 as a person,
                    // which stands.
                    (0, vec![m(0, 1, 0, ORG), m(0, 10, 2, PERSON)]),
                    (1, vec![m(1, 10, 1, ORG), m(1, 11, 2, PERSON)]),
                    // 2 is both ends of one link (12), which cannot stand, then a person
                    // (13).
                    (
                        2,
                        vec![m(2, 12, 1, ORG), m(2, 12, 2, PERSON), m(2, 13, 2, PERSON)],
                    ),
                ],
            );
            let mut s = settle_types(c, &RoaringTreemap::new()).unwrap();
            assert_eq!(conflicts(&s, 20), [10, 12]);
            let got = subjects(&mut s);
            assert_eq!(
                types(&got),
                [(0, Some(ORG)), (1, Some(PERSON)), (2, Some(PERSON))],
                "share {share}"
            );
            let support: Vec<u32> = got.iter().map(|(_, s)| s.unwrap().support).collect();
            assert_eq!(support, [1, 1, 1]);
        }
    }

    /// An identifier named by more rows than the buffer takes before it is found contested:
    /// the mentions that overflowed count too; and one that is not contested after all
    /// leaves no run behind.
    #[test]
    fn mentions_held_past_the_buffer_are_kept_on_disk_until_settled() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::named(dir.path().join("spill"), "contested", 256).unwrap();
        let mut c = Contested::new(&spill);
        let mut held = c.held();
        assert!(held.cap < 10);
        // 3: a hundred org records, never contested.
        for seq in 1..=100 {
            held.push(m(3, seq, 0, ORG)).unwrap();
        }
        assert!(held.over.is_some() && spill.runs_spilled() > 0);
        held.clear();
        let runs = |dir: &std::path::Path| std::fs::read_dir(dir).unwrap().count();
        assert_eq!(runs(&spill.dir), 0, "the runs of identifier 3 are gone");
        // 4: a hundred org records, then a person's (contested); the first stands.
        for seq in 101..=200 {
            held.push(m(4, seq, 0, ORG)).unwrap();
        }
        c.add(1, &mut held).unwrap();
        c.push(&m(4, 201, 0, PERSON)).unwrap();
        assert!(!c.names(100) && c.names(101) && c.names(201));
        let mut s = settle_types(c, &[101].into_iter().collect()).unwrap();
        assert_eq!(conflicts(&s, 300), [201]);
        let got = subjects(&mut s);
        assert_eq!(types(&got), [(1, Some(ORG))]);
        assert_eq!(got[0].1.unwrap().support, 99);
    }

    /// What stays in memory whatever the budget (see the module documentation): the bitmap
    /// of the rows that name a contested identifier, at most one bit a row read, and two
    /// bits a contested identifier while the types are settled; the mentions themselves
    /// spill.
    #[test]
    fn what_stays_in_memory_is_bounded_by_the_rows_read() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::named(dir.path().join("spill"), "contested", 64 << 10).unwrap();
        let mut c = Contested::new(&spill);
        let mut held = c.held();
        // 40,000 identifiers, each named by a list row and a link among 300,000 rows read,
        // every other one of the first 80,000 and then spread out: dense and sparse
        // containers both.
        let rows_read = 300_000u64;
        for n in 0..40_000u64 {
            let mut id = [b'1'; 18];
            id[..8].copy_from_slice(&n.to_be_bytes());
            let list = 2 * n + 1;
            let link = 80_000 + n * 5;
            held.clear();
            for (seq, slot, t) in [(list, 0, ORG), (link, 2, PERSON)] {
                held.push(Mention {
                    id,
                    seq,
                    slot,
                    subject_type: t,
                    nonconforming: false,
                })
                .unwrap();
            }
            c.add(n as u32, &mut held).unwrap();
        }
        let bitmap = c.rows.serialized_size() as u64;
        let containers = rows_read.div_ceil(1 << 16);
        assert!(
            bitmap <= containers * (8192 + 16) + 64,
            "{bitmap} bytes for {rows_read} rows"
        );
        assert_eq!(TypesSoFar::new(c.codes).0.len(), 10_000);
        assert!(spill.runs_spilled() > 20, "{}", spill.runs_spilled());
        let mut s = settle_types(c, &RoaringTreemap::new()).unwrap();
        let got = subjects(&mut s);
        assert_eq!(got.len(), 40_000);
        assert!(got.iter().all(|(_, s)| s.unwrap().subject_type == ORG));
        assert_eq!(conflicts(&s, rows_read).len(), 40_000);
    }
}
