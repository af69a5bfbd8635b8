//! Blocking KuCoin client: drives the sans-IO `kucoin-proto` core over ureq and tungstenite.

pub use kucoin_proto as proto;

pub mod transport;
