//! Both adapters against the fake exchange through the host's life cycle: a chaos soak whose
//! market goes quiet for its last third (with a server close in the quiet), suspend and resume,
//! and a network change on a silent socket. Every test is bounded in time and ends with the
//! client's book compared level for level with the exchange's true book.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use kucoin_proto::book::Availability;
use kucoin_proto::feed::FeedEvent;
use kucoin_proto::ws::{DisconnectCause, LifecycleError, SessionEvent};
use kucoin_proto::{Spot, SpotSymbol};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults, TrueBook};
use support::{assert_same_book, fast_book, fast_session, keys};

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

fn blocking_config(fake: &FakeKucoin, seed: u64) -> kucoin_blocking::Config<Spot> {
    kucoin_blocking::Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(fast_book())
        .credentials(keys())
        .unwrap()
        .session(fast_session(seed))
}

fn blocking(fake: &FakeKucoin, seed: u64) -> support::blocking::Client<Spot> {
    support::blocking::Client::new(blocking_config(fake, seed), btc())
}

fn nonblocking(fake: &FakeKucoin, seed: u64) -> support::nonblocking::Client<Spot> {
    support::nonblocking::Client::new(blocking_config(fake, seed), btc())
}

/// Runs the same async test body on both runtimes, each with its own fake exchange.
fn on_both_runtimes<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    smol::block_on(test());
    async_std::task::block_on(test());
}

const LIMIT: Duration = Duration::from_secs(10);
/// The chaos part of the soak; the quiet part is half as long (the last third of the run).
const CHAOS: Duration = Duration::from_millis(6_000);
/// How long a quiet-market resync may take when KuCoin refuses nothing.
const QUIET: Duration = Duration::from_millis(3_000);
/// What each `429000` the exchange answers during the resync may add: the pool's stop after a
/// refusal with room left in its headers, and one more reconnect or snapshot retry delay.
const PER_REFUSAL: Duration = Duration::from_millis(
    kucoin_proto::rest::budget::TRANSIENT_STOP.as_millis() as u64
        + support::BACKOFF.max.as_millis() as u64,
);

/// The longest a quiet-market resync may take when the exchange refused `refusals` bullet or
/// snapshot requests with `429000` on the way (chaos answers one in five so).
fn quiet_bound(refusals: u64) -> Duration {
    QUIET + PER_REFUSAL * u32::try_from(refusals).unwrap_or(u32::MAX)
}

/// Asserts that the quiet part ended with the exchange's book (`synced`) within
/// [`quiet_bound`] of the close at `quiet`; a failure shows the book's state and the quiet part's
/// events. Returns how long the resync took.
fn check_quiet_resync(
    synced: bool,
    quiet: Instant,
    refused: u64,
    truth: &TrueBook,
    feed: &kucoin_proto::feed::Feed<Spot>,
    log: &[support::Timed<Spot>],
) -> Duration {
    let took = quiet.elapsed();
    let bound = quiet_bound(refused);
    if !(synced && took <= bound) {
        let symbol = btc();
        let events: Vec<String> = log
            .iter()
            .filter(|t| t.at >= quiet)
            .map(|t| format!("+{:>5} ms {:?}", (t.at - quiet).as_millis(), t.event))
            .collect();
        panic!(
            "no book at the final sequence {} within {bound:?} of the close ({refused} refusals; \
             at {:?} after {took:?}, {:?}); events:\n{}",
            truth.sequence,
            feed.book(&symbol).map(|b| b.sequence()),
            feed.book_sync(&symbol).map(|b| b.state()),
            events.join("\n")
        );
    }
    took
}

/// A chaotic, fast market with every fault on, pings every 200 ms.
fn chaos_fake(seed: u64) -> FakeKucoin {
    FakeKucoin::start(
        FakeConfig::spot()
            .with_ping(200, 200)
            .with_rate(Duration::from_millis(2), 3)
            .with_faults(Faults::chaos(seed)),
    )
    .unwrap()
}

/// Whether the client's book is the exchange's true book.
fn same(book: Option<&kucoin_proto::book::OrderBook>, truth: &TrueBook) -> bool {
    book.is_some_and(|b| {
        let (bids, asks) = support::levels(b);
        b.sequence() == truth.sequence && bids == truth.bids && asks == truth.asks
    })
}

fn report(adapter: &str, a: Availability, resync: Duration, refused: u64) {
    println!(
        "{adapter}: available_pct {:.2} ({} of {} ms), max_unavailable_ms {}, quiet-market resync {} ms ({refused} refused)",
        a.pct(),
        a.available_ms,
        a.total_ms,
        a.max_unavailable_ms,
        resync.as_millis()
    );
}

fn check_availability(a: Availability, run: Duration) {
    assert!(
        a.total_ms >= u64::try_from(run.as_millis()).unwrap(),
        "{a:?}"
    );
    assert!(a.available_ms > 0 && a.available_ms <= a.total_ms, "{a:?}");
    assert!(a.max_unavailable_ms < a.total_ms, "{a:?}");
}

#[test]
fn blocking_chaos_soak_with_a_quiet_last_third_ends_with_the_exchanges_book() {
    let fake = chaos_fake(31);
    let mut c = blocking(&fake, 41);
    let start = Instant::now();
    c.run_for(CHAOS);
    // The market goes quiet, then KuCoin closes the socket: no message will come to start
    // the resync, every fault stays on. (If chaos left the client reconnecting, the close
    // waits for its connection.)
    fake.pause_updates();
    let live = |f: &kucoin_blocking::BookFeed<Spot>| {
        f.feed().session().state() == kucoin_proto::ws::SessionState::Live
    };
    if !live(&c.feed) {
        assert!(c.run_until(LIMIT, |f, _| live(f)), "never live again");
    }
    let refused_before = fake.stats().faults.too_many_requests;
    fake.inject_close_all();
    let quiet = Instant::now();
    let truth = fake.true_book("BTC-USDT").unwrap();
    let symbol = btc();
    let mut disconnected = false;
    let synced = c.run_until(LIMIT, |f, e| {
        disconnected |= matches!(e, FeedEvent::Session(SessionEvent::Disconnected { .. }));
        disconnected && same(f.book(&symbol), &truth)
    });
    let refused = fake.stats().faults.too_many_requests - refused_before;
    let took = check_quiet_resync(synced, quiet, refused, &truth, c.feed.feed(), &c.log);
    assert_same_book(c.feed.book(&symbol).expect("shown at the end"), &truth);
    let stats = fake.stats();
    let f = &stats.faults;
    assert!(
        f.dropped + f.duplicated + f.overlapped >= 10,
        "too little chaos to mean anything: {stats:?}"
    );
    assert_eq!(f.reused_tokens, 0, "a one-shot token was reused");
    let a = c.feed.availability(&symbol).unwrap();
    check_availability(a, start.elapsed());
    report("blocking", a, took, refused);
    c.close();
}

#[test]
fn async_chaos_soak_with_a_quiet_last_third_ends_with_the_exchanges_book_on_smol_and_async_std() {
    on_both_runtimes(|| async {
        let fake = chaos_fake(32);
        let mut c = nonblocking(&fake, 42);
        let start = Instant::now();
        c.run_for(CHAOS).await;
        fake.pause_updates();
        let live = |f: &kucoin_async_std::BookFeed<Spot>| {
            f.feed().session().state() == kucoin_proto::ws::SessionState::Live
        };
        if !live(&c.feed) {
            assert!(c.run_until(LIMIT, |f, _| live(f)).await, "never live again");
        }
        let refused_before = fake.stats().faults.too_many_requests;
        fake.inject_close_all();
        let quiet = Instant::now();
        let truth = fake.true_book("BTC-USDT").unwrap();
        let symbol = btc();
        let mut disconnected = false;
        let synced = c
            .run_until(LIMIT, |f, e| {
                disconnected |= matches!(e, FeedEvent::Session(SessionEvent::Disconnected { .. }));
                disconnected && same(f.book(&symbol), &truth)
            })
            .await;
        let refused = fake.stats().faults.too_many_requests - refused_before;
        let took = check_quiet_resync(synced, quiet, refused, &truth, c.feed.feed(), &c.log);
        assert_same_book(c.feed.book(&symbol).expect("shown at the end"), &truth);
        assert_eq!(fake.stats().faults.reused_tokens, 0);
        let a = c.feed.availability(&symbol).unwrap();
        check_availability(a, start.elapsed());
        report("async", a, took, refused);
        c.close().await;
    });
}

#[test]
fn blocking_suspend_closes_and_stays_silent_then_resume_resyncs_with_a_new_token() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
    let mut c = blocking(&fake, 43);
    assert!(c.synced(LIMIT));
    c.feed.suspend().unwrap();
    assert!(c.feed.book(&btc()).is_none(), "a suspended book is shown");
    assert!(
        fake.wait_for(Duration::from_secs(2), |s| s.connections_open == 0),
        "the socket stayed open"
    );
    assert!(matches!(
        c.feed.suspend(),
        Err(kucoin_blocking::Error::Lifecycle(
            LifecycleError::AlreadySuspended
        ))
    ));
    let before = fake.stats();
    // Three ping intervals in the background, with the market moving.
    let give_up = Instant::now() + Duration::from_millis(600);
    while c.feed.next_event_until(give_up).is_some() {
        assert!(
            c.feed.book(&btc()).is_none(),
            "a book shown while suspended"
        );
    }
    let after = fake.stats();
    assert_eq!(
        after.rest_requests, before.rest_requests,
        "a request while suspended"
    );
    assert_eq!(
        after.pongs_sent, before.pongs_sent,
        "a ping while suspended"
    );
    assert_eq!(after.connections_accepted, before.connections_accepted);
    c.feed.resume().unwrap();
    assert!(c.synced(LIMIT), "no book after resume");
    c.converge_and_compare(&fake);
    let end = fake.stats();
    assert_eq!(
        end.bullets_issued,
        before.bullets_issued + 1,
        "one fresh bullet"
    );
    assert_eq!(end.faults.reused_tokens, 0);
    assert_eq!(end.tokens_rejected, 0);
    c.close();
}

#[test]
fn async_suspend_closes_and_stays_silent_then_resume_resyncs_with_a_new_token() {
    on_both_runtimes(|| async {
        let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
        let mut c = nonblocking(&fake, 44);
        assert!(c.synced(LIMIT).await);
        c.feed.suspend().await.unwrap();
        assert!(c.feed.book(&btc()).is_none());
        assert!(fake.wait_for(Duration::from_secs(2), |s| s.connections_open == 0));
        assert!(matches!(
            c.feed.network_changed().await,
            Err(kucoin_blocking::Error::Lifecycle(LifecycleError::Suspended))
        ));
        let before = fake.stats();
        let give_up = Instant::now() + Duration::from_millis(600);
        while c.feed.next_event_until(give_up).await.is_some() {
            assert!(c.feed.book(&btc()).is_none());
        }
        let after = fake.stats();
        assert_eq!(after.rest_requests, before.rest_requests);
        assert_eq!(after.pongs_sent, before.pongs_sent);
        c.feed.resume().unwrap();
        assert!(c.synced(LIMIT).await);
        c.converge_and_compare(&fake).await;
        let end = fake.stats();
        assert_eq!(end.bullets_issued, before.bullets_issued + 1);
        assert_eq!(end.faults.reused_tokens, 0);
        c.close().await;
    });
}

/// Pings every 5 s with a 5 s pong deadline: a silent socket would take up to 10 s to notice.
fn slow_ping_fake() -> FakeKucoin {
    FakeKucoin::start(FakeConfig::spot().with_ping(5_000, 5_000)).unwrap()
}

fn pong_timeouts<M: kucoin_proto::Market>(log: &[support::Timed<M>]) -> usize {
    log.iter()
        .filter(|t| {
            matches!(
                t.event,
                FeedEvent::Session(SessionEvent::Disconnected {
                    cause: DisconnectCause::PongTimeout
                })
            )
        })
        .count()
}

#[test]
fn blocking_network_change_on_a_silent_socket_resyncs_without_the_pong_timeout() {
    let fake = slow_ping_fake();
    let mut c = blocking(&fake, 45);
    assert!(c.synced(LIMIT));
    fake.inject_silence_all();
    c.run_for(Duration::from_millis(300));
    assert!(
        c.feed.book(&btc()).is_some(),
        "nothing can notice a silent socket yet"
    );
    let changed = Instant::now();
    c.feed.network_changed().unwrap();
    assert!(
        c.feed.book(&btc()).is_none(),
        "a book shown across a dropped socket"
    );
    assert!(
        c.synced(Duration::from_secs(3)),
        "no book after the network change"
    );
    let took = changed.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    c.converge_and_compare(&fake);
    assert_eq!(pong_timeouts(&c.log), 0);
    println!(
        "blocking: synced {} ms after the network change",
        took.as_millis()
    );
    c.close();
}

#[test]
fn async_network_change_on_a_silent_socket_resyncs_without_the_pong_timeout() {
    on_both_runtimes(|| async {
        let fake = slow_ping_fake();
        let mut c = nonblocking(&fake, 46);
        assert!(c.synced(LIMIT).await);
        fake.inject_silence_all();
        c.run_for(Duration::from_millis(300)).await;
        assert!(c.feed.book(&btc()).is_some());
        let changed = Instant::now();
        c.feed.network_changed().await.unwrap();
        assert!(c.feed.book(&btc()).is_none());
        assert!(c.synced(Duration::from_secs(3)).await);
        let took = changed.elapsed();
        c.converge_and_compare(&fake).await;
        assert_eq!(pong_timeouts(&c.log), 0);
        println!(
            "async: synced {} ms after the network change",
            took.as_millis()
        );
        c.close().await;
    });
}
