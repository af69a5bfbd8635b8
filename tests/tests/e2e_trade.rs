//! Trading end to end, through both adapters, against the fake exchange's small exchange
//! (accounts, HF orders matched against its true book, fees, private pushes). The fake checks
//! every signature; its generator is paused so that the book a test reads is the book an order
//! meets.
//!
//! - An order round trip (place, query by id and clientOid, list, cancel) changes the holds and
//!   gives them back, in exact decimals, through the blocking adapter and the async one (smol).
//! - The private stream delivers received → match → filled for a marketable order and
//!   received → open → canceled for a cancelled one, in order, with the balance changes.
//! - A fill changes the balances by exactly price × size plus the fee.
//! - Insufficient balance, unknown order, duplicate clientOid and unknown symbol reach the user
//!   as typed errors that keep KuCoin's full code.
//! - Futures: an order opens a position; the account overview and the private channels follow.
//! - Orders and cancels charge their specification weight to the Spot pool.
//! - A trade's book change is published: a synced client's book still equals the exchange's.
//! - A resting order trades as maker when the moving market crosses it.

mod support;

use std::str::FromStr;
use std::time::{Duration, Instant};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::feed_pool::{PoolEvent, Subscription};
use kucoin_blocking::proto::num::Dec;
use kucoin_blocking::proto::rest::ApiError;
use kucoin_blocking::proto::rest::api::account::account::{GetFuturesAccount, GetSpotAccountList};
use kucoin_blocking::proto::rest::api::futures::order as forder;
use kucoin_blocking::proto::rest::api::futures::positions::{GetPositionDetails, GetPositionList};
use kucoin_blocking::proto::rest::api::spot::order::{
    AddOrder, AddOrderSync, CancelAllOrdersBySymbol, CancelOrderByClientOid, CancelOrderByOrderId,
    GetOpenOrders, GetOrderByClientOid, GetOrderByOrderId, GetTradeHistory, Side, Type,
};
use kucoin_blocking::proto::ws::SessionEvent;
use kucoin_blocking::proto::ws::channels::{
    FuturesAllOrdersChannel, FuturesPositionChannel, FuturesWalletChannel, OrderEventType,
    OrderStatus, SpotBalanceChannel, SpotOrdersV2Channel,
};
use kucoin_blocking::proto::{Futures, FuturesSymbol, Market, Spot};
use kucoin_blocking::{ChannelFeed, Config, Error};
use kucoin_tests::{
    FakeConfig, FakeKucoin, TAKER_FEE_RATE, TEST_API_KEY, TEST_API_PASSPHRASE, TEST_API_SECRET,
};
use rust_decimal::Decimal;

fn keys() -> Credentials {
    Credentials::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
}

fn config<M: Market>(fake: &FakeKucoin) -> Config<M> {
    Config::<M>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .credentials(keys())
        .unwrap()
}

fn spot_fake() -> FakeKucoin {
    FakeKucoin::start(FakeConfig::spot().paused()).unwrap()
}

fn dec(text: &str) -> Dec {
    Dec::parse(text).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Canonical text of an exact decimal (what the fake prints).
fn t(value: Decimal) -> String {
    if value.is_zero() {
        "0".to_owned()
    } else {
        value.normalize().to_string()
    }
}

fn limit(side: Side, price: &str, size: &str) -> AddOrder {
    AddOrder::new(side, "BTC-USDT", Type::Limit)
        .price(dec(price))
        .size(dec(size))
}

/// The fake's `(available, holds)` of `currency`.
fn balance(fake: &FakeKucoin, currency: &str) -> (String, String) {
    fake.balances()
        .get(currency)
        .cloned()
        .unwrap_or_else(|| ("0".into(), "0".into()))
}

/// KuCoin's code of an error answer (the whole code, as text).
fn code(err: &Error) -> String {
    api(err).code.as_str().to_owned()
}

/// The typed KuCoin error inside an adapter error.
fn api(err: &Error) -> &ApiError {
    match err {
        Error::Response(r) => r
            .api()
            .unwrap_or_else(|| panic!("not a KuCoin error answer: {err}")),
        other => panic!("not a response error: {other}"),
    }
}

/// The best ask of the fake's true book of BTC-USDT as `(price, size)`.
fn best_ask(fake: &FakeKucoin) -> (Decimal, Decimal) {
    let book = fake.true_book("BTC-USDT").unwrap();
    let (p, s) = &book.asks[0];
    (d(p), d(s))
}

#[test]
fn blocking_limit_order_rests_is_queried_listed_and_cancelled_by_client_oid() {
    let fake = spot_fake();
    fake.fund("USDT", "1000");
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let accounts = rest.call(&GetSpotAccountList::new()).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].currency.as_deref(), Some("USDT"));
    assert_eq!(accounts[0].available, Some(dec("1000")));

    let placed = rest
        .call(&limit(Side::Buy, "50000", "0.01").client_oid("rt-1"))
        .unwrap();
    assert_eq!(placed.client_oid.as_deref(), Some("rt-1"));
    let id = placed.order_id.unwrap();
    // Held: 50000 × 0.01 × (1 + 0.001).
    assert_eq!(balance(&fake, "USDT"), ("499.5".into(), "500.5".into()));
    let accounts = rest
        .call(&GetSpotAccountList::new().currency("USDT"))
        .unwrap();
    assert_eq!(accounts[0].holds, Some(dec("500.5")));
    assert_eq!(accounts[0].balance, Some(dec("1000")));

    let by_id = rest.call(&GetOrderByOrderId::new("BTC-USDT", &id)).unwrap();
    let by_oid = rest
        .call(&GetOrderByClientOid::new("BTC-USDT", "rt-1"))
        .unwrap();
    assert_eq!(by_oid.id, by_id.id);
    assert_eq!(by_oid.client_oid.as_deref(), Some("rt-1"));
    assert_eq!(by_id.id.as_deref(), Some(id.as_str()));
    assert_eq!(by_id.active, Some(true));
    assert_eq!(by_id.in_order_book, Some(true));
    assert_eq!(by_id.remain_size, Some(dec("0.01")));
    assert_eq!(by_id.deal_size, Some(dec("0")));
    let open = rest.call(&GetOpenOrders::new("BTC-USDT")).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id.as_deref(), Some(id.as_str()));

    let cancelled = rest
        .call(&CancelOrderByClientOid::new("rt-1", "BTC-USDT"))
        .unwrap();
    assert_eq!(cancelled.client_oid.as_deref(), Some("rt-1"));
    assert_eq!(balance(&fake, "USDT"), ("1000".into(), "0".into()));
    let done = rest.call(&GetOrderByOrderId::new("BTC-USDT", &id)).unwrap();
    assert_eq!(done.active, Some(false));
    assert_eq!(done.cancelled_size, Some(dec("0.01")));
    assert!(
        rest.call(&GetOpenOrders::new("BTC-USDT"))
            .unwrap()
            .is_empty()
    );
    // Every private call above was signed correctly (the fake checked each).
    assert_eq!(fake.stats().auth_failures, 0);
    assert_eq!(
        fake.stats().spec_answers,
        0,
        "all served from the exchange's state"
    );
}

#[test]
fn orders_charge_their_specification_weight_to_the_spot_pool() {
    use kucoin_blocking::proto::rest::operation::{Operation, Pool};
    let fake = spot_fake();
    fake.fund("USDT", "1000");
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    for i in 0..3 {
        let oid = format!("w-{i}");
        rest.call(&limit(Side::Buy, "50000", "0.001").client_oid(oid.as_str()))
            .unwrap();
        rest.call(&CancelOrderByClientOid::new(oid.as_str(), "BTC-USDT"))
            .unwrap();
    }
    rest.call(&GetOpenOrders::new("BTC-USDT")).unwrap();
    assert_eq!(AddOrder::INFO.pool, Pool::Spot);
    let expected = 3 * u64::from(AddOrder::INFO.weight.unwrap())
        + 3 * u64::from(CancelOrderByClientOid::INFO.weight.unwrap())
        + u64::from(GetOpenOrders::INFO.weight.unwrap());
    let windows = fake.rate_windows(Pool::Spot);
    assert_eq!(windows.len(), 1);
    assert_eq!((windows[0].calls, windows[0].used), (7, expected));
    assert_eq!(balance(&fake, "USDT"), ("1000".into(), "0".into()));
}

#[test]
fn smol_limit_order_round_trip_and_cancel_all() {
    let fake = spot_fake();
    fake.fund("USDT", "2000");
    fake.fund("BTC", "0.5");
    let rest = kucoin_async_std::Rest::new(&config::<Spot>(&fake));
    smol::block_on(async {
        let buy = rest
            .call(&limit(Side::Buy, "40000.5", "0.02"))
            .await
            .unwrap()
            .order_id
            .unwrap();
        let sell = rest
            .call(&limit(Side::Sell, "90000", "0.3"))
            .await
            .unwrap()
            .order_id
            .unwrap();
        assert_ne!(buy, sell);
        // 40000.5 × 0.02 × 1.001 = 800.81001 held; the sell holds its 0.3 BTC.
        assert_eq!(
            balance(&fake, "USDT"),
            ("1199.18999".into(), "800.81001".into())
        );
        assert_eq!(balance(&fake, "BTC"), ("0.2".into(), "0.3".into()));
        assert_eq!(
            rest.call(&GetOpenOrders::new("BTC-USDT"))
                .await
                .unwrap()
                .len(),
            2
        );
        let cancelled = rest
            .call(&CancelOrderByOrderId::new(&buy, "BTC-USDT"))
            .await
            .unwrap();
        assert_eq!(cancelled.order_id.as_deref(), Some(buy.as_str()));
        rest.call(&CancelAllOrdersBySymbol::new("BTC-USDT"))
            .await
            .unwrap();
        assert!(
            rest.call(&GetOpenOrders::new("BTC-USDT"))
                .await
                .unwrap()
                .is_empty()
        );
    });
    assert_eq!(balance(&fake, "USDT"), ("2000".into(), "0".into()));
    assert_eq!(balance(&fake, "BTC"), ("0.5".into(), "0".into()));
    assert_eq!(fake.stats().auth_failures, 0);
}

#[test]
fn a_fill_changes_balances_by_exactly_price_times_size_plus_fee() {
    let fake = spot_fake();
    fake.fund("USDT", "1000000");
    let (price, level) = best_ask(&fake);
    let size = level.min(d("0.01234567"));
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let sync = AddOrderSync::new(
        kucoin_blocking::proto::rest::api::spot::order::Side::Buy,
        "BTC-USDT",
        kucoin_blocking::proto::rest::api::spot::order::Type::Limit,
    )
    .price(dec(&t(price)))
    .size(dec(&t(size)))
    .client_oid("fill-1");
    let done = rest.call(&sync).unwrap();
    assert_eq!(done.deal_size, Some(dec(&t(size))));
    assert_eq!(done.remain_size, Some(dec("0")));

    let funds = price * size;
    let fee = funds * d(TAKER_FEE_RATE);
    let usdt = d("1000000") - funds - fee;
    assert_eq!(balance(&fake, "USDT"), (t(usdt), "0".into()));
    assert_eq!(balance(&fake, "BTC"), (t(size), "0".into()));
    let accounts = rest.call(&GetSpotAccountList::new()).unwrap();
    let usdt_account = accounts
        .iter()
        .find(|a| a.currency.as_deref() == Some("USDT"))
        .unwrap();
    assert_eq!(usdt_account.available, Some(dec(&t(usdt))));

    let fills = rest.call(&GetTradeHistory::new("BTC-USDT")).unwrap();
    let items = fills.items.unwrap();
    assert_eq!(items.len(), 1);
    let fill = &items[0];
    assert_eq!(fill.price, Some(dec(&t(price))));
    assert_eq!(fill.size, Some(dec(&t(size))));
    assert_eq!(fill.fee, Some(dec(&t(fee))));
    assert_eq!(fill.funds, Some(dec(&t(funds))));
    // The order took liquidity: the level shrank by the size (or went).
    let after = fake.true_book("BTC-USDT").unwrap();
    let left = level - size;
    if left.is_zero() {
        assert_ne!(d(&after.asks[0].0), price);
    } else {
        assert_eq!(after.asks[0], (t(price), t(left)));
    }
}

#[test]
fn errors_reach_the_user_typed_with_kucoins_full_code() {
    let fake = spot_fake();
    let blocking = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let nonblocking = kucoin_async_std::Rest::new(&config::<Spot>(&fake));
    let both = |req: &AddOrder| {
        let a = blocking.call(req).unwrap_err();
        let b = smol::block_on(nonblocking.call(req)).unwrap_err();
        assert_eq!(code(&a), code(&b));
        a
    };
    // Insufficient balance: nothing funded.
    let err = both(&limit(Side::Buy, "50000", "0.01"));
    assert_eq!(code(&err), "200004");
    assert!(err.to_string().contains("200004"), "{err}");
    // Unknown symbol.
    let err = both(
        &AddOrder::new(Side::Buy, "NOPE-USDT", Type::Limit)
            .price(dec("1"))
            .size(dec("1")),
    );
    assert_eq!(code(&err), "900001");
    // Bad parameters: a price off the tick.
    let err = both(&limit(Side::Buy, "50000.05", "0.01"));
    assert_eq!(code(&err), "400100");
    assert_eq!(api(&err).http_status, 400);
    // Unknown order, by id and by clientOid, both adapters.
    let unknown = CancelOrderByOrderId::new("0000000000000000000000ff", "BTC-USDT");
    assert_eq!(code(&blocking.call(&unknown).unwrap_err()), "400100");
    assert_eq!(
        code(&smol::block_on(nonblocking.call(&unknown)).unwrap_err()),
        "400100"
    );
    let unknown = GetOrderByClientOid::new("BTC-USDT", "never-placed");
    assert_eq!(code(&blocking.call(&unknown).unwrap_err()), "400100");
    // Duplicate clientOid: the first is placed, the second refused.
    fake.fund("USDT", "1000");
    let order = limit(Side::Buy, "50000", "0.01").client_oid("dup-1");
    blocking.call(&order).unwrap();
    let err = smol::block_on(nonblocking.call(&order)).unwrap_err();
    assert_eq!(code(&err), "400100");
    assert!(err.to_string().contains("clientOid"), "{err}");
    assert_eq!(
        blocking
            .call(&GetOpenOrders::new("BTC-USDT"))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(balance(&fake, "USDT"), ("499.5".into(), "500.5".into()));
    assert_eq!(fake.stats().auth_failures, 0);
}

/// What the private stream showed: order events `(type, status)` and balance changes
/// `(currency, availableChange, holdChange, available, hold)`.
#[derive(Debug, Default)]
struct Seen {
    orders: Vec<(OrderEventType, OrderStatus, Option<Dec>, Option<Dec>)>,
    balances: Vec<(String, String, String, String, String)>,
}

fn record(
    seen: &mut Seen,
    orders: &Subscription<SpotOrdersV2Channel>,
    balances: &Subscription<SpotBalanceChannel>,
    event: &PoolEvent<Spot>,
) {
    match event {
        PoolEvent::Channel(ev) => {
            if let Some(m) = orders.message(ev) {
                let m = m.unwrap();
                seen.orders
                    .push((m.kind, m.status, m.match_price, m.match_size));
            } else if let Some(m) = balances.message(ev) {
                let m = m.unwrap();
                let s = |v: Option<Dec>| v.map(|v| v.to_string()).unwrap_or_default();
                seen.balances.push((
                    m.currency.clone(),
                    s(m.available_change),
                    s(m.hold_change),
                    m.available.to_string(),
                    m.hold.to_string(),
                ));
            }
        }
        PoolEvent::ChannelError { raw, error, .. } => panic!("{}: {error}", raw.topic),
        _ => {}
    }
}

fn subscribed(event: &PoolEvent<Spot>) -> Option<String> {
    match event {
        PoolEvent::Feed {
            event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
            ..
        } => Some(topic.to_string()),
        _ => None,
    }
}

#[test]
fn blocking_private_stream_shows_match_then_filled_and_open_then_canceled() {
    let fake = spot_fake();
    fake.fund("USDT", "1000000");
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let mut feed = ChannelFeed::new(config::<Spot>(&fake));
    let orders = feed.subscribe(SpotOrdersV2Channel).unwrap();
    let balances = feed.subscribe(SpotBalanceChannel).unwrap();
    let limit_at = Instant::now() + Duration::from_secs(30);
    let mut acks = 0;
    let mut seen = Seen::default();
    while acks < 2 {
        let event = feed.next_event_until(limit_at).expect("subscribed in time");
        acks += usize::from(subscribed(&event).is_some());
        record(&mut seen, &orders, &balances, &event);
    }

    // A marketable buy: takes the best ask.
    let (price, level) = best_ask(&fake);
    let size = level.min(d("0.01"));
    rest.call(&limit(Side::Buy, &t(price), &t(size))).unwrap();
    // A resting buy, then its cancel.
    let id = rest
        .call(&limit(Side::Buy, "30000", "0.1"))
        .unwrap()
        .order_id
        .unwrap();
    rest.call(&CancelOrderByOrderId::new(&id, "BTC-USDT"))
        .unwrap();
    while seen.orders.len() < 6 || seen.balances.len() < 4 {
        let event = feed.next_event_until(limit_at).expect("every push in time");
        record(&mut seen, &orders, &balances, &event);
    }
    feed.close();
    use OrderEventType as E;
    use OrderStatus as S;
    let kinds: Vec<(E, S)> = seen
        .orders
        .iter()
        .map(|(k, s, ..)| (k.clone(), s.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (E::Received, S::New),
            (E::Match, S::Match),
            (E::Filled, S::Done),
            (E::Received, S::New),
            (E::Open, S::Open),
            (E::Canceled, S::Done),
        ]
    );
    assert_eq!(seen.orders[1].2, Some(dec(&t(price))));
    assert_eq!(seen.orders[1].3, Some(dec(&t(size))));
    let fee = price * size * d(TAKER_FEE_RATE);
    let after_fill = d("1000000") - price * size - fee;
    let hold = d("30000") * d("0.1") * d("1.001");
    let s = String::from;
    assert_eq!(
        seen.balances,
        [
            (
                s("USDT"),
                t(-(price * size + fee)),
                s("0"),
                t(after_fill),
                s("0")
            ),
            (s("BTC"), t(size), s("0"), t(size), s("0")),
            (s("USDT"), t(-hold), t(hold), t(after_fill - hold), t(hold)),
            (s("USDT"), t(hold), t(-hold), t(after_fill), s("0")),
        ]
    );
}

#[test]
fn smol_private_stream_shows_open_then_canceled_with_the_hold() {
    let fake = spot_fake();
    fake.fund("BTC", "1");
    smol::block_on(async {
        let rest = kucoin_async_std::Rest::new(&config::<Spot>(&fake));
        let mut feed = kucoin_async_std::ChannelFeed::new(config::<Spot>(&fake));
        let orders = feed.subscribe(SpotOrdersV2Channel).unwrap();
        let balances = feed.subscribe(SpotBalanceChannel).unwrap();
        let limit_at = Instant::now() + Duration::from_secs(30);
        let (mut acks, mut seen) = (0, Seen::default());
        while acks < 2 {
            let event = feed.next_event_until(limit_at).await.expect("subscribed");
            acks += usize::from(subscribed(&event).is_some());
        }
        rest.call(&limit(Side::Sell, "99999.9", "0.25").client_oid("s-1"))
            .await
            .unwrap();
        rest.call(&CancelOrderByClientOid::new("s-1", "BTC-USDT"))
            .await
            .unwrap();
        while seen.orders.len() < 3 || seen.balances.len() < 2 {
            let event = feed.next_event_until(limit_at).await.expect("pushes");
            record(&mut seen, &orders, &balances, &event);
        }
        feed.close().await;
        let kinds: Vec<OrderEventType> = seen.orders.iter().map(|o| o.0.clone()).collect();
        assert_eq!(
            kinds,
            [
                OrderEventType::Received,
                OrderEventType::Open,
                OrderEventType::Canceled
            ]
        );
        let s = String::from;
        assert_eq!(
            seen.balances,
            [
                (s("BTC"), s("-0.25"), s("0.25"), s("0.75"), s("0.25")),
                (s("BTC"), s("0.25"), s("-0.25"), s("1"), s("0")),
            ]
        );
    });
}

#[test]
fn futures_order_opens_a_position_and_the_overview_and_private_channels_follow() {
    let fake = FakeKucoin::start(FakeConfig::futures().paused()).unwrap();
    fake.fund("USDT", "10000");
    let rest = kucoin_blocking::Rest::new(&config::<Futures>(&fake));
    let mut feed = ChannelFeed::new(config::<Futures>(&fake));
    let xbt = FuturesSymbol::new("XBTUSDTM").unwrap();
    let orders = feed.subscribe(FuturesAllOrdersChannel).unwrap();
    let position = feed
        .subscribe(FuturesPositionChannel {
            symbol: xbt.clone(),
        })
        .unwrap();
    let wallet = feed.subscribe(FuturesWalletChannel).unwrap();
    let limit_at = Instant::now() + Duration::from_secs(30);
    let mut acks = 0;
    while acks < 3 {
        let event = feed.next_event_until(limit_at).expect("subscribed");
        if let PoolEvent::Feed {
            event: FeedEvent::Session(SessionEvent::Subscribed { .. }),
            ..
        } = event
        {
            acks += 1;
        }
    }

    let book = fake.true_book("XBTUSDTM").unwrap();
    let price = d(&book.asks[0].0);
    let order = forder::AddOrder::new("f-1", 5, forder::Side::Buy, "XBTUSDTM")
        .price(dec(&t(price)))
        .size(1)
        .r#type(forder::AddOrderType::Limit);
    let placed = rest.call(&order).unwrap();
    let id = placed.order_id.unwrap();
    let got = rest.call(&forder::GetOrderByOrderId::new(&id)).unwrap();
    assert_eq!(got.is_active, Some(false));
    assert_eq!(got.filled_size, Some(dec("1")));

    // 1 contract of 0.001 XBT: value = price × 0.001; margin value / 5; fee value × 0.001.
    let value = price * d("0.001");
    let margin = value / d("5");
    let fee = value * d(TAKER_FEE_RATE);
    let details = rest.call(&GetPositionDetails::new("XBTUSDTM")).unwrap();
    assert_eq!(details.current_qty, Some(dec("1")));
    assert_eq!(details.avg_entry_price, Some(dec(&t(price))));
    assert_eq!(details.pos_margin, Some(dec(&t(margin))));
    assert_eq!(rest.call(&GetPositionList::new()).unwrap().len(), 1);
    let overview = rest
        .call(&GetFuturesAccount::new().currency("USDT"))
        .unwrap();
    let available = d("10000") - margin - fee;
    assert_eq!(overview.available_balance, Some(dec(&t(available))));
    assert_eq!(overview.position_margin, Some(dec(&t(margin))));
    assert_eq!(overview.account_equity, Some(dec(&t(available + margin))));

    // The private channels: received, match, filled; the position; the wallet.
    let (mut kinds, mut qty, mut wallet_available) = (Vec::new(), None, None);
    while kinds.len() < 3 || qty.is_none() || wallet_available.is_none() {
        match feed.next_event_until(limit_at).expect("pushes in time") {
            PoolEvent::Channel(ev) => {
                if let Some(m) = orders.message(&ev) {
                    kinds.push(m.unwrap().kind);
                } else if let Some(m) = position.message(&ev) {
                    qty = m.unwrap().position().current_qty;
                } else if let Some(m) = wallet.message(&ev) {
                    wallet_available = m.unwrap().available_balance;
                }
            }
            PoolEvent::ChannelError { raw, error, .. } => panic!("{}: {error}", raw.topic),
            _ => {}
        }
    }
    feed.close();
    assert_eq!(
        kinds,
        [
            OrderEventType::Received,
            OrderEventType::Match,
            OrderEventType::Filled
        ]
    );
    assert_eq!(qty, Some(dec("1")));
    assert_eq!(wallet_available, Some(dec(&t(available))));

    // Unknown futures order: KuCoin's futures code.
    let err = rest.call(&forder::CancelOrderById::new("999")).unwrap_err();
    assert_eq!(code(&err), "100004");
    assert_eq!(fake.stats().auth_failures, 0);
}

#[test]
fn a_trade_publishes_its_book_change_and_a_synced_client_book_stays_equal() {
    use kucoin_blocking::BookFeed;
    use kucoin_blocking::proto::SpotSymbol;
    use kucoin_blocking::proto::book::BookEvent;
    let fake = spot_fake();
    fake.fund("USDT", "100000000");
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let mut feed = BookFeed::new(config::<Spot>(&fake)).unwrap();
    feed.add_book(btc.clone()).unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let event = feed.next_event_until(give_up).expect("synced in time");
        if let FeedEvent::Book {
            event: BookEvent::Synced { .. },
            ..
        } = event
        {
            break;
        }
    }
    let before = fake.true_book("BTC-USDT").unwrap();
    // Take the best two ask levels whole and part of the third.
    let third = d(&before.asks[2].1);
    let part = (third / d("2")).round_dp(8).max(d("0.00000001"));
    let size = d(&before.asks[0].1) + d(&before.asks[1].1) + part;
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let done = rest
        .call(
            &AddOrderSync::new(
                kucoin_blocking::proto::rest::api::spot::order::Side::Buy,
                "BTC-USDT",
                kucoin_blocking::proto::rest::api::spot::order::Type::Market,
            )
            .size(dec(&t(size))),
        )
        .unwrap();
    assert_eq!(done.deal_size, Some(dec(&t(size))));
    let after = fake.true_book("BTC-USDT").unwrap();
    assert_eq!(
        after.sequence,
        before.sequence + 3,
        "one change per level taken"
    );
    assert_eq!(after.asks[0], (before.asks[2].0.clone(), t(third - part)));
    while feed.book(&btc).map(|b| b.sequence()) != Some(after.sequence) {
        assert!(
            Instant::now() < give_up,
            "the client did not follow the trade"
        );
        let _ = feed.next_event_until(Instant::now() + Duration::from_millis(20));
    }
    support::assert_same_book(feed.book(&btc).unwrap(), &after);
    assert_eq!(feed.feed().stats().gaps, 0);
    feed.close();
}

#[test]
fn a_resting_order_trades_as_maker_when_the_market_reaches_it() {
    let fake = spot_fake();
    fake.fund("USDT", "10000");
    let rest = kucoin_blocking::Rest::new(&config::<Spot>(&fake));
    let mut feed = ChannelFeed::new(config::<Spot>(&fake));
    let orders = feed.subscribe(SpotOrdersV2Channel).unwrap();
    let balances = feed.subscribe(SpotBalanceChannel).unwrap();
    let limit_at = Instant::now() + Duration::from_secs(30);
    let (mut acks, mut seen) = (0, Seen::default());
    while acks < 2 {
        let event = feed.next_event_until(limit_at).expect("subscribed in time");
        acks += usize::from(subscribed(&event).is_some());
    }
    // One tick over the best bid, under the best ask: it rests, first in line. (Move the
    // market until the spread is wider than a tick.)
    let mut book = fake.true_book("BTC-USDT").unwrap();
    let mut steps = 0;
    while d(&book.asks[0].0) - d(&book.bids[0].0) < d("0.2") {
        assert!(steps < 10_000, "the spread never widened");
        steps += 1;
        fake.step_updates(1);
        book = fake.true_book("BTC-USDT").unwrap();
    }
    let price = d(&book.bids[0].0) + d("0.1");
    rest.call(&limit(Side::Buy, &t(price), "0.05")).unwrap();
    let hold = price * d("0.05") * d("1.001");
    assert_eq!(balance(&fake, "USDT").1, t(hold));
    // Move the market until an ask reaches the order.
    let mut steps = 0;
    while balance(&fake, "BTC").0 != "0.05" {
        assert!(steps < 20_000, "the market never reached {price}");
        fake.step_updates(1);
        steps += 1;
    }
    while seen.orders.last().map(|o| o.0.clone()) != Some(OrderEventType::Filled) {
        let event = feed.next_event_until(limit_at).expect("pushes in time");
        record(&mut seen, &orders, &balances, &event);
    }
    feed.close();
    let kinds: Vec<OrderEventType> = seen.orders.iter().map(|o| o.0.clone()).collect();
    assert_eq!(kinds.first(), Some(&OrderEventType::Received));
    assert_eq!(kinds.get(1), Some(&OrderEventType::Open));
    assert!(
        kinds[2..kinds.len() - 1]
            .iter()
            .all(|k| *k == OrderEventType::Match)
    );
    // Every match at the order's own price; the sizes add up to the order's.
    let matched: Decimal = seen.orders[2..kinds.len() - 1]
        .iter()
        .map(|o| {
            assert_eq!(o.2, Some(dec(&t(price))));
            d(&o.3.unwrap().to_string())
        })
        .sum();
    assert_eq!(matched, d("0.05"));
    // Paid exactly price × size + maker fee, all out of the hold.
    assert_eq!(balance(&fake, "USDT"), (t(d("10000") - hold), "0".into()));
    let fills = rest.call(&GetTradeHistory::new("BTC-USDT")).unwrap();
    let items = fills.items.unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|f| f.liquidity.as_ref().map(ToString::to_string).as_deref() == Some("maker"))
    );
}
