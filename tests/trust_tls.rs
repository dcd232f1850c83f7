//! In-process TLS over real sockets with the real binary: a check over HTTPS verified against
//! the test CA of `tests/fixtures/tls` (keep-alive, ALPN http/1.1), a plain-HTTP request to
//! the TLS port refused without harming the server, a silent client dropped by the
//! header-read timeout, a graceful SIGTERM with a TLS connection open, and the start-up
//! refusals (mismatched key, unreadable file, one flag without the other, an open
//! non-loopback address).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::proc::Proc;
use common::{build_sample, repo, sample_today};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/tls").join(name)
}

fn client_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(fixture("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn connect(addr: SocketAddr, name: &str) -> Tls {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let conn = ClientConnection::new(
        client_config(),
        ServerName::try_from(name.to_string()).unwrap(),
    )
    .unwrap();
    let mut s = StreamOwned::new(conn, tcp);
    // Drive the handshake to its end before the first request.
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).unwrap();
    }
    s
}

/// Sends one GET on a kept-alive connection and reads one response with a
/// `Content-Length` body: (status, body).
fn get(s: &mut impl ReadWrite, target: &str) -> (u16, String) {
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
    )
    .unwrap();
    s.flush().unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status: u16 = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn tls_args(root: &Path) -> Vec<String> {
    vec![
        "--index".into(),
        root.to_str().unwrap().into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--tls-cert".into(),
        fixture("server.pem").to_str().unwrap().into(),
        "--tls-key".into(),
        fixture("server.key").to_str().unwrap().into(),
    ]
}

fn serve_tls(root: &Path, extra: &[&str]) -> Proc {
    let mut args = tls_args(root);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Proc::serve(&args, &[("CREDGATE_TODAY", "2026-11-28")])
}

fn sample() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    (dir, root)
}

#[test]
fn a_check_over_tls_verifies_against_the_test_ca() {
    let (_dir, root) = sample();
    let p = serve_tls(&root, &[]);
    assert!(p.log().contains("scheme=\"https\"") || p.log().contains("scheme=https"));
    for name in ["localhost", "127.0.0.1"] {
        let mut s = connect(p.connect_addr(), name);
        assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        // Two requests on one connection: keep-alive works through TLS.
        let (status, body) = get(
            &mut s,
            "/v1/check?id=914101027110665834&scenario=procurement",
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], "914101027110665834");
        assert!(v["decision"].is_string(), "{v}");
        let (status, body) = get(&mut s, "/healthz");
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    }
    let (status, _) = p.stop("TERM");
    assert!(status.success());
}

#[test]
fn plain_http_to_the_tls_port_fails_and_the_server_keeps_serving() {
    let (_dir, root) = sample();
    let p = serve_tls(&root, &[]);
    let mut plain = TcpStream::connect(p.connect_addr()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // The server answers with at most a TLS alert and closes; never an HTTP response.
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let mut s = connect(p.connect_addr(), "localhost");
    assert_eq!(get(&mut s, "/healthz").0, 200);
    let (status, _) = p.stop("TERM");
    assert!(status.success());
}

#[test]
fn a_silent_client_is_dropped_by_the_header_read_timeout() {
    let (dir, root) = sample();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "header_read_timeout_ms = 200\n").unwrap();
    let p = serve_tls(&root, &["--config", config.to_str().unwrap()]);
    let mut silent = TcpStream::connect(p.connect_addr()).unwrap();
    // A safety net only: the server must close long before this.
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = silent
        .read(&mut buf)
        .expect("the server closes the connection");
    assert_eq!(n, 0, "no bytes for a client that never said hello");
    let mut s = connect(p.connect_addr(), "localhost");
    assert_eq!(get(&mut s, "/healthz").0, 200);
    let (status, _) = p.stop("TERM");
    assert!(status.success());
}

#[test]
fn sigterm_with_an_open_tls_connection_exits_cleanly() {
    let (_dir, root) = sample();
    let p = serve_tls(&root, &[]);
    let mut s = connect(p.connect_addr(), "localhost");
    assert_eq!(get(&mut s, "/healthz").0, 200);
    // The idle keep-alive connection is closed by the graceful shutdown, not waited for.
    let (status, log) = p.stop("TERM");
    assert!(status.success(), "{log}");
    assert!(log.contains("all connections closed"), "{log}");
}

/// `credgate serve ARGS` expected to refuse to start: (exit code, stderr).
fn refused(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .arg("serve")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_tls_files_stop_the_server_at_start_naming_the_file() {
    let (dir, root) = sample();
    let r = root.to_str().unwrap();
    let cert = fixture("server.pem");
    let cert = cert.to_str().unwrap();
    let other = fixture("other.key");
    let (code, err) = refused(&[
        "--index",
        r,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert,
        "--tls-key",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("other.key") && err.contains("does not go with"),
        "{err}"
    );

    let missing = dir.path().join("missing.pem");
    let (code, err) = refused(&[
        "--index",
        r,
        "--tls-cert",
        missing.to_str().unwrap(),
        "--tls-key",
        fixture("server.key").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.pem"), "{err}");

    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, "-----BEGIN PRIVATE KEY-----\n!!!!\n").unwrap();
    let (code, err) = refused(&[
        "--index",
        r,
        "--tls-cert",
        cert,
        "--tls-key",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("garbage.key"), "{err}");

    let (code, err) = refused(&["--index", r, "--tls-cert", cert]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tls-key"), "{err}");
    let (code, err) = refused(&["--index", r, "--tls-key", cert]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
}

#[test]
fn tls_does_not_lift_the_rule_for_open_non_loopback_addresses() {
    let (_dir, root) = sample();
    let mut args = tls_args(&root);
    args[3] = "0.0.0.0:0".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, err) = refused(&args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("without API keys"), "{err}");
}

/// A key protected by a passphrase is a common first try (`openssl genpkey -aes256`, or a
/// key exported from another server). credgate reads unencrypted keys only, and must say
/// that the key is encrypted, rather than that there is no key in the file (PKCS#8) or that
/// the file is not valid PEM (the `Proc-Type` header of the traditional form).
#[test]
fn an_encrypted_tls_key_is_refused_as_encrypted() {
    let (dir, root) = sample();
    let r = root.to_str().unwrap();
    let cert = fixture("server.pem");
    let pkcs8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n\
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj8dhoLc72K4gICCAAw\n\
        -----END ENCRYPTED PRIVATE KEY-----\n";
    let traditional = "-----BEGIN EC PRIVATE KEY-----\n\
        Proc-Type: 4,ENCRYPTED\n\
        DEK-Info: AES-256-CBC,F43A89224560AFE5EFA8A6BDB52DAB02\n\
        \n\
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj8dhoLc72K4gICCAAw\n\
        -----END EC PRIVATE KEY-----\n";
    for (name, text) in [("pkcs8.key", pkcs8), ("traditional.key", traditional)] {
        let key = dir.path().join(name);
        std::fs::write(&key, text).unwrap();
        let (code, err) = refused(&[
            "--index",
            r,
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(name) && err.contains("is encrypted"),
            "{name}: {err}"
        );
    }
}
