//! Self-tests of the fake's WebSocket side: tokens, welcome, ping/pong, subscriptions, errors,
//! server closes and silence.

mod common;

use std::time::Duration;

use common::{WAIT, connect, next_json, send, subscribe};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults};
use serde_json::json;
use tungstenite::Message;

/// How long a test waits to conclude that nothing more arrives.
const QUIET: Duration = Duration::from_millis(300);

#[test]
fn raw_client_gets_welcome_pong_and_ack() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, welcome) = connect(&fake, "hQvf8jkno");
    assert_eq!(welcome, json!({"id": "hQvf8jkno", "type": "welcome"}));
    send(&mut ws, &json!({"id": "1545910590801", "type": "ping"}));
    assert_eq!(
        next_json(&mut ws, WAIT).unwrap(),
        json!({"id": "1545910590801", "type": "pong"})
    );
    // Numeric ids come back as strings, like KuCoin's ack example.
    send(
        &mut ws,
        &json!({"id": 1545910660739u64, "type": "subscribe", "topic": "/market/level2:BTC-USDT", "response": true}),
    );
    assert_eq!(
        next_json(&mut ws, WAIT).unwrap(),
        json!({"id": "1545910660739", "type": "ack"})
    );
    let stats = fake.stats();
    assert_eq!(
        (
            stats.connections_open,
            stats.subscriptions,
            stats.pongs_sent
        ),
        (1, 1, 1)
    );
}

#[test]
fn subscribe_without_response_flag_gets_no_ack() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    send(
        &mut ws,
        &json!({"id": "7", "type": "subscribe", "topic": "/market/level2:BTC-USDT", "response": false}),
    );
    assert_eq!(next_json(&mut ws, QUIET), None);
    assert_eq!(fake.stats().subscriptions, 1);
}

#[test]
fn more_than_100_symbols_in_one_request_gets_509() {
    let mut config = FakeConfig::spot().paused();
    config.symbols = (0..101)
        .map(|i| kucoin_tests::SymbolSpec::spot(&format!("C{i}-USDT")))
        .collect();
    let fake = FakeKucoin::start(config).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    let symbols: Vec<String> = (0..101).map(|i| format!("C{i}-USDT")).collect();
    let topic = format!("/market/level2:{}", symbols.join(","));
    send(
        &mut ws,
        &json!({"id": "9", "type": "subscribe", "topic": topic, "response": true}),
    );
    assert_eq!(
        next_json(&mut ws, WAIT).unwrap(),
        json!({"id": "9", "type": "error", "code": 509, "data": "exceed max subscription count limitation of 100 per time"})
    );
    assert_eq!(fake.stats().subscriptions, 0);
    // Exactly 100 is accepted.
    let topic = format!("/market/level2:{}", symbols[..100].join(","));
    send(
        &mut ws,
        &json!({"id": "10", "type": "subscribe", "topic": topic, "response": true}),
    );
    assert_eq!(
        next_json(&mut ws, WAIT).unwrap(),
        json!({"id": "10", "type": "ack"})
    );
    assert_eq!(fake.stats().subscriptions, 100);
}

#[test]
fn unknown_topics_symbols_and_types_get_error_frames() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    let cases = [
        (
            json!({"id": "1", "type": "subscribe", "topic": "/market/nothing:BTC-USDT", "response": true}),
            404,
        ),
        (
            json!({"id": "2", "type": "subscribe", "topic": "/market/level2:NOPE-USDT", "response": true}),
            404,
        ),
        (
            json!({"id": "3", "type": "subscribe", "topic": "/contractMarket/level2:XBTUSDTM", "response": true}),
            404,
        ),
        (
            json!({"id": "4", "type": "subscribe", "topic": "/market/level2: BTC-USDT", "response": true}),
            400,
        ),
        (json!({"id": "5", "type": "openTunnel"}), 415),
    ];
    for (request, code) in cases {
        send(&mut ws, &request);
        let frame = next_json(&mut ws, WAIT).unwrap();
        assert_eq!(frame["type"], "error", "{frame}");
        assert_eq!(frame["id"], request["id"]);
        assert_eq!(frame["code"], code, "{frame}");
        assert!(frame["data"].as_str().is_some());
    }
}

#[test]
fn unknown_token_is_refused_at_upgrade() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let result = tungstenite::connect(format!("{}?token=forged&connectId=x", fake.ws_url()));
    match result {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected HTTP 401, got {:?}", other.map(|_| ())),
    }
    assert!(
        tungstenite::connect(fake.ws_url()).is_err(),
        "no token at all"
    );
    assert_eq!(fake.stats().tokens_rejected, 2);
}

#[test]
fn reused_one_shot_token_gets_401_error_frame_then_close() {
    let faults = Faults {
        one_shot_tokens: true,
        ..Faults::none()
    };
    let fake = FakeKucoin::start(FakeConfig::spot().paused().with_faults(faults)).unwrap();
    let (token, endpoint) = common::bullet(&fake);
    let url = format!("{endpoint}?token={token}&connectId=a");
    let (mut first, _) = tungstenite::connect(&url).unwrap();
    assert_eq!(next_json(&mut first, WAIT).unwrap()["type"], "welcome");
    let (mut second, _) = tungstenite::connect(&url).unwrap();
    assert_eq!(
        next_json(&mut second, WAIT).unwrap(),
        json!({"type": "error", "code": 401, "data": "token is expired"})
    );
    assert_eq!(next_json(&mut second, WAIT), None, "closed after the error");
    let stats = fake.stats();
    assert_eq!((stats.faults.reused_tokens, stats.tokens_rejected), (1, 1));
}

#[test]
fn expired_token_gets_401_error_frame() {
    let faults = Faults {
        token_ttl: Some(Duration::from_millis(20)),
        ..Faults::none()
    };
    let fake = FakeKucoin::start(FakeConfig::spot().paused().with_faults(faults)).unwrap();
    let (token, endpoint) = common::bullet(&fake);
    std::thread::sleep(Duration::from_millis(40));
    let (mut ws, _) =
        tungstenite::connect(format!("{endpoint}?token={token}&connectId=a")).unwrap();
    let frame = next_json(&mut ws, WAIT).unwrap();
    assert_eq!(
        (frame["type"].as_str(), frame["code"].as_u64()),
        (Some("error"), Some(401))
    );
    assert_eq!(fake.stats().faults.expired_tokens, 1);
}

#[test]
fn silence_stops_pongs_and_data_without_closing() {
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(Duration::from_millis(2), 1)).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    assert!(next_json(&mut ws, WAIT).is_some(), "data flows before");
    fake.inject_silence_all();
    assert!(fake.wait_for(WAIT, |s| s.faults.silenced == 1));
    // Drain what was written before the silence took effect.
    while next_json(&mut ws, Duration::from_millis(50)).is_some() {}
    send(&mut ws, &json!({"id": "p", "type": "ping"}));
    assert_eq!(next_json(&mut ws, QUIET), None, "no pong, no data");
    // Not closed either: a WebSocket-level write still succeeds and nothing says goodbye.
    assert!(ws.send(Message::Ping(Vec::new().into())).is_ok());
    assert_eq!(fake.stats().faults.silenced, 1);
    assert_eq!(fake.stats().connections_open, 1);
}

#[test]
fn injected_server_close_sends_close_frame() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    fake.inject_close_all();
    let mut saw_close = false;
    for _ in 0..10 {
        match ws.read() {
            Ok(Message::Close(_)) => saw_close = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(saw_close);
    assert_eq!(fake.stats().faults.server_closes, 1);
}

#[test]
fn scheduled_close_fault_closes_streaming_connection() {
    let faults = Faults {
        seed: 3,
        close_one_in: 5,
        ..Faults::none()
    };
    let config = FakeConfig::spot()
        .with_rate(Duration::from_millis(1), 1)
        .with_faults(faults);
    let fake = FakeKucoin::start(config).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    let mut frames = 0;
    while next_json(&mut ws, WAIT).is_some() {
        frames += 1;
        assert!(frames < 10_000, "never closed");
    }
    assert!(fake.stats().faults.server_closes >= 1);
}

#[test]
fn many_clients_share_the_stream() {
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(Duration::from_millis(2), 1)).unwrap();
    let mut clients: Vec<_> = (0..4).map(|i| connect(&fake, &format!("c{i}")).0).collect();
    for (i, ws) in clients.iter_mut().enumerate() {
        let symbol = if i % 2 == 0 { "BTC-USDT" } else { "ETH-USDT" };
        subscribe(ws, "s", &format!("/market/level2:{symbol}"));
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        let frame = next_json(ws, WAIT).unwrap();
        let symbol = if i % 2 == 0 { "BTC-USDT" } else { "ETH-USDT" };
        assert_eq!(frame["data"]["symbol"], symbol);
    }
    assert_eq!(fake.stats().connections_open, 4);
    drop(clients);
}

#[test]
fn client_that_never_pings_is_closed_when_idle_closing_is_on() {
    let mut config = FakeConfig::spot().paused().with_ping(150, 150);
    config.close_idle_clients = true;
    let fake = FakeKucoin::start(config).unwrap();
    let (mut pinging, _) = connect(&fake, "pinger");
    let (mut idle, _) = connect(&fake, "idle");
    for _ in 0..8 {
        send(&mut pinging, &json!({"id": "p", "type": "ping"}));
        assert_eq!(next_json(&mut pinging, WAIT).unwrap()["type"], "pong");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(next_json(&mut idle, WAIT), None, "idle client was closed");
    assert_eq!(fake.stats().idle_closes, 1);
    assert!(fake.wait_for(WAIT, |s| s.connections_open == 1));
}

#[test]
fn slow_consumer_is_closed_when_its_queue_overflows() {
    let mut config = FakeConfig::spot().paused();
    config.max_queued_frames = 16;
    let fake = FakeKucoin::start(config).unwrap();
    let (mut ws, _) = connect(&fake, "slow");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    // The client reads nothing: socket buffers fill, the connection thread blocks, the queue overflows.
    for _ in 0..200 {
        if fake.stats().slow_consumer_closes > 0 {
            break;
        }
        fake.step_updates(2_000);
    }
    assert_eq!(fake.stats().slow_consumer_closes, 1);
    // Memory stays bounded: further updates are not queued for the dead connection.
    fake.step_updates(2_000);
    assert_eq!(fake.stats().slow_consumer_closes, 1);
}

#[test]
fn stop_ends_open_connections_promptly() {
    let mut fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(Duration::from_millis(1), 1)).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    let started = std::time::Instant::now();
    fake.stop();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.stats().connections_open, 0);
    let mut frames = 0;
    while next_json(&mut ws, WAIT).is_some() {
        frames += 1;
        assert!(frames < 100_000, "stream did not end");
    }
}

#[test]
fn injected_hangup_ends_the_socket_without_close_frame() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c1");
    fake.inject_hangup_all();
    let mut saw_close = false;
    let mut ended = false;
    for _ in 0..10 {
        match ws.read() {
            Ok(Message::Close(_)) => saw_close = true,
            Ok(_) => {}
            Err(_) => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended && !saw_close);
    assert_eq!(fake.stats().faults.server_closes, 1);
}

#[test]
fn injected_frame_reaches_every_client() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut a, _) = connect(&fake, "a");
    let (mut b, _) = connect(&fake, "b");
    let frame = json!({"id": "x", "type": "error", "code": 500, "data": "internal error"});
    fake.inject_frame_all(&frame.to_string());
    assert_eq!(next_json(&mut a, WAIT).unwrap(), frame);
    assert_eq!(next_json(&mut b, WAIT).unwrap(), frame);
}
