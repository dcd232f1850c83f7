//! Who is asking: the bearer token of a request resolved to an API key, its scopes checked
//! against the endpoint, and its rate limit applied.
//!
//! The key table sits in an [`ArcSwap`]: a request loads it without a lock, hashes its token
//! once, finds the key by digest, and then only touches the key's own atomic bucket. A
//! reload (SIGHUP or `POST /v1/admin/reload`) reads the file again and swaps the table; a
//! file that does not parse is refused and the old keys keep working.
//!
//! Without a keys file the server is open: every caller is "anonymous" with every scope but
//! `personal_full`. `credgate serve` allows that only on a loopback address unless told
//! `--insecure-open`.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use super::errors::ApiError;
use super::metrics::Route;
use crate::trust::keys::{token_digest, KeyTable, KeysError, Scope, Scopes};
use crate::trust::ratelimit::retry_after_secs;

/// The caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key's name, or `anonymous`.
    pub name: Arc<str>,
    pub scopes: Scopes,
}

impl Caller {
    /// Whether people's numbers are shown unmasked to this caller.
    pub fn full_ids(&self) -> bool {
        self.scopes.has(Scope::PersonalFull)
    }
}

/// What an endpoint asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: probes, the public key, unknown paths (which answer 404).
    Public,
    /// Any valid key.
    AnyKey,
    Scope(Scope),
}

pub fn need(route: Route) -> Need {
    match route {
        Route::Check => Need::Scope(Scope::Check),
        Route::Screen => Need::Scope(Scope::Screen),
        Route::Subjects => Need::Scope(Scope::Profile),
        Route::Search => Need::Scope(Scope::Search),
        Route::Reload | Route::Metrics => Need::Scope(Scope::Admin),
        Route::Snapshot => Need::AnyKey,
        // The counter page is static; the API calls it makes carry their own authorisation.
        Route::Healthz | Route::Readyz | Route::PublicKey | Route::Page | Route::Other => {
            Need::Public
        }
    }
}

pub struct Auth {
    /// `None`: anonymous access (no keys file).
    file: Option<PathBuf>,
    table: ArcSwap<KeyTable>,
    anonymous: Arc<str>,
}

impl Auth {
    /// Anonymous access: every caller holds every scope but `personal_full`.
    pub fn open() -> Auth {
        Auth {
            file: None,
            table: ArcSwap::from_pointee(KeyTable::default()),
            anonymous: Arc::from("anonymous"),
        }
    }

    /// Keys from `file`, read now.
    pub fn from_file(file: PathBuf) -> Result<Auth, KeysError> {
        let table = KeyTable::load(&file, None)?;
        Ok(Auth {
            file: Some(file),
            table: ArcSwap::from_pointee(table),
            anonymous: Arc::from("anonymous"),
        })
    }

    pub fn is_open(&self) -> bool {
        self.file.is_none()
    }

    /// Number of keys served (0 when open).
    pub fn len(&self) -> usize {
        self.table.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the keys file again; on error the keys already loaded stay. `Ok(None)` when the
    /// server is open (there is nothing to reload).
    pub fn reload(&self) -> Result<Option<usize>, KeysError> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let old = self.table.load();
        let table = KeyTable::load(file, Some(&old))?;
        let n = table.len();
        self.table.store(Arc::new(table));
        Ok(Some(n))
    }

    /// Resolves the caller of a request to `route`, or the 401/403/429 to answer.
    pub fn authorize(&self, headers: &HeaderMap, route: Route) -> Result<Caller, ApiError> {
        let need = need(route);
        if self.file.is_none() || need == Need::Public {
            return Ok(Caller {
                name: self.anonymous.clone(),
                scopes: if self.file.is_none() {
                    Scopes::anonymous()
                } else {
                    Scopes::default()
                },
            });
        }
        let token = bearer(headers)?;
        let table = self.table.load();
        let key = table.find(&token_digest(token)).ok_or_else(|| {
            ApiError::unauthorized(
                "the bearer token is not a known key; check the Authorization header",
            )
        })?;
        if let Need::Scope(s) = need {
            if !key.scopes.has(s) {
                return Err(ApiError::forbidden(&key.name, s.as_str()));
            }
        }
        if let Some(bucket) = &key.bucket {
            bucket
                .take()
                .map_err(|wait| ApiError::rate_limited(&key.name, retry_after_secs(wait)))?;
        }
        Ok(Caller {
            name: key.name.clone(),
            scopes: key.scopes,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Result<&[u8], ApiError> {
    let mut given = headers.get_all(AUTHORIZATION).iter();
    let v = given.next().ok_or_else(|| {
        ApiError::unauthorized(
            "this endpoint needs an API key: send `Authorization: Bearer <token>`",
        )
    })?;
    // Which of several headers holds the key would be a guess, and a proxy in front may
    // have judged the request by another one than this server would.
    if given.next().is_some() {
        return Err(ApiError::unauthorized(
            "send one Authorization header, not several",
        ));
    }
    let b = v.as_bytes();
    let scheme_ok = b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ");
    let token = if scheme_ok {
        b[7..].trim_ascii()
    } else {
        &[][..]
    };
    if token.is_empty() {
        return Err(ApiError::unauthorized(
            "the Authorization header is not `Bearer <token>`",
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(bearer(&headers(Some("Bearer abc"))).unwrap(), b"abc");
        assert_eq!(bearer(&headers(Some("bearer  abc "))).unwrap(), b"abc");
        for bad in [None, Some("Basic abc"), Some("Bearer "), Some("Bearerabc")] {
            let e = bearer(&headers(bad)).unwrap_err();
            assert_eq!(e.code, "unauthorized");
            assert!(e.challenge);
        }
    }

    #[test]
    fn two_authorization_headers_are_refused_whatever_they_hold() {
        let mut h = headers(Some("Bearer abc"));
        h.append(AUTHORIZATION, HeaderValue::from_static("Bearer other"));
        let e = bearer(&h).unwrap_err();
        assert_eq!(e.code, "unauthorized");
        assert!(
            e.message.contains("one Authorization header"),
            "{}",
            e.message
        );
    }

    #[test]
    fn open_access_has_every_scope_but_personal_full() {
        let a = Auth::open();
        let c = a.authorize(&headers(None), Route::Reload).unwrap();
        assert!(c.scopes.has(Scope::Admin) && c.scopes.has(Scope::Screen));
        assert!(!c.full_ids());
    }
}
