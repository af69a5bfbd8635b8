//! WebSocket side of the fake: token check, welcome, ping/pong, subscriptions, fan-out and faults.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::StatusCode;
use tungstenite::{Message, WebSocket};

use crate::auth::percent_decode;
use crate::{ConnEntry, Market, Out, Shared, TopicKind, bump};

/// Most symbols KuCoin accepts in one subscribe request.
const MAX_SYMBOLS_PER_REQUEST: usize = 100;

/// Accepts connections until the fake stops; one thread per connection.
pub(crate) fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut next_id = 1u64;
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                let id = next_id;
                next_id += 1;
                let conn_shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name(format!("fake-ws-{id}"))
                    .spawn(move || serve_conn(&conn_shared, stream, id));
                let mut threads = shared
                    .conn_threads
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                threads.retain(|t| !t.is_finished());
                match spawned {
                    Ok(thread) => threads.push(thread),
                    Err(err) => log::warn!("fake WS could not spawn a connection thread: {err}"),
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(err) => {
                log::debug!("fake WS accept failed: {err}");
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// What the handshake found out about the `token` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Unknown,
    Expired,
    Reused,
}

fn check_token(shared: &Shared, token: Option<&str>) -> Verdict {
    let Some(token) = token else {
        return Verdict::Unknown;
    };
    let mut state = shared.lock();
    let (ttl, one_shot) = (state.faults.token_ttl, state.faults.one_shot_tokens);
    let Some(info) = state.tokens.get_mut(token) else {
        return Verdict::Unknown;
    };
    info.uses += 1;
    if ttl.is_some_and(|ttl| info.issued.elapsed() > ttl) {
        Verdict::Expired
    } else if one_shot && info.uses > 1 {
        Verdict::Reused
    } else {
        Verdict::Valid
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

#[allow(
    clippy::result_large_err,
    reason = "tungstenite's callback signature is fixed"
)]
fn serve_conn(shared: &Arc<Shared>, stream: TcpStream, id: u64) {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_nodelay(true))
        .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(2))))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(2))));
    if let Err(err) = setup {
        log::debug!("fake WS socket setup failed: {err}");
        return;
    }
    let verdict = Cell::new(Verdict::Unknown);
    let private = Cell::new(false);
    let connect_id = RefCell::new(None);
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if let Some(agent) = request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
        {
            *shared
                .lock()
                .ws_user_agents
                .entry(agent.to_owned())
                .or_default() += 1;
        }
        let query = request.uri().query().unwrap_or("");
        *connect_id.borrow_mut() = query_param(query, "connectId");
        let token = query_param(query, "token");
        private.set(token.as_deref().is_some_and(token_is_private));
        verdict.set(check_token(shared, token.as_deref()));
        if verdict.get() == Verdict::Unknown {
            // Counted before the refusal is written, so a client that sees it sees the count.
            bump(&shared.counters.tokens_rejected);
            let mut refusal = ErrorResponse::new(Some("token is invalid".to_owned()));
            *refusal.status_mut() = StatusCode::UNAUTHORIZED;
            return Err(refusal);
        }
        Ok(response)
    };
    let accepted = tungstenite::accept_hdr(stream, callback);
    let verdict = verdict.get();
    let Ok(mut ws) = accepted else { return };
    bump(&shared.counters.connections_accepted);
    if verdict != Verdict::Valid {
        bump(&shared.counters.tokens_rejected);
        bump(if verdict == Verdict::Expired {
            &shared.counters.expired_tokens
        } else {
            &shared.counters.reused_tokens
        });
        let frame = "{\"type\":\"error\",\"code\":401,\"data\":\"token is expired\"}";
        let _ = ws.send(Message::text(frame));
        let _ = ws.close(None);
        let _ = ws.flush();
        return;
    }

    let (tx, rx) = mpsc::sync_channel(shared.config.max_queued_frames.max(16));
    shared.lock().conns.insert(
        id,
        ConnEntry {
            tx: Some(tx),
            topics: BTreeSet::new(),
            last: BTreeMap::new(),
            dead: false,
            private: private.get(),
        },
    );
    shared
        .counters
        .connections_open
        .fetch_add(1, Ordering::SeqCst);
    let connect_id = connect_id
        .into_inner()
        .unwrap_or_else(|| format!("fake-{id}"));
    run_conn(shared, &mut ws, &rx, id, &connect_id);
    shared.lock().conns.remove(&id);
    shared
        .counters
        .connections_open
        .fetch_sub(1, Ordering::SeqCst);
}

fn run_conn(
    shared: &Shared,
    ws: &mut WebSocket<TcpStream>,
    rx: &Receiver<Out>,
    id: u64,
    connect_id: &str,
) {
    let welcome = format!(
        "{{\"id\":{},\"type\":\"welcome\"}}",
        json_string(connect_id)
    );
    if ws.send(Message::text(welcome)).is_err() {
        return;
    }
    if ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(1)))
        .is_err()
    {
        return;
    }
    let mut silent = false;
    let mut last_heard = Instant::now();
    let idle_limit =
        Duration::from_millis(shared.config.ping_interval_ms + shared.config.ping_timeout_ms);
    let mut scratch = [0u8; 4096];
    while !shared.stopping() {
        if silent {
            // Bypass tungstenite so that not even protocol-level pongs go out; notice hang-ups.
            match ws.get_mut().read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
            while rx.try_recv().is_ok() {}
            continue;
        }
        if shared.config.close_idle_clients && last_heard.elapsed() > idle_limit {
            // KuCoin hangs up on clients that stop pinging.
            bump(&shared.counters.idle_closes);
            let _ = ws.close(None);
            let _ = ws.flush();
            return;
        }
        match ws.read() {
            Ok(Message::Text(text)) => {
                last_heard = Instant::now();
                for reply in on_client_text(shared, id, text.as_str()) {
                    if ws.write(Message::text(reply)).is_err() {
                        return;
                    }
                }
            }
            Ok(Message::Close(_)) => {
                let _ = ws.flush();
                return;
            }
            Ok(_) => last_heard = Instant::now(),
            Err(tungstenite::Error::Io(err))
                if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        let started = Instant::now();
        loop {
            let out = match rx.try_recv() {
                Ok(out) => out,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // The queue overflowed: hang up like an exchange does on a slow consumer.
                    log::debug!("fake WS connection {id} closed as a slow consumer");
                    let _ = ws.close(None);
                    let _ = ws.flush();
                    return;
                }
            };
            match out {
                Out::Text(text) => {
                    if ws.write(Message::text(text.as_ref())).is_err() {
                        return;
                    }
                }
                Out::Close => {
                    bump(&shared.counters.server_closes);
                    let _ = ws.close(None);
                    let _ = ws.flush();
                    return;
                }
                Out::Hangup => {
                    bump(&shared.counters.server_closes);
                    let _ = ws.flush();
                    return;
                }
                Out::Silence => {
                    bump(&shared.counters.silenced);
                    silent = true;
                    break;
                }
            }
            // Keep reading client frames (pings) regularly even under a flood.
            if started.elapsed() > Duration::from_millis(20) {
                break;
            }
        }
        if !silent && ws.flush().is_err() {
            return;
        }
    }
}

/// JSON string literal of `text`.
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn error_frame(id: &str, code: u16, data: &str) -> String {
    format!(
        "{{\"id\":{},\"type\":\"error\",\"code\":{code},\"data\":{}}}",
        json_string(id),
        json_string(data)
    )
}

/// Answers one client frame; returns the frames to send back.
fn on_client_text(shared: &Shared, conn: u64, text: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(msg)) = serde_json::from_str::<serde_json::Value>(text) else {
        return vec![error_frame("", 400, "request is not valid json")];
    };
    let id = match msg.get("id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match msg.get("type").and_then(serde_json::Value::as_str) {
        Some("ping") => {
            bump(&shared.counters.pongs_sent);
            vec![format!("{{\"id\":{},\"type\":\"pong\"}}", json_string(&id))]
        }
        Some(kind @ ("subscribe" | "unsubscribe")) => {
            let topic = msg
                .get("topic")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let wants_ack = msg
                .get("response")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            match parse_topic(shared, topic) {
                Err((code, data)) => vec![error_frame(&id, code, &data)],
                Ok((topic_kind, symbols)) => {
                    let mut state = shared.lock();
                    let limit = shared.config.max_topics_per_connection;
                    if let Some(entry) = state.conns.get_mut(&conn) {
                        if topic_kind == TopicKind::Scripted
                            && !entry.private
                            && symbols.iter().any(|t| is_private_channel(t))
                        {
                            return vec![error_frame(
                                &id,
                                401,
                                "private topic needs a private token",
                            )];
                        }
                        let new = symbols
                            .iter()
                            .filter(|s| !entry.topics.contains(&(topic_kind, (*s).clone())))
                            .count();
                        if kind == "subscribe" && entry.topics.len() + new > limit {
                            return vec![error_frame(
                                &id,
                                509,
                                &format!(
                                    "exceed max topic count limitation of {limit} per session"
                                ),
                            )];
                        }
                        for symbol in symbols {
                            if kind == "subscribe" {
                                entry.topics.insert((topic_kind, symbol));
                            } else {
                                entry.topics.remove(&(topic_kind, symbol.clone()));
                                entry.last.remove(&symbol);
                            }
                        }
                    }
                    drop(state);
                    if kind == "subscribe" {
                        bump(&shared.counters.subscribe_requests);
                    }
                    if wants_ack {
                        vec![format!("{{\"id\":{},\"type\":\"ack\"}}", json_string(&id))]
                    } else {
                        Vec::new()
                    }
                }
            }
        }
        _ => vec![error_frame(&id, 415, "type is not supported")],
    }
}

/// Splits `prefix:SYM1,SYM2` into a topic kind and symbols, or KuCoin's error code and text.
fn parse_topic(shared: &Shared, topic: &str) -> Result<(TopicKind, Vec<String>), (u16, String)> {
    let invalid = || (400, format!("topic {topic} is invalid"));
    let not_found = || (404, format!("topic {topic} is not found"));
    let Some((prefix, list)) = topic.split_once(':') else {
        // A channel without parameters (`/account/balance`, `/spotMarket/tradeOrdersV2`).
        return scripted(shared, &[topic.to_owned()]).ok_or_else(not_found);
    };
    if crate::channels::is_rendered(shared.config.market, topic) && list == "all" {
        // `/market/ticker:all`: every symbol's ticker on one topic.
        return scripted(shared, &[topic.to_owned()]).ok_or_else(not_found);
    }
    let kind = match (shared.config.market, prefix) {
        (Market::Spot, "/market/level2") | (Market::Futures, "/contractMarket/level2") => {
            TopicKind::Level2
        }
        (Market::Spot, "/spotMarket/level2Depth5")
        | (Market::Futures, "/contractMarket/level2Depth5") => TopicKind::Depth5,
        (Market::Spot, "/market/ticker") | (Market::Futures, "/contractMarket/tickerV2") => {
            TopicKind::Ticker
        }
        _ => {
            let topics: Vec<String> = list.split(',').map(|s| format!("{prefix}:{s}")).collect();
            if topics.len() > MAX_SYMBOLS_PER_REQUEST {
                return Err((
                    509,
                    "exceed max subscription count limitation of 100 per time".to_owned(),
                ));
            }
            return scripted(shared, &topics).ok_or_else(not_found);
        }
    };
    let symbols: Vec<String> = list.split(',').map(str::to_owned).collect();
    if symbols
        .iter()
        .any(|s| s.is_empty() || s.chars().any(char::is_whitespace))
    {
        return Err(invalid());
    }
    if symbols.len() > MAX_SYMBOLS_PER_REQUEST {
        return Err((
            509,
            "exceed max subscription count limitation of 100 per time".to_owned(),
        ));
    }
    if symbols.iter().any(|s| shared.spec(s).is_none()) {
        return Err(not_found());
    }
    Ok((kind, symbols))
}

/// Whether a token came from `bullet-private` (its prefix; see `rest::new_token`).
fn token_is_private(token: &str) -> bool {
    token.starts_with("2neAiuYvAU737")
}

/// A subscribed topic as the client wrote it.
pub(crate) fn topic_text(market: Market, kind: TopicKind, symbol: &str) -> String {
    let prefix = match (market, kind) {
        (Market::Spot, TopicKind::Level2) => "/market/level2",
        (Market::Futures, TopicKind::Level2) => "/contractMarket/level2",
        (Market::Spot, TopicKind::Depth5) => "/spotMarket/level2Depth5",
        (Market::Futures, TopicKind::Depth5) => "/contractMarket/level2Depth5",
        (Market::Spot, TopicKind::Ticker) => "/market/ticker",
        (Market::Futures, TopicKind::Ticker) => "/contractMarket/tickerV2",
        (_, TopicKind::Scripted) => return symbol.to_owned(),
    };
    format!("{prefix}:{symbol}")
}

/// Any other channel of the fake's host: accepted, and served with scripted frames
/// ([`FakeHandle::inject_channel_frame`](crate::FakeHandle::inject_channel_frame)). Each topic is
/// kept whole (`/market/match:BTC-USDT`).
fn scripted(shared: &Shared, topics: &[String]) -> Option<(TopicKind, Vec<String>)> {
    use kucoin_proto::ws::channels::{Host, route};
    let host = match shared.config.market {
        Market::Spot => Host::Spot,
        Market::Futures => Host::Futures,
    };
    let known = topics.iter().all(|t| {
        route(t, "").is_some_and(|r| r.kind.host() == host) && !t.chars().any(char::is_whitespace)
    });
    known.then(|| (TopicKind::Scripted, topics.to_vec()))
}

/// Whether a scripted topic belongs to a private channel.
fn is_private_channel(topic: &str) -> bool {
    kucoin_proto::ws::channels::route(topic, "").is_some_and(|r| r.kind.is_private())
}
