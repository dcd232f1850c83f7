//! A decision written as JSON straight into a byte buffer, for the `/v1/check` hot path.
//!
//! The output is byte for byte what `serde_json::to_writer` makes of the derived `Serialize`
//! of [`Decision`] (a test compares the two on every sample decision): same field order, same
//! compact form, same string escaping. Writing it by hand skips serde's formatter machinery and
//! per-field dispatch, which a profile of the check path showed as a visible share of a
//! request's user time. The derive stays the definition of the shape (receipts and the
//! OpenAPI test go through it).

use credgate_index::date::Day;

use super::decision::{ActiveRecord, AppliedMeasure, Because, Decision, Via};

impl Decision<'_> {
    /// Appends the decision as compact JSON to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":\"");
        // Nothing in a display id needs escaping (see `DisplayId::as_bytes`).
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(b"\",\"id_type\":");
        word(out, self.id_type);
        out.extend_from_slice(b",\"scenario\":");
        word(out, self.scenario.as_str());
        out.extend_from_slice(b",\"as_of\":");
        day(out, self.as_of);
        out.extend_from_slice(b",\"decision\":");
        word(out, self.decision.as_str());
        out.extend_from_slice(b",\"heightened\":");
        boolean(out, self.heightened);
        out.extend_from_slice(b",\"nonconforming\":");
        boolean(out, self.nonconforming);
        out.extend_from_slice(b",\"name\":");
        match &self.name {
            Some(n) => string(out, n.as_ref()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"measures\":[");
        for (i, m) in self.measures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            measure(out, m);
        }
        out.extend_from_slice(b"],\"records\":[");
        for (i, r) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            record(out, r);
        }
        out.extend_from_slice(b"],\"snapshot\":");
        string(out, self.snapshot);
        out.push(b'}');
    }

    /// A buffer size that holds the decision without growing in the common case.
    pub fn json_capacity(&self) -> usize {
        384 + 640 * self.measures.len() + 1024 * self.records.len()
    }
}

fn measure(out: &mut Vec<u8>, m: &AppliedMeasure<'_>) {
    out.extend_from_slice(b"{\"id\":");
    string(out, m.id);
    out.extend_from_slice(b",\"name\":");
    string(out, m.name);
    out.extend_from_slice(b",\"kind\":");
    word(out, m.kind.as_str());
    out.extend_from_slice(b",\"binding\":");
    word(out, m.binding.as_str());
    out.extend_from_slice(b",\"effect\":");
    word(out, m.effect.as_str());
    out.extend_from_slice(b",\"basis\":{\"seed\":");
    string(out, m.basis.seed);
    out.extend_from_slice(b",\"national\":[");
    for (i, n) in m.basis.national.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, n);
    }
    out.extend_from_slice(b"]},\"because\":[");
    for (i, b) in m.because.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match b {
            Because::Record { record_id, via: v } => {
                out.extend_from_slice(b"{\"record_id\":");
                string(out, record_id);
                if let Some(v) = v {
                    out.extend_from_slice(b",\"via\":");
                    via(out, v);
                }
                out.push(b'}');
            }
            Because::CleanHistory { clean_years, since } => {
                out.extend_from_slice(b"{\"clean_years\":");
                number(out, *clean_years);
                out.extend_from_slice(b",\"since\":");
                day(out, *since);
                out.push(b'}');
            }
        }
    }
    out.extend_from_slice(b"]}");
}

fn record(out: &mut Vec<u8>, r: &ActiveRecord<'_>) {
    out.extend_from_slice(b"{\"record_id\":");
    string(out, &r.record_id);
    out.extend_from_slice(b",\"list_code\":");
    string(out, r.list_code);
    out.extend_from_slice(b",\"list_name\":");
    string(out, r.list_name);
    out.extend_from_slice(b",\"class\":");
    word(out, r.class.as_str());
    out.extend_from_slice(b",\"domain\":");
    string(out, r.domain);
    out.extend_from_slice(b",\"authority\":");
    string(out, &r.authority);
    out.extend_from_slice(b",\"doc_no\":");
    string(out, &r.doc_no);
    out.extend_from_slice(b",\"reason\":");
    string(out, &r.reason);
    out.extend_from_slice(b",\"decided_on\":");
    day(out, r.decided_on);
    out.extend_from_slice(b",\"effective_from\":");
    day(out, r.effective_from);
    out.extend_from_slice(b",\"effective_until\":");
    match r.effective_until {
        Some(d) => day(out, d),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"under_objection\":");
    boolean(out, r.under_objection);
    if let Some(v) = &r.via {
        out.extend_from_slice(b",\"via\":");
        via(out, v);
    }
    out.push(b'}');
}

fn via(out: &mut Vec<u8>, v: &Via<'_>) {
    out.extend_from_slice(b"{\"org\":");
    string(out, v.org);
    out.extend_from_slice(b",\"org_name\":");
    string(out, &v.org_name);
    out.extend_from_slice(b",\"role\":");
    word(out, v.role.as_str());
    out.push(b'}');
}

pub fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

pub fn day(out: &mut Vec<u8>, d: Day) {
    out.push(b'"');
    out.extend_from_slice(&d.to_bytes());
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, n: u32) {
    decimal(out, u64::from(n));
}

/// Appends `n` in decimal, without the formatting machinery (a number on every row of a
/// batch, several in every decision).
pub(crate) fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A word of the vocabulary (an enum's name: ASCII letters, digits and `_`), quoted. It
/// never needs an escape, so the check [`string`] makes is skipped.
pub(crate) fn word(out: &mut Vec<u8>, w: &'static str) {
    debug_assert!(!crate::scan::json_escape_needed(w.as_bytes()), "{w:?}");
    out.reserve(w.len() + 2);
    out.push(b'"');
    out.extend_from_slice(w.as_bytes());
    out.push(b'"');
}

/// A JSON string as serde_json writes it: `"` and `\` escaped with a backslash, control
/// characters as `\b \t \n \f \r` or `\u00XX` (lower-case hex), everything else verbatim.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings (codes, dates, names, the Chinese text of records) need no escape: one
    // pass to see that, then a single copy.
    if !crate::scan::json_escape_needed(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::decision::{Basis, Outcome};
    use crate::engine::DisplayId;
    use credgate_index::model::{Binding, Class, Effect, Kind, Role, Scenario};
    use proptest::prelude::*;

    fn serde(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    fn mine(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, s);
        out
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "北京市市场监督管理局",
            "a\"b\\c",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}",
            "/slash/ and \u{2028}",
        ] {
            assert_eq!(mine(s), serde(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_escapes_as_serde_json_does(s in "\\PC*|[\\x00-\\x7f]*") {
            prop_assert_eq!(mine(&s), serde(&s));
        }

        #[test]
        fn numbers_print_as_serde_json_does(n in any::<u32>()) {
            let mut out = Vec::new();
            number(&mut out, n);
            prop_assert_eq!(out, serde_json::to_vec(&n).unwrap());
        }
    }

    #[test]
    fn a_decision_with_every_field_writes_as_serde_json_does() {
        let national = vec!["国发〔2016〕33号".to_string(), "x\"y".to_string()];
        let via = Via {
            org: "91110000600037341L",
            org_name: "某\n公司".into(),
            role: Role::LegalRep,
        };
        let d = Decision {
            id: DisplayId::new(b"410102196804120211", true, false),
            id_type: "ric",
            scenario: Scenario::Transport,
            as_of: Day::parse("2026-11-28").unwrap(),
            decision: Outcome::Deny,
            heightened: true,
            nonconforming: false,
            name: Some("张三".into()),
            measures: vec![AppliedMeasure {
                id: "m1",
                name: "限制乘坐飞机",
                kind: Kind::Punish,
                binding: Binding::Mandatory,
                effect: Effect::Deny,
                basis: Basis {
                    seed: "seed\\text",
                    national: &national,
                },
                because: vec![
                    Because::Record {
                        record_id: "r1".into(),
                        via: Some(via.clone()),
                    },
                    Because::Record {
                        record_id: "r2".into(),
                        via: None,
                    },
                    Because::CleanHistory {
                        clean_years: 3,
                        since: Day::parse("2023-11-28").unwrap(),
                    },
                ],
            }],
            records: vec![
                ActiveRecord {
                    record_id: "r1".into(),
                    list_code: "court_defaulter",
                    list_name: "失信被执行人名单",
                    class: Class::Black,
                    domain: "judicial",
                    authority: "法院".into(),
                    doc_no: "(2024)京01执1号".into(),
                    reason: "tab\there".into(),
                    decided_on: Day::parse("2024-01-02").unwrap(),
                    effective_from: Day::parse("2024-01-03").unwrap(),
                    effective_until: None,
                    under_objection: true,
                    via: Some(via),
                },
                ActiveRecord {
                    record_id: "r2".into(),
                    list_code: "c",
                    list_name: "n",
                    class: Class::Red,
                    domain: "tax",
                    authority: "".into(),
                    doc_no: "".into(),
                    reason: "".into(),
                    decided_on: Day::parse("2020-02-29").unwrap(),
                    effective_from: Day::parse("2020-02-29").unwrap(),
                    effective_until: Some(Day::parse("2029-12-31").unwrap()),
                    under_objection: false,
                    via: None,
                },
            ],
            snapshot: "5cd68ff281c43a2c",
        };
        let mut out = Vec::new();
        d.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&d).unwrap()
        );
        let empty = Decision {
            name: None,
            measures: Vec::new(),
            records: Vec::new(),
            ..d
        };
        let mut out = Vec::new();
        empty.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&empty).unwrap()
        );
    }
}
