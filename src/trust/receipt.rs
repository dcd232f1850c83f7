//! Signed screening receipts: proof, later, that this server gave this answer about this
//! subject against this snapshot.
//!
//! # Digests
//!
//! **Digest of a check.** The decision object of the response with its `receipt` member
//! removed, encoded canonically ([`super::canonical`]): JSON with no white space, the
//! members of every object sorted by the bytes of their names (UTF-8), arrays in order,
//! strings escaped as serde_json escapes them (`"` `\` and control characters only; other
//! characters as UTF-8), numbers as serde_json writes them. `digest` is the lower-case hex
//! SHA-256 of those bytes. The server writes those bytes straight from the decision
//! ([`super::canonical::write_decision`]) and sends them as the body, receipt appended.
//!
//! **Digest of a batch** (`/v1/screen`). The SHA-256 of every byte of the response body
//! before the receipt line (CSV header, rows, a summary or error line), as sent.
//!
//! # Version 1: one signature per receipt (batches of `/v1/screen`)
//!
//! `{id, checked_at, snapshot, digest, signature, rows, scenario, as_of}` with no `version`
//! member. `signature` is standard base64 (with padding) of Ed25519 (RFC 8032) over the UTF-8
//! bytes of `credgate-receipt-v1\n{id}\n{checked_at}\n{snapshot}\n{digest}\n{rows}`, where
//! `rows` is the decimal row count of a batch and `-` for a check (checks were signed this way
//! before version 2, and such receipts still verify), followed by `\n{scenario}\n{as_of}`
//! when the receipt names them. Every batch receipt does: its rows do not say what they were
//! screened for, and a `clear` row answers one scenario and day only. (Batch receipts made
//! before that, without them, still verify.)
//!
//! # Version 2: one signature per batch of receipts (checks)
//!
//! `{version: 2, id, checked_at, snapshot, digest, leaf_index, leaves, path, root,
//! signature}`. Checks that arrive together are signed together ([`super::batching`]):
//!
//! - each receipt is a leaf: `leaf = SHA-256(0x00 ‖ credgate-receipt-v2\n{id}\n{checked_at}\n{snapshot}\n{digest}\n-)`
//!   (the last line is `rows` as in version 1);
//! - the leaves of one round, in order, form a binary Merkle tree ([`super::merkle`]):
//!   `node = SHA-256(0x01 ‖ left ‖ right)`, nodes paired left to right at each level, a last
//!   node without a partner moving up unchanged;
//! - `leaf_index` is the receipt's position, `leaves` the number of leaves, `path` the
//!   lower-case hex partner hashes from the leaf up (empty for a round of one), `root` the
//!   lower-case hex root;
//! - `signature` is base64 Ed25519 over `credgate-receipt-root-v2\n{root}\n{leaves}`.
//!
//! Verifying recomputes the digest from the decision, the leaf from the receipt, the root
//! from the leaf, `leaf_index`, `leaves` and `path`, requires it to equal `root`, and checks
//! the signature over the root. Each receipt thus carries everything needed to verify it
//! alone, and proves as much as a version-1 receipt: changing any field of the decision
//! changes the digest; changing any field of the receipt, the index, the count or the path
//! changes the root reached; changing the root breaks the signature. Receipts of one round
//! share `root` and `signature`, which tells only that they were signed at the same moment.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use credgate_index::date::Day;

use super::batching::{root_message, BatchSigner, Proof, Unsigned, MIN_ROUND_INTERVAL};
use super::canonical::write_decision;
pub use super::canonical::{canonical, parse_strict};
use super::merkle::{leaf_hash, leaf_hash_parts, root_from_path, Hash};
use crate::engine::json::string;
use crate::engine::Decision;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// 2 for receipts signed in a batch (see the module documentation); absent for 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    pub id: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub checked_at: String,
    pub snapshot: String,
    pub digest: String,
    /// Version 2: the receipt's position among the leaves of its round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    /// Version 2: how many receipts the round signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves: Option<u64>,
    /// Version 2: the audit path, lower-case hex hashes from the leaf up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
    /// Version 2: the lower-case hex Merkle root the signature covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    pub signature: String,
    /// Rows of a batch; absent on a check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A batch: the scenario its rows answer (a check's decision names its own). Absent on
    /// batch receipts made before it was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// A batch: the `as_of` day its rows answer, `YYYY-MM-DD`; present with `scenario`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl Receipt {
    /// Version 1: the bytes the signature covers.
    pub fn message(&self) -> Vec<u8> {
        self.content("credgate-receipt-v1")
    }

    /// Version 2: the bytes of the receipt's Merkle leaf (before the 0x00 prefix).
    pub fn leaf_message(&self) -> Vec<u8> {
        self.content("credgate-receipt-v2")
    }

    fn content(&self, tag: &str) -> Vec<u8> {
        let rows = self.rows.map_or("-".to_string(), |r| r.to_string());
        let mut text = format!(
            "{tag}\n{}\n{}\n{}\n{}\n{rows}",
            self.id, self.checked_at, self.snapshot, self.digest
        );
        // A batch's question, two more lines; a receipt without them is signed as before.
        if let (Some(scenario), Some(as_of)) = (&self.scenario, &self.as_of) {
            text.push_str(&format!("\n{scenario}\n{as_of}"));
        }
        text.into_bytes()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    super::hex(&Sha256::digest(bytes))
}

/// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    let t = now_utc_millis();
    // The bytes are ASCII digits and punctuation.
    String::from_utf8_lossy(&t).into_owned()
}

/// Now as the 24 ASCII bytes `YYYY-MM-DDTHH:MM:SS.mmmZ`, made without allocating.
pub fn now_utc_millis() -> [u8; 24] {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    utc_millis(d.as_secs(), d.subsec_millis())
}

/// `secs` since 1970 and `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn utc_millis(secs: u64, millis: u32) -> [u8; 24] {
    let mut out = *b"0000-00-00T00:00:00.000Z";
    out[..10].copy_from_slice(&Day((secs / 86_400) as i32).to_bytes());
    let s = secs % 86_400;
    let put = |out: &mut [u8; 24], at: usize, v: u64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut out, 11, s / 3600, 2);
    put(&mut out, 14, s / 60 % 60, 2);
    put(&mut out, 17, s % 60, 2);
    put(&mut out, 20, u64::from(millis), 3);
    out
}

/// The server's signing key and its receipt numbering.
pub struct Signer {
    key: SigningKey,
    /// Signs version-2 receipts, one signature per round.
    batch: Arc<BatchSigner>,
    /// Random per process start (16 lower-case hex digits), so receipt ids stay unique
    /// across restarts.
    prefix: [u8; 16],
    counter: AtomicU64,
}

impl Signer {
    pub fn new(seed: [u8; 32]) -> std::io::Result<Signer> {
        Signer::with_round_interval(seed, MIN_ROUND_INTERVAL)
    }

    /// A signer whose rounds start at least `interval` apart instead of
    /// [`MIN_ROUND_INTERVAL`] (for tests that need rounds to wait).
    pub fn with_round_interval(seed: [u8; 32], interval: Duration) -> std::io::Result<Signer> {
        let random: [u8; 8] = super::random()?;
        let mut prefix = [0u8; 16];
        super::hex_into(&random, &mut prefix);
        let key = SigningKey::from_bytes(&seed);
        Ok(Signer {
            batch: BatchSigner::with_interval(key.clone(), interval),
            key,
            prefix,
            counter: AtomicU64::new(0),
        })
    }

    /// The key in `path` (the 32-byte Ed25519 seed as 64 hex digits), created 0600 with a
    /// fresh key if absent. A key file that other users may read or write is refused:
    /// whoever reads it can sign receipts in this server's name, and whoever writes it can
    /// put in a key of their own, so receipts would prove nothing.
    pub fn from_file(path: &Path) -> Result<Signer, KeyFileError> {
        let io = |e: std::io::Error| KeyFileError::Io(path.to_path_buf(), e.to_string());
        let seed = match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Some(mode) = super::exposed_mode(path) {
                    return Err(KeyFileError::Exposed(path.to_path_buf(), mode));
                }
                super::unhex::<32>(text.trim())
                    .ok_or_else(|| KeyFileError::Malformed(path.to_path_buf()))?
            }
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

    /// An unsigned receipt with a fresh id and the time now.
    fn blank(&self, snapshot: &str, digest: String, rows: Option<u64>) -> Receipt {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Receipt {
            version: None,
            id: ReceiptId::new(&self.prefix, n).as_str().to_string(),
            checked_at: now_rfc3339(),
            snapshot: snapshot.to_string(),
            digest,
            leaf_index: None,
            leaves: None,
            path: None,
            root: None,
            signature: String::new(),
            rows,
            scenario: None,
            as_of: None,
        }
    }

    /// `r` with its version-1 signature.
    fn signed(&self, mut r: Receipt) -> Receipt {
        r.signature = B64.encode(self.key.sign(&r.message()).to_bytes());
        r
    }

    /// A version-1 receipt of a check over `digest`, signed on its own (for tools).
    pub fn issue(&self, snapshot: &str, digest: String) -> Receipt {
        self.signed(self.blank(snapshot, digest, None))
    }

    /// The version-1 receipt of a batch of `/v1/screen`: its `rows` rows, whose response
    /// bytes hash to `digest`, answered for `scenario` as of `as_of`. The rows do not say
    /// what they were screened for (a row reads `clear` in a scenario without punishments,
    /// or as of a day before a listing), so the receipt names and signs it.
    pub fn issue_batch(
        &self,
        snapshot: &str,
        digest: String,
        rows: u64,
        scenario: &str,
        as_of: Day,
    ) -> Receipt {
        let mut r = self.blank(snapshot, digest, Some(rows));
        r.scenario = Some(scenario.to_string());
        r.as_of = Some(as_of.to_string());
        self.signed(r)
    }

    /// Signs a check with a version-2 receipt: the canonical decision with its receipt
    /// appended, ready to send, and the receipt's id and time (for the audit line). Waits
    /// for the round that signs it.
    pub async fn sign_decision(&self, d: &Decision<'_>) -> Result<(Vec<u8>, Issued), Unsigned> {
        let (body, draft) = self.draft(d);
        let proof = self.batch.sign(draft.leaf()).await?;
        // The response is made afresh once the round has answered, sized exactly for the
        // decision and this receipt, on the thread that will send and free it: the decision
        // alone, written before the round, fits the small buffers the allocator keeps per
        // thread, and freeing it here (often on the other worker thread, the task having
        // moved while it waited) stays in that cache instead of locking another thread's
        // arena, as a buffer with room for any receipt (over 1.5 kB) did.
        let buf = draft.finish(&body, &proof);
        drop(body);
        Ok((
            buf,
            Issued {
                id: draft.id,
                checked_at: draft.checked_at,
            },
        ))
    }

    /// Signs `decisions` as one round (one tree, one signature), in order. The server forms
    /// rounds itself ([`Signer::sign_decision`]); this is for tools and tests that need a
    /// round of a known size.
    pub fn sign_decisions_together(&self, decisions: &[Decision<'_>]) -> Vec<(Vec<u8>, Receipt)> {
        if decisions.is_empty() {
            return Vec::new();
        }
        let drafts: Vec<(Vec<u8>, Draft)> = decisions.iter().map(|d| self.draft(d)).collect();
        let leaves = drafts.iter().map(|(_, d)| d.leaf()).collect();
        let proofs = self.batch.sign_leaves(leaves);
        drafts
            .into_iter()
            .zip(proofs)
            .map(|((body, draft), proof)| (draft.finish(&body, &proof), draft.receipt(&proof)))
            .collect()
    }

    /// See [`BatchSigner::serve_on_workers`].
    pub fn serve_on_workers(&self, open: Vec<Arc<AtomicU64>>) {
        self.batch.serve_on_workers(open);
    }

    /// See [`BatchSigner::worker_idle`].
    pub fn worker_idle(&self, every: bool) {
        self.batch.worker_idle(every);
    }

    /// Rounds signed by the signer thread and the receipts they covered, for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let (rounds, leaves) = self.batch.signed();
        let by_thread = self.batch.signed_by_thread();
        let _ = writeln!(out, "# HELP credgate_receipt_rounds_total Signatures made for rounds of check receipts.\n# TYPE credgate_receipt_rounds_total counter\ncredgate_receipt_rounds_total {rounds}");
        let _ = writeln!(out, "# HELP credgate_receipt_leaves_total Check receipts signed in rounds (divided by the rounds: the mean round size).\n# TYPE credgate_receipt_leaves_total counter\ncredgate_receipt_leaves_total {leaves}");
        let _ = writeln!(out, "# HELP credgate_receipt_rounds_signer_thread_total Rounds of check receipts signed by the signer thread because no check arrived after their due time to sign them.\n# TYPE credgate_receipt_rounds_signer_thread_total counter\ncredgate_receipt_rounds_signer_thread_total {by_thread}");
        let drained = self.batch.drained();
        let at_idle = self.batch.started_at_idle();
        let _ = writeln!(out, "# HELP credgate_receipt_rounds_idle_total Rounds of check receipts started by a connection worker as it ran out of other work.\n# TYPE credgate_receipt_rounds_idle_total counter\ncredgate_receipt_rounds_idle_total {at_idle}");
        let _ = writeln!(out, "# HELP credgate_receipt_rounds_drained_total Rounds of check receipts started before their due time because every open connection was waiting for one.\n# TYPE credgate_receipt_rounds_drained_total counter\ncredgate_receipt_rounds_drained_total {drained}");
    }

    /// The canonical decision and what its receipt holds before the round: id, time, digest.
    fn draft<'a>(&self, d: &Decision<'a>) -> (Vec<u8>, Draft<'a>) {
        // The decision only: the receipt is appended to a copy sized for it once the round
        // has answered ([`Signer::sign_decision`]).
        let mut buf = Vec::with_capacity(d.json_capacity());
        write_decision(d, &mut buf);
        let mut digest = [0u8; 64];
        super::hex_into(&Sha256::digest(&buf), &mut digest);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let draft = Draft {
            id: ReceiptId::new(&self.prefix, n),
            checked_at: now_utc_millis(),
            snapshot: d.snapshot,
            digest,
        };
        (buf, draft)
    }

    /// Version 1 for a check: the canonical form of `decision` (an object) with a receipt
    /// signed on its own appended. The server signs checks with [`Signer::sign_decision`];
    /// this stays for comparison (`examples/receipt_cost`) and for tools.
    pub fn sign_check(&self, decision: &Value, snapshot: &str) -> (Vec<u8>, Receipt) {
        let mut buf = Vec::with_capacity(1024);
        canonical(decision, &mut buf);
        let receipt = self.issue(snapshot, sha256_hex(&buf));
        append_receipt(&mut buf, &receipt);
        (buf, receipt)
    }
}

/// A receipt id: the process's random prefix and a counter in lower-case hex, at least 12
/// digits (`{prefix}{n:012x}`), kept in place rather than in a `String`.
#[derive(Clone, Copy)]
struct ReceiptId {
    bytes: [u8; 32],
    len: usize,
}

impl ReceiptId {
    fn new(prefix: &[u8; 16], n: u64) -> ReceiptId {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(prefix);
        // 12 digits, or as many as `n` needs beyond that (16 at most).
        let digits = (16 - (n.leading_zeros() as usize) / 4).max(12);
        let mut hex = [0u8; 16];
        super::hex_into(&n.to_be_bytes(), &mut hex);
        bytes[16..16 + digits].copy_from_slice(&hex[16 - digits..]);
        ReceiptId {
            bytes,
            len: 16 + digits,
        }
    }

    fn as_str(&self) -> &str {
        // Hex digits only.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The id's bytes (hex digits: nothing to check or escape where the leaf and the answer
    /// take them).
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What the server keeps of a check's signed receipt: its id and time, for the audit line.
pub struct Issued {
    id: ReceiptId,
    checked_at: [u8; 24],
}

impl Issued {
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn checked_at(&self) -> &str {
        std::str::from_utf8(&self.checked_at).unwrap_or_default()
    }
}

/// A version-2 receipt before its round: the fields its leaf covers, kept without the
/// allocations of a [`Receipt`] (the server needs only the id and time afterwards).
struct Draft<'a> {
    id: ReceiptId,
    checked_at: [u8; 24],
    snapshot: &'a str,
    /// Lower-case hex SHA-256 of the canonical decision.
    digest: [u8; 64],
}

impl Draft<'_> {
    fn checked_at(&self) -> &str {
        std::str::from_utf8(&self.checked_at).unwrap_or_default()
    }

    fn digest(&self) -> &str {
        std::str::from_utf8(&self.digest).unwrap_or_default()
    }

    /// The leaf hash: the same bytes as [`Receipt::leaf_message`], hashed as they are
    /// written.
    fn leaf(&self) -> Hash {
        leaf_hash_parts(&[
            b"credgate-receipt-v2\n",
            self.id.as_bytes(),
            b"\n",
            &self.checked_at,
            b"\n",
            self.snapshot.as_bytes(),
            b"\n",
            &self.digest,
            b"\n-",
        ])
    }

    /// The response: `body` (the canonical decision) with the receipt appended, in a buffer
    /// of exactly its size.
    fn finish(&self, body: &[u8], proof: &Proof) -> Vec<u8> {
        let mut buf = Vec::with_capacity(body.len() + self.receipt_len(proof));
        buf.extend_from_slice(body);
        self.append_to(&mut buf, proof);
        buf
    }

    /// The bytes [`Draft::append_to`] adds to the decision (the comma before the member and
    /// the closing brace it moves included), exact when the snapshot id needs no escape (it
    /// is hex); an escaped one only makes the buffer grow once.
    fn receipt_len(&self, proof: &Proof) -> usize {
        const FIXED: usize = r#","receipt":{"version":2,"id":"","checked_at":"","snapshot":"","digest":"","leaf_index":,"leaves":,"path":[],"root":"","signature":""}}"#.len();
        let digits = |n: u64| n.checked_ilog10().map_or(1, |l| l as usize + 1);
        let path = proof.path_len();
        FIXED
            + self.id.len
            + self.checked_at.len()
            + self.snapshot.len()
            + self.digest.len()
            + digits(proof.index())
            + digits(proof.leaves())
            + path * 66
            + path.saturating_sub(1)
            + proof.root_hex().len()
            + proof.signature_b64().len()
            - 1
    }

    /// Puts `"receipt":{…}` as the last member of the decision in `buf`: the same bytes as
    /// serde_json writes for [`Draft::receipt`] (members in declaration order, the absent
    /// `rows` left out), written by hand.
    fn append_to(&self, buf: &mut Vec<u8>, proof: &Proof) {
        if buf.last() != Some(&b'}') {
            return;
        }
        buf.pop();
        if buf.len() > 1 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"\"receipt\":{\"version\":2,\"id\":\"");
        buf.extend_from_slice(self.id.as_bytes());
        buf.extend_from_slice(b"\",\"checked_at\":\"");
        buf.extend_from_slice(&self.checked_at);
        buf.extend_from_slice(b"\",\"snapshot\":");
        string(buf, self.snapshot);
        buf.extend_from_slice(b",\"digest\":\"");
        buf.extend_from_slice(&self.digest);
        buf.extend_from_slice(b"\",\"leaf_index\":");
        let _ = write!(buf, "{},\"leaves\":{}", proof.index(), proof.leaves());
        buf.extend_from_slice(b",\"path\":[");
        for (i, hex) in proof.path_hex().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.push(b'"');
            buf.extend_from_slice(hex);
            buf.push(b'"');
        }
        buf.extend_from_slice(b"],\"root\":\"");
        buf.extend_from_slice(proof.root_hex());
        buf.extend_from_slice(b"\",\"signature\":\"");
        buf.extend_from_slice(proof.signature_b64());
        buf.extend_from_slice(b"\"}}");
    }

    /// The whole receipt, for tools and tests.
    fn receipt(&self, proof: &Proof) -> Receipt {
        Receipt {
            version: Some(2),
            id: self.id.as_str().to_string(),
            checked_at: self.checked_at().to_string(),
            snapshot: self.snapshot.to_string(),
            digest: self.digest().to_string(),
            leaf_index: Some(proof.index()),
            leaves: Some(proof.leaves()),
            path: Some(proof.path().map(|h| super::hex(h)).collect()),
            root: Some(super::hex(&proof.root())),
            signature: B64.encode(proof.signature()),
            rows: None,
            scenario: None,
            as_of: None,
        }
    }
}

/// Puts `"receipt":{…}` as the last member of the JSON object in `buf`.
fn append_receipt(buf: &mut Vec<u8>, receipt: &Receipt) {
    if buf.last() == Some(&b'}') {
        buf.pop();
        if buf.len() > 1 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"\"receipt\":");
        let _ = serde_json::to_writer(&mut *buf, receipt);
        buf.push(b'}');
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

/// Checks the receipt's signature (version 1) or its path and the signature over its root
/// (version 2), once its digest has been checked against the content.
fn check_signature(r: &Receipt, key: &VerifyingKey) -> Result<(), VerifyError> {
    let sig = B64
        .decode(&r.signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(VerifyError::BadSignature)?;
    let tree = (&r.leaf_index, &r.leaves, &r.path, &r.root);
    let message = match (r.version, tree) {
        (None, (None, None, None, None)) => r.message(),
        (None, _) => {
            return Err(VerifyError::Malformed(
                "`leaf_index`, `leaves`, `path` and `root` belong to version 2 receipts".into(),
            ))
        }
        (Some(2), (Some(index), Some(leaves), Some(path), Some(root))) => {
            let path = path
                .iter()
                .map(|h| parse_hash(h, "path"))
                .collect::<Result<Vec<Hash>, _>>()?;
            let claimed = parse_hash(root, "root")?;
            let reached = root_from_path(leaf_hash(&r.leaf_message()), *index, *leaves, &path)
                .ok_or(VerifyError::PathMismatch)?;
            if reached != claimed {
                return Err(VerifyError::PathMismatch);
            }
            root_message(&claimed, *leaves)
        }
        (Some(2), _) => {
            return Err(VerifyError::Malformed(
                "a version 2 receipt needs `leaf_index`, `leaves`, `path` and `root`".into(),
            ))
        }
        (Some(v), _) => {
            return Err(VerifyError::Malformed(format!(
                "receipt version {v} is unknown to this credgate (a version 1 receipt has no \
                 `version` member; a version 2 receipt has `\"version\":2`)"
            )))
        }
    };
    key.verify_strict(&message, &sig)
        .map_err(|_| VerifyError::BadSignature)
}

/// A hash written as exactly 64 lower-case hex digits (no other spelling is accepted, so
/// a receipt has one valid form).
fn parse_hash(s: &str, what: &str) -> Result<Hash, VerifyError> {
    super::unhex::<32>(s)
        .filter(|h| super::hex(h) == s)
        .ok_or_else(|| {
            VerifyError::Malformed(format!(
                "`{what}` holds {s:?}, not 64 lower-case hex digits"
            ))
        })
}

/// Verifies a check response (the whole JSON object, receipt included), read with
/// [`parse_strict`]: a response read by a parser that keeps one of two members of the same
/// name may not mean what was signed.
pub fn verify_check(response: &Value, key: &VerifyingKey) -> Result<Receipt, VerifyError> {
    let mut decision = response.as_object().ok_or(VerifyError::NoReceipt)?.clone();
    let receipt = decision.remove("receipt").ok_or(VerifyError::NoReceipt)?;
    let receipt: Receipt =
        serde_json::from_value(receipt).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if receipt.rows.is_some() || receipt.scenario.is_some() || receipt.as_of.is_some() {
        return Err(VerifyError::Malformed(
            "a check receipt has no `rows`, `scenario` or `as_of` (its decision names its \
             scenario and as_of)"
                .into(),
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
    let v: Value = match parse_strict(json.as_bytes()) {
        Ok(v) => v,
        // Well-formed JSON that repeats a member: one receipt line, two readings of it.
        Err(e) if e.is_data() => return Err(VerifyError::Malformed(e.to_string())),
        Err(_) => return Err(VerifyError::NoReceipt),
    };
    let receipt = v.get("receipt").cloned().ok_or(VerifyError::NoReceipt)?;
    // The signature covers the receipt, not the line around it: a member beside it would
    // be shown as if signed.
    if let Some(other) = v
        .as_object()
        .and_then(|m| m.keys().find(|k| k.as_str() != "receipt"))
    {
        return Err(VerifyError::Malformed(format!(
            "the receipt line holds `{other}` beside `receipt`; it may hold only the receipt, \
             which is all its signature covers"
        )));
    }
    let receipt: Receipt =
        serde_json::from_value(receipt).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if receipt.rows.is_none() {
        return Err(VerifyError::Malformed(
            "a batch receipt needs `rows`".into(),
        ));
    }
    if receipt.scenario.is_some() != receipt.as_of.is_some() {
        return Err(VerifyError::Malformed(
            "a batch receipt names both `scenario` and `as_of`, or neither".into(),
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
    /// Version 2: the path does not lead from the receipt's leaf to its root.
    PathMismatch,
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
            VerifyError::PathMismatch => f.write_str("ALTERED: the receipt's audit path does not lead from its fields to its root"),
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
    /// Users other than the owner may read or write the key (its permission bits).
    Exposed(PathBuf, u32),
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
            KeyFileError::Exposed(p, mode) => write!(
                f,
                "signing key {0}: other users may read or write it (mode {mode:03o}), and whoever \
                 reads it can sign receipts in this server's name; run `chmod 600 {0}`",
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

    #[cfg(unix)]
    #[test]
    fn key_files_open_to_others_or_malformed_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let made = d.path().join("made.key");
        let a = Signer::from_file(&made).unwrap();
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            Signer::from_file(&made).unwrap().verifying_key(),
            a.verifying_key()
        );
        for open in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&made, std::fs::Permissions::from_mode(open)).unwrap();
            let e = Signer::from_file(&made).err().unwrap();
            assert_eq!(e, KeyFileError::Exposed(made.clone(), open));
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        let bad = d.path().join("bad.key");
        std::fs::write(&bad, "not a key\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Signer::from_file(&bad).err().unwrap();
        assert_eq!(e, KeyFileError::Malformed(bad.clone()));
        assert!(e.to_string().contains("64 hex digits"), "{e}");
    }

    #[test]
    fn receipt_ids_are_unique_and_times_well_formed() {
        let s = Signer::new([1; 32]).unwrap();
        let a = s.issue("s", "d".into());
        let b = s.issue("s", "d".into());
        assert_ne!(a.id, b.id);
        let t = &a.checked_at;
        assert_eq!(t.len(), 24, "{t}");
        assert!(Day::parse(&t[..10]).is_ok() && t.ends_with('Z'));
    }

    /// A decision whose 18-character id spells `name` (right-aligned, '-' as '0').
    fn decision(name: String) -> Decision<'static> {
        use crate::engine::decision::Outcome;
        use credgate_index::model::Scenario;
        let mut id = [b'0'; 18];
        for (slot, c) in id[18 - name.len()..].iter_mut().zip(name.bytes()) {
            *slot = if c.is_ascii_alphanumeric() { c } else { b'0' };
        }
        Decision {
            id: crate::engine::DisplayId::new(&id, false, true),
            id_type: "uscc",
            scenario: Scenario::Licensing,
            as_of: Day(20_000),
            decision: Outcome::Clear,
            heightened: false,
            nonconforming: false,
            name: Some("某某有限公司".into()),
            measures: vec![],
            records: vec![],
            snapshot: "snap-1",
        }
    }

    /// Every way of altering a version-2 receipt that must be caught.
    fn receipt_alterations(v: &Value, other: &Value) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        let mut put = |what: &'static str, f: &dyn Fn(&mut Value)| {
            let mut w = v.clone();
            f(&mut w);
            out.push((what, w));
        };
        put("id", &|w| w["receipt"]["id"] = "0".into());
        put("checked_at", &|w| {
            w["receipt"]["checked_at"] = "2000-01-01T00:00:00.000Z".into()
        });
        put("snapshot", &|w| w["receipt"]["snapshot"] = "snap-2".into());
        put("decision snapshot", &|w| w["snapshot"] = "snap-2".into());
        put("digest", &|w| {
            w["receipt"]["digest"] = "00".repeat(32).into()
        });
        put("decision", &|w| w["decision"] = "deny".into());
        put("index+1", &|w| {
            w["receipt"]["leaf_index"] = (w["receipt"]["leaf_index"].as_u64().unwrap() + 1).into()
        });
        put("index^1", &|w| {
            w["receipt"]["leaf_index"] = (w["receipt"]["leaf_index"].as_u64().unwrap() ^ 1).into()
        });
        put("leaves+1", &|w| {
            w["receipt"]["leaves"] = (w["receipt"]["leaves"].as_u64().unwrap() + 1).into()
        });
        put("leaves-1", &|w| {
            w["receipt"]["leaves"] = (w["receipt"]["leaves"].as_u64().unwrap() - 1).into()
        });
        put("path flipped", &|w| {
            if let Some(h) = w["receipt"]["path"][0].as_str().map(str::to_string) {
                let flipped = if h.starts_with('0') { "1" } else { "0" };
                w["receipt"]["path"][0] = format!("{flipped}{}", &h[1..]).into();
            }
        });
        put("path shortened", &|w| {
            w["receipt"]["path"].as_array_mut().unwrap().pop();
        });
        put("path emptied", &|w| {
            w["receipt"]["path"] = Value::Array(vec![])
        });
        put("path lengthened", &|w| {
            let r = w["receipt"]["root"].clone();
            w["receipt"]["path"].as_array_mut().unwrap().push(r);
        });
        put("path upper case", &|w| {
            if let Some(h) = w["receipt"]["path"][0].as_str().map(str::to_uppercase) {
                w["receipt"]["path"][0] = h.into();
            }
        });
        put("path of another", &|w| {
            w["receipt"]["path"] = other["receipt"]["path"].clone()
        });
        put("root", &|w| w["receipt"]["root"] = "ab".repeat(32).into());
        put("root of another round", &|w| {
            w["receipt"]["root"] = other["receipt"]["root"].clone()
        });
        put("signature", &|w| {
            w["receipt"]["signature"] = other["receipt"]["signature"].clone()
        });
        put("no version", &|w| {
            w["receipt"].as_object_mut().unwrap().remove("version");
        });
        put("version 3", &|w| w["receipt"]["version"] = 3.into());
        put("no path", &|w| {
            w["receipt"].as_object_mut().unwrap().remove("path");
        });
        out
    }

    #[test]
    fn every_receipt_of_a_round_verifies_and_any_change_breaks_it() {
        let s = Signer::new([7; 32]).unwrap();
        let key = s.verifying_key();
        // Another round, so "the root or signature of another round" is a real one.
        let ds: Vec<_> = (0..3).map(|i| decision(format!("other-{i}"))).collect();
        let other_round: Vec<Value> = s
            .sign_decisions_together(&ds)
            .into_iter()
            .map(|(b, _)| serde_json::from_slice(&b).unwrap())
            .collect();
        for n in [1usize, 2, 5, 8, 13] {
            let ds: Vec<_> = (0..n).map(|i| decision(format!("id-{i}"))).collect();
            let signed = s.sign_decisions_together(&ds);
            assert_eq!(signed.len(), n);
            let roots: std::collections::BTreeSet<_> =
                signed.iter().map(|(_, r)| r.root.clone()).collect();
            assert_eq!(roots.len(), 1, "one root per round");
            for (i, (bytes, r)) in signed.iter().enumerate() {
                assert_eq!(
                    (r.version, r.leaf_index, r.leaves),
                    (Some(2), Some(i as u64), Some(n as u64))
                );
                let v: Value = serde_json::from_slice(bytes).unwrap();
                assert_eq!(&verify_check(&v, &key).unwrap(), r);
                // The path of a neighbour in the same round (or of the other round).
                let neighbour = if n > 1 {
                    serde_json::from_slice(&signed[(i + 1) % n].0).unwrap()
                } else {
                    other_round[1].clone()
                };
                for (what, w) in receipt_alterations(&v, &neighbour) {
                    if n == 1
                        && what.starts_with("path")
                        && what != "path of another"
                        && what != "path lengthened"
                    {
                        continue; // a round of one has an empty path
                    }
                    if w == v {
                        continue; // e.g. the neighbour shares this leaf's partner
                    }
                    assert!(
                        verify_check(&w, &key).is_err(),
                        "n={n} i={i}: {what} was not caught"
                    );
                }
                // Every receipt of the other round verifies too, and none with this key swapped.
                let other = Signer::new([8; 32]).unwrap();
                assert_eq!(
                    verify_check(&v, &other.verifying_key()),
                    Err(VerifyError::BadSignature)
                );
            }
        }
        for v in &other_round {
            verify_check(v, &key).unwrap();
        }
    }

    /// The receipt written by hand is byte for byte what serde_json writes for the
    /// [`Receipt`] (so the format of version 2 is that of the struct and its documentation).
    #[test]
    fn hand_written_receipts_are_the_serde_encoding() {
        let s = Signer::new([9; 32]).unwrap();
        for n in [1usize, 2, 7, 64] {
            let mut ds: Vec<_> = (0..n).map(|i| decision(format!("h-{i}"))).collect();
            // A snapshot id that needs escaping, to hold the writer to serde's escaping.
            ds[0].snapshot = "snap \"q\" \\ \u{1}";
            for (d, (bytes, r)) in ds.iter().zip(s.sign_decisions_together(&ds)) {
                let mut expected = Vec::new();
                write_decision(d, &mut expected);
                append_receipt(&mut expected, &r);
                assert_eq!(
                    String::from_utf8(bytes).unwrap(),
                    String::from_utf8(expected.clone()).unwrap()
                );
                // And the leaf hashed as it was written is the leaf of the receipt's fields.
                let v: Value = serde_json::from_slice(&expected).unwrap();
                verify_check(&v, &s.verifying_key()).unwrap();
            }
        }
    }

    /// The response buffer is sized exactly: the receipt's length is predicted from its
    /// round (index and count digits, path length) before it is written.
    #[test]
    fn the_receipt_length_is_predicted_exactly() {
        let s = Signer::new([5; 32]).unwrap();
        for n in [1usize, 2, 3, 9, 10, 11, 64, 100, 1000] {
            let ds: Vec<_> = (0..n).map(|i| decision(format!("l-{i}"))).collect();
            let drafts: Vec<_> = ds.iter().map(|d| s.draft(d)).collect();
            let proofs = s
                .batch
                .sign_leaves(drafts.iter().map(|(_, d)| d.leaf()).collect());
            for ((body, draft), proof) in drafts.iter().zip(&proofs) {
                let predicted = body.len() + draft.receipt_len(proof);
                let mut written = body.clone();
                draft.append_to(&mut written, proof);
                assert_eq!(written.len(), predicted, "n={n} i={}", proof.index());
                assert_eq!(draft.finish(body, proof), written);
            }
        }
    }

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(&utc_millis(0, 0), b"1970-01-01T00:00:00.000Z");
        // 2026-11-29 02:03:04.005 UTC
        let secs = 20_786 * 86_400 + 2 * 3600 + 3 * 60 + 4;
        assert_eq!(&utc_millis(secs, 5), b"2026-11-29T02:03:04.005Z");
        assert_eq!(
            &utc_millis(secs + 86_399 - 7384, 999),
            b"2026-11-29T23:59:59.999Z"
        );
        let now = now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(Day::parse(&now[..10]).is_ok());
    }

    #[test]
    fn receipt_ids_are_the_prefix_and_at_least_twelve_hex_digits() {
        let prefix = *b"0123456789abcdef";
        for n in [0u64, 1, 0xabc, (1 << 48) - 1, 1 << 48, u64::MAX] {
            let expected = format!("0123456789abcdef{n:012x}");
            assert_eq!(ReceiptId::new(&prefix, n).as_str(), expected);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_share_rounds_and_all_verify() {
        let s = Arc::new(Signer::new([4; 32]).unwrap());
        let key = s.verifying_key();
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let d = decision(format!("c-{i}"));
                    s.sign_decision(&d).await.unwrap()
                })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let (bytes, issued) = t.await.unwrap();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let r = verify_check(&v, &key).unwrap();
            assert_eq!(
                (r.id.as_str(), r.checked_at.as_str()),
                (issued.id(), issued.checked_at())
            );
            let id = issued.id().to_string();
            let mut expected = Vec::new();
            write_decision(&decision(format!("c-{i}")), &mut expected);
            append_receipt(&mut expected, &r);
            assert_eq!(bytes, expected);
            assert!(ids.insert(id));
        }
        assert_eq!(ids.len(), 400);
    }
}
