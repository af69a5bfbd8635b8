//! Helpers shared by the end-to-end tests of the adapters.
#![allow(dead_code)]

pub mod blocking;
pub mod nonblocking;

use kucoin_proto::book::OrderBook;
use kucoin_tests::TrueBook;

/// One side of a book as `(price, size)` text pairs, best first.
pub type Side = Vec<(String, String)>;

/// The client's book as `(price, size)` text pairs, best first, like [`TrueBook`].
pub fn levels(book: &OrderBook) -> (Side, Side) {
    let text = |l: kucoin_proto::book::Level| (l.price.to_string(), l.size.to_string());
    (
        book.bids().map(text).collect(),
        book.asks().map(text).collect(),
    )
}

/// Asserts the client's book equals the exchange's true book, level for level.
pub fn assert_same_book(book: &OrderBook, truth: &TrueBook) {
    assert_eq!(book.sequence(), truth.sequence, "sequence");
    let (bids, asks) = levels(book);
    assert_eq!(bids.len(), truth.bids.len(), "bid level count");
    assert_eq!(asks.len(), truth.asks.len(), "ask level count");
    assert_eq!(bids, truth.bids, "bids");
    assert_eq!(asks, truth.asks, "asks");
}

use std::time::{Duration, Instant};

use kucoin_proto::Market;
use kucoin_proto::auth::Credentials;
use kucoin_proto::book::{BookConfig, BookEvent};
use kucoin_proto::feed::{CallPurpose, FeedEvent, RequestError};
use kucoin_proto::rest::ResponseError;
use kucoin_proto::ws::{Backoff, BulletFailure, ReconnectReason, SessionConfig, SessionEvent};
use kucoin_tests::{TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET};

/// The keys the fake accepts.
pub fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

/// The fake's key with a wrong secret (KuCoin answers 400004 with key version 3).
pub fn wrong_keys() -> Credentials {
    Credentials::new(TEST_API_KEY, "wrong-secret", TEST_API_PASSPHRASE)
}

/// The session's reconnect backoff in these tests: short, so that every test stays quick.
pub const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_millis(800),
    jitter: Duration::from_millis(20),
};

/// The book's first snapshot retry delay in these tests (it doubles).
pub const SNAPSHOT_RETRY: Duration = Duration::from_millis(100);

/// A public session with short timeouts and [`BACKOFF`].
pub fn fast_session(seed: u64) -> SessionConfig {
    SessionConfig::public()
        .with_seed(seed)
        .with_backoff(BACKOFF)
        .with_connect_timeout(Duration::from_secs(2))
        .with_welcome_timeout(Duration::from_secs(2))
        .with_ack(Duration::from_secs(2), 2)
}

/// A book configuration with [`SNAPSHOT_RETRY`] (call it before `Config::credentials`, which
/// switches spot to the full snapshot).
pub fn fast_book() -> BookConfig {
    let mut book = BookConfig::default();
    book.retry_initial = SNAPSHOT_RETRY;
    book.retry_max = Duration::from_millis(800);
    book.snapshot_timeout = Duration::from_secs(5);
    book
}

/// An event and when the test received it.
#[derive(Debug, Clone)]
pub struct Timed<M: Market> {
    /// When `next_event_until` returned it.
    pub at: Instant,
    /// The event.
    pub event: FeedEvent<M>,
}

/// Whether the event says a book is in step.
pub fn is_synced<M: Market>(e: &FeedEvent<M>) -> bool {
    matches!(
        e,
        FeedEvent::Book {
            event: BookEvent::Synced { .. },
            ..
        }
    )
}

/// Whether the event is a caught gap.
pub fn is_gap<M: Market>(e: &FeedEvent<M>) -> bool {
    matches!(
        e,
        FeedEvent::Book {
            event: BookEvent::GapDetected { .. },
            ..
        }
    )
}

/// Whether the event is a live connection ending.
pub fn is_disconnected<M: Market>(e: &FeedEvent<M>) -> bool {
    matches!(e, FeedEvent::Session(SessionEvent::Disconnected { .. }))
}

/// Whether the event is a welcome.
pub fn is_connected<M: Market>(e: &FeedEvent<M>) -> bool {
    matches!(e, FeedEvent::Session(SessionEvent::Connected { .. }))
}

/// KuCoin's code of a failed REST call, whole.
pub fn request_code(error: &RequestError) -> Option<&str> {
    match error {
        RequestError::Response(e) => e.api().map(|a| a.code.as_str()),
        _ => None,
    }
}

/// The KuCoin code of a failed REST call for `purpose`-like calls, if this event is one.
pub fn failed_call<M: Market>(e: &FeedEvent<M>) -> Option<(&CallPurpose, Option<&str>)> {
    match e {
        FeedEvent::RequestFailed { purpose, error } => Some((purpose, request_code(error))),
        _ => None,
    }
}

/// The KuCoin code carried by a `Reconnecting` after a failed bullet, if this event is one.
pub fn bullet_reconnect_code<M: Market>(e: &FeedEvent<M>) -> Option<&str> {
    match e {
        FeedEvent::Session(SessionEvent::Reconnecting {
            reason: ReconnectReason::Bullet(BulletFailure::Response(ResponseError::Api(api))),
            ..
        }) => Some(api.code.as_str()),
        _ => None,
    }
}

/// Times of the events that match `pred`, in order.
pub fn times<M: Market>(log: &[Timed<M>], pred: impl Fn(&FeedEvent<M>) -> bool) -> Vec<Instant> {
    log.iter()
        .filter(|t| pred(&t.event))
        .map(|t| t.at)
        .collect()
}

/// Asserts consecutive `times` are spaced by at least `first`, doubling each step (a backoff
/// without jitter counted; the jitter only adds).
pub fn assert_backoff_spacing(what: &str, times: &[Instant], first: Duration) {
    let mut want = first;
    for pair in times.windows(2) {
        let [a, b] = pair else { continue };
        let gap = b.duration_since(*a);
        assert!(
            gap >= want,
            "{what}: retried after {gap:?}, backoff wants at least {want:?} (times {times:?})"
        );
        want *= 2;
    }
}
