//! The benchmark corpus generator: a deterministic synthetic KuCoin level-2 feed.
//!
//! Byte for byte the corpus other KuCoin clients are measured on (format 1 of the shared
//! benchmark generator): for the same market, seed, frame count and snapshot depth it writes the
//! same snapshot, frames and expected book. The pseudo-random source is Python's Mersenne
//! Twister (`random.Random(seed)`), reproduced exactly, so the corpus needs no Python.
//!
//! Used by the book tests and benches (`#[path]`-included) and by the `gen_feed` example, which
//! writes the three files:
//!
//! ```text
//! cargo run --release -p kucoin-proto --example gen_feed -- --out-dir DIR [--futures] [-n N] [--seed S] [--levels L]
//! ```
//!
//! - `<market>_snapshot.json`: the REST snapshot (spot: `GET /api/v3/market/orderbook/level2`;
//!   futures: `GET /api/v1/level2/snapshot`, prices as JSON numbers);
//! - `<market>_frames.jsonl`: one WebSocket text frame per line, sequences contiguous from the
//!   snapshot's + 1 (spot frames carry 1 to 4 changes; futures one `change` string);
//! - `<market>_expected.json`: the final book (top 50 levels a side, canonical decimal text),
//!   level counts, message and change counts, the final sequence and the parameters.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const SPOT_SYMBOL: &str = "BTC-USDT";
pub const FUTURES_SYMBOL: &str = "XBTUSDTM";
/// Levels a side in the expected book.
pub const DEPTH: usize = 50;
const NEAR: i64 = 50;
const MID_TICKS: i64 = 650_000;
pub const SPOT_SEQ0: u64 = 14_610_502_970;
pub const FUTURES_SEQ0: u64 = 1_697_895_963_339;
const TIME0_MS: u64 = 1_729_176_273_859;
const FORMAT_VERSION: u32 = 1;

/// What to generate. `Params::default_for(futures)` is the shared default corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub futures: bool,
    pub seed: u64,
    pub n: usize,
    pub levels: usize,
}

impl Params {
    /// The default corpus: seed 1, 200,000 frames, 500 levels a side.
    pub fn default_for(futures: bool) -> Params {
        Params {
            futures,
            seed: 1,
            n: 200_000,
            levels: 500,
        }
    }

    /// `spot` or `futures`: the file name prefix.
    pub fn market(&self) -> &'static str {
        if self.futures { "futures" } else { "spot" }
    }
}

/// The three generated documents, as the bytes of their files.
pub struct Generated {
    /// `<market>_snapshot.json` (with its trailing newline).
    pub snapshot: String,
    /// `<market>_frames.jsonl` (one frame a line, each ending in a newline).
    pub frames: String,
    /// `<market>_expected.json` (with its trailing newline).
    pub expected: String,
}

// ------------------------------------------------------------------ Python's random

/// MT19937 seeded and drawn exactly as CPython's `random.Random` does.
pub struct PyRandom {
    mt: [u32; 624],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> PyRandom {
        let mut key: Vec<u32> = Vec::new();
        let mut s = seed;
        while s > 0 {
            key.push(s as u32);
            s >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        let mut r = PyRandom {
            mt: [0; 624],
            index: 624,
        };
        r.init_genrand(19_650_218);
        let n = 624usize;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..n.max(key.len()) {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= n {
                r.mt[0] = r.mt[n - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..n - 1 {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= n {
                r.mt[0] = r.mt[n - 1];
                i = 1;
            }
        }
        r.mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..624 {
            let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev).wrapping_add(i as u32);
        }
        self.index = 624;
    }

    fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.index >= 624 {
            for k in 0..624 {
                let y = (self.mt[k] & UPPER) | (self.mt[(k + 1) % 624] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                self.mt[k] = self.mt[(k + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `random()`: 53 random bits in [0, 1).
    pub fn random(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `getrandbits(k)` for 1 <= k <= 32.
    fn getrandbits(&mut self, k: u32) -> u64 {
        debug_assert!((1..=32).contains(&k));
        u64::from(self.next_u32() >> (32 - k))
    }

    /// `_randbelow(n)` for n > 0: rejection sampling on `n.bit_length()` bits.
    fn randbelow(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        let mut r = self.getrandbits(k);
        while r >= n {
            r = self.getrandbits(k);
        }
        r
    }

    /// `randint(a, b)`, both ends included.
    pub fn randint(&mut self, a: i64, b: i64) -> i64 {
        a + self.randbelow((b - a + 1) as u64) as i64
    }

    /// `choice(seq)`.
    pub fn choice<T: Copy>(&mut self, seq: &[T]) -> T {
        seq[self.randbelow(seq.len() as u64) as usize]
    }

    /// `expovariate(lambd)`: `-log(1 - random()) / lambd`.
    pub fn expovariate(&mut self, lambd: f64) -> f64 {
        -(1.0 - self.random()).ln() / lambd
    }
}

// ------------------------------------------------------------------ formatting

fn spot_price(out: &mut String, ticks: i64) {
    let (whole, frac) = (ticks / 10, ticks % 10);
    if frac != 0 {
        write!(out, "{whole}.{frac}").unwrap();
    } else {
        write!(out, "{whole}").unwrap();
    }
}

fn spot_size(out: &mut String, units: i64) {
    let (whole, frac) = (units / 100_000_000, units % 100_000_000);
    if frac == 0 {
        write!(out, "{whole}").unwrap();
    } else {
        let f = format!("{frac:08}");
        write!(out, "{whole}.{}", f.trim_end_matches('0')).unwrap();
    }
}

/// Canonical decimal text of `value / 10^scale` ("65000", "0.5").
fn canonical(value: i64, scale: u32) -> String {
    let div = 10i64.pow(scale);
    let (whole, frac) = (value / div, value % div);
    if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:0width$}", width = scale as usize);
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

// ------------------------------------------------------------------ generator

/// One side: ascending prices and their sizes.
#[derive(Default)]
struct BookSide {
    prices: Vec<i64>,
    sizes: BTreeMap<i64, i64>,
}

impl BookSide {
    fn set(&mut self, price: i64, size: i64) {
        if size == 0 {
            if self.sizes.remove(&price).is_some() {
                let i = self.prices.partition_point(|p| *p < price);
                self.prices.remove(i);
            }
        } else {
            if !self.sizes.contains_key(&price) {
                let i = self.prices.partition_point(|p| *p < price);
                self.prices.insert(i, price);
            }
            self.sizes.insert(price, size);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Bid,
    Ask,
}

struct Generator {
    rng: PyRandom,
    futures: bool,
    target: usize,
    bids: BookSide,
    asks: BookSide,
    fair: i64,
}

impl Generator {
    fn new(p: &Params) -> Generator {
        Generator {
            rng: PyRandom::new(p.seed),
            futures: p.futures,
            target: p.levels,
            bids: BookSide::default(),
            asks: BookSide::default(),
            fair: MID_TICKS - 1,
        }
    }

    fn new_size(&mut self) -> i64 {
        if self.futures {
            return 1 + self.rng.expovariate(1.0 / 900.0) as i64;
        }
        let mut units = 1 + self.rng.expovariate(1.0 / 25_000_000.0) as i64;
        if self.rng.random() < 0.3 {
            units = (units - units % 10_000).max(10_000);
        }
        units
    }

    fn build_snapshot(&mut self) {
        const GAPS: [i64; 9] = [1, 1, 1, 1, 2, 2, 3, 4, 6];
        let mut p = MID_TICKS - 1;
        for _ in 0..self.target {
            let size = self.new_size();
            self.bids.set(p, size);
            p -= self.rng.choice(&GAPS);
        }
        p = MID_TICKS;
        for _ in 0..self.target {
            let size = self.new_size();
            self.asks.set(p, size);
            p += self.rng.choice(&GAPS);
        }
    }

    fn next_change(&mut self) -> (Which, i64, i64) {
        let x = self.rng.random();
        if x < 0.2 {
            self.fair += if self.rng.random() < 0.5 { 1 } else { -1 };
        } else if x < 0.203 {
            let sign = self.rng.choice(&[-1i64, 1]);
            self.fair += sign * self.rng.randint(2, 8);
        }
        let fair = self.fair;
        if self.bids.prices.len() > 1 && *self.bids.prices.last().unwrap() > fair {
            let price = *self.bids.prices.last().unwrap();
            self.bids.set(price, 0);
            return (Which::Bid, price, 0);
        }
        if self.asks.prices.len() > 1 && self.asks.prices[0] <= fair {
            let price = self.asks.prices[0];
            self.asks.set(price, 0);
            return (Which::Ask, price, 0);
        }
        let is_bid = self.rng.random() < 0.5;
        let n = if is_bid { &self.bids } else { &self.asks }.prices.len();
        let ratio = n as f64 / self.target as f64;
        let p_del = 0.16 * ratio.powf(3.0);
        let p_del = if n <= DEPTH + 10 {
            0.0
        } else {
            p_del.clamp(0.02, 0.6)
        };
        let (price, size);
        if self.rng.random() < p_del {
            let i = if is_bid {
                let prices = &self.bids.prices;
                let touch = prices[n - 1];
                let lo = prices.partition_point(|p| *p < touch - NEAR);
                if self.rng.random() < 0.9 {
                    self.rng.randint(lo as i64, n as i64 - 1)
                } else {
                    self.rng.randint(n.saturating_sub(200) as i64, n as i64 - 1)
                }
            } else {
                let prices = &self.asks.prices;
                let touch = prices[0];
                let hi = prices.partition_point(|p| *p <= touch + NEAR);
                if self.rng.random() < 0.9 {
                    self.rng.randint(0, hi as i64 - 1)
                } else {
                    self.rng.randint(0, n.min(200) as i64 - 1)
                }
            };
            let side = if is_bid { &self.bids } else { &self.asks };
            price = side.prices[i as usize];
            size = 0;
        } else {
            let d = if self.rng.random() < 0.92 {
                (self.rng.expovariate(1.0 / 9.0) as i64).min(NEAR - 1)
            } else {
                self.rng.randint(0, 400)
            };
            price = if is_bid { fair - d } else { fair + 1 + d };
            size = self.new_size();
        }
        let which = if is_bid { Which::Bid } else { Which::Ask };
        if is_bid {
            self.bids.set(price, size);
        } else {
            self.asks.set(price, size);
        }
        (which, price, size)
    }

    fn changes_per_message(&mut self) -> usize {
        let x = self.rng.random();
        if x < 0.45 {
            1
        } else if x < 0.75 {
            2
        } else if x < 0.90 {
            3
        } else {
            4
        }
    }

    fn spot_snapshot(&self, seq: u64) -> String {
        let mut s =
            format!(r#"{{"code":"200000","data":{{"time":{TIME0_MS},"sequence":"{seq}","bids":["#);
        for (k, p) in self.bids.prices.iter().rev().enumerate() {
            s.push_str(if k == 0 { "[\"" } else { ",[\"" });
            spot_price(&mut s, *p);
            s.push_str("\",\"");
            spot_size(&mut s, self.bids.sizes[p]);
            s.push_str("\"]");
        }
        s.push_str("],\"asks\":[");
        for (k, p) in self.asks.prices.iter().enumerate() {
            s.push_str(if k == 0 { "[\"" } else { ",[\"" });
            spot_price(&mut s, *p);
            s.push_str("\",\"");
            spot_size(&mut s, self.asks.sizes[p]);
            s.push_str("\"]");
        }
        s.push_str("]}}\n");
        s
    }

    fn futures_snapshot(&self, seq: u64) -> String {
        // Prices as JSON numbers: an integer when whole, else Python's shortest float text.
        let price = |t: i64| {
            if t % 10 == 0 {
                (t / 10).to_string()
            } else {
                format!("{}", t as f64 / 10.0)
            }
        };
        let mut s = format!(
            r#"{{"code":"200000","data":{{"symbol":"{FUTURES_SYMBOL}","sequence":{seq},"asks":["#
        );
        for (k, p) in self.asks.prices.iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            write!(s, "{sep}[{},{}]", price(*p), self.asks.sizes[p]).unwrap();
        }
        s.push_str("],\"bids\":[");
        for (k, p) in self.bids.prices.iter().rev().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            write!(s, "{sep}[{},{}]", price(*p), self.bids.sizes[p]).unwrap();
        }
        writeln!(s, "],\"ts\":{}}}}}", TIME0_MS * 1_000_000 + 123_456).unwrap();
        s
    }

    /// Spot frames; returns the number of changes written.
    fn spot_frames(&mut self, n: usize, seq0: u64, out: &mut String) -> usize {
        let mut seq = seq0;
        let mut t = TIME0_MS + 5;
        let mut total = 0;
        let (mut asks, mut bids) = (String::new(), String::new());
        for _ in 0..n {
            let k = self.changes_per_message();
            let start = seq + 1;
            asks.clear();
            bids.clear();
            for _ in 0..k {
                seq += 1;
                let (which, price, size) = self.next_change();
                let list = if which == Which::Bid {
                    &mut bids
                } else {
                    &mut asks
                };
                list.push_str(if list.is_empty() { "[\"" } else { ",[\"" });
                spot_price(list, price);
                list.push_str("\",\"");
                spot_size(list, size);
                write!(list, "\",\"{seq}\"]").unwrap();
            }
            total += k;
            t += self.rng.choice(&[0u64, 0, 1, 1, 2, 3]);
            writeln!(
                out,
                r#"{{"type":"message","topic":"/market/level2:{SPOT_SYMBOL}","subject":"trade.l2update","data":{{"changes":{{"asks":[{asks}],"bids":[{bids}]}},"sequenceEnd":{seq},"sequenceStart":{start},"symbol":"{SPOT_SYMBOL}","time":{t}}}}}"#
            )
            .unwrap();
        }
        total
    }

    fn futures_frames(&mut self, n: usize, seq0: u64, out: &mut String) -> usize {
        let mut seq = seq0;
        let mut t = TIME0_MS + 5;
        for _ in 0..n {
            seq += 1;
            let (which, price, size) = self.next_change();
            t += self.rng.choice(&[0u64, 0, 0, 1, 1, 2]);
            let side = if which == Which::Bid { "buy" } else { "sell" };
            writeln!(
                out,
                r#"{{"type":"message","topic":"/contractMarket/level2:{FUTURES_SYMBOL}","subject":"level2","data":{{"sequence":{seq},"change":"{}.{},{side},{size}","timestamp":{t}}}}}"#,
                price / 10,
                price % 10
            )
            .unwrap();
        }
        n
    }
}

/// Generates the corpus for `params`.
pub fn generate(params: &Params) -> Generated {
    let mut g = Generator::new(params);
    g.build_snapshot();
    let seq0 = if params.futures {
        FUTURES_SEQ0
    } else {
        SPOT_SEQ0
    };
    let snapshot = if params.futures {
        g.futures_snapshot(seq0)
    } else {
        g.spot_snapshot(seq0)
    };
    let mut frames = String::with_capacity(params.n * if params.futures { 170 } else { 290 });
    let changes = if params.futures {
        g.futures_frames(params.n, seq0, &mut frames)
    } else {
        g.spot_frames(params.n, seq0, &mut frames)
    };
    let final_sequence = seq0 + changes as u64;
    let size_scale = if params.futures { 0 } else { 8 };
    let level = |p: &i64, s: i64| {
        format!(
            "  [\n   \"{}\",\n   \"{}\"\n  ]",
            canonical(*p, 1),
            canonical(s, size_scale)
        )
    };
    let bids: Vec<String> = g
        .bids
        .prices
        .iter()
        .rev()
        .take(DEPTH)
        .map(|p| level(p, g.bids.sizes[p]))
        .collect();
    let asks: Vec<String> = g
        .asks
        .prices
        .iter()
        .take(DEPTH)
        .map(|p| level(p, g.asks.sizes[p]))
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "[]".to_owned()
        } else {
            format!("[\n{}\n ]", v.join(",\n"))
        }
    };
    // The layout of Python's `json.dump(expected, f, indent=1)`.
    let expected = format!(
        "{{\n \"params\": {{\n  \"format\": {FORMAT_VERSION},\n  \"market\": \"{market}\",\n  \"seed\": {seed},\n  \"n\": {n},\n  \"levels\": {levels}\n }},\n \"symbol\": \"{symbol}\",\n \"depth\": {DEPTH},\n \"snapshot_sequence\": {seq0},\n \"final_sequence\": {final_sequence},\n \"messages\": {n},\n \"changes\": {changes},\n \"book_levels\": {{\n  \"bids\": {nb},\n  \"asks\": {na}\n }},\n \"bids\": {bids},\n \"asks\": {asks}\n}}\n",
        market = params.market(),
        seed = params.seed,
        n = params.n,
        levels = params.levels,
        symbol = if params.futures {
            FUTURES_SYMBOL
        } else {
            SPOT_SYMBOL
        },
        nb = g.bids.prices.len(),
        na = g.asks.prices.len(),
        bids = list(&bids),
        asks = list(&asks),
    );
    Generated {
        snapshot,
        frames,
        expected,
    }
}
