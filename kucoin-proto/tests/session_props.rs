//! Random input sequences: nothing panics, deadlines always move forward, tokens are never reused.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kucoin_proto::ws::{DisconnectCause, Session, SessionConfig, SessionState, Topic, Transmit};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Advance(u16),
    Bullet(u8),
    BulletFailed,
    Connected,
    ConnectFailed,
    Disconnected,
    Frame(u8, u16),
    Garbage(String),
    Subscribe(u8),
    Unsubscribe(u8),
    Close,
    /// Bullet, handshake and welcome in one go (so sequences reach `Live` often).
    Establish,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..40_000).prop_map(Op::Advance),
        2 => (0u8..4).prop_map(Op::Bullet),
        1 => Just(Op::BulletFailed),
        2 => Just(Op::Connected),
        1 => Just(Op::ConnectFailed),
        1 => Just(Op::Disconnected),
        6 => (0u8..8, any::<u16>()).prop_map(|(k, n)| Op::Frame(k, n)),
        1 => ".{0,40}".prop_map(Op::Garbage),
        2 => (0u8..6).prop_map(Op::Subscribe),
        1 => (0u8..6).prop_map(Op::Unsubscribe),
        1 => Just(Op::Close),
        3 => Just(Op::Establish),
    ]
}

fn topic(i: u8) -> Topic {
    match i {
        0 => Topic::whole("/market/ticker:all").unwrap(),
        5 => Topic::whole("/account/balance").unwrap().private(),
        n => Topic::new("/market/level2", format!("S{n}-USDT")).unwrap(),
    }
}

fn bullet(n: u32, variant: u8) -> String {
    let (interval, timeout) = match variant {
        0 => (18_000, 10_000),
        1 => (1, 1),
        2 => (0, 5),
        _ => (50_000, 100_000),
    };
    format!(
        r#"{{"code":"200000","data":{{"token":"tok-{n}","expiresIn":{},"instanceServers":[{{"endpoint":"wss://a.example/","pingInterval":{interval},"pingTimeout":{timeout}}},{{"endpoint":"not a url","pingInterval":1000,"pingTimeout":1000}}]}}}}"#,
        u32::from(variant) * 7_000
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_never_panic_and_deadlines_move_forward(
        seed in any::<u64>(),
        private in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let t0 = Instant::now();
        let mut now = t0;
        let config = SessionConfig { private, ..SessionConfig::default() }
            .with_seed(seed)
            .with_max_attempts(if seed % 3 == 0 { Some(4) } else { None });
        let mut s = Session::new(config, now);
        let mut bullets = 0u32;
        let mut tokens = BTreeSet::new();
        let mut last_ids: Vec<String> = Vec::new();
        for op in ops {
            match op {
                Op::Advance(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    s.handle_timeout(now);
                    if let Some((at, why)) = s.poll_timeout() {
                        prop_assert!(at > now, "{why:?} due at or before now after handle_timeout");
                    }
                }
                Op::Bullet(v) => {
                    bullets += 1;
                    let _ = s.handle_bullet_response(now, 200, bullet(bullets, v).as_bytes());
                }
                Op::BulletFailed => s.handle_bullet_failed(now, "dns".into()),
                Op::Connected => s.handle_connected(now),
                Op::ConnectFailed => s.handle_connect_failed(now, "refused".into()),
                Op::Disconnected => s.handle_disconnected(now, DisconnectCause::Transport("reset".into())),
                Op::Frame(k, n) => {
                    let id = last_ids.get(usize::from(n) % last_ids.len().max(1)).cloned().unwrap_or_else(|| n.to_string());
                    let f = match k {
                        0 => r#"{"id":"x","type":"welcome"}"#.to_owned(),
                        1 => format!(r#"{{"id":"{id}","type":"pong"}}"#),
                        2 => format!(r#"{{"id":"{id}","type":"ack"}}"#),
                        3 => format!(r#"{{"id":"{id}","type":"error","code":{},"data":"e"}}"#, [401, 404, 509, 500][usize::from(n % 4)]),
                        4 => r#"{"type":"message","topic":"/market/level2:S1-USDT","data":{"a":[1]}}"#.to_owned(),
                        5 => r#"{"type":"notice"}"#.to_owned(),
                        6 => r#"{"type":"error","code":401}"#.to_owned(),
                        _ => r#"{"type":"message","topic":"/x","data":{"#.to_owned(),
                    };
                    if let Ok(Some(m)) = s.handle_frame(now, &f) {
                        let _ = m.data();
                        let _ = m.data_str();
                    }
                }
                Op::Garbage(text) => { let _ = s.handle_frame(now, &text); }
                Op::Subscribe(i) => { let _ = s.subscribe(topic(i)); }
                Op::Unsubscribe(i) => { let _ = s.unsubscribe(&topic(i)); }
                Op::Close => s.close(now),
                Op::Establish => {
                    bullets += 1;
                    let _ = s.handle_bullet_response(now, 200, bullet(bullets, 0).as_bytes());
                    if let Some(url) = s.poll_connect() {
                        let token = url.query_pairs().find(|p| p.0 == "token").unwrap().1.into_owned();
                        prop_assert!(tokens.insert(token), "a token was handed out twice");
                    }
                    s.handle_connected(now);
                    let _ = s.handle_frame(now, r#"{"id":"x","type":"welcome"}"#);
                }
            }
            // Drain, as an adapter would.
            while let Some(t) = s.poll_transmit() {
                if let Transmit::Text(text) = t {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    last_ids.push(v["id"].as_str().unwrap().to_owned());
                    if last_ids.len() > 8 { last_ids.remove(0); }
                }
            }
            let _ = s.poll_fetch();
            if let Some(url) = s.poll_connect() {
                let token = url.query_pairs().find(|p| p.0 == "token").unwrap().1.into_owned();
                prop_assert!(tokens.insert(token), "a token was handed out twice");
            }
            while s.poll_event().is_some() {}
            if s.state() == SessionState::Closed {
                prop_assert_eq!(s.poll_timeout(), None);
                prop_assert!(s.poll_fetch().is_none());
                prop_assert!(s.poll_connect().is_none());
            }
        }
    }
}
