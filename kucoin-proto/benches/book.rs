//! Order-book benchmarks on the shared corpus (`shared/bench/gen_feed.py`), spot and futures.
//!
//! Modes, per market, each over the whole frames file (throughput in frames):
//! - `parse`: decode every frame (fast decoder, serde fallback when needed);
//! - `apply`: check sequences and apply pre-decoded messages;
//! - `full`: `BookSync::handle_frame`, i.e. parse + validate + apply;
//! - `feed`: `Feed::handle_frame` through [`Replay`] (the `replay` example), with the events
//!   drained after every frame: what the adapters run, with the default configuration (one
//!   coalesced `BookEvent::Updated` per frame, since the events are drained after each);
//! - `feed_quiet`: the same with `FeedConfig::book_updates` off (no per-frame event);
//! - `reference_parse`, `reference_full`: a plain serde_json (borrowed) + `BTreeMap` book that
//!   validates sequences, measured side by side.
//!
//! Plus `top50_of_10000`: the best 50 levels of each side of a 10,000-level-a-side book.
//!
//! The corpus is generated (once) into `$KUCOIN_CORPUS_DIR` or the target's tmp dir.
//! `cargo bench -p kucoin-proto --bench book -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![allow(clippy::disallowed_methods)] // a base `Instant` for the books; criterion does the timing

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kucoin_proto::book::{
    BookConfig, BookMarket, BookState, BookSync, Decimal, FrameSpec, OrderBook, Side,
    SpotSnapshotSource, Update,
};
use kucoin_proto::feed::{FeedConfig, FeedMarket};
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::replay::Replay;
use kucoin_proto::rest::{L2Snapshot, parse_envelope};
use serde::Deserialize;

struct Corpus {
    snapshot: L2Snapshot,
    snapshot_raw: Vec<u8>,
    frames: Vec<String>,
    expected: serde_json::Value,
}

fn corpus(market: &str) -> Corpus {
    let dir = std::env::var_os("KUCOIN_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/gen_feed.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script)
        .arg("--if-missing")
        .arg("--out-dir")
        .arg(&dir);
    if market == "futures" {
        cmd.arg("--futures");
    }
    assert!(
        cmd.status().expect("python3").success(),
        "gen_feed.py failed"
    );
    let read = |k: &str, ext: &str| std::fs::read(dir.join(format!("{market}_{k}.{ext}"))).unwrap();
    Corpus {
        snapshot: parse_envelope(200, &read("snapshot", "json")).unwrap(),
        snapshot_raw: read("snapshot", "json"),
        frames: String::from_utf8(read("frames", "jsonl"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
        expected: serde_json::from_slice(&read("expected", "json")).unwrap(),
    }
}

/// A `BookSync` that has buffered frame 0 and loaded the snapshot: ready for frames 1..
fn synced<M: BookMarket>(symbol: &str, c: &Corpus) -> BookSync<M> {
    let mut config = BookConfig::default();
    config.spot_snapshot = SpotSnapshotSource::Full;
    let t0 = Instant::now();
    let mut s = BookSync::<M>::new(Symbol::new(symbol).unwrap(), config, t0);
    s.handle_frame(t0, &c.frames[0]).unwrap();
    let _ = s.poll_fetch().unwrap();
    s.handle_snapshot(t0, &c.snapshot).unwrap();
    assert_eq!(s.state(), BookState::Live);
    s
}

fn top50(book: &OrderBook) -> (Vec<[String; 2]>, Vec<[String; 2]>) {
    let (b, a) = book.top_n(50);
    let f = |l: kucoin_proto::book::Level| [l.price.to_string(), l.size.to_string()];
    (b.map(f).collect(), a.map(f).collect())
}

fn expected_top(c: &Corpus) -> (Vec<[String; 2]>, Vec<[String; 2]>) {
    let side = |k: &str| serde_json::from_value(c.expected[k].clone()).unwrap();
    (side("bids"), side("asks"))
}

// ------------------------------------------------------------------ reference

/// The reference: serde_json borrowed structs, a `BTreeMap` book, the documented sequence rule.
#[derive(Clone)]
struct RefBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    last: u64,
}

#[derive(Deserialize)]
struct RefFrame<'a, D> {
    #[serde(borrow)]
    topic: &'a str,
    #[serde(borrow)]
    subject: &'a str,
    data: D,
}

#[derive(Deserialize)]
struct RefSpotData<'a> {
    #[serde(borrow)]
    changes: RefChanges<'a>,
    #[serde(rename = "sequenceStart")]
    start: u64,
    #[serde(rename = "sequenceEnd")]
    end: u64,
}

#[derive(Deserialize)]
struct RefChanges<'a> {
    #[serde(borrow)]
    asks: Vec<[&'a str; 3]>,
    #[serde(borrow)]
    bids: Vec<[&'a str; 3]>,
}

#[derive(Deserialize)]
struct RefFuturesData<'a> {
    sequence: u64,
    #[serde(borrow)]
    change: &'a str,
}

impl RefBook {
    fn new(s: &L2Snapshot) -> Self {
        let load = |v: &[kucoin_proto::rest::SnapshotLevel]| {
            v.iter()
                .map(|l| {
                    (
                        Decimal::parse(&l.price).unwrap(),
                        Decimal::parse(&l.size).unwrap(),
                    )
                })
                .collect()
        };
        RefBook {
            bids: load(&s.bids),
            asks: load(&s.asks),
            last: s.sequence,
        }
    }

    fn set(&mut self, bid: bool, p: Decimal, s: Decimal) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        if s.is_zero() {
            side.remove(&p);
        } else {
            side.insert(p, s);
        }
    }

    fn spot(&mut self, frame: &str) {
        let f: RefFrame<'_, RefSpotData<'_>> = serde_json::from_str(frame).unwrap();
        assert!(f.topic.ends_with("BTC-USDT") && f.subject == "trade.l2update");
        let d = f.data;
        if d.end <= self.last {
            return;
        }
        assert!(d.start <= self.last + 1, "gap");
        let mut todo: Vec<(u64, bool, Decimal, Decimal)> = Vec::new();
        for (bid, list) in [(false, &d.changes.asks), (true, &d.changes.bids)] {
            for [p, s, q] in list {
                todo.push((
                    q.parse().unwrap(),
                    bid,
                    Decimal::parse(p).unwrap(),
                    Decimal::parse(s).unwrap(),
                ));
            }
        }
        todo.sort_by_key(|t| t.0);
        for (q, bid, p, s) in todo {
            if q > self.last && !p.is_zero() {
                self.set(bid, p, s);
            }
        }
        self.last = d.end;
    }

    fn futures(&mut self, frame: &str) {
        let f: RefFrame<'_, RefFuturesData<'_>> = serde_json::from_str(frame).unwrap();
        assert!(f.topic.ends_with("XBTUSDTM") && f.subject == "level2");
        let d = f.data;
        if d.sequence <= self.last {
            return;
        }
        assert_eq!(d.sequence, self.last + 1, "gap");
        let mut it = d.change.split(',');
        let (p, side, s) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        self.set(
            side == "buy",
            Decimal::parse(p).unwrap(),
            Decimal::parse(s).unwrap(),
        );
        self.last = d.sequence;
    }

    fn top50(&self) -> (Vec<[String; 2]>, Vec<[String; 2]>) {
        let f = |(p, s): (&Decimal, &Decimal)| [p.to_string(), s.to_string()];
        (
            self.bids.iter().rev().take(50).map(f).collect(),
            self.asks.iter().take(50).map(f).collect(),
        )
    }
}

fn ref_parse_spot(frame: &str) -> usize {
    let f: RefFrame<'_, RefSpotData<'_>> = serde_json::from_str(frame).unwrap();
    f.data.changes.asks.len() + f.data.changes.bids.len()
}

fn ref_parse_futures(frame: &str) -> usize {
    let f: RefFrame<'_, RefFuturesData<'_>> = serde_json::from_str(frame).unwrap();
    f.data.change.len()
}

// ------------------------------------------------------------------ benches

fn bench_market<M: FeedMarket>(c: &mut Criterion, market: &str, symbol: &str) {
    let corpus = corpus(market);
    let futures = market == "futures";
    let spec = if futures {
        FrameSpec::futures(symbol)
    } else {
        FrameSpec::spot(symbol)
    };
    let frames = &corpus.frames[1..];
    let bytes: usize = frames.iter().map(|f| f.len()).sum();
    let template = synced::<M>(symbol, &corpus);

    // Check that every path does the work: the final books equal the expected file.
    let mut s = template.clone();
    let t0 = Instant::now();
    for f in frames {
        s.handle_frame(t0, f).unwrap();
    }
    assert_eq!(
        s.fallback_decodes(),
        0,
        "corpus frames must take the fast path"
    );
    assert_eq!(top50(s.book().unwrap()), expected_top(&corpus));
    let decoded: Vec<Update> = frames
        .iter()
        .map(|f| {
            let mut u = Update::default();
            spec.decode_frame(f, &mut u).unwrap();
            u
        })
        .collect();
    let mut s = template.clone();
    for u in &decoded {
        s.handle_update(t0, u);
    }
    assert_eq!(top50(s.book().unwrap()), expected_top(&corpus));
    let mut r = RefBook::new(&corpus.snapshot);
    let ref_apply = if futures {
        RefBook::futures
    } else {
        RefBook::spot
    };
    for f in &corpus.frames {
        ref_apply(&mut r, f);
    }
    assert_eq!(r.top50(), expected_top(&corpus));
    let feed_with = |updates: bool| {
        let mut replay = Replay::<M>::with_config(
            Symbol::new(symbol).unwrap(),
            corpus.snapshot_raw.clone(),
            FeedConfig::default().with_book_updates(updates),
            t0,
        )
        .unwrap();
        replay.frame(&corpus.frames[0]);
        replay
    };
    let live_feed = || feed_with(true);
    let quiet_feed = || feed_with(false);
    for updates in [true, false] {
        let mut replay = feed_with(updates);
        for f in frames {
            replay.frame(f);
        }
        assert_eq!(top50(replay.book().unwrap()), expected_top(&corpus));
        assert_eq!(replay.stats().gaps, 0);
        assert_eq!(
            replay
                .feed()
                .books()
                .map(|b| b.fallback_decodes())
                .sum::<u64>(),
            0
        );
    }
    eprintln!(
        "{market}: {} frames, {:.1} bytes/frame on average",
        frames.len(),
        bytes as f64 / frames.len() as f64
    );

    let mut g = c.benchmark_group(market);
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("parse", |b| {
        let mut u = Update::default();
        b.iter(|| {
            let mut n = 0;
            for f in frames {
                spec.decode_frame(black_box(f), &mut u).unwrap();
                n += u.changes.len();
            }
            n
        });
    });
    g.bench_function("apply", |b| {
        b.iter_batched(
            || template.clone(),
            |mut s| {
                for u in &decoded {
                    s.handle_update(t0, black_box(u));
                }
                s
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("full", |b| {
        b.iter_batched(
            || template.clone(),
            |mut s| {
                for f in frames {
                    s.handle_frame(t0, black_box(f)).unwrap();
                }
                s
            },
            BatchSize::LargeInput,
        );
    });
    // What the adapters run: Feed::handle_frame (session header scan, routing, book) per frame.
    g.bench_function("feed", |b| {
        b.iter_batched(
            live_feed,
            |mut replay| {
                for f in frames {
                    replay.frame(black_box(f));
                }
                replay
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("feed_quiet", |b| {
        b.iter_batched(
            quiet_feed,
            |mut replay| {
                for f in frames {
                    replay.frame(black_box(f));
                }
                replay
            },
            BatchSize::LargeInput,
        );
    });
    let ref_parse = if futures {
        ref_parse_futures
    } else {
        ref_parse_spot
    };
    g.bench_function("reference_parse", |b| {
        b.iter(|| {
            frames
                .iter()
                .map(|f| ref_parse(black_box(f)))
                .sum::<usize>()
        });
    });
    let ref_template = {
        let mut r = RefBook::new(&corpus.snapshot);
        ref_apply(&mut r, &corpus.frames[0]);
        r
    };
    g.bench_function("reference_full", |b| {
        b.iter_batched(
            || ref_template.clone(),
            |mut r| {
                for f in frames {
                    ref_apply(&mut r, black_box(f));
                }
                r
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn spot(c: &mut Criterion) {
    bench_market::<Spot>(c, "spot", "BTC-USDT");
}

fn futures(c: &mut Criterion) {
    bench_market::<Futures>(c, "futures", "XBTUSDTM");
}

fn top_n(c: &mut Criterion) {
    let mut book = OrderBook::new();
    for i in 0..10_000u64 {
        let size = Decimal::parse("1.5").unwrap();
        book.set(Side::Bid, Decimal::from_int(50_000 - i), size, usize::MAX);
        book.set(Side::Ask, Decimal::from_int(50_001 + i), size, usize::MAX);
    }
    c.bench_function("top50_of_10000", |b| {
        b.iter(|| {
            let (bids, asks) = black_box(&book).top_n(50);
            let mut acc = 0u128;
            for l in bids.chain(asks) {
                acc = acc.wrapping_add(l.price.to_raw() ^ l.size.to_raw());
            }
            acc
        });
    });
}

criterion_group!(benches, spot, futures, top_n);
criterion_main!(benches);
