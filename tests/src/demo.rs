//! Shared parts of the `orderbook` examples of both adapters: arguments, the live panel, the
//! JSON line and the comparison with the fake exchange's true book.

use std::fmt::Write as _;
use std::time::Duration;

use kucoin_proto::book::{Availability, Decimal, Level, OrderBook};
use kucoin_proto::feed::{FeedStats, FeedStatus};

use crate::{FakeConfig, FakeKucoin, Faults, TrueBook};

/// Starts the embedded fake exchange for the examples (faults on unless `--no-faults`), or
/// `None` when `--live` or `--rest-url` is given.
pub fn start_fake(args: &DemoArgs) -> std::io::Result<Option<FakeKucoin>> {
    if !args.embedded() {
        return Ok(None);
    }
    let base = if args.futures {
        FakeConfig::futures()
    } else {
        FakeConfig::spot()
    };
    let seed = args.seed.unwrap_or(7);
    let faults = if args.no_faults {
        Faults::none()
    } else {
        Faults::chaos(seed)
    };
    let base = if args.seed.is_some() {
        base.with_seed(seed)
    } else {
        base
    };
    let config = base
        .with_ping(2_000, 1_000)
        .with_rate(Duration::from_millis(1), 2)
        .with_faults(faults);
    FakeKucoin::start(config).map(Some)
}

/// Prints the book check of the examples: the verdict and the faults the fake injected.
pub fn print_check(fake: &FakeKucoin, truth: &TrueBook, verdict: &Result<(), String>) {
    match verdict {
        Ok(()) => println!(
            "\nbook check: IDENTICAL to the exchange's book at sequence {} ({} bid and {} ask levels)",
            truth.sequence,
            truth.bids.len(),
            truth.asks.len()
        ),
        Err(diff) => println!("\nbook check: DIFFERENT from the exchange's book: {diff}"),
    }
    let f = fake.stats().faults;
    println!(
        "faults injected: {} dropped, {} duplicated, {} overlapping, {} server closes, {} silent sockets, {} x 429000, {} reused tokens refused",
        f.dropped,
        f.duplicated,
        f.overlapped,
        f.server_closes,
        f.silenced,
        f.too_many_requests,
        f.reused_tokens
    );
}

/// Usage text of the `orderbook` examples.
pub const USAGE: &str = "\
usage: orderbook [SYMBOL] [--live] [--futures] [--rest-url URL] [--duration SECS] [--json]
                 [--runtime smol|async-std] [--no-faults] [--quiet-last SECS] [--seed N]

  SYMBOL          BTC-USDT (spot) or XBTUSDTM (futures) by default
  --live          KuCoin itself (keys from KUCOIN_API_KEY, KUCOIN_API_SECRET,
                  KUCOIN_API_PASSPHRASE give the full book; without them level2_100)
  --futures       the futures market
  --rest-url URL  any KuCoin-compatible REST base (the WebSocket URL comes from the bullet)
  --duration SECS how long to run (default 15 against the fake, forever live)
  --json          no panel; one JSON line at exit
  --runtime R     async example only: smol (default) or async-std
  --no-faults     the embedded fake exchange without injected faults
  --quiet-last S  the embedded fake's market stops moving for the last S seconds of the run
  --seed N        the embedded fake's market and fault seed (default: faults 7)

With neither --live nor --rest-url, an embedded fake KuCoin runs on 127.0.0.1 with faults on,
and at the end the book is compared with the exchange's true book.";

/// Parsed command line of the `orderbook` examples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DemoArgs {
    /// The symbol, when given.
    pub symbol: Option<String>,
    /// Talk to KuCoin itself.
    pub live: bool,
    /// The futures market.
    pub futures: bool,
    /// A KuCoin-compatible REST base URL.
    pub rest_url: Option<String>,
    /// How long to run.
    pub duration: Option<Duration>,
    /// One JSON line at exit instead of the panel.
    pub json: bool,
    /// Runtime for the async example.
    pub runtime: Option<String>,
    /// Run the embedded fake exchange without faults.
    pub no_faults: bool,
    /// The embedded fake's market goes quiet (no updates) for this last part of the run.
    pub quiet_last: Option<Duration>,
    /// Seed of the embedded fake's market and faults.
    pub seed: Option<u64>,
}

impl DemoArgs {
    /// Parses the arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<DemoArgs, String> {
        let mut out = DemoArgs::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
            };
            match arg.as_str() {
                "--live" => out.live = true,
                "--futures" => out.futures = true,
                "--json" => out.json = true,
                "--no-faults" => out.no_faults = true,
                "--rest-url" => out.rest_url = Some(value("--rest-url")?),
                "--runtime" => {
                    let r = value("--runtime")?;
                    if r != "smol" && r != "async-std" {
                        return Err(format!("--runtime must be smol or async-std, not {r:?}"));
                    }
                    out.runtime = Some(r);
                }
                "--seed" => {
                    let v = value("--seed")?;
                    let seed = v
                        .parse()
                        .map_err(|_| format!("--seed takes a whole number, not {v:?}"))?;
                    out.seed = Some(seed);
                }
                "--quiet-last" => {
                    let v = value("--quiet-last")?;
                    let secs: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| format!("--quiet-last takes seconds >= 0, not {v:?}"))?;
                    out.quiet_last = Some(Duration::from_secs_f64(secs));
                }
                "--duration" => {
                    let v = value("--duration")?;
                    let secs: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| format!("--duration takes seconds > 0, not {v:?}"))?;
                    out.duration = Some(Duration::from_secs_f64(secs));
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                s if s.starts_with('-') => return Err(format!("unknown flag {s}\n\n{USAGE}")),
                s => {
                    if out.symbol.replace(s.to_owned()).is_some() {
                        return Err(format!("only one SYMBOL, got a second: {s}"));
                    }
                }
            }
        }
        if out.live && out.rest_url.is_some() {
            return Err("--live and --rest-url exclude each other".to_owned());
        }
        Ok(out)
    }

    /// True when the embedded fake exchange is used.
    #[must_use]
    pub fn embedded(&self) -> bool {
        !self.live && self.rest_url.is_none()
    }

    /// The symbol to follow.
    #[must_use]
    pub fn symbol(&self) -> String {
        self.symbol
            .clone()
            .unwrap_or_else(|| if self.futures { "XBTUSDTM" } else { "BTC-USDT" }.to_owned())
    }
}

/// What the panel shows besides the book.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanelStats {
    /// Feed counters.
    pub feed: FeedStats,
    /// Book updates per second over the last refresh.
    pub updates_per_sec: f64,
    /// Seconds since start.
    pub elapsed: f64,
}

fn pair(l: Level) -> (String, String) {
    (l.price.to_string(), l.size.to_string())
}

/// The live panel as text (ANSI clear-screen first).
#[must_use]
pub fn panel(symbol: &str, source: &str, book: Option<&OrderBook>, s: &PanelStats) -> String {
    let mut out = String::from("\x1b[2J\x1b[H");
    let _ = writeln!(
        out,
        "kucoin-rs order book  {symbol}  ({source})  t={:.1}s",
        s.elapsed
    );
    let _ = writeln!(
        out,
        "updates/s {:>9.0}  frames {:>9}  gaps caught {:>4}  resyncs {:>4}  reconnects {:>3}",
        s.updates_per_sec, s.feed.book_frames, s.feed.gaps, s.feed.resyncs, s.feed.reconnects
    );
    let Some(book) = book else {
        let _ = writeln!(
            out,
            "\n  (syncing: waiting for a snapshot that the stream continues)"
        );
        return out;
    };
    let bid = book.best_bid().map(pair);
    let ask = book.best_ask().map(pair);
    let spread = match (book.best_bid(), book.best_ask()) {
        (Some(b), Some(a)) => a.price.to_raw().checked_sub(b.price.to_raw()).map_or_else(
            || "crossed!".to_owned(),
            |d| Decimal::from_raw(d).to_string(),
        ),
        _ => "-".to_owned(),
    };
    let _ = writeln!(
        out,
        "sequence {}  best bid {}  best ask {}  spread {spread}\n",
        book.sequence(),
        bid.map_or("-".into(), |(p, s)| format!("{p} x {s}")),
        ask.map_or("-".into(), |(p, s)| format!("{p} x {s}")),
    );
    let _ = writeln!(
        out,
        "{:>16} {:>14} | {:<14} {:<16}",
        "bid size", "bid", "ask", "ask size"
    );
    let (bids, asks) = book.top_n(10);
    let bids: Vec<_> = bids.map(pair).collect();
    let asks: Vec<_> = asks.map(pair).collect();
    for i in 0..bids.len().max(asks.len()) {
        let (bp, bs) = bids.get(i).cloned().unwrap_or_default();
        let (ap, as_) = asks.get(i).cloned().unwrap_or_default();
        let _ = writeln!(out, "{bs:>16} {bp:>14} | {ap:<14} {as_:<16}");
    }
    out
}

/// The one JSON line of `--json`: counters, the book's availability (percent of the run it was
/// shown, two decimals, and its longest absence in ms; `null` if unknown) and the top 50
/// levels, canonical decimal strings, keys in the documented order.
#[must_use]
pub fn json_line(
    symbol: &str,
    book: Option<&OrderBook>,
    stats: &FeedStats,
    availability: Option<Availability>,
) -> String {
    let side = |levels: Vec<(String, String)>| {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, s)| format!("[{},{}]", json_str(p), json_str(s)))
            .collect();
        format!("[{}]", items.join(","))
    };
    let (sequence, bids, asks) = match book {
        Some(b) => {
            let (bids, asks) = b.top_n(50);
            (
                b.sequence().to_string(),
                side(bids.map(pair).collect()),
                side(asks.map(pair).collect()),
            )
        }
        None => ("null".to_owned(), "[]".to_owned(), "[]".to_owned()),
    };
    let (pct, max_ms) = match availability {
        Some(a) => (format!("{:.2}", a.pct()), a.max_unavailable_ms.to_string()),
        None => ("null".to_owned(), "null".to_owned()),
    };
    format!(
        r#"{{"symbol":{},"sequence":{sequence},"messages":{},"gaps":{},"resyncs":{},"reconnects":{},"available_pct":{pct},"max_unavailable_ms":{max_ms},"bids":{bids},"asks":{asks}}}"#,
        json_str(symbol),
        stats.book_frames,
        stats.gaps,
        stats.resyncs,
        stats.reconnects,
    )
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Compares a client's book with the exchange's true book; `Err` describes the first differences.
pub fn compare(book: &OrderBook, truth: &TrueBook) -> Result<(), String> {
    let mut problems = Vec::new();
    if book.sequence() != truth.sequence {
        problems.push(format!(
            "sequence {} vs exchange {}",
            book.sequence(),
            truth.sequence
        ));
    }
    let bids: Vec<_> = book.bids().map(pair).collect();
    let asks: Vec<_> = book.asks().map(pair).collect();
    for (name, ours, theirs) in [("bids", &bids, &truth.bids), ("asks", &asks, &truth.asks)] {
        if ours.len() != theirs.len() {
            problems.push(format!(
                "{name}: {} levels vs exchange {}",
                ours.len(),
                theirs.len()
            ));
        }
        if let Some(i) = ours.iter().zip(theirs.iter()).position(|(a, b)| a != b) {
            problems.push(format!(
                "{name}[{i}]: {:?} vs exchange {:?}",
                ours[i], theirs[i]
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The feed's state and last failure as one panel line:
/// `state: backoff (attempt 2, next try in 1.4 s)  last error: bullet: cannot connect: ...`.
#[must_use]
pub fn status_line(status: &FeedStatus, now: std::time::Instant) -> String {
    match &status.last_failure {
        Some(f) => format!(
            "state: {}  last error: {}",
            status.state.describe(now),
            f.describe(now)
        ),
        None => format!("state: {}", status.state.describe(now)),
    }
}

/// [`panel`] with the feed's state and last failure under the counters; while the book is not
/// shown, the state says why instead of the generic syncing line.
#[must_use]
pub fn panel_with_status(
    symbol: &str,
    source: &str,
    book: Option<&OrderBook>,
    s: &PanelStats,
    status: &FeedStatus,
    now: std::time::Instant,
) -> String {
    let text = panel(symbol, source, book, s);
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line = format!("{}\n", status_line(status, now));
    let generic = "  (syncing: waiting for a snapshot that the stream continues)\n";
    let why;
    if book.is_none() && status.state != kucoin_proto::feed::FeedState::Syncing {
        why = format!("  (no book while {})\n", status.state.name());
        lines.retain(|l| *l != generic);
        lines.push(&why);
    }
    lines.insert(2.min(lines.len()), &line);
    lines.concat()
}

/// Adds the feed's state and last failure to a [`json_line`], before `bids`:
/// `"state":"backoff","last_error":"bullet: cannot connect: ... (next try in 0.4 s)",
/// "error_kind":"connect","retry_in_ms":412` (`null`s when there is no failure).
#[must_use]
pub fn with_status(line: &str, status: &FeedStatus, now: std::time::Instant) -> String {
    let (err, kind, retry) = match &status.last_failure {
        Some(f) => (
            json_str(&f.describe(now)),
            json_str(f.cause.kind()),
            f.retry_in(now)
                .map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string()),
        ),
        None => ("null".to_owned(), "null".to_owned(), "null".to_owned()),
    };
    let fields = format!(
        r#","state":{},"last_error":{err},"error_kind":{kind},"retry_in_ms":{retry},"bids":"#,
        json_str(status.state.name())
    );
    line.replacen(r#","bids":"#, &fields, 1)
}

/// The exit code of a run that followed a feed (the examples and the `kucoin` tool agree):
/// 0 when it was live at some point; else 4 when KuCoin refused the key or a permission, 5 for
/// another KuCoin error, 3 otherwise (KuCoin could not be reached: DNS, connect, TLS, timeout,
/// or no usable answer).
#[must_use]
pub fn feed_exit_code(reached_live: bool, status: &FeedStatus) -> u8 {
    if reached_live {
        return 0;
    }
    match &status.last_failure {
        Some(f) if f.cause.is_refusal() => 4,
        Some(f) if matches!(f.cause, kucoin_proto::feed::FailureCause::KuCoin { .. }) => 5,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<DemoArgs, String> {
        DemoArgs::parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn no_arguments_mean_the_embedded_fake_and_btc_usdt() {
        let a = args("").unwrap();
        assert!(a.embedded());
        assert_eq!(a.symbol(), "BTC-USDT");
        assert_eq!(args("--futures").unwrap().symbol(), "XBTUSDTM");
    }

    #[test]
    fn flags_parse_and_bad_ones_explain_themselves() {
        let a = args("ETH-USDT --rest-url http://127.0.0.1:9 --duration 2.5 --json").unwrap();
        assert_eq!(a.symbol(), "ETH-USDT");
        assert!(!a.embedded());
        assert_eq!(a.duration, Some(Duration::from_millis(2500)));
        assert!(a.json);
        assert!(args("--duration -1").unwrap_err().contains("seconds"));
        assert!(args("--bogus").unwrap_err().contains("unknown flag"));
        assert!(args("--live --rest-url http://x").is_err());
        assert!(args("--runtime tokio").unwrap_err().contains("smol"));
        let q = args("--quiet-last 8 --seed 3").unwrap();
        assert_eq!(q.quiet_last, Some(Duration::from_secs(8)));
        assert_eq!(q.seed, Some(3));
        assert!(args("--quiet-last -2").unwrap_err().contains("seconds"));
        assert!(args("--seed x").unwrap_err().contains("whole number"));
    }

    #[test]
    fn json_line_has_the_documented_keys() {
        let line = json_line("BTC-USDT", None, &FeedStats::default(), None);
        assert!(
            line.starts_with(r#"{"symbol":"BTC-USDT","sequence":null,"messages":0,"#),
            "{line}"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        for key in [
            "symbol",
            "sequence",
            "messages",
            "gaps",
            "resyncs",
            "reconnects",
            "available_pct",
            "max_unavailable_ms",
            "bids",
            "asks",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 10, "{keys:?}");
        assert!(
            line.contains(
                r#""reconnects":0,"available_pct":null,"max_unavailable_ms":null,"bids""#
            )
        );
        let a = Availability::new(9_000, 12_000, 2_500);
        let line = json_line("BTC-USDT", None, &FeedStats::default(), Some(a));
        assert!(
            line.contains(r#""available_pct":75.00,"max_unavailable_ms":2500,"#),
            "{line}"
        );
    }
}
