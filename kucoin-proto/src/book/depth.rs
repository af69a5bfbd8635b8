//! `DepthBook`: the small books of the depth5 / depth50 topics, replaced whole by every message.

use std::borrow::Cow;
use std::time::Instant;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::BookError;
use super::decimal::Decimal;
use super::order_book::Level;
use crate::market::{FuturesSymbol, SpotSymbol};

/// How many levels a depth topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Depth {
    /// `level2Depth5`.
    Five,
    /// `level2Depth50`.
    Fifty,
}

impl Depth {
    fn levels(self) -> usize {
        match self {
            Depth::Five => 5,
            Depth::Fifty => 50,
        }
    }
}

/// The top of a book from spot `/spotMarket/level2Depth5|50:{symbol}` or futures
/// `/contractMarket/level2Depth5|50:{symbol}`. No sequence checks: each message replaces the book.
///
/// Decoded with `serde_json` (a few small allocations per message): these topics push at most
/// every 100 ms, far from the hot path of the incremental topics.
#[derive(Debug, Clone)]
pub struct DepthBook {
    topic: String,
    depth: usize,
    bids: Vec<Level>,
    asks: Vec<Level>,
    next_bids: Vec<Level>,
    next_asks: Vec<Level>,
    timestamp: Option<u64>,
    sequence: Option<u64>,
    updated_at: Option<Instant>,
}

impl DepthBook {
    /// A book for a spot depth topic.
    #[must_use]
    pub fn spot(symbol: &SpotSymbol, depth: Depth) -> Self {
        Self::new(
            format!("/spotMarket/level2Depth{}:{symbol}", depth.levels()),
            depth,
        )
    }

    /// A book for a futures depth topic.
    #[must_use]
    pub fn futures(symbol: &FuturesSymbol, depth: Depth) -> Self {
        Self::new(
            format!("/contractMarket/level2Depth{}:{symbol}", depth.levels()),
            depth,
        )
    }

    fn new(topic: String, depth: Depth) -> Self {
        DepthBook {
            topic,
            depth: depth.levels(),
            bids: Vec::new(),
            asks: Vec::new(),
            next_bids: Vec::new(),
            next_asks: Vec::new(),
            timestamp: None,
            sequence: None,
            updated_at: None,
        }
    }

    /// The topic this book takes.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A whole frame of this topic. On error the book is left as it was.
    pub fn handle_frame(&mut self, now: Instant, frame: &str) -> Result<(), BookError> {
        #[derive(Deserialize)]
        struct Frame<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(borrow)]
            topic: Cow<'a, str>,
            #[serde(borrow)]
            data: &'a RawValue,
        }
        let f: Frame<'_> =
            serde_json::from_str(frame).map_err(|e| BookError::Json(e.to_string()))?;
        if f.kind != "message" {
            return Err(BookError::NotAMessage);
        }
        if f.topic != self.topic {
            return Err(BookError::WrongTopic {
                expected: self.topic.clone(),
                got: f.topic.into_owned(),
            });
        }
        self.handle_data(now, f.data.get())
    }

    /// Only the `data` object of a frame. On error the book is left as it was.
    pub fn handle_data(&mut self, now: Instant, data: &str) -> Result<(), BookError> {
        #[derive(Deserialize)]
        struct Data<'a> {
            #[serde(borrow)]
            bids: Vec<(&'a RawValue, &'a RawValue)>,
            #[serde(borrow)]
            asks: Vec<(&'a RawValue, &'a RawValue)>,
            #[serde(default)]
            timestamp: Option<u64>,
            #[serde(default)]
            sequence: Option<u64>,
        }
        let d: Data<'_> = serde_json::from_str(data).map_err(|e| BookError::Json(e.to_string()))?;
        fill(&mut self.next_bids, &d.bids, self.depth, true)?;
        fill(&mut self.next_asks, &d.asks, self.depth, false)?;
        std::mem::swap(&mut self.bids, &mut self.next_bids);
        std::mem::swap(&mut self.asks, &mut self.next_asks);
        self.timestamp = d.timestamp;
        self.sequence = d.sequence;
        self.updated_at = Some(now);
        Ok(())
    }

    /// Bids, best first (empty before the first message).
    #[must_use]
    pub fn bids(&self) -> &[Level] {
        &self.bids
    }

    /// Asks, best first (empty before the first message).
    #[must_use]
    pub fn asks(&self) -> &[Level] {
        &self.asks
    }

    /// KuCoin's `timestamp` of the last message (milliseconds).
    #[must_use]
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The futures `sequence` of the last message (spot depth messages carry none).
    #[must_use]
    pub fn sequence(&self) -> Option<u64> {
        self.sequence
    }

    /// When the last message was applied (the `now` given with it).
    #[must_use]
    pub fn updated_at(&self) -> Option<Instant> {
        self.updated_at
    }
}

fn fill(
    out: &mut Vec<Level>,
    raw: &[(&RawValue, &RawValue)],
    depth: usize,
    bids: bool,
) -> Result<(), BookError> {
    out.clear();
    if raw.len() > depth {
        return Err(BookError::BadDepth);
    }
    for (p, s) in raw {
        let price = Decimal::parse(&text(p)?).map_err(|source| BookError::BadNumber {
            field: "price",
            source,
        })?;
        let size = Decimal::parse(&text(s)?).map_err(|source| BookError::BadNumber {
            field: "size",
            source,
        })?;
        if let Some(prev) = out.last() {
            let ordered = if bids {
                price < prev.price
            } else {
                price > prev.price
            };
            if !ordered {
                return Err(BookError::BadDepth);
            }
        }
        out.push(Level { price, size });
    }
    Ok(())
}

fn text(raw: &RawValue) -> Result<Cow<'_, str>, BookError> {
    let s = raw.get();
    if s.starts_with('"') {
        serde_json::from_str(s).map_err(|e| BookError::Json(e.to_string()))
    } else {
        Ok(Cow::Borrowed(s))
    }
}
