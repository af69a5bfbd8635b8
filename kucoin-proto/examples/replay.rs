//! Replays a recorded level-2 feed through `Feed::handle_frame`, the path the adapters use.
//!
//! ```text
//! cargo run --release -p kucoin-proto --example replay -- --snapshot FILE --frames FILE [--futures] [--symbol S] [--quiet] [--reference] [--repeat N]
//! ```
//!
//! The snapshot file is a REST answer (`{"code":"200000","data":{…}}`); the frames file has one
//! WebSocket text frame per line. Prints one JSON line: message count, time, rate (messages and
//! bytes per second), the final sequence and the top 50 levels a side as canonical decimal
//! strings.
//!
//! `--book` runs the book alone (`BookSync::handle_frame`), without the feed around it.
//! `--quiet` turns [`FeedConfig::book_updates`](kucoin_proto::feed::FeedConfig::book_updates)
//! off (no `Updated` event per frame). `--reference` runs the same frames through a plain
//! `serde_json` (borrowed) + `BTreeMap` book instead, the yardstick of the benchmarks, so the
//! two can be timed in alternating runs on the same machine; both print the same book.
//! `--repeat N` replays the frames N times (a fresh feed each time) and reports the fastest run.
//! On Linux the thread's on-CPU time is reported too (`cpu_seconds`, `msgs_per_cpu_sec`): on a
//! shared machine it leaves out the time the thread waited for a core. The kernel counts it in
//! scheduler ticks (4 ms on this project's machine), so it is coarse for a replay that takes tens
//! of milliseconds: compare wall rates of alternating runs on an idle machine there.
#![allow(clippy::disallowed_methods)] // an example may read the clock

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use kucoin_proto::book::{BookConfig, BookSync, Decimal, SpotSnapshotSource};
use kucoin_proto::feed::FeedConfig;
use kucoin_proto::feed::FeedMarket;
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::replay::Replay;
use kucoin_proto::rest::{L2Snapshot, parse_envelope};

struct Args {
    snapshot: String,
    frames: String,
    futures: bool,
    symbol: Option<String>,
    quiet: bool,
    reference: bool,
    book: bool,
    repeat: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut snapshot, mut frames, mut futures, mut symbol) = (None, None, false, None);
    let (mut quiet, mut reference, mut book, mut repeat) = (false, false, false, 1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--snapshot" => snapshot = it.next(),
            "--frames" => frames = it.next(),
            "--futures" => futures = true,
            "--symbol" => symbol = it.next(),
            "--quiet" => quiet = true,
            "--reference" => reference = true,
            "--book" => book = true,
            "--repeat" => {
                repeat = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--repeat needs a count above 0")?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        snapshot: snapshot.ok_or("--snapshot FILE is required")?,
        frames: frames.ok_or("--frames FILE is required")?,
        futures,
        symbol,
        quiet,
        reference,
        book,
        repeat,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let args = parse_args()?;
    let snap_bytes =
        std::fs::read(&args.snapshot).map_err(|e| format!("{}: {e}", args.snapshot))?;
    // Fail early, with KuCoin's error if the file holds one, rather than deep in the replay.
    let snapshot: L2Snapshot = parse_envelope(200, &snap_bytes).map_err(|e| e.to_string())?;
    let frames =
        std::fs::read_to_string(&args.frames).map_err(|e| format!("{}: {e}", args.frames))?;
    let config = FeedConfig::default().with_book_updates(!args.quiet);
    if args.book {
        return if args.futures {
            let sym = args.symbol.clone().unwrap_or_else(|| "XBTUSDTM".into());
            book_only::<Futures>(
                Symbol::new(sym).map_err(|e| e.to_string())?,
                &snapshot,
                &frames,
                args.repeat,
            )
        } else {
            let sym = args.symbol.clone().unwrap_or_else(|| "BTC-USDT".into());
            book_only::<Spot>(
                Symbol::new(sym).map_err(|e| e.to_string())?,
                &snapshot,
                &frames,
                args.repeat,
            )
        };
    }
    if args.reference {
        return reference(&snapshot, &frames, args.futures, args.repeat);
    }
    if args.futures {
        let sym = args.symbol.clone().unwrap_or_else(|| "XBTUSDTM".into());
        replay::<Futures>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            snap_bytes.clone(),
            &frames,
            config,
            args.repeat,
        )
    } else {
        let sym = args.symbol.clone().unwrap_or_else(|| "BTC-USDT".into());
        replay::<Spot>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            snap_bytes.clone(),
            &frames,
            config,
            args.repeat,
        )
    }
}

fn replay<M: FeedMarket>(
    symbol: Symbol<M>,
    snapshot: Vec<u8>,
    frames: &str,
    config: FeedConfig,
    repeat: u32,
) -> Result<String, String> {
    // Split before the clock starts: the rate is the path's alone.
    let lines: Vec<&str> = frames.lines().filter(|l| !l.is_empty()).collect();
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    let mut best = Best::default();
    let mut last = None;
    for _ in 0..repeat {
        let t0 = Instant::now();
        // A Feed, live on a scripted connection: each frame takes the adapters' path
        // (Feed::handle_frame: the book's frame prefix or the session's header scan, then
        // the book).
        let mut replay = Replay::with_config(symbol.clone(), snapshot.clone(), config.clone(), t0)
            .map_err(|e| e.to_string())?;
        let clock = Clock::start();
        for line in &lines {
            replay.frame(line);
        }
        best.keep(clock.stop());
        last = Some(replay);
    }
    let replay = last.ok_or("no run")?;
    let messages = lines.len() as u64;
    let stats = replay.stats();
    if stats.gaps > 0 || stats.frame_errors > 0 || stats.resyncs > 0 {
        eprintln!(
            "replay: {} gaps, {} resyncs, {} bad frames",
            stats.gaps, stats.resyncs, stats.frame_errors
        );
    }
    let book = replay
        .book()
        .ok_or("the book is not live at the end (no snapshot matched the frames?)")?;
    let (bids, asks) = book.top_n(50);
    let bids: Vec<(Decimal, Decimal)> = bids.map(|l| (l.price, l.size)).collect();
    let asks: Vec<(Decimal, Decimal)> = asks.map(|l| (l.price, l.size)).collect();
    Ok(report(messages, bytes, best, book.sequence(), &bids, &asks))
}

/// The book alone (`BookSync::handle_frame`: parse, validate, apply), without the feed around
/// it: synced from the snapshot after the first frame, then fed the rest.
fn book_only<M: FeedMarket>(
    symbol: Symbol<M>,
    snapshot: &L2Snapshot,
    frames: &str,
    repeat: u32,
) -> Result<String, String> {
    let lines: Vec<&str> = frames.lines().filter(|l| !l.is_empty()).collect();
    let (first, rest) = lines.split_first().ok_or("no frames")?;
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    let mut best = Best::default();
    let mut last = None;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let mut config = BookConfig::default();
        config.spot_snapshot = SpotSnapshotSource::Full;
        let mut book = BookSync::new(symbol.clone(), config, t0);
        book.handle_frame(t0, first).map_err(|e| e.to_string())?;
        let _ = book.poll_fetch();
        book.handle_snapshot(t0, snapshot)
            .map_err(|e| e.to_string())?;
        let clock = Clock::start();
        run_book(&mut book, rest, t0);
        best.keep(clock.stop());
        last = Some(book);
    }
    let sync = last.ok_or("no run")?;
    let book = sync
        .book()
        .ok_or("the book is not live at the end (no snapshot matched the frames?)")?;
    let (bids, asks) = book.top_n(50);
    let bids: Vec<(Decimal, Decimal)> = bids.map(|l| (l.price, l.size)).collect();
    let asks: Vec<(Decimal, Decimal)> = asks.map(|l| (l.price, l.size)).collect();
    Ok(report(
        lines.len() as u64,
        bytes,
        best,
        book.sequence(),
        &bids,
        &asks,
    ))
}

/// The measured loop of `--book` (a function of its own, for profilers).
#[inline(never)]
fn run_book<M: FeedMarket>(book: &mut BookSync<M>, frames: &[&str], now: Instant) {
    for line in frames {
        // A frame the book rejects is counted by the book; the replay goes on.
        let _ = book.handle_frame(now, line);
    }
}

/// Wall-clock and on-CPU time of one run.
struct Clock {
    wall: Instant,
    cpu_ns: Option<u64>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            cpu_ns: on_cpu_ns(),
            wall: Instant::now(),
        }
    }

    fn stop(self) -> (f64, Option<f64>) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu_ns, on_cpu_ns()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e9),
            _ => None,
        };
        (wall, cpu)
    }
}

/// This thread's time on a CPU so far, in nanoseconds (Linux; `None` elsewhere).
fn on_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// The fastest of several runs (wall clock and on-CPU time each).
#[derive(Default)]
struct Best {
    seconds: Option<f64>,
    cpu_seconds: Option<f64>,
}

impl Best {
    fn keep(&mut self, (wall, cpu): (f64, Option<f64>)) {
        self.seconds = Some(self.seconds.map_or(wall, |b| b.min(wall)));
        if let Some(cpu) = cpu {
            self.cpu_seconds = Some(self.cpu_seconds.map_or(cpu, |b| b.min(cpu)));
        }
    }
}

fn report(
    messages: u64,
    bytes: u64,
    best: Best,
    sequence: u64,
    bids: &[(Decimal, Decimal)],
    asks: &[(Decimal, Decimal)],
) -> String {
    let seconds = best.seconds.unwrap_or(f64::NAN);
    let cpu = best
        .cpu_seconds
        .map(|c| {
            format!(
                r#""cpu_seconds":{c:.6},"msgs_per_cpu_sec":{:.0},"#,
                messages as f64 / c
            )
        })
        .unwrap_or_default();
    format!(
        r#"{{"messages":{messages},"seconds":{seconds:.6},"msgs_per_sec":{:.0},"bytes_per_sec":{:.0},{cpu}"sequence":{sequence},"bids":{},"asks":{}}}"#,
        messages as f64 / seconds,
        bytes as f64 / seconds,
        levels_json(bids),
        levels_json(asks),
    )
}

fn levels_json(levels: &[(Decimal, Decimal)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, s)| format!(r#"["{p}","{s}"]"#))
        .collect();
    format!("[{}]", items.join(","))
}

// ------------------------------------------------------------------ reference

/// The yardstick: `serde_json` borrowed structs, a `BTreeMap` book, the documented sequence
/// rules (spot: a message continues the book iff `sequenceStart <= last + 1` and
/// `sequenceEnd > last`; futures: consecutive).
struct RefBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    last: u64,
}

#[derive(serde::Deserialize)]
struct RefFrame<'a, D> {
    #[serde(borrow)]
    topic: &'a str,
    #[serde(borrow)]
    subject: &'a str,
    data: D,
}

#[derive(serde::Deserialize)]
struct RefSpotData<'a> {
    #[serde(borrow)]
    changes: RefChanges<'a>,
    #[serde(rename = "sequenceStart")]
    start: u64,
    #[serde(rename = "sequenceEnd")]
    end: u64,
}

#[derive(serde::Deserialize)]
struct RefChanges<'a> {
    #[serde(borrow)]
    asks: Vec<[&'a str; 3]>,
    #[serde(borrow)]
    bids: Vec<[&'a str; 3]>,
}

#[derive(serde::Deserialize)]
struct RefFuturesData<'a> {
    sequence: u64,
    #[serde(borrow)]
    change: &'a str,
}

fn dec(s: &str) -> Result<Decimal, String> {
    Decimal::parse(s).map_err(|e| format!("{s:?}: {e}"))
}

impl RefBook {
    fn set(&mut self, bid: bool, p: Decimal, s: Decimal) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        if s.is_zero() {
            side.remove(&p);
        } else {
            side.insert(p, s);
        }
    }

    fn spot(&mut self, frame: &str) -> Result<(), String> {
        let f: RefFrame<'_, RefSpotData<'_>> =
            serde_json::from_str(frame).map_err(|e| e.to_string())?;
        if !f.topic.starts_with("/market/level2:") || f.subject != "trade.l2update" {
            return Err(format!("not a level-2 frame: {}", f.topic));
        }
        let d = f.data;
        if d.end <= self.last {
            return Ok(());
        }
        if d.start > self.last + 1 {
            return Err(format!("gap after {}", self.last));
        }
        let mut todo: Vec<(u64, bool, Decimal, Decimal)> = Vec::new();
        for (bid, list) in [(false, &d.changes.asks), (true, &d.changes.bids)] {
            for [p, s, q] in list {
                let q: u64 = q.parse().map_err(|_| format!("sequence {q:?}"))?;
                todo.push((q, bid, dec(p)?, dec(s)?));
            }
        }
        todo.sort_by_key(|t| t.0);
        for (q, bid, p, s) in todo {
            if q > self.last && !p.is_zero() {
                self.set(bid, p, s);
            }
        }
        self.last = d.end;
        Ok(())
    }

    fn futures(&mut self, frame: &str) -> Result<(), String> {
        let f: RefFrame<'_, RefFuturesData<'_>> =
            serde_json::from_str(frame).map_err(|e| e.to_string())?;
        if !f.topic.starts_with("/contractMarket/level2:") || f.subject != "level2" {
            return Err(format!("not a level-2 frame: {}", f.topic));
        }
        let d = f.data;
        if d.sequence <= self.last {
            return Ok(());
        }
        if d.sequence != self.last + 1 {
            return Err(format!("gap after {}", self.last));
        }
        let mut it = d.change.split(',');
        let (Some(p), Some(side), Some(s)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("change {:?}", d.change));
        };
        self.set(side == "buy", dec(p)?, dec(s)?);
        self.last = d.sequence;
        Ok(())
    }
}

fn reference(
    snapshot: &L2Snapshot,
    frames: &str,
    futures: bool,
    repeat: u32,
) -> Result<String, String> {
    let load = |v: &[kucoin_proto::rest::SnapshotLevel]| -> Result<BTreeMap<_, _>, String> {
        v.iter()
            .map(|l| Ok((dec(&l.price)?, dec(&l.size)?)))
            .collect()
    };
    let apply = if futures {
        RefBook::futures
    } else {
        RefBook::spot
    };
    let lines: Vec<&str> = frames.lines().filter(|l| !l.is_empty()).collect();
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    let mut best = Best::default();
    let mut last = None;
    for _ in 0..repeat {
        let mut book = RefBook {
            bids: load(&snapshot.bids)?,
            asks: load(&snapshot.asks)?,
            last: snapshot.sequence,
        };
        let clock = Clock::start();
        for line in &lines {
            apply(&mut book, line)?;
        }
        best.keep(clock.stop());
        last = Some(book);
    }
    let book = last.ok_or("no run")?;
    let messages = lines.len() as u64;
    let bids: Vec<(Decimal, Decimal)> = book
        .bids
        .iter()
        .rev()
        .take(50)
        .map(|(p, s)| (*p, *s))
        .collect();
    let asks: Vec<(Decimal, Decimal)> = book.asks.iter().take(50).map(|(p, s)| (*p, *s)).collect();
    Ok(report(messages, bytes, best, book.last, &bids, &asks))
}
