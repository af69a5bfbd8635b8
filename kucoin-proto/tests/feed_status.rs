//! The feed's state and last failure on virtual time: what it is doing, why it is not live, and
//! when it tries again.

use std::time::{Duration, Instant};

use kucoin_proto::feed::{
    CallPurpose, FailedStep, FailureCause, Feed, FeedConfig, FeedState, RestCall,
};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::{Backoff, SessionConfig, Transmit};
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

const BULLET: &[u8] = br#"{"code":"200000","data":{"token":"t1","instanceServers":[{"endpoint":"wss://ws.invalid/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
const SNAPSHOT: &[u8] = br#"{"code":"200000","data":{"time":1,"sequence":"100","bids":[["99","1"]],"asks":[["101","2"]]}}"#;

#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn feed(max_attempts: Option<u32>) -> (Feed<Spot>, Instant) {
    let t0 = t0();
    let session = SessionConfig::public()
        .with_seed(3)
        .with_backoff(Backoff {
            initial: ms(500),
            max: ms(4000),
            jitter: Duration::ZERO,
        })
        .with_max_attempts(max_attempts);
    let rest = RestClient::<Spot>::new()
        .with_base_url("http://127.0.0.1:1")
        .unwrap();
    let mut feed = Feed::new(rest, FeedConfig::default().with_session(session), t0).unwrap();
    feed.add_book(SpotSymbol::new("BTC-USDT").unwrap(), t0)
        .unwrap();
    (feed, t0)
}

fn call(feed: &mut Feed<Spot>, now: Instant) -> RestCall {
    feed.poll_request(now, UnixMillis(1_700_000_000_000))
        .expect("a REST call is due")
}

fn answer(feed: &mut Feed<Spot>, now: Instant, c: &RestCall, status: u16, body: &[u8]) {
    feed.handle_response(
        now,
        UnixMillis(1_700_000_000_000),
        c.id,
        status,
        &http::HeaderMap::new(),
        body,
    );
}

#[test]
fn unreachable_bullet_reports_connect_cause_and_next_retry() {
    let (mut feed, t0) = feed(None);
    assert_eq!(feed.state(), FeedState::Connecting);
    assert!(feed.last_failure().is_none());
    let c = call(&mut feed, t0);
    assert!(matches!(c.purpose, CallPurpose::Bullet { private: false }));
    let now = t0 + ms(3);
    feed.handle_request_failed_cause(
        now,
        c.id,
        FailureCause::Connect("Connection refused".into()),
    );
    let f = feed.last_failure().expect("the failure is kept").clone();
    assert_eq!(f.cause, FailureCause::Connect("Connection refused".into()));
    assert!(f.cause.is_unreachable() && !f.cause.is_refusal());
    assert_eq!(f.step, FailedStep::Bullet { private: false });
    assert_eq!(f.at, now);
    assert_eq!(f.attempt, 1);
    assert_eq!(f.retry_at, Some(now + ms(500)));
    assert_eq!(
        feed.state(),
        FeedState::Backoff {
            until: now + ms(500),
            attempt: 1
        }
    );
    assert_eq!(
        feed.state().describe(now),
        "backoff (attempt 1, next try in 0.5 s)"
    );
    assert_eq!(
        f.describe(now + ms(100)),
        "bullet: cannot connect: Connection refused (next try in 0.4 s)"
    );
    assert_eq!(feed.poll_timeout(), Some(now + ms(500)));

    // The retry: the state is connecting again, and a second failure doubles the pause.
    let now = now + ms(500);
    feed.handle_timeout(now);
    assert_eq!(feed.state(), FeedState::Connecting);
    let c = call(&mut feed, now);
    feed.handle_request_failed(now, c.id, "failed to lookup address information".into());
    let f = feed.last_failure().unwrap();
    assert!(matches!(f.cause, FailureCause::Dns(_)), "{f:?}");
    assert_eq!((f.attempt, f.retry_at), (2, Some(now + ms(1000))));
}

#[test]
fn kucoin_refusal_and_http_status_are_told_apart() {
    let (mut feed, t0) = feed(None);
    let c = call(&mut feed, t0);
    answer(
        &mut feed,
        t0,
        &c,
        401,
        br#"{"code":"400003","msg":"KC-API-KEY not exists"}"#,
    );
    let f = feed.last_failure().unwrap();
    assert_eq!(
        f.cause,
        FailureCause::KuCoin {
            code: kucoin_proto::rest::ApiCode::new("400003"),
            msg: "KC-API-KEY not exists".into()
        }
    );
    assert!(f.cause.is_refusal() && !f.cause.is_unreachable());
    assert!(matches!(
        feed.state(),
        FeedState::Backoff { attempt: 1, .. }
    ));

    let now = t0 + ms(500);
    feed.handle_timeout(now);
    let c = call(&mut feed, now);
    answer(&mut feed, now, &c, 502, b"<html>Bad Gateway</html>");
    let f = feed.last_failure().unwrap();
    assert_eq!(f.cause, FailureCause::HttpStatus(502));
    assert_eq!(
        f.to_string(),
        "bullet: HTTP 502 without a KuCoin error body"
    );
    assert!(!f.cause.is_refusal());
}

#[test]
fn states_follow_the_connection_subscription_and_book() {
    let (mut feed, t0) = feed(None);
    let c = call(&mut feed, t0);
    answer(&mut feed, t0, &c, 200, BULLET);
    assert_eq!(feed.state(), FeedState::Connecting);
    let url = feed.poll_connect().expect("a URL");
    // A TLS failure on the WebSocket: the step is the connect, the cause TLS.
    feed.handle_connect_failed_cause(t0, FailureCause::Tls("UnknownIssuer".into()));
    let f = feed.last_failure().unwrap();
    assert_eq!((f.step.clone(), f.attempt), (FailedStep::Connect, 1));
    assert!(matches!(f.cause, FailureCause::Tls(_)));
    drop(url);

    let now = t0 + ms(500);
    feed.handle_timeout(now);
    let c = call(&mut feed, now);
    answer(&mut feed, now, &c, 200, BULLET);
    let url = feed.poll_connect().unwrap();
    feed.handle_connected(now);
    assert_eq!(feed.state(), FeedState::Connecting, "welcome not seen yet");
    let connect_id = url
        .query_pairs()
        .find(|(k, _)| k == "connectId")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    feed.handle_frame(now, &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#));
    assert_eq!(feed.state(), FeedState::Subscribing);
    let mut ids = Vec::new();
    while let Some(t) = feed.poll_transmit() {
        if let Transmit::Text(text) = t {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "subscribe" {
                ids.push(v["id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(ids.len(), 1);
    feed.handle_frame(now, &format!(r#"{{"id":"{}","type":"ack"}}"#, ids[0]));
    assert_eq!(feed.state(), FeedState::Syncing);
    let snap = call(&mut feed, now);
    assert!(matches!(snap.purpose, CallPurpose::Snapshot { .. }));
    // A refused snapshot is the last failure (with the book's retry), the state stays syncing.
    answer(
        &mut feed,
        now,
        &snap,
        503,
        br#"{"code":"503000","msg":"maintenance"}"#,
    );
    let f = feed.last_failure().unwrap();
    assert_eq!(
        f.step,
        FailedStep::Snapshot {
            symbol: "BTC-USDT".into()
        }
    );
    assert!(f.retry_at.is_some_and(|at| at > now), "{f:?}");
    assert_eq!(feed.state(), FeedState::Syncing);
    let now = f.retry_at.unwrap();
    feed.handle_timeout(now);
    let snap = call(&mut feed, now);
    answer(&mut feed, now, &snap, 200, SNAPSHOT);
    feed.handle_frame(
        now,
        r#"{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{"changes":{"asks":[],"bids":[["98","1","101"]]},"sequenceEnd":101,"sequenceStart":101,"symbol":"BTC-USDT","time":1}}"#,
    );
    while feed.poll_event().is_some() {}
    assert_eq!(feed.state(), FeedState::Live);
    // The failure is history now, but kept.
    assert!(feed.last_failure().is_some());

    // The server closes: a stream failure with its close reason and a retry.
    let later = now + ms(10);
    feed.handle_disconnected(
        later,
        kucoin_proto::ws::DisconnectCause::ServerClosed {
            code: Some(1001),
            reason: "going away".into(),
        },
    );
    let f = feed.last_failure().unwrap();
    assert_eq!(f.step, FailedStep::Stream);
    assert!(matches!(
        f.cause,
        FailureCause::Closed {
            code: Some(1001),
            ..
        }
    ));
    assert!(f.retry_at.is_some());
    assert!(matches!(feed.state(), FeedState::Backoff { .. }));

    feed.handle_suspend(later).unwrap();
    assert_eq!(feed.state(), FeedState::Suspended);
    feed.handle_resume(later).unwrap();
    assert_eq!(feed.state(), FeedState::Connecting);
    feed.close(later);
    assert_eq!(feed.state(), FeedState::Ended);
}

#[test]
fn giving_up_ends_the_feed_and_keeps_the_reason() {
    let (mut feed, t0) = feed(Some(1));
    let c = call(&mut feed, t0);
    feed.handle_request_failed_cause(t0, c.id, FailureCause::Timeout("no answer in 15 s".into()));
    assert_eq!(feed.state(), FeedState::Ended);
    let f = feed.last_failure().unwrap();
    assert!(matches!(f.cause, FailureCause::Timeout(_)));
    assert_eq!(f.retry_at, None, "no retry after giving up");
}

#[test]
fn text_classification_covers_the_usual_os_messages() {
    for (text, kind) in [
        ("Connection refused (os error 111)", "connect"),
        (
            "failed to lookup address information: Name or service not known",
            "dns",
        ),
        ("invalid peer certificate: UnknownIssuer", "tls"),
        ("operation timed out", "timeout"),
        ("something odd", "other"),
    ] {
        assert_eq!(FailureCause::classify_text(text).kind(), kind, "{text}");
    }
}
