//! The blocking adapter against the fake exchange over loopback.

mod support;

use std::time::{Duration, Instant};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::book::BookEvent;
use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::ws::SessionConfig;
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::{BookFeed, Config};
use kucoin_tests::{
    FakeConfig, FakeKucoin, Faults, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
};

fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

fn feed_for(fake: &FakeKucoin) -> BookFeed<Spot> {
    let session = SessionConfig::public()
        .with_seed(1)
        .with_welcome_timeout(Duration::from_secs(2));
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
        .session(session);
    let mut feed = BookFeed::new(config).unwrap();
    feed.add_book(btc()).unwrap();
    feed
}

/// Runs the feed until `done` says so, within `limit`.
fn run_until(
    feed: &mut BookFeed<Spot>,
    limit: Duration,
    mut done: impl FnMut(&BookFeed<Spot>, &FeedEvent<Spot>) -> bool,
) -> bool {
    let give_up = Instant::now() + limit;
    while let Some(event) = feed.next_event_until(give_up) {
        if done(feed, &event) {
            return true;
        }
    }
    false
}

/// Freezes the exchange, lets the client catch up, and compares the books.
fn converge_and_compare(fake: &FakeKucoin, feed: &mut BookFeed<Spot>) {
    fake.pause_updates();
    let truth = fake.true_book("BTC-USDT").unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    while feed.book(&btc()).map(|b| b.sequence()) != Some(truth.sequence) {
        assert!(
            Instant::now() < give_up,
            "client did not reach sequence {} (at {:?}, state {:?})",
            truth.sequence,
            feed.book(&btc()).map(|b| b.sequence()),
            feed.feed().book_sync(&btc()).map(|b| b.state())
        );
        let _ = feed.next_event_until(Instant::now() + Duration::from_millis(20));
    }
    support::assert_same_book(feed.book(&btc()).unwrap(), &truth);
}

#[test]
fn clean_sync_equals_the_exchange_book() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(300, 300)).unwrap();
    let mut feed = feed_for(&fake);
    assert!(run_until(
        &mut feed,
        Duration::from_secs(20),
        |_, e| matches!(
            e,
            FeedEvent::Book {
                event: BookEvent::Synced { .. },
                ..
            }
        )
    ));
    // Let some updates flow over the live book, then compare.
    let until = Instant::now() + Duration::from_millis(300);
    while feed.next_event_until(until).is_some() {}
    converge_and_compare(&fake, &mut feed);
    assert!(feed.feed().stats().book_frames > 0);
    assert_eq!(feed.feed().stats().gaps, 0);
    feed.close();
}

#[test]
fn dropped_duplicated_and_overlapping_frames_are_survived_with_an_equal_book() {
    let faults = Faults {
        seed: 3,
        drop_one_in: 40,
        duplicate_one_in: 20,
        overlap_one_in: 20,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_ping(300, 300).with_faults(faults)).unwrap();
    let mut feed = feed_for(&fake);
    let mut gaps = 0;
    assert!(
        run_until(&mut feed, Duration::from_secs(30), |f, e| {
            if matches!(
                e,
                FeedEvent::Book {
                    event: BookEvent::GapDetected { .. },
                    ..
                }
            ) {
                gaps += 1;
            }
            gaps >= 2 && f.book(&btc()).is_some()
        }),
        "expected gaps to be caught and the book resynced"
    );
    fake.set_faults(Faults::none());
    converge_and_compare(&fake, &mut feed);
    assert!(fake.stats().faults.dropped > 0);
    feed.close();
}

#[test]
fn server_close_reconnects_with_a_new_token_and_resyncs() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(300, 300)).unwrap();
    let mut feed = feed_for(&fake);
    assert!(run_until(&mut feed, Duration::from_secs(20), |f, _| f
        .book(&btc())
        .is_some()));
    let bullets = fake.stats().bullets_issued;
    fake.inject_close_all();
    assert!(run_until(&mut feed, Duration::from_secs(20), |f, _| {
        f.feed().stats().reconnects >= 1 && f.book(&btc()).is_some()
    }));
    assert!(
        fake.stats().bullets_issued > bullets,
        "a new bullet per connection"
    );
    converge_and_compare(&fake, &mut feed);
    feed.close();
}

#[test]
fn silent_socket_is_detected_within_ping_interval_plus_timeout() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
    let mut feed = feed_for(&fake);
    assert!(run_until(&mut feed, Duration::from_secs(20), |f, _| f
        .book(&btc())
        .is_some()));
    let bullets = fake.stats().bullets_issued;
    let silenced_at = Instant::now();
    fake.inject_silence_all();
    let mut detected = None;
    assert!(run_until(&mut feed, Duration::from_secs(10), |_, e| {
        if matches!(
            e,
            FeedEvent::Session(kucoin_blocking::proto::ws::SessionEvent::Disconnected { .. })
        ) {
            detected = Some(silenced_at.elapsed());
            return true;
        }
        false
    }));
    let took = detected.unwrap();
    // pingInterval + pingTimeout, plus scheduling slack on a loaded machine.
    assert!(took <= Duration::from_millis(400 + 300), "took {took:?}");
    assert!(run_until(&mut feed, Duration::from_secs(20), |f, _| f
        .book(&btc())
        .is_some()));
    assert!(
        fake.stats().bullets_issued > bullets,
        "reconnect used a new token"
    );
    feed.close();
}
