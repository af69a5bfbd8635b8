//! Whole-transcript tests: every output and event of a reconnect, and determinism by seed.

mod common;

use common::{Driver, exact_config, secs};
use kucoin_proto::ws::{SessionConfig, SessionEvent, Topic};

/// Connect, subscribe, one ping, KuCoin closes the socket, backoff, new bullet, resubscribe.
fn reconnect_scenario(config: SessionConfig) -> Driver {
    let mut d = Driver::new(config);
    d.log_pings = true;
    d.session
        .subscribe(Topic::new("/market/level2", "BTC-USDT").unwrap())
        .unwrap();
    d.session
        .subscribe(Topic::new("/market/level2", "ETH-USDT").unwrap())
        .unwrap();
    d.run_until(secs(20));
    d.server_close();
    d.run_until(secs(22));
    d
}

const RECONNECT: &[&str] = &[
    r#"      0 fetch private=false -> HTTP 200"#,
    r#"      0 connect ws-a.example token-1 connectId=beeb8da1658eec67"#,
    r#"     20 recv {"id":"beeb8da1658eec67","type":"welcome"}"#,
    r#"     20 send {"id":"2551566498828325","type":"subscribe","topic":"/market/level2:BTC-USDT,ETH-USDT","privateChannel":false,"response":true}"#,
    r#"     20 event Connected { connect_id: "beeb8da1658eec67" }"#,
    r#"     40 recv {"id":"2551566498828325","type":"ack"}"#,
    r#"     40 event Subscribed { topic: Topic(/market/level2:BTC-USDT) }"#,
    r#"     40 event Subscribed { topic: Topic(/market/level2:ETH-USDT) }"#,
    r#"  18000 send {"id":"2551566498828326","type":"ping"}"#,
    r#"  18020 recv {"id":"2551566498828326","type":"pong"}"#,
    r#"  20000 server closes the socket"#,
    r#"  20000 event Disconnected { cause: ServerClosed { code: Some(1001), reason: "going away" } }"#,
    r#"  20000 event Reconnecting { reason: Disconnected(ServerClosed { code: Some(1001), reason: "going away" }), retry_at: +21000ms, attempt: 1 }"#,
    r#"  21000 fetch private=false -> HTTP 200"#,
    r#"  21000 connect ws-a.example token-2 connectId=71c18690ee42c90b"#,
    r#"  21020 recv {"id":"71c18690ee42c90b","type":"welcome"}"#,
    r#"  21020 send {"id":"2551566498828327","type":"subscribe","topic":"/market/level2:BTC-USDT,ETH-USDT","privateChannel":false,"response":true}"#,
    r#"  21020 event Connected { connect_id: "71c18690ee42c90b" }"#,
    r#"  21040 recv {"id":"2551566498828327","type":"ack"}"#,
    r#"  21040 event Subscribed { topic: Topic(/market/level2:BTC-USDT) }"#,
    r#"  21040 event Subscribed { topic: Topic(/market/level2:ETH-USDT) }"#,
];

#[test]
fn reconnect_transcript_matches_the_expected_sequence() {
    let d = reconnect_scenario(exact_config());
    for l in &d.log {
        println!("{l:?},");
    }
    assert_eq!(d.log, RECONNECT);
}

#[test]
fn same_seed_gives_the_same_transcript() {
    let a = reconnect_scenario(SessionConfig::public().with_seed(77));
    let b = reconnect_scenario(SessionConfig::public().with_seed(77));
    // The log has every output and event, with times relative to the start.
    assert_eq!(a.log, b.log);
    assert_eq!(a.event_lines().len(), 8);
}

#[test]
fn different_seeds_give_different_connect_ids_and_request_ids() {
    let a = reconnect_scenario(SessionConfig::public().with_seed(1));
    let b = reconnect_scenario(SessionConfig::public().with_seed(2));
    let ids = |d: &Driver| {
        d.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Connected { connect_id } => Some(connect_id.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let (ia, ib) = (ids(&a), ids(&b));
    assert_eq!(ia.len(), 2);
    assert_ne!(ia[0], ia[1], "a new connectId per connection");
    assert!(ia.iter().all(|i| !ib.contains(i)));
    assert_ne!(a.server.received[0].1, b.server.received[0].1);
}
