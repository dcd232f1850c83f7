//! The measures catalogue (措施清单, SPEC §4): which lists exist, and which measures apply to
//! which lists in which scenarios with which effect.
//!
//! The catalogue is a TOML file (`data/catalog.toml` ships the seed's measures; operators may
//! replace it). It is checked completely on load, so the decision engine can trust it: every
//! list code a measure names exists, the standard codes of SPEC §2 keep their meaning, and no
//! reward denies or punishment fast-tracks. Every refusal names the file, line and column.
//!
//! ```
//! use credgate_index::catalog::Catalog;
//! use credgate_index::model::{Effect, Scenario};
//!
//! let catalog = Catalog::builtin();
//! let defaulter = catalog.list("court_defaulter").unwrap();
//! let denied: Vec<&str> = catalog
//!     .measures_in(Scenario::Transport)
//!     .filter(|(m, effect)| *effect == Effect::Deny && m.applies_to_list(defaulter))
//!     .map(|(m, _)| m.id.as_str())
//!     .collect();
//! assert_eq!(denied, ["transport.court_defaulter.restrict"]);
//! ```

mod error;
#[cfg(test)]
mod tests;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use error::{CatalogError, ListProblem, MeasureProblem, Pos};

use crate::model::{Binding, Class, Effect, Kind, Role, Scenario};

/// The only catalogue format this build reads.
pub const FORMAT: u32 = 1;

/// The longest clean history a reward may ask for (`clean_years`). The seed's green
/// channel asks for 3 years (四(三)); more than a century is a typing error, and the
/// engine counts the years back from as_of in calendar arithmetic that a number near
/// 2^31 would overflow.
pub const MAX_CLEAN_YEARS: u32 = 100;

/// The standard lists of SPEC §2: code, name, class, domain. Every catalogue must declare them
/// with this class and domain, because data providers and callers rely on their meaning.
pub const STANDARD_LISTS: [(&str, &str, Class, &str); 12] = [
    (
        "court_defaulter",
        "失信被执行人名单",
        Class::Black,
        "judicial",
    ),
    (
        "tax_major_violation",
        "重大税收违法失信主体",
        Class::Black,
        "tax",
    ),
    (
        "market_serious_illegal",
        "严重违法失信名单",
        Class::Black,
        "market",
    ),
    ("market_abnormal", "经营异常名录", Class::Focus, "market"),
    (
        "safety_production",
        "安全生产失信联合惩戒名单",
        Class::Black,
        "safety",
    ),
    (
        "food_drug",
        "食品药品严重失信名单",
        Class::Black,
        "food_drug",
    ),
    (
        "environment",
        "环保严重失信名单",
        Class::Black,
        "environment",
    ),
    (
        "procurement_misconduct",
        "政府采购严重违法失信行为记录名单",
        Class::Black,
        "procurement",
    ),
    ("customs_dishonest", "海关失信企业", Class::Black, "customs"),
    ("tax_a_grade", "纳税信用A级纳税人", Class::Red, "tax"),
    (
        "contract_honoring",
        "守合同重信用企业",
        Class::Red,
        "market",
    ),
    (
        "honest_model",
        "诚信典型 (诚信道德模范、优秀青年志愿者、诚信会员)",
        Class::Red,
        "civic",
    ),
];

/// A validated catalogue.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Catalog {
    pub format: u32,
    pub lists: Vec<ListDef>,
    pub measures: Vec<Measure>,
}

/// One list (名单) and what it means.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ListDef {
    pub code: String,
    pub name: String,
    pub class: Class,
    pub domain: String,
}

/// One measure (措施) of the catalogue.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Measure {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub binding: Binding,
    pub classes: Vec<Class>,
    pub lists: Vec<String>,
    /// Effect per scenario, sorted by scenario so [`Measure::effect_in`] can binary-search.
    pub scenarios: Vec<(Scenario, Effect)>,
    /// Roles through which an organisation's record reaches a person (落实到人).
    pub linked_roles: Vec<Role>,
    /// Rewards only: when > 0 the measure also applies to a subject with no focus or black
    /// record active at any date in this many years up to the as-of date.
    pub clean_years: u32,
    pub basis: Basis,
    pub note: Option<String>,
}

/// The legal basis of a measure.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basis {
    /// Section(s) of the seed plan, e.g. `五(二)1`.
    pub seed: String,
    /// National documents, if any.
    #[serde(default)]
    pub national: Vec<String>,
}

impl Catalog {
    /// Parses and validates a catalogue; `origin` (usually the file name) prefixes messages.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Toml {
            origin: origin.to_string(),
            pos: e.span().map(|s| Pos::of_offset(text, s.start)),
            message: e.message().to_string(),
        })?;
        Validator { text, origin }.validate(raw)
    }

    /// Reads and parses a catalogue file; messages name the file as given.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|error| CatalogError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Catalog::parse(&text, &path.display().to_string())
    }

    /// The catalogue shipped in `data/catalog.toml`, compiled into the binary.
    pub fn builtin() -> Catalog {
        const TEXT: &str = include_str!("../../data/catalog.toml");
        // A test parses the shipped file, so this cannot fail in a released build.
        Catalog::parse(TEXT, "data/catalog.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// The position of a list in `lists`; snapshots store this instead of the code.
    pub fn list_index(&self, code: &str) -> Option<u16> {
        let i = self.lists.iter().position(|l| l.code == code)?;
        // Validation caps the number of lists at u16::MAX.
        Some(i as u16)
    }

    pub fn list(&self, code: &str) -> Option<&ListDef> {
        self.lists.iter().find(|l| l.code == code)
    }

    /// Every measure that has an effect in `scenario`, in catalogue order.
    pub fn measures_in(&self, scenario: Scenario) -> impl Iterator<Item = (&Measure, Effect)> {
        self.measures
            .iter()
            .filter_map(move |m| m.effect_in(scenario).map(|e| (m, e)))
    }

    /// The catalogue as canonical TOML, which [`Catalog::parse`] reads back to an equal value.
    /// A snapshot embeds this text so its decisions can be explained later.
    pub fn to_toml(&self) -> String {
        write::to_toml(self)
    }
}

impl Measure {
    /// Whether a record on `list` triggers this measure (by class or by code).
    pub fn applies_to_list(&self, list: &ListDef) -> bool {
        self.classes.contains(&list.class) || self.lists.contains(&list.code)
    }

    pub fn effect_in(&self, scenario: Scenario) -> Option<Effect> {
        self.scenarios
            .binary_search_by_key(&scenario, |&(s, _)| s)
            .ok()
            .map(|i| self.scenarios[i].1)
    }
}

// Enum-valued fields are read as spanned strings and parsed here rather than through the
// enums' own Deserialize impls: an error raised by those impls reaches toml only after the
// element is consumed, so it would point at the enclosing array or table instead of the word.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    format: Spanned<u32>,
    #[serde(default, rename = "list")]
    lists: Vec<RawList>,
    #[serde(default, rename = "measure")]
    measures: Vec<RawMeasure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    code: Spanned<String>,
    name: String,
    class: Spanned<String>,
    domain: String,
}

type Word = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    id: Word,
    name: String,
    kind: Word,
    binding: Word,
    #[serde(default)]
    classes: Vec<Word>,
    #[serde(default)]
    lists: Vec<Word>,
    #[serde(default)]
    scenarios: BTreeMap<Word, Word>,
    #[serde(default)]
    linked_roles: Vec<Word>,
    clean_years: Option<Spanned<u32>>,
    basis: Basis,
    note: Option<String>,
}

/// Turns the raw tables into a [`Catalog`], refusing the first problem found.
/// Turns the raw tables into a [`Catalog`], refusing the first problem found.
struct Validator<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Validator<'_> {
    fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        Pos::of_offset(self.text, s.span().start)
    }

    /// Parses one enum word (class, kind, binding, scenario, effect, role).
    fn word<T>(
        &self,
        w: &Word,
        what: &'static str,
        parse: fn(&str) -> Option<T>,
        expected: fn() -> &'static str,
    ) -> Result<T, CatalogError> {
        parse(w.get_ref()).ok_or_else(|| CatalogError::UnknownName {
            origin: self.origin.to_string(),
            pos: self.pos(w),
            what,
            found: w.get_ref().clone(),
            expected: expected(),
        })
    }

    fn validate(&self, raw: RawCatalog) -> Result<Catalog, CatalogError> {
        if *raw.format.get_ref() != FORMAT {
            return Err(CatalogError::Format {
                origin: self.origin.to_string(),
                pos: self.pos(&raw.format),
                found: *raw.format.get_ref(),
            });
        }
        if raw.lists.len() > u16::MAX as usize {
            return Err(CatalogError::TooManyLists {
                origin: self.origin.to_string(),
                count: raw.lists.len(),
            });
        }
        let lists = self.lists(raw.lists)?;
        let by_code: HashMap<&str, &ListDef> = lists.iter().map(|l| (l.code.as_str(), l)).collect();
        let mut first_line: HashMap<String, u32> = HashMap::new();
        let mut measures = Vec::with_capacity(raw.measures.len());
        for m in raw.measures {
            let pos = self.pos(&m.id);
            let fail = |problem| CatalogError::Measure {
                origin: self.origin.to_string(),
                pos,
                id: m.id.get_ref().clone(),
                problem,
            };
            if !is_measure_id(m.id.get_ref()) {
                return Err(fail(MeasureProblem::BadId));
            }
            if let Some(&first_line) = first_line.get(m.id.get_ref()) {
                return Err(fail(MeasureProblem::Duplicate { first_line }));
            }
            first_line.insert(m.id.get_ref().clone(), pos.line);
            measures.push(self.measure(m, &by_code)?);
        }
        Ok(Catalog {
            format: FORMAT,
            lists,
            measures,
        })
    }

    fn lists(&self, raw: Vec<RawList>) -> Result<Vec<ListDef>, CatalogError> {
        let mut first_line: HashMap<String, u32> = HashMap::new();
        let mut lists = Vec::with_capacity(raw.len());
        for l in raw {
            let pos = self.pos(&l.code);
            let code = l.code.into_inner();
            let fail = |problem| CatalogError::List {
                origin: self.origin.to_string(),
                pos,
                code: code.clone(),
                problem,
            };
            if !is_list_code(&code) {
                return Err(fail(ListProblem::BadCode));
            }
            if let Some(&first_line) = first_line.get(&code) {
                return Err(fail(ListProblem::Duplicate { first_line }));
            }
            let class = self.word(&l.class, "class", Class::parse, Class::expected)?;
            if let Some(&(_, _, want_class, want_domain)) =
                STANDARD_LISTS.iter().find(|s| s.0 == code)
            {
                if class != want_class || l.domain != want_domain {
                    return Err(fail(ListProblem::StandardChanged {
                        class,
                        domain: l.domain,
                        expected_class: want_class,
                        expected_domain: want_domain,
                    }));
                }
            }
            first_line.insert(code.clone(), pos.line);
            lists.push(ListDef {
                code,
                name: l.name,
                class,
                domain: l.domain,
            });
        }
        for &(code, name, class, domain) in &STANDARD_LISTS {
            if !first_line.contains_key(code) {
                return Err(CatalogError::StandardListMissing {
                    origin: self.origin.to_string(),
                    code,
                    name,
                    class,
                    domain,
                });
            }
        }
        Ok(lists)
    }

    fn measure(
        &self,
        m: RawMeasure,
        lists: &HashMap<&str, &ListDef>,
    ) -> Result<Measure, CatalogError> {
        let fail = |pos, problem| CatalogError::Measure {
            origin: self.origin.to_string(),
            pos,
            id: m.id.get_ref().clone(),
            problem,
        };
        let at_id = self.pos(&m.id);
        let kind = self.word(&m.kind, "kind", Kind::parse, Kind::expected)?;
        let binding = self.word(&m.binding, "binding", Binding::parse, Binding::expected)?;

        // A reward for bad lists or a punishment for good ones is always a slip of the pen.
        let fits_kind = |class: Class| match kind {
            Kind::Punish => class != Class::Red,
            Kind::Reward => class == Class::Red,
        };
        let mut classes = Vec::with_capacity(m.classes.len());
        for w in &m.classes {
            let class = self.word(w, "class", Class::parse, Class::expected)?;
            if !fits_kind(class) {
                let list = None;
                let problem = MeasureProblem::ClassAgainstKind { kind, class, list };
                return Err(fail(self.pos(w), problem));
            }
            classes.push(class);
        }
        for w in &m.lists {
            let Some(list) = lists.get(w.get_ref().as_str()) else {
                let code = w.get_ref().clone();
                return Err(fail(self.pos(w), MeasureProblem::UnknownList { code }));
            };
            if !fits_kind(list.class) {
                let problem = MeasureProblem::ClassAgainstKind {
                    kind,
                    class: list.class,
                    list: Some(list.code.clone()),
                };
                return Err(fail(self.pos(w), problem));
            }
        }
        if m.classes.is_empty() && m.lists.is_empty() {
            return Err(fail(at_id, MeasureProblem::NoTarget));
        }

        if m.scenarios.is_empty() {
            return Err(fail(at_id, MeasureProblem::NoScenarios));
        }
        let mut scenarios = Vec::with_capacity(m.scenarios.len());
        for (s, e) in &m.scenarios {
            let scenario = self.word(s, "scenario", Scenario::parse, Scenario::expected)?;
            let effect = self.word(e, "effect", Effect::parse, Effect::expected)?;
            let allowed = match kind {
                Kind::Punish => effect != Effect::FastTrack,
                Kind::Reward => effect == Effect::FastTrack,
            };
            if !allowed {
                let problem = MeasureProblem::EffectAgainstKind {
                    kind,
                    scenario,
                    effect,
                };
                return Err(fail(self.pos(e), problem));
            }
            scenarios.push((scenario, effect));
        }
        // The map is ordered by the scenarios' spelling; effect_in needs enum order.
        scenarios.sort_by_key(|&(s, _)| s);

        let mut linked_roles = Vec::with_capacity(m.linked_roles.len());
        for w in &m.linked_roles {
            linked_roles.push(self.word(w, "role", Role::parse, Role::expected)?);
        }
        if let (Kind::Reward, Some(first)) = (kind, m.linked_roles.first()) {
            return Err(fail(self.pos(first), MeasureProblem::LinkedRolesOnReward));
        }
        let clean_years = match &m.clean_years {
            Some(y) if kind == Kind::Punish && *y.get_ref() > 0 => {
                let problem = MeasureProblem::CleanYearsOnPunish {
                    years: *y.get_ref(),
                };
                return Err(fail(self.pos(y), problem));
            }
            Some(y) if *y.get_ref() > MAX_CLEAN_YEARS => {
                let problem = MeasureProblem::CleanYearsTooMany {
                    years: *y.get_ref(),
                };
                return Err(fail(self.pos(y), problem));
            }
            Some(y) => *y.get_ref(),
            None => 0,
        };

        Ok(Measure {
            id: m.id.into_inner(),
            name: m.name,
            kind,
            binding,
            classes,
            lists: m.lists.into_iter().map(Spanned::into_inner).collect(),
            scenarios,
            linked_roles,
            clean_years,
            basis: m.basis,
            note: m.note,
        })
    }
}

fn is_list_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Measure ids are dotted list-code-like segments: `scenario.class.what`.
fn is_measure_id(s: &str) -> bool {
    s.split('.').all(is_list_code)
}
