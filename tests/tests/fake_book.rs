//! Self-tests of the fake's level-2 streams: applying them to the REST snapshot with KuCoin's rule
//! (a tiny applier in `common`) reconstructs the fake's true book; faults show up as they should.

mod common;

use std::time::{Duration, Instant};

use common::{Applier, Outcome, Signer, WAIT, Ws, connect, next_json, subscribe};
use kucoin_tests::{FakeConfig, FakeKucoin, Faults};
use serde_json::Value;

/// Streams `topic`, buffers, fetches the snapshot, applies, then freezes the fake and catches up.
/// Returns the applier and the gaps seen (resyncing from a new snapshot after each gap).
fn sync_and_compare(fake: &FakeKucoin, symbol: &str, frames_after_sync: usize) -> (Applier, usize) {
    let futures = fake.market() == kucoin_tests::Market::Futures;
    let topic = if futures {
        format!("/contractMarket/level2:{symbol}")
    } else {
        format!("/market/level2:{symbol}")
    };
    let (mut ws, _) = connect(fake, "sync");
    subscribe(&mut ws, "s", &topic);
    let mut buffered: Vec<Value> = (0..5)
        .map(|_| next_json(&mut ws, WAIT).expect("frame")["data"].clone())
        .collect();
    let mut book = snapshot(fake, symbol, futures);
    let mut gaps = 0;
    let mut applied = 0;
    let deadline = Instant::now() + WAIT;
    let mut paused_at = None;
    loop {
        assert!(Instant::now() < deadline, "did not converge");
        for data in buffered.drain(..) {
            let outcome = if futures {
                book.apply_futures(&data)
            } else {
                book.apply_spot(&data)
            };
            match outcome {
                Outcome::Gap { .. } => {
                    gaps += 1;
                    book = snapshot(fake, symbol, futures);
                }
                Outcome::InSequence(_) => applied += 1,
                Outcome::Stale => {}
            }
        }
        if paused_at.is_none() && applied >= frames_after_sync {
            fake.pause_updates();
            paused_at = Some(fake.true_book(symbol).unwrap().sequence);
        }
        if let Some(target) = paused_at {
            assert!(book.sequence <= target, "client ahead of the exchange");
            if book.sequence == target {
                break;
            }
        }
        buffered.push(read_data(&mut ws));
    }
    let truth = fake.true_book(symbol).unwrap();
    assert_eq!(book.sequence, truth.sequence);
    assert_eq!(book.bids(), truth.bids);
    assert_eq!(book.asks(), truth.asks);
    (book, gaps)
}

fn read_data(ws: &mut Ws) -> Value {
    next_json(ws, WAIT).expect("level-2 frame")["data"].clone()
}

fn snapshot(fake: &FakeKucoin, symbol: &str, futures: bool) -> Applier {
    let answer = if futures {
        common::get(fake, &format!("/api/v1/level2/snapshot?symbol={symbol}"))
    } else {
        Signer::test_key().send(
            fake,
            "GET",
            &format!("/api/v3/market/orderbook/level2?symbol={symbol}"),
        )
    };
    assert_eq!(answer.json["code"], "200000", "{}", answer.json);
    Applier::from_snapshot(&answer.json["data"])
}

fn fast() -> Duration {
    Duration::from_millis(1)
}

#[test]
fn spot_level2_applied_to_snapshot_reconstructs_true_book() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_rate(fast(), 2)).unwrap();
    let (_, gaps) = sync_and_compare(&fake, "BTC-USDT", 300);
    assert_eq!(gaps, 0);
}

#[test]
fn spot_frames_have_kucoin_shape_with_per_change_sequences() {
    let mut config = FakeConfig::spot().with_rate(fast(), 1);
    config.sequence_only_one_in = 3;
    config.max_changes_per_update = 4;
    let fake = FakeKucoin::start(config).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "s", "/market/level2:ETH-USDT");
    let mut saw_multi = false;
    let mut saw_sequence_only = false;
    for _ in 0..200 {
        let frame = next_json(&mut ws, WAIT).unwrap();
        assert_eq!(frame["topic"], "/market/level2:ETH-USDT");
        assert_eq!(
            (frame["type"].as_str(), frame["subject"].as_str()),
            (Some("message"), Some("trade.l2update"))
        );
        let data = &frame["data"];
        assert_eq!(data["symbol"], "ETH-USDT");
        let (start, end) = (
            data["sequenceStart"].as_u64().unwrap(),
            data["sequenceEnd"].as_u64().unwrap(),
        );
        let mut seqs: Vec<u64> = Vec::new();
        for key in ["asks", "bids"] {
            for change in data["changes"][key].as_array().unwrap() {
                let change: Vec<&str> = change
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                saw_sequence_only |= change[0] == "0" && change[1] == "0";
                seqs.push(change[2].parse().unwrap());
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (start..=end).collect::<Vec<_>>());
        saw_multi |= end > start;
    }
    assert!(saw_multi && saw_sequence_only);
}

#[test]
fn futures_level2_applied_to_snapshot_reconstructs_true_book() {
    let fake = FakeKucoin::start(FakeConfig::futures().with_rate(fast(), 2)).unwrap();
    let (mut ws, _) = connect(&fake, "shape");
    subscribe(&mut ws, "s", "/contractMarket/level2:XBTUSDTM");
    let frame = next_json(&mut ws, WAIT).unwrap();
    assert_eq!(frame["subject"], "level2");
    assert_eq!(frame["sn"], frame["data"]["sequence"]);
    let change = frame["data"]["change"].as_str().unwrap();
    let parts: Vec<&str> = change.split(',').collect();
    assert!(parts[1] == "buy" || parts[1] == "sell");
    assert!(parts[2].parse::<u64>().is_ok(), "integer size: {change}");
    let (_, gaps) = sync_and_compare(&fake, "XBTUSDTM", 300);
    assert_eq!(gaps, 0);
}

#[test]
fn dropped_message_fault_produces_a_sequence_gap() {
    let fake = FakeKucoin::start(FakeConfig::spot().with_rate(fast(), 1)).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    let first = read_data(&mut ws);
    let mut last_end = first["sequenceEnd"].as_u64().unwrap();
    fake.inject_drop(1);
    let mut gaps = Vec::new();
    for _ in 0..50 {
        let data = read_data(&mut ws);
        let start = data["sequenceStart"].as_u64().unwrap();
        if start != last_end + 1 {
            gaps.push((last_end + 1, start));
        }
        last_end = data["sequenceEnd"].as_u64().unwrap();
    }
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].1 > gaps[0].0);
    assert_eq!(fake.stats().faults.dropped, 1);
}

#[test]
fn duplicates_and_overlaps_are_survivable_with_kucoins_rule() {
    let faults = Faults {
        seed: 11,
        duplicate_one_in: 4,
        overlap_one_in: 4,
        ..Faults::none()
    };
    let fake =
        FakeKucoin::start(FakeConfig::spot().with_rate(fast(), 1).with_faults(faults)).unwrap();
    let (_, gaps) = sync_and_compare(&fake, "BTC-USDT", 200);
    assert_eq!(gaps, 0);
    let stats = fake.stats().faults;
    assert!(stats.duplicated > 0 && stats.overlapped > 0, "{stats:?}");
}

#[test]
fn scheduled_drops_are_recovered_by_resync_to_the_true_book() {
    let faults = Faults {
        seed: 5,
        drop_one_in: 40,
        ..Faults::none()
    };
    let fake = FakeKucoin::start(
        FakeConfig::futures()
            .with_rate(fast(), 1)
            .with_faults(faults),
    )
    .unwrap();
    let (_, gaps) = sync_and_compare(&fake, "ETHUSDTM", 300);
    assert!(gaps > 0);
    assert!(fake.stats().faults.dropped as usize >= gaps);
}

#[test]
fn paused_fake_publishes_nothing_and_step_updates_advances_the_true_book() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "s", "/market/level2:BTC-USDT");
    assert_eq!(next_json(&mut ws, Duration::from_millis(100)), None);
    let before = fake.true_book("BTC-USDT").unwrap().sequence;
    fake.step_updates(3);
    let mut end = before;
    for _ in 0..3 {
        let data = read_data(&mut ws);
        assert_eq!(data["sequenceStart"].as_u64(), Some(end + 1));
        end = data["sequenceEnd"].as_u64().unwrap();
    }
    assert_eq!(fake.true_book("BTC-USDT").unwrap().sequence, end);
    assert!(fake.true_book("NOPE").is_none());
}

#[test]
fn depth5_and_ticker_come_from_the_true_book() {
    let fake = FakeKucoin::start(FakeConfig::spot().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "d", "/spotMarket/level2Depth5:BTC-USDT");
    subscribe(&mut ws, "t", "/market/ticker:BTC-USDT");
    fake.step_updates(1);
    let depth = next_json(&mut ws, WAIT).unwrap();
    let ticker = next_json(&mut ws, WAIT).unwrap();
    let truth = fake.true_book("BTC-USDT").unwrap();
    assert_eq!(depth["topic"], "/spotMarket/level2Depth5:BTC-USDT");
    let pairs = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l[0].as_str().unwrap().to_owned(),
                    l[1].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(pairs(&depth["data"]["bids"]), truth.bids[..5]);
    assert_eq!(pairs(&depth["data"]["asks"]), truth.asks[..5]);
    assert_eq!(ticker["subject"], "trade.ticker");
    assert_eq!(
        ticker["data"]["sequence"],
        truth.sequence.to_string().as_str()
    );
    assert_eq!(ticker["data"]["bestBid"], truth.bids[0].0.as_str());
    assert_eq!(ticker["data"]["bestAskSize"], truth.asks[0].1.as_str());
}

#[test]
fn futures_depth5_has_numeric_sizes_and_sequence() {
    let fake = FakeKucoin::start(FakeConfig::futures().paused()).unwrap();
    let (mut ws, _) = connect(&fake, "c");
    subscribe(&mut ws, "d", "/contractMarket/level2Depth5:XBTUSDTM");
    subscribe(&mut ws, "t", "/contractMarket/tickerV2:XBTUSDTM");
    fake.step_updates(1);
    let depth = next_json(&mut ws, WAIT).unwrap();
    let ticker = next_json(&mut ws, WAIT).unwrap();
    let truth = fake.true_book("XBTUSDTM").unwrap();
    let best = &depth["data"]["bids"][0];
    assert!(best[0].is_string() && best[1].is_u64(), "{best}");
    assert_eq!(best[0], truth.bids[0].0.as_str());
    assert_eq!(best[1].to_string(), truth.bids[0].1);
    assert_eq!(depth["data"]["sequence"].as_u64(), Some(truth.sequence));
    assert_eq!(ticker["data"]["bestAskPrice"], truth.asks[0].0.as_str());
    assert_eq!(ticker["data"]["bestBidSize"].to_string(), truth.bids[0].1);
}
