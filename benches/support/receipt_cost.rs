//! Measures what a receipt costs on one decision: converting the decision to a JSON value,
//! encoding it canonically, hashing, and signing, next to plain serialisation (what a check
//! costs without receipts). `cargo run --release --example receipt_cost -- [ITERATIONS]`.

use std::time::Instant;

use credgate::trust::receipt::{canonical, sha256_hex, Signer};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    // A decision shaped like a deny with two measures and one record.
    let decision = serde_json::json!({
        "id": "914101027110665834", "id_type": "uscc", "scenario": "procurement",
        "as_of": "2026-11-28", "decision": "deny", "heightened": false, "nonconforming": false,
        "name": "河南恒达建设工程有限公司",
        "measures": [
            {"id": "procurement.black.restrict", "name": "限制参加政府采购活动", "kind": "punish",
             "binding": "mandatory", "effect": "deny", "basis": {"seed": "s1", "national": ["发改财金〔2016〕141号"]},
             "because": [{"record_id": "court-000123"}]},
            {"id": "procurement.focus.review", "name": "重点审查", "kind": "punish",
             "binding": "recommended", "effect": "review", "basis": {"seed": "s2", "national": []},
             "because": [{"record_id": "court-000123"}]}
        ],
        "records": [{"record_id": "court-000123", "list_code": "court_defaulter", "list_name": "失信被执行人",
            "class": "black", "domain": "court", "authority": "郑州市中级人民法院", "doc_no": "(2024)豫01执123号",
            "reason": "有履行能力而拒不履行", "decided_on": "2024-03-01", "effective_from": "2024-03-01",
            "effective_until": null, "under_objection": false}],
        "snapshot": "20261128T000000Z-abcdef"
    });
    let signer = Signer::new([5; 32]).unwrap();
    let time = |label: &str, f: &mut dyn FnMut() -> usize| {
        let mut sink = 0usize;
        for _ in 0..n / 10 {
            sink = sink.wrapping_add(f());
        }
        let t = Instant::now();
        for _ in 0..n {
            sink = sink.wrapping_add(f());
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{label:<38} {us:8.2} µs/op  ({sink})");
    };
    time("serde_json::to_vec (no receipt)", &mut || {
        serde_json::to_vec(&decision).unwrap().len()
    });
    time("canonical encoding", &mut || {
        let mut b = Vec::new();
        canonical(&decision, &mut b);
        b.len()
    });
    time("canonical + sha256", &mut || {
        let mut b = Vec::new();
        canonical(&decision, &mut b);
        sha256_hex(&b).len()
    });
    time("issue (ed25519 sign + id + time)", &mut || {
        signer.issue("s", "d".repeat(64), None).signature.len()
    });
    time("sign_check (all of the above)", &mut || {
        signer.sign_check(&decision, "s").0.len()
    });
}
