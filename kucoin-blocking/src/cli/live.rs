//! `kucoin stream`, `kucoin book` and `kucoin record`: a live [`BookFeed`] that always says
//! what it is doing and why it is not live.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use kucoin_proto::feed::{FeedEvent, FeedMarket, FeedState, FeedStatus};
use kucoin_proto::ws::channels::{self, Host};
use kucoin_proto::ws::{SessionConfig, Topic};
use kucoin_proto::{Futures, Market, Spot, Symbol};
use kucoin_tests::demo::{self, PanelStats};
use kucoin_tests::{FakeConfig, FakeKucoin};

use super::record::{RecordHeader, Recorder, Subscription};
use super::{EXIT_FAILED, EXIT_USAGE, Opts};
use crate::{BookFeed, Config};

/// What the live run does with the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Book,
    Record,
}

pub(super) fn run(
    o: &Opts,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mode = match o.command.as_str() {
        "stream" => Mode::Stream,
        "book" => Mode::Book,
        _ => Mode::Record,
    };
    if o.positional.is_empty() {
        let what = if mode == Mode::Book {
            "a SYMBOL"
        } else {
            "at least one TOPIC"
        };
        let _ = writeln!(err, "error: {} needs {what}", o.command);
        return EXIT_USAGE;
    }
    if mode == Mode::Record && o.out.is_none() {
        let _ = writeln!(err, "error: record needs --out FILE");
        return EXIT_USAGE;
    }
    // What to follow, in order, and on which host.
    let mut subs = Vec::new();
    let mut futures = o.futures;
    let mut private = false;
    if mode == Mode::Book {
        if o.positional.len() > 1 {
            let _ = writeln!(err, "error: book takes one SYMBOL");
            return EXIT_USAGE;
        }
        let symbol = o.positional[0].clone();
        futures |= !symbol.contains('-');
        subs.push(Subscription::Book(symbol));
    } else {
        let mut hosts = Vec::new();
        for topic in &o.positional {
            let Some(route) = channels::route(topic, "") else {
                let _ = writeln!(
                    err,
                    "error: {topic:?} is not a KuCoin channel topic (e.g. /market/ticker:BTC-USDT)"
                );
                return EXIT_USAGE;
            };
            hosts.push(route.kind.host());
            private |= route.kind.is_private();
            let level2 = matches!(
                route.kind,
                channels::ChannelKind::SpotLevel2 | channels::ChannelKind::FuturesLevel2
            );
            match (mode, level2, route.param) {
                (Mode::Record, true, Some(symbol)) => {
                    subs.push(Subscription::Book(symbol.to_owned()));
                }
                _ => subs.push(Subscription::Topic(topic.clone())),
            }
        }
        hosts.dedup();
        if hosts.len() > 1 {
            let _ = writeln!(
                err,
                "error: spot and futures topics need separate runs (two hosts)"
            );
            return EXIT_USAGE;
        }
        futures = hosts.first() == Some(&Host::Futures);
    }
    let run = Run {
        o,
        mode,
        subs,
        private,
        credentials: super::credentials(env, o.fake),
    };
    if futures {
        run.go::<Futures>(out, err)
    } else {
        run.go::<Spot>(out, err)
    }
}

struct Run<'a> {
    o: &'a Opts,
    mode: Mode,
    subs: Vec<Subscription>,
    private: bool,
    credentials: Option<kucoin_proto::auth::Credentials>,
}

impl Run<'_> {
    fn go<M: FeedMarket>(self, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
        let o = self.o;
        let fake = if o.fake {
            let config = if M::NAME == Futures::NAME {
                FakeConfig::futures()
            } else {
                FakeConfig::spot()
            };
            match FakeKucoin::start(config) {
                Ok(f) => Some(f),
                Err(e) => {
                    let _ = writeln!(err, "error: the embedded fake did not start: {e}");
                    return EXIT_FAILED;
                }
            }
        } else {
            None
        };
        let built = self.config::<M>(fake.as_ref());
        let (config, source) = match built {
            Ok(c) => c,
            Err(msg) => {
                let _ = writeln!(err, "error: {msg}");
                return EXIT_USAGE;
            }
        };
        let header = RecordHeader::new(
            M::NAME,
            config.feed_config().session.seed,
            config.feed_config().session.private,
            config.rest_client().has_signer(),
            self.subs.clone(),
        );
        let mut feed = match BookFeed::new(config) {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return EXIT_USAGE;
            }
        };
        let t0 = Instant::now();
        if self.mode == Mode::Record {
            let path = o.out.as_deref().unwrap_or_default();
            match Recorder::create(path, &header, t0) {
                Ok(rec) => feed.set_tap(rec.into_tap()),
                Err(e) => {
                    let _ = writeln!(err, "error: cannot write {path}: {e}");
                    return EXIT_FAILED;
                }
            }
        }
        let mut books = Vec::new();
        for sub in &self.subs {
            let added = match sub {
                Subscription::Book(s) => Symbol::<M>::new(s.as_str())
                    .map_err(|e| e.to_string())
                    .and_then(|sym| {
                        books.push(sym.clone());
                        feed.add_book(sym).map_err(|e| e.to_string())
                    }),
                Subscription::Topic(t) => Topic::parse(t)
                    .map_err(|e| e.to_string())
                    .and_then(|topic| feed.subscribe(topic).map_err(|e| e.to_string())),
            };
            if let Err(e) = added {
                let _ = writeln!(err, "error: {e}");
                return EXIT_USAGE;
            }
        }
        let code = self.drive(&mut feed, &books, &source, t0, out, err);
        feed.close();
        drop(fake);
        code
    }

    fn config<M: FeedMarket>(
        &self,
        fake: Option<&FakeKucoin>,
    ) -> Result<(Config<M>, String), String> {
        let mut config = Config::<M>::new();
        let url = fake
            .map(|f| f.rest_url())
            .or_else(|| self.o.rest_url.clone());
        if let Some(url) = &url {
            config = config.rest_url(url).map_err(|e| e.to_string())?;
        }
        if let Some(creds) = self.credentials.clone() {
            config = config.credentials(creds).map_err(|e| e.to_string())?;
        } else if self.private {
            return Err(
                "private topics need KUCOIN_API_KEY, KUCOIN_API_SECRET and KUCOIN_API_PASSPHRASE"
                    .into(),
            );
        }
        let mut session = if self.private {
            SessionConfig::private()
        } else {
            SessionConfig::public()
        };
        session = session
            .with_seed(config.feed_config().session.seed)
            .with_max_attempts(self.o.attempts);
        config = config.session(session);
        let source = match fake {
            Some(_) => format!("embedded fake exchange at {}", url.unwrap_or_default()),
            None => config.rest_client().base_url().to_owned(),
        };
        Ok((config, source))
    }

    fn drive<M: FeedMarket>(
        &self,
        feed: &mut BookFeed<M>,
        books: &[Symbol<M>],
        source: &str,
        t0: Instant,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> u8 {
        let o = self.o;
        let end = o.duration.map(|d| t0 + d);
        let panel = self.mode == Mode::Book && !o.json;
        let interval = if panel {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        };
        let mut next_draw = t0;
        let mut reached_live = false;
        let mut shown: Option<(&'static str, Option<Instant>)> = None;
        let (mut last_frames, mut last_draw) = (0, t0);
        loop {
            let now = Instant::now();
            if end.is_some_and(|e| now >= e) || feed.is_ended() {
                break;
            }
            let until = end.map_or(next_draw, |e| e.min(next_draw)).max(now);
            while let Some(event) = feed.next_event_until(until) {
                match event {
                    FeedEvent::Message(m) if self.mode == Mode::Stream => {
                        let line = typed_line(&m.topic, m.subject.as_deref(), &m.data);
                        let _ = writeln!(out, "{line}");
                    }
                    other => log::debug!("{other:?}"),
                }
                reached_live |= feed.state() == FeedState::Live;
                if self.report(feed, &mut shown, books, out, err) {
                    break;
                }
            }
            reached_live |= feed.state() == FeedState::Live;
            self.report(feed, &mut shown, books, out, err);
            let now = Instant::now();
            if now >= next_draw {
                if panel {
                    let stats = feed.feed().stats();
                    let dt = last_draw.elapsed().as_secs_f64().max(1e-6);
                    let p = PanelStats {
                        feed: stats,
                        updates_per_sec: (stats.book_frames - last_frames) as f64 / dt,
                        elapsed: t0.elapsed().as_secs_f64(),
                    };
                    let sym = &books[0];
                    let text = demo::panel_with_status(
                        sym.as_str(),
                        source,
                        feed.book(sym),
                        &p,
                        &feed.status(),
                        now,
                    );
                    let _ = write!(out, "{text}");
                    let _ = out.flush();
                    (last_frames, last_draw) = (stats.book_frames, now);
                } else if self.mode == Mode::Book {
                    let _ = writeln!(out, "{}", book_line(feed, &books[0], now));
                }
                next_draw = now + interval;
            }
        }
        let now = Instant::now();
        let status = feed.status();
        if self.mode == Mode::Book && o.json {
            let _ = writeln!(out, "{}", book_line(feed, &books[0], now));
        }
        let code = super::feed_exit_code(reached_live, &status);
        if code != super::EXIT_OK {
            let why = status
                .last_failure
                .as_ref()
                .map_or_else(|| "no failure reported".to_owned(), |f| f.describe(now));
            let _ = writeln!(
                err,
                "never live ({}); last error: {why}",
                status.state.describe(now)
            );
        }
        code
    }

    /// Says when the state or the last failure changed (book --json: a JSON line on stdout;
    /// otherwise a line on stderr, which the panel also shows). True when something was said.
    fn report<M: FeedMarket>(
        &self,
        feed: &BookFeed<M>,
        shown: &mut Option<(&'static str, Option<Instant>)>,
        books: &[Symbol<M>],
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> bool {
        let status = feed.status();
        let key = (
            status.state.name(),
            status.last_failure.as_ref().map(|f| f.at),
        );
        if *shown == Some(key) {
            return false;
        }
        *shown = Some(key);
        let now = Instant::now();
        match self.mode {
            Mode::Book if self.o.json => {
                let _ = writeln!(out, "{}", book_line(feed, &books[0], now));
                let _ = out.flush();
            }
            Mode::Book => {}
            _ => {
                let _ = writeln!(err, "{}", status_text(&status, now));
            }
        }
        true
    }
}

fn status_text(status: &FeedStatus, now: Instant) -> String {
    demo::status_line(status, now)
}

fn book_line<M: FeedMarket>(feed: &BookFeed<M>, symbol: &Symbol<M>, now: Instant) -> String {
    let line = demo::json_line(
        symbol.as_str(),
        feed.book(symbol),
        &feed.feed().stats(),
        feed.availability(symbol),
    );
    demo::with_status(&line, &feed.status(), now)
}

/// One message as a JSON line: its topic, subject, channel and typed data (decimals exact);
/// a message that does not decode keeps its raw data and says why.
fn typed_line(topic: &str, subject: Option<&str>, data: &str) -> String {
    let mut line = serde_json::Map::new();
    line.insert("topic".into(), topic.into());
    line.insert("subject".into(), subject.unwrap_or_default().into());
    match channels::decode(topic, subject.unwrap_or_default(), data) {
        Ok(decoded) => {
            line.insert("channel".into(), decoded.kind.name().into());
            let typed = serde_json::to_value(&decoded.message).unwrap_or_default();
            line.insert("data".into(), typed);
        }
        Err(e) => {
            line.insert("error".into(), e.to_string().into());
            let raw = serde_json::from_str(data).unwrap_or_else(|_| data.into());
            line.insert("data".into(), raw);
        }
    }
    serde_json::Value::Object(line).to_string()
}
