//! Keeps openapi.yaml true: real responses of every endpoint are checked against the schema
//! the document gives for their path, method and status, with a small checker for the JSON
//! Schema subset the document uses (type, nullable, enum, required, properties,
//! additionalProperties, items, oneOf, $ref, format: date).

mod common;

use serde_json::Value;

use common::http::{Resp, TestServer};
use common::{build_sample, repo, sample_today};
use credgate_index::date::Day;

struct Doc(Value);

impl Doc {
    fn load() -> Doc {
        let text = std::fs::read_to_string(repo().join("openapi.yaml")).unwrap();
        Doc(serde_yaml_ng::from_str(&text).expect("openapi.yaml parses"))
    }

    fn resolve<'a>(&'a self, mut s: &'a Value) -> &'a Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let mut node = &self.0;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "dangling $ref {r}");
            s = node;
        }
        s
    }

    /// The schema of the answer to `method path` with `status` and media type `media`.
    fn response_schema(&self, path: &str, method: &str, status: u16, media: &str) -> &Value {
        let op = &self.0["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let resp = self.resolve(&op["responses"][status.to_string()]);
        assert!(
            resp.is_object(),
            "{method} {path} {status} is not documented"
        );
        let schema = &resp["content"][media]["schema"];
        assert!(
            !schema.is_null(),
            "{method} {path} {status} has no {media} schema"
        );
        schema
    }

    fn check(&self, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
        let s = self.resolve(schema);
        if v.is_null() && s["nullable"] == true {
            return Ok(());
        }
        if let Some(alts) = s["oneOf"].as_array() {
            let n = alts.iter().filter(|a| self.check(a, v, at).is_ok()).count();
            return if n == 1 {
                Ok(())
            } else {
                Err(format!("{at}: matches {n} of oneOf, not 1: {v}"))
            };
        }
        let ok = match s["type"].as_str() {
            None => true,
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some(t) => return Err(format!("{at}: the checker does not know type {t}")),
        };
        if !ok {
            return Err(format!("{at}: expected {}, found {v}", s["type"]));
        }
        if let Some(e) = s["enum"].as_array() {
            if !e.contains(v) {
                return Err(format!("{at}: {v} is not one of {e:?}"));
            }
        }
        if s["format"] == "date" {
            Day::parse(v.as_str().unwrap()).map_err(|e| format!("{at}: {v}: {e}"))?;
        }
        if let Some(items) = s.get("items") {
            for (i, item) in v.as_array().unwrap().iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"))?;
            }
        }
        if let Some(obj) = v.as_object() {
            for r in s["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap();
                if !obj.contains_key(r) {
                    return Err(format!("{at}: missing required {r}: {v}"));
                }
            }
            for (k, val) in obj {
                match s["properties"].get(k) {
                    Some(p) => self.check(p, val, &format!("{at}.{k}"))?,
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => return Err(format!("{at}: undocumented {k}")),
                        Some(p @ Value::Object(_)) => self.check(p, val, &format!("{at}.{k}"))?,
                        _ => {}
                    },
                }
            }
        }
        Ok(())
    }

    /// A HEAD answer: documented for its path and status, and without a body.
    fn assert_head(&self, path: &str, r: &Resp) {
        let op = &self.0["paths"][path]["head"];
        assert!(op.is_object(), "HEAD {path} is not documented");
        let resp = self.resolve(&op["responses"][r.status.to_string()]);
        assert!(
            resp.is_object(),
            "HEAD {path} {} is not documented",
            r.status
        );
        assert!(r.body.is_empty(), "HEAD {path} came with a body");
        assert!(r.header("content-length").is_some(), "HEAD {path}");
    }

    fn assert(&self, path: &str, method: &str, r: &Resp) -> usize {
        let media = r
            .header("content-type")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_string();
        let schema = self.response_schema(path, method, r.status, &media);
        if media == "application/x-ndjson" {
            let lines = r.lines();
            for (i, line) in lines.iter().enumerate() {
                if let Some(receipt) = line.get("receipt") {
                    let schema = &self.0["components"]["schemas"]["Receipt"];
                    self.check(schema, receipt, &format!("{method} {path} receipt line"))
                        .unwrap();
                    assert!(receipt["rows"].is_u64(), "a batch receipt counts its rows");
                } else if line.get("summary").is_none() {
                    self.check(schema, line, &format!("{method} {path} line {}", i + 1))
                        .unwrap();
                }
            }
            lines.len()
        } else if media == "application/json" {
            self.check(schema, &r.json(), &format!("{method} {path} {}", r.status))
                .unwrap();
            1
        } else {
            assert!(!r.body.is_empty());
            1
        }
    }
}

#[test]
fn checker_catches_mismatches() {
    let doc = Doc::load();
    let schema = serde_json::json!({"$ref": "#/components/schemas/Error"});
    assert!(doc
        .check(
            &schema,
            &serde_json::json!({"error": {"code": "invalid_id", "message": "m"}}),
            "e"
        )
        .is_ok());
    assert!(doc
        .check(
            &schema,
            &serde_json::json!({"error": {"code": "nope", "message": "m"}}),
            "e"
        )
        .is_err());
    assert!(doc
        .check(
            &schema,
            &serde_json::json!({"error": {"code": "invalid_id"}}),
            "e"
        )
        .is_err());
    let day = serde_json::json!({"$ref": "#/components/schemas/Day"});
    assert!(doc
        .check(&day, &serde_json::json!("2026-02-30"), "d")
        .is_err());
}

#[test]
fn real_responses_match_the_document() {
    let doc = Doc::load();
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let cold = TestServer::start(empty.path(), sample_today(), |_| {});
    doc.assert("/readyz", "get", &cold.get("/readyz"));
    doc.assert_head("/readyz", &cold.head("/readyz"));
    doc.assert_head("/v1/snapshot", &cold.head("/v1/snapshot"));
    doc.assert(
        "/v1/check",
        "get",
        &cold.get("/v1/check?id=914101027110665834&scenario=procurement"),
    );
    doc.assert(
        "/v1/admin/reload",
        "post",
        &cold.post("/v1/admin/reload", "application/json", b""),
    );
    // Every endpoint that needs the snapshot says so, whatever its method.
    doc.assert(
        "/v1/check",
        "post",
        &cold.post(
            "/v1/check",
            "application/json",
            br#"{"id":"914101027110665834","scenario":"procurement"}"#,
        ),
    );
    doc.assert(
        "/v1/screen",
        "post",
        &cold.post(
            "/v1/screen?scenario=procurement",
            "text/csv",
            b"914101027110665834\n",
        ),
    );
    doc.assert(
        "/v1/subjects/{id}",
        "get",
        &cold.get("/v1/subjects/914101027110665834"),
    );
    doc.assert("/v1/search", "get", &cold.get("/v1/search?name=x"));

    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.header_read_timeout_ms = 300;
    });
    let checks = [
        ("914101027110665834", "procurement"),
        ("410102196804120211", "transport"),
        ("91410104MACKHWBA9J", "procurement"),
        ("914101844590813695", "procurement"),
        ("91410100MA2MAYK72W", "licensing"),
        ("91410184MAUN17PB6B", "licensing"),
        ("91110000600037341L", "finance"),
    ];
    for (id, scenario) in checks {
        let r = s.get(&format!("/v1/check?id={id}&scenario={scenario}"));
        assert_eq!(r.status, 200);
        doc.assert("/v1/check", "get", &r);
        doc.assert(
            "/v1/subjects/{id}",
            "get",
            &s.get(&format!("/v1/subjects/{id}")),
        );
    }
    doc.assert(
        "/v1/check",
        "get",
        &s.get("/v1/check?id=91110000600037341N&scenario=procurement"),
    );
    doc.assert(
        "/v1/check",
        "get",
        &s.get("/v1/check?id=914101027110665834&scenario=x"),
    );
    doc.assert(
        "/v1/check",
        "post",
        &s.post(
            "/v1/check",
            "application/json",
            br#"{"id":"914101027110665834","scenario":"licensing","as_of":"2026-01-01"}"#,
        ),
    );
    doc.assert(
        "/v1/check",
        "post",
        &s.post("/v1/check", "text/plain", b"x"),
    );
    doc.assert("/v1/subjects/{id}", "get", &s.get("/v1/subjects/12"));
    let rows = doc.assert(
        "/v1/screen",
        "post",
        &s.post(
            "/v1/screen?scenario=procurement&summary=1",
            "text/csv",
            "id,n\n914101027110665834,a\n91110000600037341N,b\n,c\n410102196804120211,d\n"
                .as_bytes(),
        ),
    );
    assert_eq!(rows, 5);
    doc.assert(
        "/v1/screen",
        "post",
        &s.post(
            "/v1/screen?scenario=procurement",
            "application/json",
            br#"["914101027110665834", {"id": 3}, {"id":"91410104MACKHWBA9J","k":[1]}]"#,
        ),
    );
    doc.assert(
        "/v1/screen",
        "post",
        &s.post(
            "/v1/screen?scenario=procurement",
            "application/xml",
            b"<a/>",
        ),
    );
    let enc = |t: &str| t.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    doc.assert(
        "/v1/search",
        "get",
        &s.get(&format!("/v1/search?name={}&fuzzy=1", enc("郑州市"))),
    );
    doc.assert("/v1/search", "get", &s.get("/v1/search?name=x&limit=0"));
    doc.assert("/v1/snapshot", "get", &s.get("/v1/snapshot"));
    doc.assert("/", "get", &s.get("/"));
    doc.assert("/healthz", "get", &s.get("/healthz"));
    doc.assert("/readyz", "get", &s.get("/readyz"));
    doc.assert("/metrics", "get", &s.get("/metrics"));
    for path in ["/", "/v1/snapshot", "/healthz", "/readyz", "/metrics"] {
        doc.assert_head(path, &s.head(path));
    }
    doc.assert_head(
        "/v1/receipts/public-key",
        &s.head("/v1/receipts/public-key"),
    );
    doc.assert_head("/healthz", &s.head("/healthz?x=1"));
    // Operations the document gives no HEAD refuse it.
    for (path, ops) in doc.0["paths"].as_object().unwrap() {
        if ops.get("head").is_none() {
            let target = path.replace("{id}", "914101027110665834");
            assert_eq!(s.head(&target).status, 405, "HEAD {path}");
        }
    }
    doc.assert(
        "/v1/admin/reload",
        "post",
        &s.post("/v1/admin/reload", "application/json", b""),
    );
    // A query parameter on an endpoint that takes none is 400 for GET as for HEAD.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/snapshot",
        "/v1/receipts/public-key",
    ] {
        doc.assert(path, "get", &s.get(&format!("{path}?x=1")));
    }
    doc.assert(
        "/v1/admin/reload",
        "post",
        &s.post("/v1/admin/reload?x=1", "application/json", b""),
    );
    // An id with an escaped slash is no subject's.
    doc.assert("/v1/subjects/{id}", "get", &s.get("/v1/subjects/a%2Fb"));
    // A batch whose body never comes, before anything was streamed.
    doc.assert(
        "/v1/screen",
        "post",
        &s.conn().send(
            b"POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\n\
              Content-Type: text/csv\r\nContent-Length: 10\r\n\r\n",
        ),
    );
}

/// Keys, rate limits and receipts: 401, 403, 429 and signed answers match the document too.
#[test]
fn trust_answers_match_the_document() {
    use credgate::server::Auth;
    use credgate::trust::hex;
    use credgate::trust::keys::token_digest;
    use credgate::trust::receipt::Signer;

    let doc = Doc::load();
    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let keys = dir.path().join("keys.toml");
    std::fs::write(
        &keys,
        format!(
            "[[key]]\nname = \"k\"\ntoken_sha256 = \"{}\"\nscopes = [\"check\", \"screen\"]\nrate_per_second = 0.001\nburst = 4\n",
            hex(&token_digest(b"tok"))
        ),
    )
    .unwrap();
    let auth = Auth::from_file(keys).unwrap();
    let signer = Signer::new([3; 32]).unwrap();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| {
            st.auth = auth;
            st.signer = Some(signer);
        },
    );
    s.wait_ready(None);
    let bearer = [("Authorization", "Bearer tok")];
    let check = "/v1/check?id=914101027110665834&scenario=procurement";
    let r = s.request("GET", check, &bearer, b"");
    assert!(r.json()["receipt"]["signature"].is_string());
    doc.assert("/v1/check", "get", &r);
    let rows = doc.assert(
        "/v1/screen",
        "post",
        &s.request(
            "POST",
            "/v1/screen?scenario=procurement&summary=1",
            &[
                ("Authorization", "Bearer tok"),
                ("Content-Type", "text/csv"),
            ],
            b"914101027110665834\n410102196804120211\n",
        ),
    );
    assert_eq!(rows, 4);
    doc.assert("/v1/check", "get", &s.get(check));
    doc.assert(
        "/v1/check",
        "get",
        &s.request("GET", check, &[("Authorization", "Bearer nope")], b""),
    );
    doc.assert(
        "/v1/search",
        "get",
        &s.request("GET", "/v1/search?name=a", &bearer, b""),
    );
    doc.assert(
        "/v1/receipts/public-key",
        "get",
        &s.get("/v1/receipts/public-key"),
    );
    doc.assert_head(
        "/v1/receipts/public-key",
        &s.head("/v1/receipts/public-key"),
    );
    doc.assert_head("/metrics", &s.head("/metrics"));
    let mut limited = None;
    for _ in 0..4 {
        let r = s.request("GET", check, &bearer, b"");
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the fifth request within the burst of 4 is refused");
    doc.assert("/v1/check", "get", &r);
    let doc_headers = &doc.0["components"]["responses"]["RateLimited"]["headers"];
    assert!(doc_headers["Retry-After"].is_object());
    assert!(r.header("retry-after").is_some());
}

/// Every operation refuses a query parameter the document does not give it, and the refusal
/// lists exactly the query parameters the document gives, in the document's order.
#[test]
fn undocumented_query_parameters_are_refused() {
    let doc = Doc::load();
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |_| {});
    let mut seen = 0;
    for (path, ops) in doc.0["paths"].as_object().unwrap() {
        // The page's files ignore a query string (README, "Errors").
        if path == "/" {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            let target = format!("{}?zz=1", path.replace("{id}", "914101027110665834"));
            let r = match method.as_str() {
                "get" => s.get(&target),
                "post" => s.post(&target, "application/json", b"{}"),
                "head" => {
                    assert_eq!(s.head(&target).status, 400, "HEAD {path}");
                    continue;
                }
                _ => continue,
            };
            let documented: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let v = r.error(400, "bad_parameter");
            let m = v["error"]["message"].as_str().unwrap();
            assert!(
                m.starts_with("unknown query parameter \"zz\"; "),
                "{method} {path}: {m}"
            );
            if !documented.is_empty() {
                assert!(
                    m.ends_with(&format!("takes {}", documented.join(", "))),
                    "{method} {path}: {m}"
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
}
