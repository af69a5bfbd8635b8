//! `Feed`: one WebSocket [`Session`] with the order books and topics that ride on it.
//!
//! The feed is what the adapters drive. It owns the REST request building too, so an adapter
//! only moves bytes: it sends the [`RestCall`]s it is given, connects where it is told, writes
//! the frames it is handed, and feeds back answers, frames, disconnects and timeouts.
//!
//! # Poll order
//! After any `handle_*` call, drain in this order: [`Feed::poll_event`],
//! [`Feed::poll_request`], [`Feed::poll_connect`], [`Feed::poll_transmit`]; then sleep until
//! [`Feed::poll_timeout`] or the next input, whichever comes first.
//!
//! # What the feed adds to the parts
//! - Every frame is routed once: a level-2 frame goes straight from the session's header scan to
//!   its book's decoder (no second parse, no allocation).
//! - A reconnect of the session invalidates every book: a book is never shown across a
//!   connection it did not see whole. Each book resyncs from a fresh snapshot.
//! - A book's timers (snapshot retries) run only while its topic is subscribed on a live
//!   connection: no snapshot is fetched, and no book shown, while the stream that must follow it
//!   is not flowing. The snapshot is asked for as soon as the subscription is acknowledged
//!   (messages are buffered meanwhile), so a quiet market has its book after one round trip.
//! - The host's life cycle is an input: [`Feed::handle_suspend`] (app in the background) closes
//!   the connection, stops every timer, drops queued requests and invalidates every book;
//!   [`Feed::handle_resume`] starts over with a fresh bullet, every topic resubscribed and every
//!   book resynced; [`Feed::handle_network_change`] reconnects at once instead of waiting for a
//!   missing pong. [`Feed::availability`] reports how much of the time each book was shown.
//! - A `400002` (clock skew) answer makes the feed ask for KuCoin's time and sign later requests
//!   with the server-adjusted clock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use crate::book::{
    Availability, BookConfig, BookError, BookEvent, BookMarket, BookSync, OrderBook,
    SnapshotRequest, SpotSnapshotSource,
};
use crate::market::{Futures, Market, Spot, Symbol};
use crate::rest::budget::{self, Outcome, Quotas, RateBudget, RateCost, Ticket};
use crate::rest::operation::Pool;
use crate::rest::{
    BuildError, BulletPrivate, BulletPublic, Endpoint, ErrorClass, FuturesOrderBook, L2Snapshot,
    PartDepth, RateLimit, ResponseError, RestClient, ServerTime, SpotFullOrderBook,
    SpotPartOrderBook, parse_envelope,
};
use crate::time::{ServerTimeOffset, UnixMillis};
use crate::ws::{
    DisconnectCause, FrameError, LifecycleError, ReconnectReason, Session, SessionConfig,
    SessionEvent, SessionState, SubscribeError, Timer, Topic, TopicError, Transmit,
};

mod books;
mod status;

use books::{Books, Route};
pub use status::{FailedStep, Failure, FailureCause, FeedState, FeedStatus};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::market::Spot {}
    impl Sealed for crate::market::Futures {}
}

/// A market a [`Feed`] can follow: [`Spot`] or [`Futures`].
pub trait FeedMarket: BookMarket + sealed::Sealed {
    /// Builds the REST request for a snapshot the book asked for.
    #[doc(hidden)]
    fn snapshot_call(
        rest: &RestClient<Self>,
        req: &SnapshotRequest,
        ts: UnixMillis,
    ) -> Result<http::Request<Vec<u8>>, BuildError>;

    /// The rate-limit pool and weight of that snapshot call.
    fn snapshot_cost(req: &SnapshotRequest) -> RateCost;
}

impl FeedMarket for Spot {
    fn snapshot_call(
        rest: &RestClient<Self>,
        req: &SnapshotRequest,
        ts: UnixMillis,
    ) -> Result<http::Request<Vec<u8>>, BuildError> {
        match req {
            SnapshotRequest::SpotFull { symbol } => {
                rest.request(&SpotFullOrderBook::new(symbol.clone()), ts)
            }
            SnapshotRequest::SpotTop100 { symbol } => rest.request(
                &SpotPartOrderBook::new(symbol.clone(), PartDepth::Hundred),
                ts,
            ),
            other => Err(BuildError::Http {
                detail: format!("a spot feed cannot fetch {other:?}"),
            }),
        }
    }

    fn snapshot_cost(req: &SnapshotRequest) -> RateCost {
        match req {
            SnapshotRequest::SpotFull { symbol } => {
                SpotFullOrderBook::new(symbol.clone()).rate_cost()
            }
            SnapshotRequest::SpotTop100 { symbol } => {
                SpotPartOrderBook::new(symbol.clone(), PartDepth::Hundred).rate_cost()
            }
            _ => RateCost::new(Pool::Public, budget::DEFAULT_WEIGHT),
        }
    }
}

impl FeedMarket for Futures {
    fn snapshot_call(
        rest: &RestClient<Self>,
        req: &SnapshotRequest,
        ts: UnixMillis,
    ) -> Result<http::Request<Vec<u8>>, BuildError> {
        match req {
            SnapshotRequest::Futures { symbol } => {
                rest.request(&FuturesOrderBook::new(symbol.clone()), ts)
            }
            other => Err(BuildError::Http {
                detail: format!("a futures feed cannot fetch {other:?}"),
            }),
        }
    }

    fn snapshot_cost(req: &SnapshotRequest) -> RateCost {
        match req {
            SnapshotRequest::Futures { symbol } => {
                FuturesOrderBook::new(symbol.clone()).rate_cost()
            }
            _ => RateCost::new(Pool::Public, budget::DEFAULT_WEIGHT),
        }
    }
}

/// Identifies one [`RestCall`] so its answer can be handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// What a [`RestCall`] is for (for logs and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallPurpose {
    /// A WebSocket token (`bullet-public` or `bullet-private`).
    Bullet {
        /// Whether the private bullet is asked for.
        private: bool,
    },
    /// A level-2 snapshot for a book.
    Snapshot {
        /// The book's symbol.
        symbol: String,
    },
    /// KuCoin's clock, after a clock-skew error.
    ServerTime,
}

/// A REST request the adapter must send; hand the answer to [`Feed::handle_response`].
#[derive(Debug)]
#[must_use]
pub struct RestCall {
    /// Pass this back with the answer.
    pub id: CallId,
    /// What the call is for.
    pub purpose: CallPurpose,
    /// The exact request to send (signed when private).
    pub request: http::Request<Vec<u8>>,
}

/// Tuning for a [`Feed`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FeedConfig {
    /// The WebSocket session's configuration (private bullet, timeouts, backoff, seed).
    pub session: SessionConfig,
    /// The books' configuration (snapshot source, buffer limits, retry backoff).
    pub book: BookConfig,
    /// Most events kept unread; past it the oldest are dropped and counted. Default 65,536.
    pub max_queued_events: usize,
    /// Whether [`BookEvent::Updated`] is reported: after frames changed a book, the next
    /// [`Feed::poll_event`] gives one coalesced `Updated` (so an adapter's loop returns about
    /// once per frame). Default `true`. Turn it off when the books are read on your own
    /// schedule (a recorder, a strategy on a timer, a UI at its frame rate): the hot path then
    /// queues nothing per frame. Every other book event (synced, gap, resync, crossed, …) is
    /// reported either way.
    pub book_updates: bool,
    /// The rate-limit quotas the feed's own REST calls (bullets, snapshots, server time) keep
    /// under: a call waits for room in its pool instead of drawing `429000` (a thousand books
    /// resyncing at once after a network change ask for a thousand snapshots). Default VIP0;
    /// each answer's `gw-ratelimit-*` headers correct it.
    pub rate_limits: Quotas,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::public(),
            book: BookConfig::default(),
            max_queued_events: 65_536,
            book_updates: true,
            rate_limits: Quotas::vip0(),
        }
    }
}

impl FeedConfig {
    /// Replaces the session configuration.
    #[must_use]
    pub fn with_session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Replaces the book configuration.
    #[must_use]
    pub fn with_book(mut self, book: BookConfig) -> Self {
        self.book = book;
        self
    }

    /// Sets [`FeedConfig::book_updates`]: whether [`BookEvent::Updated`] is reported.
    #[must_use]
    pub fn with_book_updates(mut self, on: bool) -> Self {
        self.book_updates = on;
        self
    }

    /// Replaces the rate-limit quotas of the feed's own REST calls ([`FeedConfig::rate_limits`]).
    #[must_use]
    pub fn with_rate_limits(mut self, quotas: Quotas) -> Self {
        self.rate_limits = quotas;
        self
    }
}

/// Counters of what the feed has seen, for panels and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedStats {
    /// Frames routed to a book.
    pub book_frames: u64,
    /// Frames of other topics handed out as [`FeedEvent::Message`].
    pub other_messages: u64,
    /// Gaps caught by the books.
    pub gaps: u64,
    /// Resyncs started by the books (gaps, reconnects, overflows, stale snapshots).
    pub resyncs: u64,
    /// Connections that reached `welcome` after the first.
    pub reconnects: u64,
    /// Frames that could not be parsed (each also reported as an event).
    pub frame_errors: u64,
    /// Events dropped because nobody read them (see [`FeedConfig::max_queued_events`]).
    pub dropped_events: u64,
    /// Times a REST call waited for room in its rate-limit pool ([`FeedConfig::rate_limits`]).
    pub rate_waits: u64,
}

/// A message of a topic that is not a book, with its data copied out of the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedMessage {
    /// The topic, such as `/market/ticker:BTC-USDT`.
    pub topic: String,
    /// The subject, such as `trade.ticker`.
    pub subject: Option<String>,
    /// The raw `data` JSON.
    pub data: String,
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedEvent<M: Market> {
    /// Something happened to the WebSocket session (connected, reconnecting, subscribed, …).
    Session(SessionEvent),
    /// Something happened to a book (synced, gap, resync, …).
    Book {
        /// The book's symbol.
        symbol: Symbol<M>,
        /// What happened.
        event: BookEvent,
    },
    /// A frame for a book could not be used; the book resyncs if it matters.
    BookError {
        /// The book's symbol.
        symbol: Symbol<M>,
        /// Why.
        error: BookError,
    },
    /// A message of a subscribed topic that is not a book.
    Message(OwnedMessage),
    /// A frame could not be parsed; the session lives on.
    FrameError(FrameError),
    /// A binary frame arrived (KuCoin sends text only); it was ignored.
    BinaryFrame {
        /// Its length in bytes.
        len: usize,
    },
    /// A REST call failed; what asked for it retries with backoff.
    RequestFailed {
        /// What the call was for.
        purpose: CallPurpose,
        /// Why it failed.
        error: RequestError,
    },
    /// KuCoin's clock was learnt after a clock-skew error; requests are now signed with it.
    ClockAdjusted {
        /// Server minus local, in milliseconds.
        offset_ms: i64,
    },
}

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request could not be built (missing credentials for a private endpoint, bad base URL).
    #[error("request not sent: {0}")]
    Build(#[from] BuildError),
    /// KuCoin (or what answered) gave an error or an unusable body.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The transport failed (DNS, TCP, TLS, timeout).
    #[error("transport failed: {0}")]
    Transport(String),
    /// A snapshot was received but could not be used.
    #[error("snapshot rejected: {0}")]
    Snapshot(BookError),
}

/// Why a feed call was refused (the caller's to fix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The book is already followed.
    #[error("a book for {0} is already followed")]
    DuplicateBook(String),
    /// The book is not followed.
    #[error("no book for {0} is followed: add it with Feed::add_book first")]
    UnknownBook(String),
    /// The symbol cannot form a topic.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// The configuration needs API credentials that the REST client does not have.
    #[error(
        "{needed_for} needs API credentials: give the RestClient a Signer \
         (RestClient::with_signer), or use a public session and SpotSnapshotSource::Top100"
    )]
    MissingCredentials {
        /// What needs them.
        needed_for: &'static str,
    },
    /// The session refused the subscription.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
}

#[derive(Debug)]
enum Pending {
    Bullet { private: bool },
    Snapshot { topic: String },
    ServerTime { sent: UnixMillis },
}

#[derive(Debug, Clone)]
enum Want {
    Bullet { private: bool },
    Snapshot { topic: String, req: SnapshotRequest },
    ServerTime,
}

/// One WebSocket session with the level-2 books and topics on it. See the [module docs](self).
#[derive(Debug)]
pub struct Feed<M: FeedMarket> {
    rest: RestClient<M>,
    clock: ServerTimeOffset,
    session: Session,
    book_config: BookConfig,
    books: Books<M>,
    /// Book topics acknowledged on the current connection: only their timers run.
    subscribed: BTreeSet<String>,
    wants: VecDeque<Want>,
    pending: BTreeMap<CallId, Pending>,
    next_id: u64,
    events: VecDeque<FeedEvent<M>>,
    max_events: usize,
    /// Report `BookEvent::Updated` ([`FeedConfig::book_updates`]).
    book_updates: bool,
    /// A book took a frame on the hot path and may have events to drain.
    books_dirty: bool,
    stats: FeedStats,
    connected_once: bool,
    clock_sync_pending: bool,
    rate_limit: Option<RateLimit>,
    session_deadline: Option<Instant>,
    /// The feed's own calls keep under KuCoin's rate limits.
    budget: RateBudget,
    /// The budget's ticket of each call in flight.
    tickets: BTreeMap<CallId, Ticket>,
    /// The next call waits for room in its pool until then.
    rate_wait: Option<Instant>,
    /// The last failure ([`Feed::last_failure`]).
    last_failure: Option<Failure>,
    /// `last_failure` was recorded by the current input: the session's `Reconnecting` that
    /// follows fills in its retry instant instead of recording the failure again.
    failure_fresh: bool,
    /// Consecutive failed connection attempts (from the session's `Reconnecting`).
    attempt: u32,
}

impl<M: FeedMarket> Feed<M> {
    /// A feed that builds REST requests with `rest` (its base URL and credentials).
    ///
    /// Fails when the configuration needs credentials that `rest` lacks (a private session, or
    /// spot books bootstrapped from the full snapshot).
    pub fn new(rest: RestClient<M>, config: FeedConfig, now: Instant) -> Result<Self, FeedError> {
        if !rest.has_signer() {
            if config.session.private {
                return Err(FeedError::MissingCredentials {
                    needed_for: "a private WebSocket session (bullet-private)",
                });
            }
            if M::NAME == Spot::NAME && config.book.spot_snapshot == SpotSnapshotSource::Full {
                return Err(FeedError::MissingCredentials {
                    needed_for: "the full spot level-2 snapshot (SpotSnapshotSource::Full)",
                });
            }
        }
        let mut feed = Self {
            rest,
            clock: ServerTimeOffset::zero(),
            session: Session::new(config.session, now),
            book_config: config.book,
            books: Books::new(),
            subscribed: BTreeSet::new(),
            wants: VecDeque::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            events: VecDeque::new(),
            max_events: config.max_queued_events.max(1),
            book_updates: config.book_updates,
            books_dirty: false,
            stats: FeedStats::default(),
            connected_once: false,
            clock_sync_pending: false,
            rate_limit: None,
            session_deadline: None,
            budget: RateBudget::new(config.rate_limits),
            tickets: BTreeMap::new(),
            rate_wait: None,
            last_failure: None,
            failure_fresh: false,
            attempt: 0,
        };
        // The session wants its bullet at once: make it visible to the first `poll_request`.
        feed.pump(now);
        Ok(feed)
    }

    /// Follows the level-2 book of `symbol`: subscribes its topic and syncs it from a snapshot.
    pub fn add_book(&mut self, symbol: Symbol<M>, now: Instant) -> Result<(), FeedError> {
        let book = BookSync::new(symbol.clone(), self.book_config.clone(), now);
        let key = book.topic().to_owned();
        if self.books.contains_key(&key) {
            return Err(FeedError::DuplicateBook(symbol.to_string()));
        }
        self.session.subscribe(Topic::parse(&key)?)?;
        self.books.insert(key, book);
        self.pump(now);
        Ok(())
    }

    /// Stops following the book of `symbol` and unsubscribes its topic.
    pub fn remove_book(&mut self, symbol: &Symbol<M>, now: Instant) -> Result<(), FeedError> {
        let key = self
            .books
            .iter()
            .find(|(_, b)| b.symbol() == symbol)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| FeedError::UnknownBook(symbol.to_string()))?;
        self.books.remove(&key);
        // Its snapshot calls are moot: forget them (a late answer is ignored) and drop queued ones.
        self.pending
            .retain(|_, p| !matches!(p, Pending::Snapshot { topic } if *topic == key));
        self.wants
            .retain(|w| !matches!(w, Want::Snapshot { topic, .. } if *topic == key));
        self.session.unsubscribe(&Topic::parse(&key)?)?;
        self.pump(now);
        Ok(())
    }

    /// Subscribes a topic that is not a book (tickers, matches, private channels); its messages
    /// come out as [`FeedEvent::Message`].
    pub fn subscribe(&mut self, topic: Topic, now: Instant) -> Result<(), FeedError> {
        self.session.subscribe(topic)?;
        self.pump(now);
        Ok(())
    }

    /// Unsubscribes a topic added with [`Feed::subscribe`].
    pub fn unsubscribe(&mut self, topic: &Topic, now: Instant) -> Result<(), FeedError> {
        self.session.unsubscribe(topic)?;
        self.pump(now);
        Ok(())
    }

    /// Closes the session gracefully; the feed ends with [`SessionEvent::Closed`].
    pub fn close(&mut self, now: Instant) {
        self.session.close(now);
        self.pump(now);
    }

    // ----------------------------------------------------------------- inputs

    /// The answer to a [`RestCall`]: status, headers and body. `unix` is the wall clock when it
    /// arrived (used to learn KuCoin's clock offset).
    pub fn handle_response(
        &mut self,
        now: Instant,
        unix: UnixMillis,
        id: CallId,
        status: u16,
        headers: &http::HeaderMap,
        body: &[u8],
    ) {
        let limit = RateLimit::from_headers(headers);
        if let Some(ticket) = self.tickets.remove(&id) {
            let outcome = Outcome::of_answer(status, body);
            self.budget.on_response(ticket, limit, outcome, now);
        }
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        if let Some(budget) = limit {
            self.rate_limit = Some(budget);
        }
        match pending {
            Pending::Bullet { private } => {
                if let Err(e) = self.session.handle_bullet_response(now, status, body) {
                    self.note_failure(
                        now,
                        FailureCause::from_response(&e),
                        FailedStep::Bullet { private },
                        None,
                    );
                    self.note_clock_skew(&e);
                    self.push(FeedEvent::RequestFailed {
                        purpose: CallPurpose::Bullet { private },
                        error: RequestError::Response(e),
                    });
                }
            }
            Pending::Snapshot { topic } => {
                let parsed = parse_envelope::<L2Snapshot>(status, body);
                if let Some(book) = self.books.get_mut(&topic) {
                    let symbol = book.symbol().clone();
                    let error = match parsed {
                        Ok(snap) => book
                            .handle_snapshot(now, &snap)
                            .err()
                            .map(RequestError::Snapshot),
                        Err(e) => {
                            // A clock-skew refusal is fixed by learning KuCoin's time: retry it
                            // (a non-retryable refusal makes the book fall back to level2_100).
                            let retry = e.is_retryable() || is_clock_skew(&e);
                            book.handle_snapshot_failed(now, retry);
                            Some(RequestError::Response(e))
                        }
                    };
                    if let Some(error) = error {
                        if let RequestError::Response(e) = &error {
                            self.note_clock_skew(e);
                        }
                        let cause = match &error {
                            RequestError::Response(e) => FailureCause::from_response(e),
                            other => FailureCause::Protocol(other.to_string()),
                        };
                        let retry_at = self.books.get(&topic).and_then(BookSync::poll_timeout);
                        self.note_failure(
                            now,
                            cause,
                            FailedStep::Snapshot {
                                symbol: symbol.to_string(),
                            },
                            retry_at,
                        );
                        self.push(FeedEvent::RequestFailed {
                            purpose: CallPurpose::Snapshot {
                                symbol: symbol.to_string(),
                            },
                            error,
                        });
                    }
                }
            }
            Pending::ServerTime { sent } => {
                self.clock_sync_pending = false;
                match self.clock.observe_response(sent, unix, status, body) {
                    Ok(_) => self.push(FeedEvent::ClockAdjusted {
                        offset_ms: self.clock.offset_ms(),
                    }),
                    Err(e) => self.push(FeedEvent::RequestFailed {
                        purpose: CallPurpose::ServerTime,
                        error: RequestError::Response(e),
                    }),
                }
            }
        }
        self.pump(now);
    }

    /// A [`RestCall`] failed below HTTP (DNS, TCP, TLS, timeout); the cause is classified
    /// from the text ([`FailureCause::classify_text`]). Adapters that can tell the cause should
    /// use [`Feed::handle_request_failed_cause`].
    pub fn handle_request_failed(&mut self, now: Instant, id: CallId, reason: String) {
        let cause = FailureCause::classify_text(&reason);
        self.handle_request_failed_with(now, id, RequestError::Transport(reason), cause);
        self.pump(now);
    }

    /// A call that will not be answered (failed, superseded): out of the budget's in-flight
    /// count, its weight still charged.
    fn release(&mut self, id: CallId, now: Instant) {
        if let Some(ticket) = self.tickets.remove(&id) {
            self.budget.on_failed(ticket, now);
        }
    }

    /// A [`RestCall`] failed below HTTP, with its cause classified by the adapter
    /// ([`FailureCause::Dns`], [`FailureCause::Connect`], [`FailureCause::Tls`], ...).
    pub fn handle_request_failed_cause(&mut self, now: Instant, id: CallId, cause: FailureCause) {
        let error = RequestError::Transport(cause.to_string());
        self.handle_request_failed_with(now, id, error, cause);
        self.pump(now);
    }

    fn handle_request_failed_with(
        &mut self,
        now: Instant,
        id: CallId,
        error: RequestError,
        cause: FailureCause,
    ) {
        self.release(id, now);
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        let reason = error.to_string();
        let purpose = match pending {
            Pending::Bullet { private } => {
                self.note_failure(now, cause, FailedStep::Bullet { private }, None);
                self.session.handle_bullet_failed(now, reason.clone());
                CallPurpose::Bullet { private }
            }
            Pending::Snapshot { topic } => {
                let symbol = match self.books.get_mut(&topic) {
                    Some(book) => {
                        book.handle_snapshot_failed(now, true);
                        book.symbol().to_string()
                    }
                    None => topic.clone(),
                };
                let retry_at = self.books.get(&topic).and_then(BookSync::poll_timeout);
                self.note_failure(
                    now,
                    cause,
                    FailedStep::Snapshot {
                        symbol: symbol.clone(),
                    },
                    retry_at,
                );
                CallPurpose::Snapshot { symbol }
            }
            Pending::ServerTime { .. } => {
                self.clock_sync_pending = false;
                self.note_failure(now, cause, FailedStep::ServerTime, None);
                CallPurpose::ServerTime
            }
        };
        self.push(FeedEvent::RequestFailed { purpose, error });
    }

    /// The WebSocket handshake to [`Feed::poll_connect`]'s URL completed.
    pub fn handle_connected(&mut self, now: Instant) {
        self.session.handle_connected(now);
        self.pump(now);
    }

    /// Connecting to [`Feed::poll_connect`]'s URL failed; the cause is classified from the
    /// text (see [`Feed::handle_connect_failed_cause`]).
    pub fn handle_connect_failed(&mut self, now: Instant, reason: String) {
        let cause = FailureCause::classify_text(&reason);
        self.note_failure(now, cause, FailedStep::Connect, None);
        self.session.handle_connect_failed(now, reason);
        self.pump(now);
    }

    /// Connecting to [`Feed::poll_connect`]'s URL failed, with its cause classified by the
    /// adapter.
    pub fn handle_connect_failed_cause(&mut self, now: Instant, cause: FailureCause) {
        let reason = cause.to_string();
        self.note_failure(now, cause, FailedStep::Connect, None);
        self.session.handle_connect_failed(now, reason);
        self.pump(now);
    }

    /// One WebSocket text frame. Level-2 frames go straight to their book.
    pub fn handle_frame(&mut self, now: Instant, text: &str) {
        // Hot path: a message frame in KuCoin's usual key order, for a book, on a live session.
        // The book of the last frame is tried first, by its whole frame prefix (no lookup), and
        // its decoder starts after the prefix; no event is queued per frame (`Updated` is
        // coalesced in the book until polled, and only reported if `book_updates` is on).
        if text.len() <= self.session.config().max_frame_len
            && self.session.state() == SessionState::Live
            && self.session_deadline.is_none_or(|d| now < d)
            && let Some(route) = self.books.route(text)
        {
            self.stats.book_frames += 1;
            let (book, result) = match route {
                Route::Prefixed(book) => {
                    let r = book.handle_prefixed_frame(now, text);
                    (book, r)
                }
                Route::Topic(book) => {
                    let r = book.handle_frame(now, text);
                    (book, r)
                }
            };
            while let Some(req) = book.poll_fetch() {
                want_snapshot(&mut self.wants, book.topic(), req);
            }
            if self.book_updates || book.has_queued_events() {
                self.books_dirty = true;
            }
            if let Err(error) = result {
                let symbol = book.symbol().clone();
                self.push(FeedEvent::BookError { symbol, error });
            }
            return;
        }
        match self.session.handle_frame(now, text) {
            Ok(Some(msg)) => {
                if let Some(book) = self.books.get_mut(msg.topic()) {
                    self.stats.book_frames += 1;
                    let result = book.handle_frame(now, msg.frame());
                    if let Err(error) = result {
                        let symbol = book.symbol().clone();
                        self.push(FeedEvent::BookError { symbol, error });
                    }
                    self.pump(now);
                    return;
                }
                self.stats.other_messages += 1;
                let data = msg.data().map(|d| d.get().to_owned());
                match data {
                    Ok(data) => self.push(FeedEvent::Message(OwnedMessage {
                        topic: msg.topic().to_owned(),
                        subject: msg.subject().map(str::to_owned),
                        data,
                    })),
                    Err(e) => {
                        self.stats.frame_errors += 1;
                        self.push(FeedEvent::FrameError(e));
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                self.stats.frame_errors += 1;
                self.push(FeedEvent::FrameError(e));
            }
        }
        self.pump(now);
    }

    /// A binary WebSocket frame (KuCoin sends none): reported and ignored.
    pub fn handle_binary(&mut self, now: Instant, len: usize) {
        self.push(FeedEvent::BinaryFrame { len });
        self.pump(now);
    }

    /// The host is suspending (the app goes to the background): the connection is closed
    /// gracefully ([`Feed::poll_transmit`] gives the close), every timer stops
    /// ([`Feed::poll_timeout`] is `None`), queued and unanswered REST calls are forgotten (late
    /// answers are ignored) and every book is invalidated ([`Feed::book`] is `None`; a book is
    /// never shown stale). Nothing is asked for until [`Feed::handle_resume`].
    ///
    /// # Errors
    /// [`LifecycleError::AlreadySuspended`], or [`LifecycleError::Closed`] after
    /// [`Feed::close`]; nothing changes then.
    pub fn handle_suspend(&mut self, now: Instant) -> Result<(), LifecycleError> {
        self.session.handle_suspend(now)?;
        self.pump(now);
        Ok(())
    }

    /// The host is back: a fresh bullet is asked for at once (never the old token), then the
    /// connection, every topic resubscribed, and every book resynced from a new snapshot.
    ///
    /// # Errors
    /// [`LifecycleError::NotSuspended`] unless suspended (or [`LifecycleError::Closed`]).
    pub fn handle_resume(&mut self, now: Instant) -> Result<(), LifecycleError> {
        self.session.handle_resume(now)?;
        self.pump(now);
        Ok(())
    }

    /// The host's network changed (Wi-Fi to cellular, often with no close event): the socket
    /// is dropped and a new one opened at once with a fresh bullet, without waiting for the
    /// pong deadline. Every book resyncs on the new connection.
    ///
    /// # Errors
    /// [`LifecycleError::Suspended`] while suspended (resume instead), or
    /// [`LifecycleError::Closed`] after [`Feed::close`].
    pub fn handle_network_change(&mut self, now: Instant) -> Result<(), LifecycleError> {
        self.session.handle_network_change(now)?;
        self.pump(now);
        Ok(())
    }

    /// The WebSocket closed or broke.
    pub fn handle_disconnected(&mut self, now: Instant, cause: DisconnectCause) {
        let failure = match &cause {
            DisconnectCause::Transport(t) => Some(FailureCause::classify_text(t)),
            DisconnectCause::ServerClosed { code, reason }
                if self.session.state() != SessionState::Closing =>
            {
                Some(FailureCause::Closed {
                    code: *code,
                    reason: reason.clone(),
                })
            }
            _ => None,
        };
        if let Some(f) = failure {
            self.note_failure(now, f, FailedStep::Stream, None);
        }
        self.session.handle_disconnected(now, cause);
        self.pump(now);
    }

    /// Time passed: fire whatever timers are due. Harmless when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.rate_wait.is_some_and(|at| at <= now) {
            self.rate_wait = None;
        }
        self.session.handle_timeout(now);
        for (topic, book) in &mut self.books {
            if self.subscribed.contains(topic) {
                book.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    // ---------------------------------------------------------------- outputs

    /// True when [`Feed::poll_event`] has something.
    #[must_use]
    pub fn has_events(&mut self) -> bool {
        if self.events.is_empty() && self.books_dirty {
            self.drain_books();
        }
        !self.events.is_empty()
    }

    /// The next event, oldest first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<FeedEvent<M>> {
        if self.events.is_empty() && self.books_dirty {
            if let Some(update) = self.lone_update() {
                return Some(update);
            }
            self.drain_books();
        }
        self.events.pop_front()
    }

    /// The next REST request to send, signed with `unix` (the local wall clock; the feed adds
    /// KuCoin's offset once it knows it). A request that cannot be built (say, a private one
    /// without credentials) comes out as [`FeedEvent::RequestFailed`] instead, and what asked
    /// for it backs off.
    #[must_use]
    pub fn poll_request(&mut self, now: Instant, unix: UnixMillis) -> Option<RestCall> {
        if self.wants.is_empty() || self.rate_wait.is_some_and(|at| now < at) {
            return None;
        }
        self.rate_wait = None;
        let ts = self.clock.adjust(unix);
        while let Some(want) = self.wants.pop_front() {
            let asked = want.clone();
            let (purpose, pending, built, cost) = match want {
                Want::Bullet { private } => (
                    CallPurpose::Bullet { private },
                    Pending::Bullet { private },
                    if private {
                        self.rest.request(&BulletPrivate::<M>::default(), ts)
                    } else {
                        self.rest.request(&BulletPublic::<M>::default(), ts)
                    },
                    if private {
                        BulletPrivate::<M>::default().rate_cost()
                    } else {
                        BulletPublic::<M>::default().rate_cost()
                    },
                ),
                Want::Snapshot { topic, req } => {
                    let symbol = self
                        .books
                        .get(&topic)
                        .map_or_else(|| topic.clone(), |b| b.symbol().to_string());
                    (
                        CallPurpose::Snapshot { symbol },
                        Pending::Snapshot { topic },
                        M::snapshot_call(&self.rest, &req, ts),
                        M::snapshot_cost(&req),
                    )
                }
                Want::ServerTime => (
                    CallPurpose::ServerTime,
                    Pending::ServerTime { sent: unix },
                    self.rest.request(&ServerTime::<M>::default(), ts),
                    ServerTime::<M>::default().rate_cost(),
                ),
            };
            // Room in the call's rate-limit pool, or the calls wait (in order) until there is.
            let ticket = match &built {
                Ok(_) => match self.budget.acquire(cost, now) {
                    Ok(ticket) => Some(ticket),
                    Err(at) => {
                        self.wants.push_front(asked);
                        self.rate_wait = Some(at);
                        self.stats.rate_waits += 1;
                        return None;
                    }
                },
                Err(_) => None,
            };
            let id = CallId(self.next_id);
            self.next_id += 1;
            if let Pending::Snapshot { topic } = &pending {
                // A re-asked snapshot (the last one timed out) supersedes the unanswered one: its
                // late answer is ignored, and unanswered calls never pile up.
                let superseded: Vec<CallId> = self
                    .pending
                    .iter()
                    .filter(|(_, p)| matches!(p, Pending::Snapshot { topic: t } if t == topic))
                    .map(|(id, _)| *id)
                    .collect();
                for old in superseded {
                    self.pending.remove(&old);
                    self.release(old, now);
                }
            }
            if let Some(ticket) = ticket {
                self.tickets.insert(id, ticket);
            }
            match built {
                Ok(request) => {
                    self.pending.insert(id, pending);
                    return Some(RestCall {
                        id,
                        purpose,
                        request,
                    });
                }
                Err(e) => {
                    // Tell the asker it failed (it backs off and asks again), and the user why.
                    self.pending.insert(id, pending);
                    self.fail_unbuilt(now, id, e);
                }
            }
        }
        None
    }

    /// Where to open the WebSocket, when a connection is due.
    #[must_use]
    pub fn poll_connect(&mut self) -> Option<url::Url> {
        self.session.poll_connect()
    }

    /// The next frame to write (or a close).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.session.poll_transmit()
    }

    /// The earliest deadline of the session and the books: call [`Feed::handle_timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = self
            .session
            .poll_timeout()
            .map(|(at, _): (Instant, Timer)| at);
        // A call waiting for room in its rate-limit pool.
        let rate = self.rate_wait.filter(|_| !self.wants.is_empty());
        self.books
            .iter()
            .filter(|(topic, _)| self.subscribed.contains(*topic))
            .filter_map(|(_, book)| book.poll_timeout())
            .chain(session)
            .chain(rate)
            .min()
    }

    // ---------------------------------------------------------------- getters

    /// The synced book of `symbol`, or `None` while it is not known to be in step.
    #[must_use]
    pub fn book(&self, symbol: &Symbol<M>) -> Option<&OrderBook> {
        self.book_sync(symbol).and_then(BookSync::book)
    }

    /// How much of the time `symbol`'s book was available, up to `now` (from the `now` values
    /// the feed was given; time suspended is not counted).
    #[must_use]
    pub fn availability(&self, symbol: &Symbol<M>, now: Instant) -> Option<Availability> {
        self.book_sync(symbol).map(|b| b.availability(now))
    }

    /// The sync state machine of `symbol`'s book.
    #[must_use]
    pub fn book_sync(&self, symbol: &Symbol<M>) -> Option<&BookSync<M>> {
        self.books.values().find(|b| b.symbol() == symbol)
    }

    /// All followed books, in topic order.
    pub fn books(&self) -> impl Iterator<Item = &BookSync<M>> {
        self.books.values()
    }

    /// The WebSocket session.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The REST request builder (base URL and credentials).
    #[must_use]
    pub fn rest(&self) -> &RestClient<M> {
        &self.rest
    }

    /// The learnt offset of KuCoin's clock.
    #[must_use]
    pub fn server_time_offset(&self) -> ServerTimeOffset {
        self.clock
    }

    /// The request budget from the last REST answer that carried `gw-ratelimit-*` headers.
    #[must_use]
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// REST calls handed out by [`Feed::poll_request`] and not yet answered (at most one per
    /// book, one bullet and one server-time call: a re-asked call supersedes the old one).
    #[must_use]
    pub fn outstanding_calls(&self) -> usize {
        self.pending.len()
    }

    /// Counters for panels and metrics.
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    /// What the feed is doing now: connecting, subscribing, syncing its books, live, backing
    /// off until the next attempt, suspended, or ended.
    #[must_use]
    pub fn state(&self) -> FeedState {
        match self.session.state() {
            SessionState::Closed | SessionState::Closing => FeedState::Ended,
            SessionState::Suspended => FeedState::Suspended,
            SessionState::Backoff => match self.session_deadline {
                Some(until) => FeedState::Backoff {
                    until,
                    attempt: self.attempt,
                },
                None => FeedState::Connecting,
            },
            SessionState::Live => {
                if self
                    .session
                    .topics()
                    .any(|t| !self.subscribed.contains(&t.to_string()))
                {
                    FeedState::Subscribing
                } else if self.books.values().any(|b| b.book().is_none()) {
                    FeedState::Syncing
                } else {
                    FeedState::Live
                }
            }
            _ => FeedState::Connecting,
        }
    }

    /// The last failure (bullet, connect, stream, snapshot, server time): its cause, what was
    /// being done, and when it is tried again. Kept after recovery (compare [`Failure::at`]).
    #[must_use]
    pub fn last_failure(&self) -> Option<&Failure> {
        self.last_failure.as_ref()
    }

    /// [`Feed::state`] and [`Feed::last_failure`] together.
    #[must_use]
    pub fn status(&self) -> FeedStatus {
        FeedStatus {
            state: self.state(),
            last_failure: self.last_failure.clone(),
        }
    }

    // --------------------------------------------------------------- plumbing

    fn fail_unbuilt(&mut self, now: Instant, id: CallId, error: BuildError) {
        let cause = FailureCause::Other(format!("request not built: {error}"));
        self.handle_request_failed_with(now, id, RequestError::Build(error), cause);
        self.pump(now);
    }

    fn note_failure(
        &mut self,
        now: Instant,
        cause: FailureCause,
        step: FailedStep,
        retry_at: Option<Instant>,
    ) {
        let attempt = if matches!(step, FailedStep::Snapshot { .. }) {
            0
        } else {
            self.attempt.saturating_add(1)
        };
        self.last_failure = Some(Failure {
            cause,
            step,
            at: now,
            retry_at,
            attempt,
        });
        self.failure_fresh = true;
    }

    fn note_clock_skew(&mut self, e: &ResponseError) {
        if is_clock_skew(e) && !self.clock_sync_pending {
            self.clock_sync_pending = true;
            self.wants.push_back(Want::ServerTime);
        }
    }

    fn push(&mut self, event: FeedEvent<M>) {
        self.events.push_back(event);
        self.trim_events();
    }

    fn trim_events(&mut self) {
        while self.events.len() > self.max_events {
            self.events.pop_front();
            self.stats.dropped_events += 1;
        }
    }

    /// Moves what the session and the books want into the feed's queues.
    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.session.poll_event() {
            match &ev {
                SessionEvent::Connected { .. } => {
                    self.attempt = 0;
                    if self.connected_once {
                        self.stats.reconnects += 1;
                    }
                    self.connected_once = true;
                }
                SessionEvent::Subscribed { topic } => {
                    let key = topic.to_string();
                    if let Some(book) = self.books.get_mut(&key) {
                        // The stream is flowing: ask for the snapshot now, buffering meanwhile.
                        book.handle_subscribed(now);
                        // A book's timers stand still while its topic is not subscribed; one
                        // that fell due meanwhile fires now, so no deadline the feed reports
                        // is past.
                        if book.poll_timeout().is_some_and(|at| at <= now) {
                            book.handle_timeout(now);
                        }
                    }
                    self.subscribed.insert(key);
                }
                SessionEvent::Unsubscribed { topic } => {
                    self.subscribed.remove(&topic.to_string());
                }
                SessionEvent::Disconnected { .. } | SessionEvent::Closed { .. } => {
                    if let SessionEvent::Disconnected {
                        cause:
                            cause @ (DisconnectCause::PongTimeout
                            | DisconnectCause::WelcomeTimeout
                            | DisconnectCause::TokenExpired),
                    } = &ev
                    {
                        let cause = FailureCause::from_reconnect(&ReconnectReason::Disconnected(
                            cause.clone(),
                        ));
                        self.note_failure(now, cause, FailedStep::Stream, None);
                    }
                    // The stream has a hole from here on: no book may be shown across it.
                    self.subscribed.clear();
                    self.forget_snapshots();
                    for book in self.books.values_mut() {
                        book.handle_reset(now);
                    }
                }
                SessionEvent::Suspended => {
                    // Nothing is asked for while suspended; late answers are ignored.
                    self.subscribed.clear();
                    self.wants.clear();
                    self.pending.clear();
                    for (_, ticket) in std::mem::take(&mut self.tickets) {
                        self.budget.on_failed(ticket, now);
                    }
                    self.rate_wait = None;
                    self.clock_sync_pending = false;
                    for book in self.books.values_mut() {
                        book.handle_suspend(now);
                    }
                }
                SessionEvent::Resumed => {
                    for book in self.books.values_mut() {
                        book.handle_resume(now);
                    }
                }
                SessionEvent::Reconnecting {
                    reason,
                    retry_at,
                    attempt,
                } => {
                    self.attempt = *attempt;
                    let planned = matches!(
                        reason,
                        ReconnectReason::Disconnected(
                            DisconnectCause::TokenRefresh
                                | DisconnectCause::NetworkChanged
                                | DisconnectCause::Suspended
                        )
                    );
                    match &mut self.last_failure {
                        Some(f) if self.failure_fresh && f.at == now => {
                            f.retry_at = Some(*retry_at);
                            f.attempt = *attempt;
                        }
                        _ if planned => {}
                        _ => {
                            self.last_failure = Some(Failure {
                                cause: FailureCause::from_reconnect(reason),
                                step: match reason {
                                    ReconnectReason::Bullet(_) => FailedStep::Bullet {
                                        private: self.session.config().private,
                                    },
                                    ReconnectReason::ConnectFailed(_) => FailedStep::Connect,
                                    _ => FailedStep::Stream,
                                },
                                at: now,
                                retry_at: Some(*retry_at),
                                attempt: *attempt,
                            });
                        }
                    }
                }
                _ => {}
            }
            self.push(FeedEvent::Session(ev));
        }
        self.failure_fresh = false;
        while let Some(req) = self.session.poll_fetch() {
            self.wants.push_back(Want::Bullet {
                private: req.private,
            });
        }
        self.drain_books();
        self.session_deadline = self.session.poll_timeout().map(|(at, _)| at);
    }

    /// Snapshot calls made for a connection that is gone: a snapshot must be taken while the
    /// stream that follows it flows, so their answers are ignored and the books ask again.
    fn forget_snapshots(&mut self) {
        self.pending
            .retain(|_, p| !matches!(p, Pending::Snapshot { .. }));
        self.wants.retain(|w| !matches!(w, Want::Snapshot { .. }));
    }

    fn drain_books(&mut self) {
        self.books_dirty = false;
        for book in self.books.values_mut() {
            drain_book(
                book,
                &mut self.wants,
                &mut self.events,
                &mut self.stats,
                self.book_updates,
            );
        }
        self.trim_events();
    }

    /// The common case after hot-path frames, without the queue: one book, and nothing but its
    /// coalesced `Updated` to report (snapshot requests were queued on the hot path already).
    fn lone_update(&mut self) -> Option<FeedEvent<M>> {
        let mut books = self.books.values_mut();
        let book = books.next()?;
        if books.next().is_some() || book.has_queued_events() {
            return None;
        }
        self.books_dirty = false;
        let event = book.poll_event()?;
        Some(FeedEvent::Book {
            symbol: book.symbol().clone(),
            event,
        })
    }
}

fn is_clock_skew(e: &ResponseError) -> bool {
    e.api().is_some_and(|a| a.class() == ErrorClass::ClockSkew)
}

fn drain_book<M: FeedMarket>(
    book: &mut BookSync<M>,
    wants: &mut VecDeque<Want>,
    events: &mut VecDeque<FeedEvent<M>>,
    stats: &mut FeedStats,
    book_updates: bool,
) {
    while let Some(event) = book.poll_event() {
        match event {
            BookEvent::GapDetected { .. } => stats.gaps += 1,
            BookEvent::ResyncStarted { .. } => stats.resyncs += 1,
            BookEvent::Updated { .. } if !book_updates => continue,
            _ => {}
        }
        events.push_back(FeedEvent::Book {
            symbol: book.symbol().clone(),
            event,
        });
    }
    while let Some(req) = book.poll_fetch() {
        want_snapshot(wants, book.topic(), req);
    }
}

/// Queues a book's snapshot call; one still waiting (for room in its rate-limit pool) for the
/// same topic is replaced, not doubled, so a book that asks again while its call waits does
/// not spend the pool twice.
fn want_snapshot(wants: &mut VecDeque<Want>, topic: &str, req: SnapshotRequest) {
    let queued = wants
        .iter_mut()
        .find(|w| matches!(w, Want::Snapshot { topic: t, .. } if t == topic));
    match queued {
        Some(Want::Snapshot { req: r, .. }) => *r = req,
        _ => wants.push_back(Want::Snapshot {
            topic: topic.to_owned(),
            req,
        }),
    }
}
