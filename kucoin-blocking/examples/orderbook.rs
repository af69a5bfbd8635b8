//! The main job: a live level-2 order book with a panel.
//!
//! `cargo run --release -p kucoin-blocking --example orderbook` starts an embedded fake KuCoin
//! on 127.0.0.1 (faults on), syncs BTC-USDT through this adapter and checks the result against
//! the exchange's true book. `-- --live` talks to KuCoin itself. `-- --help` lists the flags.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::feed::{FeedMarket, FeedState};
use kucoin_blocking::proto::{Futures, Spot, Symbol};
use kucoin_blocking::{BookFeed, Config};
use kucoin_tests::demo::{self, DemoArgs, PanelStats};

fn main() -> ExitCode {
    // RUST_LOG=debug shows every event; unset, warnings (failures and their causes) are shown.
    kucoin_blocking::log_env::init();
    let args = match DemoArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let result = if args.futures {
        run::<Futures>(&args)
    } else {
        run::<Spot>(&args)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn live_credentials() -> Option<Credentials> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some(Credentials::new(
        get("KUCOIN_API_KEY")?,
        get("KUCOIN_API_SECRET")?,
        get("KUCOIN_API_PASSPHRASE")?,
    ))
}

fn run<M: FeedMarket>(args: &DemoArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let symbol = args.symbol();
    let fake = demo::start_fake(args)?;
    let mut config = Config::<M>::new();
    let source = if let Some(fake) = &fake {
        config = config
            .rest_url(&fake.rest_url())?
            .credentials(Credentials::new(
                kucoin_tests::TEST_API_KEY,
                kucoin_tests::TEST_API_SECRET,
                kucoin_tests::TEST_API_PASSPHRASE,
            ))?;
        format!("embedded fake exchange at {}", fake.rest_url())
    } else {
        if let Some(url) = &args.rest_url {
            config = config.rest_url(url)?;
        }
        if let Some(creds) = live_credentials() {
            config = config.credentials(creds)?;
        }
        config.rest_client().base_url().to_owned()
    };
    let sym = Symbol::<M>::new(symbol.as_str())?;
    let mut feed = BookFeed::new(config)?;
    feed.add_book(sym.clone())?;

    let start = Instant::now();
    let duration = args
        .duration
        .or(fake.as_ref().map(|_| Duration::from_secs(15)));
    let end = duration.map(|d| start + d);
    // --quiet-last: the embedded exchange stops moving for the end of the run.
    let mut quiet_at = match (&fake, end, args.quiet_last) {
        (Some(_), Some(end), Some(q)) => Some(end.checked_sub(q).unwrap_or(start)),
        _ => None,
    };
    let mut next_draw = start;
    let (mut last_frames, mut last_draw) = (0, start);
    let mut reached_live = false;
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            break;
        }
        if let (Some(at), Some(fake)) = (quiet_at, &fake)
            && now >= at
        {
            fake.pause_updates();
            quiet_at = None;
        }
        let until = end.map_or(next_draw, |e| e.min(next_draw));
        let until = quiet_at.map_or(until, |q| until.min(q));
        while let Some(event) = feed.next_event_until(until) {
            log::debug!("{event:?}");
            reached_live |= feed.feed().state() == FeedState::Live;
        }
        reached_live |= feed.feed().state() == FeedState::Live;
        if !args.json && Instant::now() >= next_draw {
            let stats = feed.feed().stats();
            let dt = last_draw.elapsed().as_secs_f64().max(1e-6);
            let panel = PanelStats {
                feed: stats,
                updates_per_sec: (stats.book_frames - last_frames) as f64 / dt,
                elapsed: start.elapsed().as_secs_f64(),
            };
            let status = feed.feed().status();
            print!(
                "{}",
                demo::panel_with_status(
                    &symbol,
                    &source,
                    feed.book(&sym),
                    &panel,
                    &status,
                    Instant::now()
                )
            );
            (last_frames, last_draw) = (stats.book_frames, Instant::now());
            next_draw = Instant::now() + Duration::from_millis(250);
        } else if args.json && Instant::now() >= next_draw {
            // No panel, but the loop must still wait for events (a past deadline runs nothing).
            next_draw = Instant::now() + Duration::from_millis(250);
        }
    }

    let mut code = ExitCode::SUCCESS;
    if let Some(fake) = &fake {
        // Freeze the exchange, let the client catch up, and compare book for book.
        fake.pause_updates();
        let truth = fake
            .true_book(&symbol)
            .ok_or("the fake does not list this symbol")?;
        let give_up = Instant::now() + Duration::from_secs(15);
        while feed.book(&sym).map(|b| b.sequence()) != Some(truth.sequence)
            && Instant::now() < give_up
        {
            let _ = feed.next_event_until(Instant::now() + Duration::from_millis(20));
        }
        let verdict = match feed.book(&sym) {
            Some(book) => demo::compare(book, &truth),
            None => Err("the book is not synced".to_owned()),
        };
        if !args.json {
            demo::print_check(fake, &truth, &verdict);
        }
        if verdict.is_err() {
            code = ExitCode::FAILURE;
        }
    }
    if args.json {
        let line = demo::json_line(
            &symbol,
            feed.book(&sym),
            &feed.feed().stats(),
            feed.availability(&sym),
        );
        println!(
            "{}",
            demo::with_status(&line, &feed.feed().status(), Instant::now())
        );
    }
    if fake.is_none() {
        // Against KuCoin (or --rest-url): say why it never went live, and exit with the code
        // the `kucoin` tool uses (3 could not reach KuCoin, 4 refused, 5 other KuCoin error).
        let status = feed.feed().status();
        let exit = demo::feed_exit_code(reached_live, &status);
        if exit != 0 {
            let now = Instant::now();
            let why = status
                .last_failure
                .as_ref()
                .map_or_else(|| "no failure reported".to_owned(), |f| f.describe(now));
            eprintln!(
                "never live ({}); last error: {why}",
                status.state.describe(now)
            );
            code = ExitCode::from(exit);
        }
    }
    feed.close();
    Ok(code)
}
