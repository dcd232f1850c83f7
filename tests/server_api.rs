//! Every endpoint of SPEC §7 over a real socket, on the bundled sample.

mod common;

use common::http::TestServer;
use common::{build_sample, sample_today};

#[test]
fn check_get_and_post_give_the_decision() {
    let (_d, s) = TestServer::sample();
    let r = s.get("/v1/check?id=914101027110665834&scenario=procurement");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Answers about people are not for caches, and neither are errors or batches.
    assert_eq!(r.header("cache-control"), Some("no-store"));
    for r in [
        s.get("/v1/check?id=1&scenario=procurement"),
        s.post(
            "/v1/screen?scenario=transport",
            "text/csv",
            b"914101027110665834\n",
        ),
        s.get("/v1/subjects/914101027110665834"),
    ] {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text());
    }
    let v = r.json();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["id_type"], "uscc");
    assert_eq!(v["as_of"], "2026-11-28");
    assert_eq!(v["snapshot"], s.wait_ready(None));
    assert!(!v["measures"].as_array().unwrap().is_empty());

    let r = s.post(
        "/v1/check",
        "application/json",
        br#"{"id":"914101027110665834","scenario":"licensing"}"#,
    );
    assert_eq!(r.json()["decision"], "review");

    // A person denied through a link: the number is masked.
    let v = s
        .get("/v1/check?id=410102196804120211&scenario=transport")
        .json();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["id"], "410102********0211");
    assert!(!s
        .get("/v1/check?id=410102196804120211&scenario=transport")
        .text()
        .contains("410102196804120211"));

    // as_of moves the decision (a record that ends on 2025-05-09).
    assert_eq!(
        s.get("/v1/check?id=91410100338847532D&scenario=procurement&as_of=2025-05-09")
            .json()["decision"],
        "deny"
    );
    assert_eq!(
        s.get("/v1/check?id=91410100338847532D&scenario=procurement&as_of=2025-05-10")
            .json()["decision"],
        "clear"
    );

    // Under objection still applies (rule 2).
    let v = s
        .get("/v1/check?id=91410104MACKHWBA9J&scenario=procurement")
        .json();
    assert_eq!(v["decision"], "deny");
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["under_objection"] == true),
        "{v}"
    );

    // Full-width input is normalised; keep-alive serves several requests on one connection.
    let mut c = s.conn();
    for _ in 0..3 {
        let r = c.get("/v1/check?id=%EF%BC%99%EF%BC%91410104MACKHWBA9J&scenario=procurement");
        assert_eq!(r.json()["id"], "91410104MACKHWBA9J");
    }
}

#[test]
fn invalid_ids_are_422_with_the_expected_check() {
    let (_d, s) = TestServer::sample();
    let v = s
        .get("/v1/check?id=91110000600037341N&scenario=procurement")
        .error(422, "invalid_id");
    assert_eq!(v["error"]["expected_check"], "L");
    // The same code is accepted in lenient mode and flagged.
    let v = s
        .get("/v1/check?id=91110000600037341N&scenario=procurement&lenient=true")
        .json();
    assert_eq!(v["nonconforming"], true);
}

#[test]
fn subjects_profile_has_every_scenario() {
    let (_d, s) = TestServer::sample();
    let v = s.get("/v1/subjects/914101027110665834").json();
    assert_eq!(v["known"], true);
    assert_eq!(v["decisions"]["procurement"], "deny");
    assert_eq!(v["decisions"]["licensing"], "review");
    assert!(!v["records"].as_array().unwrap().is_empty());
    assert_eq!(v["linked_records"], serde_json::json!([]));
    // 王建国 has no record of his own: the court-defaulter record of the company he was legal
    // representative of when it was decided is what denies him, and the profile says so.
    let v = s.get("/v1/subjects/410102196804120211").json();
    assert_eq!(v["id"], "410102********0211");
    assert_eq!(v["decisions"]["transport"], "deny");
    assert_eq!(v["records"], serde_json::json!([]));
    let linked = v["linked_records"].as_array().unwrap();
    assert_eq!(linked.len(), 1, "{v}");
    assert_eq!(linked[0]["record_id"], "JUD-2024-0001");
    assert_eq!(linked[0]["via"]["org"], "914101027110665834");
    assert_eq!(linked[0]["via"]["role"], "legal_rep");
    let v = s.get("/v1/subjects/91110000600037341L").json();
    assert_eq!(v["known"], false);
    s.get("/v1/subjects/123").error(422, "invalid_id");
}

#[test]
fn search_exact_prefix_fuzzy_with_people_masked() {
    let (_d, s) = TestServer::sample();
    let enc = |t: &str| t.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let v = s
        .get(&format!(
            "/v1/search?name={}",
            enc("郑州市中原区恒达建材有限公司")
        ))
        .json();
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits[0]["id"], "914101027110665834");
    assert_eq!(hits[0]["match"], "exact");
    let v = s
        .get(&format!("/v1/search?name={}", enc("郑州市中原区")))
        .json();
    let hits = v["hits"].as_array().unwrap();
    assert!(
        hits.len() >= 2 && hits.iter().all(|h| h["match"] == "prefix"),
        "{v}"
    );
    // fuzzy=1 adds edit-distance matches after exact and prefix ones.
    let v = s
        .get(&format!("/v1/search?name={}&fuzzy=1", enc("郑州市中原区")))
        .json();
    assert_eq!(v["fuzzy"], true);
    assert!(v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| ["exact", "prefix", "fuzzy"].contains(&h["match"].as_str().unwrap())));
    // A one-character typo in a Chinese name is one edit (囯 for 国).
    let v = s
        .get(&format!(
            "/v1/search?name={}&fuzzy=1&limit=3",
            enc("王建囯")
        ))
        .json();
    let hit = &v["hits"][0];
    assert_eq!(hit["name"], "王建国", "{v}");
    assert_eq!(hit["match"], "fuzzy");
    assert_eq!(hit["distance"], 1);
    // People are masked.
    let v = s
        .get(&format!("/v1/search?name={}&limit=5", enc("孙丽")))
        .json();
    let hit = &v["hits"][0];
    assert_eq!(hit["id_type"], "ric");
    assert!(hit["id"].as_str().unwrap().contains("********"), "{v}");
    s.get("/v1/search?name=a&limit=0")
        .error(400, "bad_parameter");
    s.get("/v1/search").error(400, "bad_parameter");
}

#[test]
fn snapshot_health_and_metrics() {
    let (_d, s) = TestServer::sample();
    let id = s.wait_ready(None);
    let v = s.get("/v1/snapshot").json();
    assert_eq!(v["snapshot_id"], id);
    assert!(v["format_version"].as_u64().unwrap() >= 1);
    assert!(
        v["counts"]["per_list"]["court_defaulter"]["records"]
            .as_u64()
            .unwrap()
            >= 1,
        "{v}"
    );
    assert!(
        v["counts"]["per_class"]["black"]["subjects"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["sha256"].as_str().unwrap().len() == 64));
    assert_eq!(s.get("/healthz").json()["status"], "ok");
    assert_eq!(s.get("/readyz").json()["status"], "ready");

    s.get("/v1/check?id=914101027110665834&scenario=procurement");
    s.get("/v1/check?id=bad&scenario=procurement");
    s.get("/nowhere");
    let m = s.get("/metrics");
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let t = m.text();
    for want in [
        "credgate_requests_total{route=\"/v1/check\",status=\"200\"} 1",
        "credgate_requests_total{route=\"/v1/check\",status=\"422\"} 1",
        "credgate_requests_total{route=\"other\",status=\"404\"} 1",
        "credgate_decisions_total{scenario=\"procurement\",outcome=\"deny\"} 1",
        "credgate_request_duration_seconds_count{route=\"/v1/check\"} 2",
        &format!("credgate_snapshot_info{{snapshot=\"{id}\""),
        "credgate_snapshot_age_seconds ",
        "credgate_reloads_total{result=\"ok\"} 1",
        "credgate_ready 1",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
}

/// `credgate_worker_connections` by worker, from `/metrics` asked on `conn`.
fn worker_connections(conn: &mut common::http::Conn) -> Vec<u64> {
    conn.get("/metrics")
        .text()
        .lines()
        .filter(|l| l.starts_with("credgate_worker_connections{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn connections_are_spread_over_the_workers_and_counted_while_open() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| c.workers = 3);
    s.wait_ready(None);
    // Four keep-alive connections, each answered once so it is surely on a worker.
    let mut conns: Vec<_> = (0..4).map(|_| s.conn()).collect();
    for c in &mut conns {
        assert_eq!(c.get("/healthz").status, 200);
    }
    // The fifth asks: one worker has two of the five, the others one or two, by fewest-open.
    let mut asking = s.conn();
    let open = worker_connections(&mut asking);
    assert_eq!(open.len(), 3, "one gauge per worker");
    assert_eq!(open.iter().sum::<u64>(), 5, "{open:?}");
    assert!(open.iter().all(|&n| (1..=2).contains(&n)), "{open:?}");
    // Closed connections leave the count (polled: the server sees the close a moment later).
    drop(conns);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let open = worker_connections(&mut asking);
        if open.iter().sum::<u64>() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still open: {open:?}");
        std::thread::yield_now();
    }
}

#[test]
fn readyz_is_503_without_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), sample_today(), |_| {});
    s.get("/readyz").error(503, "not_ready");
    s.get("/v1/check?id=914101027110665834&scenario=procurement")
        .error(503, "not_ready");
    assert_eq!(s.get("/healthz").status, 200);
    assert!(s.get("/metrics").text().contains("credgate_ready 0"));
    // Publishing a snapshot and asking for a reload makes it ready.
    build_sample(dir.path(), sample_today());
    assert_eq!(
        s.post("/v1/admin/reload", "application/json", b"").json()["status"],
        "loaded"
    );
    s.wait_ready(None);
    assert_eq!(
        s.get("/v1/check?id=914101027110665834&scenario=procurement")
            .json()["decision"],
        "deny"
    );
}

/// A day outside the accepted years (1949 to 2199) is refused on every endpoint that takes
/// one, with the range named; `0000-01-01` used to get a decision. A search limit is digits
/// only: `+5` (an escaped plus, or a plus that decodes to a space) used to be taken as 5.
#[test]
fn out_of_range_days_and_signed_numbers_are_400() {
    let (_d, s) = TestServer::sample();
    let range = "outside the accepted range 1949-01-01 to 2199-12-31";
    for day in ["0000-01-01", "1948-12-31", "2200-01-01", "9999-12-31"] {
        let expected = format!("as_of \"{day}\": {range}");
        for path in [
            format!("/v1/check?id=914101027110665834&scenario=procurement&as_of={day}"),
            format!("/v1/subjects/914101027110665834?as_of={day}"),
        ] {
            let v = s.get(&path).error(400, "bad_parameter");
            assert_eq!(v["error"]["message"], expected.as_str(), "{path}");
        }
        let body =
            format!(r#"{{"id":"914101027110665834","scenario":"licensing","as_of":"{day}"}}"#);
        let v = s
            .post("/v1/check", "application/json", body.as_bytes())
            .error(400, "bad_parameter");
        assert_eq!(v["error"]["message"], expected.as_str());
        let v = s
            .post(
                &format!("/v1/screen?scenario=procurement&as_of={day}"),
                "text/csv",
                b"914101027110665834\n",
            )
            .error(400, "bad_parameter");
        assert_eq!(v["error"]["message"], expected.as_str());
    }
    // The ends of the range are questions like any other.
    for day in ["1949-01-01", "2199-12-31"] {
        let r = s.get(&format!(
            "/v1/check?id=914101027110665834&scenario=procurement&as_of={day}"
        ));
        assert_eq!(r.status, 200, "{day}: {}", r.text());
        assert_eq!(r.json()["as_of"], day);
    }
    for limit in ["%2B5", "+5", "-5", "%205", "5%20", "0x5", "%EF%BC%95"] {
        let v = s
            .get(&format!("/v1/search?name=a&limit={limit}"))
            .error(400, "bad_parameter");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("limit must be a number from 1 to 1000, not "),
            "{limit}: {v}"
        );
    }
    assert_eq!(s.get("/v1/search?name=a&limit=05").status, 200);
}

#[test]
fn unknown_and_repeated_query_parameters_are_refused() {
    let (_d, s) = TestServer::sample();
    let check = "/v1/check?id=914101027110665834&scenario=procurement";
    // A misspelt as_of used to answer for today with 200.
    let v = s
        .get(&format!("{check}&asof=2020-01-01"))
        .error(400, "bad_parameter");
    assert_eq!(
        v["error"]["message"],
        "unknown query parameter \"asof\"; this endpoint takes id, scenario, as_of, lenient"
    );
    let no_params = "this endpoint takes no query parameters";
    for (path, takes) in [
        (
            "/v1/search?name=a&foo=1",
            "this endpoint takes name, fuzzy, limit",
        ),
        (
            "/v1/subjects/914101027110665834?foo=1",
            "this endpoint takes as_of, lenient",
        ),
        ("/v1/snapshot?foo=1", no_params),
        ("/healthz?foo=1", no_params),
        ("/readyz?foo", no_params),
        ("/metrics?foo=1", no_params),
        ("/v1/receipts/public-key?foo=1", no_params),
    ] {
        let v = s.get(path).error(400, "bad_parameter");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(
            m.starts_with("unknown query parameter \"foo\"; "),
            "{path}: {m}"
        );
        assert!(m.ends_with(takes), "{path}: {m}");
    }
    let v = s
        .post(
            "/v1/screen?scenario=procurement&foo=1",
            "text/csv",
            b"914101027110665834\n",
        )
        .error(400, "bad_parameter");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .ends_with("takes scenario, as_of, lenient, summary"));
    s.post("/v1/admin/reload?foo=1", "application/json", b"")
        .error(400, "bad_parameter");

    // POST /v1/check takes its parameters in the body only: a query that disagrees with
    // the body used to be ignored without a word.
    let v = s
        .post(
            "/v1/check?scenario=licensing",
            "application/json",
            br#"{"id":"914101027110665834","scenario":"procurement"}"#,
        )
        .error(400, "bad_parameter");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON body"),
        "{v}"
    );

    // A parameter given twice is ambiguous, even with the same value.
    for q in [
        "id=914101027110665834&id=91110000600037341L&scenario=procurement",
        "id=914101027110665834&scenario=procurement&lenient&lenient",
    ] {
        s.get(&format!("/v1/check?{q}")).error(400, "bad_parameter");
    }
    s.get("/v1/search?name=a&name=b")
        .error(400, "bad_parameter");

    // Empty pairs are no parameters; the page's files ignore a query string.
    assert_eq!(s.get(&format!("{check}&")).json()["decision"], "deny");
    assert_eq!(s.get("/healthz?").status, 200);
    assert_eq!(s.get("/?from=bookmark").status, 200);
}

#[test]
fn bodies_in_a_charset_other_than_utf8_are_415() {
    let (_d, s) = TestServer::sample();
    let csv = "id,名称\n914101027110665834,郑州市中原区恒达建材有限公司\n".as_bytes();
    for ctype in [
        "text/csv; charset=gb18030",
        "text/csv; charset=GBK",
        "text/csv;charset=\"iso-8859-1\"",
        "text/csv; header=present; charset=utf-16",
    ] {
        let v = s
            .post("/v1/screen?scenario=procurement", ctype, csv)
            .error(415, "unsupported_media_type");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains("UTF-8 only"), "{ctype}: {m}");
    }
    let body = br#"{"id":"914101027110665834","scenario":"procurement"}"#;
    s.post("/v1/check", "application/json; charset=gb2312", body)
        .error(415, "unsupported_media_type");
    s.post(
        "/v1/screen?scenario=procurement",
        "application/x-ndjson; charset=big5",
        b"\"914101027110665834\"\n",
    )
    .error(415, "unsupported_media_type");

    // UTF-8 however it is spelt, or no charset at all, is read as before.
    for ctype in [
        "text/csv",
        "text/csv; charset=utf-8",
        "text/csv;charset=UTF-8",
        "text/csv; charset=\"utf-8\"",
        "text/csv; charset=utf8",
    ] {
        let r = s.post("/v1/screen?scenario=procurement", ctype, csv);
        assert_eq!(r.status, 200, "{ctype}: {}", r.text());
        let rows = r.lines();
        assert_eq!(rows[0]["decision"], "deny", "{ctype}: {rows:?}");
        assert!(rows[0]["error"].is_null(), "{ctype}: {rows:?}");
    }
    let r = s.post("/v1/check", "application/json; charset=UTF-8", body);
    assert_eq!(r.json()["decision"], "deny");
}

/// Parses a Prometheus text exposition and asserts its grouping: each family's HELP line is
/// followed at once by its TYPE line and then by all its samples, every sample belongs to
/// the family whose TYPE line most recently preceded it, and no family or sample appears
/// twice. Returns each family with its number of samples, in order.
fn families(text: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut kind = "";
    let mut help: Option<&str> = None;
    let mut samples = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(help.is_none(), "{at}: HELP after HELP");
            help = Some(rest.split(' ').next().unwrap());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, t) = rest.split_once(' ').unwrap_or_else(|| panic!("{at}"));
            assert_eq!(
                help.take(),
                Some(name),
                "{at}: TYPE not right after its HELP"
            );
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                "{at}"
            );
            assert!(
                out.iter().all(|(f, _)| f != name),
                "{at}: family {name} appears twice"
            );
            out.push((name.to_string(), 0));
            kind = t;
        } else {
            assert!(help.is_none(), "{at}: a HELP line not followed by its TYPE");
            assert!(!line.is_empty() && !line.starts_with('#'), "{at}");
            let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("{at}"));
            let name = &line[..name_end];
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(
                value.parse::<f64>().is_ok() || value == "+Inf",
                "{at}: value"
            );
            let (family, count) = out
                .last_mut()
                .unwrap_or_else(|| panic!("{at}: a sample before any TYPE"));
            let suffixes: &[&str] = match kind {
                "histogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                _ => &[""],
            };
            assert!(
                suffixes
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(family.as_str())),
                "{at}: a sample of {name} under the TYPE of {family}"
            );
            assert!(samples.insert(series.to_string()), "{at}: sample repeated");
            *count += 1;
        }
    }
    assert!(help.is_none(), "the exposition ends with a HELP line");
    out
}

#[test]
fn metrics_group_each_family_with_its_samples() {
    use credgate::trust::audit::{Audit, Durability, Limits};
    use credgate::trust::receipt::Signer;

    // Without a snapshot: the snapshot families are declared, with no sample.
    let empty = tempfile::tempdir().unwrap();
    let cold = TestServer::start(empty.path(), sample_today(), |_| {});
    cold.get("/readyz");
    let text = cold.get("/metrics").text();
    let fams = families(&text);
    let count = |fams: &[(String, usize)], name: &str| {
        fams.iter()
            .find(|(f, _)| f == name)
            .unwrap_or_else(|| panic!("no family {name} among {fams:?}"))
            .1
    };
    assert_eq!(count(&fams, "credgate_snapshot_info"), 0);
    assert_eq!(count(&fams, "credgate_snapshot_age_seconds"), 0);
    assert_eq!(count(&fams, "credgate_ready"), 1);
    drop(cold);

    // With a snapshot, receipts and an audit trail, after some traffic: every family has
    // its samples under it.
    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let audit = Audit::open_dir(
        &dir.path().join("audit"),
        Durability::Sync,
        Limits::default(),
    )
    .unwrap();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| {
            st.signer = Some(Signer::new([9; 32]).unwrap());
            st.audit = Some(audit);
        },
    );
    s.wait_ready(None);
    s.get("/v1/check?id=914101027110665834&scenario=procurement");
    s.get("/v1/check?id=bad&scenario=procurement");
    s.post(
        "/v1/screen?scenario=licensing",
        "text/csv",
        b"914101027110665834\n",
    );
    s.get("/nowhere");
    let text = s.get("/metrics").text();
    let fams = families(&text);
    for (name, n) in &fams {
        assert!(*n > 0, "family {name} has no sample in\n{text}");
    }
    for name in [
        "credgate_requests_total",
        "credgate_request_duration_seconds",
        "credgate_decisions_total",
        "credgate_snapshot_info",
        "credgate_snapshot_age_seconds",
        "credgate_ready",
        "credgate_audit_lines_total",
        "credgate_receipt_rounds_total",
    ] {
        count(&fams, name);
    }
}

/// Headers without the ones that may differ between two answers to the same request.
fn stable_headers(r: &common::http::Resp, skip: &[&str]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("date") && !skip.iter().any(|s| k.eq_ignore_ascii_case(s))
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    h.sort();
    h
}

#[test]
fn head_answers_read_only_endpoints_like_get_without_a_body() {
    use credgate::trust::receipt::Signer;

    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start_with(
        dir.path(),
        sample_today(),
        |_| {},
        |st| st.signer = Some(Signer::new([4; 32]).unwrap()),
    );
    s.wait_ready(None);
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/snapshot",
        "/v1/receipts/public-key",
        "/",
        "/index.html",
        "/assets/app.js",
        "/assets/app.css",
        // Errors too: the same status and headers as GET's.
        "/healthz?x=1",
    ] {
        // HEAD then GET on one keep-alive connection: a body sent after the HEAD's headers
        // would be read as the GET's status line.
        let mut c = s.conn();
        let head = c.head(path);
        let get = c.get(path);
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty());
        assert!(!get.body.is_empty(), "{path}");
        if path == "/metrics" {
            // The GET's text counts the HEAD, so its length differs.
            let n: usize = head.header("content-length").unwrap().parse().unwrap();
            assert!(n > 0);
            assert_eq!(
                stable_headers(&head, &["content-length"]),
                stable_headers(&get, &["content-length"])
            );
        } else {
            assert_eq!(
                head.header("content-length"),
                Some(get.body.len().to_string().as_str()),
                "{path}"
            );
            assert_eq!(
                stable_headers(&head, &[]),
                stable_headers(&get, &[]),
                "{path}"
            );
        }
    }

    // Without a snapshot /readyz and /v1/snapshot say 503 to HEAD as to GET.
    let empty = tempfile::tempdir().unwrap();
    let cold = TestServer::start(empty.path(), sample_today(), |_| {});
    for path in ["/readyz", "/v1/snapshot"] {
        let head = cold.head(path);
        assert_eq!(head.status, 503, "{path}");
        let get = cold.get(path);
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str())
        );
    }

    // Endpoints that decide, audit or sign refuse HEAD and say what they take; nothing was
    // decided or signed for it.
    for (path, allow) in [
        (
            "/v1/check?id=914101027110665834&scenario=procurement",
            "GET, POST",
        ),
        ("/v1/subjects/914101027110665834", "GET"),
        ("/v1/search?name=a", "GET"),
        ("/v1/screen?scenario=procurement", "POST"),
        ("/v1/admin/reload", "POST"),
    ] {
        let r = s.head(path);
        assert_eq!(r.status, 405, "{path}");
        assert_eq!(r.header("allow"), Some(allow), "{path}");
    }
    let m = s.get("/metrics").text();
    assert!(
        m.contains("credgate_decisions_total{scenario=\"procurement\",outcome=\"deny\"} 0"),
        "{m}"
    );
    assert!(m.contains("credgate_receipt_leaves_total 0"), "{m}");
}
