//! Sans-IO core of a KuCoin client.
//!
//! Bytes and timestamps go in; requests to send, frames to write, deadlines and events come out.
//! This crate owns REST signing, the WebSocket bullet-token flow, the ping/pong schedule,
//! subscriptions and reconnect policy, and order-book sequence validation. It has no sockets,
//! no clock reads, no threads and no async: the adapters `kucoin-blocking` and
//! `kucoin-async-std` do the I/O.
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
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod market;
pub mod rest;
pub mod time;
pub mod ws;

pub use market::{Futures, FuturesSymbol, Market, Spot, SpotSymbol, Symbol};
pub use time::{ServerTimeOffset, UnixMillis};
