//! Screening through a credgate server: each chunk's identifiers go to
//! `POST {URL}/v1/screen?scenario=…&as_of=…[&lenient=true]` as an NDJSON body of JSON
//! strings, one per row, and the NDJSON answer (one `{"row","input",<ScreenResult
//! fields>,"columns"}` per row, in order) comes back.
//!
//! A JSON string carries a cell exactly as it was read: a cell of spaces or a tab, quotes,
//! commas, line breaks. (A one-column CSV body did not: the server skips a line of white
//! space as blank, so a row whose identifier cell was blank got no result and the run
//! failed.) A row that is not valid CSV, or too short to have the identifier's column, is
//! answered here with the error the server would give it (`invalid_row`, `missing_id`).
//! The other input columns stay here: the output is assembled locally exactly as
//! in offline mode, so the server never sees them. A chunk is split over [`CONNECTIONS`]
//! keep-alive HTTP/1.1 connections driven by a current-thread tokio runtime, so that the
//! server can screen the two halves in parallel.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use credgate_index::date::Day;
use credgate_index::ids::Mode;
use credgate_index::model::Scenario;

use super::render::json_str;
use super::{BatchError, Chunk, Screener};
use crate::engine::screen::{ScreenError, ScreenResult};
use crate::engine::Outcome;

/// Requests in flight per chunk.
pub const CONNECTIONS: usize = 2;

pub struct Remote {
    url: String,
    authority: String,
    /// `{path prefix}/v1/screen?scenario=…&as_of=…[&lenient=true]`.
    target: String,
    token: Option<String>,
    rt: tokio::runtime::Runtime,
    conns: Vec<Option<SendRequest<Full<Bytes>>>>,
}

impl Remote {
    /// `url` is `http://HOST:PORT` with an optional path prefix; TLS is the job of a proxy
    /// in front of credgate, so only `http` is spoken here.
    pub fn new(
        url: &str,
        token: Option<String>,
        scenario: Scenario,
        as_of: Day,
        mode: Mode,
    ) -> Result<Remote, BatchError> {
        let bad = |detail: String| BatchError::Remote {
            url: url.to_string(),
            detail,
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| bad(format!("not a URL ({e}); expected http://HOST:PORT")))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad(
                "only http:// URLs are supported: reach a server that speaks HTTPS through a local proxy, or screen with --index".into(),
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad("the URL has no host".into()))?
            .to_string();
        let prefix = uri.path().trim_end_matches('/');
        // `--lenient` is the server's `lenient` parameter: the same rows get the same
        // answers whichever side screens them.
        let lenient = match mode {
            Mode::Lenient => "&lenient=true",
            Mode::Strict => "",
        };
        let target = format!(
            "{prefix}/v1/screen?scenario={}&as_of={as_of}{lenient}",
            scenario.as_str()
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| bad(format!("starting the HTTP client: {e}")))?;
        Ok(Remote {
            url: url.to_string(),
            authority,
            target,
            token,
            rt,
            conns: (0..CONNECTIONS).map(|_| None).collect(),
        })
    }

    fn error(&self, detail: String) -> BatchError {
        BatchError::Remote {
            url: self.url.clone(),
            detail,
        }
    }
}

/// One request: the identifiers of rows `rows` of the chunk, sent and answered.
async fn post(
    slot: &mut Option<SendRequest<Full<Bytes>>>,
    authority: &str,
    target: &str,
    token: Option<&str>,
    body: Bytes,
) -> Result<Bytes, String> {
    // A kept-alive connection the server has since closed fails `ready`; reconnect once.
    let mut sender = match slot.take() {
        Some(mut s) => match s.ready().await {
            Ok(()) => s,
            Err(_) => connect(authority).await?,
        },
        None => connect(authority).await?,
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(target)
        .header("host", authority)
        .header("content-type", "application/x-ndjson")
        .header("accept", "application/x-ndjson");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status != StatusCode::OK {
        let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        return Err(format!("HTTP {status}: {}", text.trim()));
    }
    *slot = Some(sender);
    Ok(body)
}

async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // The connection's own failure shows up as the request's error.
        let _ = conn.await;
    });
    Ok(sender)
}

/// An NDJSON body holding the identifier cell of each row in `rows` as a JSON string.
fn ndjson_body(chunk: &Chunk, id_col: usize, rows: &[usize]) -> Bytes {
    let mut out = Vec::with_capacity(rows.len() * 22);
    for &i in rows {
        json_str(&mut out, chunk.cell(i, id_col));
        out.push(b'\n');
    }
    Bytes::from(out)
}

#[derive(Deserialize)]
struct Row {
    row: u64,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    id_type: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    heightened: bool,
    #[serde(default)]
    nonconforming: bool,
    #[serde(default)]
    lists: Vec<String>,
    #[serde(default)]
    measures: Vec<String>,
    #[serde(default)]
    error: Option<RowError>,
}

#[derive(Deserialize)]
struct RowError {
    code: String,
    message: String,
    #[serde(default)]
    expected_check: Option<char>,
}

/// Reads the NDJSON answer to a request of `expected` rows into `out`.
fn parse_rows(body: &[u8], expected: usize, out: &mut Vec<ScreenResult>) -> Result<(), String> {
    let start = out.len();
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A server that signs receipts ends the batch with one over the bytes it sent. The
        // rows are rewritten here, so the receipt does not cover this command's output: it
        // is left out (the server's audit trail names it).
        if line.starts_with(b"{\"receipt\":") {
            continue;
        }
        // A batch the server ended early (its body broke off, or in sync mode its audit
        // line could not be written) ends with an error line instead of a row.
        if line.starts_with(b"{\"error\":") {
            let e: serde_json::Value =
                serde_json::from_slice(line).map_err(|e| format!("result line {}: {e}", n + 1))?;
            return Err(format!(
                "the server ended the batch after {} rows: {}: {}",
                out.len() - start,
                e["error"]["code"].as_str().unwrap_or("?"),
                e["error"]["message"].as_str().unwrap_or("?")
            ));
        }
        let row: Row =
            serde_json::from_slice(line).map_err(|e| format!("result line {}: {e}", n + 1))?;
        let k = out.len() - start;
        if row.row != k as u64 + 1 {
            return Err(format!(
                "result line {} is for row {}, expected row {}",
                n + 1,
                row.row,
                k + 1
            ));
        }
        out.push(into_result(row)?);
    }
    let got = out.len() - start;
    if got != expected {
        return Err(format!("sent {expected} rows, got {got} results"));
    }
    Ok(())
}

fn into_result(row: Row) -> Result<ScreenResult, String> {
    let decision = match row.decision.as_deref() {
        None => None,
        Some(d) => Some(
            *Outcome::ALL
                .iter()
                .find(|o| o.as_str() == d)
                .ok_or_else(|| format!("row {}: unknown decision {d:?}", row.row))?,
        ),
    };
    let id_type = match row.id_type.as_deref() {
        None => None,
        Some("uscc") => Some("uscc"),
        Some("ric") => Some("ric"),
        Some(t) => return Err(format!("row {}: unknown id_type {t:?}", row.row)),
    };
    // The server's row errors keep their code; one this client does not know keeps it in
    // the message.
    let error = row.error.map(|e| {
        let known = ["invalid_id", "missing_id", "invalid_row"]
            .into_iter()
            .find(|c| *c == e.code);
        ScreenError {
            code: known.unwrap_or("invalid_row"),
            message: match known {
                Some(_) => e.message,
                None => format!("{}: {}", e.code, e.message),
            },
            expected_check: e.expected_check,
        }
    });
    if decision.is_none() && error.is_none() {
        return Err(format!("row {}: neither a decision nor an error", row.row));
    }
    Ok(ScreenResult {
        id: row.id,
        id_type,
        decision,
        heightened: row.heightened,
        nonconforming: row.nonconforming,
        lists: row.lists,
        measures: row.measures,
        error,
    })
}

impl Screener for Remote {
    fn screen(
        &mut self,
        chunk: &Chunk,
        id_col: usize,
        out: &mut Vec<ScreenResult>,
    ) -> Result<(), BatchError> {
        // A row that could not be parsed, or that has no identifier's column, is answered
        // here with the error the server gives it; the others go to the server.
        let sent: Vec<usize> = (0..chunk.len())
            .filter(|&i| chunk.row_error(i, id_col).is_none())
            .collect();
        let per = sent.len().div_ceil(self.conns.len()).max(1);
        let parts: Vec<&[usize]> = sent.chunks(per).collect();
        let bodies: Vec<Bytes> = parts
            .iter()
            .map(|rows| ndjson_body(chunk, id_col, rows))
            .collect();
        let (authority, target, token) = (&self.authority, &self.target, self.token.as_deref());
        let answers = self.rt.block_on(async {
            let calls = self
                .conns
                .iter_mut()
                .zip(bodies)
                .map(|(slot, body)| post(slot, authority, target, token, body));
            join_all(calls).await
        });
        let mut answered = Vec::with_capacity(sent.len());
        for (rows, answer) in parts.iter().zip(answers) {
            let body = answer.map_err(|e| self.error(e))?;
            parse_rows(&body, rows.len(), &mut answered).map_err(|e| self.error(e))?;
        }
        let mut answered = answered.into_iter();
        out.clear();
        for i in 0..chunk.len() {
            out.push(match chunk.row_error(i, id_col) {
                Some(e) => ScreenResult::undecided(Some(e)),
                None => answered.next().expect("one answer per row sent"),
            });
        }
        Ok(())
    }
}

/// Runs the requests concurrently on the current-thread runtime and returns their answers
/// in order (the workspace has no `futures` crate; tokio's `JoinSet` would need `'static`).
async fn join_all<F: std::future::Future<Output = Result<Bytes, String>>>(
    calls: impl Iterator<Item = F>,
) -> Vec<Result<Bytes, String>> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = calls.map(Box::pin).collect();
    let mut done: Vec<Option<Result<Bytes, String>>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futs.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter()
        .map(|d| d.expect("every call finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_every_cell_as_it_was_read() {
        let cells = [" ", "\t", "", "a\"b,c\r\nd", "９１４１ ０１", "\u{3000}"];
        let mut chunk = Chunk::default();
        chunk.clear(1);
        for cell in cells {
            chunk.push_cell("name");
            chunk.push_cell(cell);
            chunk.end_row();
        }
        let rows: Vec<usize> = (0..cells.len()).collect();
        let body = ndjson_body(&chunk, 1, &rows);
        let sent: Vec<String> = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(sent, cells);
        // No line of the body is blank, so the server skips none of them.
        assert!(body
            .split(|&b| b == b'\n')
            .rev()
            .skip(1)
            .all(|l| !l.iter().all(u8::is_ascii_whitespace)));
    }

    #[test]
    fn parses_results_and_checks_their_order() {
        let body = br#"{"row":1,"input":"x","id":null,"id_type":null,"decision":null,"heightened":false,"nonconforming":false,"lists":[],"measures":[],"error":{"code":"invalid_id","message":"too short"},"columns":{}}
{"row":2,"input":"y","id":"91410184MAUN17PB6B","id_type":"uscc","decision":"deny","heightened":true,"nonconforming":false,"lists":["a","b"],"measures":["m1"],"error":null,"columns":{}}
"#;
        let mut out = Vec::new();
        parse_rows(body, 2, &mut out).unwrap();
        assert_eq!(out[0].error.as_ref().unwrap().message, "too short");
        assert_eq!(out[1].decision, Some(Outcome::Deny));
        assert_eq!(out[1].lists, ["a", "b"]);
        assert_eq!(
            parse_rows(body, 3, &mut Vec::new()).unwrap_err(),
            "sent 3 rows, got 2 results"
        );
        let swapped = body
            .split(|&b| b == b'\n')
            .rev()
            .collect::<Vec<_>>()
            .join(&b'\n');
        assert!(parse_rows(&swapped, 2, &mut Vec::new())
            .unwrap_err()
            .contains("expected row 1"));

        // A signing server's receipt line is not a row; an error line ends the batch.
        let mut signed = body.to_vec();
        signed.extend_from_slice(b"{\"receipt\":{\"id\":\"r\"}}\n");
        parse_rows(&signed, 2, &mut Vec::new()).unwrap();
        let mut broken = body.to_vec();
        broken.extend_from_slice(
            b"{\"error\":{\"code\":\"audit_unavailable\",\"message\":\"disk full\"}}\n",
        );
        assert_eq!(
            parse_rows(&broken, 2, &mut Vec::new()).unwrap_err(),
            "the server ended the batch after 2 rows: audit_unavailable: disk full"
        );
    }
}
