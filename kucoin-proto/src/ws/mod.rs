//! WebSocket session: bullet tokens, connect, welcome, ping/pong, subscriptions, reconnects.
//!
//! [`Session`] is a pure state machine: the adapter feeds it what happened (`handle_*`, with
//! the current `Instant`) and carries out what it asks for (`poll_*`). It never reads a clock,
//! opens a socket or sleeps. [`SessionPool`] spreads topics over several sessions.
//! [`channels`] types every channel: topics from typed parameters, and messages decoded into
//! exact types.
//!
//! # The run loop
//!
//! After every `handle_*` call, drain the outputs until all of them return `None`:
//!
//! 1. [`Session::poll_transmit`]: write text frames; on [`Transmit::Close`] close the socket
//!    (then report [`Session::handle_disconnected`] if the session is `Closing`).
//! 2. [`Session::poll_fetch`]: fetch a bullet (`POST /api/v1/bullet-public`, or the signed
//!    private one) and answer with [`Session::handle_bullet_response`] (or
//!    [`Session::handle_bullet_failed`]).
//! 3. [`Session::poll_connect`]: open the WebSocket, then [`Session::handle_connected`] (or
//!    [`Session::handle_connect_failed`]). A URL is only handed out once no close for the
//!    previous socket is pending, so there is never more than one socket.
//! 4. [`Session::poll_event`]: react to events.
//! 5. Wait for a frame ([`Session::handle_frame`]), a closed socket
//!    ([`Session::handle_disconnected`]) or the deadline from [`Session::poll_timeout`]
//!    ([`Session::handle_timeout`]). `handle_frame` also fires timers that are due, so a
//!    stream that never lets the read time out cannot starve the ping schedule.
//!
//! Here the peer is a script that answers like KuCoin does:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::time::{Duration, Instant};
//! use kucoin_proto::ws::{Session, SessionConfig, SessionEvent, Topic, Transmit};
//!
//! let bullet = br#"{"code":"200000","data":{"token":"tok","instanceServers":[
//!     {"endpoint":"wss://ws-api-spot.example/","pingInterval":18000,"pingTimeout":10000}]}}"#;
//! let mut now = Instant::now(); // an adapter reads its clock; the core never does
//! let mut session = Session::new(SessionConfig::public().with_seed(42), now);
//! session.subscribe(Topic::new("/market/ticker", "BTC-USDT")?)?;
//!
//! let mut from_server: VecDeque<String> = VecDeque::new();
//! let (mut messages, mut pongs) = (0, 0);
//! while messages < 1 || pongs < 1 {
//!     // 1. transmit (the script answers subscribe with ack + one message, ping with pong)
//!     while let Some(t) = session.poll_transmit() {
//!         let Transmit::Text(text) = t else { continue };
//!         let v: serde_json::Value = serde_json::from_str(&text)?;
//!         let id = v["id"].as_str().unwrap_or_default();
//!         match v["type"].as_str() {
//!             Some("subscribe") => {
//!                 from_server.push_back(format!(r#"{{"id":"{id}","type":"ack"}}"#));
//!                 from_server.push_back(r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"price":"67220"}}"#.into());
//!             }
//!             Some("ping") => from_server.push_back(format!(r#"{{"id":"{id}","type":"pong"}}"#)),
//!             _ => {}
//!         }
//!     }
//!     // 2. bullet
//!     while let Some(_req) = session.poll_fetch() {
//!         session.handle_bullet_response(now, 200, bullet)?;
//!     }
//!     // 3. connect
//!     if let Some(url) = session.poll_connect() {
//!         assert!(url.as_str().starts_with("wss://ws-api-spot.example/?token=tok&connectId="));
//!         session.handle_connected(now);
//!         from_server.push_back(r#"{"id":"x","type":"welcome"}"#.into());
//!     }
//!     // 4. events
//!     while let Some(event) = session.poll_event() {
//!         if let SessionEvent::Connected { connect_id } = event {
//!             assert_eq!(connect_id.len(), 16);
//!         }
//!     }
//!     // 5. a frame, or sleep until the deadline
//!     if let Some(frame) = from_server.pop_front() {
//!         if frame.contains("pong") { pongs += 1; }
//!         if let Some(msg) = session.handle_frame(now, &frame)? {
//!             assert_eq!(msg.topic(), "/market/ticker:BTC-USDT");
//!             assert_eq!(msg.data()?.get(), r#"{"price":"67220"}"#);
//!             messages += 1;
//!         }
//!     } else if let Some((deadline, _why)) = session.poll_timeout() {
//!         now = now.max(deadline); // an adapter sleeps until then
//!         session.handle_timeout(now);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions
//!
//! - A token is used for one connection only; every reconnect fetches a new bullet. When a
//!   connection fails before `welcome`, the next bullet connects to the next `instanceServers`
//!   entry (round robin over that bullet's list).
//! - Pings go out every `pingInterval` counted from the handshake, on a fixed grid (no drift
//!   from late wake-ups); the oldest unanswered ping must be answered by a `pong` (same id, or
//!   the id of a later ping) within `pingTimeout`. Other frames do not count as a pong.
//! - A bullet with a lifetime (`expires_in_ms`) schedules a refresh at 90 % of it: a new bullet
//!   is fetched while the old connection stays live, then the session moves over (a short gap,
//!   reported as `Disconnected { TokenRefresh }` and `Connected`).
//! - Error frames are matched to requests by id. `401` reconnects with a new bullet (the
//!   topics stay wanted); other codes (`404`, `509`, …) drop the topics of that request from
//!   the wanted set and report `SubscribeFailed`. An error without a known id is a
//!   `ServerError` event; the session lives on.
//! - The backoff counter resets when a connection reaches `welcome`.
//! - There is no `Idle` state: a session asks for a bullet as soon as it exists. Create it when
//!   you want a connection; [`SessionPool`] creates sessions only when a topic needs room.
//! - `message` frames are recognised by a header scanner that reads leading `"key":"string"`
//!   pairs without allocating; anything unusual (escapes, duplicate keys, a non-string before
//!   `type`/`topic`) goes through serde. `Message::data_str` finds the `data` text without
//!   allocating; `Message::data` validates it with serde_json.
//!
//! # KuCoin behaviour not pinned down by the docs and fixtures
//!
//! - Whether a token may serve more than one connection: the session never reuses one.
//! - Whether a bullet carries a lifetime (the fixtures have none; `expires_in_ms` is honoured
//!   if present) and how long a connection may live (reported as a server close if cut).
//! - How KuCoin times out a silent client: we assume it waits at least `pingInterval` plus
//!   `pingTimeout`, and ping every `pingInterval` on a fixed grid from the handshake.
//! - Whether a joined request with one bad subject is rejected whole: an error frame fails
//!   every topic of that request.
//! - The exact limit of topics per connection (300 by default, configurable) and the
//!   codes' text; error `code` and `id` are accepted as numbers or strings.
//! - Whether `welcome`'s `id` always echoes the connectId: it is not checked.

pub mod channels;
mod config;
mod frame;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod pool;
pub(crate) mod rng;
mod session;
mod timer;
mod topic;
mod types;

pub use config::{Backoff, SessionConfig};
pub use frame::{FrameError, Message};
pub use pool::SessionPool;
pub use session::Session;
pub use timer::Timer;
pub use topic::{Topic, TopicError};
pub use types::{
    BulletFailure, BulletRequest, CloseReason, DisconnectCause, LifecycleError, ReconnectReason,
    RequestFailure, SessionEvent, SessionState, SubscribeError, Transmit,
};
