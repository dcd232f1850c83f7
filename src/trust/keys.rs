//! API keys: a TOML file of `[[key]]` entries, each naming a caller, the SHA-256 of its bearer
//! token and the scopes it holds.
//!
//! ```toml
//! [[key]]
//! name = "licensing-counter-3"
//! token_sha256 = "5e8f…"          # 64 hex digits: sha256 of the token, never the token
//! scopes = ["check", "profile"]
//! rate_per_second = 50            # optional token bucket: refill rate …
//! burst = 100                     # … and size (default: one second's worth)
//! ```
//!
//! The server keeps only digests, so a leaked keys file does not leak tokens. A request's
//! token is hashed once; the table is looked up by the first 8 bytes of that digest and the
//! full 32 bytes are then compared in constant time ([`subtle`]), so the time a refusal takes
//! says nothing about how close a guess was.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ratelimit::Bucket;

/// What a key may do. `personal_full` is not an endpoint but an entitlement: see people's
/// identity numbers unmasked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Check,
    Screen,
    Profile,
    Search,
    Admin,
    PersonalFull,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Check,
        Scope::Screen,
        Scope::Profile,
        Scope::Search,
        Scope::Admin,
        Scope::PersonalFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Check => "check",
            Scope::Screen => "screen",
            Scope::Profile => "profile",
            Scope::Search => "search",
            Scope::Admin => "admin",
            Scope::PersonalFull => "personal_full",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn expected() -> String {
        Scope::ALL.map(Scope::as_str).join(", ")
    }
}

/// A set of scopes as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope but `personal_full`: what an anonymous caller on loopback gets.
    pub fn anonymous() -> Scopes {
        Scopes(
            Scope::ALL
                .iter()
                .filter(|s| **s != Scope::PersonalFull)
                .fold(0, |m, s| m | s.bit()),
        )
    }

    pub fn has(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn with(self, s: Scope) -> Scopes {
        Scopes(self.0 | s.bit())
    }
}

/// One caller.
#[derive(Debug)]
pub struct Key {
    pub name: Arc<str>,
    pub scopes: Scopes,
    digest: [u8; 32],
    /// `None`: no rate limit.
    pub bucket: Option<Arc<Bucket>>,
}

/// The keys being served, looked up by token digest.
#[derive(Debug, Default)]
pub struct KeyTable {
    by_prefix: HashMap<u64, Vec<Arc<Key>>>,
    len: usize,
}

/// SHA-256 of a bearer token.
pub fn token_digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl KeyTable {
    /// The key whose token has this digest.
    pub fn find(&self, digest: &[u8; 32]) -> Option<&Arc<Key>> {
        let prefix = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
        self.by_prefix
            .get(&prefix)?
            .iter()
            .find(|k| bool::from(k.digest.ct_eq(digest)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_prefix.values().flatten().map(|k| &*k.name)
    }

    /// Reads a keys file. `previous` carries the rate-limit state of keys that keep their
    /// name and limits across a reload, so a reload does not refill everyone's bucket.
    pub fn load(path: &Path, previous: Option<&KeyTable>) -> Result<KeyTable, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeysError::Read {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?;
        KeyTable::parse(&text, path, previous)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        previous: Option<&KeyTable>,
    ) -> Result<KeyTable, KeysError> {
        let file: KeysFile = toml::from_str(text).map_err(|e| KeysError::Parse {
            path: path.to_path_buf(),
            message: parse_error(text, &e),
        })?;
        let old: HashMap<&str, &Arc<Key>> = previous
            .map(|p| {
                p.by_prefix
                    .values()
                    .flatten()
                    .map(|k| (&*k.name, k))
                    .collect()
            })
            .unwrap_or_default();
        let mut table = KeyTable::default();
        let mut names: HashMap<String, ()> = HashMap::new();
        for (i, entry) in file.key.into_iter().enumerate() {
            let at = |problem: KeyProblem| KeysError::Entry {
                path: path.to_path_buf(),
                index: i + 1,
                name: entry.name.clone(),
                problem,
            };
            if entry.name.trim().is_empty() {
                return Err(at(KeyProblem::EmptyName));
            }
            if names.insert(entry.name.clone(), ()).is_some() {
                return Err(at(KeyProblem::DuplicateName));
            }
            let digest = super::unhex::<32>(&entry.token_sha256).ok_or_else(|| {
                at(KeyProblem::BadDigest {
                    chars: entry.token_sha256.chars().count(),
                    token_like: entry.token_sha256.starts_with("cg_"),
                })
            })?;
            if table.find(&digest).is_some() {
                return Err(at(KeyProblem::DuplicateToken));
            }
            let mut scopes = Scopes::default();
            for s in &entry.scopes {
                scopes = scopes
                    .with(Scope::parse(s).ok_or_else(|| at(KeyProblem::UnknownScope(s.clone())))?);
            }
            let bucket = match (entry.rate_per_second, entry.burst) {
                (None, None) => None,
                (None, Some(_)) => return Err(at(KeyProblem::BurstWithoutRate)),
                (Some(r), b) => {
                    if !(r.is_finite() && r > 0.0) {
                        return Err(at(KeyProblem::BadRate(r)));
                    }
                    if b == Some(0) {
                        return Err(at(KeyProblem::ZeroBurst));
                    }
                    let burst = b.unwrap_or_else(|| r.ceil().max(1.0) as u32);
                    let keep = old
                        .get(entry.name.as_str())
                        .and_then(|k| k.bucket.as_ref())
                        .filter(|b| b.same_limits(r, burst));
                    Some(
                        keep.cloned()
                            .unwrap_or_else(|| Arc::new(Bucket::new(r, burst))),
                    )
                }
            };
            let key = Arc::new(Key {
                name: entry.name.into(),
                scopes,
                digest,
                bucket,
            });
            let prefix = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
            table.by_prefix.entry(prefix).or_default().push(key);
            table.len += 1;
        }
        Ok(table)
    }
}

/// Where and why a keys file is not TOML of the expected shape, without the text of the
/// file: `toml`'s own account quotes the offending line, and serde's quotes the offending
/// value or key, any of which may be a token pasted where its digest belongs. Quoted values
/// are shown as `"…"`, and any other run of 16 or more characters a token could be made of
/// as `…` (the names of the fields are shorter).
fn parse_error(text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    enum In {
        Text,
        Backticks,
        Quotes { escaped: bool },
    }
    let mut message = String::new();
    let mut state = In::Text;
    for c in e.message().trim().chars() {
        match (&mut state, c) {
            (In::Quotes { escaped: true }, _) => state = In::Quotes { escaped: false },
            (In::Quotes { .. }, '\\') => state = In::Quotes { escaped: true },
            (In::Quotes { .. }, '"') => {
                message.push_str("…\"");
                state = In::Text;
            }
            (In::Quotes { .. }, _) => {}
            (In::Text, '"') => {
                message.push('"');
                state = In::Quotes { escaped: false };
            }
            (In::Text, '`') => {
                message.push('`');
                state = In::Backticks;
            }
            (In::Backticks, '`') => {
                message.push('`');
                state = In::Text;
            }
            (_, '\n') => message.push_str("; "),
            (_, c) => message.push(c),
        }
    }
    if matches!(state, In::Quotes { .. }) {
        message.push_str("…\"");
    }
    let tokenish = |c: char| c.is_ascii_alphanumeric() || "_-+/=".contains(c);
    let mut shown = String::with_capacity(message.len());
    let mut run = String::new();
    for c in message.chars().chain(std::iter::once('\n')) {
        if tokenish(c) {
            run.push(c);
            continue;
        }
        shown.push_str(if run.chars().count() >= 16 {
            "…"
        } else {
            &run
        });
        run.clear();
        if c != '\n' {
            shown.push(c);
        }
    }
    format!("{at}{shown}")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    key: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    token_sha256: String,
    scopes: Vec<String>,
    rate_per_second: Option<f64>,
    burst: Option<u32>,
}

/// A fresh bearer token: `cg_` and 43 characters of base64url over 32 random bytes.
pub fn new_token() -> std::io::Result<String> {
    use base64::Engine as _;
    let bytes: [u8; 32] = super::random()?;
    Ok(format!(
        "cg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The TOML entry for a key (what `credgate keys new` appends to the keys file).
pub fn entry_toml(name: &str, token: &str, scopes: &[Scope], rate: Option<(f64, u32)>) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let scopes: Vec<String> = scopes.iter().map(|s| quoted(s.as_str())).collect();
    let mut out = format!(
        "\n[[key]]\nname = {}\ntoken_sha256 = \"{}\"\nscopes = [{}]\n",
        quoted(name),
        super::hex(&token_digest(token.as_bytes())),
        scopes.join(", ")
    );
    if let Some((r, b)) = rate {
        out.push_str(&format!("rate_per_second = {r:?}\nburst = {b}\n"));
    }
    out
}

/// Why a keys file was refused (the server keeps the keys it had).
#[derive(Debug, Clone, PartialEq)]
pub enum KeysError {
    Read {
        path: PathBuf,
        error: String,
    },
    Parse {
        path: PathBuf,
        message: String,
    },
    Entry {
        path: PathBuf,
        /// 1-based position of the `[[key]]` entry in the file.
        index: usize,
        name: String,
        problem: KeyProblem,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyProblem {
    EmptyName,
    DuplicateName,
    DuplicateToken,
    /// `token_sha256` is not 64 hex digits: how many characters it holds, and whether it
    /// starts like a token of `credgate keys new` (its value is never shown: it may be one).
    BadDigest {
        chars: usize,
        token_like: bool,
    },
    UnknownScope(String),
    BadRate(f64),
    BurstWithoutRate,
    ZeroBurst,
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeysError::Read { path, error } => {
                write!(f, "reading the keys file {}: {error}", path.display())
            }
            KeysError::Parse { path, message } => write!(
                f,
                "{}: not a keys file ({message}); expected [[key]] entries with name, token_sha256 and scopes",
                path.display()
            ),
            KeysError::Entry { path, index, name, problem } => {
                write!(f, "{}: key #{index} ({name:?}): ", path.display())?;
                match problem {
                    KeyProblem::EmptyName => write!(f, "the name is empty; give every key a name for the audit trail"),
                    KeyProblem::DuplicateName => write!(f, "another key has this name; names must be unique"),
                    KeyProblem::DuplicateToken => write!(f, "another key has the same token_sha256; create a new token with `credgate keys new`"),
                    KeyProblem::BadDigest { chars, token_like } => {
                        write!(f, "token_sha256 is not 64 hex digits (it holds {chars} characters")?;
                        if *token_like {
                            write!(f, " and starts with `cg_`, like a token")?;
                        }
                        write!(f, "); store the SHA-256 of the token in hex, not the token (the value is not shown here, in case it is one)")
                    }
                    KeyProblem::UnknownScope(s) => write!(f, "unknown scope {s:?}; expected one of: {}", Scope::expected()),
                    KeyProblem::BadRate(r) => write!(f, "rate_per_second {r} must be a positive number"),
                    KeyProblem::BurstWithoutRate => write!(f, "burst is set without rate_per_second; set both or neither"),
                    KeyProblem::ZeroBurst => write!(f, "burst = 0 would refuse every request; give at least 1 (or take the key's scopes away)"),
                }
            }
        }
    }
}

impl std::error::Error for KeysError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_hex(token: &str) -> String {
        super::super::hex(&token_digest(token.as_bytes()))
    }

    #[test]
    fn finds_keys_by_token_and_refuses_others() {
        let text = format!(
            "[[key]]\nname = \"a\"\ntoken_sha256 = \"{}\"\nscopes = [\"check\", \"personal_full\"]\n\
             [[key]]\nname = \"b\"\ntoken_sha256 = \"{}\"\nscopes = []\nrate_per_second = 2.5\n",
            digest_hex("tok-a"),
            digest_hex("tok-b").to_uppercase()
        );
        let t = KeyTable::parse(&text, Path::new("k.toml"), None).unwrap();
        assert_eq!(t.len(), 2);
        let a = t.find(&token_digest(b"tok-a")).unwrap();
        assert_eq!(&*a.name, "a");
        assert!(a.scopes.has(Scope::Check) && a.scopes.has(Scope::PersonalFull));
        assert!(!a.scopes.has(Scope::Admin));
        assert!(a.bucket.is_none());
        let b = t.find(&token_digest(b"tok-b")).unwrap();
        assert!(b.bucket.is_some());
        assert!(t.find(&token_digest(b"tok-c")).is_none());
        // A reload keeps the bucket of a key whose limits did not change.
        let t2 = KeyTable::parse(&text, Path::new("k.toml"), Some(&t)).unwrap();
        let b2 = t2.find(&token_digest(b"tok-b")).unwrap();
        assert!(Arc::ptr_eq(
            b.bucket.as_ref().unwrap(),
            b2.bucket.as_ref().unwrap()
        ));
    }

    #[test]
    fn entries_are_checked() {
        let d = digest_hex("x");
        let cases = [
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[\"root\"]\n"), "unknown scope \"root\""),
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[]\n[[key]]\nname=\"a\"\ntoken_sha256=\"{}\"\nscopes=[]\n", digest_hex("y")), "key #2 (\"a\"): another key has this name"),
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[]\n[[key]]\nname=\"b\"\ntoken_sha256=\"{d}\"\nscopes=[]\n"), "same token_sha256"),
            ("[[key]]\nname=\"a\"\ntoken_sha256=\"secret\"\nscopes=[]\n".to_string(), "not 64 hex digits"),
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[]\nburst=3\n"), "burst is set without"),
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[]\nrate_per_second=0\n"), "must be a positive"),
            (format!("[[key]]\nname=\"a\"\ntoken_sha256=\"{d}\"\nscopes=[]\nrate_per_second=1\nburst=0\n"), "burst = 0 would refuse"),
            (format!("[[key]]\nname=\"a\"\ntoken=\"{d}\"\nscopes=[]\n"), "not a keys file"),
        ];
        for (text, want) in cases {
            let e = KeyTable::parse(&text, Path::new("k.toml"), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn new_entries_parse_back() {
        let token = new_token().unwrap();
        assert!(token.starts_with("cg_") && token.len() == 46, "{token}");
        let text = entry_toml(
            "desk \"7\"",
            &token,
            &[Scope::Screen, Scope::Search],
            Some((1.5, 4)),
        );
        let t = KeyTable::parse(&text, Path::new("k.toml"), None).unwrap();
        let k = t.find(&token_digest(token.as_bytes())).unwrap();
        assert_eq!(&*k.name, "desk \"7\"");
        assert!(
            k.scopes.has(Scope::Screen)
                && k.scopes.has(Scope::Search)
                && !k.scopes.has(Scope::Check)
        );
        assert!(k.bucket.as_ref().unwrap().same_limits(1.5, 4));
    }
}
