//! Message types of the spot and margin channels (the `data` of each message).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{
    Candle, CrossMarginEventType, FeeType, IsolatedPositionStatus, IsolatedStatusBizType, Level,
    LevelChange, Liquidity, OrderEventType, OrderStatus, OrderType, Side, StopCondition, TradeType,
    opt_level, opt_value,
};
use crate::num::Dec;

/// Best bid and ask and the last trade of one spot symbol (`/market/ticker:{symbol}` and
/// `/market/ticker:all`; the symbol is in the topic, or in the subject for `all`).
///
/// Parsed without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotTicker {
    /// Sequence number.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub sequence: Option<u64>,
    /// Last traded price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price: Option<Dec>,
    /// Last traded size.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// Best ask price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask: Option<Dec>,
    /// Size at the best ask.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask_size: Option<Dec>,
    /// Best bid price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid: Option<Dec>,
    /// Size at the best bid.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid_size: Option<Dec>,
    /// Time of the update, Unix milliseconds (KuCoin's docs also spell it `Time`).
    #[serde(alias = "Time", deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
}

/// The best bid and ask of one spot symbol (`/spotMarket/level1:{symbol}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotLevel1 {
    /// Best ask (`None` if that side is empty).
    #[serde(default, deserialize_with = "opt_level")]
    pub asks: Option<Level>,
    /// Best bid (`None` if that side is empty).
    #[serde(default, deserialize_with = "opt_level")]
    pub bids: Option<Level>,
    /// Time of the update, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// The best 5 or 50 levels of a spot book (`/spotMarket/level2Depth5`, `.../level2Depth50`,
/// `/callauction/level2Depth50`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotDepth {
    /// Asks, best first.
    pub asks: Vec<Level>,
    /// Bids, best first.
    pub bids: Vec<Level>,
    /// Time of the snapshot, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// The state of a call auction (`/callauction/callauctionData:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAuctionInfo {
    /// The symbol.
    pub symbol: String,
    /// Estimated opening price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub estimated_price: Option<Dec>,
    /// Estimated opening size.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub estimated_size: Option<Dec>,
    /// Lowest price a sell order may have.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub sell_order_range_low_price: Option<Dec>,
    /// Highest price a sell order may have.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub sell_order_range_high_price: Option<Dec>,
    /// Lowest price a buy order may have.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub buy_order_range_low_price: Option<Dec>,
    /// Highest price a buy order may have.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub buy_order_range_high_price: Option<Dec>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
}

/// The changes of a spot level-2 increment (`changes`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpotChanges {
    /// Changed asks.
    #[serde(default)]
    pub asks: Vec<LevelChange>,
    /// Changed bids.
    #[serde(default)]
    pub bids: Vec<LevelChange>,
}

/// An increment of a spot level-2 book (`/market/level2:{symbol}`).
///
/// The order book itself is kept by [`crate::book`]; this is the typed message for other uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotLevel2Update {
    /// The changes.
    pub changes: SpotChanges,
    /// Sequence of the last change.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub sequence_end: u64,
    /// Sequence of the first change.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub sequence_start: u64,
    /// The symbol.
    pub symbol: String,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
}

/// A candle update (`/market/candles:{symbol}_{interval}` and
/// `/contractMarket/limitCandle:{symbol}_{interval}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kline {
    /// The symbol.
    pub symbol: String,
    /// The candle.
    pub candles: Candle,
    /// Time of the update (nanoseconds on spot, milliseconds on futures).
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
}

/// A trade of a spot symbol (`/market/match:{symbol}`).
///
/// Borrows its strings from the frame when they have no escapes: parsed without allocating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotTrade<'a> {
    /// The maker's order id.
    #[serde(borrow, default)]
    pub maker_order_id: Cow<'a, str>,
    /// The price.
    pub price: Dec,
    /// Sequence number.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub sequence: Option<u64>,
    /// The taker's side.
    pub side: Side,
    /// The size.
    pub size: Dec,
    /// The symbol.
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// The taker's order id.
    #[serde(borrow, default)]
    pub taker_order_id: Cow<'a, str>,
    /// Time of the trade, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
    /// The trade id.
    #[serde(borrow, default)]
    pub trade_id: Cow<'a, str>,
    /// The message type (`match`).
    #[serde(borrow, default, rename = "type")]
    pub kind: Cow<'a, str>,
}

impl SpotTrade<'_> {
    /// A copy that owns its strings.
    #[must_use]
    pub fn into_owned(self) -> SpotTrade<'static> {
        SpotTrade {
            maker_order_id: Cow::Owned(self.maker_order_id.into_owned()),
            price: self.price,
            sequence: self.sequence,
            side: self.side,
            size: self.size,
            symbol: Cow::Owned(self.symbol.into_owned()),
            taker_order_id: Cow::Owned(self.taker_order_id.into_owned()),
            time: self.time,
            trade_id: Cow::Owned(self.trade_id.into_owned()),
            kind: Cow::Owned(self.kind.into_owned()),
        }
    }
}

/// Price change statistics over a window (`marketChange1h`, `...4h`, `...24h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketChange {
    /// Price change.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub change_price: Option<Dec>,
    /// Price change ratio.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub change_rate: Option<Dec>,
    /// Highest price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub high: Option<Dec>,
    /// Lowest price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub low: Option<Dec>,
    /// Opening price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub open: Option<Dec>,
    /// Volume (base currency).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub vol: Option<Dec>,
    /// Value traded (quote currency).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub vol_value: Option<Dec>,
}

/// Market statistics of one spot symbol (the inner `data` of a snapshot message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolStats {
    /// Size at the best ask.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub ask_size: Option<Dec>,
    /// Average price over 24 h.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub average_price: Option<Dec>,
    /// Base currency.
    #[serde(default)]
    pub base_currency: Option<String>,
    /// Size at the best bid.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub bid_size: Option<Dec>,
    /// Trading board (`0` or `1`).
    #[serde(default, deserialize_with = "crate::num::opt_i64")]
    pub board: Option<i64>,
    /// Best bid price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub buy: Option<Dec>,
    /// Price change over 24 h.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub change_price: Option<Dec>,
    /// Price change ratio over 24 h.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub change_rate: Option<Dec>,
    /// Last price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub close: Option<Dec>,
    /// Time of the statistics, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub datetime: Option<u64>,
    /// Highest price over 24 h.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub high: Option<Dec>,
    /// Last traded price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub last_traded_price: Option<Dec>,
    /// Lowest price over 24 h.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub low: Option<Dec>,
    /// Maker fee coefficient.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub maker_coefficient: Option<Dec>,
    /// Maker fee rate.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub maker_fee_rate: Option<Dec>,
    /// Whether margin trading is enabled.
    #[serde(default)]
    pub margin_trade: Option<bool>,
    /// Symbol mark (`0`, `1`, `2`).
    #[serde(default, deserialize_with = "crate::num::opt_i64")]
    pub mark: Option<i64>,
    /// Trading market (`USDS`, `BTC`, ...).
    #[serde(default)]
    pub market: Option<String>,
    /// Statistics over the last hour.
    #[serde(default)]
    pub market_change1h: Option<MarketChange>,
    /// Statistics over the last 24 hours.
    #[serde(default)]
    pub market_change24h: Option<MarketChange>,
    /// Statistics over the last 4 hours.
    #[serde(default)]
    pub market_change4h: Option<MarketChange>,
    /// Markets the symbol belongs to.
    #[serde(default)]
    pub markets: Vec<String>,
    /// Opening price 24 h ago.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub open: Option<Dec>,
    /// Quote currency.
    #[serde(default)]
    pub quote_currency: Option<String>,
    /// Best ask price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub sell: Option<Dec>,
    /// Sites the symbol is listed on.
    #[serde(default)]
    pub site_types: Vec<String>,
    /// Sort order.
    #[serde(default, deserialize_with = "crate::num::opt_i64")]
    pub sort: Option<i64>,
    /// The symbol.
    pub symbol: String,
    /// The symbol's code.
    #[serde(default)]
    pub symbol_code: Option<String>,
    /// Taker fee coefficient.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub taker_coefficient: Option<Dec>,
    /// Taker fee rate.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub taker_fee_rate: Option<Dec>,
    /// Whether trading is enabled.
    #[serde(default)]
    pub trading: Option<bool>,
    /// Volume over 24 h (base currency).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub vol: Option<Dec>,
    /// Value traded over 24 h (quote currency).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub vol_value: Option<Dec>,
}

/// A market snapshot of a spot symbol (`/market/snapshot:{symbol}`, and per symbol of a market
/// for `/market/snapshot:{market}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotSnapshot {
    /// Sequence number.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub sequence: Option<u64>,
    /// The statistics.
    pub data: SymbolStats,
}

/// A change of one of the account's spot or margin orders (`/spotMarket/tradeOrders` and
/// `/spotMarket/tradeOrdersV2`; V2 adds the `received` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotOrderChange {
    /// Size canceled.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub canceled_size: Option<Dec>,
    /// The client's order id.
    #[serde(default)]
    pub client_oid: Option<String>,
    /// Size filled.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub filled_size: Option<Dec>,
    /// The order id.
    pub order_id: String,
    /// When the order was placed, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub order_time: Option<u64>,
    /// The order type.
    #[serde(default, deserialize_with = "opt_value")]
    pub order_type: Option<OrderType>,
    /// The order's original size.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub origin_size: Option<Dec>,
    /// The order's price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price: Option<Dec>,
    /// Funds left (market orders by funds).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub remain_funds: Option<Dec>,
    /// Size left.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub remain_size: Option<Dec>,
    /// The side.
    pub side: Side,
    /// The order's current size.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// The order's status.
    pub status: OrderStatus,
    /// The symbol.
    pub symbol: String,
    /// Time of the event, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: OrderEventType,
    /// The size before an `update`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub old_size: Option<Dec>,
    /// Fee type of a `match`.
    #[serde(default, deserialize_with = "opt_value")]
    pub fee_type: Option<FeeType>,
    /// Liquidity of a `match`.
    #[serde(default, deserialize_with = "opt_value")]
    pub liquidity: Option<Liquidity>,
    /// Price of a `match`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub match_price: Option<Dec>,
    /// Size of a `match`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub match_size: Option<Dec>,
    /// Trade id of a `match`.
    #[serde(default)]
    pub trade_id: Option<String>,
}

/// What a balance change relates to (`relationContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationContext {
    /// The symbol.
    #[serde(default)]
    pub symbol: Option<String>,
    /// The order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The trade id.
    #[serde(default)]
    pub trade_id: Option<String>,
}

/// A change of one of the account's balances (`/account/balance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotBalanceChange {
    /// The account id.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Available funds.
    pub available: Dec,
    /// Change of the available funds (may be negative).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub available_change: Option<Dec>,
    /// The currency.
    pub currency: String,
    /// Funds on hold.
    pub hold: Dec,
    /// Change of the funds on hold (may be negative).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub hold_change: Option<Dec>,
    /// What the change relates to.
    #[serde(default)]
    pub relation_context: Option<RelationContext>,
    /// The event (`trade.hold`, `main.deposit`, ...).
    #[serde(default)]
    pub relation_event: Option<String>,
    /// The event's id.
    #[serde(default)]
    pub relation_event_id: Option<String>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub time: u64,
    /// Total funds.
    pub total: Dec,
}

/// A change of one of the account's spot stop orders (`/spotMarket/advancedOrders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotStopOrderEvent {
    /// When the order was created, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub created_at: Option<u64>,
    /// The order id.
    pub order_id: String,
    /// The order's price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub order_price: Option<Dec>,
    /// The order type (`stop`).
    #[serde(default, deserialize_with = "opt_value")]
    pub order_type: Option<OrderType>,
    /// The side.
    pub side: Side,
    /// The size.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// The stop condition.
    #[serde(default, deserialize_with = "opt_value")]
    pub stop: Option<StopCondition>,
    /// The stop price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub stop_price: Option<Dec>,
    /// The symbol.
    pub symbol: String,
    /// The account the order trades in.
    #[serde(default, deserialize_with = "opt_value")]
    pub trade_type: Option<TradeType>,
    /// Time of the event, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: OrderEventType,
}

/// A mark or index price of a margin symbol (`/indicator/markPrice:{symbol}`,
/// `/indicator/index:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorPrice {
    /// The symbol.
    pub symbol: String,
    /// Granularity, milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub granularity: Option<u64>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
    /// The price.
    pub value: Dec,
}

/// One asset of an isolated-margin position (`changeAssets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IsolatedAsset {
    /// Total.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub total: Option<Dec>,
    /// On hold.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub hold: Option<Dec>,
    /// Principal owed.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub liability_principal: Option<Dec>,
    /// Interest owed.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub liability_interest: Option<Dec>,
}

/// A change of an isolated-margin position (`/margin/isolatedPosition:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IsolatedMarginPosition {
    /// The symbol.
    pub tag: String,
    /// The position's status.
    pub status: IsolatedPositionStatus,
    /// Why it changed.
    #[serde(default, deserialize_with = "opt_value")]
    pub status_biz_type: Option<IsolatedStatusBizType>,
    /// Accumulated principal.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub accumulated_principal: Option<Dec>,
    /// Assets that changed, by currency.
    #[serde(default)]
    pub change_assets: BTreeMap<String, IsolatedAsset>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// One asset of the cross-margin account (`assetList`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossAsset {
    /// Total.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub total: Option<Dec>,
    /// Available.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub available: Option<Dec>,
    /// On hold.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub hold: Option<Dec>,
}

/// The cross-margin account's debt ratio (`debt.ratio`) or a status change (`position.status`)
/// (`/margin/position`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossMarginPosition {
    /// Debt ratio.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub debt_ratio: Option<Dec>,
    /// Total assets, in BTC.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub total_asset: Option<Dec>,
    /// Total assets weighted by margin coefficients, in BTC.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub margin_coefficient_total_asset: Option<Dec>,
    /// Total debt, in BTC.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub total_debt: Option<Dec>,
    /// Assets by currency.
    #[serde(default)]
    pub asset_list: BTreeMap<String, CrossAsset>,
    /// Debts by currency.
    #[serde(default)]
    pub debt_list: BTreeMap<String, Dec>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
    /// The status change (`position.status` messages).
    #[serde(default, rename = "type", deserialize_with = "opt_value")]
    pub kind: Option<CrossMarginEventType>,
}
