//! The run-time table of KuCoin's REST operations, type-erased answers, and paging.
//!
//! Every generated operation type (see [`crate::rest::api`]) implements [`Operation`]: its
//! [`OperationInfo`] holds the facts from KuCoin's specification (id, method, path template,
//! host, access, permission, rate-limit pool and weight). [`operations`] lists those of the
//! enabled Cargo features; [`parse_answer`] parses an answer body for an operation named by id
//! into its typed value, which a tool can print as JSON:
//!
//! ```
//! # #[cfg(feature = "spot")] {
//! use kucoin_proto::http::{HeaderMap, StatusCode};
//! use kucoin_proto::rest::operation::{operation, parse_answer};
//!
//! let info = operation("spot.market.getServerTime").expect("spot feature");
//! assert_eq!((info.method, info.path), ("GET", "/api/v1/timestamp"));
//! let answer = parse_answer(info.id, StatusCode::OK, &HeaderMap::new(),
//!     br#"{"code":"200000","data":1729100692873}"#).unwrap();
//! assert_eq!(answer.result.unwrap().to_json().unwrap(), 1729100692873u64);
//! # }
//! ```
//!
//! Each operation is typed with its host: a futures operation cannot be sent to the spot host.
//!
//! ```compile_fail
//! use kucoin_proto::rest::RestClient;
//! use kucoin_proto::rest::api::futures::market::GetTicker;
//! use kucoin_proto::{Spot, UnixMillis};
//! let spot = RestClient::<Spot>::new();
//! let _ = spot.request(&GetTicker::new("XBTUSDTM"), UnixMillis(0)); // expected `Spot`, found `Futures`
//! ```
//!
//! ```
//! use kucoin_proto::rest::RestClient;
//! use kucoin_proto::rest::api::futures::market::GetTicker;
//! use kucoin_proto::{Futures, UnixMillis};
//! let futures = RestClient::<Futures>::new();
//! let req = futures.request(&GetTicker::new("XBTUSDTM"), UnixMillis(0)).unwrap();
//! assert_eq!(req.uri(), "https://api-futures.kucoin.com/api/v1/ticker?symbol=XBTUSDTM");
//! ```

use std::any::Any;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::{Access, Endpoint, Query, RestResponse, parse_response};
use crate::num::Dec;

/// The host an operation is sent to (a [`crate::Market`] type at compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Host {
    /// `api.kucoin.com`: spot, margin, account, earn, copy trading ([`crate::Spot`]).
    Spot,
    /// `api-futures.kucoin.com` ([`crate::Futures`]).
    Futures,
    /// `api-broker.kucoin.com` ([`crate::Broker`]).
    Broker,
}

/// KuCoin's rate-limit resource pools: each operation's weight is charged to one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Pool {
    /// Spot (and margin) trading.
    Spot,
    /// Futures trading.
    Futures,
    /// Account management: balances, transfers, deposits, withdrawals, sub-accounts.
    Management,
    /// Public market data (counted per IP).
    Public,
    /// Earn products.
    Earn,
    /// Copy trading.
    CopyTrading,
    /// Broker operations.
    Broker,
}

/// One REST operation's facts, from KuCoin's specification.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OperationInfo {
    /// Stable id: `<service>.<sub-service>.<method name>`, e.g. `spot.order.addOrder`.
    pub id: &'static str,
    /// KuCoin's service name (`Spot`, `Futures`, `Margin`, `Account`, ...).
    pub service: &'static str,
    /// KuCoin's sub-service name (`Order`, `Market`, ...).
    pub sub_service: &'static str,
    /// HTTP method: `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// Path template with `{name}` path parameters.
    pub path: &'static str,
    /// The host it is sent to.
    pub host: Host,
    /// Public or private (signed).
    pub access: Access,
    /// The API-key permission it needs (`None` for public operations).
    pub permission: Option<&'static str>,
    /// The rate-limit pool it is charged to.
    pub pool: Pool,
    /// Its weight in that pool (`None` where KuCoin gives none).
    pub weight: Option<u32>,
    /// Whether it sends a JSON body.
    pub body: bool,
    /// Parses an answer body into the typed value (see [`parse_answer`]).
    pub parse: fn(http::StatusCode, &http::HeaderMap, &[u8]) -> RestResponse<Answer>,
}

impl OperationInfo {
    /// The HTTP method as an [`http::Method`].
    #[must_use]
    pub fn http_method(&self) -> http::Method {
        http::Method::from_bytes(self.method.as_bytes()).unwrap_or(http::Method::GET)
    }

    /// Whether `path` (no query) is an instance of this operation's path template.
    #[must_use]
    pub fn matches_path(&self, path: &str) -> bool {
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.contains('{') => {
                    // `{name}` or `prefix{name}suffix` (`level2_{size}`).
                    let (pre, rest) = w.split_once('{').unwrap_or((w, ""));
                    let post = rest.split_once('}').map_or("", |(_, p)| p);
                    let ok =
                        g.len() > pre.len() + post.len() && g.starts_with(pre) && g.ends_with(post);
                    if !ok {
                        return false;
                    }
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

/// A generated operation: an [`Endpoint`] with its facts, buildable from and printable as JSON.
pub trait Operation: Endpoint + Serialize + for<'de> Deserialize<'de> + fmt::Debug + Clone {
    /// The operation's facts.
    const INFO: &'static OperationInfo;
}

/// Something run for every operation type (see [`crate::rest::api::visit_all`]).
pub trait OperationVisitor {
    /// Called once per operation type.
    fn visit<E: Operation + 'static>(&mut self)
    where
        E::Response: Serialize + fmt::Debug + 'static;
}

/// The operations of the enabled Cargo features, in a stable order.
pub fn operations() -> impl Iterator<Item = &'static OperationInfo> {
    super::api::tables().into_iter().flatten().copied()
}

/// The operation with id `id` (e.g. `spot.order.addOrder`), when its feature is enabled.
#[must_use]
pub fn operation(id: &str) -> Option<&'static OperationInfo> {
    operations().find(|o| o.id == id)
}

/// No enabled operation has this id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no REST operation {0:?} (ids look like spot.order.addOrder; is its service's Cargo feature enabled?)"
)]
pub struct UnknownOperation(pub String);

/// Parses the answer of operation `id` into its typed value, erased as an [`Answer`].
pub fn parse_answer(
    id: &str,
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<RestResponse<Answer>, UnknownOperation> {
    let info = operation(id).ok_or_else(|| UnknownOperation(id.to_owned()))?;
    Ok((info.parse)(status, headers, body))
}

/// Parses the answer of `E` and erases its type (the `parse` of every [`OperationInfo`]).
pub fn parse_erased<E: Endpoint>(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> RestResponse<Answer>
where
    E::Response: Serialize + fmt::Debug + Send + Sync + 'static,
{
    let r = parse_response::<E>(status, headers, body);
    RestResponse {
        result: r.result.map(|v| Answer(Box::new(v))),
        rate_limit: r.rate_limit,
    }
}

trait ErasedAnswer: fmt::Debug + Send + Sync {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Serialize + fmt::Debug + Send + Sync + 'static> ErasedAnswer for T {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A typed answer whose type is known only at run time: print it as JSON or downcast it.
#[derive(Debug)]
pub struct Answer(Box<dyn ErasedAnswer>);

impl Answer {
    /// The typed value serialised back to JSON (decimals as exact strings).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        self.0.to_json()
    }

    /// The typed value, when it is a `T`.
    #[must_use]
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

/// The `data` of operations that answer with a flag or a bare value: KuCoin sends `true`, a
/// number, a string or `null` there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ack {
    /// `null` or absent.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, exact.
    Number(Dec),
    /// A string.
    Text(String),
}

impl Ack {
    /// True for `true`, a non-zero number, `"true"`, and `null` (KuCoin's bare success).
    #[must_use]
    pub fn is_ok(&self) -> bool {
        match self {
            Ack::Null => true,
            Ack::Bool(b) => *b,
            Ack::Number(n) => !n.0.is_zero(),
            Ack::Text(t) => t != "false",
        }
    }

    /// The value as an integer, when it is one.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Ack::Number(n) if n.0.fract().is_zero() => i64::try_from(n.0).ok(),
            Ack::Text(t) => t.parse().ok(),
            _ => None,
        }
    }
}

impl Serialize for Ack {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ack::Null => serializer.serialize_none(),
            Ack::Bool(b) => serializer.serialize_bool(*b),
            Ack::Number(n) => crate::num::dec_as_number(n, serializer),
            Ack::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Ack {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Option<&'de RawValue>>::deserialize(deserializer)?;
        let Some(raw) = raw else { return Ok(Ack::Null) };
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'n') => Ok(Ack::Null),
            Some(b't') => Ok(Ack::Bool(true)),
            Some(b'f') => Ok(Ack::Bool(false)),
            Some(b'"') => serde_json::from_str(text)
                .map(Ack::Text)
                .map_err(de::Error::custom),
            Some(b'{' | b'[') => Err(de::Error::custom(
                "expected true, a number, a string or null, found an object or array",
            )),
            _ => Dec::parse(text).map(Ack::Number).map_err(de::Error::custom),
        }
    }
}

/// A value that can be sent as a query parameter.
pub trait QueryValue {
    /// The raw (unencoded) text.
    fn query_value(&self) -> String;
}

impl QueryValue for String {
    fn query_value(&self) -> String {
        self.clone()
    }
}
impl QueryValue for i64 {
    fn query_value(&self) -> String {
        self.to_string()
    }
}
impl QueryValue for bool {
    fn query_value(&self) -> String {
        self.to_string()
    }
}
impl QueryValue for Dec {
    fn query_value(&self) -> String {
        self.to_string()
    }
}
impl<T: QueryValue> QueryValue for Vec<T> {
    /// Comma-separated, as KuCoin takes lists in the query.
    fn query_value(&self) -> String {
        self.iter()
            .map(QueryValue::query_value)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Adds required and optional parameters to a [`Query`] (for the generated code).
pub trait QueryExt {
    /// Appends a required parameter.
    fn req<T: QueryValue>(&mut self, key: &'static str, value: &T);
    /// Appends an optional parameter when it is set.
    fn opt<T: QueryValue>(&mut self, key: &'static str, value: &Option<T>);
}

impl QueryExt for Query {
    fn req<T: QueryValue>(&mut self, key: &'static str, value: &T) {
        self.push(key, value.query_value());
    }
    fn opt<T: QueryValue>(&mut self, key: &'static str, value: &Option<T>) {
        if let Some(v) = value {
            self.push(key, v.query_value());
        }
    }
}

/// The JSON body of a request (fields that are `None` left out).
pub fn json_body<T: Serialize>(request: &T) -> Vec<u8> {
    // Serialising these types cannot fail: string keys, no maps with other keys.
    serde_json::to_vec(request).unwrap_or_default()
}

/// Reads the text of an enum value: a string, or a number or boolean as its JSON text.
pub fn enum_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    crate::num::string_lenient(deserializer)
}

/// A closed set of KuCoin values with an `Unknown` arm for the ones added later.
#[allow(unused_macros)] // used by the generated services that are enabled
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "`.")]
                $variant,
            )*
            /// A value this library does not know (KuCoin adds values).
            Unknown(String),
        }

        impl $name {
            /// The value as KuCoin spells it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::rest::operation::enum_text(d).map(|t| Self::from(t.as_str()))
            }
        }

        impl $crate::rest::operation::QueryValue for $name {
            fn query_value(&self) -> String {
                self.as_str().to_owned()
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use string_enum;

/// Where a paged answer is: its page number and the number of pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageInfo {
    /// `currentPage` of the answer.
    pub current_page: Option<i64>,
    /// `totalPage` of the answer.
    pub total_page: Option<i64>,
}

/// An operation paged with `currentPage`/`pageSize`.
pub trait Paged: Endpoint + Clone {
    /// One element of the answer's `items`.
    type Item;
    /// Asks for page `page` (1-based).
    fn set_page(&mut self, page: i64);
    /// The answer's page position.
    fn page(answer: &Self::Response) -> PageInfo;
    /// The answer's items.
    fn items(answer: Self::Response) -> Vec<Self::Item>;
}

/// Sans-IO paging: the next request to send, given the previous answer.
///
/// ```
/// # #[cfg(feature = "account")] {
/// use kucoin_proto::rest::operation::Pages;
/// use kucoin_proto::rest::api::account::account::GetSpotLedger;
/// let mut pages = Pages::new(GetSpotLedger::new().page_size(50));
/// let first = pages.next_request().expect("the first page");
/// assert_eq!(first.current_page, Some(1));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Pages<E: Paged> {
    request: E,
    next: Option<i64>,
    /// Pages fetched so far.
    pub fetched: u32,
}

impl<E: Paged> Pages<E> {
    /// Pages of `request`, starting at page 1 (whatever page `request` asked for).
    #[must_use]
    pub fn new(request: E) -> Self {
        Self {
            request,
            next: Some(1),
            fetched: 0,
        }
    }

    /// The request for the next page, or `None` when every page has been read.
    pub fn next_request(&mut self) -> Option<E> {
        let page = self.next?;
        let mut r = self.request.clone();
        r.set_page(page);
        Some(r)
    }

    /// Takes the answer to the last request: its items; the next page is asked for only while
    /// `currentPage < totalPage` and the page was not empty.
    pub fn handle_answer(&mut self, answer: E::Response) -> Vec<E::Item> {
        let info = E::page(&answer);
        let asked = self.next.unwrap_or(1);
        let items = E::items(answer);
        self.fetched += 1;
        let current = info.current_page.unwrap_or(asked);
        self.next = match info.total_page {
            Some(total) if current < total && !items.is_empty() => Some(current + 1),
            _ => None,
        };
        items
    }
}

/// An operation paged with a `lastId` cursor (KuCoin's "HF" fills, closed orders and ledgers):
/// each request asks for the entries after the id the previous answer ended with.
pub trait CursorPaged: Endpoint + Clone {
    /// One entry of the answer.
    type Item;
    /// Asks for the entries after `last_id`.
    fn set_cursor(&mut self, last_id: i64);
    /// The `lastId` this request asks after (`None`: the newest entries).
    fn cursor(&self) -> Option<i64>;
    /// The cursor to ask after next: the answer's `lastId`, or the id of its last entry.
    fn next_cursor(answer: &Self::Response) -> Option<i64>;
    /// The answer's entries.
    fn items(answer: Self::Response) -> Vec<Self::Item>;
}

/// Sans-IO cursor paging: the next request to send, given the previous answer.
///
/// The first request is the one given (with whatever `lastId` it carries); each next one asks
/// after the cursor the previous answer ended with. Paging stops at an empty answer, an answer
/// without a cursor, or a cursor that does not move (so a peer repeating itself cannot loop us).
///
/// ```
/// # #[cfg(feature = "spot")] {
/// use kucoin_proto::rest::operation::CursorPages;
/// use kucoin_proto::rest::api::spot::order::GetTradeHistory;
/// let mut pages = CursorPages::new(GetTradeHistory::new("BTC-USDT").limit(100));
/// let first = pages.next_request().expect("the first page");
/// assert_eq!(first.last_id, None);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CursorPages<E: CursorPaged> {
    request: E,
    /// `None`: done; `Some(None)`: the first request; `Some(Some(id))`: ask after `id`.
    next: Option<Option<i64>>,
    /// The cursor the last request asked after.
    asked: Option<i64>,
    /// Pages fetched so far.
    pub fetched: u32,
}

impl<E: CursorPaged> CursorPages<E> {
    /// Pages of `request`, starting where `request` starts.
    #[must_use]
    pub fn new(request: E) -> Self {
        Self {
            request,
            next: Some(None),
            asked: None,
            fetched: 0,
        }
    }

    /// The request for the next page, or `None` when every page has been read.
    pub fn next_request(&mut self) -> Option<E> {
        let cursor = self.next?;
        let mut r = self.request.clone();
        if let Some(id) = cursor {
            r.set_cursor(id);
        }
        self.asked = r.cursor();
        Some(r)
    }

    /// Takes the answer to the last request and gives its entries; the next page is asked for
    /// only when this one had entries and a cursor other than the one just asked after.
    pub fn handle_answer(&mut self, answer: E::Response) -> Vec<E::Item> {
        let asked = self.asked;
        let cursor = E::next_cursor(&answer);
        let items = E::items(answer);
        self.fetched += 1;
        self.next = match cursor {
            Some(id) if !items.is_empty() && Some(id) != asked => Some(Some(id)),
            _ => None,
        };
        items
    }

    /// Whether every page has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.next.is_none()
    }
}

/// The `Deserialize` of the generated answer types: one small `match` per type over a shared,
/// generic object reader, instead of serde's derive (which expands to a field enum, a sequence
/// visitor and a wrapper type per lenient field, and cost most of this crate's compile time).
/// Unknown keys are skipped, absent ones stay `None`, a later duplicate key wins.
#[allow(dead_code)] // used by whichever generated services are enabled
pub(crate) mod answer_de {
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

    use crate::num::Dec;

    /// An answer object read key by key into its `Default` value.
    pub(crate) trait Fields: Default {
        /// The type's name, for errors.
        const NAME: &'static str;
        /// Reads the value of `key` into `self`; `false` for a key the type does not know.
        fn field<'de, A: MapAccess<'de>>(
            &mut self,
            key: &str,
            map: &mut A,
        ) -> Result<bool, A::Error>;
    }

    /// Reads a JSON object into `T` with [`Fields::field`].
    pub(crate) fn fields<'de, D: Deserializer<'de>, T: Fields>(d: D) -> Result<T, D::Error> {
        d.deserialize_map(ObjectVisitor::<T>(PhantomData))
    }

    struct ObjectVisitor<T>(PhantomData<T>);

    impl<'de, T: Fields> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a JSON object ({})", T::NAME)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut out = T::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if !out.field(&key, &mut map)? {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }

    /// An object key, borrowed from the input unless it has escapes.
    struct Key<'de>(Cow<'de, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object key")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }

    macro_rules! lenient {
        ($name:ident, $ty:ty, $read:path) => {
            /// A lenient field value (see the reader in [`crate::num`]).
            pub(crate) struct $name(pub(crate) Option<$ty>);
            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    $read(d).map($name)
                }
            }
        };
    }
    lenient!(OptString, String, crate::num::opt_string);
    lenient!(OptDec, Dec, crate::num::opt_dec);
    lenient!(OptI64, i64, crate::num::opt_i64);
    lenient!(OptBool, bool, crate::num::opt_bool);
}
