//! Shared helpers for the book tests: corpus generation and a synced book.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kucoin_proto::book::{
    BookConfig, BookMarket, BookState, BookSync, OrderBook, SpotSnapshotSource,
};
use kucoin_proto::market::Symbol;
use kucoin_proto::rest::{L2Snapshot, parse_envelope};

pub struct Corpus {
    pub dir: PathBuf,
    pub snapshot: L2Snapshot,
    pub frames: Vec<String>,
    pub expected: serde_json::Value,
}

impl Drop for Corpus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the shared generator into a fresh temp dir and loads the result.
pub fn generate(futures: bool, n: usize) -> Corpus {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let market = if futures { "futures" } else { "spot" };
    let dir = std::env::temp_dir().join(format!(
        "kucoin-book-test-{}-{market}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/gen_feed.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script)
        .arg("--out-dir")
        .arg(&dir)
        .arg("-n")
        .arg(n.to_string());
    if futures {
        cmd.arg("--futures");
    }
    let out = cmd
        .output()
        .expect("python3 must be installed to generate the corpus");
    assert!(
        out.status.success(),
        "gen_feed.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |k: &str, ext: &str| std::fs::read(dir.join(format!("{market}_{k}.{ext}"))).unwrap();
    Corpus {
        snapshot: parse_envelope(200, &read("snapshot", "json")).unwrap(),
        frames: String::from_utf8(read("frames", "jsonl"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
        expected: serde_json::from_slice(&read("expected", "json")).unwrap(),
        dir,
    }
}

/// A book that buffered frame 0, asked for and got the corpus snapshot: Live, ready for frames 1..
pub fn synced<M: BookMarket>(symbol: &str, c: &Corpus, t0: Instant) -> BookSync<M> {
    let mut config = BookConfig::default();
    config.spot_snapshot = SpotSnapshotSource::Full;
    let mut s = BookSync::<M>::new(Symbol::new(symbol).unwrap(), config, t0);
    s.handle_frame(t0, &c.frames[0]).unwrap();
    assert!(s.poll_fetch().is_some());
    s.handle_snapshot(t0, &c.snapshot).unwrap();
    assert_eq!(s.state(), BookState::Live);
    s
}

pub type Top = (Vec<[String; 2]>, Vec<[String; 2]>);

pub fn top50(book: &OrderBook) -> Top {
    let (b, a) = book.top_n(50);
    let f = |l: kucoin_proto::book::Level| [l.price.to_string(), l.size.to_string()];
    (b.map(f).collect(), a.map(f).collect())
}

pub fn expected_top(c: &Corpus) -> Top {
    let side = |k: &str| serde_json::from_value(c.expected[k].clone()).unwrap();
    (side("bids"), side("asks"))
}

pub fn shared_fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/kucoin-docs")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The base of virtual time (nothing is timed; later instants are `t0 + Duration`).
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}
