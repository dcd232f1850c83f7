//! Measures what a receipt costs on one decision, next to plain serialisation (what a check
//! costs without receipts):
//!
//! - version 1 (one Ed25519 signature per check, canonical form through a
//!   `serde_json::Value`), as checks were signed before;
//! - version 2 as the server does it now: the canonical bytes written straight from the
//!   decision, SHA-256, the Merkle leaf, and a share of one signature per round, for rounds
//!   of 1, 8 and 64 checks.
//!
//! `cargo run --release --example receipt_cost -- [ITERATIONS]`.

use std::time::Instant;

use credgate::engine::decision::{ActiveRecord, AppliedMeasure, Basis, Because, Decision};
use credgate::engine::Outcome;
use credgate::trust::canonical::{canonical, write_decision};
use credgate::trust::receipt::{sha256_hex, Signer};
use credgate_index::date::Day;
use credgate_index::model::{Binding, Class, Effect, Kind, Scenario};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    // A decision shaped like a deny with two measures and one record.
    let national = vec!["发改财金〔2016〕141号".to_string()];
    let measure = |id, name, binding, effect| AppliedMeasure {
        id,
        name,
        kind: Kind::Punish,
        binding,
        effect,
        basis: Basis {
            seed: "s1",
            national: &national,
        },
        because: vec![Because::Record {
            record_id: "court-000123".into(),
            via: None,
        }],
    };
    let decision = Decision {
        id: credgate::engine::DisplayId::new(b"914101027110665834", false, true),
        id_type: "uscc",
        scenario: Scenario::Procurement,
        as_of: Day::parse("2026-11-28").unwrap(),
        decision: Outcome::Deny,
        heightened: false,
        nonconforming: false,
        name: Some("河南恒达建设工程有限公司".into()),
        measures: vec![
            measure(
                "procurement.black.restrict",
                "限制参加政府采购活动",
                Binding::Mandatory,
                Effect::Deny,
            ),
            measure(
                "procurement.focus.review",
                "重点审查",
                Binding::Recommended,
                Effect::Review,
            ),
        ],
        records: vec![ActiveRecord {
            record_id: "court-000123".into(),
            list_code: "court_defaulter",
            list_name: "失信被执行人",
            class: Class::Black,
            domain: "court",
            authority: "郑州市中级人民法院".into(),
            doc_no: "(2024)豫01执123号".into(),
            reason: "有履行能力而拒不履行".into(),
            decided_on: Day::parse("2024-03-01").unwrap(),
            effective_from: Day::parse("2024-03-01").unwrap(),
            effective_until: None,
            under_objection: false,
            via: None,
        }],
        snapshot: "20261128T000000Z-abcdef",
    };
    let signer = Signer::new([5; 32]).unwrap();
    let time = |label: &str, per: u32, f: &mut dyn FnMut() -> usize| {
        let mut sink = 0usize;
        for _ in 0..(n / per / 10).max(1) {
            sink = sink.wrapping_add(f());
        }
        let rounds = (n / per).max(1);
        let t = Instant::now();
        for _ in 0..rounds {
            sink = sink.wrapping_add(f());
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / (rounds * per) as f64;
        println!("{label:<44} {us:8.2} µs/check  ({sink})");
    };
    time("serde_json::to_vec (no receipt)", 1, &mut || {
        serde_json::to_vec(&decision).unwrap().len()
    });
    time("v1 canonical via serde_json::Value", 1, &mut || {
        let v = serde_json::to_value(&decision).unwrap();
        let mut b = Vec::new();
        canonical(&v, &mut b);
        b.len()
    });
    time("v2 canonical written directly", 1, &mut || {
        let mut b = Vec::with_capacity(2048);
        write_decision(&decision, &mut b);
        b.len()
    });
    time("v2 canonical + sha256", 1, &mut || {
        let mut b = Vec::with_capacity(2048);
        write_decision(&decision, &mut b);
        sha256_hex(&b).len()
    });
    time(
        "v1 sign_check (Value + canonical + ed25519)",
        1,
        &mut || {
            let v = serde_json::to_value(&decision).unwrap();
            signer.sign_check(&v, "s").0.len()
        },
    );
    for per in [1u32, 8, 64] {
        let batch: Vec<Decision> = (0..per).map(|_| decision.clone()).collect();
        time(
            &format!("v2 round of {per} (all of it, per check)"),
            per,
            &mut || {
                signer
                    .sign_decisions_together(&batch)
                    .iter()
                    .map(|(b, _)| b.len())
                    .sum()
            },
        );
    }
}
