//! Why a catalogue was refused, with the file and position an operator has to fix.

use std::fmt;
use std::path::PathBuf;

use crate::model::{Class, Effect, Kind, Scenario};

/// A 1-based line and column (in characters, so Chinese text counts one per character).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// The position of byte `offset` in `text`. An offset past the end (or inside a
    /// character) is clamped, because a position is only ever used to point a person at a line.
    pub fn of_offset(text: &str, offset: usize) -> Pos {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Pos {
            line: before.matches('\n').count() as u32 + 1,
            column: before[line_start..].chars().count() as u32 + 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What is wrong with one `[[list]]` table.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ListProblem {
    /// The code is not lower-case ASCII letters, digits and underscores.
    BadCode,
    /// Another `[[list]]` table already declares this code.
    Duplicate { first_line: u32 },
    /// A standard code of SPEC §2 declared with another class or domain.
    StandardChanged {
        class: Class,
        domain: String,
        expected_class: Class,
        expected_domain: &'static str,
    },
}

/// What is wrong with one `[[measure]]` table.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MeasureProblem {
    /// The id is not dotted lower-case segments (`area.class.what`).
    BadId,
    /// Another `[[measure]]` table already uses this id.
    Duplicate { first_line: u32 },
    /// `lists` names a code that no `[[list]]` table declares.
    UnknownList { code: String },
    /// Both `classes` and `lists` are empty, so the measure would never apply.
    NoTarget,
    /// `scenarios` is empty, so the measure would never apply.
    NoScenarios,
    /// A reward that denies, or a punishment that fast-tracks.
    EffectAgainstKind {
        kind: Kind,
        scenario: Scenario,
        effect: Effect,
    },
    /// A reward aimed at focus or black lists, or a punishment aimed at red lists.
    ClassAgainstKind {
        kind: Kind,
        class: Class,
        list: Option<String>,
    },
    /// `clean_years` describes a reward for a clean history; it means nothing on a punishment.
    CleanYearsOnPunish { years: u32 },
    /// `clean_years` above [`MAX_CLEAN_YEARS`](super::MAX_CLEAN_YEARS).
    CleanYearsTooMany { years: u32 },
    /// Rewards are not passed on to linked persons; only punishments are 落实到人.
    LinkedRolesOnReward,
}

/// Why a catalogue could not be loaded.
#[derive(Debug)]
pub enum CatalogError {
    /// The file could not be read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Not valid TOML, a value of the wrong type, a missing or an unknown key.
    Toml {
        origin: String,
        pos: Option<Pos>,
        message: String,
    },
    /// A class, kind, binding, scenario, effect or role that does not exist.
    UnknownName {
        origin: String,
        pos: Pos,
        what: &'static str,
        found: String,
        expected: &'static str,
    },
    /// `format` is not a version this build understands.
    Format {
        origin: String,
        pos: Pos,
        found: u32,
    },
    /// More lists than a snapshot's two-byte list index can address.
    TooManyLists { origin: String, count: usize },
    /// A standard list code of SPEC §2 has no `[[list]]` table.
    StandardListMissing {
        origin: String,
        code: &'static str,
        name: &'static str,
        class: Class,
        domain: &'static str,
    },
    List {
        origin: String,
        pos: Pos,
        code: String,
        problem: ListProblem,
    },
    Measure {
        origin: String,
        pos: Pos,
        id: String,
        problem: MeasureProblem,
    },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Io { path, error } => {
                write!(f, "cannot read catalogue {}: {error}", path.display())
            }
            CatalogError::Toml {
                origin,
                pos: Some(pos),
                message,
            } => write!(f, "{origin}:{pos}: {}", message.trim_end()),
            CatalogError::Toml {
                origin,
                pos: None,
                message,
            } => write!(f, "{origin}: {}", message.trim_end()),
            CatalogError::UnknownName {
                origin,
                pos,
                what,
                found,
                expected,
            } => write!(
                f,
                "{origin}:{pos}: unknown {what} `{found}`, expected one of: {expected}"
            ),
            CatalogError::Format { origin, pos, found } => write!(
                f,
                "{origin}:{pos}: catalogue format {found} is not supported; this build reads \
                 format = 1"
            ),
            CatalogError::TooManyLists { origin, count } => write!(
                f,
                "{origin}: {count} lists declared; at most 65535 are supported"
            ),
            CatalogError::StandardListMissing {
                origin,
                code,
                name,
                class,
                domain,
            } => write!(
                f,
                "{origin}: standard list \"{code}\" ({name}) is missing; add a [[list]] table \
                 with code = \"{code}\", class = \"{class}\", domain = \"{domain}\""
            ),
            CatalogError::List {
                origin,
                pos,
                code,
                problem,
            } => {
                write!(f, "{origin}:{pos}: list \"{code}\": ")?;
                match problem {
                    ListProblem::BadCode => f.write_str(
                        "a list code may contain only a-z, 0-9 and _ (it appears in CSV files)",
                    ),
                    ListProblem::Duplicate { first_line } => write!(
                        f,
                        "declared twice (first on line {first_line}); remove one of the tables"
                    ),
                    ListProblem::StandardChanged {
                        class,
                        domain,
                        expected_class,
                        expected_domain,
                    } => write!(
                        f,
                        "is a standard code and must have class = \"{expected_class}\", \
                         domain = \"{expected_domain}\" (found class = \"{class}\", \
                         domain = \"{domain}\"); declare a new code for a different list"
                    ),
                }
            }
            CatalogError::Measure {
                origin,
                pos,
                id,
                problem,
            } => {
                write!(f, "{origin}:{pos}: measure \"{id}\": ")?;
                fmt_measure_problem(problem, f)
            }
        }
    }
}

fn fmt_measure_problem(problem: &MeasureProblem, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match problem {
        MeasureProblem::BadId => f.write_str(
            "an id is dot-separated segments of a-z, 0-9 and _ (e.g. licensing.black.strict_review)",
        ),
        MeasureProblem::Duplicate { first_line } => write!(
            f,
            "id used twice (first on line {first_line}); ids must be unique and stable"
        ),
        MeasureProblem::UnknownList { code } => write!(
            f,
            "unknown list code \"{code}\" in lists; declare it in a [[list]] table or fix the \
             spelling"
        ),
        MeasureProblem::NoTarget => f.write_str(
            "classes and lists are both empty, so it applies to nothing; name a class or a list",
        ),
        MeasureProblem::NoScenarios => f.write_str(
            "scenarios is empty, so it applies nowhere; give at least one scenario = effect",
        ),
        MeasureProblem::EffectAgainstKind {
            kind,
            scenario,
            effect,
        } => {
            let allowed = match kind {
                Kind::Punish => "deny or review",
                Kind::Reward => "fast_track",
            };
            write!(
                f,
                "a {kind} measure cannot have effect {effect} (in scenario {scenario}); use \
                 {allowed}"
            )
        }
        MeasureProblem::ClassAgainstKind { kind, class, list } => {
            let target = match list {
                Some(code) => format!("list \"{code}\" (class {class})"),
                None => format!("class {class}"),
            };
            let wanted = match kind {
                Kind::Punish => "focus or black",
                Kind::Reward => "red",
            };
            write!(
                f,
                "a {kind} measure cannot apply to {target}; it applies to {wanted} lists only"
            )
        }
        MeasureProblem::CleanYearsOnPunish { years } => write!(
            f,
            "clean_years = {years} is only meaningful on a reward measure; remove it or set it to 0"
        ),
        MeasureProblem::CleanYearsTooMany { years } => write!(
            f,
            "clean_years = {years} is more than {} years, longer than any record's history; \
             the green channel of 四(三) asks for 3",
            super::MAX_CLEAN_YEARS
        ),
        MeasureProblem::LinkedRolesOnReward => f.write_str(
            "linked_roles is only meaningful on a punish measure (落实到人); remove it",
        ),
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod pos_tests {
    use super::Pos;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "a = 1\nname = \"失信\"\nx";
        assert_eq!(Pos::of_offset(text, 0), Pos { line: 1, column: 1 });
        assert_eq!(Pos::of_offset(text, 6), Pos { line: 2, column: 1 });
        // After `name = "失信` the column counts the two Chinese characters once each.
        let after = text.find('"').unwrap() + 1 + "失信".len();
        assert_eq!(
            Pos::of_offset(text, after),
            Pos {
                line: 2,
                column: 11
            }
        );
        assert_eq!(Pos::of_offset(text, 999), Pos { line: 3, column: 2 });
        // An offset inside a multi-byte character is moved to its start.
        assert_eq!(Pos::of_offset(text, 15), Pos::of_offset(text, 14));
    }
}
