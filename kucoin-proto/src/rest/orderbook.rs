//! Level-2 order-book snapshots from REST, with prices and sizes kept as exact decimal text.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// One price level of a snapshot: price and size exactly as KuCoin wrote them.
///
/// Spot snapshots send strings (`["66976.4","0.69109872"]`); futures snapshots send JSON
/// numbers (`[66964.8, 25596]`). Both are kept as their decimal text, never as `f64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLevel {
    /// Price as decimal text.
    pub price: String,
    /// Size as decimal text.
    pub size: String,
}

/// A level-2 snapshot: `GET /api/v3/market/orderbook/level2` (full, signed),
/// `GET /api/v1/market/orderbook/level2_{20,100}` (partial) or futures `GET /api/v1/level2/snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct L2Snapshot {
    /// The sequence number the snapshot is at.
    #[serde(deserialize_with = "u64_text_or_number")]
    pub sequence: u64,
    /// Server time of the snapshot in milliseconds (spot `time`), when present.
    #[serde(default)]
    pub time: Option<u64>,
    /// Server time in nanoseconds (futures `ts`), when present.
    #[serde(default)]
    pub ts: Option<u64>,
    /// The symbol (futures snapshots carry it), when present.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Bids, best (highest) first.
    pub bids: Vec<SnapshotLevel>,
    /// Asks, best (lowest) first.
    pub asks: Vec<SnapshotLevel>,
}

fn u64_text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer, as a number or as text")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_any(V)
}

/// Decimal text of one JSON scalar (string or number), never through `f64`.
fn decimal_text(raw: &serde_json::value::RawValue) -> Option<String> {
    let s = raw.get().trim();
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if inner.contains('\\') {
            return None;
        }
        return Some(inner.to_owned());
    }
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Some(s.to_owned());
    }
    None
}

impl<'de> Deserialize<'de> for SnapshotLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SnapshotLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [price, size] pair of decimal strings or numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SnapshotLevel, A::Error> {
                let mut next = |what: &str| -> Result<String, A::Error> {
                    let raw: Box<serde_json::value::RawValue> = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::custom(format!("level without {what}")))?;
                    decimal_text(&raw).ok_or_else(|| {
                        de::Error::custom(format!("{what} is not a decimal: {}", raw.get()))
                    })
                };
                let price = next("price")?;
                let size = next("size")?;
                // KuCoin never sends more than two fields; tolerate and ignore extras.
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(SnapshotLevel { price, size })
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futures_numbers_keep_their_exact_text() {
        let s: L2Snapshot = serde_json::from_str(
            r#"{"sequence":1697895963339,"symbol":"XBTUSDM","bids":[[66968,2],[66964.8,25596]],"asks":[[66968.1,13501]],"ts":1729168101216000000}"#,
        )
        .unwrap();
        assert_eq!(s.sequence, 1_697_895_963_339);
        assert_eq!(s.bids[1].price, "66964.8");
        assert_eq!(s.bids[1].size, "25596");
        assert_eq!(s.ts, Some(1_729_168_101_216_000_000));
    }

    #[test]
    fn spot_strings_and_text_sequence() {
        let s: L2Snapshot = serde_json::from_str(
            r#"{"time":1729176273859,"sequence":"14610502970","bids":[["66976.4","0.69109872"]],"asks":[]}"#,
        )
        .unwrap();
        assert_eq!(s.sequence, 14_610_502_970);
        assert_eq!(s.bids[0].size, "0.69109872");
    }

    #[test]
    fn non_decimal_level_is_an_error() {
        assert!(
            serde_json::from_str::<L2Snapshot>(r#"{"sequence":1,"bids":[[true,1]],"asks":[]}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<L2Snapshot>(r#"{"sequence":1,"bids":[["1"]],"asks":[]}"#)
                .is_err()
        );
    }
}
