//! Signed receipts over real sockets: every check and batch carries one; `credgate receipt
//! verify` accepts them as sent (exit 0) and refuses them after any field is changed (exit 1).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use common::http::TestServer;
use common::{build_sample, sample_today};
use credgate::trust::receipt::{parse_public_key, verify_check, Signer, VerifyError};

fn server(dir: &Path) -> TestServer {
    build_sample(&dir.join("index"), sample_today());
    let signer = Signer::from_file(&dir.join("signing.key")).unwrap();
    TestServer::start_with(
        &dir.join("index"),
        sample_today(),
        |_| {},
        |st| st.signer = Some(signer),
    )
}

fn verify(public_key: &Path, input: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .args(["receipt", "verify", "--public-key"])
        .arg(public_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every way of changing `v` at one place: each leaf altered, each array shortened, each
/// object given an extra member; returned with the path changed.
fn alterations(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    let altered = |x: &Value| -> Value {
        match x {
            Value::String(s) => Value::String(format!("{s}x")),
            Value::Number(n) => Value::from(n.as_f64().unwrap_or(0.0) + 1.0),
            Value::Bool(b) => Value::Bool(!b),
            Value::Null => Value::String("x".into()),
            Value::Array(a) if a.is_empty() => Value::Array(vec![Value::Null]),
            Value::Array(a) => Value::Array(a[..a.len() - 1].to_vec()),
            Value::Object(m) => {
                let mut m = m.clone();
                m.insert("extra".into(), Value::Null);
                Value::Object(m)
            }
        }
    };
    out.push((path.clone(), altered(v)));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                alterations(x, format!("{path}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                alterations(x, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn set(root: &Value, path: &str, new: Value) -> Value {
    let mut v = root.clone();
    if path.is_empty() {
        return new;
    }
    *v.pointer_mut(path).unwrap() = new;
    v
}

#[test]
fn check_receipts_verify_and_break_on_any_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pk = s.get("/v1/receipts/public-key");
    assert_eq!(pk.status, 200);
    assert_eq!(pk.json()["algorithm"], "ed25519");
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, &pk.body).unwrap();
    let key = parse_public_key(&pk.text()).unwrap();

    let mut ids = Vec::new();
    for (path, body) in [
        ("/v1/check?id=914101027110665834&scenario=procurement", None),
        ("/v1/check?id=410102196804120211&scenario=transport", None),
        ("/v1/check?id=91110000600037341L&scenario=honors", None),
        (
            "/v1/check",
            Some(br#"{"id":"91410104MACKHWBA9J","scenario":"procurement"}"#.as_slice()),
        ),
    ] {
        let r = match body {
            None => s.get(path),
            Some(b) => s.post(path, "application/json", b),
        };
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let receipt = &v["receipt"];
        for f in ["id", "checked_at", "snapshot", "digest", "signature"] {
            assert!(receipt[f].is_string(), "{f}: {v}");
        }
        assert_eq!(receipt["snapshot"], v["snapshot"]);
        ids.push(receipt["id"].as_str().unwrap().to_string());
        // The body as sent verifies with the CLI.
        let (code, msg) = verify(&pk_file, &r.body);
        assert_eq!(code, 0, "{msg}");
        assert!(msg.starts_with("valid: receipt"), "{msg}");
        // Any change anywhere, in the decision or in the receipt, is caught.
        let mut alts = Vec::new();
        alterations(&v, String::new(), &mut alts);
        assert!(alts.len() > 15, "{}", alts.len());
        for (p, new) in &alts {
            let w = set(&v, p, new.clone());
            assert!(
                verify_check(&w, &key).is_err(),
                "changing {p} was not detected"
            );
        }
        // And the CLI says so with exit 1 (a few of them through the binary).
        for p in [
            "/decision",
            "/receipt/checked_at",
            "/snapshot",
            "/receipt/signature",
        ] {
            let (_, new) = alts.iter().find(|(q, _)| q == p).unwrap();
            let (code, msg) = verify(&pk_file, set(&v, p, new.clone()).to_string().as_bytes());
            assert_eq!(code, 1, "{p}: {msg}");
        }
        // Removing the receipt is not a valid answer either.
        let mut w = v.clone();
        w.as_object_mut().unwrap().remove("receipt");
        assert_eq!(verify_check(&w, &key), Err(VerifyError::NoReceipt));
        assert_eq!(verify(&pk_file, w.to_string().as_bytes()).0, 1);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "receipt ids are unique");

    // Another server's key does not verify this server's receipts.
    let other = Signer::new([9; 32]).unwrap();
    let other_pk = dir.path().join("other.json");
    std::fs::write(&other_pk, other.public_key_json().to_string()).unwrap();
    let r = s.get("/v1/check?id=914101027110665834&scenario=procurement");
    assert_eq!(verify(&other_pk, &r.body).0, 1);
}

#[test]
fn a_batch_has_one_receipt_over_all_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, s.get("/v1/receipts/public-key").body).unwrap();
    let csv =
        "id,note\n914101027110665834,a\n410102196804120211,b\nnonsense,c\n91110000600037341L,d\n";
    for accept in ["application/x-ndjson", "text/csv"] {
        let r = s.post_with(
            "/v1/screen?scenario=transport",
            &[("Content-Type", "text/csv"), ("Accept", accept)],
            csv.as_bytes(),
        );
        assert_eq!(r.status, 200);
        let text = r.text();
        let last = text.lines().last().unwrap();
        if accept == "text/csv" {
            assert!(last.starts_with("#receipt,"), "{text}");
        } else {
            let v: Value = serde_json::from_str(last).unwrap();
            assert_eq!(v["receipt"]["rows"], 4, "{text}");
        }
        let (code, msg) = verify(&pk_file, &r.body);
        assert_eq!(code, 0, "{msg}\n{text}");
        assert!(msg.contains("batch of 4 rows"), "{msg}");
        // A changed decision, a dropped row, or a changed row count is caught.
        let changed = text.replacen("deny", "clear", 1);
        assert_ne!(changed, text);
        assert_eq!(verify(&pk_file, changed.as_bytes()).0, 1);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(1);
        assert_eq!(verify(&pk_file, (lines.join("\n") + "\n").as_bytes()).0, 1);
        let recount = text.replace("\"rows\":4", "\"rows\":3");
        let recount = recount.replace("\"\"rows\"\":4", "\"\"rows\"\":3");
        assert_ne!(recount, text);
        assert_eq!(verify(&pk_file, recount.as_bytes()).0, 1);
    }
}

#[test]
fn without_a_signing_key_there_are_no_receipts() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |_| {});
    s.wait_ready(None);
    s.get("/v1/receipts/public-key").error(404, "receipts_off");
    let v = s
        .get("/v1/check?id=914101027110665834&scenario=procurement")
        .json();
    assert!(v.get("receipt").is_none());
    // The same key file gives the same key across restarts.
    let a = Signer::from_file(&dir.path().join("k")).unwrap();
    let b = Signer::from_file(&dir.path().join("k")).unwrap();
    assert_eq!(a.verifying_key(), b.verifying_key());
}

/// Every subject id of the sample sources (subjects and linked persons).
fn sample_ids() -> Vec<String> {
    let mut ids = std::collections::BTreeSet::new();
    let dir = common::repo().join("data/sample");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("lists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(dir.join("links.csv"));
    for f in files {
        let mut r = csv::Reader::from_path(&f).unwrap();
        let headers = r.headers().unwrap().clone();
        let cols: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| matches!(*h, "subject_id" | "org_id" | "person_id"))
            .map(|(i, _)| i)
            .collect();
        for row in r.records() {
            let row = row.unwrap();
            for &c in &cols {
                ids.insert(row[c].to_string());
            }
        }
    }
    ids.into_iter().collect()
}

/// The server writes the canonical bytes straight from the decision; they must be the
/// bytes of the definition (canonical JSON of the decision's serde value) for every
/// decision the sample can produce, masked and not.
#[test]
fn direct_canonical_encoding_equals_the_value_form_on_the_sample() {
    use credgate::engine::{Engine, Options};
    use credgate::trust::canonical::{canonical, write_decision};
    use credgate_index::ids::{self, Mode};
    use credgate_index::model::Scenario;

    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let engine = Engine::open(&dir.path().join("index")).unwrap();
    let ids = sample_ids();
    assert!(ids.len() > 10, "{ids:?}");
    let mut compared = 0;
    let mut with_records = 0;
    for id in &ids {
        let id = ids::parse(id, Mode::Lenient, sample_today()).unwrap();
        for scenario in Scenario::ALL {
            for full in [false, true] {
                let d = engine.check(
                    &id,
                    *scenario,
                    sample_today(),
                    sample_today(),
                    Options {
                        full_personal_ids: full,
                    },
                );
                let mut direct = Vec::new();
                write_decision(&d, &mut direct);
                let mut defined = Vec::new();
                canonical(&serde_json::to_value(&d).unwrap(), &mut defined);
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(defined).unwrap()
                );
                compared += 1;
                with_records += usize::from(!d.records.is_empty());
            }
        }
    }
    assert!(with_records > 20, "{with_records} of {compared}");
}

/// Many checks at once: receipts are signed in shared rounds, and every one of them
/// verifies on its own, through the library and (for a few) through the CLI.
#[test]
fn simultaneous_checks_all_carry_valid_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    let pk = s.get("/v1/receipts/public-key");
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, &pk.body).unwrap();
    let key = parse_public_key(&pk.text()).unwrap();
    let ids = sample_ids();
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let (s, ids) = (&s, &ids);
                scope.spawn(move || {
                    (0..20)
                        .map(|k| {
                            let id = &ids[(t * 20 + k) % ids.len()];
                            let r =
                                s.get(&format!("/v1/check?id={id}&scenario=procurement&lenient=1"));
                            assert_eq!(r.status, 200, "{}", r.text());
                            r.body.to_vec()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(bodies.len(), 320);
    let mut receipt_ids = std::collections::BTreeSet::new();
    let mut largest_round = 0;
    for b in &bodies {
        let v: Value = serde_json::from_slice(b).unwrap();
        let r = verify_check(&v, &key).unwrap();
        assert_eq!(r.version, Some(2));
        assert!(r.leaf_index.unwrap() < r.leaves.unwrap());
        largest_round = largest_round.max(r.leaves.unwrap());
        assert!(receipt_ids.insert(r.id));
    }
    // How many checks shared a signature depends on scheduling; shown, not asserted.
    eprintln!("largest round: {largest_round} receipts");
    for b in bodies.iter().step_by(80) {
        let (code, msg) = verify(&pk_file, b);
        assert_eq!(code, 0, "{msg}");
    }
}

/// A counter of `/metrics`, read over `conn`.
fn counter(conn: &mut common::http::Conn, name: &str) -> u64 {
    common::http::metric_value(&conn.get("/metrics").text(), name)
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// One client sending checks one after another does not wait for the round interval: its
/// connection is the only one open, so when its check waits nothing else can join the
/// round, which starts at once. With a second connection open, even idle, the round waits
/// for its due time.
#[test]
fn a_round_starts_at_once_when_every_open_connection_waits() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    // Rounds at least 3 s apart: the checks below come far sooner than that.
    let signer = Signer::with_round_interval([5; 32], std::time::Duration::from_secs(3)).unwrap();
    let key = signer.verifying_key();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| st.signer = Some(signer),
    );
    let ids = sample_ids();
    let check = |c: &mut common::http::Conn, id: &str| {
        let r = c.get(&format!("/v1/check?id={id}&scenario=procurement&lenient=1"));
        assert_eq!(r.status, 200, "{}", r.text());
        verify_check(&r.json(), &key).unwrap()
    };
    let mut a = s.conn();
    for id in &ids[..4] {
        // Each check is a round of its own: the first was due (no round before it), the
        // other three started early.
        assert_eq!(check(&mut a, id).leaves, Some(1));
    }
    assert_eq!(counter(&mut a, "credgate_receipt_rounds_total"), 4);
    assert_eq!(counter(&mut a, "credgate_receipt_rounds_drained_total"), 3);
    // A second connection, answered once so the server surely holds it, then idle.
    let mut b = s.conn();
    assert_eq!(b.get("/healthz").status, 200);
    check(&mut a, &ids[4]);
    assert_eq!(counter(&mut a, "credgate_receipt_rounds_total"), 5);
    assert_eq!(counter(&mut a, "credgate_receipt_rounds_drained_total"), 3);
}

/// The audit line of a signed check names its receipt and time; and since a receipt signs
/// the answer as sent, a masked number, the line's subject HMAC is what ties the receipt to
/// the one full number that was checked.
#[test]
fn the_audit_line_of_a_signed_check_names_its_receipt_at_its_time() {
    use credgate::trust::audit::{Audit, Durability, Limits};
    use credgate::trust::privacy::Correlator;
    let dir = tempfile::tempdir().unwrap();
    build_sample(&dir.path().join("index"), sample_today());
    let signer = Signer::new([5; 32]).unwrap();
    let public_key = signer.verifying_key();
    let subject_secret = [7; 32];
    let audit_dir = dir.path().join("audit");
    let audit = Audit::open_dir(&audit_dir, Durability::Sync, Limits::default()).unwrap();
    let s = TestServer::start_with(
        &dir.path().join("index"),
        sample_today(),
        |_| {},
        |st| {
            st.signer = Some(signer);
            st.audit = Some(audit);
            st.correlator = Correlator::new(&subject_secret);
        },
    );
    s.wait_ready(None);
    let ids = ["914101027110665834", "410102196804120211"];
    let mut receipts = Vec::new();
    for id in ids {
        let r = s.get(&format!("/v1/check?id={id}&scenario=procurement"));
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        verify_check(&v, &public_key).unwrap();
        receipts.push((v["id"].clone(), v["receipt"].clone()));
    }
    // The person's number is signed masked, as it was sent.
    assert_eq!(receipts[1].0, "410102********0211");
    // Sync durability: the lines are on disk once the answers are in.
    let mut lines = Vec::new();
    for e in std::fs::read_dir(&audit_dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    assert_eq!(lines.len(), 2);
    let correlator = Correlator::new(&subject_secret);
    for ((line, (_, receipt)), id) in lines.iter().zip(&receipts).zip(ids) {
        assert_eq!(line["receipt"], receipt["id"], "{line}");
        assert_eq!(line["time"], receipt["checked_at"], "{line}");
        let subject = line["subject"].as_str().unwrap();
        assert_eq!(subject, correlator.subject(id.as_bytes()), "{line}");
    }
    assert_eq!(lines[1]["id"], "410102********0211");
    // Another number behind the same mask has another HMAC: the line names one number.
    assert_ne!(
        lines[1]["subject"].as_str().unwrap(),
        correlator.subject(b"410102197001010211")
    );
}

/// A subject key open to other users draws a warning; a signing key open to them is
/// refused, since whoever reads it can sign receipts in this server's name.
#[cfg(unix)]
#[test]
fn secret_files_open_to_other_users_are_named_in_a_warning_or_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    build_sample(&root, sample_today());
    let (signing, subject) = (
        dir.path().join("signing.key"),
        dir.path().join("subject.key"),
    );
    for f in [&signing, &subject] {
        std::fs::write(f, format!("{}\n", "ab".repeat(32))).unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let args = |signing: &Path, subject: &Path| {
        [
            "--index".to_string(),
            root.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--signing-key".into(),
            signing.display().to_string(),
            "--subject-key".into(),
            subject.display().to_string(),
        ]
    };
    let a = args(&signing, &subject);
    let mut child = Command::new(env!("CARGO_BIN_EXE_credgate"))
        .arg("serve")
        .args(&a)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log to its end, or to the line that says the server started anyway.
    let mut err = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap())) {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("credgate listening") {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with a signing key open to others:\n{err}");
        }
    }
    assert!(!child.wait().unwrap().success(), "{err}");
    assert!(
        err.contains(&format!("chmod 600 {}", signing.display())) && err.contains("mode 644"),
        "{err}"
    );
    // A private signing key: the server starts, and warns about the subject key only.
    std::fs::set_permissions(&signing, std::fs::Permissions::from_mode(0o600)).unwrap();
    let p = common::proc::Proc::serve(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let log = p.log();
    p.stop("TERM");
    let warned = |f: &Path| {
        log.lines()
            .any(|l| l.contains("chmod 600") && l.contains(&f.display().to_string()))
    };
    assert!(warned(&subject), "{log}");
    assert!(!warned(&signing), "{log}");
    // Files the server creates itself are its owner's only, and draw no warning.
    let (signing, subject) = (
        dir.path().join("new-signing.key"),
        dir.path().join("new-subject.key"),
    );
    let a = args(&signing, &subject);
    let p = common::proc::Proc::serve(&a.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let log = p.log();
    p.stop("TERM");
    assert!(!log.contains("chmod 600"), "{log}");
    for f in [&signing, &subject] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
}

/// A member named twice has two readings: serde_json (and the verifier before this test)
/// keeps the last, so `{"decision":"clear",…,"decision":"deny"}` verified as the signed
/// `deny` while a reader taking the first sees `clear`. Such a document is refused.
#[test]
fn a_response_naming_a_member_twice_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, s.get("/v1/receipts/public-key").body).unwrap();
    let r = s.get("/v1/check?id=914101027110665834&scenario=procurement");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("\"decision\":\"deny\""), "{text}");
    assert_eq!(verify(&pk_file, text.as_bytes()).0, 0);
    let altered = [
        // A second decision ahead of the signed one.
        text.replacen('{', "{\"decision\":\"clear\",", 1),
        // A second receipt id ahead of the signed one.
        text.replacen("\"receipt\":{", "\"receipt\":{\"id\":\"forged\",", 1),
        // A nested record's reason, named twice.
        text.replacen("\"reason\":", "\"reason\":\"none\",\"reason\":", 1),
    ];
    for (i, w) in altered.iter().enumerate() {
        assert_ne!(w, &text, "alteration {i} changed nothing");
        let (code, msg) = verify(&pk_file, w.as_bytes());
        assert_eq!(code, 1, "alteration {i} verified: {msg}");
        assert!(msg.contains("twice"), "{msg}");
    }
    // The same in a batch's receipt line: two ids, one signed.
    let b = s.post(
        "/v1/screen?scenario=procurement",
        "text/csv",
        b"914101027110665834\n",
    );
    assert_eq!(b.status, 200);
    let batch = b.text();
    assert_eq!(verify(&pk_file, batch.as_bytes()).0, 0);
    let w = batch.replacen("{\"receipt\":{", "{\"receipt\":{\"id\":\"forged\",", 1);
    assert_ne!(w, batch);
    let (code, msg) = verify(&pk_file, w.as_bytes());
    assert_eq!(code, 1, "{msg}");
}

/// A batch's receipt line is `{"receipt":{…}}` and nothing else: the signature covers the
/// receipt, not the line around it, so a member added beside the receipt (a claimed
/// scenario, say) would be shown with a valid receipt although nobody signed it. The
/// verifier refuses such a line, in NDJSON and in CSV.
#[test]
fn a_batch_receipt_line_with_another_member_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, s.get("/v1/receipts/public-key").body).unwrap();
    for (accept, added, quoted) in [
        (
            "application/x-ndjson",
            ",\"scenario\":\"procurement\"}\n",
            "}\n",
        ),
        (
            "text/csv",
            ",\"\"scenario\"\":\"\"procurement\"\"}\"\n",
            "}\"\n",
        ),
    ] {
        let r = s.post_with(
            "/v1/screen?scenario=public_services",
            &[("Content-Type", "text/csv"), ("Accept", accept)],
            b"914101027110665834\n",
        );
        assert_eq!(r.status, 200);
        let text = r.text();
        assert_eq!(verify(&pk_file, text.as_bytes()).0, 0, "{text}");
        // The receipt line ends with the receipt's brace, then the line's (and the CSV quote).
        let cut = text.len() - quoted.len();
        assert_eq!(&text[cut..], quoted, "{text}");
        let altered = format!("{}{added}", &text[..cut]);
        let (code, msg) = verify(&pk_file, altered.as_bytes());
        assert_eq!(
            code, 1,
            "{accept}: an added member verified: {msg}\n{altered}"
        );
        assert!(msg.contains("only"), "{msg}");
        // A batch without its receipt line is still told it has none.
        let rows = &text[..text[..text.len() - 1].rfind('\n').unwrap() + 1];
        let (code, msg) = verify(&pk_file, rows.as_bytes());
        assert_eq!(code, 1, "{msg}");
        assert!(msg.contains("no receipt found"), "{accept}: {msg}\n{rows}");
    }
}

/// A batch's rows do not say what they were screened for: a court defaulter's row reads
/// `clear` in `public_services`, or as of a day before its listing. So a batch receipt
/// names the scenario and `as_of` of the batch and signs them: a signed `clear` cannot be
/// passed off as the answer to another question, and `receipt verify` says which question
/// it answers.
#[test]
fn a_batch_receipt_signs_the_scenario_and_as_of_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    s.wait_ready(None);
    let pk_file = dir.path().join("pk.json");
    std::fs::write(&pk_file, s.get("/v1/receipts/public-key").body).unwrap();
    // The court defaulter of the sample, listed 2024-03-15: `clear` in both batches.
    for (query, scenario, as_of) in [
        ("scenario=public_services", "public_services", "2026-11-28"),
        (
            "scenario=procurement&as_of=2024-03-14",
            "procurement",
            "2024-03-14",
        ),
    ] {
        let r = s.post(
            &format!("/v1/screen?{query}"),
            "text/csv",
            b"914101027110665834\n",
        );
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(text.contains("\"decision\":\"clear\""), "{text}");
        let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(line["receipt"]["scenario"], scenario, "{text}");
        assert_eq!(line["receipt"]["as_of"], as_of, "{text}");
        let (code, msg) = verify(&pk_file, text.as_bytes());
        assert_eq!(code, 0, "{msg}");
        assert!(
            msg.contains(&format!("scenario {scenario} as of {as_of}")),
            "{msg}"
        );
        // Another question, or none, does not verify.
        let rows = &text[..text.rfind("{\"receipt\"").unwrap()];
        for (what, receipt) in [
            (
                "scenario",
                set(&line, "/receipt/scenario", "licensing".into()),
            ),
            ("as_of", set(&line, "/receipt/as_of", "2026-11-28".into())),
            ("both dropped", {
                let mut l = line.clone();
                let r = l["receipt"].as_object_mut().unwrap();
                r.remove("scenario");
                r.remove("as_of");
                l
            }),
        ] {
            if receipt == line {
                continue;
            }
            let altered = format!("{rows}{receipt}\n");
            let (code, msg) = verify(&pk_file, altered.as_bytes());
            assert_eq!(code, 1, "{what} altered and verified: {msg}");
        }
    }
}
