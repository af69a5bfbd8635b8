//! Property test: a `BookSync` fed a faulty feed (drops, duplicates, overlapping ranges, reordering,
//! stale snapshots, failed fetches, reconnects) never shows a book that differs from KuCoin's true
//! book at the same sequence, and once the faults stop it resyncs to the true book.

mod book_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use book_common::t0;
use kucoin_proto::book::{BookConfig, BookMarket, BookState, BookSync, Decimal, OrderBook};
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::rest::{L2Snapshot, SnapshotLevel};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Ch {
    seq: u64,
    bid: bool,
    price: u32, // in tenths; 0 = sequence-only
    size: u32,  // 0 deletes
}

type Side = BTreeMap<u32, u32>;

/// The naive model: KuCoin's true book after each sequence.
struct Truth {
    start: u64,
    books: Vec<(Side, Side)>, // books[k] = after sequence start + k
}

impl Truth {
    fn new(start: u64, changes: &[Ch]) -> Self {
        let mut cur = (Side::new(), Side::new());
        // An initial book so that snapshots are not empty.
        for p in [95, 96, 97] {
            cur.0.insert(p, 1);
        }
        for p in [103, 104, 105] {
            cur.1.insert(p, 1);
        }
        let mut books = vec![cur.clone()];
        for c in changes {
            if c.price != 0 {
                let side = if c.bid { &mut cur.0 } else { &mut cur.1 };
                if c.size == 0 {
                    side.remove(&c.price);
                } else {
                    side.insert(c.price, c.size);
                }
            }
            books.push(cur.clone());
        }
        Truth { start, books }
    }
    fn at(&self, seq: u64) -> &(Side, Side) {
        &self.books[(seq - self.start) as usize]
    }
    fn last(&self) -> u64 {
        self.start + self.books.len() as u64 - 1
    }
    fn snapshot(&self, seq: u64) -> L2Snapshot {
        let (b, a) = self.at(seq);
        let lv = |m: &Side, rev: bool| {
            let mut v: Vec<SnapshotLevel> = m
                .iter()
                .map(|(p, s)| SnapshotLevel {
                    price: text(*p),
                    size: size_text(*s),
                })
                .collect();
            if rev {
                v.reverse();
            }
            v
        };
        L2Snapshot {
            sequence: seq,
            time: None,
            ts: None,
            symbol: None,
            bids: lv(b, true),
            asks: lv(a, false),
        }
    }
}

fn text(tenths: u32) -> String {
    Decimal::from_raw(u128::from(tenths) * 100_000_000_000_000_000).to_string()
}

fn size_text(s: u32) -> String {
    // sizes 1, 2, 3 become "0.25", "0.5", "0.75": exercise fractions
    Decimal::from_raw(u128::from(s) * 250_000_000_000_000_000).to_string()
}

fn same(book: &OrderBook, want: &(Side, Side)) -> bool {
    let conv = |m: &Side| -> Vec<(String, String)> {
        m.iter().map(|(p, s)| (text(*p), size_text(*s))).collect()
    };
    let mut bids: Vec<(String, String)> = book
        .bids()
        .map(|l| (l.price.to_string(), l.size.to_string()))
        .collect();
    bids.reverse();
    let asks: Vec<(String, String)> = book
        .asks()
        .map(|l| (l.price.to_string(), l.size.to_string()))
        .collect();
    bids == conv(&want.0) && asks == conv(&want.1)
}

#[derive(Debug, Clone)]
struct Msg {
    start: u64,
    end: u64,
    changes: Vec<Ch>,
}

fn frame(futures: bool, m: &Msg) -> String {
    if futures {
        let c = &m.changes[0];
        let side = if c.bid { "buy" } else { "sell" };
        return format!(
            r#"{{"type":"message","topic":"/contractMarket/level2:XBTUSDTM","subject":"level2","data":{{"sequence":{},"change":"{},{side},{}","timestamp":1}}}}"#,
            m.start,
            text(c.price),
            size_text(c.size)
        );
    }
    let list = |bid: bool| {
        m.changes
            .iter()
            .filter(|c| c.bid == bid)
            .map(|c| {
                format!(
                    r#"["{}","{}","{}"]"#,
                    text(c.price),
                    size_text(c.size),
                    c.seq
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"type":"message","topic":"/market/level2:BTC-USDT","subject":"trade.l2update","data":{{"changes":{{"asks":[{}],"bids":[{}]}},"sequenceEnd":{},"sequenceStart":{},"symbol":"BTC-USDT","time":1}}}}"#,
        list(false),
        list(true),
        m.end,
        m.start
    )
}

#[derive(Debug, Clone)]
enum Op {
    Deliver,
    Drop,
    Duplicate,
    /// Deliver the next message merged with the previous one (an overlapping range).
    Overlap,
    /// Deliver the message after next first.
    Swap,
    /// Answer a pending snapshot request with the true book `lag` sequences ago.
    Snapshot {
        lag: u64,
    },
    /// Answer a pending snapshot request with the true book `lead` sequences *ahead* of what
    /// the stream has delivered (a snapshot asked for at the subscription's ack, before the
    /// stream caught up).
    SnapshotAhead {
        lead: u64,
    },
    FailSnapshot,
    Reset,
    /// The subscription is acknowledged: the snapshot is asked for before any message.
    Subscribed,
    /// The host suspends the feed, then resumes it.
    SuspendResume,
    Timeout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => Just(Op::Deliver),
        1 => Just(Op::Drop),
        1 => Just(Op::Duplicate),
        1 => Just(Op::Overlap),
        1 => Just(Op::Swap),
        3 => (0u64..6).prop_map(|lag| Op::Snapshot { lag }),
        1 => (1u64..6).prop_map(|lead| Op::SnapshotAhead { lead }),
        1 => Just(Op::FailSnapshot),
        1 => Just(Op::Reset),
        2 => Just(Op::Subscribed),
        1 => Just(Op::SuspendResume),
        1 => Just(Op::Timeout),
    ]
}

fn change() -> impl Strategy<Value = (bool, u32, u32)> {
    // prices 9.0..=10.9 on both sides, sometimes 0 (sequence only); sizes 0..=3
    (
        any::<bool>(),
        prop_oneof![20 => 90u32..110, 1 => Just(0u32)],
        0u32..4,
    )
}

struct Driver<M: BookMarket> {
    sync: BookSync<M>,
    truth: Truth,
    futures: bool,
    now: Instant,
    pending_fetch: bool,
    sent: u64, // highest sequence KuCoin has published so far
}

impl<M: BookMarket> Driver<M> {
    fn check(&mut self) -> Result<(), TestCaseError> {
        while self.sync.poll_fetch().is_some() {
            self.pending_fetch = true;
        }
        while self.sync.poll_event().is_some() {}
        if let Some(book) = self.sync.book() {
            let seq = book.sequence();
            prop_assert!(seq <= self.truth.last());
            prop_assert!(
                same(book, self.truth.at(seq)),
                "book at {seq} differs from the truth"
            );
        }
        Ok(())
    }

    fn deliver(&mut self, m: &Msg) -> Result<(), TestCaseError> {
        self.now += Duration::from_millis(1);
        self.sent = self.sent.max(m.end);
        self.sync
            .handle_frame(self.now, &frame(self.futures, m))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        self.check()
    }

    fn answer(&mut self, lag: u64) -> Result<(), TestCaseError> {
        self.answer_at(self.sent.saturating_sub(lag))
    }

    fn answer_at(&mut self, seq: u64) -> Result<(), TestCaseError> {
        if self.pending_fetch {
            self.pending_fetch = false;
            let seq = seq.clamp(self.truth.start, self.truth.last());
            let snap = self.truth.snapshot(seq);
            self.sync
                .handle_snapshot(self.now, &snap)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        self.check()
    }
}

fn run<M: BookMarket>(
    futures: bool,
    raw: Vec<(bool, u32, u32)>,
    sizes: Vec<usize>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let start = 1_000u64;
    let changes: Vec<Ch> = raw
        .iter()
        .enumerate()
        .map(|(i, &(bid, price, size))| Ch {
            seq: start + 1 + i as u64,
            bid,
            price,
            size,
        })
        .collect();
    let truth = Truth::new(start, &changes);
    let mut msgs = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < changes.len() {
        let n = if futures {
            1
        } else {
            sizes[k % sizes.len()].min(changes.len() - i)
        };
        k += 1;
        let cs = changes[i..i + n].to_vec();
        msgs.push(Msg {
            start: cs[0].seq,
            end: cs[n - 1].seq,
            changes: cs,
        });
        i += n;
    }
    let t = t0();
    let mut config = BookConfig::default();
    config.max_buffered_updates = 8;
    let symbol = if futures { "XBTUSDTM" } else { "BTC-USDT" };
    let mut d = Driver::<M> {
        sync: BookSync::new(Symbol::new(symbol).unwrap(), config, t),
        truth,
        futures,
        now: t,
        pending_fetch: false,
        sent: start,
    };
    let mut next = 0usize;
    for op in ops {
        if next >= msgs.len() {
            break;
        }
        match op {
            Op::Deliver => {
                d.deliver(&msgs[next].clone())?;
                next += 1;
            }
            Op::Drop => {
                d.sent = d.sent.max(msgs[next].end);
                next += 1;
            }
            Op::Duplicate => {
                let m = msgs[next].clone();
                d.deliver(&m)?;
                d.deliver(&m)?;
                next += 1;
            }
            Op::Overlap if !futures && next > 0 => {
                let (a, b) = (&msgs[next - 1], &msgs[next]);
                let mut changes = a.changes.clone();
                changes.extend(b.changes.iter().cloned());
                let m = Msg {
                    start: a.start,
                    end: b.end,
                    changes,
                };
                d.deliver(&m)?;
                next += 1;
            }
            Op::Swap if next + 1 < msgs.len() => {
                let (a, b) = (msgs[next].clone(), msgs[next + 1].clone());
                d.deliver(&b)?;
                d.deliver(&a)?;
                next += 2;
            }
            Op::Snapshot { lag } => d.answer(lag)?,
            Op::SnapshotAhead { lead } => d.answer_at(d.sent + lead)?,
            Op::Subscribed => {
                d.sync.handle_subscribed(d.now);
                d.check()?;
            }
            Op::SuspendResume => {
                d.sync.handle_suspend(d.now);
                d.pending_fetch = false;
                d.check()?;
                prop_assert!(d.sync.book().is_none(), "a suspended book is shown");
                prop_assert!(
                    d.sync.poll_timeout().is_none(),
                    "a suspended book has a timer"
                );
                d.sync.handle_resume(d.now);
                d.check()?;
            }
            Op::FailSnapshot => {
                if d.pending_fetch {
                    d.pending_fetch = false;
                    d.sync.handle_snapshot_failed(d.now, true);
                }
                d.check()?;
            }
            Op::Reset => {
                d.sync.handle_reset(d.now);
                d.pending_fetch = false;
                d.check()?;
            }
            Op::Timeout | Op::Overlap | Op::Swap => {
                if let Some(at) = d.sync.poll_timeout() {
                    d.now = d.now.max(at);
                    d.sync.handle_timeout(d.now);
                }
                d.check()?;
            }
        }
    }
    // Faults stop: the rest arrives in order, snapshots are fresh; the book must converge.
    for m in &msgs[next.min(msgs.len())..] {
        d.deliver(m)?;
    }
    for _ in 0..20 {
        if d.sync.state() == BookState::Live
            && d.sync.book().map(OrderBook::sequence) == Some(d.truth.last())
        {
            break;
        }
        if d.pending_fetch {
            d.answer(0)?;
        } else if let Some(at) = d.sync.poll_timeout() {
            d.now = d.now.max(at);
            d.sync.handle_timeout(d.now);
            d.check()?;
        } else {
            // Live but behind (the last messages were dropped): nothing new will come; a
            // reconnect is how a session notices, and it resyncs.
            d.sync.handle_reset(d.now);
            d.check()?;
        }
    }
    let book = d
        .sync
        .book()
        .ok_or_else(|| TestCaseError::fail("not live after the faults stopped"))?;
    prop_assert_eq!(book.sequence(), d.truth.last());
    prop_assert!(same(book, d.truth.at(d.truth.last())));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn spot_book_never_passes_a_gap_and_resyncs_to_the_truth(
        raw in prop::collection::vec(change(), 1..80),
        sizes in prop::collection::vec(1usize..4, 1..8),
        ops in prop::collection::vec(op(), 0..120),
    ) {
        run::<Spot>(false, raw, sizes, ops)?;
    }

    #[test]
    fn futures_book_never_passes_a_gap_and_resyncs_to_the_truth(
        raw in prop::collection::vec(change(), 1..80),
        ops in prop::collection::vec(op(), 0..120),
    ) {
        run::<Futures>(true, raw, vec![1], ops)?;
    }
}
