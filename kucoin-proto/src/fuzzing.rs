//! Fuzzing entry points (feature `fuzzing`; not a stable API).
//!
//! Each function takes arbitrary bytes, drives one public entry point of the crate with them and
//! panics when an invariant breaks. The fuzz targets in `fuzz/` are one-liners into these, and the
//! seed-replay test runs every committed seed through the same functions on the stable toolchain.
//! Stateful oracles take a base `Instant` (the core never reads a clock; only offsets matter).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::manual_is_multiple_of
)] // oracles report by panicking

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::book::{
    BookConfig, BookEvent, BookMarket, BookSync, Decimal, DecodePath, FrameSpec, OrderBook, Side,
    Update,
};
use crate::feed::{CallPurpose, Feed, FeedConfig, FeedEvent};
use crate::market::{Futures, Spot, Symbol};
use crate::rest::{
    Bullet, BulletPrivate, BulletPublic, FuturesOrderBook, L2Snapshot, ResponseError, RestClient,
    ServerTime, SpotFullOrderBook, SpotPartOrderBook, SpotSymbols, SymbolInfo, parse_envelope,
    parse_response,
};
use crate::time::{ServerTimeOffset, UnixMillis};
use crate::ws::{
    DisconnectCause, RequestFailure, Session, SessionConfig, SessionEvent, SessionState, Topic,
    Transmit,
};

/// The bullet every stateful oracle answers with (two servers, one of them unusable).
const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-fuzz","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
const WELCOME: &str = r#"{"id":"w","type":"welcome"}"#;
const SPOT_SYMBOL: &str = "BTC-USDT";
const FUTURES_SYMBOL: &str = "XBTUSDTM";

/// Reads script bytes; past the end every read is 0.
struct Script<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Script<'a> {
    fn new(data: &'a [u8]) -> Self {
        Script { data, at: 0 }
    }
    fn op(&mut self) -> Option<u8> {
        let b = *self.data.get(self.at)?;
        self.at += 1;
        Some(b)
    }
    fn byte(&mut self) -> u8 {
        self.op().unwrap_or(0)
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let end = (self.at + n).min(self.data.len());
        let s = self.data.get(self.at..end).unwrap_or_default();
        self.at = end;
        s
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ------------------------------------------------------------------------------------ frames

/// One WebSocket text frame: the header scanner against serde (`ws::fuzzing::frame_differential`),
/// then the frame through a live [`Session`]: never a panic, and a message's `data` found by the
/// allocation-free scan equals the one serde validates whenever both succeed.
pub fn ws_frame(t0: Instant, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    crate::ws::fuzzing::frame_differential(text);
    let mut s = live_session(t0, SessionConfig::public());
    if let Ok(Some(m)) = s.handle_frame(t0, text) {
        let _ = m.topic();
        let _ = m.subject();
        // Both read only the `data` value of a frame whose header was sound; they must agree
        // when the whole frame is JSON (otherwise each may stop elsewhere in the damage).
        if let (Ok(raw), Ok(scanned)) = (m.data(), m.data_str())
            && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        {
            assert_eq!(raw.get(), scanned, "data() and data_str() differ: {text:?}");
        }
    }
    while s.poll_event().is_some() {}
    assert_eq!(s.state(), SessionState::Live, "one frame ended the session");
}

fn live_session(t0: Instant, config: SessionConfig) -> Session {
    let mut s = Session::new(config.with_seed(7), t0);
    let _ = s.poll_fetch();
    let _ = s.handle_bullet_response(t0, 200, BULLET.as_bytes());
    let _ = s.poll_connect();
    s.handle_connected(t0);
    let _ = s.handle_frame(t0, WELCOME);
    while s.poll_transmit().is_some() {}
    while s.poll_event().is_some() {}
    s
}

// -------------------------------------------------------------------------------------- REST

const STATUSES: [u16; 12] = [200, 200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503];

/// The answer of a generated REST operation: the first byte picks the operation (among those of
/// the enabled features), the second the HTTP status, the rest is the body. An answer that
/// parses must print as JSON, and that JSON must parse again as the same operation's answer.
pub fn rest_answer(_now: Instant, data: &[u8]) {
    let ops: Vec<_> = crate::rest::operation::operations().collect();
    let Some(((&pick, &status), body)) = data
        .split_first()
        .and_then(|(p, rest)| rest.split_first().map(|(s, b)| ((p, s), b)))
    else {
        return;
    };
    let Some(info) = ops.get(usize::from(pick) % ops.len().max(1)) else {
        return;
    };
    let status = STATUSES[usize::from(status) % STATUSES.len()];
    let code = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    let answer = (info.parse)(code, &http::HeaderMap::new(), body);
    match answer.result {
        Ok(value) => {
            let json = value
                .to_json()
                .unwrap_or_else(|e| panic!("{}: a parsed answer does not print: {e}", info.id));
            let again = serde_json::to_vec(&serde_json::json!({"code": "200000", "data": json}))
                .unwrap_or_default();
            if let Err(e) =
                (info.parse)(http::StatusCode::OK, &http::HeaderMap::new(), &again).result
            {
                panic!("{}: printed answer does not parse again: {e}", info.id);
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.class();
        }
    }
}

/// A script over a [`RateBudget`](crate::rest::budget::RateBudget). The first byte picks the mode:
///
/// - even: adversarial. Calls are sent and answered in any order with arbitrary
///   `gw-ratelimit-*` values (or none), 429000s and failures; after each step: a wait always ends
///   in the future, nothing is more than four windows away, what remains never exceeds the quota,
///   the weight in flight equals the tickets not yet answered.
/// - odd: honest. One pool against a model gateway (window starting at its first request, the
///   quota from the second byte, one-way latencies up to 20 ms, answers in any order): a client
///   that sends only when told to never draws a 429000.
pub fn rate_budget(t0: Instant, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        rate_budget_adversarial(t0, rest);
    } else {
        rate_budget_honest(t0, rest);
    }
}

fn rate_budget_adversarial(t0: Instant, data: &[u8]) {
    use crate::rest::RateLimit;
    use crate::rest::budget::{Decision, Outcome, POOLS, Quotas, RateBudget, Ticket};
    let window = Duration::from_millis(1_000);
    let margin = Duration::from_millis(50);
    let mut budget = RateBudget::new(
        Quotas::vip0()
            .uniform(100)
            .window(window)
            .safety_margin(margin),
    );
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut now = t0;
    let mut s = Script::new(data);
    while let Some(op) = s.op() {
        let pool = POOLS[usize::from(s.byte()) % POOLS.len()];
        match op % 6 {
            0 => now += Duration::from_millis(u64::from(s.byte()) * 4),
            1 => {
                let weight = u32::from(s.byte());
                match budget.check(pool, weight, now) {
                    Decision::SendNow => tickets.push(budget.on_sent(pool, weight, now)),
                    Decision::WaitUntil(at) => assert!(at > now, "a wait that ends now or before"),
                }
            }
            2 | 3 if !tickets.is_empty() => {
                let t = tickets.remove(usize::from(s.byte()) % tickets.len());
                let b = s.bytes(6);
                let n = |i: usize| u64::from(b.get(i).copied().unwrap_or(0)) << (b.len() % 5 * 4);
                let headers = (op % 6 == 2).then(|| RateLimit {
                    limit: n(0) * 256 + n(1),
                    remaining: n(2) * 256 + n(3),
                    reset_ms: n(4) * 256 + n(5),
                });
                let outcome = if s.byte() % 3 == 0 {
                    Outcome::RateLimited
                } else {
                    Outcome::Ok
                };
                budget.on_response(t, headers, outcome, now);
            }
            4 if !tickets.is_empty() => {
                let t = tickets.remove(usize::from(s.byte()) % tickets.len());
                budget.on_failed(t, now);
            }
            _ => {
                let w = u32::from(s.byte());
                let _ = budget.on_sent(pool, w, now).weight();
                // Forgotten ticket: stays in flight for ever (a caller that lost it).
                tickets.push(budget.on_sent(pool, 0, now));
            }
        }
        let far = now + window * 4 + window + margin * 2;
        for p in POOLS {
            let st = budget.snapshot(p, now);
            assert!(st.remaining <= st.limit.max(100), "{p:?}: {st:?}");
            assert!(st.resets_at.is_none_or(|r| r <= far), "{p:?}: {st:?}");
            assert!(
                st.blocked_until.is_none_or(|b| b > now && b <= far),
                "{p:?}: {st:?}"
            );
            if let Decision::WaitUntil(at) = budget.check(p, 1, now) {
                assert!(at > now && at <= far, "{p:?}: waits until {at:?}");
            }
        }
    }
}

fn rate_budget_honest(t0: Instant, data: &[u8]) {
    use crate::rest::RateLimit;
    use crate::rest::budget::{Decision, Outcome, Quotas, RateBudget, Ticket};
    use crate::rest::operation::Pool;
    let mut s = Script::new(data);
    let quota = 20 + u64::from(s.byte()) * 4;
    let window = Duration::from_millis(1_000);
    // One-way latencies stay under the safety margin (the budget's stated assumption), and
    // every message is handled at the instant it arrives (an event-driven simulation), so an
    // answer is never later than its latency says.
    let mut budget = RateBudget::new(
        Quotas::vip0()
            .with(Pool::Spot, quota)
            .window(window)
            .safety_margin(Duration::from_millis(50)),
    );
    let mut gateway = Gateway {
        start: None,
        used: 0,
        quota,
        window,
    };
    // Calls on their way: (arrives at the gateway, ticket, weight, latency back).
    let mut to_gateway: Vec<(Instant, Ticket, u64, Duration)> = Vec::new();
    // Answers on their way: (arrives at the client, ticket, headers).
    let mut to_client: Vec<(Instant, Ticket, RateLimit)> = Vec::new();
    let mut now = t0;
    while let Some(op) = s.op() {
        let target = match op % 3 {
            0 => now + Duration::from_millis(u64::from(s.byte()) * 4),
            1 => {
                let weight = 1 + u32::from(s.byte() % 8);
                let fwd = Duration::from_millis(u64::from(s.byte() % 21));
                let back = Duration::from_millis(u64::from(s.byte() % 21));
                if budget.check(Pool::Spot, weight, now) == Decision::SendNow {
                    let t = budget.on_sent(Pool::Spot, weight, now);
                    to_gateway.push((now + fwd, t, u64::from(weight), back));
                }
                now
            }
            _ => now + Duration::from_millis(1),
        };
        // Every arrival up to `target`, in time order, each at its own instant.
        loop {
            let next_gw = to_gateway.iter().map(|c| c.0).min();
            let next_cl = to_client.iter().map(|c| c.0).min();
            let Some(at) = next_gw
                .into_iter()
                .chain(next_cl)
                .min()
                .filter(|&at| at <= target)
            else {
                break;
            };
            now = now.max(at);
            if next_gw == Some(at) {
                let i = to_gateway.iter().position(|c| c.0 == at).unwrap_or(0);
                let (arrived, t, weight, back) = to_gateway.remove(i);
                let headers = gateway.take(arrived, weight);
                to_client.push((arrived + back, t, headers));
            } else {
                let i = to_client.iter().position(|c| c.0 == at).unwrap_or(0);
                let (_, t, headers) = to_client.remove(i);
                budget.on_response(t, Some(headers), Outcome::Ok, now);
            }
        }
        now = now.max(target);
    }
}

/// KuCoin's gateway for one pool, as the model of `rate_budget_honest`: a window starts at the
/// first call it takes and lasts `window`; a call over the quota would be a 429000.
struct Gateway {
    start: Option<Instant>,
    used: u64,
    quota: u64,
    window: Duration,
}

impl Gateway {
    fn take(&mut self, at: Instant, weight: u64) -> crate::rest::RateLimit {
        if self.start.is_some_and(|st| at >= st + self.window) {
            self.start = None;
            self.used = 0;
        }
        let st = *self.start.get_or_insert(at);
        assert!(
            self.used + weight <= self.quota,
            "the gateway would answer 429000"
        );
        self.used += weight;
        let left = (st + self.window).saturating_duration_since(at);
        crate::rest::RateLimit {
            limit: self.quota,
            remaining: self.quota - self.used,
            reset_ms: u64::try_from(left.as_micros().div_ceil(1_000)).unwrap_or(0),
        }
    }
}

/// A REST answer: the first byte picks the HTTP status, the rest is the body. Parsed as every
/// endpoint's response type; errors must be typed, displayable and classifiable.
pub fn rest_envelope(now: Instant, data: &[u8]) {
    let (first, body) = data.split_first().unwrap_or((&0, &[]));
    let status = STATUSES[usize::from(*first) % STATUSES.len()];
    check_response(&parse_envelope::<serde_json::Value>(status, body));
    check_response(&parse_envelope::<Bullet>(status, body));
    check_response(&parse_envelope::<L2Snapshot>(status, body));
    check_response(&parse_envelope::<Vec<SymbolInfo>>(status, body));
    check_response(&parse_envelope::<UnixMillis>(status, body));
    let code = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    let mut headers = http::HeaderMap::new();
    // Rate-limit headers from the body's first bytes (any text; must never panic).
    if let Ok(v) = http::HeaderValue::from_bytes(body.get(..body.len().min(24)).unwrap_or_default())
    {
        for name in [
            "gw-ratelimit-limit",
            "gw-ratelimit-remaining",
            "gw-ratelimit-reset",
        ] {
            headers.insert(name, v.clone());
        }
    }
    check_response(&parse_response::<ServerTime<Spot>>(code, &headers, body).result);
    check_response(&parse_response::<BulletPublic<Futures>>(code, &headers, body).result);
    check_response(&parse_response::<BulletPrivate<Spot>>(code, &headers, body).result);
    check_response(&parse_response::<SpotFullOrderBook>(code, &headers, body).result);
    check_response(&parse_response::<SpotPartOrderBook>(code, &headers, body).result);
    check_response(&parse_response::<FuturesOrderBook>(code, &headers, body).result);
    check_response(&parse_response::<SpotSymbols>(code, &headers, body).result);
    let mut clock = ServerTimeOffset::zero();
    let _ = clock.observe_response(UnixMillis(1_000), UnixMillis(2_000), status, body);
    let _ = clock.adjust(UnixMillis(u64::MAX));
    // A parsed snapshot is loaded into a book that awaits one: typed error or a sane book.
    if let Ok(snap) = parse_envelope::<L2Snapshot>(status, body) {
        let t0 = now;
        let mut book = BookSync::<Spot>::new(spot_symbol(), BookConfig::default(), t0);
        book.handle_timeout(t0 + Duration::from_secs(3));
        let _ = book.poll_fetch();
        if book.handle_snapshot(t0, &snap).is_ok()
            && let Some(b) = book.book()
        {
            check_ladders(b, usize::MAX);
        }
    }
}

fn check_response<T>(r: &Result<T, ResponseError>) {
    if let Err(e) = r {
        let text = e.to_string();
        assert!(!text.is_empty());
        let _ = e.is_retryable();
        let _ = e.class();
        if let Some(api) = e.api() {
            let _ = api.class();
            let _ = api.code.as_u64();
            assert!(!api.code.as_str().is_empty() || text.contains("code"));
        }
    }
}

// ---------------------------------------------------------------------------------- decimals

/// Decimal text: [`Decimal::parse_bytes`] agrees with an independent reference parser, the
/// canonical text round-trips, and any raw value below 10^37 round-trips through its text.
pub fn decimal_roundtrip(data: &[u8]) {
    let parsed = Decimal::parse_bytes(data);
    let reference = reference_decimal(data);
    match (parsed, reference) {
        (Ok(d), Some(r)) => assert_eq!(d.to_raw(), r, "value of {data:?}"),
        (Ok(d), None) => panic!("accepted {data:?} as {d} but it is not exact decimal text"),
        (Err(e), Some(r)) => panic!("rejected exact text {data:?} (= {r}e-18): {e}"),
        (Err(_), None) => {}
    }
    if let Ok(d) = parsed {
        let text = d.to_string();
        assert_eq!(Decimal::parse(&text), Ok(d), "round trip of {text}");
        assert!(!(text.ends_with('.') || text.contains('.') && text.ends_with('0')));
    }
    let mut raw = [0u8; 16];
    for (slot, b) in raw.iter_mut().zip(data) {
        *slot = *b;
    }
    let v = u128::from_le_bytes(raw) % 10u128.pow(37);
    let d = Decimal::from_raw(v);
    assert_eq!(Decimal::parse(&d.to_string()), Ok(d), "raw {v}");
}

/// `[0-9]{1,19}(\.[0-9]+)?`, at most 48 bytes, no non-zero digit past the 18th fractional one.
fn reference_decimal(b: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(b).ok()?;
    if text.len() > 48 {
        return None;
    }
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(int) || int.len() > 19 {
        return None;
    }
    let mut value: u128 = int.parse::<u128>().ok()? * 10u128.pow(18);
    if let Some(f) = frac {
        if !digits(f) {
            return None;
        }
        for (k, c) in f.bytes().enumerate() {
            let d = u128::from(c - b'0');
            if k < 18 {
                value += d * 10u128.pow(17 - k as u32);
            } else if d != 0 {
                return None;
            }
        }
    }
    Some(value)
}

// ------------------------------------------------------------------------- book decoding

/// A level-2 frame through the fast decoder and the serde decoder of both markets: both give the
/// same [`Update`] or both reject (with the same error).
pub fn book_decode_differential(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for spec in [
        FrameSpec::spot(SPOT_SYMBOL),
        FrameSpec::futures(FUTURES_SYMBOL),
    ] {
        let mut raw = Update::default();
        let fast = spec.decode_frame_fast(text, &mut raw);
        let mut full = Update::default();
        let full_r = spec.decode_frame(text, &mut full);
        let mut slow = Update::default();
        let slow_r = spec.decode_frame_serde(text, &mut slow);
        match (&full_r, &slow_r) {
            (Ok(path), Ok(())) => {
                assert_eq!(*path == DecodePath::Fast, fast, "path for {text:?}");
                assert_eq!(full, slow, "fast and serde decode differ: {text:?}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "different errors for {text:?}"),
            (Ok(_), Err(e)) => panic!("fast decoder accepted what serde rejects ({e}): {text:?}"),
            (Err(e), Ok(())) => panic!("serde accepted what the fast path rejects ({e}): {text:?}"),
        }
        // The data object alone (what a caller with a pre-parsed frame passes).
        #[derive(serde::Deserialize)]
        struct OnlyData<'a> {
            #[serde(borrow)]
            data: &'a serde_json::value::RawValue,
        }
        if full_r.is_ok()
            && let Ok(f) = serde_json::from_str::<OnlyData<'_>>(text)
        {
            let mut d = Update::default();
            assert!(spec.decode_data(f.data.get(), &mut d).is_ok(), "{text:?}");
            assert_eq!(d, full, "decode_data differs from decode_frame: {text:?}");
        }
    }
}

// ------------------------------------------------------------------------------ book apply

fn spot_symbol() -> Symbol<Spot> {
    Symbol::new(SPOT_SYMBOL).expect("valid symbol")
}

fn futures_symbol() -> Symbol<Futures> {
    Symbol::new(FUTURES_SYMBOL).expect("valid symbol")
}

/// Changes to an [`OrderBook`] by hand against a `BTreeMap` per side: prices on steps of several
/// sizes (down to one unit of `1e-18`, up to raw values near `u128::MAX`), walks that move the
/// touch far and fast, steps finer than the rest of the book, deletes of missing levels, trimming
/// to `max_levels`, clearing and snapshot loads. After every change the book lists exactly the
/// model's levels in order, its best levels, lengths, `size_at`, `top_n` and `complete_depth` agree.
///
/// `data`: byte 0 picks `max_levels` (0: unlimited, else 1..=255), then 4-byte operations.
pub fn order_book(data: &[u8]) {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let max_levels = if first == 0 {
        usize::MAX
    } else {
        usize::from(first)
    };
    let mut book = OrderBook::new();
    // Price -> size per side, and per side the worst price trimmed so far (complete depth).
    let mut model: [BTreeMap<Decimal, Decimal>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut trimmed: [Option<Decimal>; 2] = [None, None];
    let mut touch: i64 = 1 << 20;
    let steps: [u128; 8] = [
        1,
        10_000_000_000,
        100_000_000_000_000_000,
        1_000_000_000_000_000_000,
        5 * 100_000_000_000_000_000,
        1_000_000_000_000_000_000_000,
        7,
        1 << 100,
    ];
    for op in ops.chunks_exact(4) {
        let [a, b, c, d] = [op[0], op[1], op[2], op[3]];
        let i = usize::from(a & 1);
        let side = if i == 0 { Side::Bid } else { Side::Ask };
        match a >> 5 {
            // Move the touch: small steps or jumps.
            0 => touch += i64::from(i16::from_le_bytes([b, c])) >> (d % 12),
            // Clear the book.
            1 if b == 0 && c == 0 => {
                book.clear();
                model = [BTreeMap::new(), BTreeMap::new()];
                trimmed = [None, None];
                continue;
            }
            // A snapshot load of the current model plus a few levels around the touch.
            2 if b == 0xff => {
                let mut levels = model.clone();
                for k in 0..u64::from(c % 16) {
                    let t = touch.saturating_add(i64::try_from(k).unwrap_or(0) * 3);
                    let Ok(t) = u128::try_from(t.max(1)) else {
                        continue;
                    };
                    let step = steps[usize::from(d % 4) + 1];
                    let p = Decimal::from_raw(t.saturating_mul(step));
                    levels[usize::from(k % 2 == 0)].insert(p, Decimal::from_int(k + 1));
                }
                book.clear();
                trimmed = [None, None];
                for (side_i, ladder) in [(0usize, &mut book.bids), (1, &mut book.asks)] {
                    for (p, s) in &levels[side_i] {
                        ladder.push_unsorted(*p, *s);
                    }
                    assert!(
                        ladder.finish_load(None, max_levels),
                        "no duplicate in a map"
                    );
                    // The load keeps the best max_levels.
                    let m = &mut levels[side_i];
                    while m.len() > max_levels {
                        let worst = if side_i == 0 {
                            m.pop_first()
                        } else {
                            m.pop_last()
                        };
                        trimmed[side_i] = worst.map(|(p, _)| p);
                    }
                }
                model = levels;
                check_order_book(&book, &model, &trimmed);
                continue;
            }
            _ => {}
        }
        let step = steps[usize::from((a >> 1) & 7)];
        let offset = i64::from(b) - 64;
        let ticks = if i == 0 {
            touch - offset
        } else {
            touch + offset
        };
        let Ok(ticks) = u128::try_from(ticks) else {
            continue;
        };
        let mut raw = ticks.saturating_mul(step);
        if a & 0x10 != 0 {
            // Off the step: a finer price than the rest of the book.
            raw = raw.saturating_add(u128::from(c % 7));
        }
        let price = Decimal::from_raw(raw);
        let size = if d < 64 {
            Decimal::ZERO
        } else {
            Decimal::from_raw(u128::from(d) * u128::from(c | 1))
        };
        book.set(side, price, size, max_levels);
        let m = &mut model[i];
        if size.is_zero() {
            m.remove(&price);
        } else {
            m.insert(price, size);
            if m.len() > max_levels {
                let worst = if i == 0 { m.pop_first() } else { m.pop_last() };
                let worst = worst.map(|(p, _)| p);
                // The book remembers the best worst level dropped: beyond it nothing is known.
                trimmed[i] = match (trimmed[i], worst) {
                    (Some(t), Some(w)) => Some(if i == 0 { t.max(w) } else { t.min(w) }),
                    (t, w) => t.or(w),
                };
            }
        }
        check_order_book(&book, &model, &trimmed);
    }
}

fn check_order_book(
    book: &OrderBook,
    model: &[BTreeMap<Decimal, Decimal>; 2],
    trimmed: &[Option<Decimal>; 2],
) {
    for (i, side) in [(0usize, Side::Bid), (1, Side::Ask)] {
        let want: Vec<(Decimal, Decimal)> = if i == 0 {
            model[i].iter().rev().map(|(p, s)| (*p, *s)).collect()
        } else {
            model[i].iter().map(|(p, s)| (*p, *s)).collect()
        };
        let levels = if i == 0 { book.bids() } else { book.asks() };
        assert_eq!(levels.len(), want.len(), "{side:?} length hint");
        let got: Vec<(Decimal, Decimal)> = levels.map(|l| (l.price, l.size)).collect();
        assert_eq!(got, want, "{side:?} levels");
        assert_eq!(book.len(side), want.len(), "{side:?} len");
        let best = if i == 0 {
            book.best_bid()
        } else {
            book.best_ask()
        };
        assert_eq!(best.map(|l| (l.price, l.size)), want.first().copied());
        let (b, a) = book.top_n(4);
        let top: Vec<(Decimal, Decimal)> = if i == 0 { b } else { a }
            .map(|l| (l.price, l.size))
            .collect();
        assert_eq!(top, want.iter().take(4).copied().collect::<Vec<_>>());
        for (p, s) in want.iter().take(3).chain(want.last()) {
            assert_eq!(book.size_at(side, *p), Some(*s), "{side:?} size at {p}");
        }
        let complete = match trimmed[i] {
            None => want.len(),
            Some(t) => want
                .iter()
                .filter(|(p, _)| if i == 0 { *p > t } else { *p < t })
                .count(),
        };
        assert_eq!(
            book.complete_depth(side),
            complete,
            "{side:?} complete depth"
        );
    }
    if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
        assert_eq!(book.is_crossed(), b.price >= a.price);
    }
}

/// Spot level-2 frames (one per line of `data`) applied to a synced `BTC-USDT` book.
///
/// A line starting with `S` is a snapshot (`data` object of the REST answer), `T` advances time by
/// a second. While the book stays live its sequence never goes back and its content equals a
/// reference model (a `BTreeMap` per side) fed the same decoded changes; the ladders stay sorted
/// without zero sizes and within `max_levels`.
pub fn spot_l2(t0: Instant, data: &[u8]) {
    let first = format!(
        r#"{{"type":"message","topic":"/market/level2:{SPOT_SYMBOL}","subject":"trade.l2update","data":{{"changes":{{"asks":[["101","1","1001"]],"bids":[["99","2","1002"]]}},"sequenceEnd":1002,"sequenceStart":1001,"symbol":"{SPOT_SYMBOL}","time":1}}}}"#
    );
    let snapshot = r#"{"sequence":"1000","bids":[["99","1"],["98","3"],["97.5","0.1"]],"asks":[["101","4"],["102.25","1"]]}"#;
    book_l2::<Spot>(t0, spot_symbol(), &first, snapshot, data);
}

/// Futures level-2 frames applied to a synced `XBTUSDTM` book; see [`spot_l2`].
pub fn futures_l2(t0: Instant, data: &[u8]) {
    let first = format!(
        r#"{{"topic":"/contractMarket/level2:{FUTURES_SYMBOL}","type":"message","subject":"level2","sn":1001,"data":{{"sequence":1001,"change":"101,sell,3","timestamp":1}}}}"#
    );
    let snapshot = r#"{"sequence":1000,"symbol":"XBTUSDTM","bids":[[99,10],[98.5,2]],"asks":[[101,4],[102,1]],"ts":1}"#;
    book_l2::<Futures>(t0, futures_symbol(), &first, snapshot, data);
}

type Model = (BTreeMap<Decimal, Decimal>, BTreeMap<Decimal, Decimal>);

fn model_of(b: &OrderBook) -> Model {
    (
        b.bids().map(|l| (l.price, l.size)).collect(),
        b.asks().map(|l| (l.price, l.size)).collect(),
    )
}

fn check_ladders(b: &OrderBook, max_levels: usize) {
    for (side, levels) in [(Side::Bid, b.bids()), (Side::Ask, b.asks())] {
        assert!(
            levels.len() <= max_levels,
            "{side:?} has more than {max_levels} levels"
        );
        let mut prev: Option<Decimal> = None;
        for l in levels {
            assert!(!l.size.is_zero(), "zero size kept at {}", l.price);
            if let Some(p) = prev {
                let ordered = match side {
                    Side::Bid => l.price < p,
                    _ => l.price > p,
                };
                assert!(ordered, "{side:?} ladder out of order at {}", l.price);
            }
            prev = Some(l.price);
        }
    }
}

fn book_l2<M: BookMarket>(
    t0: Instant,
    symbol: Symbol<M>,
    first: &str,
    snapshot: &str,
    data: &[u8],
) {
    let max_levels = 64;
    let config = BookConfig {
        max_buffered_updates: 16,
        max_levels,
        ..BookConfig::default()
    };
    let spec = M::frame_spec(symbol.as_str());
    let mut now = t0;
    let mut book = BookSync::new(symbol, config, now);
    book.handle_frame(now, first).expect("seed frame");
    let _ = book.poll_fetch();
    let snap: L2Snapshot = serde_json::from_str(snapshot).expect("seed snapshot");
    book.handle_snapshot(now, &snap)
        .expect("seed snapshot applies");
    assert!(book.book().is_some(), "the seed book is live");
    let mut model: Option<Model> = book.book().map(model_of);
    let mut decoded = Update::default();
    for line in data.split(|&b| b == b'\n') {
        let before = book.book().map(OrderBook::sequence);
        match line.first() {
            Some(b'S') => {
                let _ = book.poll_fetch();
                if let Ok(snap) =
                    serde_json::from_slice::<L2Snapshot>(line.get(1..).unwrap_or_default())
                {
                    let _ = book.handle_snapshot(now, &snap);
                }
            }
            Some(b'T') => {
                now += Duration::from_secs(1);
                book.handle_timeout(now);
            }
            _ => {
                let Ok(text) = std::str::from_utf8(line) else {
                    continue;
                };
                let r = book.handle_frame(now, text);
                let d = spec.decode_frame(text, &mut decoded);
                assert_eq!(
                    r.is_ok(),
                    d.is_ok(),
                    "book and decoder disagree on {text:?}"
                );
                if let (Some(m), Some(b), Some(prev), Ok(_)) =
                    (model.as_mut(), book.book(), before, d)
                    && b.sequence() != prev
                {
                    // Applied: every change above the old sequence with a non-zero price.
                    for ch in &decoded.changes {
                        if ch.sequence <= prev || ch.price.is_zero() {
                            continue;
                        }
                        let side = match ch.side {
                            Side::Bid => &mut m.0,
                            _ => &mut m.1,
                        };
                        if ch.size.is_zero() {
                            side.remove(&ch.price);
                        } else {
                            side.insert(ch.price, ch.size);
                        }
                    }
                    assert_eq!(b.sequence(), decoded.end, "sequence after {text:?}");
                }
            }
        }
        let mut synced = false;
        while let Some(e) = book.poll_event() {
            synced |= matches!(e, BookEvent::Synced { .. });
        }
        let _ = book.poll_fetch();
        if let Some(at) = book.poll_timeout() {
            assert!(at >= now, "a book deadline is in the past");
        }
        match book.book() {
            Some(b) => {
                check_ladders(b, max_levels);
                if let (Some(prev), false) = (before, synced) {
                    assert!(b.sequence() >= prev, "live sequence went back");
                }
                let trimmed = b.len(Side::Bid) >= max_levels || b.len(Side::Ask) >= max_levels;
                match (&model, synced || before.is_none() || trimmed) {
                    (Some(m), false) => assert_eq!(&model_of(b), m, "book differs from model"),
                    _ => model = Some(model_of(b)),
                }
            }
            None => model = None,
        }
    }
}

// --------------------------------------------------------------------------- session script

const TOPICS: [&str; 6] = [
    "/market/ticker:BTC-USDT",
    "/market/ticker:ETH-USDT",
    "/market/level2:BTC-USDT",
    "/market/match:BTC-USDT",
    "/market/ticker:all",
    "/account/balance",
];

fn topic_of(arg: u8) -> Topic {
    let i = usize::from(arg) % TOPICS.len();
    let t = Topic::parse(TOPICS[i]).expect("valid topic");
    if i == TOPICS.len() - 1 {
        t.private()
    } else {
        t
    }
}

/// Ids and types of what the session wrote, for answers that refer to them.
#[derive(Default)]
struct Sent {
    ids: Vec<(String, String)>,
}

impl Sent {
    fn note(&mut self, text: &str) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            let id = match &v["id"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let kind = v["type"].as_str().unwrap_or_default().to_owned();
            self.ids.push((id, kind));
            if self.ids.len() > 16 {
                self.ids.remove(0);
            }
        }
    }
    fn pick(&self, arg: u8) -> (String, String) {
        self.ids
            .get(usize::from(arg) % self.ids.len().max(1))
            .cloned()
            .unwrap_or_default()
    }
}

fn disconnected(state: SessionState) -> bool {
    matches!(
        state,
        SessionState::NeedBullet
            | SessionState::Connecting
            | SessionState::Backoff
            | SessionState::Suspended
            | SessionState::Closed
    )
}

/// What a life-cycle call must answer in `before` (the state it was made in).
fn expected_lifecycle(before: SessionState, call: u8) -> Result<(), crate::ws::LifecycleError> {
    use crate::ws::LifecycleError as E;
    let closed = matches!(before, SessionState::Closing | SessionState::Closed);
    let suspended = before == SessionState::Suspended;
    match call {
        // suspend
        0 if closed => Err(E::Closed),
        0 if suspended => Err(E::AlreadySuspended),
        // resume
        1 if closed => Err(E::Closed),
        1 if !suspended => Err(E::NotSuspended),
        // network change
        2 if closed => Err(E::Closed),
        2 if suspended => Err(E::Suspended),
        _ => Ok(()),
    }
}

/// Drives a [`Session`] with a script (one byte picks the input, the next its argument) and
/// checks after every step: no panic; no deadline in the past (and after `handle_timeout(now)`
/// none at or before `now`); no text frame written while disconnected; no token used twice; the
/// wanted topics are exactly those subscribed minus those KuCoin rejected; a closed session
/// wants nothing; life-cycle calls answer the typed error their state calls for; a suspended
/// session has no deadline, asks for no bullet and opens nothing, and a resumed one asks for a
/// fresh bullet. Runs `ws::fuzzing::session_script` on the same bytes first.
pub fn session_script(t0: Instant, data: &[u8]) {
    crate::ws::fuzzing::session_script(t0, data);
    let mut sc = Script::new(data);
    let seed = sc.byte();
    let config = SessionConfig {
        private: seed & 1 == 1,
        max_topics_per_connection: 4,
        max_subjects_per_request: 2,
        ack_retries: 1,
        max_attempts: if seed & 2 == 2 { Some(3) } else { None },
        ..SessionConfig::default()
    }
    .with_seed(u64::from(seed));
    let mut now = t0;
    let mut s = Session::new(config, now);
    let mut wanted: BTreeSet<Topic> = BTreeSet::new();
    let mut sent = Sent::default();
    let mut tokens = BTreeSet::new();
    let mut bullets = 0u32;
    while let Some(op) = sc.op() {
        let arg = sc.byte();
        let mut fired = false;
        let mut resumed = false;
        match op % 14 {
            0 => {
                now += ms(u64::from(arg) * 250);
                s.handle_timeout(now);
                fired = true;
            }
            1 => {
                bullets += 1;
                let body = match arg % 5 {
                    0 => r#"{"code":"401000","msg":"unauthorized"}"#.to_owned(),
                    1 => "<html>bad gateway</html>".to_owned(),
                    2 => format!(
                        r#"{{"code":"200000","data":{{"token":"t{bullets}","expiresIn":{},"instanceServers":[{{"endpoint":"wss://a.example/","pingInterval":1000,"pingTimeout":500}}]}}}}"#,
                        u64::from(arg) * 10
                    ),
                    _ => BULLET.replace("tok-fuzz", &format!("tok-{bullets}")),
                };
                let status = if arg % 5 == 1 { 502 } else { 200 };
                let _ = s.handle_bullet_response(now, status, body.as_bytes());
            }
            2 => s.handle_connected(now),
            3 => {
                let _ = s.handle_frame(now, WELCOME);
            }
            4 => {
                let (id, kind) = sent.pick(arg);
                let frame = match (arg / 16 % 4, kind.as_str()) {
                    (0, _) | (_, "ping") => format!(r#"{{"id":"{id}","type":"pong"}}"#),
                    (1, _) => format!(r#"{{"id":"{id}","type":"ack"}}"#),
                    (2, _) => {
                        let code = [401, 404, 509, 500][usize::from(arg % 4)];
                        format!(r#"{{"id":"{id}","type":"error","code":{code},"data":"no"}}"#)
                    }
                    _ => r#"{"type":"error","code":"500","data":"no id"}"#.to_owned(),
                };
                let _ = s.handle_frame(now, &frame);
            }
            5 => {
                if arg % 2 == 0 {
                    s.handle_connect_failed(now, "refused".into());
                } else {
                    s.handle_bullet_failed(now, "dns".into());
                }
            }
            6 => {
                let cause = if arg % 2 == 0 {
                    DisconnectCause::Transport("reset".into())
                } else {
                    DisconnectCause::ServerClosed {
                        code: Some(1000),
                        reason: String::new(),
                    }
                };
                s.handle_disconnected(now, cause);
            }
            7 => {
                let t = topic_of(arg);
                if s.subscribe(t.clone()).is_ok() {
                    wanted.insert(t);
                }
            }
            8 => {
                let t = topic_of(arg);
                if s.unsubscribe(&t).is_ok() {
                    wanted.remove(&t);
                }
            }
            9 => {
                let raw = sc.bytes(usize::from(arg % 64));
                let _ = s.handle_frame(now, &String::from_utf8_lossy(raw));
            }
            10 => s.close(now),
            12 | 13 => {
                // Suspend / resume (12), network change (13).
                let call = if op % 14 == 13 { 2 } else { arg % 2 };
                let before = s.state();
                let got = match call {
                    0 => s.handle_suspend(now),
                    1 => s.handle_resume(now),
                    _ => s.handle_network_change(now),
                };
                assert_eq!(
                    got,
                    expected_lifecycle(before, call),
                    "life-cycle call {call} in state {before:?}"
                );
                resumed = call == 1 && got.is_ok();
                if call == 2 && got.is_ok() && before != SessionState::NeedBullet {
                    assert_eq!(s.state(), SessionState::NeedBullet, "no reconnect at once");
                    resumed = true;
                }
            }
            _ => {
                // Stale time: harmless.
                s.handle_timeout(t0);
                let _ = s.handle_frame(t0, WELCOME);
            }
        }
        let state = s.state();
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Text(text) = &t {
                assert!(
                    !disconnected(state),
                    "text {text:?} written in state {state:?}"
                );
                sent.note(text);
            }
        }
        let fetch = s.poll_fetch();
        assert!(
            !resumed || fetch.is_some(),
            "no fresh bullet asked for after resume or a network change"
        );
        if let Some(url) = s.poll_connect() {
            let token = url
                .query_pairs()
                .find(|p| p.0 == "token")
                .map(|p| p.1.into_owned())
                .unwrap_or_default();
            assert!(tokens.insert(token), "a token was handed out twice");
        }
        if s.state() == SessionState::Suspended {
            assert_eq!(s.poll_timeout(), None, "a suspended session has a deadline");
            assert!(s.poll_fetch().is_none() && s.poll_connect().is_none());
        }
        while let Some(ev) = s.poll_event() {
            if let SessionEvent::SubscribeFailed {
                topic,
                reason: RequestFailure::Rejected { .. },
            } = ev
            {
                wanted.remove(&topic);
            }
        }
        let have: BTreeSet<Topic> = s.topics().cloned().collect();
        assert_eq!(
            have, wanted,
            "wanted topics changed behind the caller's back"
        );
        if let Some((at, why)) = s.poll_timeout() {
            assert!(at >= now, "{why:?} deadline is in the past");
            assert!(
                !fired || at > now,
                "{why:?} due at or before now after handle_timeout"
            );
        }
        if s.state() == SessionState::Closed {
            assert_eq!(s.poll_timeout(), None, "a closed session has a deadline");
            assert!(s.poll_fetch().is_none() && s.poll_connect().is_none());
        }
    }
}

// ------------------------------------------------------------------------------ feed script

/// Drives a spot [`Feed`] with a `BTC-USDT` book through a script: REST answers (good, refused,
/// failed), connects, welcomes, acks, level-2 frames in and out of sequence, garbage, binary
/// frames, disconnects, books and topics added and removed, close, stale time. After every step:
/// the event queue stays within `max_queued_events`; no deadline is in the past; no text is
/// written while disconnected; a live book's sequence never goes back and its ladders are sane;
/// at most one REST call per purpose and book is outstanding at a time; life-cycle calls answer
/// the typed error their state calls for; while suspended there is no deadline, no request, no
/// connect, no outstanding call and no book shown; availability never exceeds the time counted.
pub fn feed_script(t0: Instant, data: &[u8]) {
    let mut sc = Script::new(data);
    let seed = sc.byte();
    let max_events = 32;
    let max_levels = 32;
    let mut config = FeedConfig::default()
        .with_session(SessionConfig::public().with_seed(u64::from(seed)))
        .with_book(BookConfig {
            max_buffered_updates: 8,
            max_levels,
            ..BookConfig::default()
        });
    config.max_queued_events = max_events;
    let mut now = t0;
    let mut unix = 1_700_000_000_000u64;
    let mut feed = Feed::<Spot>::new(RestClient::new(), config, now).expect("public feed");
    let btc = spot_symbol();
    let eth = Symbol::<Spot>::new("ETH-USDT").expect("valid symbol");
    feed.add_book(btc.clone(), now).expect("first book");
    let mut calls: Vec<(crate::feed::CallId, CallPurpose)> = Vec::new();
    let mut url_out = false;
    let mut sent = Sent::default();
    let mut seq = 1000u64;
    let mut last_seq: BTreeMap<String, u64> = BTreeMap::new();
    let headers = http::HeaderMap::new();
    while let Some(op) = sc.op() {
        let arg = sc.byte();
        let mut fired = false;
        match op % 18 {
            0 => {
                now += ms(u64::from(arg) * 100);
                unix += u64::from(arg) * 100;
                feed.handle_timeout(now);
                fired = true;
            }
            1 | 2 => {
                if !calls.is_empty() {
                    let (id, purpose) = calls.remove(usize::from(arg) % calls.len());
                    let body = match (&purpose, op % 18) {
                        (CallPurpose::Bullet { .. }, 1) => BULLET.to_owned(),
                        (CallPurpose::Snapshot { .. }, 1) => {
                            let at = seq.saturating_sub(u64::from(arg % 4));
                            format!(
                                r#"{{"code":"200000","data":{{"sequence":"{at}","bids":[["99","1"],["98","2"]],"asks":[["101","1"]]}}}}"#
                            )
                        }
                        (CallPurpose::ServerTime, 1) => {
                            format!(r#"{{"code":"200000","data":{}}}"#, unix + 500)
                        }
                        (_, _) => match arg % 4 {
                            0 => r#"{"code":"400002","msg":"timestamp"}"#.to_owned(),
                            1 => r#"{"code":"429000","msg":"too many"}"#.to_owned(),
                            2 => r#"{"code":"200000","data":{"sequence":"1","bids":[["1","1"],["1","2"]],"asks":[]}}"#.to_owned(),
                            _ => "garbage".to_owned(),
                        },
                    };
                    let status = if body.starts_with("{\"code\":\"429") {
                        429
                    } else {
                        200
                    };
                    feed.handle_response(
                        now,
                        UnixMillis(unix),
                        id,
                        status,
                        &headers,
                        body.as_bytes(),
                    );
                } else {
                    // An answer for a call that was never made: ignored.
                    feed.handle_response(
                        now,
                        UnixMillis(unix),
                        crate::feed::CallId(u64::from(arg) + 10_000),
                        200,
                        &headers,
                        BULLET.as_bytes(),
                    );
                }
            }
            3 => {
                if !calls.is_empty() {
                    let (id, _) = calls.remove(usize::from(arg) % calls.len());
                    feed.handle_request_failed(now, id, "timeout".into());
                }
            }
            4 => {
                if url_out || arg % 4 == 0 {
                    url_out = false;
                    if arg % 8 == 1 {
                        feed.handle_connect_failed(now, "refused".into());
                    } else {
                        feed.handle_connected(now);
                        feed.handle_frame(now, WELCOME);
                    }
                }
            }
            5 | 6 => {
                // In sequence (5), or with a gap / going back (6).
                let (start, end) = if op % 18 == 5 {
                    (seq + 1, seq + 1 + u64::from(arg % 3))
                } else {
                    let s = if arg % 2 == 0 {
                        seq + 2 + u64::from(arg % 7)
                    } else {
                        seq.saturating_sub(u64::from(arg % 5))
                    };
                    (s, s + u64::from(arg % 2))
                };
                seq = seq.max(end);
                let price = 95 + u64::from(arg % 12);
                let size = if arg % 5 == 0 {
                    0
                } else {
                    u64::from(arg % 7) + 1
                };
                let side = if price > 100 { "asks" } else { "bids" };
                let other = if side == "asks" { "bids" } else { "asks" };
                let symbol = if arg % 11 == 0 {
                    "ETH-USDT"
                } else {
                    SPOT_SYMBOL
                };
                let frame = format!(
                    r#"{{"type":"message","topic":"/market/level2:{symbol}","subject":"trade.l2update","data":{{"changes":{{"{side}":[["{price}","{size}","{end}"]],"{other}":[]}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"{symbol}","time":1}}}}"#
                );
                feed.handle_frame(now, &frame);
            }
            7 => {
                let (id, kind) = sent.pick(arg);
                let frame = match (arg % 4, kind.as_str()) {
                    (_, "ping") => format!(r#"{{"id":"{id}","type":"pong"}}"#),
                    (0 | 1, _) => format!(r#"{{"id":"{id}","type":"ack"}}"#),
                    (2, _) => format!(r#"{{"id":"{id}","type":"error","code":404,"data":"no"}}"#),
                    _ => r#"{"type":"error","code":401,"data":"token"}"#.to_owned(),
                };
                feed.handle_frame(now, &frame);
            }
            8 => {
                let raw = sc.bytes(usize::from(arg % 96));
                feed.handle_frame(now, &String::from_utf8_lossy(raw));
            }
            9 => feed.handle_disconnected(now, DisconnectCause::Transport("reset".into())),
            10 => feed.handle_binary(now, usize::from(arg)),
            11 => {
                let _ = match arg % 4 {
                    0 => feed.add_book(eth.clone(), now),
                    1 => feed.remove_book(&eth, now),
                    2 => feed.subscribe(topic_of(arg / 4 % 4), now),
                    _ => feed.unsubscribe(&topic_of(arg / 4 % 4), now),
                };
            }
            12 => {
                let _ = match arg % 2 {
                    0 => feed.add_book(btc.clone(), now),
                    _ => feed.remove_book(&btc, now),
                };
            }
            13 => {
                // A sequence-only message (price 0) and a ticker message.
                let frame = format!(
                    r#"{{"type":"message","topic":"/market/level2:{SPOT_SYMBOL}","subject":"trade.l2update","data":{{"changes":{{"asks":[["0","0","{n}"]],"bids":[]}},"sequenceEnd":{n},"sequenceStart":{n},"symbol":"{SPOT_SYMBOL}","time":1}}}}"#,
                    n = seq + 1
                );
                seq += 1;
                feed.handle_frame(now, &frame);
                feed.handle_frame(now, r#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"price":"1"}}"#);
            }
            14 => feed.close(now),
            16 | 17 => {
                // Suspend / resume (16), network change (17).
                let call = if op % 18 == 17 { 2 } else { arg % 2 };
                let before = feed.session().state();
                let got = match call {
                    0 => feed.handle_suspend(now),
                    1 => feed.handle_resume(now),
                    _ => feed.handle_network_change(now),
                };
                assert_eq!(
                    got,
                    expected_lifecycle(before, call),
                    "life-cycle call {call} in state {before:?}"
                );
                if got.is_ok() && call == 0 {
                    // Answers in flight will be ignored; the script forgets them too.
                    calls.clear();
                }
            }
            _ => {
                feed.handle_timeout(t0);
                feed.handle_frame(t0, WELCOME);
            }
        }
        // Drain in the documented order.
        let mut events = 0usize;
        while let Some(ev) = feed.poll_event() {
            events += 1;
            if let FeedEvent::Book {
                symbol,
                event: BookEvent::Synced { .. } | BookEvent::ResyncStarted { .. },
            } = &ev
            {
                last_seq.remove(symbol.as_str());
            }
        }
        assert!(
            events <= max_events,
            "{events} events queued, limit {max_events}"
        );
        while let Some(call) = feed.poll_request(now, UnixMillis(unix)) {
            // A re-asked call supersedes the outstanding one (whose answer is then ignored).
            calls.retain(|(_, p)| *p != call.purpose);
            calls.push((call.id, call.purpose));
        }
        let books = feed.books().count();
        assert!(
            feed.outstanding_calls() <= books + 2,
            "{} REST calls outstanding for {books} books (the script holds {calls:?})",
            feed.outstanding_calls()
        );
        if let Some(_url) = feed.poll_connect() {
            url_out = true;
        }
        let state = feed.session().state();
        while let Some(t) = feed.poll_transmit() {
            if let Transmit::Text(text) = &t {
                assert!(
                    !disconnected(state),
                    "text {text:?} written in state {state:?}"
                );
                sent.note(text);
            }
        }
        if let Some(at) = feed.poll_timeout() {
            assert!(at >= now, "a feed deadline is in the past");
            assert!(
                !fired || at > now,
                "due at or before now after handle_timeout"
            );
        }
        if feed.session().state() == SessionState::Suspended {
            assert_eq!(feed.poll_timeout(), None, "a suspended feed has a deadline");
            assert!(feed.poll_request(now, UnixMillis(unix)).is_none());
            assert!(feed.poll_connect().is_none());
            assert_eq!(
                feed.outstanding_calls(),
                0,
                "calls outstanding while suspended"
            );
            assert!(
                feed.books().all(|b| b.book().is_none()),
                "a book shown while suspended"
            );
        }
        for b in feed.books() {
            let a = b.availability(now);
            assert!(a.available_ms <= a.total_ms && a.max_unavailable_ms <= a.total_ms);
            let key = b.symbol().as_str().to_owned();
            match b.book() {
                Some(book) => {
                    check_ladders(book, max_levels);
                    if let Some(prev) = last_seq.get(&key) {
                        assert!(book.sequence() >= *prev, "{key}: live sequence went back");
                    }
                    last_seq.insert(key, book.sequence());
                }
                None => {
                    last_seq.remove(&key);
                }
            }
        }
    }
}

/// Typed channel decoder: byte 0 picks a channel (mod 38) and a subject; the rest is decoded as
/// that channel's `data`, and also as a whole frame (routed by its topic). Nothing panics; a
/// decoded message serialises to JSON that decodes to the same message, and serialises the same
/// way again; the fast path of the busiest channels agrees with serde whenever it answers; a
/// decoded frame's kind is its route's.
pub fn ws_channel(data: &[u8]) {
    use crate::ws::channels::{self, ChannelKind};
    const SUBJECTS: [&str; 5] = [
        "position.change",
        "position.settlement",
        "position.adjustRiskLimit",
        "BTC-USDT",
        "",
    ];
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kinds = ChannelKind::ALL;
    let kind = kinds[usize::from(sel) % kinds.len()];
    let subject = SUBJECTS[usize::from(sel) / kinds.len() % SUBJECTS.len()];
    let round_trip = |kind: ChannelKind, subject: &str, message: &channels::ChannelMessage<'_>| {
        let json = serde_json::to_string(message).unwrap();
        let again = channels::decode_as(kind, subject, &json)
            .unwrap_or_else(|e| panic!("{kind}: {e}: re-decoding {json}"));
        assert_eq!(&again.message, message, "{kind}: {json}");
        assert_eq!(serde_json::to_string(&again.message).unwrap(), json);
    };
    if let Ok(decoded) = channels::decode_as(kind, subject, text) {
        assert_eq!(decoded.kind, kind);
        round_trip(kind, subject, &decoded.message);
    }
    // The fast path of the busiest channels answers only what serde answers the same way.
    if let (Some(fast), Some(serde)) = (
        channels::fast_decode(kind, text),
        channels::serde_decode(kind, text),
    ) {
        assert_eq!(
            Ok(&fast),
            serde.as_ref(),
            "{kind}: fast path vs serde on {text:?}"
        );
    }
    if let Ok(Some(message)) = channels::parse_message(text) {
        let subject = message.subject().unwrap_or_default();
        let routed = channels::route(message.topic(), subject);
        match channels::decode_message(&message) {
            Ok(decoded) => {
                assert_eq!(routed.map(|r| r.kind), Some(decoded.kind));
                round_trip(decoded.kind, subject, &decoded.message);
            }
            Err(channels::ChannelError::UnknownTopic { .. }) => assert!(routed.is_none()),
            Err(_) => {}
        }
    }
}

// ------------------------------------------------------------------------------ pool script

/// Drives a [`ChannelRouter`](crate::feed_pool::ChannelRouter) through a script: ticker and
/// private-orders subscriptions made and ended, book topics added and removed, messages (any
/// topic, any bytes) routed. After every step, against a model of what is in use: no connection
/// holds more than `topics_per_connection` topics; every topic in use is placed, on a connection
/// of its own privacy, and the counts add up; a freed topic is placed nowhere. Every routed
/// message goes to live subscriptions whose channel and symbols accept it, and is `Unrouted`
/// exactly when none does.
pub fn pool_script(_t0: Instant, data: &[u8]) {
    use crate::feed::OwnedMessage;
    use crate::feed_pool::{ChannelRouter, ConnId, PoolEvent, SubscriptionId};
    use crate::market::SpotSymbol;
    use crate::ws::channels::{ChannelSpec, SpotOrdersV2Channel, SpotTickerChannel};

    let mut sc = Script::new(data);
    let per_conn = 1 + usize::from(sc.byte() % 5);
    let mut router = ChannelRouter::new(per_conn);
    // Subscription -> (its topics, an `accepts` check of the same channel value).
    type Accepts = Box<dyn Fn(&str, &str) -> bool>;
    let mut subs: BTreeMap<SubscriptionId, (Vec<Topic>, Accepts)> = BTreeMap::new();
    let mut books: BTreeSet<String> = BTreeSet::new();
    let symbol = |b: u8| format!("S{}-USDT", b % 12);
    while let Some(op) = sc.op() {
        match op % 6 {
            0 => {
                let n = 1 + usize::from(sc.byte() % 6);
                let symbols: Vec<SpotSymbol> = sc
                    .bytes(n)
                    .iter()
                    .map(|b| SpotSymbol::new(symbol(*b)).unwrap())
                    .collect();
                let channel = SpotTickerChannel { symbols };
                let (sub, _) = router.subscribe(channel.clone()).unwrap();
                let topics = channel.topics().unwrap();
                subs.insert(
                    sub.id(),
                    (topics, Box::new(move |t, s| channel.accepts(t, s))),
                );
            }
            1 => {
                let (sub, _) = router.subscribe(SpotOrdersV2Channel).unwrap();
                subs.insert(
                    sub.id(),
                    (
                        SpotOrdersV2Channel.topics().unwrap(),
                        Box::new(|t, s| SpotOrdersV2Channel.accepts(t, s)),
                    ),
                );
            }
            2 => {
                let pick = usize::from(sc.byte());
                let id = subs
                    .keys()
                    .nth(pick % subs.len().max(1))
                    .copied()
                    .unwrap_or(SubscriptionId(u64::from(sc.byte())));
                let freed = router.unsubscribe(id);
                subs.remove(&id);
                for on in freed {
                    assert_eq!(
                        router.placement().connection_of(&on.topic.to_string()),
                        None
                    );
                }
            }
            3 => {
                let topic = Topic::parse(&format!("/market/level2:{}", symbol(sc.byte()))).unwrap();
                let fresh = books.insert(topic.to_string());
                let placed = router.add_topic(&topic);
                if fresh {
                    assert!(placed.is_some(), "a new book topic is placed");
                } else {
                    // Added twice: the second use is released again.
                    assert!(placed.is_none());
                    assert!(router.remove_topic(topic).is_none());
                }
            }
            4 => {
                let topic = Topic::parse(&format!("/market/level2:{}", symbol(sc.byte()))).unwrap();
                let was = books.remove(&topic.to_string());
                assert_eq!(router.remove_topic(topic).is_some(), was);
            }
            _ => {
                let topic = match sc.byte() % 4 {
                    0 => "/spotMarket/tradeOrdersV2".to_owned(),
                    1 => format!("/market/level2:{}", symbol(sc.byte())),
                    2 => String::from_utf8_lossy(sc.bytes(8)).into_owned(),
                    _ => format!("/market/ticker:{}", symbol(sc.byte())),
                };
                let subject = ["trade.ticker", "orderChange", ""][usize::from(sc.byte() % 3)];
                let n = usize::from(sc.byte() % 64);
                let raw = OwnedMessage {
                    topic,
                    subject: Some(subject.to_owned()),
                    data: String::from_utf8_lossy(sc.bytes(n)).into_owned(),
                };
                let accepting: BTreeSet<SubscriptionId> = subs
                    .iter()
                    .filter(|(_, (_, accepts))| accepts(&raw.topic, subject))
                    .map(|(id, _)| *id)
                    .collect();
                let mut out = Vec::new();
                router.route(ConnId(0), FeedEvent::<Spot>::Message(raw), &mut out);
                let mut got = BTreeSet::new();
                for event in out {
                    match event {
                        PoolEvent::Channel(e) => assert!(got.insert(e.subscription)),
                        PoolEvent::ChannelError { subscription, .. } => {
                            assert!(got.insert(subscription));
                        }
                        PoolEvent::Unrouted { .. } => assert!(accepting.is_empty()),
                        other => panic!("a message routed as {other:?}"),
                    }
                }
                assert_eq!(got, accepting, "routed to the wrong subscriptions");
            }
        }
        // The placement matches the model.
        let mut in_use: BTreeMap<String, bool> = books.iter().map(|b| (b.clone(), false)).collect();
        for (topics, _) in subs.values() {
            for t in topics {
                in_use.insert(t.to_string(), t.is_private());
            }
        }
        let placement = router.placement();
        for (topic, private) in &in_use {
            let conn = placement
                .connection_of(topic)
                .unwrap_or_else(|| panic!("{topic} in use but not placed"));
            assert_eq!(placement.is_private(conn), *private, "{topic} on {conn}");
        }
        let mut total = 0;
        for i in 0..placement.len() {
            let n = placement.topic_count(ConnId(i));
            assert!(n <= per_conn, "{n} topics on connection {i}");
            total += n;
        }
        assert_eq!(
            total,
            in_use.len(),
            "placed topics and topics in use differ"
        );
    }
}

/// Replays every committed seed (`fuzz/seeds/<target>/*`, crash inputs included) through the same
/// entry points as the fuzz targets, on the stable toolchain: `cargo test` runs them in CI.
#[cfg(test)]
mod fuzz_seeds {
    use std::path::PathBuf;

    use super::*;

    type Target = (&'static str, fn(Instant, &[u8]));

    /// Every fuzz target, by its directory name under `fuzz/seeds`.
    const TARGETS: [Target; 13] = [
        ("ws_frame", ws_frame),
        ("rest_envelope", rest_envelope),
        ("rest_answer", rest_answer),
        ("spot_l2", spot_l2),
        ("futures_l2", futures_l2),
        ("book_decode", |_, d| book_decode_differential(d)),
        ("decimal", |_, d| decimal_roundtrip(d)),
        ("session_script", session_script),
        ("feed_script", feed_script),
        ("ws_channel", |_, d| ws_channel(d)),
        ("pool_script", pool_script),
        ("rate_budget", rate_budget),
        ("order_book", |_, d| order_book(d)),
    ];

    fn seeds_dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds"))
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // an anchor for virtual time in a test
    fn every_committed_seed_replays_without_a_broken_invariant() {
        let t0 = Instant::now();
        let mut total = 0;
        for (name, run) in TARGETS {
            let dir = seeds_dir().join(name);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no seeds for {name}");
            for f in &files {
                let data = std::fs::read(f).unwrap();
                run(t0, &data);
            }
            total += files.len();
        }
        assert!(total >= 40, "only {total} seeds");
    }

    #[test]
    fn every_seed_directory_has_a_target_here_and_in_fuzz() {
        let targets: BTreeSet<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
        for entry in std::fs::read_dir(seeds_dir()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                targets.contains(name.as_str()),
                "seeds for unknown target {name}"
            );
        }
        let manifest = std::fs::read_to_string(seeds_dir().join("../Cargo.toml")).unwrap();
        for name in targets {
            assert!(
                manifest.contains(&format!("name = \"{name}\"")),
                "fuzz/Cargo.toml has no target {name}"
            );
        }
    }
}
