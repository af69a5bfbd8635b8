//! Sans-IO core of a KuCoin client.
//!
//! Bytes and timestamps go in; requests to send, frames to write, deadlines and events come out.
//! This crate owns REST signing ([`auth`], [`rest`]), the WebSocket bullet-token flow, the
//! ping/pong schedule, subscriptions and reconnect policy ([`ws`]), and order-book sequence
//! validation ([`book`]); [`feed::Feed`] ties one session to its books. It has no sockets, no clock
//! reads, no threads and no async: the adapters `kucoin-blocking` and `kucoin-async-std` do the
//! I/O, and tests drive everything on virtual time.
//!
//! # The run loop
//!
//! Methods come in two kinds: inputs (`handle_*`, each with the current `Instant`) and outputs
//! (`poll_*`, `#[must_use]`). After any input, drain the outputs in this order: events, REST
//! calls, the URL to connect to, frames to write; then wait for a frame, a REST answer or the
//! deadline from `poll_timeout`, whichever comes first. Here the peer is a script playing KuCoin:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedEvent};
//! use kucoin_proto::book::BookEvent;
//! use kucoin_proto::rest::RestClient;
//! use kucoin_proto::ws::Transmit;
//! use kucoin_proto::{Spot, SpotSymbol, UnixMillis};
//!
//! let mut now = Instant::now(); // an adapter reads its clock; the core never does
//! let unix = UnixMillis(1_700_000_000_000);
//! let btc = SpotSymbol::new("BTC-USDT")?;
//! let mut feed = Feed::new(RestClient::<Spot>::new(), FeedConfig::default(), now)?;
//! feed.add_book(btc.clone(), now)?;
//!
//! // What KuCoin would answer, and what it would push on the socket.
//! let bullet = br#"{"code":"200000","data":{"token":"t","instanceServers":[
//!     {"endpoint":"wss://ws-api-spot.kucoin.com/","pingInterval":18000,"pingTimeout":10000}]}}"#;
//! let snapshot = br#"{"code":"200000","data":{"sequence":"100","time":1,
//!     "bids":[["65000","1"]],"asks":[["65000.5","2"]]}}"#;
//! let delta = r#"{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{"changes":{"asks":[],"bids":[["65000.1","0.5","101"]]},"sequenceEnd":101,"sequenceStart":101,"symbol":"BTC-USDT","time":1}}"#;
//! let mut inbox: Vec<String> = Vec::new();
//! let mut synced = false;
//! for _round in 0..50 {
//!     // 1. events
//!     while let Some(event) = feed.poll_event() {
//!         if let FeedEvent::Book { event: BookEvent::Synced { .. }, .. } = event {
//!             synced = true;
//!         }
//!     }
//!     if synced {
//!         break;
//!     }
//!     // 2. REST calls: send `call.request` (a signed http::Request), hand back the answer
//!     while let Some(call) = feed.poll_request(now, unix) {
//!         let body: &[u8] = match call.purpose {
//!             CallPurpose::Bullet { .. } => bullet,
//!             _ => snapshot,
//!         };
//!         feed.handle_response(now, unix, call.id, 200, &Default::default(), body);
//!     }
//!     // 3. connect
//!     if let Some(url) = feed.poll_connect() {
//!         assert!(url.as_str().starts_with("wss://ws-api-spot.kucoin.com/?token=t&connectId="));
//!         feed.handle_connected(now);
//!         inbox.push(r#"{"id":"x","type":"welcome"}"#.into());
//!     }
//!     // 4. write frames (KuCoin acks the subscription and starts the stream)
//!     while let Some(Transmit::Text(text)) = feed.poll_transmit() {
//!         let request: serde_json::Value = serde_json::from_str(&text)?;
//!         if request["type"] == "subscribe" {
//!             inbox.push(format!(r#"{{"id":"{}","type":"ack"}}"#, request["id"].as_str().unwrap_or("")));
//!             inbox.push(delta.into());
//!         }
//!     }
//!     // 5. a frame, or sleep until the deadline
//!     if !inbox.is_empty() {
//!         let frame = inbox.remove(0);
//!         feed.handle_frame(now, &frame);
//!     } else if let Some(deadline) = feed.poll_timeout() {
//!         now = now.max(deadline);
//!         feed.handle_timeout(now);
//!     }
//! }
//! let book = feed.book(&btc).expect("synced");
//! assert_eq!(book.sequence(), 101);
//! assert_eq!(book.best_bid().map(|l| l.price.to_string()).as_deref(), Some("65000.1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rules the crate keeps
//! - Time is always an argument (`Instant` for schedules, [`UnixMillis`] for signing); clippy's
//!   `disallowed-methods` bans clock reads here. A stale `now` is ignored.
//! - Nothing a peer sends can panic: every parse returns a typed error.
//! - Prices and sizes are exact ([`book::Decimal`]), never `f64`.
//! - Secrets never reach `Debug` or `Display`.
//!
//! # Cargo features
//!
//! The typed REST operations generated from KuCoin's specification ([`rest::api`]) come one
//! Cargo feature per KuCoin service, and none is on by default: the order-book feed, the
//! WebSocket session and the hand-written endpoints of [`rest`] need none of them, and a
//! market-data program should not compile hundreds of order and account types it never sends.
//! Enable the services whose operations you call; both adapters pass the same features through.
//!
//! | feature | operations |
//! |---|---|
//! | `spot` | spot market data, orders, fills (`rest::api::spot`) |
//! | `futures` | futures market data, orders, positions, funding (`rest::api::futures`) |
//! | `account` | balances, ledgers, deposits, withdrawals, transfers, sub-accounts, fees |
//! | `margin` | cross and isolated margin: orders, borrowing, risk limits |
//! | `earn` | Earn products |
//! | `copytrading` | futures copy trading |
//! | `broker` | broker operations (`api-broker` host) |
//! | `affiliate` | affiliate |
//! | `viplending` | VIP lending |
//! | `all` | every service |
//!
//! Each service costs compile time in proportion to its operations (on one core, the whole
//! crate alone takes about a tenth of the time with no service than with `all`).
//! `fuzzing` exposes internals to the fuzz crate and is not a stable API.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub use http;
pub use url;

pub mod auth;
pub mod book;
pub mod feed;
pub mod feed_pool;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod market;
pub mod num;
pub mod replay;
pub mod rest;
pub mod time;
pub mod ws;

/// The `User-Agent` this library sends on REST requests and WebSocket handshakes:
/// `kucoin-rs/<version>`.
pub const USER_AGENT: &str = concat!("kucoin-rs/", env!("CARGO_PKG_VERSION"));

pub use market::{Broker, Futures, FuturesSymbol, Market, Spot, SpotSymbol, Symbol};
pub use time::{ServerTimeOffset, UnixMillis};
