//! Session timers: an enum plus a table; the next deadline is the minimum.

use std::time::{Duration, Instant};

/// Why the session wants to be woken up (returned with the deadline by `poll_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// Graceful close: give up waiting for the socket to close.
    Close,
    /// The WebSocket handshake did not finish in time.
    Connect,
    /// The `welcome` frame did not arrive in time.
    Welcome,
    /// The `pong` for the outstanding ping is overdue.
    PongDeadline,
    /// The backoff pause before the next bullet request is over.
    Backoff,
    /// The bullet token is about to expire: fetch a fresh one and move over.
    TokenRefresh,
    /// Time to send the next ping.
    Ping,
    /// A subscribe/unsubscribe request was not acknowledged in time.
    Ack(
        /// The request id (as sent in `"id"`).
        u64,
    ),
}

/// Fixed timers, in the order they fire when several are due at once.
pub(crate) const FIXED: [Timer; 7] = [
    Timer::Close,
    Timer::Connect,
    Timer::Welcome,
    Timer::PongDeadline,
    Timer::Backoff,
    Timer::TokenRefresh,
    Timer::Ping,
];

fn slot(t: Timer) -> Option<usize> {
    FIXED.iter().position(|f| *f == t)
}

/// Deadlines of the fixed timers (`Ack` deadlines live with their requests).
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; 7],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        if let Some(i) = slot(t) {
            self.data[i] = Some(at);
        }
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        if let Some(i) = slot(t) {
            self.data[i] = None;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.data = [None; 7];
    }

    /// Earliest deadline; ties go to the timer listed first in [`FIXED`].
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        let mut best: Option<(Instant, Timer)> = None;
        for (i, d) in self.data.iter().enumerate() {
            if let (Some(at), Some(t)) = (d, FIXED.get(i))
                && best.is_none_or(|(b, _)| *at < b)
            {
                best = Some((*at, *t));
            }
        }
        best
    }
}

/// `now + d`, without panicking on overflow (a deadline beyond the representable range is
/// moved to about a year from `now`, which never fires in practice).
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a base for virtual time; only offsets matter
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn next_is_the_earliest_deadline() {
        let t0 = t0();
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Ping, t0 + Duration::from_secs(5));
        t.set(Timer::Welcome, t0 + Duration::from_secs(3));
        assert_eq!(
            t.next(),
            Some((t0 + Duration::from_secs(3), Timer::Welcome))
        );
        t.stop(Timer::Welcome);
        assert_eq!(t.next(), Some((t0 + Duration::from_secs(5), Timer::Ping)));
        t.clear();
        assert_eq!(t.next(), None);
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        let t0 = t0();
        assert!(later(t0, Duration::MAX) > t0);
    }
}
