//! The four kinds of source file, their columns (SPEC §3), and mapping a header row onto them.
//!
//! Columns are matched by name, so a department may export them in any order. Every column of
//! the kind must be present: a missing `effective_until` column would otherwise make every
//! record open-ended without anyone noticing.

use super::records::Record;

use super::error::SourceError;

/// What a source file holds; decides its columns and how a row is validated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    List,
    Repair,
    Objection,
    Link,
}

pub const LIST_COLUMNS: &[&str] = &[
    "record_id",
    "list_code",
    "subject_type",
    "subject_id",
    "subject_name",
    "authority",
    "doc_no",
    "reason",
    "decided_on",
    "effective_from",
    "effective_until",
    "act_ended_on",
];
pub const REPAIR_COLUMNS: &[&str] = &["record_id", "action", "decided_on", "authority", "doc_no"];
pub const OBJECTION_COLUMNS: &[&str] = &["record_id", "filed_on", "closed_on", "outcome"];
pub const LINK_COLUMNS: &[&str] = &[
    "org_id",
    "person_id",
    "person_name",
    "role",
    "from",
    "until",
];

impl FileKind {
    /// The canonical column names, in SPEC order; row code indexes them by position.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            FileKind::List => LIST_COLUMNS,
            FileKind::Repair => REPAIR_COLUMNS,
            FileKind::Objection => OBJECTION_COLUMNS,
            FileKind::Link => LINK_COLUMNS,
        }
    }
}

/// Where each canonical column sits in the file's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// `pos[c]` is the record index of canonical column `c`.
    pos: [usize; 12],
    /// How many fields every data row must have.
    pub width: usize,
}

impl ColumnMap {
    /// The trimmed field of canonical column `c`. The caller has checked the record's width.
    #[inline]
    pub fn get<'r>(&self, rec: &Record<'r>, c: usize) -> &'r str {
        rec.get(self.pos[c]).unwrap_or("").trim()
    }

    /// Maps a header record onto the columns of `kind`, or says which names are wrong.
    pub fn from_header(
        kind: FileKind,
        header: &Record<'_>,
        path: &str,
    ) -> Result<ColumnMap, SourceError> {
        let columns = kind.columns();
        let mut pos = [usize::MAX; 12];
        let mut unknown = Vec::new();
        let mut duplicate = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            // A byte-order mark survives decoding as U+FEFF at the start of the first name.
            let name = if i == 0 {
                raw.trim_start_matches('\u{feff}').trim()
            } else {
                raw.trim()
            };
            match columns.iter().position(|c| *c == name) {
                Some(c) if pos[c] != usize::MAX => duplicate.push(name.to_string()),
                Some(c) => pos[c] = i,
                None => unknown.push(format!("{name:?}")),
            }
        }
        let missing: Vec<String> = columns
            .iter()
            .zip(pos.iter())
            .filter(|(_, p)| **p == usize::MAX)
            .map(|(c, _)| c.to_string())
            .collect();
        if !missing.is_empty() || !unknown.is_empty() || !duplicate.is_empty() {
            return Err(SourceError::Header {
                path: path.to_string(),
                missing,
                unknown,
                duplicate,
            });
        }
        Ok(ColumnMap {
            pos,
            width: header.len(),
        })
    }
}

/// Whether a record is an empty line: csv already skips truly empty lines, and a line of
/// only blanks (or only a byte-order mark) carries no data either.
pub fn is_blank(rec: &Record<'_>) -> bool {
    rec.len() == 1
        && rec
            .get(0)
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
            .trim()
            .is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::records::OwnedRecord;

    #[test]
    fn columns_in_any_order_with_blanks_and_bom() {
        let h = OwnedRecord::new(&["\u{feff}outcome", " record_id ", "closed_on", "filed_on"]);
        let m = ColumnMap::from_header(FileKind::Objection, &h.record(), "objections.csv").unwrap();
        let row = OwnedRecord::new(&["upheld", " R1", "2024-02-01", "2024-01-01"]);
        let row = row.record();
        assert_eq!(m.get(&row, 0), "R1");
        assert_eq!(m.get(&row, 1), "2024-01-01");
        assert_eq!(m.get(&row, 3), "upheld");
        assert_eq!(m.width, 4);
    }

    #[test]
    fn header_errors_list_every_problem() {
        let h = OwnedRecord::new(&["record_id", "Action", "decided_on", "doc_no", "doc_no"]);
        let e = ColumnMap::from_header(FileKind::Repair, &h.record(), "repairs.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "repairs.csv: bad header row: missing column(s) action, authority; unknown \
             column(s) \"Action\"; duplicate column(s) doc_no; the first line must name the \
             columns of SPEC §3 for this file, in any order"
        );
    }

    #[test]
    fn blank_lines() {
        assert!(is_blank(&OwnedRecord::new(&["  "]).record()));
        assert!(is_blank(&OwnedRecord::new(&["\u{feff}"]).record()));
        assert!(!is_blank(&OwnedRecord::new(&["", ""]).record()));
        assert!(!is_blank(&OwnedRecord::new(&["x"]).record()));
    }
}
