//! Behaviour of `BookSync` and `DepthBook` on hand-made and documented frames, on virtual time.

mod book_common;

use std::time::{Duration, Instant};

use book_common::{fixture, t0};
use kucoin_proto::book::{
    BookConfig, BookError, BookEvent, BookState, Decimal, DecimalError, Depth, DepthBook,
    FuturesBookSync, ResyncReason, Side, SnapshotRequest, SpotBookSync, SpotSnapshotSource,
};
use kucoin_proto::market::{FuturesSymbol, SpotSymbol};
use kucoin_proto::rest::{L2Snapshot, SnapshotLevel, parse_envelope};

type Ch<'a> = (&'a str, &'a str, u64);

fn spot_frame(start: u64, end: u64, asks: &[Ch<'_>], bids: &[Ch<'_>]) -> String {
    let list = |v: &[Ch<'_>]| {
        v.iter()
            .map(|(p, s, q)| format!(r#"["{p}","{s}","{q}"]"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{{"changes":{{"asks":[{}],"bids":[{}]}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"BTC-USDT","time":1}}}}"#,
        list(asks),
        list(bids)
    )
}

fn fut_frame(seq: u64, price: &str, side: &str, size: &str) -> String {
    format!(
        r#"{{"type":"message","topic":"/contractMarket/level2:XBTUSDTM","subject":"level2","data":{{"sequence":{seq},"change":"{price},{side},{size}","timestamp":1}}}}"#
    )
}

fn levels(v: &[(&str, &str)]) -> Vec<SnapshotLevel> {
    v.iter()
        .map(|(p, s)| SnapshotLevel {
            price: (*p).into(),
            size: (*s).into(),
        })
        .collect()
}

fn snap(sequence: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> L2Snapshot {
    L2Snapshot {
        sequence,
        time: None,
        ts: None,
        symbol: None,
        bids: levels(bids),
        asks: levels(asks),
    }
}

fn d(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

fn spot(config: BookConfig, t: Instant) -> SpotBookSync {
    SpotBookSync::new(SpotSymbol::new("BTC-USDT").unwrap(), config, t)
}

fn events(s: &mut SpotBookSync) -> Vec<BookEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A live spot book at sequence 10 with bid 99@1, bid 98@2, ask 101@1, ask 102@3.
fn live_spot(t: Instant) -> SpotBookSync {
    let mut s = spot(BookConfig::default(), t);
    s.handle_frame(t, &spot_frame(10, 10, &[], &[])).unwrap();
    assert_eq!(s.state(), BookState::AwaitingSnapshot);
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(
        t,
        &snap(
            10,
            &[("99", "1"), ("98", "2")],
            &[("101", "1"), ("102", "3")],
        ),
    )
    .unwrap();
    assert_eq!(s.state(), BookState::Live);
    assert_eq!(events(&mut s), [BookEvent::Synced { sequence: 10 }]);
    s
}

#[test]
fn price_zero_only_advances_the_sequence() {
    let t = t0();
    let mut s = live_spot(t);
    s.handle_frame(t, &spot_frame(11, 11, &[("0", "5", 11)], &[]))
        .unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.sequence(), 11);
    assert_eq!(b.len(Side::Ask), 2);
    assert_eq!(b.size_at(Side::Ask, Decimal::ZERO), None);
}

#[test]
fn size_zero_deletes_the_level() {
    let t = t0();
    let mut s = live_spot(t);
    s.handle_frame(
        t,
        &spot_frame(11, 12, &[("101", "0", 11)], &[("99.5", "4", 12)]),
    )
    .unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.best_ask().unwrap().price, d("102"));
    assert_eq!(b.best_bid().unwrap().price, d("99.5"));
    assert_eq!(b.sequence(), 12);
    assert_eq!(
        events(&mut s),
        [BookEvent::Updated {
            sequence: 12,
            messages: 1
        }]
    );
}

#[test]
fn overlapping_message_applies_only_the_changes_above_the_snapshot() {
    // The shortcut "apply where sequenceStart > snapshot.sequence" would drop this message and lose 11 and 12.
    let t = t0();
    let mut s = spot(BookConfig::default(), t);
    let f = spot_frame(
        9,
        12,
        &[("101", "7", 9), ("101", "8", 11)],
        &[("99", "0", 10), ("97", "5", 12)],
    );
    s.handle_frame(t, &f).unwrap();
    let _ = s.poll_fetch().unwrap();
    s.handle_snapshot(t, &snap(10, &[("99", "1")], &[("101", "1")]))
        .unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.sequence(), 12);
    assert_eq!(b.size_at(Side::Ask, d("101")), Some(d("8"))); // 11 applied, 9 not
    assert_eq!(b.size_at(Side::Bid, d("99")), Some(d("1"))); // 10 already in the snapshot
    assert_eq!(b.size_at(Side::Bid, d("97")), Some(d("5")));
}

#[test]
fn changes_out_of_sequence_order_in_a_message_are_applied_in_order() {
    let t = t0();
    let mut s = live_spot(t);
    // Same price twice; listed in reverse sequence order: the later (13) must win.
    s.handle_frame(
        t,
        &spot_frame(11, 13, &[("103", "2", 13), ("103", "9", 11)], &[]),
    )
    .unwrap();
    assert_eq!(s.book().unwrap().size_at(Side::Ask, d("103")), Some(d("2")));
}

#[test]
fn gap_stops_the_book_and_starts_a_resync() {
    let t = t0();
    let mut s = live_spot(t);
    s.handle_frame(t, &spot_frame(11, 11, &[("101", "5", 11)], &[]))
        .unwrap();
    s.handle_frame(t, &spot_frame(13, 14, &[("101", "0", 13)], &[]))
        .unwrap();
    assert!(s.book().is_none());
    assert_eq!(s.state(), BookState::Resyncing);
    assert_eq!(
        events(&mut s),
        [
            BookEvent::Updated {
                sequence: 11,
                messages: 1
            },
            BookEvent::GapDetected {
                expected: 12,
                got: 13
            },
            BookEvent::ResyncStarted {
                reason: ResyncReason::Gap
            },
        ]
    );
    assert!(matches!(
        s.poll_fetch(),
        Some(SnapshotRequest::SpotTop100 { .. })
    ));
    assert!(s.poll_fetch().is_none(), "one request in flight");
    s.handle_frame(t, &spot_frame(15, 15, &[("104", "1", 15)], &[]))
        .unwrap();
    s.handle_snapshot(t, &snap(13, &[("99", "1")], &[("102", "3")]))
        .unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.sequence(), 15);
    assert_eq!(
        b.size_at(Side::Ask, d("101")),
        None,
        "13 was in the snapshot"
    );
    assert_eq!(b.size_at(Side::Ask, d("104")), Some(d("1")));
}

#[test]
fn buffer_overflow_restarts_the_sync() {
    let t = t0();
    let mut config = BookConfig::default();
    config.max_buffered_updates = 3;
    let mut s = spot(config, t);
    for q in 1..=4 {
        s.handle_frame(t, &spot_frame(q, q, &[("101", "1", q)], &[]))
            .unwrap();
    }
    assert_eq!(
        events(&mut s),
        [
            BookEvent::BufferOverflow { limit: 3 },
            BookEvent::ResyncStarted {
                reason: ResyncReason::BufferOverflow
            }
        ]
    );
    // The request made before the overflow is still in flight; its old answer is too old now.
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(t, &snap(1, &[], &[])).unwrap();
    assert_eq!(
        events(&mut s),
        [BookEvent::SnapshotTooOld {
            snapshot_sequence: 1,
            first_buffered: 4
        }]
    );
    assert_eq!(s.state(), BookState::AwaitingSnapshot);
}

#[test]
fn snapshot_too_old_is_retried_with_backoff() {
    let t = t0();
    let mut s = spot(BookConfig::default(), t);
    s.handle_frame(
        t,
        &spot_frame(20, 21, &[("101", "1", 20)], &[("99", "1", 21)]),
    )
    .unwrap();
    let _ = s.poll_fetch().unwrap();
    s.handle_snapshot(t, &snap(15, &[], &[])).unwrap();
    assert_eq!(
        events(&mut s),
        [BookEvent::SnapshotTooOld {
            snapshot_sequence: 15,
            first_buffered: 20
        }]
    );
    assert!(s.book().is_none());
    assert!(s.poll_fetch().is_none(), "not before the backoff");
    let retry = s.poll_timeout().unwrap();
    assert_eq!(retry, t + Duration::from_millis(250));
    s.handle_timeout(retry - Duration::from_millis(1));
    assert!(s.poll_fetch().is_none(), "an early timeout does nothing");
    s.handle_timeout(retry);
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(retry, &snap(20, &[], &[("101", "1")]))
        .unwrap();
    let b = s.book().unwrap();
    assert_eq!((b.sequence(), b.best_bid().unwrap().price), (21, d("99")));
}

#[test]
fn failed_snapshots_back_off_and_a_refused_full_snapshot_falls_back_to_top100() {
    let t = t0();
    let mut config = BookConfig::default();
    config.spot_snapshot = SpotSnapshotSource::Full;
    let mut s = spot(config, t);
    s.handle_frame(t, &spot_frame(5, 5, &[], &[])).unwrap();
    let r = s.poll_fetch().unwrap();
    assert!(r.requires_auth());
    assert_eq!(
        r.path_and_query(),
        "/api/v3/market/orderbook/level2?symbol=BTC-USDT"
    );
    s.handle_snapshot_failed(t, false);
    let r = s.poll_fetch().unwrap();
    assert!(!r.requires_auth());
    assert_eq!(r.depth_limit(), Some(100));
    s.handle_snapshot_failed(t, true);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_millis(250)));
    let t1 = t + Duration::from_millis(250);
    s.handle_timeout(t1);
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot_failed(t1, true);
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_millis(500)));
}

#[test]
fn snapshot_that_never_answers_is_requested_again() {
    let t = t0();
    let mut s = spot(BookConfig::default(), t);
    s.handle_frame(t, &spot_frame(5, 5, &[], &[])).unwrap();
    assert!(s.poll_fetch().is_some());
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t + Duration::from_secs(10));
    s.handle_timeout(deadline);
    assert_eq!(
        events(&mut s),
        [BookEvent::SnapshotFailed { retryable: true }]
    );
    assert!(s.poll_fetch().is_some());
}

#[test]
fn without_frames_the_snapshot_is_requested_after_the_first_update_wait() {
    let t = t0();
    let mut s = spot(BookConfig::default(), t);
    assert_eq!(s.state(), BookState::Buffering);
    assert!(s.poll_fetch().is_none());
    s.handle_timeout(t + Duration::from_secs(2));
    assert_eq!(s.state(), BookState::AwaitingSnapshot);
    assert!(s.poll_fetch().is_some());
}

#[test]
fn reset_invalidates_the_book_and_resyncs() {
    let t = t0();
    let mut s = live_spot(t);
    s.handle_reset(t);
    assert!(s.book().is_none());
    assert_eq!(s.state(), BookState::Resyncing);
    assert_eq!(
        events(&mut s),
        [BookEvent::ResyncStarted {
            reason: ResyncReason::Reconnect
        }]
    );
    s.handle_frame(t, &spot_frame(30, 30, &[("101", "2", 30)], &[]))
        .unwrap();
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(t, &snap(29, &[("99", "1")], &[("101", "1")]))
        .unwrap();
    assert_eq!(s.book().unwrap().size_at(Side::Ask, d("101")), Some(d("2")));
}

#[test]
fn crossed_book_after_an_update_is_reported_once() {
    let t = t0();
    let mut s = live_spot(t);
    s.handle_frame(t, &spot_frame(11, 11, &[], &[("101.5", "1", 11)]))
        .unwrap();
    s.handle_frame(t, &spot_frame(12, 12, &[], &[("101.6", "1", 12)]))
        .unwrap();
    let ev = events(&mut s);
    let crossed: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e, BookEvent::Crossed { .. }))
        .collect();
    assert_eq!(
        crossed,
        [&BookEvent::Crossed {
            best_bid: d("101.5"),
            best_ask: d("101"),
            sequence: 11
        }]
    );
    assert!(s.book().unwrap().is_crossed());
}

#[test]
fn bad_decimal_is_a_typed_error_and_nothing_of_the_frame_is_applied() {
    let t = t0();
    let mut s = live_spot(t);
    let f = spot_frame(11, 12, &[("101", "0", 11)], &[("99", "1e3", 12)]);
    assert_eq!(
        s.handle_frame(t, &f),
        Err(BookError::BadNumber {
            field: "size",
            source: DecimalError::Malformed
        })
    );
    let f = spot_frame(
        11,
        12,
        &[("101", "0", 11)],
        &[("99", "0.0000000000000000001", 12)],
    );
    assert!(matches!(
        s.handle_frame(t, &f),
        Err(BookError::BadNumber {
            source: DecimalError::TooPrecise,
            ..
        })
    ));
    let f = spot_frame(11, 12, &[("-101", "1", 11)], &[]);
    assert!(matches!(
        s.handle_frame(t, &f),
        Err(BookError::BadNumber {
            source: DecimalError::Negative,
            ..
        })
    ));
    let b = s.book().unwrap();
    assert_eq!((b.sequence(), b.len(Side::Ask)), (10, 2));
}

#[test]
fn top100_bootstrap_tracks_the_depth_known_complete() {
    let t = t0();
    let mut s = spot(BookConfig::default(), t);
    s.handle_frame(t, &spot_frame(1000, 1000, &[], &[]))
        .unwrap();
    let _ = s.poll_fetch().unwrap();
    let bids: Vec<(String, String)> = (0..100)
        .map(|i| ((1000 - i).to_string(), "1".into()))
        .collect();
    let asks: Vec<(String, String)> = (0..40)
        .map(|i| ((1001 + i).to_string(), "1".into()))
        .collect();
    let as_ref = |v: &[(String, String)]| {
        v.iter()
            .map(|(p, s)| SnapshotLevel {
                price: p.clone(),
                size: s.clone(),
            })
            .collect()
    };
    let snapshot = L2Snapshot {
        sequence: 999,
        time: None,
        ts: None,
        symbol: None,
        bids: as_ref(&bids),
        asks: as_ref(&asks),
    };
    s.handle_snapshot(t, &snapshot).unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.complete_depth(Side::Bid), 100);
    assert_eq!(b.complete_depth(Side::Ask), 40, "a short side is complete");
    // Deep levels beyond the 100th bid are news, not known-complete depth.
    s.handle_frame(
        t,
        &spot_frame(
            1001,
            1003,
            &[],
            &[("1000", "0", 1001), ("999", "0", 1002), ("850", "3", 1003)],
        ),
    )
    .unwrap();
    let b = s.book().unwrap();
    assert_eq!(b.len(Side::Bid), 99);
    assert_eq!(b.complete_depth(Side::Bid), 98);
}

#[test]
fn futures_sequence_must_be_consecutive() {
    let t = t0();
    let mut s = FuturesBookSync::new(
        FuturesSymbol::new("XBTUSDTM").unwrap(),
        BookConfig::default(),
        t,
    );
    s.handle_frame(t, &fut_frame(100, "5000.0", "buy", "3"))
        .unwrap();
    let r = s.poll_fetch().unwrap();
    assert_eq!(
        r.path_and_query(),
        "/api/v1/level2/snapshot?symbol=XBTUSDTM"
    );
    s.handle_snapshot(t, &snap(99, &[("4999", "1")], &[("5001", "2")]))
        .unwrap();
    assert_eq!(s.book().unwrap().best_bid().unwrap().price, d("5000"));
    s.handle_frame(t, &fut_frame(100, "5000.0", "buy", "0"))
        .unwrap(); // duplicate: ignored
    assert_eq!(s.book().unwrap().best_bid().unwrap().price, d("5000"));
    s.handle_frame(t, &fut_frame(101, "5001", "sell", "0"))
        .unwrap();
    assert_eq!(s.book().unwrap().best_ask(), None);
    s.handle_frame(t, &fut_frame(103, "5002", "sell", "1"))
        .unwrap();
    assert!(s.book().is_none());
    let ev: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(ev.contains(&BookEvent::GapDetected {
        expected: 102,
        got: 103
    }));
}

#[test]
fn documented_frames_and_snapshots_parse() {
    let t = t0();
    // Spot: one change, and the multi-change example (whitespace, out-of-order sequences).
    let mut s = spot(BookConfig::default(), t);
    s.handle_frame(t, &fixture("spot-ws-level2-increment.json"))
        .unwrap();
    s.handle_frame(t, &fixture("spot-ws-level2-increment-multi.json"))
        .unwrap();
    assert_eq!(
        s.fallback_decodes(),
        1,
        "only the pretty-printed one needs the fallback"
    );
    let _ = s.poll_fetch().unwrap();
    let body = fixture("spot-rest-orderbook-level2-full-v3.json");
    let snapshot: L2Snapshot = parse_envelope(200, body.as_bytes()).unwrap();
    s.handle_snapshot(t, &snapshot).unwrap();
    // The documented snapshot (14610502970) is older than the first buffered frame.
    assert_eq!(
        events(&mut s),
        [BookEvent::SnapshotTooOld {
            snapshot_sequence: 14_610_502_970,
            first_buffered: 14_701_689_783
        }]
    );

    // Futures: increment with `sn`, the REST snapshot with numbers.
    let mut f = FuturesBookSync::new(
        FuturesSymbol::new("XBTUSDTM").unwrap(),
        BookConfig::default(),
        t,
    );
    f.handle_frame(t, &fixture("futures-ws-level2-increment.json"))
        .unwrap();
    assert_eq!(f.fallback_decodes(), 0);
    let body = fixture("futures-rest-level2-snapshot.json");
    let snapshot: L2Snapshot = parse_envelope(200, body.as_bytes()).unwrap();
    let _ = f.poll_fetch().unwrap();
    f.handle_snapshot(t, &snapshot).unwrap();
    assert_eq!(
        f.poll_event(),
        Some(BookEvent::SnapshotTooOld {
            snapshot_sequence: 1_697_895_963_339,
            first_buffered: 1_709_400_450_243
        })
    );

    // Depth5, spot (strings) and futures (numeric sizes).
    let mut d5 = DepthBook::spot(&SpotSymbol::new("BTC-USDT").unwrap(), Depth::Five);
    d5.handle_frame(t, &fixture("spot-ws-level2depth5.json"))
        .unwrap();
    assert_eq!(d5.asks()[0].price, d("67996.7"));
    assert_eq!(d5.bids().len(), 5);
    assert_eq!(d5.timestamp(), Some(1729822226746));
    let mut f5 = DepthBook::futures(&FuturesSymbol::new("XBTUSDTM").unwrap(), Depth::Five);
    f5.handle_frame(t, &fixture("futures-ws-level2depth5.json"))
        .unwrap();
    assert_eq!(f5.bids()[0].size, d("513"));
    assert_eq!(f5.sequence(), Some(1709294294670));
    assert!(matches!(
        DepthBook::spot(&SpotSymbol::new("ETH-USDT").unwrap(), Depth::Five)
            .handle_frame(t, &fixture("spot-ws-level2depth5.json")),
        Err(BookError::WrongTopic { .. })
    ));
}

#[test]
fn depth_message_with_levels_out_of_order_is_rejected_and_the_book_kept() {
    let t = t0();
    let mut b = DepthBook::spot(&SpotSymbol::new("BTC-USDT").unwrap(), Depth::Five);
    b.handle_data(
        t,
        r#"{"asks":[["2","1"]],"bids":[["1","1"]],"timestamp":1}"#,
    )
    .unwrap();
    let bad = r#"{"asks":[["3","1"],["2","1"]],"bids":[],"timestamp":2}"#;
    assert_eq!(b.handle_data(t, bad), Err(BookError::BadDepth));
    assert_eq!(b.asks()[0].price, d("2"));
    assert_eq!(b.timestamp(), Some(1));
}

#[test]
fn a_bogus_sequence_jump_is_caught_by_a_run_of_stale_messages_and_the_book_resyncs() {
    let t = t0();
    let mut config = BookConfig::default();
    config.max_stale_run = 5;
    let mut s = spot(config, t);
    s.handle_frame(t, &spot_frame(10, 10, &[], &[])).unwrap();
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(t, &snap(10, &[("99", "1")], &[("101", "1")]))
        .unwrap();
    s.handle_frame(t, &spot_frame(11, 11, &[("101", "2", 11)], &[]))
        .unwrap();
    // A frame whose range runs far ahead is a valid continuation by KuCoin's rule...
    s.handle_frame(t, &spot_frame(12, 1_000_000, &[("101", "3", 12)], &[]))
        .unwrap();
    assert_eq!(s.book().map(|b| b.sequence()), Some(1_000_000));
    events(&mut s);
    // ...but the real stream that follows is now "stale": four in a row are tolerated (they
    // could be duplicates), the fifth proves the book ran ahead of the stream.
    for seq in 13..17 {
        s.handle_frame(t, &spot_frame(seq, seq, &[("102", "1", seq)], &[]))
            .unwrap();
        assert_eq!(s.state(), BookState::Live, "at {seq}");
    }
    s.handle_frame(t, &spot_frame(17, 17, &[("102", "1", 17)], &[]))
        .unwrap();
    assert_eq!(s.state(), BookState::Resyncing);
    assert!(s.book().is_none(), "a book that ran ahead is not shown");
    assert_eq!(
        events(&mut s),
        [BookEvent::ResyncStarted {
            reason: ResyncReason::StaleRun
        }]
    );
    assert!(s.poll_fetch().is_some(), "a new snapshot is asked for");
}

#[test]
fn a_stream_that_lags_a_fresh_snapshot_is_not_a_stale_run() {
    let t = t0();
    let mut config = BookConfig::default();
    config.max_stale_run = 3;
    let mut s = spot(config, t);
    s.handle_frame(t, &spot_frame(10, 10, &[], &[])).unwrap();
    assert!(s.poll_fetch().is_some());
    // The snapshot is ahead of everything buffered: the stream catches up over 20 messages.
    s.handle_snapshot(t, &snap(30, &[("99", "1")], &[("101", "1")]))
        .unwrap();
    assert_eq!(s.state(), BookState::Live);
    for seq in 11..=30 {
        s.handle_frame(t, &spot_frame(seq, seq, &[("105", "1", seq)], &[]))
            .unwrap();
    }
    assert_eq!(s.state(), BookState::Live);
    s.handle_frame(t, &spot_frame(31, 31, &[("101", "4", 31)], &[]))
        .unwrap();
    assert_eq!(s.book().map(|b| b.sequence()), Some(31));
    // A duplicate after that is a single stale message: still live.
    s.handle_frame(t, &spot_frame(31, 31, &[("101", "4", 31)], &[]))
        .unwrap();
    assert_eq!(s.state(), BookState::Live);
}
