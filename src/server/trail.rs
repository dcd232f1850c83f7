//! The lines this server writes to the audit trail ([`crate::trust::audit`]): one per check,
//! profile look-up and batch. A subject is named by its keyed pseudonym and shown masked
//! unless the caller holds `personal_full`; the time is UTC with milliseconds, and for a
//! signed check it is its receipt's `checked_at`, so line and receipt agree.
//!
//! A line is written by hand ([`Line::to_json`]) rather than through serde: it is made on
//! every check of a server keeping a trail, and a test holds the two encodings equal.

use std::borrow::Cow;
use std::io::Write as _;

use hyper::StatusCode;
use serde::Serialize;

use credgate_index::date::Day;

use super::errors::ApiError;
use super::State;
use crate::engine::json::{day, string, word};
use crate::trust::receipt::now_rfc3339;

#[derive(Serialize)]
pub struct Line<'a> {
    /// UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`; for a signed check, its receipt's `checked_at`.
    pub time: Cow<'a, str>,
    pub key: &'a str,
    pub endpoint: &'static str,
    pub scenario: Option<&'static str>,
    pub as_of: Option<Day>,
    /// HMAC-SHA256 of the normalised identifier under the server's subject secret.
    pub subject: Option<Cow<'a, str>>,
    pub id: Option<&'a str>,
    pub decision: Option<&'static str>,
    pub snapshot: &'a str,
    pub receipt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A batch: hex SHA-256 of its response bytes (the receipt's digest when signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<&'a str>,
    /// A batch whose client went away before its end: `rows` and `digest` are of the rows
    /// handed to the connection by then. Written only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut_off: bool,
}

impl Line<'_> {
    pub fn now<'a>(key: &'a str, endpoint: &'static str, snapshot: &'a str) -> Line<'a> {
        Line::at(Cow::Owned(now_rfc3339()), key, endpoint, snapshot)
    }

    /// A line stamped `time` (`YYYY-MM-DDTHH:MM:SS.mmmZ`), such as the `checked_at` of the
    /// receipt of the answer it records, so that the two agree and the clock is read once.
    pub fn at<'a>(
        time: Cow<'a, str>,
        key: &'a str,
        endpoint: &'static str,
        snapshot: &'a str,
    ) -> Line<'a> {
        Line {
            time,
            key,
            endpoint,
            scenario: None,
            as_of: None,
            subject: None,
            id: None,
            decision: None,
            snapshot,
            receipt: None,
            rows: None,
            digest: None,
            cut_off: false,
        }
    }
}

impl Line<'_> {
    /// The line as compact JSON: the bytes `serde_json` writes for it (members in
    /// declaration order, `null` for an absent optional member except `rows` and `digest`,
    /// which are left out), in a buffer with room for the newline the trail appends.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        self.write_json(&mut out);
        out
    }

    /// Appends the line's JSON ([`Line::to_json`]) to `out`: the trail writes it straight
    /// into its shared buffer, without a buffer of its own per line.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let opt = |out: &mut Vec<u8>, v: Option<&str>| match v {
            Some(v) => string(out, v),
            None => out.extend_from_slice(b"null"),
        };
        // The endpoint, scenario and decision are words of the vocabulary: no escape.
        let opt_word = |out: &mut Vec<u8>, v: Option<&'static str>| match v {
            Some(v) => word(out, v),
            None => out.extend_from_slice(b"null"),
        };
        out.extend_from_slice(b"{\"time\":");
        string(out, &self.time);
        out.extend_from_slice(b",\"key\":");
        string(out, self.key);
        out.extend_from_slice(b",\"endpoint\":");
        word(out, self.endpoint);
        out.extend_from_slice(b",\"scenario\":");
        opt_word(out, self.scenario);
        out.extend_from_slice(b",\"as_of\":");
        match self.as_of {
            Some(d) => day(out, d),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"subject\":");
        opt(out, self.subject.as_deref());
        out.extend_from_slice(b",\"id\":");
        opt(out, self.id);
        out.extend_from_slice(b",\"decision\":");
        opt_word(out, self.decision);
        out.extend_from_slice(b",\"snapshot\":");
        string(out, self.snapshot);
        out.extend_from_slice(b",\"receipt\":");
        opt(out, self.receipt);
        if let Some(rows) = self.rows {
            let _ = write!(out, ",\"rows\":{rows}");
        }
        if let Some(digest) = self.digest {
            out.extend_from_slice(b",\"digest\":");
            string(out, digest);
        }
        if self.cut_off {
            out.extend_from_slice(b",\"cut_off\":true");
        }
        out.push(b'}');
    }
}

/// Records `line` if the trail is on. In `sync` mode this returns only once the line is on
/// disk, and a trail that cannot be written refuses the answer (fail closed).
pub async fn record(state: &State, line: &Line<'_>) -> Result<(), ApiError> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    audit
        .record_with(|buf| line.write_json(buf))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                e.to_string(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_lines_are_the_serde_encoding() {
        let mut check = Line::now("counter \"3\"", "/v1/check", "snap-1");
        check.scenario = Some("licensing");
        check.as_of = Some(Day(20_786));
        check.subject = Some("ab".repeat(32).into());
        check.id = Some("110101********123X");
        check.decision = Some("deny");
        check.receipt = Some("0123456789abcdef000000000001");
        let mut batch = Line::now("k\\\u{7}", "/v1/screen", "snap-1");
        batch.rows = Some(12_345);
        batch.digest = Some("00ff");
        let mut cut = Line::now("k", "/v1/screen", "snap-1");
        cut.rows = Some(3);
        cut.digest = Some("00ff");
        cut.cut_off = true;
        let bare = Line::now("anonymous", "/v1/subjects", "snap \"2\"");
        for line in [check, batch, cut, bare] {
            let expected = serde_json::to_vec(&line).unwrap();
            assert_eq!(
                String::from_utf8(line.to_json()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
