//! Loopback end to end (fake exchange -> WebSocket -> book) for each adapter: frames/s, and the
//! time from a server close to a resynced book.
//!
//! `cargo run --release -p kucoin-tests --example adapter_bench [SECONDS] [UPDATES_PER_MS]`
//!
//! The fake and the client share this machine's cores, so frames/s is bounded by what the fake
//! can generate and send; `fake_throughput` measures that ceiling with a bare client.

use std::time::{Duration, Instant};

use kucoin_async_std::Config;
use kucoin_async_std::proto::auth::Credentials;
use kucoin_async_std::proto::ws::{Backoff, SessionConfig};
use kucoin_async_std::proto::{Spot, SpotSymbol};
use kucoin_tests::{FakeConfig, FakeKucoin, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET};

const BACKOFF: Duration = Duration::from_millis(50);

fn config(fake: &FakeKucoin) -> Config<Spot> {
    let backoff = Backoff {
        initial: BACKOFF,
        max: Duration::from_secs(1),
        jitter: Duration::ZERO,
    };
    Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .and_then(|c| {
            c.credentials(Credentials::new(
                TEST_API_KEY,
                TEST_API_SECRET,
                TEST_API_PASSPHRASE,
            ))
        })
        .map(|c| c.session(SessionConfig::public().with_backoff(backoff)))
        .expect("valid config")
}

fn fake(per_ms: u32) -> FakeKucoin {
    let mut config = FakeConfig::spot()
        .with_ping(10_000, 5_000)
        .with_rate(Duration::from_millis(1), per_ms);
    config.symbols.truncate(1);
    FakeKucoin::start(config).expect("fake starts")
}

struct Report {
    frames_per_sec: f64,
    resync: Vec<Duration>,
    identical: bool,
}

fn print(name: &str, r: &Report) {
    let mut resync = r.resync.clone();
    resync.sort();
    let median = resync.get(resync.len() / 2).copied().unwrap_or_default();
    println!(
        "{name:<22} {:>10.0} frames/s   server close -> resynced book: median {:>6.1} ms, max {:>6.1} ms (backoff {} ms)   book identical: {}",
        r.frames_per_sec,
        median.as_secs_f64() * 1e3,
        resync.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        BACKOFF.as_millis(),
        r.identical
    );
}

fn blocking(seconds: f64, per_ms: u32) -> Report {
    let fake = fake(per_ms);
    let btc = SpotSymbol::new("BTC-USDT").expect("symbol");
    let cfg = config(&fake);
    // Same config type: the async crate re-exports kucoin-blocking's Config.
    let mut feed = kucoin_blocking::BookFeed::new(cfg).expect("feed");
    feed.add_book(btc.clone()).expect("book");
    let give_up = Instant::now() + Duration::from_secs(20);
    while feed.book(&btc).is_none() && Instant::now() < give_up {
        let _ = feed.next_event_until(give_up);
    }
    let (f0, t0) = (feed.feed().stats().book_frames, Instant::now());
    let end = t0 + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        let _ = feed.next_event_until(end);
    }
    let frames_per_sec = (feed.feed().stats().book_frames - f0) as f64 / t0.elapsed().as_secs_f64();
    let mut resync = Vec::new();
    for _ in 0..5 {
        let reconnects = feed.feed().stats().reconnects;
        let t = Instant::now();
        fake.inject_close_all();
        let give_up = t + Duration::from_secs(10);
        while !(feed.feed().stats().reconnects > reconnects && feed.book(&btc).is_some())
            && Instant::now() < give_up
        {
            let _ = feed.next_event_until(give_up);
        }
        resync.push(t.elapsed());
    }
    fake.pause_updates();
    let truth = fake.true_book("BTC-USDT").expect("listed");
    let give_up = Instant::now() + Duration::from_secs(10);
    while feed.book(&btc).map(|b| b.sequence()) != Some(truth.sequence) && Instant::now() < give_up
    {
        let _ = feed.next_event_until(Instant::now() + Duration::from_millis(10));
    }
    let identical = feed
        .book(&btc)
        .is_some_and(|b| kucoin_tests::demo::compare(b, &truth).is_ok());
    feed.close();
    Report {
        frames_per_sec,
        resync,
        identical,
    }
}

async fn asynchronous(seconds: f64, per_ms: u32) -> Report {
    let fake = fake(per_ms);
    let btc = SpotSymbol::new("BTC-USDT").expect("symbol");
    let mut feed = kucoin_async_std::BookFeed::new(config(&fake)).expect("feed");
    feed.add_book(btc.clone()).expect("book");
    let give_up = Instant::now() + Duration::from_secs(20);
    while feed.book(&btc).is_none() && Instant::now() < give_up {
        let _ = feed.next_event_until(give_up).await;
    }
    let (f0, t0) = (feed.feed().stats().book_frames, Instant::now());
    let end = t0 + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        let _ = feed.next_event_until(end).await;
    }
    let frames_per_sec = (feed.feed().stats().book_frames - f0) as f64 / t0.elapsed().as_secs_f64();
    let mut resync = Vec::new();
    for _ in 0..5 {
        let reconnects = feed.feed().stats().reconnects;
        let t = Instant::now();
        fake.inject_close_all();
        let give_up = t + Duration::from_secs(10);
        while !(feed.feed().stats().reconnects > reconnects && feed.book(&btc).is_some())
            && Instant::now() < give_up
        {
            let _ = feed.next_event_until(give_up).await;
        }
        resync.push(t.elapsed());
    }
    fake.pause_updates();
    let truth = fake.true_book("BTC-USDT").expect("listed");
    let give_up = Instant::now() + Duration::from_secs(10);
    while feed.book(&btc).map(|b| b.sequence()) != Some(truth.sequence) && Instant::now() < give_up
    {
        let _ = feed
            .next_event_until(Instant::now() + Duration::from_millis(10))
            .await;
    }
    let identical = feed
        .book(&btc)
        .is_some_and(|b| kucoin_tests::demo::compare(b, &truth).is_ok());
    feed.close().await;
    Report {
        frames_per_sec,
        resync,
        identical,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let per_ms: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    // Throughput with the fake flat out; resync time at a busy but realistic 10,000 updates/s
    // (at a million updates/s the 20,000-message buffer overflows before any snapshot arrives).
    println!("throughput at {per_ms} updates/ms, resync at 10 updates/ms:");
    let merge = |fast: Report, real: Report| Report {
        frames_per_sec: fast.frames_per_sec,
        resync: real.resync,
        identical: fast.identical && real.identical,
    };
    print(
        "blocking",
        &merge(blocking(seconds, per_ms), blocking(0.2, 10)),
    );
    print(
        "async (smol)",
        &smol::block_on(async {
            merge(
                asynchronous(seconds, per_ms).await,
                asynchronous(0.2, 10).await,
            )
        }),
    );
    print(
        "async (async-std)",
        &async_std::task::block_on(async {
            merge(
                asynchronous(seconds, per_ms).await,
                asynchronous(0.2, 10).await,
            )
        }),
    );
}
