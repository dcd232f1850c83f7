//! Routing and the small endpoints of SPEC §7. Each handler returns `Result<Response,
//! ApiError>`; [`handle`] turns errors into the JSON error shape and records metrics.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use credgate_index::date::Day;
use credgate_index::ids::{self, Mode};
use credgate_index::model::Scenario;

use super::errors::ApiError;
use super::incoming::RequestBody;
use super::metrics::Route;
use super::query::{self, clip, decode, Query};
use super::reload::{ReloadOutcome, Trigger};
use super::{screen, trail, web, Body, Caller, State};
use crate::engine::{Decision, Engine, Options};
use crate::trust::receipt::{now_rfc3339, Issued};

pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Answers one request. Never panics on input; every refusal is a JSON error.
pub async fn handle(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let start = Instant::now();
    // What the handlers leave of the body is read to its end (`incoming`).
    let req = req.map(|b| RequestBody::new(b, state.body_wait()));
    let route = route_of(req.uri().path());
    let had_body = !hyper::body::Body::is_end_stream(req.body());
    let answer = authorize_then_dispatch(route, req, &state).await;
    let mut resp = finish(&state, route, start, answer);
    // An error may answer a request before its body is read (a 413 on the declared length,
    // a 415, a 401): what is left of the body is then read and dropped (`incoming`, up to
    // a limit) and the connection closed, and a keep-alive client that is not told would
    // send its next request into the closing socket. So an error to a request with a body
    // says the connection ends with it.
    let status = resp.status();
    if had_body && (status.is_client_error() || status.is_server_error()) {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The response to a request that arrived at `start`: an error in the JSON error shape,
/// and the request counted in the metrics.
fn finish(
    state: &State,
    route: Route,
    start: Instant,
    answer: Result<Response<Body>, ApiError>,
) -> Response<Body> {
    let resp = answer.unwrap_or_else(|e| error_response(&e));
    state
        .metrics
        .request(route, resp.status().as_u16(), start.elapsed());
    resp
}

/// Answers, inside hyper's call of the service, a request that needs no waiting: an
/// unsigned, unaudited `GET /v1/check`, the hot path. A `GET /v1/check` that must wait for
/// its receipt's round or its audit line is authorised and parsed here too, and comes back
/// as [`Answer::Check`] to be decided and awaited on the connection's task without its
/// request. Anything else comes back to be answered by [`handle`] on the connection's task
/// (the caller awaits it there).
///
/// Why: hyper polls the connection for reading (to notice a client hanging up) right after
/// it hands over a request and before it polls the service's future. A request still held
/// by that future keeps a reference into hyper's read buffer, so that read has to allocate
/// a fresh buffer, for every request. Answered here, or reduced here to what the check
/// needs, the request is gone by then and the buffer is reused (callgrind: four fewer
/// allocations per check).
pub fn answer_now(req: Request<Incoming>, state: &State) -> Answer {
    // A GET with a body is left for `handle`, which reads the body to its end.
    if req.method() != Method::GET
        || req.uri().path() != "/v1/check"
        || !hyper::body::Body::is_end_stream(req.body())
    {
        return Answer::Later(req);
    }
    let start = Instant::now();
    let asked = state
        .auth
        .authorize(req.headers(), Route::Check)
        .and_then(|caller| Ok((caller, Asked::from_query(&req, state)?)));
    drop(req);
    let (caller, asked) = match asked {
        Ok(ok) => ok,
        Err(e) => return Answer::Now(finish(state, Route::Check, start, Err(e))),
    };
    if state.signer.is_some() || state.audit.is_some() {
        return Answer::Check(Box::new(Waiting {
            start,
            caller,
            asked,
        }));
    }
    let body = unsigned_body(&asked.decide(state, &caller));
    Answer::Now(finish(
        state,
        Route::Check,
        start,
        Ok(json(StatusCode::OK, body)),
    ))
}

/// A `GET /v1/check` authorised and parsed by [`answer_now`] that waits for its receipt or
/// its audit line: [`Waiting::answer`] decides it and awaits them.
pub struct Waiting {
    start: Instant,
    caller: Caller,
    asked: Asked,
}

impl Waiting {
    pub async fn answer(self, state: &State) -> Response<Body> {
        let Waiting {
            start,
            caller,
            asked,
        } = self;
        let answer = decide(state, &caller, asked).await;
        finish(state, Route::Check, start, answer)
    }
}

/// What [`answer_now`] made of a request.
pub enum Answer {
    Now(Response<Body>),
    /// A check to decide and await with [`Waiting::answer`]. (Boxed, one allocation, so
    /// the service's future stays small; with keys and an audit trail this path measured
    /// 29,792 instructions a check under callgrind against 30,656 holding the request.)
    Check(Box<Waiting>),
    /// Left for [`handle`].
    Later(Request<Incoming>),
}

fn route_of(path: &str) -> Route {
    match path {
        "/v1/check" => Route::Check,
        "/v1/screen" => Route::Screen,
        "/v1/search" => Route::Search,
        "/v1/snapshot" => Route::Snapshot,
        "/healthz" => Route::Healthz,
        "/readyz" => Route::Readyz,
        "/metrics" => Route::Metrics,
        "/v1/admin/reload" => Route::Reload,
        "/v1/receipts/public-key" => Route::PublicKey,
        p if p.starts_with("/v1/subjects/") => Route::Subjects,
        p if web::is_page(p) => Route::Page,
        _ => Route::Other,
    }
}

async fn authorize_then_dispatch(
    route: Route,
    req: Request<RequestBody>,
    state: &Arc<State>,
) -> Result<Response<Body>, ApiError> {
    let caller = state.auth.authorize(req.headers(), route)?;
    dispatch(route, req, state, caller).await
}

async fn dispatch(
    route: Route,
    req: Request<RequestBody>,
    state: &Arc<State>,
    caller: Caller,
) -> Result<Response<Body>, ApiError> {
    let m = req.method();
    match route {
        // The server hands every GET /v1/check to `answer_now`; this keeps `handle` whole.
        Route::Check if m == Method::GET => {
            decide(state, &caller, Asked::from_query(&req, state)?).await
        }
        Route::Check if m == Method::POST => check_post(req, state, &caller).await,
        // No HEAD on /v1/check, /v1/subjects and /v1/search: to give a GET's headers
        // (Content-Length) HEAD would have to do all a GET does, count the decision, write
        // the audit line and sign the receipt, for an answer nobody receives.
        Route::Check => Err(ApiError::method_not_allowed("GET, POST")),
        Route::Screen if m == Method::POST => screen::handle(req, state.clone(), caller).await,
        Route::Screen => Err(ApiError::method_not_allowed("POST")),
        Route::Reload if m == Method::POST => {
            no_query(&req)?;
            admin_reload(state).await
        }
        Route::Reload => Err(ApiError::method_not_allowed("POST")),
        Route::Other => Err(ApiError::not_found(req.uri().path())),
        Route::Subjects | Route::Search if m != Method::GET => {
            Err(ApiError::method_not_allowed("GET"))
        }
        // The rest only read, so HEAD is answered as GET is; hyper sends the status and
        // headers, with the Content-Length of the body, and drops the body.
        _ if m != Method::GET && m != Method::HEAD => {
            Err(ApiError::method_not_allowed("GET, HEAD"))
        }
        // The page's files are documents for a browser and ignore a query string (a
        // bookmark's or a cache-buster's), as static files do; the API refuses one.
        Route::Page => web::serve(&req),
        Route::Subjects => subject(&req, state, &caller).await,
        Route::Search => search(&req, state, &caller).await,
        _ => {
            no_query(&req)?;
            fixed(route, state)
        }
    }
}

/// Refuses a query string on an endpoint that takes no parameters.
fn no_query<B>(req: &Request<B>) -> Result<(), ApiError> {
    Query::new(req.uri().query()).none()
}

/// The answer of a GET (or HEAD) endpoint that takes no parameters.
fn fixed(route: Route, state: &State) -> Result<Response<Body>, ApiError> {
    match route {
        Route::PublicKey => match &state.signer {
            Some(signer) => Ok(json(
                StatusCode::OK,
                serialize(&signer.public_key_json(), 128)?,
            )),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "receipts_off",
                "this server signs no receipts; start it with --signing-key FILE",
            )),
        },
        Route::Snapshot => snapshot(state),
        Route::Healthz => Ok(json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())),
        Route::Readyz => readyz(state),
        Route::Metrics => {
            let mut text = state.metrics.render(state.engine.load().as_deref());
            if let Some(audit) = &state.audit {
                audit.render_metrics(&mut text);
            }
            if let Some(signer) = &state.signer {
                signer.render_metrics(&mut text);
            }
            let mut r = Response::new(Body::full(text));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(r)
        }
        // `dispatch` answers every other route itself.
        _ => Err(ApiError::not_found(route.as_str())),
    }
}

/// A JSON answer. `Cache-Control: no-store`: answers name people and decisions about them,
/// which no browser or proxy cache should keep.
pub fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::full(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, JSON);
    h.insert(CACHE_CONTROL, NO_STORE);
    r
}

pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json(e.status, e.body());
    if let Some(allow) = e.allow {
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(secs) = e.retry_after {
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if e.challenge {
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"credgate\""),
        );
    }
    r
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("serialising the answer: {e}"),
    )
}

fn serialize<T: Serialize>(value: &T, capacity: usize) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut buf, value).map_err(internal)?;
    Ok(buf)
}

/// The engine being served, or `503 not_ready`.
fn engine(state: &State) -> Result<Arc<Engine>, ApiError> {
    state.engine.load_full().ok_or_else(ApiError::not_ready)
}

pub fn parse_scenario(s: Option<&str>) -> Result<Scenario, ApiError> {
    let s = s.ok_or_else(|| ApiError::missing("scenario"))?;
    Scenario::parse(s).ok_or_else(|| {
        ApiError::bad_parameter(format!(
            "unknown scenario {:?}; expected one of: {}",
            clip(s),
            Scenario::expected()
        ))
    })
}

pub fn parse_as_of(s: Option<&str>, today: Day) -> Result<Day, ApiError> {
    match s {
        None | Some("") => Ok(today),
        Some(s) => Day::parse_as_of(s)
            .map_err(|e| ApiError::bad_parameter(format!("as_of {:?}: {e}", clip(s)))),
    }
}

pub fn mode(lenient: bool) -> Mode {
    if lenient {
        Mode::Lenient
    } else {
        Mode::Strict
    }
}

/// A check's parameters, parsed, and the engine it will be decided on.
struct Asked {
    id: ids::Id,
    scenario: Scenario,
    as_of: Day,
    today: Day,
    engine: arc_swap::Guard<Option<Arc<Engine>>>,
}

impl Asked {
    fn new(
        state: &State,
        id: Option<&str>,
        scenario: Option<&str>,
        as_of: Option<&str>,
        lenient: bool,
    ) -> Result<Asked, ApiError> {
        let id = id.ok_or_else(|| ApiError::missing("id"))?;
        let scenario = parse_scenario(scenario)?;
        let today = state.today();
        let as_of = parse_as_of(as_of, today)?;
        let engine = state.engine.load();
        let Some(e) = engine.as_ref() else {
            return Err(ApiError::not_ready());
        };
        let id = e
            .parse_id(id, mode(lenient), today)
            .map_err(|e| ApiError::invalid_id(&e))?;
        Ok(Asked {
            id,
            scenario,
            as_of,
            today,
            engine,
        })
    }

    /// The parameters of `GET /v1/check`, from its query string.
    fn from_query<B>(req: &Request<B>, state: &State) -> Result<Asked, ApiError> {
        let [id, scenario, as_of, lenient] =
            Query::new(req.uri().query()).get_many(["id", "scenario", "as_of", "lenient"])?;
        Asked::new(
            state,
            id.as_deref(),
            scenario.as_deref(),
            as_of.as_deref(),
            query::flag("lenient", lenient.as_deref())?,
        )
    }

    /// Decides, counts the decision and logs it. Logs name the subject by its keyed
    /// pseudonym and show the number masked, whatever the caller may see.
    fn decide(&self, state: &State, caller: &Caller) -> Decision<'_> {
        let engine = self.engine.as_deref().expect("checked in Asked::new");
        let opts = Options {
            full_personal_ids: caller.full_ids(),
        };
        let decision = engine.check(&self.id, self.scenario, self.as_of, self.today, opts);
        state.metrics.decision(self.scenario, decision.decision);
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                key = %caller.name,
                subject = %state.correlator.subject(self.id.as_bytes()),
                id = %self.id.masked(),
                scenario = self.scenario.as_str(),
                decision = decision.decision.as_str(),
                "check"
            );
        }
        decision
    }
}

/// The body of an unsigned decision, written straight into one buffer sized for it.
fn unsigned_body(decision: &Decision<'_>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(decision.json_capacity());
    decision.write_json(&mut buf);
    buf
}

/// The answer to a check that may wait: decided and serialised straight into the response
/// buffer, then, with receipts or an audit trail, its round and its audit line awaited.
/// (`GET /v1/check` comes here through [`answer_now`] and [`Waiting`] when it waits, and
/// is answered by [`answer_now`] alone when it does not.)
async fn decide(state: &State, caller: &Caller, asked: Asked) -> Result<Response<Body>, ApiError> {
    let decision = asked.decide(state, caller);
    let (buf, receipt) = match &state.signer {
        // With receipts the body is the canonical encoding the digest covers, so the
        // decision is serialised once either way.
        Some(signer) => {
            let (buf, issued) = signer.sign_decision(&decision).await.map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
            (buf, Some(issued))
        }
        None => (unsigned_body(&decision), None),
    };
    if state.audit.is_some() {
        // A signed check is logged at its receipt's time, so the two agree.
        let time = match &receipt {
            Some(r) => Cow::Borrowed(r.checked_at()),
            None => Cow::Owned(now_rfc3339()),
        };
        let mut line = trail::Line::at(time, &caller.name, "/v1/check", decision.snapshot);
        line.scenario = Some(asked.scenario.as_str());
        line.as_of = Some(asked.as_of);
        let subject = state.correlator.subject_hex(asked.id.as_bytes());
        line.subject = Some(Cow::Borrowed(
            std::str::from_utf8(&subject).unwrap_or_default(),
        ));
        line.id = Some(decision.id.as_str());
        line.decision = Some(decision.decision.as_str());
        line.receipt = receipt.as_ref().map(Issued::id);
        trail::record(state, &line).await?;
    }
    Ok(json(StatusCode::OK, buf))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scenario: Option<Cow<'a, str>>,
    #[serde(borrow)]
    as_of: Option<Cow<'a, str>>,
    #[serde(default)]
    lenient: bool,
}

async fn check_post(
    req: Request<RequestBody>,
    state: &State,
    caller: &Caller,
) -> Result<Response<Body>, ApiError> {
    Query::new(req.uri().query())
        .none_instead("POST /v1/check takes all its parameters in the JSON body")?;
    require_content_type(&req, &["application/json"], "application/json")?;
    let body = read_body(req, state.config.body_limit).await?;
    // A byte order mark, which some Windows tools write, is ignored as /v1/screen ignores
    // it (RFC 8259 lets a parser do so).
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body[..]);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_body(
            "the body is empty; send a JSON object like {\"id\":…,\"scenario\":…}",
        ));
    }
    let b: CheckBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_body(format!("the body is not the expected JSON object: {e}"))
    })?;
    let asked = Asked::new(
        state,
        b.id.as_deref(),
        b.scenario.as_deref(),
        b.as_of.as_deref(),
        b.lenient,
    )?;
    decide(state, caller, asked).await
}

/// The media type of the request (lower-cased, parameters dropped), if it has one.
///
/// Every body is read as UTF-8, so a `charset` parameter naming anything else is refused
/// (`415`) rather than misread: a GB18030 CSV taken as UTF-8 turns every row with Chinese
/// text into an invalid row, and the batch would still answer 200. For the same reason a
/// body declared compressed (`Content-Encoding` other than `identity`) is refused: the
/// server does not decompress, and a gzip CSV read as it is was one `invalid_row` and a 200.
pub fn media_type<B>(req: &Request<B>) -> Result<Option<String>, ApiError> {
    for v in req.headers().get_all(CONTENT_ENCODING) {
        let s = v.to_str().unwrap_or("(not ASCII)");
        let coded = s
            .split(',')
            .map(str::trim)
            .any(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
        if coded {
            return Err(ApiError::compressed(s));
        }
    }
    match req.headers().get(CONTENT_TYPE) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| ApiError::unsupported_type("(not ASCII)", "a valid Content-Type"))?;
            let mut parts = s.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            for param in parts {
                let Some((name, value)) = param.split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("charset") {
                    let charset = value.trim().trim_matches('"');
                    if !charset.eq_ignore_ascii_case("utf-8")
                        && !charset.eq_ignore_ascii_case("utf8")
                    {
                        return Err(ApiError::not_utf8(charset));
                    }
                }
            }
            Ok(Some(media))
        }
    }
}

/// Refuses a body whose declared type is not one of `accepted` (a missing type is allowed).
fn require_content_type<B>(
    req: &Request<B>,
    accepted: &[&str],
    expected: &str,
) -> Result<(), ApiError> {
    match media_type(req)? {
        Some(t) if !accepted.contains(&t.as_str()) => Err(ApiError::unsupported_type(&t, expected)),
        _ => Ok(()),
    }
}

/// The declared body length, refused early when over `limit`.
pub fn check_declared_length<B>(req: &Request<B>, limit: u64) -> Result<(), ApiError> {
    if let Some(v) = req.headers().get(CONTENT_LENGTH) {
        let n: u64 = v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| ApiError::bad_body("Content-Length is not a number"))?;
        if n > limit {
            return Err(ApiError::too_large(limit));
        }
    }
    Ok(())
}

/// Reads a whole (small) body, refusing it once it passes `limit`.
async fn read_body(req: Request<RequestBody>, limit: u64) -> Result<Bytes, ApiError> {
    check_declared_length(&req, limit)?;
    Ok(Bytes::from(req.into_body().read_all(limit).await?))
}

async fn subject(
    req: &Request<RequestBody>,
    state: &State,
    caller: &Caller,
) -> Result<Response<Body>, ApiError> {
    let raw = req.uri().path().strip_prefix("/v1/subjects/").unwrap_or("");
    let raw = decode(raw).ok_or_else(|| {
        ApiError::bad_parameter("the subject id in the path is not valid percent-encoded UTF-8")
    })?;
    if raw.is_empty() || raw.contains('/') {
        return Err(ApiError::not_found(req.uri().path()));
    }
    let [as_of, lenient] = Query::new(req.uri().query()).get_many(["as_of", "lenient"])?;
    let today = state.today();
    let as_of = parse_as_of(as_of.as_deref(), today)?;
    let lenient = query::flag("lenient", lenient.as_deref())?;
    let engine = engine(state)?;
    let id = engine
        .parse_id(&raw, mode(lenient), today)
        .map_err(|e| ApiError::invalid_id(&e))?;
    let opts = Options {
        full_personal_ids: caller.full_ids(),
    };
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(
            key = %caller.name,
            subject = %state.correlator.subject(id.as_bytes()),
            id = %id.masked(),
            "profile"
        );
    }
    // A subject with a long history takes a while to gather and write: off the connection's
    // worker, whose other connections would wait for it (see `workers`).
    let body = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || {
            serialize(&engine.profile(&id, as_of, today, opts), 4096)
        })
        .await
        .map_err(|e| unfinished("profile", e))??
    };
    if state.audit.is_some() {
        let shown = if caller.full_ids() {
            id.as_str().to_string()
        } else {
            id.masked().to_string()
        };
        let mut line = trail::Line::now(&caller.name, "/v1/subjects", engine.snapshot().id());
        line.as_of = Some(as_of);
        line.subject = Some(state.correlator.subject(id.as_bytes()).into());
        line.id = Some(&shown);
        trail::record(state, &line).await?;
    }
    Ok(json(StatusCode::OK, body))
}

/// Search results are capped so one request cannot ask for the whole names index.
pub const MAX_SEARCH_LIMIT: usize = 1000;

#[derive(Serialize)]
struct SearchAnswer<'a> {
    query: &'a str,
    fuzzy: bool,
    hits: Vec<crate::engine::search::SearchHit<'a>>,
    snapshot: &'a str,
}

async fn search(
    req: &Request<RequestBody>,
    state: &State,
    caller: &Caller,
) -> Result<Response<Body>, ApiError> {
    let [name, fuzzy, limit] =
        Query::new(req.uri().query()).get_many(["name", "fuzzy", "limit"])?;
    let name = name.ok_or_else(|| ApiError::missing("name"))?;
    let fuzzy = query::flag("fuzzy", fuzzy.as_deref())?;
    let limit = match limit.as_deref() {
        None | Some("") => 20,
        Some(s) => match query::number(s) {
            Some(n) if (1..=MAX_SEARCH_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_parameter(format!(
                    "limit must be a number from 1 to {MAX_SEARCH_LIMIT}, not {:?}",
                    clip(s)
                )))
            }
        },
    };
    let engine = engine(state)?;
    let name = name.into_owned();
    let today = state.today();
    let full = caller.full_ids();
    // A fuzzy search can take tens of milliseconds: off the connection's worker, whose
    // other connections would wait for it (see `workers`).
    tokio::task::spawn_blocking(move || find(&engine, &name, fuzzy, limit, today, full))
        .await
        .map_err(|e| unfinished("search", e))?
}

/// A task on the blocking pool that did not return (it panicked, or the runtime is
/// stopping).
fn unfinished(what: &str, e: tokio::task::JoinError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("the {what} did not finish: {e}"),
    )
}

/// Runs a name search and writes its answer.
fn find(
    engine: &Engine,
    name: &str,
    fuzzy: bool,
    limit: usize,
    today: Day,
    full: bool,
) -> Result<Response<Body>, ApiError> {
    let hits = engine
        .search(
            name,
            fuzzy,
            limit,
            today,
            Options {
                full_personal_ids: full,
            },
        )
        .map_err(|e| ApiError::bad_parameter(format!("name: {e}")))?;
    // The query is echoed like the rest of a caller's text: a person's number in it masked.
    let query = if full {
        Cow::Borrowed(name)
    } else {
        crate::trust::privacy::mask_numbers(name)
    };
    let answer = SearchAnswer {
        query: &query,
        fuzzy,
        hits,
        snapshot: engine.snapshot().id(),
    };
    Ok(json(StatusCode::OK, serialize(&answer, 1024)?))
}

#[derive(Serialize)]
struct SnapshotAnswer<'a> {
    snapshot_id: &'a str,
    format_version: u32,
    built_at: &'a str,
    built_on: Day,
    history_from: Option<Day>,
    builder_version: &'a str,
    content_sha256: &'a str,
    generation: String,
    lists: &'a [credgate_index::manifest::ListEntry],
    counts: &'a credgate_index::manifest::Counts,
    sources: &'a [credgate_index::manifest::SourceEntry],
}

fn snapshot(state: &State) -> Result<Response<Body>, ApiError> {
    let engine = engine(state)?;
    let snap = engine.snapshot();
    let m = snap.manifest();
    let answer = SnapshotAnswer {
        snapshot_id: &m.snapshot_id,
        format_version: m.format_version,
        built_at: &m.built_at,
        built_on: m.built_on,
        history_from: m.history_from,
        builder_version: &m.builder_version,
        content_sha256: &m.content_sha256,
        generation: snap
            .dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        lists: &m.lists,
        counts: &m.counts,
        sources: &m.sources,
    };
    Ok(json(StatusCode::OK, serialize(&answer, 4096)?))
}

fn readyz(state: &State) -> Result<Response<Body>, ApiError> {
    let engine = engine(state)?;
    let body = serde_json::json!({"status": "ready", "snapshot": engine.snapshot().id()});
    Ok(json(StatusCode::OK, serialize(&body, 64)?))
}

async fn admin_reload(state: &Arc<State>) -> Result<Response<Body>, ApiError> {
    // Keys first: a keys file that does not parse refuses the whole reload, so an operator
    // sees the mistake at once instead of finding the old keys still in force later.
    let keys = state
        .auth
        .reload()
        .map_err(|e| ApiError::reload_refused(e.to_string()))?;
    if let Some(n) = keys {
        tracing::info!(keys = n, "keys reloaded");
    }
    match state.reloader.reload(state, Trigger::Explicit).await {
        Ok(ReloadOutcome::Loaded {
            previous,
            snapshot,
            generation,
        }) => {
            let body = serde_json::json!({"status": "loaded", "snapshot": snapshot, "previous": previous, "generation": generation, "keys": keys});
            Ok(json(StatusCode::OK, serialize(&body, 128)?))
        }
        Ok(ReloadOutcome::Unchanged {
            snapshot,
            generation,
        }) => {
            let body = serde_json::json!({"status": "unchanged", "snapshot": snapshot, "previous": snapshot, "generation": generation, "keys": keys});
            Ok(json(StatusCode::OK, serialize(&body, 128)?))
        }
        // The keys were taken before the snapshot was refused: say so, or an operator who
        // has just added or revoked a key would take the old keys to be in force.
        Err(e) => Err(ApiError::reload_refused(match keys {
            Some(n) => format!(
                "{e}; the snapshot served is unchanged, but the keys were reloaded ({n} keys in force)"
            ),
            None => e.to_string(),
        })),
    }
}
