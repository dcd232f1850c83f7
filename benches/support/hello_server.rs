//! A bare hyper 1.x "hello" server: the yardstick `benches/http_load.sh` holds `/v1/check`
//! against (SPEC §9: credgate ≥ 90 % of its throughput). Built as an example so the harness
//! gets a plain binary: `cargo build --release --example hello_server`, then
//! `target/release/examples/hello_server [ADDR]` (default 127.0.0.1:8081).
//!
//! By default it is hyper's server as its own examples write it: tokio's multi-threaded
//! runtime (`#[tokio::main]`), one task per connection, HTTP/1.1 keep-alive, TCP_NODELAY. It
//! answers every request with a fixed small JSON body. With `HELLO_BODY_BYTES=N` (at least
//! 12) the body is N bytes of JSON instead, to see what a body the size of credgate's answers
//! costs by itself.
//!
//! With `HELLO_WORKERS=N` it lays its connections out as credgate does, on credgate's own
//! connection workers (`src/server/workers.rs`): N threads, each a single-threaded runtime;
//! the accept loop hands each connection to the one with the fewest open, and the
//! connection stays there. Against that form the ratio shows what credgate's own work
//! costs, with the runtime layout the same on both sides.

use std::convert::Infallible;

use bytes::Bytes;
use credgate::server::workers::Workers;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_string());
    // HELLO_BODY_BYTES=N: answer N bytes of JSON instead (a body the size of credgate's).
    let body: &'static [u8] = match std::env::var("HELLO_BODY_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if n >= 12 => {
            let pad = "x".repeat(n - 12);
            Box::leak(
                format!("{{\"hello\":\"{pad}\"}}")
                    .into_bytes()
                    .into_boxed_slice(),
            )
        }
        _ => b"{\"hello\":\"world\"}",
    };
    let mut workers = match std::env::var("HELLO_WORKERS")
        .ok()
        .map(|v| v.parse::<usize>())
    {
        None => None,
        Some(Ok(n)) if n > 0 => Some(Workers::start(n)?),
        Some(_) => panic!("HELLO_WORKERS must be a number of threads, at least 1"),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("hello_server listening on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        match &mut workers {
            None => {
                tokio::spawn(serve(stream, body));
            }
            Some(w) => {
                let stream = stream.into_std()?;
                drop(w.spawn(async move {
                    if let Ok(stream) = tokio::net::TcpStream::from_std(stream) {
                        serve(stream, body).await
                    }
                }));
            }
        }
    }
}

async fn serve(stream: tokio::net::TcpStream, body: &'static [u8]) {
    let service = service_fn(move |_req: Request<hyper::body::Incoming>| async move {
        let mut r = Response::new(Full::new(Bytes::from_static(body)));
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        Ok::<_, Infallible>(r)
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
