//! The feed's own REST calls (bullets, snapshots) keep under KuCoin's rate limits, on virtual
//! time: many books asking for snapshots at once wait for room in their pool instead of drawing
//! `429000`, and the wait is a deadline of the feed.

use std::time::{Duration, Instant};

use kucoin_proto::feed::{CallPurpose, Feed, FeedConfig, RestCall};
use kucoin_proto::rest::budget::Quotas;
use kucoin_proto::rest::operation::Pool;
use kucoin_proto::rest::{BulletPublic, Endpoint, PartDepth, RestClient, SpotPartOrderBook};
use kucoin_proto::ws::Transmit;
use kucoin_proto::{Spot, SpotSymbol, UnixMillis};

const BULLET: &str = r#"{"code":"200000","data":{"token":"tok-1","instanceServers":[{"endpoint":"wss://ws.example/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
const SNAPSHOT: &str = r#"{"code":"200000","data":{"time":1,"sequence":"10","bids":[["100","1"]],"asks":[["101","1"]]}}"#;
const BOOKS: usize = 12;
const WINDOW: Duration = Duration::from_secs(1);

/// The origin of virtual time (the only clock read).
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn snapshot_weight() -> u64 {
    let cost = SpotPartOrderBook::new(SpotSymbol::new("S00-USDT").unwrap(), PartDepth::Hundred)
        .rate_cost();
    assert_eq!(cost.pool, Pool::Public);
    u64::from(cost.weight)
}

fn bullet_weight() -> u64 {
    let cost = BulletPublic::<Spot>::default().rate_cost();
    assert_eq!(cost.pool, Pool::Public);
    u64::from(cost.weight)
}

struct Rig {
    feed: Feed<Spot>,
    now: Instant,
    unix: u64,
}

impl Rig {
    fn new(quota: u64) -> Rig {
        Rig::with_window(quota, WINDOW)
    }

    fn with_window(quota: u64, window: Duration) -> Rig {
        let now = t0();
        let config = FeedConfig::default().with_rate_limits(
            Quotas::vip0()
                .with(Pool::Public, quota)
                .window(window)
                .safety_margin(Duration::from_millis(50)),
        );
        let rest = RestClient::new()
            .with_base_url("http://127.0.0.1:1")
            .unwrap();
        let mut feed = Feed::new(rest, config, now).unwrap();
        for i in 0..BOOKS {
            feed.add_book(SpotSymbol::new(format!("S{i:02}-USDT")).unwrap(), now)
                .unwrap();
        }
        Rig {
            feed,
            now,
            unix: 1_700_000_000_000,
        }
    }

    fn requests(&mut self) -> Vec<RestCall> {
        std::iter::from_fn(|| self.feed.poll_request(self.now, UnixMillis(self.unix))).collect()
    }

    fn advance_to(&mut self, at: Instant) {
        let d = at - self.now;
        self.now = at;
        self.unix += u64::try_from(d.as_millis()).unwrap();
        self.feed.handle_timeout(self.now);
    }

    /// Bullet, connect, welcome, and every subscription acknowledged.
    fn connect(&mut self) {
        let bullet = self.requests();
        assert_eq!(bullet.len(), 1);
        assert_eq!(bullet[0].purpose, CallPurpose::Bullet { private: false });
        self.feed.handle_response(
            self.now,
            UnixMillis(self.unix),
            bullet[0].id,
            200,
            &http::HeaderMap::new(),
            BULLET.as_bytes(),
        );
        let url = self.feed.poll_connect().expect("a URL");
        let connect_id = url
            .query_pairs()
            .find(|(k, _)| k == "connectId")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        self.feed.handle_connected(self.now);
        self.feed.handle_frame(
            self.now,
            &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#),
        );
        let subscribes: Vec<String> = std::iter::from_fn(|| self.feed.poll_transmit())
            .filter_map(|t| match t {
                Transmit::Text(s) if s.contains(r#""type":"subscribe""#) => Some(s),
                _ => None,
            })
            .collect();
        assert!(!subscribes.is_empty());
        for sub in subscribes {
            let v: serde_json::Value = serde_json::from_str(&sub).unwrap();
            let id = v["id"].as_str().map_or(v["id"].to_string(), str::to_owned);
            self.feed
                .handle_frame(self.now, &format!(r#"{{"id":"{id}","type":"ack"}}"#));
        }
    }
}

#[test]
fn snapshots_of_many_books_wait_for_room_in_their_pool_instead_of_drawing_429000() {
    let (snap, bullet) = (snapshot_weight(), bullet_weight());
    // Room for the bullet and four snapshots a window.
    let quota = bullet + 4 * snap;
    let mut rig = Rig::new(quota);
    let start = rig.now;
    rig.connect();
    let mut asked: Vec<(Instant, String)> = Vec::new();
    let mut wakes = 0;
    while asked.len() < BOOKS {
        let calls = rig.requests();
        let used_now = calls.len() as u64 * snap;
        let left = if asked.is_empty() {
            quota - bullet
        } else {
            quota
        };
        assert!(
            used_now <= left,
            "{used_now} asked into a window with {left} left"
        );
        for call in &calls {
            let CallPurpose::Snapshot { symbol } = &call.purpose else {
                panic!("only snapshots now: {:?}", call.purpose);
            };
            asked.push((rig.now, symbol.clone()));
            // KuCoin answers at once (no rate-limit headers: the budget counts locally).
            rig.feed.handle_response(
                rig.now,
                UnixMillis(rig.unix),
                call.id,
                200,
                &http::HeaderMap::new(),
                SNAPSHOT.as_bytes(),
            );
        }
        if asked.len() == BOOKS {
            break;
        }
        // The rest wait, and the wait is a deadline of the feed, in the future.
        let at = rig
            .feed
            .poll_timeout()
            .expect("a deadline for the waiting calls");
        assert!(at > rig.now, "a deadline in the past");
        assert!(
            at <= rig.now + WINDOW + Duration::from_millis(60),
            "waits {:?}",
            at - rig.now
        );
        assert!(
            rig.requests().is_empty(),
            "nothing more before the deadline"
        );
        rig.advance_to(at);
        wakes += 1;
        assert!(wakes < 20, "the snapshots never all went out");
    }
    // Every book's snapshot asked for once.
    let mut symbols: Vec<&str> = asked.iter().map(|(_, s)| s.as_str()).collect();
    symbols.sort_unstable();
    symbols.dedup();
    assert_eq!(symbols.len(), BOOKS);
    // KuCoin's windows (starting at the bullet, the first call): never over the quota.
    let mut window_start = start;
    let mut used = bullet;
    let mut windows = 1;
    for (at, _) in &asked {
        if *at >= window_start + WINDOW {
            window_start = *at;
            used = 0;
            windows += 1;
        }
        used += snap;
        assert!(used <= quota, "{used} used in a window of {quota}");
    }
    assert!(windows >= 2, "twelve snapshots do not fit in one window");
    assert!(rig.feed.stats().rate_waits >= 1);
    assert!(asked.last().unwrap().0 - start >= WINDOW);
}

#[test]
fn a_generous_quota_sends_every_snapshot_at_once() {
    let mut rig = Rig::new(2_000);
    rig.connect();
    assert_eq!(rig.requests().len(), BOOKS);
    assert_eq!(rig.feed.stats().rate_waits, 0);
}

#[test]
fn a_429000_stops_the_feeds_calls_until_the_pool_resets() {
    let mut rig = Rig::new(2_000);
    rig.connect();
    let calls = rig.requests();
    assert_eq!(calls.len(), BOOKS);
    // KuCoin refuses the first snapshot: the pool is spent for 800 ms more.
    let mut headers = http::HeaderMap::new();
    headers.insert("gw-ratelimit-limit", "2000".parse().unwrap());
    headers.insert("gw-ratelimit-remaining", "0".parse().unwrap());
    headers.insert("gw-ratelimit-reset", "800".parse().unwrap());
    rig.feed.handle_response(
        rig.now,
        UnixMillis(rig.unix),
        calls[0].id,
        429,
        &headers,
        br#"{"code":"429000","msg":"Too Many Requests"}"#,
    );
    // The refused book asks again (after its retry delay), but not before the reset.
    let reset = rig.now + Duration::from_millis(800);
    let mut retried = None;
    for _ in 0..50 {
        let Some(at) = rig.feed.poll_timeout() else {
            break;
        };
        assert!(at > rig.now);
        rig.advance_to(at);
        let calls = rig.requests();
        if !calls.is_empty() {
            retried = Some(rig.now);
            break;
        }
    }
    let retried = retried.expect("the snapshot is asked again");
    assert!(
        retried >= reset,
        "asked {:?} before the reset",
        reset - retried
    );
}

#[test]
fn a_book_that_asks_again_while_its_snapshot_waits_for_room_is_asked_for_once() {
    // A 15 s window with room for the bullet and a few snapshots: the waiting snapshots wait
    // longer than a book's snapshot timeout (10 s), and those books ask again meanwhile.
    let window = Duration::from_secs(15);
    let mut rig = Rig::with_window(bullet_weight() + 3 * snapshot_weight(), window);
    let start = rig.now;
    rig.connect();
    let mut asked: Vec<(Instant, String)> = Vec::new();
    while rig.now < start + 3 * window + Duration::from_secs(1) {
        for call in rig.requests() {
            let CallPurpose::Snapshot { symbol } = &call.purpose else {
                panic!("only snapshots now: {:?}", call.purpose);
            };
            asked.push((rig.now, symbol.clone()));
            rig.feed.handle_response(
                rig.now,
                UnixMillis(rig.unix),
                call.id,
                200,
                &http::HeaderMap::new(),
                SNAPSHOT.as_bytes(),
            );
        }
        // KuCoin answers every ping.
        let pings: Vec<String> = std::iter::from_fn(|| rig.feed.poll_transmit())
            .filter_map(|t| match t {
                Transmit::Text(s) if s.contains(r#""type":"ping""#) => Some(s),
                _ => None,
            })
            .collect();
        for ping in pings {
            let v: serde_json::Value = serde_json::from_str(&ping).unwrap();
            let id = v["id"].as_str().map_or(v["id"].to_string(), str::to_owned);
            rig.feed
                .handle_frame(rig.now, &format!(r#"{{"id":"{id}","type":"pong"}}"#));
        }
        let at = rig.feed.poll_timeout().expect("a deadline");
        assert!(at > rig.now, "a deadline in the past");
        rig.advance_to(at);
    }
    // Every book once: a book that asked again while waiting was not queued twice.
    let mut symbols: Vec<&str> = asked.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(symbols.len(), BOOKS, "{asked:?}");
    symbols.sort_unstable();
    symbols.dedup();
    assert_eq!(symbols.len(), BOOKS, "a book asked for twice: {asked:?}");
}
