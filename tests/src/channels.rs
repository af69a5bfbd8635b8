//! Every other public channel, served from the market state.
//!
//! Level 2, depth5 and tickers have their own renderers (`render.rs`). Any other public channel a
//! client subscribes to (trades, level 1, depth50, klines, all tickers, symbol and market
//! snapshots, call-auction data, margin mark and index prices, futures ticker V1, executions,
//! instrument, 24-hour snapshot, klines, depth50) is rendered on every tick from the true book, in
//! the shape of KuCoin's own example message of that channel (kept in the repository): the example
//! is the template, and every field that carries market state (symbol, prices, sizes, levels,
//! sequence, times, candles) is replaced by the book's value, as a JSON string or a JSON number
//! exactly where KuCoin's example has one. Futures funding announcements stay scripted.
//!
//! The rendering is the fake's own: it does not use `kucoin-proto`'s decoders, so a client that
//! decodes these frames is checked against KuCoin's shapes, not against itself.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Market;
use crate::book::Book;

/// A public channel rendered from state: its topic prefix, its example message, and how the part
/// after `:` names the symbol.
struct Channel {
    prefix: &'static str,
    market: Market,
    example: &'static str,
    param: Param,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Param {
    /// `prefix:SYMBOL`.
    Symbol,
    /// `prefix:SYMBOL_interval`.
    SymbolInterval,
    /// `/market/ticker:all`: every symbol, the symbol in `subject`.
    All,
    /// `prefix:MARKET`: every symbol quoted in that market (a symbol name works too).
    Market,
}

macro_rules! example {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../kucoin-proto/tests/data/ws-channels/",
            $name,
            ".json"
        ))
    };
}

const CHANNELS: &[Channel] = &[
    Channel {
        prefix: "/market/match",
        market: Market::Spot,
        example: example!("spot.trade"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/spotMarket/level1",
        market: Market::Spot,
        example: example!("spot.orderbookLevel1"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/spotMarket/level2Depth50",
        market: Market::Spot,
        example: example!("spot.orderbookLevel50"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/market/candles",
        market: Market::Spot,
        example: example!("spot.klines"),
        param: Param::SymbolInterval,
    },
    Channel {
        prefix: "/market/ticker",
        market: Market::Spot,
        example: example!("spot.allTickers"),
        param: Param::All,
    },
    Channel {
        prefix: "/market/snapshot",
        market: Market::Spot,
        example: example!("spot.symbolSnapshot"),
        param: Param::Market,
    },
    Channel {
        prefix: "/callauction/callauctionData",
        market: Market::Spot,
        example: example!("spot.callAuctionInfo"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/callauction/level2Depth50",
        market: Market::Spot,
        example: example!("spot.callAuctionOrderbookLevel50"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/indicator/markPrice",
        market: Market::Spot,
        example: example!("margin.markPrice"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/indicator/index",
        market: Market::Spot,
        example: example!("margin.indexPrice"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contractMarket/ticker",
        market: Market::Futures,
        example: example!("futures.tickerV1"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contractMarket/level2Depth50",
        market: Market::Futures,
        example: example!("futures.orderbookLevel50"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contractMarket/execution",
        market: Market::Futures,
        example: example!("futures.execution"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contract/instrument",
        market: Market::Futures,
        example: example!("futures.instrument"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contractMarket/snapshot",
        market: Market::Futures,
        example: example!("futures.symbolSnapshot"),
        param: Param::Symbol,
    },
    Channel {
        prefix: "/contractMarket/limitCandle",
        market: Market::Futures,
        example: example!("futures.klines"),
        param: Param::SymbolInterval,
    },
];

/// A followed topic rendered from state for one symbol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rendered {
    /// The topic as subscribed (the key the connections hold).
    pub topic: String,
    /// The `subject` to write (`None`: the example's).
    pub subject: Option<String>,
    channel: usize,
}

/// The symbols each followed topic is about: symbol -> topics to render for it, from the
/// scripted topics of every live connection. Topics of no listed symbol are left out.
pub(crate) fn followed<'a>(
    market: Market,
    topics: impl Iterator<Item = &'a str>,
    symbols: &[String],
) -> BTreeMap<String, Vec<Rendered>> {
    let mut out: BTreeMap<String, Vec<Rendered>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for topic in topics {
        if !seen.insert(topic) {
            continue;
        }
        let Some((prefix, param)) = topic.split_once(':') else {
            continue;
        };
        let Some((index, channel)) = CHANNELS
            .iter()
            .enumerate()
            .find(|(_, c)| c.prefix == prefix && c.market == market)
        else {
            continue;
        };
        let mut add = |symbol: &str, subject: Option<String>| {
            out.entry(symbol.to_owned()).or_default().push(Rendered {
                topic: topic.to_owned(),
                subject,
                channel: index,
            });
        };
        match channel.param {
            Param::Symbol => {
                if symbols.iter().any(|s| s == param) {
                    add(param, None);
                }
            }
            Param::SymbolInterval => {
                if let Some((symbol, _)) = param.rsplit_once('_')
                    && symbols.iter().any(|s| s == symbol)
                {
                    add(symbol, None);
                }
            }
            Param::All => {
                if param == "all" {
                    for s in symbols {
                        add(s, Some(s.clone()));
                    }
                }
            }
            Param::Market => {
                for s in symbols {
                    let quote = s.rsplit_once('-').map(|(_, q)| q);
                    if s == param || quote == Some(param) {
                        add(s, None);
                    }
                }
            }
        }
    }
    out
}

/// Whether a topic is one this module renders from state (so it is not only scripted).
pub(crate) fn is_rendered(market: Market, topic: &str) -> bool {
    topic.split_once(':').is_some_and(|(prefix, param)| {
        CHANNELS.iter().any(|c| {
            c.prefix == prefix && c.market == market && (c.param != Param::All || param == "all")
        })
    })
}

/// The frame of `r` for `book` at `now_ms`.
pub(crate) fn render(r: &Rendered, book: &Book, now_ms: u64) -> String {
    let Some(channel) = CHANNELS.get(r.channel) else {
        return String::new();
    };
    let Ok(mut frame) = serde_json::from_str::<Value>(channel.example) else {
        return String::new();
    };
    let state = State::of(book, now_ms, &r.topic);
    if let Value::Object(top) = &mut frame {
        top.insert("topic".to_owned(), Value::String(r.topic.clone()));
        if let Some(subject) = &r.subject {
            top.insert("subject".to_owned(), Value::String(subject.clone()));
        }
        if top.contains_key("sn") {
            put(top.get_mut("sn"), book.sequence.to_string());
        }
        if let Some(data) = top.get_mut("data") {
            state.fill(data);
        }
    }
    let text = serde_json::to_string(&frame).unwrap_or_default();
    // Numbers were written as marked strings (exact decimal text, never through f64).
    text.replace(concat!("\"", "\\u0001"), "")
        .replace(concat!("\\u0001", "\""), "")
}

/// The market state a frame is filled from, as text.
struct State {
    symbol: String,
    bid: String,
    bid_size: String,
    ask: String,
    ask_size: String,
    last: String,
    last_size: String,
    turnover: String,
    sequence: u64,
    now_ms: u64,
    bids: Vec<(String, String)>,
    asks: Vec<(String, String)>,
}

impl State {
    fn of(book: &Book, now_ms: u64, topic: &str) -> Self {
        let depth = if topic.contains("Depth50") { 50 } else { 1 };
        let (bids, asks) = book.levels(depth);
        let text = |levels: &[(u64, u64)]| {
            levels
                .iter()
                .map(|&(p, s)| (book.price_text(p), book.size_text(s)))
                .collect::<Vec<_>>()
        };
        let (bids, asks) = (text(&bids), text(&asks));
        let best = |side: &[(String, String)]| side.first().cloned().unwrap_or_default();
        let (bid, bid_size) = best(&bids);
        let (ask, ask_size) = best(&asks);
        let spec = &book.spec;
        let turnover = u128::from(book.last_price) * u128::from(book.last_size);
        Self {
            symbol: spec.symbol.clone(),
            bid,
            bid_size,
            ask,
            ask_size,
            last: book.price_text(book.last_price),
            last_size: book.size_text(book.last_size),
            turnover: fmt_u128(turnover, spec.price_decimals + spec.size_decimals),
            sequence: book.sequence,
            now_ms,
            bids,
            asks,
        }
    }

    /// Replaces the state-carrying fields of an example's `data`, recursively.
    fn fill(&self, data: &mut Value) {
        let Value::Object(map) = data else {
            return;
        };
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let value = map.get_mut(&key);
            match key.as_str() {
                "symbol" | "symbolCode" => put(value, self.symbol.clone()),
                "baseCurrency" => put(value, self.currency(0)),
                "quoteCurrency" => put(value, self.currency(1)),
                "bestBid" | "bestBidPrice" | "buy" => put(value, self.bid.clone()),
                "bestAsk" | "bestAskPrice" | "sell" => put(value, self.ask.clone()),
                "bestBidSize" | "bidSize" => put(value, self.bid_size.clone()),
                "bestAskSize" | "askSize" => put(value, self.ask_size.clone()),
                "price"
                | "lastTradedPrice"
                | "lastPrice"
                | "close"
                | "open"
                | "high"
                | "low"
                | "highPrice"
                | "lowPrice"
                | "price24HoursBefore"
                | "averagePrice"
                | "markPrice"
                | "indexPrice"
                | "value"
                | "estimatedPrice"
                | "sellOrderRangeLowPrice"
                | "sellOrderRangeHighPrice"
                | "buyOrderRangeLowPrice"
                | "buyOrderRangeHighPrice" => {
                    put(value, self.last.clone());
                }
                "size" | "estimatedSize" | "vol" | "volume" => put(value, self.last_size.clone()),
                "volValue" | "turnover" => put(value, self.turnover.clone()),
                "changePrice" | "changeRate" | "priceChg" | "priceChgPct" => {
                    put(value, "0".to_owned());
                }
                "fundingRate" => put(value, "0.0001".to_owned()),
                "sequence" | "tradeId" => put(value, self.sequence.to_string()),
                "side" => put(
                    value,
                    if self.sequence.is_multiple_of(2) {
                        "buy"
                    } else {
                        "sell"
                    }
                    .to_owned(),
                ),
                "time" | "ts" | "timestamp" | "datetime" | "fundingTime" => {
                    if let Some(v) = value {
                        let text = self.time_like(v);
                        put(Some(v), text);
                    }
                }
                "bids" => self.levels(value, &self.bids),
                "asks" => self.levels(value, &self.asks),
                "candles" => self.candles(value),
                _ => {
                    if let Some(v @ Value::Object(_)) = value {
                        self.fill(v);
                    }
                }
            }
        }
    }

    /// Base (0) or quote (1) currency of a spot symbol.
    fn currency(&self, part: usize) -> String {
        self.symbol
            .split('-')
            .nth(part)
            .unwrap_or(&self.symbol)
            .to_owned()
    }

    /// Now, in the unit the example's value is in (seconds, milliseconds or nanoseconds).
    fn time_like(&self, v: &Value) -> String {
        let n = match v {
            Value::Number(n) => n.as_u64().unwrap_or(0),
            Value::String(s) => s.parse().unwrap_or(0),
            _ => 0,
        };
        let now = u128::from(self.now_ms);
        let t = if n >= 100_000_000_000_000_000 {
            now * 1_000_000
        } else if n >= 100_000_000_000_000 {
            now * 1_000
        } else if n >= 100_000_000_000 {
            now
        } else {
            now / 1_000
        };
        t.to_string()
    }

    /// A side's levels: `[price, size]` (level 1) or `[[price, size], ...]`, each element a
    /// string or a number as in the example.
    fn levels(&self, value: Option<&mut Value>, levels: &[(String, String)]) {
        let Some(Value::Array(items)) = value else {
            return;
        };
        match items.first().cloned() {
            Some(Value::Array(first)) => {
                let template = |i: usize| first.get(i).cloned().unwrap_or(Value::Null);
                *items = levels
                    .iter()
                    .map(|(p, s)| {
                        let mut price = template(0);
                        let mut size = template(1);
                        put(Some(&mut price), p.clone());
                        put(Some(&mut size), s.clone());
                        Value::Array(vec![price, size])
                    })
                    .collect();
            }
            Some(_) if items.len() == 2 => {
                let (p, s) = levels.first().cloned().unwrap_or_default();
                if let [price, size] = items.as_mut_slice() {
                    put(Some(price), p);
                    put(Some(size), s);
                }
            }
            _ => {}
        }
    }

    /// `[start, open, close, high, low, volume, turnover]`, start in seconds.
    fn candles(&self, value: Option<&mut Value>) {
        let Some(Value::Array(items)) = value else {
            return;
        };
        let start = self.now_ms / 60_000 * 60;
        let texts = [
            start.to_string(),
            self.last.clone(),
            self.last.clone(),
            self.last.clone(),
            self.last.clone(),
            self.last_size.clone(),
            self.turnover.clone(),
        ];
        for (item, text) in items.iter_mut().zip(texts) {
            put(Some(item), text);
        }
    }
}

/// Writes decimal text where `slot` is: as a string, or as a number where the example has one.
fn put(slot: Option<&mut Value>, text: String) {
    let Some(slot) = slot else {
        return;
    };
    *slot = match slot {
        Value::Number(_) => Value::String(format!("\u{1}{text}\u{1}")),
        _ => Value::String(text),
    };
}

/// `value / 10^scale` as canonical decimal text.
fn fmt_u128(value: u128, scale: u32) -> String {
    let digits = value.to_string();
    let scale = scale as usize;
    if scale == 0 {
        return digits;
    }
    if digits.len() <= scale {
        let frac = format!("{digits:0>scale$}");
        let frac = frac.trim_end_matches('0');
        return if frac.is_empty() {
            "0".to_owned()
        } else {
            format!("0.{frac}")
        };
    }
    let (int, frac) = digits.split_at(digits.len() - scale);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

/// A `data` object's keys, for tests of this module.
#[cfg(test)]
fn keys_of(v: &Value) -> Vec<String> {
    v.as_object()
        .map(serde_json::Map::keys)
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SymbolSpec;

    fn spot_book() -> Book {
        Book::new(SymbolSpec::spot("BTC-USDT"), 7)
    }

    fn futures_book() -> Book {
        Book::new(SymbolSpec::futures("XBTUSDTM"), 7)
    }

    fn frame(market: Market, topic: &str, book: &Book) -> Value {
        let symbols = vec![book.spec.symbol.clone()];
        let followed = followed(market, [topic].into_iter(), &symbols);
        let r = &followed[&book.spec.symbol][0];
        let text = render(r, book, 1_729_843_222_921);
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_channel_renders_the_books_state_in_its_examples_shape() {
        let spot = spot_book();
        let futures = futures_book();
        for c in CHANNELS {
            let (book, param) = match (c.market, c.param) {
                (Market::Spot, Param::SymbolInterval) => (&spot, "BTC-USDT_1hour"),
                (Market::Futures, Param::SymbolInterval) => (&futures, "XBTUSDTM_1min"),
                (Market::Spot, Param::All) => (&spot, "all"),
                (Market::Spot, Param::Market) => (&spot, "USDT"),
                (Market::Spot, _) => (&spot, "BTC-USDT"),
                (Market::Futures, _) => (&futures, "XBTUSDTM"),
            };
            let topic = format!("{}:{param}", c.prefix);
            let got = frame(c.market, &topic, book);
            let example: Value = serde_json::from_str(c.example).unwrap();
            assert_eq!(got["topic"], topic.as_str());
            // Same keys, same JSON types: KuCoin's shape.
            assert_eq!(keys_of(&got["data"]), keys_of(&example["data"]), "{topic}");
            for key in keys_of(&example["data"]) {
                let (a, b) = (&got["data"][&key], &example["data"][&key]);
                assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "{topic} {key}: {a} for {b}"
                );
            }
            let text = got.to_string();
            assert!(
                text.contains(&book.price_text(book.last_price))
                    || text.contains(&book.price_text(*book.bids.keys().next_back().unwrap())),
                "{topic} carries the book's prices: {text}"
            );
        }
    }

    #[test]
    fn levels_are_the_books_best_levels_and_numbers_stay_exact() {
        let book = futures_book();
        let got = frame(
            Market::Futures,
            "/contractMarket/level2Depth50:XBTUSDTM",
            &book,
        );
        let bids = got["data"]["bids"].as_array().unwrap();
        assert_eq!(bids.len(), 50);
        let (best, size) = book.bids.iter().next_back().unwrap();
        assert_eq!(bids[0][0], Value::String(book.price_text(*best)));
        // The example's sizes are JSON numbers: an integer number of contracts.
        assert_eq!(bids[0][1].as_u64(), Some(*size));
        let spot = spot_book();
        let l1 = frame(Market::Spot, "/spotMarket/level1:BTC-USDT", &spot);
        let (ask, ask_size) = spot.asks.iter().next().unwrap();
        assert_eq!(
            l1["data"]["asks"],
            serde_json::json!([spot.price_text(*ask), spot.size_text(*ask_size)])
        );
    }

    #[test]
    fn all_tickers_name_the_symbol_in_the_subject_and_markets_take_their_symbols() {
        let symbols = vec!["BTC-USDT".to_owned(), "ETH-BTC".to_owned()];
        let topics = [
            "/market/ticker:all",
            "/market/snapshot:BTC",
            "/market/nothing:x",
        ];
        let f = followed(Market::Spot, topics.into_iter(), &symbols);
        let btc: Vec<_> = f["BTC-USDT"].iter().map(|r| r.topic.as_str()).collect();
        assert_eq!(btc, ["/market/ticker:all"]);
        assert_eq!(f["BTC-USDT"][0].subject.as_deref(), Some("BTC-USDT"));
        let eth: Vec<_> = f["ETH-BTC"].iter().map(|r| r.topic.as_str()).collect();
        assert_eq!(eth, ["/market/ticker:all", "/market/snapshot:BTC"]);
        assert!(is_rendered(Market::Spot, "/market/ticker:all"));
        assert!(!is_rendered(Market::Spot, "/market/ticker:BTC-USDT"));
        assert!(!is_rendered(Market::Futures, "/market/match:BTC-USDT"));
    }

    #[test]
    fn turnover_is_exact() {
        assert_eq!(fmt_u128(123_456, 3), "123.456");
        assert_eq!(
            fmt_u128(u128::from(u64::MAX) * 10, 2),
            "1844674407370955161.5"
        );
        assert_eq!(fmt_u128(0, 4), "0");
        assert_eq!(fmt_u128(1_000, 3), "1");
        assert_eq!(
            fmt_u128(u128::from(u64::MAX) * 1000 + 5, 25),
            "0.0018446744073709551615005"
        );
    }
}
