//! A request's body as the handlers read it, read to its end even when they stop early.
//!
//! An answer often comes before the body has been read: a 413 on the declared length or
//! part-way through it, a 415, a 401, a 404 or 405 to a request that carries a body. hyper
//! reads no more of a body its handler has dropped; the connection is closed with request
//! bytes still unread, and the kernel then resets it. A client still sending its body (one
//! that writes the whole request before it reads, as most simple clients and scripts do)
//! gets "broken pipe" or "connection reset" instead of the JSON error, and a reset can
//! destroy the answer already on its way. So a [`RequestBody`] dropped before its end hands
//! what is left of it to a task of its own, which reads and drops up to [`DRAIN_LIMIT`]
//! more bytes, each frame within the server's body wait, while hyper sends the answer. The
//! client's request then ends, it reads the answer, and the connection closes cleanly
//! (every such error says `Connection: close`, `routes::handle`). A body larger than that,
//! or one that stalls, is dropped, and the connection closes as before.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::StatusCode;

use super::errors::ApiError;

/// How much of a body the server still reads, and drops, after its answer no longer needs
/// it.
pub const DRAIN_LIMIT: u64 = 64 << 20;

pub struct RequestBody {
    /// `None` once drained or given up.
    inner: Option<Incoming>,
    /// How long a frame may take before reading or draining gives up (the server's body
    /// wait).
    wait: Duration,
}

impl RequestBody {
    pub fn new(inner: Incoming, wait: Duration) -> RequestBody {
        RequestBody {
            inner: Some(inner),
            wait,
        }
    }

    /// The next frame of the body, or the error that ends the request when none has come
    /// for the wait (the header read timeout). The head guard stops watching a connection
    /// once its request is being answered, so without this a client that stops sending its
    /// body mid-way would hold its connection, and a slot of the connection cap, for ever.
    pub async fn next_frame(
        &mut self,
    ) -> Result<Option<Result<Frame<Bytes>, hyper::Error>>, ApiError> {
        let wait = self.wait;
        tokio::time::timeout(wait, self.frame()).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body stopped arriving: nothing for {} ms",
                    wait.as_millis()
                ),
            )
        })
    }

    /// The whole body, refused with a 413 once it passes `limit` bytes (a small body, or one
    /// that cannot be streamed, such as a workbook).
    pub async fn read_all(&mut self, limit: u64) -> Result<Vec<u8>, ApiError> {
        let mut buf = Vec::new();
        while let Some(frame) = self.next_frame().await? {
            let frame = frame.map_err(|e| ApiError::bad_body(format!("reading the body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() as u64 + data.len() as u64 > limit {
                    return Err(ApiError::too_large(limit));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf)
    }

    /// Reads and drops the rest of the body: up to [`DRAIN_LIMIT`] bytes, each frame within
    /// the wait. Afterwards the body is over, read to its end or given up.
    pub async fn drain(&mut self) {
        if let Some(mut body) = self.inner.take() {
            drain(&mut body, self.wait).await;
        }
    }
}

/// Reads and drops `body` to its end, or until [`DRAIN_LIMIT`] bytes or a frame slower than
/// `wait`.
async fn drain(body: &mut Incoming, wait: Duration) {
    let mut drained = 0u64;
    while drained < DRAIN_LIMIT && !hyper::body::Body::is_end_stream(body) {
        match tokio::time::timeout(wait, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                drained += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            _ => break,
        }
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().inner {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(hyper::body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(body) => hyper::body::Body::size_hint(body),
            None => SizeHint::with_exact(0),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if hyper::body::Body::is_end_stream(&body) {
            return;
        }
        // Outside a runtime (never in the server) the body is simply dropped, and so it is
        // by a runtime shutting down, which drops the task unrun (the task holds the plain
        // body, so that drop spawns nothing more).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let wait = self.wait;
            let mut body = body;
            drop(runtime.spawn(async move { drain(&mut body, wait).await }));
        }
    }
}
