//! Replays a recorded level-2 feed through `Feed::handle_frame`, the path the adapters use.
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

use kucoin_proto::book::Levels;
use kucoin_proto::feed::FeedMarket;
use kucoin_proto::market::{Futures, Spot, Symbol};
use kucoin_proto::replay::Replay;
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
    // Fail early, with KuCoin's error if the file holds one, rather than deep in the replay.
    let _: L2Snapshot = parse_envelope(200, &snap_bytes).map_err(|e| e.to_string())?;
    let frames =
        std::fs::read_to_string(&args.frames).map_err(|e| format!("{}: {e}", args.frames))?;
    if args.futures {
        let sym = args.symbol.clone().unwrap_or_else(|| "XBTUSDTM".into());
        replay::<Futures>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            snap_bytes.clone(),
            &frames,
        )
    } else {
        let sym = args.symbol.clone().unwrap_or_else(|| "BTC-USDT".into());
        replay::<Spot>(
            Symbol::new(sym).map_err(|e| e.to_string())?,
            snap_bytes.clone(),
            &frames,
        )
    }
}

fn replay<M: FeedMarket>(
    symbol: Symbol<M>,
    snapshot: Vec<u8>,
    frames: &str,
) -> Result<String, String> {
    let t0 = Instant::now();
    // A Feed, live on a scripted connection: each frame takes the adapters' path
    // (Feed::handle_frame: session header scan or fast topic route, then the book).
    let mut replay = Replay::new(symbol, snapshot, t0).map_err(|e| e.to_string())?;
    let mut messages = 0u64;
    let start = Instant::now();
    for line in frames.lines().filter(|l| !l.is_empty()) {
        replay.frame(line);
        messages += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
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
