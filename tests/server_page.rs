//! The counter page over a real socket: served at `/` with its assets, the right types and
//! the security headers, beside the untouched `/v1` API. What the page does in a browser is
//! tested by tests/browser/run.sh (headless Chromium), which `.ci/run` runs.

mod common;

use common::http::TestServer;
use common::{build_sample, sample_today};

#[test]
fn the_page_and_its_assets_are_served_with_type_cache_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |_| {});

    let page = s.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.header("etag").is_some());

    // Every asset the page links to is there, with its own type.
    for (path, ty) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
    ] {
        assert!(
            html.contains(&format!("\"{path}\"")),
            "the page links {path}"
        );
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }

    // The page's script calls the API paths that exist.
    let js = s.get("/assets/app.js").text();
    for api in ["/v1/check?", "/v1/search?", "/v1/screen?", "/v1/snapshot"] {
        assert!(js.contains(api), "app.js calls {api}");
    }

    s.get("/assets/missing.js").error(404, "not_found");
    let post = s.post("/", "text/plain", b"x");
    post.error(405, "method_not_allowed");
    assert_eq!(post.header("allow"), Some("GET"));

    // The API is unchanged next to it, and the page's requests are counted under route "/".
    assert_eq!(
        s.get("/v1/check?id=914101027110665834&scenario=procurement")
            .json()["decision"],
        "deny"
    );
    let metrics = s.get("/metrics").text();
    assert!(
        metrics.contains("credgate_requests_total{route=\"/\",status=\"200\"} 4"),
        "{metrics}"
    );
}
