//! Screening a chunk with the engine in this process, on several threads.

use credgate_index::date::Day;
use credgate_index::ids::Mode;
use credgate_index::model::Scenario;

use super::render::{Answer, PlanNames};
use super::{BatchError, Chunk, Rendered, RowLayout, Screener, Summary};
use crate::engine::screen::{ScreenError, ScreenResult};
use crate::engine::verdict::{ScreenPlan, Verdict};
use crate::engine::Engine;

/// The in-process screener: the engine's lean screening path ([`ScreenPlan`]) for every
/// row, the chunk split among `workers` threads. For CSV and NDJSON output each thread also
/// writes its rows, so the writer thread only copies bytes.
pub struct Local<'e> {
    pub engine: &'e Engine,
    pub scenario: Scenario,
    pub as_of: Day,
    pub today: Day,
    pub mode: Mode,
    pub workers: usize,
    /// Screen a chunk's rows in identifier order, so consecutive FST lookups share the
    /// nodes of their common prefix while those are still in cache. Off by default: on a
    /// 10M-record snapshot the sort and the scattered reads of the chunk cost more than the
    /// FST locality saved (the lookups are a small part of a row's cost).
    pub sorted: bool,
    /// Show people's numbers in full in `id` (`--full-ids`).
    pub full_ids: bool,
    order: Vec<(u128, u32)>,
}

impl<'e> Local<'e> {
    pub fn new(engine: &'e Engine, scenario: Scenario, as_of: Day, today: Day, mode: Mode) -> Self {
        Local {
            engine,
            scenario,
            as_of,
            today,
            mode,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            sorted: false,
            full_ids: false,
            order: Vec::new(),
        }
    }
}

/// The first 16 bytes of an identifier as a big-endian number: sorting by it sorts
/// identifiers by their FST path (ties past byte 16 are rare and harmless).
fn sort_key(id: &str) -> u128 {
    let mut key = [0u8; 16];
    let b = id.as_bytes();
    let n = b.len().min(16);
    key[..n].copy_from_slice(&b[..n]);
    u128::from_be_bytes(key)
}

fn placeholder() -> ScreenResult {
    ScreenResult::undecided(None)
}

impl Screener for Local<'_> {
    fn screen(
        &mut self,
        chunk: &Chunk,
        id_col: usize,
        out: &mut Vec<ScreenResult>,
    ) -> Result<(), BatchError> {
        let n = chunk.len();
        self.order.clear();
        self.order.extend((0..n as u32).map(|i| {
            let key = if self.sorted {
                sort_key(chunk.cell(i as usize, id_col))
            } else {
                0
            };
            (key, i)
        }));
        if self.sorted {
            self.order.sort_unstable();
        }
        let per = n.div_ceil(self.workers.max(1)).max(1);
        let (engine, scenario, as_of, today, mode, full_ids) = (
            self.engine,
            self.scenario,
            self.as_of,
            self.today,
            self.mode,
            self.full_ids,
        );
        let plan = ScreenPlan::new(engine, scenario, as_of, today, mode);
        let screen_part = |part: &[(u128, u32)]| -> Vec<ScreenResult> {
            let mut v = Verdict::default();
            part.iter()
                .map(|&(_, i)| match chunk.row_error(i as usize, id_col) {
                    Some(e) => ScreenResult::undecided(Some(e)),
                    None => plan.screen_result(chunk.cell(i as usize, id_col), full_ids, &mut v),
                })
                .collect()
        };
        let parts: Vec<Vec<ScreenResult>> = std::thread::scope(|s| {
            let mut pieces = self.order.chunks(per);
            let first = pieces.next().unwrap_or(&[]);
            let handles: Vec<_> = pieces.map(|p| s.spawn(move || screen_part(p))).collect();
            let mut parts = vec![screen_part(first)];
            parts.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("screening thread panicked")),
            );
            parts
        });
        out.clear();
        out.resize_with(n, placeholder);
        for (&(_, i), r) in self.order.iter().zip(parts.into_iter().flatten()) {
            out[i as usize] = r;
        }
        Ok(())
    }

    fn screen_rendered(
        &mut self,
        chunk: &Chunk,
        layout: &RowLayout,
        out: &mut Rendered,
    ) -> Result<bool, BatchError> {
        if self.sorted {
            // Sorted screening visits rows out of order; it goes through results.
            return Ok(false);
        }
        let n = chunk.len();
        let workers = self.workers.max(1);
        let per = n.div_ceil(workers).max(1);
        let plan = ScreenPlan::new(
            self.engine,
            self.scenario,
            self.as_of,
            self.today,
            self.mode,
        );
        // The names the rows' verdicts refer to, as JSON strings, made once for the chunk.
        let names = PlanNames::new(&plan);
        out.parts.resize_with(n.div_ceil(per), Vec::new);
        out.parts.truncate(n.div_ceil(per));
        let write_part = |first: usize, buf: &mut Vec<u8>| -> Summary {
            buf.clear();
            let mut counts = Summary::default();
            let mut v = Verdict::default();
            for i in first..(first + per).min(n) {
                if let Some(e) = chunk.row_error(i, layout.id_col) {
                    let r = ScreenResult::undecided(Some(e));
                    layout.row(buf, chunk, i, &Answer::of_result(&r));
                    counts.count_row(None);
                    continue;
                }
                let input = chunk.cell(i, layout.id_col);
                match plan.screen(input, &mut v) {
                    Ok(id) => {
                        // People's numbers masked, as the server shows them to a caller
                        // without `personal_full`, unless `--full-ids`.
                        let shown = id.shown(self.full_ids);
                        let answer = Answer::of_verdict(&names, &id, shown.as_str(), &v);
                        layout.row(buf, chunk, i, &answer);
                        counts.count_row(v.decision);
                    }
                    Err(e) => {
                        let r = ScreenResult::undecided(Some(ScreenError::invalid_id(&e)));
                        layout.row(buf, chunk, i, &Answer::of_result(&r));
                        counts.count_row(None);
                    }
                }
            }
            counts
        };
        let counts: Vec<Summary> = std::thread::scope(|s| {
            let mut parts = out.parts.iter_mut().enumerate();
            let first = parts.next();
            let handles: Vec<_> = parts
                .map(|(k, buf)| s.spawn(move || write_part(k * per, buf)))
                .collect();
            let mut counts: Vec<Summary> = first
                .map(|(_, buf)| write_part(0, buf))
                .into_iter()
                .collect();
            counts.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("screening thread panicked")),
            );
            counts
        });
        out.counts = Summary::default();
        for c in &counts {
            out.counts.merge(c);
        }
        Ok(true)
    }
}
