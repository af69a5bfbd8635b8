//! Request building: URLs, query order and escaping, signing exactly what is sent, misuse errors.

use std::borrow::Cow;

use kucoin_proto::auth::{
    Credentials, HEADER_KEY, HEADER_PASSPHRASE, HEADER_SIGN, HEADER_TIMESTAMP, Signer,
    hmac_sha256_base64,
};
use kucoin_proto::http::{Method, Request};
use kucoin_proto::rest::{
    Access, BuildError, BulletPrivate, BulletPublic, Endpoint, FuturesOrderBook, PartDepth, Query,
    RestClient, ServerTime, SpotFullOrderBook, SpotPartOrderBook, SpotSymbols, path_and_query,
};
use kucoin_proto::{Futures, FuturesSymbol, Spot, SpotSymbol, UnixMillis};

const SECRET: &str = "f03a5284-5c39-4aaa-9b20-dea10bdcf8e3";
const TS: UnixMillis = UnixMillis(1_700_000_000_123);

fn signer() -> Signer {
    Signer::new(Credentials::new("key-1", SECRET, "pw")).unwrap()
}

fn spot_signed() -> RestClient<Spot> {
    RestClient::<Spot>::new().with_signer(signer())
}

fn header<'a>(req: &'a Request<Vec<u8>>, name: &str) -> &'a str {
    req.headers().get(name).unwrap().to_str().unwrap()
}

/// Percent-decodes a URL's path and query (what the server reconstructs before checking).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// A private POST with arbitrary query and body, to check signing byte for byte.
struct Custom {
    query: Query,
    body: Vec<u8>,
}

impl Endpoint for Custom {
    type Market = Spot;
    type Response = serde_json::Value;
    const METHOD: Method = Method::POST;
    const ACCESS: Access = Access::Private;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed("/api/v1/orders")
    }
    fn query(&self) -> Query {
        self.query.clone()
    }
    fn body(&self) -> Vec<u8> {
        self.body.clone()
    }
}

#[test]
fn signed_string_equals_sent_path_query_and_body_byte_for_byte() {
    let ep = Custom {
        query: Query::new()
            .with("symbol", "BTC-USDT")
            .with("tradeType", "TRADE"),
        body: br#"{"symbol":"BTC-USDT","side":"buy","size":"0.0001","price":"30000"}"#.to_vec(),
    };
    let req = spot_signed().request(&ep, TS).unwrap();
    let sent_pq = req.uri().path_and_query().unwrap().as_str().to_owned();
    assert_eq!(sent_pq, "/api/v1/orders?symbol=BTC-USDT&tradeType=TRADE");
    assert_eq!(req.body(), &ep.body);
    assert_eq!(header(&req, "content-type"), "application/json");
    // Reconstruct the prehash from what is on the wire and verify the signature over it.
    let mut wire = Vec::new();
    wire.extend_from_slice(header(&req, HEADER_TIMESTAMP).as_bytes());
    wire.extend_from_slice(req.method().as_str().as_bytes());
    wire.extend_from_slice(&percent_decode(&sent_pq));
    wire.extend_from_slice(req.body());
    assert_eq!(
        wire,
        Signer::prehash(
            TS,
            &Method::POST,
            &path_and_query(&ep).unwrap().signed,
            &ep.body
        )
    );
    assert_eq!(
        header(&req, HEADER_SIGN),
        hmac_sha256_base64(SECRET.as_bytes(), &wire)
    );
    // With nothing to escape, the signed target is byte for byte the sent one.
    let pq = path_and_query(&ep).unwrap();
    assert_eq!(pq.sent, pq.signed);
    assert_eq!(header(&req, HEADER_TIMESTAMP), "1700000000123");
}

#[test]
fn query_keeps_insertion_order_and_is_not_sorted() {
    let q = Query::new()
        .with("z", "1")
        .with("a", "2")
        .with("m", "3")
        .with("a", "4");
    assert_eq!(q.encoded(), "z=1&a=2&m=3&a=4");
    assert_eq!(q.unencoded(), "z=1&a=2&m=3&a=4");
    let pairs: Vec<_> = q.pairs().collect();
    assert_eq!(pairs, [("z", "1"), ("a", "2"), ("m", "3"), ("a", "4")]);
}

#[test]
fn query_escapes_everything_but_unreserved_exactly_once() {
    let q = Query::new()
        .with("passphrase", "abc!@#11")
        .with("note", "a b+c&d=e/f?g")
        .with("pct", "100%25")
        .with("safe", "AZaz09-._~")
        .with("utf8", "é");
    assert_eq!(
        q.encoded(),
        "passphrase=abc%21%40%2311&note=a%20b%2Bc%26d%3De%2Ff%3Fg&pct=100%2525\
         &safe=AZaz09-._~&utf8=%C3%A9"
    );
    // The signed form is raw: a literal "%25" stays "%25" and is not decoded or re-encoded.
    assert_eq!(
        q.unencoded(),
        "passphrase=abc!@#11&note=a b+c&d=e/f?g&pct=100%25&safe=AZaz09-._~&utf8=é"
    );
    assert_eq!(percent_decode(&q.encoded()), q.unencoded().as_bytes());
}

#[test]
fn escaped_query_is_sent_encoded_and_signed_unencoded() {
    let ep = Custom {
        query: Query::new().with("b", "x y").with("a", "1!"),
        body: Vec::new(),
    };
    let req = spot_signed().request(&ep, TS).unwrap();
    assert_eq!(
        req.uri().path_and_query().unwrap().as_str(),
        "/api/v1/orders?b=x%20y&a=1%21"
    );
    let expected = hmac_sha256_base64(
        SECRET.as_bytes(),
        b"1700000000123POST/api/v1/orders?b=x y&a=1!",
    );
    assert_eq!(header(&req, HEADER_SIGN), expected);
    assert_eq!(header(&req, "content-type"), "application/json");
}

#[test]
fn private_endpoint_without_credentials_is_a_misuse_error() {
    let ep = SpotFullOrderBook::new(SpotSymbol::new("BTC-USDT").unwrap());
    let err = RestClient::<Spot>::new().request(&ep, TS).unwrap_err();
    assert_eq!(
        err,
        BuildError::MissingCredentials {
            path: "/api/v3/market/orderbook/level2".into()
        }
    );
    assert!(err.to_string().contains("with_signer"), "{err}");
    let err = RestClient::<Futures>::new()
        .request(&BulletPrivate::<Futures>::new(), TS)
        .unwrap_err();
    assert!(matches!(err, BuildError::MissingCredentials { .. }));
}

#[test]
fn public_endpoints_carry_no_auth_headers_even_with_a_signer() {
    let req = spot_signed()
        .request(
            &SpotPartOrderBook::new(SpotSymbol::new("BTC-USDT").unwrap(), PartDepth::Twenty),
            TS,
        )
        .unwrap();
    assert!(req.headers().get(HEADER_KEY).is_none());
    assert!(req.headers().get(HEADER_SIGN).is_none());
}

#[test]
fn endpoints_build_their_documented_urls() {
    let spot = spot_signed();
    let fut = RestClient::<Futures>::new().with_signer(signer());
    let btc = || SpotSymbol::new("BTC-USDT").unwrap();
    let cases: Vec<(Request<Vec<u8>>, Method, &str)> = vec![
        (
            spot.request(&ServerTime::<Spot>::new(), TS).unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v1/timestamp",
        ),
        (
            fut.request(&ServerTime::<Futures>::new(), TS).unwrap(),
            Method::GET,
            "https://api-futures.kucoin.com/api/v1/timestamp",
        ),
        (
            spot.request(&BulletPublic::<Spot>::new(), TS).unwrap(),
            Method::POST,
            "https://api.kucoin.com/api/v1/bullet-public",
        ),
        (
            spot.request(&BulletPrivate::<Spot>::new(), TS).unwrap(),
            Method::POST,
            "https://api.kucoin.com/api/v1/bullet-private",
        ),
        (
            fut.request(&BulletPublic::<Futures>::new(), TS).unwrap(),
            Method::POST,
            "https://api-futures.kucoin.com/api/v1/bullet-public",
        ),
        (
            fut.request(&BulletPrivate::<Futures>::new(), TS).unwrap(),
            Method::POST,
            "https://api-futures.kucoin.com/api/v1/bullet-private",
        ),
        (
            spot.request(&SpotFullOrderBook::new(btc()), TS).unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT",
        ),
        (
            spot.request(&SpotPartOrderBook::new(btc(), PartDepth::Twenty), TS)
                .unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v1/market/orderbook/level2_20?symbol=BTC-USDT",
        ),
        (
            spot.request(&SpotPartOrderBook::new(btc(), PartDepth::Hundred), TS)
                .unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=BTC-USDT",
        ),
        (
            fut.request(
                &FuturesOrderBook::new(FuturesSymbol::new("XBTUSDTM").unwrap()),
                TS,
            )
            .unwrap(),
            Method::GET,
            "https://api-futures.kucoin.com/api/v1/level2/snapshot?symbol=XBTUSDTM",
        ),
        (
            spot.request(&SpotSymbols::all(), TS).unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v2/symbols",
        ),
        (
            spot.request(&SpotSymbols::in_market("USDS"), TS).unwrap(),
            Method::GET,
            "https://api.kucoin.com/api/v2/symbols?market=USDS",
        ),
    ];
    for (req, method, url) in cases {
        assert_eq!(req.method(), method, "{url}");
        assert_eq!(req.uri().to_string(), url);
    }
}

#[test]
fn private_bullet_is_signed_over_the_empty_body_it_sends() {
    for req in [
        spot_signed()
            .request(&BulletPrivate::<Spot>::new(), TS)
            .unwrap(),
        RestClient::<Futures>::new()
            .with_signer(signer())
            .request(&BulletPrivate::<Futures>::new(), TS)
            .unwrap(),
    ] {
        assert!(req.body().is_empty());
        assert_eq!(
            header(&req, HEADER_SIGN),
            hmac_sha256_base64(
                SECRET.as_bytes(),
                b"1700000000123POST/api/v1/bullet-private"
            )
        );
        assert!(req.headers().contains_key(HEADER_PASSPHRASE));
    }
}

#[test]
fn full_spot_book_is_signed_over_its_query() {
    let req = spot_signed()
        .request(
            &SpotFullOrderBook::new(SpotSymbol::new("ETH-USDT").unwrap()),
            TS,
        )
        .unwrap();
    assert_eq!(
        header(&req, HEADER_SIGN),
        hmac_sha256_base64(
            SECRET.as_bytes(),
            b"1700000000123GET/api/v3/market/orderbook/level2?symbol=ETH-USDT"
        )
    );
}

#[test]
fn base_url_is_configurable_and_http_only_when_explicit() {
    let c = RestClient::<Spot>::new();
    assert_eq!(c.base_url(), "https://api.kucoin.com");
    assert_eq!(
        RestClient::<Futures>::new().base_url(),
        "https://api-futures.kucoin.com"
    );
    let local = RestClient::<Spot>::new()
        .with_base_url("http://127.0.0.1:8080/")
        .unwrap();
    assert_eq!(local.base_url(), "http://127.0.0.1:8080");
    let req = local.request(&ServerTime::<Spot>::new(), TS).unwrap();
    assert_eq!(
        req.uri().to_string(),
        "http://127.0.0.1:8080/api/v1/timestamp"
    );
    let sandbox = RestClient::<Spot>::new()
        .with_base_url("https://openapi-sandbox.kucoin.com")
        .unwrap();
    assert_eq!(sandbox.base_url(), "https://openapi-sandbox.kucoin.com");
    for bad in [
        "ftp://example.com",
        "not a url",
        "https://example.com/prefix",
        "https://example.com/?q=1",
        "https://user:pw@example.com",
        "https://example.com/#frag",
    ] {
        let err = RestClient::<Spot>::new().with_base_url(bad).unwrap_err();
        assert!(matches!(err, BuildError::BaseUrl { .. }), "{bad}: {err:?}");
    }
}

struct BadPath(&'static str);

impl Endpoint for BadPath {
    type Market = Spot;
    type Response = serde_json::Value;
    const METHOD: Method = Method::GET;
    const ACCESS: Access = Access::Public;
    fn path(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.0)
    }
}

#[test]
fn paths_with_query_or_odd_characters_are_rejected() {
    for p in [
        "api/v1/x",
        "/api/v1/x?symbol=A",
        "/api v1",
        "//evil.example/x",
        "/a#b",
    ] {
        let err = RestClient::<Spot>::new()
            .request(&BadPath(p), TS)
            .unwrap_err();
        assert_eq!(err, BuildError::BadPath { path: p.into() });
    }
}

#[test]
fn a_retried_request_is_signed_again_with_its_new_timestamp() {
    let ep = SpotFullOrderBook::new(SpotSymbol::new("BTC-USDT").unwrap());
    let a = spot_signed().request(&ep, UnixMillis(1)).unwrap();
    let b = spot_signed().request(&ep, UnixMillis(2)).unwrap();
    assert_ne!(header(&a, HEADER_SIGN), header(&b, HEADER_SIGN));
    assert_eq!(header(&b, HEADER_TIMESTAMP), "2");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encoded_query_decodes_to_the_signed_form(
            pairs in proptest::collection::vec(("[a-zA-Z]{1,8}", "\\PC{0,12}"), 0..5)
        ) {
            let mut q = Query::new();
            for (k, v) in &pairs {
                q.push(k.clone(), v.clone());
            }
            let enc = q.encoded();
            prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%&=".contains(&b)));
            prop_assert_eq!(percent_decode(&enc), q.unencoded().into_bytes());
        }

        #[test]
        fn signature_always_covers_the_decoded_url_and_the_sent_body(
            pairs in proptest::collection::vec(("[a-zA-Z]{1,8}", "[ -~]{0,12}"), 0..5),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            ts in 0u64..=u64::MAX,
        ) {
            let mut query = Query::new();
            for (k, v) in &pairs {
                query.push(k.clone(), v.clone());
            }
            let ep = Custom { query, body: body.clone() };
            let req = spot_signed().request(&ep, UnixMillis(ts)).unwrap();
            prop_assert_eq!(req.body(), &body);
            let mut wire = ts.to_string().into_bytes();
            wire.extend_from_slice(b"POST");
            wire.extend_from_slice(&percent_decode(req.uri().path_and_query().unwrap().as_str()));
            wire.extend_from_slice(req.body());
            prop_assert_eq!(header(&req, HEADER_SIGN), hmac_sha256_base64(SECRET.as_bytes(), &wire));
        }
    }
}
