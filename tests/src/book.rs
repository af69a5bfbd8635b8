//! The fake's own integer-tick order book, its update generator and decimal printing.

use std::collections::BTreeMap;

use crate::SymbolSpec;

/// A small seeded PRNG (splitmix64): deterministic, no dependencies.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n == 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `1/n`; never when `n == 0`.
    pub(crate) fn one_in(&mut self, n: u32) -> bool {
        n != 0 && self.below(u64::from(n)) == 0
    }
}

/// Prints `value / 10^scale` as a canonical decimal: no exponent, no trailing zeros, no trailing dot.
pub(crate) fn fmt_decimal(value: u64, scale: u32) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let pow = 10u64.pow(scale);
    let int = value / pow;
    let frac = value % pow;
    if frac == 0 {
        return int.to_string();
    }
    let mut frac_text = format!("{frac:0width$}", width = scale as usize);
    while frac_text.ends_with('0') {
        frac_text.pop();
    }
    format!("{int}.{frac_text}")
}

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

/// One level change with its own sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Side of the level.
    pub side: Side,
    /// Price in ticks; `0` for a sequence-only change (spot's `["0","0",seq]`).
    pub price: u64,
    /// New absolute size in lots; `0` deletes the level.
    pub size: u64,
    /// Sequence number of this change.
    pub seq: u64,
}

/// One level-2 message worth of changes, with contiguous sequences `seq_start..=seq_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Update {
    /// First sequence in the message.
    pub seq_start: u64,
    /// Last sequence in the message.
    pub seq_end: u64,
    /// The changes, one per sequence number.
    pub changes: Vec<Change>,
    /// Exchange time of the update (unix ms).
    pub time_ms: u64,
}

/// Best-first `(price ticks, size lots)` of one side.
pub(crate) type Levels = Vec<(u64, u64)>;

/// The true book of one symbol.
#[derive(Debug)]
pub(crate) struct Book {
    pub spec: SymbolSpec,
    pub bids: BTreeMap<u64, u64>,
    pub asks: BTreeMap<u64, u64>,
    pub sequence: u64,
    pub last_price: u64,
    pub last_size: u64,
    rng: SplitMix64,
}

/// Levels below this count per side are never deleted by the generator.
const MIN_LEVELS: usize = 5;

impl Book {
    /// A book around `spec.mid_price_ticks` with `spec.initial_levels` levels per side.
    pub(crate) fn new(spec: SymbolSpec, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut bids = BTreeMap::new();
        let mut asks = BTreeMap::new();
        let mid = spec
            .mid_price_ticks
            .max(spec.initial_levels as u64 * 4 + 10);
        let mut bid = mid - 1;
        let mut ask = mid;
        for _ in 0..spec.initial_levels {
            bids.insert(bid, random_size(&mut rng, &spec));
            asks.insert(ask, random_size(&mut rng, &spec));
            bid -= 1 + rng.below(3);
            ask += 1 + rng.below(3);
        }
        let last_size = random_size(&mut rng, &spec);
        Self {
            sequence: spec.start_sequence,
            spec,
            bids,
            asks,
            last_price: mid,
            last_size,
            rng,
        }
    }

    /// Generates, applies and returns one update of between 1 and `max_changes` changes.
    pub(crate) fn next_update(
        &mut self,
        max_changes: u32,
        sequence_only_one_in: u32,
        time_ms: u64,
    ) -> Update {
        let count = 1 + self.rng.below(u64::from(max_changes.max(1)));
        let seq_start = self.sequence + 1;
        let mut changes = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let seq = self.sequence + 1;
            let change = if self.rng.one_in(sequence_only_one_in) {
                let side = if self.rng.below(2) == 0 {
                    Side::Bid
                } else {
                    Side::Ask
                };
                Change {
                    side,
                    price: 0,
                    size: 0,
                    seq,
                }
            } else {
                self.random_change(seq)
            };
            self.apply(&change);
            changes.push(change);
        }
        Update {
            seq_start,
            seq_end: self.sequence,
            changes,
            time_ms,
        }
    }

    fn random_change(&mut self, seq: u64) -> Change {
        let side = if self.rng.below(2) == 0 {
            Side::Bid
        } else {
            Side::Ask
        };
        let (own, other_best) = match side {
            Side::Bid => (&self.bids, self.asks.keys().next().copied()),
            Side::Ask => (&self.asks, self.bids.keys().next_back().copied()),
        };
        let levels = own.len();
        // Keep each side bounded: trim the worst level once it grows past the maximum.
        if levels > self.spec.max_levels.max(MIN_LEVELS) {
            let worst = match side {
                Side::Bid => own.keys().next().copied(),
                Side::Ask => own.keys().next_back().copied(),
            };
            if let Some(price) = worst {
                return Change {
                    side,
                    price,
                    size: 0,
                    seq,
                };
            }
        }
        let roll = self.rng.below(10);
        if roll < 3 && levels > MIN_LEVELS {
            // Delete one of the top levels.
            let nth = self.rng.below(levels.min(10) as u64) as usize;
            let price = match side {
                Side::Bid => own.keys().rev().nth(nth).copied(),
                Side::Ask => own.keys().nth(nth).copied(),
            };
            if let Some(price) = price {
                return Change {
                    side,
                    price,
                    size: 0,
                    seq,
                };
            }
        }
        // Insert or resize a level near the touch, never crossing the other side.
        let offset = self.rng.below(20);
        let price = match side {
            Side::Bid => {
                let ceiling = other_best
                    .unwrap_or(self.last_price + 1)
                    .saturating_sub(1)
                    .max(1);
                ceiling.saturating_sub(offset).max(1)
            }
            Side::Ask => {
                let floor = other_best.unwrap_or(self.last_price.saturating_sub(1)) + 1;
                floor + offset
            }
        };
        let size = random_size(&mut self.rng, &self.spec);
        Change {
            side,
            price,
            size,
            seq,
        }
    }

    /// Applies `change` to the book and moves the sequence to `change.seq`.
    fn apply(&mut self, change: &Change) {
        self.sequence = change.seq;
        if change.price == 0 {
            return;
        }
        let book = match change.side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        if change.size == 0 {
            book.remove(&change.price);
        } else {
            book.insert(change.price, change.size);
            self.last_price = change.price;
            self.last_size = change.size;
        }
    }

    /// Sets the level at `price` on `side` to `size` lots (0 removes it) as the next change of
    /// the book (a trade consuming liquidity); returns the change to publish.
    pub(crate) fn set_level(&mut self, side: Side, price: u64, size: u64) -> Change {
        let change = Change {
            side,
            price,
            size,
            seq: self.sequence + 1,
        };
        self.apply(&change);
        change
    }

    /// Best-first levels, at most `depth` per side, in ticks and lots.
    pub(crate) fn levels(&self, depth: usize) -> (Levels, Levels) {
        let bids = self
            .bids
            .iter()
            .rev()
            .take(depth)
            .map(|(p, s)| (*p, *s))
            .collect();
        let asks = self
            .asks
            .iter()
            .take(depth)
            .map(|(p, s)| (*p, *s))
            .collect();
        (bids, asks)
    }

    /// Price in canonical decimal text.
    pub(crate) fn price_text(&self, ticks: u64) -> String {
        fmt_decimal(ticks, self.spec.price_decimals)
    }

    /// Size in canonical decimal text.
    pub(crate) fn size_text(&self, lots: u64) -> String {
        fmt_decimal(lots, self.spec.size_decimals)
    }
}

fn random_size(rng: &mut SplitMix64, spec: &SymbolSpec) -> u64 {
    // Between 1 lot and roughly 10 whole units (or 1..=5000 contracts without decimals).
    let max = if spec.size_decimals == 0 {
        5000
    } else {
        10u64.pow(spec.size_decimals.min(12)) * 10
    };
    1 + rng.below(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(fmt_decimal(669764, 1), "66976.4");
        assert_eq!(fmt_decimal(679970, 1), "67997");
        assert_eq!(fmt_decimal(50000, 8), "0.0005");
        assert_eq!(fmt_decimal(0, 8), "0");
        assert_eq!(fmt_decimal(25596, 0), "25596");
        assert_eq!(fmt_decimal(121427407, 8), "1.21427407");
    }

    #[test]
    fn generated_updates_keep_book_uncrossed_and_sequences_contiguous() {
        let spec = crate::SymbolSpec::spot("BTC-USDT");
        let mut book = Book::new(spec, 7);
        let mut expected = book.sequence + 1;
        for _ in 0..5000 {
            let update = book.next_update(4, 10, 0);
            assert_eq!(update.seq_start, expected);
            for (i, change) in update.changes.iter().enumerate() {
                assert_eq!(change.seq, update.seq_start + i as u64);
            }
            expected = update.seq_end + 1;
            let best_bid = book.bids.keys().next_back().copied();
            let best_ask = book.asks.keys().next().copied();
            if let (Some(bid), Some(ask)) = (best_bid, best_ask) {
                assert!(bid < ask, "crossed book: {bid} >= {ask}");
            }
            assert!(book.bids.len() >= MIN_LEVELS && book.asks.len() >= MIN_LEVELS);
        }
    }
}
