//! What a [`Feed`](super::Feed) is doing, and why it is not live: its [`FeedState`] and its last
//! [`Failure`] with a typed [`FailureCause`] and the instant of the next retry.
//!
//! The adapters classify their I/O errors into causes ([`FailureCause::Dns`],
//! [`FailureCause::Connect`], [`FailureCause::Tls`], ...) when they report them
//! ([`Feed::handle_request_failed_cause`](super::Feed::handle_request_failed_cause),
//! [`Feed::handle_connect_failed_cause`](super::Feed::handle_connect_failed_cause)); KuCoin's
//! refusals and HTTP statuses are classified by the feed from the answers it parses.

use std::fmt;
use std::time::{Duration, Instant};

use crate::rest::{ApiCode, ErrorClass, ResponseError};
use crate::ws::{BulletFailure, DisconnectCause, ReconnectReason};

/// What a feed is doing now ([`Feed::state`](super::Feed::state)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedState {
    /// Asking for a bullet, connecting the WebSocket or waiting for its `welcome`.
    Connecting,
    /// Connected; some wanted topics are not acknowledged yet.
    Subscribing,
    /// Every topic is subscribed; some book waits for (or applies) its snapshot.
    Syncing,
    /// Every topic is subscribed and every book is in step.
    Live,
    /// The last attempt failed; the next starts at `until`.
    Backoff {
        /// When the next attempt starts (a fresh bullet is asked for then).
        until: Instant,
        /// Consecutive failed attempts so far.
        attempt: u32,
    },
    /// The host suspended the feed (app in the background); nothing runs until resumed.
    Suspended,
    /// Closing, or closed: the feed does nothing more (closed by the caller, or too many
    /// failed attempts: see [`Feed::last_failure`](super::Feed::last_failure)).
    Ended,
}

impl FeedState {
    /// A short lowercase name: `connecting`, `subscribing`, `syncing`, `live`, `backoff`,
    /// `suspended`, `ended`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            FeedState::Connecting => "connecting",
            FeedState::Subscribing => "subscribing",
            FeedState::Syncing => "syncing",
            FeedState::Live => "live",
            FeedState::Backoff { .. } => "backoff",
            FeedState::Suspended => "suspended",
            FeedState::Ended => "ended",
        }
    }

    /// The state for a person at `now`: `backoff (attempt 3, next try in 1.2 s)`.
    #[must_use]
    pub fn describe(&self, now: Instant) -> String {
        match self {
            FeedState::Backoff { until, attempt } => format!(
                "backoff (attempt {attempt}, next try in {:.1} s)",
                until.saturating_duration_since(now).as_secs_f64()
            ),
            other => other.name().to_owned(),
        }
    }
}

impl fmt::Display for FeedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why something failed, classified so a program (and a person) can tell "no route to KuCoin"
/// from "KuCoin refused".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureCause {
    /// The host name could not be resolved.
    Dns(String),
    /// The TCP connection could not be made (refused, unreachable, reset).
    Connect(String),
    /// The TLS handshake failed (untrusted certificate, wrong name, protocol).
    Tls(String),
    /// Nothing came back in time.
    Timeout(String),
    /// An HTTP status without KuCoin's error body (a gateway page, a bare 429 or 503).
    HttpStatus(u16),
    /// KuCoin answered with an error code (the whole code: `400003`, `429000`).
    KuCoin {
        /// KuCoin's code.
        code: ApiCode,
        /// KuCoin's message.
        msg: String,
    },
    /// The WebSocket was closed by the peer.
    Closed {
        /// WebSocket close code, if any.
        code: Option<u16>,
        /// Close reason, if any.
        reason: String,
    },
    /// The peer broke the protocol: an unreadable body, an unusable bullet, no `welcome` or
    /// `pong` in time, a snapshot the book could not use.
    Protocol(String),
    /// Another failure (the adapter could not classify it).
    Other(String),
}

impl FailureCause {
    /// The cause of a REST answer that could not be used.
    #[must_use]
    pub fn from_response(e: &ResponseError) -> Self {
        match e {
            ResponseError::Api(api) => FailureCause::KuCoin {
                code: api.code.clone(),
                msg: api.msg.clone(),
            },
            ResponseError::Status { http_status, .. } => FailureCause::HttpStatus(*http_status),
            ResponseError::Empty { http_status } if !(200..300).contains(http_status) => {
                FailureCause::HttpStatus(*http_status)
            }
            other => FailureCause::Protocol(other.to_string()),
        }
    }

    /// Classifies a transport error from its text, for adapters that have nothing better
    /// (`"failed to lookup address"` is [`FailureCause::Dns`], `"Connection refused"`
    /// [`FailureCause::Connect`], `"certificate"` [`FailureCause::Tls`], `"timed out"`
    /// [`FailureCause::Timeout`], the rest [`FailureCause::Other`]).
    #[must_use]
    pub fn classify_text(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        let text = text.to_owned();
        if has(&[
            "lookup",
            "resolve",
            "dns",
            "name or service not known",
            "no such host",
            "nodename nor servname",
        ]) {
            FailureCause::Dns(text)
        } else if has(&["tls", "certificate", "handshake failed", "rustls"]) {
            FailureCause::Tls(text)
        } else if has(&["timed out", "timeout", "deadline"]) {
            FailureCause::Timeout(text)
        } else if has(&[
            "refused",
            "unreachable",
            "connect",
            "reset by peer",
            "broken pipe",
            "no route",
        ]) {
            FailureCause::Connect(text)
        } else {
            FailureCause::Other(text)
        }
    }

    /// True when KuCoin could not be reached at all: DNS, TCP, TLS or a timeout.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            FailureCause::Dns(_)
                | FailureCause::Connect(_)
                | FailureCause::Tls(_)
                | FailureCause::Timeout(_)
        )
    }

    /// True when KuCoin refused the credentials or a permission (fix the key, do not retry).
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            FailureCause::KuCoin { code, .. } => {
                crate::rest::ApiError {
                    http_status: 0,
                    code: code.clone(),
                    msg: String::new(),
                }
                .class()
                    == ErrorClass::Auth
            }
            FailureCause::HttpStatus(s) => *s == 401 || *s == 403,
            _ => false,
        }
    }

    /// A short lowercase kind: `dns`, `connect`, `tls`, `timeout`, `http_status`, `kucoin`,
    /// `closed`, `protocol`, `other`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            FailureCause::Dns(_) => "dns",
            FailureCause::Connect(_) => "connect",
            FailureCause::Tls(_) => "tls",
            FailureCause::Timeout(_) => "timeout",
            FailureCause::HttpStatus(_) => "http_status",
            FailureCause::KuCoin { .. } => "kucoin",
            FailureCause::Closed { .. } => "closed",
            FailureCause::Protocol(_) => "protocol",
            FailureCause::Other(_) => "other",
        }
    }

    fn from_bullet(b: &BulletFailure) -> Self {
        match b {
            BulletFailure::Response(e) => Self::from_response(e),
            BulletFailure::Transport(t) => Self::classify_text(t),
            BulletFailure::Invalid(t) => FailureCause::Protocol(format!("unusable bullet: {t}")),
        }
    }

    fn from_disconnect(c: &DisconnectCause) -> Self {
        match c {
            DisconnectCause::ServerClosed { code, reason } => FailureCause::Closed {
                code: *code,
                reason: reason.clone(),
            },
            DisconnectCause::Transport(t) => Self::classify_text(t),
            DisconnectCause::PongTimeout => {
                FailureCause::Timeout("no pong within pingTimeout".to_owned())
            }
            DisconnectCause::WelcomeTimeout => {
                FailureCause::Timeout("no welcome after connecting".to_owned())
            }
            DisconnectCause::TokenExpired => FailureCause::KuCoin {
                code: ApiCode::new("401"),
                msg: "token expired".to_owned(),
            },
            other => FailureCause::Other(format!("{other:?}")),
        }
    }

    pub(super) fn from_reconnect(r: &ReconnectReason) -> Self {
        match r {
            ReconnectReason::Bullet(b) => Self::from_bullet(b),
            ReconnectReason::ConnectFailed(t) => Self::classify_text(t),
            ReconnectReason::Disconnected(c) => Self::from_disconnect(c),
        }
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::Dns(t) => write!(f, "DNS lookup failed: {t}"),
            FailureCause::Connect(t) => write!(f, "cannot connect: {t}"),
            FailureCause::Tls(t) => write!(f, "TLS: {t}"),
            FailureCause::Timeout(t) => write!(f, "timed out: {t}"),
            FailureCause::HttpStatus(s) => write!(f, "HTTP {s} without a KuCoin error body"),
            FailureCause::KuCoin { code, msg } => write!(f, "KuCoin error {code}: {msg}"),
            FailureCause::Closed { code, reason } => match code {
                Some(c) => write!(f, "WebSocket closed by the server ({c}): {reason}"),
                None => write!(f, "WebSocket closed by the server: {reason}"),
            },
            FailureCause::Protocol(t) => write!(f, "protocol error: {t}"),
            FailureCause::Other(t) => f.write_str(t),
        }
    }
}

/// What was being done when a failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailedStep {
    /// Fetching the WebSocket token.
    Bullet {
        /// The private bullet.
        private: bool,
    },
    /// Opening the WebSocket.
    Connect,
    /// Using an open WebSocket.
    Stream,
    /// Fetching a book's snapshot.
    Snapshot {
        /// The book's symbol.
        symbol: String,
    },
    /// Fetching KuCoin's clock.
    ServerTime,
}

impl fmt::Display for FailedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailedStep::Bullet { private: true } => f.write_str("private bullet"),
            FailedStep::Bullet { private: false } => f.write_str("bullet"),
            FailedStep::Connect => f.write_str("WebSocket connect"),
            FailedStep::Stream => f.write_str("WebSocket"),
            FailedStep::Snapshot { symbol } => write!(f, "snapshot of {symbol}"),
            FailedStep::ServerTime => f.write_str("server time"),
        }
    }
}

/// The last thing that failed, why, and when it is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Why.
    pub cause: FailureCause,
    /// What was being done.
    pub step: FailedStep,
    /// When it was reported (the `now` of the report).
    pub at: Instant,
    /// When the next attempt starts, if one is planned.
    pub retry_at: Option<Instant>,
    /// Consecutive failed connection attempts at the time (0 for a book's snapshot).
    pub attempt: u32,
}

impl Failure {
    /// The failure for a person at `now`: `bullet: cannot connect: Connection refused (next
    /// try in 0.4 s)`.
    #[must_use]
    pub fn describe(&self, now: Instant) -> String {
        match self.retry_at {
            Some(at) => format!(
                "{}: {} (next try in {:.1} s)",
                self.step,
                self.cause,
                at.saturating_duration_since(now).as_secs_f64()
            ),
            None => format!("{}: {}", self.step, self.cause),
        }
    }

    /// How long until the next attempt, from `now` (`None` when none is planned).
    #[must_use]
    pub fn retry_in(&self, now: Instant) -> Option<Duration> {
        self.retry_at.map(|at| at.saturating_duration_since(now))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.cause)
    }
}

/// A feed's state and last failure together ([`Feed::status`](super::Feed::status)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedStatus {
    /// What the feed is doing.
    pub state: FeedState,
    /// The last failure, if any (kept after recovery; compare its `at`).
    pub last_failure: Option<Failure>,
}
