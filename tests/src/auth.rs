//! The fake's own check of KuCoin's request signature (independent of `kucoin-proto`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::ApiKey;

/// Why a signed request was refused, with KuCoin's code, message and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// 400001: a KC-API-* header is missing.
    MissingHeader,
    /// 400002: KC-API-TIMESTAMP is not a number or too far from the server clock.
    InvalidTimestamp,
    /// 400003: KC-API-KEY is unknown.
    KeyNotExists,
    /// 400004: KC-API-PASSPHRASE does not match the key (plain for v1, signed for v2/v3).
    InvalidPassphrase,
    /// 400005: KC-API-SIGN does not match.
    InvalidSign,
}

impl AuthError {
    /// KuCoin's code, its message and the HTTP status it is answered with.
    pub(crate) fn answer(self) -> (&'static str, &'static str, u16) {
        match self {
            Self::MissingHeader => (
                "400001",
                "Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE",
                400,
            ),
            Self::InvalidTimestamp => (
                "400002",
                "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds",
                401,
            ),
            Self::KeyNotExists => ("400003", "KC-API-KEY not exists", 401),
            Self::InvalidPassphrase => ("400004", "Invalid KC-API-PASSPHRASE", 401),
            Self::InvalidSign => (
                "400005",
                "Signature error, please check your signature",
                401,
            ),
        }
    }
}

/// base64(HMAC-SHA256(secret, message)).
pub(crate) fn sign(secret: &str, message: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(message.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Decodes `%XX` escapes (KuCoin signs the unencoded path and query).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request as the fake saw it.
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// Raw request target (path and query, possibly percent-encoded).
    pub target: &'a str,
    pub body: &'a str,
    /// Header lookup (case-insensitive by the caller).
    pub header: &'a dyn Fn(&str) -> Option<String>,
}

/// Checks KC-API-KEY, -TIMESTAMP, -PASSPHRASE (per -KEY-VERSION) and -SIGN, in KuCoin's order.
pub(crate) fn check(
    request: &SignedRequest<'_>,
    keys: &[ApiKey],
    server_ms: u64,
    window_ms: u64,
) -> Result<(), AuthError> {
    let header = request.header;
    let (Some(key), Some(sig), Some(ts), Some(passphrase)) = (
        header("kc-api-key"),
        header("kc-api-sign"),
        header("kc-api-timestamp"),
        header("kc-api-passphrase"),
    ) else {
        return Err(AuthError::MissingHeader);
    };
    let Some(api_key) = keys.iter().find(|k| k.key == key) else {
        return Err(AuthError::KeyNotExists);
    };
    let Ok(ts_ms) = ts.trim().parse::<u64>() else {
        return Err(AuthError::InvalidTimestamp);
    };
    if ts_ms.abs_diff(server_ms) > window_ms {
        return Err(AuthError::InvalidTimestamp);
    }
    let version = header("kc-api-key-version").unwrap_or_else(|| "1".to_owned());
    let expected_passphrase = match version.trim() {
        "1" => api_key.passphrase.clone(),
        "2" | "3" => sign(&api_key.secret, &api_key.passphrase),
        _ => return Err(AuthError::InvalidPassphrase),
    };
    if passphrase != expected_passphrase {
        return Err(AuthError::InvalidPassphrase);
    }
    let prehash = format!(
        "{ts}{}{}{}",
        request.method,
        percent_decode(request.target),
        request.body
    );
    if sig != sign(&api_key.secret, &prehash) {
        return Err(AuthError::InvalidSign);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_published_docs_vector() {
        let prehash = "1547015186532POST/api/v1/deposit-addresses{\"currency\":\"BTC\"}";
        assert_eq!(
            sign("f03a5284-5c39-4aaa-9b20-dea10bdcf8e3", prehash),
            "7QP/oM0ykidMdrfNEUmng8eZjg/ZvPafjIqmxiVfYu4="
        );
        assert_eq!(
            sign("cde06451-dbed", "1111111"),
            "rl1Ki0WuwidRT48JnoGQo+AJ4UtZ6mQEKt6F5XYVnT4="
        );
    }

    #[test]
    fn percent_decoding_yields_the_signed_form() {
        assert_eq!(
            percent_decode(
                "/api/v1/sub/api-key?apiKey=67b3&subName=test&passphrase=abc%21%40%2311"
            ),
            "/api/v1/sub/api-key?apiKey=67b3&subName=test&passphrase=abc!@#11"
        );
        assert_eq!(percent_decode("%2"), "%2");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}
