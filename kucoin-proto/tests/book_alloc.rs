//! In steady state, applying a frame allocates nothing: a counting global allocator proves it.
#![allow(unsafe_code)]

mod book_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use book_common::{generate, synced};
use kucoin_proto::market::{Futures, Spot};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if ON.try_with(Cell::get).unwrap_or(false) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts allocations made by this thread while `f` runs.
fn allocations<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = ALLOCS.load(Ordering::Relaxed);
    ON.with(|c| c.set(true));
    let r = f();
    ON.with(|c| c.set(false));
    (ALLOCS.load(Ordering::Relaxed) - before, r)
}

#[test]
fn live_spot_frames_allocate_nothing() {
    let c = generate(false, 20_000);
    let t0 = book_common::t0();
    let mut s = synced::<Spot>("BTC-USDT", &c, t0);
    let (warm, steady) = c.frames[1..].split_at(2_000);
    for f in warm {
        s.handle_frame(t0, f).unwrap();
    }
    let (n, applied) = allocations(|| {
        let mut applied = 0u64;
        for f in steady {
            s.handle_frame(t0, f).unwrap();
            applied += 1;
            while let Some(_e) = s.poll_event() {}
            let book = s.book().unwrap();
            let _ = (book.best_bid(), book.best_ask(), book.top_n(50).0.count());
        }
        applied
    });
    assert_eq!(applied, steady.len() as u64);
    assert_eq!(n, 0, "{n} heap allocations over {applied} live frames");
}

#[test]
fn live_futures_frames_allocate_nothing() {
    let c = generate(true, 20_000);
    let t0 = book_common::t0();
    let mut s = synced::<Futures>("XBTUSDTM", &c, t0);
    let (warm, steady) = c.frames[1..].split_at(2_000);
    for f in warm {
        s.handle_frame(t0, f).unwrap();
    }
    let (n, ()) = allocations(|| {
        for f in steady {
            s.handle_frame(t0, f).unwrap();
            while let Some(_e) = s.poll_event() {}
        }
    });
    assert_eq!(
        n,
        0,
        "{n} heap allocations over {} live frames",
        steady.len()
    );
}

#[test]
fn the_counter_sees_allocations() {
    let (n, v) = allocations(|| vec![1u8; 64]);
    assert!(n >= 1 && v.len() == 64);
}
