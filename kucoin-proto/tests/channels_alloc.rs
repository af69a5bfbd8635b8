//! The busiest channels (spot tickers and trades, futures tickers and executions) are parsed
//! from the frame without touching the heap.

mod alloc_counter;

use alloc_counter::{Counting, allocations};
use kucoin_proto::ws::channels::{
    self, ChannelMessage, ChannelSpec, FuturesExecutionChannel, FuturesTickerV2Channel,
    SpotAllTickersChannel, SpotTickerChannel, SpotTradeChannel,
};
use kucoin_proto::{FuturesSymbol, SpotSymbol};

#[global_allocator]
static GLOBAL: Counting = Counting;

const FRAMES: [&str; 6] = [
    r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"sequence":"1545896668986","price":"0.08","size":"0.011","bestAsk":"0.08","bestAskSize":"0.18","bestBid":"0.049","bestBidSize":"0.036","Time":1704873323416}}"#,
    r#"{"topic":"/market/ticker:all","type":"message","subject":"BTC-USDT","data":{"bestAsk":"67218.7","bestAskSize":"1.92318539","bestBid":"67218.6","bestBidSize":"0.01045638","price":"67220","sequence":"14691455768","size":"0.00004316","time":1729757723612}}"#,
    r#"{"topic":"/market/match:BTC-USDT","type":"message","subject":"trade.l3match","data":{"makerOrderId":"671b5007389355000701b1d3","price":"67523","sequence":"11067996711960577","side":"buy","size":"0.003","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c168d","time":"1729843222921000000","tradeId":"11067996711960577","type":"match"}}"#,
    r#"{"topic":"/contractMarket/tickerV2:XBTUSDTM","type":"message","subject":"tickerV2","sn":1709284589209,"data":{"symbol":"XBTUSDTM","sequence":1709284589209,"bestBidSize":713,"bestBidPrice":"88987.4","bestAskPrice":"88987.5","bestAskSize":1037,"ts":1731665526461000000}}"#,
    r#"{"topic":"/contractMarket/ticker:XBTUSDTM","type":"message","subject":"ticker","sn":1793133570931,"data":{"symbol":"XBTUSDTM","sequence":1793133570931,"side":"sell","size":1,"price":"90147.7","bestBidSize":2186,"bestBidPrice":"90147.7","bestAskPrice":"90147.8","tradeId":"1793133570931","bestAskSize":275,"ts":1731679215637000000}}"#,
    r#"{"topic":"/contractMarket/execution:XBTUSDTM","type":"message","subject":"match","sn":1794100537695,"data":{"symbol":"XBTUSDTM","sequence":1794100537695,"side":"buy","size":2,"price":"90503.9","takerOrderId":"247822202957807616","makerOrderId":"247822167163555840","tradeId":"1794100537695","ts":1731898619520000000}}"#,
];

#[test]
fn busiest_channels_decode_without_allocating() {
    let mut seen = 0u64;
    let (allocs, ()) = allocations(|| {
        for _ in 0..1000 {
            for frame in FRAMES {
                let Ok(Some(message)) = channels::parse_message(frame) else {
                    panic!("not a message: {frame}");
                };
                let Ok(decoded) = channels::decode_message(&message) else {
                    panic!("not decoded: {frame}");
                };
                seen = seen.wrapping_add(
                    match decoded.message {
                        ChannelMessage::SpotTicker(t) => t.time,
                        ChannelMessage::SpotTrade(t) => t.time + t.symbol.len() as u64,
                        ChannelMessage::FuturesTickerV2(t) => t.ts + t.symbol.len() as u64,
                        ChannelMessage::FuturesTicker(t) => t.ts + t.trade_id.len() as u64,
                        ChannelMessage::FuturesExecution(t) => t.ts + t.trade_id.len() as u64,
                        other => panic!("unexpected {other:?}"),
                    } % 1000,
                );
            }
        }
    });
    assert!(seen > 0);
    assert_eq!(allocs, 0, "ticker and trade messages must not allocate");
    // The counter does count: a message with an escaped string owns a copy.
    let escaped = r#"{"price":"1","side":"buy","size":"1","symbol":"BTC\u002dUSDT","time":1}"#;
    let (allocs, _) = allocations(|| {
        channels::decode("/market/match:BTC-USDT", "trade.l3match", escaped).map(|d| d.kind)
    });
    assert!(allocs > 0);
}

#[test]
fn typed_subscriptions_filter_and_decode_without_allocating() {
    let btc = SpotSymbol::new("BTC-USDT").unwrap();
    let eth = SpotSymbol::new("ETH-USDT").unwrap();
    let xbt = FuturesSymbol::new("XBTUSDTM").unwrap();
    let tickers = SpotTickerChannel {
        symbols: vec![eth.clone(), btc.clone()],
    };
    let trades = SpotTradeChannel {
        symbols: vec![btc, eth],
    };
    let futures_tickers = FuturesTickerV2Channel {
        symbol: xbt.clone(),
    };
    let executions = FuturesExecutionChannel { symbol: xbt };
    let mut counts = [0u32; 5];
    let (allocs, ()) = allocations(|| {
        for _ in 0..1000 {
            for frame in FRAMES {
                let Ok(Some(m)) = channels::parse_message(frame) else {
                    panic!("not a message: {frame}");
                };
                if let Some(t) = tickers.decode_message(&m) {
                    assert!(t.is_ok());
                    counts[0] += 1;
                }
                if let Some(t) = SpotAllTickersChannel.decode_message(&m) {
                    assert!(t.is_ok());
                    counts[1] += 1;
                }
                if let Some(t) = trades.decode_message(&m) {
                    assert!(t.is_ok_and(|t| t.symbol == "BTC-USDT"));
                    counts[2] += 1;
                }
                if let Some(t) = futures_tickers.decode_message(&m) {
                    assert!(t.is_ok_and(|t| t.symbol == "XBTUSDTM"));
                    counts[3] += 1;
                }
                if let Some(t) = executions.decode_message(&m) {
                    assert!(t.is_ok());
                    counts[4] += 1;
                }
            }
        }
    });
    assert_eq!(allocs, 0, "typed subscriptions must not allocate");
    // Each subscription took exactly its own frames.
    assert_eq!(counts, [1000; 5]);
}
