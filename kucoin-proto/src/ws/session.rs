//! The session state machine. Every transition is in [`Session::step`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use super::config::SessionConfig;
use super::frame::{Frame, FrameError, Message, parse_frame};
use super::rng::SplitMix64;
use super::timer::{Timer, TimerTable, later};
use super::topic::Topic;
use super::types::{
    BulletFailure, BulletRequest, CloseReason, DisconnectCause, LifecycleError, ReconnectReason,
    RequestFailure, SessionEvent, SessionState, SubscribeError, Transmit,
};
use crate::rest::{ApiCode, Bullet, ResponseError, parse_envelope};

/// Longest `pingInterval`/`pingTimeout` accepted from a bullet (one hour); anything larger is
/// treated as a broken bullet rather than trusted.
const MAX_PING_MS: u64 = 3_600_000;

/// One WebSocket connection's worth of parameters, from one bullet.
struct Conn {
    connect_id: String,
    url: url::Url,
    ping_interval: Duration,
    ping_timeout: Duration,
    connected_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL carries the token: never print it.
        f.debug_struct("Conn")
            .field("connect_id", &self.connect_id)
            .field("host", &self.url.host_str())
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("connected_at", &self.connected_at)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct PingState {
    next_due: Instant,
    /// The oldest ping not yet answered.
    outstanding: Option<u64>,
    last_sent: u64,
}

#[derive(Debug)]
enum Phase {
    NeedBullet,
    Connecting {
        conn: Conn,
        url_taken: bool,
    },
    AwaitingWelcome {
        conn: Conn,
    },
    Live {
        conn: Conn,
        ping: PingState,
        refreshing: bool,
    },
    Backoff,
    /// Suspended by the host: no socket, no timers, no bullet until resumed.
    Suspended,
    Closing,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopicState {
    /// Wanted, not yet sent on this connection.
    Pending,
    /// Sent in request `id`, not yet acknowledged.
    InFlight(u64),
    /// Acknowledged.
    Active,
    /// Not acknowledged after every retry; re-sent after the next welcome.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqKind {
    Subscribe,
    Unsubscribe,
}

#[derive(Debug)]
struct Request {
    kind: ReqKind,
    topics: Vec<Topic>,
    text: String,
    sent: u32,
    deadline: Instant,
}

/// Everything that moves the state machine (messages do not: they change nothing).
#[derive(Debug)]
enum Input {
    Bullet(Result<Bullet, BulletFailure>),
    Connected,
    ConnectFailed(String),
    Disconnected(DisconnectCause),
    Welcome,
    Pong(Option<String>),
    Ack(Option<String>),
    Error {
        id: Option<String>,
        code: ApiCode,
        msg: String,
    },
    Unknown(String),
    Timer(Timer),
    Close,
    Suspend,
    Resume,
    NetworkChange,
}

/// A KuCoin WebSocket session: one connection at a time, reconnecting forever (or up to
/// `max_attempts`), keeping the wanted topics across reconnects.
///
/// Methods come in four kinds:
/// - getters: [`state`](Self::state), [`topics`](Self::topics);
/// - mutators: [`subscribe`](Self::subscribe), [`unsubscribe`](Self::unsubscribe), [`close`](Self::close);
/// - inputs (`handle_*`): call after the adapter did something or something happened to it;
/// - outputs (`poll_*`): call after every input until all return `None`, in the order
///   transmit → fetch → connect → event, then sleep until [`poll_timeout`](Self::poll_timeout)
///   or the next frame.
///
/// Lifecycle: `NeedBullet → Connecting → AwaitingWelcome → Live`, and on any failure
/// `Backoff → NeedBullet` with a **new** bullet (a token is used for one connection only).
/// Each new bullet connects to the next `instanceServers` entry if the previous one failed
/// before `welcome`.
///
/// The host's life cycle is an input too: [`handle_suspend`](Self::handle_suspend) (the app goes
/// to the background) closes the connection and stops every timer until
/// [`handle_resume`](Self::handle_resume), which starts over with a fresh bullet;
/// [`handle_network_change`](Self::handle_network_change) (Wi-Fi to cellular) drops the socket
/// and reconnects at once instead of waiting for a missing pong.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    rng: SplitMix64,
    next_id: u64,
    now: Instant,
    phase: Phase,
    timers: TimerTable,
    desired: BTreeMap<Topic, TopicState>,
    /// Some topics are `Pending` while live: build requests at the next `poll_transmit`.
    dirty: bool,
    requests: BTreeMap<u64, Request>,
    outbox: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    fetch: Option<BulletRequest>,
    failures: u32,
    server_cursor: usize,
}

impl Session {
    /// A session that starts by asking for a bullet (see [`poll_fetch`](Self::poll_fetch)).
    #[must_use]
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut rng = SplitMix64::new(config.seed);
        // Request ids start at a seeded point below 2^52, so they stay exact in any JSON reader.
        let next_id = (rng.next_u64() >> 12) | 1;
        let fetch = Some(BulletRequest {
            private: config.private,
        });
        Self {
            config,
            rng,
            next_id,
            now,
            phase: Phase::NeedBullet,
            timers: TimerTable::default(),
            desired: BTreeMap::new(),
            dirty: false,
            requests: BTreeMap::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            fetch,
            failures: 0,
            server_cursor: 0,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The visible state.
    #[must_use]
    pub fn state(&self) -> SessionState {
        match self.phase {
            Phase::NeedBullet => SessionState::NeedBullet,
            Phase::Connecting { .. } => SessionState::Connecting,
            Phase::AwaitingWelcome { .. } => SessionState::AwaitingWelcome,
            Phase::Live { .. } => SessionState::Live,
            Phase::Backoff => SessionState::Backoff,
            Phase::Suspended => SessionState::Suspended,
            Phase::Closing => SessionState::Closing,
            Phase::Closed => SessionState::Closed,
        }
    }

    /// The wanted topics, in subscription order.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> + '_ {
        self.desired.keys()
    }

    /// Number of wanted topics.
    #[must_use]
    pub fn topic_count(&self) -> usize {
        self.desired.len()
    }

    /// Adds `topic` to the wanted set; it is sent now if live, and after every `welcome`.
    ///
    /// Subscribing to a topic already wanted does nothing. Several calls in a row are joined
    /// into as few requests as possible (up to `max_subjects_per_request` subjects each).
    pub fn subscribe(&mut self, topic: Topic) -> Result<(), SubscribeError> {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return Err(SubscribeError::Closed);
        }
        if topic.is_private() && !self.config.private {
            return Err(SubscribeError::PrivateTopicOnPublicSession { topic });
        }
        if let Some(state) = self.desired.get_mut(&topic) {
            if *state == TopicState::Failed {
                *state = TopicState::Pending;
                self.dirty = true;
            }
            return Ok(());
        }
        if self.desired.len() >= self.config.max_topics_per_connection {
            return Err(SubscribeError::TooManyTopics {
                topic,
                limit: self.config.max_topics_per_connection,
            });
        }
        self.desired.insert(topic, TopicState::Pending);
        self.dirty = true;
        Ok(())
    }

    /// Removes `topic` from the wanted set, sending `unsubscribe` if it is subscribed now.
    ///
    /// [`SessionEvent::Unsubscribed`] follows (at once when not connected).
    pub fn unsubscribe(&mut self, topic: &Topic) -> Result<(), SubscribeError> {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return Err(SubscribeError::Closed);
        }
        let Some(state) = self.desired.remove(topic) else {
            return Err(SubscribeError::NotSubscribed {
                topic: topic.clone(),
            });
        };
        let on_wire = matches!(state, TopicState::Active | TopicState::InFlight(_));
        if on_wire && matches!(self.phase, Phase::Live { .. }) {
            let now = self.now;
            self.send_request(now, ReqKind::Unsubscribe, vec![topic.clone()]);
        } else {
            self.events.push_back(SessionEvent::Unsubscribed {
                topic: topic.clone(),
            });
        }
        Ok(())
    }

    /// Starts a graceful close: [`Transmit::Close`] if connected, then [`SessionEvent::Closed`].
    pub fn close(&mut self, now: Instant) {
        let now = self.clock(now);
        self.step(now, Input::Close);
    }

    /// The host is suspending (the app goes to the background, the OS will freeze or kill the
    /// socket): closes the connection gracefully ([`Transmit::Close`]), stops every timer and
    /// forgets any bullet asked for. Emits [`SessionEvent::Disconnected`] (cause
    /// [`DisconnectCause::Suspended`]) if it was live, then [`SessionEvent::Suspended`]. While
    /// suspended there is no ping, no request, no deadline ([`poll_timeout`](Self::poll_timeout)
    /// is `None`) and frames are ignored. Topics stay wanted.
    ///
    /// # Errors
    /// [`LifecycleError::AlreadySuspended`], or [`LifecycleError::Closed`] once closing or
    /// closed; nothing changes then.
    pub fn handle_suspend(&mut self, now: Instant) -> Result<(), LifecycleError> {
        match self.phase {
            Phase::Suspended => return Err(LifecycleError::AlreadySuspended),
            Phase::Closing | Phase::Closed => return Err(LifecycleError::Closed),
            _ => {}
        }
        let now = self.clock(now);
        self.step(now, Input::Suspend);
        Ok(())
    }

    /// The host is back: fetches a fresh bullet at once (never the old token), reconnects and
    /// resubscribes every wanted topic. Emits [`SessionEvent::Resumed`].
    ///
    /// # Errors
    /// [`LifecycleError::NotSuspended`] unless suspended; nothing changes then.
    pub fn handle_resume(&mut self, now: Instant) -> Result<(), LifecycleError> {
        if !matches!(self.phase, Phase::Suspended) {
            return Err(if matches!(self.phase, Phase::Closing | Phase::Closed) {
                LifecycleError::Closed
            } else {
                LifecycleError::NotSuspended
            });
        }
        let now = self.clock(now);
        self.step(now, Input::Resume);
        Ok(())
    }

    /// The host's network changed (Wi-Fi to cellular, a VPN, a new address): the socket may be
    /// dead without any close. A connection (or a handshake) is dropped and a new bullet fetched
    /// at once, without waiting for the pong deadline or a backoff; a pending backoff is cut
    /// short. While a bullet is being fetched it does nothing.
    ///
    /// # Errors
    /// [`LifecycleError::Suspended`] while suspended (resume instead), or
    /// [`LifecycleError::Closed`] once closing or closed; nothing changes then.
    pub fn handle_network_change(&mut self, now: Instant) -> Result<(), LifecycleError> {
        match self.phase {
            Phase::Suspended => return Err(LifecycleError::Suspended),
            Phase::Closing | Phase::Closed => return Err(LifecycleError::Closed),
            _ => {}
        }
        let now = self.clock(now);
        self.step(now, Input::NetworkChange);
        Ok(())
    }

    /// Feeds the answer of the bullet request (`http_status` and body).
    ///
    /// An error is returned for the caller's information; the session has already planned a
    /// retry after backoff.
    pub fn handle_bullet_response(
        &mut self,
        now: Instant,
        http_status: u16,
        body: &[u8],
    ) -> Result<(), ResponseError> {
        let now = self.clock(now);
        let parsed = parse_envelope::<Bullet>(http_status, body);
        let result = parsed.as_ref().map(|_| ()).map_err(Clone::clone);
        self.step(now, Input::Bullet(parsed.map_err(BulletFailure::Response)));
        result
    }

    /// Reports that the bullet request failed in transport (DNS, TLS, timeout, …).
    pub fn handle_bullet_failed(&mut self, now: Instant, reason: String) {
        let now = self.clock(now);
        self.step(now, Input::Bullet(Err(BulletFailure::Transport(reason))));
    }

    /// Reports that the WebSocket handshake to the URL from `poll_connect` finished.
    pub fn handle_connected(&mut self, now: Instant) {
        let now = self.clock(now);
        self.step(now, Input::Connected);
    }

    /// Reports that the WebSocket handshake failed.
    pub fn handle_connect_failed(&mut self, now: Instant, reason: String) {
        let now = self.clock(now);
        self.step(now, Input::ConnectFailed(reason));
    }

    /// Feeds one text frame.
    ///
    /// `message` frames come back as [`Message`] (borrowing `text`, allocation-free); control
    /// frames update the session and return `Ok(None)`. Timers due at `now` fire first, so a
    /// stream that never lets the adapter's read time out still pings on schedule. A frame that is not JSON or lacks a
    /// needed field is a typed error; the session lives on.
    pub fn handle_frame<'a>(
        &mut self,
        now: Instant,
        text: &'a str,
    ) -> Result<Option<Message<'a>>, FrameError> {
        let now = self.clock(now);
        // A busy stream may keep the adapter from ever reaching its read timeout: fire due
        // timers here too, so pings and deadlines never starve.
        if self.poll_timeout().is_some_and(|(at, _)| at <= now) {
            self.handle_timeout(now);
        }
        if !matches!(
            self.phase,
            Phase::AwaitingWelcome { .. } | Phase::Live { .. } | Phase::Closing
        ) {
            // A frame from a connection the session already left.
            return Ok(None);
        }
        if text.len() > self.config.max_frame_len {
            return Err(FrameError::TooLong {
                len: text.len(),
                limit: self.config.max_frame_len,
            });
        }
        let input = match parse_frame(text)? {
            Frame::Message(m) => return Ok(Some(m)),
            Frame::Welcome { .. } => Input::Welcome,
            Frame::Pong { id } => Input::Pong(id),
            Frame::Ack { id } => Input::Ack(id),
            Frame::Error { id, code, msg } => Input::Error { id, code, msg },
            Frame::Other { kind } => Input::Unknown(kind),
        };
        self.step(now, input);
        Ok(None)
    }

    /// Reports that the socket closed or failed.
    pub fn handle_disconnected(&mut self, now: Instant, cause: DisconnectCause) {
        let now = self.clock(now);
        self.step(now, Input::Disconnected(cause));
    }

    /// Fires every timer due at `now`. A `now` earlier than one already seen is ignored;
    /// calling early or twice does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.now {
            return;
        }
        self.now = now;
        while let Some((at, timer)) = self.poll_timeout() {
            if at > now {
                break;
            }
            self.timers.stop(timer);
            self.step(now, Input::Timer(timer));
        }
    }

    /// A bullet to fetch, at most one at a time.
    #[must_use]
    pub fn poll_fetch(&mut self) -> Option<BulletRequest> {
        self.fetch.take()
    }

    /// The URL to open (`{endpoint}?token=…&connectId=…`), once per bullet.
    ///
    /// Held back while a [`Transmit::Close`] for the previous socket is waiting in
    /// `poll_transmit`, so a close always refers to the socket that is open now.
    ///
    /// The URL carries the token: do not log it.
    #[must_use]
    pub fn poll_connect(&mut self) -> Option<url::Url> {
        if self.outbox.contains(&Transmit::Close) {
            // The old socket must be closed first, or the adapter could close the new one.
            return None;
        }
        match &mut self.phase {
            Phase::Connecting { conn, url_taken } if !*url_taken => {
                *url_taken = true;
                Some(conn.url.clone())
            }
            _ => None,
        }
    }

    /// The next frame to write (or a close).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.dirty && matches!(self.phase, Phase::Live { .. }) {
            self.dirty = false;
            self.flush_subscriptions();
        }
        self.outbox.pop_front()
    }

    /// The earliest deadline and why; call [`handle_timeout`](Self::handle_timeout) then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<(Instant, Timer)> {
        let mut best = self.timers.next();
        for (id, r) in &self.requests {
            if best.is_none_or(|(b, _)| r.deadline < b) {
                best = Some((r.deadline, Timer::Ack(*id)));
            }
        }
        best
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn clock(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// The one transition function: every state change of the session happens here.
    fn step(&mut self, now: Instant, input: Input) {
        let phase = std::mem::replace(&mut self.phase, Phase::Closed);
        self.phase = match (phase, input) {
            // ---- closing ----
            (p @ (Phase::Closing | Phase::Closed), Input::Close) => p,
            (Phase::AwaitingWelcome { .. } | Phase::Live { .. }, Input::Close) => {
                self.drop_connection(true);
                self.timers
                    .set(Timer::Close, later(now, self.config.close_timeout));
                Phase::Closing
            }
            (_, Input::Close) => self.finish(CloseReason::Requested),
            (Phase::Closing, Input::Disconnected(_) | Input::Timer(Timer::Close)) => {
                self.finish(CloseReason::Requested)
            }

            // ---- host life cycle ----
            (p, Input::Suspend) => {
                let live = matches!(p, Phase::Live { .. });
                let socket =
                    live || matches!(
                        p,
                        Phase::AwaitingWelcome { .. }
                            | Phase::Connecting {
                                url_taken: true,
                                ..
                            }
                    ) || self.outbox.contains(&Transmit::Close);
                self.drop_connection(socket);
                self.fetch = None;
                self.failures = 0;
                if live {
                    self.events.push_back(SessionEvent::Disconnected {
                        cause: DisconnectCause::Suspended,
                    });
                }
                self.events.push_back(SessionEvent::Suspended);
                Phase::Suspended
            }
            (Phase::Suspended, Input::Resume) => {
                self.failures = 0;
                self.events.push_back(SessionEvent::Resumed);
                self.need_bullet()
            }
            (p @ Phase::NeedBullet, Input::NetworkChange) => p,
            (
                p @ (Phase::Connecting { .. }
                | Phase::AwaitingWelcome { .. }
                | Phase::Live { .. }
                | Phase::Backoff),
                Input::NetworkChange,
            ) => {
                let live = matches!(p, Phase::Live { .. });
                let socket =
                    live || matches!(
                        p,
                        Phase::AwaitingWelcome { .. }
                            | Phase::Connecting {
                                url_taken: true,
                                ..
                            }
                    ) || self.outbox.contains(&Transmit::Close);
                self.drop_connection(socket);
                self.failures = 0;
                let cause = DisconnectCause::NetworkChanged;
                if live {
                    self.events.push_back(SessionEvent::Disconnected {
                        cause: cause.clone(),
                    });
                }
                self.events.push_back(SessionEvent::Reconnecting {
                    reason: ReconnectReason::Disconnected(cause),
                    retry_at: now,
                    attempt: 0,
                });
                self.need_bullet()
            }

            // ---- bullet ----
            (Phase::NeedBullet, Input::Bullet(Ok(bullet))) => self.start_connecting(now, bullet),
            (Phase::NeedBullet, Input::Bullet(Err(f))) => {
                self.fail(now, ReconnectReason::Bullet(f))
            }
            (
                Phase::Live {
                    refreshing: true, ..
                },
                Input::Bullet(Ok(bullet)),
            ) => {
                // Planned move to a fresh token: leave the old connection, no backoff.
                self.drop_connection(true);
                let cause = DisconnectCause::TokenRefresh;
                self.events.push_back(SessionEvent::Disconnected {
                    cause: cause.clone(),
                });
                self.events.push_back(SessionEvent::Reconnecting {
                    reason: ReconnectReason::Disconnected(cause),
                    retry_at: now,
                    attempt: 0,
                });
                self.start_connecting(now, bullet)
            }
            (
                Phase::Live {
                    conn,
                    ping,
                    refreshing: true,
                },
                Input::Bullet(Err(_)),
            ) => {
                // Keep the working connection; try the refresh again after a short pause.
                let pause = self.config.backoff.base(1).max(Duration::from_secs(1));
                let at = later(now, pause);
                self.timers.set(Timer::TokenRefresh, at);
                Phase::Live {
                    conn,
                    ping,
                    refreshing: false,
                }
            }
            (p, Input::Bullet(_)) => p, // stale answer

            // ---- handshake ----
            (Phase::Connecting { mut conn, .. }, Input::Connected) => {
                conn.connected_at = Some(now);
                self.timers.stop(Timer::Connect);
                self.timers
                    .set(Timer::Welcome, later(now, self.config.welcome_timeout));
                Phase::AwaitingWelcome { conn }
            }
            (p, Input::Connected) => {
                // A handshake finished for a connection the session gave up on: drop it.
                self.outbox.push_back(Transmit::Close);
                p
            }
            (Phase::Connecting { .. }, Input::ConnectFailed(reason)) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.fail(now, ReconnectReason::ConnectFailed(reason))
            }
            (Phase::Connecting { .. }, Input::Timer(Timer::Connect)) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.outbox.push_back(Transmit::Close);
                self.fail(
                    now,
                    ReconnectReason::ConnectFailed("WebSocket handshake timed out".into()),
                )
            }
            (Phase::Connecting { .. }, Input::Disconnected(cause)) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.fail(now, ReconnectReason::ConnectFailed(format!("{cause:?}")))
            }

            // ---- welcome ----
            (Phase::AwaitingWelcome { conn }, Input::Welcome) => self.go_live(now, conn),
            (Phase::AwaitingWelcome { .. }, Input::Timer(Timer::Welcome)) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.drop_connection(true);
                self.fail(
                    now,
                    ReconnectReason::Disconnected(DisconnectCause::WelcomeTimeout),
                )
            }
            (Phase::AwaitingWelcome { .. }, Input::Disconnected(cause)) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.drop_connection(false);
                self.fail(now, ReconnectReason::Disconnected(cause))
            }

            // ---- live ----
            (Phase::Live { .. }, Input::Disconnected(cause)) => self.lose_live(now, cause, false),
            (Phase::Live { .. }, Input::Timer(Timer::PongDeadline)) => {
                self.lose_live(now, DisconnectCause::PongTimeout, true)
            }
            (
                Phase::Live {
                    conn,
                    mut ping,
                    refreshing,
                },
                Input::Timer(Timer::Ping),
            ) => {
                let id = self.fresh_id();
                self.outbox
                    .push_back(Transmit::Text(format!(r#"{{"id":"{id}","type":"ping"}}"#)));
                if ping.outstanding.is_none() {
                    ping.outstanding = Some(id);
                    self.timers
                        .set(Timer::PongDeadline, later(now, conn.ping_timeout));
                }
                ping.last_sent = id;
                let mut next = later(ping.next_due, conn.ping_interval);
                if next <= now {
                    // The caller woke us late: keep the interval from now rather than burst.
                    next = later(now, conn.ping_interval);
                }
                ping.next_due = next;
                self.timers.set(Timer::Ping, next);
                Phase::Live {
                    conn,
                    ping,
                    refreshing,
                }
            }
            (
                Phase::Live {
                    conn,
                    mut ping,
                    refreshing,
                },
                Input::Pong(id),
            ) => {
                if let Some(oldest) = ping.outstanding {
                    let answered = match id.as_deref() {
                        None => true,
                        Some(text) => text
                            .parse::<u64>()
                            .is_ok_and(|n| n >= oldest && n <= ping.last_sent),
                    };
                    if answered {
                        ping.outstanding = None;
                        self.timers.stop(Timer::PongDeadline);
                    }
                }
                Phase::Live {
                    conn,
                    ping,
                    refreshing,
                }
            }
            (
                Phase::Live {
                    conn,
                    ping,
                    refreshing: false,
                },
                Input::Timer(Timer::TokenRefresh),
            ) => {
                self.fetch = Some(BulletRequest {
                    private: self.config.private,
                });
                Phase::Live {
                    conn,
                    ping,
                    refreshing: true,
                }
            }
            (p @ Phase::Live { .. }, Input::Ack(id)) => {
                if let Some(req) = id.and_then(|i| self.take_request(&i)) {
                    self.complete(req);
                }
                p
            }
            (p @ Phase::Live { .. }, Input::Timer(Timer::Ack(id))) => {
                self.ack_timeout(now, id);
                p
            }
            (p, Input::Timer(Timer::Ack(id))) => {
                // Requests only live with a live connection; never let one linger and re-fire.
                if let Some(req) = self.requests.remove(&id) {
                    self.forget_request(req);
                }
                p
            }

            // ---- errors and unknown frames (any connected phase) ----
            (p, Input::Error { id, code, msg }) => {
                let req = id.and_then(|i| self.take_request(&i));
                if code.as_str() == "401" {
                    self.events.push_back(SessionEvent::TokenExpired);
                    if let Some(req) = req {
                        // Its topics stay wanted and go out again after the next welcome.
                        self.forget_request(req);
                    }
                    match p {
                        Phase::Live { .. } => {
                            self.lose_live(now, DisconnectCause::TokenExpired, true)
                        }
                        Phase::AwaitingWelcome { .. } => {
                            self.drop_connection(true);
                            self.fail(
                                now,
                                ReconnectReason::Disconnected(DisconnectCause::TokenExpired),
                            )
                        }
                        other => other,
                    }
                } else {
                    match req {
                        Some(req) => self.reject(req, code, msg),
                        None => self
                            .events
                            .push_back(SessionEvent::ServerError { code, msg }),
                    }
                    p
                }
            }
            (p, Input::Unknown(kind)) => {
                self.events.push_back(SessionEvent::UnknownFrame { kind });
                p
            }

            // ---- backoff ----
            (Phase::Backoff, Input::Timer(Timer::Backoff)) => self.need_bullet(),

            // Everything else is stale or does not apply in this phase.
            (p, _) => p,
        };
    }

    fn need_bullet(&mut self) -> Phase {
        self.fetch = Some(BulletRequest {
            private: self.config.private,
        });
        Phase::NeedBullet
    }

    fn start_connecting(&mut self, now: Instant, bullet: Bullet) -> Phase {
        match self.prepare(now, &bullet) {
            Ok(conn) => {
                self.timers
                    .set(Timer::Connect, later(now, self.config.connect_timeout));
                Phase::Connecting {
                    conn,
                    url_taken: false,
                }
            }
            Err(why) => {
                self.server_cursor = self.server_cursor.wrapping_add(1);
                self.fail(now, ReconnectReason::Bullet(BulletFailure::Invalid(why)))
            }
        }
    }

    fn prepare(&mut self, now: Instant, bullet: &Bullet) -> Result<Conn, String> {
        let n = bullet.instance_servers.len();
        if n == 0 {
            return Err("the bullet lists no instanceServers".into());
        }
        let server = bullet
            .instance_servers
            .get(self.server_cursor % n)
            .ok_or_else(|| "server index out of range".to_owned())?;
        for (name, v) in [
            ("pingInterval", server.ping_interval),
            ("pingTimeout", server.ping_timeout),
        ] {
            if v == 0 || v > MAX_PING_MS {
                return Err(format!(
                    "{name} = {v} ms is outside 1..={MAX_PING_MS} ms; refusing to ping on that schedule"
                ));
            }
        }
        let mut url = url::Url::parse(&server.endpoint)
            .map_err(|e| format!("endpoint {:?} is not a URL: {e}", server.endpoint))?;
        let connect_id = format!("{:016x}", self.rng.next_u64());
        url.query_pairs_mut()
            .append_pair("token", &bullet.token)
            .append_pair("connectId", &connect_id);
        let refresh_at = bullet.expires_in_ms.map(|ms| {
            let ms = ms.min(30 * 24 * 3600 * 1000) * u64::from(self.config.token_refresh_per_mille)
                / 1000;
            later(now, Duration::from_millis(ms))
        });
        Ok(Conn {
            connect_id,
            url,
            ping_interval: Duration::from_millis(server.ping_interval),
            ping_timeout: Duration::from_millis(server.ping_timeout),
            connected_at: None,
            refresh_at,
        })
    }

    fn go_live(&mut self, now: Instant, conn: Conn) -> Phase {
        self.failures = 0;
        self.timers.stop(Timer::Welcome);
        // KuCoin counts from the connection, so the schedule does too.
        let base = conn.connected_at.unwrap_or(now);
        let mut next_due = later(base, conn.ping_interval);
        if next_due <= now {
            next_due = later(now, conn.ping_interval);
        }
        self.timers.set(Timer::Ping, next_due);
        if let Some(at) = conn.refresh_at {
            self.timers.set(Timer::TokenRefresh, at.max(now));
        }
        for state in self.desired.values_mut() {
            *state = TopicState::Pending;
        }
        self.dirty = !self.desired.is_empty();
        self.events.push_back(SessionEvent::Connected {
            connect_id: conn.connect_id.clone(),
        });
        Phase::Live {
            conn,
            ping: PingState {
                next_due,
                outstanding: None,
                last_sent: 0,
            },
            refreshing: false,
        }
    }

    /// A live connection ended: report it, close our side if we decided, and back off.
    fn lose_live(&mut self, now: Instant, cause: DisconnectCause, close: bool) -> Phase {
        self.drop_connection(close);
        self.events.push_back(SessionEvent::Disconnected {
            cause: cause.clone(),
        });
        self.fail(now, ReconnectReason::Disconnected(cause))
    }

    /// Forgets everything tied to the current connection; queues a close if `close`.
    fn drop_connection(&mut self, close: bool) {
        self.outbox.clear();
        if close {
            self.outbox.push_back(Transmit::Close);
        }
        self.timers.clear();
        self.dirty = false;
        let requests = std::mem::take(&mut self.requests);
        for req in requests.into_values() {
            self.forget_request(req);
        }
    }

    /// A request that will never be answered: unsubscribes are done (the new connection won't
    /// carry the topic); subscribes stay wanted.
    fn forget_request(&mut self, req: Request) {
        if req.kind == ReqKind::Unsubscribe {
            for topic in req.topics {
                self.events.push_back(SessionEvent::Unsubscribed { topic });
            }
        }
    }

    fn fail(&mut self, now: Instant, reason: ReconnectReason) -> Phase {
        self.timers.clear();
        // A bullet asked for before the failure (a token refresh) is no use any more.
        self.fetch = None;
        self.failures = self.failures.saturating_add(1);
        if self
            .config
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            let attempts = self.failures;
            return self.finish(CloseReason::TooManyAttempts { attempts });
        }
        let b = self.config.backoff;
        let jitter_ns = u64::try_from(b.jitter.as_nanos()).unwrap_or(u64::MAX);
        let delay = b.base(self.failures) + Duration::from_nanos(self.rng.below_or_eq(jitter_ns));
        let retry_at = later(now, delay);
        self.timers.set(Timer::Backoff, retry_at);
        self.events.push_back(SessionEvent::Reconnecting {
            reason,
            retry_at,
            attempt: self.failures,
        });
        Phase::Backoff
    }

    fn finish(&mut self, reason: CloseReason) -> Phase {
        self.timers.clear();
        self.fetch = None;
        let requests = std::mem::take(&mut self.requests);
        for req in requests.into_values() {
            self.forget_request(req);
        }
        self.events.push_back(SessionEvent::Closed { reason });
        Phase::Closed
    }

    fn take_request(&mut self, id: &str) -> Option<Request> {
        let n = id.parse::<u64>().ok()?;
        self.requests.remove(&n)
    }

    fn complete(&mut self, req: Request) {
        match req.kind {
            ReqKind::Subscribe => {
                for topic in req.topics {
                    if let Some(state) = self.desired.get_mut(&topic)
                        && matches!(state, TopicState::InFlight(_))
                    {
                        *state = TopicState::Active;
                        self.events.push_back(SessionEvent::Subscribed { topic });
                    }
                }
            }
            ReqKind::Unsubscribe => {
                for topic in req.topics {
                    self.events.push_back(SessionEvent::Unsubscribed { topic });
                }
            }
        }
    }

    fn reject(&mut self, req: Request, code: ApiCode, msg: String) {
        let reason = RequestFailure::Rejected { code, msg };
        match req.kind {
            ReqKind::Subscribe => {
                for topic in req.topics {
                    if matches!(self.desired.get(&topic), Some(TopicState::InFlight(_))) {
                        self.desired.remove(&topic);
                        self.events.push_back(SessionEvent::SubscribeFailed {
                            topic,
                            reason: reason.clone(),
                        });
                    }
                }
            }
            ReqKind::Unsubscribe => {
                for topic in req.topics {
                    self.events.push_back(SessionEvent::UnsubscribeFailed {
                        topic,
                        reason: reason.clone(),
                    });
                }
            }
        }
    }

    fn ack_timeout(&mut self, now: Instant, id: u64) {
        let retries = self.config.ack_retries;
        let ack_timeout = self.config.ack_timeout;
        let Some(req) = self.requests.get_mut(&id) else {
            return;
        };
        if req.sent <= retries {
            req.sent += 1;
            req.deadline = later(now, ack_timeout);
            self.outbox.push_back(Transmit::Text(req.text.clone()));
            return;
        }
        let Some(req) = self.requests.remove(&id) else {
            return;
        };
        let reason = RequestFailure::NoAck { attempts: req.sent };
        for topic in req.topics {
            match req.kind {
                ReqKind::Subscribe => {
                    if let Some(state) = self.desired.get_mut(&topic)
                        && matches!(state, TopicState::InFlight(_))
                    {
                        *state = TopicState::Failed;
                        self.events.push_back(SessionEvent::SubscribeFailed {
                            topic,
                            reason: reason.clone(),
                        });
                    }
                }
                ReqKind::Unsubscribe => {
                    self.events.push_back(SessionEvent::UnsubscribeFailed {
                        topic,
                        reason: reason.clone(),
                    });
                }
            }
        }
    }

    /// Sends every `Pending` topic, joining subjects of one prefix (in `BTreeMap` order).
    fn flush_subscriptions(&mut self) {
        let max = self.config.max_subjects_per_request.max(1);
        let mut batches: Vec<Vec<Topic>> = Vec::new();
        for (topic, state) in &self.desired {
            if *state != TopicState::Pending {
                continue;
            }
            match batches.last_mut() {
                Some(batch)
                    if batch.len() < max && batch.first().is_some_and(|f| f.joins_with(topic)) =>
                {
                    batch.push(topic.clone());
                }
                _ => batches.push(vec![topic.clone()]),
            }
        }
        let now = self.now;
        for batch in batches {
            self.send_request(now, ReqKind::Subscribe, batch);
        }
    }

    fn send_request(&mut self, now: Instant, kind: ReqKind, topics: Vec<Topic>) {
        let Some(first) = topics.first() else {
            return;
        };
        let id = self.fresh_id();
        let mut topic = first.to_string();
        for t in topics.iter().skip(1) {
            topic.push(',');
            topic.push_str(t.subject().unwrap_or_default());
        }
        let kind_text = match kind {
            ReqKind::Subscribe => "subscribe",
            ReqKind::Unsubscribe => "unsubscribe",
        };
        // Topic text is validated (no quotes, backslashes or control characters), so it can
        // be written into JSON as is.
        let text = format!(
            r#"{{"id":"{id}","type":"{kind_text}","topic":"{topic}","privateChannel":{},"response":true}}"#,
            first.is_private()
        );
        if kind == ReqKind::Subscribe {
            for t in &topics {
                if let Some(state) = self.desired.get_mut(t) {
                    *state = TopicState::InFlight(id);
                }
            }
        }
        self.outbox.push_back(Transmit::Text(text.clone()));
        self.requests.insert(
            id,
            Request {
                kind,
                topics,
                text,
                sent: 1,
                deadline: later(now, self.config.ack_timeout),
            },
        );
    }
}
