//! Ping/pong on virtual time.

mod common;

use common::{Behavior, Driver, exact_config, ms, secs};
use kucoin_proto::ws::{DisconnectCause, ReconnectReason, SessionEvent, SessionState, Topic};

#[test]
fn ping_cadence_follows_ping_interval_exactly_over_an_hour() {
    for (interval, timeout) in [(18_000, 10_000), (7_000, 3_000)] {
        let behavior = Behavior {
            ping_interval_ms: interval,
            ping_timeout_ms: timeout,
            ..Behavior::default()
        };
        let mut d = Driver::with_behavior(exact_config(), behavior);
        d.run_until(secs(3600));
        assert_eq!(d.session.state(), SessionState::Live);
        assert_eq!(d.server.connects.len(), 1, "never reconnected");
        let connected_at = d.t0; // handshake at t=0 in the driver
        let pings = &d.server.pings;
        assert_eq!(pings.len() as u64, 3_600_000 / interval);
        for (k, at) in pings.iter().enumerate() {
            assert_eq!(
                *at - connected_at,
                ms(interval * (k as u64 + 1)),
                "ping {k} off schedule"
            );
        }
    }
}

#[test]
fn missing_pong_reconnects_with_a_new_bullet() {
    let mut d = Driver::new(exact_config());
    d.session
        .subscribe(Topic::new("/market/ticker", "BTC-USDT").unwrap())
        .unwrap();
    d.run_until(secs(1));
    assert_eq!(d.session.state(), SessionState::Live);
    d.server.behavior.answer_pings = false;
    // First ping at 18 s, pong due by 28 s.
    d.run_until(ms(27_999));
    assert_eq!(d.session.state(), SessionState::Live);
    d.server.behavior.answer_pings = true;
    d.run_until(ms(28_000));
    assert!(d.events.iter().any(|(t, e)| *t == ms(28_000)
        && *e
            == SessionEvent::Disconnected {
                cause: DisconnectCause::PongTimeout
            }));
    assert!(d.log.iter().any(|l| l.contains("28000 send close")));
    d.run_until(secs(40));
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.server.bullets_issued, 2);
    assert_eq!(d.server.connects.len(), 2);
    assert_ne!(d.server.connects[0].0, d.server.connects[1].0, "new token");
    assert!(!d.server.token_reused);
    // Reconnected after the 1 s backoff, and resubscribed.
    assert_eq!(d.server.subscribe_topics, ["/market/ticker:BTC-USDT"; 2]);
    assert!(
        d.count(|e| matches!(
            e,
            SessionEvent::Reconnecting {
                reason: ReconnectReason::Disconnected(DisconnectCause::PongTimeout),
                attempt: 1,
                ..
            }
        )) == 1
    );
}

#[test]
fn frames_other_than_pong_do_not_count_as_a_pong() {
    let behavior = Behavior {
        answer_pings: false,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.run_until(secs(19));
    // Messages and a pong with a foreign id keep arriving; the ping stays unanswered.
    for k in 0..9 {
        d.server_send(r#"{"type":"message","topic":"/market/ticker:BTC-USDT","data":{}}"#);
        d.server_send(r#"{"id":"1","type":"pong"}"#);
        d.run_until(secs(19 + k));
    }
    d.run_until(secs(29));
    assert_eq!(
        d.count(|e| *e
            == SessionEvent::Disconnected {
                cause: DisconnectCause::PongTimeout
            }),
        1
    );
}

#[test]
fn late_wakeups_keep_the_ping_grid_without_bursts() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    // The adapter oversleeps by 5 s past the first ping.
    let late = d.t0 + secs(23);
    d.now = late;
    d.session.handle_timeout(late);
    d.pump();
    assert_eq!(d.server.pings.len(), 1, "one ping, not a burst");
    assert_eq!(d.server.pings[0], late);
    // A stale `now` does nothing.
    d.session.handle_timeout(d.t0 + secs(2));
    d.pump();
    assert_eq!(d.server.pings.len(), 1);
    d.run_until(secs(60));
    // The grid continues at 36 s and 54 s.
    let offsets: Vec<_> = d.server.pings.iter().map(|p| *p - d.t0).collect();
    assert_eq!(offsets, [secs(23), secs(36), secs(54)]);
}

#[test]
fn a_busy_stream_does_not_starve_the_ping_schedule() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    // A message every 100 ms for a minute, and the adapter never calls handle_timeout.
    let frame = r#"{"type":"message","topic":"/market/ticker:BTC-USDT","data":{}}"#;
    for k in 1..=600u64 {
        let now = d.t0 + secs(1) + ms(k * 100);
        d.now = now;
        assert!(d.session.handle_frame(now, frame).unwrap().is_some());
        while let Some(t) = d.session.poll_transmit() {
            if let kucoin_proto::ws::Transmit::Text(text) = t {
                d.server.receive(now, &text);
            }
        }
        // Pongs come back with the next frame.
        while let Some((_, pong)) = d.server.to_client.pop_front() {
            let _ = d.session.handle_frame(now, &pong);
        }
    }
    let offsets: Vec<_> = d.server.pings.iter().map(|p| *p - d.t0).collect();
    assert_eq!(offsets, [secs(18), secs(36), secs(54)]);
    assert_eq!(d.session.state(), SessionState::Live);
}
