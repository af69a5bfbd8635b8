//! A fast path for the busiest messages (spot tickers and trades, futures tickers and
//! executions): one pass over a flat JSON object, numbers read in place, strings borrowed.
//!
//! It only handles the plain case: a flat object whose keys and string values have no escapes
//! or control characters, with valid JSON numbers, no nested values, no duplicate fields and
//! every value of the expected type. Anything else returns `None` and the caller falls back to
//! serde, so results and errors are serde's; the `ws_channel` fuzz target checks that both agree
//! whenever the fast path answers.

use std::borrow::Cow;

use super::futures::{FuturesExecution, FuturesTicker, FuturesTickerV2};
use super::spot::{SpotTicker, SpotTrade};
use super::values::{Side, ValueSet};
use crate::num::Dec;

/// A scalar JSON value of a flat object.
#[derive(Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Num(&'a str),
    Null,
    Bool,
}

/// `text` without surrounding whitespace (`str::trim`), skipping the Unicode-aware trim when the
/// text starts and ends with ASCII that is not whitespace (the usual case).
fn trim(text: &str) -> &str {
    let b = text.as_bytes();
    let plain = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii() && !c.is_ascii_whitespace());
    if plain(b.first()) && plain(b.last()) {
        text
    } else {
        text.trim()
    }
}

/// Digits only, as a `u64` (`None` on anything else or overflow).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

impl<'a> Val<'a> {
    /// A required `u64` (`u64_lenient`): a JSON integer or a numeric string.
    fn u64(self) -> Option<u64> {
        match self {
            Val::Num(t) => digits(t),
            Val::Str(t) => digits(t).or_else(|| t.parse().ok()),
            _ => None,
        }
    }

    /// An optional `u64` (`opt_u64`): `null` and `""` are `None`. Outer `None`: fall back.
    fn opt_u64(self) -> Option<Option<u64>> {
        match self {
            Val::Null | Val::Str("") => Some(None),
            other => other.u64().map(Some),
        }
    }

    /// A required [`Dec`] (string or number).
    fn dec(self) -> Option<Dec> {
        match self {
            Val::Num(t) => Dec::parse(t).ok(),
            Val::Str(t) => Dec::parse(trim(t)).ok(),
            _ => None,
        }
    }

    /// An optional [`Dec`] (`opt_dec`): `null`, `""` are `None`. Outer `None`: fall back.
    fn opt_dec(self) -> Option<Option<Dec>> {
        match self {
            Val::Null => Some(None),
            Val::Str(t) if trim(t).is_empty() => Some(None),
            other => other.dec().map(Some),
        }
    }

    /// A borrowed string.
    fn str(self) -> Option<Cow<'a, str>> {
        match self {
            Val::Str(t) => Some(Cow::Borrowed(t)),
            _ => None,
        }
    }

    /// A required value set.
    fn value<T: ValueSet>(self) -> Option<T> {
        match self {
            Val::Str(t) => Some(T::from_text(t)),
            _ => None,
        }
    }

    /// An optional value set (`opt_value`): `null`, `""` are `None`.
    fn opt_value<T: ValueSet>(self) -> Option<Option<T>> {
        match self {
            Val::Null | Val::Str("") => Some(None),
            Val::Str(t) => Some(Some(T::from_text(t))),
            _ => None,
        }
    }
}

/// Reads the members of a flat JSON object, one at a time.
struct Flat<'a> {
    text: &'a str,
    at: usize,
    first: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Flat<'a> {
    fn new(text: &'a str) -> Option<Self> {
        let mut f = Flat {
            text,
            at: 0,
            first: true,
        };
        f.skip_ws();
        (f.byte()? == b'{').then(|| {
            f.at += 1;
            f
        })
    }

    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self.byte().is_some_and(is_ws) {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters, starting at `"`.
    fn string(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = self.at + 1;
        let len = b
            .get(start..)?
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        let end = start + len;
        if b.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// A JSON number, checked against JSON's grammar.
    fn number(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = self.at;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let digits = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == digits {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let digits = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == digits {
                return None;
            }
        }
        self.at = i;
        self.text.get(start..i)
    }

    fn literal(&mut self, word: &str, val: Val<'a>) -> Option<Val<'a>> {
        let rest = self.text.get(self.at..)?;
        rest.starts_with(word).then(|| {
            self.at += word.len();
            val
        })
    }

    /// The next member; `Some(None)` at the end of the object (only whitespace may follow);
    /// `None` when the object is not flat and plain (fall back).
    fn next(&mut self) -> Option<Option<(&'a str, Val<'a>)>> {
        self.skip_ws();
        match self.byte()? {
            b'}' => {
                self.at += 1;
                self.skip_ws();
                return (self.at == self.text.len()).then_some(None);
            }
            b',' if !self.first => {
                self.at += 1;
                self.skip_ws();
            }
            _ if self.first => {}
            _ => return None,
        }
        self.first = false;
        if self.byte()? != b'"' {
            return None;
        }
        let key = self.string()?;
        self.skip_ws();
        if self.byte()? != b':' {
            return None;
        }
        self.at += 1;
        self.skip_ws();
        let val = match self.byte()? {
            b'"' => Val::Str(self.string()?),
            b'n' => self.literal("null", Val::Null)?,
            b't' => self.literal("true", Val::Bool)?,
            b'f' => self.literal("false", Val::Bool)?,
            _ => Val::Num(self.number()?),
        };
        // A number must end at a delimiter (serde rejects `1x`).
        if !matches!(self.byte(), Some(b',' | b'}') | None) && !self.byte().is_some_and(is_ws) {
            return None;
        }
        Some(Some((key, val)))
    }
}

/// Marks field `bit` as seen; `None` (fall back) if it was already.
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let mask = 1 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

/// A spot ticker (`/market/ticker:{symbol}`, `/market/ticker:all`).
pub(crate) fn spot_ticker(data: &str) -> Option<SpotTicker> {
    let mut f = Flat::new(data)?;
    let mut seen = 0;
    let (mut sequence, mut price, mut size) = (None, None, None);
    let (mut best_ask, mut best_ask_size, mut best_bid, mut best_bid_size) =
        (None, None, None, None);
    let mut time = None;
    while let Some((key, v)) = f.next()? {
        match key {
            "sequence" => {
                once(&mut seen, 0)?;
                sequence = v.opt_u64()?;
            }
            "price" => {
                once(&mut seen, 1)?;
                price = v.opt_dec()?;
            }
            "size" => {
                once(&mut seen, 2)?;
                size = v.opt_dec()?;
            }
            "bestAsk" => {
                once(&mut seen, 3)?;
                best_ask = v.opt_dec()?;
            }
            "bestAskSize" => {
                once(&mut seen, 4)?;
                best_ask_size = v.opt_dec()?;
            }
            "bestBid" => {
                once(&mut seen, 5)?;
                best_bid = v.opt_dec()?;
            }
            "bestBidSize" => {
                once(&mut seen, 6)?;
                best_bid_size = v.opt_dec()?;
            }
            "time" | "Time" => {
                once(&mut seen, 7)?;
                time = Some(v.u64()?);
            }
            _ => {}
        }
    }
    Some(SpotTicker {
        sequence,
        price,
        size,
        best_ask,
        best_ask_size,
        best_bid,
        best_bid_size,
        time: time?,
    })
}

/// A spot trade (`/market/match:{symbol}`).
pub(crate) fn spot_trade(data: &str) -> Option<SpotTrade<'_>> {
    let mut f = Flat::new(data)?;
    let mut seen = 0;
    let (mut maker_order_id, mut taker_order_id, mut trade_id, mut kind) = (
        Cow::Borrowed(""),
        Cow::Borrowed(""),
        Cow::Borrowed(""),
        Cow::Borrowed(""),
    );
    let (mut price, mut side, mut size, mut symbol, mut time, mut sequence) =
        (None, None, None, None, None, None);
    while let Some((key, v)) = f.next()? {
        match key {
            "makerOrderId" => {
                once(&mut seen, 0)?;
                maker_order_id = v.str()?;
            }
            "price" => {
                once(&mut seen, 1)?;
                price = Some(v.dec()?);
            }
            "sequence" => {
                once(&mut seen, 2)?;
                sequence = v.opt_u64()?;
            }
            "side" => {
                once(&mut seen, 3)?;
                side = Some(v.value::<Side>()?);
            }
            "size" => {
                once(&mut seen, 4)?;
                size = Some(v.dec()?);
            }
            "symbol" => {
                once(&mut seen, 5)?;
                symbol = Some(v.str()?);
            }
            "takerOrderId" => {
                once(&mut seen, 6)?;
                taker_order_id = v.str()?;
            }
            "time" => {
                once(&mut seen, 7)?;
                time = Some(v.u64()?);
            }
            "tradeId" => {
                once(&mut seen, 8)?;
                trade_id = v.str()?;
            }
            "type" => {
                once(&mut seen, 9)?;
                kind = v.str()?;
            }
            _ => {}
        }
    }
    Some(SpotTrade {
        maker_order_id,
        price: price?,
        sequence,
        side: side?,
        size: size?,
        symbol: symbol?,
        taker_order_id,
        time: time?,
        trade_id,
        kind,
    })
}

/// A futures best bid and ask (`/contractMarket/tickerV2:{symbol}`).
pub(crate) fn futures_ticker_v2(data: &str) -> Option<FuturesTickerV2<'_>> {
    let mut f = Flat::new(data)?;
    let mut seen = 0;
    let (mut symbol, mut sequence, mut ts) = (None, None, None);
    let (mut best_bid_size, mut best_bid_price, mut best_ask_price, mut best_ask_size) =
        (None, None, None, None);
    while let Some((key, v)) = f.next()? {
        match key {
            "symbol" => {
                once(&mut seen, 0)?;
                symbol = Some(v.str()?);
            }
            "sequence" => {
                once(&mut seen, 1)?;
                sequence = Some(v.u64()?);
            }
            "bestBidSize" => {
                once(&mut seen, 2)?;
                best_bid_size = v.opt_dec()?;
            }
            "bestBidPrice" => {
                once(&mut seen, 3)?;
                best_bid_price = v.opt_dec()?;
            }
            "bestAskPrice" => {
                once(&mut seen, 4)?;
                best_ask_price = v.opt_dec()?;
            }
            "bestAskSize" => {
                once(&mut seen, 5)?;
                best_ask_size = v.opt_dec()?;
            }
            "ts" => {
                once(&mut seen, 6)?;
                ts = Some(v.u64()?);
            }
            _ => {}
        }
    }
    Some(FuturesTickerV2 {
        symbol: symbol?,
        sequence: sequence?,
        best_bid_size,
        best_bid_price,
        best_ask_price,
        best_ask_size,
        ts: ts?,
    })
}

/// A futures ticker (`/contractMarket/ticker:{symbol}`).
pub(crate) fn futures_ticker(data: &str) -> Option<FuturesTicker<'_>> {
    let mut f = Flat::new(data)?;
    let mut seen = 0;
    let (mut symbol, mut sequence, mut ts, mut side) = (None, None, None, None);
    let mut trade_id = Cow::Borrowed("");
    let (mut size, mut price) = (None, None);
    let (mut best_bid_size, mut best_bid_price, mut best_ask_price, mut best_ask_size) =
        (None, None, None, None);
    while let Some((key, v)) = f.next()? {
        match key {
            "symbol" => {
                once(&mut seen, 0)?;
                symbol = Some(v.str()?);
            }
            "sequence" => {
                once(&mut seen, 1)?;
                sequence = Some(v.u64()?);
            }
            "side" => {
                once(&mut seen, 2)?;
                side = v.opt_value::<Side>()?;
            }
            "size" => {
                once(&mut seen, 3)?;
                size = v.opt_dec()?;
            }
            "price" => {
                once(&mut seen, 4)?;
                price = v.opt_dec()?;
            }
            "bestBidSize" => {
                once(&mut seen, 5)?;
                best_bid_size = v.opt_dec()?;
            }
            "bestBidPrice" => {
                once(&mut seen, 6)?;
                best_bid_price = v.opt_dec()?;
            }
            "bestAskPrice" => {
                once(&mut seen, 7)?;
                best_ask_price = v.opt_dec()?;
            }
            "tradeId" => {
                once(&mut seen, 8)?;
                trade_id = v.str()?;
            }
            "bestAskSize" => {
                once(&mut seen, 9)?;
                best_ask_size = v.opt_dec()?;
            }
            "ts" => {
                once(&mut seen, 10)?;
                ts = Some(v.u64()?);
            }
            _ => {}
        }
    }
    Some(FuturesTicker {
        symbol: symbol?,
        sequence: sequence?,
        side,
        size,
        price,
        best_bid_size,
        best_bid_price,
        best_ask_price,
        trade_id,
        best_ask_size,
        ts: ts?,
    })
}

/// A futures trade (`/contractMarket/execution:{symbol}`).
pub(crate) fn futures_execution(data: &str) -> Option<FuturesExecution<'_>> {
    let mut f = Flat::new(data)?;
    let mut seen = 0;
    let (mut symbol, mut sequence, mut side, mut size, mut price, mut ts) =
        (None, None, None, None, None, None);
    let (mut taker_order_id, mut maker_order_id, mut trade_id) =
        (Cow::Borrowed(""), Cow::Borrowed(""), Cow::Borrowed(""));
    while let Some((key, v)) = f.next()? {
        match key {
            "symbol" => {
                once(&mut seen, 0)?;
                symbol = Some(v.str()?);
            }
            "sequence" => {
                once(&mut seen, 1)?;
                sequence = v.opt_u64()?;
            }
            "side" => {
                once(&mut seen, 2)?;
                side = Some(v.value::<Side>()?);
            }
            "size" => {
                once(&mut seen, 3)?;
                size = Some(v.dec()?);
            }
            "price" => {
                once(&mut seen, 4)?;
                price = Some(v.dec()?);
            }
            "takerOrderId" => {
                once(&mut seen, 5)?;
                taker_order_id = v.str()?;
            }
            "makerOrderId" => {
                once(&mut seen, 6)?;
                maker_order_id = v.str()?;
            }
            "tradeId" => {
                once(&mut seen, 7)?;
                trade_id = v.str()?;
            }
            "ts" => {
                once(&mut seen, 8)?;
                ts = Some(v.u64()?);
            }
            _ => {}
        }
    }
    Some(FuturesExecution {
        symbol: symbol?,
        sequence,
        side: side?,
        size: size?,
        price: price?,
        taker_order_id,
        maker_order_id,
        trade_id,
        ts: ts?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{ChannelKind, fast_decode, serde_decode};

    const TICKER: &str = r#"{"sequence":"1545896668986","price":"0.08","size":"0.011","bestAsk":"0.08","bestAskSize":"0.18","bestBid":"0.049","bestBidSize":"0.036","Time":1704873323416}"#;
    const TRADE: &str = r#"{"makerOrderId":"671b5007389355000701b1d3","price":"67523","sequence":"11067996711960577","side":"buy","size":"0.003","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c168d","time":"1729843222921000000","tradeId":"11067996711960577","type":"match"}"#;
    const TICKER_V2: &str = r#"{"symbol":"XBTUSDTM","sequence":1709284589209,"bestBidSize":713,"bestBidPrice":"88987.4","bestAskPrice":"88987.5","bestAskSize":1037,"ts":1731665526461000000}"#;
    const TICKER_V1: &str = r#"{"symbol":"XBTUSDTM","sequence":1793133570931,"side":"sell","size":1,"price":"90147.7","bestBidSize":2186,"bestBidPrice":"90147.7","bestAskPrice":"90147.8","tradeId":"1793133570931","bestAskSize":275,"ts":1731679215637000000}"#;
    const EXECUTION: &str = r#"{"symbol":"XBTUSDTM","sequence":1794100537695,"side":"buy","size":2,"price":"90503.9","takerOrderId":"247822202957807616","makerOrderId":"247822167163555840","tradeId":"1794100537695","ts":1731898619520000000}"#;

    fn same(kind: ChannelKind, data: &str) -> bool {
        let fast = fast_decode(kind, data);
        let serde = serde_decode(kind, data).unwrap();
        if let Some(f) = &fast {
            assert_eq!(Ok(f), serde.as_ref(), "{kind} {data}");
        }
        fast.is_some()
    }

    #[test]
    fn the_fast_path_reads_kucoin_examples_as_serde_does() {
        for (kind, data) in [
            (ChannelKind::SpotTicker, TICKER),
            (ChannelKind::SpotAllTickers, TICKER),
            (ChannelKind::SpotTrade, TRADE),
            (ChannelKind::FuturesTickerV2, TICKER_V2),
            (ChannelKind::FuturesTicker, TICKER_V1),
            (ChannelKind::FuturesExecution, EXECUTION),
        ] {
            assert!(same(kind, data), "{kind}: the fast path declined");
            let spaced = data.replace(',', " ,\n ").replace(':', " :\t");
            assert!(same(kind, &format!(" {spaced} ")), "{kind}: whitespace");
        }
        // Quirks it handles itself: nulls, "", exponents, negatives, unknown scalar fields.
        for data in [
            r#"{"price":null,"size":"","bestAsk":2.4985e-5,"bestBid":"-1","x":true,"y":null,"time":"1"}"#,
            r#"{"time":18446744073709551615}"#,
        ] {
            assert!(same(ChannelKind::SpotTicker, data), "{data}");
        }
    }

    #[test]
    fn the_fast_path_declines_anything_unusual_and_serde_decides() {
        for data in [
            r#"{"price":"1","time":1,"price":"2"}"#, // duplicate field
            r#"{"time":1,"Time":2}"#,                // duplicate through the alias
            r#"{"pr\u0069ce":"1","time":1}"#,        // escaped key
            r#"{"price":"1\u0030","time":1}"#,       // escaped value
            r#"{"nested":{"a":1},"time":1}"#,        // nested unknown value
            r#"{"time":01}"#,                        // not a JSON number
            r#"{"time":1.0}"#,                       // not an integer
            r#"{"time":-1}"#,                        // negative
            r#"{"time":18446744073709551616}"#,      // beyond u64
            r#"{"time":1,}"#,                        // trailing comma
            r#"{"time":1}x"#,                        // trailing text
            r#"{"time":1 2}"#,                       // two values
            r#"{"price":true,"time":1}"#,            // a bool for a decimal
            r#"{"price":"abc","time":1}"#,           // a bad decimal
            r#"{}"#,                                 // a missing field
            "{\"price\":\"1\u{1}\",\"time\":1}",     // a control character
            "[]",
        ] {
            assert!(!same(ChannelKind::SpotTicker, data), "{data}");
        }
        assert!(!same(
            ChannelKind::SpotTrade,
            r#"{"price":"1","side":1,"size":"1","symbol":"A","time":1}"#
        ));
        assert!(!same(
            ChannelKind::FuturesExecution,
            r#"{"symbol":null,"side":"buy","size":1,"price":1,"ts":1}"#
        ));
    }
}
