//! REST: signed request building and typed response parsing.
//!
//! An [`Endpoint`] says what to call (method, path, query, body, public or private, the type of
//! the answer, and which [`Market`] it belongs to). A [`RestClient`] of that market turns it into
//! an [`http::Request<Vec<u8>>`] — exactly what ureq 3's `Agent::run` takes — signing private
//! endpoints with the [`Signer`] and the timestamp you pass in.
//! [`parse_response`] turns the answer (status, headers, body) into the endpoint's typed data or
//! a typed [`ResponseError`], plus the [`RateLimit`] budget from KuCoin's `gw-ratelimit-*`
//! headers.
//!
//! Path and query are built once: the URL carries the query percent-encoded, and the signature
//! covers the same pairs in the same order *without* percent-encoding, as KuCoin's current
//! authentication docs require.
//!
//! A request for one market cannot be built by a client of the other:
//!
//! ```compile_fail
//! use kucoin_proto::{Spot, FuturesSymbol, UnixMillis};
//! use kucoin_proto::rest::{RestClient, FuturesOrderBook};
//! let spot = RestClient::<Spot>::new();
//! let ep = FuturesOrderBook::new(FuturesSymbol::new("XBTUSDTM").unwrap());
//! let _ = spot.request(&ep, UnixMillis(0)); // error: expected `Spot`, found `Futures`
//! ```
//!
//! ```
//! use kucoin_proto::{Futures, FuturesSymbol, UnixMillis};
//! use kucoin_proto::rest::{RestClient, FuturesOrderBook};
//! let futures = RestClient::<Futures>::new();
//! let ep = FuturesOrderBook::new(FuturesSymbol::new("XBTUSDTM").unwrap());
//! let req = futures.request(&ep, UnixMillis(0)).unwrap();
//! assert_eq!(
//!     req.uri().to_string(),
//!     "https://api-futures.kucoin.com/api/v1/level2/snapshot?symbol=XBTUSDTM"
//! );
//! ```
//!
//! # Example
//!
//! Build a signed request, send it with any HTTP client, parse the answer (the README shows the
//! same code):
//!
//! ```
//! use kucoin_proto::auth::{Credentials, Signer};
//! use kucoin_proto::http::{HeaderMap, StatusCode};
//! use kucoin_proto::rest::{RestClient, SpotFullOrderBook, parse_response};
//! use kucoin_proto::{Spot, SpotSymbol, UnixMillis};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let signer = Signer::new(Credentials::new("my-key", "my-secret", "my-passphrase"))?;
//!     let client = RestClient::<Spot>::new().with_signer(signer);
//!     let endpoint = SpotFullOrderBook::new(SpotSymbol::new("BTC-USDT")?);
//!
//!     // Read the clock once per request (adjusted by a ServerTimeOffset after a 400002).
//!     let now = UnixMillis(1_700_000_000_000);
//!     let request = client.request(&endpoint, now)?; // http::Request<Vec<u8>>, signed
//!     assert_eq!(
//!         request.uri(),
//!         "https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT"
//!     );
//!     assert!(request.headers().contains_key("KC-API-SIGN"));
//!
//!     // Send `request` with any HTTP client (ureq 3: `agent.run(request)`), then parse the answer.
//!     let body = br#"{"code":"200000","data":{"sequence":"14610502970","time":1729176273859,
//!         "bids":[["66976.4","0.69109872"]],"asks":[["66976.5","0.05408199"]]}}"#;
//!     let answer = parse_response::<SpotFullOrderBook>(StatusCode::OK, &HeaderMap::new(), body);
//!     let book = answer.result?;
//!     assert_eq!(book.bids[0].price, "66976.4");
//!     println!("rate limit: {:?}", answer.rate_limit);
//!     Ok(())
//! }
//! ```

pub mod api;
pub mod budget;
pub mod bullet;
pub mod endpoints;
pub mod envelope;
pub mod operation;
pub mod orderbook;
pub mod symbols;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::auth::{AuthError, Signer};
use crate::market::Market;
use crate::time::UnixMillis;

pub use bullet::{Bullet, InstanceServer};
pub use endpoints::{
    BulletPrivate, BulletPublic, FuturesOrderBook, PartDepth, ServerTime, SpotFullOrderBook,
    SpotPartOrderBook, SpotSymbols,
};
pub use envelope::{ApiCode, ApiError, ErrorClass, ResponseError, parse_envelope};
pub use orderbook::{L2Snapshot, SnapshotLevel};
pub use symbols::SymbolInfo;

/// Whether an endpoint needs signed `KC-API-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Access {
    /// No credentials needed.
    Public,
    /// Signed with the API key; building it without a signer is a misuse error.
    Private,
}

/// Ordered query parameters, holding raw (unencoded) values.
///
/// Pairs keep the order they were added in. [`Query::encoded`] percent-encodes every byte
/// outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) exactly once, for the URL;
/// [`Query::unencoded`] joins the raw pairs, for the signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(Cow<'static, str>, String)>,
}

impl Query {
    /// An empty query.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pair (raw value, not encoded).
    #[must_use]
    pub fn with(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.push(key, value);
        self
    }

    /// Appends a pair (raw value, not encoded).
    pub fn push(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// True when there are no pairs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// `k=v&k2=v2`, percent-encoded once: what the URL carries.
    #[must_use]
    pub fn encoded(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            percent_encode_into(&mut out, k);
            out.push('=');
            percent_encode_into(&mut out, v);
        }
        out
    }

    /// `k=v&k2=v2` without percent-encoding: what KuCoin's signature covers.
    #[must_use]
    pub fn unencoded(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn percent_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// One KuCoin REST endpoint of market [`Endpoint::Market`].
pub trait Endpoint {
    /// The market (host) this endpoint belongs to.
    type Market: Market;
    /// The typed content of the answer's `data` field.
    type Response: DeserializeOwned;
    /// The HTTP method.
    const METHOD: http::Method;
    /// Public, or private (signed).
    const ACCESS: Access;
    /// The path, starting with `/` (no query: use [`Endpoint::query`]).
    fn path(&self) -> Cow<'static, str>;
    /// The query parameters, in the order they are sent and signed.
    fn query(&self) -> Query {
        Query::new()
    }
    /// The exact body bytes to send and sign (empty for none).
    fn body(&self) -> Vec<u8> {
        Vec::new()
    }
    /// The rate-limit pool and weight this call is charged (KuCoin's specification values).
    ///
    /// By default looked up in the operation table by host, method and path (see
    /// [`budget::RateCost::lookup`]).
    fn rate_cost(&self) -> budget::RateCost {
        budget::RateCost::lookup::<Self::Market>(&Self::METHOD, &self.path(), Self::ACCESS)
    }
}

/// Why a request could not be built. All of these are the caller's to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A private endpoint was requested from a client without credentials.
    #[error(
        "{path} is a private endpoint and this client has no credentials: configure them with \
         RestClient::with_signer(Signer::new(Credentials::new(key, secret, passphrase))?)"
    )]
    MissingCredentials {
        /// The endpoint's path.
        path: String,
    },
    /// The base URL is not usable.
    #[error(
        "base URL {url:?} is not usable: {reason} (expected scheme://host[:port], e.g. https://api.kucoin.com)"
    )]
    BaseUrl {
        /// The rejected URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The endpoint's path is not a plain absolute path.
    #[error(
        "endpoint path {path:?} must start with '/' and hold only A-Z a-z 0-9 - . _ ~ / (put parameters in the query)"
    )]
    BadPath {
        /// The rejected path.
        path: String,
    },
    /// The signing headers could not be built.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The `http` crate rejected the request (should not happen with a validated base URL).
    #[error("could not build the HTTP request: {detail}")]
    Http {
        /// The `http` crate's message.
        detail: String,
    },
}

/// The two forms of an endpoint's path and query: the one sent, and the one signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAndQuery {
    /// Path plus `?` and the percent-encoded query: what the URL carries.
    pub sent: String,
    /// Path plus `?` and the unencoded query: what the signature covers.
    pub signed: String,
}

/// Builds the sent and signed forms of `ep`'s path and query, once.
pub fn path_and_query<E: Endpoint>(ep: &E) -> Result<PathAndQuery, BuildError> {
    let path = ep.path();
    if !path.starts_with('/')
        || !path.bytes().all(|b| is_unreserved(b) || b == b'/')
        || path.contains("//")
    {
        return Err(BuildError::BadPath {
            path: path.into_owned(),
        });
    }
    let query = ep.query();
    if query.is_empty() {
        return Ok(PathAndQuery {
            sent: path.to_string(),
            signed: path.into_owned(),
        });
    }
    Ok(PathAndQuery {
        sent: format!("{path}?{}", query.encoded()),
        signed: format!("{path}?{}", query.unencoded()),
    })
}

/// Builds requests for the endpoints of market `M`, signed when they are private.
///
/// The base URL defaults to KuCoin's production host for `M` (always https); another one
/// (KuCoin's sandbox, a local test server — plain http is accepted only here, when given
/// explicitly) is set with [`RestClient::with_base_url`].
pub struct RestClient<M: Market> {
    base: String,
    signer: Option<Signer>,
    _market: PhantomData<M>,
}

impl<M: Market> fmt::Debug for RestClient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("market", &M::NAME)
            .field("base", &self.base)
            .field("signer", &self.signer)
            .finish()
    }
}

impl<M: Market> Clone for RestClient<M> {
    fn clone(&self) -> Self {
        Self {
            base: self.base.clone(),
            signer: self.signer.clone(),
            _market: PhantomData,
        }
    }
}

impl<M: Market> Default for RestClient<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Market> RestClient<M> {
    /// A client for KuCoin's production host of `M`, without credentials.
    #[must_use]
    pub fn new() -> Self {
        Self {
            base: M::DEFAULT_REST_BASE.to_owned(),
            signer: None,
            _market: PhantomData,
        }
    }

    /// Uses another base URL: `scheme://host[:port]` with scheme `https` or (explicitly) `http`,
    /// no path, query, fragment or user info.
    pub fn with_base_url(mut self, base: &str) -> Result<Self, BuildError> {
        let bad = |reason| BuildError::BaseUrl {
            url: base.to_owned(),
            reason,
        };
        let url = url::Url::parse(base).map_err(|_| bad("it does not parse as a URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad("the scheme must be https or http"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it must not carry user info"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a path, query or fragment"));
        }
        self.base = url.origin().ascii_serialization();
        Ok(self)
    }

    /// Signs private endpoints with `signer`.
    #[must_use]
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The base URL in use, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// True when private endpoints can be built.
    #[must_use]
    pub fn has_signer(&self) -> bool {
        self.signer.is_some()
    }

    /// Builds the request for `ep`; private endpoints are signed with timestamp `ts`.
    ///
    /// Read the (server-adjusted, see [`crate::ServerTimeOffset`]) clock once per request and
    /// pass it here; a retried request must be built again so it is signed again.
    pub fn request<E: Endpoint<Market = M>>(
        &self,
        ep: &E,
        ts: UnixMillis,
    ) -> Result<http::Request<Vec<u8>>, BuildError> {
        let pq = path_and_query(ep)?;
        let body = ep.body();
        let mut req = http::Request::builder()
            .method(E::METHOD)
            .uri(format!("{}{}", self.base, pq.sent))
            .body(Vec::new())
            .map_err(|e| BuildError::Http {
                detail: e.to_string(),
            })?;
        let headers = req.headers_mut();
        // KuCoin wants JSON on every request (415000 otherwise); harmless without a body.
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(crate::USER_AGENT),
        );
        if E::ACCESS == Access::Private {
            let signer = self
                .signer
                .as_ref()
                .ok_or_else(|| BuildError::MissingCredentials {
                    path: pq.signed.split('?').next().unwrap_or_default().to_owned(),
                })?;
            signer
                .sign(ts, &E::METHOD, &pq.signed, &body)
                .apply(headers)?;
        }
        *req.body_mut() = body;
        Ok(req)
    }
}

/// The request budget from KuCoin's `gw-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// `gw-ratelimit-limit`: the size of the quota for the current window.
    pub limit: u64,
    /// `gw-ratelimit-remaining`: what is left of it.
    pub remaining: u64,
    /// `gw-ratelimit-reset`: milliseconds until the quota is refilled.
    pub reset_ms: u64,
}

impl RateLimit {
    /// Reads the three headers; `None` when any is missing or not a non-negative integer.
    #[must_use]
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let get =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(Self {
            limit: get("gw-ratelimit-limit")?,
            remaining: get("gw-ratelimit-remaining")?,
            reset_ms: get("gw-ratelimit-reset")?,
        })
    }
}

/// A parsed REST answer: the typed data or error, and the rate-limit budget.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RestResponse<T> {
    /// The endpoint's data, or why there is none.
    pub result: Result<T, ResponseError>,
    /// The budget from the `gw-ratelimit-*` headers, when they were present and well-formed.
    pub rate_limit: Option<RateLimit>,
}

/// Parses the answer to endpoint `E`: typed data or a typed error, plus the rate-limit budget.
///
/// Never panics, whatever the bytes.
pub fn parse_response<E: Endpoint>(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> RestResponse<E::Response> {
    RestResponse {
        result: parse_envelope(status.as_u16(), body),
        rate_limit: RateLimit::from_headers(headers),
    }
}
