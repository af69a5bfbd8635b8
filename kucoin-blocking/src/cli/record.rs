//! Recording a live session as JSON lines, and replaying it through the sans-IO core on
//! virtual time.
//!
//! The first line is a [`RecordHeader`] (market, session seed, what was followed, in order);
//! every other line is one input the adapter handed to the feed, with `t_ns`, the nanoseconds
//! since the start of the recording at which it was handed over:
//!
//! ```text
//! {"kind":"answer","t_ns":..,"purpose":"bullet","status":200,"body":"{..\"token\":\"REDACTED\"..}"}
//! {"kind":"connected","t_ns":..}
//! {"kind":"frame","t_ns":..,"text":"{\"type\":\"message\",..}"}
//! {"kind":"answer","t_ns":..,"purpose":"snapshot","symbol":"BTC-USDT","status":200,"body":".."}
//! {"kind":"timeout","t_ns":..}
//! ```
//!
//! Bullet tokens are replaced by `REDACTED` everywhere; headers (and so signatures and keys) are
//! never written. The replay builds a feed with the recorded seed, follows the same books and
//! topics in the same order and hands it the recorded inputs at their recorded instants: the
//! feed asks for the same calls and sends the same requests, so the answers and acks line up
//! (an ack or pong whose id it did not send is matched to the oldest id it did send).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{LineWriter, Write};
use std::time::{Duration, Instant};

use kucoin_proto::auth::{Credentials, Signer};
use kucoin_proto::book::{BookConfig, SpotSnapshotSource};
use kucoin_proto::feed::{CallId, CallPurpose, FailureCause, Feed, FeedConfig, FeedMarket};
use kucoin_proto::rest::RestClient;
use kucoin_proto::ws::{DisconnectCause, SessionConfig, Topic, Transmit};
use kucoin_proto::{Futures, Spot, Symbol, UnixMillis};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, Opts};
use crate::{Tap, TapFn};

/// What a recording followed, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    /// A level-2 book of this symbol.
    Book(String),
    /// A topic (its messages are recorded as frames).
    Topic(String),
}

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHeader {
    /// Always `"header"`.
    pub kind: String,
    /// Format version (1).
    pub version: u32,
    /// `spot` or `futures`.
    pub market: String,
    /// The session's seed (request ids).
    pub seed: u64,
    /// Whether the private bullet was used.
    pub private: bool,
    /// Whether spot books were bootstrapped from the full (signed) snapshot.
    pub full_snapshot: bool,
    /// Books and topics, in the order they were added.
    pub subscriptions: Vec<Subscription>,
}

impl RecordHeader {
    pub(super) fn new(
        market: &str,
        seed: u64,
        private: bool,
        full_snapshot: bool,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        Self {
            kind: "header".into(),
            version: 1,
            market: market.into(),
            seed,
            private,
            full_snapshot,
            subscriptions,
        }
    }
}

/// Writes the recording, one line per input, flushed line by line (an interrupted recording
/// keeps every line written before).
pub(super) struct Recorder {
    file: LineWriter<File>,
    t0: Instant,
    tokens: Vec<String>,
    failed: bool,
}

impl Recorder {
    pub(super) fn create(path: &str, header: &RecordHeader, t0: Instant) -> std::io::Result<Self> {
        let mut file = LineWriter::new(File::create(path)?);
        let line = serde_json::to_string(header).map_err(std::io::Error::other)?;
        writeln!(file, "{line}")?;
        Ok(Self {
            file,
            t0,
            tokens: Vec::new(),
            failed: false,
        })
    }

    pub(super) fn into_tap(mut self) -> TapFn {
        Box::new(move |now, tap| self.write(now, &tap))
    }

    fn write(&mut self, now: Instant, tap: &Tap<'_>) {
        let t_ns = u64::try_from(now.saturating_duration_since(self.t0).as_nanos()).unwrap_or(0);
        let mut line = match tap {
            Tap::Answer {
                purpose,
                status,
                body,
            } => {
                let mut body = String::from_utf8_lossy(body).into_owned();
                if matches!(purpose, CallPurpose::Bullet { .. }) {
                    body = self.redact_bullet(&body);
                }
                let mut v = json!({"kind": "answer", "t_ns": t_ns, "status": status, "body": body});
                add_purpose(&mut v, purpose);
                v
            }
            Tap::CallFailed { purpose, cause } => {
                let mut v = json!({"kind": "call_failed", "t_ns": t_ns,
                    "cause": cause.kind(), "error": cause.to_string()});
                add_purpose(&mut v, purpose);
                v
            }
            Tap::Connected => json!({"kind": "connected", "t_ns": t_ns}),
            Tap::ConnectFailed { cause } => json!({"kind": "connect_failed", "t_ns": t_ns,
                "cause": cause.kind(), "error": cause.to_string()}),
            Tap::Frame(text) => json!({"kind": "frame", "t_ns": t_ns, "text": text}),
            Tap::Binary(len) => json!({"kind": "binary", "t_ns": t_ns, "len": len}),
            Tap::Disconnected { reason } => {
                json!({"kind": "disconnected", "t_ns": t_ns, "reason": reason})
            }
            Tap::Timeout => json!({"kind": "timeout", "t_ns": t_ns}),
        }
        .to_string();
        for token in &self.tokens {
            if !token.is_empty() && line.contains(token.as_str()) {
                line = line.replace(token.as_str(), "REDACTED");
            }
        }
        if let Err(e) = writeln!(self.file, "{line}")
            && !self.failed
        {
            self.failed = true;
            log::error!("the recording could not be written: {e}");
        }
    }

    /// Replaces the bullet's token (remembered, so it is scrubbed from every later line).
    fn redact_bullet(&mut self, body: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<Value>(body) else {
            return body.to_owned();
        };
        if let Some(token) = v.pointer_mut("/data/token")
            && let Some(t) = token.as_str()
        {
            self.tokens.push(t.to_owned());
            *token = Value::String("REDACTED".into());
        }
        v.to_string()
    }
}

fn add_purpose(v: &mut Value, purpose: &CallPurpose) {
    let (name, extra) = match purpose {
        CallPurpose::Bullet { private } => ("bullet", json!({"private": private})),
        CallPurpose::Snapshot { symbol } => ("snapshot", json!({"symbol": symbol})),
        CallPurpose::ServerTime => ("server_time", json!({})),
        _ => ("other", json!({})),
    };
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.insert("purpose".into(), name.into());
        obj.extend(extra);
    }
}

fn same_purpose(recorded: &Value, purpose: &CallPurpose) -> bool {
    match (recorded["purpose"].as_str(), purpose) {
        (Some("bullet"), CallPurpose::Bullet { .. }) => true,
        (Some("snapshot"), CallPurpose::Snapshot { symbol }) => {
            recorded["symbol"].as_str() == Some(symbol.as_str())
        }
        (Some("server_time"), CallPurpose::ServerTime) => true,
        _ => false,
    }
}

fn cause_of(v: &Value) -> FailureCause {
    let text = v["error"].as_str().unwrap_or_default().to_owned();
    match v["cause"].as_str() {
        Some("dns") => FailureCause::Dns(text),
        Some("connect") => FailureCause::Connect(text),
        Some("tls") => FailureCause::Tls(text),
        Some("timeout") => FailureCause::Timeout(text),
        Some("protocol") => FailureCause::Protocol(text),
        _ => FailureCause::Other(text),
    }
}

pub(super) fn run_replay(o: &Opts, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let Some(path) = o.positional.first() else {
        let _ = writeln!(err, "error: replay needs a FILE");
        return EXIT_USAGE;
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: cannot read {path}: {e}");
            return EXIT_FAILED;
        }
    };
    match replay_lines(&text) {
        Ok(lines) => {
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {path}: {e}");
            EXIT_FAILED
        }
    }
}

/// Replays a recording (its whole text) and returns the output lines: one JSON line per book
/// (its final state, as the `orderbook` example's `--json` line) and a summary line. The same
/// text always gives the same lines.
///
/// # Errors
/// A missing or unreadable header, a malformed line, or a feed that refuses the recorded
/// books or topics.
pub fn replay_lines(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("empty recording")?;
    let header: RecordHeader =
        serde_json::from_str(first).map_err(|e| format!("line 1 is not a header: {e}"))?;
    if header.kind != "header" || header.version != 1 {
        return Err(format!(
            "unknown recording format (kind {:?}, version {})",
            header.kind, header.version
        ));
    }
    let records = lines
        .map(|(n, l)| serde_json::from_str::<Value>(l).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    match header.market.as_str() {
        "spot" => replay::<Spot>(&header, &records),
        "futures" => replay::<Futures>(&header, &records),
        other => Err(format!("unknown market {other:?}")),
    }
}

fn replay<M: FeedMarket>(header: &RecordHeader, records: &[Value]) -> Result<Vec<String>, String> {
    // Virtual time: one anchor, then only the recorded offsets.
    let t0 = Instant::now();
    let signer =
        Signer::new(Credentials::new("replay", "replay", "replay")).map_err(|e| e.to_string())?;
    let rest = RestClient::<M>::new().with_signer(signer);
    let mut session = if header.private {
        SessionConfig::private()
    } else {
        SessionConfig::public()
    };
    session = session.with_seed(header.seed);
    let mut book = BookConfig::default();
    book.spot_snapshot = if header.full_snapshot {
        SpotSnapshotSource::Full
    } else {
        SpotSnapshotSource::Top100
    };
    let config = FeedConfig::default().with_session(session).with_book(book);
    let mut feed = Feed::new(rest, config, t0).map_err(|e| e.to_string())?;
    let mut books = Vec::new();
    for sub in &header.subscriptions {
        match sub {
            Subscription::Book(s) => {
                let sym = Symbol::<M>::new(s.as_str()).map_err(|e| e.to_string())?;
                feed.add_book(sym.clone(), t0).map_err(|e| e.to_string())?;
                books.push(sym);
            }
            Subscription::Topic(t) => {
                let topic = Topic::parse(t).map_err(|e| e.to_string())?;
                feed.subscribe(topic, t0).map_err(|e| e.to_string())?;
            }
        }
    }
    let mut r = Replayer {
        asked: Vec::new(),
        sent_ids: VecDeque::new(),
        connect_pending: false,
        unmatched: 0,
        events: 0,
    };
    let mut now = t0;
    r.drain(&mut feed, now);
    for rec in records {
        let t_ns = rec["t_ns"].as_u64().ok_or("a record without t_ns")?;
        now = now.max(t0 + Duration::from_nanos(t_ns));
        match rec["kind"].as_str().unwrap_or_default() {
            "answer" => match r.take_call(rec) {
                Some(id) => {
                    let status = rec["status"]
                        .as_u64()
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(0);
                    let body = rec["body"].as_str().unwrap_or_default();
                    feed.handle_response(
                        now,
                        UnixMillis(0),
                        id,
                        status,
                        &http::HeaderMap::new(),
                        body.as_bytes(),
                    );
                }
                None => r.unmatched += 1,
            },
            "call_failed" => match r.take_call(rec) {
                Some(id) => feed.handle_request_failed_cause(now, id, cause_of(rec)),
                None => r.unmatched += 1,
            },
            "connected" if r.connect_pending => {
                r.connect_pending = false;
                feed.handle_connected(now);
            }
            "connect_failed" if r.connect_pending => {
                r.connect_pending = false;
                feed.handle_connect_failed_cause(now, cause_of(rec));
            }
            "frame" => {
                let text = rec["text"].as_str().unwrap_or_default();
                let text = r.match_reply(text);
                feed.handle_frame(now, &text);
            }
            "binary" => {
                let len = rec["len"].as_u64().unwrap_or(0);
                feed.handle_binary(now, usize::try_from(len).unwrap_or(0));
            }
            "disconnected" => {
                let reason = rec["reason"].as_str().unwrap_or_default().to_owned();
                feed.handle_disconnected(now, DisconnectCause::ServerClosed { code: None, reason });
            }
            "timeout" => feed.handle_timeout(now),
            _ => r.unmatched += 1,
        }
        r.drain(&mut feed, now);
    }
    let mut out = Vec::new();
    for sym in &books {
        out.push(kucoin_tests::demo::json_line(
            sym.as_str(),
            feed.book(sym),
            &feed.stats(),
            feed.availability(sym, now),
        ));
    }
    let stats = feed.stats();
    out.push(
        json!({
            "replayed": records.len(),
            "duration_ms": u64::try_from((now - t0).as_millis()).unwrap_or(u64::MAX),
            "book_frames": stats.book_frames,
            "other_messages": stats.other_messages,
            "events": r.events,
            "unmatched": r.unmatched,
            "state": feed.state().name(),
        })
        .to_string(),
    );
    Ok(out)
}

struct Replayer {
    asked: Vec<(CallId, CallPurpose)>,
    /// Ids of the subscribes, unsubscribes and pings the replayed feed sent, unanswered.
    sent_ids: VecDeque<String>,
    connect_pending: bool,
    unmatched: u64,
    events: u64,
}

impl Replayer {
    fn drain<M: FeedMarket>(&mut self, feed: &mut Feed<M>, now: Instant) {
        loop {
            let mut progress = false;
            while feed.poll_event().is_some() {
                self.events += 1;
                progress = true;
            }
            while let Some(call) = feed.poll_request(now, UnixMillis(0)) {
                self.asked.push((call.id, call.purpose));
                progress = true;
            }
            if feed.poll_connect().is_some() {
                self.connect_pending = true;
                progress = true;
            }
            while let Some(t) = feed.poll_transmit() {
                progress = true;
                if let Transmit::Text(text) = t
                    && let Ok(v) = serde_json::from_str::<Value>(&text)
                    && let Some(id) = id_text(&v["id"])
                {
                    self.sent_ids.push_back(id);
                }
            }
            if !progress {
                break;
            }
        }
    }

    fn take_call(&mut self, rec: &Value) -> Option<CallId> {
        let i = self.asked.iter().position(|(_, p)| same_purpose(rec, p))?;
        Some(self.asked.remove(i).0)
    }

    /// An `ack` or `pong` answers an id the replayed feed sent: the recorded id when it is
    /// one of them, else the oldest unanswered one.
    fn match_reply(&mut self, text: &str) -> String {
        let is_reply = text.contains(r#""type":"ack""#) || text.contains(r#""type":"pong""#);
        if !is_reply {
            return text.to_owned();
        }
        let Ok(mut v) = serde_json::from_str::<Value>(text) else {
            return text.to_owned();
        };
        let Some(id) = id_text(&v["id"]) else {
            return text.to_owned();
        };
        if let Some(i) = self.sent_ids.iter().position(|s| *s == id) {
            self.sent_ids.remove(i);
            return text.to_owned();
        }
        match self.sent_ids.pop_front() {
            Some(ours) => {
                v["id"] = Value::String(ours);
                v.to_string()
            }
            None => text.to_owned(),
        }
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
