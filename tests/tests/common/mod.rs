//! Helpers shared by the fake exchange's self-tests: an HTTP agent, a request signer, a raw
//! WebSocket client and a tiny level-2 applier (independent of the fake and of `kucoin-proto`).

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit as _, Mac as _};
use kucoin_tests::FakeKucoin;
use serde_json::Value;
use sha2::Sha256;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Upper bound for any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(5);

pub type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// An agent that returns 4xx/5xx answers instead of erroring.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .into()
}

/// Status, parsed JSON body and headers of an answer.
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub headers: BTreeMap<String, String>,
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("HTTP request to the fake failed");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let text = response.body_mut().read_to_string().expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Answer {
        status,
        json,
        headers,
    }
}

pub fn get(fake: &FakeKucoin, path: &str) -> Answer {
    answer(agent().get(format!("{}{path}", fake.rest_url())).call())
}

pub fn post(fake: &FakeKucoin, path: &str) -> Answer {
    answer(
        agent()
            .post(format!("{}{path}", fake.rest_url()))
            .send_empty(),
    )
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

pub fn hmac_b64(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Credentials and knobs for a signed request.
pub struct Signer<'a> {
    pub key: &'a str,
    pub secret: &'a str,
    pub passphrase: &'a str,
    pub version: &'a str,
    pub timestamp: u64,
}

impl Signer<'_> {
    pub fn test_key() -> Signer<'static> {
        Signer {
            key: kucoin_tests::TEST_API_KEY,
            secret: kucoin_tests::TEST_API_SECRET,
            passphrase: kucoin_tests::TEST_API_PASSPHRASE,
            version: "2",
            timestamp: unix_ms(),
        }
    }

    /// Sends `method path_query` with KuCoin's signature headers (empty body).
    pub fn send(&self, fake: &FakeKucoin, method: &str, path_query: &str) -> Answer {
        let ts = self.timestamp.to_string();
        let sign = hmac_b64(self.secret, &format!("{ts}{method}{path_query}"));
        let passphrase = if self.version == "1" {
            self.passphrase.to_owned()
        } else {
            hmac_b64(self.secret, self.passphrase)
        };
        let url = format!("{}{path_query}", fake.rest_url());
        let agent = agent();
        let headers = [
            ("KC-API-KEY", self.key.to_owned()),
            ("KC-API-SIGN", sign),
            ("KC-API-TIMESTAMP", ts),
            ("KC-API-PASSPHRASE", passphrase),
            ("KC-API-KEY-VERSION", self.version.to_owned()),
        ];
        if method == "POST" {
            let mut request = agent.post(&url);
            for (k, v) in &headers {
                request = request.header(*k, v);
            }
            answer(request.send_empty())
        } else {
            let mut request = agent.get(&url);
            for (k, v) in &headers {
                request = request.header(*k, v);
            }
            answer(request.call())
        }
    }
}

/// A public bullet's token (percent-encoded for a query) and endpoint.
pub fn bullet(fake: &FakeKucoin) -> (String, String) {
    let answer = post(fake, "/api/v1/bullet-public");
    assert_eq!(answer.json["code"], "200000", "{}", answer.json);
    let data = &answer.json["data"];
    let token = data["token"].as_str().expect("token").replace('=', "%3D");
    let endpoint = data["instanceServers"][0]["endpoint"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    (token, endpoint)
}

/// Connects a raw client with a fresh public token and returns it with the welcome frame.
pub fn connect(fake: &FakeKucoin, connect_id: &str) -> (Ws, Value) {
    let (token, endpoint) = bullet(fake);
    let (mut ws, _) =
        tungstenite::connect(format!("{endpoint}?token={token}&connectId={connect_id}"))
            .expect("ws connect");
    let welcome = next_json(&mut ws, WAIT).expect("welcome");
    (ws, welcome)
}

/// The next text frame as JSON, or `None` if nothing arrives within `timeout` (or the socket ends).
pub fn next_json(ws: &mut Ws, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                return Some(serde_json::from_str(text.as_str()).expect("frame is JSON"));
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
}

/// Sends a JSON text frame.
pub fn send(ws: &mut Ws, value: &Value) {
    ws.send(Message::text(value.to_string())).expect("send");
}

/// Subscribes and waits for the ack (skipping data frames that arrive first).
pub fn subscribe(ws: &mut Ws, id: &str, topic: &str) {
    send(
        ws,
        &serde_json::json!({"id": id, "type": "subscribe", "topic": topic, "response": true}),
    );
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let frame = next_json(ws, WAIT).expect("ack");
        if frame["type"] == "ack" {
            assert_eq!(frame["id"], id);
            return;
        }
        assert_ne!(frame["type"], "error", "subscribe failed: {frame}");
    }
    panic!("no ack for {topic}");
}

/// Orders decimal text by value (both sides of a book are keyed by this).
fn price_key(text: &str) -> (u128, u128) {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut frac = frac.to_owned();
    while frac.len() < 18 {
        frac.push('0');
    }
    (
        int.parse().expect("int part"),
        frac.parse().expect("fraction"),
    )
}

/// What applying one message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Entirely older than the book.
    Stale,
    /// Applied; the book is at this sequence.
    InSequence(u64),
    /// Starts past `sequence + 1`.
    Gap { expected: u64, got: u64 },
}

/// A minimal book that follows KuCoin's documented level-2 rule.
#[derive(Debug, Default)]
pub struct Applier {
    pub sequence: u64,
    bids: BTreeMap<(u128, u128), (String, String)>,
    asks: BTreeMap<(u128, u128), (String, String)>,
}

impl Applier {
    /// From a REST snapshot's `data` (spot strings or futures numbers).
    pub fn from_snapshot(data: &Value) -> Self {
        let sequence = match &data["sequence"] {
            Value::String(s) => s.parse().expect("sequence"),
            other => other.as_u64().expect("sequence"),
        };
        let mut book = Self {
            sequence,
            ..Self::default()
        };
        for (side, key) in [(true, "bids"), (false, "asks")] {
            for level in data[key].as_array().expect("levels") {
                let text = |v: &Value| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                book.set(side, &text(&level[0]), &text(&level[1]));
            }
        }
        book
    }

    fn set(&mut self, bid: bool, price: &str, size: &str) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        let key = price_key(price);
        if price_key(size) == (0, 0) {
            side.remove(&key);
        } else {
            side.insert(key, (price.to_owned(), size.to_owned()));
        }
    }

    /// Applies a spot `trade.l2update` data object.
    pub fn apply_spot(&mut self, data: &Value) -> Outcome {
        let start = data["sequenceStart"].as_u64().expect("sequenceStart");
        let end = data["sequenceEnd"].as_u64().expect("sequenceEnd");
        if end <= self.sequence {
            return Outcome::Stale;
        }
        if start > self.sequence + 1 {
            return Outcome::Gap {
                expected: self.sequence + 1,
                got: start,
            };
        }
        let mut changes = Vec::new();
        for (bid, key) in [(true, "bids"), (false, "asks")] {
            for c in data["changes"][key].as_array().expect("changes") {
                let seq: u64 = c[2].as_str().expect("seq").parse().expect("seq");
                changes.push((
                    seq,
                    bid,
                    c[0].as_str().expect("p").to_owned(),
                    c[1].as_str().expect("s").to_owned(),
                ));
            }
        }
        changes.sort();
        for (seq, bid, price, size) in changes {
            if seq <= self.sequence || price == "0" {
                continue;
            }
            self.set(bid, &price, &size);
        }
        self.sequence = end;
        Outcome::InSequence(end)
    }

    /// Applies a futures `level2` data object (`change` = "price,side,size").
    pub fn apply_futures(&mut self, data: &Value) -> Outcome {
        let seq = data["sequence"].as_u64().expect("sequence");
        if seq <= self.sequence {
            return Outcome::Stale;
        }
        if seq > self.sequence + 1 {
            return Outcome::Gap {
                expected: self.sequence + 1,
                got: seq,
            };
        }
        let change = data["change"].as_str().expect("change");
        let parts: Vec<&str> = change.split(',').collect();
        assert_eq!(parts.len(), 3, "{change}");
        self.set(parts[1] == "buy", parts[0], parts[2]);
        self.sequence = seq;
        Outcome::InSequence(seq)
    }

    /// Bids best first.
    pub fn bids(&self) -> Vec<(String, String)> {
        self.bids.values().rev().cloned().collect()
    }

    /// Asks best first.
    pub fn asks(&self) -> Vec<(String, String)> {
        self.asks.values().cloned().collect()
    }
}
