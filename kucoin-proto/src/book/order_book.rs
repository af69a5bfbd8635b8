//! The order book itself: two sorted price ladders with the best price at the end.

use super::decimal::Decimal;

/// A side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Side {
    /// Buy orders (`bids`, futures `buy`).
    Bid,
    /// Sell orders (`asks`, futures `sell`).
    Ask,
}

/// One price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Total size resting at that price (never zero in a book).
    pub size: Decimal,
}

/// One side: keys ascending so the best level is the last element.
///
/// For bids the key is the price; for asks it is the bitwise complement of the price, so that the
/// lowest ask is the largest key. Changes cluster near the touch, so an insert or delete moves only
/// the few elements between the change and the end of the vector. Struct-of-arrays: the key search
/// touches only `keys`. 32 bytes per level.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    keys: Vec<u128>,
    sizes: Vec<u128>,
    /// Keys at or above this are known complete (0: the whole side is complete).
    complete_from: u128,
    ask: bool,
}

impl Ladder {
    fn new(ask: bool) -> Self {
        Ladder {
            ask,
            ..Ladder::default()
        }
    }

    #[inline]
    fn key(&self, price: Decimal) -> u128 {
        if self.ask {
            !price.to_raw()
        } else {
            price.to_raw()
        }
    }

    #[inline]
    fn price(&self, key: u128) -> Decimal {
        Decimal::from_raw(if self.ask { !key } else { key })
    }

    /// Finds `key`: scans the last few levels (where most changes land), then binary-searches.
    #[inline]
    fn find(&self, key: u128) -> Result<usize, usize> {
        let keys = &self.keys[..];
        let lo = keys.len().saturating_sub(32);
        let (deep, near) = keys.split_at(lo);
        match near.iter().rev().position(|&k| k <= key) {
            Some(back) => {
                let i = lo + near.len() - 1 - back;
                if near.get(near.len() - 1 - back) == Some(&key) {
                    Ok(i)
                } else {
                    Err(i + 1)
                }
            }
            None => deep.binary_search(&key),
        }
    }

    /// Sets the size at `price` (zero deletes). Keeps at most `max_levels`, dropping the worst.
    #[inline]
    pub(crate) fn set(&mut self, price: Decimal, size: Decimal, max_levels: usize) {
        let key = self.key(price);
        match self.find(key) {
            Ok(i) => {
                if size.is_zero() {
                    self.keys.remove(i);
                    self.sizes.remove(i);
                } else {
                    self.sizes[i] = size.to_raw();
                }
            }
            Err(i) => {
                if size.is_zero() {
                    return;
                }
                self.keys.insert(i, key);
                self.sizes.insert(i, size.to_raw());
                if self.keys.len() > max_levels {
                    self.drop_worst();
                }
            }
        }
    }

    fn drop_worst(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let worst = self.keys.remove(0);
        self.sizes.remove(0);
        // Levels at or beyond the dropped one are no longer known.
        self.complete_from = self.complete_from.max(worst.saturating_add(1));
    }

    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.sizes.clear();
        self.complete_from = 0;
    }

    /// Appends a level during a snapshot load (any order; call `finish_load` afterwards).
    pub(crate) fn push_unsorted(&mut self, price: Decimal, size: Decimal) {
        if !size.is_zero() {
            let key = self.key(price);
            self.keys.push(key);
            self.sizes.push(size.to_raw());
        }
    }

    /// Sorts a loaded snapshot; false if a price appears twice.
    pub(crate) fn finish_load(&mut self, partial_limit: Option<usize>, max_levels: usize) -> bool {
        let sorted = self.keys.windows(2).all(|w| w[0] < w[1]);
        if !sorted {
            let mut pairs: Vec<(u128, u128)> = self
                .keys
                .iter()
                .copied()
                .zip(self.sizes.iter().copied())
                .collect();
            pairs.sort_unstable_by_key(|p| p.0);
            if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
                return false;
            }
            self.keys.clear();
            self.sizes.clear();
            for (k, s) in pairs {
                self.keys.push(k);
                self.sizes.push(s);
            }
        }
        self.complete_from = 0;
        if let Some(limit) = partial_limit {
            // A depth-limited snapshot that came back full may have hidden levels beyond its last one.
            if self.keys.len() >= limit {
                self.complete_from = self.keys.first().copied().unwrap_or(0);
            }
        }
        while self.keys.len() > max_levels {
            self.drop_worst();
        }
        // Room to grow without reallocating while the book breathes around its snapshot size.
        let room = self.keys.len().max(256).min(max_levels);
        self.keys.reserve(room);
        self.sizes.reserve(room);
        true
    }

    fn complete_depth(&self) -> usize {
        self.keys.len() - self.keys.partition_point(|&k| k < self.complete_from)
    }

    fn best(&self) -> Option<Level> {
        let k = *self.keys.last()?;
        let s = *self.sizes.last()?;
        Some(Level {
            price: self.price(k),
            size: Decimal::from_raw(s),
        })
    }

    fn levels(&self, n: usize) -> Levels<'_> {
        let start = self.keys.len().saturating_sub(n);
        Levels {
            keys: &self.keys[start..],
            sizes: &self.sizes[start..],
            ask: self.ask,
        }
    }

    fn size_at(&self, price: Decimal) -> Option<Decimal> {
        let i = self.find(self.key(price)).ok()?;
        self.sizes.get(i).map(|&s| Decimal::from_raw(s))
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Levels of one side, best first. Created by [`OrderBook::bids`], [`OrderBook::asks`] and
/// [`OrderBook::top_n`]; no allocation.
#[derive(Debug, Clone)]
pub struct Levels<'a> {
    keys: &'a [u128],
    sizes: &'a [u128],
    ask: bool,
}

impl Iterator for Levels<'_> {
    type Item = Level;

    #[inline]
    fn next(&mut self) -> Option<Level> {
        let (&k, keys) = self.keys.split_last()?;
        let (&s, sizes) = self.sizes.split_last()?;
        self.keys = keys;
        self.sizes = sizes;
        Some(Level {
            price: Decimal::from_raw(if self.ask { !k } else { k }),
            size: Decimal::from_raw(s),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.keys.len(), Some(self.keys.len()))
    }
}

impl ExactSizeIterator for Levels<'_> {}

/// A level-2 order book with exact prices and sizes, at a known sequence.
///
/// Best bid and best ask are O(1); [`top_n`](Self::top_n) is O(n); a change costs a search plus a
/// move of the levels between it and the touch (changes concentrate at the touch).
#[derive(Debug, Clone)]
pub struct OrderBook {
    pub(crate) bids: Ladder,
    pub(crate) asks: Ladder,
    pub(crate) sequence: u64,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBook {
    /// An empty book at sequence 0.
    #[must_use]
    pub fn new() -> Self {
        OrderBook {
            bids: Ladder::new(false),
            asks: Ladder::new(true),
            sequence: 0,
        }
    }

    /// The last sequence applied.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Highest bid.
    #[must_use]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// Lowest ask.
    #[must_use]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// True when the best bid is at or above the best ask.
    #[must_use]
    #[inline]
    pub fn is_crossed(&self) -> bool {
        match (self.bids.keys.last(), self.asks.keys.last()) {
            (Some(&b), Some(&a)) => b >= !a,
            _ => false,
        }
    }

    /// All bids, best (highest) first.
    #[must_use]
    pub fn bids(&self) -> Levels<'_> {
        self.bids.levels(usize::MAX)
    }

    /// All asks, best (lowest) first.
    #[must_use]
    pub fn asks(&self) -> Levels<'_> {
        self.asks.levels(usize::MAX)
    }

    /// The best `n` levels of each side, best first: `(bids, asks)`. O(n), no allocation.
    ///
    /// For a book bootstrapped from a depth-limited snapshot, only the first
    /// [`complete_depth`](Self::complete_depth) levels of a side are known to be complete.
    #[must_use]
    pub fn top_n(&self, n: usize) -> (Levels<'_>, Levels<'_>) {
        (self.bids.levels(n), self.asks.levels(n))
    }

    /// Number of levels on a side.
    #[must_use]
    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.len(),
            Side::Ask => self.asks.len(),
        }
    }

    /// True if both sides are empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bids.len() == 0 && self.asks.len() == 0
    }

    /// How many levels of a side, from the best, are known to match KuCoin's book exactly.
    ///
    /// Equal to [`len`](Self::len) for a book from a full snapshot. For a book bootstrapped from
    /// `level2_100` (no API keys), levels worse than the snapshot's 100th price were never seen and
    /// may be missing, so this counts only the levels at or better than that price; it shrinks as the
    /// market moves away from it. Levels dropped by [`BookConfig::max_levels`](super::BookConfig)
    /// shrink it too.
    #[must_use]
    pub fn complete_depth(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.complete_depth(),
            Side::Ask => self.asks.complete_depth(),
        }
    }

    /// The size resting at `price` on `side`, if any.
    #[must_use]
    pub fn size_at(&self, side: Side, price: Decimal) -> Option<Decimal> {
        match side {
            Side::Bid => self.bids.size_at(price),
            Side::Ask => self.asks.size_at(price),
        }
    }

    /// Sets the size of a level (zero deletes), keeping at most `max_levels` per side.
    ///
    /// Does not touch the sequence. Exposed for benchmarks and tools that maintain a book by hand;
    /// [`BookSync`](super::BookSync) is the checked way to keep a book in step.
    pub fn set(&mut self, side: Side, price: Decimal, size: Decimal, max_levels: usize) {
        match side {
            Side::Bid => self.bids.set(price, size, max_levels),
            Side::Ask => self.asks.set(price, size, max_levels),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.sequence = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn size_zero_deletes_and_best_is_at_the_touch() {
        let mut b = OrderBook::new();
        for p in ["10", "11", "9.5"] {
            b.set(Side::Bid, d(p), d("1"), usize::MAX);
        }
        for p in ["12", "12.5", "13"] {
            b.set(Side::Ask, d(p), d("2"), usize::MAX);
        }
        assert_eq!(b.best_bid().unwrap().price, d("11"));
        assert_eq!(b.best_ask().unwrap().price, d("12"));
        b.set(Side::Bid, d("11"), Decimal::ZERO, usize::MAX);
        b.set(Side::Ask, d("12"), Decimal::ZERO, usize::MAX);
        b.set(Side::Ask, d("99"), Decimal::ZERO, usize::MAX); // absent: nothing happens
        assert_eq!(b.best_bid().unwrap().price, d("10"));
        let asks: Vec<String> = b.asks().map(|l| l.price.to_string()).collect();
        assert_eq!(asks, ["12.5", "13"]);
        let bids: Vec<String> = b.top_n(1).0.map(|l| l.price.to_string()).collect();
        assert_eq!(bids, ["10"]);
        assert!(!b.is_crossed());
        b.set(Side::Bid, d("12.5"), d("1"), usize::MAX);
        assert!(b.is_crossed());
    }

    #[test]
    fn max_levels_drops_the_worst_and_shrinks_complete_depth() {
        let mut b = OrderBook::new();
        for i in 1..=5u64 {
            b.set(Side::Ask, Decimal::from_int(i), d("1"), 3);
        }
        let asks: Vec<String> = b.asks().map(|l| l.price.to_string()).collect();
        assert_eq!(asks, ["1", "2", "3"]);
        assert_eq!(b.complete_depth(Side::Ask), 3);
        b.set(Side::Ask, d("2"), Decimal::ZERO, 3);
        assert_eq!(b.complete_depth(Side::Ask), 2);
        assert_eq!(b.size_at(Side::Ask, d("3")), Some(d("1")));
    }

    #[test]
    fn a_level_is_at_most_48_bytes() {
        let per_level = 2 * std::mem::size_of::<u128>();
        assert!(per_level <= 48);
    }
}
