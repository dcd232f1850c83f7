//! Our FST writer against fst's `MapBuilder` on the key sets of a real snapshot.
//!
//! Reads the (key, value) pairs of ids.fst and names.fst from a snapshot generation
//! directory, then writes each set with both writers into memory, in interleaved rounds,
//! and prints keys per second and output bytes. Every map ours writes is read back and
//! compared pair by pair before its figure is printed.
//!
//! ```text
//! cargo run --release -p credgate-index --example fst_writer_bench -- GEN_DIR [ROUNDS [only-ours]]
//! ```

use std::time::Instant;

use anyhow::{bail, Context, Result};
use credgate_index::format::fstw::FstWriter;
use credgate_index::format::HEADER_LEN;
use fst::{Map, MapBuilder, Streamer};

type Pairs = Vec<(Vec<u8>, u64)>;

fn load(path: &std::path::Path) -> Result<Pairs> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // The snapshot file's header precedes the FST.
    let map =
        Map::new(bytes[HEADER_LEN..].to_vec()).with_context(|| format!("{}", path.display()))?;
    let mut out = Vec::with_capacity(map.len());
    let mut s = map.stream();
    while let Some((k, v)) = s.next() {
        out.push((k.to_vec(), v));
    }
    Ok(out)
}

fn theirs(pairs: &Pairs, cap: usize) -> Result<Vec<u8>> {
    let mut b = MapBuilder::new(Vec::with_capacity(cap))?;
    for (k, v) in pairs {
        b.insert(k, *v)?;
    }
    Ok(b.into_inner()?)
}

fn ours(pairs: &Pairs, cap: usize) -> Result<Vec<u8>> {
    let mut w = FstWriter::new(Vec::with_capacity(cap))?;
    for (k, v) in pairs {
        w.insert(k, *v)?;
    }
    Ok(w.finish()?)
}

fn same(bytes: Vec<u8>, pairs: &Pairs) -> Result<()> {
    let map = Map::new(bytes)?;
    map.as_fst().verify()?;
    let mut s = map.stream();
    let mut i = 0;
    while let Some((k, v)) = s.next() {
        if i >= pairs.len() || pairs[i].0 != k || pairs[i].1 != v {
            bail!("pair {i} differs");
        }
        i += 1;
    }
    if i != pairs.len() {
        bail!("{i} pairs read back, {} written", pairs.len());
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().context("usage: GEN_DIR [ROUNDS]")?);
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    // For profiling our writer alone: neither fst's builder nor the read-back check runs.
    let only_ours = args.next().as_deref() == Some("only-ours");
    for file in ["ids.fst", "names.fst"] {
        let pairs = load(&dir.join(file))?;
        let cap = 2 * std::fs::metadata(dir.join(file))?.len() as usize;
        println!("{file}: {} keys", pairs.len());
        for round in 1..=rounds {
            if only_ours {
                let t = Instant::now();
                let len = ours(&pairs, cap)?.len();
                let secs = t.elapsed().as_secs_f64();
                println!("  round {round}: FstWriter {secs:.3} s {len} bytes");
                continue;
            }
            let t = Instant::now();
            let b = theirs(&pairs, cap)?;
            let secs_theirs = t.elapsed().as_secs_f64();
            let len_theirs = b.len();
            drop(b);
            let t = Instant::now();
            let b = ours(&pairs, cap)?;
            let secs_ours = t.elapsed().as_secs_f64();
            let len_ours = b.len();
            same(b, &pairs)?;
            let rate = |s: f64| pairs.len() as f64 / s / 1e6;
            println!(
                "  round {round}: fst::MapBuilder {:.3} s {:.2} M keys/s {} bytes | FstWriter {:.3} s {:.2} M keys/s {} bytes",
                secs_theirs,
                rate(secs_theirs),
                len_theirs,
                secs_ours,
                rate(secs_ours),
                len_ours
            );
        }
    }
    Ok(())
}
