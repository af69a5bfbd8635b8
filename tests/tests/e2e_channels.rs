//! Typed channels over several connections, both adapters, against the fake exchange.
//!
//! - 1,000 spot tickers spread over 4 connections (300 each); the server closes one; every
//!   topic of it delivers again within the backoff plus a few round trips and a tick, while the
//!   others never disconnect; no message is delivered as another topic's.
//! - A level-2 book and the private orders channel at once, on a public and a private session.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::book::BookEvent;
use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::feed_pool::{ChannelEvent, ConnId, PoolEvent, Subscription};
use kucoin_blocking::proto::num::Dec;
use kucoin_blocking::proto::ws::channels::{
    ChannelKind, OrderEventType, SpotOrdersV2Channel, SpotTickerChannel,
};
use kucoin_blocking::proto::ws::{Backoff, SessionConfig, SessionEvent};
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::{ChannelFeed, Config};
use kucoin_tests::{
    FakeConfig, FakeKucoin, SymbolSpec, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
};

const SYMBOLS: usize = 1000;
const BACKOFF_MAX: Duration = Duration::from_millis(200);
/// A ticker per symbol every tick.
const TICK: Duration = Duration::from_millis(200);

fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

fn names() -> Vec<String> {
    (1..=SYMBOLS).map(|i| format!("SYM{i:04}-USDT")).collect()
}

fn many_tickers_fake() -> FakeKucoin {
    let mut config = FakeConfig::spot().with_rate(TICK, 1);
    config.symbols = names().iter().map(|s| SymbolSpec::spot(s)).collect();
    FakeKucoin::start(config).unwrap()
}

fn session() -> SessionConfig {
    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: BACKOFF_MAX,
        jitter: Duration::from_millis(10),
    };
    SessionConfig::public()
        .with_seed(7)
        .with_backoff(backoff)
        .with_welcome_timeout(Duration::from_secs(2))
}

fn ticker_channel() -> SpotTickerChannel {
    SpotTickerChannel {
        symbols: names()
            .iter()
            .map(|s| SpotSymbol::new(s.as_str()).unwrap())
            .collect(),
    }
}

/// What the ticker test checks on every event, whatever the adapter.
struct TickerCheck {
    sub: Subscription<SpotTickerChannel>,
    wanted: BTreeSet<String>,
    /// Topic -> last time a ticker of it arrived.
    seen: BTreeMap<String, Instant>,
    disconnects: Vec<(ConnId, Instant)>,
    /// Topic -> last time its subscription was acknowledged.
    subscribed: BTreeMap<String, Instant>,
    delivered: u64,
}

impl TickerCheck {
    fn new(sub: Subscription<SpotTickerChannel>) -> Self {
        Self {
            sub,
            wanted: names()
                .iter()
                .map(|s| format!("/market/ticker:{s}"))
                .collect(),
            seen: BTreeMap::new(),
            disconnects: Vec::new(),
            subscribed: BTreeMap::new(),
            delivered: 0,
        }
    }

    /// Checks one event; `placed` is the connection the router put the topic on.
    fn event(&mut self, event: &PoolEvent<Spot>, placed: impl Fn(&str) -> Option<ConnId>) {
        match event {
            PoolEvent::Channel(ev) => self.ticker(ev, placed),
            PoolEvent::ChannelError { raw, error, .. } => {
                panic!("ticker {} not decoded: {error}", raw.topic)
            }
            PoolEvent::Unrouted { raw, .. } => panic!("unrouted message of {}", raw.topic),
            PoolEvent::Feed {
                conn,
                event: FeedEvent::Session(SessionEvent::Disconnected { .. }),
            } => self.disconnects.push((*conn, Instant::now())),
            PoolEvent::Feed {
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
                ..
            } => {
                self.subscribed.insert(topic.to_string(), Instant::now());
            }
            _ => {}
        }
    }

    fn ticker(&mut self, ev: &ChannelEvent, placed: impl Fn(&str) -> Option<ConnId>) {
        assert_eq!(ev.kind, ChannelKind::SpotTicker);
        assert!(
            self.wanted.contains(&ev.raw.topic),
            "not subscribed: {}",
            ev.raw.topic
        );
        // It came on the connection its topic was placed on, and is typed as its channel's.
        assert_eq!(placed(&ev.raw.topic), Some(ev.conn), "{}", ev.raw.topic);
        let ticker = self.sub.message(ev).expect("this subscription's").unwrap();
        assert!(ticker.best_bid.is_some() && ticker.best_ask.is_some());
        self.delivered += 1;
        self.seen.insert(ev.raw.topic.clone(), Instant::now());
    }

    /// When the last of `topics` was acknowledged again after `since`.
    fn resubscribed_after(&self, topics: &BTreeSet<String>, since: Instant) -> Duration {
        topics
            .iter()
            .map(|t| match self.subscribed.get(t) {
                Some(at) if *at > since => *at - since,
                _ => panic!("{t} not resubscribed"),
            })
            .max()
            .unwrap_or_default()
    }

    fn all_seen_since(&self, topics: &BTreeSet<String>, since: Instant) -> bool {
        topics
            .iter()
            .all(|t| self.seen.get(t).is_some_and(|at| *at > since))
    }
}

/// The fake's connection holding `topic`, with all its topics.
fn fake_connection_of(fake: &FakeKucoin, topic: &str) -> (usize, BTreeSet<String>) {
    let conns = fake.connection_topics();
    let index = conns
        .iter()
        .position(|ts| ts.iter().any(|t| t == topic))
        .expect("a connection with the topic");
    (index, conns[index].iter().cloned().collect())
}

fn assert_spread(fake: &FakeKucoin) {
    let mut counts: Vec<usize> = fake.connection_topics().iter().map(Vec::len).collect();
    counts.sort_unstable();
    assert_eq!(counts, [100, 300, 300, 300]);
}

#[test]
fn blocking_thousand_tickers_on_four_connections_survive_one_server_close() {
    let fake = many_tickers_fake();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .session(session());
    let mut feed = ChannelFeed::new(config);
    let sub = feed.subscribe(ticker_channel()).unwrap();
    assert_eq!(feed.connections(), 4);
    let mut check = TickerCheck::new(sub);
    let all = check.wanted.clone();
    let start = Instant::now();
    let limit = start + Duration::from_secs(60);
    while !check.all_seen_since(&all, start) {
        let event = feed
            .next_event_until(limit)
            .expect("tickers before the limit");
        check.event(&event, |t| feed.router().placement().connection_of(t));
    }
    let first_all = start.elapsed();
    assert_spread(&fake);

    // The server closes the connection of SYM0400 (one of the full ones).
    let (index, closed) = fake_connection_of(&fake, "/market/ticker:SYM0400-USDT");
    assert_eq!(closed.len(), 300);
    let conn = feed
        .router()
        .placement()
        .connection_of("/market/ticker:SYM0400-USDT")
        .unwrap();
    assert!(fake.inject_close_connection(index));
    let closed_at = Instant::now();
    let limit = closed_at + Duration::from_secs(30);
    loop {
        let event = feed
            .next_event_until(limit)
            .expect("the topics back before the limit");
        check.event(&event, |t| feed.router().placement().connection_of(t));
        if let Some(&(_, down)) = check.disconnects.first()
            && check.all_seen_since(&closed, down)
        {
            break;
        }
    }
    let (down_conn, down_at) = check.disconnects[0];
    let back = check
        .seen
        .iter()
        .filter(|(t, _)| closed.contains(*t))
        .map(|(_, at)| *at)
        .max()
        .unwrap();
    let outage = back - down_at;
    let resubscribed = check.resubscribed_after(&closed, down_at);
    eprintln!(
        "blocking: all {SYMBOLS} tickers first in {first_all:?}; after the close of {down_conn}, \
         all 300 of its topics acknowledged again in {resubscribed:?} and delivering in \
         {outage:?} (backoff max {BACKOFF_MAX:?}, tick {TICK:?}); {} tickers delivered",
        check.delivered
    );
    // Backoff, then bullet, connect and the subscribe requests (3 of 100) on loopback: a few
    // round trips; generous for a loaded 2-core machine running debug builds.
    assert!(
        resubscribed < BACKOFF_MAX + Duration::from_secs(1),
        "{resubscribed:?}"
    );
    assert_eq!(down_conn, conn);
    assert_eq!(
        check.disconnects.len(),
        1,
        "only the closed connection dropped: {:?}",
        check.disconnects
    );
    // Backoff, bullet, connect, 3 subscribe acks on loopback, then the next tick; generous for
    // a loaded 2-core machine.
    assert!(
        outage < BACKOFF_MAX + TICK + Duration::from_secs(3),
        "{outage:?}"
    );
    assert!(closed_at.elapsed() < Duration::from_secs(30));
    // The reconnected session holds its 300 topics again.
    assert!(fake.wait_for(Duration::from_secs(5), |_| {
        fake.connection_topics().len() == 4
    }));
    assert_spread(&fake);
    feed.close();
}

const ORDER: &str = r#"{"symbol":"BTC-USDT","orderType":"limit","side":"buy","orderId":"5c35c02703aa673ceec2a168","type":"open","orderTime":1670329987026,"size":"0.1","filledSize":"0","price":"34567.1","clientOid":"c-1","remainSize":"0.1","status":"open","ts":1670329987311000000}"#;

#[test]
fn blocking_book_and_private_orders_at_once_on_two_sessions() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
        .session(session());
    let mut feed = ChannelFeed::new(config);
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let book_conn = feed.add_book(btc.clone()).unwrap();
    let orders = feed.subscribe(SpotOrdersV2Channel).unwrap();
    assert_eq!(feed.connections(), 2);
    let orders_conn = feed
        .router()
        .placement()
        .connection_of("/spotMarket/tradeOrdersV2")
        .unwrap();
    assert_ne!(book_conn, orders_conn);
    assert!(feed.router().placement().is_private(orders_conn));

    let limit = Instant::now() + Duration::from_secs(30);
    let (mut synced, mut order, mut injected) = (false, None, false);
    while !(synced && order.is_some()) {
        let event = feed
            .next_event_until(limit)
            .expect("book and order before the limit");
        match &event {
            PoolEvent::Feed {
                conn,
                event:
                    FeedEvent::Book {
                        event: BookEvent::Synced { .. },
                        ..
                    },
            } => {
                assert_eq!(*conn, book_conn);
                assert!(feed.book(&btc).is_some());
                synced = true;
            }
            PoolEvent::Feed {
                conn,
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
            } if topic.to_string() == "/spotMarket/tradeOrdersV2" => {
                assert_eq!(*conn, orders_conn);
                assert_eq!(fake.inject_private_order("orderChange", ORDER), 1);
                injected = true;
            }
            PoolEvent::Channel(ev) => {
                assert_eq!(ev.conn, orders_conn);
                order = Some(
                    orders
                        .message(ev)
                        .expect("the orders subscription's")
                        .unwrap(),
                );
            }
            _ => {}
        }
    }
    assert!(injected);
    let order = order.unwrap();
    assert_eq!(order.order_id, "5c35c02703aa673ceec2a168");
    assert_eq!(order.kind, OrderEventType::Open);
    assert_eq!(order.price.unwrap().to_string(), "34567.1");
    // The private topic is on the private connection only.
    let private = fake.connection_private();
    let topics = fake.connection_topics();
    assert_eq!(private.len(), 2);
    for (is_private, topics) in private.iter().zip(&topics) {
        let has_orders = topics.iter().any(|t| t == "/spotMarket/tradeOrdersV2");
        assert_eq!(*is_private, has_orders, "{topics:?}");
    }
    feed.close();
}

async fn async_thousand_tickers() {
    let fake = many_tickers_fake();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .session(session());
    let mut feed = kucoin_async_std::ChannelFeed::new(config);
    let sub = feed.subscribe(ticker_channel()).unwrap();
    assert_eq!(feed.connections(), 4);
    let mut check = TickerCheck::new(sub);
    let all = check.wanted.clone();
    let start = Instant::now();
    let limit = start + Duration::from_secs(60);
    while !check.all_seen_since(&all, start) {
        let event = feed
            .next_event_until(limit)
            .await
            .expect("tickers before the limit");
        check.event(&event, |t| feed.router().placement().connection_of(t));
    }
    let first_all = start.elapsed();
    assert_spread(&fake);

    let (index, closed) = fake_connection_of(&fake, "/market/ticker:SYM0700-USDT");
    assert_eq!(closed.len(), 300);
    let conn = feed
        .router()
        .placement()
        .connection_of("/market/ticker:SYM0700-USDT")
        .unwrap();
    assert!(fake.inject_close_connection(index));
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        let event = feed
            .next_event_until(limit)
            .await
            .expect("the topics back before the limit");
        check.event(&event, |t| feed.router().placement().connection_of(t));
        if let Some(&(_, down)) = check.disconnects.first()
            && check.all_seen_since(&closed, down)
        {
            break;
        }
    }
    let (down_conn, down_at) = check.disconnects[0];
    let back = check
        .seen
        .iter()
        .filter(|(t, _)| closed.contains(*t))
        .map(|(_, at)| *at)
        .max()
        .unwrap();
    let outage = back - down_at;
    let resubscribed = check.resubscribed_after(&closed, down_at);
    eprintln!(
        "async: all {SYMBOLS} tickers first in {first_all:?}; after the close of {down_conn}, \
         all 300 of its topics acknowledged again in {resubscribed:?} and delivering in \
         {outage:?} (backoff max {BACKOFF_MAX:?}, tick {TICK:?}); {} tickers delivered",
        check.delivered
    );
    // Backoff, then bullet, connect and the subscribe requests (3 of 100) on loopback: a few
    // round trips; generous for a loaded 2-core machine running debug builds.
    assert!(
        resubscribed < BACKOFF_MAX + Duration::from_secs(1),
        "{resubscribed:?}"
    );
    assert_eq!(down_conn, conn);
    assert_eq!(check.disconnects.len(), 1, "{:?}", check.disconnects);
    assert!(
        outage < BACKOFF_MAX + TICK + Duration::from_secs(3),
        "{outage:?}"
    );
    assert!(fake.wait_for(Duration::from_secs(5), |_| {
        fake.connection_topics().len() == 4
    }));
    assert_spread(&fake);
    feed.close().await;
}

#[test]
fn smol_thousand_tickers_on_four_connections_survive_one_server_close() {
    smol::block_on(async_thousand_tickers());
}

async fn async_book_and_private_orders() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
        .session(session());
    let mut feed = kucoin_async_std::ChannelFeed::new(config);
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let book_conn = feed.add_book(btc.clone()).unwrap();
    let orders = feed.subscribe(SpotOrdersV2Channel).unwrap();
    let orders_conn = feed
        .router()
        .placement()
        .connection_of("/spotMarket/tradeOrdersV2")
        .unwrap();
    assert_ne!(book_conn, orders_conn);
    let limit = Instant::now() + Duration::from_secs(30);
    let (mut synced, mut order) = (false, None);
    while !(synced && order.is_some()) {
        let event = feed
            .next_event_until(limit)
            .await
            .expect("book and order before the limit");
        match &event {
            PoolEvent::Feed {
                conn,
                event:
                    FeedEvent::Book {
                        event: BookEvent::Synced { .. },
                        ..
                    },
            } => {
                assert_eq!(*conn, book_conn);
                assert!(feed.book(&btc).is_some());
                synced = true;
            }
            PoolEvent::Feed {
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
                ..
            } if topic.to_string() == "/spotMarket/tradeOrdersV2" => {
                assert_eq!(fake.inject_private_order("orderChange", ORDER), 1);
            }
            PoolEvent::Channel(ev) => {
                assert_eq!(ev.conn, orders_conn);
                order = Some(
                    orders
                        .message(ev)
                        .expect("the orders subscription's")
                        .unwrap(),
                );
            }
            _ => {}
        }
    }
    assert_eq!(order.unwrap().client_oid.as_deref(), Some("c-1"));
    feed.close().await;
}

#[test]
fn async_std_book_and_private_orders_at_once_on_two_sessions() {
    async_std::task::block_on(async_book_and_private_orders());
}

#[test]
fn smol_book_and_private_orders_at_once_on_two_sessions() {
    smol::block_on(async_book_and_private_orders());
}

#[test]
fn a_private_channel_without_credentials_is_refused_and_nothing_stays_placed() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let config = Config::<Spot>::new().rest_url(&fake.rest_url()).unwrap();
    let mut feed = ChannelFeed::new(config);
    let err = feed.subscribe(SpotOrdersV2Channel).unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");
    assert_eq!(
        feed.router()
            .placement()
            .connection_of("/spotMarket/tradeOrdersV2"),
        None
    );
}

#[test]
fn books_are_placed_once_and_removal_frees_their_slot() {
    let session = SessionConfig::public().with_max_topics_per_connection(2);
    let config = Config::<Spot>::new()
        .rest_url("http://127.0.0.1:1")
        .unwrap()
        .session(session);
    let mut feed = ChannelFeed::new(config);
    let sym = |s: &str| SpotSymbol::new(s).unwrap();
    assert_eq!(feed.add_book(sym("A-USDT")).unwrap(), ConnId(0));
    assert!(feed.add_book(sym("A-USDT")).is_err(), "a duplicate book");
    assert_eq!(feed.add_book(sym("B-USDT")).unwrap(), ConnId(0));
    assert_eq!(feed.add_book(sym("C-USDT")).unwrap(), ConnId(1));
    feed.remove_book(&sym("A-USDT")).unwrap();
    assert!(
        feed.remove_book(&sym("A-USDT")).is_err(),
        "not followed any more"
    );
    // The freed slot on connection 0 takes the next topic; no third connection.
    let tickers = feed
        .subscribe(SpotTickerChannel {
            symbols: vec![sym("D-USDT")],
        })
        .unwrap();
    let placement = feed.router().placement();
    assert_eq!(
        placement.connection_of("/market/ticker:D-USDT"),
        Some(ConnId(0))
    );
    assert_eq!(feed.connections(), 2);
    feed.unsubscribe(tickers.id()).unwrap();
    assert_eq!(feed.router().placement().topic_count(ConnId(0)), 1);
}

/// KuCoin's own example frame of a channel (recorded in the repository).
macro_rules! example {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../kucoin-proto/tests/data/ws-channels/",
            $name,
            ".json"
        ))
        .trim()
    };
}

#[test]
fn blocking_public_channels_come_from_the_exchange_state_and_private_ones_arrive_on_their_session()
{
    use kucoin_blocking::proto::ws::channels::{
        CallAuctionDepth50Channel, CallAuctionInfoChannel, IndexPriceChannel, KlineInterval,
        MarkPriceChannel, SpotAllTickersChannel, SpotBalanceChannel, SpotDepth50Channel,
        SpotKlinesChannel, SpotLevel1Channel, SpotMarketSnapshotChannel, SpotStopOrdersChannel,
        SpotSymbolSnapshotChannel, SpotTradeChannel,
    };
    // A tick every 50 ms: eleven channels (two of 50 levels a side) stay light for a debug
    // client on a shared machine.
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(Duration::from_millis(50), 1)).unwrap();
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
        .session(session());
    let mut feed = ChannelFeed::new(config);
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let btcs = || vec![btc.clone()];
    let trades = feed
        .subscribe(SpotTradeChannel { symbols: btcs() })
        .unwrap();
    let klines = feed
        .subscribe(SpotKlinesChannel {
            symbol: btc.clone(),
            interval: KlineInterval::Hour1,
        })
        .unwrap();
    let level1 = feed
        .subscribe(SpotLevel1Channel { symbols: btcs() })
        .unwrap();
    let depth50 = feed
        .subscribe(SpotDepth50Channel { symbols: btcs() })
        .unwrap();
    let all = feed.subscribe(SpotAllTickersChannel).unwrap();
    let snapshot = feed
        .subscribe(SpotSymbolSnapshotChannel {
            symbol: btc.clone(),
        })
        .unwrap();
    let market = feed
        .subscribe(SpotMarketSnapshotChannel {
            market: "USDT".to_owned(),
        })
        .unwrap();
    let auction = feed
        .subscribe(CallAuctionInfoChannel {
            symbol: btc.clone(),
        })
        .unwrap();
    let auction_depth = feed
        .subscribe(CallAuctionDepth50Channel {
            symbol: btc.clone(),
        })
        .unwrap();
    let mark = feed
        .subscribe(MarkPriceChannel { symbols: btcs() })
        .unwrap();
    let index = feed
        .subscribe(IndexPriceChannel { symbols: btcs() })
        .unwrap();
    let balance = feed.subscribe(SpotBalanceChannel).unwrap();
    let stops = feed.subscribe(SpotStopOrdersChannel).unwrap();
    assert_eq!(feed.connections(), 2, "one public and one private session");
    // Private channels: scripted (the exchange has no accounts in this test).
    let scripts = [
        ("/account/balance", example!("spot.account")),
        ("/spotMarket/advancedOrders", example!("spot.stopOrder")),
    ];
    let public = [
        "trade",
        "klines",
        "level1",
        "depth50",
        "all",
        "snapshot",
        "market",
        "auction",
        "auction50",
        "mark",
        "index",
    ];
    let limit = Instant::now() + Duration::from_secs(30);
    let mut got = BTreeSet::new();
    let mut symbols_of_all = BTreeSet::new();
    while got.len() < public.len() + scripts.len() || symbols_of_all.len() < 2 {
        let event = feed
            .next_event_until(limit)
            .expect("every channel before the limit");
        let ev = match event {
            PoolEvent::Feed {
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
                ..
            } => {
                let topic = topic.to_string();
                if let Some((t, frame)) = scripts.iter().find(|(t, _)| *t == topic) {
                    assert_eq!(fake.inject_channel_frame(t, frame), 1, "{t}");
                }
                continue;
            }
            PoolEvent::Channel(ev) => ev,
            PoolEvent::ChannelError { raw, error, .. } => panic!("{}: {error}", raw.topic),
            _ => continue,
        };
        let private = feed.router().placement().is_private(ev.conn);
        let name = if let Some(m) = trades.message(&ev) {
            let m = m.unwrap();
            assert_eq!(m.symbol, "BTC-USDT");
            assert!(m.price > Dec::ZERO && m.size > Dec::ZERO);
            "trade"
        } else if let Some(m) = klines.message(&ev) {
            assert_eq!(m.unwrap().symbol, "BTC-USDT");
            "klines"
        } else if let Some(m) = level1.message(&ev) {
            let m = m.unwrap();
            let (bid, ask) = (m.bids.unwrap(), m.asks.unwrap());
            assert!(bid.price < ask.price, "{bid:?} {ask:?}");
            "level1"
        } else if let Some(m) = depth50.message(&ev) {
            let m = m.unwrap();
            assert_eq!((m.bids.len(), m.asks.len()), (50, 50));
            assert!(m.bids.windows(2).all(|w| w[0].price > w[1].price));
            assert!(m.asks.windows(2).all(|w| w[0].price < w[1].price));
            "depth50"
        } else if let Some(m) = all.message(&ev) {
            m.unwrap();
            symbols_of_all.insert(ev.raw.subject.clone().unwrap_or_default());
            "all"
        } else if let Some(m) = snapshot.message(&ev) {
            assert_eq!(m.unwrap().data.symbol, "BTC-USDT");
            "snapshot"
        } else if let Some(m) = market.message(&ev) {
            m.unwrap();
            "market"
        } else if let Some(m) = auction.message(&ev) {
            assert_eq!(m.unwrap().symbol, "BTC-USDT");
            "auction"
        } else if let Some(m) = auction_depth.message(&ev) {
            assert!(!m.unwrap().bids.is_empty());
            "auction50"
        } else if let Some(m) = mark.message(&ev) {
            assert!(m.unwrap().value > Dec::ZERO);
            "mark"
        } else if let Some(m) = index.message(&ev) {
            assert!(m.unwrap().value > Dec::ZERO);
            "index"
        } else if let Some(m) = balance.message(&ev) {
            m.unwrap();
            assert!(private);
            "balance"
        } else if let Some(m) = stops.message(&ev) {
            m.unwrap();
            assert!(private);
            "stop"
        } else {
            panic!("a message of no subscription: {ev:?}")
        };
        assert_eq!(private, name == "balance" || name == "stop", "{name}");
        got.insert(name);
    }
    assert_eq!(
        symbols_of_all,
        BTreeSet::from(["BTC-USDT".to_owned(), "ETH-USDT".to_owned()]),
        "all tickers: every listed symbol, named in the subject"
    );
    // Frozen, one more round: level 1 and depth50 are the exchange's true book.
    fake.pause_updates();
    // Drain what was sent before the freeze: until 300 ms pass without a message.
    while feed
        .next_event_until(Instant::now() + Duration::from_millis(300))
        .is_some()
    {
        assert!(Instant::now() < limit, "the exchange never went quiet");
    }
    let (mut last_level1, mut last_depth50) = (None, None);
    fake.step_updates(1);
    let truth = fake.true_book("BTC-USDT").unwrap();
    while last_level1.is_none() || last_depth50.is_none() {
        let Some(PoolEvent::Channel(ev)) = feed.next_event_until(limit) else {
            assert!(Instant::now() < limit, "level 1 and depth50 after a step");
            continue;
        };
        if let Some(m) = level1.message(&ev) {
            let m = m.unwrap();
            last_level1 = Some((m.bids.unwrap(), m.asks.unwrap()));
        } else if let Some(m) = depth50.message(&ev) {
            last_depth50 = Some(m.unwrap());
        }
    }
    let text =
        |l: &kucoin_blocking::proto::ws::channels::Level| (l.price.to_string(), l.size.to_string());
    let (bid, ask) = last_level1.unwrap();
    assert_eq!(text(&bid), truth.bids[0]);
    assert_eq!(text(&ask), truth.asks[0]);
    let depth = last_depth50.unwrap();
    let bids: Vec<_> = depth.bids.iter().map(text).collect();
    let asks: Vec<_> = depth.asks.iter().map(text).collect();
    assert_eq!(bids, truth.bids[..50]);
    assert_eq!(asks, truth.asks[..50]);
    feed.close();
}

#[test]
fn blocking_suspend_closes_every_connection_and_resume_brings_every_topic_back() {
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(Duration::from_millis(20), 1)).unwrap();
    let session = session().with_max_topics_per_connection(1);
    let config = Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .session(session);
    let mut feed = ChannelFeed::new(config);
    let sym = |s: &str| SpotSymbol::new(s).unwrap();
    let tickers = feed
        .subscribe(SpotTickerChannel {
            symbols: vec![sym("BTC-USDT"), sym("ETH-USDT")],
        })
        .unwrap();
    assert_eq!(feed.connections(), 2);
    let run_until_both = |feed: &mut ChannelFeed<Spot>| {
        let mut seen = BTreeSet::new();
        let limit = Instant::now() + Duration::from_secs(20);
        while seen.len() < 2 {
            if let PoolEvent::Channel(ev) = feed.next_event_until(limit).expect("both tickers") {
                tickers.message(&ev).unwrap().unwrap();
                seen.insert(ev.conn);
            }
        }
    };
    run_until_both(&mut feed);
    feed.suspend().unwrap();
    assert!(fake.wait_for(Duration::from_secs(5), |s| s.connections_open == 0));
    // Suspended: nothing connects (events read before the suspend may still be handed out).
    let quiet = Instant::now() + Duration::from_millis(200);
    while feed.next_event_until(quiet).is_some() {}
    assert_eq!(fake.stats().connections_open, 0);
    let accepted = fake.stats().connections_accepted;
    assert!(feed.suspend().is_err(), "already suspended");
    assert_eq!(fake.stats().connections_accepted, accepted);
    feed.resume().unwrap();
    run_until_both(&mut feed);
    assert_eq!(fake.stats().connections_open, 2);
    assert_eq!(fake.stats().connections_accepted, accepted + 2);
    feed.close();
}
