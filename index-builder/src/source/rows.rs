//! Validation of a single data row of each file kind (SPEC §3).
//!
//! Each function turns a record whose width is already checked into a typed row, or into a
//! [`Rejected`] whose reason names the column, quotes the value and says why it is wrong.
//! Fields are trimmed; the only allocations on the accepted path are the row's own strings.

use super::header::ColumnMap;
use super::records::Record;
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
    rec: &'r Record<'r>,
    cols: &'r ColumnMap,
    names: &'static [&'static str],
    record_id: &'r str,
}

impl<'r> Row<'r> {
    fn new(rec: &'r Record<'r>, cols: &'r ColumnMap, names: &'static [&'static str]) -> Self {
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

    /// A USCC in column `c`. When the value is no USCC but a valid resident ID number, the
    /// reason says so and asks `question` (is the type or the column wrong?): a check-digit
    /// message about the wrong kind of identifier points the wrong way.
    fn uscc(&self, c: usize, today: Day, question: &str) -> Result<crate::ids::Id, Rejected> {
        let v = self.required(c)?;
        parse_uscc(v, Mode::Lenient).map_err(|e| {
            let hint = match parse_ric(v, today) {
                Ok(_) => format!("; it is a valid resident ID number: {question}"),
                Err(_) => String::new(),
            };
            self.reject(format!("{} {v:?}: {e}{hint}", self.names[c]))
        })
    }

    /// A resident ID number in column `c`; the reason says so when the value is a valid
    /// USCC instead (see [`Row::uscc`]).
    fn ric(&self, c: usize, today: Day, question: &str) -> Result<crate::ids::Id, Rejected> {
        let v = self.required(c)?;
        parse_ric(v, today).map_err(|e| {
            let hint = match parse_uscc(v, Mode::Strict) {
                Ok(_) => format!("; it is a valid USCC: {question}"),
                Err(_) => String::new(),
            };
            self.reject(format!("{} {v:?}: {e}{hint}", self.names[c]))
        })
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
    rec: &Record<'_>,
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
        SubjectType::Org => row.uscc(L_SUBJECT_ID, ctx.today, "is subject_type wrong?")?,
        SubjectType::Person => row.ric(L_SUBJECT_ID, ctx.today, "is subject_type wrong?")?,
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
    rec: &Record<'_>,
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
    rec: &Record<'_>,
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
    rec: &Record<'_>,
    cols: &ColumnMap,
    ctx: &RowContext<'_>,
    file: u16,
    line: u64,
) -> Result<LinkRow, Rejected> {
    let row = Row::new(rec, cols, super::LINK_COLUMNS);
    let swapped = "are org_id and person_id swapped?";
    let org = row.uscc(K_ORG_ID, ctx.today, swapped)?;
    let person = row.ric(K_PERSON_ID, ctx.today, swapped)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::records::OwnedRecord;
    use crate::source::FileKind;

    const TODAY: &str = "2024-06-01";

    fn ctx() -> RowContext<'static> {
        RowContext {
            list_codes: [("court_defaulter", 0u16), ("tax_a_grade", 1)]
                .into_iter()
                .collect(),
            today: Day::parse(TODAY).unwrap(),
        }
    }

    fn cols(kind: FileKind) -> ColumnMap {
        let header = OwnedRecord::new(kind.columns());
        ColumnMap::from_header(kind, &header.record(), "t.csv").unwrap()
    }

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    /// A list row in SPEC column order, with the given columns replaced.
    fn list_rec(changes: &[(usize, &str)]) -> OwnedRecord {
        let mut f = vec![
            "R1",
            "court_defaulter",
            "org",
            " 91110000600037341L ",
            "某某有限公司",
            "北京市第一中级人民法院",
            "(2020)京01执123号",
            "有履行能力而拒不履行",
            "2020-05-06",
            "2020-05-07",
            "",
            "",
        ];
        for &(c, v) in changes {
            f[c] = v;
        }
        OwnedRecord::new(&f)
    }

    fn list_err(changes: &[(usize, &str)]) -> Rejected {
        list(
            &list_rec(changes).record(),
            &cols(FileKind::List),
            &ctx(),
            0,
            9,
        )
        .unwrap_err()
    }

    fn reason(r: Rejected) -> String {
        r.reason
    }

    #[test]
    fn accepts_a_valid_list_row() {
        let row = list(&list_rec(&[]).record(), &cols(FileKind::List), &ctx(), 3, 9).unwrap();
        assert_eq!(row.file, 3);
        assert_eq!(row.line, 9);
        assert_eq!(row.record_id, "R1");
        assert_eq!(row.list_code, 0);
        assert_eq!(row.subject_type, SubjectType::Org);
        assert_eq!(&row.subject_id, b"91110000600037341L");
        assert!(!row.nonconforming);
        assert_eq!(row.subject_name, "某某有限公司");
        assert_eq!(row.doc_no, "(2020)京01执123号");
        assert_eq!(row.decided_on, d("2020-05-06"));
        assert_eq!(row.effective_from, d("2020-05-07"));
        assert_eq!((row.effective_until, row.act_ended_on), (None, None));
    }

    #[test]
    fn nonconforming_uscc_is_kept_and_flagged() {
        let rec = list_rec(&[(L_SUBJECT_ID, "91110000600037341N")]);
        let row = list(&rec.record(), &cols(FileKind::List), &ctx(), 0, 2).unwrap();
        assert!(row.nonconforming);
        assert_eq!(&row.subject_id, b"91110000600037341N");
    }

    #[test]
    fn person_ids_are_normalised_and_dates_optional() {
        let rec = list_rec(&[
            (L_LIST_CODE, "tax_a_grade"),
            (L_SUBJECT_TYPE, "person"),
            (L_SUBJECT_ID, "110105491231002"),
            (L_EFFECTIVE_UNTIL, "2020-05-07"),
            (L_ACT_ENDED_ON, "2019-12-31"),
        ]);
        let row = list(&rec.record(), &cols(FileKind::List), &ctx(), 0, 2).unwrap();
        assert_eq!(row.list_code, 1);
        assert_eq!(&row.subject_id, b"11010519491231002X");
        assert_eq!(row.effective_until, Some(d("2020-05-07")));
        assert_eq!(row.act_ended_on, Some(d("2019-12-31")));
    }

    #[test]
    fn list_reject_reasons() {
        let cases: &[(&[(usize, &str)], &str)] = &[
            (
                &[(L_SUBJECT_TYPE, "company")],
                "subject_type must be org or person, got \"company\"",
            ),
            (
                &[(L_LIST_CODE, "foo")],
                "unknown list_code \"foo\" (not in the catalogue)",
            ),
            (
                &[
                    (L_EFFECTIVE_FROM, "2022-03-04"),
                    (L_EFFECTIVE_UNTIL, "2021-01-01"),
                ],
                "effective_until 2021-01-01 is before effective_from 2022-03-04",
            ),
            (&[(L_RECORD_ID, "  ")], "record_id is required but empty"),
            (&[(L_DECIDED_ON, "")], "decided_on is required but empty"),
            (
                &[(L_DECIDED_ON, "2020/05/06")],
                "decided_on \"2020/05/06\": expected a date as YYYY-MM-DD",
            ),
            (
                &[(L_EFFECTIVE_UNTIL, "2023-02-29")],
                "effective_until \"2023-02-29\": 2023-02-29 is not a calendar date",
            ),
            (
                &[
                    (L_SUBJECT_TYPE, "person"),
                    (L_SUBJECT_ID, "36042619910102009X"),
                ],
                "subject_id \"36042619910102009X\": invalid resident ID number: check \
                 character (position 18) should be '3', found 'X'; the number is probably \
                 mistyped",
            ),
            (
                &[
                    (L_SUBJECT_TYPE, "person"),
                    (L_SUBJECT_ID, "110105202501010011"),
                ],
                "subject_id \"110105202501010011\": invalid resident ID number: birth date \
                 (positions 7-14) is after the day the number is judged on",
            ),
            (
                &[(L_SUBJECT_ID, "9111000060003734")],
                "subject_id \"9111000060003734\": invalid USCC: wrong length: 16 \
                 characters; a USCC has 18",
            ),
        ];
        for (changes, want) in cases {
            assert_eq!(reason(list_err(changes)), *want, "{changes:?}");
        }
        assert_eq!(list_err(&[(L_LIST_CODE, "foo")]).record_id, "R1");
    }

    /// An identifier of the other kind fails the checks of the declared one with a message
    /// about digits and dates; the reason then says what the value is.
    #[test]
    fn an_identifier_of_the_other_type_says_so() {
        assert_eq!(
            reason(list_err(&[(L_SUBJECT_TYPE, "person")])),
            "subject_id \"91110000600037341L\": invalid resident ID number: birth date \
             (positions 7-14) is no calendar day: month 00 does not exist; it is a valid \
             USCC: is subject_type wrong?"
        );
        let ric_as_org = reason(list_err(&[(L_SUBJECT_ID, "11010519491231002X")]));
        assert!(
            ric_as_org.starts_with("subject_id \"11010519491231002X\": invalid USCC: "),
            "{ric_as_org}"
        );
        assert!(
            ric_as_org.ends_with("; it is a valid resident ID number: is subject_type wrong?"),
            "{ric_as_org}"
        );
        // Invalid as both: no hint.
        let neither = reason(list_err(&[
            (L_SUBJECT_TYPE, "person"),
            (L_SUBJECT_ID, "36042619910102009X"),
        ]));
        assert!(!neither.contains("it is a valid"), "{neither}");
        let swapped = link(
            &OwnedRecord::new(&[
                "11010519491231002X",
                "91110000600037341L",
                "张三",
                "legal_rep",
                "",
                "",
            ])
            .record(),
            &cols(FileKind::Link),
            &ctx(),
            0,
            2,
        )
        .unwrap_err();
        assert!(
            swapped
                .reason
                .ends_with("; it is a valid resident ID number: are org_id and person_id swapped?"),
            "{}",
            swapped.reason
        );
    }

    #[test]
    fn repair_rows() {
        let c = cols(FileKind::Repair);
        let ok = OwnedRecord::new(&["R1", "removal", "2024-01-02", "市场监管局", ""]);
        let row = repair(&ok.record(), &c, 1, 2).unwrap();
        assert_eq!(row.action, RepairAction::Removal);
        assert_eq!(row.decided_on, d("2024-01-02"));
        assert_eq!(row.authority, "市场监管局");
        let bad = OwnedRecord::new(&["R1", "fix", "2024-01-02", "", ""]);
        assert_eq!(
            reason(repair(&bad.record(), &c, 1, 2).unwrap_err()),
            "action must be repair, removal or revocation, got \"fix\""
        );
        let bad = OwnedRecord::new(&["R1", "repair", "", "", ""]);
        assert_eq!(
            reason(repair(&bad.record(), &c, 1, 2).unwrap_err()),
            "decided_on is required but empty"
        );
    }

    #[test]
    fn objection_rows_open_or_closed_never_half() {
        let c = cols(FileKind::Objection);
        let rec = |f: [&str; 4]| OwnedRecord::new(&f);
        let open = objection(&rec(["R1", "2024-01-02", "", ""]).record(), &c, 0, 2).unwrap();
        assert_eq!((open.closed_on, open.outcome), (None, None));
        let closed = objection(
            &rec(["R1", "2024-01-02", "2024-01-20", "revoked"]).record(),
            &c,
            0,
            2,
        );
        assert_eq!(closed.unwrap().outcome, Some(Outcome::Revoked));
        let cases = [
            (
                ["R1", "2024-01-02", "2024-01-20", ""],
                "closed_on is set but outcome is empty: a closed objection needs an outcome \
                 (upheld, corrected or revoked)",
            ),
            (
                ["R1", "2024-01-02", "", "upheld"],
                "outcome upheld is set but closed_on is empty: a decided objection needs its \
                 closing date",
            ),
            (
                ["R1", "2024-02-01", "2024-01-01", "corrected"],
                "closed_on 2024-01-01 is before filed_on 2024-02-01",
            ),
            (
                ["R1", "2024-02-01", "2024-03-01", "dismissed"],
                "outcome must be upheld, corrected or revoked, got \"dismissed\"",
            ),
            (
                ["", "2024-02-01", "", ""],
                "record_id is required but empty",
            ),
        ];
        for (f, want) in cases {
            assert_eq!(
                reason(objection(&rec(f).record(), &c, 0, 2).unwrap_err()),
                want
            );
        }
    }

    #[test]
    fn link_rows() {
        let c = cols(FileKind::Link);
        let rec = |f: [&str; 6]| OwnedRecord::new(&f);
        let ok = link(
            &rec([
                "91110000600037341L",
                "11010519491231002x",
                "张三",
                "legal_rep",
                "2019-01-01",
                "",
            ])
            .record(),
            &c,
            &ctx(),
            4,
            5,
        )
        .unwrap();
        assert_eq!(&ok.person_id, b"11010519491231002X");
        assert_eq!(ok.role, Role::LegalRep);
        assert_eq!((ok.from, ok.until), (Some(d("2019-01-01")), None));
        let cases = [
            (
                [
                    "91110000600037341L",
                    "11010519491231002X",
                    "",
                    "ceo",
                    "",
                    "",
                ],
                "role must be legal_rep, principal, responsible, director, shareholder or \
                 controller, got \"ceo\"",
            ),
            (
                [
                    "91110000600037341L",
                    "11010519491231002X",
                    "",
                    "director",
                    "2020-01-01",
                    "2019-01-01",
                ],
                "until 2019-01-01 is before from 2020-01-01",
            ),
            (
                ["", "11010519491231002X", "", "director", "", ""],
                "org_id is required but empty",
            ),
        ];
        for (f, want) in cases {
            let r = link(&rec(f).record(), &c, &ctx(), 0, 2).unwrap_err();
            assert_eq!((r.reason.as_str(), r.record_id.as_str()), (want, ""));
        }
    }
}
