//! Message frames are handled without touching the heap.
#![allow(unsafe_code)] // a counting global allocator needs `unsafe impl GlobalAlloc`

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{Driver, exact_config, secs};
use kucoin_proto::ws::{SessionState, Topic};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; only counts on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count_allocs(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get)
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
