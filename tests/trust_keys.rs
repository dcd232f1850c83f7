//! API keys over real sockets: every scope on every endpoint (allowed or 403), 401 without or
//! with a wrong token, rate limits (429 + Retry-After), key reloads, `credgate keys new`, and
//! the refusal to serve a non-loopback address without keys.

mod common;

use std::path::Path;
use std::process::Command;

use common::http::{Resp, TestServer};
use common::proc::Proc;
use common::{build_sample, sample_today};
use credgate::server::Auth;
use credgate::trust::hex;
use credgate::trust::keys::token_digest;

const SCOPES: [&str; 6] = [
    "check",
    "screen",
    "profile",
    "search",
    "admin",
    "personal_full",
];

fn entry(name: &str, token: &str, scopes: &[&str], extra: &str) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[[key]]\nname = {name:?}\ntoken_sha256 = \"{}\"\nscopes = [{}]\n{extra}\n",
        hex(&token_digest(token.as_bytes())),
        scopes.join(", ")
    )
}

/// One key per scope (token `tok-<scope>`), one with none (`tok-none`), one with all.
fn keys_text() -> String {
    let mut t = String::new();
    for s in SCOPES {
        t.push_str(&entry(s, &format!("tok-{s}"), &[s], ""));
    }
    t.push_str(&entry("none", "tok-none", &[], ""));
    t.push_str(&entry("all", "tok-all", &SCOPES, ""));
    t
}

fn server(keys: &str) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let file = dir.path().join("keys.toml");
    std::fs::write(&file, keys).unwrap();
    let auth = Auth::from_file(file).unwrap();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| st.auth = auth,
    );
    (dir, s)
}

/// (method, path, content type, body, scope needed; None = any valid key)
type Endpoint = (
    &'static str,
    &'static str,
    &'static str,
    &'static [u8],
    Option<&'static str>,
);

fn endpoints() -> Vec<Endpoint> {
    vec![
        (
            "GET",
            "/v1/check?id=914101027110665834&scenario=procurement",
            "",
            b"",
            Some("check"),
        ),
        (
            "POST",
            "/v1/check",
            "application/json",
            br#"{"id":"914101027110665834","scenario":"procurement"}"#,
            Some("check"),
        ),
        (
            "POST",
            "/v1/screen?scenario=procurement",
            "text/csv",
            b"914101027110665834\n",
            Some("screen"),
        ),
        (
            "GET",
            "/v1/subjects/914101027110665834",
            "",
            b"",
            Some("profile"),
        ),
        ("GET", "/v1/search?name=a", "", b"", Some("search")),
        ("POST", "/v1/admin/reload", "", b"", Some("admin")),
        ("GET", "/metrics", "", b"", Some("admin")),
        ("GET", "/v1/snapshot", "", b"", None),
    ]
}

/// `POST /v1/admin/reload` with the admin key.
fn admin_reload(s: &TestServer) -> Resp {
    s.request(
        "POST",
        "/v1/admin/reload",
        &[("Authorization", "Bearer tok-admin")],
        b"",
    )
}

fn call(s: &TestServer, ep: &Endpoint, token: Option<&str>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    if !ep.2.is_empty() {
        headers.push(("Content-Type", ep.2));
    }
    s.request(ep.0, ep.1, &headers, ep.3)
}

#[test]
fn each_scope_on_each_endpoint() {
    let (_d, s) = server(&keys_text());
    s.wait_ready(None);
    let mut tokens: Vec<(String, Vec<&str>)> = SCOPES
        .iter()
        .map(|sc| (format!("tok-{sc}"), vec![*sc]))
        .collect();
    tokens.push(("tok-none".into(), vec![]));
    tokens.push(("tok-all".into(), SCOPES.to_vec()));
    for ep in endpoints() {
        for (token, held) in &tokens {
            let r = call(&s, &ep, Some(token));
            let allowed = ep.4.is_none_or(|need| held.contains(&need));
            if allowed {
                assert_eq!(
                    r.status,
                    200,
                    "{} {} with {token}: {}",
                    ep.0,
                    ep.1,
                    r.text()
                );
            } else {
                let v = r.error(403, "forbidden");
                let msg = v["error"]["message"].as_str().unwrap();
                assert!(msg.contains(ep.4.unwrap()), "{msg}");
                assert_eq!(v["error"]["scope"], ep.4.unwrap(), "{v}");
            }
        }
    }
    // The probes and the public key need no token.
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(s.get("/readyz").status, 200);
}

#[test]
fn missing_or_wrong_tokens_are_401() {
    let (_d, s) = server(&keys_text());
    for ep in endpoints() {
        for headers in [
            vec![],
            vec![("Authorization", "Bearer tok-nope")],
            vec![("Authorization", "Bearer ")],
            vec![("Authorization", "Basic dG9rLWFsbA==")],
            // A token differing from a real one in its last character.
            vec![("Authorization", "Bearer tok-alm")],
        ] {
            let mut h = headers.clone();
            if !ep.2.is_empty() {
                h.push(("Content-Type", ep.2));
            }
            let r = s.request(ep.0, ep.1, &h, ep.3);
            r.error(401, "unauthorized");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Bearer realm=\"credgate\"")
            );
        }
    }
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let keys = format!(
        "{}{}",
        entry(
            "slow",
            "tok-slow",
            &["check"],
            "rate_per_second = 0.01\nburst = 3"
        ),
        entry("free", "tok-free", &["check"], "")
    );
    let (_d, s) = server(&keys);
    s.wait_ready(None);
    let ep = &endpoints()[0];
    for _ in 0..3 {
        assert_eq!(call(&s, ep, Some("tok-slow")).status, 200);
    }
    let r = call(&s, ep, Some("tok-slow"));
    r.error(429, "rate_limited");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    // One token every 100 s: the wait is at most that.
    assert!((1..=100).contains(&secs), "{secs}");
    // Another key is not affected.
    for _ in 0..10 {
        assert_eq!(call(&s, ep, Some("tok-free")).status, 200);
    }
    // A wrong token is refused before any bucket is touched.
    assert_eq!(call(&s, ep, Some("tok-nope")).status, 401);
}

#[test]
fn keys_reload_with_admin_reload_and_a_broken_file_is_refused() {
    let (d, s) = server(&keys_text());
    s.wait_ready(None);
    let ep = &endpoints()[0];
    assert_eq!(call(&s, ep, Some("tok-new")).status, 401);
    let file = d.path().join("keys.toml");
    std::fs::write(
        &file,
        format!("{}{}", keys_text(), entry("new", "tok-new", &["check"], "")),
    )
    .unwrap();
    let r = admin_reload(&s);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["keys"], 9);
    assert_eq!(call(&s, ep, Some("tok-new")).status, 200);

    std::fs::write(&file, "[[key]]\nname = 1\n").unwrap();
    let r = admin_reload(&s);
    let v = r.error(409, "reload_refused");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keys.toml"),
        "{v}"
    );
    // The keys loaded before stay in force.
    assert_eq!(call(&s, ep, Some("tok-new")).status, 200);
}

/// `POST /v1/admin/reload` rereads the keys before the snapshot. When the keys are taken
/// and the snapshot is then refused, the 409 must say that the keys were reloaded all the
/// same: an operator who has just added or revoked a key reads "reload refused" as "the old
/// keys are in force", and they are not.
#[test]
fn an_admin_reload_refused_for_its_snapshot_says_the_keys_were_reloaded() {
    let (d, s) = server(&keys_text());
    s.wait_ready(None);
    let ep = &endpoints()[0];
    let file = d.path().join("keys.toml");
    std::fs::write(
        &file,
        format!("{}{}", keys_text(), entry("new", "tok-new", &["check"], "")),
    )
    .unwrap();
    // CURRENT names a generation that is not there.
    let current = d.path().join("index").join("CURRENT");
    std::fs::write(&current, "gen-000404-missing\n").unwrap();
    let r = admin_reload(&s);
    let v = r.error(409, "reload_refused");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("gen-000404-missing"), "{message}");
    // The new key is in force, and the answer says so.
    assert_eq!(call(&s, ep, Some("tok-new")).status, 200);
    assert!(
        message.contains("keys were reloaded (9 keys in force)"),
        "{message}"
    );
}

fn keys_new(file: &Path, name: &str, scopes: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args(["keys", "new", "--name", name, "--scopes", scopes, "--file"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn keys_new_writes_an_entry_the_server_accepts_and_sighup_reloads_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    let file = dir.path().join("keys.toml");
    let token = keys_new(&file, "counter", "check");
    assert!(token.starts_with("cg_"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&token), "the file must hold the digest only");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second key with the same name is refused and leaves the file as it was.
    let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args([
            "keys", "new", "--name", "counter", "--scopes", "check", "--file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another key has this name"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    let p = Proc::serve(
        &[
            "--index",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--keys",
            file.to_str().unwrap(),
        ],
        &[("CREDGATE_TODAY", "2026-11-28")],
    );
    let ready = |p: &Proc| loop {
        if common::http::request(p.addr, "GET", "/readyz", &[], b"").status == 200 {
            break;
        }
        std::thread::yield_now();
    };
    ready(&p);
    let auth = format!("Bearer {token}");
    let check = |t: &str| {
        common::http::request(
            p.addr,
            "GET",
            "/v1/check?id=914101027110665834&scenario=procurement",
            &[("Authorization", t)],
            b"",
        )
        .status
    };
    assert_eq!(check(&auth), 200);
    assert_eq!(
        common::http::request(
            p.addr,
            "GET",
            "/v1/search?name=a",
            &[("Authorization", &auth)],
            b""
        )
        .status,
        403
    );
    // A key added while serving works after SIGHUP.
    let second = keys_new(&file, "desk", "check");
    assert_eq!(check(&format!("Bearer {second}")), 401);
    p.signal("HUP");
    while check(&format!("Bearer {second}")) != 200 {
        std::thread::yield_now();
    }
    assert_eq!(check(&auth), 200);
    let (_, log) = p.stop("TERM");
    assert!(log.contains("keys reloaded"), "{log}");
    assert!(!log.contains(&token));
}

/// `credgate keys new` refuses what the server would refuse in a keys file, with the same
/// reason and without a token, whether it writes the file or prints the entry: an empty
/// name, and `--burst 0` (not quietly turned into a burst of 1).
#[test]
fn keys_new_refuses_an_entry_the_keys_file_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.toml");
    let cases: [(&[&str], &str); 3] = [
        (&["--name", "", "--scopes", "check"], "the name is empty"),
        (&["--name", "  ", "--scopes", "check"], "the name is empty"),
        (
            &[
                "--name", "desk", "--scopes", "check", "--rate", "1", "--burst", "0",
            ],
            "burst = 0 would refuse",
        ),
    ];
    for (args, reason) in cases {
        for to_file in [false, true] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_credgate"));
            cmd.args(["keys", "new"]).args(args);
            if to_file {
                cmd.arg("--file").arg(&file);
            }
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "{args:?} (file: {to_file}) accepted: {err}"
            );
            assert!(err.contains(reason), "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}: a token was printed");
            assert!(!file.exists(), "{args:?}: the file was written");
        }
    }
}

/// A token pasted where its digest belongs (a common slip when copying `keys new`'s output)
/// is refused, but not copied into the refusal: the message goes to the log, or to the
/// admin caller, and the operator who then puts the token's digest in the file would be
/// left with a live token in both. Neither the entry's check nor TOML's own account of a
/// line it cannot read (which quotes the line) may show it.
#[test]
fn a_token_where_its_digest_belongs_is_refused_without_being_echoed() {
    let token = "cg_Zq3Y7m9xWb2Kp4Lt8Rv1Ns6Hd0Fg5Jc3Ae7Uo2Qi9T";
    let broken = [
        (
            format!("[[key]]\nname = \"desk\"\ntoken_sha256 = \"{token}\"\nscopes = [\"check\"]\n"),
            "not 64 hex digits",
        ),
        (
            format!("[[key]]\nname = \"desk\"\ntoken_sha256 = {token}\nscopes = [\"check\"]\n"),
            "line 3",
        ),
        (
            format!("[[key]]\nname = \"desk\"\n{token} = 1\nscopes = [\"check\"]\n"),
            "unknown field",
        ),
    ];
    // At start: refused, the reason on stderr.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    let file = dir.path().join("keys.toml");
    for (text, reason) in &broken {
        std::fs::write(&file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
            .args(["serve", "--index", root.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--keys", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{err}");
        assert!(!err.contains(token), "the token is echoed: {err}");
        assert!(
            !err.contains(&token[3..20]),
            "part of the token is echoed: {err}"
        );
    }
    // On reload: refused, the reason in the admin's 409.
    let (d, s) = server(&keys_text());
    s.wait_ready(None);
    for (text, reason) in &broken {
        std::fs::write(d.path().join("keys.toml"), text).unwrap();
        let r = admin_reload(&s);
        let v = r.error(409, "reload_refused");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{message}");
        assert!(
            !message.contains(&token[3..20]),
            "the token is echoed: {message}"
        );
    }
}

#[test]
fn no_keys_means_loopback_only_unless_insecure_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args([
            "serve",
            "--index",
            root.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve 0.0.0.0:0 without API keys"),
        "{err}"
    );

    let p = Proc::serve(
        &[
            "--index",
            root.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
            "--insecure-open",
        ],
        &[],
    );
    assert!(p.log().contains("--insecure-open"), "{}", p.log());
    assert_eq!(
        common::http::request(p.connect_addr(), "GET", "/healthz", &[], b"").status,
        200
    );
    drop(p);

    let p = Proc::serve(
        &["--index", root.to_str().unwrap(), "--listen", "127.0.0.1:0"],
        &[],
    );
    assert!(p.log().contains("loopback address only"), "{}", p.log());
}
