//! Self-tests of the fake's REST side: shapes, signature checks, snapshots, 429000 and delays.

mod common;

use std::time::{Duration, Instant};

use common::{Signer, get, post};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults};

#[test]
fn server_time_answers_envelope_with_offset_clock() {
    let mut config = FakeConfig::spot();
    config.clock_offset_ms = 60_000;
    let fake = FakeKucoin::start(config).unwrap();
    let before = common::unix_ms();
    let answer = get(&fake, "/api/v1/timestamp");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["code"], "200000");
    let server = answer.json["data"].as_u64().unwrap();
    assert!(
        server >= before + 60_000 && server < common::unix_ms() + 61_000,
        "{server} vs {before}"
    );
}

#[test]
fn public_bullet_points_at_fake_ws_with_configured_ping() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_ping(200, 150)).unwrap();
    let answer = post(&fake, "/api/v1/bullet-public");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json["code"], "200000");
    let data = &answer.json["data"];
    assert!(data["token"].as_str().unwrap().len() > 50);
    let server = &data["instanceServers"][0];
    assert_eq!(server["endpoint"], fake.ws_url().as_str());
    assert_eq!(server["protocol"], "websocket");
    assert_eq!(server["pingInterval"], 200);
    assert_eq!(server["pingTimeout"], 150);
    assert_eq!(fake.stats().bullets_issued, 1);
}

#[test]
fn private_bullet_with_valid_signature_is_issued_for_each_key_version() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    for version in ["1", "2", "3"] {
        let signer = Signer {
            version,
            ..Signer::test_key()
        };
        let answer = signer.send(&fake, "POST", "/api/v1/bullet-private");
        assert_eq!(answer.status, 200, "v{version}: {}", answer.json);
        assert_eq!(answer.json["code"], "200000");
    }
    assert_eq!(fake.stats().bullets_issued, 3);
    assert_eq!(fake.stats().auth_failures, 0);
}

#[test]
fn private_bullet_with_wrong_signature_gets_400005() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let signer = Signer {
        secret: "not-the-secret",
        ..Signer::test_key()
    };
    // The passphrase is signed with the same wrong secret; send it plain (v1) to reach the sign check.
    let signer = Signer {
        version: "1",
        ..signer
    };
    let answer = signer.send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["code"], "400005", "{}", answer.json);
    assert_eq!(fake.stats().bullets_issued, 0);
}

#[test]
fn private_bullet_with_bad_passphrase_gets_400004() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let signer = Signer {
        passphrase: "wrong",
        ..Signer::test_key()
    };
    let answer = signer.send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["code"], "400004", "{}", answer.json);
    // A v2 key sending its passphrase unsigned is also refused.
    let plain_with_v2 = Signer {
        version: "2",
        ..Signer::test_key()
    };
    let ts = plain_with_v2.timestamp.to_string();
    let sign = common::hmac_b64(
        kucoin_tests::TEST_API_SECRET,
        &format!("{ts}POST/api/v1/bullet-private"),
    );
    let answer = common::agent()
        .post(format!("{}/api/v1/bullet-private", fake.rest_url()))
        .header("KC-API-KEY", kucoin_tests::TEST_API_KEY)
        .header("KC-API-SIGN", &sign)
        .header("KC-API-TIMESTAMP", &ts)
        .header("KC-API-PASSPHRASE", kucoin_tests::TEST_API_PASSPHRASE)
        .header("KC-API-KEY-VERSION", "2")
        .send_empty()
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[test]
fn private_bullet_with_unknown_key_gets_400003_and_stale_timestamp_gets_400002() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let answer = Signer {
        key: "nobody",
        ..Signer::test_key()
    }
    .send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (401, Some("400003"))
    );
    let stale = common::unix_ms() - 6_000;
    let answer = Signer {
        timestamp: stale,
        ..Signer::test_key()
    }
    .send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (401, Some("400002"))
    );
    let answer = post(&fake, "/api/v1/bullet-private");
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (400, Some("400001"))
    );
    assert_eq!(fake.stats().auth_failures, 3);
}

#[test]
fn timestamp_is_checked_against_the_fake_clock_not_the_system_clock() {
    let mut config = FakeConfig::spot();
    config.clock_offset_ms = -30_000;
    let fake = FakeKucoin::start(config).unwrap();
    let answer = Signer::test_key().send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(answer.json["code"], "400002");
    let server = get(&fake, "/api/v1/timestamp").json["data"]
        .as_u64()
        .unwrap();
    let answer = Signer {
        timestamp: server,
        ..Signer::test_key()
    }
    .send(&fake, "POST", "/api/v1/bullet-private");
    assert_eq!(answer.json["code"], "200000");
}

#[test]
fn spot_full_snapshot_is_signed_and_equals_true_book() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let unsigned = get(&fake, "/api/v3/market/orderbook/level2?symbol=BTC-USDT");
    assert_eq!(unsigned.json["code"], "400001");
    let answer = Signer::test_key().send(
        &fake,
        "GET",
        "/api/v3/market/orderbook/level2?symbol=BTC-USDT",
    );
    assert_eq!(answer.json["code"], "200000", "{}", answer.json);
    let data = &answer.json["data"];
    let truth = fake.true_book("BTC-USDT").unwrap();
    assert_eq!(data["sequence"], truth.sequence.to_string().as_str());
    assert!(data["time"].as_u64().is_some());
    let levels = |key: &str| -> Vec<(String, String)> {
        data[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l[0].as_str().unwrap().to_owned(),
                    l[1].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(levels("bids"), truth.bids);
    assert_eq!(levels("asks"), truth.asks);
    assert!(truth.bids.len() >= 100 && truth.asks.len() >= 100);
}

#[test]
fn partial_snapshots_hold_top_20_and_100_levels() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let truth = fake.true_book("ETH-USDT").unwrap();
    for depth in [20usize, 100] {
        let answer = get(
            &fake,
            &format!("/api/v1/market/orderbook/level2_{depth}?symbol=ETH-USDT"),
        );
        assert_eq!(answer.json["code"], "200000");
        let bids = answer.json["data"]["bids"].as_array().unwrap();
        let asks = answer.json["data"]["asks"].as_array().unwrap();
        assert_eq!((bids.len(), asks.len()), (depth, depth));
        assert_eq!(bids[depth - 1][0], truth.bids[depth - 1].0.as_str());
        assert_eq!(asks[0][1], truth.asks[0].1.as_str());
    }
}

#[test]
fn futures_snapshot_uses_json_numbers_and_integer_sizes() {
    let fake = FakeKucoin::start(FakeConfig::futures().paused()).unwrap();
    let answer = get(&fake, "/api/v1/level2/snapshot?symbol=XBTUSDTM");
    assert_eq!(answer.json["code"], "200000", "{}", answer.json);
    let data = &answer.json["data"];
    let truth = fake.true_book("XBTUSDTM").unwrap();
    assert_eq!(data["sequence"].as_u64(), Some(truth.sequence));
    assert_eq!(data["symbol"], "XBTUSDTM");
    assert!(
        data["ts"].as_u64().unwrap() > 1_000_000_000_000_000_000,
        "ts in ns"
    );
    let bid = &data["bids"][0];
    assert!(bid[0].is_number() && bid[1].is_u64(), "{bid}");
    assert_eq!(bid[0].to_string(), truth.bids[0].0);
    assert_eq!(bid[1].to_string(), truth.bids[0].1);
    // Spot paths do not exist on the futures host.
    assert_eq!(
        get(&fake, "/api/v1/market/orderbook/level2_20?symbol=XBTUSDTM").status,
        404
    );
}

#[test]
fn unknown_symbol_gets_kucoin_error() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let answer = get(&fake, "/api/v1/market/orderbook/level2_20?symbol=NOPE-USDT");
    assert_eq!(answer.json["code"], "900001");
    assert!(answer.json["msg"].as_str().is_some());
}

#[test]
fn injected_too_many_requests_answer_429000_with_status_429_then_recover() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    fake.inject_too_many_requests(2);
    for _ in 0..2 {
        let answer = post(&fake, "/api/v1/bullet-public");
        assert_eq!(answer.status, 429);
        assert_eq!(
            answer.json,
            serde_json::json!({"code": "429000", "msg": "Too Many Requests"})
        );
    }
    let answer = post(&fake, "/api/v1/bullet-public");
    assert_eq!(answer.json["code"], "200000");
    assert_eq!(fake.stats().faults.too_many_requests, 2);
}

#[test]
fn rate_limit_headers_count_down_by_weight_and_exhaustion_answers_429000() {
    let mut config = FakeConfig::spot();
    // Spot's GET /api/v1/timestamp weighs 3 in the public pool.
    config.rate_limit = 9;
    let fake = FakeKucoin::start(config).unwrap();
    let remaining: Vec<String> = (0..3)
        .map(|_| {
            let answer = get(&fake, "/api/v1/timestamp");
            assert_eq!(answer.headers["gw-ratelimit-limit"], "9");
            assert!(answer.headers["gw-ratelimit-reset"].parse::<u64>().unwrap() <= 30_000);
            answer.headers["gw-ratelimit-remaining"].clone()
        })
        .collect();
    assert_eq!(remaining, ["6", "3", "0"]);
    let answer = get(&fake, "/api/v1/timestamp");
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (429, Some("429000"))
    );
    assert_eq!(answer.headers["gw-ratelimit-remaining"], "0");
    // The public pool was charged; the others were not.
    let windows = fake.rate_windows(kucoin_tests::Pool::Public);
    assert_eq!(windows.len(), 1);
    assert_eq!(
        (windows[0].used, windows[0].calls, windows[0].refused),
        (9, 3, 1)
    );
    assert!(fake.rate_windows(kucoin_tests::Pool::Spot).is_empty());
}

#[test]
fn an_exhausted_pool_answers_429000_until_its_window_ends() {
    let mut config = FakeConfig::spot();
    config.rate_limit_window_ms = 300;
    let fake = FakeKucoin::start(config).unwrap();
    fake.exhaust_pool(kucoin_tests::Pool::Public);
    let answer = get(&fake, "/api/v1/timestamp");
    assert_eq!(answer.json["code"], "429000");
    let reset: u64 = answer.headers["gw-ratelimit-reset"].parse().unwrap();
    assert!((1..=300).contains(&reset), "{reset}");
    std::thread::sleep(Duration::from_millis(reset + 20));
    let answer = get(&fake, "/api/v1/timestamp");
    assert_eq!(answer.json["code"], "200000");
}

#[test]
fn scheduled_too_many_requests_hit_snapshots() {
    let faults = Faults {
        too_many_requests_one_in: 1,
        ..Faults::none()
    };
    let fake = FakeKucoin::start(FakeConfig::spot().with_faults(faults)).unwrap();
    let answer = get(&fake, "/api/v1/market/orderbook/level2_20?symbol=BTC-USDT");
    assert_eq!(answer.json["code"], "429000");
    fake.set_faults(Faults::none());
    let answer = get(&fake, "/api/v1/market/orderbook/level2_20?symbol=BTC-USDT");
    assert_eq!(answer.json["code"], "200000");
}

#[test]
fn slow_snapshot_fault_delays_the_answer() {
    let delay = Duration::from_millis(150);
    let faults = Faults {
        snapshot_delay: delay,
        ..Faults::none()
    };
    let fake = FakeKucoin::start(FakeConfig::spot().with_faults(faults)).unwrap();
    let started = Instant::now();
    let answer = get(&fake, "/api/v1/market/orderbook/level2_20?symbol=BTC-USDT");
    assert_eq!(answer.json["code"], "200000");
    assert!(started.elapsed() >= delay);
    assert_eq!(fake.stats().faults.slow_snapshots, 1);
    // Other endpoints are not slowed.
    let started = Instant::now();
    get(&fake, "/api/v1/timestamp");
    assert!(started.elapsed() < delay);
}

#[test]
fn stop_returns_promptly_and_frees_the_port() {
    let mut fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let url = fake.rest_url();
    let started = Instant::now();
    fake.stop();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        common::agent()
            .get(format!("{url}/api/v1/timestamp"))
            .call()
            .is_err()
    );
}

#[test]
fn debug_output_hides_tokens_and_secrets() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let answer = post(&fake, "/api/v1/bullet-public");
    let token = answer.json["data"]["token"].as_str().unwrap().to_owned();
    let text = format!("{fake:?} {:?} {:?}", fake.handle(), FakeConfig::spot());
    assert!(text.contains(&fake.rest_url()), "{text}");
    assert!(!text.contains(&token));
    assert!(!text.contains(kucoin_tests::TEST_API_SECRET));
    assert!(!text.contains(kucoin_tests::TEST_API_PASSPHRASE));
}
