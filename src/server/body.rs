//! The response body: either one buffer, or a stream of chunks fed through a channel by a
//! task (the `/v1/screen` pipeline), so a long answer never sits whole in memory.
//!
//! A body's chunks are [`Chunk`]s rather than plain `Bytes` so that a buffer written by a
//! handler (a `Vec<u8>`) goes to the socket as it is: turning a `Vec` whose length is not
//! its capacity into `Bytes` allocates a shared header for it, once per response.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

pub enum Body {
    Full(Option<Chunk>),
    /// Chunks from a producer task; an `Err` aborts the response (the connection is closed
    /// without the final chunk, so the client sees an incomplete answer, not a short one).
    Channel(mpsc::Receiver<Result<Bytes, Abort>>),
}

/// Why a streamed response was cut short.
#[derive(Debug)]
pub struct Abort(pub String);

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "response aborted: {}", self.0)
    }
}

impl std::error::Error for Abort {}

impl Body {
    pub fn full(b: impl Into<Chunk>) -> Body {
        Body::Full(Some(b.into()))
    }
}

/// A piece of a response body: shared bytes, or a buffer owned outright with how much of
/// it has been sent.
pub enum Chunk {
    Shared(Bytes),
    Owned { buf: Vec<u8>, sent: usize },
}

impl From<Bytes> for Chunk {
    fn from(b: Bytes) -> Chunk {
        Chunk::Shared(b)
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(buf: Vec<u8>) -> Chunk {
        Chunk::Owned { buf, sent: 0 }
    }
}

impl From<String> for Chunk {
    fn from(s: String) -> Chunk {
        Chunk::from(s.into_bytes())
    }
}

impl From<&'static [u8]> for Chunk {
    fn from(b: &'static [u8]) -> Chunk {
        Chunk::Shared(Bytes::from_static(b))
    }
}

impl From<&'static str> for Chunk {
    fn from(s: &'static str) -> Chunk {
        Chunk::from(s.as_bytes())
    }
}

impl Chunk {
    fn len(&self) -> usize {
        self.remaining()
    }
}

impl Buf for Chunk {
    fn remaining(&self) -> usize {
        match self {
            Chunk::Shared(b) => b.len(),
            Chunk::Owned { buf, sent } => buf.len() - sent,
        }
    }

    fn chunk(&self) -> &[u8] {
        match self {
            Chunk::Shared(b) => b,
            Chunk::Owned { buf, sent } => &buf[*sent..],
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Chunk::Shared(b) => b.advance(n),
            Chunk::Owned { buf, sent } => {
                assert!(n <= buf.len() - *sent, "advanced past the end of a chunk");
                *sent += n;
            }
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Chunk;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Chunk>, Abort>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Channel(rx) => rx
                .poll_recv(cx)
                .map(|c| c.map(|b| b.map(|b| Frame::data(Chunk::Shared(b))))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            // An exact hint lets hyper send Content-Length instead of chunking.
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Channel(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut c: Chunk, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while c.has_remaining() {
            let n = step.min(c.chunk().len());
            out.extend_from_slice(&c.chunk()[..n]);
            c.advance(n);
        }
        out
    }

    #[test]
    fn owned_and_shared_chunks_yield_their_bytes_in_order() {
        let text = b"{\"decision\":\"allow\"}".to_vec();
        for step in [1, 3, 64] {
            assert_eq!(drain(Chunk::from(text.clone()), step), text);
            assert_eq!(drain(Chunk::from(Bytes::from(text.clone())), step), text);
        }
        assert_eq!(Chunk::from("ok").remaining(), 2);
        assert_eq!(Chunk::from(String::from("abc")).len(), 3);
    }

    #[test]
    #[should_panic(expected = "advanced past the end")]
    fn an_owned_chunk_refuses_to_advance_past_its_end() {
        let mut c = Chunk::from(vec![1, 2, 3]);
        c.advance(2);
        c.advance(2);
    }
}
