//! Replays of the shared generated corpus reproduce the expected top-50 books exactly.

mod book_common;

use book_common::{expected_top, generate, synced, top50};
use kucoin_proto::book::{BookMarket, Side};
use kucoin_proto::market::{Futures, Spot};

/// Replays a generated corpus through `handle_frame` and checks the final sequence, the top 50
/// levels a side, the level counts, and that every frame took the fast decoder.
fn replay_reproduces_expected<M: BookMarket>(futures: bool, symbol: &str) {
    let c = generate(futures, 20_000);
    let t0 = book_common::t0();
    let mut s = synced::<M>(symbol, &c, t0);
    for f in &c.frames[1..] {
        s.handle_frame(t0, f).unwrap();
    }
    let book = s.book().expect("live");
    assert_eq!(
        book.sequence(),
        c.expected["final_sequence"].as_u64().unwrap()
    );
    assert_eq!(top50(book), expected_top(&c));
    assert_eq!(
        s.fallback_decodes(),
        0,
        "generated frames take the fast decoder"
    );
    let levels = &c.expected["book_levels"];
    assert_eq!(book.len(Side::Bid) as u64, levels["bids"].as_u64().unwrap());
    assert_eq!(book.len(Side::Ask) as u64, levels["asks"].as_u64().unwrap());
}

#[test]
fn spot_corpus_replay_reproduces_expected_top50() {
    replay_reproduces_expected::<Spot>(false, "BTC-USDT");
}

#[test]
fn futures_corpus_replay_reproduces_expected_top50() {
    replay_reproduces_expected::<Futures>(true, "XBTUSDTM");
}

#[test]
fn spot_corpus_through_handle_data_gives_the_same_book() {
    let c = generate(false, 5_000);
    let t0 = book_common::t0();
    let mut s = synced::<Spot>("BTC-USDT", &c, t0);
    for f in &c.frames[1..] {
        let v: serde_json::Value = serde_json::from_str(f).unwrap();
        s.handle_data(t0, &v["data"].to_string()).unwrap();
    }
    assert_eq!(top50(s.book().unwrap()), expected_top(&c));
}
