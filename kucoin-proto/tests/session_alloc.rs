//! Message frames are handled without touching the heap.

mod alloc_counter;
mod common;

use alloc_counter::{Counting, allocations};

use common::{Driver, exact_config, secs};
use kucoin_proto::ws::{SessionState, Topic};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count_allocs(f: impl FnOnce()) -> u64 {
    allocations(f).0
}

#[test]
fn message_frames_do_not_allocate_in_steady_state() {
    let mut d = Driver::new(exact_config());
    d.session
        .subscribe(Topic::new("/market/level2", "BTC-USDT").unwrap())
        .unwrap();
    d.run_until(secs(1));
    assert_eq!(d.session.state(), SessionState::Live);
    let frames = [
        r#"{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"changes":{"asks":[["67993.3","1.21427407","14701689783"]],"bids":[]},"sequenceEnd":14701689783,"sequenceStart":14701689783,"symbol":"BTC-USDT","time":1729816425625}}"#,
        r#"{"type":"message","topic":"/market/ticker:all","subject":"BTC-USDT","data":{"price":"67220"}}"#,
        r#"{"topic":"/account/balance","type":"message","subject":"account.balance","id":"354689988084000","userId":"633559791e1cbc0001f319bc","channelType":"private","data":{"currency":"USDT"}}"#,
    ];
    let now = d.now;
    let mut bytes = 0usize;
    let allocs = count_allocs(|| {
        for _ in 0..1000 {
            for f in &frames {
                let m = d.session.handle_frame(now, f).unwrap().unwrap();
                bytes += m.topic().len() + m.subject().map_or(0, str::len);
                bytes += m.data_str().unwrap().len();
            }
        }
    });
    assert!(bytes > 0);
    assert_eq!(allocs, 0, "message frames must not allocate");
    // The counter does count: a control frame allocates.
    let control = count_allocs(|| {
        let _ = d
            .session
            .handle_frame(now, r#"{"type":"notice","data":"x"}"#);
    });
    assert!(control > 0);
}
