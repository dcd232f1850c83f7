//! Identifiers: Unified Social Credit Codes (organisations, GB 32100-2015) and resident
//! identity numbers (people, GB 11643-1999).
//!
//! Every input is first [normalised](normalize::normalize) (spaces and hyphens dropped,
//! full-width folded to ASCII, upper-cased), then validated against its standard. A valid
//! input becomes an [`Id`]: always 18 ASCII characters, held by value, so the valid path
//! allocates nothing.
//!
//! ```
//! use credgate_index::date::Day;
//! use credgate_index::ids::{parse, parse_ric, IdType, Mode};
//!
//! let today = Day::parse("2024-06-01").unwrap();
//! let id = parse("９１１１００００６０００３７３４１Ｌ", Mode::Strict, today).unwrap();
//! assert_eq!((id.as_str(), id.id_type()), ("91110000600037341L", IdType::Uscc));
//!
//! let person = parse_ric("110105491231002", today).unwrap();
//! assert_eq!(person.as_str(), "11010519491231002X");
//! assert_eq!(person.masked().to_string(), "110105********002X");
//!
//! let err = parse("91110000600037341N", Mode::Strict, today).unwrap_err();
//! assert_eq!(err.expected_check(), Some('L'));
//! ```
//!
//! # Choices the standards leave open
//! - **USCC position 2** (entity type) must be a digit 1-9, as every type in GB 32100's
//!   table is, and 1, 2 or 3 after authority 9 (market regulation issues no other). The
//!   other authorities' lists are not enforced digit by digit: they have grown since.
//! - **USCC positions 3-8** (the registering authority's division code) must be digits; the
//!   code is not looked up in GB/T 2260 (SPEC §1 does not ask for it, divisions change every
//!   year, and a code keeps the division it was issued under).
//! - **RIC address codes** (positions 1–6): only the province-level part is checked, which
//!   never changes: GB/T 2260's provinces (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71),
//!   the residence permits (81/82/83), and 9 for the foreigners' permanent residence card
//!   (2023), whose other digits follow rules of their own. No number starts with 0. The
//!   rest is not looked up in GB/T 2260: divisions change every year while numbers keep the
//!   code they were issued under.
//! - **RIC birth dates** must exist, not be after the day the number is judged on, and not be
//!   before 1800-01-01.
//! - **Nonconforming USCCs**: a code well formed in every respect except its MOD 31 check
//!   character is an error ([`IdError::UsccCheck`], `is_nonconforming()`) in
//!   [`Mode::Strict`] and accepted with [`Id::is_nonconforming`] set in [`Mode::Lenient`].
//!
//! # Type detection ([`parse`])
//! When the caller does not say which type an input is:
//! - 15 characters: a legacy resident ID number (converted to 18).
//! - 18 characters: a USCC if it is valid as one; else a resident ID number if valid as one;
//!   else, in lenient mode, a nonconforming USCC. A fully valid reading is preferred to a
//!   nonconforming one.
//! - A string valid as both (about one resident ID number in 340 also passes both USCC
//!   checks) is taken as a resident ID number, so it is masked like one, unless the snapshot
//!   holds an organisation under it ([`parse_known`]). People's numbers are far more common
//!   than all-digit organisation codes that pass the birth-date and MOD 11-2 checks.
//! - In lenient mode, an all-digit string that looks like a resident ID number (see below)
//!   and fails as one is not accepted as a nonconforming USCC, unless the snapshot holds an
//!   organisation under it: otherwise a typo in a person's number would be answered as an
//!   unknown organisation, "clear".
//! - If no reading is valid, the error of the more plausible type is reported: the resident
//!   ID number's when the first 17 characters are digits and positions 7–14 are a real date
//!   or at least positions 7–10 a year from 1800 to 2099 (so "month 13" is reported as a bad
//!   birth date, not as a USCC fault); otherwise the USCC's.
//! - Any other length is [`IdError::Length`] with no type.

mod error;
pub mod gen;
pub mod normalize;
pub mod ric;
pub mod uscc;

use std::fmt;

use crate::date::Day;

pub use error::{BirthDateProblem, IdError};
pub use normalize::{normalize, Normalized};

/// The two kinds of identifier.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum IdType {
    /// Unified Social Credit Code of an organisation.
    Uscc,
    /// Resident identity number of a person.
    Ric,
}

impl IdType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdType::Uscc => "uscc",
            IdType::Ric => "ric",
        }
    }
}

impl fmt::Display for IdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether USCCs that fail only the MOD 31 check are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Reject them ([`IdError::UsccCheck`]).
    #[default]
    Strict,
    /// Accept them, marked [`Id::is_nonconforming`].
    Lenient,
}

/// A valid identifier, normalised to 18 characters (15-digit legacy RICs are converted to 18).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    code: [u8; 18],
    id_type: IdType,
    nonconforming: bool,
    converted_from_15: bool,
}

impl Id {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.code).expect("validated codes are ASCII")
    }

    pub fn as_bytes(&self) -> &[u8; 18] {
        &self.code
    }

    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// True for a USCC accepted in lenient mode although its MOD 31 check character is wrong.
    pub fn is_nonconforming(&self) -> bool {
        self.nonconforming
    }

    /// True when the input was a 15-digit legacy resident ID number.
    pub fn converted_from_15(&self) -> bool {
        self.converted_from_15
    }

    /// The form to show: people: first 6 + "********" + last 4 (a resident ID number is
    /// sensitive personal information under PIPL); organisations: unchanged.
    pub fn masked(&self) -> MaskedId {
        let mut code = self.code;
        if self.id_type == IdType::Ric {
            code[6..14].fill(b'*');
        }
        MaskedId { code }
    }

    /// The form a caller sees: [`Id::masked`], or the whole code when the caller is
    /// entitled to people's full numbers (`full`). Organisations are always shown whole.
    pub fn shown(&self, full: bool) -> MaskedId {
        if full {
            MaskedId { code: self.code }
        } else {
            self.masked()
        }
    }
}

impl fmt::Debug for Id {
    // Debug output ends up in logs, so it shows the masked form only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Id")
            .field("code", &self.masked().as_str())
            .field("id_type", &self.id_type)
            .field("nonconforming", &self.nonconforming)
            .field("converted_from_15", &self.converted_from_15)
            .finish()
    }
}

/// An identifier as it may be shown or logged; see [`Id::masked`]. Displays without
/// allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedId {
    code: [u8; 18],
}

impl MaskedId {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.code).expect("ASCII")
    }
}

impl fmt::Display for MaskedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MaskedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The 18 bytes of a normalised code, or the length error of `t`.
fn exactly_18(n: &Normalized, t: IdType) -> Result<[u8; 18], IdError> {
    n.as_bytes().try_into().map_err(|_| IdError::Length {
        id_type: Some(t),
        found: n.len(),
    })
}

/// Parses a Unified Social Credit Code.
pub fn parse_uscc(input: &str, mode: Mode) -> Result<Id, IdError> {
    let n = normalize(input).map_err(|e| e.with_type(IdType::Uscc))?;
    let code = exactly_18(&n, IdType::Uscc)?;
    uscc_from_code(code, mode)
}

fn uscc_from_code(code: [u8; 18], mode: Mode) -> Result<Id, IdError> {
    let nonconforming = match uscc::validate(&code) {
        Ok(()) => false,
        Err(e) if e.is_nonconforming() && mode == Mode::Lenient => true,
        Err(e) => return Err(e),
    };
    Ok(Id {
        code,
        id_type: IdType::Uscc,
        nonconforming,
        converted_from_15: false,
    })
}

/// Parses a resident identity number (18 characters, or 15 digits in the legacy form, which
/// is converted). The birth date must be on or before `today`.
pub fn parse_ric(input: &str, today: Day) -> Result<Id, IdError> {
    let n = normalize(input).map_err(|e| e.with_type(IdType::Ric))?;
    ric_from_normalized(&n, today)
}

fn ric_from_normalized(n: &Normalized, today: Day) -> Result<Id, IdError> {
    if n.len() == 15 {
        return Ok(Id {
            code: ric::convert_legacy(n.as_bytes(), today)?,
            id_type: IdType::Ric,
            nonconforming: false,
            converted_from_15: true,
        });
    }
    let code = exactly_18(n, IdType::Ric)?;
    ric::validate(&code, today)?;
    Ok(Id {
        code,
        id_type: IdType::Ric,
        nonconforming: false,
        converted_from_15: false,
    })
}

/// The full comparison for an 18-character code of unknown type (see the module docs):
/// USCC first, then RIC, then a lenient USCC, then the more plausible of the two errors.
/// `known` tells the type of the subject a snapshot holds under a code, if any.
fn compare_18(
    code: [u8; 18],
    n: &Normalized,
    mode: Mode,
    today: Day,
    known: impl Fn(&[u8; 18]) -> Option<IdType>,
) -> Result<Id, IdError> {
    let uscc_err = match uscc_from_code(code, Mode::Strict) {
        // Valid as both (only all-digit codes can be): a person's number unless the snapshot
        // holds an organisation under it.
        Ok(id) => {
            return Ok(match ric_from_normalized(n, today) {
                Ok(person) if known(&code) != Some(IdType::Uscc) => person,
                _ => id,
            })
        }
        Err(e) => e,
    };
    let ric_err = match ric_from_normalized(n, today) {
        Ok(id) => return Ok(id),
        Err(e) => e,
    };
    // A code that looks like a person's number with a typo is not taken for a pilot-area
    // organisation code, unless the snapshot holds an organisation under it.
    if uscc_err.is_nonconforming()
        && mode == Mode::Lenient
        && (!ric_is_plausible(&code) || known(&code) == Some(IdType::Uscc))
    {
        return uscc_from_code(code, mode);
    }
    Err(if ric_is_plausible(&code) {
        ric_err
    } else {
        uscc_err
    })
}

/// Parses an identifier whose type the caller does not know; see the module docs for how the
/// type is chosen. The same as [`parse_known`] with a snapshot that holds nothing.
pub fn parse(input: &str, mode: Mode, today: Day) -> Result<Id, IdError> {
    parse_known(input, mode, today, |_| None)
}

/// [`parse`], told by `known` the type of the subject a snapshot holds under an 18-character
/// code (`None` when it holds none). `known` is asked only about the rare codes with two
/// readings: valid as both types, or, in lenient mode, a nonconforming USCC that looks like
/// a mistyped resident ID number.
pub fn parse_known(
    input: &str,
    mode: Mode,
    today: Day,
    known: impl Fn(&[u8; 18]) -> Option<IdType>,
) -> Result<Id, IdError> {
    let n = normalize(input)?;
    match n.len() {
        15 => ric_from_normalized(&n, today),
        18 => {
            let code = exactly_18(&n, IdType::Uscc)?;
            // Most all-digit inputs are people's numbers. When such a code cannot be a USCC
            // (see `uscc_ruled_out`), a valid resident ID number reading is the answer the
            // full comparison below would give, without the USCC validation first. When
            // that reading fails too, the comparison decides which error to report.
            if uscc_ruled_out(&code) {
                if let Ok(id) = ric_from_normalized(&n, today) {
                    return Ok(id);
                }
            }
            compare_18(code, &n, mode, today, known)
        }
        found => Err(IdError::Length {
            id_type: None,
            found,
        }),
    }
}

/// Whether an 18-character code whose first 17 characters are digits fails USCC validation
/// in any mode, by a test cheaper than the validation: such a code passes every character
/// rule of GB 32100 except positions 1 (the registration authority, never `0`) and 2 (the
/// entity type, never `0`, and 1-3 after authority 9), so it fails exactly when one of those
/// is wrong or when position 17 is not the GB 11714 check character of positions 9–16 (one
/// chance in eleven to match for a person's number). Failing these is never
/// "nonconforming", so lenient mode cannot accept it either.
fn uscc_ruled_out(code: &[u8; 18]) -> bool {
    code[..17].iter().all(u8::is_ascii_digit)
        && (code[0] == b'0'
            || !uscc::is_entity_type(code[0], code[1])
            || uscc::org_check_char(&code[8..16]) != Some(code[16]))
}

/// Whether an 18-character code that is valid as neither type looks more like a resident ID
/// number than a USCC.
fn ric_is_plausible(code: &[u8; 18]) -> bool {
    if !code[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year = code[6..10]
        .iter()
        .fold(0u32, |y, &c| y * 10 + (c - b'0') as u32);
    (1800..=2099).contains(&year) || Day::parse_compact(&code[6..14]).is_some()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
