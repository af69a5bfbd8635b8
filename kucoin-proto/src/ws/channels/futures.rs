//! Message types of the futures channels (the `data` of each message).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{
    FeeType, FuturesChange, FuturesTradeType, Level, Liquidity, MarginMode, OrderEventType,
    OrderStatus, OrderType, PositionChangeReason, PositionSide, Side, StopCondition, StopPriceType,
    opt_value,
};
use crate::num::Dec;

/// Best bid and ask of a contract (`/contractMarket/tickerV2:{symbol}`).
///
/// Borrows the symbol from the frame: parsed without allocating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesTickerV2<'a> {
    /// The symbol.
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// Sequence number.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub sequence: u64,
    /// Size at the best bid (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid_size: Option<Dec>,
    /// Best bid price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid_price: Option<Dec>,
    /// Best ask price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask_price: Option<Dec>,
    /// Size at the best ask (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask_size: Option<Dec>,
    /// Time, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
}

impl FuturesTickerV2<'_> {
    /// A copy that owns its strings.
    #[must_use]
    pub fn into_owned(self) -> FuturesTickerV2<'static> {
        FuturesTickerV2 {
            symbol: Cow::Owned(self.symbol.into_owned()),
            ..self
        }
    }
}

/// Last trade and best bid and ask of a contract (`/contractMarket/ticker:{symbol}`).
///
/// Borrows its strings from the frame: parsed without allocating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesTicker<'a> {
    /// The symbol.
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// Sequence number.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub sequence: u64,
    /// The last taker's side.
    #[serde(default, deserialize_with = "opt_value")]
    pub side: Option<Side>,
    /// Last traded size (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// Last traded price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price: Option<Dec>,
    /// Size at the best bid.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid_size: Option<Dec>,
    /// Best bid price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_bid_price: Option<Dec>,
    /// Best ask price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask_price: Option<Dec>,
    /// The last trade's id.
    #[serde(borrow, default)]
    pub trade_id: Cow<'a, str>,
    /// Size at the best ask.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub best_ask_size: Option<Dec>,
    /// Time, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
}

impl FuturesTicker<'_> {
    /// A copy that owns its strings.
    #[must_use]
    pub fn into_owned(self) -> FuturesTicker<'static> {
        FuturesTicker {
            symbol: Cow::Owned(self.symbol.into_owned()),
            trade_id: Cow::Owned(self.trade_id.into_owned()),
            ..self
        }
    }
}

/// The best 5 or 50 levels of a futures book (`/contractMarket/level2Depth5`, `...Depth50`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesDepth {
    /// Bids, best first (sizes in contracts).
    pub bids: Vec<Level>,
    /// Asks, best first.
    pub asks: Vec<Level>,
    /// Sequence number.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub sequence: Option<u64>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
    /// Time, Unix milliseconds (as sent).
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub ts: Option<u64>,
}

/// An increment of a futures level-2 book (`/contractMarket/level2:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesLevel2Update {
    /// Sequence number (consecutive).
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub sequence: u64,
    /// The change.
    pub change: FuturesChange,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// A trade of a contract (`/contractMarket/execution:{symbol}`).
///
/// Borrows its strings from the frame: parsed without allocating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesExecution<'a> {
    /// The symbol.
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    /// Sequence number.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub sequence: Option<u64>,
    /// The taker's side.
    pub side: Side,
    /// The size (contracts).
    pub size: Dec,
    /// The price.
    pub price: Dec,
    /// The taker's order id.
    #[serde(borrow, default)]
    pub taker_order_id: Cow<'a, str>,
    /// The maker's order id.
    #[serde(borrow, default)]
    pub maker_order_id: Cow<'a, str>,
    /// The trade id.
    #[serde(borrow, default)]
    pub trade_id: Cow<'a, str>,
    /// Time, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
}

impl FuturesExecution<'_> {
    /// A copy that owns its strings.
    #[must_use]
    pub fn into_owned(self) -> FuturesExecution<'static> {
        FuturesExecution {
            symbol: Cow::Owned(self.symbol.into_owned()),
            taker_order_id: Cow::Owned(self.taker_order_id.into_owned()),
            maker_order_id: Cow::Owned(self.maker_order_id.into_owned()),
            trade_id: Cow::Owned(self.trade_id.into_owned()),
            ..self
        }
    }
}

/// Mark and index price (`mark.index.price`) or funding rate (`funding.rate`) of a contract
/// (`/contract/instrument:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesInstrument {
    /// Granularity, milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub granularity: Option<u64>,
    /// Funding rate (`funding.rate`).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub funding_rate: Option<Dec>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
    /// Mark price (`mark.index.price`).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub mark_price: Option<Dec>,
    /// Index price (`mark.index.price`).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub index_price: Option<Dec>,
}

/// Start or end of a funding settlement (`/contract/announcement:{symbol}`, subjects
/// `funding.begin`, `funding.end`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesAnnouncement {
    /// The symbol.
    pub symbol: String,
    /// Funding time, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub funding_time: Option<u64>,
    /// Funding rate.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub funding_rate: Option<Dec>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// 24-hour statistics of a contract (`/contractMarket/snapshot:{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesSnapshot {
    /// Highest price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub high_price: Option<Dec>,
    /// Last price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub last_price: Option<Dec>,
    /// Lowest price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub low_price: Option<Dec>,
    /// Price 24 h ago.
    #[serde(
        default,
        rename = "price24HoursBefore",
        deserialize_with = "crate::num::opt_dec"
    )]
    pub price_24h_before: Option<Dec>,
    /// Price change.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price_chg: Option<Dec>,
    /// Price change ratio.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price_chg_pct: Option<Dec>,
    /// The symbol.
    pub symbol: String,
    /// Time, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
    /// Value traded.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub turnover: Option<Dec>,
    /// Volume.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub volume: Option<Dec>,
}

/// A change of one of the account's futures orders (`/contractMarket/tradeOrders:{symbol}`,
/// `/contractMarket/tradeOrders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesOrderChange {
    /// The symbol.
    pub symbol: String,
    /// The order type.
    #[serde(default, deserialize_with = "opt_value")]
    pub order_type: Option<OrderType>,
    /// The side.
    pub side: Side,
    /// Size canceled.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub canceled_size: Option<Dec>,
    /// The order id.
    pub order_id: String,
    /// Margin mode.
    #[serde(default, deserialize_with = "opt_value")]
    pub margin_mode: Option<MarginMode>,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: OrderEventType,
    /// When the order was placed, Unix nanoseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub order_time: Option<u64>,
    /// The order's size (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// Size filled.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub filled_size: Option<Dec>,
    /// The order's price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub price: Option<Dec>,
    /// Size left.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub remain_size: Option<Dec>,
    /// The order's status.
    pub status: OrderStatus,
    /// Time of the event, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
    /// Liquidity of a `match`.
    #[serde(default, deserialize_with = "opt_value")]
    pub liquidity: Option<Liquidity>,
    /// Fee type of a `match`.
    #[serde(default, deserialize_with = "opt_value")]
    pub fee_type: Option<FeeType>,
    /// Price of a `match`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub match_price: Option<Dec>,
    /// Size of a `match`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub match_size: Option<Dec>,
    /// Trade id of a `match`.
    #[serde(default)]
    pub trade_id: Option<String>,
    /// The size before an `update`.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub old_size: Option<Dec>,
    /// The client's order id.
    #[serde(default)]
    pub client_oid: Option<String>,
    /// Normal trade or liquidation.
    #[serde(default, deserialize_with = "opt_value")]
    pub trade_type: Option<FuturesTradeType>,
}

/// A change of the futures account (`/contractAccount/wallet`, subject `walletBalance.change`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesWalletBalance {
    /// Margin of cross positions.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub cross_pos_margin: Option<Dec>,
    /// Margin of isolated orders.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub isolated_order_margin: Option<Dec>,
    /// Frozen funds.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub hold_balance: Option<Dec>,
    /// Equity.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub equity: Option<Dec>,
    /// Version of the account state.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub version: Option<u64>,
    /// Available funds.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub available_balance: Option<Dec>,
    /// Margin of isolated positions.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub isolated_pos_margin: Option<Dec>,
    /// Wallet balance.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub wallet_balance: Option<Dec>,
    /// Funding fee margin of isolated positions.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub isolated_funding_fee_margin: Option<Dec>,
    /// Unrealised PnL of cross positions.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub cross_un_pnl: Option<Dec>,
    /// Total cross margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub total_cross_margin: Option<Dec>,
    /// The currency.
    pub currency: String,
    /// Unrealised PnL of isolated positions.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub isolated_un_pnl: Option<Dec>,
    /// Margin of cross orders.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub cross_order_margin: Option<Dec>,
    /// Time, Unix milliseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub timestamp: u64,
}

/// A futures position (`position.change`), a funding settlement (`position.settlement`) or a
/// risk-limit adjustment (`position.adjustRiskLimit`): the fields each subject carries are set,
/// the rest are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesPosition {
    /// The symbol (absent in settlements: it is in the topic).
    #[serde(default)]
    pub symbol: Option<String>,
    /// Whether the position is in cross mode.
    #[serde(default)]
    pub cross_mode: Option<bool>,
    /// ADL ranking percentile.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub delev_percentage: Option<Dec>,
    /// When the position was opened, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub opening_timestamp: Option<u64>,
    /// Time of this state, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub current_timestamp: Option<u64>,
    /// Position size in contracts (negative when short).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub current_qty: Option<Dec>,
    /// Position value.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub current_cost: Option<Dec>,
    /// Fees paid.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub current_comm: Option<Dec>,
    /// Unrealised value.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub unrealised_cost: Option<Dec>,
    /// Realised gross cost.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub realised_gross_cost: Option<Dec>,
    /// Realised cost.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub realised_cost: Option<Dec>,
    /// Whether the position is open.
    #[serde(default)]
    pub is_open: Option<bool>,
    /// Mark price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub mark_price: Option<Dec>,
    /// Mark value.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub mark_value: Option<Dec>,
    /// Position cost.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_cost: Option<Dec>,
    /// Initial margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_init: Option<Dec>,
    /// Position margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_margin: Option<Dec>,
    /// Realised gross PnL.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub realised_gross_pnl: Option<Dec>,
    /// Realised PnL.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub realised_pnl: Option<Dec>,
    /// Unrealised PnL.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub unrealised_pnl: Option<Dec>,
    /// Unrealised PnL ratio.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub unrealised_pnl_pcnt: Option<Dec>,
    /// Unrealised return on equity.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub unrealised_roe_pcnt: Option<Dec>,
    /// Average entry price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub avg_entry_price: Option<Dec>,
    /// Liquidation price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub liquidation_price: Option<Dec>,
    /// Bankruptcy price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub bankrupt_price: Option<Dec>,
    /// Settlement currency.
    #[serde(default)]
    pub settle_currency: Option<String>,
    /// Margin mode.
    #[serde(default, deserialize_with = "opt_value")]
    pub margin_mode: Option<MarginMode>,
    /// Position side.
    #[serde(default, deserialize_with = "opt_value")]
    pub position_side: Option<PositionSide>,
    /// Leverage.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub leverage: Option<Dec>,
    /// Whether margin is added automatically.
    #[serde(default)]
    pub auto_deposit: Option<bool>,
    /// Maintenance margin requirement.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub maint_margin_req: Option<Dec>,
    /// Risk limit.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub risk_limit: Option<Dec>,
    /// Effective leverage.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub real_leverage: Option<Dec>,
    /// Added margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_cross: Option<Dec>,
    /// Bankruptcy fees.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_comm: Option<Dec>,
    /// Funding fees paid out.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_loss: Option<Dec>,
    /// Funding fees.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_funding: Option<Dec>,
    /// Maintenance margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub pos_maint: Option<Dec>,
    /// Position margin.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub maint_margin: Option<Dec>,
    /// Why the position changed.
    #[serde(default, deserialize_with = "opt_value")]
    pub change_reason: Option<PositionChangeReason>,
    /// Risk-limit level.
    #[serde(default, deserialize_with = "crate::num::opt_i64")]
    pub risk_limit_level: Option<i64>,
    /// Funding time of a settlement, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub funding_time: Option<u64>,
    /// Position size at a settlement (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub qty: Option<Dec>,
    /// Funding rate of a settlement.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub funding_rate: Option<Dec>,
    /// Funding fee of a settlement (negative when paid).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub funding_fee: Option<Dec>,
    /// Time of a settlement, Unix nanoseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub ts: Option<u64>,
    /// Whether a risk-limit adjustment succeeded.
    #[serde(default)]
    pub success: Option<bool>,
    /// Why a risk-limit adjustment failed.
    #[serde(default)]
    pub msg: Option<String>,
}

/// What a position message reports, from its subject (serialises as the position alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum FuturesPositionEvent {
    /// `position.change`: the position changed.
    Change(FuturesPosition),
    /// `position.settlement`: a funding fee was settled.
    Settlement(FuturesPosition),
    /// `position.adjustRiskLimit`: the risk limit was adjusted (or not).
    RiskLimitAdjusted(FuturesPosition),
    /// A subject this library does not know yet.
    Other {
        /// The subject.
        #[serde(skip)]
        subject: String,
        /// The fields, read as a position.
        #[serde(flatten)]
        position: FuturesPosition,
    },
}

impl FuturesPositionEvent {
    /// Reads a position message's `data` for its `subject`.
    pub(crate) fn parse(subject: &str, data: &str) -> Result<Self, serde_json::Error> {
        let position: FuturesPosition = serde_json::from_str(data)?;
        Ok(match subject {
            "position.change" => Self::Change(position),
            "position.settlement" => Self::Settlement(position),
            "position.adjustRiskLimit" => Self::RiskLimitAdjusted(position),
            other => Self::Other {
                subject: other.to_owned(),
                position,
            },
        })
    }

    /// The position fields, whatever the subject.
    #[must_use]
    pub fn position(&self) -> &FuturesPosition {
        match self {
            Self::Change(p) | Self::Settlement(p) | Self::RiskLimitAdjusted(p) => p,
            Self::Other { position, .. } => position,
        }
    }

    /// The subject the message came with.
    #[must_use]
    pub fn subject(&self) -> &str {
        match self {
            Self::Change(_) => "position.change",
            Self::Settlement(_) => "position.settlement",
            Self::RiskLimitAdjusted(_) => "position.adjustRiskLimit",
            Self::Other { subject, .. } => subject,
        }
    }
}

/// Margin mode by symbol (`/contract/marginMode`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FuturesMarginModes(pub BTreeMap<String, MarginMode>);

/// Cross-margin leverage of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossLeverage {
    /// The leverage.
    pub leverage: Dec,
}

/// Cross-margin leverage by symbol (`/contract/crossLeverage`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FuturesCrossLeverage(pub BTreeMap<String, CrossLeverage>);

/// A change of one of the account's futures stop orders (`/contractMarket/advancedOrders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuturesStopOrderEvent {
    /// When the order was created, Unix milliseconds.
    #[serde(default, deserialize_with = "crate::num::opt_u64")]
    pub created_at: Option<u64>,
    /// Margin mode.
    #[serde(default, deserialize_with = "opt_value")]
    pub margin_mode: Option<MarginMode>,
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
    /// The size (contracts).
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub size: Option<Dec>,
    /// The stop direction.
    #[serde(default, deserialize_with = "opt_value")]
    pub stop: Option<StopCondition>,
    /// The stop price.
    #[serde(default, deserialize_with = "crate::num::opt_dec")]
    pub stop_price: Option<Dec>,
    /// The price the stop watches.
    #[serde(default, deserialize_with = "opt_value")]
    pub stop_price_type: Option<StopPriceType>,
    /// The symbol.
    pub symbol: String,
    /// Time of the event, Unix nanoseconds.
    #[serde(deserialize_with = "crate::num::u64_lenient")]
    pub ts: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: OrderEventType,
}
