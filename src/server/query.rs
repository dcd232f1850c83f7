//! Query strings and request paths, parsed by hand: the hot path looks a few names up in a
//! short string, so a map would cost more than it saves. Percent-decoding allocates only when
//! a value actually contains `%` or `+`.

use std::borrow::Cow;

use super::errors::ApiError;
use crate::scan::find_either;

/// Looks `name=value` pairs of a query string up; values are decoded on demand.
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
        let [v] = self.get_many([name])?;
        Ok(v)
    }

    /// The first value of each of `names`, decoded, in one pass over the query (a check
    /// reads four parameters, and scanning the string once per name was a visible share of
    /// the request's user time). A value is decoded only if its name is asked for, so a bad
    /// escape in a parameter nobody reads is no error, as with [`Query::get`].
    pub fn get_many<const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<[Option<Cow<'a, str>>; N], ApiError> {
        let mut raw: [Option<&'a str>; N] = [None; N];
        let mut left = N;
        for (k, v) in pairs(self.raw) {
            if let Some(i) = names.iter().position(|n| *n == k) {
                if raw[i].is_none() {
                    raw[i] = Some(v);
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
        }
        let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
        for (i, v) in raw.into_iter().enumerate() {
            if let Some(v) = v {
                out[i] = Some(decode(v).ok_or_else(|| {
                    ApiError::bad_parameter(format!(
                        "parameter `{}` is not valid percent-encoded UTF-8",
                        names[i]
                    ))
                })?);
            }
        }
        Ok(out)
    }

    /// A boolean flag: absent, `0`/`false` are false; empty (`?lenient`), `1`/`true` are true.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        flag(name, self.get(name)?.as_deref())
    }
}

/// Reads a boolean flag's value (from [`Query::get`] or [`Query::get_many`]): absent,
/// `0`/`false` are false; empty (`?lenient`), `1`/`true` are true.
pub fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("0") | Some("false") => Ok(false),
        Some("") | Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_parameter(format!(
            "parameter `{name}` must be true or false, not {:?}",
            clip(other)
        ))),
    }
}

/// The `name=value` pairs of `raw` in order, split at `&` and the first `=` (a pair without
/// `=` has an empty value; empty pairs are kept, and never match a name). A plain byte scan:
/// the pairs are a few bytes long, so this beats `str::split`'s searcher set-up per call, and
/// it looks at eight bytes at a time ([`crate::scan`]).
fn pairs(raw: &str) -> Pairs<'_> {
    Pairs { rest: Some(raw) }
}

struct Pairs<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let rest = self.rest?;
        // Splitting on ASCII bytes keeps every slice on a character boundary. One scan to
        // the pair's first `=` or its end, then one for the end of its value.
        let (pair, value) = match find_either(rest.as_bytes(), b'=', b'&') {
            Some(i) if rest.as_bytes()[i] == b'=' => {
                let after = &rest[i + 1..];
                let end = find_either(after.as_bytes(), b'&', b'&');
                self.rest = end.map(|j| &after[j + 1..]);
                (&rest[..i], &after[..end.unwrap_or(after.len())])
            }
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                (&rest[..i], "")
            }
            None => {
                self.rest = None;
                (rest, "")
            }
        };
        Some((pair, value))
    }
}

/// Shortens a caller's value for an error message.
pub fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Decodes `%XX` and `+` (form encoding); `None` on a bad escape or invalid UTF-8.
pub fn decode(v: &str) -> Option<Cow<'_, str>> {
    if find_either(v.as_bytes(), b'%', b'+').is_none() {
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
    fn many_at_once_agree_with_one_at_a_time() {
        for raw in [
            "",
            "&&",
            "id",
            "id=",
            "=x&id=1",
            "id=1&id=2&scenario=a%20b&as_of=2025-01-01&lenient",
            "scenario=procurement&id=91%34&x=%zz",
            "lenient=0&id=a=b&as_of",
            "中=文&id=郑",
        ] {
            let q = Query::new(Some(raw));
            let names = ["id", "scenario", "as_of", "lenient", ""];
            let many = q.get_many(names).unwrap();
            for (i, n) in names.iter().enumerate() {
                assert_eq!(many[i], q.get(n).unwrap(), "{raw:?} {n:?}");
            }
            let split: Vec<(&str, &str)> = raw
                .split('&')
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect();
            assert_eq!(pairs(raw).collect::<Vec<_>>(), split, "{raw:?}");
        }
        // A bad escape matters only in a parameter that is asked for.
        let q = Query::new(Some("x=%zz&id=1"));
        assert!(q.get_many(["id", "scenario"]).is_ok());
        assert_eq!(q.get_many(["id", "x"]).unwrap_err().code, "bad_parameter");
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
