//! Async KuCoin client on async-io: runs under smol and async-std alike.

pub use kucoin_proto as proto;

pub mod transport;
