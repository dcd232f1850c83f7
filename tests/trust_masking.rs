//! Masking end to end on the real binary: people's numbers are masked in every response
//! unless the key holds `personal_full`, and the log never carries a raw number (it names
//! subjects by the HMAC of their number under the `--subject-key` secret).

mod common;

use common::http::request;
use common::proc::Proc;
use common::{build_source, copy_dir, repo, sample_today};
use credgate::trust::keys::token_digest;
use credgate::trust::privacy::Correlator;
use credgate::trust::{hex, unhex};

/// People of the sample: one denied through a link, others on lists of their own.
pub const PEOPLE: [&str; 4] = [
    "410102196804120211",
    "410102199505161527",
    "410103197107301034",
    "410184197902141699",
];

fn keys(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("keys.toml");
    let all = "[\"check\", \"screen\", \"profile\", \"search\"]";
    let full = "[\"check\", \"screen\", \"profile\", \"search\", \"personal_full\"]";
    std::fs::write(
        &file,
        format!(
            "[[key]]\nname = \"masked\"\ntoken_sha256 = \"{}\"\nscopes = {all}\n\
             [[key]]\nname = \"full\"\ntoken_sha256 = \"{}\"\nscopes = {full}\n",
            hex(&token_digest(b"tok-masked")),
            hex(&token_digest(b"tok-full")),
        ),
    )
    .unwrap();
    file
}

/// One request of the test, and the status it must get.
struct Req {
    method: &'static str,
    path: String,
    content_type: &'static str,
    accept: &'static str,
    body: Vec<u8>,
    status: u16,
}

impl Req {
    fn get(path: impl Into<String>) -> Req {
        Req {
            method: "GET",
            path: path.into(),
            content_type: "",
            accept: "",
            body: vec![],
            status: 200,
        }
    }

    fn post(path: impl Into<String>, content_type: &'static str, body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: "POST",
            content_type,
            body: body.into(),
            ..Req::get(path)
        }
    }

    fn accept(self, accept: &'static str) -> Req {
        Req { accept, ..self }
    }

    fn status(self, status: u16) -> Req {
        Req { status, ..self }
    }
}

/// `t` with every byte %-escaped, for a query.
fn percent(t: &str) -> String {
    t.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Every endpoint that can show a person, and every echo of caller text that can carry a
/// person's number: screened rows that cannot be parsed, echoed columns, error messages.
fn requests() -> Vec<Req> {
    let mut v = Vec::new();
    for p in PEOPLE {
        v.push(Req::get(format!("/v1/check?id={p}&scenario=transport")));
        v.push(Req::post(
            "/v1/check",
            "application/json",
            format!(r#"{{"id":"{p}","scenario":"procurement"}}"#),
        ));
        v.push(Req::get(format!("/v1/subjects/{p}")));
    }
    // People reached through an organisation's profile and through a name search, and
    // numbers the source data wrote into the organisation's record (see `source`).
    v.push(Req::get("/v1/subjects/914101027110665834"));
    v.push(Req::get(
        "/v1/check?id=914101027110665834&scenario=procurement",
    ));
    v.push(Req::get(format!(
        "/v1/search?name={}&limit=50",
        percent("孙丽")
    )));
    v.push(Req::get(format!(
        "/v1/search?name={}&limit=50&fuzzy=1",
        percent("王建国")
    )));
    v.push(Req::get(format!(
        "/v1/search?name={}",
        percent("郑州市中原区恒达")
    )));
    let csv: String = PEOPLE.iter().map(|p| format!("{p},x\n")).collect();
    // A wrong check digit: not a valid number, still a person's, still masked.
    let csv = format!("id,note\n{csv}410102196804120212,typo\n");
    const SCREEN: &str = "/v1/screen?scenario=transport";
    v.push(Req::post(SCREEN, "text/csv", csv.clone()));
    v.push(Req::post(SCREEN, "text/csv", csv).accept("text/csv"));
    let mut ndjson: String = PEOPLE
        .iter()
        .map(|p| format!("{{\"id\":\"{p}\",\"ref\":1}}\n"))
        .collect();
    ndjson.push_str("\"410102196804120212\"\n");
    v.push(Req::post(SCREEN, "application/x-ndjson", ndjson));

    // Rows that cannot be parsed are echoed whole: a GB18030 row (not UTF-8), a CSV row
    // with an unclosed quote, a headerless first row with a mistyped number (once taken
    // for a header and printed raw as one in CSV output).
    let p = PEOPLE[0];
    let mut gb = format!("id,name,x\n{p},").into_bytes();
    gb.extend_from_slice(&encoding_rs::GB18030.encode("王建国").0);
    gb.extend_from_slice(b",b\n914101027110665834,x,y\n");
    let unclosed = format!("id,x\n914101027110665834,a\n\"{p},x\n");
    let headerless = "410102196804120212,王建国\n914101027110665834,恒达\n".to_string();
    // Echoed columns: a representative's number beside an organisation's code.
    let rep = format!("id,rep_id,note\n914101027110665834,{p},\"rep {PERSON2}; ok\"\n");
    for body in [
        gb,
        unclosed.into_bytes(),
        headerless.into_bytes(),
        rep.into_bytes(),
    ] {
        v.push(Req::post(SCREEN, "text/csv", body.clone()));
        v.push(Req::post(SCREEN, "text/csv", body).accept("text/csv"));
    }
    // NDJSON: an id that is a number, not a string (missing_id), a line that is no JSON,
    // other fields holding numbers as strings, JSON numbers and nested values.
    let ndjson = format!(
        "{{\"id\":{p}}}\n{p},x\n{{\"id\":\"914101027110665834\",\"rep_id\":\"{p}\",\
         \"n\":{p},\"deep\":{{\"{PERSON2}\":[\"x {p}\"]}}}}\n"
    );
    v.push(Req::post(SCREEN, "application/x-ndjson", ndjson.clone()));
    v.push(Req::post(SCREEN, "application/x-ndjson", ndjson).accept("text/csv"));
    // A JSON array whose element is an array, and one whose echoed field is a number.
    let array = format!(r#"[["{p}"], {{"id":"914101027110665834","rep":{p}}}, {p}]"#);
    v.push(Req::post(SCREEN, "application/json", array.clone()));
    v.push(Req::post(SCREEN, "application/json", array).accept("text/csv"));

    // Error messages that quote the caller: serde's account of a number where a string
    // belongs, an unknown path, bad parameters; and the query a search echoes.
    v.push(
        Req::post(
            "/v1/check",
            "application/json",
            format!(r#"{{"id":{p},"scenario":"procurement"}}"#),
        )
        .status(400),
    );
    v.push(Req::get(format!("/v1/subjects/{p}/x")).status(404));
    v.push(Req::get(format!("/v1/nothing/{p}")).status(404));
    for bad in [
        format!("/v1/check?id=914101027110665834&scenario={p}"),
        format!("/v1/check?id=914101027110665834&scenario=procurement&as_of={p}"),
        format!("/v1/check?id=914101027110665834&scenario=procurement&lenient={p}"),
        format!("/v1/screen?scenario={p}"),
        format!("/v1/search?name=x&limit={p}"),
    ] {
        let r = if bad.starts_with("/v1/screen") {
            Req::post(bad, "text/csv", "id\n914101027110665834\n")
        } else {
            Req::get(bad)
        };
        v.push(r.status(400));
    }
    v
}

/// A person of the sample who appears only inside echoed text.
const PERSON2: &str = "410102199505161527";

/// A person's number written in groups, as the whole of a field.
const SPLIT: &str = "410103－19710730－1034";

/// Numbers written in groups inside longer text (see `source`), each with what a key without
/// `personal_full` sees of it: a person's number in a reason, a bank card's 18 digits in the
/// same reason, a person's number in an organisation's name.
const GROUPED: [(&str, &str); 3] = [
    ("410105 19800821 1022", "410105 ******** 1022"),
    ("6222 0212 3456 7890 12", "6222 02** **** **90 12"),
    ("410184-19790214-1699", "410184-********-1699"),
];

/// A range of dates in the same reason, shown as it is to every key.
const DATES: &str = "2024-03-15 - 2025-03-14";

/// A record id that carries a person's number, as some exports build them.
const RECORD_ID: &str = "JUD-410108197301091757-0001";

/// The sample, with people's numbers written into free text as government exports do: the
/// court record of 恒达 names its legal representative with his number in its reason (also
/// in full-width digits), another person's number in its authority, and a third person's,
/// written in groups, is the whole of its document number. Its reason also holds a
/// guarantor's number and a card's in groups, and a range of dates; its record id holds a
/// person's number, and 恒达's name another one in groups ([`GROUPED`], [`RECORD_ID`]).
fn source(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("source");
    copy_dir(&repo().join("data/sample"), &src);
    let court = src.join("lists/court.csv");
    let text = std::fs::read_to_string(&court).unwrap();
    let edited = text.replacen(
        "JUD-2024-0001,court_defaulter,org,914101027110665834,郑州市中原区恒达建材有限公司,\
         郑州市中原区人民法院,(2024)豫0102执1234号,有履行能力而拒不履行生效法律文书确定义务",
        &format!(
            "{RECORD_ID},court_defaulter,org,914101027110665834,\
             郑州市中原区恒达建材有限公司（法定代表人 {}）,\
             郑州市中原区人民法院（承办人{}）,{SPLIT},\
             法定代表人王建国（{}）（４１０１０２１９６８０４１２０２１１）有履行能力而拒不履行；\
             担保人身份证号 {}，还款卡号{}，执行期间 {DATES}",
            GROUPED[2].0, PEOPLE[1], PEOPLE[0], GROUPED[0].0, GROUPED[1].0
        ),
        1,
    );
    assert_ne!(
        edited, text,
        "the sample's court record changed; update this test"
    );
    std::fs::write(&court, edited).unwrap();
    src
}

/// Builds [`source`] in `dir` and serves it with [`keys`] and the subject key `secret`.
fn serve(dir: &std::path::Path, secret: &std::path::Path) -> Proc {
    let root = dir.join("index");
    build_source(&source(dir), &root, sample_today(), Some(0)).unwrap();
    let p = Proc::serve(
        &[
            "--index",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--keys",
            keys(dir).to_str().unwrap(),
            "--subject-key",
            secret.to_str().unwrap(),
        ],
        &[("CREDGATE_TODAY", "2026-11-28"), ("RUST_LOG", "debug")],
    );
    while request(p.addr, "GET", "/readyz", &[], b"").status != 200 {
        std::thread::yield_now();
    }
    p
}

#[test]
fn responses_and_logs_never_show_a_raw_number_without_personal_full() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("subject.key");
    let p = serve(dir.path(), &secret);
    let raw_typo = "410102196804120212";
    let mut full_saw_raw = 0;
    for req in requests() {
        let (method, path) = (req.method, &req.path);
        for token in ["tok-masked", "tok-full"] {
            let auth = format!("Bearer {token}");
            let mut h = vec![("Authorization", auth.as_str())];
            if !req.content_type.is_empty() {
                h.push(("Content-Type", req.content_type));
            }
            if !req.accept.is_empty() {
                h.push(("Accept", req.accept));
            }
            let r = request(p.addr, method, path, &h, &req.body);
            let text = r.text();
            assert_eq!(r.status, req.status, "{method} {path}: {text}");
            let raw_seen = PEOPLE
                .iter()
                .chain([&raw_typo, &"４１０１０２１９６８０４１２０２１１", &SPLIT])
                .chain(GROUPED.iter().map(|(raw, _)| raw))
                .chain([&"410108197301091757"])
                .any(|n| text.contains(n));
            // Error messages are masked for every key.
            if token == "tok-masked" || req.status != 200 {
                assert!(
                    !raw_seen,
                    "{method} {path} ({token}) shows a raw number: {text}"
                );
                assert!(text.contains("********"), "{method} {path}: {text}");
            } else if raw_seen {
                full_saw_raw += 1;
            }
        }
    }
    // The personal_full key does see numbers (else the test above proves nothing).
    assert!(full_saw_raw >= PEOPLE.len() * 3, "{full_saw_raw}");
    // A name search may not guess at what a masked number hides, digit by digit, unless the
    // key may see it anyway (six digits are shown by the mask itself).
    for (query, token, status) in [
        ("%E6%81%92%E8%BE%BE4101021", "tok-masked", 400),
        ("%E6%81%92%E8%BE%BE4101%2002-1", "tok-masked", 400),
        ("%E6%81%92%E8%BE%BE410102", "tok-masked", 200),
        ("%E6%81%92%E8%BE%BE4101021", "tok-full", 200),
        (PEOPLE[0], "tok-masked", 400),
        (PEOPLE[0], "tok-full", 200),
    ] {
        let auth = format!("Bearer {token}");
        let r = request(
            p.addr,
            "GET",
            &format!("/v1/search?name={query}"),
            &[("Authorization", auth.as_str())],
            b"",
        );
        assert_eq!(r.status, status, "{query} ({token}): {}", r.text());
        if token == "tok-masked" {
            assert!(!r.text().contains(PEOPLE[0]), "{}", r.text());
        }
    }
    let (_, log) = p.stop("TERM");
    for n in PEOPLE.iter().chain([&raw_typo]) {
        assert!(!log.contains(n), "the log shows {n}:\n{log}");
    }
    // Subjects are named by the HMAC under the secret file, and shown masked.
    let key = unhex::<32>(std::fs::read_to_string(&secret).unwrap().trim()).unwrap();
    let subject = Correlator::new(&key).subject(PEOPLE[0].as_bytes());
    assert!(log.contains(&subject), "{log}");
    assert!(log.contains("410102********0211"), "{log}");
}

/// A number written in groups inside the data's text (a reason, a name) and a person's number
/// in a record id are masked in a check, a profile and a search for a key without
/// `personal_full`, and shown whole to a key with it; a range of dates is shown as it is.
#[test]
fn numbers_in_groups_inside_text_and_record_ids_are_masked_without_personal_full() {
    let dir = tempfile::tempdir().unwrap();
    let p = serve(dir.path(), &dir.path().join("subject.key"));
    let masked_id = "JUD-410108********1757-0001";
    for path in [
        "/v1/check?id=914101027110665834&scenario=procurement".to_string(),
        "/v1/subjects/914101027110665834".to_string(),
        format!("/v1/search?name={}", percent("郑州市中原区恒达")),
    ] {
        let search = path.starts_with("/v1/search");
        for token in ["tok-masked", "tok-full"] {
            let auth = format!("Bearer {token}");
            let r = request(
                p.addr,
                "GET",
                &path,
                &[("Authorization", auth.as_str())],
                b"",
            );
            let text = r.text();
            assert_eq!(r.status, 200, "{path}: {text}");
            // A search shows names only: the organisation's, with GROUPED[2] in it.
            let shown = if search { &GROUPED[2..] } else { &GROUPED[..] };
            for (raw, masked) in shown {
                if token == "tok-masked" {
                    assert!(
                        text.contains(masked) && !text.contains(raw),
                        "{path} ({token}) shows {raw} unmasked: {text}"
                    );
                } else {
                    assert!(text.contains(raw), "{path} ({token}) lacks {raw}: {text}");
                }
            }
            if search {
                continue;
            }
            assert!(text.contains(DATES), "{path} ({token}): {text}");
            if token == "tok-masked" {
                assert!(
                    text.contains(masked_id) && !text.contains(RECORD_ID),
                    "{path} ({token}) shows the record id unmasked: {text}"
                );
            } else {
                assert!(text.contains(RECORD_ID), "{path} ({token}): {text}");
            }
        }
    }
}
