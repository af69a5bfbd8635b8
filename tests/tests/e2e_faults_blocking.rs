//! The blocking adapter against the fake exchange's faults: tokens, 429000, slow snapshots,
//! wrong keys, clock skew and a chaos soak. Every test is bounded in time and ends with the
//! client's book compared level for level with the exchange's true book.

mod support;

use std::time::{Duration, Instant};

use kucoin_blocking::proto::book::{BookEvent, Side};
use kucoin_blocking::proto::feed::{CallPurpose, FeedEvent};
use kucoin_blocking::proto::rest::{BulletPrivate, ErrorClass, ResponseError};
use kucoin_blocking::proto::ws::{CloseReason, SessionEvent, SessionState, Topic};
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::{BookFeed, Config, Error, Rest};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults};
use support::blocking::Client;
use support::{
    BACKOFF, SNAPSHOT_RETRY, Timed, assert_backoff_spacing, failed_call, fast_book, fast_session,
    is_connected, is_disconnected, is_gap, is_synced, keys, times, wrong_keys,
};

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

/// A spot config on `fake` with the full (signed) snapshot and short timings.
fn config(fake: &FakeKucoin, seed: u64) -> Config<Spot> {
    Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(fast_book())
        .credentials(keys())
        .unwrap()
        .session(fast_session(seed))
}

fn client(fake: &FakeKucoin, seed: u64) -> Client<Spot> {
    Client::new(config(fake, seed), btc())
}

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn expired_token_gets_a_401_frame_then_a_new_bullet_and_the_book_syncs() {
    // Every token is expired by the time it is used: each connect gets KuCoin's 401 frame.
    let faults = Faults {
        token_ttl: Some(Duration::ZERO),
        one_shot_tokens: true,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_ping(200, 200).with_faults(faults)).unwrap();
    let mut c = client(&fake, 11);
    let mut expired = 0;
    assert!(c.run_until(LIMIT, |_, e| {
        expired += u32::from(matches!(e, FeedEvent::Session(SessionEvent::TokenExpired)));
        expired >= 2
    }));
    assert!(fake.stats().faults.expired_tokens >= 2);
    // Tokens now live long enough: the next bullet connects and the book syncs.
    fake.set_faults(Faults {
        token_ttl: Some(Duration::from_secs(5)),
        one_shot_tokens: true,
        ..Faults::none()
    });
    assert!(c.synced(LIMIT), "no sync once tokens were valid again");
    c.converge_and_compare(&fake);
    let stats = fake.stats();
    assert!(
        stats.bullets_issued > stats.faults.expired_tokens,
        "each attempt fetched a new bullet: {stats:?}"
    );
    assert_eq!(stats.faults.reused_tokens, 0, "a token was used twice");
    assert_eq!(
        stats.tokens_rejected, stats.faults.expired_tokens,
        "only expired tokens were refused"
    );
    // Each refusal was followed by a planned reconnect, never by a closed session.
    let reconnecting = times(&c.log, |e| {
        matches!(e, FeedEvent::Session(SessionEvent::Reconnecting { .. }))
    });
    assert!(reconnecting.len() >= 2);
    c.close();
}

#[test]
fn one_shot_tokens_never_bite_because_every_connection_fetches_a_new_bullet() {
    let faults = Faults {
        one_shot_tokens: true,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_ping(200, 200).with_faults(faults)).unwrap();
    let mut c = client(&fake, 12);
    assert!(c.synced(LIMIT));
    // A close frame, then an abrupt hang-up: two reconnects.
    fake.inject_close_all();
    assert!(c.run_until(LIMIT, |f, _| f.feed().stats().reconnects >= 1
        && f.book(&btc()).is_some()));
    fake.inject_hangup_all();
    assert!(c.run_until(LIMIT, |f, _| f.feed().stats().reconnects >= 2
        && f.book(&btc()).is_some()));
    c.converge_and_compare(&fake);
    let stats = fake.stats();
    assert_eq!(stats.faults.reused_tokens, 0, "a one-shot token was reused");
    assert_eq!(stats.tokens_rejected, 0);
    // Three connections at least (a slow machine may add a ping timeout's reconnect).
    assert!(stats.connections_accepted >= 3, "{stats:?}");
    assert_eq!(
        stats.bullets_issued, stats.connections_accepted,
        "one bullet per connection"
    );
    c.close();
}

#[test]
fn too_many_requests_on_bullets_and_snapshots_are_retried_with_backoff() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
    // The first two bullet requests are refused with 429000.
    fake.inject_too_many_requests(2);
    let mut c = client(&fake, 13);
    assert!(c.run_until(LIMIT, |_, e| is_connected(e)));
    // Connected: no snapshot can have been asked for yet (no message has arrived), so the next
    // two 429000s fall on snapshots.
    fake.inject_too_many_requests(2);
    assert!(c.synced(LIMIT));
    assert_eq!(fake.stats().faults.too_many_requests, 4);

    let bullet_failures = times(&c.log, |e| {
        failed_call(e).is_some_and(|(p, code)| {
            *p == CallPurpose::Bullet { private: false } && code == Some("429000")
        })
    });
    let snapshot_failures = times(&c.log, |e| {
        failed_call(e).is_some_and(|(p, code)| {
            matches!(p, CallPurpose::Snapshot { .. }) && code == Some("429000")
        })
    });
    assert_eq!(bullet_failures.len(), 2, "{:?}", c.log);
    assert_eq!(snapshot_failures.len(), 2, "{:?}", c.log);
    // The session backs off: 100 ms, then 200 ms (plus jitter) between bullet requests.
    let connected = times(&c.log, is_connected);
    let mut bullets = bullet_failures.clone();
    bullets.push(connected[0]);
    assert_backoff_spacing("bullet", &bullets, BACKOFF.initial);
    // Every retry waits for the `retry_at` the session announced.
    let retry_ats: Vec<Instant> = c
        .log
        .iter()
        .filter_map(|t| match &t.event {
            FeedEvent::Session(SessionEvent::Reconnecting { retry_at, .. }) => Some(*retry_at),
            _ => None,
        })
        .collect();
    assert_eq!(retry_ats.len(), 2);
    assert!(bullets[1] >= retry_ats[0] && bullets[2] >= retry_ats[1]);
    // The book backs off too: 100 ms, then 200 ms between snapshot requests.
    let snapshot_retries = times(&c.log, |e| {
        matches!(
            e,
            FeedEvent::Book {
                event: BookEvent::SnapshotFailed { retryable: true },
                ..
            }
        )
    });
    assert_eq!(snapshot_retries.len(), 2);
    let mut snapshots = snapshot_failures.clone();
    snapshots.push(*times(&c.log, is_synced).last().unwrap());
    assert_backoff_spacing("snapshot", &snapshots, SNAPSHOT_RETRY);
    c.converge_and_compare(&fake);
    c.close();
}

#[test]
fn slow_snapshots_do_not_stop_pings() {
    // A snapshot takes longer than pingInterval + pingTimeout, and the fake hangs up on clients
    // that stop pinging: a loop that waited on the snapshot would lose its connection.
    let faults = Faults {
        snapshot_delay: Duration::from_millis(600),
        ..Faults::none()
    };
    let mut fake_config = FakeConfig::spot().with_ping(200, 200).with_faults(faults);
    fake_config.close_idle_clients = true;
    let fake = FakeKucoin::start(fake_config).unwrap();
    let mut c = client(&fake, 14);
    assert!(c.synced(LIMIT));
    for _ in 0..2 {
        // A dropped frame: gap, resync, another slow snapshot.
        fake.inject_drop(1);
        let mut pongs_at_gap = None;
        let mut pongs_during = 0;
        assert!(c.run_until(LIMIT, |f, e| {
            if is_gap(e) {
                pongs_at_gap = Some(fake.stats().pongs_sent);
            }
            if let Some(before) = pongs_at_gap
                && is_synced(e)
            {
                pongs_during = fake.stats().pongs_sent - before;
                return f.book(&btc()).is_some();
            }
            false
        }));
        // At least 600 ms with the snapshot in flight: three ping times, two pongs at least.
        assert!(
            pongs_during >= 2,
            "only {pongs_during} pongs while a snapshot was in flight"
        );
    }
    c.converge_and_compare(&fake);
    let stats = fake.stats();
    assert!(stats.faults.slow_snapshots >= 3);
    assert_eq!(stats.idle_closes, 0, "the fake hung up on a silent client");
    assert!(
        !c.log.iter().any(|t| is_disconnected(&t.event)),
        "{:?}",
        c.log
    );
    assert_eq!(c.feed.feed().stats().reconnects, 0);
    c.close();
}

#[test]
fn private_bullet_with_wrong_keys_is_a_typed_auth_error() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(wrong_keys())
        .unwrap();
    let err = Rest::new(&config)
        .get(&BulletPrivate::<Spot>::default())
        .unwrap_err();
    let Error::Response(ResponseError::Api(api)) = &err else {
        panic!("expected a KuCoin API error, got {err:?}");
    };
    // Key version 3 signs the passphrase with the secret: a wrong secret shows as 400004.
    assert_eq!(api.code.as_str(), "400004");
    assert_eq!(api.class(), ErrorClass::Auth);
    assert!(!api.is_retryable());
    assert_eq!(fake.stats().auth_failures, 1);
    assert_eq!(fake.stats().bullets_issued, 0);
}

#[test]
fn private_feed_with_wrong_keys_reports_the_whole_kucoin_code_and_backs_off() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let session = fast_session(15).with_max_attempts(Some(3));
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(wrong_keys())
        .unwrap()
        .session(session)
        .private();
    let mut feed = BookFeed::new(config).unwrap();
    feed.subscribe(Topic::parse("/market/ticker:BTC-USDT").unwrap())
        .unwrap();
    let mut log: Vec<Timed<Spot>> = Vec::new();
    let give_up = Instant::now() + LIMIT;
    while let Some(event) = feed.next_event_until(give_up) {
        log.push(Timed {
            at: Instant::now(),
            event,
        });
    }
    let failed = times(&log, |e| {
        failed_call(e).is_some_and(|(p, code)| {
            *p == CallPurpose::Bullet { private: true } && code == Some("400004")
        })
    });
    let reconnects: Vec<&str> = log
        .iter()
        .filter_map(|t| support::bullet_reconnect_code(&t.event))
        .collect();
    assert_eq!(failed.len(), 3, "{log:?}");
    assert_eq!(reconnects, ["400004", "400004"], "{log:?}");
    assert_backoff_spacing("private bullet", &failed, BACKOFF.initial);
    assert!(
        matches!(
            log.last().map(|t| &t.event),
            Some(FeedEvent::Session(SessionEvent::Closed {
                reason: CloseReason::TooManyAttempts { attempts: 3 }
            }))
        ),
        "{log:?}"
    );
    let stats = fake.stats();
    assert_eq!(stats.auth_failures, 3);
    assert_eq!((stats.bullets_issued, stats.connections_accepted), (0, 0));
}

/// The fake's clock runs two minutes ahead: far outside KuCoin's 5 s window.
const SKEW_MS: i64 = 120_000;

fn skewed_fake() -> FakeKucoin {
    let mut fake_config = FakeConfig::spot().with_ping(200, 200);
    fake_config.clock_offset_ms = SKEW_MS;
    FakeKucoin::start(fake_config).unwrap()
}

/// Syncs a book against the skewed fake. A private session meets 400002 first on its bullet, a
/// public one on the full (signed) snapshot; either way the feed learns the server's clock.
fn clock_skew_is_learnt_and_the_book_syncs(private: bool) {
    let fake = skewed_fake();
    let config = config(&fake, 16);
    let config = if private { config.private() } else { config };
    let mut c = Client::new(config, btc());
    assert!(c.synced(LIMIT), "{:?}", c.log);
    let refusals: Vec<(usize, &CallPurpose)> = c
        .log
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match failed_call(&t.event) {
            Some((purpose, Some("400002"))) => Some((i, purpose)),
            _ => None,
        })
        .collect();
    let (first_refusal, purpose) = *refusals.first().expect("a signed request met 400002");
    if private {
        assert_eq!(*purpose, CallPurpose::Bullet { private: true });
    } else {
        assert!(
            matches!(purpose, CallPurpose::Snapshot { .. }),
            "{purpose:?}"
        );
    }
    let adjusted: Vec<(usize, i64)> = c
        .log
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.event {
            FeedEvent::ClockAdjusted { offset_ms } => Some((i, offset_ms)),
            _ => None,
        })
        .collect();
    let [(learnt_at, offset_ms)] = adjusted[..] else {
        panic!("the clock must be learnt once: {adjusted:?}");
    };
    assert!(first_refusal < learnt_at);
    assert!((offset_ms - SKEW_MS).abs() < 1_000, "offset {offset_ms} ms");
    assert_eq!(c.feed.feed().server_time_offset().offset_ms(), offset_ms);
    // Once learnt, no signed request is refused again.
    let refused = fake.stats().auth_failures;
    assert_eq!(refused, refusals.len() as u64);
    fake.inject_drop(1);
    assert!(c.run_until(LIMIT, |f, e| is_gap(e) || f.book(&btc()).is_none()));
    assert!(c.synced(LIMIT));
    assert_eq!(fake.stats().auth_failures, refused);
    c.converge_and_compare(&fake);
    c.close();
}

#[test]
fn clock_skew_on_the_private_bullet_is_learnt_from_server_time_and_the_book_syncs() {
    clock_skew_is_learnt_and_the_book_syncs(true);
}

#[test]
fn clock_skew_on_the_full_snapshot_is_learnt_from_server_time_and_the_book_syncs() {
    clock_skew_is_learnt_and_the_book_syncs(false);
}

#[test]
fn rest_get_retries_once_after_syncing_the_clock() {
    let fake = skewed_fake();
    fake.pause_updates();
    let rest = Rest::new(&config(&fake, 17));
    let bullet = rest.get(&BulletPrivate::<Spot>::default()).unwrap();
    assert!(!bullet.token.is_empty());
    let stats = fake.stats();
    assert_eq!(
        stats.auth_failures, 1,
        "one 400002, then the retry succeeded"
    );
    assert_eq!(stats.bullets_issued, 1);
    // The learnt clock is kept: the next signed call succeeds first time.
    rest.get(&BulletPrivate::<Spot>::default()).unwrap();
    assert_eq!(fake.stats().auth_failures, 1);
}

#[test]
fn chaos_soak_then_calm_gives_an_equal_book() {
    let fake = FakeKucoin::start(
        FakeConfig::spot()
            .with_ping(200, 200)
            .with_rate(Duration::from_millis(2), 3)
            .with_faults(Faults::chaos(21)),
    )
    .unwrap();
    let mut c = client(&fake, 18);
    c.run_for(Duration::from_secs(3));
    fake.set_faults(Faults::none());
    c.converge_and_compare(&fake);
    let stats = fake.stats();
    let f = &stats.faults;
    assert!(
        f.dropped + f.duplicated + f.overlapped >= 10,
        "too little chaos to mean anything: {stats:?}"
    );
    assert_eq!(f.reused_tokens, 0, "a one-shot token was reused");
    let client_stats = c.feed.feed().stats();
    assert!(
        client_stats.gaps + client_stats.reconnects >= 1,
        "{client_stats:?}"
    );
    c.close();
}

#[test]
fn no_book_is_shown_while_the_session_cannot_connect() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
    let mut book = fast_book();
    book.first_update_wait = Duration::from_millis(200);
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(book)
        .credentials(keys())
        .unwrap()
        .session(fast_session(20));
    let mut c = Client::new(config, btc());
    assert!(c.synced(LIMIT));
    // From now on every token is expired when used: the session cannot get back in, while
    // snapshots are still served.
    fake.set_faults(Faults {
        token_ttl: Some(Duration::ZERO),
        ..Faults::none()
    });
    fake.inject_close_all();
    let mut shown_offline = None;
    c.run_until(Duration::from_millis(800), |f, e| {
        let live = f.feed().session().state() == SessionState::Live;
        if !live && f.book(&btc()).is_some() {
            shown_offline = Some(format!("{e:?}"));
            return true;
        }
        false
    });
    assert_eq!(shown_offline, None, "a book was shown with no live stream");
    assert!(fake.stats().faults.expired_tokens >= 2);
    // Tokens valid again: the book comes back and equals the exchange's.
    fake.set_faults(Faults::none());
    assert!(c.synced(LIMIT));
    c.converge_and_compare(&fake);
    c.close();
}

#[test]
fn a_slow_snapshot_in_flight_does_not_delay_the_reconnect() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 200)).unwrap();
    let mut c = client(&fake, 22);
    assert!(c.synced(LIMIT));
    // The next snapshot hangs for a second; the server closes while it is in flight.
    fake.set_faults(Faults {
        snapshot_delay: Duration::from_millis(1000),
        ..Faults::none()
    });
    fake.inject_drop(1);
    assert!(c.run_until(LIMIT, |_, e| is_gap(e)));
    fake.inject_close_all();
    assert!(c.run_until(LIMIT, |_, e| is_disconnected(e)));
    let lost = Instant::now();
    assert!(c.run_until(LIMIT, |_, e| is_connected(e)));
    let took = lost.elapsed();
    // Backoff (at most 120 ms here) plus a bullet and a handshake on loopback: far below the
    // second the snapshot takes.
    assert!(
        took < Duration::from_millis(600),
        "reconnect waited {took:?} behind the slow snapshot"
    );
    fake.set_faults(Faults::none());
    assert!(c.synced(LIMIT));
    c.converge_and_compare(&fake);
    c.close();
}

#[test]
fn public_top100_book_equals_the_exchange_within_its_complete_depth() {
    let faults = Faults {
        seed: 4,
        drop_one_in: 40,
        duplicate_one_in: 20,
        overlap_one_in: 20,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_ping(200, 200).with_faults(faults)).unwrap();
    // No keys: the book bootstraps from level2_100.
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(fast_book())
        .session(fast_session(23));
    let mut c = Client::new(config, btc());
    let mut gaps = 0;
    assert!(c.run_until(LIMIT, |f, e| {
        gaps += u32::from(is_gap(e));
        gaps >= 2 && f.book(&btc()).is_some()
    }));
    fake.set_faults(Faults::none());
    fake.pause_updates();
    let truth = fake.true_book("BTC-USDT").unwrap();
    let at_truth = |f: &BookFeed<Spot>| {
        f.book(&btc())
            .is_some_and(|b| b.sequence() == truth.sequence)
    };
    assert!(at_truth(&c.feed) || c.run_until(LIMIT, |f, _| at_truth(f)));
    let book = c.feed.book(&btc()).unwrap();
    let (bids, asks) = support::levels(book);
    let (bid_depth, ask_depth) = (
        book.complete_depth(Side::Bid),
        book.complete_depth(Side::Ask),
    );
    assert!(
        bid_depth >= 50 && ask_depth >= 50,
        "{bid_depth} {ask_depth}"
    );
    assert_eq!(bids[..bid_depth], truth.bids[..bid_depth], "bids");
    assert_eq!(asks[..ask_depth], truth.asks[..ask_depth], "asks");
    c.close();
}

#[test]
fn two_books_on_one_connection_survive_drops_and_a_server_close_with_equal_books() {
    let faults = Faults {
        seed: 6,
        drop_one_in: 40,
        duplicate_one_in: 20,
        overlap_one_in: 20,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_ping(200, 200).with_faults(faults)).unwrap();
    let eth = SpotSymbol::new("ETH-USDT").unwrap();
    let mut c = client(&fake, 24);
    c.feed.add_book(eth.clone()).unwrap();
    let both = |f: &BookFeed<Spot>| f.book(&btc()).is_some() && f.book(&eth).is_some();
    let mut gaps = 0;
    assert!(c.run_until(LIMIT, |f, e| {
        gaps += u32::from(is_gap(e));
        gaps >= 4 && both(f)
    }));
    fake.inject_close_all();
    assert!(c.run_until(LIMIT, |f, _| f.feed().stats().reconnects >= 1 && both(f)));
    fake.set_faults(Faults::none());
    c.converge_and_compare(&fake);
    // The exchange is paused: ETH must be at its true sequence too.
    let truth = fake.true_book("ETH-USDT").unwrap();
    let eth_at_truth =
        |f: &BookFeed<Spot>| f.book(&eth).is_some_and(|b| b.sequence() == truth.sequence);
    assert!(eth_at_truth(&c.feed) || c.run_until(LIMIT, |f, _| eth_at_truth(f)));
    support::assert_same_book(c.feed.book(&eth).unwrap(), &truth);
    c.close();
}
