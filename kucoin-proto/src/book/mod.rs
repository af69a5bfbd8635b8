//! Level-2 order books kept in step with KuCoin: exact numbers, sequence checks, resync.
//!
//! - [`BookSync`] ([`SpotBookSync`], [`FuturesBookSync`]) follows an incremental topic
//!   (`/market/level2:{symbol}`, `/contractMarket/level2:{symbol}`) and REST snapshots, with the
//!   sequence rule of [`sequence`] and states `Buffering → AwaitingSnapshot → Live (→ Resyncing)`.
//! - [`DepthBook`] holds the depth5 / depth50 topics, which replace a small book whole.
//! - [`OrderBook`] is the book: exact [`Decimal`] prices and sizes, best bid/ask in O(1), top-N in O(N).
//!
//! # Driving a `BookSync`
//!
//! ```
//! use std::time::Instant;
//! use kucoin_proto::book::{BookConfig, BookEvent, SpotBookSync, BookState};
//! use kucoin_proto::SpotSymbol;
//!
//! let t0 = Instant::now();
//! let mut sync = SpotBookSync::new(SpotSymbol::new("BTC-USDT").unwrap(), BookConfig::default(), t0);
//! // Subscribed to /market/level2:BTC-USDT; the first frame is buffered and a snapshot is wanted.
//! let frame = r#"{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{"changes":{"asks":[["65000.7","0.5","11"]],"bids":[]},"sequenceEnd":11,"sequenceStart":11,"symbol":"BTC-USDT","time":1}}"#;
//! sync.handle_frame(t0, frame).unwrap();
//! let request = sync.poll_fetch().unwrap();
//! assert_eq!(request.path_and_query(), "/api/v1/market/orderbook/level2_100?symbol=BTC-USDT");
//! // The adapter fetches it and hands over the parsed `data`:
//! let snapshot = serde_json::from_str(r#"{"sequence":"10","bids":[["64999","1"]],"asks":[["65001","2"]]}"#).unwrap();
//! sync.handle_snapshot(t0, &snapshot).unwrap();
//! assert_eq!(sync.state(), BookState::Live);
//! assert_eq!(sync.poll_event(), Some(BookEvent::Synced { sequence: 11 }));
//! let book = sync.book().unwrap();
//! assert_eq!(book.best_ask().unwrap().price.to_string(), "65000.7");
//! ```
//!
//! # Why API keys give a better spot book
//!
//! KuCoin serves the full spot snapshot (`GET /api/v3/market/orderbook/level2`) only to signed requests.
//! Without keys the book starts from `level2_100`, the best 100 levels a side. Increments then keep
//! those levels exact, but a level deeper than the 100th that existed at snapshot time was never
//! seen and stays missing until it changes. So such a book is exact only down to the snapshot's
//! 100th price, and as the market moves toward that price, fewer levels are known:
//! [`OrderBook::complete_depth`] says how many. With keys, set
//! [`BookConfig::spot_snapshot`] to [`SpotSnapshotSource::Full`] and the whole book is exact.
//! Futures snapshots are always full and public.
//!
//! # Design for speed
//!
//! - Numbers: [`Decimal`] is a `u128` count of `1e-18`, parsed straight from the frame bytes (eight
//!   digits at a time where possible); no `f64`, and text it cannot hold exactly is an error.
//! - Decoding: [`FrameSpec`] first tries a single-pass decoder for the compact frames KuCoin sends
//!   (any key order, unknown scalar keys skipped, changes into a reused buffer, no allocation) and
//!   falls back to `serde_json` for anything else, so unusual frames cost more but decode the same.
//! - The book: each side keeps the levels within about a thousand price steps of its best price in
//!   a dense window of sizes indexed by price step (the step is the largest power of ten dividing
//!   every price of the side; finding a slot is a subtraction and a multiplication by the step's
//!   inverse, exact), so a change at the touch is a store: no search, no memory move. Levels below
//!   the window are a sorted vector (best last). A best price above the window, or far down in
//!   it, or a price between its steps rebuilds the window around the best level; a side whose
//!   window keeps moving goes back to the sorted vector alone. 16 KB of window a side.
//! - Benchmarks: `cargo bench -p kucoin-proto --bench book` (spot and futures: parse, apply, parse +
//!   validate + apply, and a serde_json + `BTreeMap` reference side by side).

mod decimal;
pub mod decode;
mod depth;
mod order_book;
pub mod sequence;
mod sync;

pub use decimal::{Decimal, DecimalError};
pub use decode::{Change, DecodePath, FrameSpec, Update};
pub use depth::{Depth, DepthBook};
pub use order_book::{Level, Levels, OrderBook, Side};
pub use sequence::SeqCheck;
pub use sync::{
    Availability, BookConfig, BookEvent, BookMarket, BookState, BookSync, FuturesBookSync,
    ResyncReason, SnapshotRequest, SpotBookSync, SpotSnapshotSource,
};

/// Why a frame or snapshot could not be used. All are faults of what KuCoin (or the wire) sent;
/// nothing of the offending input was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookError {
    /// Not valid JSON, or a field is missing or of the wrong type.
    #[error("level-2 frame is not the expected JSON: {0}")]
    Json(String),
    /// The frame is not a `"type":"message"` frame (an ack, pong or error belongs to the session).
    #[error("frame is not a message frame: pass only message frames of the book's topic")]
    NotAMessage,
    /// The frame is for another topic: route frames by topic before handing them to a book.
    #[error("frame for topic {got:?} given to the book of {expected:?}: route frames by topic")]
    WrongTopic {
        /// The book's topic.
        expected: String,
        /// The frame's topic.
        got: String,
    },
    /// The subject is not the level-2 one.
    #[error("unexpected subject {got:?} for a level-2 topic")]
    WrongSubject {
        /// The frame's subject.
        got: String,
    },
    /// The data names another symbol.
    #[error("data for symbol {got:?} given to the book of {expected:?}")]
    WrongSymbol {
        /// The book's symbol.
        expected: String,
        /// The data's symbol.
        got: String,
    },
    /// A change is not `[price, size, sequence]` (spot) or `"price,buy|sell,size"` (futures).
    #[error("malformed change entry")]
    BadChange,
    /// A price or size is not an exact decimal.
    #[error("{field} is not an exact decimal: {source}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// Why.
        source: DecimalError,
    },
    /// A sequence number is not an unsigned integer.
    #[error("{field} is not an unsigned integer")]
    BadSequence {
        /// Which field.
        field: &'static str,
    },
    /// `sequenceStart` is after `sequenceEnd`.
    #[error("sequenceStart {start} is after sequenceEnd {end}")]
    BadRange {
        /// `sequenceStart`.
        start: u64,
        /// `sequenceEnd`.
        end: u64,
    },
    /// A change's own sequence lies outside the message's range.
    #[error("change sequence {sequence} outside the message range {start}..={end}")]
    ChangeOutsideRange {
        /// The change's sequence.
        sequence: u64,
        /// `sequenceStart`.
        start: u64,
        /// `sequenceEnd`.
        end: u64,
    },
    /// A snapshot level is not an exact decimal; the snapshot is fetched again.
    #[error("snapshot level is not an exact decimal: {source}; fetching it again")]
    BadSnapshotLevel {
        /// Why.
        source: DecimalError,
    },
    /// A snapshot lists a price twice on one side; the snapshot is fetched again.
    #[error("snapshot lists a price twice on one side; fetching it again")]
    DuplicateSnapshotPrice,
    /// A depth message has more levels than its topic allows, or levels out of order.
    #[error("depth message has too many levels or levels out of price order")]
    BadDepth,
}
