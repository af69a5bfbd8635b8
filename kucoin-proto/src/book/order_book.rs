//! The order book itself: two price ladders with the best price on top.

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

/// Slots in a ladder's window.
const GRID: usize = 1024;
/// Words of a window's occupancy bitmap (one bit a slot).
const WORDS: usize = GRID / 64;
/// Where a (re)built window puts the best level: a quarter of the window above it for prices that
/// improve, three quarters below for the depth where changes land.
const GRID_BEST: usize = GRID - GRID / 4;
/// A best level below this slot moves the window down (when levels lie below the window).
const GRID_LOW: usize = GRID / 4;
/// A ladder built level by level (no snapshot) sets its window up once it holds this many.
const GRID_MIN_LEVELS: usize = 8;
/// Rebuilds closer together than this many changes are "quick"; ...
const QUICK_REBUILD_SETS: u32 = 64;
/// ... after this many quick rebuilds in a row the ladder stops using a window ...
const QUICK_REBUILDS_MAX: u32 = 4;
/// ... and tries it again after this many changes (or when cleared).
const OFF_RETRY_SETS: u32 = 1 << 16;

/// Largest step exponent: a step of `10^MAX_E` units of `1e-18` (10,000 for a price step).
/// Bounded so that `GRID * 5^e` fits in 64 bits with room (see [`Ladder::slot`]).
const MAX_E: usize = 22;

/// `POW10_128[e] = 10^e`.
const POW10_128: [u128; MAX_E + 1] = {
    let mut t = [1u128; MAX_E + 1];
    let mut e = 1;
    while e <= MAX_E {
        t[e] = t[e - 1] * 10;
        e += 1;
    }
    t
};

/// `INV5[e]`: the inverse of `5^e` modulo `2^64` (exact division by `5^e` is one multiplication).
const INV5: [u64; MAX_E + 1] = {
    let mut t = [0u64; MAX_E + 1];
    let mut p = 1u64;
    let mut e = 0;
    while e <= MAX_E {
        // Newton's iteration: each step doubles the correct low bits (an odd p starts with 3).
        let mut x = p;
        let mut i = 0;
        while i < 6 {
            x = x.wrapping_mul(2u64.wrapping_sub(p.wrapping_mul(x)));
            i += 1;
        }
        t[e] = x;
        p = p.wrapping_mul(5);
        e += 1;
    }
    t
};

/// Whether a ladder uses its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Window {
    /// Not set up yet (new, cleared, or too few levels): every level is in the sorted part.
    #[default]
    Unset,
    /// Levels at or above `lo` are in the window, the others in the sorted part.
    On,
    /// The prices do not suit a window (it kept moving): every level is in the sorted part.
    Off,
}

/// One side of the book.
///
/// Keys grow towards the best price: for bids the key is the price, for asks its bitwise
/// complement, so that the lowest ask is the largest key.
///
/// The levels near the best price live in a window: a dense array of sizes, one slot per price
/// step, where a change is one subtraction, one multiplication and a store (no search, no
/// memory move); a bitmap of the occupied slots finds the next level 64 slots at a time. The
/// step is the largest power of ten that divides every price of the ladder
/// (0.1 for `65000.1`). Levels below the window (far from the touch) are kept in a sorted array
/// with its best level last. A price the window cannot hold exactly (finer than its step),
/// a best price above it, or a best price drifting low in it rebuilds the window around the
/// best level; a ladder whose window keeps moving turns it off and keeps every level in the
/// sorted array.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    /// Levels below the window (all of them when there is no window), ascending keys.
    keys: Vec<u128>,
    sizes: Vec<u128>,
    /// The window: slot `q` holds the size at key `lo + q * unit`, 0 when there is no level.
    grid: Vec<u128>,
    /// Bit `q % 64` of word `q / 64` is set iff slot `q` holds a level.
    occ: [u64; WORDS],
    /// Key of slot 0.
    lo: u128,
    /// `GRID * unit` when the window is on, 0 otherwise (so that no key falls in it).
    span: u128,
    /// `unit = 10^e` (in units of `1e-18`).
    e: u32,
    unit: u128,
    /// `INV5[e]`.
    inv: u64,
    /// `2^e - 1`: a key difference that is a multiple of the unit has these bits clear.
    low_mask: u64,
    /// Levels in the window.
    in_grid: usize,
    /// Highest slot holding a level (when `in_grid > 0`).
    top: usize,
    /// At or below the lowest slot holding a level (when `in_grid > 0`).
    bottom: usize,
    window: Window,
    /// Changes since the last rebuild, and rebuilds in a row that came quickly.
    sets: u32,
    quick_rebuilds: u32,
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

    /// Key of window slot `q`.
    #[inline]
    fn slot_key(&self, q: usize) -> u128 {
        self.lo + q as u128 * self.unit
    }

    /// Marks slot `q` as holding a level (`on`) or not.
    #[inline]
    fn mark(&mut self, q: usize, on: bool) {
        if let Some(w) = self.occ.get_mut(q / 64) {
            let bit = 1u64 << (q % 64);
            if on {
                *w |= bit;
            } else {
                *w &= !bit;
            }
        }
    }

    /// Finds `key` in the sorted part: scans its last few levels, then binary-searches.
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

    /// The window slot of `key`, if the key is in the window and a whole number of steps into it.
    #[inline(always)]
    fn slot(&self, key: u128) -> Option<usize> {
        let d = key.wrapping_sub(self.lo);
        if d >= self.span {
            return None;
        }
        // d < GRID * 10^e, so d >> e < GRID * 5^e fits in 64 bits. The multiplication by the
        // inverse of 5^e gives d / 10^e when 5^e divides it, and a number above
        // u64::MAX / 5^e (> GRID, as e <= MAX_E) when it does not.
        let q = ((d >> self.e) as u64).wrapping_mul(self.inv);
        ((d as u64) & self.low_mask == 0 && q < GRID as u64).then_some(q as usize)
    }

    /// Sets the size at `price` (zero deletes). Keeps at most `max_levels`, dropping the worst.
    #[inline]
    pub(crate) fn set(&mut self, price: Decimal, size: Decimal, max_levels: usize) {
        let key = self.key(price);
        let size = size.to_raw();
        self.sets = self.sets.wrapping_add(1);
        match self.slot(key) {
            Some(q) => self.set_slot(q, size, max_levels),
            None => self.set_outside(key, size, max_levels),
        }
    }

    #[inline]
    fn set_slot(&mut self, q: usize, size: u128, max_levels: usize) {
        let Some(slot) = self.grid.get_mut(q) else {
            return;
        };
        let old = std::mem::replace(slot, size);
        if size != 0 {
            if old == 0 {
                self.mark(q, true);
                self.in_grid += 1;
                if self.in_grid == 1 {
                    self.top = q;
                    self.bottom = q;
                } else {
                    self.top = self.top.max(q);
                    self.bottom = self.bottom.min(q);
                }
                if self.len() > max_levels {
                    self.drop_worst();
                }
            }
        } else if old != 0 {
            self.mark(q, false);
            self.in_grid -= 1;
            if q == self.top {
                self.lower_top();
            }
        }
    }

    /// The best level of the window went: find the next one (or move the window).
    fn lower_top(&mut self) {
        if self.in_grid > 0 {
            self.top = highest_below(&self.occ, self.top).unwrap_or(0);
        }
        if (self.in_grid == 0 || self.top < GRID_LOW) && !self.keys.is_empty() {
            self.rebuild();
        }
    }

    /// A change outside the window, or one the window cannot hold.
    #[cold]
    #[inline(never)]
    fn set_outside(&mut self, key: u128, size: u128, max_levels: usize) {
        match self.window {
            Window::On if key < self.lo => {
                self.sorted_set(key, size, max_levels);
                if self.in_grid == 0 || self.top < GRID_LOW {
                    self.rebuild();
                }
            }
            Window::On => {
                // Above the window, or between its steps: no such level exists to delete.
                if size == 0 {
                    return;
                }
                self.flatten();
                self.sorted_set(key, size, max_levels);
                self.rebuild();
            }
            Window::Unset => {
                self.sorted_set(key, size, max_levels);
                if self.keys.len() >= GRID_MIN_LEVELS {
                    self.rebuild();
                }
            }
            Window::Off => {
                self.sorted_set(key, size, max_levels);
                if self.sets >= OFF_RETRY_SETS {
                    self.window = Window::Unset;
                    self.quick_rebuilds = 0;
                    self.rebuild();
                }
            }
        }
    }

    /// Sets a level in the sorted part.
    fn sorted_set(&mut self, key: u128, size: u128, max_levels: usize) {
        match self.find(key) {
            Ok(i) => {
                if size == 0 {
                    self.keys.remove(i);
                    self.sizes.remove(i);
                } else if let Some(s) = self.sizes.get_mut(i) {
                    *s = size;
                }
            }
            Err(i) => {
                if size == 0 {
                    return;
                }
                self.keys.insert(i, key);
                self.sizes.insert(i, size);
                if self.len() > max_levels {
                    self.drop_worst();
                }
            }
        }
    }

    /// Moves the window's levels into the sorted part (they are all above it) and empties it.
    fn flatten(&mut self) {
        if self.in_grid > 0 {
            for i in 0..WORDS {
                let mut w = self.occ.get(i).copied().unwrap_or(0);
                while w != 0 {
                    let q = i * 64 + w.trailing_zeros() as usize;
                    w &= w - 1;
                    let size = self.grid.get(q).copied().unwrap_or(0);
                    let key = self.slot_key(q);
                    self.keys.push(key);
                    self.sizes.push(size);
                }
            }
            if let Some(used) = self.grid.get_mut(self.bottom..=self.top) {
                used.fill(0);
            }
            self.occ = [0; WORDS];
        }
        self.in_grid = 0;
        self.span = 0;
        self.lo = 0;
    }

    /// Puts every level in the sorted part and sets the window up again around the best level,
    /// with the largest step that divides every price (or turns it off if it keeps moving).
    fn rebuild(&mut self) {
        self.flatten();
        if self.window == Window::Off {
            return;
        }
        if self.window == Window::On {
            if self.sets < QUICK_REBUILD_SETS {
                self.quick_rebuilds += 1;
                if self.quick_rebuilds >= QUICK_REBUILDS_MAX {
                    self.window = Window::Off;
                    return;
                }
            } else {
                self.quick_rebuilds = 0;
            }
        }
        self.sets = 0;
        let Some(&best) = self.keys.last() else {
            self.window = Window::Unset;
            return;
        };
        // The step: the largest power of ten (at most 10^MAX_E) dividing every price.
        let mut e = MAX_E;
        for &k in &self.keys {
            let p = if self.ask { !k } else { k };
            while e > 0 && p % POW10_128[e] != 0 {
                e -= 1;
            }
        }
        let unit = POW10_128[e];
        let span = GRID as u128 * unit;
        let below = GRID_BEST as u128 * unit;
        let lo = if self.ask {
            // Ask keys end at u128::MAX (price 0): slot 0 is at least GRID steps above price 0,
            // so that the window ends at or before it and no key below `lo` wraps into it.
            best.checked_sub(below)
                .map(|lo| lo.min(!(GRID as u128 * unit)))
        } else {
            Some(best.saturating_sub(below))
        };
        // The window must hold the best level (not so for an ask at price 0) and end within the
        // keys (so that no key below it wraps into it).
        let fits = |lo: &u128| best - lo < span && lo.checked_add(span - 1).is_some();
        let Some(lo) = lo.filter(fits) else {
            self.window = Window::Off;
            return;
        };
        if self.grid.len() != GRID {
            self.grid = vec![0; GRID];
        }
        self.lo = lo;
        self.span = span;
        self.e = e as u32;
        self.unit = unit;
        self.inv = INV5[e];
        self.low_mask = (1u64 << e) - 1;
        self.window = Window::On;
        let first = self.keys.partition_point(|&k| k < lo);
        for i in first..self.keys.len() {
            let (Some(&k), Some(&s)) = (self.keys.get(i), self.sizes.get(i)) else {
                break;
            };
            let q = ((k - lo) / unit) as usize;
            if let Some(slot) = self.grid.get_mut(q) {
                *slot = s;
                self.mark(q, true);
                if self.in_grid == 0 {
                    self.bottom = q;
                }
                self.top = q;
                self.in_grid += 1;
            }
        }
        self.keys.truncate(first);
        self.sizes.truncate(first);
    }

    fn drop_worst(&mut self) {
        let worst = if !self.keys.is_empty() {
            self.sizes.remove(0);
            self.keys.remove(0)
        } else if self.in_grid > 0 {
            let from = self.bottom.min(self.top);
            let Some(q) = lowest_from(&self.occ, from) else {
                return;
            };
            if let Some(slot) = self.grid.get_mut(q) {
                *slot = 0;
            }
            self.mark(q, false);
            self.in_grid -= 1;
            self.bottom = q + 1;
            let key = self.slot_key(q);
            if self.in_grid > 0 && q == self.top {
                self.lower_top();
            }
            key
        } else {
            return;
        };
        // Levels at or beyond the dropped one are no longer known.
        self.complete_from = self.complete_from.max(worst.saturating_add(1));
    }

    pub(crate) fn clear(&mut self) {
        self.flatten();
        self.keys.clear();
        self.sizes.clear();
        self.window = Window::Unset;
        self.sets = 0;
        self.quick_rebuilds = 0;
        self.complete_from = 0;
    }

    /// Appends a level during a snapshot load (any order; call `finish_load` afterwards).
    pub(crate) fn push_unsorted(&mut self, price: Decimal, size: Decimal) {
        if self.window == Window::On {
            self.flatten();
            self.window = Window::Unset;
        }
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
        self.window = Window::Unset;
        self.quick_rebuilds = 0;
        self.rebuild();
        true
    }

    fn complete_depth(&self) -> usize {
        let sorted = self.keys.len() - self.keys.partition_point(|&k| k < self.complete_from);
        if self.in_grid == 0 {
            return sorted;
        }
        if self.complete_from <= self.lo {
            return sorted + self.in_grid;
        }
        let from = (self.complete_from - self.lo).div_ceil(self.unit);
        let window = usize::try_from(from).map_or(0, |from| count_from(&self.occ, from));
        sorted + window
    }

    /// Key of the best level.
    #[inline]
    fn best_key(&self) -> Option<u128> {
        if self.in_grid > 0 {
            Some(self.slot_key(self.top))
        } else {
            self.keys.last().copied()
        }
    }

    fn best(&self) -> Option<Level> {
        let (key, size) = if self.in_grid > 0 {
            (self.slot_key(self.top), *self.grid.get(self.top)?)
        } else {
            (*self.keys.last()?, *self.sizes.last()?)
        };
        Some(Level {
            price: self.price(key),
            size: Decimal::from_raw(size),
        })
    }

    fn levels(&self, n: usize) -> Levels<'_> {
        let wi = self.top / 64;
        Levels {
            grid: &self.grid,
            occ: &self.occ,
            wi,
            word: if self.in_grid > 0 {
                self.occ.get(wi).copied().unwrap_or(0)
            } else {
                0
            },
            grid_left: self.in_grid,
            lo: self.lo,
            unit: self.unit,
            keys: &self.keys,
            sizes: &self.sizes,
            left: n.min(self.len()),
            ask: self.ask,
        }
    }

    fn size_at(&self, price: Decimal) -> Option<Decimal> {
        let key = self.key(price);
        let size = if key >= self.lo && self.span > 0 {
            *self.grid.get(self.slot(key)?)?
        } else {
            *self.sizes.get(self.find(key).ok()?)?
        };
        (size != 0).then_some(Decimal::from_raw(size))
    }

    fn len(&self) -> usize {
        self.keys.len() + self.in_grid
    }
}

/// The highest set bit of `occ` below bit `q`.
#[inline]
fn highest_below(occ: &[u64; WORDS], q: usize) -> Option<usize> {
    let mut i = q / 64;
    let mut w = occ.get(i)? & ((1u64 << (q % 64)) - 1);
    loop {
        if w != 0 {
            return Some(i * 64 + 63 - w.leading_zeros() as usize);
        }
        i = i.checked_sub(1)?;
        w = *occ.get(i)?;
    }
}

/// The lowest set bit of `occ` at or above bit `q`.
fn lowest_from(occ: &[u64; WORDS], q: usize) -> Option<usize> {
    let mut i = q / 64;
    let mut w = occ.get(i)? & (u64::MAX << (q % 64));
    loop {
        if w != 0 {
            return Some(i * 64 + w.trailing_zeros() as usize);
        }
        i += 1;
        w = *occ.get(i)?;
    }
}

/// How many bits of `occ` are set at or above bit `q`.
fn count_from(occ: &[u64; WORDS], q: usize) -> usize {
    let i = q / 64;
    let Some(first) = occ.get(i) else {
        return 0;
    };
    let rest: u32 = occ
        .get(i + 1..)
        .unwrap_or_default()
        .iter()
        .map(|w| w.count_ones())
        .sum();
    ((first & (u64::MAX << (q % 64))).count_ones() + rest) as usize
}

/// Levels of one side, best first. Created by [`OrderBook::bids`], [`OrderBook::asks`] and
/// [`OrderBook::top_n`]; no allocation.
#[derive(Debug, Clone)]
pub struct Levels<'a> {
    /// The window's slots.
    grid: &'a [u128],
    /// Its occupancy bitmap.
    occ: &'a [u64; WORDS],
    /// The word of the next level in the window, and its bits not yet returned.
    wi: usize,
    word: u64,
    /// Levels left in the window.
    grid_left: usize,
    lo: u128,
    unit: u128,
    /// The sorted part below the window, best last.
    keys: &'a [u128],
    sizes: &'a [u128],
    /// Levels still to return.
    left: usize,
    ask: bool,
}

impl Iterator for Levels<'_> {
    type Item = Level;

    #[inline]
    fn next(&mut self) -> Option<Level> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (k, s) = if self.grid_left > 0 {
            while self.word == 0 {
                self.wi = self.wi.checked_sub(1)?;
                self.word = *self.occ.get(self.wi)?;
            }
            let bit = 63 - self.word.leading_zeros() as usize;
            self.word &= !(1u64 << bit);
            let q = self.wi * 64 + bit;
            let s = *self.grid.get(q)?;
            self.grid_left -= 1;
            (self.lo + q as u128 * self.unit, s)
        } else {
            let (&k, keys) = self.keys.split_last()?;
            let (&s, sizes) = self.sizes.split_last()?;
            self.keys = keys;
            self.sizes = sizes;
            (k, s)
        };
        Some(Level {
            price: Decimal::from_raw(if self.ask { !k } else { k }),
            size: Decimal::from_raw(s),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}
impl ExactSizeIterator for Levels<'_> {}

/// A level-2 order book with exact prices and sizes, at a known sequence.
///
/// Best bid and best ask are O(1); [`top_n`](Self::top_n) is O(n) (plus one bitmap word for
/// each 64 empty price steps between the levels near the touch). A change near the touch is O(1):
/// each side keeps the levels within about a thousand price steps of its best price in a dense
/// window indexed by price, with a bitmap of the steps that hold a level, the rest in a sorted
/// array (a search and a move there). Prices are exact whatever
/// their step; a step finer than the book's usual one rebuilds the window.
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
        match (self.bids.best_key(), self.asks.best_key()) {
            (Some(b), Some(a)) => b >= !a,
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

    /// A plain model of one side: price -> size, plus the "known complete from" bound.
    #[derive(Default)]
    struct ModelSide {
        levels: std::collections::BTreeMap<Decimal, Decimal>,
    }

    /// The crate's seeded generator, with a `0..n` draw.
    struct Rng(crate::ws::rng::SplitMix64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0.below_or_eq(n - 1)
        }
    }

    fn check_side(book: &OrderBook, side: Side, model: &ModelSide) {
        let got: Vec<(Decimal, Decimal)> = match side {
            Side::Bid => book.bids().map(|l| (l.price, l.size)).collect(),
            Side::Ask => book.asks().map(|l| (l.price, l.size)).collect(),
        };
        let want: Vec<(Decimal, Decimal)> = match side {
            Side::Bid => model.levels.iter().rev().map(|(p, s)| (*p, *s)).collect(),
            Side::Ask => model.levels.iter().map(|(p, s)| (*p, *s)).collect(),
        };
        assert_eq!(got, want, "{side:?} levels");
        assert_eq!(book.len(side), want.len());
        let best = match side {
            Side::Bid => book.best_bid(),
            Side::Ask => book.best_ask(),
        };
        assert_eq!(best.map(|l| (l.price, l.size)), want.first().copied());
        let top: Vec<(Decimal, Decimal)> = match side {
            Side::Bid => book.top_n(3).0.map(|l| (l.price, l.size)).collect(),
            Side::Ask => book.top_n(3).1.map(|l| (l.price, l.size)).collect(),
        };
        assert_eq!(top, want.iter().take(3).copied().collect::<Vec<_>>());
        for (p, s) in want.iter().take(5) {
            assert_eq!(book.size_at(side, *p), Some(*s));
        }
    }

    /// Random changes around a drifting touch, in several price scales, some of them finer than
    /// the rest of the book, against a `BTreeMap`: the window (moved, rebuilt, refined) and the
    /// sorted part together always hold exactly the model's levels, in order.
    #[test]
    fn ladders_agree_with_a_sorted_map_through_drift_refinement_and_trimming() {
        for (seed, step, max_levels) in [
            (1u64, "0.1", usize::MAX),
            (2, "1", usize::MAX),
            (3, "0.00000001", usize::MAX),
            (4, "0.5", 40),
            (5, "1000", usize::MAX),
            (6, "0.1", 12),
        ] {
            let step = d(step);
            let mut rng = Rng(crate::ws::rng::SplitMix64::new(seed));
            let mut book = OrderBook::new();
            let mut model = [ModelSide::default(), ModelSide::default()];
            // A snapshot: 300 levels a side around 5000 steps.
            let mid: u64 = 5_000;
            for (i, side) in [(0usize, Side::Bid), (1, Side::Ask)] {
                let ladder = if i == 0 {
                    &mut book.bids
                } else {
                    &mut book.asks
                };
                let mut t = mid;
                for _ in 0..300 {
                    t = if i == 0 {
                        t - 1 - rng.below(3)
                    } else {
                        t + 1 + rng.below(3)
                    };
                    let price = Decimal::from_raw(step.to_raw() * u128::from(t));
                    let size = Decimal::from_int(1 + rng.below(50));
                    ladder.push_unsorted(price, size);
                    if model[i].levels.len() < max_levels || max_levels == usize::MAX {
                        model[i].levels.insert(price, size);
                    }
                }
                let _ = side;
                assert!(ladder.finish_load(None, max_levels));
            }
            // finish_load drops the worst levels beyond max_levels: make the model agree.
            for (i, m) in model.iter_mut().enumerate() {
                while m.levels.len() > max_levels {
                    if i == 0 {
                        m.levels.pop_first();
                    } else {
                        m.levels.pop_last();
                    }
                }
            }
            assert_eq!(
                book.bids.window,
                Window::On,
                "a snapshot sets the window up"
            );
            let mut fair = mid as i64;
            for n in 0..20_000u32 {
                // Drift, with long runs one way so that the window has to move.
                let phase = (n / 4_000) % 2 == 0;
                match rng.below(10) {
                    0 => fair += if phase { 1 } else { -1 },
                    1 => fair += rng.below(3) as i64 - 1,
                    _ => {}
                }
                let i = rng.below(2) as usize;
                let side = if i == 0 { Side::Bid } else { Side::Ask };
                let dist = if rng.below(10) < 9 {
                    rng.below(40)
                } else {
                    rng.below(1_500)
                };
                let ticks = if i == 0 {
                    fair - dist as i64
                } else {
                    fair + 1 + dist as i64
                };
                if ticks <= 0 {
                    continue;
                }
                let mut price = Decimal::from_raw(step.to_raw() * ticks as u128);
                if rng.below(2_000) == 0 {
                    // Now and then a price between the steps: the window must refine.
                    price = Decimal::from_raw(price.to_raw() + step.to_raw() / 4);
                }
                let size = if rng.below(3) == 0 {
                    Decimal::ZERO
                } else {
                    Decimal::from_int(1 + rng.below(99))
                };
                // The side's own crossing levels go first (as the generator of the corpus does).
                book.set(side, price, size, max_levels);
                let m = &mut model[i].levels;
                if size.is_zero() {
                    m.remove(&price);
                } else {
                    m.insert(price, size);
                    if m.len() > max_levels {
                        if i == 0 {
                            m.pop_first();
                        } else {
                            m.pop_last();
                        }
                    }
                }
                if n % 97 == 0 || n > 19_900 {
                    check_side(&book, Side::Bid, &model[0]);
                    check_side(&book, Side::Ask, &model[1]);
                }
            }
            check_side(&book, Side::Bid, &model[0]);
            check_side(&book, Side::Ask, &model[1]);
        }
    }

    #[test]
    fn a_book_built_by_hand_sets_its_window_up_and_tiny_ask_prices_stay_outside_key_max() {
        let mut b = OrderBook::new();
        for i in 1..=20u64 {
            b.set(
                Side::Ask,
                Decimal::from_raw(u128::from(i)),
                d("1"),
                usize::MAX,
            );
            b.set(Side::Bid, Decimal::from_int(i), d("1"), usize::MAX);
        }
        assert_eq!(b.asks.window, Window::On);
        assert_eq!(b.bids.window, Window::On);
        let asks: Vec<u128> = b.asks().map(|l| l.price.to_raw()).collect();
        assert_eq!(asks, (1..=20).collect::<Vec<_>>());
        // Price 0 and the largest raw values are levels like any other.
        b.set(Side::Ask, Decimal::ZERO, d("2"), usize::MAX);
        b.set(Side::Bid, Decimal::from_raw(u128::MAX), d("3"), usize::MAX);
        assert_eq!(b.best_ask().unwrap().price, Decimal::ZERO);
        assert_eq!(b.best_bid().unwrap().price.to_raw(), u128::MAX);
        assert_eq!(b.len(Side::Ask), 21);
        assert_eq!(b.len(Side::Bid), 21);
        b.set(Side::Ask, Decimal::ZERO, Decimal::ZERO, usize::MAX);
        b.set(
            Side::Bid,
            Decimal::from_raw(u128::MAX),
            Decimal::ZERO,
            usize::MAX,
        );
        assert_eq!(b.best_ask().unwrap().price.to_raw(), 1);
        assert_eq!(b.best_bid().unwrap().price, Decimal::from_int(20));
    }

    #[test]
    fn sparse_levels_are_found_across_bitmap_words_as_the_best_goes_and_the_worst_is_trimmed() {
        // Bids at 1000.00, 999.37, 998.74, ... (63 steps of 0.01 apart: every level in its own
        // bitmap word or next to a word boundary); the window takes the best 13.
        let price = |i: u64| Decimal::from_raw(u128::from(100_000 - 63 * i) * 10u128.pow(16));
        let mut b = OrderBook::new();
        for i in 0..14 {
            b.set(Side::Bid, price(i), Decimal::from_int(i + 1), 12);
        }
        assert_eq!(b.bids.window, Window::On);
        assert_eq!(b.bids.keys.len(), 0, "every level kept is in the window");
        // Kept to 12: the two worst went (one from the window, one from below it), and depth
        // beyond them is unknown.
        let want: Vec<Decimal> = (0..12).map(price).collect();
        let got: Vec<Decimal> = b.bids().map(|l| l.price).collect();
        assert_eq!(got, want);
        assert_eq!(b.complete_depth(Side::Bid), 12);
        let top: Vec<Decimal> = b.top_n(5).0.map(|l| l.price).collect();
        assert_eq!(top, want[..5]);
        // Deleting the best each time finds the next one, one or two words down.
        for i in 0..11 {
            b.set(Side::Bid, price(i), Decimal::ZERO, 12);
            assert_eq!(
                b.best_bid().map(|l| l.price),
                Some(price(i + 1)),
                "after {i}"
            );
            assert_eq!(
                b.size_at(Side::Bid, price(i + 1)),
                Some(Decimal::from_int(i + 2))
            );
            assert_eq!(b.len(Side::Bid), 11 - usize::try_from(i).unwrap());
        }
        assert_eq!(b.bids().map(|l| l.price).collect::<Vec<_>>(), [price(11)]);
    }

    #[test]
    fn a_window_that_keeps_moving_is_turned_off_and_the_book_stays_right() {
        let mut b = OrderBook::new();
        // Each new best is far above the last: every change moves the window.
        let mut model = Vec::new();
        for i in 0..200u64 {
            let p = Decimal::from_int(1 + i * 10_000);
            b.set(Side::Bid, p, d("1"), usize::MAX);
            model.push(p);
        }
        assert_eq!(b.bids.window, Window::Off);
        let got: Vec<Decimal> = b.bids().map(|l| l.price).collect();
        model.reverse();
        assert_eq!(got, model);
        // A calm market afterwards: the window is tried again, and holds the touch.
        let best = model[0];
        for i in 0..u64::from(OFF_RETRY_SETS) {
            b.set(Side::Bid, best, Decimal::from_int(1 + i % 7), usize::MAX);
        }
        assert_eq!(b.bids.window, Window::On);
        assert!(b.bids.in_grid > 0);
        let again: Vec<Decimal> = b.bids().map(|l| l.price).collect();
        assert_eq!(again, model);
    }

    #[test]
    fn a_level_is_at_most_48_bytes() {
        let per_level = 2 * std::mem::size_of::<u128>();
        assert!(per_level <= 48);
    }
}
