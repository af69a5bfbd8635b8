//! In steady state, a frame through `Feed::handle_frame` (what the adapters call), with the
//! events drained as an adapter drains them, allocates nothing: a counting allocator proves it.
#![allow(unsafe_code)]

mod book_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use book_common::generate;
use kucoin_proto::feed::FeedMarket;
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::replay::Replay;

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

fn steady_state_allocations<M: FeedMarket>(futures: bool, symbol: &str) -> u64 {
    let c = generate(futures, 20_000);
    let market = if futures { "futures" } else { "spot" };
    let snapshot = std::fs::read(c.dir.join(format!("{market}_snapshot.json"))).unwrap();
    let mut replay =
        Replay::<M>::new(Symbol::new(symbol).unwrap(), snapshot, book_common::t0()).unwrap();
    let (warm, steady) = c.frames.split_at(2_000);
    for f in warm {
        replay.frame(f);
    }
    assert!(replay.book().is_some(), "synced during warm-up");
    let (n, ()) = allocations(|| {
        for f in steady {
            replay.frame(f);
        }
    });
    assert_eq!(replay.stats().gaps, 0);
    assert_eq!(
        replay.book().unwrap().sequence(),
        c.expected["final_sequence"].as_u64().unwrap()
    );
    n
}

#[test]
fn spot_frames_through_the_feed_allocate_nothing() {
    assert_eq!(steady_state_allocations::<Spot>(false, "BTC-USDT"), 0);
}

#[test]
fn futures_frames_through_the_feed_allocate_nothing() {
    assert_eq!(steady_state_allocations::<Futures>(true, "XBTUSDTM"), 0);
}
