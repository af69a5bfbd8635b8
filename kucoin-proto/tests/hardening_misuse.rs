//! Calling the API in a wrong order: an error that says what to do, or a harmless no-op; never a
//! panic, never a broken state.

mod hardening_common;

use std::time::Duration;

use hardening_common::{BULLET, Rig, l2, snapshot_body, sym, t0};
use kucoin_proto::book::{BookConfig, BookError, BookState, SpotBookSync};
use kucoin_proto::feed::{CallId, FeedError, FeedEvent};
use kucoin_proto::rest::L2Snapshot;
use kucoin_proto::ws::{
    DisconnectCause, Session, SessionConfig, SessionEvent, SessionState, SubscribeError, Topic,
    Transmit,
};

const WELCOME: &str = r#"{"id":"w","type":"welcome"}"#;

/// The states a misuse is tried in.
#[derive(Debug, Clone, Copy)]
enum At {
    NeedBullet,
    Connecting,
    AwaitingWelcome,
    Live,
    Closed,
}

fn session_at(at: At) -> Session {
    let now = t0();
    let mut s = Session::new(SessionConfig::public().with_seed(1), now);
    s.subscribe(Topic::parse("/market/ticker:BTC-USDT").unwrap())
        .unwrap();
    let _ = s.poll_fetch();
    if matches!(at, At::NeedBullet) {
        return s;
    }
    s.handle_bullet_response(now, 200, BULLET.as_bytes())
        .unwrap();
    let _ = s.poll_connect().unwrap();
    if matches!(at, At::Connecting) {
        return s; // the handshake is running
    }
    s.handle_connected(now);
    if matches!(at, At::AwaitingWelcome) {
        return s;
    }
    s.handle_frame(now, WELCOME).unwrap();
    while s.poll_transmit().is_some() {}
    while s.poll_event().is_some() {}
    if matches!(at, At::Closed) {
        s.close(now);
        s.handle_disconnected(now, DisconnectCause::Transport("closed".into()));
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        assert_eq!(s.state(), SessionState::Closed);
    }
    s
}

fn expected_state(at: At) -> SessionState {
    match at {
        At::NeedBullet => SessionState::NeedBullet,
        At::Connecting => SessionState::Connecting,
        At::AwaitingWelcome => SessionState::AwaitingWelcome,
        At::Live => SessionState::Live,
        At::Closed => SessionState::Closed,
    }
}

/// A misuse: what it does to the session.
type Misuse = fn(&mut Session, std::time::Instant);

#[test]
fn session_inputs_out_of_order_are_ignored_harmlessly() {
    let table: Vec<(&str, Vec<At>, Misuse)> = vec![
        (
            "a frame before any connection",
            vec![At::NeedBullet, At::Connecting, At::Closed],
            |s, now| {
                assert!(s.handle_frame(now, WELCOME).unwrap().is_none());
                assert!(s.handle_frame(now, "garbage").unwrap().is_none());
            },
        ),
        (
            "connected without a URL handed out",
            vec![At::NeedBullet, At::Closed],
            |s, now| s.handle_connected(now),
        ),
        (
            "connected twice",
            vec![At::AwaitingWelcome, At::Live],
            |s, now| s.handle_connected(now),
        ),
        ("welcome twice", vec![At::Live], |s, now| {
            assert!(s.handle_frame(now, WELCOME).unwrap().is_none());
        }),
        (
            "a bullet answer nobody asked for",
            vec![At::Connecting, At::AwaitingWelcome, At::Live, At::Closed],
            |s, now| {
                let _ = s.handle_bullet_response(now, 200, BULLET.as_bytes());
            },
        ),
        (
            "a bullet failure nobody asked for",
            vec![At::Connecting, At::AwaitingWelcome, At::Live, At::Closed],
            |s, now| s.handle_bullet_failed(now, "late".into()),
        ),
        (
            "connect failed without a connection attempt",
            vec![At::NeedBullet, At::Live, At::Closed],
            |s, now| s.handle_connect_failed(now, "late".into()),
        ),
        (
            "disconnected without a connection",
            vec![At::NeedBullet, At::Closed],
            |s, now| s.handle_disconnected(now, DisconnectCause::Transport("late".into())),
        ),
        (
            "a timeout from the past",
            vec![
                At::NeedBullet,
                At::Connecting,
                At::AwaitingWelcome,
                At::Live,
                At::Closed,
            ],
            |s, now| s.handle_timeout(now - Duration::from_secs(3600)),
        ),
        (
            "a timeout before anything is due",
            vec![At::AwaitingWelcome, At::Live, At::Closed],
            |s, now| s.handle_timeout(now),
        ),
    ];
    for (name, states, misuse) in table {
        for at in states {
            let mut s = session_at(at);
            let now = t0() + Duration::from_millis(1);
            let deadline = s.poll_timeout();
            misuse(&mut s, now);
            assert_eq!(s.state(), expected_state(at), "{name} in {at:?}");
            assert!(s.poll_connect().is_none(), "{name} in {at:?}: a second URL");
            assert!(s.poll_fetch().is_none(), "{name} in {at:?}: a new bullet");
            let texts: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
            // A handshake the session did not ask for is answered by closing that socket.
            let stray_socket = name.starts_with("connected") && texts == [Transmit::Close];
            assert!(
                texts.is_empty() || stray_socket,
                "{name} in {at:?}: wrote {texts:?}"
            );
            let events: Vec<SessionEvent> = std::iter::from_fn(|| s.poll_event()).collect();
            assert!(
                events
                    .iter()
                    .all(|e| matches!(e, SessionEvent::UnknownFrame { .. })),
                "{name} in {at:?}: {events:?}"
            );
            if matches!(at, At::Live | At::AwaitingWelcome | At::Closed) {
                assert_eq!(s.poll_timeout(), deadline, "{name} in {at:?}: timers moved");
            }
        }
    }
}

#[test]
fn session_calls_after_close_are_refused_with_a_hint() {
    let mut s = session_at(At::Closed);
    let topic = Topic::parse("/market/ticker:ETH-USDT").unwrap();
    let err = s.subscribe(topic.clone()).unwrap_err();
    assert_eq!(err, SubscribeError::Closed);
    assert!(err.to_string().contains("create a new one"), "{err}");
    assert_eq!(s.unsubscribe(&topic), Err(SubscribeError::Closed));
    s.close(t0());
    assert!(s.poll_event().is_none(), "closing twice reported twice");
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn session_subscription_misuse_is_a_typed_error() {
    let mut s = session_at(At::Live);
    let never = Topic::parse("/market/match:XYZ-USDT").unwrap();
    assert!(matches!(
        s.unsubscribe(&never),
        Err(SubscribeError::NotSubscribed { .. })
    ));
    let private = Topic::parse("/account/balance").unwrap().private();
    let err = s.subscribe(private).unwrap_err();
    assert!(
        err.to_string().contains("SessionConfig::private()"),
        "{err}"
    );
    let mut small = Session::new(
        SessionConfig::public().with_max_topics_per_connection(1),
        t0(),
    );
    small
        .subscribe(Topic::parse("/market/ticker:A-B").unwrap())
        .unwrap();
    let err = small
        .subscribe(Topic::parse("/market/ticker:C-D").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("SessionPool"), "{err}");
}

#[test]
fn feed_answers_to_unknown_or_repeated_calls_are_ignored() {
    let mut rig = Rig::live();
    let before = rig.feed.book(&sym()).map(|b| b.sequence());
    for id in [CallId(0), CallId(999_999), CallId(u64::MAX)] {
        rig.respond_id(id, &snapshot_body(5));
        rig.feed
            .handle_request_failed(rig.now, id, "late failure".into());
    }
    assert!(rig.events().is_empty());
    assert_eq!(rig.feed.book(&sym()).map(|b| b.sequence()), before);
    rig.assert_next_frame_applies();
}

#[test]
fn feed_book_misuse_is_a_typed_error_that_says_what_to_do() {
    let mut rig = Rig::live();
    let err = rig.feed.add_book(sym(), rig.now).unwrap_err();
    assert!(matches!(err, FeedError::DuplicateBook(_)));
    let other = kucoin_proto::SpotSymbol::new("ETH-USDT").unwrap();
    let err = rig.feed.remove_book(&other, rig.now).unwrap_err();
    assert!(err.to_string().contains("add_book"), "{err}");
    let never = Topic::parse("/market/ticker:XYZ-USDT").unwrap();
    assert!(matches!(
        rig.feed.unsubscribe(&never, rig.now),
        Err(FeedError::Subscribe(SubscribeError::NotSubscribed { .. }))
    ));
    rig.assert_next_frame_applies();
}

#[test]
fn feed_calls_after_close_are_refused_or_ignored() {
    let mut rig = Rig::live();
    rig.feed.close(rig.now);
    rig.feed
        .handle_disconnected(rig.now, DisconnectCause::Transport("closed".into()));
    rig.events();
    assert_eq!(rig.feed.session().state(), SessionState::Closed);
    let eth = kucoin_proto::SpotSymbol::new("ETH-USDT").unwrap();
    assert!(matches!(
        rig.feed.add_book(eth, rig.now),
        Err(FeedError::Subscribe(SubscribeError::Closed))
    ));
    assert!(matches!(
        rig.feed
            .subscribe(Topic::parse("/market/ticker:A-B").unwrap(), rig.now),
        Err(FeedError::Subscribe(SubscribeError::Closed))
    ));
    rig.frame(&l2(rig.seq + 1, rig.seq + 1, "asks", "101", "1"));
    rig.feed.handle_connected(rig.now);
    rig.feed.close(rig.now);
    rig.advance(Duration::from_secs(3600));
    assert!(rig.feed.poll_connect().is_none());
    assert!(rig.feed.poll_transmit().is_none());
    assert!(rig.feed.book(&sym()).is_none());
    let late: Vec<FeedEvent<_>> = rig.events();
    assert!(
        late.iter().all(|e| !matches!(e, FeedEvent::Session(_))),
        "{late:?}"
    );
}

#[test]
fn book_misuse_is_ignored_or_a_typed_error() {
    let now = t0();
    let mut b = SpotBookSync::new(sym(), BookConfig::default(), now);
    let snap: L2Snapshot =
        serde_json::from_str(r#"{"sequence":"5","bids":[["1","1"]],"asks":[]}"#).unwrap();
    // A snapshot nobody asked for is ignored; so is a failure.
    assert_eq!(b.handle_snapshot(now, &snap), Ok(()));
    b.handle_snapshot_failed(now, false);
    assert_eq!(b.state(), BookState::Buffering);
    assert!(b.poll_fetch().is_none());
    assert!(b.poll_event().is_none());
    // Frames not routed by topic, and control frames.
    let other = l2(6, 6, "asks", "1", "1").replace("BTC-USDT", "ETH-USDT");
    let err = b.handle_frame(now, &other).unwrap_err();
    assert!(err.to_string().contains("route frames by topic"), "{err}");
    assert_eq!(
        b.handle_frame(
            now,
            r#"{"id":"1","type":"ack","topic":"x","subject":"y","data":1}"#
        ),
        Err(BookError::NotAMessage)
    );
    assert_eq!(b.state(), BookState::Buffering);
}

#[test]
fn book_timeouts_from_the_past_do_not_pull_deadlines_into_the_past() {
    let t = t0();
    let late = t + Duration::from_secs(100);
    let mut b = SpotBookSync::new(sym(), BookConfig::default(), t);
    b.handle_frame(late, &l2(6, 6, "asks", "1", "1")).unwrap();
    assert!(b.poll_fetch().is_some());
    // Stale `now`s (an adapter's clock read before a slow step) arrive after a newer one.
    b.handle_timeout(t);
    b.handle_frame(t, &l2(7, 7, "asks", "1", "2")).unwrap();
    let at = b.poll_timeout().expect("a snapshot timeout");
    assert!(at >= late, "deadline {:?} before the latest now", at - t);
    // The snapshot request is still in flight 5 s after it was sent: no early timeout.
    b.handle_timeout(late + Duration::from_secs(5));
    let events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, kucoin_proto::book::BookEvent::SnapshotFailed { .. })),
        "{events:?}"
    );
    // A failure reported with a stale `now` schedules the retry after the latest one.
    b.handle_snapshot_failed(t, true);
    let at = b.poll_timeout().expect("a retry");
    assert!(at > late, "retry at {:?}", at - t);
}
