//! The endpoints this crate knows: server time, bullets, order-book snapshots, spot symbols.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use super::budget::{RateCost, host_of};
use super::operation::{Host, Pool};
use super::{Access, Bullet, Endpoint, L2Snapshot, Query, SymbolInfo};
use crate::market::{Futures, FuturesSymbol, Market, Spot, SpotSymbol};
use crate::time::UnixMillis;

macro_rules! market_marker_impls {
    ($name:ident) => {
        impl<M: Market> $name<M> {
            /// The endpoint for market `M`.
            #[must_use]
            pub fn new() -> Self {
                Self(PhantomData)
            }
        }
        impl<M: Market> Default for $name<M> {
            fn default() -> Self {
                Self::new()
            }
        }
        impl<M: Market> Clone for $name<M> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<M: Market> Copy for $name<M> {}
        impl<M: Market> fmt::Debug for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}<{}>", stringify!($name), M::NAME)
            }
        }
    };
}

/// `GET /api/v1/timestamp`: KuCoin's clock, in milliseconds (public; spot and futures).
///
/// Feed the answer to [`crate::ServerTimeOffset::observe_response`] after a `400002`.
pub struct ServerTime<M: Market>(PhantomData<M>);
market_marker_impls!(ServerTime);

impl<M: Market> Endpoint for ServerTime<M> {
    type Market = M;
    type Response = UnixMillis;
    const METHOD: http::Method = http::Method::GET;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v1/timestamp")
    }
    /// Public pool; weight 3 on the spot host, 2 on the futures host (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        match host_of::<M>() {
            Host::Futures => RateCost::new(Pool::Public, 2),
            _ => RateCost::new(Pool::Public, 3),
        }
    }
}

/// `POST /api/v1/bullet-public`: a WebSocket token for public topics (spot and futures).
///
/// Sent with an empty body: nothing to sign, nothing to get wrong. A token is good for one
/// connection; fetch a new one for every reconnect.
pub struct BulletPublic<M: Market>(PhantomData<M>);
market_marker_impls!(BulletPublic);

impl<M: Market> Endpoint for BulletPublic<M> {
    type Market = M;
    type Response = Bullet;
    const METHOD: http::Method = http::Method::POST;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v1/bullet-public")
    }
    /// Public pool, weight 10 (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        RateCost::new(Pool::Public, 10)
    }
}

/// `POST /api/v1/bullet-private`: a WebSocket token for private and public topics (signed).
///
/// Sent and signed with an empty body (the signature covers `ts + "POST" + path` and nothing
/// else), as KuCoin's SDKs that post no body do.
pub struct BulletPrivate<M: Market>(PhantomData<M>);
market_marker_impls!(BulletPrivate);

impl<M: Market> Endpoint for BulletPrivate<M> {
    type Market = M;
    type Response = Bullet;
    const METHOD: http::Method = http::Method::POST;
    const ACCESS: Access = Access::Private;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v1/bullet-private")
    }
    /// Weight 10 in the host's trading pool (Spot or Futures; KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        match host_of::<M>() {
            Host::Futures => RateCost::new(Pool::Futures, 10),
            _ => RateCost::new(Pool::Spot, 10),
        }
    }
}

/// `GET /api/v3/market/orderbook/level2?symbol=`: the full spot book (private, signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotFullOrderBook {
    /// The symbol.
    pub symbol: SpotSymbol,
}

impl SpotFullOrderBook {
    /// The full book of `symbol`.
    #[must_use]
    pub fn new(symbol: SpotSymbol) -> Self {
        Self { symbol }
    }
}

impl Endpoint for SpotFullOrderBook {
    type Market = Spot;
    type Response = L2Snapshot;
    const METHOD: http::Method = http::Method::GET;
    const ACCESS: Access = Access::Private;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v3/market/orderbook/level2")
    }
    fn query(&self) -> Query {
        Query::new().with("symbol", self.symbol.as_str())
    }
    /// Spot pool, weight 3 (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        RateCost::new(Pool::Spot, 3)
    }
}

/// How deep a partial spot book is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PartDepth {
    /// 20 levels per side (`level2_20`).
    Twenty,
    /// 100 levels per side (`level2_100`).
    Hundred,
}

/// `GET /api/v1/market/orderbook/level2_{20,100}?symbol=`: the top of the spot book (public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotPartOrderBook {
    /// The symbol.
    pub symbol: SpotSymbol,
    /// How many levels per side.
    pub depth: PartDepth,
}

impl SpotPartOrderBook {
    /// The top `depth` levels of `symbol`.
    #[must_use]
    pub fn new(symbol: SpotSymbol, depth: PartDepth) -> Self {
        Self { symbol, depth }
    }
}

impl Endpoint for SpotPartOrderBook {
    type Market = Spot;
    type Response = L2Snapshot;
    const METHOD: http::Method = http::Method::GET;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.depth {
            PartDepth::Twenty => "/api/v1/market/orderbook/level2_20",
            PartDepth::Hundred => "/api/v1/market/orderbook/level2_100",
        })
    }
    fn query(&self) -> Query {
        Query::new().with("symbol", self.symbol.as_str())
    }
    /// Public pool, weight 2 (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        RateCost::new(Pool::Public, 2)
    }
}

/// `GET /api/v1/level2/snapshot?symbol=`: the full futures book (public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesOrderBook {
    /// The contract.
    pub symbol: FuturesSymbol,
}

impl FuturesOrderBook {
    /// The full book of `symbol`.
    #[must_use]
    pub fn new(symbol: FuturesSymbol) -> Self {
        Self { symbol }
    }
}

impl Endpoint for FuturesOrderBook {
    type Market = Futures;
    type Response = L2Snapshot;
    const METHOD: http::Method = http::Method::GET;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v1/level2/snapshot")
    }
    fn query(&self) -> Query {
        Query::new().with("symbol", self.symbol.as_str())
    }
    /// Public pool, weight 3 (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        RateCost::new(Pool::Public, 3)
    }
}

/// `GET /api/v2/symbols[?market=]`: every spot symbol with its increments and limits (public).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpotSymbols {
    /// Only symbols of this trading area (`USDS`, `BTC`, `ALTS`, …), when set.
    pub market: Option<String>,
}

impl SpotSymbols {
    /// All symbols.
    #[must_use]
    pub fn all() -> Self {
        Self::default()
    }

    /// Only the symbols of one trading area.
    #[must_use]
    pub fn in_market(market: impl Into<String>) -> Self {
        Self {
            market: Some(market.into()),
        }
    }
}

impl Endpoint for SpotSymbols {
    type Market = Spot;
    type Response = Vec<SymbolInfo>;
    const METHOD: http::Method = http::Method::GET;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v2/symbols")
    }
    fn query(&self) -> Query {
        match &self.market {
            Some(m) => Query::new().with("market", m.as_str()),
            None => Query::new(),
        }
    }
    /// Public pool, weight 4 (KuCoin's spec).
    fn rate_cost(&self) -> RateCost {
        RateCost::new(Pool::Public, 4)
    }
}
