//! Session configuration.

use std::time::Duration;

/// Exponential backoff between connection attempts: `initial * 2^(attempt-1)`, capped at
/// `max`, plus a seeded random jitter in `0..=jitter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Cap on the exponential part.
    pub max: Duration,
    /// Upper bound of the random delay added to every pause.
    pub jitter: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            jitter: Duration::from_millis(500),
        }
    }
}

impl Backoff {
    /// The pause before retry number `attempt` (1-based), given a jitter sample in `0..=jitter`.
    pub(crate) fn base(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << exp).min(self.max)
    }
}

/// How a [`Session`](super::Session) behaves. Start from `SessionConfig::default()` and
/// change what you need with the `with_*` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Use the private bullet (`/api/v1/bullet-private`); needed for private topics.
    pub private: bool,
    /// Seed for connect ids, request ids and backoff jitter.
    pub seed: u64,
    /// How long the WebSocket handshake may take after the URL was handed out.
    pub connect_timeout: Duration,
    /// How long to wait for `welcome` after the handshake.
    pub welcome_timeout: Duration,
    /// How long to wait for the `ack` of a subscribe/unsubscribe request.
    pub ack_timeout: Duration,
    /// How many times a request without an `ack` is re-sent before it is reported failed.
    pub ack_retries: u32,
    /// Pause between failed attempts.
    pub backoff: Backoff,
    /// Consecutive failed attempts after which the session closes; `None` retries forever.
    pub max_attempts: Option<u32>,
    /// Topics one connection may carry (KuCoin documents a limit of about 300).
    pub max_topics_per_connection: usize,
    /// Subjects joined into one request (`/market/level2:A,B,…`); KuCoin allows 100.
    pub max_subjects_per_request: usize,
    /// How long a graceful close waits for the socket to go away.
    pub close_timeout: Duration,
    /// Move to a fresh bullet when this fraction (in per mille) of the token lifetime has passed,
    /// if the bullet carries a lifetime.
    pub token_refresh_per_mille: u32,
    /// Longest text frame accepted, in bytes; a longer one is rejected before it is parsed
    /// ([`FrameError::TooLong`](super::FrameError::TooLong)). KuCoin's frames are a few KB.
    /// Default 1 MiB.
    pub max_frame_len: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            private: false,
            seed: 0,
            connect_timeout: Duration::from_secs(10),
            welcome_timeout: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(10),
            ack_retries: 2,
            backoff: Backoff::default(),
            max_attempts: None,
            max_topics_per_connection: 300,
            max_subjects_per_request: 100,
            close_timeout: Duration::from_secs(5),
            token_refresh_per_mille: 900,
            max_frame_len: 1 << 20,
        }
    }
}

impl SessionConfig {
    /// A public session (market data) with the default settings.
    #[must_use]
    pub fn public() -> Self {
        Self::default()
    }

    /// A private session (orders, balances) with the default settings.
    #[must_use]
    pub fn private() -> Self {
        Self {
            private: true,
            ..Self::default()
        }
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the handshake timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets the welcome timeout.
    #[must_use]
    pub fn with_welcome_timeout(mut self, d: Duration) -> Self {
        self.welcome_timeout = d;
        self
    }

    /// Sets the ack timeout and how many times an unacknowledged request is re-sent.
    #[must_use]
    pub fn with_ack(mut self, timeout: Duration, retries: u32) -> Self {
        self.ack_timeout = timeout;
        self.ack_retries = retries;
        self
    }

    /// Sets the backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the limit of consecutive failed attempts (`None`: retry forever).
    #[must_use]
    pub fn with_max_attempts(mut self, max: Option<u32>) -> Self {
        self.max_attempts = max;
        self
    }

    /// Sets how many topics one connection may carry.
    #[must_use]
    pub fn with_max_topics_per_connection(mut self, n: usize) -> Self {
        self.max_topics_per_connection = n;
        self
    }

    /// Sets how many subjects are joined into one request (at least 1).
    #[must_use]
    pub fn with_max_subjects_per_request(mut self, n: usize) -> Self {
        self.max_subjects_per_request = n.max(1);
        self
    }

    /// Sets the longest text frame accepted, in bytes.
    #[must_use]
    pub fn with_max_frame_len(mut self, n: usize) -> Self {
        self.max_frame_len = n;
        self
    }

    /// Sets the graceful-close timeout.
    #[must_use]
    pub fn with_close_timeout(mut self, d: Duration) -> Self {
        self.close_timeout = d;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            jitter: Duration::ZERO,
        };
        let got: Vec<u128> = (1..=6).map(|a| b.base(a).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.base(u32::MAX).as_millis(), 1000);
    }
}
