//! The feed's hot path: frames of several books routed to the right one (by the last book's
//! frame prefix, or by topic), in KuCoin's usual layout and others, and `FeedConfig::book_updates`.

use std::time::Instant;

use kucoin_proto::book::BookEvent;
use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedEvent};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::Transmit;
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-1","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;

/// The origin of virtual time (time does not move in these tests).
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn sym(s: &str) -> SpotSymbol {
    SpotSymbol::new(s).unwrap()
}

struct Rig {
    feed: Feed<Spot>,
    now: Instant,
}

impl Rig {
    /// A live feed following `symbols`, each synced at sequence 10 from a two-level snapshot.
    fn live(config: FeedConfig, symbols: &[&str]) -> Rig {
        let now = t0();
        let rest = RestClient::new()
            .with_base_url("http://127.0.0.1:1")
            .unwrap();
        let mut feed = Feed::new(rest, config, now).unwrap();
        for s in symbols {
            feed.add_book(sym(s), now).unwrap();
        }
        let mut rig = Rig { feed, now };
        let call = rig.feed.poll_request(now, UnixMillis(0)).unwrap();
        assert_eq!(call.purpose, CallPurpose::Bullet { private: false });
        rig.respond(call.id, BULLET);
        let url = rig.feed.poll_connect().unwrap();
        let connect_id = url
            .query_pairs()
            .find(|(k, _)| k == "connectId")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        rig.feed.handle_connected(now);
        rig.feed
            .handle_frame(now, &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#));
        while let Some(t) = rig.feed.poll_transmit() {
            if let Transmit::Text(text) = t {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let id = v["id"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or(v["id"].to_string());
                rig.feed
                    .handle_frame(now, &format!(r#"{{"id":"{id}","type":"ack"}}"#));
            }
        }
        // A first message for every book (the snapshot may be asked for at the ack or at it).
        for s in symbols {
            rig.feed.handle_frame(now, &frame(s, 10, 10, "100", "1"));
        }
        while let Some(call) = rig.feed.poll_request(now, UnixMillis(0)) {
            assert!(matches!(call.purpose, CallPurpose::Snapshot { .. }));
            rig.respond(call.id, &snapshot(10));
        }
        for s in symbols {
            assert_eq!(rig.feed.book(&sym(s)).unwrap().sequence(), 10, "{s} synced");
        }
        rig
    }

    fn respond(&mut self, id: kucoin_proto::feed::CallId, body: &str) {
        self.feed.handle_response(
            self.now,
            UnixMillis(0),
            id,
            200,
            &http::HeaderMap::new(),
            body.as_bytes(),
        );
    }

    fn events(&mut self) -> Vec<FeedEvent<Spot>> {
        std::iter::from_fn(|| self.feed.poll_event()).collect()
    }

    fn best_bid(&self, s: &str) -> (String, String) {
        let b = self.feed.book(&sym(s)).unwrap().best_bid().unwrap();
        (b.price.to_string(), b.size.to_string())
    }
}

fn snapshot(seq: u64) -> String {
    format!(
        r#"{{"code":"200000","data":{{"time":1,"sequence":"{seq}","bids":[["100","1"],["99","2"]],"asks":[["101","1"],["102","3"]]}}}}"#
    )
}

/// A spot frame in KuCoin's usual layout: one bid change at `seq`.
fn frame(symbol: &str, start: u64, seq: u64, price: &str, size: &str) -> String {
    format!(
        r#"{{"type":"message","topic":"/market/level2:{symbol}","subject":"trade.l2update","data":{{"changes":{{"asks":[],"bids":[["{price}","{size}","{seq}"]]}},"sequenceEnd":{seq},"sequenceStart":{start},"symbol":"{symbol}","time":1}}}}"#
    )
}

fn updated(events: &[FeedEvent<Spot>]) -> Vec<(String, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            FeedEvent::Book {
                symbol,
                event: BookEvent::Updated { sequence, messages },
            } => Some((symbol.to_string(), *sequence, *messages)),
            _ => None,
        })
        .collect()
}

#[test]
fn interleaved_frames_of_two_books_each_reach_their_own_book() {
    let mut rig = Rig::live(FeedConfig::default(), &["BTC-USDT", "ETH-USDT"]);
    let frames_before = rig.feed.stats().book_frames;
    for seq in 11..=40u64 {
        let (s, other) = if seq % 3 == 0 {
            ("ETH-USDT", "BTC-USDT")
        } else {
            ("BTC-USDT", "ETH-USDT")
        };
        // Each book has its own sequence space: send the same sequence to both, one at a time.
        rig.feed
            .handle_frame(rig.now, &frame(s, seq, seq, "100", &seq.to_string()));
        rig.feed
            .handle_frame(rig.now, &frame(other, seq, seq, "99", &seq.to_string()));
    }
    assert_eq!(rig.feed.stats().book_frames - frames_before, 60);
    assert_eq!(rig.feed.stats().gaps, 0);
    assert_eq!(rig.feed.stats().frame_errors, 0);
    for s in ["BTC-USDT", "ETH-USDT"] {
        let book = rig.feed.book(&sym(s)).unwrap();
        assert_eq!(book.sequence(), 40, "{s}");
    }
    // Frame 40 (40 % 3 != 0): BTC got 100 = 40, ETH got 99 = 40 and kept 100 = 39.
    assert_eq!(rig.best_bid("BTC-USDT"), ("100".into(), "40".into()));
    assert_eq!(rig.best_bid("ETH-USDT"), ("100".into(), "39".into()));
}

#[test]
fn frames_in_other_layouts_reach_the_book_with_the_same_result() {
    let mut rig = Rig::live(FeedConfig::default(), &["BTC-USDT", "ETH-USDT"]);
    let usual = frame("ETH-USDT", 11, 11, "100", "7");
    // Trailing newline: the prefix matches, the decoder after it gives up, the general one agrees.
    rig.feed.handle_frame(rig.now, &format!("{usual}\n"));
    // Keys in another order, as futures frames come: routed by topic, not by prefix.
    let reordered = r#"{"topic":"/market/level2:ETH-USDT","type":"message","subject":"trade.l2update","data":{"changes":{"asks":[],"bids":[["100","8","12"]]},"sequenceEnd":12,"sequenceStart":12,"symbol":"ETH-USDT","time":1}}"#;
    rig.feed.handle_frame(rig.now, reordered);
    // Extra keys after `data` in the usual layout.
    let extra = frame("ETH-USDT", 13, 13, "100", "9").replace("}}}", r#"}},"sn":13}"#);
    rig.feed.handle_frame(rig.now, &extra);
    assert_eq!(rig.feed.stats().frame_errors, 0);
    assert_eq!(rig.feed.stats().gaps, 0);
    assert_eq!(rig.feed.book(&sym("ETH-USDT")).unwrap().sequence(), 13);
    assert_eq!(rig.best_bid("ETH-USDT"), ("100".into(), "9".into()));
    // The other book saw none of it.
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 10);
}

#[test]
fn a_frame_for_another_book_with_a_wrong_subject_is_an_error_for_that_book_only() {
    let mut rig = Rig::live(FeedConfig::default(), &["BTC-USDT", "ETH-USDT"]);
    rig.events();
    let bad = frame("ETH-USDT", 11, 11, "100", "7").replace("trade.l2update", "trade.other");
    rig.feed.handle_frame(rig.now, &bad);
    let errors: Vec<String> = rig
        .events()
        .iter()
        .filter_map(|e| match e {
            FeedEvent::BookError { symbol, .. } => Some(symbol.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(errors, ["ETH-USDT"]);
    assert_eq!(rig.feed.book(&sym("ETH-USDT")).unwrap().sequence(), 10);
}

#[test]
fn removing_a_book_leaves_the_others_routed() {
    let mut rig = Rig::live(FeedConfig::default(), &["BTC-USDT", "ETH-USDT", "XRP-USDT"]);
    rig.feed
        .handle_frame(rig.now, &frame("XRP-USDT", 11, 11, "100", "5"));
    rig.feed.remove_book(&sym("BTC-USDT"), rig.now).unwrap();
    rig.feed
        .handle_frame(rig.now, &frame("XRP-USDT", 12, 12, "100", "6"));
    rig.feed
        .handle_frame(rig.now, &frame("ETH-USDT", 11, 11, "100", "3"));
    assert_eq!(rig.feed.stats().gaps, 0);
    assert_eq!(rig.best_bid("XRP-USDT"), ("100".into(), "6".into()));
    assert_eq!(rig.best_bid("ETH-USDT"), ("100".into(), "3".into()));
    assert!(rig.feed.book(&sym("BTC-USDT")).is_none());
}

#[test]
fn updates_are_coalesced_into_one_event_per_poll_by_default() {
    let mut rig = Rig::live(FeedConfig::default(), &["BTC-USDT"]);
    rig.events();
    for seq in 11..=13 {
        rig.feed
            .handle_frame(rig.now, &frame("BTC-USDT", seq, seq, "100", "2"));
    }
    assert!(rig.feed.has_events());
    assert_eq!(updated(&rig.events()), [("BTC-USDT".into(), 13, 3)]);
    rig.feed
        .handle_frame(rig.now, &frame("BTC-USDT", 14, 14, "100", "2"));
    assert_eq!(updated(&rig.events()), [("BTC-USDT".into(), 14, 1)]);
    assert!(rig.events().is_empty());
    assert!(!rig.feed.has_events());
}

#[test]
fn with_book_updates_off_no_updated_event_but_gaps_and_syncs_are_reported() {
    let mut rig = Rig::live(
        FeedConfig::default().with_book_updates(false),
        &["BTC-USDT"],
    );
    let events = rig.events();
    assert!(updated(&events).is_empty());
    assert!(events.iter().any(|e| matches!(
        e,
        FeedEvent::Book {
            event: BookEvent::Synced { sequence: 10 },
            ..
        }
    )));
    for seq in 11..=20 {
        rig.feed
            .handle_frame(rig.now, &frame("BTC-USDT", seq, seq, "100", "2"));
    }
    assert!(!rig.feed.has_events());
    assert!(rig.events().is_empty());
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 20);
    // A gap is still reported (and nothing about the updates before it).
    rig.feed
        .handle_frame(rig.now, &frame("BTC-USDT", 25, 25, "100", "2"));
    let events = rig.events();
    assert!(updated(&events).is_empty(), "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            FeedEvent::Book {
                event: BookEvent::GapDetected {
                    expected: 21,
                    got: 25
                },
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(rig.feed.stats().gaps, 1);
    assert!(rig.feed.book(&sym("BTC-USDT")).is_none());
}
