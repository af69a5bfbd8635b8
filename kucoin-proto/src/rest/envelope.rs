//! KuCoin's `{"code":"200000","data":…}` envelope and its errors.

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A KuCoin API code, kept whole as KuCoin sends it (`"429000"` is not HTTP 429).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiCode(String);

impl ApiCode {
    /// The success code, `200000`.
    pub const OK: &'static str = "200000";

    /// Wraps a code as text.
    #[must_use]
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The code as KuCoin sent it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as a number, when it is one.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl fmt::Debug for ApiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for ApiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of failure an [`ApiError`] is, and so what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Key, signature or passphrase rejected, or permission missing: fix the credentials.
    Auth,
    /// `400002`: the request timestamp is too far from KuCoin's clock: sync with server time.
    ClockSkew,
    /// `429000` or HTTP 429: slow down and retry later.
    RateLimited,
    /// The request is invalid: fix the parameters.
    BadRequest,
    /// The resource or endpoint does not exist.
    NotFound,
    /// KuCoin failed or is unavailable: retry with backoff.
    Server,
    /// A code this library does not classify.
    Other,
}

/// An error answer from KuCoin: the full code, its message, and the HTTP status it came with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("KuCoin error {code} (HTTP {http_status}): {msg}")]
pub struct ApiError {
    /// HTTP status of the response.
    pub http_status: u16,
    /// KuCoin's code, whole (`"400005"`, `"429000"`).
    pub code: ApiCode,
    /// KuCoin's message.
    pub msg: String,
}

impl ApiError {
    /// Classifies the error by KuCoin code first, HTTP status second.
    #[must_use]
    pub fn class(&self) -> ErrorClass {
        classify(self.code.as_str(), self.http_status)
    }

    /// True when the same request may succeed later (rate limit, server trouble).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self.class(), ErrorClass::RateLimited | ErrorClass::Server)
    }
}

/// KuCoin's codes, from its error-code pages (gateway, spot and futures tables). The table is
/// shared by both markets, so codes whose meaning differs between them (`200002` is a futures
/// rate limit but a spot "cancel suspended") are left to the HTTP status.
fn classify(code: &str, http_status: u16) -> ErrorClass {
    match code {
        // Invalid KC-API-TIMESTAMP: the local clock is off; sync with `GET /api/v1/timestamp`.
        "400002" => ErrorClass::ClockSkew,
        // 429000: resource pool used up (HTTP 429, sometimes HTTP 200); 1015: Cloudflare's
        // per-IP limit.
        "429000" | "1015" => ErrorClass::RateLimited,
        // 400001 missing KC-API-* header, 400003 key not found, 400004 passphrase wrong,
        // 400005 signature wrong, 400006 IP not whitelisted, 400007 permission missing,
        // 400008 V1/V2 key refused (create a V3 key), 400009 bad KC-API-KEY-VERSION,
        // 400010 UID permission missing, 400011/400012 session verification failed/timed out,
        // 400201 bad KC-API-PARTNER-SIGN, 400202 partner IP refused, 411100 user frozen,
        // 401000 unauthorized (futures).
        "400001" | "400003" | "400004" | "400005" | "400006" | "400007" | "400008" | "400009"
        | "400010" | "400011" | "400012" | "400201" | "400202" | "411100" | "401000" => {
            ErrorClass::Auth
        }
        "404000" => ErrorClass::NotFound,
        // 500000 internal error, 503000 service unavailable / maintenance.
        "500000" | "503000" => ErrorClass::Server,
        // 400000 bad request, 400100 parameter error, 400200 order forbidden (gateway: unknown
        // partner), 400301 restricted by local rules, 400500 region restricted, 400600
        // validation, 400700 risk-restricted, 400760 order type, 400800 leverage order failed,
        // 415000 unsupported media type (send application/json), 900001 symbol not found,
        // 100001 / 300000 invalid parameters (futures).
        "400000" | "400100" | "400200" | "400301" | "400500" | "400600" | "400700" | "400760"
        | "400800" | "415000" | "900001" | "100001" | "300000" => ErrorClass::BadRequest,
        _ => class_of_status(http_status),
    }
}

fn class_of_status(http_status: u16) -> ErrorClass {
    match http_status {
        429 => ErrorClass::RateLimited,
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        500..=599 => ErrorClass::Server,
        400..=499 => ErrorClass::BadRequest,
        _ => ErrorClass::Other,
    }
}

/// Why a REST response could not be turned into typed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// KuCoin answered with an error code.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The body is empty.
    #[error(
        "empty response body (HTTP {http_status}): the server or a proxy answered without content; retry later"
    )]
    Empty {
        /// HTTP status of the response.
        http_status: u16,
    },
    /// A non-2xx HTTP status whose body is not KuCoin's JSON envelope (a gateway error page,
    /// a bare HTTP 429): the status alone says what happened.
    #[error("HTTP {http_status} without a KuCoin error body ({class:?}); body starts {snippet:?}")]
    Status {
        /// HTTP status of the response.
        http_status: u16,
        /// What the status means for the caller.
        class: ErrorClass,
        /// The first bytes of the body, for diagnosis.
        snippet: String,
    },
    /// The body is not KuCoin's JSON envelope (an HTML error page, a truncated body, wrong types).
    #[error(
        "response is not a KuCoin JSON envelope (HTTP {http_status}): {detail}; body starts {snippet:?}"
    )]
    Malformed {
        /// HTTP status of the response.
        http_status: u16,
        /// What the parser found wrong.
        detail: String,
        /// The first bytes of the body, for diagnosis.
        snippet: String,
    },
}

impl ResponseError {
    /// True when retrying the same request later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            ResponseError::Api(e) => e.is_retryable(),
            ResponseError::Empty { .. } => true,
            ResponseError::Status { class, .. } => {
                matches!(class, ErrorClass::RateLimited | ErrorClass::Server)
            }
            ResponseError::Malformed { http_status, .. } => {
                *http_status == 429 || (500..=599).contains(http_status)
            }
        }
    }

    /// What kind of failure this is, when the code or the HTTP status says so.
    #[must_use]
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            ResponseError::Api(e) => Some(e.class()),
            ResponseError::Status { class, .. } => Some(*class),
            ResponseError::Empty { .. } | ResponseError::Malformed { .. } => None,
        }
    }

    /// The KuCoin API error, if this is one.
    #[must_use]
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ResponseError::Api(e) => Some(e),
            _ => None,
        }
    }
}

const SNIPPET_LEN: usize = 120;

/// The first bytes of a body for error messages, with any `"token"` value redacted (a truncated
/// bullet answer must not put a connection token into logs).
fn snippet(body: &[u8]) -> String {
    let head = body.get(..SNIPPET_LEN).unwrap_or(body);
    redact_tokens(&String::from_utf8_lossy(head))
}

fn redact_tokens(text: &str) -> String {
    const KEY: &str = "\"token\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let (before, after_key) = rest.split_at(pos + KEY.len());
        out.push_str(before);
        let value_start = after_key
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('"'));
        let Some(value) = value_start else {
            rest = after_key;
            continue;
        };
        out.push_str(":\"<redacted>");
        // Skip the value up to its closing quote (or the end of a truncated snippet).
        rest = value
            .find('"')
            .map_or("", |end| value.get(end..).unwrap_or(""));
    }
    out.push_str(rest);
    out
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, deserialize_with = "code_as_text")]
    code: std::borrow::Cow<'a, str>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default, borrow)]
    data: Option<&'a serde_json::value::RawValue>,
}

fn code_as_text<'de, D>(d: D) -> Result<std::borrow::Cow<'de, str>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code<'a> {
        #[serde(borrow)]
        Text(std::borrow::Cow<'a, str>),
        Num(u64),
    }
    Ok(match Code::deserialize(d)? {
        Code::Text(t) => t,
        Code::Num(n) => std::borrow::Cow::Owned(n.to_string()),
    })
}

/// Parses a KuCoin response body into `T`, or a typed error.
///
/// Never panics, whatever the bytes.
pub fn parse_envelope<T: DeserializeOwned>(
    http_status: u16,
    body: &[u8],
) -> Result<T, ResponseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ResponseError::Empty { http_status });
    }
    let malformed = |detail: String| ResponseError::Malformed {
        http_status,
        detail,
        snippet: snippet(body),
    };
    let env: RawEnvelope<'_> = match serde_json::from_slice(body) {
        Ok(env) => env,
        Err(_) if !(200..=299).contains(&http_status) => {
            return Err(ResponseError::Status {
                http_status,
                class: class_of_status(http_status),
                snippet: snippet(body),
            });
        }
        Err(e) => return Err(malformed(e.to_string())),
    };
    if env.code.trim().is_empty() {
        // Not one of KuCoin's codes: an error page or a broken proxy, not an API answer.
        if !(200..=299).contains(&http_status) {
            return Err(ResponseError::Status {
                http_status,
                class: class_of_status(http_status),
                snippet: snippet(body),
            });
        }
        return Err(malformed("the envelope's `code` is empty".into()));
    }
    if env.code != ApiCode::OK {
        return Err(ResponseError::Api(ApiError {
            http_status,
            code: ApiCode::new(env.code.into_owned()),
            msg: env.msg.unwrap_or_default(),
        }));
    }
    // A missing `data` reads as `null`: fine for endpoints whose answer is optional or unit,
    // an error for every other one.
    let data = env.data.map_or("null", |d| d.get());
    serde_json::from_str(data).map_err(|e| {
        if data == "null" {
            malformed(format!(
                "success code without `data` (missing or null): {e}"
            ))
        } else {
            malformed(format!("`data`: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_code_is_a_malformed_envelope_not_an_api_error() {
        let e = parse_envelope::<serde_json::Value>(200, br#"{"code":"","data":{}}"#).unwrap_err();
        assert!(matches!(e, ResponseError::Malformed { .. }), "{e:?}");
        assert!(e.to_string().contains("`code` is empty"), "{e}");
        let e = parse_envelope::<serde_json::Value>(502, br#"{"code":" "}"#).unwrap_err();
        assert!(
            matches!(
                e,
                ResponseError::Status {
                    http_status: 502,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn snippets_redact_bullet_tokens() {
        assert_eq!(
            redact_tokens(r#"{"data":{"token" : "abc","x":1}}"#),
            r#"{"data":{"token":"<redacted>","x":1}}"#
        );
        assert_eq!(
            redact_tokens(r#"{"token":"truncated-secr"#),
            r#"{"token":"<redacted>"#
        );
        assert_eq!(redact_tokens(r#"{"token":5}"#), r#"{"token":5}"#);
        assert_eq!(redact_tokens("no tokens"), "no tokens");
    }

    #[test]
    fn truncated_bullet_answer_does_not_leak_its_token() {
        let body = br#"{"code":"200000","data":{"token":"2neAiuYvAU61ZDXANAGAsiL4-secret","instanceServers":["#;
        let err = parse_envelope::<serde_json::Value>(200, body).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("2neAiuYvAU61"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
