//! The decision engine: SPEC §5 over an open snapshot and the catalogue it was built with.
//!
//! [`Engine::open`] maps a snapshot and compiles its catalogue into per-scenario tables (which
//! lists a measure reaches, which roles carry it to persons), so that a check is a lookup in
//! the identifier index (`ids.idx`, or the FST of a version 1 snapshot), a walk over the
//! subject's few records and links, and no parsing.
//!
//! ```no_run
//! use credgate::engine::{Engine, Options};
//! use credgate_index::{date::Day, ids, model::Scenario};
//!
//! let engine = Engine::open(std::path::Path::new("/var/lib/credgate")).unwrap();
//! let today = Day::today_cst();
//! let id = ids::parse("91110000600037341L", ids::Mode::Strict, today).unwrap();
//! let d = engine.check(&id, Scenario::Procurement, today, today, Options::default());
//! println!("{}", serde_json::to_string(&d).unwrap());
//! ```

pub mod decision;
pub mod json;
pub mod profile;
pub mod rules;
pub mod screen;
pub mod search;
pub mod verdict;

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use credgate_index::catalog::{Catalog, CatalogError, Measure};
use credgate_index::date::Day;
use credgate_index::format::layout::StrRef;
use credgate_index::format::reader::Snapshot;
use credgate_index::format::FormatError;
use credgate_index::ids::{self, Id, IdError, IdType};
use credgate_index::model::{Class, Effect, Kind, Scenario, SubjectType};

use crate::trust::privacy;

pub use decision::{Decision, Outcome};

/// Caller entitlements that change what a decision shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Show people's identity numbers in full (the `personal_full` scope); otherwise they
    /// are masked as first 6 + `********` + last 4, also where the source data wrote one
    /// into a name, reason, document number or authority (see [`Engine::text`]).
    pub full_personal_ids: bool,
}

#[derive(Debug)]
pub enum EngineError {
    Snapshot(FormatError),
    /// The catalogue embedded in the snapshot does not parse, or does not cover its lists.
    Catalog(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Snapshot(e) => write!(f, "{e}"),
            EngineError::Catalog(e) => write!(f, "snapshot catalogue: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<FormatError> for EngineError {
    fn from(e: FormatError) -> EngineError {
        EngineError::Snapshot(e)
    }
}

impl From<CatalogError> for EngineError {
    fn from(e: CatalogError) -> EngineError {
        EngineError::Catalog(e.to_string())
    }
}

/// A snapshot list as the engine sees it.
pub(crate) struct ListInfo {
    pub code: String,
    pub name: String,
    pub class: Class,
    pub domain: String,
    /// Roles through which a punitive measure of any scenario carries this list's org
    /// records to persons (bit per `Role::code()`): the person's linked records (rule 3).
    pub linked_roles: u8,
}

/// A measure of one scenario, with its reach precomputed per snapshot list.
pub(crate) struct Compiled {
    pub measure: Measure,
    pub effect: Effect,
    /// Indexed by snapshot list index.
    pub reaches: Vec<bool>,
    pub roles: u8,
}

pub struct Engine {
    snapshot: Snapshot,
    catalog: Catalog,
    pub(crate) lists: Vec<ListInfo>,
    /// Indexed by `Scenario::code()`.
    pub(crate) by_scenario: Vec<Vec<Compiled>>,
    /// Indexed by `Role::code()`: the list classes (bit `1 << Class::code()`) that have a
    /// list whose records reach persons through that role. An organisation whose
    /// `class_mask` shares no bit with it cannot reach a person in that role, so its records
    /// need not be read.
    pub(crate) classes_reaching: [u8; 8],
    /// The ranges of the string heap that hold a run of digits long enough to be a person's
    /// number ([`privacy::digit_runs`]), once [`Engine::scan_text`] has found them.
    digit_runs: OnceLock<Vec<(usize, usize)>>,
}

impl Engine {
    /// Opens a snapshot root or generation (cheap: headers only; call
    /// [`Engine::verify`] before serving).
    pub fn open(path: &Path) -> Result<Engine, EngineError> {
        Engine::new(Snapshot::open(path)?)
    }

    /// [`Engine::open`], then every file's checksum compared with its payload
    /// ([`Snapshot::verify_checksums`]), so that a snapshot damaged on disk is refused
    /// instead of answered from. What the command-line tools use; the server runs the full
    /// [`Engine::verify`] before it serves a snapshot.
    pub fn open_checked(path: &Path) -> Result<Engine, EngineError> {
        let engine = Engine::open(path)?;
        engine.snapshot.verify_checksums()?;
        Ok(engine)
    }

    pub fn new(snapshot: Snapshot) -> Result<Engine, EngineError> {
        let catalog = Catalog::parse(
            snapshot.catalog_toml(),
            "catalog.toml (embedded in the snapshot)",
        )?;
        let mut lists = Vec::with_capacity(snapshot.manifest().lists.len());
        for l in &snapshot.manifest().lists {
            lists.push(ListInfo {
                code: l.code.clone(),
                name: l.name.clone(),
                class: l.class,
                domain: l.domain.clone(),
                linked_roles: 0,
            });
        }
        let mut by_scenario: Vec<Vec<Compiled>> =
            (0..=Scenario::ALL.len()).map(|_| Vec::new()).collect();
        for m in &catalog.measures {
            let reaches: Vec<bool> = lists.iter().map(|l| applies(m, l)).collect();
            let roles = m
                .linked_roles
                .iter()
                .fold(0u8, |acc, r| acc | 1 << r.code());
            if m.kind == Kind::Punish {
                for (l, &hit) in lists.iter_mut().zip(&reaches) {
                    if hit {
                        l.linked_roles |= roles;
                    }
                }
            }
            for &(scenario, effect) in &m.scenarios {
                by_scenario[scenario.code() as usize].push(Compiled {
                    measure: m.clone(),
                    effect,
                    reaches: reaches.clone(),
                    roles,
                });
            }
        }
        let mut classes_reaching = [0u8; 8];
        for l in &lists {
            for (code, reach) in classes_reaching.iter_mut().enumerate() {
                if l.linked_roles & (1 << code) != 0 {
                    *reach |= 1 << l.class.code();
                }
            }
        }
        Ok(Engine {
            snapshot,
            catalog,
            lists,
            by_scenario,
            classes_reaching,
            digit_runs: OnceLock::new(),
        })
    }

    /// Reads and checks the whole snapshot (see [`Snapshot::verify`]), and scans its strings
    /// for people's numbers ([`Engine::scan_text`]), so that a server pays for both before it
    /// serves the snapshot.
    pub fn verify(&self) -> Result<(), FormatError> {
        self.snapshot.verify()?;
        self.scan_text();
        Ok(())
    }

    /// Finds the long runs of digits in the snapshot's strings once (linear in the string
    /// heap: tens of milliseconds a million records), after which [`Engine::text`] looks
    /// only at the strings that overlap one. Worth it for many decisions (a server, a batch);
    /// a single check skips it and looks at the few strings it shows.
    pub fn scan_text(&self) {
        self.digit_runs.get_or_init(|| {
            let heap = self.snapshot.strings_heap();
            match std::str::from_utf8(heap) {
                Ok(text) => privacy::digit_runs(text),
                // Not text (verify refuses such a snapshot): every string is looked at.
                Err(_) => vec![(0, heap.len())],
            }
        });
    }

    /// A free-text string of the snapshot (a name, record id, reason, document number,
    /// authority) as a caller may see it: with every person's number in it masked
    /// ([`privacy::mask_numbers`]) unless the caller holds `personal_full`. Government exports
    /// do write the number of a company's legal representative into a reason. After
    /// [`Engine::scan_text`], only the strings that overlap a long run of digits in the heap
    /// are looked at, so the rest cost a comparison or two; before it, each string is.
    pub(crate) fn text(&self, r: StrRef, opts: Options) -> Cow<'_, str> {
        let s = self.snapshot.str(r);
        if opts.full_personal_ids || s.len() < privacy::MIN_RUN {
            return Cow::Borrowed(s);
        }
        let Some(runs) = self.digit_runs.get() else {
            return privacy::mask_numbers(s);
        };
        // The first run that ends after the string starts; it overlaps the string when it
        // starts before the string ends.
        let i = runs.partition_point(|&(_, end)| end <= r.offset());
        match runs.get(i) {
            Some(&(start, _)) if start < r.end() => privacy::mask_numbers(s),
            _ => Cow::Borrowed(s),
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub(crate) fn list(&self, index: u16) -> &ListInfo {
        &self.lists[index as usize]
    }

    /// Parses an identifier a caller gives, its type detected ([`ids::parse_known`]): the
    /// rare codes that read as both an organisation's and a person's take the type of the
    /// subject this snapshot holds under them.
    pub fn parse_id(&self, input: &str, mode: ids::Mode, today: Day) -> Result<Id, IdError> {
        ids::parse_known(input, mode, today, |code| self.subject_type_of(code))
    }

    /// The type of the subject the snapshot holds under `code`, if any.
    fn subject_type_of(&self, code: &[u8; 18]) -> Option<IdType> {
        let snap = self.snapshot();
        let subject = snap.subject(snap.lookup(code)?)?;
        Some(match SubjectType::from_code(subject.subject_type)? {
            SubjectType::Org => IdType::Uscc,
            SubjectType::Person => IdType::Ric,
        })
    }
}

fn applies(m: &Measure, l: &ListInfo) -> bool {
    m.classes.contains(&l.class) || m.lists.contains(&l.code)
}

/// Shows an 18-character identifier: organisations in full, people masked unless entitled.
pub fn display_id(id: &[u8; 18], person: bool, full: bool) -> String {
    DisplayId::new(id, person, full).as_str().to_owned()
}

/// An identifier as a decision shows it, held inline (no allocation): organisations in full,
/// a person's number as first 6 + `********` + last 4 unless the caller is entitled. It
/// serialises as a JSON string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DisplayId([u8; 18]);

impl DisplayId {
    pub fn new(id: &[u8; 18], person: bool, full: bool) -> DisplayId {
        // Normalised identifiers are ASCII letters and digits; anything else can only come
        // from a damaged, unverified snapshot and is shown as question marks.
        // (A branch-free fold: every check runs this on the identifier asked about.)
        let plain = id
            .iter()
            .fold(true, |ok, &c| ok & c.is_ascii_alphanumeric());
        let mut b = if plain { *id } else { [b'?'; 18] };
        if person && !full {
            b[6..14].fill(b'*');
        }
        DisplayId(b)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// The 18 characters: ASCII letters, digits, `*` or `?`, none of which JSON escapes.
    pub fn as_bytes(&self) -> &[u8; 18] {
        &self.0
    }
}

impl fmt::Display for DisplayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DisplayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for DisplayId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for DisplayId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for DisplayId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_ids_mask_persons_unless_entitled() {
        let ric = b"410102196804120211";
        assert_eq!(DisplayId::new(ric, true, false), "410102********0211");
        assert_eq!(DisplayId::new(ric, true, true), "410102196804120211");
        assert_eq!(DisplayId::new(ric, false, false), "410102196804120211");
        assert_eq!(display_id(ric, true, false), "410102********0211");
        let bad = b"41010219680412021\xff";
        assert_eq!(DisplayId::new(bad, false, false), "??????????????????");
        assert_eq!(DisplayId::new(bad, true, false), "??????********????");
        assert_eq!(
            serde_json::to_string(&DisplayId::new(ric, true, false)).unwrap(),
            "\"410102********0211\""
        );
    }
}
