//! The `kucoin` command-line tool (feature `cli`): any REST operation, typed streams, the live
//! book panel, and recording a session to replay it offline on virtual time.
//!
//! The binary (`src/bin/kucoin.rs`) only calls [`run`] with the process's arguments,
//! environment and standard streams, so everything here is testable in-process.
//!
//! ```text
//! kucoin call --list
//! kucoin call OPERATION [name=value ...]       e.g. call spot.market.getTicker symbol=BTC-USDT
//! kucoin stream TOPIC ...                      e.g. stream /market/ticker:BTC-USDT
//! kucoin book SYMBOL [--json]
//! kucoin record --out FILE TOPIC ...           level-2 topics are recorded as books
//! kucoin replay FILE
//! ```
//!
//! Exit codes: [`EXIT_OK`] (ran and ended normally), [`EXIT_FAILED`], [`EXIT_USAGE`],
//! [`EXIT_UNREACHABLE`] (could not reach KuCoin), [`EXIT_REFUSED`] (KuCoin refused the key or a
//! permission), [`EXIT_KUCOIN_ERROR`] (KuCoin answered with another error).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use kucoin_proto::auth::Credentials;
use kucoin_proto::feed::{FailureCause, FeedStatus};

mod call;
mod live;
mod record;

pub use record::{RecordHeader, Subscription, replay_lines};

/// Ran and ended normally.
pub const EXIT_OK: u8 = 0;
/// Something else failed (a file could not be written, a recording is malformed).
pub const EXIT_FAILED: u8 = 1;
/// The command line is wrong: an unknown operation or flag, a bad parameter.
pub const EXIT_USAGE: u8 = 2;
/// KuCoin (or the `--rest-url` server) could not be reached: DNS, TCP, TLS, timeout, or no
/// usable connection before the end of the run.
pub const EXIT_UNREACHABLE: u8 = 3;
/// KuCoin refused the credentials or a permission (`400003`, `400005`, `400007`, ...).
pub const EXIT_REFUSED: u8 = 4;
/// KuCoin answered with another error (bad request, rate limit, server trouble).
pub const EXIT_KUCOIN_ERROR: u8 = 5;

const USAGE: &str = "\
usage: kucoin [OPTIONS] COMMAND ...

commands:
  call --list                        every REST operation with its method, path, pool and weight
  call OPERATION [name=value ...]    one REST operation; prints its typed answer as JSON
  stream TOPIC ...                   typed messages as JSON lines (e.g. /market/ticker:BTC-USDT)
  book SYMBOL                        the live order-book panel (--json: JSON lines)
  record --out FILE TOPIC ...        every frame and REST answer of the feed, as JSON lines
                                     (level-2 topics are followed as books)
  replay FILE                        the recording through the core on virtual time; final books

options:
  --rest-url URL     a KuCoin-compatible REST base URL (for every host)
  --fake             run against the embedded fake KuCoin on 127.0.0.1
  --futures          book: the futures market (the default for symbols without '-')
  --json             book: JSON lines instead of the panel
  --duration SECS    stream/book/record: stop after SECS (otherwise run until interrupted)
  --attempts N       stream/book/record: give up after N failed connection attempts in a row
  -v, --verbose      call: print the rate-limit budget of the answer
  -h, --help         this text

credentials: KUCOIN_API_KEY, KUCOIN_API_SECRET, KUCOIN_API_PASSPHRASE (the fake's own with --fake)
logging: RUST_LOG (default warn), on stderr
exit codes: 0 ended normally, 1 other failure, 2 usage, 3 could not reach KuCoin,
            4 KuCoin refused (auth, permission), 5 other KuCoin error";

/// The parsed command line.
#[derive(Debug, Clone, Default)]
struct Opts {
    command: String,
    rest_url: Option<String>,
    fake: bool,
    futures: bool,
    json: bool,
    verbose: bool,
    list: bool,
    duration: Option<Duration>,
    attempts: Option<u32>,
    out: Option<String>,
    positional: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--rest-url" => o.rest_url = Some(value("--rest-url")?),
            "--fake" => o.fake = true,
            "--futures" => o.futures = true,
            "--json" => o.json = true,
            "-v" | "--verbose" => o.verbose = true,
            "--list" => o.list = true,
            "--out" => o.out = Some(value("--out")?),
            "--duration" => {
                let v = value("--duration")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--duration takes seconds > 0, not {v:?}"))?;
                o.duration = Some(Duration::from_secs_f64(secs));
            }
            "--attempts" => {
                let v = value("--attempts")?;
                let n: u32 = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--attempts takes a whole number > 0, not {v:?}"))?;
                o.attempts = Some(n);
            }
            "-h" | "--help" => o.command = "help".into(),
            s if s.starts_with('-') && s.len() > 1 && !s.contains('=') => {
                return Err(format!("unknown option {s}"));
            }
            s if o.command.is_empty() => o.command = s.to_owned(),
            s => o.positional.push(s.to_owned()),
        }
    }
    if o.fake && o.rest_url.is_some() {
        return Err("--fake and --rest-url exclude each other".into());
    }
    Ok(o)
}

/// Runs the tool with `args` (without the program name) and the environment `env`, writing
/// results to `out` and messages to `err`; returns the exit code.
pub fn run(
    args: &[String],
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(msg) => {
            let _ = writeln!(err, "error: {msg}\n\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    let code = match o.command.as_str() {
        "help" => {
            let _ = writeln!(out, "{USAGE}");
            EXIT_OK
        }
        "call" => call::run(&o, env, out, err),
        "stream" | "book" | "record" => live::run(&o, env, out, err),
        "replay" => record::run_replay(&o, out, err),
        "" => {
            let _ = writeln!(err, "error: no command\n\n{USAGE}");
            EXIT_USAGE
        }
        other => {
            let _ = writeln!(err, "error: unknown command {other:?}\n\n{USAGE}");
            EXIT_USAGE
        }
    };
    let _ = out.flush();
    code
}

/// The exit code for a failure: [`EXIT_REFUSED`] for a refused key or permission,
/// [`EXIT_KUCOIN_ERROR`] for another KuCoin code, [`EXIT_UNREACHABLE`] for the rest.
#[must_use]
pub fn exit_code_for(cause: &FailureCause) -> u8 {
    if cause.is_refusal() {
        EXIT_REFUSED
    } else if matches!(cause, FailureCause::KuCoin { .. }) {
        EXIT_KUCOIN_ERROR
    } else {
        EXIT_UNREACHABLE
    }
}

/// The exit code of a feed that ran until its end: [`EXIT_OK`] when it was live at some point,
/// else what its last failure says ([`EXIT_UNREACHABLE`] when there is none: it never got
/// through).
#[must_use]
pub fn feed_exit_code(reached_live: bool, status: &FeedStatus) -> u8 {
    // The examples use the same rule.
    kucoin_tests::demo::feed_exit_code(reached_live, status)
}

/// Credentials from `KUCOIN_API_KEY`, `KUCOIN_API_SECRET`, `KUCOIN_API_PASSPHRASE` (all three
/// set and not empty); with `fake`, the fake exchange's own when they are not set.
fn credentials(env: &BTreeMap<String, String>, fake: bool) -> Option<Credentials> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    match (
        get("KUCOIN_API_KEY"),
        get("KUCOIN_API_SECRET"),
        get("KUCOIN_API_PASSPHRASE"),
    ) {
        (Some(k), Some(s), Some(p)) => Some(Credentials::new(k, s, p)),
        _ if fake => Some(Credentials::new(
            kucoin_tests::TEST_API_KEY,
            kucoin_tests::TEST_API_SECRET,
            kucoin_tests::TEST_API_PASSPHRASE,
        )),
        _ => None,
    }
}
