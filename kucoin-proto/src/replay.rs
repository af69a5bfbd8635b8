//! Offline replay of recorded level-2 frames through [`Feed`], the code path the adapters use.
//!
//! [`Replay`] plays KuCoin's side of the handshake (bullet, welcome, subscription ack), answers
//! the book's snapshot request with a recorded snapshot, and then hands every recorded frame to
//! [`Feed::handle_frame`], exactly as an adapter hands it frames read from the socket. Used by
//! the `replay` example, the benchmarks and the allocation tests.

use std::time::Instant;

use crate::auth::{Credentials, Signer};
use crate::book::{BookConfig, OrderBook, SpotSnapshotSource};
use crate::feed::{CallPurpose, Feed, FeedConfig, FeedError, FeedEvent, FeedMarket, FeedStats};
use crate::market::Symbol;
use crate::rest::RestClient;
use crate::time::UnixMillis;
use crate::ws::{SessionConfig, Transmit};

const BULLET: &[u8] = br#"{"code":"200000","data":{"token":"replay","instanceServers":[{"endpoint":"wss://replay.invalid/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;

/// Why a replay could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The feed refused the configuration or the book.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// The scripted handshake did not go as KuCoin's would (a bug, or a changed protocol).
    #[error("replay handshake failed: {0}")]
    Handshake(&'static str),
}

/// A [`Feed`] with one book, live on a scripted connection, fed from recorded frames.
#[derive(Debug)]
pub struct Replay<M: FeedMarket> {
    feed: Feed<M>,
    symbol: Symbol<M>,
    now: Instant,
    snapshot: Vec<u8>,
    snapshots_served: u64,
}

impl<M: FeedMarket> Replay<M> {
    /// A live feed for `symbol` whose snapshot requests are answered with `snapshot_body` (a
    /// whole REST answer, `{"code":"200000","data":{…}}`). `now` is the (frozen) time.
    pub fn new(
        symbol: Symbol<M>,
        snapshot_body: Vec<u8>,
        now: Instant,
    ) -> Result<Self, ReplayError> {
        Self::with_config(symbol, snapshot_body, FeedConfig::default(), now)
    }

    /// [`Replay::new`] with the feed's configuration (its session and book settings are
    /// replaced by the replay's own: a public session, books from the full snapshot).
    pub fn with_config(
        symbol: Symbol<M>,
        snapshot_body: Vec<u8>,
        config: FeedConfig,
        now: Instant,
    ) -> Result<Self, ReplayError> {
        let signer = Signer::new(Credentials::new("replay", "replay", "replay"))
            .map_err(|_| ReplayError::Handshake("could not build the replay signer"))?;
        let rest = RestClient::<M>::new().with_signer(signer);
        let book = BookConfig {
            spot_snapshot: SpotSnapshotSource::Full,
            ..BookConfig::default()
        };
        let config = config.with_session(SessionConfig::public()).with_book(book);
        let mut feed = Feed::new(rest, config, now)?;
        feed.add_book(symbol.clone(), now)?;
        let call = feed
            .poll_request(now, UnixMillis(0))
            .ok_or(ReplayError::Handshake("no bullet request"))?;
        feed.handle_response(
            now,
            UnixMillis(0),
            call.id,
            200,
            &http::HeaderMap::new(),
            BULLET,
        );
        let url = feed
            .poll_connect()
            .ok_or(ReplayError::Handshake("no URL to connect to"))?;
        feed.handle_connected(now);
        let connect_id = url
            .query_pairs()
            .find(|(k, _)| k == "connectId")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        feed.handle_frame(now, &format!(r#"{{"id":"{connect_id}","type":"welcome"}}"#));
        while let Some(t) = feed.poll_transmit() {
            if let Transmit::Text(text) = t {
                let id: Option<String> = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| match &v["id"] {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    });
                if let Some(id) = id {
                    feed.handle_frame(now, &format!(r#"{{"id":"{id}","type":"ack"}}"#));
                }
            }
        }
        while feed.poll_event().is_some() {}
        Ok(Self {
            feed,
            symbol,
            now,
            snapshot: snapshot_body,
            snapshots_served: 0,
        })
    }

    /// Hands one recorded frame to the feed, answers any snapshot request with the recorded
    /// snapshot, and drains the events (the feed's counters keep gaps and resyncs).
    pub fn frame(&mut self, text: &str) {
        self.feed.handle_frame(self.now, text);
        while let Some(call) = self.feed.poll_request(self.now, UnixMillis(0)) {
            if matches!(call.purpose, CallPurpose::Snapshot { .. }) {
                self.snapshots_served += 1;
                self.feed.handle_response(
                    self.now,
                    UnixMillis(0),
                    call.id,
                    200,
                    &http::HeaderMap::new(),
                    &self.snapshot,
                );
            }
        }
        while let Some(event) = self.feed.poll_event() {
            drop::<FeedEvent<M>>(event);
        }
    }

    /// The book, once synced.
    #[must_use]
    pub fn book(&self) -> Option<&OrderBook> {
        self.feed.book(&self.symbol)
    }

    /// The feed's counters.
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        self.feed.stats()
    }

    /// How many times the recorded snapshot was served.
    #[must_use]
    pub fn snapshots_served(&self) -> u64 {
        self.snapshots_served
    }

    /// The feed inside.
    #[must_use]
    pub fn feed(&self) -> &Feed<M> {
        &self.feed
    }

    /// The feed inside, mutably (to hand it frames directly).
    pub fn feed_mut(&mut self) -> &mut Feed<M> {
        &mut self.feed
    }
}
