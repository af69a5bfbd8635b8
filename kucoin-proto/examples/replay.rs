//! Replays a recorded level-2 feed through `BookSync::handle_frame`, the path the adapters use.
//!
//! ```text
//! cargo run --release -p kucoin-proto --example replay -- --snapshot FILE --frames FILE [--futures] [--symbol S]
//! ```
//!
//! The snapshot file is a REST answer (`{"code":"200000","data":{…}}`); the frames file has one
//! WebSocket text frame per line. Prints one JSON line: message count, time, rate, the final
//! sequence and the top 50 levels a side as canonical decimal strings.
#![allow(clippy::disallowed_methods)] // an example may read the clock

use std::process::ExitCode;
use std::time::Instant;

use kucoin_proto::book::{BookConfig, BookMarket, BookSync, Levels, SnapshotRequest};
use kucoin_proto::book::{BookState, SpotSnapshotSource};
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::rest::{L2Snapshot, parse_envelope};

struct Args {
    snapshot: String,
    frames: String,
    futures: bool,
    symbol: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut snapshot, mut frames, mut futures, mut symbol) = (None, None, false, None);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--snapshot" => snapshot = it.next(),
            "--frames" => frames = it.next(),
            "--futures" => futures = true,
            "--symbol" => symbol = it.next(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        snapshot: snapshot.ok_or("--snapshot FILE is required")?,
        frames: frames.ok_or("--frames FILE is required")?,
        futures,
        symbol,
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
    let snapshot: L2Snapshot = parse_envelope(200, &snap_bytes).map_err(|e| e.to_string())?;
    let frames =
        std::fs::read_to_string(&args.frames).map_err(|e| format!("{}: {e}", args.frames))?;
    if args.futures {
        let sym = args.symbol.clone().unwrap_or_else(|| "XBTUSDTM".into());
        replay::<Futures>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            &snapshot,
            &frames,
        )
    } else {
        let sym = args.symbol.clone().unwrap_or_else(|| "BTC-USDT".into());
        replay::<Spot>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            &snapshot,
            &frames,
        )
    }
}

fn replay<M: BookMarket>(
    symbol: Symbol<M>,
    snapshot: &L2Snapshot,
    frames: &str,
) -> Result<String, String> {
    let mut config = BookConfig::default();
    config.spot_snapshot = SpotSnapshotSource::Full; // the recorded snapshot is a full one
    let t0 = Instant::now();
    let mut sync = BookSync::new(symbol, config, t0);
    let mut lines = frames.lines().filter(|l| !l.is_empty());
    let mut messages = 0u64;
    let start = Instant::now();
    // First frame: buffered, and the book asks for its snapshot; answer with the recorded one.
    if let Some(first) = lines.next() {
        sync.handle_frame(t0, first).map_err(|e| e.to_string())?;
        messages += 1;
    }
    let request: Option<SnapshotRequest> = sync.poll_fetch();
    if request.is_none() {
        return Err("the book did not ask for a snapshot".into());
    }
    sync.handle_snapshot(t0, snapshot)
        .map_err(|e| e.to_string())?;
    for line in lines {
        sync.handle_frame(t0, line).map_err(|e| e.to_string())?;
        messages += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    while let Some(ev) = sync.poll_event() {
        if !matches!(
            ev,
            kucoin_proto::book::BookEvent::Updated { .. }
                | kucoin_proto::book::BookEvent::Synced { .. }
        ) {
            eprintln!("replay: event {ev:?}");
        }
    }
    if sync.state() != BookState::Live {
        return Err(format!("book is not live at the end: {:?}", sync.state()));
    }
    if sync.fallback_decodes() > 0 {
        eprintln!(
            "replay: {} frames needed the serde_json fallback",
            sync.fallback_decodes()
        );
    }
    let book = sync.book().ok_or("no book")?;
    let (bids, asks) = book.top_n(50);
    Ok(format!(
        r#"{{"messages":{messages},"seconds":{seconds:.6},"msgs_per_sec":{:.0},"sequence":{},"bids":{},"asks":{}}}"#,
        messages as f64 / seconds,
        book.sequence(),
        levels_json(bids),
        levels_json(asks),
    ))
}

fn levels_json(levels: Levels<'_>) -> String {
    let items: Vec<String> = levels
        .map(|l| format!(r#"["{}","{}"]"#, l.price, l.size))
        .collect();
    format!("[{}]", items.join(","))
}
