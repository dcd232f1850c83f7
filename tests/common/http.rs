//! A test server started in-process on its own runtime, and a minimal blocking HTTP/1.1
//! client over raw sockets (so malformed requests can be sent byte for byte).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use credgate::server::{self, Config, State, Trigger};
use credgate_index::date::Day;

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    pub root: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Serves `root` (which may not hold a snapshot yet) with `today` fixed.
    /// A server of the sample data, built into a directory that lives as long as the
    /// returned guard.
    #[allow(dead_code)] // not every test binary uses it
    pub fn sample() -> (tempfile::TempDir, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        super::build_sample(dir.path(), super::sample_today());
        let s = TestServer::start(dir.path(), super::sample_today(), |_| {});
        (dir, s)
    }

    pub fn start(root: &Path, today: Day, tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_with(root, today, tweak, |_| {})
    }

    /// Like [`TestServer::start`], with a hook on the state before it is shared (keys,
    /// signer, audit trail).
    pub fn start_with(
        root: &Path,
        today: Day,
        tweak: impl FnOnce(&mut Config),
        tweak_state: impl FnOnce(&mut State),
    ) -> TestServer {
        let mut config = Config {
            index: root.to_path_buf(),
            today: Some(today),
            poll_interval_ms: 0,
            ..Config::default()
        };
        tweak(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let poll = config.poll_interval_ms;
        let mut state = State::new(config);
        tweak_state(&mut state);
        let state = Arc::new(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, done) = rt.block_on(async {
            let _ = state.reloader.reload(&state, Trigger::Startup).await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (ptx, prx) = tokio::sync::watch::channel(false);
            if poll > 0 {
                let mut prx = prx.clone();
                tokio::spawn(server::reload::watch(
                    state.clone(),
                    Duration::from_millis(poll),
                    async move {
                        let _ = prx.wait_for(|s| *s).await;
                    },
                ));
            }
            let done = tokio::spawn(server::run(listener, state.clone(), async move {
                let _ = rx.await;
                let _ = ptx.send(true);
            }));
            (addr, done)
        });
        TestServer {
            addr,
            state,
            root: root.to_path_buf(),
            stop: Some(tx),
            rt: Some(rt),
            done: Some(done),
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::open(self.addr)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.conn().get(path)
    }

    /// A HEAD request: the response's status and headers, and no body.
    pub fn head(&self, path: &str) -> Resp {
        self.conn().head(path)
    }

    /// A request with extra header lines (each `Name: value`) and an optional body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, method, path, headers, body)
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.post_with(path, &[("Content-Type", content_type)], body)
    }

    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.conn().send(&bytes)
    }

    /// Polls `/readyz` until it says ready (the poller or a reload may take a moment).
    pub fn wait_ready(&self, snapshot_other_than: Option<&str>) -> String {
        loop {
            let r = self.get("/readyz");
            if r.status == 200 {
                let id = r.json()["snapshot"].as_str().unwrap().to_string();
                if snapshot_other_than != Some(id.as_str()) {
                    return id;
                }
            }
            std::thread::yield_now();
        }
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let (Some(rt), Some(done)) = (self.rt.take(), self.done.take()) {
            let ended = rt.block_on(done);
            // Not a second panic while a failed test unwinds.
            if !std::thread::panicking() {
                ended
                    .expect("the server task ran to its end")
                    .expect("the server started its connection workers");
            }
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One request on a fresh connection to `addr`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    Conn::open(addr).send(&bytes)
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// NDJSON body as values.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Asserts a JSON error answer and returns it.
    pub fn error(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        v
    }
}

/// One keep-alive connection.
pub struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        // A stuck server fails the test instead of hanging it.
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            stream: BufReader::new(s),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).unwrap();
    }

    pub fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.stream
    }

    pub fn shutdown_write(&mut self) {
        self.stream
            .get_mut()
            .shutdown(std::net::Shutdown::Write)
            .unwrap();
    }

    /// Sends one request and reads its response (without a body if the request is a HEAD).
    pub fn send(&mut self, bytes: &[u8]) -> Resp {
        self.write(bytes);
        if bytes.starts_with(b"HEAD ") {
            self.read_head_response()
        } else {
            self.read_response()
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes())
    }

    pub fn head(&mut self, path: &str) -> Resp {
        self.send(&format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes())
    }

    /// Reads one response (Content-Length, chunked, or until close).
    pub fn read_response(&mut self) -> Resp {
        self.read(true)
    }

    /// Reads the response to a HEAD request: its headers describe the body a GET would get
    /// (Content-Length included), but no body follows them.
    pub fn read_head_response(&mut self) -> Resp {
        self.read(false)
    }

    fn read(&mut self, with_body: bool) -> Resp {
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        let status: u16 = line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("no status line: {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.stream.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        // A response to HEAD has no body, whatever its headers say.
        if with_body {
            if let Some(n) = find("content-length") {
                body.resize(n.parse().unwrap(), 0);
                self.stream.read_exact(&mut body).unwrap();
            } else if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
                loop {
                    let mut size = String::new();
                    self.stream.read_line(&mut size).unwrap();
                    let n = usize::from_str_radix(size.trim(), 16)
                        .unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
                    let mut chunk = vec![0; n + 2];
                    self.stream.read_exact(&mut chunk).unwrap();
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
            } else {
                self.stream.read_to_end(&mut body).unwrap();
            }
        }
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// The value of the sample `name` (labels included) in the text of `/metrics`.
pub fn metric_value(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
