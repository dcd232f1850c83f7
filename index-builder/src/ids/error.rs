//! Why an input is not a valid identifier.
//!
//! Every variant carries the facts a person needs to correct the input (the position, the
//! character found, the character expected) and owns no heap memory, so reporting an error
//! costs no allocation either.

use std::fmt;

use super::IdType;

/// What is wrong with a birth date inside a resident identity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BirthDateProblem {
    /// No such calendar day (month 13, 31 April, 29 February of a common year).
    DoesNotExist,
    /// After the day the number is judged on.
    InFuture,
    /// Before 1800-01-01, which no living person's number carries.
    TooEarly,
}

/// Why an input is not a valid USCC or resident identity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdError {
    /// Nothing significant is left after trimming spaces and hyphens.
    Empty,
    /// The number of significant characters is not one the expected type has.
    /// `id_type` is `None` when the type was to be detected from the input.
    Length {
        id_type: Option<IdType>,
        found: usize,
    },
    /// A character not allowed at this 1-based position of the normalised code.
    BadChar {
        id_type: Option<IdType>,
        position: usize,
        found: char,
        /// What the position admits, in words.
        expected: &'static str,
    },
    /// USCC position 17, the GB 11714 organisation-code check over positions 9–16, is wrong.
    OrgCheck { expected: char, found: char },
    /// The USCC is well formed in every respect but its MOD 31 check character (position 18)
    /// is wrong. Some lawfully issued pilot-area codes look like this ("nonconforming"); a
    /// plain typo in position 18 does too.
    UsccCheck { expected: char, found: char },
    /// The birth date (positions 7–14, as `YYYYMMDD` digits) is not acceptable. For a
    /// 15-digit legacy number (`legacy`) the digits are those after inserting "19", and the
    /// date is at positions 7–12 of the input.
    BirthDate {
        date: [u8; 8],
        problem: BirthDateProblem,
        legacy: bool,
    },
    /// Position 18 holds a character no check character can be (for a USCC one outside the
    /// character set, for a RIC anything but a digit or X), while positions 1–17 are right, so
    /// the expected check character is known. Never "nonconforming".
    CheckCharNotAllowed {
        id_type: IdType,
        expected: char,
        found: char,
    },
    /// The ISO 7064 MOD 11-2 check character (position 18) of a resident identity number is
    /// wrong.
    RicCheck { expected: char, found: char },
}

impl IdError {
    /// For check failures: the character the check position should hold.
    pub fn expected_check(&self) -> Option<char> {
        match *self {
            IdError::UsccCheck { expected, .. }
            | IdError::RicCheck { expected, .. }
            | IdError::CheckCharNotAllowed { expected, .. } => Some(expected),
            _ => None,
        }
    }

    /// The identifier type the error belongs to, when it is known.
    pub fn id_type(&self) -> Option<IdType> {
        match *self {
            IdError::Empty => None,
            IdError::Length { id_type, .. } | IdError::BadChar { id_type, .. } => id_type,
            IdError::OrgCheck { .. } | IdError::UsccCheck { .. } => Some(IdType::Uscc),
            IdError::BirthDate { .. } | IdError::RicCheck { .. } => Some(IdType::Ric),
            IdError::CheckCharNotAllowed { id_type, .. } => Some(id_type),
        }
    }

    /// True when the input is a USCC that is well formed except for its MOD 31 check
    /// character: such a code is accepted in [`Mode::Lenient`](super::Mode::Lenient).
    pub fn is_nonconforming(&self) -> bool {
        matches!(self, IdError::UsccCheck { .. })
    }

    /// The same error attributed to `t`, for errors found before the type was known.
    pub(crate) fn with_type(self, t: IdType) -> IdError {
        match self {
            IdError::Length { found, .. } => IdError::Length {
                id_type: Some(t),
                found,
            },
            IdError::BadChar {
                position,
                found,
                expected,
                ..
            } => IdError::BadChar {
                id_type: Some(t),
                position,
                found,
                expected,
            },
            other => other,
        }
    }
}

fn prefix(f: &mut fmt::Formatter<'_>, id_type: Option<IdType>) -> fmt::Result {
    match id_type {
        Some(IdType::Uscc) => f.write_str("invalid USCC: "),
        Some(IdType::Ric) => f.write_str("invalid resident ID number: "),
        None => Ok(()),
    }
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        prefix(f, self.id_type())?;
        match *self {
            IdError::Empty => f.write_str(
                "no identifier given: the input is empty or holds only spaces and hyphens",
            ),
            IdError::Length { id_type, found } => {
                let accepted = match id_type {
                    Some(IdType::Uscc) => "a USCC has 18",
                    Some(IdType::Ric) => {
                        "expected 18 (or 15 digits for a legacy first-generation number)"
                    }
                    None => {
                        "expected 18 (USCC or resident ID number) or 15 digits \
                         (legacy resident ID number)"
                    }
                };
                write!(f, "wrong length: {found} characters; {accepted}")
            }
            IdError::BadChar {
                position,
                found,
                expected,
                ..
            } => write!(
                f,
                "bad character '{found}' at position {position}: expected {expected}"
            ),
            IdError::OrgCheck { expected, found } => write!(
                f,
                "organisation-code check character (position 17) should be '{expected}', \
                 found '{found}'; one of positions 9-17 is probably mistyped"
            ),
            IdError::UsccCheck { expected, found } => write!(
                f,
                "well formed but fails the MOD 31 check: position 18 should be '{expected}', \
                 found '{found}' (a nonconforming pilot-area code is accepted only in lenient mode)"
            ),
            IdError::BirthDate {
                date,
                problem,
                legacy,
            } => {
                // Positions 7-14 are what a masked number hides, and this message is shown
                // next to masked input (screening rows, the builder's rejects), so it names
                // the wrong part of the date, never the whole date or its year.
                let at = if legacy {
                    "positions 7-12 of the 15-digit number"
                } else {
                    "positions 7-14"
                };
                write!(f, "birth date ({at}) ")?;
                // The date bytes are digits: the variant is built only after checking them.
                let s = std::str::from_utf8(&date).unwrap_or("????????");
                let (m, dd) = (&s[4..6], &s[6..8]);
                match problem {
                    BirthDateProblem::DoesNotExist if !("01"..="12").contains(&m) => {
                        write!(f, "is no calendar day: month {m} does not exist")
                    }
                    BirthDateProblem::DoesNotExist => {
                        write!(
                            f,
                            "is no calendar day: day {dd} does not exist in month {m}"
                        )
                    }
                    BirthDateProblem::InFuture => {
                        f.write_str("is after the day the number is judged on")
                    }
                    BirthDateProblem::TooEarly => f.write_str("is before 1800-01-01"),
                }
            }
            IdError::CheckCharNotAllowed {
                id_type,
                expected,
                found,
            } => {
                let allowed = match id_type {
                    IdType::Uscc => "a digit or a capital letter other than I, O, S, V, Z",
                    IdType::Ric => "a digit or X",
                };
                write!(
                    f,
                    "bad character '{found}' at position 18: expected {allowed}; \
                     the check character for positions 1-17 is '{expected}'"
                )
            }
            IdError::RicCheck { expected, found } => write!(
                f,
                "check character (position 18) should be '{expected}', found '{found}'; \
                 the number is probably mistyped"
            ),
        }
    }
}

impl std::error::Error for IdError {}
