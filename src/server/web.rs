//! The counter page at `/`: one HTML document, one script and one style sheet, compiled into
//! the binary with `include_str!`.
//!
//! Counters are often on closed networks, so the page loads nothing from elsewhere: no CDN,
//! no web fonts (the system's CJK font is used). The Content-Security-Policy says so to the
//! browser as well — scripts, styles and fetches only from this server, no inline script or
//! style, no framing — so an injected record text can never run as code.
//!
//! The files change only with the binary, so they are served with an `ETag` (a hash of the
//! content) and `Cache-Control: no-cache`: the browser keeps its copy and revalidates it with
//! one cheap request, and a server upgrade is picked up at the next page load.

use std::sync::OnceLock;

use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Request, Response, StatusCode};

use super::errors::ApiError;
use super::Body;

/// The policy every page response carries. `connect-src 'self'` covers the page's calls to
/// `/v1/…`; `img-src data:` only allows the empty inline favicon.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Everything the page is made of, by the path it is served at.
pub const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("web/index.html"),
    },
    Asset {
        path: "/assets/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("web/app.js"),
    },
    Asset {
        path: "/assets/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("web/app.css"),
    },
];

/// Whether `path` is one of the page's files (for routing and metrics).
pub fn is_page(path: &str) -> bool {
    ASSETS.iter().any(|a| a.path == path) || path == "/index.html"
}

/// FNV-1a over the content: stable across builds of the same file and enough to tell two
/// versions apart (it is a cache validator, not a security check).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn etags() -> &'static [String; 3] {
    static TAGS: OnceLock<[String; 3]> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .each_ref()
            .map(|a| format!("\"{:016x}\"", fnv1a(a.body)))
    })
}

/// Whether an `If-None-Match` value names `tag` (a list, `*`, or weak forms all count).
fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// Serves a page file: the file with its type, cache and security headers, or `304` when the
/// client's copy is current.
pub fn serve<B>(req: &Request<B>) -> Result<Response<Body>, ApiError> {
    let path = match req.uri().path() {
        "/index.html" => "/",
        p => p,
    };
    let i = ASSETS
        .iter()
        .position(|a| a.path == path)
        .ok_or_else(|| ApiError::not_found(path))?;
    let asset = &ASSETS[i];
    let tag = &etags()[i];
    let fresh = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, tag));
    let mut r = if fresh {
        let mut r = Response::new(Body::full(""));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::full(asset.body));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        r
    };
    let h = r.headers_mut();
    h.insert(
        ETAG,
        HeaderValue::from_str(tag).expect("hex is a valid header"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, if_none_match: Option<&str>) -> Response<Body> {
        let mut b = Request::builder().uri(path);
        if let Some(t) = if_none_match {
            b = b.header(IF_NONE_MATCH, t);
        }
        serve(&b.body(()).unwrap()).unwrap()
    }

    fn header(r: &Response<Body>, name: hyper::header::HeaderName) -> &str {
        r.headers().get(name).unwrap().to_str().unwrap()
    }

    #[test]
    fn every_file_has_its_type_policy_and_validator() {
        for (path, ty) in [
            ("/", "text/html"),
            ("/index.html", "text/html"),
            ("/assets/app.js", "text/javascript"),
            ("/assets/app.css", "text/css"),
        ] {
            let r = get(path, None);
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert!(header(&r, CONTENT_TYPE).starts_with(ty), "{path}");
            assert_eq!(header(&r, CONTENT_SECURITY_POLICY), CSP);
            assert_eq!(header(&r, CACHE_CONTROL), "no-cache");
            assert_eq!(header(&r, X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
        assert!(is_page("/") && is_page("/assets/app.js") && !is_page("/assets/x.js"));
    }

    #[test]
    fn a_current_copy_gets_304_and_a_stale_one_the_file() {
        let tag = header(&get("/assets/app.js", None), ETAG).to_string();
        assert_eq!(
            get("/assets/app.js", Some(&tag)).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            get("/assets/app.js", Some(&format!("\"x\", W/{tag}"))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            get("/assets/app.js", Some("\"0000\"")).status(),
            StatusCode::OK
        );
        // Each file has its own tag, so one cannot validate another.
        assert_eq!(get("/", Some(&tag)).status(), StatusCode::OK);
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_code() {
        let html = ASSETS[0].body;
        for needle in ["http://", "https://", "<style", "style=", "javascript:"] {
            assert!(!html.contains(needle), "index.html contains {needle:?}");
        }
        assert!(
            !has_inline_handler(html),
            "index.html has an on…= attribute"
        );
        // Every <script> has a src and no body.
        for part in html.split("<script").skip(1) {
            assert!(part.trim_start().starts_with("src=\"/assets/"), "{part}");
            assert!(part.contains("></script>"), "{part}");
        }
        for a in &ASSETS[1..] {
            assert!(!a.body.contains("http://") && !a.body.contains("https://"));
            assert!(!a.body.contains("@import") && !a.body.contains("@font-face"));
        }
    }

    /// An `onclick=`-style attribute anywhere in a tag.
    fn has_inline_handler(html: &str) -> bool {
        html.split('<').any(|tag| {
            let tag = tag.split('>').next().unwrap_or("");
            tag.split_whitespace()
                .any(|w| w.starts_with("on") && w.contains('='))
        })
    }

    /// The page picks a CSV's code column itself (it sends the column as `id`), so its copy
    /// of the identifier column names must be the server's, in the same order.
    #[test]
    fn the_page_knows_the_server_s_code_column_names() {
        let js = include_str!("web/app.js");
        let line = js
            .lines()
            .find(|l| l.starts_with("const ID_COLUMNS = ["))
            .expect("app.js declares ID_COLUMNS");
        let names: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        assert_eq!(names, crate::batch::input::ID_COLUMNS);
    }

    #[test]
    fn unknown_asset_is_not_found() {
        let req = Request::builder().uri("/assets/nope.js").body(()).unwrap();
        let err = serve(&req).err().expect("no such asset");
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }
}
