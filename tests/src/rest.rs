//! REST side of the fake: server time, bullets, level-2 snapshots, rate limits and 429000.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::{Header, Request, Response, Server};

use crate::auth::{self, SignedRequest};
use crate::{Market, Shared, State, TokenInfo, bump, render, sleep_unless_stopped};

/// Worker loop: answers requests until the fake stops.
pub(crate) fn serve(shared: &Arc<Shared>, http: &Server) {
    while !shared.stopping() {
        match http.recv_timeout(Duration::from_millis(20)) {
            Ok(Some(request)) => handle(shared, request),
            Ok(None) => {}
            Err(err) => {
                log::debug!("fake REST accept failed: {err}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// One answer: HTTP status and JSON body.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn ok(body: String) -> Self {
        Self { status: 200, body }
    }

    fn error(status: u16, code: &str, msg: &str) -> Self {
        Self {
            status,
            body: format!("{{\"code\":\"{code}\",\"msg\":\"{msg}\"}}"),
        }
    }
}

fn handle(shared: &Arc<Shared>, mut request: Request) {
    bump(&shared.counters.rest_requests);
    let method = request.method().as_str().to_owned();
    let target = request.url().to_owned();
    let mut body = String::new();
    if request.as_reader().read_to_string(&mut body).is_err() {
        body.clear();
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let header = move |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let signed = SignedRequest {
        method: &method,
        target: &target,
        body: &body,
        header: &header,
    };

    if let Some(agent) = header("user-agent") {
        *shared.lock().user_agents.entry(agent).or_default() += 1;
    }
    let path = target.split_once('?').map_or(target.as_str(), |(p, _)| p);
    let (limited, limit_headers) = rate_limit(shared, &method, path);
    let answer = if limited {
        Answer::error(429, "429000", "Too Many Requests")
    } else {
        route(shared, &signed)
    };

    let mut response = Response::from_string(answer.body).with_status_code(answer.status);
    let mut add = |name: &str, value: &str| {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    };
    add("Content-Type", "application/json");
    for (name, value) in limit_headers {
        add(name, &value);
    }
    if let Err(err) = request.respond(response) {
        log::debug!("fake REST response failed: {err}");
    }
}

/// Charges the request's weight to its pool's current window; returns whether it is over
/// the quota (then it is refused and not charged), and the `gw-ratelimit-*` headers to send.
///
/// Like KuCoin's rate limit 2.0: one quota per pool ([`crate::FakeConfig::rate_limit`]) per
/// window, the window starting at the pool's first request; every operation costs its
/// specification weight.
fn rate_limit(shared: &Shared, method: &str, path: &str) -> (bool, Vec<(&'static str, String)>) {
    let config = &shared.config;
    let (pool, weight) = crate::spec::cost(config.market, method, path);
    let quota = u64::from(config.rate_limit);
    let window = Duration::from_millis(config.rate_limit_window_ms.max(1));
    let now = Instant::now();
    let mut state = shared.lock();
    let entry = state.rate_pools.entry(pool).or_default();
    entry.roll(now, window);
    let start = *entry.start.get_or_insert(now);
    let limited = entry.used + weight > quota;
    if limited {
        entry.refused += 1;
        if entry.used < quota {
            entry.refused_with_room += 1;
        }
    } else {
        entry.used += weight;
        entry.calls += 1;
    }
    let remaining = quota.saturating_sub(entry.used);
    let left = (start + window).saturating_duration_since(now);
    let reset = left.as_micros().div_ceil(1_000);
    drop(state);
    if limited {
        bump(&shared.counters.too_many_requests);
    }
    (
        limited,
        vec![
            ("gw-ratelimit-limit", quota.to_string()),
            ("gw-ratelimit-remaining", remaining.to_string()),
            ("gw-ratelimit-reset", reset.to_string()),
        ],
    )
}

/// Whether this bullet or snapshot request gets a 429000 (injected or scheduled).
fn too_many(shared: &Shared, state: &mut State) -> bool {
    let hit = if state.too_many_next > 0 {
        state.too_many_next -= 1;
        true
    } else {
        let n = state.faults.too_many_requests_one_in;
        state.fault_rng.one_in(n)
    };
    if hit {
        bump(&shared.counters.too_many_requests);
    }
    hit
}

fn route(shared: &Arc<Shared>, req: &SignedRequest<'_>) -> Answer {
    let (path, query) = req.target.split_once('?').unwrap_or((req.target, ""));
    let market = shared.config.market;
    match (req.method, path) {
        ("GET", "/api/v1/timestamp") => Answer::ok(format!(
            "{{\"code\":\"200000\",\"data\":{}}}",
            shared.now_ms()
        )),
        ("POST", "/api/v1/bullet-public") => bullet(shared, false),
        ("POST", "/api/v1/bullet-private") => match check_auth(shared, req) {
            Err(answer) => answer,
            Ok(()) => bullet(shared, true),
        },
        ("GET", "/api/v3/market/orderbook/level2") if market == Market::Spot => {
            match check_auth(shared, req) {
                Err(answer) => answer,
                Ok(()) => snapshot(shared, query, usize::MAX),
            }
        }
        ("GET", "/api/v1/market/orderbook/level2_20") if market == Market::Spot => {
            snapshot(shared, query, 20)
        }
        ("GET", "/api/v1/market/orderbook/level2_100") if market == Market::Spot => {
            snapshot(shared, query, 100)
        }
        ("GET", "/api/v1/level2/snapshot") if market == Market::Futures => {
            snapshot(shared, query, usize::MAX)
        }
        (method, path) => match crate::spec::find(market, method, path) {
            None => Answer::error(404, "404", "not exist"),
            Some(route) => {
                if crate::spec::is_private(route)
                    && let Err(answer) = check_auth(shared, req)
                {
                    return answer;
                }
                shared
                    .lock()
                    .spec_calls
                    .entry(route.info.id)
                    .or_default()
                    .push(req.body.to_owned());
                if shared.config.exchange
                    && let Some(answer) = exchange(shared, method, path, query, req.body)
                {
                    return answer;
                }
                bump(&shared.counters.spec_answers);
                Answer::ok(
                    crate::cursor::answer(route.info.id, query)
                        .unwrap_or_else(|| route.answer.clone()),
                )
            }
        },
    }
}

fn check_auth(shared: &Shared, req: &SignedRequest<'_>) -> Result<(), Answer> {
    let config = &shared.config;
    auth::check(
        req,
        &config.api_keys,
        shared.now_ms(),
        config.timestamp_window_ms,
    )
    .map_err(|err| {
        bump(&shared.counters.auth_failures);
        let (code, msg, status) = err.answer();
        Answer::error(status, code, msg)
    })
}

fn bullet(shared: &Shared, private: bool) -> Answer {
    let mut state = shared.lock();
    if too_many(shared, &mut state) {
        return Answer::error(429, "429000", "Too Many Requests");
    }
    let token = new_token(&mut state, private);
    state.tokens.insert(
        token.clone(),
        TokenInfo {
            issued: Instant::now(),
            uses: 0,
        },
    );
    drop(state);
    bump(&shared.counters.bullets_issued);
    let config = &shared.config;
    let endpoint = serde_json::Value::String(shared.bullet_endpoint());
    let encrypt = endpoint.as_str().is_some_and(|e| e.starts_with("wss:"));
    Answer::ok(format!(
        "{{\"code\":\"200000\",\"data\":{{\"token\":\"{token}\",\"instanceServers\":[{{\"endpoint\":{endpoint},\
         \"encrypt\":{encrypt},\"protocol\":\"websocket\",\"pingInterval\":{},\"pingTimeout\":{}}}]}}}}",
        config.ping_interval_ms, config.ping_timeout_ms
    ))
}

/// A token shaped like KuCoin's: URL-safe base64 text, a dot, then padded base64 (needs escaping).
fn new_token(state: &mut State, private: bool) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::with_capacity(130);
    text.push_str(if private {
        "2neAiuYvAU737"
    } else {
        "2neAiuYvAU61Z"
    });
    for i in 0..110 {
        if i == 88 {
            text.push('.');
        }
        let index = state.token_rng.below(ALPHABET.len() as u64) as usize;
        text.push(ALPHABET.get(index).map_or('A', |b| *b as char));
    }
    text.push_str("==");
    text
}

fn snapshot(shared: &Shared, query: &str, depth: usize) -> Answer {
    let symbol = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "symbol")
        .map(|(_, v)| auth::percent_decode(v));
    let Some(symbol) = symbol else {
        return Answer::error(400, "400100", "symbol is required");
    };
    let delay = {
        let mut state = shared.lock();
        if !state.books.contains_key(&symbol) {
            return Answer::ok("{\"code\":\"900001\",\"msg\":\"symbol not exists\"}".to_owned());
        }
        if too_many(shared, &mut state) {
            return Answer::error(429, "429000", "Too Many Requests");
        }
        state.faults.snapshot_delay
    };
    if !delay.is_zero() {
        bump(&shared.counters.slow_snapshots);
        if !sleep_unless_stopped(shared, delay) {
            return Answer::error(503, "503000", "Service Unavailable");
        }
    }
    let state = shared.lock();
    let Some(book) = state.books.get(&symbol) else {
        return Answer::ok("{\"code\":\"900001\",\"msg\":\"symbol not exists\"}".to_owned());
    };
    bump(&shared.counters.snapshots_served);
    Answer::ok(render::snapshot(
        shared.config.market,
        book,
        depth,
        shared.now_ms(),
    ))
}

/// Answers an order, account or position request from the exchange's state (`None`: not one
/// of its routes), and publishes the book changes and private pushes it made.
fn exchange(shared: &Shared, method: &str, path: &str, query: &str, body: &str) -> Option<Answer> {
    let clock = crate::exchange::Clock {
        now_ms: shared.now_ms(),
    };
    let mut state = shared.lock();
    let State {
        exchange, books, ..
    } = &mut *state;
    let outcome = exchange.route(
        shared.config.market,
        &shared.config.symbols,
        books,
        (method, path, query, body),
        clock,
    )?;
    for (symbol, update) in outcome.updates {
        crate::publish_trade_update(shared, &mut state, &symbol, update);
    }
    crate::send_pushes(shared, &mut state, &outcome.pushes);
    drop(state);
    Some(Answer {
        status: outcome.reply.status,
        body: outcome.reply.body,
    })
}
