//! `ids.idx` (format version 2) against `ids.fst` and a model: every identifier is found with
//! its ordinal, identifiers not in the set are absent, and the index agrees with the FST —
//! for random key sets written directly and for a snapshot built from synthetic sources.

use std::collections::BTreeSet;

use proptest::prelude::*;

use credgate_index::build::{build, BuildOptions};
use credgate_index::catalog::Catalog;
use credgate_index::date::Day;
use credgate_index::format::idix::{self, IdIndex, KEY_LEN};
use credgate_index::format::reader::Snapshot;
use credgate_index::format::{check_header, verify_payload, FileKind};
use credgate_index::ids::gen::{sample_ric, sample_uscc};
use credgate_index::source::Encoding;
use credgate_index::synth::{generate, SynthOptions};

/// Identifier-shaped keys: 18 characters of the USCC alphabet (plus a few digit-only ones so
/// that RIC-like keys mix in).
fn key() -> impl Strategy<Value = [u8; KEY_LEN]> {
    prop::array::uniform18(prop::sample::select(
        b"0123456789ABCDEFGHJKLMNPQRTUWXY".to_vec(),
    ))
}

/// Writes an index for `keys` (ordinal = rank, as the builder assigns them) and checks it as
/// `Snapshot::open` and `verify` would.
fn written(keys: &[[u8; KEY_LEN]]) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let entry = idix::write(
        dir.path(),
        keys.iter().enumerate().map(|(o, k)| (*k, o as u32)),
    )
    .unwrap();
    let path = dir.path().join(FileKind::IdIndex.file_name());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(entry.bytes, bytes.len() as u64);
    check_header(&path, FileKind::IdIndex, &bytes).unwrap();
    verify_payload(&path, &bytes).unwrap();
    (dir, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_key_is_found_with_its_ordinal_and_others_are_absent(
        keys in prop::collection::btree_set(key(), 0..600),
        others in prop::collection::vec(key(), 0..200),
    ) {
        let keys: Vec<[u8; KEY_LEN]> = keys.into_iter().collect();
        let (_dir, bytes) = written(&keys);
        let ix = IdIndex::new(&bytes[32..], keys.len() as u32).unwrap();
        let id_of = |o: u32| keys.get(o as usize).map(|k| &k[..]);
        ix.verify(id_of).unwrap();
        let fst = fst::Map::from_iter(keys.iter().enumerate().map(|(o, k)| (k, o as u64))).unwrap();
        for (o, k) in keys.iter().enumerate() {
            prop_assert_eq!(ix.get(k, id_of), Some(o as u32));
            prop_assert_eq!(fst.get(k), Some(o as u64));
        }
        let set: BTreeSet<_> = keys.iter().collect();
        for k in &others {
            let want = if set.contains(k) { fst.get(k).map(|v| v as u32) } else { None };
            prop_assert_eq!(ix.get(k, id_of), want);
        }
        // At most 0.8 of the home slots are used.
        let homes = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as f64;
        prop_assert!(keys.len() as f64 <= 0.8 * homes);
    }

    /// Many keys sharing a hash prefix pile up in one run of slots; lookups still find each
    /// and stop at the end of the run for the others.
    #[test]
    fn a_dense_key_set_keeps_every_key_reachable(n in 1usize..3000, seed in any::<u64>()) {
        let mut keys: Vec<[u8; KEY_LEN]> = (0..n as u64)
            .map(|i| {
                let mut k = *b"910000000000000000";
                let v = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
                for (j, b) in k[2..].iter_mut().enumerate() {
                    *b = b'0' + ((v >> (j * 4)) % 10) as u8;
                }
                k
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let (_dir, bytes) = written(&keys);
        let ix = IdIndex::new(&bytes[32..], keys.len() as u32).unwrap();
        let id_of = |o: u32| keys.get(o as usize).map(|k| &k[..]);
        ix.verify(id_of).unwrap();
        for (o, k) in keys.iter().enumerate() {
            prop_assert_eq!(ix.get(k, id_of), Some(o as u32));
        }
        prop_assert_eq!(ix.get(b"YYYYYYYYYYYYYYYYYY", id_of), None);
    }
}

#[test]
fn an_empty_index_finds_nothing() {
    let (_dir, bytes) = written(&[]);
    let ix = IdIndex::new(&bytes[32..], 0).unwrap();
    ix.verify(|_| None).unwrap();
    assert_eq!(ix.get(b"91110000600037341L", |_| None), None);
}

#[test]
fn a_built_snapshot_answers_from_the_index_as_from_the_fst() {
    let src = tempfile::tempdir().unwrap();
    generate(
        src.path(),
        &SynthOptions {
            records: 3000,
            seed: 11,
        },
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    build(&BuildOptions {
        source: src.path().to_path_buf(),
        out: root.path().to_path_buf(),
        catalog: Catalog::builtin(),
        max_rejects: None,
        history_from: None,
        today: Day::parse("2026-11-28").unwrap(),
        keep: 1,
        encoding: Encoding::Auto,
        file_encodings: Default::default(),
    })
    .unwrap();
    let snap = Snapshot::open(root.path()).unwrap();
    snap.verify().unwrap();
    assert!(snap.has_id_index());
    assert!(snap.strings_verified());
    assert!(snap.subject_count() > 1000);
    for ord in 0..snap.subject_count() {
        let id = snap.subject_id(ord).as_bytes().to_vec();
        assert_eq!(snap.lookup(&id), Some(ord));
        assert_eq!(snap.lookup_fst(&id), Some(ord));
    }
    // Valid identifiers, most of them not in the data.
    let mut absent = 0;
    for seed in 0..2000u64 {
        for id in [sample_uscc(seed ^ 0x5eed), sample_ric(seed ^ 0x5eed)] {
            let fst = snap.lookup_fst(&id);
            assert_eq!(snap.lookup(&id), fst, "{:?}", String::from_utf8_lossy(&id));
            absent += fst.is_none() as u32;
        }
    }
    assert!(absent > 1000, "{absent} absent identifiers tried");
    assert_eq!(snap.lookup(b"91110000600037341"), None, "17 bytes");
    assert_eq!(snap.lookup(b""), None);
}

/// Keys whose hashes all fall in the last sixteenth crowd the last home slots and run past
/// them: the overflow slots are written, found and followed by a free slot.
#[test]
fn entries_overflowing_the_last_home_slot_stay_reachable() {
    let mut keys: Vec<[u8; KEY_LEN]> = (0..200_000u64)
        .map(|i| {
            let mut k = *b"910000000000000000";
            k[6..18].copy_from_slice(format!("{i:012}").as_bytes());
            k
        })
        .filter(|k| idix::hash(k) >= 0xf000_0000)
        .take(64)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys.len(), 64);
    let (_dir, bytes) = written(&keys);
    let homes = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let slots = (bytes.len() - 48) / 8;
    assert!(
        slots > homes + 1,
        "{slots} slots for {homes} home slots: no overflow"
    );
    let ix = IdIndex::new(&bytes[32..], keys.len() as u32).unwrap();
    let id_of = |o: u32| keys.get(o as usize).map(|k| &k[..]);
    ix.verify(id_of).unwrap();
    for (o, k) in keys.iter().enumerate() {
        assert_eq!(ix.get(k, id_of), Some(o as u32));
    }
}
