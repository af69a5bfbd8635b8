//! Malformed input through the feed (session + book + REST answers): every case gives a typed
//! error or event, nothing of it is applied, and the session and the book live on.

mod hardening_common;

use hardening_common::{BULLET, Rig, TOPIC, l2, sym};
use kucoin_proto::book::{BookError, BookState, DecimalError};
use kucoin_proto::feed::{CallPurpose, FeedEvent, RequestError};
use kucoin_proto::rest::ResponseError;
use kucoin_proto::ws::{FrameError, SessionEvent, SessionState};

/// What a malformed input must produce.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `FeedEvent::FrameError` (the session could not read the frame).
    Frame(fn(&FrameError) -> bool),
    /// `FeedEvent::BookError` (the book could not use it); nothing applied.
    Book(fn(&BookError) -> bool),
    /// A session event (unknown type, error without a known id).
    Session(fn(&SessionEvent) -> bool),
    /// A message of a topic that is not a book, handed out as is.
    Message,
    /// Nothing at all (a stale frame, an answer to nothing).
    Nothing,
}

fn frame_of(data: &str) -> String {
    format!(r#"{{"type":"message","topic":"{TOPIC}","subject":"trade.l2update","data":{data}}}"#)
}

/// A level-2 frame whose data has one ask `[price, size, seq]` written verbatim.
fn change(price: &str, size: &str, seq: &str) -> String {
    frame_of(&format!(
        r#"{{"changes":{{"asks":[[{price},{size},{seq}]],"bids":[]}},"sequenceEnd":1002,"sequenceStart":1002,"symbol":"BTC-USDT","time":1}}"#
    ))
}

/// A level-2 frame with the given sequence fields, written verbatim.
fn seqs(start: &str, end: &str) -> String {
    frame_of(&format!(
        r#"{{"changes":{{"asks":[["101","1","1002"]],"bids":[]}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"BTC-USDT","time":1}}"#
    ))
}

fn malformed(e: &FrameError) -> bool {
    matches!(e, FrameError::Malformed { .. })
}
fn missing(e: &FrameError) -> bool {
    matches!(e, FrameError::MissingField { .. })
}
fn json(e: &BookError) -> bool {
    matches!(e, BookError::Json(_))
}
fn bad_seq(e: &BookError) -> bool {
    matches!(e, BookError::BadSequence { .. })
}
fn bad_num(e: &BookError) -> bool {
    matches!(e, BookError::BadNumber { .. })
}

fn cases() -> Vec<(&'static str, String, Expect)> {
    use Expect::*;
    let ten_mb = format!(
        r#"{{"type":"message","topic":"{TOPIC}","subject":"trade.l2update","data":{{"pad":"{}"}}}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    vec![
        ("empty frame", String::new(), Frame(malformed)),
        ("not json", "hello".into(), Frame(malformed)),
        ("truncated object", "{".into(), Frame(malformed)),
        ("truncated after key", r#"{"type":"#.into(), Frame(malformed)),
        ("truncated string", r#"{"type":"mess"#.into(), Frame(malformed)),
        ("json array", "[1,2,3]".into(), Frame(malformed)),
        ("json null", "null".into(), Frame(malformed)),
        ("json string", r#""message""#.into(), Frame(malformed)),
        ("json number", "18446744073709551616".into(), Frame(malformed)),
        ("no type", r#"{"id":"1"}"#.into(), Frame(missing)),
        ("message without topic", r#"{"type":"message","data":{}}"#.into(), Frame(missing)),
        ("type of wrong type", r#"{"type":7,"topic":"x"}"#.into(), Frame(malformed)),
        ("topic of wrong type", r#"{"type":"message","topic":[1]}"#.into(), Frame(malformed)),
        ("trailing garbage", r#"{"type":"welcome"} x"#.into(), Frame(malformed)),
        (
            "10 MB frame",
            ten_mb,
            Frame(|e| matches!(e, FrameError::TooLong { len, limit } if *len > *limit)),
        ),
        (
            "invalid UTF-8 after lossy decoding",
            String::from_utf8_lossy(b"{\"type\":\xff\xfe}").into_owned(),
            Frame(malformed),
        ),
        (
            "other topic with truncated data",
            r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"price":"#.into(),
            Frame(|e| matches!(e, FrameError::Data { .. })),
        ),
        (
            "other topic without data",
            r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker"}"#.into(),
            Frame(|e| matches!(e, FrameError::Data { .. })),
        ),
        (
            "message of a topic never subscribed",
            r#"{"type":"message","topic":"/market/ticker:XYZ-USDT","subject":"trade.ticker","data":{}}"#.into(),
            Message,
        ),
        (
            "unknown frame type",
            r#"{"type":"notice","data":"maintenance"}"#.into(),
            Session(|e| matches!(e, SessionEvent::UnknownFrame { kind } if kind == "notice")),
        ),
        (
            "error frame without id",
            r#"{"type":"error","code":500,"data":"internal"}"#.into(),
            Session(|e| matches!(e, SessionEvent::ServerError { code, .. } if code.as_str() == "500")),
        ),
        (
            "error frame with an unknown id",
            r#"{"id":"nobody","type":"error","code":"404","data":"no such topic"}"#.into(),
            Session(|e| matches!(e, SessionEvent::ServerError { code, .. } if code.as_str() == "404")),
        ),
        (
            "error frame without id or code",
            r#"{"type":"error"}"#.into(),
            Session(|e| matches!(e, SessionEvent::ServerError { .. })),
        ),
        ("pong for no ping", r#"{"id":"nobody","type":"pong"}"#.into(), Nothing),
        ("ack for no request", r#"{"id":"nobody","type":"ack"}"#.into(), Nothing),
        ("level-2 data truncated", frame_of(r#"{"changes":"#), Book(json)),
        ("level-2 data is a string", frame_of(r#""changes""#), Book(json)),
        (
            "level-2 without changes",
            frame_of(r#"{"sequenceEnd":1002,"sequenceStart":1002}"#),
            Book(json),
        ),
        (
            "level-2 without sequenceStart",
            frame_of(r#"{"changes":{"asks":[],"bids":[]},"sequenceEnd":1002}"#),
            Book(json),
        ),
        ("negative sequence", seqs("-5", "1002"), Book(bad_seq)),
        ("sequence beyond u64", seqs("1002", "18446744073709551616"), Book(bad_seq)),
        ("fractional sequence", seqs("1002", "1002.5"), Book(bad_seq)),
        ("sequence in exponent form", seqs("1002", "1.002e3"), Book(bad_seq)),
        ("sequence as text", seqs(r#""abc""#, "1002"), Book(bad_seq)),
        ("sequence null", seqs("null", "1002"), Book(bad_seq)),
        (
            "start after end",
            seqs("1003", "1002"),
            Book(|e| matches!(e, BookError::BadRange { start: 1003, end: 1002 })),
        ),
        (
            "change sequence outside the range",
            change(r#""101""#, r#""1""#, r#""999""#),
            Book(|e| matches!(e, BookError::ChangeOutsideRange { .. })),
        ),
        ("exponent price", change(r#""1e5""#, r#""1""#, r#""1002""#), Book(bad_num)),
        ("NaN price", change(r#""NaN""#, r#""1""#, r#""1002""#), Book(bad_num)),
        ("infinite price", change(r#""Infinity""#, r#""1""#, r#""1002""#), Book(bad_num)),
        (
            "negative size",
            change(r#""101""#, r#""-1""#, r#""1002""#),
            Book(|e| {
                matches!(e, BookError::BadNumber { source: DecimalError::Negative, .. })
            }),
        ),
        (
            "overlong decimal",
            change(&format!("\"{}\"", "9".repeat(60)), r#""1""#, r#""1002""#),
            Book(|e| {
                matches!(e, BookError::BadNumber { source: DecimalError::Overlong, .. })
            }),
        ),
        (
            "too precise decimal",
            change(r#""0.0000000000000000001""#, r#""1""#, r#""1002""#),
            Book(|e| {
                matches!(e, BookError::BadNumber { source: DecimalError::TooPrecise, .. })
            }),
        ),
        ("empty price", change(r#""""#, r#""1""#, r#""1002""#), Book(bad_num)),
        ("boolean price", change("true", r#""1""#, r#""1002""#), Book(bad_num)),
        (
            "change with two fields",
            frame_of(r#"{"changes":{"asks":[["101","1"]],"bids":[]},"sequenceEnd":1002,"sequenceStart":1002}"#),
            Book(|e| matches!(e, BookError::BadChange)),
        ),
        (
            "change is an object",
            frame_of(r#"{"changes":{"asks":[{"p":"101"}],"bids":[]},"sequenceEnd":1002,"sequenceStart":1002}"#),
            Book(json),
        ),
        (
            "asks is not a list",
            frame_of(r#"{"changes":{"asks":"101","bids":[]},"sequenceEnd":1002,"sequenceStart":1002}"#),
            Book(json),
        ),
        (
            "duplicate sequenceEnd",
            frame_of(r#"{"changes":{"asks":[],"bids":[]},"sequenceEnd":1002,"sequenceEnd":1003,"sequenceStart":1002}"#),
            Book(json),
        ),
        (
            "data of another symbol",
            frame_of(r#"{"changes":{"asks":[],"bids":[]},"sequenceEnd":1002,"sequenceStart":1002,"symbol":"ETH-USDT"}"#),
            Book(|e| matches!(e, BookError::WrongSymbol { .. })),
        ),
        (
            "wrong subject",
            format!(r#"{{"type":"message","topic":"{TOPIC}","subject":"trade.snapshot","data":{{}}}}"#),
            Book(|e| matches!(e, BookError::WrongSubject { .. })),
        ),
        ("stale sequence", l2(900, 900, "asks", "101", "9"), Nothing),
    ]
}

#[test]
fn malformed_frames_give_typed_errors_and_the_session_and_book_live_on() {
    let table = cases();
    assert!(table.len() >= 40, "{} cases", table.len());
    let mut rig = Rig::live();
    for (name, text, expect) in table {
        let before = rig
            .feed
            .book(&sym())
            .map(|b| (b.sequence(), format!("{b:?}")));
        rig.frame(&text);
        let events = rig.events();
        let hit = events.iter().any(|e| match (e, expect) {
            (FeedEvent::FrameError(err), Expect::Frame(f)) => {
                assert!(!err.to_string().is_empty());
                f(err)
            }
            (FeedEvent::BookError { error, .. }, Expect::Book(f)) => {
                assert!(!error.to_string().is_empty());
                f(error)
            }
            (FeedEvent::Session(ev), Expect::Session(f)) => f(ev),
            (FeedEvent::Message(_), Expect::Message) => true,
            _ => false,
        });
        match expect {
            Expect::Nothing => assert!(events.is_empty(), "{name}: {events:?}"),
            _ => assert!(hit, "{name}: expected {expect:?}, got {events:?}"),
        }
        assert!(
            !events.iter().any(|e| matches!(
                e,
                FeedEvent::Book { .. } | FeedEvent::Session(SessionEvent::Disconnected { .. })
            )),
            "{name}: the book or session reacted: {events:?}"
        );
        assert_eq!(rig.feed.session().state(), SessionState::Live, "{name}");
        assert_eq!(rig.state(), BookState::Live, "{name}");
        let after = rig
            .feed
            .book(&sym())
            .map(|b| (b.sequence(), format!("{b:?}")));
        assert_eq!(before, after, "{name}: something of it was applied");
        rig.assert_next_frame_applies();
    }
    assert!(rig.feed.stats().frame_errors >= 18);
}

#[test]
fn a_sequence_far_ahead_is_a_gap_and_the_book_resyncs() {
    let mut config = Rig::config().with_book(hardening_common::small_book());
    config.max_queued_events = 1000;
    let mut rig = Rig::live_with(config);
    for start in [rig.seq + 2, u64::MAX - 1] {
        rig.frame(&l2(start, start, "asks", "101", "1"));
        let events = rig.events();
        assert!(
            events.iter().any(|e| matches!(
                e,
                FeedEvent::Book {
                    event: kucoin_proto::book::BookEvent::GapDetected { .. },
                    ..
                }
            )),
            "{events:?}"
        );
        assert!(
            rig.feed.book(&sym()).is_none(),
            "a book with a gap is shown"
        );
        assert_eq!(rig.feed.session().state(), SessionState::Live);
        if start > u64::MAX / 2 {
            // The bogus message stays first in the buffer, so every snapshot is "too old" for
            // it, until the buffer (max_buffered_updates) overflows and the sync restarts.
            for k in 0..5 {
                rig.frame(&l2(rig.seq + 10 + k, rig.seq + 10 + k, "asks", "101", "1"));
            }
            let events = rig.events();
            assert!(
                events.iter().any(|e| matches!(
                    e,
                    FeedEvent::Book {
                        event: kucoin_proto::book::BookEvent::BufferOverflow { limit: 4 },
                        ..
                    }
                )),
                "{events:?}"
            );
        }
        rig.resync();
        rig.assert_next_frame_applies();
    }
}

#[test]
fn binary_frames_are_reported_and_ignored() {
    let mut rig = Rig::live();
    rig.feed.handle_binary(rig.now, 4096);
    assert_eq!(rig.events(), vec![FeedEvent::BinaryFrame { len: 4096 }]);
    rig.assert_next_frame_applies();
}

#[test]
fn invalid_utf8_never_reaches_the_core() {
    // The core takes `&str`: an adapter must turn bytes into text first, and invalid UTF-8 fails
    // there. Lossy decoding (what an adapter may do) gives a frame the session rejects as such.
    let bytes: &[u8] = &[b'{', b'"', b'a', b'"', b':', b'"', 0xc3, 0x28, b'"', b'}'];
    assert!(std::str::from_utf8(std::hint::black_box(bytes)).is_err());
    let mut rig = Rig::live();
    rig.frame(&String::from_utf8_lossy(bytes));
    // The lossy text is valid JSON for an unknown topic without data: a typed data error.
    assert!(
        rig.events()
            .iter()
            .any(|e| matches!(e, FeedEvent::FrameError(_))),
    );
    rig.assert_next_frame_applies();
}

#[test]
fn malformed_rest_answers_are_typed_failures_and_the_book_retries() {
    let mut rig = Rig::live();
    // Force a resync so that a snapshot is wanted.
    rig.frame(&l2(rig.seq + 5, rig.seq + 5, "asks", "101", "1"));
    rig.events();
    for (name, status, body, check) in [
        (
            "not json",
            200,
            "<html>",
            (|e: &RequestError| {
                matches!(e, RequestError::Response(ResponseError::Malformed { .. }))
            }) as fn(&RequestError) -> bool,
        ),
        ("empty", 200, "", |e| {
            matches!(e, RequestError::Response(ResponseError::Empty { .. }))
        }),
        (
            "negative sequence",
            200,
            r#"{"code":"200000","data":{"sequence":-1,"bids":[],"asks":[]}}"#,
            |e| matches!(e, RequestError::Response(ResponseError::Malformed { .. })),
        ),
        (
            "NaN level",
            200,
            r#"{"code":"200000","data":{"sequence":"5","bids":[["NaN","1"]],"asks":[]}}"#,
            |e| {
                matches!(
                    e,
                    RequestError::Snapshot(BookError::BadSnapshotLevel { .. })
                )
            },
        ),
        (
            "a price twice",
            200,
            r#"{"code":"200000","data":{"sequence":"5","bids":[["1","1"],["1","2"]],"asks":[]}}"#,
            |e| matches!(e, RequestError::Snapshot(BookError::DuplicateSnapshotPrice)),
        ),
        (
            "KuCoin error code",
            200,
            r#"{"code":"400100","msg":"bad symbol"}"#,
            |e| matches!(e, RequestError::Response(ResponseError::Api(a)) if a.code.as_str() == "400100"),
        ),
        ("server error page", 503, "<html>503</html>", |e| {
            matches!(e, RequestError::Response(ResponseError::Status { .. }))
        }),
    ] {
        rig.advance(std::time::Duration::from_secs(11));
        let call = std::iter::from_fn(|| rig.request())
            .find(|c| matches!(c.purpose, CallPurpose::Snapshot { .. }))
            .unwrap_or_else(|| panic!("{name}: no snapshot request"));
        rig.respond(&call, status, body);
        let events = rig.events();
        assert!(
            events.iter().any(|e| matches!(
                e,
                FeedEvent::RequestFailed { error, .. } if check(error)
            )),
            "{name}: {events:?}"
        );
        assert!(rig.feed.book(&sym()).is_none(), "{name}");
    }
    // A bullet answer without servers is refused with a typed error too.
    rig.feed.handle_disconnected(
        rig.now,
        kucoin_proto::ws::DisconnectCause::Transport("reset".into()),
    );
    rig.advance(std::time::Duration::from_secs(60));
    let call = std::iter::from_fn(|| rig.request())
        .find(|c| matches!(c.purpose, CallPurpose::Bullet { .. }))
        .expect("a bullet request");
    rig.respond(
        &call,
        200,
        r#"{"code":"200000","data":{"token":"t","instanceServers":[]}}"#,
    );
    let events = rig.events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            FeedEvent::Session(SessionEvent::Reconnecting {
                reason: kucoin_proto::ws::ReconnectReason::Bullet(_),
                ..
            })
        )),
        "{events:?}"
    );
    // And the feed still recovers: a good bullet, then a resync.
    rig.advance(std::time::Duration::from_secs(60));
    let call = std::iter::from_fn(|| rig.request())
        .find(|c| matches!(c.purpose, CallPurpose::Bullet { .. }))
        .expect("a bullet request");
    rig.respond(&call, 200, BULLET);
    let _ = rig.feed.poll_connect().expect("a URL");
    rig.feed.handle_connected(rig.now);
    rig.frame(r#"{"id":"w","type":"welcome"}"#);
    rig.ack_all();
    rig.resync();
    rig.assert_next_frame_applies();
}
