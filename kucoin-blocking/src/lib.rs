//! Blocking KuCoin client: drives the sans-IO [`kucoin_proto`] core over ureq 3 (REST) and
//! tungstenite with rustls (WebSocket).
//!
//! Two entry points:
//! - [`Rest`]: `rest.get(&endpoint)` for any `proto::rest::Endpoint` of its market.
//! - [`BookFeed`]: a live WebSocket feed that keeps level-2 books in step and yields
//!   [`FeedEvent`]s. It is an [`Iterator`]; between events the synced books can be read.
//! - [`ChannelFeed`]: typed channels (every KuCoin stream, public and private) and books over
//!   as many connections as they need (300 topics each by default).
//!
//! # The run loop
//! [`BookFeed::next_event`] is the whole adapter: it drains the core's events, sends the REST
//! calls it asks for (each on its own thread, so neither pings nor a reconnect's bullet wait on
//! a slow snapshot), connects
//! when told, writes what the core transmits, reads with a timeout set to the core's next
//! deadline and hands every frame, disconnect and timeout back.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kucoin_blocking::{BookFeed, Config};
//! use kucoin_blocking::proto::feed::FeedEvent;
//! use kucoin_blocking::proto::book::BookEvent;
//! use kucoin_blocking::proto::{Spot, SpotSymbol};
//! # let fake = kucoin_tests::FakeKucoin::start(kucoin_tests::FakeConfig::spot()).unwrap();
//! # let rest_url = fake.rest_url();
//! // `rest_url` is KuCoin's REST base (or a test server); the WebSocket URL comes from the bullet.
//! let config = Config::<Spot>::new().rest_url(&rest_url)?;
//! let mut feed = BookFeed::new(config)?;
//! let btc = SpotSymbol::new("BTC-USDT")?;
//! feed.add_book(btc.clone())?;
//! let give_up = Instant::now() + Duration::from_secs(20);
//! while let Some(event) = feed.next_event_until(give_up) {
//!     if let FeedEvent::Book { event: BookEvent::Synced { sequence }, .. } = event {
//!         let book = feed.book(&btc).expect("synced");
//!         assert_eq!(book.sequence(), sequence);
//!         println!("best bid {:?}", book.best_bid());
//!         break;
//!     }
//! }
//! feed.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The app life cycle
//! An app that goes to the background calls [`BookFeed::suspend`] (the socket is closed
//! gracefully, timers stop, every book reads `None`), and [`BookFeed::resume`] when it is back
//! (a fresh token, every topic resubscribed, every book resynced). When the OS reports a network
//! change (Wi-Fi to cellular), [`BookFeed::network_changed`] reconnects at once instead of
//! waiting for the pong deadline. [`BookFeed::availability`] tells how much of the time a book
//! was shown.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub use kucoin_proto as proto;

pub mod log_env;
pub mod transport;

#[cfg(feature = "cli")]
pub mod cli;

mod channels;
pub use channels::ChannelFeed;

use std::marker::PhantomData;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::book::{Availability, BookConfig, OrderBook, SpotSnapshotSource};
use kucoin_proto::feed::{
    CallId, CallPurpose, Failure, FailureCause, Feed, FeedConfig, FeedError, FeedEvent, FeedMarket,
    FeedState, FeedStatus, RestCall,
};
use kucoin_proto::rest::budget::{
    Outcome, PoolStatus, Quotas, RateBudget, RateCost, RetryPolicy, Ticket,
};
use kucoin_proto::rest::operation::{CursorPaged, CursorPages, Paged, Pages, Pool};
use kucoin_proto::rest::{
    BuildError, Endpoint, ErrorClass, RateLimit, ResponseError, RestClient, ServerTime,
    parse_response,
};
use kucoin_proto::ws::{
    DisconnectCause, LifecycleError, SessionConfig, SessionState, Topic, Transmit,
};
use kucoin_proto::{Market, ServerTimeOffset, Symbol, UnixMillis};

use rustls::pki_types::CertificateDer;
use transport::{ReadOutcome, TransportError, WsConn};

/// Everything that can go wrong in this adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (the caller's to fix: credentials, base URL).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// KuCoin answered with an error, or with something that is not its JSON envelope.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The network failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The feed refused a call (duplicate book, missing credentials, too many topics).
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// Credentials could not be used.
    #[error(transparent)]
    Auth(#[from] kucoin_proto::auth::AuthError),
    /// A life-cycle call in the wrong state (resume without suspend, suspend twice, …).
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
}

/// The local wall clock in Unix milliseconds (adapters read clocks; the core never does).
pub fn unix_now() -> UnixMillis {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    UnixMillis(ms)
}

/// How to reach KuCoin (or a compatible server) and what to follow.
#[derive(Clone)]
pub struct Config<M: Market> {
    rest: RestClient<M>,
    allow_plain: bool,
    feed: FeedConfig,
    http_timeout: Duration,
    connect_timeout: Duration,
    tls_roots: Vec<CertificateDer<'static>>,
    quotas: Quotas,
    retry: RetryPolicy,
    _market: PhantomData<M>,
}

impl<M: Market> std::fmt::Debug for Config<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("rest", &self.rest)
            .field("allow_plain", &self.allow_plain)
            .field("feed", &self.feed)
            .field("http_timeout", &self.http_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls_root_certificates", &self.tls_roots.len())
            .field("quotas", &self.quotas)
            .field("retry", &self.retry)
            .finish()
    }
}

impl<M: Market> Default for Config<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Market> Config<M> {
    /// KuCoin's production host for market `M`, public access, default timeouts.
    #[must_use]
    pub fn new() -> Self {
        Self {
            rest: RestClient::new(),
            allow_plain: false,
            feed: FeedConfig::default(),
            http_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            tls_roots: Vec::new(),
            quotas: Quotas::vip0(),
            retry: RetryPolicy::default(),
            _market: PhantomData,
        }
    }

    /// The rate-limit quotas [`Rest`] and the feeds' own calls (bullets, snapshots) start from
    /// (VIP0 by default; KuCoin's `gw-ratelimit-*` headers correct them from the first answer
    /// on). Each client keeps its own budget; the headers bring them in line.
    #[must_use]
    pub fn rate_limits(mut self, quotas: Quotas) -> Self {
        self.feed.rate_limits = quotas.clone();
        self.quotas = quotas;
        self
    }

    /// When a call refused with `429000` is sent again (see [`RetryPolicy`]; by default GETs
    /// up to 3 times, writes never).
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Opts in (or out) of sending again, once, an order placement or cancel refused with
    /// `429000` when it carries a `clientOid` (KuCoin refuses a second order with the same one).
    #[must_use]
    pub fn retry_orders_with_client_oid(mut self, yes: bool) -> Self {
        self.retry = self.retry.writes_with_client_oid(yes);
        self
    }

    /// The rate-limit quotas (see [`Config::rate_limits`]).
    #[must_use]
    pub fn rate_limits_value(&self) -> &Quotas {
        &self.quotas
    }

    /// The retry policy for `429000` (see [`Config::retry_policy`]).
    #[must_use]
    pub fn retry_policy_value(&self) -> RetryPolicy {
        self.retry
    }

    /// Another REST base URL (KuCoin's sandbox, a test server). An explicit `http://` base
    /// also allows the plain `ws://` endpoint its bullet names; production is always TLS.
    pub fn rest_url(mut self, url: &str) -> Result<Self, Error> {
        self.rest = self.rest.with_base_url(url)?;
        self.allow_plain = url.starts_with("http://");
        Ok(self)
    }

    /// API credentials: private endpoints, the private bullet, and (spot) the full level-2
    /// snapshot, which gives a complete book rather than the top 100 levels.
    pub fn credentials(mut self, credentials: Credentials) -> Result<Self, Error> {
        self.rest = self.rest.with_signer(Signer::new(credentials)?);
        self.feed.book.spot_snapshot = SpotSnapshotSource::Full;
        Ok(self)
    }

    /// Uses the private bullet (needs [`Config::credentials`]) for private topics.
    #[must_use]
    pub fn private(mut self) -> Self {
        self.feed.session.private = true;
        self
    }

    /// Replaces the session configuration (timeouts, backoff, seed).
    #[must_use]
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.feed.session = session;
        self
    }

    /// Replaces the book configuration (snapshot source, limits, retry backoff).
    #[must_use]
    pub fn book(mut self, book: BookConfig) -> Self {
        self.feed.book = book;
        self
    }

    /// Time limit for one REST call.
    #[must_use]
    pub fn http_timeout(mut self, d: Duration) -> Self {
        self.http_timeout = d;
        self
    }

    /// Time limit for connecting the WebSocket (TCP, TLS and handshake).
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Also trusts these certificates (DER) as roots, besides the webpki (Mozilla) roots: a
    /// corporate TLS proxy's CA, a test server's self-signed certificate. They apply to the
    /// WebSocket (`wss://`) and to `https://` REST calls. Calling it again adds more.
    ///
    /// A certificate that cannot be parsed makes [`BookFeed::new`] fail with
    /// [`TransportError::Tls`] (and REST calls fail their TLS handshakes).
    #[must_use]
    pub fn tls_root_certificates(mut self, certs: Vec<CertificateDer<'static>>) -> Self {
        self.tls_roots.extend(certs);
        self
    }

    /// The extra trusted root certificates (see [`Config::tls_root_certificates`]).
    #[must_use]
    pub fn tls_root_certificates_value(&self) -> &[CertificateDer<'static>] {
        &self.tls_roots
    }

    /// The REST request builder (base URL, credentials).
    #[must_use]
    pub fn rest_client(&self) -> &RestClient<M> {
        &self.rest
    }

    /// Whether plain `ws://` endpoints are allowed (only with an explicit `http://` base).
    #[must_use]
    pub fn allows_plain(&self) -> bool {
        self.allow_plain
    }

    /// The feed configuration (session and books).
    #[must_use]
    pub fn feed_config(&self) -> &FeedConfig {
        &self.feed
    }

    /// Time limit for one REST call.
    #[must_use]
    pub fn http_timeout_value(&self) -> Duration {
        self.http_timeout
    }

    /// Time limit for connecting the WebSocket.
    #[must_use]
    pub fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }
}

/// A blocking REST client for market `M`, signing with KuCoin's clock once it has learnt it,
/// and keeping under KuCoin's rate limits: every call waits for room in its pool
/// ([`RateBudget`], shared by the clones of this client).
///
/// ```
/// use kucoin_blocking::{Config, Rest};
/// use kucoin_blocking::proto::rest::{ServerTime, budget::Quotas, operation::Pool};
/// use kucoin_blocking::proto::Spot;
/// # let fake = kucoin_tests::FakeKucoin::start(kucoin_tests::FakeConfig::spot()).unwrap();
/// # let rest_url = fake.rest_url();
/// let config = Config::<Spot>::new()
///     .rest_url(&rest_url)?
///     .rate_limits(Quotas::vip0().with(Pool::Spot, 6_000)); // a VIP level's quotas
/// let rest = Rest::new(&config);
/// let _time = rest.call(&ServerTime::<Spot>::new())?; // waits if the Public pool is full
/// let public = rest.pool_status(Pool::Public);        // learnt from the answer's headers
/// assert!(public.from_headers && public.remaining < public.limit);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rest<M: Market> {
    rest: RestClient<M>,
    agent: ureq::Agent,
    clock: Arc<Mutex<ServerTimeOffset>>,
    budget: Arc<Mutex<RateBudget>>,
    retry: RetryPolicy,
}

impl<M: Market> Rest<M> {
    /// A client from a [`Config`] (base URL, credentials, timeout, rate limits).
    #[must_use]
    pub fn new(config: &Config<M>) -> Self {
        Self {
            rest: config.rest.clone(),
            agent: transport::http_agent_with_roots(config.http_timeout, &config.tls_roots),
            clock: Arc::new(Mutex::new(ServerTimeOffset::zero())),
            budget: Arc::new(Mutex::new(RateBudget::new(config.quotas.clone()))),
            retry: config.retry,
        }
    }

    /// Calls `endpoint` (any method: GET, POST, DELETE) and returns its typed data.
    ///
    /// It first waits (sleeping) until the endpoint's pool has room for its weight. A
    /// clock-skew refusal (`400002`) is answered by learning KuCoin's time and retrying once;
    /// a `429000` stops the pool until its reset, then the call is sent again when the
    /// [`RetryPolicy`] allows (GETs), else the error is returned with its code; other errors
    /// are returned (see [`ResponseError::is_retryable`]).
    pub fn call<E: Endpoint<Market = M>>(&self, endpoint: &E) -> Result<E::Response, Error> {
        let cost = endpoint.rate_cost();
        let mut skew_retried = false;
        let mut limited = 0;
        loop {
            let (resp, ticket) = self.send(endpoint, cost)?;
            let status = http::StatusCode::from_u16(resp.status)
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let parsed = parse_response::<E>(status, &resp.headers, &resp.body);
            let outcome = Outcome::of(&parsed.result);
            self.settle(ticket, parsed.rate_limit, outcome);
            match parsed.result {
                Err(_)
                    if outcome == Outcome::RateLimited
                        && self.retry.may_retry(
                            &E::METHOD,
                            &endpoint.query(),
                            &endpoint.body(),
                            limited,
                        ) =>
                {
                    limited += 1;
                    log::debug!(
                        "429000 on {}: retry {limited} after the reset",
                        endpoint.path()
                    );
                }
                Err(e)
                    if !skew_retried
                        && e.api().is_some_and(|a| a.class() == ErrorClass::ClockSkew) =>
                {
                    skew_retried = true;
                    self.sync_clock()?;
                }
                other => return Ok(other?),
            }
        }
    }

    /// Calls `endpoint`: the same as [`Rest::call`] (kept for the read-only endpoints).
    pub fn get<E: Endpoint<Market = M>>(&self, endpoint: &E) -> Result<E::Response, Error> {
        self.call(endpoint)
    }

    /// An iterator over every item of every page of `request` (see [`Pages`]); an error ends it.
    pub fn pages<E: Paged<Market = M>>(&self, request: E) -> PageIter<'_, M, E> {
        PageIter {
            rest: self,
            pages: Pages::new(request),
            buffered: std::collections::VecDeque::new(),
            failed: false,
        }
    }

    /// An iterator over every entry of every page of a cursor-paged `request` (see
    /// [`CursorPages`]: `lastId` paging of fills, closed orders and ledgers); an error ends it.
    pub fn cursor_pages<E: CursorPaged<Market = M>>(&self, request: E) -> CursorPageIter<'_, M, E> {
        CursorPageIter {
            rest: self,
            pages: CursorPages::new(request),
            buffered: std::collections::VecDeque::new(),
            failed: false,
        }
    }

    /// Learns KuCoin's clock from `GET /api/v1/timestamp`.
    pub fn sync_clock(&self) -> Result<ServerTimeOffset, Error> {
        let endpoint = ServerTime::<M>::default();
        let sent = unix_now();
        let (resp, ticket) = self.send(&endpoint, endpoint.rate_cost())?;
        let outcome = Outcome::of_answer(resp.status, &resp.body);
        self.settle(ticket, RateLimit::from_headers(&resp.headers), outcome);
        let mut clock = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        clock.observe_response(sent, unix_now(), resp.status, &resp.body)?;
        Ok(*clock)
    }

    /// The rate-limit budget of every pool now (limit, remaining, reset).
    #[must_use]
    pub fn budget(&self) -> std::collections::BTreeMap<Pool, PoolStatus> {
        self.lock_budget().snapshot_all(Instant::now())
    }

    /// The rate-limit budget of `pool` now.
    #[must_use]
    pub fn pool_status(&self, pool: Pool) -> PoolStatus {
        self.lock_budget().snapshot(pool, Instant::now())
    }

    fn lock_budget(&self) -> std::sync::MutexGuard<'_, RateBudget> {
        self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for room in the pool, then signs and sends one request.
    fn send<E: Endpoint<Market = M>>(
        &self,
        endpoint: &E,
        cost: RateCost,
    ) -> Result<(transport::HttpResponse, Ticket), Error> {
        let ticket = loop {
            let now = Instant::now();
            let acquired = self.lock_budget().acquire(cost, now);
            match acquired {
                Ok(ticket) => break ticket,
                Err(at) => thread::sleep(at.saturating_duration_since(now)),
            }
        };
        let offset = *self.clock.lock().unwrap_or_else(|p| p.into_inner());
        let sent = self
            .rest
            .request(endpoint, offset.adjust(unix_now()))
            .map_err(Error::from)
            .and_then(|req| Ok(transport::execute(&self.agent, req)?));
        match sent {
            Ok(resp) => Ok((resp, ticket)),
            Err(e) => {
                self.lock_budget().on_failed(ticket, Instant::now());
                Err(e)
            }
        }
    }

    fn settle(&self, ticket: Ticket, headers: Option<RateLimit>, outcome: Outcome) {
        self.lock_budget()
            .on_response(ticket, headers, outcome, Instant::now());
    }
}

/// Every item of every page of a paged operation, fetched page by page ([`Rest::pages`]).
#[derive(Debug)]
pub struct PageIter<'a, M: Market, E: Paged<Market = M>> {
    rest: &'a Rest<M>,
    pages: Pages<E>,
    buffered: std::collections::VecDeque<E::Item>,
    failed: bool,
}

impl<M: Market, E: Paged<Market = M>> Iterator for PageIter<'_, M, E> {
    type Item = Result<E::Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            let req = self.pages.next_request()?;
            match self.rest.call(&req) {
                Ok(answer) => self.buffered.extend(self.pages.handle_answer(answer)),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Every entry of every page of a cursor-paged operation, fetched page by page
/// ([`Rest::cursor_pages`]).
#[derive(Debug)]
pub struct CursorPageIter<'a, M: Market, E: CursorPaged<Market = M>> {
    rest: &'a Rest<M>,
    pages: CursorPages<E>,
    buffered: std::collections::VecDeque<E::Item>,
    failed: bool,
}

impl<M: Market, E: CursorPaged<Market = M>> Iterator for CursorPageIter<'_, M, E> {
    type Item = Result<E::Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            let req = self.pages.next_request()?;
            match self.rest.call(&req) {
                Ok(answer) => self.buffered.extend(self.pages.handle_answer(answer)),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

type RestResult = (CallId, Result<transport::HttpResponse, TransportError>);

/// One input handed to the sans-IO feed, as a [`BookFeed`] tap sees it (see
/// [`BookFeed::set_tap`]): enough to replay the session offline, on virtual time.
#[derive(Debug)]
#[non_exhaustive]
pub enum Tap<'a> {
    /// A REST answer the feed used (a bullet, a snapshot, the server time).
    Answer {
        /// What the call was for.
        purpose: &'a CallPurpose,
        /// HTTP status.
        status: u16,
        /// The body as received (a bullet carries its token: redact it before storing).
        body: &'a [u8],
    },
    /// A REST call failed below HTTP.
    CallFailed {
        /// What the call was for.
        purpose: &'a CallPurpose,
        /// Why.
        cause: &'a FailureCause,
    },
    /// The WebSocket handshake completed.
    Connected,
    /// The WebSocket could not be opened.
    ConnectFailed {
        /// Why.
        cause: &'a FailureCause,
    },
    /// A text frame received.
    Frame(&'a str),
    /// A binary frame received (its length).
    Binary(usize),
    /// The peer closed the WebSocket, or it broke.
    Disconnected {
        /// Why.
        reason: &'a str,
    },
    /// The feed's timers were run.
    Timeout,
}

/// A tap: called with the `now` the feed was given and what it was given.
pub type TapFn = Box<dyn FnMut(Instant, Tap<'_>) + Send>;

struct TapSlot(Option<TapFn>);

impl std::fmt::Debug for TapSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Tap(set)"
        } else {
            "Tap(none)"
        })
    }
}

impl TapSlot {
    fn emit(&mut self, now: Instant, tap: Tap<'_>) {
        if let Some(f) = self.0.as_mut() {
            f(now, tap);
        }
    }
}

/// A live WebSocket feed of level-2 books (and other topics) for market `M`.
///
/// Iterate it (or call [`BookFeed::next_event`]) to run it; read books between events.
#[derive(Debug)]
pub struct BookFeed<M: FeedMarket> {
    feed: Feed<M>,
    tls: Arc<rustls::ClientConfig>,
    allow_plain: bool,
    connect_timeout: Duration,
    ws: Option<WsConn>,
    agent: ureq::Agent,
    results_tx: mpsc::Sender<RestResult>,
    results: mpsc::Receiver<RestResult>,
    in_flight: usize,
    ended: bool,
    tap: TapSlot,
    /// What each in-flight call is for (kept while a tap is set).
    purposes: std::collections::BTreeMap<CallId, CallPurpose>,
}

/// The longest the loop blocks on the socket while a REST answer is awaited.
const REST_POLL: Duration = Duration::from_millis(5);

impl<M: FeedMarket> BookFeed<M> {
    /// A feed from a [`Config`]; it connects on the first [`BookFeed::next_event`].
    pub fn new(config: Config<M>) -> Result<Self, Error> {
        let feed = Feed::new(config.rest, config.feed, Instant::now())?;
        let (results_tx, results) = mpsc::channel();
        Ok(Self {
            feed,
            tls: transport::tls_config_with_roots(&config.tls_roots)?,
            allow_plain: config.allow_plain,
            connect_timeout: config.connect_timeout,
            ws: None,
            agent: transport::http_agent_with_roots(config.http_timeout, &config.tls_roots),
            results_tx,
            results,
            in_flight: 0,
            ended: false,
            tap: TapSlot(None),
            purposes: std::collections::BTreeMap::new(),
        })
    }

    /// Calls `tap` with every input handed to the feed from now on (REST answers and
    /// failures, connects, frames, disconnects, timer runs), with the `now` it was given: a
    /// recorder writes them down, and feeding them to a [`Feed`] in order replays the session.
    pub fn set_tap(&mut self, tap: TapFn) {
        self.tap = TapSlot(Some(tap));
    }

    /// Follows the level-2 book of `symbol`.
    pub fn add_book(&mut self, symbol: Symbol<M>) -> Result<(), Error> {
        Ok(self.feed.add_book(symbol, Instant::now())?)
    }

    /// Subscribes a topic that is not a book; its messages come as [`FeedEvent::Message`].
    pub fn subscribe(&mut self, topic: Topic) -> Result<(), Error> {
        Ok(self.feed.subscribe(topic, Instant::now())?)
    }

    /// Unsubscribes a topic added with [`BookFeed::subscribe`].
    pub fn unsubscribe(&mut self, topic: &Topic) -> Result<(), Error> {
        Ok(self.feed.unsubscribe(topic, Instant::now())?)
    }

    /// Stops following the book of `symbol`.
    pub fn remove_book(&mut self, symbol: &Symbol<M>) -> Result<(), Error> {
        Ok(self.feed.remove_book(symbol, Instant::now())?)
    }

    /// True once the feed has closed (no more events).
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.ended || self.feed.session().state() == SessionState::Closed
    }

    /// The synced book of `symbol`, or `None` while it is not known to be in step.
    #[must_use]
    pub fn book(&self, symbol: &Symbol<M>) -> Option<&OrderBook> {
        self.feed.book(symbol)
    }

    /// The sans-IO feed inside (state, stats, books).
    #[must_use]
    pub fn feed(&self) -> &Feed<M> {
        &self.feed
    }

    /// What the feed is doing now (connecting, syncing, live, backing off until ..., ended).
    #[must_use]
    pub fn state(&self) -> FeedState {
        self.feed.state()
    }

    /// The last failure with its cause (DNS, connect, TLS, HTTP status, KuCoin code) and when
    /// it is tried again.
    #[must_use]
    pub fn last_failure(&self) -> Option<&Failure> {
        self.feed.last_failure()
    }

    /// [`BookFeed::state`] and [`BookFeed::last_failure`] together.
    #[must_use]
    pub fn status(&self) -> FeedStatus {
        self.feed.status()
    }

    /// How much of the time `symbol`'s book was shown (available), up to now; time suspended
    /// is not counted.
    #[must_use]
    pub fn availability(&self, symbol: &Symbol<M>) -> Option<Availability> {
        self.feed.availability(symbol, Instant::now())
    }

    /// The app goes to the background: closes the socket gracefully now, stops every timer and
    /// marks every book not available ([`BookFeed::book`] is `None`, never stale). Nothing is
    /// sent or asked for until [`BookFeed::resume`]; [`BookFeed::next_event_until`] only waits.
    ///
    /// # Errors
    /// [`Error::Lifecycle`] when already suspended or closed; nothing changes then.
    pub fn suspend(&mut self) -> Result<(), Error> {
        self.feed.handle_suspend(Instant::now())?;
        self.flush_transmits();
        Ok(())
    }

    /// The app is back: a fresh bullet, a new connection, every topic resubscribed and every
    /// book resynced, as the next calls of [`BookFeed::next_event`] run.
    ///
    /// # Errors
    /// [`Error::Lifecycle`] unless suspended.
    pub fn resume(&mut self) -> Result<(), Error> {
        Ok(self.feed.handle_resume(Instant::now())?)
    }

    /// The OS reports a network change (Wi-Fi to cellular, often with no close on the old
    /// socket): the socket is dropped and a new one opened at once, without waiting for the
    /// pong deadline.
    ///
    /// # Errors
    /// [`Error::Lifecycle`] while suspended (call [`BookFeed::resume`]) or closed.
    pub fn network_changed(&mut self) -> Result<(), Error> {
        self.feed.handle_network_change(Instant::now())?;
        self.flush_transmits();
        Ok(())
    }

    /// Writes what the core transmits now (a close drops the socket).
    fn flush_transmits(&mut self) {
        while let Some(t) = self.feed.poll_transmit() {
            match t {
                Transmit::Text(text) => {
                    if let Some(ws) = self.ws.as_mut()
                        && let Err(e) = ws.send_text(text)
                    {
                        self.ws = None;
                        let (now, reason) = (Instant::now(), e.to_string());
                        self.tap.emit(now, Tap::Disconnected { reason: &reason });
                        self.feed
                            .handle_disconnected(now, DisconnectCause::Transport(reason));
                    }
                }
                _ => {
                    if let Some(mut ws) = self.ws.take() {
                        ws.close();
                    }
                    if self.feed.session().state() == SessionState::Closing {
                        self.feed.handle_disconnected(
                            Instant::now(),
                            DisconnectCause::ServerClosed {
                                code: None,
                                reason: "closed by the client".into(),
                            },
                        );
                    }
                }
            }
        }
    }

    /// Closes the session gracefully and drops the socket.
    pub fn close(&mut self) {
        self.feed.close(Instant::now());
        let give_up = Instant::now() + Duration::from_secs(2);
        while self.next_event_until(give_up).is_some() {}
        if let Some(mut ws) = self.ws.take() {
            ws.close();
        }
        self.ended = true;
    }

    /// Runs until the next event; `None` once the session has closed.
    pub fn next_event(&mut self) -> Option<FeedEvent<M>> {
        self.next_event_until(Instant::now() + Duration::from_secs(u64::from(u32::MAX)))
    }

    /// Runs until the next event or `give_up`, whichever comes first.
    pub fn next_event_until(&mut self, give_up: Instant) -> Option<FeedEvent<M>> {
        loop {
            if let Some(event) = self.feed.poll_event() {
                return Some(event);
            }
            if self.ended || self.feed.session().state() == SessionState::Closed {
                self.ended = true;
                return None;
            }
            let now = Instant::now();
            if now >= give_up {
                return None;
            }
            self.step(now, give_up);
        }
    }

    /// One turn of the loop: REST, connect, transmit, then one read (or wait).
    fn step(&mut self, now: Instant, give_up: Instant) {
        while let Some(RestCall {
            id,
            purpose,
            request,
        }) = self.feed.poll_request(now, unix_now())
        {
            log::debug!(
                "REST {purpose:?}: {} {}",
                request.method(),
                request.uri().path()
            );
            // One thread per call: calls are rare (bullets, snapshots), and one that hangs
            // (a slow snapshot) must not hold back the next (the bullet of a reconnect).
            if self.tap.0.is_some() {
                self.purposes.insert(id, purpose.clone());
            }
            let (agent, tx) = (self.agent.clone(), self.results_tx.clone());
            let spawned = thread::Builder::new()
                .name("kucoin-rest".into())
                .spawn(move || {
                    let _ = tx.send((id, transport::execute(&agent, request)));
                });
            match spawned {
                Ok(_) => self.in_flight += 1,
                Err(e) => self.feed.handle_request_failed(
                    now,
                    id,
                    format!("could not start a REST thread: {e}"),
                ),
            }
        }
        while let Ok((id, result)) = self.results.try_recv() {
            self.in_flight = self.in_flight.saturating_sub(1);
            self.deliver(id, result);
        }
        if self.ws.is_none()
            && let Some(url) = self.feed.poll_connect()
        {
            log::info!("connecting to {}", transport::redact_token(&url));
            match WsConn::connect(&url, &self.tls, self.allow_plain, self.connect_timeout) {
                Ok(ws) => {
                    self.ws = Some(ws);
                    let now = Instant::now();
                    self.tap.emit(now, Tap::Connected);
                    self.feed.handle_connected(now);
                }
                Err(e) => {
                    let (now, cause) = (Instant::now(), e.cause());
                    self.tap.emit(now, Tap::ConnectFailed { cause: &cause });
                    self.feed.handle_connect_failed_cause(now, cause);
                    if let Some(f) = self.feed.last_failure() {
                        log::warn!("{}", f.describe(now));
                    }
                }
            }
            return;
        }
        self.flush_transmits();
        if self.feed.has_events() {
            return;
        }
        let mut deadline = self.feed.poll_timeout().unwrap_or(give_up).min(give_up);
        if self.in_flight > 0 {
            deadline = deadline.min(now + REST_POLL);
        }
        match self.ws.as_mut() {
            Some(ws) => match ws.read(Some(deadline), now) {
                ReadOutcome::Text(text) => {
                    let now = Instant::now();
                    self.tap.emit(now, Tap::Frame(&text));
                    self.feed.handle_frame(now, &text);
                }
                ReadOutcome::Binary(len) => {
                    let now = Instant::now();
                    self.tap.emit(now, Tap::Binary(len));
                    self.feed.handle_binary(now, len);
                }
                ReadOutcome::Timeout => {}
                ReadOutcome::Closed(reason) => {
                    self.ws = None;
                    let now = Instant::now();
                    self.tap.emit(now, Tap::Disconnected { reason: &reason });
                    self.feed.handle_disconnected(
                        now,
                        DisconnectCause::ServerClosed { code: None, reason },
                    );
                }
            },
            None => {
                let wait = deadline.saturating_duration_since(now);
                if let Ok((id, result)) = self.results.recv_timeout(wait) {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    self.deliver(id, result);
                }
            }
        }
        // A busy socket never times out: fire due timers (pings!) whatever the read gave.
        let now = Instant::now();
        if self.feed.poll_timeout().is_some_and(|d| d <= now) {
            self.tap.emit(now, Tap::Timeout);
            self.feed.handle_timeout(now);
        }
    }

    fn deliver(&mut self, id: CallId, result: Result<transport::HttpResponse, TransportError>) {
        let now = Instant::now();
        let purpose = self.purposes.remove(&id);
        match result {
            Ok(resp) => {
                if let Some(purpose) = &purpose {
                    self.tap.emit(
                        now,
                        Tap::Answer {
                            purpose,
                            status: resp.status,
                            body: &resp.body,
                        },
                    );
                }
                self.feed.handle_response(
                    now,
                    unix_now(),
                    id,
                    resp.status,
                    &resp.headers,
                    &resp.body,
                );
            }
            Err(e) => {
                let cause = e.cause();
                if let Some(purpose) = &purpose {
                    self.tap.emit(
                        now,
                        Tap::CallFailed {
                            purpose,
                            cause: &cause,
                        },
                    );
                }
                self.feed.handle_request_failed_cause(now, id, cause);
            }
        }
        if let Some(f) = self.feed.last_failure()
            && f.at == now
        {
            log::warn!("{}", f.describe(now));
        }
    }
}

impl<M: FeedMarket> Iterator for BookFeed<M> {
    type Item = FeedEvent<M>;

    fn next(&mut self) -> Option<FeedEvent<M>> {
        self.next_event()
    }
}
