//! One row of a batch screening: the compact answer that `credgate screen` and
//! `POST /v1/screen` both produce for each input identifier.

use serde::Serialize;

use credgate_index::date::Day;
use credgate_index::ids::{Id, IdError, Mode};
use credgate_index::model::Scenario;

use super::decision::Outcome;
use super::verdict::{ScreenPlan, Verdict};
use super::{Engine, Options};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScreenResult {
    /// The normalised identifier (people masked unless entitled); `None` when invalid.
    pub id: Option<String>,
    pub id_type: Option<&'static str>,
    pub decision: Option<Outcome>,
    pub heightened: bool,
    pub nonconforming: bool,
    /// Codes of the lists with an active record (own or linked), in record order, once each.
    pub lists: Vec<String>,
    /// Ids of the applied measures, in catalogue order.
    pub measures: Vec<String>,
    pub error: Option<ScreenError>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScreenError {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_check: Option<char>,
}

impl ScreenResult {
    /// A row that was not decided: an error, or (with `None`) a slot to be filled.
    pub fn undecided(error: Option<ScreenError>) -> ScreenResult {
        ScreenResult {
            id: None,
            id_type: None,
            decision: None,
            heightened: false,
            nonconforming: false,
            lists: Vec::new(),
            measures: Vec::new(),
            error,
        }
    }
}

impl ScreenError {
    pub fn invalid_id(e: &IdError) -> ScreenError {
        ScreenError {
            code: "invalid_id",
            message: e.to_string(),
            expected_check: e.expected_check(),
        }
    }
}

impl ScreenResult {
    /// The owned form of a lean [`Verdict`] for `id` (for writers that need one, such as
    /// the xlsx output); `full_personal_ids` as in [`Options`].
    pub fn from_verdict(
        plan: &ScreenPlan<'_>,
        id: &Id,
        v: &Verdict,
        full_personal_ids: bool,
    ) -> ScreenResult {
        ScreenResult {
            id: Some(id.shown(full_personal_ids).as_str().to_string()),
            id_type: Some(id.id_type().as_str()),
            decision: v.decision,
            heightened: v.heightened,
            nonconforming: id.is_nonconforming(),
            lists: v
                .lists
                .iter()
                .map(|&l| plan.list_code(l).to_string())
                .collect(),
            measures: v
                .measures
                .iter()
                .map(|&m| plan.measure_id(m).to_string())
                .collect(),
            error: None,
        }
    }
}

impl ScreenPlan<'_> {
    /// [`ScreenPlan::screen`] as an owned row: what [`Engine::screen_one`] answers, by the
    /// lean path.
    pub fn screen_result(
        &self,
        input: &str,
        full_personal_ids: bool,
        v: &mut Verdict,
    ) -> ScreenResult {
        match self.screen(input, v) {
            Ok(id) => ScreenResult::from_verdict(self, &id, v, full_personal_ids),
            Err(e) => ScreenResult::undecided(Some(ScreenError::invalid_id(&e))),
        }
    }
}

impl Engine {
    /// Screens one identifier as given by the caller, through the full [`Engine::check`]
    /// (the reference the lean [`ScreenPlan`] is tested against). An invalid identifier becomes an
    /// error in the result, never a failure of the batch.
    pub fn screen_one(
        &self,
        input: &str,
        scenario: Scenario,
        as_of: Day,
        today: Day,
        mode: Mode,
        opts: Options,
    ) -> ScreenResult {
        let id = match self.parse_id(input, mode, today) {
            Ok(id) => id,
            Err(e) => return ScreenResult::undecided(Some(ScreenError::invalid_id(&e))),
        };
        let d = self.check(&id, scenario, as_of, today, opts);
        let mut lists: Vec<String> = Vec::new();
        for r in &d.records {
            if !lists.iter().any(|l| l == r.list_code) {
                lists.push(r.list_code.to_string());
            }
        }
        ScreenResult {
            id: Some(d.id.as_str().to_owned()),
            id_type: Some(d.id_type),
            decision: Some(d.decision),
            heightened: d.heightened,
            nonconforming: d.nonconforming,
            lists,
            measures: d.measures.iter().map(|m| m.id.to_string()).collect(),
            error: None,
        }
    }
}
