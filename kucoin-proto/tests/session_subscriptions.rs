//! Subscribe, unsubscribe, acks, error frames, batching, limits.

mod common;

use common::{Behavior, Driver, exact_config, ms, secs};
use kucoin_proto::ws::{
    DisconnectCause, ReconnectReason, RequestFailure, SessionConfig, SessionEvent, SessionState,
    SubscribeError, Timer, Topic,
};

fn level2(symbol: &str) -> Topic {
    Topic::new("/market/level2", symbol).unwrap()
}

fn symbols(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("S{i:03}-USDT")).collect()
}

#[test]
fn two_hundred_fifty_symbols_are_batched_into_three_requests() {
    let mut d = Driver::new(exact_config());
    for s in symbols(250) {
        d.session.subscribe(level2(&s)).unwrap();
    }
    d.run_until(secs(2));
    assert_eq!(d.server.subscribe_topics.len(), 3);
    let sizes: Vec<usize> = d
        .server
        .subscribe_topics
        .iter()
        .map(|t| t.trim_start_matches("/market/level2:").split(',').count())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(d.server.subscribe_topics[0].starts_with("/market/level2:S000-USDT,S001-USDT,"));
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::Subscribed { .. })),
        250
    );
}

#[test]
fn subscribes_while_live_are_joined_per_prefix_in_topic_order() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    for t in [
        Topic::new("/market/match", "ETH-USDT").unwrap(),
        level2("ETH-USDT"),
        Topic::new("/market/match", "BTC-USDT").unwrap(),
        level2("BTC-USDT"),
        Topic::whole("/market/ticker:all").unwrap(),
    ] {
        d.session.subscribe(t).unwrap();
    }
    d.run_until(secs(2));
    assert_eq!(
        d.server.subscribe_topics,
        [
            "/market/level2:BTC-USDT,ETH-USDT",
            "/market/match:BTC-USDT,ETH-USDT",
            "/market/ticker:all"
        ]
    );
}

#[test]
fn ack_timeout_retries_then_reports_failure_and_resends_after_reconnect() {
    let behavior = Behavior {
        ack_requests: false,
        ..Behavior::default()
    };
    let config = exact_config().with_ack(secs(5), 2);
    let mut d = Driver::with_behavior(config, behavior);
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.run_until(secs(1));
    let (at, why) = d.session.poll_timeout().unwrap();
    assert!(matches!(why, Timer::Ack(_)));
    assert_eq!(at - d.t0, ms(5_020));
    d.run_until(secs(16));
    // Sent at 0.02 s, re-sent at 5.02 s and 10.02 s, reported at 15.02 s.
    let sends: Vec<&String> = d
        .log
        .iter()
        .filter(|l| l.contains("\"subscribe\""))
        .collect();
    assert_eq!(sends.len(), 3);
    assert!(sends[2].trim_start().starts_with("10020 "));
    let failed: Vec<_> = d
        .events
        .iter()
        .filter(|(_, e)| matches!(e, SessionEvent::SubscribeFailed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, ms(15_020));
    assert_eq!(
        failed[0].1,
        SessionEvent::SubscribeFailed {
            topic: level2("BTC-USDT"),
            reason: RequestFailure::NoAck { attempts: 3 }
        }
    );
    assert_eq!(
        d.session.state(),
        SessionState::Live,
        "the connection stays"
    );
    // The topic stays wanted: after a reconnect it goes out again.
    d.server.behavior.ack_requests = true;
    d.server_close();
    d.run_until(secs(20));
    assert_eq!(d.server.subscribe_topics.len(), 4);
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 1);
}

#[test]
fn an_ack_after_a_retry_still_counts() {
    let behavior = Behavior {
        ack_requests: false,
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config().with_ack(secs(5), 2), behavior);
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.run_until(secs(6));
    d.server.behavior.ack_requests = true;
    d.run_until(secs(30));
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 1);
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::SubscribeFailed { .. })),
        0
    );
    // Sent at 0.02 s and 5.02 s unanswered; the third send at 10.02 s (same id) is acked.
    assert_eq!(d.server.subscribe_topics.len(), 3);
    let ids: Vec<&str> = d
        .server
        .received
        .iter()
        .filter(|(_, t)| t.contains("subscribe"))
        .map(|(_, t)| &t[..24])
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "a retry keeps the request id"
    );
}

#[test]
fn token_expired_401_fetches_a_new_bullet_and_reconnects() {
    let behavior = Behavior {
        error_rules: vec![("BTC-USDT".into(), 401, "token is expired".into(), 1)],
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.run_until(secs(5));
    assert_eq!(d.count(|e| *e == SessionEvent::TokenExpired), 1);
    assert_eq!(
        d.count(|e| *e
            == SessionEvent::Disconnected {
                cause: DisconnectCause::TokenExpired
            }),
        1
    );
    assert!(
        d.count(|e| matches!(
            e,
            SessionEvent::Reconnecting {
                reason: ReconnectReason::Disconnected(DisconnectCause::TokenExpired),
                ..
            }
        )) == 1
    );
    assert_eq!(d.server.bullets_issued, 2);
    assert!(!d.server.token_reused);
    assert_eq!(d.session.state(), SessionState::Live);
    // The topic was kept and subscribed on the new connection.
    assert_eq!(d.server.subscribe_topics.len(), 2);
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 1);
    assert_eq!(
        d.count(|e| matches!(e, SessionEvent::SubscribeFailed { .. })),
        0
    );
}

#[test]
fn errors_509_and_404_fail_their_topics_and_the_session_lives_on() {
    let behavior = Behavior {
        error_rules: vec![
            (
                "/market/nope".into(),
                404,
                "topic /market/nope:BTC-USDT is not found".into(),
                9,
            ),
            (
                "/market/match".into(),
                509,
                "exceed max subscription count limitation of 300 per session".into(),
                9,
            ),
        ],
        ..Behavior::default()
    };
    let mut d = Driver::with_behavior(exact_config(), behavior);
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.session
        .subscribe(Topic::new("/market/nope", "BTC-USDT").unwrap())
        .unwrap();
    d.session
        .subscribe(Topic::new("/market/match", "BTC-USDT").unwrap())
        .unwrap();
    d.session
        .subscribe(Topic::new("/market/match", "ETH-USDT").unwrap())
        .unwrap();
    d.run_until(secs(5));
    let failures: Vec<(String, String)> = d
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::SubscribeFailed {
                topic,
                reason: RequestFailure::Rejected { code, .. },
            } => Some((topic.to_string(), code.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("/market/match:BTC-USDT".to_owned(), "509".to_owned()),
            ("/market/match:ETH-USDT".to_owned(), "509".to_owned()),
            ("/market/nope:BTC-USDT".to_owned(), "404".to_owned()),
        ]
    );
    assert_eq!(d.count(|e| matches!(e, SessionEvent::Subscribed { .. })), 1);
    assert_eq!(d.session.state(), SessionState::Live);
    assert_eq!(d.session.topic_count(), 1, "rejected topics are dropped");
    // Rejected topics are not re-sent after a reconnect.
    d.server_close();
    d.run_until(secs(10));
    assert_eq!(d.server.subscribe_topics[3..], ["/market/level2:BTC-USDT"]);
}

#[test]
fn error_frames_without_a_known_id_are_reported_and_the_session_lives_on() {
    let mut d = Driver::new(exact_config());
    d.run_until(secs(1));
    d.server_send(r#"{"type":"error","code":500,"data":"internal error"}"#);
    d.server_send(r#"{"id":"42","type":"error","code":"400","data":{"why":"bad"}}"#);
    let errors: Vec<(String, String)> = d
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::ServerError { code, msg } => Some((code.to_string(), msg.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("500".to_owned(), "internal error".to_owned()),
            ("400".to_owned(), r#"{"why":"bad"}"#.to_owned())
        ]
    );
    assert_eq!(d.session.state(), SessionState::Live);
}

#[test]
fn unsubscribe_sends_unsubscribe_and_the_topic_is_not_resent() {
    let mut d = Driver::new(exact_config());
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.session.subscribe(level2("ETH-USDT")).unwrap();
    d.run_until(secs(1));
    d.session.unsubscribe(&level2("BTC-USDT")).unwrap();
    d.run_until(secs(2));
    assert_eq!(d.server.unsubscribe_topics, ["/market/level2:BTC-USDT"]);
    assert_eq!(
        d.count(|e| *e
            == SessionEvent::Unsubscribed {
                topic: level2("BTC-USDT")
            }),
        1
    );
    assert!(matches!(
        d.session.unsubscribe(&level2("BTC-USDT")),
        Err(SubscribeError::NotSubscribed { .. })
    ));
    d.server_close();
    d.run_until(secs(5));
    assert_eq!(
        d.server.subscribe_topics.last().unwrap(),
        "/market/level2:ETH-USDT"
    );
}

#[test]
fn unsubscribe_while_disconnected_is_immediate() {
    let mut d = Driver::new(exact_config());
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.session.unsubscribe(&level2("BTC-USDT")).unwrap();
    assert_eq!(
        d.session.poll_event(),
        Some(SessionEvent::Unsubscribed {
            topic: level2("BTC-USDT")
        })
    );
    d.run_until(secs(2));
    assert!(d.server.subscribe_topics.is_empty());
    assert!(d.server.unsubscribe_topics.is_empty());
}

#[test]
fn private_topics_need_a_private_session_and_set_private_channel() {
    let balance = Topic::whole("/account/balance").unwrap().private();
    let mut public = Driver::new(exact_config());
    assert_eq!(
        public.session.subscribe(balance.clone()),
        Err(SubscribeError::PrivateTopicOnPublicSession {
            topic: balance.clone()
        })
    );
    let mut d = Driver::new(SessionConfig::private().with_seed(3));
    d.session.subscribe(balance).unwrap();
    d.session.subscribe(level2("BTC-USDT")).unwrap();
    d.run_until(secs(2));
    assert!(d.log[0].contains("fetch private=true"));
    assert_eq!(
        d.server.subscribe_topics,
        ["/account/balance", "/market/level2:BTC-USDT"]
    );
    assert_eq!(d.server.private_flags, [true, false]);
}

#[test]
fn a_single_session_refuses_topics_beyond_the_connection_limit() {
    let mut d = Driver::new(exact_config());
    for s in symbols(300) {
        d.session.subscribe(level2(&s)).unwrap();
    }
    let extra = level2("EXTRA-USDT");
    assert_eq!(
        d.session.subscribe(extra.clone()),
        Err(SubscribeError::TooManyTopics {
            topic: extra,
            limit: 300
        })
    );
    // Subscribing again to a wanted topic is not an error.
    assert_eq!(d.session.subscribe(level2("S000-USDT")), Ok(()));
}

#[test]
fn private_flag_on_a_joined_request_is_per_prefix() {
    let mut d = Driver::new(SessionConfig::private().with_seed(9));
    d.session
        .subscribe(
            Topic::new("/spotMarket/tradeOrdersV2", "BTC-USDT")
                .unwrap()
                .private(),
        )
        .unwrap();
    d.session
        .subscribe(Topic::new("/spotMarket/tradeOrdersV2", "ETH-USDT").unwrap())
        .unwrap();
    d.run_until(secs(1));
    // Same prefix, different private flag: two requests.
    assert_eq!(d.server.subscribe_topics.len(), 2);
    assert_eq!(d.server.private_flags, [false, true]);
}
