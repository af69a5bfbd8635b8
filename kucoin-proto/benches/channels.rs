//! Typed channel decoding against `serde_json::Value` on the same frames.
//!
//! Per group (spot ticker, spot trade, futures tickerV2, futures execution), 1,000 frames in
//! KuCoin's shape with varying numbers:
//! - `typed`: `channels::parse_message` + `channels::decode_message` (header scan, routing, typed
//!   exact decimals, borrowed strings; no allocation);
//! - `serde_value`: `serde_json::from_str::<serde_json::Value>` of the whole frame;
//! - `typed_data`: `channels::decode_as` on the `data` text alone (the channel decoder without
//!   the frame scan);
//! - `serde_struct_data`: `serde_json::from_str` of the `data` text into the same message type
//!   (what the decoder does without its fast path).
//!
//! `cargo bench -p kucoin-proto --bench channels -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kucoin_proto::ws::channels::{
    self, ChannelKind, ChannelMessage, FuturesExecution, FuturesTickerV2, SpotTicker, SpotTrade,
};
use serde::Deserialize;

const N: u64 = 1000;

fn spot_tickers() -> Vec<String> {
    (0..N)
        .map(|i| {
            format!(
                r#"{{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{{"sequence":"{}","price":"6722{}.{}","size":"0.000{}","bestAsk":"6721{}.7","bestAskSize":"1.923185{:02}","bestBid":"6721{}.6","bestBidSize":"0.010456{:02}","time":{}}}}}"#,
                14_691_455_768 + i,
                i % 10,
                i % 97,
                4316 + i,
                i % 10,
                i % 100,
                i % 10,
                (i * 7) % 100,
                1_729_757_723_612 + i
            )
        })
        .collect()
}

fn spot_trades() -> Vec<String> {
    (0..N)
        .map(|i| {
            format!(
                r#"{{"topic":"/market/match:BTC-USDT","type":"message","subject":"trade.l3match","data":{{"makerOrderId":"671b5007389355000701{:04x}","price":"675{:02}.{}","sequence":"{}","side":"{}","size":"0.00{}","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c{:04x}","time":"{}","tradeId":"{}","type":"match"}}}}"#,
                i,
                i % 100,
                i % 9,
                11_067_996_711_960_577 + i,
                if i % 3 == 0 { "sell" } else { "buy" },
                3 + i,
                i * 3,
                1_729_843_222_921_000_000 + i * 1_000,
                11_067_996_711_960_577 + i
            )
        })
        .collect()
}

fn futures_tickers() -> Vec<String> {
    (0..N)
        .map(|i| {
            format!(
                r#"{{"topic":"/contractMarket/tickerV2:XBTUSDTM","type":"message","subject":"tickerV2","sn":{},"data":{{"symbol":"XBTUSDTM","sequence":{},"bestBidSize":{},"bestBidPrice":"8898{}.4","bestAskPrice":"8898{}.5","bestAskSize":{},"ts":{}}}}}"#,
                1_709_284_589_209 + i,
                1_709_284_589_209 + i,
                700 + i,
                i % 10,
                i % 10,
                1000 + i,
                1_731_665_526_461_000_000 + i * 1_000
            )
        })
        .collect()
}

fn futures_executions() -> Vec<String> {
    (0..N)
        .map(|i| {
            format!(
                r#"{{"topic":"/contractMarket/execution:XBTUSDTM","type":"message","subject":"match","sn":{},"data":{{"symbol":"XBTUSDTM","sequence":{},"side":"{}","size":{},"price":"9050{}.9","takerOrderId":"2478222029578{:05}","makerOrderId":"2478221671635{:05}","tradeId":"{}","ts":{}}}}}"#,
                1_794_100_537_695 + i,
                1_794_100_537_695 + i,
                if i % 2 == 0 { "buy" } else { "sell" },
                1 + i % 50,
                i % 10,
                i,
                i * 2,
                1_794_100_537_695 + i,
                1_731_898_619_520_000_000 + i * 1_000
            )
        })
        .collect()
}

fn typed(frames: &[String]) -> u64 {
    let mut acc = 0u64;
    for f in frames {
        let m = channels::parse_message(f).unwrap().unwrap();
        let d = channels::decode_message(&m).unwrap();
        acc = acc.wrapping_add(match d.message {
            ChannelMessage::SpotTicker(t) => t.time,
            ChannelMessage::SpotTrade(t) => t.time,
            ChannelMessage::FuturesTickerV2(t) => t.ts,
            ChannelMessage::FuturesExecution(t) => t.ts,
            _ => 0,
        });
    }
    acc
}

fn value(frames: &[String]) -> usize {
    let mut acc = 0usize;
    for f in frames {
        let v: serde_json::Value = serde_json::from_str(f).unwrap();
        acc = acc.wrapping_add(v.as_object().map_or(0, serde_json::Map::len));
    }
    acc
}

/// The `data` text of each frame.
fn data_of(frames: &[String]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            let m = channels::parse_message(f).unwrap().unwrap();
            m.data_str().unwrap().to_owned()
        })
        .collect()
}

fn typed_data(kind: ChannelKind, data: &[String]) -> usize {
    let mut acc = 0usize;
    for d in data {
        let m = channels::decode_as(kind, "", d).unwrap();
        acc = acc.wrapping_add(matches!(m.message, ChannelMessage::SpotTicker(_)) as usize);
    }
    acc
}

fn serde_struct<'a, T: Deserialize<'a>>(data: &'a [String]) -> usize {
    let mut acc = 0usize;
    for d in data {
        let m: T = serde_json::from_str(d).unwrap();
        acc = acc.wrapping_add(std::mem::size_of_val(&m));
    }
    acc
}

fn serde_ticker(d: &[String]) -> usize {
    serde_struct::<SpotTicker>(d)
}
fn serde_trade(d: &[String]) -> usize {
    serde_struct::<SpotTrade<'_>>(d)
}
fn serde_ticker_v2(d: &[String]) -> usize {
    serde_struct::<FuturesTickerV2<'_>>(d)
}
fn serde_execution(d: &[String]) -> usize {
    serde_struct::<FuturesExecution<'_>>(d)
}

fn bench(c: &mut Criterion) {
    type Struct = fn(&[String]) -> usize;
    let groups: [(&str, ChannelKind, Vec<String>, Struct); 4] = [
        (
            "spot_ticker",
            ChannelKind::SpotTicker,
            spot_tickers(),
            serde_ticker,
        ),
        (
            "spot_trade",
            ChannelKind::SpotTrade,
            spot_trades(),
            serde_trade,
        ),
        (
            "futures_tickerV2",
            ChannelKind::FuturesTickerV2,
            futures_tickers(),
            serde_ticker_v2,
        ),
        (
            "futures_execution",
            ChannelKind::FuturesExecution,
            futures_executions(),
            serde_execution,
        ),
    ];
    for (name, kind, frames, by_serde) in groups {
        assert_ne!(typed(&frames), 0, "{name}: frames decode");
        let data = data_of(&frames);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(N));
        g.bench_function("typed", |b| b.iter(|| typed(black_box(&frames))));
        g.bench_function("serde_value", |b| b.iter(|| value(black_box(&frames))));
        g.bench_function("typed_data", |b| {
            b.iter(|| typed_data(kind, black_box(&data)))
        });
        g.bench_function("serde_struct_data", |b| {
            b.iter(|| by_serde(black_box(&data)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
