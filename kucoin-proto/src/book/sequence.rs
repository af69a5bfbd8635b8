//! The sequence rule: does an incremental message continue the book, repeat it, or skip ahead?
//!
//! KuCoin's documented procedure for the spot `/market/level2` topic ("Level2 - Market Data",
//! <https://www.kucoin.com/docs/websocket/spot-trading/public-channels/level2-market-data>):
//!
//! > 1. After receiving the websocket Level 2 data flow, cache the data.
//! > 2. Initiate a REST request to get the snapshot data of Level 2 order book.
//! > 3. Playback the cached Level 2 data flow.
//! > 4. Apply the new Level 2 data flow to the local snapshot to ensure that `sequenceStart(new)<=sequenceEnd+1(old)`
//! >    and `sequenceEnd(new) > sequenceEnd(old)`. The sequence on each record in changes only represents the last
//! >    modification of the corresponding sequence of the price, and does not serve as a basis for judging message
//! >    continuity.
//! > 5. Update the level2 full data based on sequence according to the price and size. If the price is 0, ignore the
//! >    messages and update the sequence. If the size=0, update the sequence and remove the price of which the size
//! >    is 0 out of level 2. For other cases, please update the price.
//!
//! Futures `/contractMarket/level2` carries one change per message and one `sequence`, which must be
//! exactly the previous one plus one ("if the sequence is discontinuous, fetch the snapshot again").
//!
//! # Why not "apply deltas where `sequenceStart > snapshot.sequence`"
//!
//! A message covers a *range* of sequences, `sequenceStart..=sequenceEnd`. The message that contains the
//! snapshot's own sequence, or any message that straddles the local `last`, has `sequenceStart <= last`
//! but also carries changes *above* `last` that the book does not have yet. The shortcut drops the whole
//! message and with it those changes, so the book silently diverges (and no later check notices,
//! because the next message does start at `last + 1` of the skipped one). The documented rule keeps such
//! a message (`sequenceStart <= last + 1 && sequenceEnd > last`) and applies only the changes whose own
//! sequence is above `last`, which is exactly the part the book is missing. Overlapping ranges are
//! normal on KuCoin's feed after a snapshot, so this matters in practice.

/// What to do with one incremental message, given the last sequence the book holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeqCheck {
    /// Everything in it is already in the book (`sequenceEnd <= last`): drop it.
    Stale,
    /// It continues the book: apply the changes whose own sequence is above `last`, then `last = end`.
    Apply,
    /// Messages are missing: `sequenceStart > last + 1`. The book must be rebuilt.
    Gap {
        /// The first sequence the book needed (`last + 1`).
        expected: u64,
        /// The first sequence the message has.
        got: u64,
    },
}

/// KuCoin's spot rule for a message `start..=end` against the book's `last` sequence.
///
/// `Apply` iff `start <= last + 1 && end > last`; `Stale` iff `end <= last`; otherwise `Gap`.
/// The caller has checked `start <= end`.
#[must_use]
pub const fn check_spot(last: u64, start: u64, end: u64) -> SeqCheck {
    if end <= last {
        SeqCheck::Stale
    } else if start <= last.saturating_add(1) {
        SeqCheck::Apply
    } else {
        SeqCheck::Gap {
            expected: last.saturating_add(1),
            got: start,
        }
    }
}

/// KuCoin's futures rule: `sequence` must be `last + 1`; at or below `last` is stale.
///
/// It is the spot rule for a one-change message (`start == end == sequence`).
#[must_use]
pub const fn check_futures(last: u64, sequence: u64) -> SeqCheck {
    check_spot(last, sequence, sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_rule_table() {
        let gap = |expected, got| SeqCheck::Gap { expected, got };
        // (last, start, end, expected)
        let table = [
            (100, 101, 101, SeqCheck::Apply), // next single change
            (100, 101, 105, SeqCheck::Apply), // next range
            (100, 98, 103, SeqCheck::Apply),  // overlap: apply 101..=103 only
            (100, 100, 100, SeqCheck::Stale), // duplicate of the last
            (100, 90, 100, SeqCheck::Stale),  // range ending at last
            (100, 90, 95, SeqCheck::Stale),   // old
            (100, 102, 102, gap(101, 102)),   // one missing
            (100, 150, 160, gap(101, 150)),   // many missing
            (0, 1, 1, SeqCheck::Apply),       // from an empty book
            (u64::MAX, 5, u64::MAX, SeqCheck::Stale),
        ];
        for (last, start, end, want) in table {
            assert_eq!(
                check_spot(last, start, end),
                want,
                "last {last} msg {start}..={end}"
            );
        }
    }

    #[test]
    fn futures_sequence_must_be_consecutive() {
        assert_eq!(check_futures(10, 11), SeqCheck::Apply);
        assert_eq!(check_futures(10, 10), SeqCheck::Stale);
        assert_eq!(check_futures(10, 3), SeqCheck::Stale);
        assert_eq!(
            check_futures(10, 12),
            SeqCheck::Gap {
                expected: 11,
                got: 12
            }
        );
    }
}
