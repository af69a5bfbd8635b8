//! Connect, welcome, backoff, reconnect, close, token lifetime.

mod common;

use common::{Behavior, Driver, exact_config, ms, secs};
use kucoin_proto::ws::{
    BulletFailure, CloseReason, DisconnectCause, ReconnectReason, SessionConfig, SessionEvent,
    SessionState, Timer, Topic,
};

fn level2(symbol: &str) -> Topic {
    Topic::new("/market/level2", symbol).unwrap()
}

#[test]
fn server_close_backs_off_fetches_a_new_bullet_and_resubscribes_every_topic() {
    let mut d = Driver::new(exact_config());
    for s in ["BTC-USDT", "ETH-USDT", "XRP-USDT"] {
        d.session.subscribe(level2(s)).unwrap();
    }
    d.session
        .subscribe(Topic::whole("/market/ticker:all").unwrap())
        .unwrap();
    d.run_until(secs(5));
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 4);
    d.server_close();
    assert_eq!(d.session.state(), SessionState::Backoff);
    assert_eq!(
        d.session.poll_timeout().map(|(at, t)| (at - d.t0, t)),
        Some((secs(6), Timer::Backoff)),
        "1 s backoff"
    );
    d.run_until(secs(10));
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.server.bullets_issued, 2);
    assert!(!d.server.token_reused);
    let expected = [
        "/market/level2:BTC-USDT,ETH-USDT,XRP-USDT",
        "/market/ticker:all",
    ];
    assert_eq!(d.server.subscribe_topics[..2], expected);
    assert_eq!(d.server.subscribe_topics[2..], expected, "same order again");
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 8);
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Connected { .. })), 2);
}

#[test]
fn welcome_timeout_closes_and_reconnects_to_the_next_server() {
    let behavior = Behavior {
        send_welcome: false,
        ..Behavior::default()
    };
    let config = exact_config().with_welcome_timeout(secs(3));
    let mut d = Driver::with_behavior(config, behavior);
    d.run_until(ms(2_999));
    assert_eq!(d.session.state(), SessionState::AwaitingWelcome);
    d.server.behavior.send_welcome = true;
    d.run_until(secs(3));
    assert!(
        d.count(|e| matches!(
            e,
            SessionEvent::Reconnecting {
                reason: ReconnectReason::Disconnected(DisconnectCause::WelcomeTimeout),
                ..
            }
        )) == 1
    );
    assert!(d.log.iter().any(|l| l.contains("3000 send close")));
    d.run_until(secs(10));
    assert_eq!(d.session.state(), SessionState::Live);
    let hosts: Vec<&str> = d.server.connects.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(hosts, ["ws-a.example", "ws-b.example"]);
    // No Disconnected before the first Connected: nothing was live.
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::Disconnected { .. })),
        0
    );
}

#[test]
fn connect_failure_moves_to_the_next_instance_server_with_a_new_bullet() {
    let behavior = Behavior {
        refuse_connects: 3,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.run_until(secs(60));
    assert_eq!(d.session.state(), SessionState::Live);
    let hosts: Vec<&str> = d.server.connects.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(
        hosts,
        [
            "ws-a.example",
            "ws-b.example",
            "ws-a.example",
            "ws-b.example"
        ]
    );
    assert_eq!(d.server.bullets_issued, 4);
    assert!(!d.server.token_reused);
    // Backoff 1 s, 2 s, 4 s (no jitter): connects at 0, 1, 3, 7 s.
    let connects: Vec<u128> = d
        .log
        .iter()
        .filter(|l| l.contains(" connect "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(connects, [0, 1000, 3000, 7000]);
}

#[test]
fn backoff_doubles_up_to_the_cap_and_resets_after_welcome() {
    let behavior = Behavior {
        refuse_connects: 6,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.run_until(secs(120));
    let attempts: Vec<(u32, u128)> = d
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            SessionEvent::Reconnecting {
                retry_at, attempt, ..
            } => Some((*attempt, (*retry_at - d.t0 - *t).as_millis())),
            _ => None,
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (5, 8000),
            (6, 8000)
        ]
    );
    assert_eq!(d.session.state(), SessionState::Live);
    d.server_close();
    let last = d.events.last().unwrap();
    assert!(matches!(
        last.1,
        SessionEvent::Reconnecting { attempt: 1, .. }
    ));
}

#[test]
fn jitter_comes_from_the_seed_and_stays_within_bounds() {
    let run = |seed: u64| {
        let behavior = Behavior {
            refuse_connects: 5,
            ..Behavior::default()
        };
        let config = SessionConfig::public().with_seed(seed);
        let mut d = Driver::with_behavior(config, behavior);
        d.run_until(secs(120));
        d.events
            .iter()
            .filter_map(|(t, e)| match e {
                SessionEvent::Reconnecting {
                    retry_at, attempt, ..
                } => Some((*attempt, *retry_at - d.t0 - *t)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let a = run(5);
    assert_eq!(a, run(5), "same seed, same pauses");
    assert_ne!(a, run(6), "another seed, other jitter");
    let b = kucoin_proto::ws::Backoff::default();
    for (attempt, pause) in a {
        let base = b.initial * 2u32.pow(attempt - 1);
        let base = base.min(b.max);
        assert!(
            pause >= base && pause <= base + b.jitter,
            "{attempt}: {pause:?}"
        );
    }
}

#[test]
fn too_many_failed_attempts_close_the_session_when_limited() {
    let behavior = Behavior {
        refuse_connects: 100,
        ..Behavior::default()
    };
    let config = exact_config().with_max_attempts(Some(3));
    let mut d = Driver::with_behavior(config, behavior);
    d.run_until(secs(600));
    assert_eq!(d.session.state(), SessionState::Closed);
    assert_eq!(d.server.connects.len(), 3);
    assert_eq!(
        d.events.last().unwrap().1,
        SessionEvent::Closed {
            reason: CloseReason::TooManyAttempts { attempts: 3 }
        }
    );
    assert_eq!(
        d.session.poll_timeout(),
        None,
        "a closed session never wakes"
    );
}

#[test]
fn default_config_retries_forever() {
    let behavior = Behavior {
        refuse_connects: 1000,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(SessionConfig::public(), behavior);
    d.run_until(secs(3600));
    assert_ne!(d.session.state(), SessionState::Closed);
    assert!(d.server.connects.len() > 100);
}

#[test]
fn bullet_errors_back_off_and_retry() {
    let behavior = Behavior {
        bullet_errors: 2,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.run_until(secs(10));
    assert_eq!(d.session.state(), SessionState::Live);
    let failures = d.count(|e| {
        matches!(e, SessionEvent::Reconnecting { reason: ReconnectReason::Bullet(BulletFailure::Response(r)), .. }
            if r.api().is_some_and(|a| a.code.as_str() == "503000"))
    });
    assert_eq!(failures, 2);
}

#[test]
fn broken_bullets_are_refused_not_trusted() {
    let mut d = Driver::new(exact_config());
    let _ = d.session.poll_fetch();
    let now = d.now;
    let zero_ping = br#"{"code":"200000","data":{"token":"t","instanceServers":[{"endpoint":"wss://x.example/","pingInterval":0,"pingTimeout":10}]}}"#;
    d.session
        .handle_bullet_response(now, 200, zero_ping)
        .unwrap();
    assert_eq!(d.session.state(), SessionState::Backoff);
    assert!(matches!(
        d.session.poll_event(),
        Some(SessionEvent::Reconnecting {
            reason: ReconnectReason::Bullet(BulletFailure::Invalid(_)),
            ..
        })
    ));
    let err = d.session.handle_bullet_response(now, 200, b"<html>");
    assert!(err.is_err(), "a malformed body is reported to the caller");
    assert_eq!(d.session.poll_connect(), None, "stale answers are ignored");
}

#[test]
fn close_is_graceful_and_final() {
    let mut d = Driver::new(exact_config());
    d.session
        .subscribe(Topic::new("/market/level2", "BTC-USDT").unwrap())
        .unwrap();
    d.run_until(secs(2));
    let now = d.now;
    d.session.close(now);
    d.pump();
    assert_eq!(d.session.state(), SessionState::Closed);
    assert!(d.log.iter().any(|l| l.ends_with("send close")));
    assert_eq!(
        d.events.last().unwrap().1,
        SessionEvent::Closed {
            reason: CloseReason::Requested
        }
    );
    assert!(
        d.session
            .subscribe(Topic::new("/market/level2", "ETH-USDT").unwrap())
            .is_err()
    );
    d.run_until(secs(100));
    assert_eq!(d.server.connects.len(), 1);
    assert!(d.server.pings.is_empty());
}

#[test]
fn close_without_a_socket_ack_finishes_after_the_close_timeout() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    let now = d.now;
    d.session.close(now);
    // Do not pump: the adapter never reports the socket closed.
    assert_eq!(d.session.state(), SessionState::Closing);
    let (at, why) = d.session.poll_timeout().unwrap();
    assert_eq!((at - now, why), (secs(5), Timer::Close));
    d.session.handle_timeout(at);
    assert_eq!(d.session.state(), SessionState::Closed);
}

#[test]
fn a_bullet_lifetime_moves_to_a_fresh_token_before_it_expires() {
    let behavior = Behavior {
        expires_in_ms: Some(600_000),
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.session
        .subscribe(Topic::new("/market/level2", "BTC-USDT").unwrap())
        .unwrap();
    d.run_until(secs(1200));
    // Refresh at 90 % of 600 s: 540 s, then again 540 s after the second bullet.
    let fetches: Vec<&String> = d.log.iter().filter(|l| l.contains(" fetch ")).collect();
    assert_eq!(fetches.len(), 3, "{:#?}", d.log);
    assert!(fetches[1].trim_start().starts_with("540000 "));
    assert_eq!(d.server.connects.len(), 3);
    assert!(!d.server.token_reused);
    assert_eq!(
        d.count(|e| *e
            == SessionEvent::Disconnected {
                cause: DisconnectCause::TokenRefresh
            }),
        2
    );
    assert_eq!(d.server.subscribe_topics.len(), 3);
    assert_eq!(d.session.state(), SessionState::Live);
}

#[test]
fn stale_now_is_ignored() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(20));
    let pings = d.server.pings.len();
    let before = d.session.poll_timeout();
    d.session.handle_timeout(d.t0);
    d.session.handle_timeout(d.t0 + secs(19));
    d.pump();
    assert_eq!(d.server.pings.len(), pings);
    assert_eq!(d.session.poll_timeout(), before);
}

#[test]
fn a_failed_token_refresh_keeps_the_live_connection_and_tries_again() {
    let behavior = Behavior {
        expires_in_ms: Some(600_000),
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.run_until(secs(500));
    d.server.behavior.bullet_errors = 1;
    d.run_until(secs(540));
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.server.connects.len(), 1);
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::Disconnected { .. })),
        0
    );
    // Retried 1 s later (the first backoff step), then moved over.
    d.run_until(secs(542));
    assert_eq!(d.server.connects.len(), 2);
    assert!(
        d.log
            .iter()
            .any(|l| l.trim_start().starts_with("541000 connect"))
    );
    assert_eq!(d.session.state(), SessionState::Live);
}

#[test]
fn a_handshake_that_finishes_after_its_timeout_is_closed() {
    let mut d = Driver::new(exact_config().with_connect_timeout(secs(2)));
    let now = d.now;
    let _ = d.session.poll_fetch();
    let (_, body) = d.server.bullet_body();
    d.session
        .handle_bullet_response(now, 200, body.as_bytes())
        .unwrap();
    assert!(d.session.poll_connect().is_some());
    assert_eq!(d.session.poll_connect(), None, "one URL per bullet");
    let (at, why) = d.session.poll_timeout().unwrap();
    assert_eq!((at - now, why), (secs(2), Timer::Connect));
    d.session.handle_timeout(at);
    assert_eq!(d.session.state(), SessionState::Backoff);
    while d.session.poll_transmit().is_some() {}
    // The adapter's handshake completes late: the session asks to drop that socket.
    d.session.handle_connected(at + ms(10));
    assert_eq!(
        d.session.poll_transmit(),
        Some(kucoin_proto::ws::Transmit::Close)
    );
    assert_eq!(d.session.state(), SessionState::Backoff);
}
