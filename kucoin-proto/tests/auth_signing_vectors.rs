//! Every vector of `tests/data/kucoin-docs/signing-vectors.json`, published and computed.

use std::borrow::Cow;

use kucoin_proto::auth::{
    BrokerCredentials, Credentials, HEADER_BROKER_NAME, HEADER_KEY, HEADER_KEY_VERSION,
    HEADER_PARTNER, HEADER_PARTNER_SIGN, HEADER_PARTNER_VERIFY, HEADER_PASSPHRASE, HEADER_SIGN,
    HEADER_TIMESTAMP, KeyVersion, Signer, hmac_sha256_base64,
};
use kucoin_proto::http::Method;
use kucoin_proto::rest::{Access, Endpoint, Query, RestClient};
use kucoin_proto::{Spot, UnixMillis};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/kucoin-docs/signing-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("vector {} lacks {k}", v["id"]))
}

fn ts(v: &Value) -> UnixMillis {
    UnixMillis(s(v, "timestamp").parse().unwrap())
}

/// A private GET endpoint made up for a vector: a path and ordered raw query pairs.
struct VectorGet {
    path: String,
    query: Vec<(String, String)>,
}

impl VectorGet {
    /// Splits an *unencoded* prehash target `path?k=v&k2=v2` into path and pairs.
    fn from_target(target: &str) -> Self {
        let (path, q) = target.split_once('?').unwrap_or((target, ""));
        let query = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Self {
            path: path.to_owned(),
            query,
        }
    }
}

impl Endpoint for VectorGet {
    type Market = Spot;
    type Response = Value;
    const METHOD: Method = Method::GET;
    const ACCESS: Access = Access::Private;
    fn path(&self) -> Cow<'static, str> {
        Cow::Owned(self.path.clone())
    }
    fn query(&self) -> Query {
        let mut q = Query::new();
        for (k, v) in &self.query {
            q.push(k.clone(), v.clone());
        }
        q
    }
}

fn header<'a>(req: &'a kucoin_proto::http::Request<Vec<u8>>, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

fn check_published_post(v: &Value) {
    let signer = Signer::new(Credentials::new(s(v, "api_key"), s(v, "secret"), "pw")).unwrap();
    let method = Method::from_bytes(s(v, "method").as_bytes()).unwrap();
    let body = s(v, "body").as_bytes();
    let prehash = Signer::prehash(ts(v), &method, s(v, "endpoint"), body);
    assert_eq!(prehash, s(v, "prehash").as_bytes());
    let h = signer.sign(ts(v), &method, s(v, "endpoint"), body);
    assert_eq!(h.sign, s(v, "kc_api_sign"));
    assert_eq!(h.timestamp, s(v, "timestamp"));
    assert_eq!(h.key, s(v, "api_key"));
}

fn check_passphrase(v: &Value) {
    for version in [KeyVersion::V2, KeyVersion::V3] {
        let signer = Signer::new(
            Credentials::new("key", s(v, "secret"), s(v, "passphrase")).with_key_version(version),
        )
        .unwrap();
        let h = signer.sign(UnixMillis(0), &Method::GET, "/", b"");
        assert_eq!(h.passphrase.as_str(), s(v, "kc_api_passphrase_v2_v3"));
        assert_eq!(h.key_version, version);
    }
    let v1 = Signer::new(
        Credentials::new("key", s(v, "secret"), s(v, "passphrase"))
            .with_key_version(KeyVersion::V1),
    )
    .unwrap();
    let h = v1.sign(UnixMillis(0), &Method::GET, "/", b"");
    assert_eq!(
        h.passphrase.as_str(),
        s(v, "passphrase"),
        "V1 sends it plain"
    );
}

fn check_broker(v: &Value) {
    let creds = Credentials::new(s(v, "api_key"), s(v, "secret"), s(v, "passphrase"));
    let broker = BrokerCredentials::new(s(v, "partner"), s(v, "broker_key"), s(v, "broker_name"));
    let signer = Signer::new(creds).unwrap().with_broker(broker).unwrap();
    let method = Method::from_bytes(s(v, "method").as_bytes()).unwrap();
    let h = signer.sign(ts(v), &method, s(v, "endpoint"), s(v, "body").as_bytes());
    assert_eq!(h.sign, s(v, "kc_api_sign"));
    assert_eq!(h.passphrase.as_str(), s(v, "kc_api_passphrase_v2_v3"));
    assert_eq!(
        format!(
            "{}{}{}",
            s(v, "timestamp"),
            s(v, "partner"),
            s(v, "api_key")
        ),
        s(v, "partner_prehash")
    );
    let p = h.partner.as_ref().unwrap();
    assert_eq!(p.partner, s(v, "partner"));
    assert_eq!(p.broker_name, s(v, "broker_name"));
    assert_eq!(
        p.partner_sign,
        s(v, "kc_api_partner_sign_keyed_with_broker_key")
    );
    assert_ne!(
        p.partner_sign,
        s(v, "kc_api_partner_sign_if_keyed_with_api_secret_WRONG")
    );
    // The WRONG value really is the API-secret-keyed one, so the check above means something.
    assert_eq!(
        hmac_sha256_base64(
            s(v, "secret").as_bytes(),
            s(v, "partner_prehash").as_bytes()
        ),
        s(v, "kc_api_partner_sign_if_keyed_with_api_secret_WRONG")
    );
    let mut map = kucoin_proto::http::HeaderMap::new();
    h.apply(&mut map).unwrap();
    assert_eq!(map[HEADER_PARTNER], s(v, "partner"));
    assert_eq!(
        map[HEADER_PARTNER_SIGN],
        s(v, "kc_api_partner_sign_keyed_with_broker_key")
    );
    assert_eq!(map[HEADER_BROKER_NAME], s(v, "broker_name"));
    assert_eq!(map[HEADER_PARTNER_VERIFY], "true");
    assert_eq!(map.len(), 9);
}

fn check_raw_hmac(v: &Value) {
    assert_eq!(
        hmac_sha256_base64(s(v, "key").as_bytes(), s(v, "message").as_bytes()),
        s(v, "hmac_b64")
    );
}

/// Builds the request through `RestClient` and checks URL and signature against the vector.
fn check_get_through_client(v: &Value) {
    let prehash = s(v, "prehash");
    let rest = prehash.strip_prefix("1547015186532GET").unwrap();
    let ts = UnixMillis(1_547_015_186_532);
    let ep = VectorGet::from_target(rest);
    let signer = Signer::new(Credentials::new("key-1", s(v, "secret"), "pw")).unwrap();
    let client = RestClient::<Spot>::new().with_signer(signer);
    let req = client.request(&ep, ts).unwrap();
    let sent = v["url_sent"].as_str().unwrap_or(rest);
    assert_eq!(req.uri().path_and_query().unwrap().as_str(), sent);
    assert_eq!(
        req.uri().to_string(),
        format!("https://api.kucoin.com{sent}")
    );
    assert_eq!(header(&req, HEADER_SIGN), s(v, "kc_api_sign"));
    assert_eq!(header(&req, HEADER_TIMESTAMP), "1547015186532");
    assert_eq!(header(&req, HEADER_KEY), "key-1");
    assert_eq!(header(&req, HEADER_KEY_VERSION), "3");
    assert!(req.headers().contains_key(HEADER_PASSPHRASE));
    if let Some(wrong) = v["kc_api_sign_if_encoded_form_signed"].as_str() {
        assert_ne!(header(&req, HEADER_SIGN), wrong);
        let encoded_target = format!("1547015186532GET{sent}");
        assert_eq!(
            hmac_sha256_base64(s(v, "secret").as_bytes(), encoded_target.as_bytes()),
            wrong,
            "the vector's wrong value is the encoded-form signature"
        );
    }
}

#[test]
fn every_signing_vector_passes() {
    let vectors = vectors();
    assert!(vectors.len() >= 8, "expected the full vector file");
    let mut checked = Vec::new();
    for v in &vectors {
        let id = s(v, "id");
        match id {
            "legacy-docs-deposit-address" => check_published_post(v),
            "legacy-docs-passphrase-v2" => check_passphrase(v),
            "broker-docs-order" => check_broker(v),
            "universal-sdk-raw-hmac" | "go-sdk-raw-hmac" => check_raw_hmac(v),
            "computed-get-with-query"
            | "computed-get-no-query"
            | "computed-unencoded-query-per-docs-new" => check_get_through_client(v),
            other => panic!("vector {other} is not checked: add a check for it"),
        }
        checked.push(id);
    }
    assert_eq!(checked.len(), vectors.len());
}

#[test]
fn unencoded_query_vector_signs_unencoded_and_sends_encoded() {
    let v = vectors()
        .into_iter()
        .find(|v| v["id"] == "computed-unencoded-query-per-docs-new")
        .unwrap();
    check_get_through_client(&v);
}
