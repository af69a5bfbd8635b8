//! Shared helpers for the book tests: corpus generation and a synced book.
#![allow(dead_code)]

#[path = "../corpus/mod.rs"]
mod corpus;

use std::path::Path;
use std::time::Instant;

use kucoin_proto::book::{
    BookConfig, BookMarket, BookState, BookSync, OrderBook, SpotSnapshotSource,
};
use kucoin_proto::market::Symbol;
use kucoin_proto::rest::{L2Snapshot, parse_envelope};

pub struct Corpus {
    pub snapshot_raw: Vec<u8>,
    pub snapshot: L2Snapshot,
    pub frames: Vec<String>,
    pub expected: serde_json::Value,
}

/// Generates the benchmark corpus (seed 1, 500 levels a side) with `n` frames, in memory.
pub fn generate(futures: bool, n: usize) -> Corpus {
    let g = corpus::generate(&corpus::Params {
        futures,
        seed: 1,
        n,
        levels: 500,
    });
    Corpus {
        snapshot: parse_envelope(200, g.snapshot.as_bytes()).unwrap(),
        snapshot_raw: g.snapshot.into_bytes(),
        frames: g.frames.lines().map(str::to_owned).collect(),
        expected: serde_json::from_str(&g.expected).unwrap(),
    }
}

/// A book that buffered frame 0, asked for and got the corpus snapshot: Live, ready for frames 1..
pub fn synced<M: BookMarket>(symbol: &str, c: &Corpus, t0: Instant) -> BookSync<M> {
    let mut config = BookConfig::default();
    config.spot_snapshot = SpotSnapshotSource::Full;
    let mut s = BookSync::<M>::new(Symbol::new(symbol).unwrap(), config, t0);
    s.handle_frame(t0, &c.frames[0]).unwrap();
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(t0, &c.snapshot).unwrap();
    assert_eq!(s.state(), BookState::Live);
    s
}

pub type Top = (Vec<[String; 2]>, Vec<[String; 2]>);

pub fn top50(book: &OrderBook) -> Top {
    let (b, a) = book.top_n(50);
    let f = |l: kucoin_proto::book::Level| [l.price.to_string(), l.size.to_string()];
    (b.map(f).collect(), a.map(f).collect())
}

pub fn expected_top(c: &Corpus) -> Top {
    let side = |k: &str| serde_json::from_value(c.expected[k].clone()).unwrap();
    (side("bids"), side("asks"))
}

/// A KuCoin payload from `tests/data/kucoin-docs/`.
pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kucoin-docs")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The base of virtual time (nothing is timed; later instants are `t0 + Duration`).
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}
