//! The deliberate faults written into list rows, each of which the index builder must
//! reject with its own reason (SPEC §3: bad rows are reported, never dropped silently).

use crate::date::Day;
use crate::ids::{ric, uscc};

/// The kinds of list-row faults, injected in turn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    BadCheck,
    ImpossibleDate,
    UnknownListCode,
    DuplicateRecordId,
    UntilBeforeFrom,
}

pub const FAULTS: [Fault; 5] = [
    Fault::BadCheck,
    Fault::ImpossibleDate,
    Fault::UnknownListCode,
    Fault::DuplicateRecordId,
    Fault::UntilBeforeFrom,
];

/// Breaks an identifier so that no lenient reading accepts it: the RIC check character, or
/// the USCC's inner organisation-code check with a MOD 31 check that matches the rest.
pub fn break_check(id: &mut [u8; 18], is_person: bool) {
    if is_person {
        let right = ric::check_char(&id[..17]).expect("digits");
        id[17] = if right == b'1' { b'0' } else { b'1' };
    } else {
        let right = uscc::org_check_char(&id[8..16]).expect("body");
        id[16] = if right == b'1' { b'2' } else { b'1' };
        id[17] = uscc::check_char(&id[..17]).expect("characters from the set");
    }
}

/// A well-shaped date of `year` that does not exist.
pub fn impossible_date(year: i32, n: u64) -> [u8; 10] {
    let (month, day) = [(2, 30), (4, 31), (2, 31), (6, 31), (9, 31), (11, 31)][(n % 6) as usize];
    let mut out = Day::from_ymd(year, month, 1)
        .expect("first of month")
        .to_bytes();
    out[8] = b'0' + (day / 10) as u8;
    out[9] = b'0' + (day % 10) as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::subjects;

    #[test]
    fn impossible_dates_are_well_shaped_but_not_days() {
        for n in 0..6 {
            let b = impossible_date(2023, n);
            let s = std::str::from_utf8(&b).unwrap();
            assert!(matches!(
                Day::parse(s),
                Err(crate::date::DateError::NoSuchDay { .. })
            ));
        }
    }

    #[test]
    fn broken_checks_fail_the_intended_check_only() {
        let person = subjects::person(1, 3);
        let mut id = person.id;
        break_check(&mut id, true);
        assert_ne!(ric::check_char(&id[..17]), Some(id[17]));
        let org = subjects::org(1, 3);
        let mut id = org.id;
        break_check(&mut id, false);
        assert_ne!(uscc::org_check_char(&id[8..16]), Some(id[16]));
        assert_eq!(uscc::check_char(&id[..17]), Some(id[17]));
    }
}
