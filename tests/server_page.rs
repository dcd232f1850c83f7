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

    // The page's script calls the API paths that exist; a check goes as a POST with a
    // JSON body, never with the code in its URL (which a proxy's access log would keep).
    let js = s.get("/assets/app.js").text();
    for api in [
        "\"/v1/check\"",
        "/v1/search?",
        "/v1/screen?",
        "/v1/snapshot",
    ] {
        assert!(js.contains(api), "app.js calls {api}");
    }
    assert!(!js.contains("/v1/check?"), "app.js puts a check in a URL");

    s.get("/assets/missing.js").error(404, "not_found");
    let post = s.post("/", "text/plain", b"x");
    post.error(405, "method_not_allowed");
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

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

/// With `--keys` the page itself stays public (the clerk must be able to open it to type
/// the token), while the API it calls answers 401 without a token, 403 naming the missing
/// scope, and 200 with one; the script sends the token it keeps in sessionStorage as a
/// Bearer header and never puts it in localStorage or a URL.
#[test]
fn with_keys_the_page_loads_and_its_api_calls_need_the_token() {
    use credgate::server::Auth;
    use credgate::trust::hex;
    use credgate::trust::keys::token_digest;

    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let keys = dir.path().join("keys.toml");
    let entry = |name: &str, token: &str, scopes: &str| {
        format!(
            "[[key]]\nname = {name:?}\ntoken_sha256 = \"{}\"\nscopes = [{scopes}]\n",
            hex(&token_digest(token.as_bytes()))
        )
    };
    std::fs::write(
        &keys,
        entry("counter", "tok-counter", "\"check\", \"search\"")
            + &entry("reader", "tok-reader", "\"search\""),
    )
    .unwrap();
    let auth = Auth::from_file(keys).unwrap();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| st.auth = auth,
    );
    for path in ["/", "/assets/app.js", "/assets/app.css"] {
        assert_eq!(s.get(path).status, 200, "{path} needs no token");
    }
    let html = s.get("/").text();
    assert!(
        html.contains("<label for=\"token\">访问令牌</label>"),
        "a labelled token field"
    );
    assert!(html.contains("id=\"token\" type=\"password\""));

    let js = s.get("/assets/app.js").text();
    assert!(js.contains("sessionStorage") && !js.contains("localStorage"));
    assert!(js.contains("\"Authorization\", \"Bearer \""));
    // Every API call goes through the one helper that adds the header.
    assert_eq!(js.matches("fetch(").count(), 1, "only api() calls fetch");
    for text in ["令牌无效", "无此权限", "需要访问令牌"] {
        assert!(js.contains(text), "app.js explains 401/403 with {text}");
    }

    let check = "/v1/check?id=914101027110665834&scenario=procurement";
    s.get(check).error(401, "unauthorized");
    let v = s
        .request("GET", check, &[("Authorization", "Bearer tok-reader")], b"")
        .error(403, "forbidden");
    assert_eq!(v["error"]["scope"], "check", "{v}");
    let ok = s.request(
        "GET",
        check,
        &[("Authorization", "Bearer tok-counter")],
        b"",
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["decision"], "deny");
}
