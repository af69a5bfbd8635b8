//! Both adapters over TLS, offline: the fake's WebSocket (and, for the https tests, its REST)
//! behind a TLS-terminating proxy on 127.0.0.1 presenting a self-signed certificate made here.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::ws::{ReconnectReason, SessionEvent};
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::transport::{TransportError, tls_config_with_roots};
use kucoin_blocking::{Config, Error};
use kucoin_tests::tls::{TestCert, TlsFront, TlsProxy};
use kucoin_tests::{FakeConfig, FakeKucoin};
use rustls::CertificateError;
use url::Url;

fn btc() -> SpotSymbol {
    SpotSymbol::new("BTC-USDT").unwrap()
}

/// A client of `fake` (plain http REST, credentials for the full snapshot) trusting `roots`.
fn config(
    fake: &FakeKucoin,
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> Config<Spot> {
    Config::<Spot>::new()
        .rest_url(&fake.rest_url())
        .unwrap()
        .book(support::fast_book())
        .credentials(support::keys())
        .unwrap()
        .session(support::fast_session(11))
        .connect_timeout(Duration::from_secs(2))
        .tls_root_certificates(roots)
}

/// Whether `e` is the session giving up a connect because of an untrusted certificate.
fn is_untrusted_cert_connect_failure(e: &FeedEvent<Spot>) -> bool {
    matches!(
        e,
        FeedEvent::Session(SessionEvent::Reconnecting {
            reason: ReconnectReason::ConnectFailed(why),
            ..
        }) if why.contains("TLS handshake failed") && why.contains("UnknownIssuer")
    )
}

/// Whether `e` is a connect refused for a plain `ws://` endpoint.
fn is_plain_ws_refusal(e: &FeedEvent<Spot>) -> bool {
    matches!(
        e,
        FeedEvent::Session(SessionEvent::Reconnecting {
            reason: ReconnectReason::ConnectFailed(why),
            ..
        }) if why.contains("plain ws://")
    )
}

/// When each session retry was scheduled, from the `Reconnecting` events of `log`.
fn retry_times(log: &[support::Timed<Spot>]) -> Vec<(Instant, Instant, u32)> {
    log.iter()
        .filter_map(|t| match &t.event {
            FeedEvent::Session(SessionEvent::Reconnecting {
                retry_at, attempt, ..
            }) => Some((t.at, *retry_at, *attempt)),
            _ => None,
        })
        .collect()
}

/// Asserts the feed backed off between refused connects: attempts count up and each retry is
/// scheduled at least the initial backoff after it was reported.
fn assert_backs_off(log: &[support::Timed<Spot>]) {
    let retries = retry_times(log);
    assert!(
        retries.len() >= 2,
        "wanted two refused connects: {retries:?}"
    );
    for (i, (at, retry_at, attempt)) in retries.iter().enumerate() {
        assert_eq!(*attempt, i as u32 + 1, "attempt numbers: {retries:?}");
        // The event is seen a moment after it was scheduled; jitter only adds.
        let wait = retry_at.saturating_duration_since(*at);
        assert!(
            wait + Duration::from_millis(30) >= support::BACKOFF.initial,
            "retry {i} scheduled only {wait:?} after the failure"
        );
    }
    let firsts: Vec<Instant> = retries.iter().map(|r| r.0).collect();
    support::assert_backoff_spacing("refused connects", &firsts, support::BACKOFF.initial);
}

/// The REST server of `fake` as a socket address (for a TLS proxy in front of it).
fn rest_addr(fake: &FakeKucoin) -> SocketAddr {
    let url = Url::parse(&fake.rest_url()).unwrap();
    SocketAddr::from(([127, 0, 0, 1], url.port().unwrap()))
}

#[test]
fn blocking_feed_syncs_over_wss_through_the_tls_proxy_and_equals_the_true_book() {
    // A busy book (about 10 000 updates a second) so that the proxy carries a real stream.
    let busy = FakeConfig::spot().with_rate(Duration::from_millis(1), 10);
    let fake = FakeKucoin::start(busy).unwrap();
    let cert = TestCert::localhost().unwrap();
    let front = TlsFront::start(&fake, &cert).unwrap();
    assert!(fake.bullet_endpoint().starts_with("wss://localhost:"));

    let mut client = support::blocking::Client::new(config(&fake, vec![cert.der()]), btc());
    assert!(
        client.synced(Duration::from_secs(5)),
        "no sync over wss: {:?}",
        client.log
    );
    let synced_at = client.feed.book(&btc()).unwrap().sequence();
    let give_up = Instant::now() + Duration::from_secs(5);
    while fake.true_book("BTC-USDT").unwrap().sequence < synced_at + 2_000 {
        assert!(
            Instant::now() < give_up,
            "the fake did not make 2000 changes"
        );
        client.run_for(Duration::from_millis(20));
    }
    client.converge_and_compare(&fake);
    // The client followed those changes live, through the proxy.
    assert!(client.feed.book(&btc()).unwrap().sequence() >= synced_at + 2_000);
    // The bytes really went through TLS: one handshake, the fake saw one connection (the proxy).
    assert_eq!(front.stats().handshakes, 1, "{:?}", front.stats());
    assert_eq!(front.stats().tls_errors, 0);
    assert_eq!(fake.stats().connections_accepted, 1);
    client.close();
}

#[test]
fn async_feed_syncs_over_wss_on_smol_and_async_std_and_equals_the_true_book() {
    let body = || async {
        let busy = FakeConfig::spot().with_rate(Duration::from_millis(1), 10);
        let fake = FakeKucoin::start(busy).unwrap();
        let cert = TestCert::localhost().unwrap();
        let front = TlsFront::start(&fake, &cert).unwrap();
        let mut client = support::nonblocking::Client::new(config(&fake, vec![cert.der()]), btc());
        assert!(
            client.synced(Duration::from_secs(5)).await,
            "no sync over wss: {:?}",
            client.log
        );
        let synced_at = client.feed.book(&btc()).unwrap().sequence();
        let give_up = Instant::now() + Duration::from_secs(5);
        while fake.true_book("BTC-USDT").unwrap().sequence < synced_at + 2_000 {
            assert!(
                Instant::now() < give_up,
                "the fake did not make 2000 changes"
            );
            client.run_for(Duration::from_millis(20)).await;
        }
        client.converge_and_compare(&fake).await;
        assert!(client.feed.book(&btc()).unwrap().sequence() >= synced_at + 2_000);
        assert_eq!(front.stats().handshakes, 1, "{:?}", front.stats());
        assert_eq!(fake.stats().connections_accepted, 1);
        client.close().await;
    };
    smol::block_on(body());
    async_std::task::block_on(body());
}

#[test]
fn untrusted_server_certificate_is_refused_with_a_typed_tls_handshake_error() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let served = TestCert::localhost().unwrap();
    let trusted = TestCert::localhost().unwrap();
    let front = TlsFront::start(&fake, &served).unwrap();
    let url = Url::parse(&front.wss_url()).unwrap();
    let tls = tls_config_with_roots(&[trusted.der()]).unwrap();
    let unknown_issuer = |e: &TransportError| {
        matches!(
            e,
            TransportError::TlsHandshake(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        )
    };

    let err =
        kucoin_blocking::transport::WsConn::connect(&url, &tls, false, Duration::from_secs(2))
            .unwrap_err();
    assert!(unknown_issuer(&err), "blocking: {err:?}");
    assert!(err.to_string().contains("tls_root_certificates"), "{err}");

    let connect =
        || kucoin_async_std::transport::WsConn::connect(&url, &tls, false, Duration::from_secs(2));
    let err = smol::block_on(connect()).unwrap_err();
    assert!(unknown_issuer(&err), "async on smol: {err:?}");
    let err = async_std::task::block_on(connect()).unwrap_err();
    assert!(unknown_issuer(&err), "async on async-std: {err:?}");

    // The proxy saw three refused handshakes; nothing reached the exchange.
    assert!(
        fake.wait_for(Duration::from_secs(2), |_| front.stats().tls_errors == 3),
        "{:?}",
        front.stats()
    );
    assert_eq!(front.stats().handshakes, 0);
    assert_eq!(fake.stats().connections_accepted, 0);
}

#[test]
fn blocking_feed_reports_an_untrusted_certificate_as_a_connect_failure_and_backs_off() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let front = TlsFront::start(&fake, &TestCert::localhost().unwrap()).unwrap();
    let other = TestCert::localhost().unwrap();
    let mut client = support::blocking::Client::new(config(&fake, vec![other.der()]), btc());
    let mut refused = 0;
    assert!(client.run_until(Duration::from_secs(3), |_, e| {
        refused += usize::from(is_untrusted_cert_connect_failure(e));
        refused == 2
    }));
    assert_backs_off(&client.log);
    assert!(client.feed.book(&btc()).is_none());
    assert!(!client.log.iter().any(|t| support::is_connected(&t.event)));
    assert_eq!(fake.stats().connections_accepted, 0);
    // The proxy sees each refusal as the client's alert (it may lag the client a moment).
    assert!(
        fake.wait_for(Duration::from_secs(2), |_| front.stats().tls_errors >= 2),
        "{:?}",
        front.stats()
    );
    client.close();
}

#[test]
fn async_feed_reports_an_untrusted_certificate_as_a_connect_failure_and_backs_off() {
    let body = || async {
        let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
        let front = TlsFront::start(&fake, &TestCert::localhost().unwrap()).unwrap();
        let other = TestCert::localhost().unwrap();
        let mut client = support::nonblocking::Client::new(config(&fake, vec![other.der()]), btc());
        let mut refused = 0;
        assert!(
            client
                .run_until(Duration::from_secs(3), |_, e| {
                    refused += usize::from(is_untrusted_cert_connect_failure(e));
                    refused == 2
                })
                .await
        );
        assert_backs_off(&client.log);
        assert!(client.feed.book(&btc()).is_none());
        assert_eq!(fake.stats().connections_accepted, 0);
        // The proxy sees each refusal as the client's alert (it may lag the client a moment).
        assert!(
            fake.wait_for(Duration::from_secs(2), |_| front.stats().tls_errors >= 2),
            "{:?}",
            front.stats()
        );
        client.close().await;
    };
    smol::block_on(body());
    async_std::task::block_on(body());
}

#[test]
fn rest_over_https_trusts_the_configured_root_and_refuses_without_it() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let cert = TestCert::localhost().unwrap();
    let rest_proxy = TlsProxy::start(cert.server_config().unwrap(), rest_addr(&fake)).unwrap();
    let base = format!("https://localhost:{}", rest_proxy.port());
    let with_root = Config::<Spot>::new()
        .rest_url(&base)
        .unwrap()
        .tls_root_certificates(vec![cert.der()]);
    let time = kucoin_blocking::Rest::new(&with_root).sync_clock();
    assert!(time.is_ok(), "blocking REST over https: {time:?}");
    let time = smol::block_on(kucoin_async_std::Rest::new(&with_root).sync_clock());
    assert!(time.is_ok(), "async REST over https: {time:?}");

    let without = Config::<Spot>::new().rest_url(&base).unwrap();
    let err = kucoin_blocking::Rest::new(&without)
        .sync_clock()
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Http(_))),
        "{err:?}"
    );
    assert_eq!(rest_proxy.stats().handshakes, 2, "{:?}", rest_proxy.stats());
}

#[test]
fn plain_ws_endpoint_is_refused_when_the_rest_base_is_https() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    assert!(fake.bullet_endpoint().starts_with("ws://127.0.0.1:"));
    let cert = TestCert::localhost().unwrap();
    let rest_proxy = TlsProxy::start(cert.server_config().unwrap(), rest_addr(&fake)).unwrap();
    let config = || {
        Config::<Spot>::new()
            .rest_url(&format!("https://localhost:{}", rest_proxy.port()))
            .unwrap()
            .session(support::fast_session(5))
            .tls_root_certificates(vec![cert.der()])
    };
    assert!(!config().allows_plain());
    let bad = Url::parse(&fake.ws_url()).unwrap();
    assert!(matches!(
        kucoin_blocking::transport::WsTarget::of(&bad, config().allows_plain()),
        Err(TransportError::BadUrl { .. })
    ));

    // The whole path: bullet over https, then the plain endpoint it names is refused.
    let mut client = support::blocking::Client::new(config(), btc());
    assert!(client.run_until(Duration::from_secs(3), |_, e| is_plain_ws_refusal(e)));
    client.close();
    let mut client = support::nonblocking::Client::new(config(), btc());
    assert!(smol::block_on(
        client.run_until(Duration::from_secs(3), |_, e| is_plain_ws_refusal(e))
    ));
    smol::block_on(client.close());
    assert!(fake.stats().bullets_issued >= 2, "{:?}", fake.stats());
    assert_eq!(fake.stats().connections_accepted, 0);
}

#[test]
fn unparsable_root_certificate_is_a_tls_configuration_error() {
    let fake = FakeKucoin::start(FakeConfig::spot()).unwrap();
    let garbage = rustls::pki_types::CertificateDer::from(b"not a certificate".to_vec());
    let err = kucoin_blocking::BookFeed::new(config(&fake, vec![garbage.clone()])).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Tls(_))),
        "{err:?}"
    );
    let err = kucoin_async_std::BookFeed::new(config(&fake, vec![garbage])).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Tls(_))),
        "{err:?}"
    );
}
