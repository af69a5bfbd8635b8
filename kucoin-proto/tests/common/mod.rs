//! A virtual-time driver that plays KuCoin's side against a `Session`.
//!
//! `Driver` owns a session, a fake KuCoin server and a virtual clock. `pump()` carries out every
//! output of the session (fetch → connect → transmit → events) and delivers server frames that
//! are due; `run_until(t)` jumps from deadline to deadline (session timers and server frames).
//! Nothing sleeps; the `Instant` base is only an anchor for offsets.
#![allow(dead_code, clippy::disallowed_methods)]

use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use kucoin_proto::ws::{
    DisconnectCause, FrameError, Session, SessionConfig, SessionEvent, Transmit,
};

/// How the fake KuCoin behaves; change fields between steps to script a scenario.
#[derive(Debug, Clone)]
pub struct Behavior {
    pub endpoints: Vec<String>,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub expires_in_ms: Option<u64>,
    pub send_welcome: bool,
    pub answer_pings: bool,
    pub ack_requests: bool,
    /// Refuse this many of the next handshakes.
    pub refuse_connects: u32,
    /// Answer the bullet request with this HTTP status and body instead of a bullet, this many times.
    pub bullet_errors: u32,
    /// (needle in the request topic, code, message, how many more times): answer with an error frame.
    pub error_rules: Vec<(String, u32, String, u32)>,
    /// Delay of every server frame.
    pub latency: Duration,
    /// A message frame sent after each ack, for each subject acked.
    pub message_after_ack: bool,
}

impl Default for Behavior {
    fn default() -> Self {
        Self {
            endpoints: vec!["wss://ws-a.example/".into(), "wss://ws-b.example/".into()],
            ping_interval_ms: 18_000,
            ping_timeout_ms: 10_000,
            expires_in_ms: None,
            send_welcome: true,
            answer_pings: true,
            ack_requests: true,
            refuse_connects: 0,
            bullet_errors: 0,
            error_rules: Vec::new(),
            latency: Duration::from_millis(20),
            message_after_ack: false,
        }
    }
}

/// The fake KuCoin: issues bullets, accepts connections, answers frames.
#[derive(Debug, Default)]
pub struct FakeKucoin {
    pub behavior: Behavior,
    pub bullets_issued: u32,
    pub tokens_used: BTreeSet<String>,
    pub token_reused: bool,
    /// (token, connectId, endpoint host) of every handshake.
    pub connects: Vec<(String, String, String)>,
    pub socket_open: bool,
    pub connect_id: String,
    /// Frames on the way to the client: (deliver at, text).
    pub to_client: VecDeque<(Instant, String)>,
    /// Every frame the client sent: (at, text).
    pub received: Vec<(Instant, String)>,
    pub pings: Vec<Instant>,
    /// Topics of every subscribe request, in order.
    pub subscribe_topics: Vec<String>,
    pub unsubscribe_topics: Vec<String>,
    pub private_flags: Vec<bool>,
}

impl FakeKucoin {
    pub fn bullet_body(&mut self) -> (u16, String) {
        if self.behavior.bullet_errors > 0 {
            self.behavior.bullet_errors -= 1;
            return (
                503,
                r#"{"code":"503000","msg":"service unavailable"}"#.to_owned(),
            );
        }
        self.bullets_issued += 1;
        let servers: Vec<String> = self
            .behavior
            .endpoints
            .iter()
            .map(|e| {
                format!(
                    r#"{{"endpoint":"{e}","encrypt":true,"protocol":"websocket","pingInterval":{},"pingTimeout":{}}}"#,
                    self.behavior.ping_interval_ms, self.behavior.ping_timeout_ms
                )
            })
            .collect();
        let expires = self
            .behavior
            .expires_in_ms
            .map(|ms| format!(r#","expiresIn":{ms}"#))
            .unwrap_or_default();
        (
            200,
            format!(
                r#"{{"code":"200000","data":{{"token":"token-{}","instanceServers":[{}]{expires}}}}}"#,
                self.bullets_issued,
                servers.join(",")
            ),
        )
    }

    pub fn send(&mut self, now: Instant, text: String) {
        self.to_client
            .push_back((now + self.behavior.latency, text));
    }

    pub fn receive(&mut self, now: Instant, text: &str) {
        self.received.push((now, text.to_owned()));
        let v: serde_json::Value = serde_json::from_str(text).expect("client sent invalid JSON");
        let id = v["id"].as_str().expect("client ids are strings").to_owned();
        match v["type"].as_str() {
            Some("ping") => {
                self.pings.push(now);
                if self.behavior.answer_pings {
                    self.send(now, format!(r#"{{"id":"{id}","type":"pong"}}"#));
                }
            }
            Some(kind @ ("subscribe" | "unsubscribe")) => {
                assert_eq!(v["response"], true, "requests must ask for an ack");
                let topic = v["topic"].as_str().expect("topic").to_owned();
                self.private_flags
                    .push(v["privateChannel"].as_bool().expect("privateChannel"));
                if kind == "subscribe" {
                    self.subscribe_topics.push(topic.clone());
                } else {
                    self.unsubscribe_topics.push(topic.clone());
                }
                let rule = self
                    .behavior
                    .error_rules
                    .iter_mut()
                    .find(|r| r.3 > 0 && topic.contains(&r.0));
                if let Some(rule) = rule {
                    rule.3 -= 1;
                    let (code, msg) = (rule.1, rule.2.clone());
                    self.send(
                        now,
                        format!(r#"{{"id":"{id}","type":"error","code":{code},"data":"{msg}"}}"#),
                    );
                } else if self.behavior.ack_requests {
                    self.send(now, format!(r#"{{"id":"{id}","type":"ack"}}"#));
                    if kind == "subscribe" && self.behavior.message_after_ack {
                        let (prefix, subjects) = topic.split_once(':').unwrap_or((&topic, ""));
                        for s in subjects.split(',') {
                            self.send(
                                now,
                                format!(
                                    r#"{{"type":"message","topic":"{prefix}:{s}","subject":"trade.ticker","data":{{"symbol":"{s}"}}}}"#
                                ),
                            );
                        }
                    }
                }
            }
            other => panic!("unexpected client frame type {other:?}"),
        }
    }
}

/// A session plus the fake KuCoin on one virtual clock, with a transcript of everything.
#[derive(Debug)]
pub struct Driver {
    pub t0: Instant,
    pub now: Instant,
    pub session: Session,
    pub server: FakeKucoin,
    pub log: Vec<String>,
    pub events: Vec<(Duration, SessionEvent)>,
    /// (topic, raw data) of every message frame.
    pub messages: Vec<(String, String)>,
    pub frame_errors: Vec<FrameError>,
    /// Log pings and pongs too (off by default: an hour of them is noise).
    pub log_pings: bool,
}

pub fn t0() -> Instant {
    Instant::now()
}

impl Driver {
    pub fn new(config: SessionConfig) -> Self {
        Self::with_behavior(config, Behavior::default())
    }

    pub fn with_behavior(config: SessionConfig, behavior: Behavior) -> Self {
        let t0 = t0();
        Self {
            t0,
            now: t0,
            session: Session::new(config, t0),
            server: FakeKucoin {
                behavior,
                ..FakeKucoin::default()
            },
            log: Vec::new(),
            events: Vec::new(),
            messages: Vec::new(),
            frame_errors: Vec::new(),
            log_pings: false,
        }
    }

    pub fn ms(&self) -> u128 {
        (self.now - self.t0).as_millis()
    }

    fn note(&mut self, what: String) {
        let line = format!("{:>7} {what}", self.ms());
        self.log.push(line);
    }

    /// Carries out every output and delivers due frames until nothing changes.
    pub fn pump(&mut self) {
        loop {
            let mut busy = false;
            while let Some(t) = self.session.poll_transmit() {
                busy = true;
                let now = self.now;
                match t {
                    Transmit::Text(text) => {
                        if self.log_pings || !text.contains(r#""type":"ping""#) {
                            self.note(format!("send {text}"));
                        }
                        if self.server.socket_open {
                            self.server.receive(now, &text);
                        }
                    }
                    Transmit::Close => {
                        self.note("send close".into());
                        self.server.socket_open = false;
                        self.server.to_client.clear();
                        if self.session.state() == kucoin_proto::ws::SessionState::Closing {
                            self.session.handle_disconnected(
                                now,
                                DisconnectCause::ServerClosed {
                                    code: Some(1000),
                                    reason: String::new(),
                                },
                            );
                        }
                    }
                    _ => panic!("unknown transmit"),
                }
            }
            while let Some(req) = self.session.poll_fetch() {
                busy = true;
                let (status, body) = self.server.bullet_body();
                self.note(format!("fetch private={} -> HTTP {status}", req.private));
                let now = self.now;
                let _ = self
                    .session
                    .handle_bullet_response(now, status, body.as_bytes());
            }
            if let Some(url) = self.session.poll_connect() {
                busy = true;
                let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                let token = pairs.iter().find(|p| p.0 == "token").map(|p| p.1.clone());
                let cid = pairs
                    .iter()
                    .find(|p| p.0 == "connectId")
                    .map(|p| p.1.clone());
                let (token, cid) = (token.expect("token"), cid.expect("connectId"));
                let host = url.host_str().unwrap_or_default().to_owned();
                self.note(format!("connect {host} {token} connectId={cid}"));
                if !self.server.tokens_used.insert(token.clone()) {
                    self.server.token_reused = true;
                }
                self.server.connects.push((token, cid.clone(), host));
                let now = self.now;
                if self.server.behavior.refuse_connects > 0 {
                    self.server.behavior.refuse_connects -= 1;
                    self.session
                        .handle_connect_failed(now, "connection refused".into());
                } else {
                    self.server.socket_open = true;
                    self.server.to_client.clear();
                    self.server.connect_id = cid.clone();
                    self.session.handle_connected(now);
                    if self.server.behavior.send_welcome {
                        self.server
                            .send(now, format!(r#"{{"id":"{cid}","type":"welcome"}}"#));
                    }
                }
            }
            while let Some(ev) = self.session.poll_event() {
                busy = true;
                let text = self.fmt_event(&ev);
                self.note(format!("event {text}"));
                self.events.push((self.now - self.t0, ev));
            }
            if let Some((at, _)) = self.server.to_client.front()
                && *at <= self.now
                && self.server.socket_open
            {
                busy = true;
                let (_, frame) = self.server.to_client.pop_front().expect("frame");
                if self.log_pings || !frame.contains(r#""type":"pong""#) {
                    self.note(format!("recv {frame}"));
                }
                let now = self.now;
                match self.session.handle_frame(now, &frame) {
                    Ok(Some(m)) => {
                        let data = m.data().map(|d| d.get().to_owned()).unwrap_or_default();
                        self.messages.push((m.topic().to_owned(), data));
                    }
                    Ok(None) => {}
                    Err(e) => self.frame_errors.push(e),
                }
            }
            if !busy {
                return;
            }
        }
    }

    /// The next instant something happens: a session deadline or a server frame.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let timer = self.session.poll_timeout().map(|(at, _)| at);
        let frame = self
            .server
            .to_client
            .front()
            .filter(|_| self.server.socket_open)
            .map(|(at, _)| *at);
        match (timer, frame) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the scenario until `offset` after the start (virtual time).
    pub fn run_until(&mut self, offset: Duration) {
        let end = self.t0 + offset;
        self.pump();
        while let Some(next) = self.next_wakeup() {
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            let now = self.now;
            self.session.handle_timeout(now);
            self.pump();
        }
        self.now = self.now.max(end);
        let now = self.now;
        self.session.handle_timeout(now);
        self.pump();
    }

    /// Runs for `d` more virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let offset = (self.now - self.t0) + d;
        self.run_until(offset);
    }

    /// KuCoin closes the socket.
    pub fn server_close(&mut self) {
        self.server.socket_open = false;
        self.server.to_client.clear();
        self.note("server closes the socket".into());
        let now = self.now;
        self.session.handle_disconnected(
            now,
            DisconnectCause::ServerClosed {
                code: Some(1001),
                reason: "going away".into(),
            },
        );
        self.pump();
    }

    /// KuCoin sends `frame` now.
    pub fn server_send(&mut self, frame: &str) {
        let now = self.now;
        self.server.to_client.push_back((now, frame.to_owned()));
        self.pump();
    }

    /// Events only, formatted.
    pub fn event_lines(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|l| l.contains(" event "))
            .cloned()
            .collect()
    }

    /// Counts events matching `f`.
    pub fn count(&self, f: impl Fn(&SessionEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }

    pub fn fmt_event(&self, ev: &SessionEvent) -> String {
        match ev {
            SessionEvent::Reconnecting {
                reason,
                retry_at,
                attempt,
            } => {
                let mut s = String::new();
                let _ = write!(
                    s,
                    "Reconnecting {{ reason: {reason:?}, retry_at: +{}ms, attempt: {attempt} }}",
                    (*retry_at - self.t0).as_millis()
                );
                s
            }
            other => format!("{other:?}"),
        }
    }
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A deterministic config without jitter, for exact timings.
pub fn exact_config() -> SessionConfig {
    SessionConfig::public()
        .with_seed(1)
        .with_backoff(kucoin_proto::ws::Backoff {
            initial: ms(1000),
            max: ms(8000),
            jitter: Duration::ZERO,
        })
}

/// A `SessionPool` with one fake KuCoin per connection, on one virtual clock.
#[derive(Debug)]
pub struct PoolDriver {
    pub t0: Instant,
    pub now: Instant,
    pub pool: kucoin_proto::ws::SessionPool,
    pub servers: Vec<FakeKucoin>,
    pub events: Vec<(usize, SessionEvent)>,
    pub messages: Vec<(usize, String)>,
}

impl PoolDriver {
    pub fn new(config: SessionConfig) -> Self {
        let t0 = t0();
        Self {
            t0,
            now: t0,
            pool: kucoin_proto::ws::SessionPool::new(config, t0),
            servers: Vec::new(),
            events: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn server(&mut self, i: usize) -> &mut FakeKucoin {
        while self.servers.len() <= i {
            self.servers.push(FakeKucoin {
                behavior: Behavior {
                    message_after_ack: true,
                    ..Behavior::default()
                },
                ..FakeKucoin::default()
            });
        }
        &mut self.servers[i]
    }

    pub fn pump(&mut self) {
        loop {
            let mut busy = false;
            let now = self.now;
            while let Some((i, t)) = self.pool.poll_transmit() {
                busy = true;
                let server = self.server(i);
                match t {
                    Transmit::Text(text) => {
                        if server.socket_open {
                            server.receive(now, &text);
                        }
                    }
                    _ => {
                        server.socket_open = false;
                        server.to_client.clear();
                    }
                }
            }
            while let Some((i, _)) = self.pool.poll_fetch() {
                busy = true;
                let (status, body) = self.server(i).bullet_body();
                let _ = self
                    .pool
                    .handle_bullet_response(i, now, status, body.as_bytes());
            }
            while let Some((i, url)) = self.pool.poll_connect() {
                busy = true;
                let cid = url
                    .query_pairs()
                    .find(|p| p.0 == "connectId")
                    .map(|p| p.1.into_owned())
                    .expect("connectId");
                let server = self.server(i);
                server.socket_open = true;
                server
                    .connects
                    .push((String::new(), cid.clone(), String::new()));
                server.send(now, format!(r#"{{"id":"{cid}","type":"welcome"}}"#));
                self.pool.handle_connected(i, now);
            }
            while let Some(ev) = self.pool.poll_event() {
                busy = true;
                self.events.push(ev);
            }
            for i in 0..self.servers.len() {
                let due = self.servers[i]
                    .to_client
                    .front()
                    .is_some_and(|(at, _)| *at <= now)
                    && self.servers[i].socket_open;
                if due {
                    busy = true;
                    let (_, frame) = self.servers[i].to_client.pop_front().expect("frame");
                    if let Ok(Some(m)) = self.pool.handle_frame(i, now, &frame) {
                        self.messages.push((i, m.topic().to_owned()));
                    }
                }
            }
            if !busy {
                return;
            }
        }
    }

    pub fn run_until(&mut self, offset: Duration) {
        let end = self.t0 + offset;
        self.pump();
        loop {
            let timer = self.pool.poll_timeout().map(|(at, _, _)| at);
            let frame = self
                .servers
                .iter()
                .filter(|s| s.socket_open)
                .filter_map(|s| s.to_client.front().map(|(at, _)| *at))
                .min();
            let next = match (timer, frame) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            let now = self.now;
            self.pool.handle_timeout(now);
            self.pump();
        }
        self.now = end.max(self.now);
    }
}
