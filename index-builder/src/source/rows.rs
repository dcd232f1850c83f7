//! Validation of a single data row of each file kind (SPEC §3).
//!
//! Each function turns a record whose width is already checked into a typed row, or into a
//! [`Rejected`] whose reason names the column, quotes the value and says why it is wrong.
//! Fields are trimmed; the only allocations on the accepted path are the row's own strings.

use csv::StringRecord;

use super::header::ColumnMap;
use super::{LinkRow, ListRow, ObjectionRow, RepairRow, RowContext};
use crate::date::Day;
use crate::ids::{parse_ric, parse_uscc, Mode};
use crate::model::{Outcome, RepairAction, Role, SubjectType};

/// Why a row was rejected; the reader adds file and line.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejected {
    pub record_id: String,
    pub reason: String,
}

/// Canonical column positions (see `header::*_COLUMNS`).
mod col {
    pub const L_RECORD_ID: usize = 0;
    pub const L_LIST_CODE: usize = 1;
    pub const L_SUBJECT_TYPE: usize = 2;
    pub const L_SUBJECT_ID: usize = 3;
    pub const L_SUBJECT_NAME: usize = 4;
    pub const L_AUTHORITY: usize = 5;
    pub const L_DOC_NO: usize = 6;
    pub const L_REASON: usize = 7;
    pub const L_DECIDED_ON: usize = 8;
    pub const L_EFFECTIVE_FROM: usize = 9;
    pub const L_EFFECTIVE_UNTIL: usize = 10;
    pub const L_ACT_ENDED_ON: usize = 11;

    pub const R_RECORD_ID: usize = 0;
    pub const R_ACTION: usize = 1;
    pub const R_DECIDED_ON: usize = 2;
    pub const R_AUTHORITY: usize = 3;
    pub const R_DOC_NO: usize = 4;

    pub const O_RECORD_ID: usize = 0;
    pub const O_FILED_ON: usize = 1;
    pub const O_CLOSED_ON: usize = 2;
    pub const O_OUTCOME: usize = 3;

    pub const K_ORG_ID: usize = 0;
    pub const K_PERSON_ID: usize = 1;
    pub const K_PERSON_NAME: usize = 2;
    pub const K_ROLE: usize = 3;
    pub const K_FROM: usize = 4;
    pub const K_UNTIL: usize = 5;
}
use col::*;

/// Builds rejections for one row, remembering its `record_id` (empty for links).
struct Row<'r> {
    rec: &'r StringRecord,
    cols: &'r ColumnMap,
    names: &'static [&'static str],
    record_id: &'r str,
}

impl<'r> Row<'r> {
    fn new(rec: &'r StringRecord, cols: &'r ColumnMap, names: &'static [&'static str]) -> Self {
        let record_id = if names[0] == "record_id" {
            cols.get(rec, 0)
        } else {
            ""
        };
        Row {
            rec,
            cols,
            names,
            record_id,
        }
    }

    fn reject(&self, reason: String) -> Rejected {
        Rejected {
            record_id: self.record_id.to_string(),
            reason,
        }
    }

    fn text(&self, c: usize) -> &'r str {
        self.cols.get(self.rec, c)
    }

    fn required(&self, c: usize) -> Result<&'r str, Rejected> {
        match self.text(c) {
            "" => Err(self.reject(format!("{} is required but empty", self.names[c]))),
            v => Ok(v),
        }
    }

    fn date(&self, c: usize) -> Result<Day, Rejected> {
        let v = self.required(c)?;
        Day::parse(v).map_err(|e| self.reject(format!("{} {v:?}: {e}", self.names[c])))
    }

    fn optional_date(&self, c: usize) -> Result<Option<Day>, Rejected> {
        match self.text(c) {
            "" => Ok(None),
            v => Day::parse(v)
                .map(Some)
                .map_err(|e| self.reject(format!("{} {v:?}: {e}", self.names[c]))),
        }
    }

    /// Rejects `later < earlier` when both are set.
    fn ordered(
        &self,
        earlier: (usize, Option<Day>),
        later: (usize, Option<Day>),
    ) -> Result<(), Rejected> {
        match (earlier.1, later.1) {
            (Some(a), Some(b)) if b < a => Err(self.reject(format!(
                "{} {b} is before {} {a}",
                self.names[later.0], self.names[earlier.0]
            ))),
            _ => Ok(()),
        }
    }

    /// Parses a vocabulary word, or says which words are allowed.
    fn word<T>(
        &self,
        c: usize,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<T, Rejected> {
        let v = self.required(c)?;
        parse(v).ok_or_else(|| {
            self.reject(format!(
                "{} must be {}, got {v:?}",
                self.names[c],
                choices(expected)
            ))
        })
    }

    fn uscc(&self, c: usize) -> Result<crate::ids::Id, Rejected> {
        let v = self.required(c)?;
        parse_uscc(v, Mode::Lenient)
            .map_err(|e| self.reject(format!("{} {v:?}: {e}", self.names[c])))
    }

    fn ric(&self, c: usize, today: Day) -> Result<crate::ids::Id, Rejected> {
        let v = self.required(c)?;
        parse_ric(v, today).map_err(|e| self.reject(format!("{} {v:?}: {e}", self.names[c])))
    }
}

/// "a b c" → "a, b or c", for messages listing the allowed words.
fn choices(expected: &str) -> String {
    let words: Vec<&str> = expected.split(' ').collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => expected.to_string(),
    }
}

pub fn list(
    rec: &StringRecord,
    cols: &ColumnMap,
    ctx: &RowContext<'_>,
    file: u16,
    line: u64,
) -> Result<ListRow, Rejected> {
    let row = Row::new(rec, cols, super::LIST_COLUMNS);
    let record_id = row.required(L_RECORD_ID)?;
    let code = row.required(L_LIST_CODE)?;
    let Some(&list_code) = ctx.list_codes.get(code) else {
        return Err(row.reject(format!("unknown list_code {code:?} (not in the catalogue)")));
    };
    let subject_type = row.word(L_SUBJECT_TYPE, SubjectType::parse, SubjectType::expected())?;
    let id = match subject_type {
        SubjectType::Org => row.uscc(L_SUBJECT_ID)?,
        SubjectType::Person => row.ric(L_SUBJECT_ID, ctx.today)?,
    };
    let decided_on = row.date(L_DECIDED_ON)?;
    let effective_from = row.date(L_EFFECTIVE_FROM)?;
    let effective_until = row.optional_date(L_EFFECTIVE_UNTIL)?;
    let act_ended_on = row.optional_date(L_ACT_ENDED_ON)?;
    row.ordered(
        (L_EFFECTIVE_FROM, Some(effective_from)),
        (L_EFFECTIVE_UNTIL, effective_until),
    )?;
    Ok(ListRow {
        file,
        line,
        record_id: record_id.to_string(),
        list_code,
        subject_type,
        subject_id: *id.as_bytes(),
        nonconforming: id.is_nonconforming(),
        subject_name: row.text(L_SUBJECT_NAME).to_string(),
        authority: row.text(L_AUTHORITY).to_string(),
        doc_no: row.text(L_DOC_NO).to_string(),
        reason: row.text(L_REASON).to_string(),
        decided_on,
        effective_from,
        effective_until,
        act_ended_on,
    })
}

pub fn repair(
    rec: &StringRecord,
    cols: &ColumnMap,
    file: u16,
    line: u64,
) -> Result<RepairRow, Rejected> {
    let row = Row::new(rec, cols, super::REPAIR_COLUMNS);
    let record_id = row.required(R_RECORD_ID)?;
    let action = row.word(R_ACTION, RepairAction::parse, RepairAction::expected())?;
    let decided_on = row.date(R_DECIDED_ON)?;
    Ok(RepairRow {
        file,
        line,
        record_id: record_id.to_string(),
        action,
        decided_on,
        authority: row.text(R_AUTHORITY).to_string(),
        doc_no: row.text(R_DOC_NO).to_string(),
    })
}

pub fn objection(
    rec: &StringRecord,
    cols: &ColumnMap,
    file: u16,
    line: u64,
) -> Result<ObjectionRow, Rejected> {
    let row = Row::new(rec, cols, super::OBJECTION_COLUMNS);
    let record_id = row.required(O_RECORD_ID)?;
    let filed_on = row.date(O_FILED_ON)?;
    let closed_on = row.optional_date(O_CLOSED_ON)?;
    let outcome = match row.text(O_OUTCOME) {
        "" => None,
        _ => Some(row.word(O_OUTCOME, Outcome::parse, Outcome::expected())?),
    };
    match (closed_on, outcome) {
        (Some(_), None) => {
            return Err(row.reject(
                "closed_on is set but outcome is empty: a closed objection needs an outcome \
                 (upheld, corrected or revoked)"
                    .to_string(),
            ))
        }
        (None, Some(o)) => {
            return Err(row.reject(format!(
                "outcome {o} is set but closed_on is empty: a decided objection needs its \
                 closing date"
            )))
        }
        _ => {}
    }
    row.ordered((O_FILED_ON, Some(filed_on)), (O_CLOSED_ON, closed_on))?;
    Ok(ObjectionRow {
        file,
        line,
        record_id: record_id.to_string(),
        filed_on,
        closed_on,
        outcome,
    })
}

pub fn link(
    rec: &StringRecord,
    cols: &ColumnMap,
    ctx: &RowContext<'_>,
    file: u16,
    line: u64,
) -> Result<LinkRow, Rejected> {
    let row = Row::new(rec, cols, super::LINK_COLUMNS);
    let org = row.uscc(K_ORG_ID)?;
    let person = row.ric(K_PERSON_ID, ctx.today)?;
    let role = row.word(K_ROLE, Role::parse, Role::expected())?;
    let from = row.optional_date(K_FROM)?;
    let until = row.optional_date(K_UNTIL)?;
    row.ordered((K_FROM, from), (K_UNTIL, until))?;
    Ok(LinkRow {
        file,
        line,
        org_id: *org.as_bytes(),
        person_id: *person.as_bytes(),
        person_name: row.text(K_PERSON_NAME).to_string(),
        role,
        from,
        until,
    })
}
