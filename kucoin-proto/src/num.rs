//! Exact numbers for REST answers and channel messages: [`Dec`] and lenient integer readers.
//!
//! KuCoin sends prices, sizes, amounts, fees and rates as JSON strings on spot and as JSON numbers
//! on futures, sometimes in exponent notation (`2.4985e-5`, `0e-8`), sometimes negative (PnL,
//! balance changes), sometimes with more than 18 fractional digits (`1.88488874999999999969`), and
//! sometimes as `null` or `""` where a value is absent. [`Dec`] reads all of these from the JSON
//! text itself, never through `f64`. It wraps [`rust_decimal::Decimal`] (96-bit mantissa, up to 28
//! fractional digits); a value beyond that is a typed error, never rounded.
//!
//! The order book keeps its own unsigned fixed-point type ([`crate::book::Decimal`]), made for
//! the hot path; `Dec` is for everything else.
//!
//! Decimal fields deserialize only through `serde_json` from a slice or a string (the exact text
//! of a JSON number is read as a borrowed raw value); the serde helpers below (`opt_dec`,
//! `u64_lenient`, ...) are meant for `#[serde(deserialize_with = "...")]`.

use std::fmt;
use std::str::FromStr;

pub use rust_decimal::Decimal as RustDecimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// An exact decimal read from KuCoin's JSON (string or number, exponent allowed).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dec(pub RustDecimal);

/// Why a text is not a [`Dec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecError {
    /// The text is empty (KuCoin's way to say "absent": read the field as `Option<Dec>`).
    #[error("empty decimal text (an absent value: read this field as an Option)")]
    Empty,
    /// The text is not a decimal number (`abc`, `1..2`, `NaN`, `1e`).
    #[error("not a decimal number: {0:?}")]
    Malformed(String),
    /// The value has more significant digits or a larger magnitude than 28 digits can hold.
    #[error("decimal {0:?} does not fit 28 significant digits exactly")]
    OutOfRange(String),
}

impl Dec {
    /// Zero.
    pub const ZERO: Dec = Dec(RustDecimal::ZERO);

    /// Parses KuCoin's decimal text: optional sign, digits, optional fraction, optional exponent.
    pub fn parse(text: &str) -> Result<Dec, DecError> {
        parse_decimal(text)
    }

    /// The wrapped `rust_decimal` value.
    #[must_use]
    pub fn value(self) -> RustDecimal {
        self.0
    }

    /// Whether the value is below zero.
    #[must_use]
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({})", self.0.normalize())
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl FromStr for Dec {
    type Err = DecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_decimal(s)
    }
}

impl From<RustDecimal> for Dec {
    fn from(value: RustDecimal) -> Self {
        Dec(value)
    }
}

impl From<i64> for Dec {
    fn from(value: i64) -> Self {
        Dec(RustDecimal::from(value))
    }
}

impl From<u32> for Dec {
    fn from(value: u32) -> Self {
        Dec(RustDecimal::from(value))
    }
}

impl PartialEq<&str> for Dec {
    fn eq(&self, other: &&str) -> bool {
        parse_decimal(other).is_ok_and(|d| d == *self)
    }
}

impl Serialize for Dec {
    /// Serialised as a JSON string in canonical form (`"0.5"`, `"-12.3"`), as KuCoin's spot API
    /// expects in request bodies.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        let text = unquote(raw.get()).map_err(de::Error::custom)?;
        parse_decimal(text).map_err(de::Error::custom)
    }
}

/// The text of a raw JSON string or number; strings with escapes are not decimals.
fn unquote(raw: &str) -> Result<&str, DecError> {
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"').unwrap_or(inner);
        if inner.contains('\\') {
            return Err(DecError::Malformed(inner.to_owned()));
        }
        Ok(inner.trim())
    } else if raw == "null" || raw.starts_with(['{', '[', 't', 'f']) {
        Err(DecError::Malformed(raw.chars().take(40).collect()))
    } else {
        Ok(raw)
    }
}

/// Largest mantissa `rust_decimal` holds: 2^96 - 1.
const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
/// Largest scale `rust_decimal` holds.
const MAX_SCALE: i64 = 28;

fn parse_decimal(text: &str) -> Result<Dec, DecError> {
    let malformed = || DecError::Malformed(text.chars().take(64).collect());
    if text.is_empty() {
        return Err(DecError::Empty);
    }
    let bytes = text.as_bytes();
    let (negative, mut i) = match bytes[0] {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u128 = 0;
    let mut significant = false;
    let mut digits = 0usize;
    let mut frac_digits: i64 = 0;
    let mut overflow_zeros: i64 = 0; // integer digits dropped after overflow (must be zeros)
    let mut seen_dot = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if seen_dot {
                    frac_digits += 1;
                }
                let d = u128::from(b - b'0');
                if d != 0 || significant {
                    significant = true;
                    match mantissa.checked_mul(10).and_then(|m| m.checked_add(d)) {
                        Some(m) if m <= MAX_MANTISSA * 10 => mantissa = m,
                        _ => {
                            // Beyond any representable precision: only trailing zeros may follow.
                            if d != 0 {
                                return Err(DecError::OutOfRange(text.chars().take(64).collect()));
                            }
                            if seen_dot {
                                frac_digits -= 1;
                            } else {
                                overflow_zeros += 1;
                            }
                        }
                    }
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' => break,
            _ => return Err(malformed()),
        }
        i += 1;
    }
    if digits == 0 {
        return Err(malformed());
    }
    let mut exponent: i64 = overflow_zeros;
    if i < bytes.len() {
        // exponent part
        let exp_text = &text[i + 1..];
        let exp: i64 = exp_text
            .strip_prefix('+')
            .unwrap_or(exp_text)
            .parse()
            .ok()
            .filter(|e: &i64| e.abs() <= 1_000)
            .ok_or_else(malformed)?;
        if exp_text.is_empty() {
            return Err(malformed());
        }
        exponent += exp;
    }
    let mut scale = frac_digits - exponent;
    // Drop trailing zeros while the scale or the mantissa is too large.
    while (scale > MAX_SCALE || mantissa > MAX_MANTISSA)
        && mantissa.is_multiple_of(10)
        && mantissa != 0
    {
        mantissa /= 10;
        scale -= 1;
    }
    if mantissa == 0 {
        scale = scale.clamp(0, MAX_SCALE);
    }
    while scale < 0 {
        mantissa = mantissa
            .checked_mul(10)
            .filter(|m| *m <= MAX_MANTISSA)
            .ok_or_else(|| DecError::OutOfRange(text.chars().take(64).collect()))?;
        scale += 1;
    }
    if scale > MAX_SCALE || mantissa > MAX_MANTISSA {
        return Err(DecError::OutOfRange(text.chars().take(64).collect()));
    }
    let signed = i128::try_from(mantissa).map_err(|_| malformed())?;
    let signed = if negative { -signed } else { signed };
    let scale = u32::try_from(scale).map_err(|_| malformed())?;
    RustDecimal::try_from_i128_with_scale(signed, scale)
        .map(Dec)
        .map_err(|_| DecError::OutOfRange(text.chars().take(64).collect()))
}

/// `Option<Dec>` from a field that may be absent, `null` or `""` (all `None`).
///
/// Use with `#[serde(default, deserialize_with = "kucoin_proto::num::opt_dec")]`.
pub fn opt_dec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Dec>, D::Error> {
    let raw = <Option<&'de RawValue>>::deserialize(deserializer)?;
    let Some(raw) = raw else { return Ok(None) };
    if raw.get() == "null" {
        return Ok(None);
    }
    let text = unquote(raw.get()).map_err(de::Error::custom)?;
    if text.is_empty() {
        return Ok(None);
    }
    parse_decimal(text).map(Some).map_err(de::Error::custom)
}

struct IntVisitor<T>(std::marker::PhantomData<T>);

macro_rules! lenient_int {
    ($name:ident, $opt:ident, $ty:ty) => {
        impl<'de> Visitor<'de> for IntVisitor<$ty> {
            type Value = Option<$ty>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!("an integer (", stringify!($ty), ") as a JSON number or string"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                <$ty>::try_from(v).map(Some).map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                <$ty>::try_from(v).map(Some).map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse::<$ty>().map(Some).map_err(|_| E::custom(format!("{v:?} is not an integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }

        #[doc = concat!("A `", stringify!($ty), "` sent as a JSON number or a numeric string.")]
        pub fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
            deserializer
                .deserialize_any(IntVisitor::<$ty>(std::marker::PhantomData))?
                .ok_or_else(|| de::Error::custom(concat!("missing ", stringify!($ty), " (null or empty)")))
        }

        #[doc = concat!("An `Option<", stringify!($ty), ">`: absent, `null` and `\"\"` are `None`.")]
        pub fn $opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<$ty>, D::Error> {
            deserializer.deserialize_option(IntVisitor::<$ty>(std::marker::PhantomData))
        }
    };
}

lenient_int!(u64_lenient, opt_u64, u64);
lenient_int!(i64_lenient, opt_i64, i64);

/// The text of a field KuCoin sends as a string, a number or a boolean; `None` for absent or
/// `null`. Numbers keep their exact JSON text (`66964.8` is `"66964.8"`).
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let raw = <Option<&'de RawValue>>::deserialize(deserializer)?;
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(Some)
            .map_err(de::Error::custom),
        Some(b'{' | b'[') => Err(de::Error::custom(format!(
            "expected a string, found {}",
            text.chars().take(40).collect::<String>()
        ))),
        _ if text == "null" => Ok(None),
        _ => Ok(Some(text.to_owned())),
    }
}

/// A string that may come as a JSON number or boolean (see [`opt_string`]); `null` is an error.
pub fn string_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    opt_string(deserializer)?.ok_or_else(|| de::Error::custom("missing string (null)"))
}

/// An `Option<bool>` from `true`/`false`, `"true"`/`"false"`, `1`/`0`; absent, `null` and `""`
/// are `None`.
pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let raw = <Option<&'de RawValue>>::deserialize(deserializer)?;
    let Some(raw) = raw else { return Ok(None) };
    match raw.get() {
        "null" | "\"\"" => Ok(None),
        "true" | "\"true\"" | "1" | "\"1\"" => Ok(Some(true)),
        "false" | "\"false\"" | "0" | "\"0\"" => Ok(Some(false)),
        other => Err(de::Error::custom(format!(
            "expected a boolean, found {}",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// A `bool` read as [`opt_bool`] does; absent values are an error.
pub fn bool_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    opt_bool(deserializer)?.ok_or_else(|| de::Error::custom("missing boolean (null or empty)"))
}

/// Serialises a [`Dec`] as a JSON number (for request fields KuCoin types as numbers); needs
/// `serde_json`'s serializer.
pub fn dec_as_number<S: Serializer>(value: &Dec, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(value.to_string()).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// [`dec_as_number`] for an optional field (`None` is `null`).
pub fn opt_dec_as_number<S: Serializer>(
    value: &Option<Dec>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => dec_as_number(v, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn parses_kucoin_shapes_exactly() {
        assert_eq!(d("65000.1").to_string(), "65000.1");
        assert_eq!(d("2.4985e-5").to_string(), "0.000024985");
        assert_eq!(d("0e-8").to_string(), "0");
        assert_eq!(d("-12.5").to_string(), "-12.5");
        assert_eq!(
            d("1.88488874999999999969").to_string(),
            "1.88488874999999999969"
        );
        assert_eq!(d("1E+3").to_string(), "1000");
        assert_eq!(d("1.000000000000000000000000000000000").to_string(), "1");
        assert_eq!(d("0.1").0 + d("0.2").0, d("0.3").0);
    }

    #[test]
    fn rejects_what_is_not_an_exact_decimal() {
        for bad in ["abc", "1..2", "NaN", "inf", "1e", "-", ".", "1e5000", "1 2"] {
            assert!(Dec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Dec::parse(""), Err(DecError::Empty));
        assert!(matches!(
            Dec::parse("1.00000000000000000000000000001"),
            Err(DecError::OutOfRange(_))
        ));
        assert!(matches!(
            Dec::parse("123456789012345678901234567890"),
            Err(DecError::OutOfRange(_))
        ));
    }

    #[derive(Deserialize)]
    struct Row {
        price: Dec,
        #[serde(default, deserialize_with = "opt_dec")]
        fee: Option<Dec>,
        #[serde(deserialize_with = "u64_lenient")]
        ts: u64,
        #[serde(default, deserialize_with = "opt_i64")]
        pnl_ts: Option<i64>,
    }

    #[test]
    fn reads_strings_numbers_nulls_and_empty_strings() {
        let row: Row = serde_json::from_str(
            r#"{"price":66964.8,"fee":"","ts":"1729176273859123456","pnl_ts":null}"#,
        )
        .unwrap();
        assert_eq!(row.price, "66964.8");
        assert_eq!(row.fee, None);
        assert_eq!(row.ts, 1_729_176_273_859_123_456);
        assert_eq!(row.pnl_ts, None);
        let row: Row =
            serde_json::from_slice(br#"{"price":"-0.5","fee":2.4985e-5,"ts":17,"pnl_ts":-3}"#)
                .unwrap();
        assert_eq!(row.price, "-0.5");
        assert_eq!(row.fee.unwrap().to_string(), "0.000024985");
        assert_eq!(row.pnl_ts, Some(-3));
        let row: Row = serde_json::from_str(r#"{"price":"1","ts":1}"#).unwrap();
        assert_eq!(row.fee, None);
        assert!(serde_json::from_str::<Row>(r#"{"price":"x","ts":1}"#).is_err());
        assert!(serde_json::from_str::<Row>(r#"{"price":true,"ts":1}"#).is_err());
    }

    #[test]
    fn serialises_as_canonical_string() {
        assert_eq!(serde_json::to_string(&d("1.50")).unwrap(), r#""1.5""#);
    }
}
