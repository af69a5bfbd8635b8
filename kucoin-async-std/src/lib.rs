//! Async KuCoin client on async-io: runs under smol and async-std alike (async-std is
//! discontinued upstream; smol is its successor, and both drive async-io's reactor).
//!
//! The same API as `kucoin-blocking`, async: [`Rest::get`] and a [`BookFeed`] whose
//! [`BookFeed::next_event`] (or [`BookFeed::events`], a `Stream`) runs the sans-IO core.
//! REST calls run through ureq on the `blocking` thread pool, so no executor is assumed.
//! [`ChannelFeed`] runs typed channels and books over as many connections as they need.
//!
//! # The run loop
//! Each turn drains the core's events, starts the REST calls it asks for, connects when told,
//! writes what it transmits, then waits for whichever comes first: a frame, a REST answer or
//! the core's next deadline.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kucoin_async_std::{BookFeed, Config};
//! use kucoin_async_std::proto::feed::FeedEvent;
//! use kucoin_async_std::proto::book::BookEvent;
//! use kucoin_async_std::proto::{Spot, SpotSymbol};
//! # let fake = kucoin_tests::FakeKucoin::start(kucoin_tests::FakeConfig::spot()).unwrap();
//! # let rest_url = fake.rest_url();
//! smol::block_on(async {
//!     let config = Config::<Spot>::new().rest_url(&rest_url)?;
//!     let mut feed = BookFeed::new(config)?;
//!     let btc = SpotSymbol::new("BTC-USDT")?;
//!     feed.add_book(btc.clone())?;
//!     let give_up = Instant::now() + Duration::from_secs(20);
//!     while let Some(event) = feed.next_event_until(give_up).await {
//!         if let FeedEvent::Book { event: BookEvent::Synced { .. }, .. } = event {
//!             println!("best ask {:?}", feed.book(&btc).and_then(|b| b.best_ask()));
//!             break;
//!         }
//!     }
//!     feed.close().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The app life cycle
//! [`BookFeed::suspend`] when the app goes to the background (the socket is closed gracefully,
//! timers stop, every book reads `None`), [`BookFeed::resume`] when it is back (a fresh token,
//! every topic resubscribed, every book resynced), [`BookFeed::network_changed`] when the OS
//! reports a network change (reconnect at once instead of waiting for the pong deadline).
//! [`BookFeed::availability`] tells how much of the time a book was shown.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub use kucoin_blocking::{Config, Error, unix_now};
pub use kucoin_proto as proto;

pub mod transport;

mod channels;
pub use channels::ChannelFeed;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::{FutureExt, Stream};
use kucoin_proto::book::{Availability, OrderBook};
use kucoin_proto::feed::{CallId, Failure, Feed, FeedEvent, FeedMarket, FeedState, RestCall};
use kucoin_proto::rest::budget::{Outcome, PoolStatus, RateBudget, RateCost, RetryPolicy, Ticket};
use kucoin_proto::rest::operation::{CursorPaged, CursorPages, Paged, Pages, Pool};
use kucoin_proto::rest::{Endpoint, ErrorClass, RateLimit, RestClient, ServerTime, parse_response};
use kucoin_proto::ws::{DisconnectCause, SessionState, Topic, Transmit};
use kucoin_proto::{Market, ServerTimeOffset, Symbol};

use transport::{HttpResponse, ReadOutcome, TransportError, WsConn};

/// An async REST client for market `M`, signing with KuCoin's clock once it has learnt it,
/// and keeping under KuCoin's rate limits: every call waits (on async-io's timer) for room in
/// its pool ([`RateBudget`], shared by the clones of this client).
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
            rest: config.rest_client().clone(),
            agent: transport::http_agent_with_roots(
                config.http_timeout_value(),
                config.tls_root_certificates_value(),
            ),
            clock: Arc::new(Mutex::new(ServerTimeOffset::zero())),
            budget: Arc::new(Mutex::new(RateBudget::new(
                config.rate_limits_value().clone(),
            ))),
            retry: config.retry_policy_value(),
        }
    }

    /// Calls `endpoint` (any method: GET, POST, DELETE) and returns its typed data.
    ///
    /// It first waits until the endpoint's pool has room for its weight. A clock-skew refusal
    /// (`400002`) is answered by learning KuCoin's time and retrying once; a `429000` stops the
    /// pool until its reset, then the call is sent again when the [`RetryPolicy`] allows
    /// (GETs), else the error is returned with its code.
    pub async fn call<E: Endpoint<Market = M>>(&self, endpoint: &E) -> Result<E::Response, Error> {
        let cost = endpoint.rate_cost();
        let mut skew_retried = false;
        let mut limited = 0;
        loop {
            let (resp, ticket) = self.send(endpoint, cost).await?;
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
                    self.sync_clock().await?;
                }
                other => return Ok(other?),
            }
        }
    }

    /// Calls `endpoint`: the same as [`Rest::call`] (kept for the read-only endpoints).
    pub async fn get<E: Endpoint<Market = M>>(&self, endpoint: &E) -> Result<E::Response, Error> {
        self.call(endpoint).await
    }

    /// Calls `E` for every page (see [`Pages`]) and returns all items, in order.
    pub async fn all_pages<E: Paged<Market = M>>(&self, request: E) -> Result<Vec<E::Item>, Error> {
        let mut pages = Pages::new(request);
        let mut items = Vec::new();
        while let Some(req) = pages.next_request() {
            let answer = self.call(&req).await?;
            items.extend(pages.handle_answer(answer));
        }
        Ok(items)
    }

    /// Calls a cursor-paged `E` for every page (see [`CursorPages`]: `lastId` paging of fills,
    /// closed orders and ledgers) and returns all entries, in order.
    pub async fn all_cursor_pages<E: CursorPaged<Market = M>>(
        &self,
        request: E,
    ) -> Result<Vec<E::Item>, Error> {
        let mut pages = CursorPages::new(request);
        let mut items = Vec::new();
        while let Some(req) = pages.next_request() {
            let answer = self.call(&req).await?;
            items.extend(pages.handle_answer(answer));
        }
        Ok(items)
    }

    /// Learns KuCoin's clock from `GET /api/v1/timestamp`.
    pub async fn sync_clock(&self) -> Result<ServerTimeOffset, Error> {
        let endpoint = ServerTime::<M>::default();
        let sent = unix_now();
        let (resp, ticket) = self.send(&endpoint, endpoint.rate_cost()).await?;
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

    /// Waits (async-io timer) for room in the pool, then signs and sends one request.
    async fn send<E: Endpoint<Market = M>>(
        &self,
        endpoint: &E,
        cost: RateCost,
    ) -> Result<(HttpResponse, Ticket), Error> {
        let ticket = loop {
            let acquired = self.lock_budget().acquire(cost, Instant::now());
            match acquired {
                Ok(ticket) => break ticket,
                Err(at) => {
                    async_io::Timer::at(at).await;
                }
            }
        };
        let offset = *self.clock.lock().unwrap_or_else(|p| p.into_inner());
        let request = match self.rest.request(endpoint, offset.adjust(unix_now())) {
            Ok(r) => r,
            Err(e) => {
                self.lock_budget().on_failed(ticket, Instant::now());
                return Err(e.into());
            }
        };
        match transport::execute(&self.agent, request).await {
            Ok(resp) => Ok((resp, ticket)),
            Err(e) => {
                self.lock_budget().on_failed(ticket, Instant::now());
                Err(e.into())
            }
        }
    }

    fn settle(&self, ticket: Ticket, headers: Option<RateLimit>, outcome: Outcome) {
        self.lock_budget()
            .on_response(ticket, headers, outcome, Instant::now());
    }
}

type RestResult = (CallId, Result<HttpResponse, TransportError>);

/// A live WebSocket feed of level-2 books (and other topics) for market `M`.
#[derive(Debug)]
pub struct BookFeed<M: FeedMarket> {
    feed: Feed<M>,
    agent: ureq::Agent,
    tls: Arc<rustls::ClientConfig>,
    allow_plain: bool,
    connect_timeout: Duration,
    ws: Option<WsConn>,
    results_tx: async_channel::Sender<RestResult>,
    results: async_channel::Receiver<RestResult>,
    ended: bool,
}

impl<M: FeedMarket> BookFeed<M> {
    /// A feed from a [`Config`]; it connects on the first [`BookFeed::next_event`].
    pub fn new(config: Config<M>) -> Result<Self, Error> {
        let feed = Feed::new(
            config.rest_client().clone(),
            config.feed_config().clone(),
            Instant::now(),
        )?;
        let (results_tx, results) = async_channel::unbounded();
        Ok(Self {
            feed,
            agent: transport::http_agent_with_roots(
                config.http_timeout_value(),
                config.tls_root_certificates_value(),
            ),
            tls: transport::tls_config_with_roots(config.tls_root_certificates_value())?,
            allow_plain: config.allows_plain(),
            connect_timeout: config.connect_timeout_value(),
            ws: None,
            results_tx,
            results,
            ended: false,
        })
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

    /// The last failure with its cause (DNS, connect, TLS, timeout, HTTP status, KuCoin code)
    /// and when it is tried again.
    #[must_use]
    pub fn last_failure(&self) -> Option<&Failure> {
        self.feed.last_failure()
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
    pub async fn suspend(&mut self) -> Result<(), Error> {
        self.feed.handle_suspend(Instant::now())?;
        self.flush_transmits().await;
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
    pub async fn network_changed(&mut self) -> Result<(), Error> {
        self.feed.handle_network_change(Instant::now())?;
        self.flush_transmits().await;
        Ok(())
    }

    /// Writes what the core transmits now (a close drops the socket).
    async fn flush_transmits(&mut self) {
        while let Some(t) = self.feed.poll_transmit() {
            match t {
                Transmit::Text(text) => {
                    if let Some(ws) = self.ws.as_mut()
                        && let Err(e) = ws.send_text(text).await
                    {
                        self.ws = None;
                        self.feed.handle_disconnected(
                            Instant::now(),
                            DisconnectCause::Transport(e.to_string()),
                        );
                    }
                }
                _ => {
                    if let Some(mut ws) = self.ws.take() {
                        ws.close().await;
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
    pub async fn close(&mut self) {
        self.feed.close(Instant::now());
        let give_up = Instant::now() + Duration::from_secs(2);
        while self.next_event_until(give_up).await.is_some() {}
        if let Some(mut ws) = self.ws.take() {
            ws.close().await;
        }
        self.ended = true;
    }

    /// The events as a `Stream` (borrowing the feed; use [`BookFeed::next_event`] to read books
    /// between events).
    pub fn events(&mut self) -> impl Stream<Item = FeedEvent<M>> + '_ {
        futures_lite::stream::unfold(self, |feed| async move {
            let event = feed.next_event().await?;
            Some((event, feed))
        })
    }

    /// Runs until the next event; `None` once the session has closed.
    pub async fn next_event(&mut self) -> Option<FeedEvent<M>> {
        self.next_event_until(Instant::now() + Duration::from_secs(u64::from(u32::MAX)))
            .await
    }

    /// Runs until the next event or `give_up`, whichever comes first.
    pub async fn next_event_until(&mut self, give_up: Instant) -> Option<FeedEvent<M>> {
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
            self.step(now, give_up).await;
        }
    }

    async fn step(&mut self, now: Instant, give_up: Instant) {
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
            let agent = self.agent.clone();
            let tx = self.results_tx.clone();
            blocking::unblock(move || {
                let result = kucoin_blocking::transport::execute(&agent, request);
                let _ = tx.send_blocking((id, result));
            })
            .detach();
        }
        while let Ok((id, result)) = self.results.try_recv() {
            self.deliver(id, result);
        }
        if self.ws.is_none()
            && let Some(url) = self.feed.poll_connect()
        {
            log::info!("connecting to {}", transport::redact_token(&url));
            match WsConn::connect(&url, &self.tls, self.allow_plain, self.connect_timeout).await {
                Ok(ws) => {
                    self.ws = Some(ws);
                    self.feed.handle_connected(Instant::now());
                }
                Err(e) => {
                    let now = Instant::now();
                    self.feed.handle_connect_failed_cause(now, e.cause());
                    if let Some(f) = self.feed.last_failure() {
                        log::warn!("{}", f.describe(now));
                    }
                }
            }
            return;
        }
        self.flush_transmits().await;
        if self.feed.has_events() {
            return;
        }
        let deadline = self.feed.poll_timeout().unwrap_or(give_up).min(give_up);
        enum Woke {
            Read(ReadOutcome),
            Rest(RestResult),
            Deadline,
        }
        let results = &self.results;
        let rest = async {
            match results.recv().await {
                Ok(r) => Woke::Rest(r),
                // The sender lives in self: this cannot end; wait for the deadline instead.
                Err(_) => {
                    async_io::Timer::at(deadline).await;
                    Woke::Deadline
                }
            }
        };
        let woke = match self.ws.as_mut() {
            Some(ws) => {
                async { Woke::Read(ws.read(Some(deadline)).await) }
                    .or(rest)
                    .await
            }
            None => {
                rest.or(async {
                    async_io::Timer::at(deadline).await;
                    Woke::Deadline
                })
                .await
            }
        };
        match woke {
            Woke::Read(ReadOutcome::Text(text)) => self.feed.handle_frame(Instant::now(), &text),
            Woke::Read(ReadOutcome::Binary(len)) => self.feed.handle_binary(Instant::now(), len),
            Woke::Read(ReadOutcome::Timeout) | Woke::Deadline => {}
            Woke::Read(ReadOutcome::Closed(reason)) => {
                self.ws = None;
                self.feed.handle_disconnected(
                    Instant::now(),
                    DisconnectCause::ServerClosed { code: None, reason },
                );
            }
            Woke::Rest((id, result)) => self.deliver(id, result),
        }
        // A busy socket never times out: fire due timers (pings!) whatever woke us.
        let now = Instant::now();
        if self.feed.poll_timeout().is_some_and(|d| d <= now) {
            self.feed.handle_timeout(now);
        }
    }

    fn deliver(&mut self, id: CallId, result: Result<HttpResponse, TransportError>) {
        let now = Instant::now();
        match result {
            Ok(resp) => self.feed.handle_response(
                now,
                unix_now(),
                id,
                resp.status,
                &resp.headers,
                &resp.body,
            ),
            Err(e) => self.feed.handle_request_failed_cause(now, id, e.cause()),
        }
        if let Some(f) = self.feed.last_failure()
            && f.at == now
        {
            log::warn!("{}", f.describe(now));
        }
    }
}
