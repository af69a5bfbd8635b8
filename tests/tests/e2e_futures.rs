//! Futures (`/contractMarket/level2`, `XBTUSDTM`) through both adapters against the fake
//! exchange: a clean sync, drops, duplicates and stale repeats, and a chaos soak, each ending
//! with the book equal to the exchange's true book. The async tests run under smol and under
//! async-std.

mod support;

use std::future::Future;
use std::time::Duration;

use kucoin_proto::{Futures, FuturesSymbol};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults};
use support::{fast_book, fast_session, is_gap, is_synced};

const LIMIT: Duration = Duration::from_secs(10);

fn xbt() -> FuturesSymbol {
    FuturesSymbol::new("XBTUSDTM").unwrap()
}

fn faulty() -> Faults {
    Faults {
        seed: 5,
        drop_one_in: 40,
        duplicate_one_in: 20,
        overlap_one_in: 20,
        ..Faults::none()
    }
}

fn blocking_client(fake: &FakeKucoin, seed: u64) -> support::blocking::Client<Futures> {
    let config = kucoin_blocking::Config::<Futures>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(fast_book())
        .session(fast_session(seed));
    support::blocking::Client::new(config, xbt())
}

fn async_client(fake: &FakeKucoin, seed: u64) -> support::nonblocking::Client<Futures> {
    let config = kucoin_async_std::Config::<Futures>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(fast_book())
        .session(fast_session(seed));
    support::nonblocking::Client::new(config, xbt())
}

/// Runs the same test body on both runtimes, each with its own fake exchange.
fn on_both_runtimes<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    smol::block_on(test());
    async_std::task::block_on(test());
}

/// Whether the fake has dropped, duplicated and repeated at least one frame each.
fn every_fault_seen(fake: &FakeKucoin) -> bool {
    let f = fake.stats().faults;
    f.dropped > 0 && f.duplicated > 0 && f.overlapped > 0
}

fn futures_fake(faults: Faults) -> FakeKucoin {
    FakeKucoin::start(
        FakeConfig::futures()
            .with_ping(200, 200)
            .with_faults(faults),
    )
    .unwrap()
}

#[test]
fn futures_clean_sync_equals_the_exchange_book() {
    let fake = futures_fake(Faults::none());
    let mut c = blocking_client(&fake, 31);
    assert!(c.run_until(LIMIT, |_, e| is_synced(e)));
    c.run_for(Duration::from_millis(300));
    c.converge_and_compare(&fake);
    let stats = c.feed.feed().stats();
    assert!(stats.book_frames > 0);
    assert_eq!((stats.gaps, stats.resyncs), (0, 0), "{stats:?}");
    c.close();
}

#[test]
fn futures_drops_duplicates_and_repeats_are_survived_with_an_equal_book() {
    let fake = futures_fake(faulty());
    let mut c = blocking_client(&fake, 32);
    let mut gaps = 0;
    assert!(c.run_until(LIMIT, |f, e| {
        gaps += u32::from(is_gap(e));
        gaps >= 2 && every_fault_seen(&fake) && f.book(&xbt()).is_some()
    }));
    fake.set_faults(Faults::none());
    c.converge_and_compare(&fake);
    let f = fake.stats().faults;
    assert!(
        f.dropped > 0 && f.duplicated > 0 && f.overlapped > 0,
        "{f:?}"
    );
    c.close();
}

#[test]
fn async_futures_clean_sync_equals_the_exchange_book_on_smol_and_async_std() {
    on_both_runtimes(|| async {
        let fake = futures_fake(Faults::none());
        let mut c = async_client(&fake, 33);
        assert!(c.run_until(LIMIT, |_, e| is_synced(e)).await);
        c.run_for(Duration::from_millis(300)).await;
        c.converge_and_compare(&fake).await;
        let stats = c.feed.feed().stats();
        assert!(stats.book_frames > 0);
        assert_eq!((stats.gaps, stats.resyncs), (0, 0), "{stats:?}");
        c.close().await;
    });
}

#[test]
fn async_futures_drops_duplicates_and_repeats_are_survived_with_an_equal_book_on_smol_and_async_std()
 {
    on_both_runtimes(|| async {
        let fake = futures_fake(faulty());
        let mut c = async_client(&fake, 34);
        let mut gaps = 0;
        let resynced = c.run_until(LIMIT, |f, e| {
            gaps += u32::from(is_gap(e));
            gaps >= 2 && every_fault_seen(&fake) && f.book(&xbt()).is_some()
        });
        assert!(resynced.await);
        fake.set_faults(Faults::none());
        c.converge_and_compare(&fake).await;
        let f = fake.stats().faults;
        assert!(
            f.dropped > 0 && f.duplicated > 0 && f.overlapped > 0,
            "{f:?}"
        );
        c.close().await;
    });
}

fn chaos_fake() -> FakeKucoin {
    FakeKucoin::start(
        FakeConfig::futures()
            .with_ping(200, 200)
            .with_rate(Duration::from_millis(2), 3)
            .with_faults(Faults::chaos(41)),
    )
    .unwrap()
}

/// After a soak, the exchange must have injected enough faults for the soak to mean something.
fn assert_chaos_happened(fake: &FakeKucoin) {
    let stats = fake.stats();
    let f = &stats.faults;
    assert!(
        f.dropped + f.duplicated + f.overlapped >= 10,
        "too little chaos to mean anything: {stats:?}"
    );
    assert_eq!(f.reused_tokens, 0, "a one-shot token was reused");
}

#[test]
fn futures_chaos_soak_then_calm_gives_an_equal_book() {
    let fake = chaos_fake();
    let mut c = blocking_client(&fake, 35);
    c.run_for(Duration::from_secs(2));
    fake.set_faults(Faults::none());
    c.converge_and_compare(&fake);
    assert_chaos_happened(&fake);
    c.close();
}

#[test]
fn async_futures_chaos_soak_then_calm_gives_an_equal_book_on_smol_and_async_std() {
    on_both_runtimes(|| async {
        let fake = chaos_fake();
        let mut c = async_client(&fake, 36);
        c.run_for(Duration::from_secs(2)).await;
        fake.set_faults(Faults::none());
        c.converge_and_compare(&fake).await;
        assert_chaos_happened(&fake);
        c.close().await;
    });
}
