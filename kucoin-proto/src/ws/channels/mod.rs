//! Typed WebSocket channels: every KuCoin stream, public and private, spot, margin and futures.
//!
//! Each of KuCoin's 38 channels has
//! - a channel value ([`SpotTickerChannel`], [`FuturesOrdersChannel`], ...) that says what to
//!   subscribe: its typed parameters (symbols, kline interval, market), its topics
//!   ([`ChannelSpec::topics`], one per symbol; the session joins them 100 to a request), whether
//!   it is private, and which host serves it ([`ChannelKind::host`]);
//! - a message type ([`ChannelSpec::Message`]), the typed `data` of its messages: prices, sizes and
//!   amounts are exact [`Dec`](crate::num::Dec)s, timestamps integers (nanoseconds where KuCoin
//!   sends them), closed value sets enums with an `Unknown` arm, and fields that may be missing,
//!   `null` or `""` are `Option`s. Unknown extra fields are ignored.
//!
//! An incoming message is routed to its channel by its topic (and, for `/market/ticker:all`, its
//! subject, which carries the symbol) with [`route`], and decoded with [`decode`] or
//! [`decode_message`] into a [`ChannelMessage`]. A message of the wrong shape is a
//! [`ChannelError`], never a panic; the session lives on. The busiest messages (spot tickers and
//! trades, futures tickers and executions) are parsed without allocating: numbers are read in
//! place and strings borrowed from the frame.
//!
//! ```
//! use kucoin_proto::ws::channels::{
//!     self, ChannelKind, ChannelMessage, ChannelSpec, SpotTickerChannel,
//! };
//! use kucoin_proto::SpotSymbol;
//!
//! // What to subscribe: one topic per symbol.
//! let channel = SpotTickerChannel {
//!     symbols: vec![SpotSymbol::new("BTC-USDT")?, SpotSymbol::new("ETH-USDT")?],
//! };
//! let topics = channel.topics()?;
//! assert_eq!(topics[0].to_string(), "/market/ticker:BTC-USDT");
//! assert!(!ChannelKind::SpotTicker.is_private());
//!
//! // What arrives: route the frame by its topic and decode its data.
//! let frame = r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker",
//!     "data":{"sequence":"1545896668986","price":"0.08","size":"0.011","bestAsk":"0.08",
//!     "bestAskSize":"0.18","bestBid":"0.049","bestBidSize":"0.036","time":1704873323416}}"#;
//! let message = channels::parse_message(frame)?.expect("a message frame");
//! let decoded = channels::decode_message(&message)?;
//! assert_eq!(decoded.kind, ChannelKind::SpotTicker);
//! let ChannelMessage::SpotTicker(ticker) = decoded.message else { unreachable!() };
//! assert_eq!(ticker.best_bid.map(|d| d.to_string()).as_deref(), Some("0.049"));
//! assert_eq!(ticker.time, 1_704_873_323_416);
//!
//! // Or let the subscription pick its own messages, typed as its channel's message type.
//! let ticker = channel.decode_message(&message).expect("one of its symbols")?;
//! assert_eq!(ticker.sequence, Some(1_545_896_668_986));
//! let eth_only = SpotTickerChannel { symbols: vec![SpotSymbol::new("ETH-USDT")?] };
//! assert!(eth_only.decode_message(&message).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Notes on KuCoin's messages:
//! - Channels that share a shape share a message type: spot depth 5, depth 50 and call-auction
//!   depth 50 are [`SpotDepth`]; spot and futures klines are [`Kline`]; orders V1 and V2 are
//!   [`SpotOrderChange`]; mark and index prices are [`IndicatorPrice`]; symbol and market
//!   snapshots are [`SpotSnapshot`].
//! - The all-orders and all-positions futures channels deliver messages whose topic names the
//!   symbol (`/contractMarket/tradeOrders:XBTUSDTM`); [`route`] gives the per-symbol kind, and
//!   [`ChannelSpec::accepts`] of the "all" channel accepts them.
//! - The busiest messages (tickers, trades, futures tickers and executions) go through a
//!   one-pass reader of flat objects; anything unusual in them (escapes, nested values,
//!   duplicate fields, odd numbers) falls back to serde, so results and errors are serde's
//!   (the `ws_channel` fuzz target checks both agree).
//! - Position messages carry several subjects (`position.change`, `position.settlement`,
//!   `position.adjustRiskLimit`); [`FuturesPositionEvent`] tells them apart.

mod fast;
mod futures;
mod spot;
mod values;

use std::fmt;

use serde::Deserialize;

pub use futures::{
    CrossLeverage, FuturesAnnouncement, FuturesCrossLeverage, FuturesDepth, FuturesExecution,
    FuturesInstrument, FuturesLevel2Update, FuturesMarginModes, FuturesOrderChange,
    FuturesPosition, FuturesPositionEvent, FuturesSnapshot, FuturesStopOrderEvent, FuturesTicker,
    FuturesTickerV2, FuturesWalletBalance,
};
pub use spot::{
    CallAuctionInfo, CrossAsset, CrossMarginPosition, IndicatorPrice, IsolatedAsset,
    IsolatedMarginPosition, Kline, MarketChange, RelationContext, SpotBalanceChange, SpotChanges,
    SpotDepth, SpotLevel1, SpotLevel2Update, SpotOrderChange, SpotSnapshot, SpotStopOrderEvent,
    SpotTicker, SpotTrade, SymbolStats,
};
pub use values::{
    Candle, CrossMarginEventType, FeeType, FuturesChange, FuturesTradeType, IsolatedPositionStatus,
    IsolatedStatusBizType, KlineInterval, Level, LevelChange, Liquidity, MarginMode,
    OrderEventType, OrderStatus, OrderType, PositionChangeReason, PositionSide, Side,
    StopCondition, StopPriceType, TradeType,
};

use super::frame::{Frame, FrameError, Message, parse_frame};
use super::topic::{Topic, TopicError};
use crate::market::{FuturesSymbol, SpotSymbol};

/// Which host serves a channel (and which bullet a session for it needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Host {
    /// The spot host (`api.kucoin.com` bullets): spot and margin channels.
    Spot,
    /// The futures host (`api-futures.kucoin.com` bullets).
    Futures,
}

/// What a channel's topic is parameterised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TopicParam {
    /// Nothing: the topic is sent as it is.
    None,
    /// One or more symbols (one topic each, joined into requests by the session).
    Symbols,
    /// One symbol.
    Symbol,
    /// A symbol and a kline interval (`BTC-USDT_1hour`).
    SymbolInterval,
    /// A spot market name (`BTC`, `USDS`).
    Market,
}

macro_rules! kinds {
    ($($(#[$m:meta])* $kind:ident => ($name:literal, $pattern:literal, $prefix:literal, $private:literal, $host:ident, $param:ident),)+) => {
        /// One of KuCoin's 38 WebSocket channels.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum ChannelKind {
            $($(#[$m])* $kind,)+
        }

        impl ChannelKind {
            /// Every channel, in the order of KuCoin's channel list.
            pub const ALL: &'static [ChannelKind] = &[$(ChannelKind::$kind,)+];

            /// KuCoin's name for the channel, prefixed by its service (`spot.ticker`).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Self::$kind => $name,)+ }
            }

            /// The topic pattern as KuCoin documents it (`/market/ticker:{symbol},{symbol}`).
            #[must_use]
            pub fn pattern(self) -> &'static str {
                match self { $(Self::$kind => $pattern,)+ }
            }

            /// The topic's prefix, before any `:` (`/market/ticker`).
            #[must_use]
            pub fn prefix(self) -> &'static str {
                match self { $(Self::$kind => $prefix,)+ }
            }

            /// Whether the channel is private (needs a private bullet and session).
            #[must_use]
            pub fn is_private(self) -> bool {
                match self { $(Self::$kind => $private,)+ }
            }

            /// The host that serves the channel.
            #[must_use]
            pub fn host(self) -> Host {
                match self { $(Self::$kind => Host::$host,)+ }
            }

            /// What the topic is parameterised by.
            #[must_use]
            pub fn param(self) -> TopicParam {
                match self { $(Self::$kind => TopicParam::$param,)+ }
            }
        }
    };
}

kinds! {
    /// Spot ticker of given symbols.
    SpotTicker => ("spot.ticker", "/market/ticker:{symbol},{symbol}", "/market/ticker", false, Spot, Symbols),
    /// Spot tickers of all symbols (the symbol is the subject).
    SpotAllTickers => ("spot.allTickers", "/market/ticker:all", "/market/ticker:all", false, Spot, None),
    /// Spot best bid and ask.
    SpotLevel1 => ("spot.orderbookLevel1", "/spotMarket/level1:{symbol},{symbol}", "/spotMarket/level1", false, Spot, Symbols),
    /// Spot best 5 levels.
    SpotDepth5 => ("spot.orderbookLevel5", "/spotMarket/level2Depth5:{symbol},{symbol}", "/spotMarket/level2Depth5", false, Spot, Symbols),
    /// Spot best 50 levels.
    SpotDepth50 => ("spot.orderbookLevel50", "/spotMarket/level2Depth50:{symbol},{symbol}", "/spotMarket/level2Depth50", false, Spot, Symbols),
    /// Call-auction best 50 levels.
    CallAuctionDepth50 => ("spot.callAuctionOrderbookLevel50", "/callauction/level2Depth50:{symbol}", "/callauction/level2Depth50", false, Spot, Symbol),
    /// Call-auction state.
    CallAuctionInfo => ("spot.callAuctionInfo", "/callauction/callauctionData:{symbol}", "/callauction/callauctionData", false, Spot, Symbol),
    /// Spot level-2 increments.
    SpotLevel2 => ("spot.orderbookIncrement", "/market/level2:{symbol},{symbol}", "/market/level2", false, Spot, Symbols),
    /// Spot klines.
    SpotKlines => ("spot.klines", "/market/candles:{symbol}_{type}", "/market/candles", false, Spot, SymbolInterval),
    /// Spot trades.
    SpotTrade => ("spot.trade", "/market/match:{symbol},{symbol}", "/market/match", false, Spot, Symbols),
    /// Spot symbol snapshot.
    SpotSymbolSnapshot => ("spot.symbolSnapshot", "/market/snapshot:{symbol}", "/market/snapshot", false, Spot, Symbol),
    /// Snapshots of every symbol of a spot market.
    SpotMarketSnapshot => ("spot.marketSnapshot", "/market/snapshot:{market}", "/market/snapshot", false, Spot, Market),
    /// The account's spot orders (V2, with `received`).
    SpotOrdersV2 => ("spot.orderV2", "/spotMarket/tradeOrdersV2", "/spotMarket/tradeOrdersV2", true, Spot, None),
    /// The account's spot orders (V1).
    SpotOrdersV1 => ("spot.orderV1", "/spotMarket/tradeOrders", "/spotMarket/tradeOrders", true, Spot, None),
    /// The account's balances.
    SpotBalance => ("spot.account", "/account/balance", "/account/balance", true, Spot, None),
    /// The account's spot stop orders.
    SpotStopOrders => ("spot.stopOrder", "/spotMarket/advancedOrders", "/spotMarket/advancedOrders", true, Spot, None),
    /// Margin mark price.
    MarkPrice => ("margin.markPrice", "/indicator/markPrice:{symbol},{symbol}", "/indicator/markPrice", false, Spot, Symbols),
    /// Margin index price.
    IndexPrice => ("margin.indexPrice", "/indicator/index:{symbol},{symbol}", "/indicator/index", false, Spot, Symbols),
    /// The account's isolated-margin position of a symbol.
    IsolatedMarginPosition => ("margin.isolatedMarginPosition", "/margin/isolatedPosition:{symbol}", "/margin/isolatedPosition", true, Spot, Symbol),
    /// The account's cross-margin position.
    CrossMarginPosition => ("margin.crossMarginPosition", "/margin/position", "/margin/position", true, Spot, None),
    /// Futures best bid and ask.
    FuturesTickerV2 => ("futures.tickerV2", "/contractMarket/tickerV2:{symbol}", "/contractMarket/tickerV2", false, Futures, Symbol),
    /// Futures ticker (last trade and best bid and ask).
    FuturesTicker => ("futures.tickerV1", "/contractMarket/ticker:{symbol}", "/contractMarket/ticker", false, Futures, Symbol),
    /// Futures best 5 levels.
    FuturesDepth5 => ("futures.orderbookLevel5", "/contractMarket/level2Depth5:{symbol}", "/contractMarket/level2Depth5", false, Futures, Symbol),
    /// Futures best 50 levels.
    FuturesDepth50 => ("futures.orderbookLevel50", "/contractMarket/level2Depth50:{symbol}", "/contractMarket/level2Depth50", false, Futures, Symbol),
    /// Futures level-2 increments.
    FuturesLevel2 => ("futures.orderbookIncrement", "/contractMarket/level2:{symbol}", "/contractMarket/level2", false, Futures, Symbol),
    /// Futures klines.
    FuturesKlines => ("futures.klines", "/contractMarket/limitCandle:{symbol}_{type}", "/contractMarket/limitCandle", false, Futures, SymbolInterval),
    /// Futures trades.
    FuturesExecution => ("futures.execution", "/contractMarket/execution:{symbol}", "/contractMarket/execution", false, Futures, Symbol),
    /// Futures mark, index price and funding rate.
    FuturesInstrument => ("futures.instrument", "/contract/instrument:{symbol}", "/contract/instrument", false, Futures, Symbol),
    /// Futures funding settlement announcements.
    FuturesAnnouncement => ("futures.announcement", "/contract/announcement:{symbol}", "/contract/announcement", false, Futures, Symbol),
    /// Futures 24-hour statistics.
    FuturesSnapshot => ("futures.symbolSnapshot", "/contractMarket/snapshot:{symbol}", "/contractMarket/snapshot", false, Futures, Symbol),
    /// The account's futures orders of a symbol.
    FuturesOrders => ("futures.order", "/contractMarket/tradeOrders:{symbol}", "/contractMarket/tradeOrders", true, Futures, Symbol),
    /// All the account's futures orders.
    FuturesAllOrders => ("futures.allOrder", "/contractMarket/tradeOrders", "/contractMarket/tradeOrders", true, Futures, None),
    /// The account's futures wallet.
    FuturesWallet => ("futures.balance", "/contractAccount/wallet", "/contractAccount/wallet", true, Futures, None),
    /// The account's futures position of a symbol.
    FuturesPosition => ("futures.position", "/contract/position:{symbol}", "/contract/position", true, Futures, Symbol),
    /// All the account's futures positions.
    FuturesAllPositions => ("futures.allPosition", "/contract/positionAll", "/contract/positionAll", true, Futures, None),
    /// The account's margin mode changes.
    FuturesMarginMode => ("futures.marginMode", "/contract/marginMode", "/contract/marginMode", true, Futures, None),
    /// The account's cross-margin leverage changes.
    FuturesCrossLeverage => ("futures.crossLeverage", "/contract/crossLeverage", "/contract/crossLeverage", true, Futures, None),
    /// The account's futures stop orders.
    FuturesStopOrders => ("futures.stopOrders", "/contractMarket/advancedOrders", "/contractMarket/advancedOrders", true, Futures, None),
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ChannelKind {
    /// Whether a message routed to `routed` belongs to a subscription of this kind (the same
    /// kind, or an "all" channel receiving per-symbol topics).
    #[must_use]
    pub fn receives(self, routed: ChannelKind) -> bool {
        self == routed
            || matches!(
                (self, routed),
                (Self::FuturesAllOrders, Self::FuturesOrders)
                    | (Self::FuturesAllPositions, Self::FuturesPosition)
            )
    }
}

/// Where an incoming message belongs: its channel and the topic's parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'t> {
    /// The channel.
    pub kind: ChannelKind,
    /// The part of the topic after `:` (a symbol, `BTC-USDT_1hour`, a market), or for
    /// `/market/ticker:all` the subject (the symbol).
    pub param: Option<&'t str>,
}

impl<'t> Route<'t> {
    /// The symbol the message is about, if the topic names one (without a kline interval).
    #[must_use]
    pub fn symbol(&self) -> Option<&'t str> {
        let param = self.param?;
        match self.kind {
            ChannelKind::SpotKlines | ChannelKind::FuturesKlines => {
                param.rsplit_once('_').map(|(symbol, _)| symbol)
            }
            ChannelKind::SpotMarketSnapshot => None,
            _ => Some(param),
        }
    }

    /// The kline interval of a kline topic.
    #[must_use]
    pub fn interval(&self) -> Option<KlineInterval> {
        match self.kind {
            ChannelKind::SpotKlines | ChannelKind::FuturesKlines => self
                .param?
                .rsplit_once('_')
                .and_then(|(_, i)| KlineInterval::from_text(i)),
            _ => None,
        }
    }
}

/// Finds the channel of an incoming message from its topic (and subject). `None` if the topic
/// belongs to no known channel.
///
/// Allocation-free. Ambiguities are resolved as KuCoin sends them: `/market/snapshot:X-Y` is a
/// symbol snapshot, `/market/snapshot:X` a market snapshot; `/contractMarket/tradeOrders:S` and
/// `/contract/position:S` route to the per-symbol kinds (see [`ChannelKind::receives`]).
#[must_use]
pub fn route<'t>(topic: &'t str, subject: &'t str) -> Option<Route<'t>> {
    use ChannelKind as K;
    let (prefix, param) = match topic.split_once(':') {
        Some((p, s)) => (p, Some(s)),
        None => (topic, None),
    };
    let kind = match prefix {
        "/market/ticker" if param == Some("all") => {
            return Some(Route {
                kind: K::SpotAllTickers,
                param: Some(subject),
            });
        }
        "/market/ticker" => K::SpotTicker,
        "/spotMarket/level1" => K::SpotLevel1,
        "/spotMarket/level2Depth5" => K::SpotDepth5,
        "/spotMarket/level2Depth50" => K::SpotDepth50,
        "/callauction/level2Depth50" => K::CallAuctionDepth50,
        "/callauction/callauctionData" => K::CallAuctionInfo,
        "/market/level2" => K::SpotLevel2,
        "/market/candles" => K::SpotKlines,
        "/market/match" => K::SpotTrade,
        "/market/snapshot" if param.is_some_and(|p| p.contains('-')) => K::SpotSymbolSnapshot,
        "/market/snapshot" => K::SpotMarketSnapshot,
        "/spotMarket/tradeOrdersV2" => K::SpotOrdersV2,
        "/spotMarket/tradeOrders" => K::SpotOrdersV1,
        "/account/balance" => K::SpotBalance,
        "/spotMarket/advancedOrders" => K::SpotStopOrders,
        "/indicator/markPrice" => K::MarkPrice,
        "/indicator/index" => K::IndexPrice,
        "/margin/isolatedPosition" => K::IsolatedMarginPosition,
        "/margin/position" => K::CrossMarginPosition,
        "/contractMarket/tickerV2" => K::FuturesTickerV2,
        "/contractMarket/ticker" => K::FuturesTicker,
        "/contractMarket/level2Depth5" => K::FuturesDepth5,
        "/contractMarket/level2Depth50" => K::FuturesDepth50,
        "/contractMarket/level2" => K::FuturesLevel2,
        "/contractMarket/limitCandle" => K::FuturesKlines,
        "/contractMarket/execution" => K::FuturesExecution,
        "/contract/instrument" => K::FuturesInstrument,
        "/contract/announcement" => K::FuturesAnnouncement,
        "/contractMarket/snapshot" => K::FuturesSnapshot,
        "/contractMarket/tradeOrders" if param.is_some() => K::FuturesOrders,
        "/contractMarket/tradeOrders" => K::FuturesAllOrders,
        "/contractAccount/wallet" => K::FuturesWallet,
        "/contract/position" => K::FuturesPosition,
        "/contract/positionAll" => K::FuturesAllPositions,
        "/contract/marginMode" => K::FuturesMarginMode,
        "/contract/crossLeverage" => K::FuturesCrossLeverage,
        "/contractMarket/advancedOrders" => K::FuturesStopOrders,
        _ => return None,
    };
    Some(Route { kind, param })
}

/// Why a message could not be decoded. The session lives on after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The topic belongs to no channel this library knows (KuCoin added one, or the frame is
    /// not KuCoin's).
    #[error("topic {topic:?} belongs to no known channel (message skipped)")]
    UnknownTopic {
        /// The topic.
        topic: String,
    },
    /// The message's `data` does not have its channel's shape (a missing field, a string where
    /// an object belongs, a bad decimal).
    #[error("{kind} message does not have the channel's shape: {detail} (message skipped)")]
    Shape {
        /// The channel.
        kind: ChannelKind,
        /// What the parser found wrong.
        detail: String,
    },
    /// The frame or its `data` is not readable JSON.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A decoded message of any channel.
///
/// Serialises as its message alone (the `data` JSON, in canonical form), so a recorder can
/// write it and [`decode_as`] can read it back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ChannelMessage<'a> {
    /// [`ChannelKind::SpotTicker`], [`ChannelKind::SpotAllTickers`].
    SpotTicker(SpotTicker),
    /// [`ChannelKind::SpotLevel1`].
    SpotLevel1(SpotLevel1),
    /// [`ChannelKind::SpotDepth5`], [`ChannelKind::SpotDepth50`],
    /// [`ChannelKind::CallAuctionDepth50`].
    SpotDepth(SpotDepth),
    /// [`ChannelKind::CallAuctionInfo`].
    CallAuctionInfo(CallAuctionInfo),
    /// [`ChannelKind::SpotLevel2`].
    SpotLevel2(SpotLevel2Update),
    /// [`ChannelKind::SpotKlines`], [`ChannelKind::FuturesKlines`].
    Kline(Kline),
    /// [`ChannelKind::SpotTrade`].
    SpotTrade(SpotTrade<'a>),
    /// [`ChannelKind::SpotSymbolSnapshot`], [`ChannelKind::SpotMarketSnapshot`].
    SpotSnapshot(Box<SpotSnapshot>),
    /// [`ChannelKind::SpotOrdersV1`], [`ChannelKind::SpotOrdersV2`].
    SpotOrder(Box<SpotOrderChange>),
    /// [`ChannelKind::SpotBalance`].
    SpotBalance(Box<SpotBalanceChange>),
    /// [`ChannelKind::SpotStopOrders`].
    SpotStopOrder(Box<SpotStopOrderEvent>),
    /// [`ChannelKind::MarkPrice`], [`ChannelKind::IndexPrice`].
    IndicatorPrice(IndicatorPrice),
    /// [`ChannelKind::IsolatedMarginPosition`].
    IsolatedMarginPosition(Box<IsolatedMarginPosition>),
    /// [`ChannelKind::CrossMarginPosition`].
    CrossMarginPosition(Box<CrossMarginPosition>),
    /// [`ChannelKind::FuturesTickerV2`].
    FuturesTickerV2(FuturesTickerV2<'a>),
    /// [`ChannelKind::FuturesTicker`].
    FuturesTicker(FuturesTicker<'a>),
    /// [`ChannelKind::FuturesDepth5`], [`ChannelKind::FuturesDepth50`].
    FuturesDepth(FuturesDepth),
    /// [`ChannelKind::FuturesLevel2`].
    FuturesLevel2(FuturesLevel2Update),
    /// [`ChannelKind::FuturesExecution`].
    FuturesExecution(FuturesExecution<'a>),
    /// [`ChannelKind::FuturesInstrument`].
    FuturesInstrument(FuturesInstrument),
    /// [`ChannelKind::FuturesAnnouncement`].
    FuturesAnnouncement(FuturesAnnouncement),
    /// [`ChannelKind::FuturesSnapshot`].
    FuturesSnapshot(Box<FuturesSnapshot>),
    /// [`ChannelKind::FuturesOrders`], [`ChannelKind::FuturesAllOrders`].
    FuturesOrder(Box<FuturesOrderChange>),
    /// [`ChannelKind::FuturesWallet`].
    FuturesWallet(Box<FuturesWalletBalance>),
    /// [`ChannelKind::FuturesPosition`], [`ChannelKind::FuturesAllPositions`].
    FuturesPosition(Box<FuturesPositionEvent>),
    /// [`ChannelKind::FuturesMarginMode`].
    FuturesMarginMode(FuturesMarginModes),
    /// [`ChannelKind::FuturesCrossLeverage`].
    FuturesCrossLeverage(FuturesCrossLeverage),
    /// [`ChannelKind::FuturesStopOrders`].
    FuturesStopOrder(Box<FuturesStopOrderEvent>),
}

impl ChannelMessage<'_> {
    /// A copy that owns its strings (to keep or send a message past its frame).
    #[must_use]
    pub fn into_owned(self) -> ChannelMessage<'static> {
        use ChannelMessage as M;
        match self {
            M::SpotTrade(m) => M::SpotTrade(m.into_owned()),
            M::FuturesTickerV2(m) => M::FuturesTickerV2(m.into_owned()),
            M::FuturesTicker(m) => M::FuturesTicker(m.into_owned()),
            M::FuturesExecution(m) => M::FuturesExecution(m.into_owned()),
            M::SpotTicker(m) => M::SpotTicker(m),
            M::SpotLevel1(m) => M::SpotLevel1(m),
            M::SpotDepth(m) => M::SpotDepth(m),
            M::CallAuctionInfo(m) => M::CallAuctionInfo(m),
            M::SpotLevel2(m) => M::SpotLevel2(m),
            M::Kline(m) => M::Kline(m),
            M::SpotSnapshot(m) => M::SpotSnapshot(m),
            M::SpotOrder(m) => M::SpotOrder(m),
            M::SpotBalance(m) => M::SpotBalance(m),
            M::SpotStopOrder(m) => M::SpotStopOrder(m),
            M::IndicatorPrice(m) => M::IndicatorPrice(m),
            M::IsolatedMarginPosition(m) => M::IsolatedMarginPosition(m),
            M::CrossMarginPosition(m) => M::CrossMarginPosition(m),
            M::FuturesDepth(m) => M::FuturesDepth(m),
            M::FuturesLevel2(m) => M::FuturesLevel2(m),
            M::FuturesInstrument(m) => M::FuturesInstrument(m),
            M::FuturesAnnouncement(m) => M::FuturesAnnouncement(m),
            M::FuturesSnapshot(m) => M::FuturesSnapshot(m),
            M::FuturesOrder(m) => M::FuturesOrder(m),
            M::FuturesWallet(m) => M::FuturesWallet(m),
            M::FuturesPosition(m) => M::FuturesPosition(m),
            M::FuturesMarginMode(m) => M::FuturesMarginMode(m),
            M::FuturesCrossLeverage(m) => M::FuturesCrossLeverage(m),
            M::FuturesStopOrder(m) => M::FuturesStopOrder(m),
        }
    }
}

/// A decoded message and the channel it came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The channel (from [`route`]).
    pub kind: ChannelKind,
    /// The typed message.
    pub message: ChannelMessage<'a>,
}

fn shape(kind: ChannelKind, e: &serde_json::Error) -> ChannelError {
    ChannelError::Shape {
        kind,
        detail: e.to_string(),
    }
}

/// Every channel's `data` is an object (serde would also read a struct from an array).
fn check_object(kind: ChannelKind, data: &str) -> Result<(), ChannelError> {
    if data.trim_start().starts_with('{') {
        Ok(())
    } else {
        let start: String = data.chars().take(40).collect();
        Err(ChannelError::Shape {
            kind,
            detail: format!("`data` is not a JSON object: {start:?}"),
        })
    }
}

/// Reads `data` as `T` with serde_json (borrowing strings from `data` where `T` does).
fn via_serde<'a, T: Deserialize<'a>>(
    kind: ChannelKind,
    _subject: &str,
    data: &'a str,
) -> Result<T, ChannelError> {
    check_object(kind, data)?;
    serde_json::from_str(data).map_err(|e| shape(kind, &e))
}

/// The fast path for a hot message type, serde when it declines (same results and errors).
macro_rules! via_fast {
    ($name:ident, $fast:path, $ty:ty) => {
        #[allow(clippy::needless_lifetimes)] // `$ty` may name 'a
        fn $name<'a>(kind: ChannelKind, subject: &str, data: &'a str) -> Result<$ty, ChannelError> {
            match $fast(data) {
                Some(message) => Ok(message),
                None => via_serde(kind, subject, data),
            }
        }
    };
}

via_fast!(via_spot_ticker, fast::spot_ticker, SpotTicker);
via_fast!(via_spot_trade, fast::spot_trade, SpotTrade<'a>);
via_fast!(
    via_futures_ticker_v2,
    fast::futures_ticker_v2,
    FuturesTickerV2<'a>
);
via_fast!(via_futures_ticker, fast::futures_ticker, FuturesTicker<'a>);
via_fast!(
    via_futures_execution,
    fast::futures_execution,
    FuturesExecution<'a>
);

/// The fast decoders, for the fuzz targets' differential check (`None`: declined).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fast_decode(kind: ChannelKind, data: &str) -> Option<ChannelMessage<'_>> {
    use ChannelKind as K;
    use ChannelMessage as M;
    match kind {
        K::SpotTicker | K::SpotAllTickers => fast::spot_ticker(data).map(M::SpotTicker),
        K::SpotTrade => fast::spot_trade(data).map(M::SpotTrade),
        K::FuturesTickerV2 => fast::futures_ticker_v2(data).map(M::FuturesTickerV2),
        K::FuturesTicker => fast::futures_ticker(data).map(M::FuturesTicker),
        K::FuturesExecution => fast::futures_execution(data).map(M::FuturesExecution),
        _ => None,
    }
}

/// The serde decoders of the hot message types, for the differential check (`None` for other
/// kinds).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn serde_decode(
    kind: ChannelKind,
    data: &str,
) -> Option<Result<ChannelMessage<'_>, ChannelError>> {
    use ChannelKind as K;
    use ChannelMessage as M;
    Some(match kind {
        K::SpotTicker | K::SpotAllTickers => via_serde(kind, "", data).map(M::SpotTicker),
        K::SpotTrade => via_serde(kind, "", data).map(M::SpotTrade),
        K::FuturesTickerV2 => via_serde(kind, "", data).map(M::FuturesTickerV2),
        K::FuturesTicker => via_serde(kind, "", data).map(M::FuturesTicker),
        K::FuturesExecution => via_serde(kind, "", data).map(M::FuturesExecution),
        _ => return None,
    })
}

fn via_position(
    kind: ChannelKind,
    subject: &str,
    data: &str,
) -> Result<FuturesPositionEvent, ChannelError> {
    check_object(kind, data)?;
    FuturesPositionEvent::parse(subject, data).map_err(|e| shape(kind, &e))
}

/// Decodes the `data` text of a message with this topic and subject.
///
/// Allocation-free for tickers, trades, futures tickers and executions whose strings have no
/// escapes. Errors are typed; nothing here panics.
pub fn decode<'a>(topic: &str, subject: &str, data: &'a str) -> Result<Decoded<'a>, ChannelError> {
    let Some(route) = route(topic, subject) else {
        return Err(ChannelError::UnknownTopic {
            topic: topic.to_owned(),
        });
    };
    decode_as(route.kind, subject, data)
}

/// Decodes the `data` text of a message known to come on channel `kind` (no routing).
pub fn decode_as<'a>(
    kind: ChannelKind,
    subject: &str,
    data: &'a str,
) -> Result<Decoded<'a>, ChannelError> {
    use ChannelKind as K;
    use ChannelMessage as M;
    let message = match kind {
        K::SpotTicker | K::SpotAllTickers => M::SpotTicker(via_spot_ticker(kind, subject, data)?),
        K::SpotLevel1 => M::SpotLevel1(via_serde(kind, subject, data)?),
        K::SpotDepth5 | K::SpotDepth50 | K::CallAuctionDepth50 => {
            M::SpotDepth(via_serde(kind, subject, data)?)
        }
        K::CallAuctionInfo => M::CallAuctionInfo(via_serde(kind, subject, data)?),
        K::SpotLevel2 => M::SpotLevel2(via_serde(kind, subject, data)?),
        K::SpotKlines | K::FuturesKlines => M::Kline(via_serde(kind, subject, data)?),
        K::SpotTrade => M::SpotTrade(via_spot_trade(kind, subject, data)?),
        K::SpotSymbolSnapshot | K::SpotMarketSnapshot => {
            M::SpotSnapshot(Box::new(via_serde(kind, subject, data)?))
        }
        K::SpotOrdersV2 | K::SpotOrdersV1 => {
            M::SpotOrder(Box::new(via_serde(kind, subject, data)?))
        }
        K::SpotBalance => M::SpotBalance(Box::new(via_serde(kind, subject, data)?)),
        K::SpotStopOrders => M::SpotStopOrder(Box::new(via_serde(kind, subject, data)?)),
        K::MarkPrice | K::IndexPrice => M::IndicatorPrice(via_serde(kind, subject, data)?),
        K::IsolatedMarginPosition => {
            M::IsolatedMarginPosition(Box::new(via_serde(kind, subject, data)?))
        }
        K::CrossMarginPosition => M::CrossMarginPosition(Box::new(via_serde(kind, subject, data)?)),
        K::FuturesTickerV2 => M::FuturesTickerV2(via_futures_ticker_v2(kind, subject, data)?),
        K::FuturesTicker => M::FuturesTicker(via_futures_ticker(kind, subject, data)?),
        K::FuturesDepth5 | K::FuturesDepth50 => M::FuturesDepth(via_serde(kind, subject, data)?),
        K::FuturesLevel2 => M::FuturesLevel2(via_serde(kind, subject, data)?),
        K::FuturesExecution => M::FuturesExecution(via_futures_execution(kind, subject, data)?),
        K::FuturesInstrument => M::FuturesInstrument(via_serde(kind, subject, data)?),
        K::FuturesAnnouncement => M::FuturesAnnouncement(via_serde(kind, subject, data)?),
        K::FuturesSnapshot => M::FuturesSnapshot(Box::new(via_serde(kind, subject, data)?)),
        K::FuturesOrders | K::FuturesAllOrders => {
            M::FuturesOrder(Box::new(via_serde(kind, subject, data)?))
        }
        K::FuturesWallet => M::FuturesWallet(Box::new(via_serde(kind, subject, data)?)),
        K::FuturesPosition | K::FuturesAllPositions => {
            M::FuturesPosition(Box::new(via_position(kind, subject, data)?))
        }
        K::FuturesMarginMode => M::FuturesMarginMode(via_serde(kind, subject, data)?),
        K::FuturesCrossLeverage => M::FuturesCrossLeverage(via_serde(kind, subject, data)?),
        K::FuturesStopOrders => M::FuturesStopOrder(Box::new(via_serde(kind, subject, data)?)),
    };
    Ok(Decoded { kind, message })
}

/// Decodes a message from the session ([`Session::handle_frame`](super::Session::handle_frame)).
pub fn decode_message<'a>(message: &Message<'a>) -> Result<Decoded<'a>, ChannelError> {
    let data = message.data_str()?;
    decode(message.topic(), message.subject().unwrap_or_default(), data)
}

/// Reads a frame outside a session: `Some` message for a `message` frame, `None` for any other
/// frame type (welcome, pong, ack, ...). Message frames are read without allocating.
pub fn parse_message(frame: &str) -> Result<Option<Message<'_>>, ChannelError> {
    match parse_frame(frame)? {
        Frame::Message(message) => Ok(Some(message)),
        _ => Ok(None),
    }
}

/// A channel to subscribe to: its topics, and the type of its messages.
pub trait ChannelSpec {
    /// The typed `data` of the channel's messages.
    type Message<'a>;
    /// Which channel.
    const KIND: ChannelKind;

    /// The topics to subscribe: one per symbol (the session joins topics of one prefix, up to
    /// 100 a request), or the one topic of a channel without parameters.
    fn topics(&self) -> Result<Vec<Topic>, TopicError>;

    /// Parses the `data` text of one of the channel's messages (the subject matters only for
    /// position messages).
    fn parse<'a>(subject: &str, data: &'a str) -> Result<Self::Message<'a>, ChannelError>;

    /// Whether a routed topic parameter ([`Route::param`]) is one of this subscription's
    /// (always true for channels without parameters).
    fn matches_param(&self, param: Option<&str>) -> bool;

    /// Whether a message with this topic and subject belongs to this subscription (its channel,
    /// and one of its symbols). Allocation-free.
    fn accepts(&self, topic: &str, subject: &str) -> bool {
        route(topic, subject)
            .is_some_and(|r| Self::KIND.receives(r.kind) && self.matches_param(r.param))
    }

    /// The typed message if `message` belongs to this subscription, `None` if it does not.
    /// Allocation-free for the busiest channels.
    fn decode_message<'a>(
        &self,
        message: &Message<'a>,
    ) -> Option<Result<Self::Message<'a>, ChannelError>> {
        let subject = message.subject().unwrap_or_default();
        if !self.accepts(message.topic(), subject) {
            return None;
        }
        Some(
            message
                .data_str()
                .map_err(ChannelError::from)
                .and_then(|data| Self::parse(subject, data)),
        )
    }
}

fn private_whole(topic: &str) -> Result<Vec<Topic>, TopicError> {
    Ok(vec![Topic::whole(topic)?.private()])
}

fn with_subjects<'s>(
    kind: ChannelKind,
    subjects: impl IntoIterator<Item = &'s str>,
) -> Result<Vec<Topic>, TopicError> {
    subjects
        .into_iter()
        .map(|s| {
            let t = Topic::new(kind.prefix(), s)?;
            Ok(if kind.is_private() { t.private() } else { t })
        })
        .collect()
}

macro_rules! channel_spec {
    ($channel:ident, $kind:ident, $msg:ty, $parse:ident, |$s:ident| $topics:expr, |$m:ident, $p:ident| $matches:expr) => {
        impl ChannelSpec for $channel {
            type Message<'a> = $msg;
            const KIND: ChannelKind = ChannelKind::$kind;
            fn topics(&self) -> Result<Vec<Topic>, TopicError> {
                let $s = self;
                $topics
            }
            fn matches_param(&self, $p: Option<&str>) -> bool {
                let $m = self;
                $matches
            }
            fn parse<'a>(subject: &str, data: &'a str) -> Result<Self::Message<'a>, ChannelError> {
                $parse(Self::KIND, subject, data)
            }
        }
    };
}

/// Declares a channel over one or more spot symbols.
macro_rules! spot_symbols_channel {
    ($(#[$m:meta])* $channel:ident, $kind:ident, $msg:ty) => {
        spot_symbols_channel!($(#[$m])* $channel, $kind, $msg, via_serde);
    };
    ($(#[$m:meta])* $channel:ident, $kind:ident, $msg:ty, $parse:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $channel {
            /// The symbols (one topic each).
            pub symbols: Vec<SpotSymbol>,
        }
        channel_spec!(
            $channel,
            $kind,
            $msg,
            $parse,
            |s| with_subjects(ChannelKind::$kind, s.symbols.iter().map(SpotSymbol::as_str)),
            |s, p| s.symbols.iter().any(|sym| Some(sym.as_str()) == p)
        );
    };
}

/// Declares a channel over one symbol.
macro_rules! symbol_channel {
    ($(#[$m:meta])* $channel:ident, $sym:ty, $kind:ident, $msg:ty, $parse:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $channel {
            /// The symbol.
            pub symbol: $sym,
        }
        channel_spec!(
            $channel,
            $kind,
            $msg,
            $parse,
            |s| with_subjects(ChannelKind::$kind, [s.symbol.as_str()]),
            |s, p| Some(s.symbol.as_str()) == p
        );
    };
}

/// Declares a channel without parameters.
macro_rules! plain_channel {
    ($(#[$m:meta])* $channel:ident, $kind:ident, $msg:ty, $parse:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $channel;
        channel_spec!(
            $channel,
            $kind,
            $msg,
            $parse,
            |_s| private_whole(ChannelKind::$kind.pattern()),
            |_s, _p| true
        );
    };
}

/// Declares a kline channel.
macro_rules! kline_channel {
    ($(#[$m:meta])* $channel:ident, $sym:ty, $kind:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $channel {
            /// The symbol.
            pub symbol: $sym,
            /// The candle interval.
            pub interval: KlineInterval,
        }
        channel_spec!(
            $channel,
            $kind,
            Kline,
            via_serde,
            |s| with_subjects(
                ChannelKind::$kind,
                [format!("{}_{}", s.symbol, s.interval).as_str()]
            ),
            |s, p| p.and_then(|p| p.rsplit_once('_'))
                == Some((s.symbol.as_str(), s.interval.as_str()))
        );
    };
}

spot_symbols_channel!(
    /// `/market/ticker:{symbol},...`: best bid and ask and last trade, every 100 ms.
    SpotTickerChannel, SpotTicker, SpotTicker, via_spot_ticker
);

/// `/market/ticker:all`: the tickers of every spot symbol (the subject is the symbol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpotAllTickersChannel;
channel_spec!(
    SpotAllTickersChannel,
    SpotAllTickers,
    SpotTicker,
    via_spot_ticker,
    |_s| Ok(vec![Topic::whole("/market/ticker:all")?]),
    |_s, _p| true
);

spot_symbols_channel!(
    /// `/spotMarket/level1:{symbol},...`: best bid and ask.
    SpotLevel1Channel, SpotLevel1, SpotLevel1
);
spot_symbols_channel!(
    /// `/spotMarket/level2Depth5:{symbol},...`: the best 5 levels.
    SpotDepth5Channel, SpotDepth5, SpotDepth
);
spot_symbols_channel!(
    /// `/spotMarket/level2Depth50:{symbol},...`: the best 50 levels.
    SpotDepth50Channel, SpotDepth50, SpotDepth
);
symbol_channel!(
    /// `/callauction/level2Depth50:{symbol}`: the best 50 levels of a call auction.
    CallAuctionDepth50Channel, SpotSymbol, CallAuctionDepth50, SpotDepth, via_serde
);
symbol_channel!(
    /// `/callauction/callauctionData:{symbol}`: a call auction's state.
    CallAuctionInfoChannel, SpotSymbol, CallAuctionInfo, CallAuctionInfo, via_serde
);
spot_symbols_channel!(
    /// `/market/level2:{symbol},...`: level-2 increments (see [`crate::book`] to keep a book).
    SpotLevel2Channel, SpotLevel2, SpotLevel2Update
);
kline_channel!(
    /// `/market/candles:{symbol}_{interval}`: candles.
    SpotKlinesChannel, SpotSymbol, SpotKlines
);
spot_symbols_channel!(
    /// `/market/match:{symbol},...`: trades.
    SpotTradeChannel, SpotTrade, SpotTrade<'a>, via_spot_trade
);
symbol_channel!(
    /// `/market/snapshot:{symbol}`: a symbol's market statistics, every 2 s.
    SpotSymbolSnapshotChannel, SpotSymbol, SpotSymbolSnapshot, Box<SpotSnapshot>, via_serde
);

/// `/market/snapshot:{market}`: statistics of every symbol of a market (`BTC`, `USDS`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotMarketSnapshotChannel {
    /// The market's name.
    pub market: String,
}
channel_spec!(
    SpotMarketSnapshotChannel,
    SpotMarketSnapshot,
    Box<SpotSnapshot>,
    via_serde,
    |s| with_subjects(ChannelKind::SpotMarketSnapshot, [s.market.as_str()]),
    |s, p| Some(s.market.as_str()) == p
);

plain_channel!(
    /// `/spotMarket/tradeOrdersV2` (private): the account's order changes, with `received`.
    SpotOrdersV2Channel, SpotOrdersV2, SpotOrderChange, via_serde
);
plain_channel!(
    /// `/spotMarket/tradeOrders` (private): the account's order changes.
    SpotOrdersV1Channel, SpotOrdersV1, SpotOrderChange, via_serde
);
plain_channel!(
    /// `/account/balance` (private): the account's balance changes.
    SpotBalanceChannel, SpotBalance, SpotBalanceChange, via_serde
);
plain_channel!(
    /// `/spotMarket/advancedOrders` (private): the account's stop-order changes.
    SpotStopOrdersChannel, SpotStopOrders, SpotStopOrderEvent, via_serde
);
spot_symbols_channel!(
    /// `/indicator/markPrice:{symbol},...`: margin mark prices.
    MarkPriceChannel, MarkPrice, IndicatorPrice
);
spot_symbols_channel!(
    /// `/indicator/index:{symbol},...`: margin index prices.
    IndexPriceChannel, IndexPrice, IndicatorPrice
);

/// `/margin/isolatedPosition:{symbol}` (private): the account's isolated-margin position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolatedMarginPositionChannel {
    /// The symbol.
    pub symbol: SpotSymbol,
}
channel_spec!(
    IsolatedMarginPositionChannel,
    IsolatedMarginPosition,
    IsolatedMarginPosition,
    via_serde,
    |s| with_subjects(ChannelKind::IsolatedMarginPosition, [s.symbol.as_str()]),
    |s, p| Some(s.symbol.as_str()) == p
);

plain_channel!(
    /// `/margin/position` (private): the cross-margin account's debt ratio and status.
    CrossMarginPositionChannel, CrossMarginPosition, CrossMarginPosition, via_serde
);
symbol_channel!(
    /// `/contractMarket/tickerV2:{symbol}`: best bid and ask of a contract.
    FuturesTickerV2Channel, FuturesSymbol, FuturesTickerV2, FuturesTickerV2<'a>, via_futures_ticker_v2
);
symbol_channel!(
    /// `/contractMarket/ticker:{symbol}`: last trade and best bid and ask of a contract.
    FuturesTickerChannel, FuturesSymbol, FuturesTicker, FuturesTicker<'a>, via_futures_ticker
);
symbol_channel!(
    /// `/contractMarket/level2Depth5:{symbol}`: the best 5 levels.
    FuturesDepth5Channel, FuturesSymbol, FuturesDepth5, FuturesDepth, via_serde
);
symbol_channel!(
    /// `/contractMarket/level2Depth50:{symbol}`: the best 50 levels.
    FuturesDepth50Channel, FuturesSymbol, FuturesDepth50, FuturesDepth, via_serde
);
symbol_channel!(
    /// `/contractMarket/level2:{symbol}`: level-2 increments.
    FuturesLevel2Channel, FuturesSymbol, FuturesLevel2, FuturesLevel2Update, via_serde
);
kline_channel!(
    /// `/contractMarket/limitCandle:{symbol}_{interval}`: candles.
    FuturesKlinesChannel, FuturesSymbol, FuturesKlines
);
symbol_channel!(
    /// `/contractMarket/execution:{symbol}`: trades.
    FuturesExecutionChannel, FuturesSymbol, FuturesExecution, FuturesExecution<'a>, via_futures_execution
);
symbol_channel!(
    /// `/contract/instrument:{symbol}`: mark and index price, funding rate.
    FuturesInstrumentChannel, FuturesSymbol, FuturesInstrument, FuturesInstrument, via_serde
);
symbol_channel!(
    /// `/contract/announcement:{symbol}`: funding settlement start and end.
    FuturesAnnouncementChannel, FuturesSymbol, FuturesAnnouncement, FuturesAnnouncement, via_serde
);
symbol_channel!(
    /// `/contractMarket/snapshot:{symbol}`: 24-hour statistics.
    FuturesSnapshotChannel, FuturesSymbol, FuturesSnapshot, FuturesSnapshot, via_serde
);
symbol_channel!(
    /// `/contractMarket/tradeOrders:{symbol}` (private): the account's orders of a contract.
    FuturesOrdersChannel, FuturesSymbol, FuturesOrders, FuturesOrderChange, via_serde
);
plain_channel!(
    /// `/contractMarket/tradeOrders` (private): all the account's futures orders.
    FuturesAllOrdersChannel, FuturesAllOrders, FuturesOrderChange, via_serde
);
plain_channel!(
    /// `/contractAccount/wallet` (private): the futures account's balance.
    FuturesWalletChannel, FuturesWallet, FuturesWalletBalance, via_serde
);
symbol_channel!(
    /// `/contract/position:{symbol}` (private): the account's position in a contract.
    FuturesPositionChannel, FuturesSymbol, FuturesPosition, FuturesPositionEvent, via_position
);
plain_channel!(
    /// `/contract/positionAll` (private): all the account's futures positions.
    FuturesAllPositionsChannel, FuturesAllPositions, FuturesPositionEvent, via_position
);
plain_channel!(
    /// `/contract/marginMode` (private): margin mode changes.
    FuturesMarginModeChannel, FuturesMarginMode, FuturesMarginModes, via_serde
);
plain_channel!(
    /// `/contract/crossLeverage` (private): cross-margin leverage changes.
    FuturesCrossLeverageChannel, FuturesCrossLeverage, FuturesCrossLeverage, via_serde
);
plain_channel!(
    /// `/contractMarket/advancedOrders` (private): the account's futures stop-order changes.
    FuturesStopOrdersChannel, FuturesStopOrders, FuturesStopOrderEvent, via_serde
);
