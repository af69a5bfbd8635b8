//! The `kucoin` tool against the embedded fake KuCoin (started here on 127.0.0.1), and against a
//! closed port: answers, typed parameter errors, KuCoin's codes, exit codes, streams, recording
//! and replay, secrets kept out of recordings, and how fast an unreachable server is reported.
#![cfg(feature = "cli")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kucoin_blocking::cli::{self, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE};
use kucoin_tests::{FakeConfig, FakeKucoin};

struct Ran {
    code: u8,
    out: String,
    err: String,
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cli::run(&args, &env, &mut out, &mut err);
    Ran {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

fn run(args: &[&str]) -> Ran {
    run_with(args, &[])
}

fn fake() -> FakeKucoin {
    FakeKucoin::start(FakeConfig::spot()).unwrap()
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kucoin-cli-{}-{name}", std::process::id()))
}

#[test]
fn call_public_operation_prints_the_typed_answer() {
    let fx = fake();
    let url = fx.rest_url();
    let r = run(&[
        "--rest-url",
        &url,
        "call",
        "spot.market.getTicker",
        "symbol=BTC-USDT",
    ]);
    assert_eq!(r.code, EXIT_OK, "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert!(v["bestBid"].is_string() && v["sequence"].is_string(), "{v}");
    assert!(fx.spec_calls().contains_key("spot.market.getTicker"));
}

#[test]
fn call_private_operation_signs_and_shows_the_budget_with_v() {
    let fx = fake();
    // The fake's exchange lists the accounts that hold something.
    fx.fund("USDT", "1000");
    let url = fx.rest_url();
    let env = [
        ("KUCOIN_API_KEY", kucoin_tests::TEST_API_KEY),
        ("KUCOIN_API_SECRET", kucoin_tests::TEST_API_SECRET),
        ("KUCOIN_API_PASSPHRASE", kucoin_tests::TEST_API_PASSPHRASE),
    ];
    let r = run_with(
        &[
            "--rest-url",
            &url,
            "-v",
            "call",
            "account.account.getSpotAccountList",
        ],
        &env,
    );
    assert_eq!(r.code, EXIT_OK, "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{v}");
    assert_eq!(v[0]["currency"], "USDT", "{v}");
    assert_eq!(v[0]["balance"], "1000", "{v}");
    assert!(
        r.err
            .contains("rate limit: pool Management, this call weighs 5"),
        "{}",
        r.err
    );
    // A private call without credentials is refused before sending.
    let r = run(&[
        "--rest-url",
        &url,
        "call",
        "account.account.getSpotAccountList",
    ]);
    assert_eq!(r.code, EXIT_USAGE);
    assert!(r.err.contains("KUCOIN_API_KEY"), "{}", r.err);
}

#[test]
fn call_with_a_bad_parameter_says_which_and_exits_2() {
    let fx = fake();
    let url = fx.rest_url();
    let r = run(&[
        "--rest-url",
        &url,
        "call",
        "spot.market.getKlines",
        "symbol=BTC-USDT",
        "type=1min",
        "startAt=yesterday",
    ]);
    assert_eq!(r.code, EXIT_USAGE);
    assert!(
        r.err.contains("startAt=\"yesterday\"") && r.err.contains("not an integer"),
        "{}",
        r.err
    );
    let r = run(&["--rest-url", &url, "call", "spot.market.getTicker"]);
    assert_eq!(r.code, EXIT_USAGE);
    assert!(r.err.contains("missing field `symbol`"), "{}", r.err);
    let r = run(&["--rest-url", &url, "call", "spot.market.getTicker", "sym=X"]);
    assert_eq!(r.code, EXIT_USAGE);
    assert!(r.err.contains("its parameters are symbol"), "{}", r.err);
    let r = run(&["--rest-url", &url, "call", "spot.market.getTickr"]);
    assert_eq!(r.code, EXIT_USAGE);
    assert!(r.err.contains("no REST operation"), "{}", r.err);
    // Nothing was sent for any of them.
    assert!(fx.spec_calls().is_empty(), "{:?}", fx.spec_calls());
}

#[test]
fn call_with_a_wrong_key_shows_kucoins_code_and_exits_refused() {
    let fx = fake();
    let url = fx.rest_url();
    let env = [
        ("KUCOIN_API_KEY", "not-a-key"),
        ("KUCOIN_API_SECRET", "s"),
        ("KUCOIN_API_PASSPHRASE", "p"),
    ];
    let r = run_with(
        &[
            "--rest-url",
            &url,
            "call",
            "account.account.getSpotAccountList",
        ],
        &env,
    );
    assert_eq!(r.code, EXIT_REFUSED, "{}", r.err);
    assert!(r.err.contains("KuCoin error 400003"), "{}", r.err);
    assert!(r.out.is_empty());
}

#[test]
fn call_list_names_every_operation_with_pool_and_weight() {
    let r = run(&["call", "--list"]);
    assert_eq!(r.code, EXIT_OK);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(
        lines.len(),
        kucoin_blocking::proto::rest::operation::operations().count()
    );
    let ticker = lines
        .iter()
        .find(|l| l.starts_with("spot.market.getTicker "))
        .unwrap();
    assert!(
        ticker.contains("Public") && ticker.contains(" 2 public"),
        "{ticker}"
    );
    assert!(lines.iter().any(|l| l.starts_with("futures.")));
    assert!(lines.iter().any(|l| l.starts_with("broker.")));
}

#[test]
fn call_to_a_closed_port_exits_unreachable_with_the_cause() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let r = run(&[
        "--rest-url",
        &url,
        "call",
        "spot.market.getTicker",
        "symbol=BTC-USDT",
    ]);
    assert_eq!(r.code, EXIT_UNREACHABLE, "{}", r.err);
    assert!(r.err.contains("cannot connect"), "{}", r.err);
}

#[test]
fn stream_of_a_private_topic_with_a_wrong_key_exits_refused_with_kucoins_code() {
    let fx = fake();
    let url = fx.rest_url();
    let env = [
        ("KUCOIN_API_KEY", "not-a-key"),
        ("KUCOIN_API_SECRET", "s"),
        ("KUCOIN_API_PASSPHRASE", "p"),
    ];
    let r = run_with(
        &[
            "--rest-url",
            &url,
            "--attempts",
            "1",
            "stream",
            "/spotMarket/tradeOrdersV2",
        ],
        &env,
    );
    assert_eq!(r.code, EXIT_REFUSED, "{}", r.err);
    assert!(
        r.err
            .contains("state: ended  last error: private bullet: KuCoin error 400003"),
        "{}",
        r.err
    );
    assert!(r.out.is_empty());
}

#[test]
fn stream_prints_typed_ticker_lines() {
    let fx = fake();
    let url = fx.rest_url();
    let r = run(&[
        "--rest-url",
        &url,
        "--duration",
        "2",
        "stream",
        "/market/ticker:BTC-USDT",
    ]);
    assert_eq!(r.code, EXIT_OK, "{}", r.err);
    let lines: Vec<serde_json::Value> = r
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty(), "no ticker in 2 s; stderr: {}", r.err);
    for v in &lines {
        assert_eq!(v["channel"], "spot.ticker", "{v}");
        assert_eq!(v["topic"], "/market/ticker:BTC-USDT");
        assert!(v["data"]["bestBid"].is_string(), "{v}");
    }
    assert!(r.err.contains("state: live"), "{}", r.err);
}

#[test]
fn record_then_replay_gives_the_exchanges_book_twice_identically() {
    let fx = fake();
    let url = fx.rest_url();
    let file = tmp("book.jsonl");
    let path = file.to_str().unwrap().to_owned();
    // The market moves for the first part of the recording, then stops: the recorded feed ends
    // on the exchange's book.
    let handle = fx.handle();
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        handle.pause_updates();
    });
    let r = run(&[
        "--rest-url",
        &url,
        "--duration",
        "3",
        "record",
        "--out",
        &path,
        "/market/level2:BTC-USDT",
        "/market/ticker:BTC-USDT",
    ]);
    pauser.join().unwrap();
    assert_eq!(r.code, EXIT_OK, "{}", r.err);
    let truth = fx.true_book("BTC-USDT").unwrap();

    let first = run(&["replay", &path]);
    let second = run(&["replay", &path]);
    assert_eq!(first.code, EXIT_OK, "{}", first.err);
    assert_eq!(first.out, second.out, "two replays differ");
    let lines: Vec<serde_json::Value> = first
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let book = &lines[0];
    assert_eq!(book["symbol"], "BTC-USDT");
    assert_eq!(book["sequence"], truth.sequence, "{book}");
    let side = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| (l[0].as_str().unwrap().into(), l[1].as_str().unwrap().into()))
            .collect()
    };
    let n = side(&book["bids"]).len();
    assert!(n > 0);
    assert_eq!(side(&book["bids"]), truth.bids[..n].to_vec());
    assert_eq!(
        side(&book["asks"]),
        truth.asks[..side(&book["asks"]).len()].to_vec()
    );
    let summary = &lines[1];
    assert_eq!(summary["unmatched"], 0, "{summary}");
    assert!(
        summary["other_messages"].as_u64().unwrap() > 0,
        "tickers were recorded"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn recordings_hold_no_secrets() {
    let fx = fake();
    let url = fx.rest_url();
    let file = tmp("private.jsonl");
    let path = file.to_str().unwrap().to_owned();
    let env = [
        ("KUCOIN_API_KEY", kucoin_tests::TEST_API_KEY),
        ("KUCOIN_API_SECRET", kucoin_tests::TEST_API_SECRET),
        ("KUCOIN_API_PASSPHRASE", kucoin_tests::TEST_API_PASSPHRASE),
    ];
    // A private topic (private bullet) and a book from the signed full snapshot.
    let r = run_with(
        &[
            "--rest-url",
            &url,
            "--duration",
            "1.5",
            "record",
            "--out",
            &path,
            "/spotMarket/tradeOrdersV2",
            "/market/level2:BTC-USDT",
        ],
        &env,
    );
    assert_eq!(r.code, EXIT_OK, "{}", r.err);
    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [
        kucoin_tests::TEST_API_KEY,
        kucoin_tests::TEST_API_SECRET,
        kucoin_tests::TEST_API_PASSPHRASE,
        "KC-API",
        "token=",
    ] {
        assert!(!text.contains(secret), "the recording holds {secret:?}");
    }
    let bullets: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["purpose"] == "bullet")
        .collect();
    assert!(!bullets.is_empty());
    // The private bullet was used (its token would be a session's key to the private stream).
    for b in &bullets {
        assert_eq!(b["private"], true);
        let body: serde_json::Value = serde_json::from_str(b["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["data"]["token"], "REDACTED");
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn book_json_against_a_closed_port_says_why_and_exits_unreachable() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let r = run(&[
        "--rest-url",
        &url,
        "--json",
        "--duration",
        "1",
        "book",
        "BTC-USDT",
    ]);
    assert_eq!(r.code, EXIT_UNREACHABLE, "{}", r.err);
    let lines: Vec<serde_json::Value> = r
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The first line with a failure (at once: the port refuses) is backing off, and says why.
    let last = lines
        .iter()
        .find(|l| l["last_error"].is_string())
        .expect("a line with the reason");
    assert_eq!(last["state"], "backoff", "{last}");
    assert_eq!(last["error_kind"], "connect", "{last}");
    assert!(lines.last().unwrap()["last_error"].is_string());
    assert!(
        last["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("bullet: cannot connect") && e.contains("next try in")),
        "{last}"
    );
    assert!(r.err.contains("never live"), "{}", r.err);
}

#[test]
fn the_binary_reports_an_unreachable_server_within_a_second() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kucoin"))
        .args([
            "--rest-url",
            &url,
            "--json",
            "--attempts",
            "2",
            "book",
            "BTC-USDT",
        ])
        .env_remove("KUCOIN_API_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first_reason = None;
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if first_reason.is_none() && v["last_error"].is_string() {
            first_reason = Some((start.elapsed(), v));
        }
    }
    let status = child.wait().unwrap();
    let (after, line) = first_reason.expect("a line with the reason");
    assert!(
        after < Duration::from_secs(1),
        "reason shown after {after:?}"
    );
    assert_eq!(line["error_kind"], "connect", "{line}");
    assert_eq!(status.code(), Some(i32::from(EXIT_UNREACHABLE)));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("WARN") && err.contains("cannot connect"),
        "RUST_LOG=warn shows: {err}"
    );
    eprintln!("unreachable reason shown after {after:?}");
}

#[test]
fn the_binary_calls_the_embedded_fake() {
    let out = Command::new(env!("CARGO_BIN_EXE_kucoin"))
        .args(["--fake", "call", "spot.market.getServerTime"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_u64().is_some(), "{v}");
}
