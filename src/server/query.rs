//! Query strings and request paths, parsed by hand: the hot path looks a few names up in a
//! short string, so a map would cost more than it saves. Percent-decoding allocates only when
//! a value actually contains `%` or `+`.
//!
//! Every endpoint names all the parameters it takes, and anything else in the query is
//! refused: a misspelt `asof` silently ignored would answer for today instead of the day
//! asked about, and a parameter given twice (`id=A&id=B`) is ambiguous. Both are `400
//! bad_parameter`; empty pairs (`?&id=1&`) are not parameters and pass.

use std::borrow::Cow;

use super::errors::ApiError;
use crate::scan::find_either;

/// The `name=value` pairs of a query string; values are decoded on demand.
pub struct Query<'a> {
    raw: &'a str,
}

impl<'a> Query<'a> {
    pub fn new(raw: Option<&'a str>) -> Query<'a> {
        Query {
            raw: raw.unwrap_or(""),
        }
    }

    /// The value of each of `names`, decoded, in one pass over the query (a check reads four
    /// parameters, and scanning the string once per name was a visible share of the
    /// request's user time). `names` are all the parameters the endpoint takes: a parameter
    /// not among them, or one given twice, is refused, and so is a value that is not valid
    /// percent-encoded UTF-8. The pass allocates nothing unless it refuses or a value needs
    /// decoding.
    pub fn get_many<const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<[Option<Cow<'a, str>>; N], ApiError> {
        let mut raw: [Option<&'a str>; N] = [None; N];
        for (k, v) in pairs(self.raw) {
            match names.iter().position(|n| *n == k) {
                Some(i) if raw[i].is_none() => raw[i] = Some(v),
                Some(i) => return Err(repeated(names[i])),
                None if k.is_empty() && v.is_empty() => {}
                None => return Err(unknown(k, &takes(&names))),
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

    /// Refuses any parameter, for an endpoint that takes none.
    pub fn none(&self) -> Result<(), ApiError> {
        self.get_many([]).map(|[]| ())
    }

    /// Refuses any parameter, saying `instead` where the endpoint's input goes.
    pub fn none_instead(&self, instead: &str) -> Result<(), ApiError> {
        match pairs(self.raw).find(|(k, v)| !k.is_empty() || !v.is_empty()) {
            None => Ok(()),
            Some((k, _)) => Err(unknown(k, instead)),
        }
    }
}

/// What an endpoint taking `names` takes, for an error message.
#[cold]
fn takes(names: &[&str]) -> String {
    if names.is_empty() {
        "this endpoint takes no query parameters".to_string()
    } else {
        format!("this endpoint takes {}", names.join(", "))
    }
}

/// A parameter the endpoint does not take, and what the endpoint takes. Names are matched
/// undecoded (`%61s_of` is not `as_of`), but the message shows the name unescaped, so that a
/// person's number spelled with escaped digits is masked in it.
#[cold]
#[inline(never)]
fn unknown(name: &str, takes: &str) -> ApiError {
    let unescaped = unescape_for_display(name);
    let shown = crate::trust::privacy::mask_input(&unescaped);
    let escaped = if name.contains('%') {
        " (written with %-escapes: names are matched as written, not decoded)"
    } else {
        ""
    };
    ApiError::bad_parameter(format!(
        "unknown query parameter {:?}{escaped}; {takes}",
        clip(&shown)
    ))
}

#[cold]
#[inline(never)]
fn repeated(name: &str) -> ApiError {
    ApiError::bad_parameter(format!(
        "parameter `{name}` is given more than once; give it once"
    ))
}

/// Reads a boolean flag's value (from [`Query::get_many`]): absent, `0`/`false` are false;
/// empty (`?lenient`), `1`/`true` are true.
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

/// A whole number written as a query parameter's value: ASCII digits only. `str::parse`
/// would also take a leading `+`, which no client means to send; a sign, a space (an escaped
/// `+` decodes to one) or anything else is `None`, and so is a number too large for `usize`.
pub fn number(value: &str) -> Option<usize> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
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

/// Shortens a caller's value for an error message, to its first 64 characters. A run of
/// digits the cut would split is dropped whole: error messages mask people's numbers
/// (`ApiError::body`), and the part of one left before the cut would be too short to be
/// recognised as one.
pub fn clip(s: &str) -> String {
    crate::trust::privacy::cut(s, 64).into_owned()
}

/// Decodes `%XX` and `+` (form encoding); `None` on a bad escape or invalid UTF-8.
pub fn decode(v: &str) -> Option<Cow<'_, str>> {
    if find_either(v.as_bytes(), b'%', b'+').is_none() {
        return Some(Cow::Borrowed(v));
    }
    let (bytes, all_valid) = unescape(v.as_bytes(), true);
    if !all_valid {
        return None;
    }
    String::from_utf8(bytes).ok().map(Cow::Owned)
}

/// `path` with every valid `%XX` escape decoded (an invalid one stays as written), invalid
/// UTF-8 replaced: for messages only, never for routing.
pub(crate) fn unescape_for_display(path: &str) -> Cow<'_, str> {
    if !path.as_bytes().contains(&b'%') {
        return Cow::Borrowed(path);
    }
    let (bytes, _) = unescape(path.as_bytes(), false);
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// `b` with its `%XX` escapes decoded (and `+` as a space when `plus_is_space`), and whether
/// every `%` began a valid escape; one that does not is kept as written.
fn unescape(b: &[u8], plus_is_space: bool) -> (Vec<u8>, bool) {
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut all_valid = true;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let escape = b
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .zip(b.get(i + 2).copied().and_then(hex));
                match escape {
                    Some((hi, lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    None => all_valid = false,
                }
                out.push(b'%');
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    (out, all_valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_ascii_digits_only() {
        assert_eq!(number("5"), Some(5));
        assert_eq!(number("0005"), Some(5));
        for bad in [
            "",
            "+5",
            "-5",
            " 5",
            "5 ",
            "5.0",
            "５",
            "0x5",
            "99999999999999999999999",
        ] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn clip_drops_a_number_it_would_cut() {
        let long = format!("{}410102196804120211", "x".repeat(56));
        assert_eq!(clip(&long), "x".repeat(56));
        assert_eq!(clip("abc"), "abc");
        let words = "y".repeat(70);
        assert_eq!(clip(&words), "y".repeat(64));
    }

    const CHECK: [&str; 4] = ["id", "scenario", "as_of", "lenient"];

    #[test]
    fn finds_and_decodes_values() {
        let q = Query::new(Some("id=9141&name=%E9%83%91+a&lenient"));
        let [id, name, as_of, lenient] = q.get_many(["id", "name", "as_of", "lenient"]).unwrap();
        assert_eq!(id.as_deref(), Some("9141"));
        assert!(matches!(id, Some(Cow::Borrowed(_))));
        assert_eq!(name.as_deref(), Some("郑 a"));
        assert_eq!(as_of, None);
        assert!(flag("lenient", lenient.as_deref()).unwrap());
        assert!(!flag("fuzzy", None).unwrap());
    }

    #[test]
    fn values_are_found_wherever_they_stand() {
        for raw in [
            "",
            "&&",
            "=",
            "id",
            "id=",
            "&id=1&",
            "scenario=a%20b&as_of=2025-01-01&lenient&id=1",
            "lenient=0&id=a=b&as_of",
            "id=郑&scenario=中",
        ] {
            let got = Query::new(Some(raw)).get_many(CHECK).unwrap();
            let split: Vec<(&str, &str)> = raw
                .split('&')
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect();
            assert_eq!(pairs(raw).collect::<Vec<_>>(), split, "{raw:?}");
            for (i, name) in CHECK.iter().enumerate() {
                let want = split.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
                assert_eq!(
                    got[i].as_deref(),
                    want.map(|v| decode(v).unwrap()).as_deref(),
                    "{raw:?} {name}"
                );
            }
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        for (raw, says) in [
            ("id=1&scenario=procurement&asof=2020-01-01", "\"asof\""),
            ("foo=1&id=1", "\"foo\""),
            ("id=1&=x", "\"\""),
            (
                "id=1&%61s_of=2020-01-01",
                "\"as_of\" (written with %-escapes",
            ),
            ("id=1&4101%302196804120211=1", "\"410102********0211\""),
            (
                "id=1&4101%200219%206804%201202%2011=1",
                "\"410102********0211\"",
            ),
            ("ID=1", "\"ID\""),
            ("id=1&id=2", "`id` is given more than once"),
            ("lenient&id=1&lenient", "`lenient` is given more than once"),
        ] {
            let e = Query::new(Some(raw)).get_many(CHECK).unwrap_err();
            assert_eq!(e.code, "bad_parameter", "{raw}");
            assert!(e.message.contains(says), "{raw}: {}", e.message);
            if !says.contains("more than once") {
                assert!(
                    e.message.ends_with("takes id, scenario, as_of, lenient"),
                    "{raw}: {}",
                    e.message
                );
            }
        }
        assert!(Query::new(Some("&")).none().is_ok());
        assert!(Query::new(None).none().is_ok());
        let e = Query::new(Some("x=1")).none().unwrap_err();
        assert!(
            e.message.contains("takes no query parameters"),
            "{}",
            e.message
        );
        let e = Query::new(Some("&x"))
            .none_instead("send a body")
            .unwrap_err();
        assert_eq!(e.message, "unknown query parameter \"x\"; send a body");
    }

    #[test]
    fn refuses_bad_escapes_and_invalid_utf8() {
        for bad in ["id=%", "id=%4", "id=%zz", "id=%FF%FE"] {
            let e = Query::new(Some(bad)).get_many(["id"]).unwrap_err();
            assert_eq!(e.code, "bad_parameter", "{bad}");
            assert!(e.message.contains("`id`"), "{}", e.message);
        }
        assert_eq!(
            flag("lenient", Some("maybe")).unwrap_err().code,
            "bad_parameter"
        );
    }
}
