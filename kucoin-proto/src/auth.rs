//! Credentials and request signing (`KC-API-*` headers).
//!
//! KuCoin signs a private REST request with HMAC-SHA256 keyed with the API secret over
//! `timestamp + METHOD + path_and_query + body`, base64-encoded (standard alphabet, padded).
//! [`Signer::sign`] computes all `KC-API-*` headers from exactly those four inputs; the caller
//! reads its clock once per request and passes the [`UnixMillis`] in, so a retried request is
//! signed again with a fresh timestamp.
//!
//! Secrets (API secret, passphrase, broker key) are zeroized on drop and never reach `Debug` or
//! `Display`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::time::UnixMillis;

/// Header carrying the API key.
pub const HEADER_KEY: &str = "KC-API-KEY";
/// Header carrying the request signature.
pub const HEADER_SIGN: &str = "KC-API-SIGN";
/// Header carrying the millisecond timestamp that was signed.
pub const HEADER_TIMESTAMP: &str = "KC-API-TIMESTAMP";
/// Header carrying the (plain or HMAC-signed) passphrase.
pub const HEADER_PASSPHRASE: &str = "KC-API-PASSPHRASE";
/// Header carrying the key version (`1`, `2` or `3`).
pub const HEADER_KEY_VERSION: &str = "KC-API-KEY-VERSION";
/// Header carrying the broker's partner id (broker signing only).
pub const HEADER_PARTNER: &str = "KC-API-PARTNER";
/// Header carrying the partner signature (broker signing only).
pub const HEADER_PARTNER_SIGN: &str = "KC-API-PARTNER-SIGN";
/// Header carrying the broker name (broker signing only).
pub const HEADER_BROKER_NAME: &str = "KC-BROKER-NAME";
/// Header asking KuCoin to verify the partner signature (broker signing only).
pub const HEADER_PARTNER_VERIFY: &str = "KC-API-PARTNER-VERIFY";

/// The version of a KuCoin API key, which decides how the passphrase is sent.
///
/// The default is [`KeyVersion::V3`]: it is the version KuCoin issues for every key created
/// today, and KuCoin's gateway answers `400008` ("V1 & V2 API keys are no longer supported by
/// this API. Please create a V3 API key.") on endpoints that refuse older keys. Version 1 keys
/// (plain passphrase) are legacy and no longer created. Set the version shown on the key's API
/// management page with [`Credentials::with_key_version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum KeyVersion {
    /// Legacy keys: the passphrase is sent as typed.
    V1,
    /// The passphrase is sent as `base64(HMAC-SHA256(secret, passphrase))`.
    V2,
    /// Same passphrase scheme as V2; the version KuCoin issues today.
    #[default]
    V3,
}

impl KeyVersion {
    /// The value of the `KC-API-KEY-VERSION` header.
    #[must_use]
    pub fn header_value(self) -> &'static str {
        match self {
            KeyVersion::V1 => "1",
            KeyVersion::V2 => "2",
            KeyVersion::V3 => "3",
        }
    }
}

/// Why credentials could not be turned into a [`Signer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A field is empty.
    #[error(
        "{field} is empty: copy it from KuCoin's API management page (key, secret and passphrase are all required)"
    )]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// A field that is sent in a header holds a character HTTP headers cannot carry.
    #[error(
        "{field} holds a character that cannot be sent in an HTTP header (only visible ASCII is allowed): check it was copied without line breaks or control characters"
    )]
    NotHeaderSafe {
        /// Which field.
        field: &'static str,
    },
}

/// An API key, its secret and passphrase, as shown once by KuCoin when the key is created.
///
/// `Debug` and `Display` show only a prefix of the key, never the secret or the passphrase;
/// both are zeroized when the value is dropped.
#[derive(Clone)]
pub struct Credentials {
    key: String,
    secret: Zeroizing<String>,
    passphrase: Zeroizing<String>,
    version: KeyVersion,
}

impl Credentials {
    /// Wraps a key, secret and passphrase; the key version defaults to [`KeyVersion::V3`].
    #[must_use]
    pub fn new(
        key: impl Into<String>,
        secret: impl Into<String>,
        passphrase: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            secret: Zeroizing::new(secret.into()),
            passphrase: Zeroizing::new(passphrase.into()),
            version: KeyVersion::default(),
        }
    }

    /// Sets the key version (see the API management page of the key).
    #[must_use]
    pub fn with_key_version(mut self, version: KeyVersion) -> Self {
        self.version = version;
        self
    }

    /// The public API key.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key version.
    #[must_use]
    pub fn key_version(&self) -> KeyVersion {
        self.version
    }
}

/// Shows at most the first four characters of a public identifier.
fn key_hint(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &key_hint(&self.key))
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .field("version", &self.version)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KuCoin API key {} (secret redacted)",
            key_hint(&self.key)
        )
    }
}

/// A broker's own partner credentials, for KuCoin's broker programme.
///
/// Only set these when *you* are the registered broker: they add `KC-API-PARTNER`,
/// `KC-API-PARTNER-SIGN` (keyed with the broker key), `KC-BROKER-NAME` and
/// `KC-API-PARTNER-VERIFY: true` to every signed request. This library has no built-in
/// partner id and never adds these headers on its own.
#[derive(Clone)]
pub struct BrokerCredentials {
    partner: String,
    broker_key: Zeroizing<String>,
    broker_name: String,
}

impl BrokerCredentials {
    /// Wraps a partner id, the broker key KuCoin issued with it, and the broker name.
    #[must_use]
    pub fn new(
        partner: impl Into<String>,
        broker_key: impl Into<String>,
        broker_name: impl Into<String>,
    ) -> Self {
        Self {
            partner: partner.into(),
            broker_key: Zeroizing::new(broker_key.into()),
            broker_name: broker_name.into(),
        }
    }

    /// The partner id sent in `KC-API-PARTNER`.
    #[must_use]
    pub fn partner(&self) -> &str {
        &self.partner
    }

    /// The broker name sent in `KC-BROKER-NAME`.
    #[must_use]
    pub fn broker_name(&self) -> &str {
        &self.broker_name
    }
}

impl fmt::Debug for BrokerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerCredentials")
            .field("partner", &self.partner)
            .field("broker_key", &"<redacted>")
            .field("broker_name", &self.broker_name)
            .finish()
    }
}

/// HMAC-SHA256 over the concatenation of `parts`, base64-encoded.
///
/// `None` only if the HMAC implementation rejects the key, which HMAC never does (any key
/// length is valid); [`Signer::new`] checks it once so `sign` can rely on it.
fn hmac_b64(key: &[u8], parts: &[&[u8]]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    for p in parts {
        mac.update(p);
    }
    Some(B64.encode(mac.finalize().into_bytes()))
}

/// Base64 HMAC-SHA256 of `message` keyed with `key`: the primitive behind every KuCoin signature.
#[must_use]
pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    hmac_b64(key, &[message]).unwrap_or_default()
}

fn header_safe(field: &'static str, value: &str) -> Result<(), AuthError> {
    if value.is_empty() {
        return Err(AuthError::Empty { field });
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(AuthError::NotHeaderSafe { field });
    }
    Ok(())
}

/// Signs requests: turns (timestamp, method, path-and-query, body) into the `KC-API-*` headers.
#[derive(Clone)]
pub struct Signer {
    key: String,
    secret: Zeroizing<Vec<u8>>,
    passphrase_header: Zeroizing<String>,
    version: KeyVersion,
    broker: Option<BrokerCredentials>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key", &key_hint(&self.key))
            .field("secret", &"<redacted>")
            .field("passphrase", &"<redacted>")
            .field("version", &self.version)
            .field("broker", &self.broker)
            .finish()
    }
}

impl Signer {
    /// Prepares a signer; the passphrase header is computed here once (signed for V2/V3).
    pub fn new(creds: Credentials) -> Result<Self, AuthError> {
        header_safe("API key", &creds.key)?;
        if creds.secret.is_empty() {
            return Err(AuthError::Empty {
                field: "API secret",
            });
        }
        if creds.passphrase.is_empty() {
            return Err(AuthError::Empty {
                field: "API passphrase",
            });
        }
        let secret = Zeroizing::new(creds.secret.as_bytes().to_vec());
        let passphrase_header = match creds.version {
            KeyVersion::V1 => {
                header_safe("API passphrase", &creds.passphrase)?;
                Zeroizing::new(creds.passphrase.as_str().to_owned())
            }
            KeyVersion::V2 | KeyVersion::V3 => Zeroizing::new(
                hmac_b64(&secret, &[creds.passphrase.as_bytes()]).ok_or(AuthError::Empty {
                    field: "API secret",
                })?,
            ),
        };
        Ok(Self {
            key: creds.key.clone(),
            secret,
            passphrase_header,
            version: creds.version,
            broker: None,
        })
    }

    /// Adds the user's own broker credentials: every signed request then carries the partner headers.
    pub fn with_broker(mut self, broker: BrokerCredentials) -> Result<Self, AuthError> {
        header_safe("partner id", &broker.partner)?;
        header_safe("broker name", &broker.broker_name)?;
        if broker.broker_key.is_empty() {
            return Err(AuthError::Empty {
                field: "broker key",
            });
        }
        self.broker = Some(broker);
        Ok(self)
    }

    /// The key version in use.
    #[must_use]
    pub fn key_version(&self) -> KeyVersion {
        self.version
    }

    /// The exact bytes KuCoin expects to be signed: `timestamp + METHOD + path_and_query + body`.
    #[must_use]
    pub fn prehash(
        ts: UnixMillis,
        method: &http::Method,
        path_and_query: &str,
        body: &[u8],
    ) -> Vec<u8> {
        let ts = ts.to_string();
        let mut out = Vec::with_capacity(
            ts.len() + method.as_str().len() + path_and_query.len() + body.len(),
        );
        out.extend_from_slice(ts.as_bytes());
        out.extend_from_slice(method.as_str().as_bytes());
        out.extend_from_slice(path_and_query.as_bytes());
        out.extend_from_slice(body);
        out
    }

    /// Computes the `KC-API-*` headers for exactly these inputs.
    ///
    /// `path_and_query` is the string KuCoin signs: the path, and `?` plus the query *without*
    /// percent-encoding when there is one (see [`crate::rest::Query`]). `body` is the exact body
    /// sent (empty for GET).
    #[must_use]
    pub fn sign(
        &self,
        ts: UnixMillis,
        method: &http::Method,
        path_and_query: &str,
        body: &[u8],
    ) -> AuthHeaders {
        let prehash = Self::prehash(ts, method, path_and_query, body);
        // `new` proved this key is accepted, so this is never empty.
        let sign = hmac_b64(&self.secret, &[&prehash]).unwrap_or_default();
        let timestamp = ts.to_string();
        let partner = self.broker.as_ref().map(|b| PartnerHeaders {
            partner_sign: hmac_b64(
                b.broker_key.as_bytes(),
                &[
                    timestamp.as_bytes(),
                    b.partner.as_bytes(),
                    self.key.as_bytes(),
                ],
            )
            .unwrap_or_default(),
            partner: b.partner.clone(),
            broker_name: b.broker_name.clone(),
        });
        AuthHeaders {
            key: self.key.clone(),
            sign,
            timestamp,
            passphrase: Zeroizing::new(self.passphrase_header.as_str().to_owned()),
            key_version: self.version,
            partner,
        }
    }
}

/// The partner headers added when broker credentials are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerHeaders {
    /// `KC-API-PARTNER`: the broker's partner id.
    pub partner: String,
    /// `KC-API-PARTNER-SIGN`: base64 HMAC-SHA256 keyed with the broker key over
    /// `timestamp + partner + apiKey`.
    pub partner_sign: String,
    /// `KC-BROKER-NAME`.
    pub broker_name: String,
}

/// The headers of one signed request.
///
/// `Debug` redacts the passphrase header (for V1 keys it is the plain passphrase).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthHeaders {
    /// `KC-API-KEY`.
    pub key: String,
    /// `KC-API-SIGN`.
    pub sign: String,
    /// `KC-API-TIMESTAMP`, the milliseconds that were signed.
    pub timestamp: String,
    /// `KC-API-PASSPHRASE` (plain for V1, HMAC-signed for V2/V3).
    pub passphrase: Zeroizing<String>,
    /// `KC-API-KEY-VERSION`.
    pub key_version: KeyVersion,
    /// Broker headers, only when the user configured their own broker credentials.
    pub partner: Option<PartnerHeaders>,
}

impl fmt::Debug for AuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHeaders")
            .field("key", &key_hint(&self.key))
            .field("sign", &self.sign)
            .field("timestamp", &self.timestamp)
            .field("passphrase", &"<redacted>")
            .field("key_version", &self.key_version)
            .field("partner", &self.partner)
            .finish()
    }
}

impl AuthHeaders {
    /// Every header as (name, value), in a fixed order.
    #[must_use]
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            (HEADER_KEY, self.key.as_str()),
            (HEADER_SIGN, self.sign.as_str()),
            (HEADER_TIMESTAMP, self.timestamp.as_str()),
            (HEADER_PASSPHRASE, self.passphrase.as_str()),
            (HEADER_KEY_VERSION, self.key_version.header_value()),
        ];
        if let Some(p) = &self.partner {
            v.push((HEADER_PARTNER, p.partner.as_str()));
            v.push((HEADER_PARTNER_SIGN, p.partner_sign.as_str()));
            v.push((HEADER_BROKER_NAME, p.broker_name.as_str()));
            v.push((HEADER_PARTNER_VERIFY, "true"));
        }
        v
    }

    /// Inserts every header into `headers`; the passphrase and signature values are marked
    /// sensitive (`Debug` shows them as `Sensitive`).
    ///
    /// Fails only if a value is not header-safe, which [`Signer::new`] and
    /// [`Signer::with_broker`] rule out.
    pub fn apply(&self, headers: &mut http::HeaderMap) -> Result<(), AuthError> {
        for (name, value) in self.pairs() {
            let mut v = http::HeaderValue::from_str(value)
                .map_err(|_| AuthError::NotHeaderSafe { field: name })?;
            if name == HEADER_PASSPHRASE || name == HEADER_SIGN || name == HEADER_PARTNER_SIGN {
                v.set_sensitive(true);
            }
            headers.insert(name, v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_secret_and_passphrase() {
        let c = Credentials::new("5c2db93503aa", "s3cr3t-value", "pass-phrase-x");
        let shown = format!("{c:?} {c}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("pass-phrase"), "{shown}");
        assert!(!shown.contains("5c2db93503aa"), "{shown}");
        let s = Signer::new(c.with_key_version(KeyVersion::V1)).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("pass-phrase"));
        let h = s.sign(UnixMillis(1), &http::Method::GET, "/x", b"");
        assert!(!format!("{h:?}").contains("pass-phrase"));
        let b = BrokerCredentials::new("p", "broker-secret-key", "n");
        assert!(!format!("{b:?}").contains("broker-secret"));
    }

    #[test]
    fn default_key_version_is_three() {
        assert_eq!(KeyVersion::default(), KeyVersion::V3);
        assert_eq!(
            Credentials::new("k", "s", "p").key_version(),
            KeyVersion::V3
        );
    }

    #[test]
    fn empty_or_unsafe_fields_are_rejected() {
        assert_eq!(
            Signer::new(Credentials::new("", "s", "p")).unwrap_err(),
            AuthError::Empty { field: "API key" }
        );
        assert_eq!(
            Signer::new(Credentials::new("k", "", "p")).unwrap_err(),
            AuthError::Empty {
                field: "API secret"
            }
        );
        assert_eq!(
            Signer::new(Credentials::new("k\n", "s", "p")).unwrap_err(),
            AuthError::NotHeaderSafe { field: "API key" }
        );
        assert_eq!(
            Signer::new(Credentials::new("k", "s", "p\r").with_key_version(KeyVersion::V1))
                .unwrap_err(),
            AuthError::NotHeaderSafe {
                field: "API passphrase"
            }
        );
    }

    #[test]
    fn no_partner_headers_without_broker_credentials() {
        let s = Signer::new(Credentials::new("k", "s", "p")).unwrap();
        let h = s.sign(UnixMillis(1), &http::Method::GET, "/x", b"");
        assert!(h.partner.is_none());
        assert!(h.pairs().iter().all(|(n, _)| !n.contains("PARTNER")));
        let mut map = http::HeaderMap::new();
        h.apply(&mut map).unwrap();
        assert_eq!(map.len(), 5);
        assert!(map.get(HEADER_PASSPHRASE).unwrap().is_sensitive());
    }
}
