//! A spot `Feed` with a live `BTC-USDT` book on virtual time, for the hardening tests.
#![allow(dead_code)] // each test crate uses a part

use std::time::{Duration, Instant};

use kucoin_proto::book::{BookConfig, BookState, Side};
use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedEvent, RestCall};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::{SessionConfig, SessionState, Transmit};
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

pub const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-hardening-0123456789","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
pub const TOPIC: &str = "/market/level2:BTC-USDT";

/// The origin of virtual time: one real reading anchors it; nothing else reads the clock.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}

pub fn sym() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

/// A level-2 frame of BTC-USDT with one change `[price, size, end]` on `side` ("asks"/"bids").
pub fn l2(start: u64, end: u64, side: &str, price: &str, size: &str) -> String {
    let other = if side == "asks" { "bids" } else { "asks" };
    format!(
        r#"{{"type":"message","topic":"{TOPIC}","subject":"trade.l2update","data":{{"changes":{{"{side}":[["{price}","{size}","{end}"]],"{other}":[]}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"BTC-USDT","time":1}}}}"#
    )
}

/// The REST answer of a level2_100 snapshot at `seq`.
pub fn snapshot_body(seq: u64) -> String {
    format!(
        r#"{{"code":"200000","data":{{"sequence":"{seq}","time":1,"bids":[["99","1"],["98","2"]],"asks":[["101","1"],["102","3"]]}}}}"#
    )
}

pub struct Rig {
    pub feed: Feed<Spot>,
    pub now: Instant,
    pub unix: u64,
    /// The last sequence applied to the book.
    pub seq: u64,
}

impl Rig {
    /// A feed with the default configuration, its book live at sequence 1001.
    pub fn live() -> Rig {
        Rig::live_with(FeedConfig::default())
    }

    pub fn live_with(config: FeedConfig) -> Rig {
        let mut rig = Rig::new(config);
        rig.connect();
        rig.sync(1000);
        rig
    }

    pub fn new(config: FeedConfig) -> Rig {
        let now = t0();
        let mut feed = Feed::new(RestClient::new(), config, now).unwrap();
        feed.add_book(sym(), now).unwrap();
        Rig {
            feed,
            now,
            unix: 1_700_000_000_000,
            seq: 0,
        }
    }

    pub fn config() -> FeedConfig {
        FeedConfig::default().with_session(SessionConfig::public().with_seed(3))
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.unix += u64::try_from(d.as_millis()).unwrap();
        self.feed.handle_timeout(self.now);
        self.ack_all();
    }

    pub fn request(&mut self) -> Option<RestCall> {
        self.feed.poll_request(self.now, UnixMillis(self.unix))
    }

    pub fn respond(&mut self, call: &RestCall, status: u16, body: &str) {
        self.feed.handle_response(
            self.now,
            UnixMillis(self.unix),
            call.id,
            status,
            &http::HeaderMap::new(),
            body.as_bytes(),
        );
    }

    /// Answers call `id` (known or not) with `body`.
    pub fn respond_id(&mut self, id: kucoin_proto::feed::CallId, body: &str) {
        self.feed.handle_response(
            self.now,
            UnixMillis(self.unix),
            id,
            200,
            &http::HeaderMap::new(),
            body.as_bytes(),
        );
    }

    pub fn events(&mut self) -> Vec<FeedEvent<Spot>> {
        std::iter::from_fn(|| self.feed.poll_event()).collect()
    }

    pub fn transmits(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.feed.poll_transmit())
            .map(|t| match t {
                Transmit::Text(s) => s,
                other => format!("{other:?}"),
            })
            .collect()
    }

    pub fn frame(&mut self, text: &str) {
        self.feed.handle_frame(self.now, text);
    }

    /// Bullet, connect, welcome, ack of every subscribe.
    pub fn connect(&mut self) {
        let call = self.request().expect("a bullet request");
        assert!(matches!(call.purpose, CallPurpose::Bullet { .. }));
        self.respond(&call, 200, BULLET);
        let _url = self.feed.poll_connect().expect("a URL");
        self.feed.handle_connected(self.now);
        self.frame(r#"{"id":"w","type":"welcome"}"#);
        self.ack_all();
        assert_eq!(self.feed.session().state(), SessionState::Live);
    }

    pub fn ack_all(&mut self) {
        for sent in self.transmits() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&sent) else {
                continue; // a close
            };
            let answer = if v["type"] == "ping" { "pong" } else { "ack" };
            if let Some(id) = v["id"].as_str() {
                self.frame(&format!(r#"{{"id":"{id}","type":"{answer}"}}"#));
            }
        }
    }

    /// A first frame at `at + 1`, then the snapshot at `at`: the book is live at `at + 1`.
    pub fn sync(&mut self, at: u64) {
        self.frame(&l2(at + 1, at + 1, "asks", "103", "1"));
        let call = loop {
            let call = self.request().expect("a snapshot request");
            if matches!(call.purpose, CallPurpose::Snapshot { .. }) {
                break call;
            }
        };
        self.respond(&call, 200, &snapshot_body(at));
        self.seq = at + 1;
        assert_eq!(self.state(), BookState::Live, "{:?}", self.events());
        self.events();
    }

    pub fn state(&self) -> BookState {
        self.feed.book_sync(&sym()).unwrap().state()
    }

    pub fn book_seq(&self) -> Option<u64> {
        self.feed.book(&sym()).map(|b| b.sequence())
    }

    /// Applies a valid next frame and checks it took effect.
    pub fn assert_next_frame_applies(&mut self) {
        let next = self.seq + 1;
        self.frame(&l2(next, next, "bids", "97", "7"));
        let book = self.feed.book(&sym()).expect("the book is live");
        assert_eq!(book.sequence(), next);
        assert_eq!(
            book.size_at(Side::Bid, "97".parse().unwrap()),
            Some("7".parse().unwrap())
        );
        self.seq = next;
        self.events();
    }

    /// After a resync started: answer the snapshot request and get live again.
    pub fn resync(&mut self) {
        self.advance(Duration::from_secs(3));
        let base = self.seq + 1000;
        self.frame(&l2(base + 1, base + 1, "asks", "104", "1"));
        let call = loop {
            let call = self.request().expect("a snapshot request");
            if matches!(call.purpose, CallPurpose::Snapshot { .. }) {
                break call;
            }
        };
        self.respond(&call, 200, &snapshot_body(base));
        self.seq = base + 1;
        assert_eq!(self.state(), BookState::Live, "{:?}", self.events());
        self.events();
    }
}

/// The book configuration with small limits.
pub fn small_book() -> BookConfig {
    let mut c = BookConfig::default();
    c.max_buffered_updates = 4;
    c.max_levels = 8;
    c
}
