//! Wall-clock time as a value: the core never reads a clock.

use std::fmt;

/// Milliseconds since the Unix epoch, as KuCoin uses them in `KC-API-TIMESTAMP`.
///
/// The caller reads its clock (or a server-adjusted clock, see [`ServerTimeOffset`])
/// once per request and passes the value in.
///
/// Deserializes from a JSON integer (as `GET /api/v1/timestamp` sends it); anything else,
/// including numbers beyond `u64`, is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// Returns the value as milliseconds.
    #[must_use]
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Adds a signed offset in milliseconds, saturating at the ends of the range.
    #[must_use]
    pub fn offset_by(self, millis: i64) -> UnixMillis {
        UnixMillis(self.0.saturating_add_signed(millis))
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Difference between KuCoin's clock and the local one, learnt from `GET /api/v1/timestamp`.
///
/// Feed it with [`ServerTimeOffset::observe`] after a server-time request (typically after a
/// `400002` "invalid KC-API-TIMESTAMP" error) and sign with [`ServerTimeOffset::adjust`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerTimeOffset {
    /// Server minus local, in milliseconds.
    offset_ms: i64,
}

impl ServerTimeOffset {
    /// No offset: the local clock is trusted.
    #[must_use]
    pub fn zero() -> Self {
        Self::default()
    }

    /// Learns the offset from one server-time round trip.
    ///
    /// `sent` and `received` are the local wall-clock times around the request; the server's
    /// answer is assumed to have been produced half-way between them.
    pub fn observe(&mut self, sent: UnixMillis, received: UnixMillis, server: UnixMillis) {
        let mid = sent.0 / 2 + received.0 / 2 + (sent.0 % 2 + received.0 % 2) / 2;
        let diff = i128::from(server.0) - i128::from(mid);
        self.offset_ms = diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    }

    /// Learns the offset from the raw answer of `GET /api/v1/timestamp`
    /// ([`crate::rest::ServerTime`]), for use after a `400002` clock-skew error.
    ///
    /// On success returns the server's time and updates the offset; on error the offset is
    /// left unchanged.
    pub fn observe_response(
        &mut self,
        sent: UnixMillis,
        received: UnixMillis,
        http_status: u16,
        body: &[u8],
    ) -> Result<UnixMillis, crate::rest::ResponseError> {
        let server: UnixMillis = crate::rest::parse_envelope(http_status, body)?;
        self.observe(sent, received, server);
        Ok(server)
    }

    /// Server minus local, in milliseconds.
    #[must_use]
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// Converts a local wall-clock reading to the server's clock.
    #[must_use]
    pub fn adjust(&self, local: UnixMillis) -> UnixMillis {
        local.offset_by(self.offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_uses_midpoint_of_round_trip() {
        let mut o = ServerTimeOffset::zero();
        o.observe(UnixMillis(1_000), UnixMillis(1_100), UnixMillis(2_050));
        assert_eq!(o.offset_ms(), 1_000);
        assert_eq!(o.adjust(UnixMillis(5_000)), UnixMillis(6_000));
    }

    #[test]
    fn offset_can_be_negative_and_saturates() {
        let mut o = ServerTimeOffset::zero();
        o.observe(UnixMillis(10_000), UnixMillis(10_000), UnixMillis(9_000));
        assert_eq!(o.offset_ms(), -1_000);
        assert_eq!(o.adjust(UnixMillis(500)), UnixMillis(0));
    }
}
