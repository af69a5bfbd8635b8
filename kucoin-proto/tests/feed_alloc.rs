//! In steady state, a frame through `Feed::handle_frame` (what the adapters call), with the
//! events drained as an adapter drains them, allocates nothing: a counting allocator proves it.

mod alloc_counter;
mod book_common;

use alloc_counter::{Counting, allocations};

use book_common::generate;
use kucoin_proto::feed::{FeedConfig, FeedMarket};
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::replay::Replay;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn steady_state_allocations<M: FeedMarket>(futures: bool, symbol: &str) -> u64 {
    steady_state_allocations_with::<M>(futures, symbol, FeedConfig::default())
}

fn steady_state_allocations_with<M: FeedMarket>(
    futures: bool,
    symbol: &str,
    config: FeedConfig,
) -> u64 {
    let c = generate(futures, 20_000);
    let snapshot = c.snapshot_raw.clone();
    let mut replay = Replay::<M>::with_config(
        Symbol::new(symbol).unwrap(),
        snapshot,
        config,
        book_common::t0(),
    )
    .unwrap();
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

#[test]
fn frames_through_a_feed_without_update_events_allocate_nothing() {
    let quiet = || FeedConfig::default().with_book_updates(false);
    assert_eq!(
        steady_state_allocations_with::<Spot>(false, "BTC-USDT", quiet()),
        0
    );
    assert_eq!(
        steady_state_allocations_with::<Futures>(true, "XBTUSDTM", quiet()),
        0
    );
}
