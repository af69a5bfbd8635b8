//! The feed (session + books + REST building) driven on virtual time with scripted KuCoin answers.

use std::time::{Duration, Instant};

use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::book::{BookConfig, BookEvent, BookState, Side, SpotSnapshotSource};
use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedError, FeedEvent, RestCall};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::{DisconnectCause, SessionConfig, SessionEvent, Transmit};
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-1","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;

/// The origin of virtual time: an `Instant` is opaque, so one real reading anchors it; nothing
/// else in these tests reads the clock.
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn sym() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

struct Rig {
    feed: Feed<Spot>,
    now: Instant,
    unix: u64,
    last_url: Option<url::Url>,
}

impl Rig {
    fn new(rest: RestClient<Spot>, config: FeedConfig) -> Rig {
        let now = t0();
        let mut feed = Feed::new(rest, config, now).unwrap();
        feed.add_book(sym(), now).unwrap();
        Rig {
            feed,
            now,
            unix: 1_700_000_000_000,
            last_url: None,
        }
    }

    fn public() -> Rig {
        Rig::new(
            RestClient::new()
                .with_base_url("http://127.0.0.1:1")
                .unwrap(),
            FeedConfig::default(),
        )
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.unix += u64::try_from(d.as_millis()).unwrap();
        self.feed.handle_timeout(self.now);
    }

    fn request(&mut self) -> Option<RestCall> {
        self.feed.poll_request(self.now, UnixMillis(self.unix))
    }

    fn respond(&mut self, call: &RestCall, status: u16, body: &str) {
        self.feed.handle_response(
            self.now,
            UnixMillis(self.unix),
            call.id,
            status,
            &http::HeaderMap::new(),
            body.as_bytes(),
        );
    }

    fn events(&mut self) -> Vec<FeedEvent<Spot>> {
        std::iter::from_fn(|| self.feed.poll_event()).collect()
    }

    fn transmits(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.feed.poll_transmit())
            .map(|t| match t {
                Transmit::Text(s) => s,
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// Bullet, connect, welcome, subscribe and ack: returns the connectId.
    fn connect(&mut self) -> String {
        let call = self.request().expect("a bullet request");
        self.connect_with(call, BULLET)
    }

    fn connect_with(&mut self, call: RestCall, bullet: &str) -> String {
        assert_eq!(call.purpose, CallPurpose::Bullet { private: false });
        assert_eq!(call.request.uri().path(), "/api/v1/bullet-public");
        self.respond(&call, 200, bullet);
        let url = self.feed.poll_connect().expect("a URL to connect to");
        self.last_url = Some(url.clone());
        let connect_id = url
            .query_pairs()
            .find(|(k, _)| k == "connectId")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        self.feed.handle_connected(self.now);
        self.feed.handle_frame(
            self.now,
            &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#),
        );
        let sent = self.transmits();
        let sub = sent
            .iter()
            .find(|s| s.contains(r#""type":"subscribe""#))
            .expect("a subscribe frame");
        assert!(sub.contains("/market/level2:BTC-USDT"), "{sub}");
        let v: serde_json::Value = serde_json::from_str(sub).unwrap();
        let id = v["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or(v["id"].to_string());
        self.feed
            .handle_frame(self.now, &format!(r#"{{"id":"{id}","type":"ack"}}"#));
        connect_id
    }

    fn delta(&mut self, start: u64, changes: &[(&str, &str, &str, u64)]) {
        let mut asks = Vec::new();
        let mut bids = Vec::new();
        for (side, price, size, seq) in changes {
            let entry = format!(r#"["{price}","{size}","{seq}"]"#);
            if *side == "buy" {
                bids.push(entry)
            } else {
                asks.push(entry)
            }
        }
        let end = changes.iter().map(|c| c.3).max().unwrap_or(start);
        let frame = format!(
            r#"{{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{{"changes":{{"asks":[{}],"bids":[{}]}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"BTC-USDT","time":1}}}}"#,
            asks.join(","),
            bids.join(",")
        );
        self.feed.handle_frame(self.now, &frame);
    }
}

fn snapshot(seq: u64) -> String {
    format!(
        r#"{{"code":"200000","data":{{"time":1,"sequence":"{seq}","bids":[["100","1"],["99","2"]],"asks":[["101","1"],["102","3"]]}}}}"#
    )
}

#[test]
fn book_syncs_from_a_snapshot_requested_at_the_ack_with_deltas_buffered_meanwhile() {
    let mut rig = Rig::public();
    rig.connect();
    assert!(rig.feed.book(&sym()).is_none());
    // The subscription is acknowledged: the snapshot is asked for before any message.
    let call = rig.request().expect("a snapshot request at the ack");
    rig.delta(11, &[("buy", "100", "5", 11)]);
    assert_eq!(
        call.purpose,
        CallPurpose::Snapshot {
            symbol: "BTC-USDT".into()
        }
    );
    assert_eq!(
        call.request.uri().path_and_query().unwrap().as_str(),
        "/api/v1/market/orderbook/level2_100?symbol=BTC-USDT"
    );
    rig.delta(12, &[("sell", "101", "0", 12)]);
    rig.respond(&call, 200, &snapshot(10));
    let book = rig.feed.book(&sym()).expect("synced");
    assert_eq!(book.sequence(), 12);
    assert_eq!(book.best_bid().unwrap().size.to_string(), "5");
    assert_eq!(book.best_ask().unwrap().price.to_string(), "102");
    assert!(rig.events().iter().any(|e| matches!(
        e,
        FeedEvent::Book {
            event: BookEvent::Synced { .. },
            ..
        }
    )));
    assert_eq!(rig.feed.stats().book_frames, 2);
}

#[test]
fn disconnect_invalidates_the_book_and_reconnect_resyncs_with_a_new_token() {
    let mut rig = Rig::public();
    rig.connect();
    rig.delta(11, &[("buy", "100", "5", 11)]);
    let call = rig.request().unwrap();
    rig.respond(&call, 200, &snapshot(10));
    assert!(rig.feed.book(&sym()).is_some());

    rig.feed.handle_disconnected(
        rig.now,
        DisconnectCause::Transport("connection reset".into()),
    );
    assert!(
        rig.feed.book(&sym()).is_none(),
        "a book must not be shown across a hole in the stream"
    );
    let events = rig.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FeedEvent::Session(SessionEvent::Disconnected { .. })))
    );
    // Back off, then a fresh bullet, and the whole handshake again.
    let mut waited = Duration::ZERO;
    let call = loop {
        if let Some(call) = rig.request() {
            break call;
        }
        let at = rig.feed.poll_timeout().expect("a backoff deadline");
        let step = at
            .saturating_duration_since(rig.now)
            .max(Duration::from_millis(1));
        waited += step;
        assert!(
            waited < Duration::from_secs(60),
            "no new bullet within a minute"
        );
        rig.advance(step);
    };
    assert!(waited > Duration::ZERO, "reconnect must back off");
    rig.connect_with(call, &BULLET.replace("tok-1", "tok-2"));
    let url = rig.last_url.clone().unwrap();
    assert!(url.query_pairs().any(|(k, v)| k == "token" && v == "tok-2"));
    assert_eq!(rig.feed.stats().reconnects, 1);
    // The book starts over: buffer, new snapshot, synced at the new sequence.
    rig.delta(31, &[("sell", "101", "7", 31)]);
    let call = rig.request().expect("a new snapshot");
    rig.respond(&call, 200, &snapshot(30));
    let book = rig.feed.book(&sym()).expect("resynced");
    assert_eq!(book.sequence(), 31);
    assert_eq!(book.best_ask().unwrap().size.to_string(), "7");
    assert_eq!(book.best_bid().unwrap().size.to_string(), "1");
}

#[test]
fn clock_skew_answer_triggers_server_time_and_adjusted_signing() {
    let creds = Credentials::new("key", "secret", "pass");
    let rest = RestClient::<Spot>::new()
        .with_base_url("http://127.0.0.1:1")
        .unwrap()
        .with_signer(Signer::new(creds).unwrap());
    let mut book = BookConfig::default();
    book.spot_snapshot = SpotSnapshotSource::Full;
    let mut rig = Rig::new(rest, FeedConfig::default().with_book(book));
    rig.connect();
    rig.delta(11, &[("buy", "100", "5", 11)]);
    let call = rig.request().unwrap();
    assert_eq!(call.request.uri().path(), "/api/v3/market/orderbook/level2");
    assert!(call.request.headers().contains_key("KC-API-SIGN"));
    rig.respond(
        &call,
        400,
        r#"{"code":"400002","msg":"Invalid KC-API-TIMESTAMP"}"#,
    );
    let time_call = rig.request().expect("a server-time request");
    assert_eq!(time_call.purpose, CallPurpose::ServerTime);
    let server = rig.unix + 5_000;
    rig.respond(
        &time_call,
        200,
        &format!(r#"{{"code":"200000","data":{server}}}"#),
    );
    assert!(
        rig.events()
            .iter()
            .any(|e| matches!(e, FeedEvent::ClockAdjusted { offset_ms: 5_000 }))
    );
    // The retried snapshot is signed with KuCoin's clock.
    let mut retry = None;
    for _ in 0..100 {
        rig.advance(Duration::from_millis(100));
        if let Some(c) = rig.request() {
            retry = Some(c);
            break;
        }
    }
    let retry = retry.expect("the snapshot is retried");
    assert_eq!(
        retry.request.uri().path(),
        "/api/v3/market/orderbook/level2",
        "{:?}",
        retry.purpose
    );
    let ts: u64 = retry.request.headers()["KC-API-TIMESTAMP"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ts, rig.unix + 5_000);
}

#[test]
fn private_session_without_credentials_is_refused_up_front() {
    let config = FeedConfig::default().with_session(SessionConfig::private());
    let err = Feed::<Spot>::new(RestClient::new(), config, t0()).unwrap_err();
    assert!(matches!(err, FeedError::MissingCredentials { .. }), "{err}");
    assert!(err.to_string().contains("with_signer"));
}

#[test]
fn full_snapshot_without_credentials_is_refused_up_front() {
    let mut book = BookConfig::default();
    book.spot_snapshot = SpotSnapshotSource::Full;
    let config = FeedConfig::default().with_book(book);
    let err = Feed::<Spot>::new(RestClient::new(), config, t0()).unwrap_err();
    assert!(matches!(err, FeedError::MissingCredentials { .. }), "{err}");
}

#[test]
fn adding_the_same_book_twice_is_a_misuse_error() {
    let mut rig = Rig::public();
    let err = rig.feed.add_book(sym(), rig.now).unwrap_err();
    assert_eq!(err, FeedError::DuplicateBook("BTC-USDT".into()));
}

#[test]
fn frames_of_other_topics_come_out_as_messages_and_bad_frames_as_errors() {
    let mut rig = Rig::public();
    rig.connect();
    rig.events();
    rig.feed.handle_frame(
        rig.now,
        r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"price":"1"}}"#,
    );
    rig.feed.handle_frame(rig.now, "{not json");
    let events = rig.events();
    assert!(
        matches!(&events[0], FeedEvent::Message(m) if m.topic == "/market/ticker:BTC-USDT" && m.data == r#"{"price":"1"}"#)
    );
    assert!(matches!(&events[1], FeedEvent::FrameError(_)));
    assert_eq!(rig.feed.stats().frame_errors, 1);
    // The session lives on.
    rig.delta(11, &[("buy", "100", "5", 11)]);
    assert_eq!(
        rig.feed.book_sync(&sym()).unwrap().state(),
        BookState::AwaitingSnapshot
    );
    let _ = Side::Bid;
}

#[test]
fn a_book_timer_that_fell_due_before_the_ack_fires_at_the_ack_and_no_deadline_is_past() {
    // Found by the feed_script fuzz target: a frame routed to a book before its subscription is
    // acknowledged starts a snapshot; the failed fetch arms a retry timer, which stands still
    // while the topic is not acknowledged. When the ack came late, that deadline was already
    // past and the feed reported it.
    let mut rig = Rig::public();
    let call = rig.request().expect("a bullet request");
    rig.respond(&call, 200, BULLET);
    let url = rig.feed.poll_connect().expect("a URL");
    let connect_id = url
        .query_pairs()
        .find(|(k, _)| k == "connectId")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    rig.feed.handle_connected(rig.now);
    rig.feed.handle_frame(
        rig.now,
        &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#),
    );
    let sent = rig.transmits();
    let sub: serde_json::Value = serde_json::from_str(
        sent.iter()
            .find(|s| s.contains(r#""type":"subscribe""#))
            .expect("a subscribe frame"),
    )
    .unwrap();
    // A delta before the ack; its snapshot fetch fails and arms a retry.
    rig.delta(11, &[("buy", "100", "5", 11)]);
    if let Some(call) = rig.request() {
        rig.feed
            .handle_request_failed(rig.now, call.id, "connection refused".into());
    }
    let _ = rig.events();
    // The ack comes 30 s later; no book timer ran meanwhile (the topic was not acknowledged).
    rig.now += Duration::from_secs(30);
    rig.feed.handle_frame(
        rig.now,
        &format!(r#"{{"id":"{}","type":"ack"}}"#, sub["id"].as_str().unwrap()),
    );
    let deadline = rig
        .feed
        .poll_timeout()
        .expect("pings and book timers are armed");
    assert!(
        deadline >= rig.now,
        "a deadline {:?} before now",
        rig.now - deadline
    );
    // The book asks for its snapshot at the ack.
    let call = rig.request().expect("a snapshot request at the ack");
    assert!(matches!(call.purpose, CallPurpose::Snapshot { .. }));
}
