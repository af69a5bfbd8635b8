//! A fake KuCoin exchange (REST and WebSocket on 127.0.0.1) for end-to-end tests.
//!
//! [`FakeKucoin::start`] binds two random loopback ports: a REST server (tiny_http) and a WebSocket
//! server (tungstenite over `std::net::TcpListener`). It keeps a *true* order book per symbol in
//! integer ticks and lots, changes it from a seeded generator thread, and streams the changes in
//! KuCoin's real wire format. Faults ([`Faults`]) are injected on a seeded schedule or on demand
//! through [`FakeHandle`], and counted in [`Stats`].
//!
//! The fake is an independent implementation: it checks signatures with its own HMAC code and
//! never uses `kucoin-proto`, so that it catches the client's mistakes instead of sharing them.
//!
//! ```
//! use kucoin_tests::{FakeConfig, FakeKucoin, Faults};
//!
//! let config = FakeConfig::spot().with_ping(200, 200).with_faults(Faults::chaos(7)).paused();
//! let fake = FakeKucoin::start(config)?;
//! let rest_base = fake.rest_url(); // give this to the client; bullets point at fake.ws_url()
//! assert!(rest_base.starts_with("http://127.0.0.1:"));
//! let truth = fake.true_book("BTC-USDT").expect("listed"); // best first, canonical decimals
//! assert_eq!((truth.bids.len(), truth.asks.len()), (100, 100));
//! fake.resume_updates(); // ...let a client sync, then:
//! fake.pause_updates(); // freeze, wait for the client to reach `true_book(..).sequence`, compare
//! assert_eq!(fake.stats().connections_open, 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Endpoints
//! REST (every answer carries `gw-ratelimit-limit`, `-remaining`, `-reset`):
//! - `GET /api/v1/timestamp` — the fake's clock (system clock + [`FakeConfig::clock_offset_ms`]).
//! - `POST /api/v1/bullet-public`, `POST /api/v1/bullet-private` (signed) — a token and one
//!   `instanceServers` entry pointing at `ws://127.0.0.1:PORT/` (or at
//!   [`FakeHandle::set_ws_endpoint_override`]'s URL, e.g. a [`tls::TlsFront`]'s `wss://`) with
//!   the configured ping timings.
//! - Spot: `GET /api/v3/market/orderbook/level2?symbol=` (signed, full book),
//!   `GET /api/v1/market/orderbook/level2_20?symbol=` and `level2_100` (public, partial).
//! - Futures: `GET /api/v1/level2/snapshot?symbol=` (full book, JSON numbers, `ts` in ns),
//!   `GET /api/v1/level2/depth20?symbol=` and `depth100`.
//!
//! WebSocket (`?token=…&connectId=…`): `welcome` (id = connectId), `ping` → `pong` (same id),
//! `subscribe`/`unsubscribe` with `ack` when `response` is true. Topics, one or more
//! comma-separated symbols (at most 100 per request):
//! - spot `/market/level2:SYM` (`trade.l2update`, `sequenceStart`/`sequenceEnd`, one sequence per
//!   change, size `"0"` deletes, some `["0","0",seq]` sequence-only changes),
//!   `/spotMarket/level2Depth5:SYM`, `/market/ticker:SYM`;
//! - futures `/contractMarket/level2:SYM` (`change: "price,side,size"`, one sequence per message),
//!   `/contractMarket/level2Depth5:SYM`, `/contractMarket/tickerV2:SYM`.
//!
//! Depth5 and ticker messages are sent once per generator tick per symbol, from the same book.
//! So is every other public channel of the market a client follows (trades, level 1, depth50,
//! klines, `/market/ticker:all`, symbol and market snapshots, call-auction data, margin mark and
//! index prices; futures ticker V1, depth50, executions, instrument, 24-hour snapshot, klines):
//! KuCoin's example message of the channel with the book's symbol, prices, sizes, levels,
//! sequence and times in it. Private channels and futures announcements carry what a test
//! scripts ([`FakeHandle::inject_channel_frame`]).
//!
//! # The small exchange
//! Unless [`FakeConfig::spec_answers_only`], the fake keeps accounts and orders (funded with
//! [`FakeHandle::fund`], read with [`FakeHandle::balances`]) and answers from them, signed:
//! - spot: `GET /api/v1/accounts` (trade accounts), `POST /api/v1/hf/orders` and `/sync`,
//!   `DELETE /api/v1/hf/orders/{orderId}`, `/client-order/{clientOid}`, their `/sync` forms and
//!   `DELETE /api/v1/hf/orders?symbol=` (all of a symbol), `GET /api/v1/hf/orders/{orderId}`,
//!   `/client-order/{clientOid}`, `/active`, and `GET /api/v1/hf/fills`;
//! - futures (linear USDT contracts; multiplier 0.001 for XBT, 0.01 for ETH, else 1; isolated
//!   margin price × size × multiplier / leverage): `POST /api/v1/orders`, `DELETE
//!   /api/v1/orders/{orderId}`, `/client-order/{clientOid}`, `DELETE /api/v3/orders?symbol=`,
//!   `GET /api/v1/orders` (`status=active|done`), `/{orderId}`, `/byClientOid`,
//!   `GET /api/v1/position`, `/positions`, `GET /api/v1/account-overview`.
//!
//! Limit and market orders (size only; GTC or IOC) take the true book's levels at their prices
//! (the book publishes the change), pay [`TAKER_FEE_RATE`] in the quote currency (USDT), and
//! what is left of a GTC limit order rests privately (not in the public book) holding
//! price × size × (1 + [`MAKER_FEE_RATE`]) (sells hold the size) until cancelled, or until the
//! generated market crosses it: it then trades as maker at its own price, paying
//! [`MAKER_FEE_RATE`] out of the hold, and consumes the crossing levels. Every
//! change is pushed in KuCoin's shapes on `/spotMarket/tradeOrdersV2` (`received`, `open`,
//! `match`, `filled`, `canceled`), `/account/balance`, `/contractMarket/tradeOrders[:SYM]`,
//! `/contract/position:SYM`, `/contract/positionAll` and `/contractAccount/wallet`. Refusals:
//! `200004` insufficient balance, `900001` unknown symbol, `400100` unknown order (futures
//! `100004`) and duplicate clientOid, all with HTTP 200; `400100` with HTTP 400 for bad
//! parameters (price off the tick, size off the lot, missing field, body not JSON). Orders
//! charge their specification weight like every operation.
//!
//! # Behaviour chosen where KuCoin is not documented
//! - A WebSocket upgrade with a missing or never-issued `token` is refused with HTTP 401 (what
//!   clients report seeing from KuCoin). A token that was issued but has expired
//!   ([`Faults::token_ttl`]) or was already used ([`Faults::one_shot_tokens`]) is upgraded, gets
//!   `{"type":"error","code":401,"data":"token is expired"}` (KuCoin's frame for expired tokens)
//!   and then a close frame; no welcome is sent.
//! - Subscribing to an unknown topic prefix or symbol answers
//!   `{"id":…,"type":"error","code":404,"data":"topic … is not found"}`; a malformed topic (no
//!   `:`, empty or blank symbol) answers code 400 `"topic … is invalid"`; more than 100 symbols in
//!   one request answers code 509 `"exceed max subscription count limitation of 100 per time"`; an
//!   unknown `type` answers 415 `"type is not supported"`; a frame that is not a JSON object
//!   answers 400.
//! - Unknown symbols on REST answer HTTP 200 with `{"code":"900001","msg":"symbol not exists"}`;
//!   unknown paths answer HTTP 404 with `{"code":"404","msg":"not exist"}`.
//! - Signed requests: a missing header answers 400001 with HTTP 400; a timestamp off by more than
//!   [`FakeConfig::timestamp_window_ms`] 400002, an unknown key 400003, a wrong passphrase 400004
//!   and a wrong signature 400005, all with HTTP 401. The signature is checked over the
//!   *unencoded* path and query (KuCoin's documented rule); KC-API-KEY-VERSION 1 (or absent) wants
//!   the plain passphrase, 2 and 3 want base64(HMAC-SHA256(secret, passphrase)).
//! - A connection whose queue exceeds [`FakeConfig::max_queued_frames`] is closed (slow consumer).

mod auth;
mod book;
mod channels;
pub mod cursor;
pub mod demo;
mod exchange;
mod render;
mod rest;
mod spec;

pub use exchange::{MAKER_FEE_RATE, TAKER_FEE_RATE};
pub use kucoin_proto::rest::operation::Pool;
pub use spec::{example_answers, example_requests};
pub mod tls;
pub mod trade_demo;
mod ws;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::TcpListener;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use book::{Book, SplitMix64, Update};

/// API key, secret and passphrase accepted by the fake (`Debug` hides the secret and passphrase).
pub const TEST_API_KEY: &str = "fake-api-key";
/// Secret of [`TEST_API_KEY`].
pub const TEST_API_SECRET: &str = "fake-api-secret";
/// Passphrase of [`TEST_API_KEY`] (as created; send it plain with key version 1, signed with 2/3).
pub const TEST_API_PASSPHRASE: &str = "fake-passphrase";

/// Which KuCoin market an instance imitates (KuCoin serves the same bullet paths on two hosts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Market {
    /// Spot: `/api/v3/market/orderbook/level2`, `/market/level2:SYM`, string prices and sizes.
    Spot,
    /// Futures: `/api/v1/level2/snapshot`, `/contractMarket/level2:SYM`, integer contract sizes.
    Futures,
}

/// One instrument the fake lists, with its tick and lot precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolSpec {
    /// Symbol as KuCoin spells it (`BTC-USDT`, `XBTUSDTM`).
    pub symbol: String,
    /// Decimal places of the price tick (1 means a tick of 0.1).
    pub price_decimals: u32,
    /// Decimal places of the lot (0 for futures contracts).
    pub size_decimals: u32,
    /// Initial middle price, in ticks.
    pub mid_price_ticks: u64,
    /// Levels per side when the fake starts.
    pub initial_levels: usize,
    /// Levels per side above which the generator trims the worst level.
    pub max_levels: usize,
    /// Book sequence when the fake starts.
    pub start_sequence: u64,
}

impl SymbolSpec {
    /// A spot symbol: tick 0.1 for BTC pairs (0.01 otherwise), lot 1e-8, 100 levels per side.
    #[must_use]
    pub fn spot(symbol: &str) -> Self {
        let btc = symbol.starts_with("BTC");
        Self {
            symbol: symbol.to_owned(),
            price_decimals: if btc { 1 } else { 2 },
            size_decimals: 8,
            mid_price_ticks: if btc { 670_000 } else { 300_000 },
            initial_levels: 100,
            max_levels: 200,
            start_sequence: 14_610_502_970,
        }
    }

    /// A futures symbol: tick 0.1 for XBT contracts (0.01 otherwise), integer lots.
    #[must_use]
    pub fn futures(symbol: &str) -> Self {
        let xbt = symbol.starts_with("XBT");
        Self {
            symbol: symbol.to_owned(),
            price_decimals: if xbt { 1 } else { 2 },
            size_decimals: 0,
            mid_price_ticks: if xbt { 900_000 } else { 300_000 },
            initial_levels: 100,
            max_levels: 200,
            start_sequence: 1_709_400_450_243,
        }
    }
}

/// One API key the fake accepts on signed endpoints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// KC-API-KEY.
    pub key: String,
    /// Secret for KC-API-SIGN (and for signing the passphrase with key version 2/3).
    pub secret: String,
    /// Passphrase as created.
    pub passphrase: String,
}

impl ApiKey {
    /// A key from its three parts.
    #[must_use]
    pub fn new(key: &str, secret: &str, passphrase: &str) -> Self {
        Self {
            key: key.to_owned(),
            secret: secret.to_owned(),
            passphrase: passphrase.to_owned(),
        }
    }

    /// [`TEST_API_KEY`] / [`TEST_API_SECRET`] / [`TEST_API_PASSPHRASE`].
    #[must_use]
    pub fn test_key() -> Self {
        Self::new(TEST_API_KEY, TEST_API_SECRET, TEST_API_PASSPHRASE)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

/// Fault schedule: each `*_one_in` field is a probability `1/n` per event (0 = never), drawn from
/// a PRNG seeded with `seed`. Change it at runtime with [`FakeHandle::set_faults`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Seed of the fault PRNG (the same seed and traffic give the same faults).
    pub seed: u64,
    /// Per level-2 frame per connection: do not send it (the client sees a sequence gap).
    pub drop_one_in: u32,
    /// Per level-2 frame per connection: send it twice.
    pub duplicate_one_in: u32,
    /// Per level-2 frame per connection: spot sends one frame whose range starts at the previous
    /// frame's `sequenceStart` (previous changes repeated); futures re-sends the previous frame
    /// before this one.
    pub overlap_one_in: u32,
    /// Per level-2 frame per connection: after it, the server sends a close frame and hangs up.
    pub close_one_in: u32,
    /// Per level-2 frame per connection: after it, the socket goes silent (no data, no pong, no
    /// close) until the client hangs up.
    pub silence_one_in: u32,
    /// Per bullet or snapshot request: answer `429000` with HTTP 429.
    pub too_many_requests_one_in: u32,
    /// Delay before every snapshot answer (0 = none).
    pub snapshot_delay: Duration,
    /// Tokens older than this are refused at connect with a 401 error frame.
    pub token_ttl: Option<Duration>,
    /// A token can open one connection only; a second connect with it gets a 401 error frame.
    pub one_shot_tokens: bool,
}

impl Faults {
    /// No faults at all.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Every fault kind at a low rate, for demos and soak tests (one-shot tokens on).
    #[must_use]
    pub fn chaos(seed: u64) -> Self {
        Self {
            seed,
            drop_one_in: 500,
            duplicate_one_in: 300,
            overlap_one_in: 300,
            close_one_in: 3000,
            silence_one_in: 6000,
            too_many_requests_one_in: 5,
            snapshot_delay: Duration::from_millis(50),
            token_ttl: None,
            one_shot_tokens: true,
        }
    }
}

/// Configuration of one fake exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeConfig {
    /// Spot or futures protocol.
    pub market: Market,
    /// Listed symbols (each gets its own true book).
    pub symbols: Vec<SymbolSpec>,
    /// Keys accepted on signed endpoints.
    pub api_keys: Vec<ApiKey>,
    /// `pingInterval` in bullets (ms).
    pub ping_interval_ms: u64,
    /// `pingTimeout` in bullets (ms).
    pub ping_timeout_ms: u64,
    /// Time between generator ticks.
    pub update_interval: Duration,
    /// Level-2 updates per symbol per tick.
    pub updates_per_tick: u32,
    /// Most changes in one spot level-2 message (futures always sends one).
    pub max_changes_per_update: u32,
    /// Spot only: probability `1/n` that a change is sequence-only (`["0","0",seq]`); 0 = never.
    pub sequence_only_one_in: u32,
    /// Seed of the book generator and tokens.
    pub seed: u64,
    /// Added to the system clock to make the fake's clock (tests of the client's offset).
    pub clock_offset_ms: i64,
    /// Largest accepted |KC-API-TIMESTAMP - server time| (KuCoin: 5000 ms).
    pub timestamp_window_ms: u64,
    /// `gw-ratelimit-limit`: every pool's quota per window, in weight units (each operation
    /// costs its specification weight in its pool); past it the fake answers 429000.
    pub rate_limit: u32,
    /// Length of the rate-limit window (ms); a pool's window starts at its first request.
    pub rate_limit_window_ms: u64,
    /// Frames queued per connection before the fake closes it as a slow consumer (with a close
    /// frame once the queue is drained), like exchanges do; bounds the fake's memory.
    pub max_queued_frames: usize,
    /// Close connections that send nothing (no ping) for pingInterval + pingTimeout, as KuCoin
    /// does. Off by default so that tests about other things do not depend on ping timing.
    pub close_idle_clients: bool,
    /// Start with the generator paused (see [`FakeHandle::resume_updates`]).
    pub start_paused: bool,
    /// Most topics one connection may hold (KuCoin: 300); a subscribe past it is refused with
    /// an error frame (code 509).
    pub max_topics_per_connection: usize,
    /// Fault schedule at start.
    pub faults: Faults,
    /// Serve accounts, HF spot orders, fills, futures orders and positions from the small
    /// exchange's state (on by default); off, every operation but the market-data ones gets
    /// the specification's example answer.
    pub exchange: bool,
}

impl FakeConfig {
    /// A spot exchange listing `BTC-USDT` and `ETH-USDT`, no faults, KuCoin's ping timings.
    #[must_use]
    pub fn spot() -> Self {
        Self {
            market: Market::Spot,
            symbols: vec![SymbolSpec::spot("BTC-USDT"), SymbolSpec::spot("ETH-USDT")],
            ..Self::base()
        }
    }

    /// A futures exchange listing `XBTUSDTM` and `ETHUSDTM`, no faults, KuCoin's ping timings.
    #[must_use]
    pub fn futures() -> Self {
        Self {
            market: Market::Futures,
            symbols: vec![
                SymbolSpec::futures("XBTUSDTM"),
                SymbolSpec::futures("ETHUSDTM"),
            ],
            sequence_only_one_in: 0,
            max_changes_per_update: 1,
            ..Self::base()
        }
    }

    fn base() -> Self {
        Self {
            market: Market::Spot,
            symbols: Vec::new(),
            api_keys: vec![ApiKey::test_key()],
            ping_interval_ms: 18_000,
            ping_timeout_ms: 10_000,
            update_interval: Duration::from_millis(10),
            updates_per_tick: 1,
            max_changes_per_update: 3,
            sequence_only_one_in: 50,
            seed: 1,
            clock_offset_ms: 0,
            timestamp_window_ms: 5_000,
            rate_limit: 4_000,
            rate_limit_window_ms: 30_000,
            max_queued_frames: 262_144,
            close_idle_clients: false,
            start_paused: false,
            max_topics_per_connection: 300,
            faults: Faults::none(),
            exchange: true,
        }
    }

    /// Sets `pingInterval` and `pingTimeout` (ms).
    #[must_use]
    pub fn with_ping(mut self, interval_ms: u64, timeout_ms: u64) -> Self {
        self.ping_interval_ms = interval_ms;
        self.ping_timeout_ms = timeout_ms;
        self
    }

    /// Sets the fault schedule.
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the generator tick and updates per tick.
    #[must_use]
    pub fn with_rate(mut self, interval: Duration, updates_per_tick: u32) -> Self {
        self.update_interval = interval;
        self.updates_per_tick = updates_per_tick;
        self
    }

    /// Sets the generator seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Answers every operation but the market-data ones with the specification's example
    /// answer (no exchange state): see [`FakeConfig::exchange`].
    #[must_use]
    pub fn spec_answers_only(mut self) -> Self {
        self.exchange = false;
        self
    }

    /// Starts with the generator paused.
    #[must_use]
    pub fn paused(mut self) -> Self {
        self.start_paused = true;
        self
    }
}

/// A copy of the fake's true book: best levels first, canonical decimal strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrueBook {
    /// Sequence of the last change applied (spot: last change's sequence; futures: message's).
    pub sequence: u64,
    /// Bids, highest price first, as `(price, size)`.
    pub bids: Vec<(String, String)>,
    /// Asks, lowest price first, as `(price, size)`.
    pub asks: Vec<(String, String)>,
}

/// Counts of faults injected since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Level-2 frames not sent.
    pub dropped: u64,
    /// Level-2 frames sent twice.
    pub duplicated: u64,
    /// Overlapping (spot) or stale repeated (futures) frames sent.
    pub overlapped: u64,
    /// Server-initiated closes and hang-ups (scheduled or injected).
    pub server_closes: u64,
    /// Sockets made silent.
    pub silenced: u64,
    /// Connects refused because the token had expired.
    pub expired_tokens: u64,
    /// Connects refused because a one-shot token was reused.
    pub reused_tokens: u64,
    /// 429000 answers (scheduled, injected or past the rate limit).
    pub too_many_requests: u64,
    /// Snapshot answers delayed.
    pub slow_snapshots: u64,
}

/// One rate-limit window of one pool, as the fake counted it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateWindow {
    /// Weight charged (accepted calls only).
    pub used: u64,
    /// Calls accepted.
    pub calls: u64,
    /// Calls refused with 429000.
    pub refused: u64,
    /// Calls refused while the pool was not yet full (too heavy for what was left).
    pub refused_with_room: u64,
    /// Whether the window is over (false for the current one).
    pub closed: bool,
}

/// A pool's current window and its history.
#[derive(Debug, Default)]
pub(crate) struct RatePool {
    pub start: Option<Instant>,
    pub used: u64,
    pub calls: u64,
    pub refused: u64,
    pub refused_with_room: u64,
    pub history: Vec<RateWindow>,
}

impl RatePool {
    /// Closes the window once it is over.
    pub(crate) fn roll(&mut self, now: Instant, window: Duration) {
        if self.start.is_some_and(|s| now.duration_since(s) >= window) {
            self.history.push(self.current(true));
            self.start = None;
            self.used = 0;
            self.calls = 0;
            self.refused = 0;
            self.refused_with_room = 0;
        }
    }

    fn current(&self, closed: bool) -> RateWindow {
        RateWindow {
            used: self.used,
            calls: self.calls,
            refused: self.refused,
            refused_with_room: self.refused_with_room,
            closed,
        }
    }
}

/// Counters of what the fake has seen and done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// WebSocket connections upgraded (including ones refused after upgrade).
    pub connections_accepted: u64,
    /// WebSocket connections open now.
    pub connections_open: u64,
    /// Topic subscriptions (one per symbol) held by open connections now.
    pub subscriptions: u64,
    /// Subscribe requests answered with success.
    pub subscribe_requests: u64,
    /// Bullets (public and private) issued.
    pub bullets_issued: u64,
    /// WebSocket connects refused for their token (unknown, expired or reused).
    pub tokens_rejected: u64,
    /// Signed requests refused (400001..400005).
    pub auth_failures: u64,
    /// REST requests received.
    pub rest_requests: u64,
    /// Snapshot requests answered with a book.
    pub snapshots_served: u64,
    /// Level-2 updates generated (over all symbols).
    pub updates_generated: u64,
    /// Pongs sent.
    pub pongs_sent: u64,
    /// Connections closed because their queue exceeded [`FakeConfig::max_queued_frames`].
    pub slow_consumer_closes: u64,
    /// Connections closed for not sending anything within pingInterval + pingTimeout
    /// (only with [`FakeConfig::close_idle_clients`]).
    pub idle_closes: u64,
    /// REST operations answered with the specification's example answer.
    pub spec_answers: u64,
    /// Faults injected.
    pub faults: FaultStats,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections_accepted: AtomicU64,
    pub connections_open: AtomicU64,
    pub subscribe_requests: AtomicU64,
    pub bullets_issued: AtomicU64,
    pub tokens_rejected: AtomicU64,
    pub auth_failures: AtomicU64,
    pub rest_requests: AtomicU64,
    pub snapshots_served: AtomicU64,
    pub updates_generated: AtomicU64,
    pub pongs_sent: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub overlapped: AtomicU64,
    pub server_closes: AtomicU64,
    pub silenced: AtomicU64,
    pub expired_tokens: AtomicU64,
    pub reused_tokens: AtomicU64,
    pub too_many_requests: AtomicU64,
    pub slow_snapshots: AtomicU64,
    pub slow_consumer_closes: AtomicU64,
    pub idle_closes: AtomicU64,
    pub spec_answers: AtomicU64,
}

/// Increments a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Kind of a public topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TopicKind {
    Level2,
    Depth5,
    Ticker,
    /// Any other channel (its whole topic in place of the symbol): rendered from the book when
    /// it is a public market channel, else scripted frames only (see
    /// [`FakeHandle::inject_channel_frame`]).
    Scripted,
}

/// What the generator or the handle asks a connection thread to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Send this text frame.
    Text(Arc<str>),
    /// Send a close frame and hang up.
    Close,
    /// Stop sending anything (no close).
    Silence,
    /// Drop the TCP connection without a close frame.
    Hangup,
}

/// A connection as seen by the generator.
#[derive(Debug)]
pub(crate) struct ConnEntry {
    /// Queue to the connection thread; `None` once it overflowed (the thread then hangs up).
    pub tx: Option<SyncSender<Out>>,
    pub topics: BTreeSet<(TopicKind, String)>,
    /// Last level-2 update per symbol (for overlap faults).
    pub last: BTreeMap<String, Arc<Update>>,
    pub dead: bool,
    /// Opened with a private bullet's token.
    pub private: bool,
}

impl ConnEntry {
    /// Queues `out`; a full queue (slow consumer) drops the sender so the connection closes.
    pub(crate) fn push(&mut self, out: Out, counters: &Counters) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(out) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                bump(&counters.slow_consumer_closes);
                self.tx = None;
                self.dead = true;
            }
            Err(TrySendError::Disconnected(_)) => {
                self.tx = None;
                self.dead = true;
            }
        }
    }
}

/// A token the fake issued.
#[derive(Debug)]
pub(crate) struct TokenInfo {
    pub issued: Instant,
    pub uses: u32,
}

/// Mutable state behind one lock (no `Debug`: it holds the issued tokens).
pub(crate) struct State {
    pub books: BTreeMap<String, Book>,
    pub tokens: BTreeMap<String, TokenInfo>,
    pub conns: BTreeMap<u64, ConnEntry>,
    pub faults: Faults,
    pub fault_rng: SplitMix64,
    pub token_rng: SplitMix64,
    pub drop_next: u64,
    pub too_many_next: u64,
    /// Rate-limit windows per pool.
    pub rate_pools: BTreeMap<Pool, RatePool>,
    /// `User-Agent` values of REST requests, with counts.
    pub user_agents: BTreeMap<String, u64>,
    /// `User-Agent` values of WebSocket handshakes, with counts.
    pub ws_user_agents: BTreeMap<String, u64>,
    /// Bodies received per specification operation id, in order.
    pub spec_calls: BTreeMap<&'static str, Vec<String>>,
    /// Accounts, orders, fills and positions.
    pub exchange: exchange::Exchange,
}

/// Everything the threads share (no `Debug`: its state holds the issued tokens).
pub(crate) struct Shared {
    pub config: FakeConfig,
    pub state: Mutex<State>,
    pub stop: AtomicBool,
    pub paused: AtomicBool,
    pub ws_port: u16,
    /// What bullets name instead of `ws://127.0.0.1:{ws_port}/` (see `set_ws_endpoint_override`).
    pub ws_endpoint_override: Mutex<Option<String>>,
    pub counters: Counters,
    pub conn_threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// Locks the state, recovering from a poisoned lock (a panicked thread must not wedge tests).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The fake's clock in unix milliseconds (system clock plus `clock_offset_ms`).
    pub(crate) fn now_ms(&self) -> u64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        sys.saturating_add_signed(self.config.clock_offset_ms)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The endpoint bullets name: the override, else the plain WebSocket port.
    pub(crate) fn bullet_endpoint(&self) -> String {
        self.ws_endpoint_override
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| format!("ws://127.0.0.1:{}/", self.ws_port))
    }

    pub(crate) fn spec(&self, symbol: &str) -> Option<&SymbolSpec> {
        self.config.symbols.iter().find(|s| s.symbol == symbol)
    }
}

/// A cloneable control handle of a running fake: faults, pause, inspection.
#[derive(Clone)]
pub struct FakeHandle {
    shared: Arc<Shared>,
    rest_base: String,
}

impl fmt::Debug for FakeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens and keys stay out of Debug output.
        f.debug_struct("FakeHandle")
            .field("market", &self.shared.config.market)
            .field("rest_url", &self.rest_base)
            .field("ws_url", &self.ws_url())
            .finish_non_exhaustive()
    }
}

impl FakeHandle {
    /// Market of this instance.
    #[must_use]
    pub fn market(&self) -> Market {
        self.shared.config.market
    }

    /// `http://127.0.0.1:PORT` of the REST server (no trailing slash).
    #[must_use]
    pub fn rest_url(&self) -> String {
        self.rest_base.clone()
    }

    /// `ws://127.0.0.1:PORT/`, the plain WebSocket server (what bullets name unless
    /// [`Self::set_ws_endpoint_override`] says otherwise).
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.shared.ws_port)
    }

    /// Port of the plain WebSocket server on 127.0.0.1 (what a TLS proxy forwards to).
    #[must_use]
    pub fn ws_port(&self) -> u16 {
        self.shared.ws_port
    }

    /// Makes bullets issued from now on name `endpoint` in `instanceServers[].endpoint`
    /// (`None`: back to [`Self::ws_url`]). For a TLS proxy in front of the WebSocket port
    /// ([`tls::TlsFront`] sets it to its `wss://localhost:PORT/`), or to hand out a URL the
    /// client must refuse. The text is JSON-escaped into the bullet as given.
    pub fn set_ws_endpoint_override(&self, endpoint: Option<String>) {
        *self
            .shared
            .ws_endpoint_override
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = endpoint;
    }

    /// The endpoint bullets name now (the override, else [`Self::ws_url`]).
    #[must_use]
    pub fn bullet_endpoint(&self) -> String {
        self.shared.bullet_endpoint()
    }

    /// The fake's clock in unix milliseconds (what `/api/v1/timestamp` answers).
    #[must_use]
    pub fn server_time_ms(&self) -> u64 {
        self.shared.now_ms()
    }

    /// A copy of the true book of `symbol` (all levels), or `None` if not listed.
    #[must_use]
    pub fn true_book(&self, symbol: &str) -> Option<TrueBook> {
        let state = self.shared.lock();
        let book = state.books.get(symbol)?;
        let (bids, asks) = book.levels(usize::MAX);
        let text = |levels: Vec<(u64, u64)>| {
            levels
                .into_iter()
                .map(|(p, s)| (book.price_text(p), book.size_text(s)))
                .collect()
        };
        Some(TrueBook {
            sequence: book.sequence,
            bids: text(bids),
            asks: text(asks),
        })
    }

    /// Freezes the generator: no new updates until [`Self::resume_updates`].
    pub fn pause_updates(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
        // Take the lock so that a tick in progress has finished publishing when this returns.
        drop(self.shared.lock());
    }

    /// Restarts the generator.
    pub fn resume_updates(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
    }

    /// Generates and publishes `rounds` updates per symbol now (works while paused).
    pub fn step_updates(&self, rounds: u32) {
        let mut state = self.shared.lock();
        generate(&self.shared, &mut state, rounds);
    }

    /// The current fault schedule.
    #[must_use]
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Replaces the fault schedule (the fault PRNG is reseeded with `faults.seed`).
    pub fn set_faults(&self, faults: Faults) {
        let mut state = self.shared.lock();
        state.fault_rng = SplitMix64::new(faults.seed);
        state.faults = faults;
    }

    /// Drops the next `n` level-2 frames that would be sent (to any connection).
    pub fn inject_drop(&self, n: u64) {
        self.shared.lock().drop_next += n;
    }

    /// Uses up the current window of `pool` (starting one now if none runs): its next
    /// request gets a real 429000 with the window's `gw-ratelimit-reset`.
    pub fn exhaust_pool(&self, pool: Pool) {
        let quota = u64::from(self.shared.config.rate_limit);
        let window = Duration::from_millis(self.shared.config.rate_limit_window_ms.max(1));
        let now = Instant::now();
        let mut state = self.shared.lock();
        let entry = state.rate_pools.entry(pool).or_default();
        entry.roll(now, window);
        entry.start.get_or_insert(now);
        entry.used = entry.used.max(quota);
    }

    /// Every rate-limit window of `pool` so far, oldest first (the last is the current one,
    /// not closed, when one runs).
    pub fn rate_windows(&self, pool: Pool) -> Vec<RateWindow> {
        let window = Duration::from_millis(self.shared.config.rate_limit_window_ms.max(1));
        let mut state = self.shared.lock();
        let Some(entry) = state.rate_pools.get_mut(&pool) else {
            return Vec::new();
        };
        entry.roll(Instant::now(), window);
        let mut out = entry.history.clone();
        if entry.start.is_some() {
            out.push(entry.current(false));
        }
        out
    }

    /// The `User-Agent` values REST requests carried, with counts.
    pub fn user_agents(&self) -> BTreeMap<String, u64> {
        self.shared.lock().user_agents.clone()
    }

    /// The `User-Agent` values WebSocket handshakes carried, with counts.
    pub fn ws_user_agents(&self) -> BTreeMap<String, u64> {
        self.shared.lock().ws_user_agents.clone()
    }

    /// Answers the next `n` bullet or snapshot requests with 429000.
    pub fn inject_too_many_requests(&self, n: u64) {
        self.shared.lock().too_many_next += n;
    }

    /// Makes every open connection send a close frame and hang up.
    pub fn inject_close_all(&self) {
        self.send_all(|| Out::Close);
    }

    /// Drops every open connection's TCP socket without a close frame (an abrupt disconnect).
    pub fn inject_hangup_all(&self) {
        self.send_all(|| Out::Hangup);
    }

    /// Sends `text` as a raw frame to every open connection (an error frame, garbage, an
    /// unexpected message type...), in order with the data already queued.
    pub fn inject_frame_all(&self, text: &str) {
        let text: Arc<str> = text.into();
        self.send_all(|| Out::Text(Arc::clone(&text)));
    }

    /// Makes the `index`-th open connection (in the order they were accepted, from 0) send a
    /// close frame and hang up; false if there is no such connection.
    pub fn inject_close_connection(&self, index: usize) -> bool {
        let mut state = self.shared.lock();
        let Some(conn) = state.conns.values_mut().filter(|c| !c.dead).nth(index) else {
            return false;
        };
        conn.push(Out::Close, &self.shared.counters);
        true
    }

    /// The topics of each open connection, in the order they were accepted (`/market/ticker:X`
    /// for tickers; for counters per connection and the per-connection topic limit).
    #[must_use]
    pub fn connection_topics(&self) -> Vec<Vec<String>> {
        let state = self.shared.lock();
        state
            .conns
            .values()
            .filter(|c| !c.dead)
            .map(|c| {
                c.topics
                    .iter()
                    .map(|(k, s)| ws::topic_text(self.shared.config.market, *k, s))
                    .collect()
            })
            .collect()
    }

    /// Whether each open connection is private, in the order they were accepted.
    #[must_use]
    pub fn connection_private(&self) -> Vec<bool> {
        let state = self.shared.lock();
        state
            .conns
            .values()
            .filter(|c| !c.dead)
            .map(|c| c.private)
            .collect()
    }

    /// Sends `frame` (a whole message frame) to every connection subscribed to `topic`, a topic
    /// of a channel the generator does not serve (trades, klines, private orders and balances,
    /// ...: every channel KuCoin has is accepted); returns how many got it.
    pub fn inject_channel_frame(&self, topic: &str, frame: &str) -> usize {
        let text: Arc<str> = frame.into();
        let key = (TopicKind::Scripted, topic.to_owned());
        let mut state = self.shared.lock();
        let mut sent = 0;
        for conn in state.conns.values_mut() {
            if !conn.dead && conn.topics.contains(&key) {
                conn.push(Out::Text(Arc::clone(&text)), &self.shared.counters);
                sent += 1;
            }
        }
        sent
    }

    /// Sends a scripted private order change (`data`: the JSON object) on
    /// `/spotMarket/tradeOrdersV2` to every connection subscribed to it (private ones only can
    /// be); returns how many got it.
    pub fn inject_private_order(&self, subject: &str, data: &str) -> usize {
        let frame = format!(
            "{{\"type\":\"message\",\"topic\":\"/spotMarket/tradeOrdersV2\",\"subject\":\"{subject}\",\
             \"channelType\":\"private\",\"userId\":\"fake-user\",\"data\":{data}}}"
        );
        self.inject_channel_frame("/spotMarket/tradeOrdersV2", &frame)
    }

    /// Credits `amount` (exact decimal text, e.g. `"1000.5"`) of `currency` to the account: a
    /// spot fake's `trade` account of `currency`, a futures fake's USDT wallet (`currency` is
    /// ignored there). Pushes the change on `/account/balance` (`main.deposit`) or
    /// `/contractAccount/wallet` to private connections subscribed to it.
    ///
    /// # Panics
    /// When `amount` is not a decimal number (a mistake in the test, not peer input).
    pub fn fund(&self, currency: &str, amount: &str) {
        let amount = amount
            .parse::<rust_decimal::Decimal>()
            .unwrap_or_else(|_| panic!("fund: {amount:?} is not a decimal amount"));
        let clock = exchange::Clock {
            now_ms: self.shared.now_ms(),
        };
        let mut state = self.shared.lock();
        let pushes = state
            .exchange
            .fund(self.shared.config.market, currency, amount, clock);
        send_pushes(&self.shared, &mut state, &pushes);
    }

    /// The account's balances as `currency → (available, holds)` in canonical decimal text
    /// (spot: the `trade` accounts; futures: `USDT → (available balance, order and position
    /// margin)`).
    #[must_use]
    pub fn balances(&self) -> BTreeMap<String, (String, String)> {
        let state = self.shared.lock();
        state
            .exchange
            .balances(self.shared.config.market)
            .into_iter()
            .map(|(c, a, h)| (c, (exchange::text(a), exchange::text(h))))
            .collect()
    }

    /// Makes every open connection silent (no data, no pongs, no close).
    pub fn inject_silence_all(&self) {
        self.send_all(|| Out::Silence);
    }

    fn send_all(&self, out: impl Fn() -> Out) {
        let mut state = self.shared.lock();
        for conn in state.conns.values_mut() {
            conn.push(out(), &self.shared.counters);
        }
    }

    /// Polls [`Self::stats`] every millisecond until `condition` holds (true) or `timeout`
    /// passes (false). For tests that wait for a client to connect, subscribe or reconnect.
    pub fn wait_for(&self, timeout: Duration, mut condition: impl FnMut(&Stats) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(&self.stats()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The bodies of the specification operations answered so far, by operation id.
    #[must_use]
    pub fn spec_calls(&self) -> BTreeMap<&'static str, Vec<String>> {
        self.shared.lock().spec_calls.clone()
    }

    /// Counters since start.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let subscriptions = {
            let state = self.shared.lock();
            state
                .conns
                .values()
                .filter(|c| !c.dead)
                .map(|c| c.topics.len() as u64)
                .sum()
        };
        Stats {
            connections_accepted: get(&c.connections_accepted),
            connections_open: get(&c.connections_open),
            subscriptions,
            subscribe_requests: get(&c.subscribe_requests),
            bullets_issued: get(&c.bullets_issued),
            tokens_rejected: get(&c.tokens_rejected),
            auth_failures: get(&c.auth_failures),
            rest_requests: get(&c.rest_requests),
            snapshots_served: get(&c.snapshots_served),
            updates_generated: get(&c.updates_generated),
            pongs_sent: get(&c.pongs_sent),
            slow_consumer_closes: get(&c.slow_consumer_closes),
            idle_closes: get(&c.idle_closes),
            spec_answers: get(&c.spec_answers),
            faults: FaultStats {
                dropped: get(&c.dropped),
                duplicated: get(&c.duplicated),
                overlapped: get(&c.overlapped),
                server_closes: get(&c.server_closes),
                silenced: get(&c.silenced),
                expired_tokens: get(&c.expired_tokens),
                reused_tokens: get(&c.reused_tokens),
                too_many_requests: get(&c.too_many_requests),
                slow_snapshots: get(&c.slow_snapshots),
            },
        }
    }
}

/// A running fake exchange; stops its threads on [`FakeKucoin::stop`] or drop.
///
/// Derefs to [`FakeHandle`] for control and inspection.
#[derive(Debug)]
pub struct FakeKucoin {
    handle: FakeHandle,
    threads: Vec<JoinHandle<()>>,
}

/// The REST listener, with `TCP_NODELAY` set so that accepted sockets inherit it (Linux does):
/// tiny_http writes a response in several segments, and with Nagle's algorithm each snapshot
/// answer would wait for the client's delayed ACK (about 40 ms).
fn rest_listener() -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

impl FakeKucoin {
    /// Binds REST and WebSocket servers on random 127.0.0.1 ports and starts the generator.
    ///
    /// # Errors
    /// When a listener cannot be bound or a thread cannot be spawned.
    pub fn start(config: FakeConfig) -> std::io::Result<Self> {
        let ws_listener = TcpListener::bind("127.0.0.1:0")?;
        ws_listener.set_nonblocking(true)?;
        let ws_port = ws_listener.local_addr()?.port();
        let http = tiny_http::Server::from_listener(rest_listener()?, None)
            .map_err(std::io::Error::other)?;
        let rest_port = http.server_addr().to_ip().map_or(0, |a| a.port());

        let books = config
            .symbols
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let seed = config.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (spec.symbol.clone(), Book::new(spec.clone(), seed))
            })
            .collect();
        let state = State {
            books,
            tokens: BTreeMap::new(),
            conns: BTreeMap::new(),
            fault_rng: SplitMix64::new(config.faults.seed),
            faults: config.faults.clone(),
            token_rng: SplitMix64::new(config.seed.wrapping_add(0x5EED)),
            drop_next: 0,
            too_many_next: 0,
            rate_pools: BTreeMap::new(),
            user_agents: BTreeMap::new(),
            ws_user_agents: BTreeMap::new(),
            spec_calls: BTreeMap::new(),
            exchange: exchange::Exchange::new(config.seed),
        };
        let shared = Arc::new(Shared {
            paused: AtomicBool::new(config.start_paused),
            config,
            state: Mutex::new(state),
            stop: AtomicBool::new(false),
            ws_port,
            ws_endpoint_override: Mutex::new(None),
            counters: Counters::default(),
            conn_threads: Mutex::new(Vec::new()),
        });
        let handle = FakeHandle {
            shared: Arc::clone(&shared),
            rest_base: format!("http://127.0.0.1:{rest_port}"),
        };
        let mut fake = Self {
            handle,
            threads: Vec::new(),
        };

        let http = Arc::new(http);
        for i in 0..4 {
            let (shared, http) = (Arc::clone(&shared), Arc::clone(&http));
            fake.spawn(&format!("fake-rest-{i}"), move || {
                rest::serve(&shared, &http)
            })?;
        }
        let acceptor = Arc::clone(&shared);
        fake.spawn("fake-ws-accept", move || {
            ws::accept_loop(&acceptor, &ws_listener)
        })?;
        let generator = Arc::clone(&shared);
        fake.spawn("fake-generator", move || generator_loop(&generator))?;
        Ok(fake)
    }

    fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(f)?;
        self.threads.push(thread);
        Ok(())
    }

    /// A control handle that outlives borrows of `self` (cloneable, usable from other threads).
    #[must_use]
    pub fn handle(&self) -> FakeHandle {
        self.handle.clone()
    }

    /// Stops every thread: servers, generator and connections (joins bounded to about 2 s).
    pub fn stop(&mut self) {
        let shared = &self.handle.shared;
        shared.stop.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(2);
        // Servers first: once the acceptor has ended, no new connection thread can appear.
        join_until(std::mem::take(&mut self.threads), deadline);
        let connections = std::mem::take(
            &mut *shared
                .conn_threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        join_until(connections, deadline);
    }
}

/// Joins `threads`, giving up (detaching) on those still running at `deadline`.
fn join_until(threads: Vec<JoinHandle<()>>, deadline: Instant) {
    for thread in threads {
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if !thread.is_finished() {
            log::warn!("a fake exchange thread did not stop in time; detached");
        } else if thread.join().is_err() {
            log::warn!("a fake exchange thread panicked");
        }
    }
}

impl Deref for FakeKucoin {
    type Target = FakeHandle;

    fn deref(&self) -> &FakeHandle {
        &self.handle
    }
}

impl Drop for FakeKucoin {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps up to `total`, waking early when the fake stops. Returns false if stopping.
pub(crate) fn sleep_unless_stopped(shared: &Shared, total: Duration) -> bool {
    let deadline = Instant::now() + total;
    loop {
        if shared.stopping() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
    }
}

fn generator_loop(shared: &Shared) {
    let interval = shared
        .config
        .update_interval
        .max(Duration::from_micros(100));
    let mut next = Instant::now() + interval;
    while sleep_unless_stopped(shared, next.saturating_duration_since(Instant::now())) {
        let mut left = shared.config.updates_per_tick;
        while left > 0 && !shared.paused.load(Ordering::SeqCst) && !shared.stopping() {
            // Publish in chunks so that connections and REST get the lock between them.
            let chunk = left.min(256);
            left -= chunk;
            let mut state = shared.lock();
            if shared.paused.load(Ordering::SeqCst) {
                break;
            }
            generate(shared, &mut state, chunk);
        }
        next += interval;
        let now = Instant::now();
        if next < now {
            // Fell behind (slow machine or huge ticks): do not burst to catch up, but rest a
            // moment so that other threads get the lock.
            next = now + interval.min(Duration::from_micros(100));
        }
    }
}

/// Generates `rounds` updates per symbol, publishes level-2 frames with faults, then depth5/ticker.
pub(crate) fn generate(shared: &Shared, state: &mut State, rounds: u32) {
    let config = &shared.config;
    let futures = config.market == Market::Futures;
    let (max_changes, seq_only) = if futures {
        (1, 0)
    } else {
        (config.max_changes_per_update, config.sequence_only_one_in)
    };
    let symbols: Vec<String> = state.books.keys().cloned().collect();
    // Other public channels followed by someone, rendered from the book below.
    let followed = channels::followed(
        config.market,
        state
            .conns
            .values()
            .filter(|c| !c.dead)
            .flat_map(|c| c.topics.iter())
            .filter(|(kind, _)| *kind == TopicKind::Scripted)
            .map(|(_, topic)| topic.as_str()),
        &symbols,
    );
    for symbol in &symbols {
        for _ in 0..rounds {
            let time_ms = shared.now_ms();
            let Some(book) = state.books.get_mut(symbol) else {
                continue;
            };
            let update = Arc::new(book.next_update(max_changes, seq_only, time_ms));
            bump(&shared.counters.updates_generated);
            let key = (TopicKind::Level2, symbol.clone());
            // Nobody follows this book: keep it moving, skip rendering (cheap with many
            // symbols).
            if state
                .conns
                .values()
                .any(|c| !c.dead && c.topics.contains(&key))
                && let Some(book) = state.books.get(symbol)
            {
                let text: Arc<str> = render::level2(config.market, &book.spec, &update).into();
                publish_level2(shared, state, symbol, &update, &text);
            }
            // The market may now cross a resting order of the exchange: it trades as maker.
            if state.exchange.has_resting(symbol) {
                let clock = exchange::Clock { now_ms: time_ms };
                let State {
                    exchange, books, ..
                } = &mut *state;
                let outcome = exchange.cross(config.market, &config.symbols, books, symbol, clock);
                for (symbol, update) in outcome.updates {
                    publish_trade_update(shared, state, &symbol, update);
                }
                send_pushes(shared, state, &outcome.pushes);
            }
        }
        let wants = |state: &State, kind| {
            state
                .conns
                .values()
                .any(|c| !c.dead && c.topics.contains(&(kind, symbol.clone())))
        };
        let time_ms = shared.now_ms();
        let renderers: [(TopicKind, Renderer); 2] = [
            (TopicKind::Depth5, render::depth5),
            (TopicKind::Ticker, render::ticker),
        ];
        for (kind, render) in renderers {
            if !wants(state, kind) {
                continue;
            }
            let Some(book) = state.books.get(symbol) else {
                continue;
            };
            let text: Arc<str> = render(config.market, book, time_ms).into();
            send_topic(shared, state, kind, symbol, &text);
        }
        for rendered in followed.get(symbol).into_iter().flatten() {
            let Some(book) = state.books.get(symbol) else {
                continue;
            };
            let text: Arc<str> = channels::render(rendered, book, time_ms).into();
            send_topic(shared, state, TopicKind::Scripted, &rendered.topic, &text);
        }
    }
}

/// Renders a whole-book message (depth5, ticker).
type Renderer = fn(Market, &Book, u64) -> String;

fn send_topic(shared: &Shared, state: &mut State, kind: TopicKind, symbol: &str, text: &Arc<str>) {
    let key = (kind, symbol.to_owned());
    for conn in state.conns.values_mut() {
        if !conn.dead && conn.topics.contains(&key) {
            conn.push(Out::Text(Arc::clone(text)), &shared.counters);
        }
    }
}

fn publish_level2(
    shared: &Shared,
    state: &mut State,
    symbol: &str,
    update: &Arc<Update>,
    text: &Arc<str>,
) {
    let c = &shared.counters;
    let market = shared.config.market;
    let key = (TopicKind::Level2, symbol.to_owned());
    let State {
        conns,
        faults,
        fault_rng,
        drop_next,
        ..
    } = state;
    for conn in conns.values_mut() {
        if conn.dead || !conn.topics.contains(&key) {
            continue;
        }
        let previous = conn.last.insert(symbol.to_owned(), Arc::clone(update));
        let mut outs = Vec::with_capacity(2);
        if *drop_next > 0 {
            *drop_next -= 1;
            bump(&c.dropped);
        } else if fault_rng.one_in(faults.drop_one_in) {
            bump(&c.dropped);
        } else if let (Some(prev), true) =
            (previous.as_ref(), fault_rng.one_in(faults.overlap_one_in))
        {
            bump(&c.overlapped);
            if let (Market::Spot, Some(spec)) = (market, shared.spec(symbol)) {
                let mut changes = prev.changes.clone();
                changes.extend(update.changes.iter().cloned());
                let merged = Update {
                    seq_start: prev.seq_start,
                    seq_end: update.seq_end,
                    changes,
                    time_ms: update.time_ms,
                };
                outs.push(Out::Text(render::level2(market, spec, &merged).into()));
            } else if let Some(spec) = shared.spec(symbol) {
                outs.push(Out::Text(render::level2(market, spec, prev).into()));
                outs.push(Out::Text(Arc::clone(text)));
            }
        } else {
            outs.push(Out::Text(Arc::clone(text)));
            if fault_rng.one_in(faults.duplicate_one_in) {
                bump(&c.duplicated);
                outs.push(Out::Text(Arc::clone(text)));
            }
        }
        if fault_rng.one_in(faults.close_one_in) {
            outs.push(Out::Close);
        } else if fault_rng.one_in(faults.silence_one_in) {
            outs.push(Out::Silence);
        }
        for out in outs {
            conn.push(out, c);
        }
    }
}

/// Publishes the book change a trade made as a level-2 message (with the usual faults).
pub(crate) fn publish_trade_update(
    shared: &Shared,
    state: &mut State,
    symbol: &str,
    update: Update,
) {
    bump(&shared.counters.updates_generated);
    let Some(spec) = shared.spec(symbol) else {
        return;
    };
    let text: Arc<str> = render::level2(shared.config.market, spec, &update).into();
    publish_level2(shared, state, symbol, &Arc::new(update), &text);
}

/// Sends the exchange's private pushes to the connections subscribed to their topics.
pub(crate) fn send_pushes(shared: &Shared, state: &mut State, pushes: &[exchange::Push]) {
    for push in pushes {
        let key = (TopicKind::Scripted, push.topic.clone());
        let text: Arc<str> = push.frame.as_str().into();
        for conn in state.conns.values_mut() {
            if !conn.dead && conn.topics.contains(&key) {
                conn.push(Out::Text(Arc::clone(&text)), &shared.counters);
            }
        }
    }
}
