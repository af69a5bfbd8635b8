//! KuCoin wire text for level-2 messages, depth5, ticker and REST snapshots.

use std::fmt::Write as _;

use crate::Market;
use crate::SymbolSpec;
use crate::book::{Book, Side, Update, fmt_decimal};

/// One level-2 message: spot `trade.l2update` (all changes) or futures `level2` (first change).
pub(crate) fn level2(market: Market, spec: &SymbolSpec, update: &Update) -> String {
    let price = |p| fmt_decimal(p, spec.price_decimals);
    let size = |s| fmt_decimal(s, spec.size_decimals);
    let sym = &spec.symbol;
    match market {
        Market::Spot => {
            let mut asks = String::new();
            let mut bids = String::new();
            for change in &update.changes {
                let out = match change.side {
                    Side::Ask => &mut asks,
                    Side::Bid => &mut bids,
                };
                if !out.is_empty() {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "[\"{}\",\"{}\",\"{}\"]",
                    price(change.price),
                    size(change.size),
                    change.seq
                );
            }
            format!(
                "{{\"topic\":\"/market/level2:{sym}\",\"type\":\"message\",\"subject\":\"trade.l2update\",\
                 \"data\":{{\"changes\":{{\"asks\":[{asks}],\"bids\":[{bids}]}},\"sequenceEnd\":{},\
                 \"sequenceStart\":{},\"symbol\":\"{sym}\",\"time\":{}}}}}",
                update.seq_end, update.seq_start, update.time_ms
            )
        }
        Market::Futures => {
            let mut text = String::new();
            for change in &update.changes {
                let side = match change.side {
                    Side::Bid => "buy",
                    Side::Ask => "sell",
                };
                if !text.is_empty() {
                    text.push('\n');
                }
                let _ = write!(
                    text,
                    "{{\"topic\":\"/contractMarket/level2:{sym}\",\"type\":\"message\",\"subject\":\"level2\",\
                     \"sn\":{seq},\"data\":{{\"sequence\":{seq},\"change\":\"{},{side},{}\",\"timestamp\":{}}}}}",
                    price(change.price),
                    size(change.size),
                    update.time_ms,
                    seq = change.seq,
                );
            }
            text
        }
    }
}

fn levels_text(
    book: &Book,
    levels: &[(u64, u64)],
    price_quoted: bool,
    size_quoted: bool,
) -> String {
    let q = |quoted: bool, text: String| if quoted { format!("\"{text}\"") } else { text };
    let items: Vec<String> = levels
        .iter()
        .map(|(p, s)| {
            format!(
                "[{},{}]",
                q(price_quoted, book.price_text(*p)),
                q(size_quoted, book.size_text(*s))
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// `/spotMarket/level2Depth5` or `/contractMarket/level2Depth5` message from the true book.
pub(crate) fn depth5(market: Market, book: &Book, time_ms: u64) -> String {
    let (bids, asks) = book.levels(5);
    let sym = &book.spec.symbol;
    match market {
        Market::Spot => format!(
            "{{\"topic\":\"/spotMarket/level2Depth5:{sym}\",\"type\":\"message\",\"subject\":\"level2\",\
             \"data\":{{\"asks\":{},\"bids\":{},\"timestamp\":{time_ms}}}}}",
            levels_text(book, &asks, true, true),
            levels_text(book, &bids, true, true),
        ),
        Market::Futures => format!(
            "{{\"topic\":\"/contractMarket/level2Depth5:{sym}\",\"type\":\"message\",\"subject\":\"level2\",\
             \"sn\":{time_ms},\"data\":{{\"bids\":{},\"sequence\":{},\"timestamp\":{time_ms},\"ts\":{time_ms},\
             \"asks\":{}}}}}",
            levels_text(book, &bids, true, false),
            book.sequence,
            levels_text(book, &asks, true, false),
        ),
    }
}

/// Spot `/market/ticker` or futures `/contractMarket/tickerV2` message from the true book.
pub(crate) fn ticker(market: Market, book: &Book, time_ms: u64) -> String {
    let (bids, asks) = book.levels(1);
    let (bid, bid_size) = bids.first().copied().unwrap_or((0, 0));
    let (ask, ask_size) = asks.first().copied().unwrap_or((0, 0));
    let sym = &book.spec.symbol;
    let p = |v| book.price_text(v);
    let s = |v| book.size_text(v);
    match market {
        Market::Spot => format!(
            "{{\"type\":\"message\",\"topic\":\"/market/ticker:{sym}\",\"subject\":\"trade.ticker\",\
             \"data\":{{\"sequence\":\"{}\",\"price\":\"{}\",\"size\":\"{}\",\"bestAsk\":\"{}\",\
             \"bestAskSize\":\"{}\",\"bestBid\":\"{}\",\"bestBidSize\":\"{}\",\"time\":{time_ms}}}}}",
            book.sequence,
            p(book.last_price),
            s(book.last_size),
            p(ask),
            s(ask_size),
            p(bid),
            s(bid_size),
        ),
        Market::Futures => format!(
            "{{\"topic\":\"/contractMarket/tickerV2:{sym}\",\"type\":\"message\",\"subject\":\"tickerV2\",\
             \"sn\":{seq},\"data\":{{\"symbol\":\"{sym}\",\"sequence\":{seq},\"bestBidSize\":{},\
             \"bestBidPrice\":\"{}\",\"bestAskPrice\":\"{}\",\"bestAskSize\":{},\"ts\":{}}}}}",
            s(bid_size),
            p(bid),
            p(ask),
            s(ask_size),
            time_ms.saturating_mul(1_000_000),
            seq = book.sequence,
        ),
    }
}

/// REST snapshot body: spot strings (`sequence` a string) or futures numbers (`ts` in ns).
pub(crate) fn snapshot(market: Market, book: &Book, depth: usize, time_ms: u64) -> String {
    let (bids, asks) = book.levels(depth);
    match market {
        Market::Spot => format!(
            "{{\"code\":\"200000\",\"data\":{{\"time\":{time_ms},\"sequence\":\"{}\",\"bids\":{},\"asks\":{}}}}}",
            book.sequence,
            levels_text(book, &bids, true, true),
            levels_text(book, &asks, true, true),
        ),
        Market::Futures => format!(
            "{{\"code\":\"200000\",\"data\":{{\"sequence\":{},\"symbol\":\"{}\",\"bids\":{},\"asks\":{},\"ts\":{}}}}}",
            book.sequence,
            book.spec.symbol,
            levels_text(book, &bids, false, false),
            levels_text(book, &asks, false, false),
            time_ms.saturating_mul(1_000_000),
        ),
    }
}
