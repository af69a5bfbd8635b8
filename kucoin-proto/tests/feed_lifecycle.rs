//! The feed through the host's life cycle on virtual time: quiet markets after a close, suspend
//! and resume, network changes, wrong-state calls, and the availability figures.
//!
//! `Rig` plays KuCoin on one virtual clock: REST answers (bullets with a new token each,
//! snapshots of its book), a WebSocket that welcomes, acks, pongs and streams level-2 messages
//! of the symbols subscribed on the open socket. Every leg takes `LEG` (20 ms) one way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use kucoin_proto::book::{Availability, BookEvent, ResyncReason};
use kucoin_proto::feed::{CallId, CallPurpose, Feed, FeedConfig, FeedEvent};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::{
    Backoff, DisconnectCause, LifecycleError, Session, SessionConfig, SessionEvent, SessionState,
    Topic, Transmit,
};
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

/// One way, client to KuCoin or back.
const LEG: Duration = Duration::from_millis(20);
/// The session's reconnect backoff (no jitter: exact timings).
const BACKOFF: Duration = Duration::from_millis(1000);

/// The origin of virtual time: an `Instant` is opaque, so one real reading anchors it; nothing
/// else in these tests reads the clock.
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sym(s: &str) -> SpotSymbol {
    SpotSymbol::new(s).unwrap()
}

/// KuCoin's side: one true book per symbol, moved by `publish`.
#[derive(Debug, Default)]
struct Exchange {
    /// symbol -> (sequence, bids price -> size)
    books: BTreeMap<String, (u64, BTreeMap<u32, u32>)>,
    tokens: Vec<String>,
    socket_open: bool,
    /// The open socket went silent: nothing in or out (a dead network path, no close).
    silent: bool,
    /// Symbols whose level-2 topic is subscribed on the open socket.
    streaming: BTreeSet<String>,
    to_client: VecDeque<(Instant, String)>,
    answers: VecDeque<(Instant, CallId, String)>,
    pings: Vec<Instant>,
    requests: Vec<(Instant, CallPurpose)>,
    /// Every topic subscribed, with when the request arrived.
    subscribes: Vec<(Instant, String)>,
    closes_by_client: u32,
}

impl Exchange {
    fn snapshot_body(&self, symbol: &str) -> String {
        let (seq, bids) = &self.books[symbol];
        let bids: Vec<String> = bids
            .iter()
            .rev()
            .map(|(p, s)| format!(r#"["{p}","{s}"]"#))
            .collect();
        format!(
            r#"{{"code":"200000","data":{{"time":1,"sequence":"{seq}","bids":[{}],"asks":[["1000","1"]]}}}}"#,
            bids.join(",")
        )
    }
}

struct Rig {
    feed: Feed<Spot>,
    t0: Instant,
    now: Instant,
    ex: Exchange,
    events: Vec<(Instant, FeedEvent<Spot>)>,
}

impl Rig {
    fn new(symbols: &[&str]) -> Rig {
        let t0 = t0();
        let session = SessionConfig::public().with_seed(7).with_backoff(Backoff {
            initial: BACKOFF,
            max: ms(8000),
            jitter: Duration::ZERO,
        });
        let rest = RestClient::<Spot>::new()
            .with_base_url("http://127.0.0.1:1")
            .unwrap();
        let mut feed = Feed::new(rest, FeedConfig::default().with_session(session), t0).unwrap();
        let mut ex = Exchange::default();
        for s in symbols {
            feed.add_book(sym(s), t0).unwrap();
            ex.books.insert(
                (*s).to_owned(),
                (1_000, BTreeMap::from([(100, 1), (99, 2)])),
            );
        }
        Rig {
            feed,
            t0,
            now: t0,
            ex,
            events: Vec::new(),
        }
    }

    fn at(&self) -> Duration {
        self.now - self.t0
    }

    fn unix(&self) -> UnixMillis {
        UnixMillis(1_700_000_000_000 + u64::try_from(self.at().as_millis()).unwrap())
    }

    /// KuCoin's book of `symbol` moves by one message (a bid at 98 changes size).
    fn publish(&mut self, symbol: &str) {
        let (seq, bids) = self.ex.books.get_mut(symbol).unwrap();
        *seq += 1;
        let size = u32::try_from(*seq % 7 + 1).unwrap();
        bids.insert(98, size);
        let seq = *seq;
        if self.ex.socket_open && !self.ex.silent && self.ex.streaming.contains(symbol) {
            let frame = format!(
                r#"{{"type":"message","topic":"/market/level2:{symbol}","subject":"trade.l2update","data":{{"changes":{{"asks":[],"bids":[["98","{size}","{seq}"]]}},"sequenceEnd":{seq},"sequenceStart":{seq},"symbol":"{symbol}","time":1}}}}"#
            );
            self.ex.to_client.push_back((self.now + LEG, frame));
        }
        self.pump();
    }

    /// KuCoin closes the socket.
    fn server_close(&mut self) {
        self.ex.socket_open = false;
        self.ex.streaming.clear();
        self.ex.to_client.clear();
        self.feed.handle_disconnected(
            self.now,
            DisconnectCause::ServerClosed {
                code: Some(1001),
                reason: "going away".into(),
            },
        );
        self.pump();
    }

    fn server_receive(&mut self, text: &str) {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        let back = self.now + LEG + LEG;
        match v["type"].as_str().unwrap() {
            "ping" => {
                self.ex.pings.push(self.now);
                self.ex
                    .to_client
                    .push_back((back, format!(r#"{{"id":"{id}","type":"pong"}}"#)));
            }
            "subscribe" => {
                let topic = v["topic"].as_str().unwrap();
                let (prefix, subjects) = topic.split_once(':').unwrap();
                for s in subjects.split(',') {
                    self.ex.subscribes.push((self.now, format!("{prefix}:{s}")));
                    if prefix == "/market/level2" {
                        self.ex.streaming.insert(s.to_owned());
                    }
                }
                self.ex
                    .to_client
                    .push_back((back, format!(r#"{{"id":"{id}","type":"ack"}}"#)));
            }
            other => panic!("unexpected frame type {other}"),
        }
    }

    /// Carries out every output of the feed and delivers what is due, until nothing changes.
    fn pump(&mut self) {
        loop {
            let mut busy = false;
            while let Some(e) = self.feed.poll_event() {
                busy = true;
                self.events.push((self.now, e));
            }
            while let Some(call) = self.feed.poll_request(self.now, self.unix()) {
                busy = true;
                self.ex.requests.push((self.now, call.purpose.clone()));
                let body = match &call.purpose {
                    CallPurpose::Bullet { .. } => {
                        let token = format!("tok-{}", self.ex.tokens.len() + 1);
                        self.ex.tokens.push(token.clone());
                        format!(
                            r#"{{"code":"200000","data":{{"token":"{token}","instanceServers":[{{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}}]}}}}"#
                        )
                    }
                    // The snapshot is taken when the request arrives.
                    CallPurpose::Snapshot { symbol } => self.ex.snapshot_body(symbol),
                    other => panic!("unexpected call {other:?}"),
                };
                self.ex
                    .answers
                    .push_back((self.now + LEG + LEG, call.id, body));
            }
            if let Some(url) = self.feed.poll_connect() {
                busy = true;
                let token = url
                    .query_pairs()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap();
                let cid = url
                    .query_pairs()
                    .find(|(k, _)| k == "connectId")
                    .map(|(_, v)| v.into_owned())
                    .unwrap();
                assert_eq!(
                    self.ex.tokens.last(),
                    Some(&token),
                    "a connection must use the newest token"
                );
                self.ex.socket_open = true;
                self.ex.silent = false;
                self.ex.streaming.clear();
                self.ex.to_client.clear();
                self.feed.handle_connected(self.now);
                self.ex.to_client.push_back((
                    self.now + LEG,
                    format!(r#"{{"id":"{cid}","type":"welcome"}}"#),
                ));
            }
            while let Some(t) = self.feed.poll_transmit() {
                busy = true;
                match t {
                    Transmit::Text(text) => {
                        if self.ex.socket_open && !self.ex.silent {
                            self.server_receive(&text);
                        }
                    }
                    _ => {
                        self.ex.closes_by_client += 1;
                        self.ex.socket_open = false;
                        self.ex.streaming.clear();
                        self.ex.to_client.clear();
                        if self.feed.session().state() == SessionState::Closing {
                            self.feed.handle_disconnected(
                                self.now,
                                DisconnectCause::ServerClosed {
                                    code: Some(1000),
                                    reason: String::new(),
                                },
                            );
                        }
                    }
                }
            }
            if let Some((at, _)) = self.ex.to_client.front()
                && *at <= self.now
                && self.ex.socket_open
                && !self.ex.silent
            {
                busy = true;
                let (_, frame) = self.ex.to_client.pop_front().unwrap();
                self.feed.handle_frame(self.now, &frame);
            }
            if let Some((at, _, _)) = self.ex.answers.front()
                && *at <= self.now
            {
                busy = true;
                let (_, id, body) = self.ex.answers.pop_front().unwrap();
                let unix = self.unix();
                self.feed.handle_response(
                    self.now,
                    unix,
                    id,
                    200,
                    &http::HeaderMap::new(),
                    body.as_bytes(),
                );
            }
            if !busy {
                return;
            }
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let frame = self
            .ex
            .to_client
            .front()
            .filter(|_| self.ex.socket_open && !self.ex.silent)
            .map(|(at, _)| *at);
        let answer = self.ex.answers.front().map(|(at, _, _)| *at);
        [self.feed.poll_timeout(), frame, answer]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs to `offset` after the start, jumping from deadline to deadline.
    fn run_until(&mut self, offset: Duration) {
        let end = self.t0 + offset;
        self.pump();
        while let Some(next) = self.next_wakeup() {
            if next > end {
                break;
            }
            if let Some(deadline) = self.feed.poll_timeout() {
                assert!(deadline >= self.now, "a deadline in the past");
            }
            self.now = self.now.max(next);
            self.feed.handle_timeout(self.now);
            self.pump();
        }
        self.now = self.now.max(end);
        self.feed.handle_timeout(self.now);
        self.pump();
    }

    fn run_for(&mut self, d: Duration) {
        let offset = self.at() + d;
        self.run_until(offset);
    }

    /// Runs until every book is shown at KuCoin's sequence; returns when (at most `limit`).
    fn run_until_synced(&mut self, limit: Duration) -> Instant {
        let give_up = self.now + limit;
        self.pump();
        loop {
            if self.all_synced() {
                return self.now;
            }
            let next = self.next_wakeup().unwrap_or_else(|| {
                panic!("nothing left to happen: {:#?} {:?}", self.events, self.ex)
            });
            assert!(
                next <= give_up,
                "not synced within {limit:?}: {:?}",
                self.feed.books().map(|b| b.state()).collect::<Vec<_>>()
            );
            self.now = self.now.max(next);
            self.feed.handle_timeout(self.now);
            self.pump();
        }
    }

    fn all_synced(&self) -> bool {
        self.ex.books.iter().all(|(s, (seq, bids))| {
            self.feed.book(&sym(s)).is_some_and(|b| {
                let mine: Vec<(String, String)> = b
                    .bids()
                    .map(|l| (l.price.to_string(), l.size.to_string()))
                    .collect();
                let truth: Vec<(String, String)> = bids
                    .iter()
                    .rev()
                    .map(|(p, s)| (p.to_string(), s.to_string()))
                    .collect();
                b.sequence() == *seq && mine == truth
            })
        })
    }

    fn no_book_shown(&self) -> bool {
        self.ex
            .books
            .keys()
            .all(|s| self.feed.book(&sym(s)).is_none())
    }

    fn events_since(&self, t: Instant) -> impl Iterator<Item = &FeedEvent<Spot>> {
        self.events
            .iter()
            .filter(move |(at, _)| *at >= t)
            .map(|(_, e)| e)
    }
}

/// Bullet round trip, welcome (one leg after the handshake), subscribe round trip, snapshot
/// round trip: what a reconnect costs after its backoff.
const RECONNECT_TO_BOOK: Duration = Duration::from_millis(40 + 20 + 40 + 40);

#[test]
fn quiet_market_after_a_server_close_is_synced_after_backoff_and_one_snapshot_round_trip() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    let first = rig.run_until_synced(ms(1_000));
    // The first sync does not wait for a message either (there is none).
    assert_eq!(first - rig.t0, RECONNECT_TO_BOOK);
    for _ in 0..5 {
        rig.publish("BTC-USDT");
        rig.run_for(ms(100));
    }
    assert!(rig.all_synced());
    rig.run_until(ms(5_000));
    // The market goes quiet and KuCoin closes the socket: no message at all from here on.
    rig.server_close();
    let closed = rig.now;
    assert!(
        rig.no_book_shown(),
        "a book is shown across a closed socket"
    );
    let synced = rig.run_until_synced(ms(10_000));
    assert_eq!(
        synced - closed,
        BACKOFF + RECONNECT_TO_BOOK,
        "a quiet market must not wait for a first message before the snapshot"
    );
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 1_005);
    // Still no message: the book stays shown (nothing says it is out of step).
    rig.run_for(ms(30_000));
    assert!(rig.all_synced());
}

#[test]
fn a_message_that_skips_past_a_snapshot_taken_at_the_ack_is_a_gap_never_applied() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    rig.run_until_synced(ms(1_000));
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 1_000);
    // KuCoin's stream skips 1001 (the snapshot was older than the stream became effective).
    rig.ex.books.get_mut("BTC-USDT").unwrap().0 += 1;
    let gap_at = rig.now;
    rig.publish("BTC-USDT");
    rig.run_for(LEG);
    assert!(
        rig.no_book_shown(),
        "a message past the snapshot was applied"
    );
    let gaps: Vec<_> = rig
        .events_since(gap_at)
        .filter_map(|e| match e {
            FeedEvent::Book {
                event: BookEvent::GapDetected { expected, got },
                ..
            } => Some((*expected, *got)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![(1_001, 1_002)]);
    // A new snapshot (after the retry delay) brings it back at KuCoin's sequence.
    rig.run_until_synced(ms(2_000));
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 1_002);
}

#[test]
fn suspend_for_ten_minutes_then_resume_gets_a_new_token_resubscribes_and_resyncs_every_book() {
    let mut rig = Rig::new(&["BTC-USDT", "ETH-USDT"]);
    let ticker = Topic::new("/market/ticker", "BTC-USDT").unwrap();
    rig.feed.subscribe(ticker, rig.now).unwrap();
    rig.run_until_synced(ms(1_000));
    rig.run_until(ms(40_000)); // a few pings
    assert!(rig.ex.pings.len() >= 2);
    let tokens_before: Vec<String> = rig.ex.tokens.clone();

    rig.feed.handle_suspend(rig.now).unwrap();
    rig.pump();
    let suspended = rig.now;
    assert_eq!(
        rig.ex.closes_by_client, 1,
        "the socket is closed gracefully"
    );
    assert_eq!(rig.feed.session().state(), SessionState::Suspended);
    assert!(rig.no_book_shown(), "a suspended book is shown");
    assert_eq!(
        rig.feed.poll_timeout(),
        None,
        "a timer runs while suspended"
    );
    assert_eq!(rig.feed.outstanding_calls(), 0);
    let (pings, requests) = (rig.ex.pings.len(), rig.ex.requests.len());
    // Ten minutes in the background while the market moves.
    for minute in 1..=10 {
        rig.publish("BTC-USDT");
        rig.publish("ETH-USDT");
        rig.run_until(ms(40_000 + minute * 60_000));
        assert!(rig.no_book_shown(), "a book shown while suspended");
        assert_eq!(rig.feed.poll_timeout(), None);
    }
    assert_eq!(rig.ex.pings.len(), pings, "a ping while suspended");
    assert_eq!(rig.ex.requests.len(), requests, "a request while suspended");
    assert!(rig.events_since(suspended).any(|e| matches!(
        e,
        FeedEvent::Session(SessionEvent::Disconnected {
            cause: DisconnectCause::Suspended
        })
    )));

    rig.feed.handle_resume(rig.now).unwrap();
    let resumed = rig.now;
    let synced = rig.run_until_synced(ms(1_000));
    assert_eq!(synced - resumed, RECONNECT_TO_BOOK);
    let new_token = rig.ex.tokens.last().unwrap();
    assert!(
        !tokens_before.contains(new_token),
        "resume reused a token: {new_token}"
    );
    let resubscribed: BTreeSet<&str> = rig
        .ex
        .subscribes
        .iter()
        .filter(|(at, _)| *at >= resumed)
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(
        resubscribed,
        BTreeSet::from([
            "/market/level2:BTC-USDT",
            "/market/level2:ETH-USDT",
            "/market/ticker:BTC-USDT"
        ])
    );
    let resynced: BTreeSet<String> = rig
        .events_since(resumed)
        .filter_map(|e| match e {
            FeedEvent::Book {
                symbol,
                event: BookEvent::Synced { .. },
            } => Some(symbol.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(resynced.len(), 2);
    assert_eq!(rig.feed.book(&sym("ETH-USDT")).unwrap().sequence(), 1_010);
    // And it goes on: messages continue the books, pings resume.
    rig.publish("BTC-USDT");
    rig.run_for(ms(20_000));
    assert!(rig.all_synced());
    assert!(rig.ex.pings.len() > pings);
}

#[test]
fn a_snapshot_answer_that_arrives_while_suspended_is_ignored() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    // Up to the snapshot request: bullet, welcome, subscribe ack.
    rig.run_for(ms(100));
    assert_eq!(rig.feed.outstanding_calls(), 1);
    rig.feed.handle_suspend(rig.now).unwrap();
    rig.pump();
    rig.run_for(ms(1_000)); // the snapshot's answer arrives meanwhile
    assert!(rig.ex.answers.is_empty());
    assert!(rig.no_book_shown());
    assert_eq!(rig.feed.outstanding_calls(), 0);
    rig.feed.handle_resume(rig.now).unwrap();
    rig.run_until_synced(ms(1_000));
}

#[test]
fn network_change_while_the_socket_is_silent_reconnects_without_waiting_for_the_pong_timeout() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    rig.run_until_synced(ms(1_000));
    rig.run_until(ms(5_000));
    // The path dies without a close: nothing in or out from here on.
    rig.ex.silent = true;
    rig.publish("BTC-USDT"); // lost
    rig.run_until(ms(6_000));
    assert!(
        rig.feed.book(&sym("BTC-USDT")).is_some(),
        "nothing noticed yet"
    );
    rig.feed.handle_network_change(rig.now).unwrap();
    let changed = rig.now;
    rig.pump();
    assert!(
        rig.no_book_shown(),
        "a book is shown across a dropped socket"
    );
    assert_eq!(
        rig.ex.requests.last(),
        Some(&(changed, CallPurpose::Bullet { private: false })),
        "a new bullet at once, with no backoff"
    );
    let synced = rig.run_until_synced(ms(1_000));
    assert_eq!(synced - changed, RECONNECT_TO_BOOK);
    assert_eq!(rig.feed.book(&sym("BTC-USDT")).unwrap().sequence(), 1_001);
    let session: Vec<&SessionEvent> = rig
        .events_since(changed)
        .filter_map(|e| match e {
            FeedEvent::Session(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(matches!(
        session[0],
        SessionEvent::Disconnected {
            cause: DisconnectCause::NetworkChanged
        }
    ));
    assert!(
        !session.iter().any(|e| matches!(
            e,
            SessionEvent::Disconnected {
                cause: DisconnectCause::PongTimeout
            }
        )),
        "{session:?}"
    );
    assert!(rig.events_since(changed).any(|e| matches!(
        e,
        FeedEvent::Book {
            event: BookEvent::ResyncStarted {
                reason: ResyncReason::Reconnect
            },
            ..
        }
    )));
}

#[test]
fn network_change_during_a_backoff_cuts_it_short() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    rig.run_until_synced(ms(1_000));
    rig.server_close();
    let closed = rig.now;
    rig.run_for(ms(300));
    assert_eq!(rig.feed.session().state(), SessionState::Backoff);
    rig.feed.handle_network_change(rig.now).unwrap();
    let synced = rig.run_until_synced(ms(1_000));
    assert_eq!(synced - closed, ms(300) + RECONNECT_TO_BOOK);
}

#[test]
fn life_cycle_calls_in_the_wrong_state_are_typed_errors() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    rig.run_until_synced(ms(1_000));
    let now = rig.now;
    assert_eq!(
        rig.feed.handle_resume(now),
        Err(LifecycleError::NotSuspended)
    );
    rig.feed.handle_suspend(now).unwrap();
    assert_eq!(
        rig.feed.handle_suspend(now),
        Err(LifecycleError::AlreadySuspended)
    );
    assert_eq!(
        rig.feed.handle_network_change(now),
        Err(LifecycleError::Suspended)
    );
    rig.feed.handle_resume(now).unwrap();
    assert_eq!(
        rig.feed.handle_resume(now),
        Err(LifecycleError::NotSuspended)
    );
    rig.feed.close(now);
    rig.pump();
    assert_eq!(rig.feed.session().state(), SessionState::Closed);
    for result in [
        rig.feed.handle_suspend(now),
        rig.feed.handle_resume(now),
        rig.feed.handle_network_change(now),
    ] {
        assert_eq!(result, Err(LifecycleError::Closed));
    }
    assert!(LifecycleError::NotSuspended.to_string().contains("resume"));
}

#[test]
fn session_alone_suspends_without_timers_and_resumes_with_a_bullet() {
    let t = t0();
    let mut s = Session::new(SessionConfig::public(), t);
    assert!(s.poll_fetch().is_some());
    s.handle_suspend(t).unwrap();
    assert_eq!(s.poll_fetch(), None, "no bullet while suspended");
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.poll_transmit(), None, "no socket to close");
    let events: Vec<SessionEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(events, vec![SessionEvent::Suspended]);
    s.handle_timeout(t + ms(3_600_000));
    assert_eq!(s.state(), SessionState::Suspended);
    s.handle_resume(t + ms(3_600_000)).unwrap();
    assert!(s.poll_fetch().is_some(), "a fresh bullet on resume");
    assert_eq!(s.state(), SessionState::NeedBullet);
    assert_eq!(s.poll_event(), Some(SessionEvent::Resumed));
}

#[test]
fn availability_counts_time_with_the_book_and_the_longest_stretch_without() {
    let mut rig = Rig::new(&["BTC-USDT"]);
    let btc = sym("BTC-USDT");
    let first = rig.run_until_synced(ms(1_000)) - rig.t0;
    rig.run_until(ms(10_000));
    rig.server_close();
    let synced = rig.run_until_synced(ms(5_000)) - rig.t0;
    assert_eq!(synced, ms(10_000) + BACKOFF + RECONNECT_TO_BOOK);
    rig.run_until(ms(20_000));
    let a = rig.feed.availability(&btc, rig.now).unwrap();
    let down = first + BACKOFF + RECONNECT_TO_BOOK;
    assert_eq!(
        (a.available_ms, a.total_ms, a.max_unavailable_ms),
        (
            20_000 - u64::try_from(down.as_millis()).unwrap(),
            20_000,
            1_140
        )
    );
    assert!((a.pct() - 100.0 * (20_000.0 - 1_280.0) / 20_000.0).abs() < 1e-9);
    // Ten minutes suspended count for nothing; the resync after resume does.
    rig.feed.handle_suspend(rig.now).unwrap();
    rig.run_until(ms(620_000));
    rig.feed.handle_resume(rig.now).unwrap();
    rig.run_until_synced(ms(1_000));
    rig.run_until(ms(630_000));
    let b = rig.feed.availability(&btc, rig.now).unwrap();
    assert_eq!(b.total_ms, 30_000);
    assert_eq!(b.available_ms, a.available_ms + 10_000 - 140);
    assert_eq!(b.max_unavailable_ms, 1_140);
    assert_eq!(
        Availability::default().pct(),
        100.0,
        "nothing counted yet is not a failure"
    );
}
