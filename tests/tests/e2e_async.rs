//! The async adapter against the fake exchange, under smol and under async-std.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use kucoin_async_std::proto::auth::Credentials;
use kucoin_async_std::proto::book::BookEvent;
use kucoin_async_std::proto::feed::FeedEvent;
use kucoin_async_std::proto::rest::{BulletPrivate, ErrorClass, ResponseError};
use kucoin_async_std::proto::ws::{SessionConfig, SessionEvent};
use kucoin_async_std::proto::{Spot, SpotSymbol};
use kucoin_async_std::{BookFeed, Config, Error, Rest};
use kucoin_tests::{
    FakeConfig, FakeKucoin, Faults, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
};

/// Runs the same test body on both runtimes.
fn on_both_runtimes<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    smol::block_on(test());
    async_std::task::block_on(test());
}

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
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
        .session(SessionConfig::public().with_seed(2))
}

async fn run_until(
    feed: &mut BookFeed<Spot>,
    limit: Duration,
    mut done: impl FnMut(&BookFeed<Spot>, &FeedEvent<Spot>) -> bool,
) -> bool {
    let give_up = Instant::now() + limit;
    while let Some(event) = feed.next_event_until(give_up).await {
        if done(feed, &event) {
            return true;
        }
    }
    false
}

async fn converge_and_compare(fake: &FakeKucoin, feed: &mut BookFeed<Spot>) {
    fake.pause_updates();
    let truth = fake.true_book("BTC-USDT").unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    while feed.book(&btc()).map(|b| b.sequence()) != Some(truth.sequence) {
        assert!(
            Instant::now() < give_up,
            "client did not reach sequence {}",
            truth.sequence
        );
        let _ = feed
            .next_event_until(Instant::now() + Duration::from_millis(20))
            .await;
    }
    support::assert_same_book(feed.book(&btc()).unwrap(), &truth);
}

#[test]
fn async_clean_sync_equals_the_exchange_book_on_smol_and_async_std() {
    on_both_runtimes(|| async {
        let fake = FakeKucoin::start(FakeConfig::spot().with_ping(300, 300)).unwrap();
        let mut feed = BookFeed::new(config(&fake)).unwrap();
        feed.add_book(btc()).unwrap();
        assert!(
            run_until(&mut feed, Duration::from_secs(20), |_, e| matches!(
                e,
                FeedEvent::Book {
                    event: BookEvent::Synced { .. },
                    ..
                }
            ))
            .await
        );
        let until = Instant::now() + Duration::from_millis(300);
        while feed.next_event_until(until).await.is_some() {}
        converge_and_compare(&fake, &mut feed).await;
        feed.close().await;
    });
}

#[test]
fn async_faults_are_survived_with_an_equal_book_on_smol_and_async_std() {
    on_both_runtimes(|| async {
        let faults = Faults {
            seed: 9,
            drop_one_in: 40,
            duplicate_one_in: 20,
            overlap_one_in: 20,
            ..Faults::none()
        };
        let fake =
            FakeKucoin::start(FakeConfig::spot().with_ping(300, 300).with_faults(faults)).unwrap();
        let mut feed = BookFeed::new(config(&fake)).unwrap();
        feed.add_book(btc()).unwrap();
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
            })
            .await
        );
        fake.set_faults(Faults::none());
        fake.inject_close_all();
        assert!(
            run_until(&mut feed, Duration::from_secs(20), |f, _| {
                f.feed().stats().reconnects >= 1 && f.book(&btc()).is_some()
            })
            .await
        );
        converge_and_compare(&fake, &mut feed).await;
        feed.close().await;
    });
}

#[test]
fn async_silent_socket_is_detected_and_a_new_token_is_used() {
    on_both_runtimes(|| async {
        let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
        let mut feed = BookFeed::new(config(&fake)).unwrap();
        feed.add_book(btc()).unwrap();
        assert!(
            run_until(&mut feed, Duration::from_secs(20), |f, _| f
                .book(&btc())
                .is_some())
            .await
        );
        let bullets = fake.stats().bullets_issued;
        let silenced_at = Instant::now();
        fake.inject_silence_all();
        let mut took = None;
        assert!(
            run_until(&mut feed, Duration::from_secs(10), |_, e| {
                if matches!(e, FeedEvent::Session(SessionEvent::Disconnected { .. })) {
                    took = Some(silenced_at.elapsed());
                    return true;
                }
                false
            })
            .await
        );
        let took = took.unwrap();
        assert!(took <= Duration::from_millis(400 + 300), "took {took:?}");
        assert!(
            run_until(&mut feed, Duration::from_secs(20), |f, _| f
                .book(&btc())
                .is_some())
            .await
        );
        assert!(fake.stats().bullets_issued > bullets);
        feed.close().await;
    });
}

#[test]
fn async_private_bullet_with_wrong_keys_is_a_typed_auth_error() {
    on_both_runtimes(|| async {
        let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
        let config = Config::<Spot>::new()
            .rest_url(&fake.rest_url())
            .unwrap()
            .credentials(Credentials::new(
                TEST_API_KEY,
                "wrong-secret",
                TEST_API_PASSPHRASE,
            ))
            .unwrap();
        let rest = Rest::new(&config);
        let err = rest
            .get(&BulletPrivate::<Spot>::default())
            .await
            .unwrap_err();
        let Error::Response(ResponseError::Api(api)) = &err else {
            panic!("expected a KuCoin API error, got {err:?}");
        };
        // With key version 3 the passphrase is signed with the secret, so a wrong secret is
        // first seen as a wrong passphrase: 400004 (KuCoin's "Invalid KC-API-PASSPHRASE").
        assert_eq!(api.code.as_str(), "400004");
        assert_eq!(api.class(), ErrorClass::Auth);
        assert!(!api.is_retryable());
    });
}
