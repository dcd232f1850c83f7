//! The one error shape of the API (SPEC §7): `{"error":{"code":…,"message":…}}` with a fitting
//! status. Every refusal the server makes goes through [`ApiError`], so a caller can always
//! parse the body of a non-2xx answer the same way.
//!
//! Messages often quote what the caller sent (a parameter, a path, serde's account of a bad
//! body), so every person's number in a message is masked when the message becomes the JSON
//! body ([`ApiError::body`]), for every caller: an error is written apart from the key's
//! scopes (many before the key is known), and the caller knows what it sent.

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
        let message = mask_numbers(&self.message);
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
}
