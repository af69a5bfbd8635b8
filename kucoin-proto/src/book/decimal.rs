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

/// The eight bytes at `b[i..]`, zero-padded past the end (a zero byte is not a digit).
#[inline(always)]
fn chunk_at(b: &[u8], i: usize) -> u64 {
    match b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        Some(chunk) => u64::from_le_bytes(*chunk),
        // Fewer than eight bytes left: the last eight, shifted down past those before `i`.
        None => match b.last_chunk::<8>() {
            Some(last) if i < b.len() => u64::from_le_bytes(*last) >> (8 * (8 - (b.len() - i))),
            _ => {
                let rest = b.get(i..).unwrap_or_default();
                let mut x = 0u64;
                for (k, &byte) in rest.iter().take(7).enumerate() {
                    x |= u64::from(byte) << (8 * k);
                }
                x
            }
        },
    }
}

/// How many of the eight bytes of `x` (a little-endian load) are ASCII digits before the first
/// that is not: 0 to 8, found branch-free.
#[inline(always)]
fn leading_digit_count(x: u64) -> usize {
    digits_of(x).1
}

/// The value of the first `n` (1..=8) bytes of `x`, all ASCII digits, the first the most
/// significant.
#[inline(always)]
fn digits_value(x: u64, n: usize) -> u64 {
    value_of(x.wrapping_sub(0x3030_3030_3030_3030), n)
}

/// Index of the first non-digit at or after `i` (eight bytes at a time).
#[inline(always)]
pub(crate) fn skip_digits(b: &[u8], mut i: usize) -> usize {
    loop {
        let n = leading_digit_count(chunk_at(b, i));
        i += n;
        if n < 8 {
            return i;
        }
    }
}

/// Reads at most `max` (<= 19) decimal digits from `b[i..]`: (value, index after them).
///
/// Eight bytes are loaded at a time and the run's length found branch-free, so a short run
/// (a price's five integer digits) costs one step, not one per digit.
#[inline(always)]
pub(crate) fn digit_run(b: &[u8], start: usize, max: usize) -> (u64, usize) {
    let mut i = start;
    let mut v: u64 = 0;
    loop {
        let room = max - (i - start);
        if room == 0 {
            return (v, i);
        }
        let x = chunk_at(b, i);
        let n = leading_digit_count(x).min(room);
        if n == 0 {
            return (v, i);
        }
        // n <= 8, and v has at most 19 - n digits: no overflow.
        v = v * POW10[n] + digits_value(x, n);
        i += n;
        if n < 8 {
            return (v, i);
        }
    }
}

/// Parses a decimal starting at `b[i]`, stopping at the first byte that cannot continue it.
///
/// Returns the value and the index just past it. This is the one decimal parser of the crate: the
/// fast frame decoder calls it in place while scanning, [`Decimal::parse`] checks it used all text.
#[inline(always)]
pub(crate) fn parse_prefix(b: &[u8], start: usize) -> Result<(Decimal, usize), DecimalError> {
    match parse_short(b, start) {
        Some(short) => Ok(short),
        None => parse_long(b, start),
    }
}

/// [`parse_prefix`] for any text (the definition; `parse_short` is a shortcut that agrees).
#[inline(always)]
fn parse_long(b: &[u8], start: usize) -> Result<(Decimal, usize), DecimalError> {
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

/// The common decimal (`65000.1`, `2241`, `0.65077154`): at most seven integer and eight
/// fractional digits, read with one load for each part. `None` sends everything else (longer
/// numbers, the end of the input, errors, `e`/`E`/`.` after the number) to the general path.
#[inline(always)]
fn parse_short(b: &[u8], start: usize) -> Option<(Decimal, usize)> {
    let x = u64::from_le_bytes(*b.get(start..)?.first_chunk::<8>()?);
    let int = leading_digit_count(x);
    if int == 0 || int >= 8 {
        return None;
    }
    // The byte after the integer digits (int < 8, so it is in `x`).
    let after = (x >> (8 * int)) as u8;
    if after != b'.' {
        if matches!(after, b'e' | b'E') {
            return None;
        }
        let v = u128::from(digits_value(x, int)) * ONE;
        return Some((Decimal(v), start + int));
    }
    let fstart = start + int + 1;
    let y = u64::from_le_bytes(*b.get(fstart..)?.first_chunk::<8>()?);
    let frac = leading_digit_count(y);
    // The byte after the fraction: in `y`, or the next one when all eight are digits.
    let after = if frac < 8 {
        (y >> (8 * frac)) as u8
    } else {
        b.get(fstart + 8).copied().unwrap_or(b'e')
    };
    if frac == 0 || matches!(after, b'0'..=b'9' | b'e' | b'E' | b'.') {
        return None;
    }
    let scale = POW10[SCALE as usize - frac];
    let v = u128::from(digits_value(x, int)) * ONE
        + u128::from(digits_value(y, frac)) * u128::from(scale);
    Some((Decimal(v), fstart + frac))
}

/// The eight bytes at `b[start..]`, or `None` when fewer are left.
#[inline(always)]
fn load8(b: &[u8], start: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*b.get(start..)?.first_chunk::<8>()?))
}

/// `x` with `'0'` taken from every byte, and how many of its bytes, from the first, are digits
/// (0 to 8). A byte that is not a digit may borrow from the bytes after it, never from those
/// before, so the count and the digits before it are exact.
#[inline(always)]
fn digits_of(x: u64) -> (u64, usize) {
    let t = x.wrapping_sub(0x3030_3030_3030_3030);
    // A digit byte leaves 0..=9: neither its top bit nor that of `t + 0x76` is set.
    let not_digit = (t | t.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    (t, (not_digit.trailing_zeros() / 8) as usize)
}

/// The value of the first `n` (1..=8) digits of `t` (bytes already less `'0'`, exact in the
/// digit bytes: a borrow only moves upwards), the first the most significant.
#[inline(always)]
fn value_of(t: u64, n: usize) -> u64 {
    // The shift drops the bytes after the digits and leaves leading zeros below them.
    let mut v = t << (8 * (8 - n));
    v = (v * 10) + (v >> 8);
    (((v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32
}

/// A decimal that ends at byte `end` (a quote, a comma): up to seven integer digits and an
/// optional fraction of up to eight. Returns the value and the index of `end`; `None` for
/// anything else (the general parser then decides, with the same answer where both answer).
#[inline(always)]
pub(crate) fn decimal_until(b: &[u8], start: usize, end: u8) -> Option<(Decimal, usize)> {
    let (t, int) = digits_of(load8(b, start)?);
    if int == 0 || int == 8 {
        return None;
    }
    let whole = value_of(t, int);
    // The byte after the integer digits, less '0' (wrapping).
    let after = ((t >> (8 * int)) as u8).wrapping_add(b'0');
    if after == end {
        return Some((Decimal(u128::from(whole) * ONE), start + int));
    }
    if after != b'.' {
        return None;
    }
    let f = start + int + 1;
    let (u, frac) = digits_of(load8(b, f)?);
    let stop = if frac < 8 {
        ((u >> (8 * frac)) as u8).wrapping_add(b'0')
    } else {
        *b.get(f + 8)?
    };
    if frac == 0 || stop != end {
        return None;
    }
    // At most 15 digits: one multiplication to the scale.
    let digits = whole * POW10[frac] + value_of(u, frac);
    Some((
        Decimal(u128::from(digits) * u128::from(POW10[SCALE as usize - frac])),
        f + frac,
    ))
}

/// A JSON-style unsigned integer (no leading zero) of at most 16 digits that ends at byte `end`:
/// the value and the index of `end`; `None` for anything else.
#[inline(always)]
pub(crate) fn u64_until(b: &[u8], start: usize, end: u8) -> Option<(u64, usize)> {
    let (t, n) = digits_of(load8(b, start)?);
    if n == 0 || (n > 1 && t as u8 == 0) {
        return None;
    }
    if n < 8 {
        let after = ((t >> (8 * n)) as u8).wrapping_add(b'0');
        return (after == end).then(|| (value_of(t, n), start + n));
    }
    let (u, m) = digits_of(load8(b, start + 8)?);
    if m == 8 {
        return None;
    }
    let after = ((u >> (8 * m)) as u8).wrapping_add(b'0');
    if after != end {
        return None;
    }
    let high = value_of(t, 8);
    let v = if m == 0 {
        high
    } else {
        high * POW10[m] + value_of(u, m)
    };
    Some((v, start + 8 + m))
}

/// Up to 16 digits from two loads (a sequence number); `None` for the general path (17 or more
/// digits, or fewer than 16 bytes left).
#[inline(always)]
pub(crate) fn digit_run16(b: &[u8], start: usize) -> Option<(u64, usize)> {
    let x = u64::from_le_bytes(*b.get(start..)?.first_chunk::<8>()?);
    let n = leading_digit_count(x);
    if n < 8 {
        return Some((if n == 0 { 0 } else { digits_value(x, n) }, start + n));
    }
    let y = u64::from_le_bytes(*b.get(start + 8..)?.first_chunk::<8>()?);
    let m = leading_digit_count(y);
    if m == 8 {
        return None;
    }
    let high = digits_value(x, 8);
    Some(if m == 0 {
        (high, start + 8)
    } else {
        (high * POW10[m] + digits_value(y, m), start + 8 + m)
    })
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

    /// The digit-at-a-time definition `digit_run` and `skip_digits` must agree with.
    fn naive_run(b: &[u8], start: usize, max: usize) -> (u64, usize) {
        let (mut v, mut i) = (0u64, start);
        while i - start < max && b.get(i).is_some_and(u8::is_ascii_digit) {
            v = v.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
            i += 1;
        }
        (v, i)
    }

    #[test]
    fn digit_runs_of_every_length_and_stop_byte_match_the_digit_at_a_time_definition() {
        let stops: [&[u8]; 8] = [b"", b"\"", b".", b",", b"/", b":", b"\x00", b"\xff"];
        for len in 0..=24 {
            let digits: Vec<u8> = (0..len).map(|k| b'0' + ((k * 7 + 3) % 10) as u8).collect();
            for stop in stops {
                for lead in 0..3 {
                    let mut b = vec![b'x'; lead];
                    b.extend_from_slice(&digits);
                    b.extend_from_slice(stop);
                    for max in [0, 1, 5, 8, 9, 16, 18, 19] {
                        assert_eq!(
                            digit_run(&b, lead, max),
                            naive_run(&b, lead, max),
                            "{b:?} from {lead} max {max}"
                        );
                    }
                    assert_eq!(skip_digits(&b, lead), naive_run(&b, lead, usize::MAX).1);
                    if let Some(run) = digit_run16(&b, lead) {
                        assert!(len < 16, "{b:?}");
                        assert_eq!(run, naive_run(&b, lead, 16), "{b:?}");
                    } else {
                        assert!(len >= 16 || b.len() - lead < 16, "{b:?}");
                    }
                }
            }
        }
        // Every byte value as the stop: only '0'..='9' continue a run.
        for stop in 0..=255u8 {
            let b = [b'1', b'2', stop, b'4', b'5', b'6', b'7', b'8', b'9', b'0'];
            assert_eq!(digit_run(&b, 0, 19), naive_run(&b, 0, 19), "stop {stop}");
            assert_eq!(skip_digits(&b, 0), naive_run(&b, 0, 99).1, "stop {stop}");
        }
    }

    #[test]
    fn the_short_path_agrees_with_the_general_one() {
        let mut texts = Vec::new();
        for int in ["", "0", "7", "65000", "0065", "1234567", "12345678"] {
            for frac in [
                None,
                Some(""),
                Some("5"),
                Some("10"),
                Some("123456"),
                Some("1234567"),
                Some("12345678"),
                Some("65077154"),
                Some("123456789"),
            ] {
                for stop in ["", "\"", ",", ".", "e", "E", "-", "x", "\u{0}"] {
                    let mut t = String::from(int);
                    if let Some(f) = frac {
                        t.push('.');
                        t.push_str(f);
                    }
                    t.push_str(stop);
                    texts.push(t.clone());
                    t.push_str("\"]],\"bids\"");
                    texts.push(t);
                }
            }
        }
        let mut short = 0;
        for t in &texts {
            for lead in 0..2 {
                let b = format!("{}{t}", "[".repeat(lead));
                let got = parse_short(b.as_bytes(), lead);
                short += usize::from(got.is_some());
                if let Some(got) = got {
                    assert_eq!(Ok(got), parse_long(b.as_bytes(), lead), "{b:?}");
                }
                assert_eq!(
                    parse_prefix(b.as_bytes(), lead),
                    parse_long(b.as_bytes(), lead),
                    "{b:?}"
                );
            }
        }
        assert!(short > 100, "the short path was taken {short} times");
    }

    /// The terminator-aware readers answer only where the general readers give the same value
    /// and stop at the terminator: every short text of digits, dots, signs and exponents, with
    /// every terminator, padded or not.
    #[test]
    fn terminator_readers_agree_with_the_general_readers_wherever_they_answer() {
        let alphabet = b"0123456789.e-\",}";
        let mut answered = (0, 0);
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for n in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 20) as usize;
            let mut text: Vec<u8> = (0..len)
                .map(|k| alphabet[((state >> (3 * k)) % alphabet.len() as u64) as usize])
                .collect();
            if n % 3 == 0 {
                text.extend_from_slice(b"\"]0000000000000000");
            }
            for end in [b'"', b',', b'}'] {
                if let Some((d, i)) = decimal_until(&text, 0, end) {
                    answered.0 += 1;
                    assert_eq!(
                        text.get(i),
                        Some(&end),
                        "{:?}",
                        String::from_utf8_lossy(&text)
                    );
                    assert_eq!(
                        Decimal::parse_bytes(&text[..i]),
                        Ok(d),
                        "{:?}",
                        String::from_utf8_lossy(&text)
                    );
                }
                if let Some((v, i)) = u64_until(&text, 0, end) {
                    answered.1 += 1;
                    assert_eq!(text.get(i), Some(&end));
                    let digits = &text[..i];
                    assert!(digits.iter().all(u8::is_ascii_digit));
                    assert!(digits.len() == 1 || digits[0] != b'0', "leading zero");
                    let want: u64 = std::str::from_utf8(digits).unwrap().parse().unwrap();
                    assert_eq!(v, want);
                }
            }
        }
        assert!(answered.0 > 1_000 && answered.1 > 1_000, "{answered:?}");
        // The usual texts take the short path (followed, as in a frame, by at least eight bytes).
        let usual = [
            (&b"65000.7\",\"0.65077154\""[..], b'"', "65000.7"),
            (b"0.65077154\",\"14610502971\"]", b'"', "0.65077154"),
            (b"64999.9,buy,0\",\"timestamp\"", b',', "64999.9"),
            (b"2241\",\"timestamp\":1", b'"', "2241"),
        ];
        for (text, end, want) in usual {
            let (d, _) = decimal_until(text, 0, end).unwrap();
            assert_eq!(d, Decimal::parse(want).unwrap());
        }
        assert_eq!(
            u64_until(b"14610502971\"]],\"bids\"", 0, b'"'),
            Some((14_610_502_971, 11))
        );
        assert_eq!(
            u64_until(b"1697895963340,\"change\":\"", 0, b','),
            Some((1_697_895_963_340, 13))
        );
    }

    #[test]
    fn order_follows_value() {
        let a = Decimal::parse("65000.1").unwrap();
        let b = Decimal::parse("65000.09").unwrap();
        assert!(b < a);
        assert_eq!(Decimal::from_int(2), Decimal::parse("2.0").unwrap());
    }
}
