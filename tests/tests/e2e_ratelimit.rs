//! Rate limits end to end, through both adapters against the fake exchange (which enforces
//! per-pool quotas by weight over a short window and answers `429000` past them):
//! a burst never draws a `429000` and fills the quota; a forced `429000` stops the pool until
//! its reset and the call recovers; a write is not sent twice blindly; every request names
//! this library in `User-Agent`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kucoin_blocking::proto::USER_AGENT;
use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::rest::api::spot::order::AddOrder;
use kucoin_blocking::proto::rest::budget::RetryPolicy;
use kucoin_blocking::proto::rest::operation::Pool;
use kucoin_blocking::proto::rest::{PartDepth, ServerTime, SpotPartOrderBook, SpotSymbols};
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::{Config, Error};
use kucoin_tests::{
    FakeConfig, FakeKucoin, RateWindow, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
};

/// Calls in the burst.
const BURST: usize = 5_000;
/// Concurrent callers sharing one client.
const CALLERS: usize = 4;
/// The fake's quota per pool and window (weight units) and its window.
const QUOTA: u32 = 1_200;
const WINDOW_MS: u64 = 500;

fn fake(quota: u32, window_ms: u64) -> FakeKucoin {
    let mut config = FakeConfig::spot();
    config.rate_limit = quota;
    config.rate_limit_window_ms = window_ms;
    let fake = FakeKucoin::start(config).unwrap();
    // Funds for the orders some tests place.
    fake.fund("USDT", "1000");
    fake
}

fn config(fake: &FakeKucoin) -> Config<Spot> {
    Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(Credentials::new(
            TEST_API_KEY,
            TEST_API_SECRET,
            TEST_API_PASSPHRASE,
        ))
        .unwrap()
}

/// The `i`-th call of the burst: public operations of weight 2, 3 and 4.
enum Call {
    Time,
    Book,
    Symbols,
}

fn call_of(i: usize) -> Call {
    match (i * 7 + i / 3) % 5 {
        0 | 1 => Call::Book,
        2 | 3 => Call::Time,
        _ => Call::Symbols,
    }
}

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

/// Share of the quota used over every window of the run but the last (a partial tail).
fn utilisation(windows: &[RateWindow], quota: u32) -> (f64, usize) {
    let full = &windows[..windows.len().saturating_sub(1)];
    let used: u64 = full.iter().map(|w| w.used).sum();
    (
        used as f64 / (f64::from(quota) * full.len().max(1) as f64),
        full.len(),
    )
}

fn check_burst(fake: &FakeKucoin, calls_ok: usize, elapsed: Duration, adapter: &str) {
    let windows = fake.rate_windows(Pool::Public);
    let refused: u64 = windows.iter().map(|w| w.refused).sum();
    let calls: u64 = windows.iter().map(|w| w.calls).sum();
    let (share, n) = utilisation(&windows, QUOTA);
    eprintln!(
        "{adapter}: {BURST} calls in {elapsed:?}, {n} full windows of {QUOTA}/{WINDOW_MS} ms, \
         quota used {:.1} %, 429000 answers {refused}; per window: {:?}",
        share * 100.0,
        windows.iter().map(|w| w.used).collect::<Vec<_>>()
    );
    assert_eq!(calls_ok, BURST, "every call succeeded");
    assert_eq!(refused, 0, "no 429000");
    assert_eq!(fake.stats().faults.too_many_requests, 0);
    assert_eq!(calls, BURST as u64);
    assert!(n >= 8, "the burst spans many windows ({n})");
    assert!(share >= 0.9, "quota used {share}");
    for w in &windows {
        assert!(w.used <= u64::from(QUOTA));
    }
}

#[test]
fn blocking_burst_of_5000_weighted_calls_never_draws_429000_and_uses_90_percent_of_the_quota() {
    let fake = fake(QUOTA, WINDOW_MS);
    let rest = Arc::new(kucoin_blocking::Rest::new(&config(&fake)));
    let started = Instant::now();
    let threads: Vec<_> = (0..CALLERS)
        .map(|t| {
            let rest = Arc::clone(&rest);
            std::thread::spawn(move || {
                let mut ok = 0;
                for i in (t..BURST).step_by(CALLERS) {
                    let result = match call_of(i) {
                        Call::Time => rest.call(&ServerTime::<Spot>::new()).map(drop),
                        Call::Book => rest
                            .call(&SpotPartOrderBook::new(btc(), PartDepth::Twenty))
                            .map(drop),
                        Call::Symbols => rest.call(&SpotSymbols::all()).map(drop),
                    };
                    match result {
                        Ok(()) => ok += 1,
                        Err(e) => panic!("call {i} failed: {e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    check_burst(&fake, ok, started.elapsed(), "blocking");
    let status = rest.pool_status(Pool::Public);
    assert_eq!(
        status.limit,
        u64::from(QUOTA),
        "the quota was learnt from the headers"
    );
    assert!(status.from_headers);
}

#[test]
fn async_burst_of_5000_weighted_calls_never_draws_429000_and_uses_90_percent_of_the_quota() {
    let fake = fake(QUOTA, WINDOW_MS);
    let rest = kucoin_async_std::Rest::new(&config(&fake));
    let started = Instant::now();
    let ok = smol::block_on(async {
        let tasks: Vec<_> = (0..CALLERS)
            .map(|t| {
                let rest = rest.clone();
                smol::spawn(async move {
                    let mut ok = 0;
                    for i in (t..BURST).step_by(CALLERS) {
                        let result = match call_of(i) {
                            Call::Time => rest.call(&ServerTime::<Spot>::new()).await.map(drop),
                            Call::Book => rest
                                .call(&SpotPartOrderBook::new(btc(), PartDepth::Twenty))
                                .await
                                .map(drop),
                            Call::Symbols => rest.call(&SpotSymbols::all()).await.map(drop),
                        };
                        match result {
                            Ok(()) => ok += 1,
                            Err(e) => panic!("call {i} failed: {e}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await;
        }
        ok
    });
    check_burst(&fake, ok, started.elapsed(), "async");
}

fn rate_limited(e: &Error) -> bool {
    matches!(e, Error::Response(r) if r.api().is_some_and(|a| a.code.as_str() == "429000"))
}

#[test]
fn blocking_forced_429000_waits_for_the_reset_and_recovers() {
    let fake = fake(10_000, 400);
    let rest = kucoin_blocking::Rest::new(&config(&fake));
    rest.call(&ServerTime::<Spot>::new()).unwrap();
    fake.exhaust_pool(Pool::Public);
    let started = Instant::now();
    let time = rest.call(&ServerTime::<Spot>::new());
    let waited = started.elapsed();
    assert!(time.is_ok(), "{time:?}");
    assert_eq!(
        fake.stats().faults.too_many_requests,
        1,
        "one 429000, then a wait"
    );
    // The window had up to 400 ms left; the retry waited for it (not a busy loop).
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    let status = rest.pool_status(Pool::Public);
    assert!(status.blocked_until.is_none());
    assert!(status.remaining > 0);
}

#[test]
fn async_forced_429000_waits_for_the_reset_and_recovers() {
    let fake = fake(10_000, 400);
    let rest = kucoin_async_std::Rest::new(&config(&fake));
    smol::block_on(async {
        rest.call(&ServerTime::<Spot>::new()).await.unwrap();
        fake.exhaust_pool(Pool::Public);
        let started = Instant::now();
        let time = rest.call(&ServerTime::<Spot>::new()).await;
        assert!(time.is_ok(), "{time:?}");
        assert!(started.elapsed() >= Duration::from_millis(100));
    });
    assert_eq!(fake.stats().faults.too_many_requests, 1);
}

fn order(client_oid: Option<&str>) -> AddOrder {
    let mut body = serde_json::json!({
        "side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "50000", "size": "0.00001"
    });
    if let Some(oid) = client_oid {
        body["clientOid"] = oid.into();
    }
    serde_json::from_str(&body.to_string()).unwrap()
}

fn spot_refusals(fake: &FakeKucoin) -> (u64, u64) {
    let w = fake.rate_windows(Pool::Spot);
    (
        w.iter().map(|w| w.refused).sum(),
        w.iter().map(|w| w.calls).sum(),
    )
}

#[test]
fn blocking_order_refused_with_429000_is_not_sent_twice_blindly() {
    // Not opted in: the typed error with KuCoin's code, sent once.
    let fake = fake(10_000, 300);
    let rest = kucoin_blocking::Rest::new(&config(&fake));
    fake.exhaust_pool(Pool::Spot);
    let err = rest.call(&order(Some("oid-1"))).unwrap_err();
    assert!(rate_limited(&err), "{err}");
    assert_eq!(spot_refusals(&fake), (1, 0));
    // Opted in, but no clientOid: still once.
    let rest = kucoin_blocking::Rest::new(&config(&fake).retry_orders_with_client_oid(true));
    fake.exhaust_pool(Pool::Spot);
    let err = rest.call(&order(None)).unwrap_err();
    assert!(rate_limited(&err), "{err}");
    assert_eq!(spot_refusals(&fake).0, 2);
    // Opted in with a clientOid: sent again once after the reset, and placed. (A new client:
    // the last one knows the pool is stopped and would wait before sending.)
    let rest = kucoin_blocking::Rest::new(&config(&fake).retry_orders_with_client_oid(true));
    fake.exhaust_pool(Pool::Spot);
    let placed = rest.call(&order(Some("oid-2")));
    assert!(placed.is_ok(), "{placed:?}");
    assert_eq!(spot_refusals(&fake), (3, 1));
    // Never twice: with the pool kept exhausted the retry's refusal is returned.
    let rest = kucoin_blocking::Rest::new(
        &config(&fake).retry_policy(RetryPolicy::default().writes_with_client_oid(true)),
    );
    // Exhausted before the call (the thread below might start after it), and kept so.
    fake.exhaust_pool(Pool::Spot);
    let keep_exhausted = {
        let fake = fake.handle();
        std::thread::spawn(move || {
            for _ in 0..60 {
                fake.exhaust_pool(Pool::Spot);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let err = rest.call(&order(Some("oid-3"))).unwrap_err();
    assert!(rate_limited(&err), "{err}");
    keep_exhausted.join().unwrap();
    assert_eq!(spot_refusals(&fake).0, 5, "the first try and one retry");
}

#[test]
fn async_order_refused_with_429000_is_returned_with_its_code() {
    let fake = fake(10_000, 300);
    let rest = kucoin_async_std::Rest::new(&config(&fake));
    fake.exhaust_pool(Pool::Spot);
    let err = smol::block_on(rest.call(&order(Some("oid-1")))).unwrap_err();
    assert!(rate_limited(&err), "{err}");
    assert_eq!(spot_refusals(&fake), (1, 0));
    let rest = kucoin_async_std::Rest::new(&config(&fake).retry_orders_with_client_oid(true));
    fake.exhaust_pool(Pool::Spot);
    let placed = smol::block_on(rest.call(&order(Some("oid-2"))));
    assert!(placed.is_ok(), "{placed:?}");
    assert_eq!(spot_refusals(&fake), (2, 1));
}

#[test]
fn rest_requests_and_websocket_handshakes_name_this_library() {
    assert!(USER_AGENT.starts_with("kucoin-rs/"));
    let fake = fake(10_000, 30_000);
    let rest = kucoin_blocking::Rest::new(&config(&fake));
    rest.call(&ServerTime::<Spot>::new()).unwrap();
    smol::block_on(kucoin_async_std::Rest::new(&config(&fake)).call(&SpotSymbols::all())).unwrap();
    let agents = fake.user_agents();
    assert_eq!(
        agents.keys().collect::<Vec<_>>(),
        [USER_AGENT],
        "{agents:?}"
    );
    assert_eq!(agents[USER_AGENT], 2);

    // Both adapters' WebSocket handshakes.
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut feed = kucoin_blocking::BookFeed::new(config(&fake)).unwrap();
    feed.add_book(btc()).unwrap();
    while fake.ws_user_agents().is_empty() && feed.next_event_until(give_up).is_some() {}
    feed.close();
    smol::block_on(async {
        let mut feed = kucoin_async_std::BookFeed::new(config(&fake)).unwrap();
        feed.add_book(btc()).unwrap();
        while fake.ws_user_agents().values().sum::<u64>() < 2
            && feed.next_event_until(give_up).await.is_some()
        {}
        feed.close().await;
    });
    let ws = fake.ws_user_agents();
    assert_eq!(ws.keys().collect::<Vec<_>>(), [USER_AGENT], "{ws:?}");
    assert!(ws[USER_AGENT] >= 2, "{ws:?}");
}
