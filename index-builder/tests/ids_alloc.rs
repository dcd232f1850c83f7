//! Proves that parsing a valid identifier does not allocate, with a counting global
//! allocator. This file is its own test binary so the allocator affects nothing else.

#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use credgate_index::date::Day;
use credgate_index::ids::{gen, normalize, parse, parse_ric, parse_uscc, Mode};

/// Counts allocations made by the current thread, so the test harness's own threads cannot
/// disturb the count.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// A global allocator can only be written with `unsafe`; this one forwards every call to the
// system allocator unchanged and only bumps a thread-local counter, which needs no allocation.
// SAFETY: every method delegates to `System` with the caller's arguments, so `System`'s
// guarantees carry over; the counter is a const-initialised thread-local `Cell`.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged; `ptr` came from `System.alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn text(code: &[u8]) -> String {
    String::from_utf8(code.to_vec()).unwrap()
}

#[test]
fn valid_inputs_parse_without_allocating() {
    let today = Day::from_ymd(2024, 6, 1).unwrap();
    // Every input is built up front: only the parsing is counted.
    let mut usccs: Vec<String> = (0..500).map(|s| text(&gen::sample_uscc(s))).collect();
    usccs.push("９１１１００００６０００３７３４１Ｌ".to_owned());
    usccs.push(" 9111-0000 6000 37341l ".to_owned());
    let mut rics: Vec<String> = (0..500).map(|s| text(&gen::sample_ric(s))).collect();
    rics.extend((0..500).map(|s| text(&gen::sample_ric15(s))));
    rics.push("44011320141005001x".to_owned());
    let nonconforming = "91350100M000100Y4L";

    let mut accepted = 0usize;
    let n = allocations_during(|| {
        for s in &usccs {
            accepted += parse_uscc(s, Mode::Strict).is_ok() as usize;
            accepted += parse(s, Mode::Strict, today).is_ok() as usize;
            accepted += normalize(s).is_ok() as usize;
        }
        for s in &rics {
            accepted += parse_ric(s, today).is_ok() as usize;
            accepted += parse(s, Mode::Strict, today).is_ok() as usize;
        }
        accepted += parse_uscc(nonconforming, Mode::Lenient).is_ok() as usize;
        accepted += parse(nonconforming, Mode::Lenient, today).is_ok() as usize;
    });
    assert_eq!(accepted, usccs.len() * 3 + rics.len() * 2 + 2);
    assert_eq!(n, 0, "parsing valid identifiers allocated {n} times");
}

#[test]
fn errors_do_not_allocate_either() {
    let today = Day::from_ymd(2024, 6, 1).unwrap();
    let bad = [
        "",
        "12345",
        "91110000600037341N",
        "91110000600037342L",
        "B1110000600037341L",
        "360426199113010079",
        "36042619910102009X",
        "张三",
    ];
    let mut rejected = 0;
    let n = allocations_during(|| {
        for s in bad {
            rejected += parse(s, Mode::Strict, today).is_err() as usize;
        }
    });
    assert_eq!(rejected, bad.len());
    assert_eq!(n, 0, "rejecting identifiers allocated {n} times");
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the two tests above against a counter that never counts.
    let n = allocations_during(|| {
        let v: Vec<u64> = std::hint::black_box(vec![1, 2, 3]);
        drop(v);
    });
    assert!(n >= 1);
}
