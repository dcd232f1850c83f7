//! The one error shape of the API (SPEC §7): `{"error":{"code":…,"message":…}}` with a fitting
//! status. Every refusal the server makes goes through [`ApiError`], so a caller can always
//! parse the body of a non-2xx answer the same way.
//!
//! Messages often quote what the caller sent (a parameter, a path, serde's account of a bad
//! body), so every person's number in a message is masked when the message becomes the JSON
//! body ([`ApiError::body`]), for every caller: an error is written apart from the key's
//! scopes (many before the key is known), and the caller knows what it sent.

use std::borrow::Cow;

use hyper::StatusCode;
use serde::Serialize;

use credgate_index::ids::IdError;

use super::query::unescape_for_display;
use crate::trust::privacy::{cut, mask_input, mask_numbers};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable: `bad_parameter`, `invalid_id`, `not_found`, …
    pub code: &'static str,
    /// For people: what was wrong and how to fix it.
    pub message: String,
    /// For `invalid_id` on a wrong check character: the character that would be right.
    pub expected_check: Option<char>,
    /// For `403 forbidden`: the scope the key lacks (the counter page names it).
    pub scope: Option<&'static str>,
    /// For `405`: the methods the path accepts, sent as the `Allow` header.
    pub allow: Option<&'static str>,
    /// For `429`: seconds until the key has a token again, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// For `401`: send `WWW-Authenticate: Bearer`.
    pub challenge: bool,
    /// The message is the server's own account of a refused reload, which no caller text
    /// reaches: the names of snapshot generations in it are shown whole (see
    /// [`ApiError::reload_refused`]).
    pub generation_names: bool,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_check: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            expected_check: None,
            scope: None,
            allow: None,
            retry_after: None,
            challenge: false,
            generation_names: false,
        }
    }

    /// A reload refused (`POST /v1/admin/reload`), with the server's reason. The request
    /// carries nothing the message could quote, so it holds only the server's text: the
    /// generation it refused, a file of it, what is wrong. People's numbers are masked in it
    /// all the same, but a generation's name (`gen-000009-1234567890abcdef`) is not taken
    /// for one (its sequence and the digits starting its snapshot id read like a number in
    /// groups) and is shown whole, so the operator can find it.
    pub fn reload_refused(message: impl Into<String>) -> ApiError {
        ApiError {
            generation_names: true,
            ..ApiError::new(StatusCode::CONFLICT, "reload_refused", message)
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", message)
    }

    pub fn bad_body(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_body", message)
    }

    pub fn missing(name: &str) -> ApiError {
        ApiError::bad_parameter(format!("missing required parameter `{name}`"))
    }

    pub fn invalid_id(e: &IdError) -> ApiError {
        ApiError {
            expected_check: e.expected_check(),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_id",
                e.to_string(),
            )
        }
    }

    /// The path is shown with its `%XX` escapes decoded, so that a person's number spelled with
    /// escaped digits is masked like any other in [`ApiError::body`].
    pub fn not_found(path: &str) -> ApiError {
        let shown = cut(&mask_input(&unescape_for_display(path)), 200).into_owned();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint at {shown:?}; see openapi.yaml for the API"),
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this path accepts {allow}"),
            )
        }
    }

    pub fn too_large(limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_type(found: &str, expected: &str) -> ApiError {
        let shown = cut(&mask_input(found), 100).into_owned();
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type {shown:?} is not accepted here; send {expected}"),
        )
    }

    /// A body declared in a charset other than UTF-8.
    pub fn not_utf8(charset: &str) -> ApiError {
        let shown = cut(&mask_input(charset), 100).into_owned();
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "charset {shown:?} is not accepted: the API reads request bodies as UTF-8 only; \
                 convert the body to UTF-8 and send it with charset=utf-8 or no charset (the \
                 counter page at / converts GB18030 CSV files itself)"
            ),
        )
    }

    /// A body declared with a content coding (gzip, say), which the server does not undo.
    pub fn compressed(coding: &str) -> ApiError {
        let shown = cut(&mask_input(coding), 100).into_owned();
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Encoding {shown:?} is not accepted: the API reads request bodies \
                 uncompressed; send the body as it is, without Content-Encoding"
            ),
        )
    }

    pub fn not_ready() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "no verified snapshot is loaded yet; publish one with `index-builder build` and wait for the reload",
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            challenge: true,
            ..ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        }
    }

    pub fn forbidden(key: &str, scope: &'static str) -> ApiError {
        let shown = cut(key, 100);
        ApiError {
            scope: Some(scope),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("the key {shown:?} does not hold the scope `{scope}` this endpoint needs; ask for a key with it (`credgate keys new --scopes {scope}`)"),
            )
        }
    }

    pub fn rate_limited(key: &str, retry_after: u64) -> ApiError {
        let shown = cut(key, 100);
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("the key {shown:?} is over its rate limit; retry after {retry_after} s"),
            )
        }
    }

    /// The JSON body of the error, people's numbers in the message masked.
    pub fn body(&self) -> Vec<u8> {
        let message = if self.generation_names {
            mask_around_generations(&self.message)
        } else {
            mask_numbers(&self.message)
        };
        let env = Envelope {
            error: Inner {
                code: self.code,
                message: &message,
                expected_check: self.expected_check,
                scope: self.scope,
            },
        };
        // Serialising plain strings into a Vec cannot fail.
        serde_json::to_vec(&env)
            .unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".to_vec())
    }
}

/// [`mask_numbers`] on the text between the names of snapshot generations in `message`:
/// `gen-`, digits, `-`, 16 lower-case hex digits of which at least one is a letter (a
/// snapshot id: 16 characters, so never a person's number, and with a letter, never a card
/// number either), not inside a longer word.
fn mask_around_generations(message: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(message.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = message[from..].find("gen-").map(|i| i + from) {
        from = at + 4;
        let Some(len) = generation_name_len(message, at) else {
            continue;
        };
        out.push_str(&mask_numbers(&message[copied..at]));
        out.push_str(&message[at..at + len]);
        copied = at + len;
        from = copied;
    }
    if copied == 0 {
        return mask_numbers(message);
    }
    out.push_str(&mask_numbers(&message[copied..]));
    Cow::Owned(out)
}

/// The length of the generation name starting at byte `at` of `text`, if one does.
fn generation_name_len(text: &str, at: usize) -> Option<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    if at > 0 && word(bytes[at - 1]) {
        return None;
    }
    let rest = &bytes[at + 4..];
    let seq = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if seq == 0 || rest.get(seq) != Some(&b'-') {
        return None;
    }
    let id = rest.get(seq + 1..seq + 17)?;
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    let ends = rest.get(seq + 17).is_none_or(|&b| !word(b));
    (id.iter().all(hex) && id.iter().any(u8::is_ascii_alphabetic) && ends).then_some(4 + seq + 17)
}

#[cfg(test)]
mod tests {
    use super::*;
    use credgate_index::date::Day;
    use credgate_index::ids::{parse, Mode};
    use std::borrow::Cow;

    #[test]
    fn invalid_id_carries_the_expected_check_character() {
        let e = parse("91110000600037341N", Mode::Strict, Day(20_000)).unwrap_err();
        let api = ApiError::invalid_id(&e);
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
        let v: serde_json::Value = serde_json::from_slice(&api.body()).unwrap();
        assert_eq!(v["error"]["code"], "invalid_id");
        assert_eq!(v["error"]["expected_check"], "L");
        assert!(v["error"]["message"].as_str().unwrap().len() > 10);
    }

    #[test]
    fn people_s_numbers_in_messages_are_masked() {
        for (api, raw) in [
            (
                ApiError::not_found("/v1/subjects/410102196804120211/x"),
                "410102196804120211",
            ),
            (
                ApiError::not_found("/v1/subjects/4101%302196804120211/x"),
                "410102196804120211",
            ),
            (
                ApiError::not_found("/v1/x/%34%31%30%31%30%32%31%39%36%38%30%34%31%32%30%32%31%31"),
                "410102196804120211",
            ),
            (
                ApiError::bad_body(
                    "the body is not the expected JSON object: invalid type: integer \
                     `410102196804120211`, expected a string at line 1 column 24",
                ),
                "410102196804120211",
            ),
            (
                ApiError::bad_parameter("as_of \"410102680412021\": not a date"),
                "410102680412021",
            ),
        ] {
            let body = String::from_utf8(api.body()).unwrap();
            assert!(!body.contains(raw), "{body}");
            assert!(body.contains("410102*****"), "{body}");
        }
    }

    #[test]
    fn a_cut_leaves_no_part_of_a_number() {
        let n = "410102196804120211";
        for api in [
            ApiError::not_found(&format!("/v1/x/{}{n}", "a".repeat(181))),
            ApiError::unsupported_type(&format!("text/{}{n}", "a".repeat(82)), "text/csv"),
            ApiError::not_utf8(&format!("{}{n}", "a".repeat(90))),
            // A number written in groups, the whole of what is echoed.
            ApiError::unsupported_type("4101 0219 6804 1202 11", "text/csv"),
            ApiError::not_found("/4101%200219%206804%201202%2011"),
        ] {
            let body = String::from_utf8(api.body()).unwrap();
            assert!(!body.contains("4101021"), "{body}");
        }
    }

    #[test]
    fn a_404_path_is_shown_unescaped() {
        assert_eq!(unescape_for_display("/a%2Fb%zz%4"), "/a/b%zz%4");
        assert_eq!(unescape_for_display("/%E5%90%8D%FF"), "/名\u{FFFD}");
        assert!(matches!(
            unescape_for_display("/plain"),
            Cow::Borrowed("/plain")
        ));
    }

    #[test]
    fn messages_are_escaped_json() {
        let api = ApiError::not_found("/a\"b\u{1}");
        let v: serde_json::Value = serde_json::from_slice(&api.body()).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }

    #[test]
    fn a_refused_reload_names_its_generation_whole_and_masks_the_rest() {
        let message = |api: &ApiError| {
            let v: serde_json::Value = serde_json::from_slice(&api.body()).unwrap();
            v["error"]["message"].as_str().unwrap().to_string()
        };
        let gen = "/srv/idx/gen-000009-12345678abcdef90";
        let api = ApiError::reload_refused(format!(
            "{gen}: payload checksum mismatch in records.tbl (110101 19900307 123X)"
        ));
        assert_eq!(api.status, StatusCode::CONFLICT);
        assert_eq!(api.code, "reload_refused");
        let shown = message(&api);
        assert!(shown.starts_with(gen), "{shown}");
        assert!(shown.ends_with("(110101 ******** 123X)"), "{shown}");
        // Anywhere else, the same name loses its digits, as any number in groups does.
        let elsewhere = message(&ApiError::bad_parameter(gen));
        assert!(
            elsewhere.contains("gen-000009-****5678abcdef90"),
            "{elsewhere}"
        );
        // Only a name as the publisher writes it is spared: a snapshot id of 16 hex digits
        // with a letter among them, not part of a longer word.
        for kept_masked in [
            "gen-000009-1234567890123456",
            "gen-000009-110101199003071234",
            "xgen-000009-12345678abcdef90",
            "gen-000009-12345678abcdef90x",
            "gen-110101-19900307123aBcde",
        ] {
            let shown = message(&ApiError::reload_refused(kept_masked));
            assert!(shown.contains('*'), "{kept_masked} -> {shown}");
        }
        assert_eq!(
            message(&ApiError::reload_refused(
                "gen-1-abcdefabcdefabcd and gen-2-"
            )),
            "gen-1-abcdefabcdefabcd and gen-2-"
        );
    }
}
