//! Resident identity number (居民身份证号码), GB 11643-1999.

use super::{BirthDateProblem, IdError, IdType};
use crate::date::Day;

/// Weights of positions 1–17 for ISO 7064 MOD 11-2.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for R = Σ mod 11, R = 0…10.
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character (position 18) for the first 17 digits, or `None` when one is not a
/// digit.
pub fn check_char(first17: &[u8]) -> Option<u8> {
    debug_assert_eq!(first17.len(), 17);
    let mut sum = 0u32;
    for (&c, &w) in first17.iter().zip(WEIGHTS.iter()) {
        if !c.is_ascii_digit() {
            return None;
        }
        sum += (c - b'0') as u32 * w;
    }
    Some(CHECK[(sum % 11) as usize])
}

/// The earliest birth date accepted; no living person's number carries an earlier one.
const EARLIEST_BIRTH: Day = Day(-62_091); // 1800-01-01

const DIGIT: &str = "a digit";
const LEGACY_DIGIT: &str = "a digit (a 15-character number is the all-digit legacy form)";

/// The address code's province-level part (positions 1–2), the one part of it that does
/// not change: GB/T 2260's provinces 11–65 and 71, the residence permits of Hong Kong (81),
/// Macau (82) and Taiwan (83) residents, and 9 for the foreigners' permanent residence card
/// (2023), whose positions 2–6 follow rules of their own. Citizens' numbers start with 1–8.
/// Returns the position (1 or 2) of the wrong digit and what it should be, or `None` when
/// the part is right or not made of digits (which the digit check reports).
fn address_problem(first: u8, second: u8) -> Option<(usize, &'static str)> {
    if first == b'0' {
        return Some((
            1,
            "1-9 (a province-level address code, or 9 for a foreigner's permanent residence card)",
        ));
    }
    if !second.is_ascii_digit() {
        return None;
    }
    let (_, low, high, expected) = PROVINCES.iter().find(|p| p.0 == first)?;
    (!(*low..=*high).contains(&second)).then_some((2, *expected))
}

/// For each first digit of a citizen's number, the second digits a province-level address
/// code (or a residence permit's, 81–83) may have, and how an error says so.
#[rustfmt::skip]
const PROVINCES: [(u8, u8, u8, &str); 8] = [
    (b'1', b'1', b'5', "1-5 (the province-level codes starting with 1 are 11-15)"),
    (b'2', b'1', b'3', "1-3 (the province-level codes starting with 2 are 21-23)"),
    (b'3', b'1', b'7', "1-7 (the province-level codes starting with 3 are 31-37)"),
    (b'4', b'1', b'6', "1-6 (the province-level codes starting with 4 are 41-46)"),
    (b'5', b'0', b'4', "0-4 (the province-level codes starting with 5 are 50-54)"),
    (b'6', b'1', b'5', "1-5 (the province-level codes starting with 6 are 61-65)"),
    (b'7', b'1', b'1', "1 (the province-level code starting with 7 is 71)"),
    (b'8', b'1', b'3', "1-3 (81 Hong Kong, 82 Macau and 83 Taiwan residence permits)"),
];

/// The address error of a number whose positions 1–2 are `first` and `second`, if any.
fn check_address(first: u8, second: u8) -> Result<(), IdError> {
    match address_problem(first, second) {
        Some((position, expected)) => Err(IdError::BadChar {
            id_type: Some(IdType::Ric),
            position,
            found: [first, second][position - 1] as char,
            expected,
        }),
        None => Ok(()),
    }
}

/// Validates a normalised 18-character number, reporting the leftmost problem: characters
/// and the province-level part of the address code, then the birth date, then the check
/// character.
///
/// Of the address code (positions 1–6) only the province-level part is checked
/// ([`address_problem`]); the rest is not looked up in GB/T 2260: divisions are created
/// and merged every year, and numbers keep the code of the division that issued them.
pub(crate) fn validate(code: &[u8; 18], today: Day) -> Result<(), IdError> {
    check_address(code[0], code[1])?;
    if let Some(i) = code[..17].iter().position(|c| !c.is_ascii_digit()) {
        return Err(IdError::BadChar {
            id_type: Some(IdType::Ric),
            position: i + 1,
            found: code[i] as char,
            expected: DIGIT,
        });
    }
    check_birth(&code[6..14], today, false)?;
    let check = check_char(&code[..17]).expect("first 17 are digits");
    if !(code[17].is_ascii_digit() || code[17] == b'X') {
        return Err(IdError::CheckCharNotAllowed {
            id_type: IdType::Ric,
            expected: check as char,
            found: code[17] as char,
        });
    }
    if check != code[17] {
        return Err(IdError::RicCheck {
            expected: check as char,
            found: code[17] as char,
        });
    }
    Ok(())
}

/// Converts a normalised 15-digit legacy number (GB 11643-1989) to the 18-character form:
/// "19" goes before the two-digit birth year and the check character is appended.
pub(crate) fn convert_legacy(code: &[u8], today: Day) -> Result<[u8; 18], IdError> {
    debug_assert_eq!(code.len(), 15);
    check_address(code[0], code[1])?;
    if let Some(i) = code.iter().position(|c| !c.is_ascii_digit()) {
        return Err(IdError::BadChar {
            id_type: Some(IdType::Ric),
            position: i + 1,
            found: code[i] as char,
            expected: LEGACY_DIGIT,
        });
    }
    let mut out = [0u8; 18];
    out[..6].copy_from_slice(&code[..6]);
    out[6..8].copy_from_slice(b"19");
    out[8..17].copy_from_slice(&code[6..15]);
    check_birth(&out[6..14], today, true)?;
    out[17] = check_char(&out[..17]).expect("first 17 are digits");
    Ok(out)
}

/// The birth date `YYYYMMDD` (eight digits) must exist, not be after `today`, and not be
/// before 1800-01-01. `legacy`: the digits come from a 15-digit number (its positions 7-12).
fn check_birth(date: &[u8], today: Day, legacy: bool) -> Result<(), IdError> {
    let mut digits = [0u8; 8];
    digits.copy_from_slice(date);
    let problem = match Day::parse_compact(date) {
        None => BirthDateProblem::DoesNotExist,
        Some(d) if d > today => BirthDateProblem::InFuture,
        Some(d) if d < EARLIEST_BIRTH => BirthDateProblem::TooEarly,
        Some(_) => return Ok(()),
    };
    Err(IdError::BirthDate {
        date: digits,
        problem,
        legacy,
    })
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn domain_examples() {
        for id in [
            "11010519491231002X",
            "44011320141005001X",
            "360426199101010071",
        ] {
            let b = id.as_bytes();
            assert_eq!(check_char(&b[..17]), Some(b[17]), "{id}");
        }
        assert_eq!(check_char(&b"36042619910102009X"[..17]), Some(b'3'));
    }
}
