//! In steady state, applying a frame allocates nothing: a counting global allocator proves it.

mod alloc_counter;
mod book_common;

use alloc_counter::{Counting, allocations};

use book_common::{generate, synced};
use kucoin_proto::market::{Futures, Spot};

#[global_allocator]
static GLOBAL: Counting = Counting;

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
