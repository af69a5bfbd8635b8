//! Every resource a peer (or a slow caller) can grow is bounded by a setting with a sane default;
//! going past it gives a typed event or error, never unbounded growth.

mod hardening_common;

use std::time::Duration;

use hardening_common::{Rig, l2, small_book, snapshot_body, sym, t0};
use kucoin_proto::book::{BookConfig, BookEvent, BookState, ResyncReason, Side, SpotBookSync};
use kucoin_proto::feed::{CallPurpose, FeedConfig, FeedEvent};
use kucoin_proto::rest::L2Snapshot;
use kucoin_proto::ws::{
    FrameError, RequestFailure, Session, SessionConfig, SessionEvent, SessionState, SubscribeError,
    Timer, Topic,
};

#[test]
fn defaults_are_bounded_and_generous() {
    let s = SessionConfig::default();
    assert_eq!(s.max_frame_len, 1 << 20);
    assert_eq!(s.max_topics_per_connection, 300);
    let b = BookConfig::default();
    assert_eq!(b.max_buffered_updates, 20_000);
    assert_eq!(b.max_levels, 100_000);
    assert_eq!(FeedConfig::default().max_queued_events, 65_536);
}

#[test]
fn a_frame_over_max_frame_len_is_rejected_unparsed_and_the_session_lives_on() {
    let mut rig = Rig::live_with(
        Rig::config().with_session(SessionConfig::public().with_seed(3).with_max_frame_len(300)),
    );
    let frame = l2(rig.seq + 1, rig.seq + 1, "asks", "101", "5");
    let padded = frame.replace(
        r#""time":1"#,
        &format!(r#""time":1,"pad":"{}""#, "x".repeat(300)),
    );
    rig.frame(&padded);
    let events = rig.events();
    assert!(
        matches!(
            events.as_slice(),
            [FeedEvent::FrameError(FrameError::TooLong { len, limit: 300 })] if *len == padded.len()
        ),
        "{events:?}"
    );
    assert_eq!(rig.feed.stats().frame_errors, 1);
    assert_eq!(rig.feed.session().state(), SessionState::Live);
    assert_eq!(rig.book_seq(), Some(rig.seq), "the long frame was applied");
    // A frame exactly at the limit is accepted.
    let at_limit = format!(r#"{{"type":"x","pad":"{}"}}"#, "y".repeat(300 - 21));
    assert_eq!(at_limit.len(), 300);
    rig.frame(&at_limit);
    assert!(matches!(
        rig.events().as_slice(),
        [FeedEvent::Session(SessionEvent::UnknownFrame { .. })]
    ));
    rig.assert_next_frame_applies();
}

#[test]
fn a_bare_session_checks_the_frame_length_before_parsing() {
    let now = t0();
    let mut s = Session::new(SessionConfig::public().with_max_frame_len(16), now);
    let _ = s.poll_fetch();
    s.handle_bullet_response(now, 200, hardening_common::BULLET.as_bytes())
        .unwrap();
    let _ = s.poll_connect().unwrap();
    s.handle_connected(now);
    // Even a welcome is refused when too long; garbage at the limit is a parse error instead.
    let long = r#"{"id":"w","type":"welcome"}"#;
    assert_eq!(
        s.handle_frame(now, long).unwrap_err(),
        FrameError::TooLong {
            len: long.len(),
            limit: 16
        }
    );
    assert!(matches!(
        s.handle_frame(now, "0123456789abcdef"),
        Err(FrameError::Malformed { .. })
    ));
    assert_eq!(s.state(), SessionState::AwaitingWelcome);
    let err = FrameError::TooLong { len: 20, limit: 16 };
    assert!(err.to_string().contains("max_frame_len"), "{err}");
}

#[test]
fn buffered_deltas_while_awaiting_a_snapshot_are_bounded() {
    let now = t0();
    let mut b = SpotBookSync::new(sym(), small_book(), now);
    for seq in 1..=103 {
        b.handle_frame(now, &l2(seq, seq, "asks", "101", "1"))
            .unwrap();
    }
    let events: Vec<BookEvent> = std::iter::from_fn(|| b.poll_event()).collect();
    let overflows = events
        .iter()
        .filter(|e| matches!(e, BookEvent::BufferOverflow { limit: 4 }))
        .count();
    // The 5th message overflows a buffer of 4 (which restarts with it), then every 4th:
    // messages 5, 9, …, 101.
    assert_eq!(overflows, 25, "{events:?}");
    assert!(events.contains(&BookEvent::ResyncStarted {
        reason: ResyncReason::BufferOverflow
    }));
    // Only the messages since the last overflow (101..=103) are kept: a snapshot just before them syncs the book.
    let _ = b.poll_fetch();
    let snap: L2Snapshot =
        serde_json::from_str(r#"{"sequence":"100","bids":[],"asks":[]}"#).unwrap();
    b.handle_snapshot(now, &snap).unwrap();
    assert_eq!(b.state(), BookState::Live);
    assert_eq!(b.book().unwrap().sequence(), 103);
}

#[test]
fn book_levels_are_capped_at_max_levels() {
    let mut rig = Rig::live_with(Rig::config().with_book(small_book()));
    // Twenty better bids and twenty deeper asks: never more than 8 a side.
    for k in 0..20u64 {
        let next = rig.seq + 1;
        rig.frame(&l2(next, next, "bids", &format!("99.{:02}", k + 1), "1"));
        rig.seq = next;
        let next = rig.seq + 1;
        rig.frame(&l2(next, next, "asks", &format!("{}", 200 + k), "1"));
        rig.seq = next;
        let book = rig.feed.book(&sym()).expect("live");
        assert!(book.len(Side::Bid) <= 8 && book.len(Side::Ask) <= 8);
    }
    let book = rig.feed.book(&sym()).unwrap();
    assert_eq!(book.len(Side::Bid), 8);
    // The best levels are the ones kept.
    assert_eq!(book.best_bid().unwrap().price.to_string(), "99.2");
    assert_eq!(book.best_ask().unwrap().price.to_string(), "101");
    // A snapshot deeper than the cap is cut too.
    let levels: Vec<String> = (1..=50).map(|p| format!(r#"["{p}","1"]"#)).collect();
    let mut b = SpotBookSync::new(sym(), small_book(), t0());
    b.handle_frame(t0(), &l2(11, 11, "asks", "60", "1"))
        .unwrap();
    let _ = b.poll_fetch();
    let snap: L2Snapshot = serde_json::from_str(&format!(
        r#"{{"sequence":"10","bids":[{}],"asks":[]}}"#,
        levels.join(",")
    ))
    .unwrap();
    b.handle_snapshot(t0(), &snap).unwrap();
    assert_eq!(b.book().unwrap().len(Side::Bid), 8);
    assert_eq!(
        b.book().unwrap().best_bid().unwrap().price.to_string(),
        "50"
    );
}

#[test]
fn unread_events_are_capped_and_the_newest_kept() {
    let mut config = Rig::config();
    config.max_queued_events = 10;
    let mut rig = Rig::live_with(config);
    for k in 0..100 {
        rig.frame(&format!(r#"{{"type":"notice-{k}"}}"#));
    }
    let events = rig.events();
    assert_eq!(events.len(), 10);
    assert_eq!(rig.feed.stats().dropped_events, 90);
    assert_eq!(
        events.last(),
        Some(&FeedEvent::Session(SessionEvent::UnknownFrame {
            kind: "notice-99".into()
        }))
    );
    rig.assert_next_frame_applies();
}

#[test]
fn unanswered_snapshot_calls_do_not_pile_up() {
    let mut rig = Rig::new(Rig::config());
    rig.connect();
    rig.frame(&l2(1001, 1001, "asks", "103", "1"));
    let mut calls = Vec::new();
    for _ in 0..20 {
        while let Some(call) = rig.request() {
            assert!(matches!(call.purpose, CallPurpose::Snapshot { .. }));
            calls.push(call);
        }
        // Never answered: the book times the request out (10 s) and asks again.
        assert!(
            rig.feed.outstanding_calls() <= 1,
            "{}",
            rig.feed.outstanding_calls()
        );
        rig.advance(Duration::from_secs(11));
    }
    assert!(calls.len() >= 10, "{} snapshot calls", calls.len());
    // A late answer to a superseded call is ignored; the latest one syncs the book.
    let (last, stale) = calls.split_last().unwrap();
    rig.respond(&stale[0], 200, &snapshot_body(1000));
    assert_eq!(rig.state(), BookState::AwaitingSnapshot);
    rig.respond(last, 200, &snapshot_body(1000));
    assert_eq!(rig.state(), BookState::Live);
    assert_eq!(rig.feed.outstanding_calls(), 0);
}

#[test]
fn subscribe_requests_are_bounded_by_topics_and_expire_without_ack() {
    let now = t0();
    let config = SessionConfig::public()
        .with_max_topics_per_connection(250)
        .with_ack(Duration::from_secs(10), 1);
    let mut s = Session::new(config, now);
    for k in 0..250 {
        s.subscribe(Topic::parse(&format!("/market/ticker:T{k}-USDT")).unwrap())
            .unwrap();
    }
    let err = s
        .subscribe(Topic::parse("/market/ticker:ONE-MORE").unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        SubscribeError::TooManyTopics { limit: 250, .. }
    ));
    let _ = s.poll_fetch();
    s.handle_bullet_response(now, 200, hardening_common::BULLET.as_bytes())
        .unwrap();
    let _ = s.poll_connect().unwrap();
    s.handle_connected(now);
    s.handle_frame(now, r#"{"id":"w","type":"welcome"}"#)
        .unwrap();
    let requests = std::iter::from_fn(|| s.poll_transmit()).count();
    assert_eq!(requests, 3, "250 topics, 100 subjects a request");
    // Never acknowledged: sent twice, then every topic is reported and no ack timer is left.
    let mut t = now;
    let mut failed = 0;
    for _ in 0..30 {
        t += Duration::from_secs(1);
        s.handle_timeout(t);
        while let Some(text) = s.poll_transmit() {
            // Answer pings only.
            if let kucoin_proto::ws::Transmit::Text(text) = text
                && text.contains("ping")
            {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let id = v["id"].as_str().unwrap().to_owned();
                s.handle_frame(t, &format!(r#"{{"id":"{id}","type":"pong"}}"#))
                    .unwrap();
            }
        }
        while let Some(e) = s.poll_event() {
            failed += usize::from(matches!(
                e,
                SessionEvent::SubscribeFailed {
                    reason: RequestFailure::NoAck { attempts: 2 },
                    ..
                }
            ));
        }
    }
    assert_eq!(failed, 250);
    assert!(!matches!(s.poll_timeout(), Some((_, Timer::Ack(_)))));
    assert_eq!(s.state(), SessionState::Live);
}

#[test]
fn removing_a_book_forgets_its_snapshot_calls() {
    let mut rig = Rig::new(Rig::config());
    rig.connect();
    let eth = kucoin_proto::SpotSymbol::new("ETH-USDT").unwrap();
    rig.feed.add_book(eth.clone(), rig.now).unwrap();
    rig.ack_all();
    rig.frame(&l2(1001, 1001, "asks", "103", "1"));
    rig.frame(&l2(7, 7, "asks", "1", "1").replace("BTC-USDT", "ETH-USDT"));
    // The BTC snapshot is in flight; the ETH one is still queued.
    let btc = rig.request().expect("a snapshot call");
    assert_eq!(
        btc.purpose,
        CallPurpose::Snapshot {
            symbol: "BTC-USDT".into()
        }
    );
    rig.feed.remove_book(&sym(), rig.now).unwrap();
    rig.feed.remove_book(&eth, rig.now).unwrap();
    assert_eq!(rig.feed.outstanding_calls(), 0);
    assert!(
        rig.request().is_none(),
        "a snapshot call for a removed book"
    );
    // A late answer for the removed book is ignored.
    rig.respond(&btc, 200, &snapshot_body(1000));
    assert!(
        rig.events()
            .iter()
            .all(|e| !matches!(e, FeedEvent::Book { .. } | FeedEvent::RequestFailed { .. }))
    );
}
