//! A walk of malformed requests: each gets the right status and JSON error code (or hyper's
//! own status for requests it refuses before routing), and the server keeps serving.

mod common;

use common::http::{Conn, TestServer};
use common::{build_sample, sample_today};

struct Case {
    what: &'static str,
    raw: Vec<u8>,
    status: u16,
    /// The JSON error code; `None` where hyper answers before the router runs.
    code: Option<&'static str>,
    allow: Option<&'static str>,
}

fn req(
    what: &'static str,
    raw: impl Into<Vec<u8>>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        what,
        raw: raw.into(),
        status,
        code,
        allow: None,
    }
}

fn post(path: &str, ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

/// A POST whose body is declared compressed with `encoding`.
fn post_encoded(path: &str, ctype: &str, encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {ctype}\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

fn get(target: &[u8]) -> Vec<u8> {
    let mut r = b"GET ".to_vec();
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    r
}

#[test]
fn malformed_requests_get_json_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.screen_body_limit = 1024 * 1024
    });
    let ok = "/v1/check?id=914101027110665834&scenario=procurement";
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let cases = vec![
        req("missing id", get(b"/v1/check?scenario=procurement"), 400, Some("bad_parameter")),
        req("missing scenario", get(b"/v1/check?id=914101027110665834"), 400, Some("bad_parameter")),
        req("unknown scenario", get(b"/v1/check?id=914101027110665834&scenario=bribery"), 400, Some("bad_parameter")),
        req("impossible date", get(b"/v1/check?id=914101027110665834&scenario=procurement&as_of=2026-02-30"), 400, Some("bad_parameter")),
        req("date in words", get(b"/v1/check?id=914101027110665834&scenario=procurement&as_of=yesterday"), 400, Some("bad_parameter")),
        req("wrong check character", get(b"/v1/check?id=91110000600037341N&scenario=procurement"), 422, Some("invalid_id")),
        req("id of wrong length", get(b"/v1/check?id=123&scenario=procurement"), 422, Some("invalid_id")),
        req("percent-encoded invalid UTF-8", get(b"/v1/check?id=%FF%FE&scenario=procurement"), 400, Some("bad_parameter")),
        req("broken percent escape", get(b"/v1/check?id=%G1&scenario=procurement"), 400, Some("bad_parameter")),
        req("raw invalid UTF-8 in the target", get(b"/v1/check?id=\xff\xfe&scenario=procurement"), 400, None),
        req("bad boolean", get(b"/v1/check?id=914101027110665834&scenario=procurement&lenient=perhaps"), 400, Some("bad_parameter")),
        req("bad JSON", post("/v1/check", "application/json", b"{\"id\":"), 400, Some("bad_body")),
        req("JSON of the wrong shape", post("/v1/check", "application/json", b"[1,2]"), 400, Some("bad_body")),
        req("unknown JSON field", post("/v1/check", "application/json", br#"{"id":"914101027110665834","scenario":"procurement","sceanrio":1}"#), 400, Some("bad_body")),
        req("invalid UTF-8 body", post("/v1/check", "application/json", b"{\"id\":\"\xff\"}"), 400, Some("bad_body")),
        req("empty body", post("/v1/check", "application/json", b""), 400, Some("bad_body")),
        req("wrong content type", post("/v1/check", "text/plain", b"{}"), 415, Some("unsupported_media_type")),
        req("body over the cap", post("/v1/check", "application/json", &vec![b' '; 70_000]), 413, Some("body_too_large")),
        req("declared body over the screen cap", b"POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n".to_vec(), 413, Some("body_too_large")),
        req("screen without content type", b"POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab".to_vec(), 415, Some("unsupported_media_type")),
        req("screen as XML", post("/v1/screen?scenario=procurement", "application/xml", b"<a/>"), 415, Some("unsupported_media_type")),
        // 郑州 in GB18030: read as UTF-8 every such row used to become invalid_row, with 200.
        req("screen in GB18030", post("/v1/screen?scenario=procurement", "text/csv; charset=gb18030", b"id,name\n914101027110665834,\xd6\xa3\xd6\xdd\n"), 415, Some("unsupported_media_type")),
        // The gzip header of a compressed list: read as plain CSV it used to be one
        // invalid_row, with 200, and a compressed check a misleading "not JSON".
        req("screen compressed with gzip", post_encoded("/v1/screen?scenario=procurement", "text/csv", "gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), 415, Some("unsupported_media_type")),
        req("check compressed with deflate", post_encoded("/v1/check", "application/json", "identity, deflate", b"x\x9c\xab\xae\x05\x00\x01u\x00\xf9"), 415, Some("unsupported_media_type")),
        req("check in UTF-16", post("/v1/check", "application/json; charset=utf-16", b"{}"), 415, Some("unsupported_media_type")),
        req("screen with an empty body", post("/v1/screen?scenario=procurement", "text/csv", b"\r\n \n"), 400, Some("bad_body")),
        req("screen JSON that is not an array", post("/v1/screen?scenario=procurement", "application/json", b"{\"id\":\"x\"}"), 400, Some("bad_body")),
        req("screen without scenario", post("/v1/screen", "text/csv", b"id\n1\n"), 400, Some("bad_parameter")),
        req("search limit not a number", get(b"/v1/search?name=a&limit=many"), 400, Some("bad_parameter")),
        req("misspelt as_of", get(b"/v1/check?id=914101027110665834&scenario=procurement&asof=2020-01-01"), 400, Some("bad_parameter")),
        req("unknown parameter", get(b"/v1/search?name=a&foo=1"), 400, Some("bad_parameter")),
        req("repeated parameter", get(b"/v1/check?id=914101027110665834&scenario=procurement&scenario=licensing"), 400, Some("bad_parameter")),
        req("query on POST check", post("/v1/check?scenario=licensing", "application/json", br#"{"id":"914101027110665834","scenario":"procurement"}"#), 400, Some("bad_parameter")),
        req("query on healthz", get(b"/healthz?verbose=1"), 400, Some("bad_parameter")),
        req("subject id not UTF-8", get(b"/v1/subjects/%FF"), 400, Some("bad_parameter")),
        req("unknown path", get(b"/v2/check"), 404, Some("not_found")),
        req("garbage request line", b"HELLO\r\n\r\n".to_vec(), 400, None),
        req("huge header", huge_header.into_bytes(), 431, None),
        Case { allow: Some("GET, POST"), ..req("DELETE on check", b"DELETE /v1/check HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), 405, Some("method_not_allowed")) },
        Case { allow: Some("POST"), ..req("GET on screen", get(b"/v1/screen?scenario=procurement"), 405, Some("method_not_allowed")) },
        Case { allow: Some("GET, HEAD"), ..req("POST on healthz", post("/healthz", "application/json", b"{}"), 405, Some("method_not_allowed")) },
        Case { allow: Some("GET, HEAD"), ..req("DELETE on snapshot", b"DELETE /v1/snapshot HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(), 405, Some("method_not_allowed")) },
        Case { allow: Some("GET"), ..req("POST on search", post("/v1/search?name=a", "application/json", b"{}"), 405, Some("method_not_allowed")) },
        // HEAD gets no body, so no error code to read; the status and Allow still say it.
        Case { allow: Some("GET, POST"), ..req("HEAD on check", b"HEAD /v1/check?id=914101027110665834&scenario=procurement HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, None) },
        Case { allow: Some("GET"), ..req("HEAD on subjects", b"HEAD /v1/subjects/914101027110665834 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, None) },
        Case { allow: Some("POST"), ..req("HEAD on screen", b"HEAD /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, None) },
        req("HEAD with an unknown parameter", b"HEAD /healthz?x=1 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400, None),
        Case { allow: Some("POST"), ..req("GET on reload", get(b"/v1/admin/reload"), 405, Some("method_not_allowed")) },
    ];
    assert!(cases.len() >= 20);
    for case in &cases {
        let mut c = s.conn();
        let r = c.send(&case.raw);
        assert_eq!(
            r.status,
            case.status,
            "{}: {}",
            case.what,
            String::from_utf8_lossy(&r.body)
        );
        if let Some(code) = case.code {
            r.error(case.status, code);
        }
        assert_eq!(r.header("allow"), case.allow, "{}", case.what);
        // The server still answers.
        assert_eq!(s.get(ok).json()["decision"], "deny", "after {}", case.what);
    }
}

/// A JSON body that starts with a UTF-8 byte order mark is read, as a screened list is.
#[test]
fn a_check_body_with_a_byte_order_mark_is_read() {
    let (_d, s) = TestServer::sample();
    let body = "\u{feff}{\"id\":\"914101027110665834\",\"scenario\":\"procurement\"}";
    let r = s
        .conn()
        .send(&post("/v1/check", "application/json", body.as_bytes()));
    assert_eq!(r.json()["decision"], "deny", "{}", r.text());
    let r = s.conn().send(&post(
        "/v1/check",
        "application/json",
        "\u{feff}".as_bytes(),
    ));
    r.error(400, "bad_body");
}

#[test]
fn a_body_declared_uncompressed_is_read() {
    let (_d, s) = common::http::TestServer::sample();
    let body = br#"{"id":"914101027110665834","scenario":"procurement"}"#;
    for encoding in ["identity", "Identity"] {
        let r = s.conn().send(&post_encoded(
            "/v1/check",
            "application/json",
            encoding,
            body,
        ));
        assert_eq!(r.json()["decision"], "deny", "{encoding}");
    }
}

/// An error that answers a request before its body is read says `Connection: close`: hyper
/// closes such a connection instead of reading the rest, and a keep-alive client that is not
/// told would send its next request into the closing socket. An answer to a body that was
/// read keeps the connection.
#[test]
fn an_error_answered_before_its_body_is_read_closes_the_connection_and_says_so() {
    let (_d, s) = TestServer::sample();
    let keep_alive_post = |path: &str, ctype: &str, body: &[u8]| {
        let mut r = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    // Over the 64 KiB cap of /v1/check, and small enough for the socket buffers to take
    // whole while the server does not read it.
    let body = vec![b'a'; 70 * 1024];
    for (path, ctype, status) in [
        ("/v1/check", "application/json", 413),
        ("/v1/screen?scenario=procurement", "application/gzip", 415),
    ] {
        let mut c = s.conn();
        let r = c.send(&keep_alive_post(path, ctype, &body));
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_eq!(r.header("connection"), Some("close"), "{path}");
        assert!(closed_by_server(&mut c).len() < body.len(), "{path}");
    }
    let mut c = s.conn();
    let ok = br#"{"id":"914101027110665834","scenario":"procurement"}"#;
    let r = c.send(&keep_alive_post("/v1/check", "application/json", ok));
    assert_eq!(r.json()["decision"], "deny");
    assert_eq!(r.header("connection"), None);
    assert_eq!(c.get("/healthz").status, 200, "the connection stays open");
}

#[test]
fn a_truncated_body_is_a_400_and_a_stalled_head_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.header_read_timeout_ms = 200
    });
    // The client promises 100 bytes, sends 10 and closes its side.
    let mut c = s.conn();
    c.write(b"POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":\"91");
    c.shutdown_write();
    c.read_response().error(400, "bad_body");

    // Slowloris: half a request head, then nothing. The server closes the connection.
    let mut c = Conn::open(s.addr);
    c.write(b"GET /healthz HTTP/1.1\r\nHost:");
    let rest = closed_by_server(&mut c);
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert_eq!(s.get("/healthz").status, 200);

    // A keep-alive connection left idle after its answer is closed the same way.
    let mut c = s.conn();
    assert_eq!(c.get("/healthz").status, 200);
    assert!(closed_by_server(&mut c).is_empty());
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn a_body_that_stops_arriving_ends_its_request_and_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.header_read_timeout_ms = 200;
        c.max_connections = 2;
    });
    // Both connection slots taken by bodies that promise more than they send and keep the
    // connection open. Once nothing has come for the timeout, the check is answered 408,
    // and the screen, whose answer had begun streaming, ends it with the same error.
    let stalled = |path: &str, content_type: &str, part: &str| {
        let mut c = s.conn();
        c.write(
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n\
                 Content-Length: 100\r\n\r\n{part}"
            )
            .as_bytes(),
        );
        c
    };
    let mut a = stalled("/v1/check", "application/json", "{\"id\"");
    let mut b = stalled("/v1/screen?scenario=procurement", "text/csv", "id\n9141");
    a.read_response().error(408, "body_timeout");
    let lines = b.read_response().lines();
    assert_eq!(
        lines.last().unwrap()["error"]["code"],
        "body_timeout",
        "{lines:?}"
    );
    // The slots are free again: the server answers a new connection.
    assert_eq!(s.get("/healthz").status, 200);

    // A screen whose body stops after some rows: the rows before are answered and the
    // stream ends with the timeout as its last line.
    let mut c = s.conn();
    c.write(
        b"POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n\
          Transfer-Encoding: chunked\r\n\r\n1d\r\nid\n914101027110665834\n9141010\r\n",
    );
    let lines = c.read_response().lines();
    assert_eq!(lines[0]["decision"], "deny", "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["error"]["code"], "body_timeout", "{lines:?}");
}

#[test]
fn an_answer_the_client_stops_reading_frees_its_slot() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.send_timeout_ms = 200;
        c.max_connections = 1;
    });
    // A batch whose answer (about 80 MB) is far more than the socket buffers between server
    // and client hold, from a client that sends it all and never reads a byte of the answer.
    // The answer stops moving once the buffers are full; the server must then give up on
    // it instead of holding the connection, and its slot, for ever.
    let mut req = Vec::new();
    let rows = 300_000;
    let body_len = 3 + rows * 19;
    req.extend_from_slice(
        format!(
            "POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\n\
             Content-Type: text/csv\r\nContent-Length: {body_len}\r\n\r\nid\n"
        )
        .as_bytes(),
    );
    for _ in 0..rows {
        req.extend_from_slice(b"914101027110665834\n");
    }
    let stalled = std::net::TcpStream::connect(s.addr).unwrap();
    let mut w = stalled.try_clone().unwrap();
    // The server stops reading the body too once its answer is stuck: send from a thread.
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&req);
    });
    // The only connection slot is free again: a new connection is answered (the client's
    // read timeout, a minute, fails the test if it never is).
    assert_eq!(s.get("/healthz").status, 200);
    drop(stalled);
    writer.join().unwrap();
}

/// Reads until the server closes the connection and returns what came; fails if the
/// client's read timeout (a minute) passes first, i.e. the server never closed it.
fn closed_by_server(c: &mut Conn) -> Vec<u8> {
    use std::io::{ErrorKind, Read};
    let mut rest = Vec::new();
    match c.reader().read_to_end(&mut rest) {
        Ok(_) => rest,
        // Closing with unread bytes may reset instead of ending the stream.
        Err(e) if e.kind() == ErrorKind::ConnectionReset => rest,
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
}

/// Answers that come before the body has been read reach a client that writes its whole
/// request before it reads its answer, as simple clients and scripts do: a 413 on the
/// declared length, a 413 part-way through a body of no declared length, a 415, a 404 and a
/// 405, each to a 4 MiB body. The server reads what is left of the body and drops it, then
/// closes the connection. It used to close it at once with the body unread, and the client
/// got a broken pipe or a reset instead of the answer (often in a release build).
#[test]
fn answers_before_the_body_reach_clients_that_send_the_whole_body_first() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |c| {
        c.screen_body_limit = 1024 * 1024
    });
    let body = vec![b' '; 4 << 20];
    let chunked = {
        let mut r = b"POST /v1/screen?scenario=procurement HTTP/1.1\r\nHost: t\r\n\
                      Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        for part in body.chunks(64 << 10) {
            r.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            r.extend_from_slice(part);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"0\r\n\r\n");
        r
    };
    for round in 0..3 {
        let cases = [
            (
                "declared too long",
                post("/v1/check", "application/json", &body),
                413,
                "body_too_large",
            ),
            (
                "too long as it comes",
                chunked.clone(),
                413,
                "body_too_large",
            ),
            (
                "unsupported type",
                post("/v1/check", "text/plain", &body),
                415,
                "unsupported_media_type",
            ),
            (
                "no such path",
                post("/v1/nowhere", "application/json", &body),
                404,
                "not_found",
            ),
            (
                "wrong method",
                post("/healthz", "application/json", &body),
                405,
                "method_not_allowed",
            ),
        ];
        for (what, raw, status, code) in cases {
            let mut c = Conn::open(s.addr);
            let r = c.send(&raw);
            assert_eq!(r.status, status, "round {round}, {what}: {}", r.text());
            assert_eq!(r.json()["error"]["code"], code, "round {round}, {what}");
        }
    }
    assert_eq!(s.get("/healthz").status, 200);
}
