//! Typed futures channels through both adapters' `ChannelFeed`, against the fake futures
//! exchange: a level-2 book and the `tickerV2` channel of the same contract on the public
//! session, the private orders channel of that contract on a private session.
//!
//! - the book reaches the exchange's sequence and equals its true book, level for level;
//! - every ticker is typed, of the contract asked for, with its sequence rising and its best bid
//!   below its best ask;
//! - a scripted order change arrives typed on the private connection only.

mod support;

use std::time::{Duration, Instant};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::book::BookEvent;
use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::feed_pool::{ChannelEvent, ConnId, PoolEvent, Subscription};
use kucoin_blocking::proto::ws::channels::{
    FuturesOrderChange, FuturesOrdersChannel, FuturesTickerV2Channel, OrderEventType,
};
use kucoin_blocking::proto::ws::{Backoff, SessionConfig, SessionEvent};
use kucoin_blocking::proto::{Futures, FuturesSymbol};
use kucoin_blocking::{ChannelFeed, Config};
use kucoin_tests::{FakeConfig, FakeKucoin, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET};

const CONTRACT: &str = "XBTUSDTM";
const ORDERS_TOPIC: &str = "/contractMarket/tradeOrders:XBTUSDTM";
/// Tickers to see before the order is scripted and the book compared.
const TICKERS: usize = 5;

fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

fn contract() -> FuturesSymbol {
    FuturesSymbol::new(CONTRACT).unwrap()
}

fn session() -> SessionConfig {
    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        ..Backoff::default()
    };
    SessionConfig::public().with_backoff(backoff)
}

fn config(fake: &FakeKucoin) -> Config<Futures> {
    Config::<Futures>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
        .session(session())
}

/// A private order change of the contract, in KuCoin's futures shape.
fn order_frame() -> String {
    format!(
        "{{\"topic\":\"{ORDERS_TOPIC}\",\"type\":\"message\",\"subject\":\"symbolOrderChange\",\
         \"channelType\":\"private\",\"data\":{{\"symbol\":\"{CONTRACT}\",\"side\":\"buy\",\
         \"canceledSize\":\"0\",\"orderId\":\"247899236673269761\",\"liquidity\":\"maker\",\
         \"marginMode\":\"ISOLATED\",\"type\":\"open\",\"orderTime\":1731916985768138917,\
         \"size\":\"1\",\"filledSize\":\"0\",\"price\":\"91670\",\"remainSize\":\"1\",\
         \"status\":\"open\",\"ts\":1731916985789000000}}}}"
    )
}

/// What the test has seen so far, whichever adapter drives it.
struct Check {
    tickers: Subscription<FuturesTickerV2Channel>,
    orders: Subscription<FuturesOrdersChannel>,
    book_conn: ConnId,
    orders_conn: ConnId,
    synced: bool,
    ticker_sequences: Vec<u64>,
    order: Option<FuturesOrderChange>,
    orders_subscribed: bool,
}

impl Check {
    /// Takes one event; returns true when the order must be scripted now.
    fn event(&mut self, event: &PoolEvent<Futures>) -> bool {
        match event {
            PoolEvent::Feed {
                conn,
                event:
                    FeedEvent::Book {
                        event: BookEvent::Synced { .. },
                        ..
                    },
            } => {
                assert_eq!(*conn, self.book_conn, "the book on the public connection");
                self.synced = true;
            }
            PoolEvent::Feed {
                conn,
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
            } if topic.to_string() == ORDERS_TOPIC => {
                assert_eq!(*conn, self.orders_conn);
                self.orders_subscribed = true;
            }
            PoolEvent::Channel(ev) => self.channel(ev),
            PoolEvent::ChannelError { error, .. } => panic!("a typed channel failed: {error}"),
            _ => {}
        }
        self.orders_subscribed && self.ticker_sequences.len() >= TICKERS && self.order.is_none()
    }

    fn channel(&mut self, ev: &ChannelEvent) {
        if let Some(ticker) = self.tickers.message(ev) {
            let ticker = ticker.expect("a typed tickerV2");
            assert_eq!(ev.conn, self.book_conn, "tickers on the public connection");
            assert_eq!(ticker.symbol, CONTRACT);
            let (bid, ask) = (
                ticker.best_bid_price.expect("a best bid"),
                ticker.best_ask_price.expect("a best ask"),
            );
            assert!(bid < ask, "bid {bid} below ask {ask}");
            assert!(ticker.best_bid_size.is_some() && ticker.best_ask_size.is_some());
            if let Some(&last) = self.ticker_sequences.last() {
                assert!(ticker.sequence >= last, "ticker sequence went back");
            }
            self.ticker_sequences.push(ticker.sequence);
        } else if let Some(order) = self.orders.message(ev) {
            assert_eq!(
                ev.conn, self.orders_conn,
                "orders on the private connection"
            );
            self.order = Some(order.expect("a typed order change"));
        } else {
            panic!("a channel message nobody subscribed to: {ev:?}");
        }
    }

    fn done(&self) -> bool {
        self.synced && self.order.is_some() && self.ticker_sequences.len() >= TICKERS
    }

    fn assert_order(&self) {
        let order = self.order.as_ref().unwrap();
        assert_eq!(order.symbol, CONTRACT);
        assert_eq!(order.order_id, "247899236673269761");
        assert_eq!(order.kind, OrderEventType::Open);
        assert_eq!(order.size.unwrap().to_string(), "1");
    }
}

fn assert_sessions(fake: &FakeKucoin) {
    let private = fake.connection_private();
    let topics = fake.connection_topics();
    assert_eq!(private.len(), 2, "{topics:?}");
    for (is_private, topics) in private.iter().zip(&topics) {
        let has_orders = topics.iter().any(|t| t == ORDERS_TOPIC);
        assert_eq!(*is_private, has_orders, "{topics:?}");
    }
}

#[test]
fn blocking_futures_book_ticker_and_private_orders() {
    let fake = FakeKucoin::start(FakeConfig::futures()).unwrap();
    let mut feed = ChannelFeed::new(config(&fake));
    let book_conn = feed.add_book(contract()).unwrap();
    let tickers = feed
        .subscribe(FuturesTickerV2Channel { symbol: contract() })
        .unwrap();
    let orders = feed
        .subscribe(FuturesOrdersChannel { symbol: contract() })
        .unwrap();
    let orders_conn = feed
        .router()
        .placement()
        .connection_of(ORDERS_TOPIC)
        .unwrap();
    assert_ne!(book_conn, orders_conn);
    assert!(feed.router().placement().is_private(orders_conn));
    let mut check = Check {
        tickers,
        orders,
        book_conn,
        orders_conn,
        synced: false,
        ticker_sequences: Vec::new(),
        order: None,
        orders_subscribed: false,
    };
    let limit = Instant::now() + Duration::from_secs(30);
    while !check.done() {
        let event = feed
            .next_event_until(limit)
            .expect("every event before the limit");
        if check.event(&event) {
            assert_eq!(fake.inject_channel_frame(ORDERS_TOPIC, &order_frame()), 1);
        }
    }
    check.assert_order();
    assert_sessions(&fake);
    // The book equals the exchange's once the exchange stands still.
    fake.pause_updates();
    let truth = fake.true_book(CONTRACT).unwrap();
    while feed.book(&contract()).map(|b| b.sequence()) != Some(truth.sequence) {
        assert!(
            Instant::now() < limit,
            "the book never reached the exchange's"
        );
        if let Some(event) = feed.next_event_until(Instant::now() + Duration::from_millis(20)) {
            check.event(&event);
        }
    }
    support::assert_same_book(feed.book(&contract()).unwrap(), &truth);
    feed.close();
}

async fn async_futures_book_ticker_and_private_orders() {
    let fake = FakeKucoin::start(FakeConfig::futures()).unwrap();
    let mut feed = kucoin_async_std::ChannelFeed::new(config(&fake));
    let book_conn = feed.add_book(contract()).unwrap();
    let tickers = feed
        .subscribe(FuturesTickerV2Channel { symbol: contract() })
        .unwrap();
    let orders = feed
        .subscribe(FuturesOrdersChannel { symbol: contract() })
        .unwrap();
    let orders_conn = feed
        .router()
        .placement()
        .connection_of(ORDERS_TOPIC)
        .unwrap();
    assert_ne!(book_conn, orders_conn);
    let mut check = Check {
        tickers,
        orders,
        book_conn,
        orders_conn,
        synced: false,
        ticker_sequences: Vec::new(),
        order: None,
        orders_subscribed: false,
    };
    let limit = Instant::now() + Duration::from_secs(30);
    while !check.done() {
        let event = feed
            .next_event_until(limit)
            .await
            .expect("every event before the limit");
        if check.event(&event) {
            assert_eq!(fake.inject_channel_frame(ORDERS_TOPIC, &order_frame()), 1);
        }
    }
    check.assert_order();
    assert_sessions(&fake);
    fake.pause_updates();
    let truth = fake.true_book(CONTRACT).unwrap();
    while feed.book(&contract()).map(|b| b.sequence()) != Some(truth.sequence) {
        assert!(
            Instant::now() < limit,
            "the book never reached the exchange's"
        );
        if let Some(event) = feed
            .next_event_until(Instant::now() + Duration::from_millis(20))
            .await
        {
            check.event(&event);
        }
    }
    support::assert_same_book(feed.book(&contract()).unwrap(), &truth);
    feed.close().await;
}

#[test]
fn smol_futures_book_ticker_and_private_orders() {
    smol::block_on(async_futures_book_ticker_and_private_orders());
}

#[test]
fn blocking_futures_public_channels_come_from_the_exchange_state() {
    use kucoin_blocking::proto::ws::channels::{
        FuturesDepth50Channel, FuturesExecutionChannel, FuturesInstrumentChannel,
        FuturesKlinesChannel, FuturesSnapshotChannel, FuturesTickerChannel, KlineInterval,
    };
    let fake =
        FakeKucoin::start(FakeConfig::futures().with_rate(Duration::from_millis(50), 1)).unwrap();
    let mut feed = ChannelFeed::new(config(&fake));
    let ticker = feed
        .subscribe(FuturesTickerChannel { symbol: contract() })
        .unwrap();
    let depth50 = feed
        .subscribe(FuturesDepth50Channel { symbol: contract() })
        .unwrap();
    let execution = feed
        .subscribe(FuturesExecutionChannel { symbol: contract() })
        .unwrap();
    let instrument = feed
        .subscribe(FuturesInstrumentChannel { symbol: contract() })
        .unwrap();
    let snapshot = feed
        .subscribe(FuturesSnapshotChannel { symbol: contract() })
        .unwrap();
    let klines = feed
        .subscribe(FuturesKlinesChannel {
            symbol: contract(),
            interval: KlineInterval::Min1,
        })
        .unwrap();
    let limit = Instant::now() + Duration::from_secs(30);
    let mut got = std::collections::BTreeSet::new();
    while got.len() < 6 {
        let ev = match feed.next_event_until(limit).expect("every channel in time") {
            PoolEvent::Channel(ev) => ev,
            PoolEvent::ChannelError { raw, error, .. } => panic!("{}: {error}", raw.topic),
            _ => continue,
        };
        let name = if let Some(m) = ticker.message(&ev) {
            let m = m.unwrap();
            assert_eq!(m.symbol, CONTRACT);
            assert!(m.best_bid_price < m.best_ask_price);
            "ticker"
        } else if let Some(m) = depth50.message(&ev) {
            let m = m.unwrap();
            assert_eq!((m.bids.len(), m.asks.len()), (50, 50));
            assert!(m.bids[0].price < m.asks[0].price);
            "depth50"
        } else if let Some(m) = execution.message(&ev) {
            let m = m.unwrap();
            assert_eq!(m.symbol, CONTRACT);
            "execution"
        } else if let Some(m) = instrument.message(&ev) {
            m.unwrap();
            "instrument"
        } else if let Some(m) = snapshot.message(&ev) {
            assert_eq!(m.unwrap().symbol, CONTRACT);
            "snapshot"
        } else if let Some(m) = klines.message(&ev) {
            assert_eq!(m.unwrap().symbol, CONTRACT);
            "klines"
        } else {
            panic!("a message of no subscription: {ev:?}");
        };
        got.insert(name);
    }
    feed.close();
}

#[test]
fn channel_feeds_are_an_iterator_and_a_stream_of_their_events() {
    let fake = FakeKucoin::start(FakeConfig::futures()).unwrap();
    // Blocking: an Iterator; the first typed ticker of the contract.
    let mut feed = ChannelFeed::new(config(&fake));
    let tickers = feed
        .subscribe(FuturesTickerV2Channel { symbol: contract() })
        .unwrap();
    let first = feed
        .by_ref()
        .find_map(|event| match event {
            PoolEvent::Channel(ev) => tickers.message(&ev).map(|m| m.unwrap().into_owned()),
            _ => None,
        })
        .expect("a ticker before the feed ends");
    assert_eq!(first.symbol, CONTRACT);
    feed.close();
    // Async: a Stream, under smol.
    smol::block_on(async {
        use smol::stream::StreamExt;
        let mut feed = kucoin_async_std::ChannelFeed::new(config(&fake));
        let tickers = feed
            .subscribe(FuturesTickerV2Channel { symbol: contract() })
            .unwrap();
        let seen: Vec<u64> = feed
            .events()
            .filter_map(|event| match event {
                PoolEvent::Channel(ev) => tickers.message(&ev).map(|m| m.unwrap().sequence),
                _ => None,
            })
            .take(3)
            .collect()
            .await;
        assert_eq!(seen.len(), 3);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        feed.close().await;
    });
}
