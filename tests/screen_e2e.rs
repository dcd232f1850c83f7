//! `credgate screen --server` against the real `/v1/screen` of a real server: the same
//! output as screening offline against the same snapshot.

mod common;

use std::process::Command;

use common::http::TestServer;
use common::{build_sample, sample_today};

#[test]
fn screening_through_the_server_matches_screening_offline() {
    let root = tempfile::tempdir().unwrap();
    build_sample(root.path(), sample_today());
    let server = TestServer::start(root.path(), sample_today(), |_| {});
    server.wait_ready(None);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("suppliers.csv");
    let mut text = String::from("序号,统一社会信用代码,备注\n");
    let ids = [
        "914101027110665834",
        "410102196804120211",
        "91410105MA3LWF6F8Q",
        "914101844590813695",
        "91410184MAUN17PB6X",
        "９１４１ ０１００ ＭＡ２ＭＡＹＫ７２Ｗ",
    ];
    for i in 0..600 {
        text.push_str(&format!("{i},{},第{i}行\n", ids[i % ids.len()]));
    }
    std::fs::write(&input, text).unwrap();

    let run = |target: &[&str], out: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_credgate"))
            .arg("screen")
            .arg(&input)
            .args(target)
            .args([
                "--scenario",
                "procurement",
                "--as-of",
                "2026-11-28",
                "--chunk-rows",
                "128",
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap();
        // Some rows are denied and one is invalid: exit 1 by the documented scheme.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(out).unwrap()
    };
    let url = format!("http://{}", server.addr);
    let remote = run(&["--server", &url], &dir.path().join("remote.csv"));
    let local = run(
        &["--index", root.path().to_str().unwrap()],
        &dir.path().join("local.csv"),
    );
    assert_eq!(remote.lines().count(), 601);
    assert_eq!(remote, local);
    assert!(remote.lines().nth(1).unwrap().contains("deny"), "{remote}");
    server.stop();
}
