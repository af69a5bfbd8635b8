//! Topic placement and typed routing over several connections, driven on virtual time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedEvent, OwnedMessage};
use kucoin_proto::feed_pool::{ChannelRouter, ConnId, Placement, PoolEvent, TopicOn};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::channels::{
    ChannelKind, ChannelMessage, SpotOrdersV2Channel, SpotTickerChannel,
};
use kucoin_proto::ws::{DisconnectCause, SessionConfig, SessionState, Topic, Transmit};
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-1","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;

/// The origin of virtual time (one real reading anchors the opaque `Instant`).
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn symbols(n: usize) -> Vec<SpotSymbol> {
    (1..=n)
        .map(|i| SpotSymbol::new(format!("SYM{i:04}-USDT")).unwrap())
        .collect()
}

fn ticker_data(seq: u64) -> String {
    format!(
        r#"{{"sequence":"{seq}","price":"1.5","size":"2","bestAsk":"1.6","bestAskSize":"1","bestBid":"1.4","bestBidSize":"3","time":1704873323416}}"#
    )
}

fn ticker(symbol: &str, seq: u64) -> OwnedMessage {
    OwnedMessage {
        topic: format!("/market/ticker:{symbol}"),
        subject: Some("trade.ticker".into()),
        data: ticker_data(seq),
    }
}

#[test]
fn thousand_topics_fill_four_connections_three_hundred_each() {
    let mut router = ChannelRouter::new(300);
    let (_sub, placed) = router
        .subscribe(SpotTickerChannel {
            symbols: symbols(1000),
        })
        .unwrap();
    assert_eq!(placed.len(), 1000);
    let placement = router.placement();
    assert_eq!(placement.len(), 4);
    let counts: Vec<usize> = (0..4).map(|i| placement.topic_count(ConnId(i))).collect();
    assert_eq!(counts, [300, 300, 300, 100]);
    // Each connection is opened once, by its first topic.
    let opened: Vec<ConnId> = placed.iter().filter(|t| t.opened).map(|t| t.conn).collect();
    assert_eq!(opened, [ConnId(0), ConnId(1), ConnId(2), ConnId(3)]);
    assert!(placed.iter().all(|t| !t.private));
    assert_eq!(
        placement.connection_of("/market/ticker:SYM0301-USDT"),
        Some(ConnId(1))
    );
}

#[test]
fn topics_per_connection_is_configurable() {
    let mut router = ChannelRouter::new(100);
    router
        .subscribe(SpotTickerChannel {
            symbols: symbols(1000),
        })
        .unwrap();
    assert_eq!(router.placement().len(), 10);
    assert_eq!(router.placement().topics_per_connection(), 100);
}

#[test]
fn private_topics_ride_on_a_private_connection_of_their_own() {
    let mut router = ChannelRouter::new(300);
    router
        .subscribe(SpotTickerChannel {
            symbols: symbols(10),
        })
        .unwrap();
    let (_orders, placed) = router.subscribe(SpotOrdersV2Channel).unwrap();
    assert_eq!(placed.len(), 1);
    let on = &placed[0];
    assert!(on.opened && on.private);
    assert_eq!(on.conn, ConnId(1));
    assert!(router.placement().is_private(ConnId(1)));
    assert!(!router.placement().is_private(ConnId(0)));
    // A public book topic goes to the public connection, not the private one with room.
    let book = Topic::parse("/market/level2:BTC-USDT").unwrap();
    let on = router.add_topic(&book).unwrap();
    assert_eq!((on.conn, on.opened, on.private), (ConnId(0), false, false));
}

#[test]
fn removal_frees_capacity_for_the_next_topic() {
    let mut placement = Placement::new(2);
    let a = Topic::parse("/market/ticker:A-USDT").unwrap();
    let b = Topic::parse("/market/ticker:B-USDT").unwrap();
    let c = Topic::parse("/market/ticker:C-USDT").unwrap();
    assert_eq!(placement.place(&a).conn, ConnId(0));
    assert_eq!(placement.place(&b).conn, ConnId(0));
    assert_eq!(placement.remove(&a), Some(ConnId(0)));
    let placed = placement.place(&c);
    assert_eq!((placed.conn, placed.opened), (ConnId(0), false));
    assert_eq!(placement.len(), 1);
    assert_eq!(placement.remove(&a), None);
}

#[test]
fn unsubscribe_frees_only_topics_no_other_subscription_uses() {
    let mut router = ChannelRouter::new(300);
    let all = symbols(3);
    let (wide, _) = router
        .subscribe(SpotTickerChannel {
            symbols: all.clone(),
        })
        .unwrap();
    let (narrow, placed) = router
        .subscribe(SpotTickerChannel {
            symbols: all[..1].to_vec(),
        })
        .unwrap();
    assert!(placed.is_empty(), "already subscribed: {placed:?}");
    let freed: Vec<String> = router
        .unsubscribe(wide.id())
        .into_iter()
        .map(|t: TopicOn| t.topic.to_string())
        .collect();
    assert_eq!(
        freed,
        ["/market/ticker:SYM0002-USDT", "/market/ticker:SYM0003-USDT"]
    );
    assert_eq!(router.placement().topic_count(ConnId(0)), 1);
    let freed = router.unsubscribe(narrow.id());
    assert_eq!(freed.len(), 1);
    assert_eq!(router.placement().topic_count(ConnId(0)), 0);
}

#[test]
fn a_message_goes_only_to_the_subscription_of_its_symbol_typed() {
    let mut router = ChannelRouter::new(300);
    let all = symbols(4);
    let (first, _) = router
        .subscribe(SpotTickerChannel {
            symbols: all[..2].to_vec(),
        })
        .unwrap();
    let (second, _) = router
        .subscribe(SpotTickerChannel {
            symbols: all[2..].to_vec(),
        })
        .unwrap();
    let mut out = Vec::new();
    router.route(
        ConnId(0),
        FeedEvent::<Spot>::Message(ticker("SYM0003-USDT", 9)),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    let PoolEvent::Channel(event) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(event.subscription, second.id());
    assert_eq!(event.kind, ChannelKind::SpotTicker);
    assert!(matches!(&event.message, ChannelMessage::SpotTicker(t) if t.sequence == Some(9)));
    assert!(first.message(event).is_none());
    let typed = second.message(event).unwrap().unwrap();
    assert_eq!(typed.best_bid.unwrap().to_string(), "1.4");
}

#[test]
fn a_malformed_message_is_a_typed_error_and_others_are_passed_on() {
    let mut router = ChannelRouter::new(300);
    let (sub, _) = router
        .subscribe(SpotTickerChannel {
            symbols: symbols(1),
        })
        .unwrap();
    let mut out = Vec::new();
    let mut bad = ticker("SYM0001-USDT", 1);
    bad.data = r#"{"price":"not a number","time":1}"#.into();
    router.route(ConnId(0), FeedEvent::<Spot>::Message(bad), &mut out);
    // A topic nobody subscribed through the router.
    router.route(
        ConnId(0),
        FeedEvent::<Spot>::Message(ticker("ETH-USDT", 1)),
        &mut out,
    );
    router.route(
        ConnId(2),
        FeedEvent::<Spot>::BinaryFrame { len: 3 },
        &mut out,
    );
    assert!(
        matches!(&out[0], PoolEvent::ChannelError { subscription, .. } if *subscription == sub.id()),
        "{out:?}"
    );
    assert!(
        matches!(&out[1], PoolEvent::Unrouted { raw, .. } if raw.topic == "/market/ticker:ETH-USDT")
    );
    assert!(matches!(
        &out[2],
        PoolEvent::Feed {
            conn: ConnId(2),
            event: FeedEvent::BinaryFrame { len: 3 }
        }
    ));
}

/// One connection's feed on virtual time, answering what a server would.
struct Conn {
    feed: Feed<Spot>,
}

impl Conn {
    fn new(private: bool, seed: u64, now: Instant) -> Conn {
        let mut rest = RestClient::new()
            .with_base_url("http://127.0.0.1:1")
            .unwrap();
        let mut session = if private {
            SessionConfig::private()
        } else {
            SessionConfig::public()
        };
        session = session.with_seed(seed);
        if private {
            let creds = Credentials::new("key", "secret", "pass");
            rest = rest.with_signer(Signer::new(creds).unwrap());
        }
        let config = FeedConfig::default().with_session(session);
        Conn {
            feed: Feed::new(rest, config, now).unwrap(),
        }
    }

    /// Runs bullet, connect, welcome and acks until nothing is asked for.
    fn serve(&mut self, now: Instant) -> usize {
        let mut acks = 0;
        while let Some(call) = self.feed.poll_request(now, UnixMillis(1_700_000_000_000)) {
            if matches!(call.purpose, CallPurpose::Bullet { .. }) {
                self.feed.handle_response(
                    now,
                    UnixMillis(1),
                    call.id,
                    200,
                    &http::HeaderMap::new(),
                    BULLET.as_bytes(),
                );
            }
        }
        if let Some(url) = self.feed.poll_connect() {
            let id = url
                .query_pairs()
                .find(|(k, _)| k == "connectId")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            self.feed.handle_connected(now);
            self.feed
                .handle_frame(now, &format!(r#"{{"id":"{id}","type":"welcome"}}"#));
        }
        while let Some(t) = self.feed.poll_transmit() {
            if let Transmit::Text(text) = t {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "subscribe" {
                    let id = v["id"].as_str().map_or(v["id"].to_string(), str::to_owned);
                    self.feed
                        .handle_frame(now, &format!(r#"{{"id":"{id}","type":"ack"}}"#));
                    acks += 1;
                }
            }
        }
        acks
    }
}

#[test]
fn one_connection_closing_leaves_the_others_live_and_it_resubscribes_after_backoff() {
    let mut now = t0();
    let mut router = ChannelRouter::new(300);
    let (tickers, placed) = router
        .subscribe(SpotTickerChannel {
            symbols: symbols(1000),
        })
        .unwrap();
    let mut conns: BTreeMap<ConnId, Conn> = BTreeMap::new();
    for on in &placed {
        let conn = conns
            .entry(on.conn)
            .or_insert_with(|| Conn::new(on.private, on.conn.0 as u64, now));
        conn.feed.subscribe(on.topic.clone(), now).unwrap();
    }
    assert_eq!(conns.len(), 4);
    for conn in conns.values_mut() {
        // 300 topics joined 100 to a request: three acks (one for the last connection).
        assert!(conn.serve(now) >= 1);
        assert_eq!(conn.feed.session().state(), SessionState::Live);
        while conn.feed.poll_event().is_some() {}
    }

    // The server closes connection 1 only.
    let down = conns.get_mut(&ConnId(1)).unwrap();
    down.feed.handle_disconnected(
        now,
        DisconnectCause::ServerClosed {
            code: None,
            reason: "closed by the server".into(),
        },
    );
    assert_ne!(down.feed.session().state(), SessionState::Live);
    for (id, conn) in &conns {
        if *id != ConnId(1) {
            assert_eq!(conn.feed.session().state(), SessionState::Live, "{id}");
        }
    }
    // Its reconnect is due after the backoff; the others' deadlines are pings only.
    let due = conns[&ConnId(1)].feed.poll_timeout().unwrap();
    assert!(due > now && due <= now + Duration::from_secs(60));
    now = due;
    let down = conns.get_mut(&ConnId(1)).unwrap();
    down.feed.handle_timeout(now);
    assert_eq!(down.serve(now), 3, "300 topics resubscribed, 100 a request");
    assert_eq!(down.feed.session().state(), SessionState::Live);

    // A ticker of connection 1's topics arrives there and is routed to its subscription.
    let frame = format!(
        r#"{{"type":"message","topic":"/market/ticker:SYM0400-USDT","subject":"trade.ticker","data":{}}}"#,
        ticker_data(4)
    );
    down.feed.handle_frame(now, &frame);
    let mut out = Vec::new();
    while let Some(event) = down.feed.poll_event() {
        router.route(ConnId(1), event, &mut out);
    }
    let typed: Vec<_> = out
        .iter()
        .filter_map(|e| match e {
            PoolEvent::Channel(c) => tickers.message(c),
            _ => None,
        })
        .collect();
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].as_ref().unwrap().sequence, Some(4));
}

#[test]
fn a_symbol_given_twice_is_one_topic_and_one_event_per_message() {
    let mut router = ChannelRouter::new(300);
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let (sub, placed) = router
        .subscribe(SpotTickerChannel {
            symbols: vec![btc.clone(), btc],
        })
        .unwrap();
    assert_eq!(placed.len(), 1);
    let mut out = Vec::new();
    router.route(
        ConnId(0),
        FeedEvent::<Spot>::Message(ticker("BTC-USDT", 1)),
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(router.unsubscribe(sub.id()).len(), 1);
    assert_eq!(router.placement().topic_count(ConnId(0)), 0);
}
