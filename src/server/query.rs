//! Query strings and request paths, parsed by hand: the hot path looks a few names up in a
//! short string, so a map would cost more than it saves. Percent-decoding allocates only when
//! a value actually contains `%` or `+`.

use std::borrow::Cow;

use super::errors::ApiError;

/// Iterates `name=value` pairs of a query string; values are decoded on demand.
pub struct Query<'a> {
    raw: &'a str,
}

impl<'a> Query<'a> {
    pub fn new(raw: Option<&'a str>) -> Query<'a> {
        Query {
            raw: raw.unwrap_or(""),
        }
    }

    /// The first value of `name`, decoded; `None` when absent.
    pub fn get(&self, name: &str) -> Result<Option<Cow<'a, str>>, ApiError> {
        for pair in self.raw.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == name {
                return decode(v).map(Some).ok_or_else(|| {
                    ApiError::bad_parameter(format!(
                        "parameter `{name}` is not valid percent-encoded UTF-8"
                    ))
                });
            }
        }
        Ok(None)
    }

    /// A boolean flag: absent, `0`/`false` are false; empty (`?lenient`), `1`/`true` are true.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name)?.as_deref() {
            None | Some("0") | Some("false") => Ok(false),
            Some("") | Some("1") | Some("true") => Ok(true),
            Some(other) => Err(ApiError::bad_parameter(format!(
                "parameter `{name}` must be true or false, not {:?}",
                clip(other)
            ))),
        }
    }
}

/// Shortens a caller's value for an error message.
pub fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Decodes `%XX` and `+` (form encoding); `None` on a bad escape or invalid UTF-8.
pub fn decode(v: &str) -> Option<Cow<'_, str>> {
    if !v.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(v));
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = b.get(i + 1).copied().and_then(hex)?;
                let lo = b.get(i + 2).copied().and_then(hex)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes_values() {
        let q = Query::new(Some(
            "id=9141&scenario=procurement&name=%E9%83%91+a&lenient",
        ));
        assert_eq!(q.get("id").unwrap().as_deref(), Some("9141"));
        assert!(matches!(q.get("id").unwrap(), Some(Cow::Borrowed(_))));
        assert_eq!(q.get("name").unwrap().as_deref(), Some("郑 a"));
        assert_eq!(q.get("as_of").unwrap(), None);
        assert!(q.flag("lenient").unwrap());
        assert!(!q.flag("fuzzy").unwrap());
    }

    #[test]
    fn refuses_bad_escapes_and_invalid_utf8() {
        for bad in ["id=%", "id=%4", "id=%zz", "id=%FF%FE"] {
            let e = Query::new(Some(bad)).get("id").unwrap_err();
            assert_eq!(e.code, "bad_parameter", "{bad}");
        }
        assert_eq!(
            Query::new(Some("lenient=maybe"))
                .flag("lenient")
                .unwrap_err()
                .code,
            "bad_parameter"
        );
    }
}
