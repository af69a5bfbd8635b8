//! Spot symbol metadata from `GET /api/v2/symbols`, with every number kept as decimal text.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// One spot symbol: what a book and an order need (increments, sizes), as KuCoin wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SymbolInfo {
    /// The symbol, e.g. `BTC-USDT`.
    pub symbol: String,
    /// Display name (may differ from `symbol` after a rename).
    #[serde(default)]
    pub name: Option<String>,
    /// Base currency, e.g. `BTC`.
    pub base_currency: String,
    /// Quote currency, e.g. `USDT`.
    pub quote_currency: String,
    /// Currency fees are charged in.
    #[serde(default)]
    pub fee_currency: Option<String>,
    /// Trading area, e.g. `USDS`.
    #[serde(default)]
    pub market: Option<String>,
    /// Size step (decimal text).
    #[serde(deserialize_with = "decimal")]
    pub base_increment: String,
    /// Price step, the book's tick (decimal text).
    #[serde(deserialize_with = "decimal")]
    pub price_increment: String,
    /// Funds step (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub quote_increment: Option<String>,
    /// Smallest order size (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub base_min_size: Option<String>,
    /// Largest order size (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub base_max_size: Option<String>,
    /// Smallest order funds (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub quote_min_size: Option<String>,
    /// Largest order funds (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub quote_max_size: Option<String>,
    /// Price protection rate (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub price_limit_rate: Option<String>,
    /// Smallest order value (decimal text).
    #[serde(default, deserialize_with = "opt_decimal")]
    pub min_funds: Option<String>,
    /// Whether margin trading is enabled.
    #[serde(default)]
    pub is_margin_enabled: bool,
    /// Whether the symbol trades now.
    #[serde(default)]
    pub enable_trading: bool,
}

/// True for `-?digits(.digits)?([eE][+-]?digits)?`, the JSON number grammar without
/// leading-zero rules: what KuCoin writes for increments and sizes.
fn is_decimal(text: &str) -> bool {
    fn digits(s: &[u8]) -> usize {
        s.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int = digits(b.get(i..).unwrap_or_default());
    if int == 0 {
        return false;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = digits(b.get(i + 1..).unwrap_or_default());
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(b.get(i..).unwrap_or_default());
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// Decimal text of a JSON string or number; never through `f64`.
fn decimal_of(raw: &serde_json::value::RawValue) -> Option<String> {
    let s = raw.get().trim();
    let text = match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner,
        None => s,
    };
    is_decimal(text).then(|| text.to_owned())
}

fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw: Box<serde_json::value::RawValue> = Deserialize::deserialize(d)?;
    decimal_of(&raw).ok_or_else(|| de::Error::custom(NotDecimal(raw.get())))
}

fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw: Box<serde_json::value::RawValue> = Deserialize::deserialize(d)?;
    if raw.get().trim() == "null" {
        return Ok(None);
    }
    decimal_of(&raw)
        .map(Some)
        .ok_or_else(|| de::Error::custom(NotDecimal(raw.get())))
}

struct NotDecimal<'a>(&'a str);

impl fmt::Display for NotDecimal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected a decimal string or number, found {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::is_decimal;

    #[test]
    fn decimal_grammar_accepts_kucoin_numbers_only() {
        for ok in [
            "0",
            "1",
            "0.00000001",
            "66964.8",
            "-1.5",
            "1e-8",
            "2E+3",
            "10000000000",
        ] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in [
            "", "-", ".5", "1.", "1-2", "1e", "1e+", "abc", "1.2.3", " 1", "0x10", "NaN",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
