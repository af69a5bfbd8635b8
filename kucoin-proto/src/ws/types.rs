//! Public inputs and outputs of the session: requests, transmits, states, causes, events, errors.

use std::time::Instant;

use super::topic::Topic;
use crate::rest::{ApiCode, ResponseError};

/// A bullet (connection token) the adapter should fetch: `POST /api/v1/bullet-public` or, when
/// `private`, the signed `POST /api/v1/bullet-private`. Answer with
/// [`Session::handle_bullet_response`](super::Session::handle_bullet_response) or
/// [`Session::handle_bullet_failed`](super::Session::handle_bullet_failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct BulletRequest {
    /// Fetch the private bullet (signed request).
    pub private: bool,
}

/// Something to write to the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Transmit {
    /// Send this text frame.
    Text(String),
    /// Close the socket (send a close frame and drop it). Then report
    /// [`Session::handle_disconnected`](super::Session::handle_disconnected).
    Close,
}

/// The session's visible state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Waiting for a bullet (see `poll_fetch`).
    NeedBullet,
    /// The URL is ready (see `poll_connect`) or the handshake is running.
    Connecting,
    /// Connected, waiting for `welcome`.
    AwaitingWelcome,
    /// Welcome received: pinging, subscribing, receiving messages.
    Live,
    /// Pausing before the next attempt.
    Backoff,
    /// A graceful close is under way.
    Closing,
    /// Suspended by the host ([`Session::handle_suspend`](super::Session::handle_suspend)): no
    /// socket, no timers, no requests until [`Session::handle_resume`](super::Session::handle_resume).
    Suspended,
    /// Finished; the session does nothing more.
    Closed,
}

/// Why a connection ended.
///
/// The adapter reports [`DisconnectCause::ServerClosed`] or [`DisconnectCause::Transport`];
/// the other variants are the session's own decisions, reported in events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectCause {
    /// The server sent a close frame (or closed the TCP connection cleanly).
    ServerClosed {
        /// WebSocket close code, if any.
        code: Option<u16>,
        /// Close reason text, if any.
        reason: String,
    },
    /// A read or write failed.
    Transport(String),
    /// No `pong` within `pingTimeout` after a ping.
    PongTimeout,
    /// No `welcome` within the configured timeout.
    WelcomeTimeout,
    /// KuCoin answered 401: the token expired.
    TokenExpired,
    /// The token is about to expire; the session moves to a fresh bullet.
    TokenRefresh,
    /// The host suspended the session ([`Session::handle_suspend`](super::Session::handle_suspend)).
    Suspended,
    /// The host reported a network change
    /// ([`Session::handle_network_change`](super::Session::handle_network_change)): the socket
    /// may be dead without a close, so it is dropped and a new one opened at once.
    NetworkChanged,
}

/// Why a bullet could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BulletFailure {
    /// KuCoin (or a proxy) answered with an error or an unreadable body.
    Response(ResponseError),
    /// The HTTP request itself failed.
    Transport(String),
    /// The bullet is unusable (no servers, unparsable endpoint, zero or absurd ping settings).
    Invalid(String),
}

/// Why the session is about to reconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconnectReason {
    /// The bullet request failed.
    Bullet(BulletFailure),
    /// The WebSocket handshake failed or timed out.
    ConnectFailed(String),
    /// An established connection ended.
    Disconnected(DisconnectCause),
}

/// Why the session closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// [`Session::close`](super::Session::close) was called.
    Requested,
    /// `max_attempts` consecutive attempts failed.
    TooManyAttempts {
        /// Failed attempts in a row.
        attempts: u32,
    },
}

/// Why a subscribe or unsubscribe request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFailure {
    /// No `ack` after every attempt; the topic stays wanted and is re-sent after the next welcome.
    NoAck {
        /// Times the request was sent.
        attempts: u32,
    },
    /// KuCoin answered with an error frame (`404` unknown topic, `509` too many topics, …);
    /// the topic is dropped from the wanted set.
    Rejected {
        /// KuCoin's code, whole.
        code: ApiCode,
        /// KuCoin's message.
        msg: String,
    },
}

/// Something that happened; drain with `poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// `welcome` received: the connection is live. Subscriptions are being (re)sent.
    Connected {
        /// The connectId this connection was opened with.
        connect_id: String,
    },
    /// A live connection ended: anything derived from its stream (an order book) is stale.
    Disconnected {
        /// Why.
        cause: DisconnectCause,
    },
    /// The session will fetch a new bullet at `retry_at`.
    Reconnecting {
        /// Why.
        reason: ReconnectReason,
        /// When the next bullet will be requested.
        retry_at: Instant,
        /// Consecutive failed attempts so far (0 for a planned token refresh).
        attempt: u32,
    },
    /// KuCoin acknowledged the subscription.
    Subscribed {
        /// The topic.
        topic: Topic,
    },
    /// A subscription failed.
    SubscribeFailed {
        /// The topic.
        topic: Topic,
        /// Why.
        reason: RequestFailure,
    },
    /// The topic is no longer subscribed.
    Unsubscribed {
        /// The topic.
        topic: Topic,
    },
    /// An unsubscribe request failed; the topic is no longer wanted anyway.
    UnsubscribeFailed {
        /// The topic.
        topic: Topic,
        /// Why.
        reason: RequestFailure,
    },
    /// KuCoin said the token expired (error 401); a new bullet follows.
    TokenExpired,
    /// A frame type this library does not know; ignored.
    UnknownFrame {
        /// Its `type`.
        kind: String,
    },
    /// An error frame that belongs to no request of ours.
    ServerError {
        /// KuCoin's code, whole.
        code: ApiCode,
        /// KuCoin's message.
        msg: String,
    },
    /// The host suspended the session: the connection was closed, timers stopped; anything
    /// derived from the stream (an order book) is stale until resumed and resynced.
    Suspended,
    /// The host resumed the session: a fresh bullet is fetched and every topic resubscribed.
    Resumed,
    /// The session closed and will do nothing more.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why `subscribe`/`unsubscribe` refused (the caller's mistake or a limit, not a peer fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// A private topic on a public session.
    #[error(
        "topic {topic} is private but the session is public: use SessionConfig::private() (private bullet)"
    )]
    PrivateTopicOnPublicSession {
        /// The topic.
        topic: Topic,
    },
    /// The connection already carries `limit` topics; KuCoin would reject more.
    #[error(
        "cannot add {topic}: this connection already has {limit} topics (KuCoin's limit); use SessionPool to spread topics over connections"
    )]
    TooManyTopics {
        /// The topic.
        topic: Topic,
        /// The configured limit.
        limit: usize,
    },
    /// `unsubscribe` for a topic that is not subscribed.
    #[error("topic {topic} is not subscribed")]
    NotSubscribed {
        /// The topic.
        topic: Topic,
    },
    /// The session is closed or closing.
    #[error("the session is closed: create a new one")]
    Closed,
}

/// Why a life-cycle call ([`Session::handle_suspend`](super::Session::handle_suspend),
/// [`Session::handle_resume`](super::Session::handle_resume),
/// [`Session::handle_network_change`](super::Session::handle_network_change)) was refused: the
/// caller's state machine and the session's disagree. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// `suspend` while already suspended.
    #[error("the session is already suspended: call resume first")]
    AlreadySuspended,
    /// `resume` while not suspended.
    #[error("the session is not suspended: resume only follows suspend")]
    NotSuspended,
    /// `network_change` while suspended (there is no connection to move).
    #[error("the session is suspended: resume it instead of reporting a network change")]
    Suspended,
    /// The session is closed or closing.
    #[error("the session is closed: create a new one")]
    Closed,
}
