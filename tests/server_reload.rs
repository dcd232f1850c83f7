//! Hot reload: a new generation is picked up (admin endpoint and the CURRENT poller), a
//! corrupted one is refused while the old one keeps serving, and reloads under concurrent
//! load fail no request.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::http::TestServer;
use common::{build_sample, copy_dir, repo, sample_today};
use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::publish;
use credgate_index::source::Encoding;

/// An org that is clear in procurement in the sample, and denied once a court record is added.
const CHANGED: &str = "91410100MA2MAYK72W";

/// Builds the sample plus one court record for `CHANGED` into `root`; returns the generation.
fn build_changed(root: &Path) -> PathBuf {
    let src = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("data/sample"), src.path());
    let court = src.path().join("lists/court.csv");
    let mut text = std::fs::read_to_string(&court).unwrap();
    text.push_str("JUD-2026-9001,court_defaulter,org,91410100MA2MAYK72W,测试公司,郑州市中级人民法院,(2026)豫01执9001号,有履行能力而拒不履行,2026-01-05,2026-01-05,,\n");
    std::fs::write(&court, text).unwrap();
    build(&BuildOptions {
        source: src.path().to_path_buf(),
        out: root.to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: Some(0),
        history_from: None,
        today: sample_today(),
        keep: 10,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap()
    .generation
}

fn decision(s: &TestServer, id: &str) -> String {
    let r = s.get(&format!("/v1/check?id={id}&scenario=procurement"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["decision"].as_str().unwrap().to_string()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// `credgate_reloads_total{result="failed"}` as the server's metrics say now.
fn failed_reloads(s: &TestServer) -> u64 {
    s.get("/metrics")
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("credgate_reloads_total{result=\"failed\"} "))
        .map(|v| v.parse::<u64>().unwrap())
        .unwrap()
}

/// Polls the metrics (30 s at most) until a reload has failed since the count was `before`.
fn wait_for_failed_reload(s: &TestServer, before: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while failed_reloads(s) == before && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
}

#[test]
fn admin_reload_picks_up_a_new_generation_and_refuses_a_corrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    build_sample(dir.path(), sample_today());
    let s = TestServer::start(dir.path(), sample_today(), |_| {});
    let a = s.wait_ready(None);
    assert_eq!(decision(&s, CHANGED), "clear");
    assert_eq!(
        s.post("/v1/admin/reload", "application/json", b"").json()["status"],
        "unchanged"
    );

    let gen_b = build_changed(dir.path());
    let v = s.post("/v1/admin/reload", "application/json", b"").json();
    assert_eq!(v["status"], "loaded", "{v}");
    assert_eq!(v["previous"], a);
    let b = v["snapshot"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    assert_eq!(decision(&s, CHANGED), "deny");
    assert_eq!(s.get("/v1/snapshot").json()["generation"], name(&gen_b));

    // A copy of B with one byte flipped in its biggest data file (named, as the builder
    // would, for the snapshot its manifest states).
    let bad_name = format!("gen-999999-{b}");
    let bad = dir.path().join(&bad_name);
    copy_dir(&gen_b, &bad);
    let biggest = std::fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("MANIFEST"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&biggest).unwrap();
    let mid = bytes.len() / 2 + 7;
    bytes[mid] ^= 0x5a;
    std::fs::write(&biggest, bytes).unwrap();
    publish::set_current(dir.path(), &bad_name).unwrap();

    s.post("/v1/admin/reload", "application/json", b"")
        .error(409, "reload_refused");
    assert_eq!(s.wait_ready(None), b);
    assert_eq!(decision(&s, CHANGED), "deny");
    let m = s.get("/metrics").text();
    assert!(
        m.contains("credgate_reloads_total{result=\"failed\"} 1"),
        "{m}"
    );
    assert!(m.contains(&format!("credgate_snapshot_info{{snapshot=\"{b}\"")));

    // Pointing CURRENT back at a good generation recovers.
    publish::set_current(dir.path(), &name(&gen_b)).unwrap();
    assert_eq!(
        s.post("/v1/admin/reload", "application/json", b"").json()["status"],
        "unchanged"
    );
}

#[test]
fn the_poller_notices_a_new_current() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), sample_today(), |c| c.poll_interval_ms = 10);
    s.get("/readyz").error(503, "not_ready");
    build_sample(dir.path(), sample_today());
    let a = s.wait_ready(None);
    build_changed(dir.path());
    let b = s.wait_ready(Some(&a));
    assert_ne!(a, b);
    assert_eq!(decision(&s, CHANGED), "deny");

    // CURRENT broken after a snapshot was served: the poller counts one failed reload (not
    // one a poll), and the snapshot keeps serving.
    // (The start, before the first build, counted one.)
    let before = failed_reloads(&s);
    // Written aside and renamed, as a publisher does, so no poll reads it half-written.
    std::fs::write(dir.path().join("CURRENT.new"), "gen-000404-missing\n").unwrap();
    std::fs::rename(dir.path().join("CURRENT.new"), dir.path().join("CURRENT")).unwrap();
    wait_for_failed_reload(&s, before);
    // Many more polls pass (10 ms apart) while the same fault stays: still one.
    let until = std::time::Instant::now() + std::time::Duration::from_millis(200);
    while std::time::Instant::now() < until {
        assert_eq!(decision(&s, CHANGED), "deny");
    }
    assert_eq!(failed_reloads(&s), before + 1);
}

#[test]
fn reloads_under_load_fail_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let gen_a = build_sample(dir.path(), sample_today()).generation;
    let s = TestServer::start(dir.path(), sample_today(), |_| {});
    let gen_b = build_changed(dir.path());
    let addr = s.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = common::http::Conn::open(addr);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 50 {
                    let (id, allowed): (&str, &[&str]) = if (n + t).is_multiple_of(2) {
                        ("914101027110665834", &["deny"])
                    } else {
                        (CHANGED, &["clear", "deny"])
                    };
                    let r = conn.get(&format!("/v1/check?id={id}&scenario=procurement"));
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    let d = r.json()["decision"].as_str().unwrap().to_string();
                    assert!(allowed.contains(&d.as_str()), "{id}: {d}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut snapshots = std::collections::BTreeSet::new();
    for i in 0..20 {
        let g = if i % 2 == 0 { &gen_b } else { &gen_a };
        publish::set_current(dir.path(), &name(g)).unwrap();
        let v = s.post("/v1/admin/reload", "application/json", b"").json();
        assert_eq!(v["status"], "loaded", "{v}");
        snapshots.insert(v["snapshot"].as_str().unwrap().to_string());
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = clients
        .into_iter()
        .map(|c| c.join().expect("a client saw a failed request"))
        .sum();
    assert!(total >= 200);
    assert_eq!(snapshots.len(), 2);
    let m = s.get("/metrics").text();
    assert!(
        m.contains("credgate_reloads_total{result=\"ok\"} 21"),
        "{m}"
    );
    assert!(!m.contains("status=\"500\""));
}

#[test]
fn the_poller_refuses_a_corrupted_generation_once_and_takes_the_next_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let gen_a = build_sample(dir.path(), sample_today()).generation;
    let s = TestServer::start(dir.path(), sample_today(), |c| c.poll_interval_ms = 10);
    let a = s.wait_ready(None);
    let before = failed_reloads(&s);

    // A copy of A, named for the snapshot it holds, with a byte flipped in its records.
    let bad_name = format!("gen-000900-{a}");
    let bad = dir.path().join(&bad_name);
    copy_dir(&gen_a, &bad);
    let records = bad.join("records.tbl");
    let mut bytes = std::fs::read(&records).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&records, bytes).unwrap();
    publish::set_current(dir.path(), &bad_name).unwrap();
    wait_for_failed_reload(&s, before);
    // Many polls later: refused once, not once a poll, and A still serving.
    let until = std::time::Instant::now() + std::time::Duration::from_millis(200);
    while std::time::Instant::now() < until {
        assert_eq!(decision(&s, CHANGED), "clear");
    }
    assert_eq!(failed_reloads(&s), before + 1);
    assert_eq!(s.wait_ready(None), a);

    // The next build publishes after it; the poller takes it without being asked.
    let gen_b = build_changed(dir.path());
    let b = s.wait_ready(Some(&a));
    assert_eq!(s.get("/v1/snapshot").json()["generation"], name(&gen_b));
    assert_ne!(a, b);
    assert_eq!(decision(&s, CHANGED), "deny");
    assert_eq!(failed_reloads(&s), before + 1);
}
