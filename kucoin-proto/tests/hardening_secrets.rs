//! Secrets (API secret, passphrase, its signed header, broker key, bullet tokens) never reach
//! `Debug` or `Display`, whatever holds them.

mod hardening_common;

use std::fmt::Debug;
use std::time::Duration;

use hardening_common::t0;
use kucoin_proto::auth::{BrokerCredentials, Credentials, KeyVersion, Signer};
use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, FeedEvent};
use kucoin_proto::rest::{Bullet, BulletPrivate, RestClient, parse_envelope};
use kucoin_proto::ws::{Session, SessionConfig};
use kucoin_proto::{Spot, UnixMillis};

const KEY: &str = "key-6a1b2c3d4e5f60718293a4b5";
const SECRET: &str = "SECRET-f8e7d6c5-b4a3-9281-7f6e-5d4c3b2a1908";
const PASSPHRASE: &str = "PASSPHRASE-correct-horse-battery";
const BROKER_KEY: &str = "BROKERKEY-0f1e2d3c4b5a69788796a5b4";
const TOKEN: &str = "TOKEN-2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh";

fn creds(version: KeyVersion) -> Credentials {
    Credentials::new(KEY, SECRET, PASSPHRASE).with_key_version(version)
}

fn signer(version: KeyVersion) -> Signer {
    Signer::new(creds(version))
        .unwrap()
        .with_broker(BrokerCredentials::new(
            "partner-id",
            BROKER_KEY,
            "broker-name",
        ))
        .unwrap()
}

/// The value KuCoin receives in `KC-API-PASSPHRASE` (the passphrase signed with the secret for
/// V2/V3): as good as the passphrase to an attacker who also has the key and the secret's signs.
fn passphrase_header(version: KeyVersion) -> String {
    let h = signer(version).sign(UnixMillis(1), &http::Method::GET, "/api/v1/x", b"");
    h.passphrase.as_str().to_owned()
}

fn secrets() -> Vec<String> {
    let mut v = vec![
        SECRET.to_owned(),
        PASSPHRASE.to_owned(),
        BROKER_KEY.to_owned(),
        TOKEN.to_owned(),
    ];
    for version in [KeyVersion::V1, KeyVersion::V2, KeyVersion::V3] {
        v.push(passphrase_header(version));
    }
    v
}

fn assert_hidden(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(&s), "{what} shows a secret ({s}): {text}");
    }
    // Nor a long piece of one (a prefix or a truncation).
    for s in [SECRET, PASSPHRASE, BROKER_KEY, TOKEN] {
        assert!(
            !text.contains(s.get(..16).unwrap()),
            "{what} shows part of a secret: {text}"
        );
    }
}

fn assert_debug_hidden(what: &str, value: &impl Debug) {
    assert_hidden(what, &format!("{value:?}"));
    assert_hidden(what, &format!("{value:#?}"));
}

fn private_feed() -> Feed<Spot> {
    let rest = RestClient::<Spot>::new().with_signer(signer(KeyVersion::V3));
    let config = FeedConfig::default().with_session(SessionConfig::private().with_seed(9));
    Feed::new(rest, config, t0()).unwrap()
}

fn bullet_body() -> String {
    format!(
        r#"{{"code":"200000","data":{{"token":"{TOKEN}","instanceServers":[{{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}}]}}}}"#
    )
}

#[test]
fn credentials_show_neither_secret_nor_passphrase() {
    for version in [KeyVersion::V1, KeyVersion::V2, KeyVersion::V3] {
        let c = creds(version);
        assert_debug_hidden("Credentials", &c);
        assert_hidden("Credentials Display", &c.to_string());
        assert!(!format!("{c:?}").contains(KEY), "the whole key is shown");
        assert_debug_hidden("Signer", &signer(version));
    }
    assert_debug_hidden(
        "BrokerCredentials",
        &BrokerCredentials::new("p", BROKER_KEY, "b"),
    );
}

#[test]
fn signed_headers_and_requests_hide_passphrase_and_signatures() {
    let s = signer(KeyVersion::V3);
    let headers = s.sign(
        UnixMillis(1),
        &http::Method::POST,
        "/api/v1/bullet-private",
        b"",
    );
    assert_debug_hidden("AuthHeaders", &headers);
    let rest = RestClient::<Spot>::new().with_signer(s);
    assert_debug_hidden("RestClient", &rest);
    let request = rest
        .request(&BulletPrivate::<Spot>::default(), UnixMillis(1))
        .unwrap();
    assert_debug_hidden("signed request", &request);
    // The per-request signatures are marked sensitive too (http prints them as "Sensitive").
    for name in ["KC-API-SIGN", "KC-API-PASSPHRASE", "KC-API-PARTNER-SIGN"] {
        let v = request.headers().get(name).expect(name);
        assert!(v.is_sensitive(), "{name} is not marked sensitive");
        assert!(
            !format!("{request:?}").contains(v.to_str().unwrap()),
            "{name}"
        );
    }
}

#[test]
fn bullet_tokens_stay_out_of_debug_errors_and_events() {
    let bullet: Bullet = parse_envelope(200, bullet_body().as_bytes()).unwrap();
    assert_eq!(bullet.token, TOKEN);
    assert_debug_hidden("Bullet", &bullet);
    // An answer that carries a token but cannot be used: the error must not quote it.
    for body in [
        bullet_body().replace("18000", r#""often""#),
        bullet_body().replace("instanceServers", "servers"),
        bullet_body().get(..60).unwrap().to_owned(),
        bullet_body().replace("200000", "400001"),
    ] {
        let err = parse_envelope::<Bullet>(200, body.as_bytes()).unwrap_err();
        assert_debug_hidden("bullet ResponseError", &err);
        assert_hidden("bullet ResponseError Display", &err.to_string());
        let mut s = Session::new(SessionConfig::public(), t0());
        let _ = s.poll_fetch();
        let _ = s.handle_bullet_response(t0(), 200, body.as_bytes());
        assert_debug_hidden("Session", &s);
        while let Some(e) = s.poll_event() {
            assert_debug_hidden("SessionEvent", &e);
        }
    }
}

#[test]
fn a_running_private_feed_hides_every_secret() {
    let mut feed = private_feed();
    let now = t0();
    assert_debug_hidden("Feed", &feed);
    let call = feed
        .poll_request(now, UnixMillis(1_700_000_000_000))
        .unwrap();
    assert_eq!(call.purpose, CallPurpose::Bullet { private: true });
    assert_debug_hidden("RestCall", &call);
    feed.handle_response(
        now,
        UnixMillis(1_700_000_000_000),
        call.id,
        200,
        &http::HeaderMap::new(),
        bullet_body().as_bytes(),
    );
    let url = feed.poll_connect().unwrap_or_else(|| {
        panic!(
            "{:?}",
            std::iter::from_fn(|| feed.poll_event()).collect::<Vec<_>>()
        )
    });
    // The URL is the one place the token must be (documented: do not log it).
    assert!(url.as_str().contains(TOKEN));
    feed.handle_connected(now);
    feed.handle_frame(now, r#"{"id":"w","type":"welcome"}"#);
    assert_debug_hidden("live Feed", &feed);
    assert_debug_hidden("live Session", feed.session());
    // A refused bullet with the token in its body, then a clock-skew refusal.
    feed.handle_disconnected(
        now,
        kucoin_proto::ws::DisconnectCause::Transport("x".into()),
    );
    feed.handle_timeout(now + Duration::from_secs(60));
    let call = std::iter::from_fn(|| feed.poll_request(now, UnixMillis(1_700_000_000_000)))
        .find(|c| matches!(c.purpose, CallPurpose::Bullet { .. }))
        .unwrap();
    feed.handle_response(
        now,
        UnixMillis(1_700_000_000_000),
        call.id,
        200,
        &http::HeaderMap::new(),
        bullet_body().replace("18000", "-1").as_bytes(),
    );
    let mut failed = 0;
    while let Some(e) = feed.poll_event() {
        failed += usize::from(matches!(e, FeedEvent::RequestFailed { .. }));
        assert_debug_hidden("FeedEvent", &e);
    }
    assert_eq!(failed, 1);
    assert_debug_hidden("Feed after errors", &feed);
}

#[test]
fn credential_errors_do_not_echo_the_bad_value() {
    let bad = "PASSPHRASE-with\nnewline-0123456789";
    let err = Signer::new(Credentials::new(KEY, SECRET, bad).with_key_version(KeyVersion::V1))
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("PASSPHRASE-with"), "{text}");
    assert!(text.contains("passphrase"), "{text}");
}
