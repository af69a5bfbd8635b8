//! Closed value sets (side, order type, status, ...), book levels, candles and kline intervals.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use crate::num::Dec;

/// A value set KuCoin may extend: known values as variants, anything else kept as text.
pub(crate) trait ValueSet: Sized {
    /// The variant for `text` (`Unknown` if not known).
    fn from_text(text: &str) -> Self;
}

/// Declares a `#[non_exhaustive]` enum of KuCoin's wire values with an `Unknown(String)` arm,
/// `as_str`, `Display`, `Serialize` and an allocation-free `Deserialize` for known values.
macro_rules! value_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this library does not know yet (KuCoin adds values).
            Unknown(String),
        }

        impl $name {
            /// The value as KuCoin writes it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(text) => text,
                }
            }
        }

        impl ValueSet for $name {
            fn from_text(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(TextVisitor::<$name>(std::marker::PhantomData))
            }
        }
    };
}

struct TextVisitor<T>(std::marker::PhantomData<T>);

impl<T: ValueSet> Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_text(v))
    }
}

struct OptTextVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: ValueSet> Visitor<'de> for OptTextVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        Ok((!v.is_empty()).then(|| T::from_text(v)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_str(OptTextVisitor(std::marker::PhantomData))
    }
}

/// An optional value set: absent, `null` and `""` are `None`.
pub(crate) fn opt_value<'de, D: Deserializer<'de>, T: ValueSet>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_option(OptTextVisitor::<T>(std::marker::PhantomData))
}

value_set! {
    /// Buy or sell.
    Side {
        /// `buy`.
        Buy = "buy",
        /// `sell`.
        Sell = "sell",
    }
}

value_set! {
    /// An order's type.
    OrderType {
        /// `limit`.
        Limit = "limit",
        /// `market`.
        Market = "market",
        /// `stop` (stop orders).
        Stop = "stop",
    }
}

value_set! {
    /// What happened to an order (the message's `type`).
    OrderEventType {
        /// `received`: the order reached the matching engine.
        Received = "received",
        /// `open`: the order is on the book.
        Open = "open",
        /// `match`: the order traded.
        Match = "match",
        /// `update`: the order's size changed.
        Update = "update",
        /// `filled`: the order is completely filled.
        Filled = "filled",
        /// `canceled`: the order was canceled.
        Canceled = "canceled",
        /// `cancel`: a stop order was canceled.
        Cancel = "cancel",
        /// `triggered`: a stop order was triggered.
        Triggered = "triggered",
    }
}

value_set! {
    /// An order's status.
    OrderStatus {
        /// `new`.
        New = "new",
        /// `open`.
        Open = "open",
        /// `match`.
        Match = "match",
        /// `done`.
        Done = "done",
    }
}

value_set! {
    /// Whether a fill took or made liquidity.
    Liquidity {
        /// `taker`.
        Taker = "taker",
        /// `maker`.
        Maker = "maker",
    }
}

value_set! {
    /// Which fee a fill paid.
    FeeType {
        /// `takerFee`.
        TakerFee = "takerFee",
        /// `makerFee`.
        MakerFee = "makerFee",
    }
}

value_set! {
    /// Isolated or cross margin.
    MarginMode {
        /// `ISOLATED`.
        Isolated = "ISOLATED",
        /// `CROSS`.
        Cross = "CROSS",
    }
}

value_set! {
    /// How a futures order traded (`tradeType`).
    FuturesTradeType {
        /// `trade`: a normal trade.
        Trade = "trade",
        /// `liquid`: a liquidation.
        Liquid = "liquid",
    }
}

value_set! {
    /// The account a spot stop order trades in (`tradeType`).
    TradeType {
        /// `TRADE`: spot.
        Trade = "TRADE",
        /// `MARGIN_TRADE`: cross margin.
        MarginTrade = "MARGIN_TRADE",
        /// `MARGIN_ISOLATED_TRADE`: isolated margin.
        MarginIsolatedTrade = "MARGIN_ISOLATED_TRADE",
    }
}

value_set! {
    /// A stop order's condition (`stop`).
    StopCondition {
        /// `loss`: triggers when the price falls to the stop price.
        Loss = "loss",
        /// `entry`: triggers when the price rises to the stop price.
        Entry = "entry",
        /// `l_l_o`.
        LLO = "l_l_o",
        /// `l_s_o`.
        LSO = "l_s_o",
        /// `e_l_o`.
        ELO = "e_l_o",
        /// `e_s_o`.
        ESO = "e_s_o",
        /// `tso`.
        Tso = "tso",
        /// `down` (futures).
        Down = "down",
        /// `up` (futures).
        Up = "up",
    }
}

value_set! {
    /// The price a futures stop order watches (`stopPriceType`).
    StopPriceType {
        /// `TP`: the last trade price.
        TradePrice = "TP",
        /// `MP`: the mark price.
        MarkPrice = "MP",
        /// `IP`: the index price.
        IndexPrice = "IP",
    }
}

value_set! {
    /// A futures position's side.
    PositionSide {
        /// `BOTH` (one-way mode).
        Both = "BOTH",
        /// `LONG` (hedge mode).
        Long = "LONG",
        /// `SHORT` (hedge mode).
        Short = "SHORT",
    }
}

value_set! {
    /// Why a futures position changed (`changeReason`).
    PositionChangeReason {
        /// `positionChange`.
        PositionChange = "positionChange",
        /// `markPriceChange`.
        MarkPriceChange = "markPriceChange",
        /// `marginChange`.
        MarginChange = "marginChange",
        /// `liquidation`.
        Liquidation = "liquidation",
        /// `autoAppendMarginStatusChange`.
        AutoAppendMarginStatusChange = "autoAppendMarginStatusChange",
        /// `adl`.
        Adl = "adl",
    }
}

value_set! {
    /// An isolated-margin position's status.
    IsolatedPositionStatus {
        /// `DEBT`.
        Debt = "DEBT",
        /// `CLEAR`.
        Clear = "CLEAR",
        /// `IN_BORROW`.
        InBorrow = "IN_BORROW",
        /// `IN_REPAY`.
        InRepay = "IN_REPAY",
        /// `IN_LIQUIDATION`.
        InLiquidation = "IN_LIQUIDATION",
        /// `IN_AUTO_RENEW`.
        InAutoRenew = "IN_AUTO_RENEW",
    }
}

value_set! {
    /// Why an isolated-margin position changed (`statusBizType`).
    IsolatedStatusBizType {
        /// `FORCE_LIQUIDATION`.
        ForceLiquidation = "FORCE_LIQUIDATION",
        /// `USER_BORROW`.
        UserBorrow = "USER_BORROW",
        /// `TRADE_AUTO_BORROW`.
        TradeAutoBorrow = "TRADE_AUTO_BORROW",
        /// `USER_REPAY`.
        UserRepay = "USER_REPAY",
        /// `AUTO_REPAY`.
        AutoRepay = "AUTO_REPAY",
        /// `DEFAULT_DEBT`.
        DefaultDebt = "DEFAULT_DEBT",
        /// `DEFAULT_CLEAR`.
        DefaultClear = "DEFAULT_CLEAR",
        /// `ONE_CLICK_LIQUIDATION`.
        OneClickLiquidation = "ONE_CLICK_LIQUIDATION",
        /// `B2C_INTEREST_SETTLE_LIQUIDATION`.
        B2cInterestSettleLiquidation = "B2C_INTEREST_SETTLE_LIQUIDATION",
        /// `AIR_DROP_LIQUIDATION`.
        AirDropLiquidation = "AIR_DROP_LIQUIDATION",
    }
}

value_set! {
    /// A cross-margin position status change (`type` of `position.status`).
    CrossMarginEventType {
        /// `FROZEN_FL`.
        FrozenFl = "FROZEN_FL",
        /// `UNFROZEN_FL`.
        UnfrozenFl = "UNFROZEN_FL",
        /// `FROZEN_RENEW`.
        FrozenRenew = "FROZEN_RENEW",
        /// `UNFROZEN_RENEW`.
        UnfrozenRenew = "UNFROZEN_RENEW",
        /// `LIABILITY`.
        Liability = "LIABILITY",
        /// `UNLIABILITY`.
        Unliability = "UNLIABILITY",
    }
}

/// A kline (candle) interval, as used in kline topics (`BTC-USDT_1hour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KlineInterval {
    /// `1min`.
    Min1,
    /// `3min`.
    Min3,
    /// `5min`.
    Min5,
    /// `15min`.
    Min15,
    /// `30min`.
    Min30,
    /// `1hour`.
    Hour1,
    /// `2hour`.
    Hour2,
    /// `4hour`.
    Hour4,
    /// `6hour`.
    Hour6,
    /// `8hour`.
    Hour8,
    /// `12hour`.
    Hour12,
    /// `1day`.
    Day1,
    /// `1week`.
    Week1,
    /// `1month`.
    Month1,
}

impl KlineInterval {
    /// Every interval, shortest first.
    pub const ALL: [KlineInterval; 14] = [
        Self::Min1,
        Self::Min3,
        Self::Min5,
        Self::Min15,
        Self::Min30,
        Self::Hour1,
        Self::Hour2,
        Self::Hour4,
        Self::Hour6,
        Self::Hour8,
        Self::Hour12,
        Self::Day1,
        Self::Week1,
        Self::Month1,
    ];

    /// The interval as written in topics (`1min`, `1hour`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Min1 => "1min",
            Self::Min3 => "3min",
            Self::Min5 => "5min",
            Self::Min15 => "15min",
            Self::Min30 => "30min",
            Self::Hour1 => "1hour",
            Self::Hour2 => "2hour",
            Self::Hour4 => "4hour",
            Self::Hour6 => "6hour",
            Self::Hour8 => "8hour",
            Self::Hour12 => "12hour",
            Self::Day1 => "1day",
            Self::Week1 => "1week",
            Self::Month1 => "1month",
        }
    }

    /// The interval for its topic text, if known.
    #[must_use]
    pub fn from_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == text)
    }
}

impl fmt::Display for KlineInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One price level of a book snapshot (`["67996.7","1.14213262"]`; futures sizes as numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// The price.
    pub price: Dec,
    /// The size at that price.
    pub size: Dec,
}

/// One change of a spot level-2 increment (`["67993.3","1.21427407","14701689783"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelChange {
    /// The price.
    pub price: Dec,
    /// The new size at that price (zero removes the level).
    pub size: Dec,
    /// The change's sequence number.
    pub sequence: u64,
}

/// Reads a level array's sequence element (a number or numeric string).
#[derive(Deserialize)]
struct LenientU64(#[serde(deserialize_with = "crate::num::u64_lenient")] u64);

struct LevelVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for LevelVisitor<N> {
    type Value = (Dec, Dec, Option<u64>);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an array of price, size{}",
            if N == 3 { ", sequence" } else { "" }
        )
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let price: Dec = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let size: Dec = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let sequence = if N == 3 {
            let s: LenientU64 = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(2, &self))?;
            Some(s.0)
        } else {
            None
        };
        // Ignore extra elements KuCoin may add.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok((price, size, sequence))
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (price, size, _) = deserializer.deserialize_seq(LevelVisitor::<2>)?;
        Ok(Level { price, size })
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&self.price)?;
        seq.serialize_element(&self.size)?;
        seq.end()
    }
}

impl<'de> Deserialize<'de> for LevelChange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (price, size, sequence) = deserializer.deserialize_seq(LevelVisitor::<3>)?;
        Ok(LevelChange {
            price,
            size,
            sequence: sequence.unwrap_or_default(),
        })
    }
}

impl Serialize for LevelChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(3))?;
        seq.serialize_element(&self.price)?;
        seq.serialize_element(&self.size)?;
        seq.serialize_element(&self.sequence.to_string())?;
        seq.end()
    }
}

/// A level that may be absent: `null` or `[]` is `None` (level 1 of an empty side).
pub(crate) fn opt_level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Level>, D::Error> {
    struct OptLevel;
    impl<'de> Visitor<'de> for OptLevel {
        type Value = Option<Level>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of price, size, or an empty array, or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(OptLevel)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let Some(price) = seq.next_element::<Dec>()? else {
                return Ok(None);
            };
            let size: Dec = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(1, &self))?;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(Some(Level { price, size }))
        }
    }
    d.deserialize_option(OptLevel)
}

/// One candle: `[start, open, close, high, low, volume, turnover]` (KuCoin's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Start of the interval, Unix seconds.
    pub start: u64,
    /// Opening price.
    pub open: Dec,
    /// Closing (latest) price.
    pub close: Dec,
    /// Highest price.
    pub high: Dec,
    /// Lowest price.
    pub low: Dec,
    /// Traded volume (base currency; contracts on futures).
    pub volume: Dec,
    /// Traded value (quote currency).
    pub turnover: Dec,
}

impl<'de> Deserialize<'de> for Candle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Candle;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of start, open, close, high, low, volume, turnover")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Candle, A::Error> {
                let start: LenientU64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mut next = |i: usize| -> Result<Dec, A::Error> {
                    seq.next_element::<Dec>()?
                        .ok_or_else(|| de::Error::invalid_length(i, &V))
                };
                let candle = Candle {
                    start: start.0,
                    open: next(1)?,
                    close: next(2)?,
                    high: next(3)?,
                    low: next(4)?,
                    volume: next(5)?,
                    turnover: next(6)?,
                };
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(candle)
            }
        }
        deserializer.deserialize_seq(V)
    }
}

impl Serialize for Candle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(7))?;
        seq.serialize_element(&self.start.to_string())?;
        for d in [
            &self.open,
            &self.close,
            &self.high,
            &self.low,
            &self.volume,
            &self.turnover,
        ] {
            seq.serialize_element(d)?;
        }
        seq.end()
    }
}

/// One futures level-2 change: `"90631.2,sell,2"` (price, side, new size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesChange {
    /// The price.
    pub price: Dec,
    /// The side of the book.
    pub side: Side,
    /// The new size at that price (zero removes the level).
    pub size: Dec,
}

impl FuturesChange {
    /// Parses `price,side,size`.
    fn parse_text<E: de::Error>(text: &str) -> Result<Self, E> {
        let mut parts = text.split(',');
        let (Some(price), Some(side), Some(size), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(E::custom(format!(
                "change {text:?} is not \"price,side,size\""
            )));
        };
        Ok(FuturesChange {
            price: Dec::parse(price).map_err(E::custom)?,
            side: Side::from_text(side),
            size: Dec::parse(size).map_err(E::custom)?,
        })
    }
}

impl<'de> Deserialize<'de> for FuturesChange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FuturesChange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string \"price,side,size\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FuturesChange, E> {
                FuturesChange::parse_text(v)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl Serialize for FuturesChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{},{},{}", self.price, self.side, self.size))
    }
}
