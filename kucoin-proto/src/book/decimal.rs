//! Exact fixed-point decimals for prices and sizes: 18 fractional digits in a `u128`.

use std::fmt;

/// Number of fractional digits a [`Decimal`] holds.
pub const SCALE: u32 = 18;

/// Longest decimal text accepted (bytes), a guard against absurd inputs.
pub const MAX_TEXT_LEN: usize = 48;

/// Most integer digits accepted (so that every value fits in a `u64` before scaling).
pub const MAX_INT_DIGITS: usize = 19;

const ONE: u128 = 1_000_000_000_000_000_000;

/// `POW10[k] = 10^k` for `k` in `0..=18`.
pub(crate) const POW10: [u64; 19] = {
    let mut t = [1u64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// A non-negative exact decimal with 18 fractional digits, stored as an integer count of `1e-18`.
///
/// Parsed from KuCoin's decimal text (`"65000.1"`, `"0.00331"`, JSON numbers such as `66964.8`)
/// without going through `f64`. Text that cannot be held exactly is an error, never rounded.
/// Range: up to 19 integer digits and 18 fractional digits. [`Display`](fmt::Display) gives the
/// canonical form: no trailing zeros, no trailing dot (`"65000.1"`, `"0.5"`, `"2"`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(u128);

/// Why decimal text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimalError {
    /// The text is empty.
    #[error("empty decimal text")]
    Empty,
    /// The text starts with `-`: prices and sizes are never negative.
    #[error("negative decimal: prices and sizes must be >= 0")]
    Negative,
    /// The text is not plain decimal digits with an optional `.` (NaN, infinity, exponent, sign, …).
    #[error(
        "not a plain decimal (digits with an optional '.'; no sign, exponent, NaN or infinity)"
    )]
    Malformed,
    /// More fractional digits than the 18 a `Decimal` holds (and they are not all zero).
    #[error("more than 18 significant fractional digits: cannot be held exactly")]
    TooPrecise,
    /// More than 19 integer digits, or text longer than 48 bytes.
    #[error("decimal too long (more than 19 integer digits or 48 bytes)")]
    Overlong,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal(0);

    /// Parses decimal text exactly. See [`DecimalError`] for what is rejected.
    pub fn parse(text: &str) -> Result<Decimal, DecimalError> {
        Self::parse_bytes(text.as_bytes())
    }

    /// Parses decimal text given as bytes exactly.
    pub fn parse_bytes(b: &[u8]) -> Result<Decimal, DecimalError> {
        match parse_prefix(b, 0) {
            Ok((d, end)) if end == b.len() => Ok(d),
            Ok(_) => Err(DecimalError::Malformed),
            Err(e) => Err(e),
        }
    }

    /// The value in units of `1e-18`.
    #[must_use]
    pub const fn to_raw(self) -> u128 {
        self.0
    }

    /// Builds a value from units of `1e-18`.
    #[must_use]
    pub const fn from_raw(raw: u128) -> Decimal {
        Decimal(raw)
    }

    /// Builds a value from an integer.
    #[must_use]
    pub const fn from_int(v: u64) -> Decimal {
        Decimal(v as u128 * ONE)
    }

    /// True for zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// Eight ASCII digits (little-endian load) to their value, or `None` if any byte is not a digit.
#[inline(always)]
fn eight_digits(chunk: &[u8; 8]) -> Option<u64> {
    let x = u64::from_le_bytes(*chunk);
    // Every byte in 0x30..=0x39: high nibble 3, and adding 6 does not carry into the high nibble.
    let digits = (x & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030
        && (x.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030;
    if !digits {
        return None;
    }
    let mut v = x - 0x3030_3030_3030_3030;
    v = (v * 10) + (v >> 8);
    v = (((v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32;
    Some(v)
}

/// Index of the first non-digit at or after `i` (eight bytes at a time while they are all digits).
#[inline(always)]
pub(crate) fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i..)
        .and_then(|r| r.first_chunk::<8>())
        .and_then(eight_digits)
        .is_some()
    {
        i += 8;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Reads at most `max` (<= 19) decimal digits from `b[i..]`: (value, index after them).
#[inline(always)]
pub(crate) fn digit_run(b: &[u8], start: usize, max: usize) -> (u64, usize) {
    let mut i = start;
    let mut v: u64 = 0;
    while i + 8 - start <= max {
        match b
            .get(i..)
            .and_then(|r| r.first_chunk::<8>())
            .and_then(eight_digits)
        {
            Some(chunk) => {
                v = v * 100_000_000 + chunk;
                i += 8;
            }
            None => break,
        }
    }
    while i - start < max {
        let Some(&c) = b.get(i) else { break };
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + u64::from(d);
        i += 1;
    }
    (v, i)
}

/// Parses a decimal starting at `b[i]`, stopping at the first byte that cannot continue it.
///
/// Returns the value and the index just past it. This is the one decimal parser of the crate: the
/// fast frame decoder calls it in place while scanning, [`Decimal::parse`] checks it used all text.
#[inline(always)]
pub(crate) fn parse_prefix(b: &[u8], start: usize) -> Result<(Decimal, usize), DecimalError> {
    let (int, mut i) = digit_run(b, start, MAX_INT_DIGITS);
    if i == start {
        return Err(match b.get(i) {
            None => DecimalError::Empty,
            Some(b'-') => DecimalError::Negative,
            Some(_) => DecimalError::Malformed,
        });
    }
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        return Err(DecimalError::Overlong);
    }
    let mut frac: u64 = 0;
    let mut nfrac = 0usize;
    if b.get(i) == Some(&b'.') {
        let fstart = i + 1;
        (frac, i) = digit_run(b, fstart, SCALE as usize);
        nfrac = i - fstart;
        if nfrac == 0 {
            return Err(DecimalError::Malformed);
        }
        // Digits beyond the scale are accepted only if they are zeros (no rounding).
        while let Some(&c) = b.get(i) {
            match c {
                b'0' => i += 1,
                b'1'..=b'9' => return Err(DecimalError::TooPrecise),
                _ => break,
            }
        }
    }
    if i - start > MAX_TEXT_LEN {
        return Err(DecimalError::Overlong);
    }
    if matches!(b.get(i), Some(b'e' | b'E' | b'.')) {
        return Err(DecimalError::Malformed);
    }
    let scale = POW10.get(SCALE as usize - nfrac).copied().unwrap_or(1);
    let v = u128::from(int) * ONE + u128::from(frac) * u128::from(scale);
    Ok((Decimal(v), i))
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / ONE;
        let mut frac = (self.0 % ONE) as u64;
        if frac == 0 {
            return write!(f, "{int}");
        }
        let mut digits = SCALE as usize;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "{int}.{frac:0digits$}")
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Decimal {
    type Err = DecimalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_round_trips() {
        for (input, out) in [
            ("65000.1", "65000.1"),
            ("0.5", "0.5"),
            ("2", "2"),
            ("2.000", "2"),
            ("0", "0"),
            ("0.000000000000000001", "0.000000000000000001"),
            (
                "9999999999999999999.999999999999999999",
                "9999999999999999999.999999999999999999",
            ),
            ("007.50", "7.5"),
            ("0.1000000000000000000000", "0.1"),
        ] {
            assert_eq!(Decimal::parse(input).unwrap().to_string(), out, "{input}");
        }
    }

    #[test]
    fn inexact_or_odd_text_is_a_typed_error() {
        use DecimalError::*;
        for (input, err) in [
            ("", Empty),
            ("-1", Negative),
            ("NaN", Malformed),
            ("inf", Malformed),
            ("1e5", Malformed),
            ("1.5E2", Malformed),
            ("+1", Malformed),
            ("1.", Malformed),
            (".5", Malformed),
            ("1.2.3", Malformed),
            ("1 ", Malformed),
            ("0.0000000000000000001", TooPrecise),
            ("10000000000000000000", Overlong),
            (
                "1.00000000000000000000000000000000000000000000000",
                Overlong,
            ),
        ] {
            assert_eq!(Decimal::parse(input), Err(err), "{input:?}");
        }
    }

    #[test]
    fn long_digit_runs_take_the_eight_at_a_time_path() {
        for text in [
            "12345678",
            "1234567890123456789",
            "0.12345678",
            "0.123456789012345678",
            "99999999.9999999999",
        ] {
            assert_eq!(Decimal::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Decimal::parse("1234567:"), Err(DecimalError::Malformed));
        assert_eq!(Decimal::parse("12345678/"), Err(DecimalError::Malformed));
    }

    #[test]
    fn order_follows_value() {
        let a = Decimal::parse("65000.1").unwrap();
        let b = Decimal::parse("65000.09").unwrap();
        assert!(b < a);
        assert_eq!(Decimal::from_int(2), Decimal::parse("2.0").unwrap());
    }
}
