//! Trading end to end: balances, a limit order that rests, its private events, its cancel.
//!
//! `cargo run -p kucoin-blocking --example trade` starts an embedded fake KuCoin on 127.0.0.1
//! (funded with 1000 USDT and 0.1 BTC), prints the balances, subscribes to the private order
//! (`/spotMarket/tradeOrdersV2`) and balance (`/account/balance`) channels, places a limit buy
//! at 90% of the best bid (it rests), waits for its `open` event, cancels it, waits for its
//! `canceled` event and prints the balances again. `-- --live` does the same on KuCoin with
//! the keys in KUCOIN_API_KEY, KUCOIN_API_SECRET and KUCOIN_API_PASSPHRASE. `-- --json`
//! prints one JSON line; `-- --help` lists the flags.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kucoin_blocking::proto::auth::Credentials;
use kucoin_blocking::proto::feed::FeedEvent;
use kucoin_blocking::proto::feed_pool::PoolEvent;
use kucoin_blocking::proto::num::Dec;
use kucoin_blocking::proto::rest::api::account::account::{GetSpotAccountList, Type};
use kucoin_blocking::proto::rest::api::spot::order::{self, AddOrder, CancelOrderByOrderId, Side};
use kucoin_blocking::proto::rest::{PartDepth, SpotPartOrderBook};
use kucoin_blocking::proto::ws::SessionEvent;
use kucoin_blocking::proto::ws::channels::{
    OrderEventType, SpotBalanceChannel, SpotOrdersV2Channel,
};
use kucoin_blocking::proto::{Spot, SpotSymbol};
use kucoin_blocking::{ChannelFeed, Config, Error, Rest};
use kucoin_tests::trade_demo::{self, Balances, TradeArgs, TradeReport};

/// How long each step may wait for its private event.
const STEP: Duration = Duration::from_secs(15);

fn main() -> ExitCode {
    let args = match TradeArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let fake = if args.live {
        None
    } else {
        match trade_demo::start_funded_fake() {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("error: the embedded exchange did not start: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let credentials = match &fake {
        Some(_) => Credentials::new(
            kucoin_tests::TEST_API_KEY,
            kucoin_tests::TEST_API_SECRET,
            kucoin_tests::TEST_API_PASSPHRASE,
        ),
        None => match trade_demo::live_keys() {
            Some((key, secret, passphrase)) => Credentials::new(key, secret, passphrase),
            None => {
                eprintln!("error: {}", trade_demo::MISSING_KEYS);
                return ExitCode::from(2);
            }
        },
    };
    let mut config = Config::<Spot>::new();
    if let Some(fake) = &fake {
        config = match config.rest_url(&fake.rest_url()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
    }
    let config = match config.credentials(credentials) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    say(match &fake {
        Some(f) => format!("embedded fake exchange at {}", f.rest_url()),
        None => format!("KuCoin at {}", config.rest_client().base_url()),
    });
    let mut report = TradeReport::default();
    let result = run(&args, &config, &mut report, &say);
    report.rate_limited += fake
        .as_ref()
        .map_or(0, |f| f.stats().faults.too_many_requests);
    if args.json {
        println!("{}", report.json_line());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn balances(rest: &Rest<Spot>) -> Result<Balances, Error> {
    let accounts = rest.call(&GetSpotAccountList::new().r#type(Type::Trade))?;
    Ok(accounts
        .into_iter()
        .filter_map(|a| {
            let text = |d: Option<Dec>| d.map_or_else(|| "0".to_owned(), |d| d.to_string());
            Some((a.currency?, (text(a.available), text(a.holds))))
        })
        .collect())
}

fn count_429000(report: &mut TradeReport, err: &Error) {
    if let Error::Response(r) = err
        && r.api().is_some_and(|a| a.code.as_str() == "429000")
    {
        report.rate_limited += 1;
    }
}

fn run(
    args: &TradeArgs,
    config: &Config<Spot>,
    report: &mut TradeReport,
    say: &dyn Fn(String),
) -> Result<(), Box<dyn std::error::Error>> {
    let rest = Rest::new(config);
    let symbol = SpotSymbol::new(args.symbol.as_str())?;
    report.balances_before = balances(&rest).inspect_err(|e| count_429000(report, e))?;
    say(format!(
        "balances before:\n{}",
        trade_demo::balance_lines(&report.balances_before)
    ));

    let mut feed = ChannelFeed::new(config.clone());
    let orders = feed.subscribe(SpotOrdersV2Channel)?;
    let balance = feed.subscribe(SpotBalanceChannel)?;
    let mut acks = 0;
    while acks < 2 {
        match feed.next_event_until(Instant::now() + STEP) {
            Some(PoolEvent::Feed {
                event: FeedEvent::Session(SessionEvent::Subscribed { topic }),
                ..
            }) => {
                say(format!("subscribed to {topic} (private session)"));
                acks += 1;
            }
            Some(_) => {}
            None => return Err("the private channels were not subscribed in time".into()),
        }
    }

    let book = rest.call(&SpotPartOrderBook::new(symbol.clone(), PartDepth::Twenty))?;
    let best_bid = book.bids.first().ok_or("the book has no bids")?;
    let price = trade_demo::resting_price(&best_bid.price)?;
    let size = Dec::parse(&args.size)?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let client_oid = format!("kucoin-rs-trade-{millis}");
    let order = AddOrder::new(Side::Buy, args.symbol.as_str(), order::Type::Limit)
        .price(price)
        .size(size)
        .client_oid(client_oid.as_str());
    let placed = rest.call(&order).inspect_err(|e| count_429000(report, e))?;
    let order_id = placed.order_id.ok_or("the answer has no orderId")?;
    say(format!(
        "placed limit buy {size} {} at {price} (best bid {}): orderId {order_id}",
        args.symbol, best_bid.price
    ));
    report.placed = Some(trade_demo::placed(
        &order_id,
        &client_oid,
        &args.symbol,
        price,
        size,
    ));

    let mut wait_for = |want: OrderEventType, report: &mut TradeReport| -> Result<(), String> {
        let give_up = Instant::now() + STEP;
        loop {
            let Some(event) = feed.next_event_until(give_up) else {
                return Err(format!("no {want} event for {order_id} in time"));
            };
            let PoolEvent::Channel(ev) = event else {
                continue;
            };
            if let Some(Ok(m)) = orders.message(&ev) {
                if m.order_id != order_id {
                    continue;
                }
                say(format!(
                    "private: order {} {} (status {})",
                    m.order_id, m.kind, m.status
                ));
                report.private_events.push(trade_demo::order_event(&m));
                if m.kind == want {
                    return Ok(());
                }
            } else if let Some(Ok(m)) = balance.message(&ev) {
                say(format!(
                    "private: balance {} available {} hold {} ({})",
                    m.currency,
                    m.available,
                    m.hold,
                    m.relation_event.as_deref().unwrap_or("")
                ));
                report.private_events.push(trade_demo::balance_event(&m));
            }
        }
    };
    let opened = wait_for(OrderEventType::Open, report);
    // Cancel whatever happened, so that a live run leaves no order behind.
    rest.call(&CancelOrderByOrderId::new(&order_id, args.symbol.as_str()))
        .inspect_err(|e| count_429000(report, e))?;
    say(format!("cancelled {order_id}"));
    report.cancelled = Some(order_id.clone());
    opened?;
    wait_for(OrderEventType::Canceled, report)?;
    feed.close();

    report.balances_after = balances(&rest)?;
    say(format!(
        "balances after:\n{}",
        trade_demo::balance_lines(&report.balances_after)
    ));
    Ok(())
}
