//! Signed screening receipts: proof, later, that this server gave this answer about this
//! subject against this snapshot.
//!
//! # What is signed (version 1)
//!
//! **Digest of a check.** The decision object of the response with its `receipt` member
//! removed, encoded canonically: JSON with no white space, the members of every object
//! sorted by the bytes of their names (UTF-8), arrays in order, strings escaped as
//! serde_json escapes them (`"` `\` and control characters only; other characters as UTF-8),
//! numbers as serde_json writes them. `digest` is the lower-case hex SHA-256 of those bytes.
//!
//! **Digest of a batch** (`/v1/screen`). The SHA-256 of every byte of the response body
//! before the receipt line (CSV header, rows, a summary or error line), as sent.
//!
//! **Signature.** Ed25519 (RFC 8032) over the UTF-8 bytes of
//! `credgate-receipt-v1\n{id}\n{checked_at}\n{snapshot}\n{digest}\n{rows}`, where `rows` is
//! the decimal row count of a batch and `-` for a check; `signature` is its standard
//! base64 (with padding). So changing any field of the decision changes the digest, and
//! changing any field of the receipt breaks the signature.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use credgate_index::date::Day;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub id: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub checked_at: String,
    pub snapshot: String,
    pub digest: String,
    pub signature: String,
    /// Rows of a batch; absent on a check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

impl Receipt {
    /// The bytes the signature covers.
    pub fn message(&self) -> Vec<u8> {
        let rows = self.rows.map_or("-".to_string(), |r| r.to_string());
        format!(
            "credgate-receipt-v1\n{}\n{}\n{}\n{}\n{rows}",
            self.id, self.checked_at, self.snapshot, self.digest
        )
        .into_bytes()
    }
}

/// Appends the canonical encoding of `v` (see the module documentation).
pub fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    super::hex(&Sha256::digest(bytes))
}

/// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let day = Day((secs / 86_400) as i32);
    let s = secs % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// The server's signing key and its receipt numbering.
pub struct Signer {
    key: SigningKey,
    /// Random per process start, so receipt ids stay unique across restarts.
    prefix: String,
    counter: AtomicU64,
}

impl Signer {
    pub fn new(seed: [u8; 32]) -> std::io::Result<Signer> {
        let prefix: [u8; 8] = super::random()?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
            prefix: super::hex(&prefix),
            counter: AtomicU64::new(0),
        })
    }

    /// The key in `path` (the 32-byte Ed25519 seed as 64 hex digits), created 0600 with a
    /// fresh key if absent.
    pub fn from_file(path: &Path) -> Result<Signer, KeyFileError> {
        let io = |e: std::io::Error| KeyFileError::Io(path.to_path_buf(), e.to_string());
        let seed = match std::fs::read_to_string(path) {
            Ok(text) => super::unhex::<32>(text.trim())
                .ok_or_else(|| KeyFileError::Malformed(path.to_path_buf()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed: [u8; 32] = super::random().map_err(io)?;
                super::write_private_new(path, format!("{}\n", super::hex(&seed)).as_bytes())
                    .map_err(io)?;
                seed
            }
            Err(e) => return Err(io(e)),
        };
        Signer::new(seed).map_err(io)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// `{"algorithm":"ed25519","public_key":<base64>,"key_id":<16 hex>}`, as served at
    /// `/v1/receipts/public-key` and read by `credgate receipt verify --public-key`.
    pub fn public_key_json(&self) -> Value {
        let pk = self.verifying_key().to_bytes();
        serde_json::json!({
            "algorithm": "ed25519",
            "public_key": B64.encode(pk),
            "key_id": &sha256_hex(&pk)[..16],
        })
    }

    /// A signed receipt over `digest`.
    pub fn issue(&self, snapshot: &str, digest: String, rows: Option<u64>) -> Receipt {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut r = Receipt {
            id: format!("{}{n:012x}", self.prefix),
            checked_at: now_rfc3339(),
            snapshot: snapshot.to_string(),
            digest,
            signature: String::new(),
            rows,
        };
        r.signature = B64.encode(self.key.sign(&r.message()).to_bytes());
        r
    }

    /// Signs a check: the canonical decision (`decision` must be an object) with its receipt
    /// appended, ready to send, and the receipt.
    pub fn sign_check(&self, decision: &Value, snapshot: &str) -> (Vec<u8>, Receipt) {
        let mut buf = Vec::with_capacity(1024);
        canonical(decision, &mut buf);
        let receipt = self.issue(snapshot, sha256_hex(&buf), None);
        if buf.last() == Some(&b'}') {
            buf.pop();
            if buf.len() > 1 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"\"receipt\":");
            let _ = serde_json::to_writer(&mut buf, &receipt);
            buf.push(b'}');
        }
        (buf, receipt)
    }
}

/// Reads a public key: the JSON of `/v1/receipts/public-key`, or the bare base64 key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, VerifyError> {
    let text = text.trim();
    let b64 = match serde_json::from_str::<Value>(text) {
        Ok(v) => v["public_key"]
            .as_str()
            .map(str::to_string)
            .ok_or(VerifyError::PublicKey(
                "the JSON has no string `public_key`",
            ))?,
        Err(_) => text.to_string(),
    };
    let bytes = B64
        .decode(b64.trim())
        .map_err(|_| VerifyError::PublicKey("not base64"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| VerifyError::PublicKey("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| VerifyError::PublicKey("not an Ed25519 point"))
}

fn check_signature(r: &Receipt, key: &VerifyingKey) -> Result<(), VerifyError> {
    let sig = B64
        .decode(&r.signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(VerifyError::BadSignature)?;
    key.verify_strict(&r.message(), &sig)
        .map_err(|_| VerifyError::BadSignature)
}

/// Verifies a check response (the whole JSON object, receipt included).
pub fn verify_check(response: &Value, key: &VerifyingKey) -> Result<Receipt, VerifyError> {
    let mut decision = response.as_object().ok_or(VerifyError::NoReceipt)?.clone();
    let receipt = decision.remove("receipt").ok_or(VerifyError::NoReceipt)?;
    let receipt: Receipt =
        serde_json::from_value(receipt).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if receipt.rows.is_some() {
        return Err(VerifyError::Malformed(
            "a check receipt has no `rows`".into(),
        ));
    }
    let mut buf = Vec::new();
    canonical(&Value::Object(decision.clone()), &mut buf);
    if sha256_hex(&buf) != receipt.digest {
        return Err(VerifyError::DigestMismatch);
    }
    if decision.get("snapshot").and_then(Value::as_str) != Some(receipt.snapshot.as_str()) {
        return Err(VerifyError::SnapshotMismatch);
    }
    check_signature(&receipt, key)?;
    Ok(receipt)
}

/// Verifies a batch response: the body as received, whose last line is the receipt
/// (`{"receipt":{…}}` in NDJSON, `#receipt,"<that JSON, CSV-quoted>"` in CSV).
pub fn verify_batch(body: &[u8], key: &VerifyingKey) -> Result<Receipt, VerifyError> {
    let trimmed = body.strip_suffix(b"\n").unwrap_or(body);
    let start = trimmed
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let (rows, last) = body.split_at(start);
    let last = std::str::from_utf8(last)
        .map_err(|_| VerifyError::NoReceipt)?
        .trim_end();
    let json = match last.strip_prefix("#receipt,") {
        Some(q) => q
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .ok_or(VerifyError::NoReceipt)?
            .replace("\"\"", "\""),
        None => last.to_string(),
    };
    let v: Value = serde_json::from_str(&json).map_err(|_| VerifyError::NoReceipt)?;
    let receipt: Receipt =
        serde_json::from_value(v.get("receipt").cloned().ok_or(VerifyError::NoReceipt)?)
            .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if receipt.rows.is_none() {
        return Err(VerifyError::Malformed(
            "a batch receipt needs `rows`".into(),
        ));
    }
    if sha256_hex(rows) != receipt.digest {
        return Err(VerifyError::DigestMismatch);
    }
    check_signature(&receipt, key)?;
    Ok(receipt)
}

#[derive(Debug, Clone, PartialEq)]
pub enum VerifyError {
    NoReceipt,
    Malformed(String),
    DigestMismatch,
    SnapshotMismatch,
    BadSignature,
    PublicKey(&'static str),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::NoReceipt => f.write_str("no receipt found: expected a check response with a `receipt` member, or a batch whose last line is the receipt"),
            VerifyError::Malformed(e) => write!(f, "the receipt is malformed: {e}"),
            VerifyError::DigestMismatch => f.write_str("ALTERED: the content does not match the receipt's digest"),
            VerifyError::SnapshotMismatch => f.write_str("ALTERED: the decision's snapshot is not the receipt's"),
            VerifyError::BadSignature => f.write_str("ALTERED or not ours: the signature does not hold for this receipt under this public key"),
            VerifyError::PublicKey(e) => write!(f, "the public key file is not usable ({e}); save the JSON of GET /v1/receipts/public-key"),
        }
    }
}

impl std::error::Error for VerifyError {}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyFileError {
    Io(PathBuf, String),
    Malformed(PathBuf),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Io(p, e) => write!(f, "signing key {}: {e}", p.display()),
            KeyFileError::Malformed(p) => write!(
                f,
                "signing key {}: expected the 32-byte Ed25519 seed as 64 hex digits",
                p.display()
            ),
        }
    }
}

impl std::error::Error for KeyFileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_members_at_every_depth() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[3,{"d":"é\"","c":null}],"x":true},"A":-1.5}"#)
                .unwrap();
        let mut out = Vec::new();
        canonical(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"A":-1.5,"a":{"x":true,"y":[3,{"c":null,"d":"é\""}]},"b":1}"#
        );
    }

    #[test]
    fn a_signed_check_verifies_and_any_change_breaks_it() {
        let s = Signer::new([7; 32]).unwrap();
        let d =
            serde_json::json!({"id":"x","decision":"deny","snapshot":"s1","measures":[{"id":"m"}]});
        let (bytes, r) = s.sign_check(&d, "s1");
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(verify_check(&v, &s.verifying_key()).unwrap(), r);
        let mut w = v.clone();
        w["measures"][0]["id"] = "n".into();
        assert_eq!(
            verify_check(&w, &s.verifying_key()),
            Err(VerifyError::DigestMismatch)
        );
        let mut w = v.clone();
        w["receipt"]["checked_at"] = "2000-01-01T00:00:00.000Z".into();
        assert_eq!(
            verify_check(&w, &s.verifying_key()),
            Err(VerifyError::BadSignature)
        );
        let other = Signer::new([8; 32]).unwrap();
        assert_eq!(
            verify_check(&v, &other.verifying_key()),
            Err(VerifyError::BadSignature)
        );
        let pk = parse_public_key(&s.public_key_json().to_string()).unwrap();
        assert_eq!(pk, s.verifying_key());
    }

    #[test]
    fn receipt_ids_are_unique_and_times_well_formed() {
        let s = Signer::new([1; 32]).unwrap();
        let a = s.issue("s", "d".into(), None);
        let b = s.issue("s", "d".into(), None);
        assert_ne!(a.id, b.id);
        let t = &a.checked_at;
        assert_eq!(t.len(), 24, "{t}");
        assert!(Day::parse(&t[..10]).is_ok() && t.ends_with('Z'));
    }
}
