//! Which subjects a snapshot holds: those named by at least one accepted row.
//!
//! Pass 1 makes a subject of every identifier a row names, so that passes 3 and 4 can give
//! rows their ordinals. But some of those rows are rejected only there: the copies of a
//! record whose copies differ (pass 3), and links whose org or person has the other type
//! (pass 4, after pass 1 found the conflict). A subject named by nothing else was left in
//! the identifier index with no record and no link, so that an organisation whose every list
//! row was rejected was `known`. (Rows the reader rejects never reach pass 1; a later copy
//! identical to the first is rejected but the first, naming the same subject, stays.)
//!
//! So pass 1 counts each subject's support, the rows that name it with its type; passes 3
//! and 4 note the subject of every row they reject that way ([`Withdrawn`]), and [`settle`]
//! drops each subject whose support is all withdrawn. Its identifier, name and row are then
//! not written. A subject named with both types is settled by `contested` instead, which
//! counts the accepted rows naming it itself and gives its type: [`settle`] writes that
//! type, or drops the subject when no accepted row names it. The subjects that remain get
//! new ordinals, [`Renumber`] maps pass 1's to theirs for the links pass 4 numbered, and
//! ids.fst and ids.idx, written from pass 1's subjects while the other passes ran, are
//! written again (see `build.rs`). When no row was rejected that way and no identifier is
//! named with both types, the usual case, nothing of this costs anything.

use std::io;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use super::codec::{put_u32, Codec, Dec};
use super::contested::SettledSubjects;
use super::items::Subject;
use super::spill::{read_seq, SeqWriter, SpillDir};

/// The subjects (identifier, type code) of rows rejected after pass 1 counted them as
/// support, one entry a row and side; a side whose type is not its subject's was never
/// counted, and is ignored. Held in memory, like the rejects themselves (some 20 bytes a
/// rejected row).
#[derive(Default, Debug)]
pub(crate) struct Withdrawn(Vec<([u8; 18], u8)>);

impl Withdrawn {
    pub(crate) fn push(&mut self, id: [u8; 18], subject_type: u8) {
        self.0.push((id, subject_type));
    }

    pub(crate) fn append(&mut self, other: &mut Withdrawn) {
        self.0.append(&mut other.0);
    }
}

/// Pass 1's ordinals to those of the subjects that remain.
#[derive(Default, Debug)]
pub(crate) struct Renumber {
    /// Pass 1's ordinals of the subjects dropped.
    dropped: RoaringBitmap,
}

impl Renumber {
    /// The ordinal of the subject pass 1 numbered `ord`, which must remain.
    #[inline]
    pub(crate) fn ordinal(&self, ord: u32) -> u32 {
        if self.dropped.is_empty() {
            return ord;
        }
        debug_assert!(!self.dropped.contains(ord), "subject {ord} was dropped");
        ord - self.dropped.rank(ord) as u32
    }

    /// Pass 1's ordinals of the subjects that remain, in order: the n-th is that of the
    /// subject whose ordinal is n. Endless: the caller takes one a subject.
    pub(crate) fn kept(&self) -> impl Iterator<Item = u32> + '_ {
        let mut dropped = self.dropped.iter().peekable();
        (0u32..).filter(move |&ord| dropped.next_if_eq(&ord).is_none())
    }

    /// How many subjects were dropped.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.len()
    }
}

/// A subject that `contested` settled with another type or flag than pass 1 gave it, by its
/// pass-1 ordinal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Changed {
    ord: u32,
    subject: Subject,
}

impl Codec for Changed {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.ord);
        self.subject.encode(out);
    }
    fn decode(d: &mut Dec<'_>) -> Changed {
        Changed {
            ord: d.u32(),
            subject: Subject::decode(d),
        }
    }
}

/// The subjects of pass 1's file `subjects` that keep some support once `withdrawn` is
/// taken from it, those named with both types as `contested` settled them (by pass-1
/// ordinal, in order: the subject as accepted rows make it, or `None` when none names it;
/// what is withdrawn from them is ignored): that file itself when none is dropped or
/// changed, else a new one in `spill` (in the same order), with the ordinals of those
/// dropped.
///
/// The file is read up to the last subject withdrawn from or settled, and written again
/// only when a subject is dropped or changes type: a build that rejected a few rows after
/// pass 1, none of them a subject's last, pays one partial read of it. The subjects that
/// change wait for the second read in a sorter of `contested`'s (there may be as many as
/// there are contested identifiers).
pub(crate) fn settle(
    spill: &SpillDir,
    subjects: &Path,
    withdrawn: Withdrawn,
    mut contested: SettledSubjects<'_>,
) -> io::Result<(PathBuf, Renumber)> {
    let mut withdrawn = withdrawn.0;
    let mut dropped = RoaringBitmap::new();
    if withdrawn.is_empty() && contested.is_empty() {
        return Ok((subjects.to_path_buf(), Renumber { dropped }));
    }
    // Identifiers compare as bytes in the subjects' order (see `items::id_key`).
    withdrawn.sort_unstable();
    let mut withdrawn = withdrawn.into_iter().peekable();
    let mut next_contested = contested.next_subject()?;
    let mut changed = contested.sorter::<Changed>();
    let mut any_changed = false;
    let mut subs = read_seq::<Subject>(subjects)?;
    let mut ord = 0u32;
    while withdrawn.peek().is_some() || next_contested.is_some() {
        let Some(s) = subs.next_item()? else {
            break;
        };
        let mut taken = 0u64;
        while let Some((id, t)) = withdrawn.next_if(|(id, _)| *id <= s.id) {
            taken += u64::from(id == s.id && t == s.subject_type);
        }
        let settled = match next_contested {
            Some((o, c)) if o == ord => {
                next_contested = contested.next_subject()?;
                Some(c)
            }
            _ => None,
        };
        match settled {
            Some(None) => {
                dropped.insert(ord);
            }
            Some(Some(c))
                if (c.subject_type, c.nonconforming) != (s.subject_type, s.nonconforming) =>
            {
                changed.push(Changed { ord, subject: c })?;
                any_changed = true;
            }
            Some(_) => {}
            None if taken >= u64::from(s.support) => {
                dropped.insert(ord);
            }
            None => {}
        }
        ord += 1;
    }
    if dropped.is_empty() && !any_changed {
        return Ok((subjects.to_path_buf(), Renumber { dropped }));
    }
    let mut changed = changed.finish()?.0.peekable();
    let mut subs = read_seq::<Subject>(subjects)?;
    let mut out = SeqWriter::create(spill)?;
    let mut ord = 0u32;
    while let Some(s) = subs.next_item()? {
        if let Some(c) = changed.next_if(|c| c.ord == ord)? {
            out.push(&c.subject)?;
        } else if !dropped.contains(ord) {
            out.push(&s)?;
        }
        ord += 1;
    }
    Ok((out.finish()?, Renumber { dropped }))
}

#[cfg(test)]
mod tests {
    use super::super::contested::{settle_types, Contested};
    use super::super::items::Mention;
    use super::*;

    /// An identifier's pass-1 ordinal and code, and the list rows naming it: (arrival
    /// number, type code) each.
    type Named<'a> = (u32, [u8; 18], &'a [(u64, u8)]);

    /// What `contested` settles of identifiers by pass-1 ordinal, each named by list rows
    /// of the given types and arrival numbers (those in `no_say` deciding nothing).
    fn settled<'s>(
        spill: &'s SpillDir,
        codes: &[Named<'_>],
        no_say: &[u64],
    ) -> SettledSubjects<'s> {
        let mut c = Contested::new(spill);
        let mut held = c.held();
        for (ord, id, rows) in codes {
            held.clear();
            for &(seq, subject_type) in *rows {
                let m = Mention {
                    id: *id,
                    seq,
                    slot: 0,
                    subject_type,
                    nonconforming: false,
                };
                held.push(m).unwrap();
            }
            c.add(*ord, &mut held).unwrap();
        }
        let no_say = no_say.iter().copied().collect();
        settle_types(c, &no_say).unwrap().subjects
    }

    fn subject(n: u8, subject_type: u8, support: u32) -> Subject {
        let mut id = [b'0'; 18];
        id[17] = b'0' + n;
        Subject {
            id,
            subject_type,
            nonconforming: false,
            support,
        }
    }

    #[test]
    fn a_subject_whose_support_is_all_withdrawn_is_dropped_and_the_rest_renumbered() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(dir.path().join("spill"), 1 << 20).unwrap();
        let subjects = [
            subject(0, 1, 2), // one of two withdrawn: stays
            subject(1, 1, 1), // withdrawn: dropped
            subject(2, 2, 1), // withdrawn with the other type only: stays
            subject(3, 2, 2), // both withdrawn: dropped
            subject(4, 1, 1),
        ];
        let mut w = SeqWriter::create(&spill).unwrap();
        for s in &subjects {
            w.push(s).unwrap();
        }
        let path = w.finish().unwrap();
        let mut withdrawn = Withdrawn::default();
        for (s, t) in [(3, 2), (0, 1), (1, 1), (2, 1), (3, 2)] {
            withdrawn.push(subjects[s].id, t);
        }
        let (kept, renumber) = settle(&spill, &path, withdrawn, settled(&spill, &[], &[])).unwrap();
        let mut read = read_seq::<Subject>(&kept).unwrap();
        let mut got = Vec::new();
        while let Some(s) = read.next_item().unwrap() {
            got.push(s);
        }
        assert_eq!(got, [subjects[0], subjects[2], subjects[4]]);
        assert_eq!(renumber.dropped(), 2);
        let ords: Vec<u32> = [0, 2, 4].iter().map(|&o| renumber.ordinal(o)).collect();
        assert_eq!(ords, [0, 1, 2]);
        let kept: Vec<u32> = renumber.kept().take(4).collect();
        assert_eq!(kept, [0, 2, 4, 5]);

        // Nothing withdrawn, or nobody's last support: the same file, the same ordinals.
        let (same, renumber) = settle(
            &spill,
            &path,
            Withdrawn::default(),
            settled(&spill, &[], &[]),
        )
        .unwrap();
        assert_eq!(same, path);
        assert_eq!((renumber.dropped(), renumber.ordinal(3)), (0, 3));
        let mut withdrawn = Withdrawn::default();
        withdrawn.push(subjects[0].id, 1);
        withdrawn.push(subjects[2].id, 1);
        let (same, renumber) = settle(&spill, &path, withdrawn, settled(&spill, &[], &[])).unwrap();
        assert_eq!(same, path);
        assert_eq!(renumber.dropped(), 0);
    }

    /// A subject named with both types takes the type `contested` gives it, or goes when no
    /// accepted row names it; what is withdrawn from it does not count.
    #[test]
    fn a_contested_subject_is_as_settled() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(dir.path().join("spill"), 1 << 20).unwrap();
        let subjects = [
            subject(0, 1, 1), // settled as a person
            subject(1, 1, 1),
            subject(2, 1, 2), // settled as no subject
            subject(3, 2, 1), // settled as it is, though its one support is withdrawn
        ];
        let mut w = SeqWriter::create(&spill).unwrap();
        for s in &subjects {
            w.push(s).unwrap();
        }
        let path = w.finish().unwrap();
        let mut withdrawn = Withdrawn::default();
        withdrawn.push(subjects[3].id, 2);
        // 0: three person records, then an org's; 2: two records that decide nothing; 3: a
        // person's record, and an org's that decides nothing.
        let (org, person) = (1, 2);
        let settled = settled(
            &spill,
            &[
                (
                    0,
                    subjects[0].id,
                    &[(1, person), (2, person), (3, person), (4, org)],
                ),
                (2, subjects[2].id, &[(5, org), (6, person)]),
                (3, subjects[3].id, &[(7, person), (8, org)]),
            ],
            &[5, 6, 8],
        );
        let (kept, renumber) = settle(&spill, &path, withdrawn, settled).unwrap();
        let mut read = read_seq::<Subject>(&kept).unwrap();
        let mut got = Vec::new();
        while let Some(s) = read.next_item().unwrap() {
            got.push(s);
        }
        assert_eq!(got, [subject(0, 2, 3), subjects[1], subjects[3]]);
        assert_eq!(renumber.dropped(), 1);
        assert_eq!(renumber.ordinal(3), 2);
    }
}
