//! Masking end to end on the real binary: people's numbers are masked in every response
//! unless the key holds `personal_full`, and the log never carries a raw number (it names
//! subjects by the HMAC of their number under the `--subject-key` secret).

mod common;

use common::http::request;
use common::proc::Proc;
use common::{build_sample, sample_today};
use credgate::trust::keys::token_digest;
use credgate::trust::privacy::Correlator;
use credgate::trust::{hex, unhex};

/// People of the sample: one denied through a link, others on lists of their own.
pub const PEOPLE: [&str; 4] = [
    "410102196804120211",
    "410102199505161527",
    "410103197107301034",
    "410184197902141699",
];

fn keys(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("keys.toml");
    let all = "[\"check\", \"screen\", \"profile\", \"search\"]";
    let full = "[\"check\", \"screen\", \"profile\", \"search\", \"personal_full\"]";
    std::fs::write(
        &file,
        format!(
            "[[key]]\nname = \"masked\"\ntoken_sha256 = \"{}\"\nscopes = {all}\n\
             [[key]]\nname = \"full\"\ntoken_sha256 = \"{}\"\nscopes = {full}\n",
            hex(&token_digest(b"tok-masked")),
            hex(&token_digest(b"tok-full")),
        ),
    )
    .unwrap();
    file
}

/// Every endpoint that can show a person, as (method, path, content type, body).
fn requests() -> Vec<(&'static str, String, &'static str, Vec<u8>)> {
    let enc = |t: &str| t.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let mut v = Vec::new();
    for p in PEOPLE {
        v.push((
            "GET",
            format!("/v1/check?id={p}&scenario=transport"),
            "",
            vec![],
        ));
        v.push((
            "POST",
            "/v1/check".to_string(),
            "application/json",
            format!(r#"{{"id":"{p}","scenario":"procurement"}}"#).into_bytes(),
        ));
        v.push(("GET", format!("/v1/subjects/{p}"), "", vec![]));
    }
    // People reached through an organisation's profile and through a name search.
    v.push(("GET", "/v1/subjects/914101027110665834".into(), "", vec![]));
    v.push((
        "GET",
        format!("/v1/search?name={}&limit=50", enc("孙丽")),
        "",
        vec![],
    ));
    v.push((
        "GET",
        format!("/v1/search?name={}&limit=50&fuzzy=1", enc("王建国")),
        "",
        vec![],
    ));
    let csv: String = PEOPLE.iter().map(|p| format!("{p},x\n")).collect();
    // A wrong check digit: not a valid number, still a person's, still masked.
    let csv = format!("id,note\n{csv}410102196804120212,typo\n");
    v.push((
        "POST",
        "/v1/screen?scenario=transport".into(),
        "text/csv",
        csv.clone().into_bytes(),
    ));
    v.push((
        "POST",
        "/v1/screen?scenario=transport".into(),
        "application/x-ndjson",
        {
            let mut b: String = PEOPLE
                .iter()
                .map(|p| format!("{{\"id\":\"{p}\",\"ref\":1}}\n"))
                .collect();
            b.push_str("\"410102196804120212\"\n");
            b.into_bytes()
        },
    ));
    v.push((
        "POST",
        "/v1/screen?scenario=transport".into(),
        "text/csv",
        csv.into_bytes(),
    ));
    v
}

#[test]
fn responses_and_logs_never_show_a_raw_number_without_personal_full() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    let secret = dir.path().join("subject.key");
    let p = Proc::serve(
        &[
            "--index",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--keys",
            keys(dir.path()).to_str().unwrap(),
            "--subject-key",
            secret.to_str().unwrap(),
        ],
        &[("CREDGATE_TODAY", "2026-11-28"), ("RUST_LOG", "debug")],
    );
    while request(p.addr, "GET", "/readyz", &[], b"").status != 200 {
        std::thread::yield_now();
    }
    let raw_typo = "410102196804120212";
    let mut full_saw_raw = 0;
    for (method, path, ct, body) in requests() {
        for token in ["tok-masked", "tok-full"] {
            let auth = format!("Bearer {token}");
            let mut h = vec![("Authorization", auth.as_str())];
            if !ct.is_empty() {
                h.push(("Content-Type", ct));
            }
            let r = request(p.addr, method, &path, &h, &body);
            assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
            let text = r.text();
            let raw_seen = PEOPLE.iter().chain([&raw_typo]).any(|n| text.contains(n));
            if token == "tok-masked" {
                assert!(!raw_seen, "{method} {path} shows a raw number: {text}");
                assert!(text.contains("********"), "{method} {path}: {text}");
            } else if raw_seen {
                full_saw_raw += 1;
            }
        }
    }
    // The personal_full key does see numbers (else the test above proves nothing).
    assert!(full_saw_raw >= PEOPLE.len() * 3, "{full_saw_raw}");
    let (_, log) = p.stop("TERM");
    for n in PEOPLE.iter().chain([&raw_typo]) {
        assert!(!log.contains(n), "the log shows {n}:\n{log}");
    }
    // Subjects are named by the HMAC under the secret file, and shown masked.
    let key = unhex::<32>(std::fs::read_to_string(&secret).unwrap().trim()).unwrap();
    let subject = Correlator::new(&key).subject(PEOPLE[0].as_bytes());
    assert!(log.contains(&subject), "{log}");
    assert!(log.contains("410102********0211"), "{log}");
}
