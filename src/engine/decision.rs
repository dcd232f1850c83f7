//! The answer to "may we grant this to this subject today?" (SPEC §7), borrowing its strings
//! from the snapshot so that producing it copies nothing.

use std::borrow::Cow;

use serde::Serialize;

use credgate_index::date::Day;
use credgate_index::model::{Binding, Class, Effect, Kind, Role, Scenario};

use super::DisplayId;

/// The decision, from strongest to weakest: deny > review > fast_track > clear.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deny,
    Review,
    FastTrack,
    Clear,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deny => "deny",
            Outcome::Review => "review",
            Outcome::FastTrack => "fast_track",
            Outcome::Clear => "clear",
        }
    }

    pub const ALL: [Outcome; 4] = [
        Outcome::Deny,
        Outcome::Review,
        Outcome::FastTrack,
        Outcome::Clear,
    ];
}

#[derive(Clone, Debug, Serialize)]
pub struct Decision<'a> {
    /// Normalised identifier; a person's number is masked unless the caller is entitled.
    pub id: DisplayId,
    pub id_type: &'static str,
    pub scenario: Scenario,
    pub as_of: Day,
    pub decision: Outcome,
    pub heightened: bool,
    pub nonconforming: bool,
    /// The subject's name as the lists record it; `null` when the subject is not in any list,
    /// or is a person whose every record is erased and who holds no role (rule 6).
    pub name: Option<Cow<'a, str>>,
    pub measures: Vec<AppliedMeasure<'a>>,
    pub records: Vec<ActiveRecord<'a>>,
    pub snapshot: &'a str,
}

#[derive(Clone, Debug, Serialize)]
pub struct AppliedMeasure<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: Kind,
    /// After heightening (rule 4): a recommended punitive measure becomes mandatory.
    pub binding: Binding,
    pub effect: Effect,
    pub basis: Basis<'a>,
    /// What made it apply: records (direct or through a link), or a clean history.
    pub because: Vec<Because<'a>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Basis<'a> {
    pub seed: &'a str,
    pub national: &'a [String],
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Because<'a> {
    Record {
        record_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<Via<'a>>,
    },
    /// Rule 5's green channel: no focus or black record active in `years` years up to as_of.
    CleanHistory { clean_years: u32, since: Day },
}

/// The organisation and role through which an org's record reaches a person (rule 3).
#[derive(Clone, Debug, Serialize)]
pub struct Via<'a> {
    pub org: &'a str,
    pub org_name: Cow<'a, str>,
    pub role: Role,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActiveRecord<'a> {
    pub record_id: Cow<'a, str>,
    pub list_code: &'a str,
    pub list_name: &'a str,
    pub class: Class,
    pub domain: &'a str,
    pub authority: Cow<'a, str>,
    pub doc_no: Cow<'a, str>,
    pub reason: Cow<'a, str>,
    pub decided_on: Day,
    pub effective_from: Day,
    pub effective_until: Option<Day>,
    pub under_objection: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via<'a>>,
}
