//! `POST /v1/screen`: batch screening, streamed both ways.
//!
//! The request body is read frame by frame and cut into records ([`split`](super::split));
//! every `chunk_rows` records go to a blocking task that parses, screens and serialises them;
//! up to two chunks are screened at once (the reference machine has two cores) and their
//! output is sent in input order through a bounded channel that the response body drains. So
//! memory stays bounded by a few chunks whatever the size of the batch, and a slow client
//! slows the reading of the body rather than filling memory.
//!
//! Output rows: NDJSON by default, one object per input row:
//! `{"row","input","id","id_type","decision","heightened","nonconforming","lists","measures",
//! "error","columns"}`; CSV with `Accept: text/csv`: `row`, the input columns, then
//! `decision,heightened,nonconforming,lists,measures,error`. Echoed caller text has people's
//! numbers masked unless the key holds `personal_full` ([`RowWriter`]). With `?summary=1`
//! (NDJSON only) a last line `{"summary":{…}}` counts the rows. A body that breaks off, passes
//! the size cap or is not one well-formed JSON array ends the output, after the rows read
//! before the break, with a line `{"error":{…}}` (NDJSON) or `#error,"<code>: <message>"`
//! (CSV), so a client can tell a cut batch from a whole one.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Request, Response};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use credgate_index::date::Day;
use credgate_index::ids::Mode;
use credgate_index::model::Scenario;

use super::body::Abort;
use super::errors::ApiError;
use super::incoming::RequestBody;
use super::query::{self, Query};
use super::routes::{check_declared_length, media_type, mode, parse_as_of, parse_scenario};
use super::rows::{self, CsvLayout, Tally};
use super::split::{InputFormat, Records, Splitter};
use super::{trail, Body, Caller, State};
use crate::batch::echo::{ColumnKeys, RowWriter};
use crate::engine::Engine;

/// Chunks being screened at once.
const IN_FLIGHT: usize = 2;

/// What every row of one batch shares.
#[derive(Clone)]
pub struct Batch {
    pub scenario: Scenario,
    pub as_of: Day,
    pub today: Day,
    pub mode: Mode,
    pub input: InputFormat,
    pub csv_out: bool,
    /// For CSV input: where the id is and what the other columns are called
    /// ([`Batch::set_layout`]).
    pub layout: Option<CsvLayout>,
    /// The NDJSON keys of the layout's columns, masked and escaped once for every row.
    pub keys: ColumnKeys,
    /// The caller holds `personal_full`: people's numbers are shown (and echoed) unmasked.
    pub full_ids: bool,
    /// The caller's key name, for the audit trail.
    pub key: Arc<str>,
}

impl Batch {
    /// Lays the batch out as its first CSV record says, and makes its column keys.
    pub fn set_layout(&mut self, layout: CsvLayout) {
        self.keys = self
            .writer(layout.names.len())
            .column_keys(&layout.names, layout.id_col);
        self.layout = Some(layout);
    }

    /// The writer of this batch's rows, CSV lines `width` input columns wide: people's
    /// numbers in echoed text are masked unless the key holds `personal_full`.
    pub fn writer(&self, width: usize) -> RowWriter {
        RowWriter {
            csv: self.csv_out,
            mask: !self.full_ids,
            width,
        }
    }
}

pub async fn handle(
    req: Request<RequestBody>,
    state: Arc<State>,
    caller: Caller,
) -> Result<Response<Body>, ApiError> {
    let [scenario, as_of, lenient, summary] =
        Query::new(req.uri().query()).get_many(["scenario", "as_of", "lenient", "summary"])?;
    let scenario = parse_scenario(scenario.as_deref())?;
    let today = state.today();
    let as_of = parse_as_of(as_of.as_deref(), today)?;
    let lenient = query::flag("lenient", lenient.as_deref())?;
    let summary = query::flag("summary", summary.as_deref())?;
    const EXPECTED: &str = "text/csv, application/x-ndjson, application/json (an array) or \
        application/vnd.openxmlformats-officedocument.spreadsheetml.sheet (xlsx)";
    let mut xlsx = false;
    let input = match media_type(&req)?.as_deref() {
        Some("text/csv") => InputFormat::Csv,
        Some(XLSX) => {
            xlsx = true;
            InputFormat::Csv
        }
        Some("application/x-ndjson") | Some("application/jsonl") | Some("application/ndjson") => {
            InputFormat::Ndjson
        }
        Some("application/json") => InputFormat::JsonArray,
        Some(other) => return Err(ApiError::unsupported_type(other, EXPECTED)),
        None => return Err(ApiError::unsupported_type("(none)", EXPECTED)),
    };
    let csv_out = wants_csv(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
    let limit = state.config.screen_body_limit;
    check_declared_length(&req, limit)?;
    let engine = state.engine.load_full().ok_or_else(ApiError::not_ready)?;

    let batch = Batch {
        scenario,
        as_of,
        today,
        mode: mode(lenient),
        input,
        csv_out,
        layout: None,
        keys: ColumnKeys::default(),
        full_ids: caller.full_ids(),
        key: caller.name.clone(),
    };
    if xlsx {
        let first = read_workbook(req.into_body(), limit).await?;
        let read = first.len() as u64;
        return Ok(start(
            state, engine, batch, first, read, None, limit, summary,
        ));
    }

    // Read up to the first byte that is not white space, so that an empty body is a plain
    // 400 instead of an empty stream. White space before it is not kept (each frame is
    // looked at once): blank lines are no rows, and whole lines of it are dropped as they
    // come, so a body of white space costs neither memory nor a scan per frame of all the
    // bytes before. What follows the last line end is kept, as it may begin the first row.
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut body = req.into_body();
    let mut first = Vec::new();
    // Bytes of the body read so far, the ones dropped included (for the size cap).
    let mut read: u64 = 0;
    // Whether the body's first bytes have been looked at for a byte order mark (dropped).
    let mut bom_done = false;
    // `first[..blank]` is white space.
    let mut blank = 0;
    loop {
        match body.next_frame().await? {
            // The start of a BOM and nothing more: data, not an empty body.
            None if !bom_done && !first.is_empty() => break,
            None => {
                return Err(ApiError::bad_body(
                    "the body is empty; send one identifier per row",
                ))
            }
            Some(Err(e)) => return Err(ApiError::bad_body(format!("reading the body: {e}"))),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                read += data.len() as u64;
                if read > limit {
                    return Err(ApiError::too_large(limit));
                }
                first.extend_from_slice(&data);
                if !bom_done {
                    if first.len() < BOM.len() && BOM.starts_with(&first) {
                        continue;
                    }
                    if first.starts_with(BOM) {
                        first.drain(..BOM.len());
                    }
                    bom_done = true;
                }
                if first[blank..].iter().any(|b| !b.is_ascii_whitespace()) {
                    break;
                }
                if let Some(end) = first.iter().rposition(|&b| b == b'\n' || b == b'\r') {
                    first.drain(..=end);
                }
                // A line of white space alone longer than a row may be (see `split`).
                if first.len() > super::split::MAX_RECORD {
                    return Err(ApiError::bad_body(format!(
                        "a row is too long: at byte {}: a row longer than 1 MiB starts here",
                        read - first.len() as u64
                    )));
                }
                blank = first.len();
            }
        }
    }
    if input == InputFormat::JsonArray
        && first.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[')
    {
        return Err(ApiError::bad_body(
            "a JSON body must be one array of identifiers or objects with an `id`",
        ));
    }

    Ok(start(
        state,
        engine,
        batch,
        first,
        read,
        Some(body),
        limit,
        summary,
    ))
}

/// Whether the answer is CSV, by the request's `Accept`: it names `text/csv` with a weight
/// above 0 and at least the weight it gives NDJSON (`application/x-ndjson`, or the aliases
/// the body may be sent as; else `application/*`, else `*/*`; the most specific range
/// counts). So `text/csv` alone, or listed first among equals, is CSV, and `text/csv;q=0`
/// (not acceptable) or `application/x-ndjson, text/csv;q=0.5` is NDJSON. Anything else,
/// no `Accept` or one naming neither, gets the default, NDJSON.
fn wants_csv(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    // The weight of `text/csv`, and of NDJSON by how specific the range naming it is.
    let mut csv: Option<f32> = None;
    let mut ndjson: [Option<f32>; 3] = [None; 3];
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .map_or(1.0, |q| q.clamp(0.0, 1.0));
        let slot = match media.as_str() {
            "text/csv" => &mut csv,
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => &mut ndjson[0],
            "application/*" => &mut ndjson[1],
            "*/*" => &mut ndjson[2],
            _ => continue,
        };
        *slot = Some(slot.map_or(q, |w: f32| w.max(q)));
    }
    let ndjson = ndjson.into_iter().flatten().next().unwrap_or(0.0);
    csv.is_some_and(|c| c > 0.0 && c >= ndjson)
}

/// Starts the batch's pipeline and answers with its streamed body. `body` is what is left of
/// the request after `first` (`None` when `first` is all of it); `read` bytes of the body
/// have been read so far (white space dropped before `first` included).
#[allow(clippy::too_many_arguments)]
fn start(
    state: Arc<State>,
    engine: Arc<Engine>,
    batch: Batch,
    first: Vec<u8>,
    read: u64,
    body: Option<RequestBody>,
    limit: u64,
    summary: bool,
) -> Response<Body> {
    let csv_out = batch.csv_out;
    let (tx, rx) = mpsc::channel(4);
    let chunk_rows = state.config.screen_chunk_rows.max(1);
    tokio::spawn(pipeline(
        state, engine, batch, first, read, body, limit, chunk_rows, summary, tx,
    ));
    let mut resp = Response::new(Body::Channel(rx));
    let ct = if csv_out {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(hyper::header::CACHE_CONTROL, super::routes::NO_STORE);
    resp
}

/// The media type of an xlsx workbook.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Reads a whole workbook body (a zip archive cannot be streamed) within `limit` and gives
/// its first worksheet as CSV.
async fn read_workbook(mut body: RequestBody, limit: u64) -> Result<Vec<u8>, ApiError> {
    let bytes = body.read_all(limit).await?;
    if bytes.is_empty() {
        return Err(ApiError::bad_body(
            "the body is empty; send an xlsx workbook with one identifier per row",
        ));
    }
    tokio::task::spawn_blocking(move || crate::batch::input::xlsx_to_csv(&bytes))
        .await
        .map_err(|e| ApiError::bad_body(format!("reading the workbook: {e}")))?
        .map_err(|e| ApiError::bad_body(format!("the body is not a readable xlsx workbook: {e}")))
}

type Tx = mpsc::Sender<Result<Bytes, Abort>>;

/// The response body's sending end, hashing what it sends when the batch gets a receipt.
pub struct Out {
    tx: Tx,
    /// The digest of the bytes handed to the connection, when the batch gets a receipt or
    /// an audit line.
    hasher: Option<Sha256>,
    /// The client has gone: a send failed.
    gone: bool,
}

impl Out {
    /// Sends bytes of the body; false when the client has gone.
    async fn send(&mut self, bytes: Bytes) -> bool {
        if self.gone || self.tx.send(Ok(bytes.clone())).await.is_err() {
            self.gone = true;
            return false;
        }
        if let Some(h) = &mut self.hasher {
            h.update(&bytes);
        }
        true
    }
}

/// Ends the stream with a last line saying why the batch stopped: `{"error":{…}}` in NDJSON,
/// or in CSV a line whose only field is the error. (Aborting the response instead would lose
/// the rows hyper still holds in its write buffer.)
async fn fail(tx: &mut Out, csv_out: bool, code: &str, message: String) {
    // Masked for every caller, like the messages of ApiError (errors.rs).
    let message = crate::trust::privacy::mask_numbers(&message);
    let line = if csv_out {
        let mut out = b"#error,".to_vec();
        rows::write_csv_field(&mut out, &format!("{code}: {message}"));
        out.push(b'\n');
        out
    } else {
        let line = serde_json::json!({"error": {"code": code, "message": message}});
        format!("{line}\n").into_bytes()
    };
    let _ = tx.send(Bytes::from(line)).await;
}

/// Reads the body and feeds it to the splitter; `Ok(false)` at the end of the body.
struct Reader {
    /// `None` once the whole body was read before the pipeline started (a workbook).
    body: Option<RequestBody>,
    splitter: Splitter,
    read: u64,
    limit: u64,
    ended: bool,
    /// Reading the body failed: the connection broke (the client went away mid-body).
    broken: bool,
}

impl Reader {
    /// Reads and drops what is left of the body (up to [`super::incoming::DRAIN_LIMIT`] more
    /// bytes, each frame within the stall timeout), after a failure such as `body_too_large` has ended
    /// the batch. Closing the connection with request bytes unread makes the kernel reset
    /// it, and a reset can destroy the end of the answer still on its way to the client,
    /// the error line included; a client that is still sending its body has usually not
    /// read it yet. (Here, before the answer's last line, rather than by dropping the body
    /// (`incoming`), so that the line goes out once the body is in.)
    async fn drain(&mut self) {
        if let Some(body) = &mut self.body {
            body.drain().await;
        }
    }

    /// Reads one more frame into `pending`; returns the error code and message that end the
    /// batch, if the body is broken or too large.
    async fn next(&mut self, pending: &mut Records) -> Result<(), (&'static str, String)> {
        let structure = |e| ("bad_body", format!("{e}"));
        let frame = match &mut self.body {
            Some(body) => body
                .next_frame()
                .await
                .map_err(|e| (e.code, format!("{} after {} bytes", e.message, self.read)))?,
            None => None,
        };
        match frame {
            None => {
                self.ended = true;
                self.splitter.finish(pending).map_err(structure)
            }
            Some(Err(e)) => {
                self.broken = true;
                Err((
                    "bad_body",
                    format!("reading the body after {} bytes: {e}", self.read),
                ))
            }
            Some(Ok(frame)) => {
                let Ok(bytes) = frame.into_data() else {
                    return Ok(());
                };
                self.read += bytes.len() as u64;
                if self.read > self.limit {
                    return Err((
                        "body_too_large",
                        format!("the body passed the limit of {} bytes", self.limit),
                    ));
                }
                self.splitter.feed(&bytes, pending).map_err(structure)
            }
        }
    }
}

type InFlight = VecDeque<tokio::task::JoinHandle<(Bytes, Tally)>>;

#[allow(clippy::too_many_arguments)]
async fn pipeline(
    state: Arc<State>,
    engine: Arc<Engine>,
    mut batch: Batch,
    first: Vec<u8>,
    read: u64,
    body: Option<RequestBody>,
    limit: u64,
    chunk_rows: usize,
    summary: bool,
    tx: Tx,
) {
    let csv_out = batch.csv_out;
    let mut tx = Out {
        tx,
        hasher: (state.signer.is_some() || state.audit.is_some()).then(Sha256::new),
        gone: false,
    };
    let mut reader = Reader {
        body,
        splitter: Splitter::new(batch.input),
        read,
        limit,
        ended: false,
        broken: false,
    };
    let mut pending = Records::default();
    // A broken body ends the batch after the rows before the break have been answered.
    let mut failure: Option<(&'static str, String)> = None;
    if let Err(e) = reader.splitter.feed(&first, &mut pending) {
        failure = Some(("bad_body", format!("{e}")));
        reader.ended = true;
    }
    // The first CSV record decides the layout: header or not, and which column is the id.
    if batch.input == InputFormat::Csv {
        while pending.is_empty() && !reader.ended {
            if let Err(f) = reader.next(&mut pending).await {
                failure = Some(f);
                reader.ended = true;
            }
        }
        if !pending.is_empty() {
            let (layout, is_header) = rows::csv_layout(pending.get(0));
            batch.set_layout(layout);
            if is_header {
                take_front(&mut pending, 1);
            }
        }
    }
    if csv_out && !tx.send(Bytes::from(rows::csv_header(&batch))).await {
        return;
    }
    let batch = Arc::new(batch);
    let mut in_flight = InFlight::new();
    let mut tally = Tally::default();
    let mut next_row: u64 = 1;
    // The client hung up: nothing more is screened or sent, but the rows it may have read
    // are still recorded in the audit trail below.
    let mut gone = false;
    'read: loop {
        // Hand complete chunks (or the rest, at the end) to the workers, in order.
        while pending.len() >= chunk_rows || (reader.ended && !pending.is_empty()) {
            if in_flight.len() >= IN_FLIGHT
                && !send_oldest(&mut in_flight, &mut tx, &mut tally).await
            {
                gone = true;
                break 'read;
            }
            let chunk = take_front(&mut pending, chunk_rows);
            let start_row = next_row;
            next_row += chunk.len() as u64;
            let (engine, batch) = (engine.clone(), batch.clone());
            in_flight.push_back(tokio::task::spawn_blocking(move || {
                rows::screen_chunk(&engine, &batch, &chunk, start_row)
            }));
        }
        if reader.ended {
            break;
        }
        if let Err(f) = reader.next(&mut pending).await {
            failure = Some(f);
            reader.ended = true;
        }
    }
    while !gone && send_oldest(&mut in_flight, &mut tx, &mut tally).await {}
    // A client that went away while the last chunks were sent.
    gone |= tx.gone;
    for (outcome, n) in tally.outcomes() {
        state.metrics.decisions_add(batch.scenario, outcome, n);
    }
    state.metrics.screened(tally.rows);
    // No error line or summary for a client that is not there.
    if !gone {
        if let Some((code, msg)) = failure {
            if code != "body_timeout" {
                reader.drain().await;
            }
            fail(&mut tx, csv_out, code, msg).await;
        } else if summary && !csv_out {
            let _ = tx.send(Bytes::from(tally.summary_line())).await;
        }
    }
    // The receipt covers every byte sent before it, so a cut or altered batch fails to
    // verify; it is the last line. The audit line is written first: in `sync` mode a batch
    // whose line cannot be made durable ends with an error line instead of a receipt. A
    // batch cut off by its client gets its line (the rows and the digest of what was handed
    // to the connection) and no receipt.
    let Some(h) = tx.hasher.take() else {
        return;
    };
    let digest = crate::trust::hex(&h.finalize());
    let snapshot = engine.snapshot().id();
    // Cut off by its client: an answer it stopped taking, a body that broke off, or an
    // error line or summary it was no longer there for.
    let cut_off = gone || tx.gone || reader.broken;
    let receipt = state.signer.as_ref().filter(|_| !cut_off).map(|signer| {
        signer.issue_batch(
            snapshot,
            digest.clone(),
            tally.rows,
            batch.scenario.as_str(),
            batch.as_of,
        )
    });
    let mut line = trail::Line::now(&batch.key, "/v1/screen", snapshot);
    line.scenario = Some(batch.scenario.as_str());
    line.as_of = Some(batch.as_of);
    line.rows = Some(tally.rows);
    line.digest = Some(&digest);
    line.receipt = receipt.as_ref().map(|r| r.id.as_str());
    line.cut_off = cut_off;
    if let Err(e) = trail::record(&state, &line).await {
        return fail(&mut tx, csv_out, e.code, e.message).await;
    }
    if let Some(receipt) = receipt {
        let json = serde_json::json!({ "receipt": receipt }).to_string();
        let line = if csv_out {
            let mut out = b"#receipt,".to_vec();
            rows::write_csv_field(&mut out, &json);
            out.push(b'\n');
            out
        } else {
            format!("{json}\n").into_bytes()
        };
        let _ = tx.tx.send(Ok(Bytes::from(line))).await;
    }
}

/// Sends the oldest screened chunk; false when there is none or the client has gone.
async fn send_oldest(
    in_flight: &mut VecDeque<tokio::task::JoinHandle<(Bytes, Tally)>>,
    tx: &mut Out,
    tally: &mut Tally,
) -> bool {
    let Some(handle) = in_flight.pop_front() else {
        return false;
    };
    match handle.await {
        Ok((bytes, t)) => {
            tally.add(&t);
            tx.send(bytes).await
        }
        Err(e) => {
            tracing::error!(error = %e, "a screening task failed");
            let _ = tx
                .tx
                .send(Err(Abort("a screening task failed".into())))
                .await;
            false
        }
    }
}

/// Removes the first `n` records (or all) into a chunk of their own.
fn take_front(pending: &mut Records, n: usize) -> Records {
    if pending.len() <= n {
        return std::mem::take(pending);
    }
    let cut = pending.ends[n - 1];
    let rest = Records {
        data: pending.data.split_off(cut),
        ends: pending.ends[n..].iter().map(|e| e - cut).collect(),
    };
    pending.ends.truncate(n);
    std::mem::replace(pending, rest)
}
