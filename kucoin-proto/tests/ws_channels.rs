//! Typed channels: every channel's spec example parses into its type, routing, topics, unknown
//! fields, wrong shapes and KuCoin's quirks.
#![allow(clippy::match_like_matches_macro)] // one arm per channel reads better than one matches!

use std::path::PathBuf;

use kucoin_proto::num::Dec;
use kucoin_proto::ws::channels::{
    self, ChannelError, ChannelKind, ChannelMessage, ChannelSpec, FuturesAllOrdersChannel,
    FuturesAllPositionsChannel, FuturesKlinesChannel, FuturesOrdersChannel, FuturesPositionChannel,
    FuturesPositionEvent, FuturesTickerV2Channel, Host, KlineInterval, OrderEventType, OrderStatus,
    OrderType, Side, SpotAllTickersChannel, SpotBalanceChannel, SpotKlinesChannel,
    SpotMarketSnapshotChannel, SpotTickerChannel, SpotTradeChannel, StopCondition, TopicParam,
};
use kucoin_proto::{FuturesSymbol, SpotSymbol};

fn example(kind: ChannelKind) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ws-channels")
        .join(format!("{}.json", kind.name()));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (topic, subject, data) of a channel's spec example (one of them lacks `type`, so serde reads
/// them rather than the frame layer).
fn parts(frame: &str) -> (String, String, String) {
    #[derive(serde::Deserialize)]
    struct Parts<'a> {
        topic: String,
        subject: String,
        #[serde(borrow)]
        data: &'a serde_json::value::RawValue,
    }
    let p: Parts<'_> = serde_json::from_str(frame).unwrap();
    if frame.contains(r#""type":"message""#) {
        let m = channels::parse_message(frame)
            .unwrap()
            .expect("a message frame");
        assert_eq!(m.topic(), p.topic);
        assert_eq!(m.data_str().unwrap(), p.data.get());
    }
    (p.topic, p.subject, p.data.get().to_owned())
}

fn d(s: &str) -> Dec {
    Dec::parse(s).unwrap()
}

fn decode_example(kind: ChannelKind) -> ChannelMessage<'static> {
    let (_, subject, data) = parts(&example(kind));
    let data: &'static str = Box::leak(data.into_boxed_str());
    channels::decode_as(kind, &subject, data)
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
        .message
}

#[test]
fn there_are_38_channels_each_with_a_spec_example_that_decodes_into_its_type() {
    assert_eq!(ChannelKind::ALL.len(), 38);
    let private = ChannelKind::ALL.iter().filter(|k| k.is_private()).count();
    assert_eq!(private, 14);
    let futures = ChannelKind::ALL
        .iter()
        .filter(|k| k.host() == Host::Futures)
        .count();
    assert_eq!(futures, 18);
    for &kind in ChannelKind::ALL {
        let message = decode_example(kind);
        // The message variant matches the channel.
        use ChannelKind as K;
        let ok = match (&message, kind) {
            (ChannelMessage::SpotTicker(_), K::SpotTicker | K::SpotAllTickers) => true,
            (ChannelMessage::SpotLevel1(_), K::SpotLevel1) => true,
            (
                ChannelMessage::SpotDepth(_),
                K::SpotDepth5 | K::SpotDepth50 | K::CallAuctionDepth50,
            ) => true,
            (ChannelMessage::CallAuctionInfo(_), K::CallAuctionInfo) => true,
            (ChannelMessage::SpotLevel2(_), K::SpotLevel2) => true,
            (ChannelMessage::Kline(_), K::SpotKlines | K::FuturesKlines) => true,
            (ChannelMessage::SpotTrade(_), K::SpotTrade) => true,
            (ChannelMessage::SpotSnapshot(_), K::SpotSymbolSnapshot | K::SpotMarketSnapshot) => {
                true
            }
            (ChannelMessage::SpotOrder(_), K::SpotOrdersV1 | K::SpotOrdersV2) => true,
            (ChannelMessage::SpotBalance(_), K::SpotBalance) => true,
            (ChannelMessage::SpotStopOrder(_), K::SpotStopOrders) => true,
            (ChannelMessage::IndicatorPrice(_), K::MarkPrice | K::IndexPrice) => true,
            (ChannelMessage::IsolatedMarginPosition(_), K::IsolatedMarginPosition) => true,
            (ChannelMessage::CrossMarginPosition(_), K::CrossMarginPosition) => true,
            (ChannelMessage::FuturesTickerV2(_), K::FuturesTickerV2) => true,
            (ChannelMessage::FuturesTicker(_), K::FuturesTicker) => true,
            (ChannelMessage::FuturesDepth(_), K::FuturesDepth5 | K::FuturesDepth50) => true,
            (ChannelMessage::FuturesLevel2(_), K::FuturesLevel2) => true,
            (ChannelMessage::FuturesExecution(_), K::FuturesExecution) => true,
            (ChannelMessage::FuturesInstrument(_), K::FuturesInstrument) => true,
            (ChannelMessage::FuturesAnnouncement(_), K::FuturesAnnouncement) => true,
            (ChannelMessage::FuturesSnapshot(_), K::FuturesSnapshot) => true,
            (ChannelMessage::FuturesOrder(_), K::FuturesOrders | K::FuturesAllOrders) => true,
            (ChannelMessage::FuturesWallet(_), K::FuturesWallet) => true,
            (ChannelMessage::FuturesPosition(_), K::FuturesPosition | K::FuturesAllPositions) => {
                true
            }
            (ChannelMessage::FuturesMarginMode(_), K::FuturesMarginMode) => true,
            (ChannelMessage::FuturesCrossLeverage(_), K::FuturesCrossLeverage) => true,
            (ChannelMessage::FuturesStopOrder(_), K::FuturesStopOrders) => true,
            _ => false,
        };
        assert!(ok, "{kind} decoded as {message:?}");
    }
}

#[test]
fn spec_examples_route_by_topic_to_their_channel() {
    use ChannelKind as K;
    for &kind in ChannelKind::ALL {
        let (topic, subject, _) = parts(&example(kind));
        let routed = channels::route(&topic, &subject).map(|r| r.kind);
        // KuCoin's examples for these channels were copied from a sibling channel's.
        let expected = match kind {
            K::CallAuctionDepth50 => K::SpotDepth50,
            K::SpotOrdersV1 => K::SpotOrdersV2,
            K::FuturesAllOrders => K::FuturesOrders,
            K::FuturesAllPositions => K::FuturesPosition,
            other => other,
        };
        assert_eq!(routed, Some(expected), "{kind}: {topic} {subject}");
        if matches!(kind, K::FuturesAllOrders | K::FuturesAllPositions) {
            assert!(kind.receives(expected), "{kind}");
        }
    }
    let all = channels::route("/market/ticker:all", "ETH-USDT").unwrap();
    assert_eq!(all.kind, K::SpotAllTickers);
    assert_eq!(all.symbol(), Some("ETH-USDT"));
    let kline = channels::route("/market/candles:BTC-USDT_1hour", "trade.candles.update").unwrap();
    assert_eq!(kline.symbol(), Some("BTC-USDT"));
    assert_eq!(kline.interval(), Some(KlineInterval::Hour1));
    let market = channels::route("/market/snapshot:BTC", "trade.snapshot").unwrap();
    assert_eq!(market.kind, K::SpotMarketSnapshot);
    assert_eq!(market.symbol(), None);
    assert_eq!(channels::route("/market/level2Depth7:BTC-USDT", ""), None);
    assert_eq!(
        channels::route("/contractMarket/tradeOrders", "orderChange").map(|r| r.kind),
        Some(K::FuturesAllOrders)
    );
}

#[test]
fn channel_values_build_topics_exactly_as_kucoin_spells_them() {
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let eth = SpotSymbol::new("ETH-USDT").unwrap();
    let xbt = FuturesSymbol::new("XBTUSDTM").unwrap();
    let ticker = SpotTickerChannel {
        symbols: vec![btc.clone(), eth.clone()],
    };
    let topics: Vec<String> = ticker
        .topics()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        topics,
        ["/market/ticker:BTC-USDT", "/market/ticker:ETH-USDT"]
    );
    let t = |c: &dyn Fn() -> Vec<kucoin_proto::ws::Topic>| {
        let ts = c();
        assert_eq!(ts.len(), 1);
        (ts[0].to_string(), ts[0].is_private())
    };
    assert_eq!(
        t(&|| SpotAllTickersChannel.topics().unwrap()),
        ("/market/ticker:all".into(), false)
    );
    assert_eq!(
        t(&|| SpotBalanceChannel.topics().unwrap()),
        ("/account/balance".into(), true)
    );
    assert_eq!(
        t(&|| channels::SpotOrdersV2Channel.topics().unwrap()),
        ("/spotMarket/tradeOrdersV2".into(), true)
    );
    assert_eq!(
        t(&|| FuturesTickerV2Channel {
            symbol: xbt.clone()
        }
        .topics()
        .unwrap()),
        ("/contractMarket/tickerV2:XBTUSDTM".into(), false)
    );
    assert_eq!(
        t(&|| FuturesOrdersChannel {
            symbol: xbt.clone()
        }
        .topics()
        .unwrap()),
        ("/contractMarket/tradeOrders:XBTUSDTM".into(), true)
    );
    assert_eq!(
        t(&|| FuturesAllPositionsChannel.topics().unwrap()),
        ("/contract/positionAll".into(), true)
    );
    assert_eq!(
        t(&|| SpotKlinesChannel {
            symbol: btc.clone(),
            interval: KlineInterval::Hour1
        }
        .topics()
        .unwrap()),
        ("/market/candles:BTC-USDT_1hour".into(), false)
    );
    assert_eq!(
        t(&|| FuturesKlinesChannel {
            symbol: xbt.clone(),
            interval: KlineInterval::Min1
        }
        .topics()
        .unwrap()),
        ("/contractMarket/limitCandle:XBTUSDTM_1min".into(), false)
    );
    assert_eq!(
        t(&|| SpotMarketSnapshotChannel {
            market: "BTC".into()
        }
        .topics()
        .unwrap()),
        ("/market/snapshot:BTC".into(), false)
    );
    // A market name that would break a joined request is refused, not sent.
    assert!(
        SpotMarketSnapshotChannel {
            market: "A,B".into()
        }
        .topics()
        .is_err()
    );
    // Topic patterns and params agree with the topics built.
    assert_eq!(ChannelKind::SpotKlines.param(), TopicParam::SymbolInterval);
    assert_eq!(
        ChannelKind::SpotTicker.pattern(),
        "/market/ticker:{symbol},{symbol}"
    );
}

#[test]
fn a_subscription_accepts_only_its_own_channel_and_symbols() {
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let ticker = SpotTickerChannel {
        symbols: vec![btc.clone()],
    };
    assert!(ticker.accepts("/market/ticker:BTC-USDT", "trade.ticker"));
    assert!(!ticker.accepts("/market/ticker:ETH-USDT", "trade.ticker"));
    assert!(!ticker.accepts("/market/ticker:all", "BTC-USDT"));
    assert!(!ticker.accepts("/market/match:BTC-USDT", "trade.l3match"));
    assert!(!ticker.accepts("/market/ticker:BTC-USDT-X", "trade.ticker"));
    assert!(SpotAllTickersChannel.accepts("/market/ticker:all", "ETH-USDT"));
    assert!(!SpotAllTickersChannel.accepts("/market/ticker:ETH-USDT", "trade.ticker"));
    assert!(FuturesAllOrdersChannel.accepts("/contractMarket/tradeOrders:XBTUSDTM", "orderChange"));
    assert!(FuturesAllOrdersChannel.accepts("/contractMarket/tradeOrders", "orderChange"));
    let xbt = FuturesSymbol::new("XBTUSDTM").unwrap();
    let orders = FuturesOrdersChannel { symbol: xbt };
    assert!(orders.accepts("/contractMarket/tradeOrders:XBTUSDTM", "symbolOrderChange"));
    assert!(!orders.accepts("/contractMarket/tradeOrders:ETHUSDTM", "symbolOrderChange"));
    assert!(!orders.accepts("/contractMarket/tradeOrders", "orderChange"));
    assert!(FuturesAllPositionsChannel.accepts("/contract/position:XBTUSDTM", "position.change"));
    let kl = SpotKlinesChannel {
        symbol: btc,
        interval: KlineInterval::Hour1,
    };
    assert!(kl.accepts("/market/candles:BTC-USDT_1hour", "trade.candles.update"));
    assert!(!kl.accepts("/market/candles:BTC-USDT_1min", "trade.candles.update"));
}

#[test]
fn spot_public_examples_carry_their_values() {
    use ChannelKind as K;
    let (_, s, data) = parts(&example(K::SpotTicker));
    let t = SpotTickerChannel::parse(&s, &data).unwrap();
    assert_eq!(t.sequence, Some(1_545_896_668_986));
    assert_eq!(t.price, Some(d("0.08")));
    assert_eq!(t.best_bid_size, Some(d("0.036")));
    assert_eq!(t.time, 1_704_873_323_416, "the example spells it `Time`");
    let (_, s, data) = parts(&example(K::SpotAllTickers));
    assert_eq!(s, "BTC-USDT");
    let t = SpotAllTickersChannel::parse(&s, &data).unwrap();
    assert_eq!(t.best_ask, Some(d("67218.7")));
    assert_eq!(t.sequence, Some(14_691_455_768));
    let (_, s, data) = parts(&example(K::SpotTrade));
    let tr = SpotTradeChannel::parse(&s, &data).unwrap();
    assert_eq!(tr.side, Side::Buy);
    assert_eq!(tr.price, d("67523"));
    assert_eq!(tr.size, d("0.003"));
    assert_eq!(tr.time, 1_729_843_222_921_000_000);
    assert_eq!(tr.trade_id, "11067996711960577");
    assert!(matches!(tr.symbol, std::borrow::Cow::Borrowed("BTC-USDT")));
    let owned = tr.clone().into_owned();
    assert_eq!(owned, tr);

    let ChannelMessage::SpotLevel1(l1) = decode_example(K::SpotLevel1) else {
        panic!()
    };
    assert_eq!(l1.asks.unwrap().price, d("68145.8"));
    assert_eq!(l1.bids.unwrap().size, d("1.29267802"));
    let ChannelMessage::SpotDepth(d5) = decode_example(K::SpotDepth5) else {
        panic!()
    };
    assert_eq!((d5.asks.len(), d5.bids.len()), (5, 5));
    assert_eq!(d5.bids[4].size, d("0.13528566"));
    let ChannelMessage::SpotDepth(d50) = decode_example(K::SpotDepth50) else {
        panic!()
    };
    assert_eq!((d50.asks.len(), d50.bids.len()), (50, 50));
    assert_eq!(d50.timestamp, 1_733_124_805_073);
    let ChannelMessage::CallAuctionInfo(ca) = decode_example(K::CallAuctionInfo) else {
        panic!()
    };
    assert_eq!(ca.estimated_size, Some(d("0.03715004")));
    assert_eq!(ca.buy_order_range_high_price, Some(d("2.788")));
    let ChannelMessage::SpotLevel2(l2) = decode_example(K::SpotLevel2) else {
        panic!()
    };
    assert_eq!(l2.changes.asks[0].sequence, 14_701_689_783);
    assert_eq!(l2.changes.asks[0].size, d("1.21427407"));
    assert!(l2.changes.bids.is_empty());
    assert_eq!(l2.sequence_start, l2.sequence_end);
    let ChannelMessage::Kline(k) = decode_example(K::SpotKlines) else {
        panic!()
    };
    assert_eq!(k.candles.start, 1_729_839_600);
    assert_eq!(k.candles.open, d("67644.9"));
    assert_eq!(k.candles.close, d("67437.6"));
    assert_eq!(k.candles.high, d("67724.8"));
    assert_eq!(k.candles.low, d("67243.8"));
    assert_eq!(k.candles.turnover, d("3027558.991928447"));
    assert_eq!(k.time, 1_729_842_192_785_164_840);
    let ChannelMessage::SpotSnapshot(sn) = decode_example(K::SpotSymbolSnapshot) else {
        panic!()
    };
    assert_eq!(sn.sequence, Some(14_691_517_895));
    assert_eq!(sn.data.symbol, "BTC-USDT");
    assert_eq!(sn.data.vol_value, Some(d("147972941.07857507300000000000")));
    assert_eq!(
        sn.data.market_change1h.unwrap().change_price,
        Some(d("-102.1"))
    );
    assert_eq!(sn.data.markets, ["USDS", "PoW"]);
    let ChannelMessage::SpotSnapshot(ms) = decode_example(K::SpotMarketSnapshot) else {
        panic!()
    };
    assert_eq!(ms.data.average_price, Some(d("0.00000262")));
    assert_eq!(ms.data.board, Some(0));
}

#[test]
fn spot_private_and_margin_examples_carry_their_values() {
    use ChannelKind as K;
    let ChannelMessage::SpotOrder(o) = decode_example(K::SpotOrdersV2) else {
        panic!()
    };
    assert_eq!(o.kind, OrderEventType::Received);
    assert_eq!(o.status, OrderStatus::New);
    assert_eq!(o.order_type, Some(OrderType::Market));
    assert_eq!(o.origin_size, Some(d("0.00001")));
    assert_eq!(o.price, None);
    assert_eq!(o.ts, 1_730_206_271_616_000_000);
    let ChannelMessage::SpotOrder(o) = decode_example(K::SpotOrdersV1) else {
        panic!()
    };
    assert_eq!(o.kind, OrderEventType::Open);
    assert_eq!(o.price, Some(d("50000")));
    assert_eq!(o.canceled_size, Some(Dec::ZERO));
    let ChannelMessage::SpotBalance(b) = decode_example(K::SpotBalance) else {
        panic!()
    };
    assert_eq!(b.available_change, Some(d("-0.5005")));
    assert_eq!(b.total, d("21.133773386762"));
    assert_eq!(b.time, 1_730_269_283_892);
    assert_eq!(
        b.relation_context.unwrap().order_id.as_deref(),
        Some("6721d0632db25b0007071fdc")
    );
    let ChannelMessage::SpotStopOrder(so) = decode_example(K::SpotStopOrders) else {
        panic!()
    };
    assert_eq!(so.stop, Some(StopCondition::Loss));
    assert_eq!(so.stop_price, Some(d("71000")));
    assert_eq!(so.ts, 1_742_305_928_091_268_493);
    let ChannelMessage::IndicatorPrice(mp) = decode_example(K::MarkPrice) else {
        panic!()
    };
    assert_eq!(mp.value, d("0.0001093"));
    assert_eq!(mp.symbol, "USDT-BTC");
    let ChannelMessage::IndicatorPrice(ip) = decode_example(K::IndexPrice) else {
        panic!()
    };
    assert_eq!(ip.value, d("0.0001092"));
    let ChannelMessage::IsolatedMarginPosition(iso) = decode_example(K::IsolatedMarginPosition)
    else {
        panic!()
    };
    assert_eq!(iso.tag, "BTC-USDT");
    assert_eq!(
        iso.change_assets["USDT"].liability_interest,
        Some(d("0.00025644"))
    );
    let ChannelMessage::CrossMarginPosition(cross) = decode_example(K::CrossMarginPosition) else {
        panic!()
    };
    assert_eq!(cross.total_asset, Some(d("0.0005243177228408")));
    assert_eq!(cross.asset_list["USDT"].hold, Some(d("18.66939173")));
    assert_eq!(cross.debt_list["BTC"], Dec::ZERO);
    assert_eq!(cross.kind, None);
}

#[test]
fn futures_examples_carry_their_values() {
    use ChannelKind as K;
    let ChannelMessage::FuturesTickerV2(t) = decode_example(K::FuturesTickerV2) else {
        panic!()
    };
    assert_eq!(t.symbol, "XBTUSDTM");
    assert_eq!(t.best_bid_size, Some(d("713")));
    assert_eq!(t.best_ask_price, Some(d("88987.5")));
    assert_eq!(t.ts, 1_731_665_526_461_000_000);
    let ChannelMessage::FuturesTicker(t) = decode_example(K::FuturesTicker) else {
        panic!()
    };
    assert_eq!(t.side, Some(Side::Sell));
    assert_eq!(t.trade_id, "1793133570931");
    let ChannelMessage::FuturesDepth(dp) = decode_example(K::FuturesDepth5) else {
        panic!()
    };
    assert_eq!(dp.bids[0].price, d("89720.9"));
    assert_eq!(dp.bids[0].size, d("513"));
    assert_eq!(dp.sequence, Some(1_709_294_294_670));
    let ChannelMessage::FuturesDepth(dp) = decode_example(K::FuturesDepth50) else {
        panic!()
    };
    assert_eq!(dp.asks[1].size, d("4"));
    let ChannelMessage::FuturesLevel2(l2) = decode_example(K::FuturesLevel2) else {
        panic!()
    };
    assert_eq!(l2.change.price, d("90631.2"));
    assert_eq!(l2.change.side, Side::Sell);
    assert_eq!(l2.change.size, d("2"));
    let ChannelMessage::Kline(k) = decode_example(K::FuturesKlines) else {
        panic!()
    };
    assert_eq!(k.candles.volume, d("21.0"));
    assert_eq!(k.time, 1_731_898_208_357);
    let ChannelMessage::FuturesExecution(x) = decode_example(K::FuturesExecution) else {
        panic!()
    };
    assert_eq!(x.side, Side::Buy);
    assert_eq!(x.size, d("2"));
    assert_eq!(x.maker_order_id, "247822167163555840");
    let ChannelMessage::FuturesInstrument(i) = decode_example(K::FuturesInstrument) else {
        panic!()
    };
    assert_eq!(i.mark_price, Some(d("90445.02")));
    assert_eq!(i.funding_rate, None);
    let ChannelMessage::FuturesAnnouncement(a) = decode_example(K::FuturesAnnouncement) else {
        panic!()
    };
    assert_eq!(a.funding_rate, Some(d("-0.002966")));
    let ChannelMessage::FuturesSnapshot(s) = decode_example(K::FuturesSnapshot) else {
        panic!()
    };
    assert_eq!(s.turnover, Some(d("526928331.0482177734")));
    assert_eq!(s.price_24h_before, Some(d("89880.4")));
    assert_eq!(s.ts, 1_731_900_415_023_929_239);
    for kind in [K::FuturesOrders, K::FuturesAllOrders] {
        let ChannelMessage::FuturesOrder(o) = decode_example(kind) else {
            panic!()
        };
        assert_eq!(o.order_time, Some(1_731_916_985_768_138_917));
        assert_eq!(o.price, Some(d("91670")));
        assert_eq!(o.kind, OrderEventType::Open);
        assert_eq!(o.trade_type, None, "absent in the example");
    }
    let ChannelMessage::FuturesWallet(w) = decode_example(K::FuturesWallet) else {
        panic!()
    };
    assert_eq!(w.equity, Some(d("81.273621258")));
    assert_eq!(w.version, Some(1337));
    assert_eq!(w.timestamp, 1_731_916_996_764);
    for kind in [K::FuturesPosition, K::FuturesAllPositions] {
        let ChannelMessage::FuturesPosition(p) = decode_example(kind) else {
            panic!()
        };
        let FuturesPositionEvent::Change(p) = *p else {
            panic!()
        };
        assert_eq!(p.realised_cost, Some(d("-0.07210716")));
        assert_eq!(p.delev_percentage, Some(d("0.10")));
        assert_eq!(p.current_qty, Some(d("1")));
        assert_eq!(p.cross_mode, Some(false));
    }
    let ChannelMessage::FuturesMarginMode(mm) = decode_example(K::FuturesMarginMode) else {
        panic!()
    };
    assert_eq!(
        mm.0["ETHUSDTM"],
        kucoin_proto::ws::channels::MarginMode::Isolated
    );
    let ChannelMessage::FuturesCrossLeverage(cl) = decode_example(K::FuturesCrossLeverage) else {
        panic!()
    };
    assert_eq!(cl.0["ETHUSDTM"].leverage, d("8"));
    let ChannelMessage::FuturesStopOrder(so) = decode_example(K::FuturesStopOrders) else {
        panic!()
    };
    assert_eq!(so.stop, Some(StopCondition::Down));
    assert_eq!(so.size, Some(d("1")));
    assert_eq!(
        so.stop_price_type,
        Some(kucoin_proto::ws::channels::StopPriceType::TradePrice)
    );
}

#[test]
fn position_messages_are_told_apart_by_subject() {
    let settlement = r#"{"fundingTime":1551770400000,"qty":100,"markPrice":3610.85,"fundingRate":-0.002966,"fundingFee":-296,"ts":1547697294838004923,"settleCurrency":"XBT"}"#;
    let e = FuturesPositionChannel::parse("position.settlement", settlement).unwrap();
    let FuturesPositionEvent::Settlement(p) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(p.funding_fee, Some(d("-296")));
    assert_eq!(p.ts, Some(1_547_697_294_838_004_923));
    assert_eq!(p.symbol, None);
    let adjust = r#"{"success":true,"riskLimitLevel":1,"msg":""}"#;
    let e = FuturesAllPositionsChannel::parse("position.adjustRiskLimit", adjust).unwrap();
    assert!(matches!(&e, FuturesPositionEvent::RiskLimitAdjusted(p) if p.success == Some(true)));
    let e = FuturesPositionChannel::parse("position.somethingNew", "{}").unwrap();
    assert_eq!(e.subject(), "position.somethingNew");
    assert_eq!(e.position(), &Default::default());
}

/// Inserts `"zz_new":{...}` at the start of the `data` object.
fn with_extra_field(data: &str) -> String {
    assert!(data.starts_with('{'), "{data}");
    format!(
        r#"{{"zz_new":{{"a":[1,"x",{{"b":null}}]}},"another":"{}",{}"#,
        "y",
        &data[1..]
    )
}

#[test]
fn unknown_extra_fields_are_ignored_in_every_channel() {
    for &kind in ChannelKind::ALL {
        // The margin-mode and leverage maps are keyed by symbol: every key is an entry.
        if matches!(
            kind,
            ChannelKind::FuturesMarginMode | ChannelKind::FuturesCrossLeverage
        ) {
            continue;
        }
        let (_, subject, data) = parts(&example(kind));
        let plain = channels::decode_as(kind, &subject, &data).unwrap().message;
        let extra = with_extra_field(&data);
        let with = channels::decode_as(kind, &subject, &extra)
            .unwrap_or_else(|e| panic!("{kind}: {e}"))
            .message;
        assert_eq!(plain, with, "{kind}");
    }
}

#[test]
fn every_example_round_trips_through_its_json() {
    for &kind in ChannelKind::ALL {
        let (_, subject, data) = parts(&example(kind));
        let first = channels::decode_as(kind, &subject, &data).unwrap().message;
        let json = serde_json::to_string(&first).unwrap();
        let again = channels::decode_as(kind, &subject, &json)
            .unwrap_or_else(|e| panic!("{kind}: {e}: {json}"))
            .message;
        assert_eq!(first, again, "{kind}: {json}");
        assert_eq!(first.clone().into_owned(), first, "{kind}");
    }
}

fn shape_error(kind: ChannelKind, data: &str) -> String {
    match channels::decode_as(kind, "s", data) {
        Err(ChannelError::Shape { kind: k, detail }) => {
            assert_eq!(k, kind);
            detail
        }
        other => panic!("{kind} {data}: {other:?}"),
    }
}

#[test]
fn wrong_shapes_are_typed_errors() {
    use ChannelKind as K;
    // A missing required field.
    let detail = shape_error(K::SpotTicker, r#"{"price":"1"}"#);
    assert!(detail.contains("time"), "{detail}");
    let detail = shape_error(
        K::SpotTrade,
        r#"{"side":"buy","size":"1","symbol":"A-B","time":"1"}"#,
    );
    assert!(detail.contains("price"), "{detail}");
    // A string, number, array or null where an object belongs.
    for kind in ChannelKind::ALL {
        for data in [r#""x""#, "1", "[]", "null", "true"] {
            if matches!(kind, K::FuturesMarginMode | K::FuturesCrossLeverage) && data == "null" {
                continue; // a map may be absent
            }
            let _ = shape_error(*kind, data);
        }
    }
    // A bad decimal.
    let detail = shape_error(
        K::SpotTrade,
        r#"{"price":"12a","side":"buy","size":"1","symbol":"A-B","time":"1"}"#,
    );
    assert!(detail.contains("12a"), "{detail}");
    shape_error(
        K::FuturesExecution,
        r#"{"symbol":"X","side":"buy","size":true,"price":"1","ts":1}"#,
    );
    // A bad timestamp, a bad level, a bad candle, a bad change.
    shape_error(K::SpotTicker, r#"{"time":"soon"}"#);
    shape_error(K::SpotTicker, r#"{"time":-5}"#);
    shape_error(K::SpotDepth5, r#"{"asks":[["1"]],"bids":[],"timestamp":1}"#);
    shape_error(
        K::SpotKlines,
        r#"{"symbol":"A-B","candles":["1","2"],"time":1}"#,
    );
    shape_error(
        K::FuturesLevel2,
        r#"{"sequence":1,"change":"1,sell","timestamp":1}"#,
    );
    shape_error(
        K::FuturesLevel2,
        r#"{"sequence":1,"change":"x,sell,2","timestamp":1}"#,
    );
    // Truncated JSON.
    shape_error(K::SpotTicker, r#"{"time":1"#);
    // An unknown topic.
    assert!(matches!(
        channels::decode("/market/nothing:BTC-USDT", "x", "{}"),
        Err(ChannelError::UnknownTopic { topic }) if topic == "/market/nothing:BTC-USDT"
    ));
    // The error says what to do.
    let e = channels::decode_as(K::SpotTicker, "", "[]").unwrap_err();
    assert!(e.to_string().contains("spot.ticker"), "{e}");
}

#[test]
fn kucoin_quirks_are_read_exactly() {
    use ChannelKind as K;
    // (data, expected price, expected time) for the spot ticker.
    let cases: &[(&str, Option<&str>, u64)] = &[
        // numbers as strings and strings as numbers
        (
            r#"{"price":67220,"time":"1729757723612"}"#,
            Some("67220"),
            1_729_757_723_612,
        ),
        // exponents
        (r#"{"price":"2.4985e-5","time":1}"#, Some("0.000024985"), 1),
        (r#"{"price":0e-8,"time":1}"#, Some("0"), 1),
        (r#"{"price":1E+3,"time":1}"#, Some("1000"), 1),
        // negative values
        (r#"{"price":"-12.5","time":1}"#, Some("-12.5"), 1),
        // more than 18 fractional digits
        (
            r#"{"price":"1.88488874999999999969","time":1}"#,
            Some("1.88488874999999999969"),
            1,
        ),
        // null and "" for absent values
        (r#"{"price":null,"time":1}"#, None, 1),
        (r#"{"price":"","time":1}"#, None, 1),
        (r#"{"time":1}"#, None, 1),
        // nanosecond timestamps beyond 2^53, as numbers and strings
        (
            r#"{"time":1729843222921000001}"#,
            None,
            1_729_843_222_921_000_001,
        ),
        (
            r#"{"time":"1729843222921000001"}"#,
            None,
            1_729_843_222_921_000_001,
        ),
    ];
    for (data, price, time) in cases {
        let t = SpotTickerChannel::parse("", data).unwrap_or_else(|e| panic!("{data}: {e}"));
        assert_eq!(t.price, price.map(d), "{data}");
        assert_eq!(t.time, *time, "{data}");
    }
    // Futures sizes as numbers, spot as strings; unknown enum values kept.
    let x = channels::decode_as(
        K::FuturesExecution,
        "match",
        r#"{"symbol":"XBTUSDTM","side":"short","size":2.5,"price":90503.9,"ts":"1731898619520000000"}"#,
    )
    .unwrap();
    let ChannelMessage::FuturesExecution(x) = x.message else {
        panic!()
    };
    assert_eq!(x.side, Side::Unknown("short".into()));
    assert_eq!(x.side.to_string(), "short");
    assert_eq!(x.size, d("2.5"));
    assert_eq!(x.ts, 1_731_898_619_520_000_000);
    // "" and null for optional enums are None; unknown values are kept.
    let o = channels::decode_as(
        K::SpotOrdersV2,
        "orderChange",
        r#"{"orderId":"o","side":"sell","status":"paused","symbol":"A-B","ts":1,"type":"received","orderType":"","liquidity":null,"feeType":"newFee"}"#,
    )
    .unwrap();
    let ChannelMessage::SpotOrder(o) = o.message else {
        panic!()
    };
    assert_eq!(o.order_type, None);
    assert_eq!(o.liquidity, None);
    assert_eq!(
        o.fee_type,
        Some(kucoin_proto::ws::channels::FeeType::Unknown(
            "newFee".into()
        ))
    );
    assert_eq!(o.status, OrderStatus::Unknown("paused".into()));
    // An empty level-1 side.
    let l1 = channels::decode_as(
        K::SpotLevel1,
        "level1",
        r#"{"asks":[],"bids":null,"timestamp":1}"#,
    )
    .unwrap();
    assert!(
        matches!(l1.message, ChannelMessage::SpotLevel1(l) if l.asks.is_none() && l.bids.is_none())
    );
    // Escaped strings are read (owned) rather than refused.
    let tr = SpotTradeChannel::parse(
        "",
        r#"{"price":"1","side":"buy","size":"1","symbol":"A\u002dB","time":1,"tradeId":"t\"1"}"#,
    )
    .unwrap();
    assert_eq!(tr.symbol, "A-B");
    assert_eq!(tr.trade_id, "t\"1");
}

#[test]
fn a_private_book_and_order_feed_decode_side_by_side() {
    // Frames of a spot book and the private orders channel, as two sessions would pass them on.
    let frames = [
        example(ChannelKind::SpotLevel2),
        example(ChannelKind::SpotOrdersV2),
        example(ChannelKind::SpotTicker),
    ];
    let kinds: Vec<ChannelKind> = frames
        .iter()
        .map(|f| {
            let m = channels::parse_message(f).unwrap().unwrap();
            channels::decode_message(&m).unwrap().kind
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ChannelKind::SpotLevel2,
            ChannelKind::SpotOrdersV2,
            ChannelKind::SpotTicker
        ]
    );
    // Control frames are not messages.
    assert!(
        channels::parse_message(r#"{"id":"1","type":"ack"}"#)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        channels::parse_message("not json"),
        Err(ChannelError::Frame(_))
    ));
}

/// Every key path of `v` (objects recursively, arrays of objects by their first element).
fn key_paths(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                let path = format!("{prefix}{k}");
                key_paths(x, &format!("{path}."), out);
                out.insert(path);
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(first @ serde_json::Value::Object(_)) = items.first() {
                key_paths(first, &format!("{prefix}[]."), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_of_every_spec_example_is_typed() {
    // A field the types do not know would be dropped silently: every key of every example must
    // come back when the decoded message is serialised (absent values as null).
    for &kind in ChannelKind::ALL {
        let (_, subject, data) = parts(&example(kind));
        let decoded = channels::decode_as(kind, &subject, &data).unwrap().message;
        let ours: serde_json::Value = serde_json::to_value(&decoded).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(&data).unwrap();
        let (mut a, mut b) = (Default::default(), Default::default());
        key_paths(&ours, "", &mut a);
        key_paths(&theirs, "", &mut b);
        let mut missing: Vec<&String> = b.difference(&a).collect();
        // KuCoin's ticker example spells `time` as `Time` (read as an alias).
        missing.retain(|k| !(kind == ChannelKind::SpotTicker && *k == "Time"));
        assert!(missing.is_empty(), "{kind}: fields not typed: {missing:?}");
    }
}

/// Checks one channel value against its kind: topics, privacy, acceptance of its own topic and
/// typed parsing of its spec example (same message as `decode_as`).
fn check_channel<C>(channel: C) -> ChannelKind
where
    C: ChannelSpec,
    for<'a> C::Message<'a>: std::fmt::Debug + serde::Serialize,
{
    let kind = C::KIND;
    let topics = channel.topics().unwrap();
    assert!(!topics.is_empty(), "{kind}");
    for t in &topics {
        assert_eq!(t.is_private(), kind.is_private(), "{kind}");
        let text = t.to_string();
        assert!(text.starts_with(kind.prefix()), "{kind}: {text}");
        let subject = if kind == ChannelKind::SpotAllTickers {
            "BTC-USDT"
        } else {
            "s"
        };
        assert!(channel.accepts(&text, subject), "{kind}: {text}");
        assert_eq!(
            channels::route(&text, subject).map(|r| r.kind),
            Some(kind),
            "{kind}"
        );
    }
    let (_, subject, data) = parts(&example(kind));
    let typed = C::parse(&subject, &data).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let dynamic = channels::decode_as(kind, &subject, &data).unwrap().message;
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        serde_json::to_value(&dynamic).unwrap(),
        "{kind}"
    );
    kind
}

#[test]
fn every_channel_value_subscribes_routes_and_parses_as_its_kind() {
    use channels::*;
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let xbt = FuturesSymbol::new("XBTUSDTM").unwrap();
    let syms = || vec![btc.clone(), SpotSymbol::new("ETH-USDT").unwrap()];
    let kinds = [
        check_channel(SpotTickerChannel { symbols: syms() }),
        check_channel(SpotAllTickersChannel),
        check_channel(SpotLevel1Channel { symbols: syms() }),
        check_channel(SpotDepth5Channel { symbols: syms() }),
        check_channel(SpotDepth50Channel { symbols: syms() }),
        check_channel(CallAuctionDepth50Channel {
            symbol: btc.clone(),
        }),
        check_channel(CallAuctionInfoChannel {
            symbol: btc.clone(),
        }),
        check_channel(SpotLevel2Channel { symbols: syms() }),
        check_channel(SpotKlinesChannel {
            symbol: btc.clone(),
            interval: KlineInterval::Week1,
        }),
        check_channel(SpotTradeChannel { symbols: syms() }),
        check_channel(SpotSymbolSnapshotChannel {
            symbol: btc.clone(),
        }),
        check_channel(SpotMarketSnapshotChannel {
            market: "USDS".into(),
        }),
        check_channel(SpotOrdersV2Channel),
        check_channel(SpotOrdersV1Channel),
        check_channel(SpotBalanceChannel),
        check_channel(SpotStopOrdersChannel),
        check_channel(MarkPriceChannel { symbols: syms() }),
        check_channel(IndexPriceChannel { symbols: syms() }),
        check_channel(IsolatedMarginPositionChannel {
            symbol: btc.clone(),
        }),
        check_channel(CrossMarginPositionChannel),
        check_channel(FuturesTickerV2Channel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesTickerChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesDepth5Channel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesDepth50Channel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesLevel2Channel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesKlinesChannel {
            symbol: xbt.clone(),
            interval: KlineInterval::Hour4,
        }),
        check_channel(FuturesExecutionChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesInstrumentChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesAnnouncementChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesSnapshotChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesOrdersChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesAllOrdersChannel),
        check_channel(FuturesWalletChannel),
        check_channel(FuturesPositionChannel {
            symbol: xbt.clone(),
        }),
        check_channel(FuturesAllPositionsChannel),
        check_channel(FuturesMarginModeChannel),
        check_channel(FuturesCrossLeverageChannel),
        check_channel(FuturesStopOrdersChannel),
    ];
    // One channel value per kind, in KuCoin's order.
    assert_eq!(kinds.as_slice(), ChannelKind::ALL);
}
