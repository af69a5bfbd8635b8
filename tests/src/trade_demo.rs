//! Shared parts of the `trade` examples of both adapters: arguments, the funded embedded
//! exchange, the resting price, the private events as JSON and the one-line report.

use std::collections::BTreeMap;
use std::str::FromStr;

use kucoin_proto::num::Dec;
use kucoin_proto::ws::channels::{SpotBalanceChange, SpotOrderChange};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::{FakeConfig, FakeKucoin};

/// Usage text of the `trade` examples.
pub const USAGE: &str = "\
usage: trade [--live] [--json] [--symbol SYMBOL] [--size SIZE] [--runtime smol|async-std]

  (default)       the embedded fake exchange, funded with 1000 USDT and 0.1 BTC
  --live          KuCoin itself: needs KUCOIN_API_KEY, KUCOIN_API_SECRET and
                  KUCOIN_API_PASSPHRASE; places a real limit buy at 90% of the best bid
                  (it rests) and cancels it
  --json          one JSON line at the end (keys placed, cancelled, private_events,
                  rate_limited, balances_before, balances_after)
  --symbol SYMBOL spot symbol (default BTC-USDT)
  --size SIZE     order size (default 0.00001)
  --runtime R     async example only: smol (default) or async-std";

/// Arguments of the `trade` examples.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TradeArgs {
    /// Trade on KuCoin itself.
    pub live: bool,
    /// Print one JSON line instead of text.
    pub json: bool,
    /// The spot symbol.
    pub symbol: String,
    /// The order size (exact decimal text).
    pub size: String,
    /// Async example only: `smol` or `async-std`.
    pub runtime: Option<String>,
}

impl TradeArgs {
    /// Parses the command line (without the program name); `Err` holds the message to print.
    ///
    /// # Errors
    /// On an unknown flag, a missing value, or `--help` (the usage text).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut out = Self {
            live: false,
            json: false,
            symbol: "BTC-USDT".to_owned(),
            size: "0.00001".to_owned(),
            runtime: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--live" => out.live = true,
                "--json" => out.json = true,
                "--symbol" => out.symbol = value("--symbol")?,
                "--size" => {
                    let size = value("--size")?;
                    if Dec::parse(&size).is_err() {
                        return Err(format!("--size {size:?} is not a decimal number"));
                    }
                    out.size = size;
                }
                "--runtime" => {
                    let runtime = value("--runtime")?;
                    if !matches!(runtime.as_str(), "smol" | "async-std") {
                        return Err(format!("--runtime must be smol or async-std\n{USAGE}"));
                    }
                    out.runtime = Some(runtime);
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(out)
    }
}

/// The message printed when `--live` is given without keys.
pub const MISSING_KEYS: &str = "--live needs KUCOIN_API_KEY, KUCOIN_API_SECRET and \
KUCOIN_API_PASSPHRASE in the environment (an API key with the Spot trade permission)";

/// Reads `KUCOIN_API_KEY`, `KUCOIN_API_SECRET` and `KUCOIN_API_PASSPHRASE` (all non-empty).
#[must_use]
pub fn live_keys() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some((
        get("KUCOIN_API_KEY")?,
        get("KUCOIN_API_SECRET")?,
        get("KUCOIN_API_PASSPHRASE")?,
    ))
}

/// Starts the embedded spot exchange for the examples, funded with 1000 USDT and 0.1 BTC.
///
/// # Errors
/// When the fake cannot bind its ports.
pub fn start_funded_fake() -> std::io::Result<FakeKucoin> {
    let fake = FakeKucoin::start(FakeConfig::spot())?;
    fake.fund("USDT", "1000");
    fake.fund("BTC", "0.1");
    Ok(fake)
}

/// A buy price that rests: 90% of `best_bid`, rounded down to a whole unit.
///
/// # Errors
/// When `best_bid` is not a positive decimal.
pub fn resting_price(best_bid: &str) -> Result<Dec, String> {
    let bid = Decimal::from_str(best_bid).map_err(|e| format!("best bid {best_bid:?}: {e}"))?;
    let price = (bid * Decimal::new(9, 1)).floor();
    if price <= Decimal::ZERO {
        return Err(format!(
            "best bid {best_bid} is too low to rest an order under it"
        ));
    }
    Dec::parse(&price.to_string()).map_err(|e| e.to_string())
}

/// The order placed, as a JSON object for the report.
#[must_use]
pub fn placed(order_id: &str, client_oid: &str, symbol: &str, price: Dec, size: Dec) -> Value {
    json!({
        "orderId": order_id, "clientOid": client_oid, "symbol": symbol,
        "side": "buy", "type": "limit", "price": price.to_string(), "size": size.to_string(),
    })
}

/// A spot order change as a JSON object for the report.
#[must_use]
pub fn order_event(m: &SpotOrderChange) -> Value {
    json!({
        "channel": "/spotMarket/tradeOrdersV2",
        "type": m.kind.to_string(), "status": m.status.to_string(), "orderId": m.order_id,
        "symbol": m.symbol, "price": m.price.map(|p| p.to_string()),
        "size": m.size.or(m.origin_size).map(|s| s.to_string()),
        "filledSize": m.filled_size.map(|s| s.to_string()),
        "canceledSize": m.canceled_size.map(|s| s.to_string()),
    })
}

/// A balance change as a JSON object for the report.
#[must_use]
pub fn balance_event(m: &SpotBalanceChange) -> Value {
    json!({
        "channel": "/account/balance",
        "event": m.relation_event, "currency": m.currency,
        "available": m.available.to_string(), "hold": m.hold.to_string(),
        "availableChange": m.available_change.map(|c| c.to_string()),
        "holdChange": m.hold_change.map(|c| c.to_string()),
    })
}

/// Balances by currency: `(available, holds)` as exact decimal text.
pub type Balances = BTreeMap<String, (String, String)>;

/// Text lines of balances (`  USDT  available 1000  holds 0`).
#[must_use]
pub fn balance_lines(balances: &Balances) -> String {
    if balances.is_empty() {
        return "  (no trade accounts)".to_owned();
    }
    balances
        .iter()
        .map(|(c, (a, h))| format!("  {c:<6} available {a:<20} holds {h}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one run of the example did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TradeReport {
    /// The order placed: id, clientOid, symbol, side, price, size.
    pub placed: Option<Value>,
    /// The id of the order cancelled.
    pub cancelled: Option<String>,
    /// The private pushes seen (orders and balances), in order.
    pub private_events: Vec<Value>,
    /// Calls refused with `429000` during the run.
    pub rate_limited: u64,
    /// Balances before the order.
    pub balances_before: Balances,
    /// Balances after the cancel.
    pub balances_after: Balances,
}

impl TradeReport {
    /// The report as one JSON line with the documented keys.
    #[must_use]
    pub fn json_line(&self) -> String {
        let balances = |b: &Balances| -> Value {
            b.iter()
                .map(|(c, (a, h))| (c.clone(), json!({"available": a, "holds": h})))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        json!({
            "placed": self.placed, "cancelled": self.cancelled,
            "private_events": self.private_events, "rate_limited": self.rate_limited,
            "balances_before": balances(&self.balances_before),
            "balances_after": balances(&self.balances_after),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_and_bad_ones_explain_themselves() {
        let a = TradeArgs::parse(["--json", "--size", "0.001"].map(String::from)).unwrap();
        assert!(a.json && !a.live);
        assert_eq!((a.symbol.as_str(), a.size.as_str()), ("BTC-USDT", "0.001"));
        assert!(
            TradeArgs::parse(["--size".to_owned()])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(TradeArgs::parse(["--size", "x"].map(String::from)).is_err());
        assert!(
            TradeArgs::parse(["--nope".to_owned()])
                .unwrap_err()
                .contains("usage")
        );
    }

    #[test]
    fn resting_price_is_ninety_percent_of_the_bid_rounded_down() {
        assert_eq!(resting_price("67000.5").unwrap().to_string(), "60300");
        assert_eq!(resting_price("1.2").unwrap().to_string(), "1");
        assert!(resting_price("0.5").is_err());
        assert!(resting_price("abc").is_err());
    }

    #[test]
    fn json_line_has_exactly_the_documented_keys() {
        let mut report = TradeReport::default();
        report
            .balances_before
            .insert("USDT".into(), ("1000".into(), "0".into()));
        let v: Value = serde_json::from_str(&report.json_line()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "balances_after",
                "balances_before",
                "cancelled",
                "placed",
                "private_events",
                "rate_limited"
            ]
        );
        assert_eq!(v["balances_before"]["USDT"]["available"], "1000");
        assert!(!report.json_line().contains('\n'));
    }
}
