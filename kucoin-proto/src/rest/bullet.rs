//! The answer of `POST /api/v1/bullet-public` and `/api/v1/bullet-private`.

use std::fmt;

use serde::Deserialize;

/// A WebSocket connection token and the servers it is valid for.
///
/// A token is used for one connection only: every reconnect fetches a new one.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bullet {
    /// The connection token, sent as `?token=` (redacted from `Debug`).
    pub token: String,
    /// Servers to connect to, in KuCoin's order of preference.
    pub instance_servers: Vec<InstanceServer>,
    /// Token lifetime in milliseconds, when the answer carries one.
    #[serde(
        default,
        alias = "expireIn",
        alias = "expiresIn",
        alias = "tokenExpireIn"
    )]
    pub expires_in_ms: Option<u64>,
}

impl fmt::Debug for Bullet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bullet")
            .field("token", &"<redacted>")
            .field("instance_servers", &self.instance_servers)
            .field("expires_in_ms", &self.expires_in_ms)
            .finish()
    }
}

/// One WebSocket server from a bullet answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceServer {
    /// `wss://…` URL to connect to (the token and connectId are added as query parameters).
    pub endpoint: String,
    /// Whether the endpoint uses TLS.
    #[serde(default)]
    pub encrypt: bool,
    /// Protocol name, `websocket`.
    #[serde(default)]
    pub protocol: String,
    /// How often to send a ping, in milliseconds.
    pub ping_interval: u64,
    /// How long to wait for a pong, in milliseconds.
    pub ping_timeout: u64,
}
