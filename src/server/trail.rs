//! The lines this server writes to the audit trail ([`crate::trust::audit`]): one per check,
//! profile look-up and batch. A subject is named by its keyed pseudonym and shown masked
//! unless the caller holds `personal_full`; the time is UTC with milliseconds.

use hyper::StatusCode;
use serde::Serialize;

use credgate_index::date::Day;

use super::errors::ApiError;
use super::State;
use crate::trust::receipt::now_rfc3339;

#[derive(Serialize)]
pub struct Line<'a> {
    pub time: String,
    pub key: &'a str,
    pub endpoint: &'static str,
    pub scenario: Option<&'static str>,
    pub as_of: Option<Day>,
    /// HMAC-SHA256 of the normalised identifier under the server's subject secret.
    pub subject: Option<String>,
    pub id: Option<&'a str>,
    pub decision: Option<&'static str>,
    pub snapshot: &'a str,
    pub receipt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A batch: hex SHA-256 of its response bytes (the receipt's digest when signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<&'a str>,
}

impl Line<'_> {
    pub fn now<'a>(key: &'a str, endpoint: &'static str, snapshot: &'a str) -> Line<'a> {
        Line {
            time: now_rfc3339(),
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
        }
    }
}

/// Records `line` if the trail is on. In `sync` mode this returns only once the line is on
/// disk, and a trail that cannot be written refuses the answer (fail closed).
pub async fn record(state: &State, line: &Line<'_>) -> Result<(), ApiError> {
    let Some(audit) = &state.audit else {
        return Ok(());
    };
    let bytes = serde_json::to_vec(line).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("audit line: {e}"),
        )
    })?;
    audit.record(bytes).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            e.to_string(),
        )
    })
}
