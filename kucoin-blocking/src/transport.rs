//! Sockets: the ureq agent for REST and a tungstenite WebSocket over rustls.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kucoin_proto::feed::FailureCause;
use rustls::pki_types::CertificateDer;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use url::Url;

/// A transport-level failure: DNS, TCP, TLS, HTTP or WebSocket framing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A URL is unusable (bad scheme, no host, plain text where TLS is required).
    #[error("bad URL {url}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The REST request failed below HTTP (connect, TLS, timeout, body too large).
    #[error("HTTP request failed: {0}; check the network and the base URL, it is retried")]
    Http(#[from] ureq::Error),
    /// Connecting or talking to the WebSocket failed.
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tungstenite::Error),
    /// TLS could not be configured.
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The TLS handshake with the server failed, e.g. its certificate is not trusted
    /// (`InvalidCertificate(UnknownIssuer)`) or does not name the host.
    #[error(
        "TLS handshake failed: {0}; if the server (or a TLS proxy) uses its own CA, trust it \
         with Config::tls_root_certificates"
    )]
    TlsHandshake(rustls::Error),
    /// A socket-level error.
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
}

impl TransportError {
    /// The failure's cause for the feed's status ([`FailureCause`]): DNS, connect, TLS,
    /// timeout, an HTTP status refusing the WebSocket handshake, or a protocol error.
    #[must_use]
    pub fn cause(&self) -> FailureCause {
        // The whole text (with its advice), but for REST failures the inner error's: the
        // cause names the class, and retrying is the caller's business.
        let text = match self {
            TransportError::Http(e) => e.to_string(),
            other => other.to_string(),
        };
        match self {
            TransportError::BadUrl { .. } => FailureCause::Other(text),
            TransportError::Tls(_) | TransportError::TlsHandshake(_) => FailureCause::Tls(text),
            TransportError::Io(io) => io_cause(io, text),
            TransportError::Http(e) => match e {
                ureq::Error::HostNotFound => FailureCause::Dns(text),
                ureq::Error::ConnectionFailed => FailureCause::Connect(text),
                ureq::Error::Timeout(_) => FailureCause::Timeout(text),
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired => {
                    FailureCause::Tls(text)
                }
                ureq::Error::StatusCode(s) => FailureCause::HttpStatus(*s),
                ureq::Error::Io(io) => io_cause(io, text),
                ureq::Error::Protocol(_) | ureq::Error::BodyExceedsLimit(_) => {
                    FailureCause::Protocol(text)
                }
                _ => FailureCause::classify_text(&text),
            },
            TransportError::WebSocket(e) => match e {
                tungstenite::Error::Io(io) => io_cause(io, text),
                tungstenite::Error::Tls(_) => FailureCause::Tls(text),
                tungstenite::Error::Http(resp) => FailureCause::HttpStatus(resp.status().as_u16()),
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                    FailureCause::Closed {
                        code: None,
                        reason: text,
                    }
                }
                tungstenite::Error::Protocol(_)
                | tungstenite::Error::Capacity(_)
                | tungstenite::Error::Utf8(_)
                | tungstenite::Error::HttpFormat(_) => FailureCause::Protocol(text),
                _ => FailureCause::classify_text(&text),
            },
        }
    }

    /// Classifies a socket error: one that carries a rustls error (a failed handshake inside a
    /// TLS stream) becomes [`TransportError::TlsHandshake`], the rest [`TransportError::Io`].
    #[must_use]
    pub fn from_io(e: io::Error) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => TransportError::TlsHandshake(tls.clone()),
            None => TransportError::Io(e),
        }
    }

    /// Classifies a WebSocket error, pulling TLS handshake failures out as
    /// [`TransportError::TlsHandshake`].
    #[must_use]
    pub fn from_ws(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::Tls(tungstenite::error::TlsError::Rustls(tls)) => {
                TransportError::TlsHandshake(*tls)
            }
            tungstenite::Error::Io(io) => match TransportError::from_io(io) {
                TransportError::Io(io) => TransportError::WebSocket(tungstenite::Error::Io(io)),
                other => other,
            },
            other => TransportError::WebSocket(other),
        }
    }
}

fn io_cause(io: &io::Error, text: String) -> FailureCause {
    use io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::AddrNotAvailable
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::NetworkDown => FailureCause::Connect(text),
        K::TimedOut | K::WouldBlock => FailureCause::Timeout(text),
        _ => FailureCause::classify_text(&text),
    }
}

/// Largest REST body accepted (a full spot level-2 snapshot of a busy pair is a few MB).
pub const MAX_REST_BODY: u64 = 64 * 1024 * 1024;

/// A finished REST exchange: status, headers and the whole body.
#[derive(Debug)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

/// Builds the ureq agent: HTTP errors are answers (KuCoin puts its codes in 4xx bodies), not `Err`.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    http_agent_with_roots(timeout, &[])
}

/// [`http_agent`] that also trusts `extra_roots` for `https://` (added to the webpki roots).
pub fn http_agent_with_roots(
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> ureq::Agent {
    let mut builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("kucoin-rs/", env!("CARGO_PKG_VERSION")));
    if !extra_roots.is_empty() {
        // ureq takes either Mozilla's roots or a list of its own: give it both, as whole certs.
        let roots: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()))
            .chain(
                extra_roots
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()),
            )
            .collect();
        builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::from(roots))
                .build(),
        );
    }
    builder.build().into()
}

/// The WebSocket handshake request for `url`, naming this library in `User-Agent`
/// ([`kucoin_proto::USER_AGENT`]).
pub fn handshake_request(url: &Url) -> Result<http::Request<()>, TransportError> {
    use tungstenite::client::IntoClientRequest;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(TransportError::from_ws)?;
    request.headers_mut().insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(kucoin_proto::USER_AGENT),
    );
    Ok(request)
}

/// Sends one request built by `kucoin-proto` and reads the whole answer.
pub fn execute(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
) -> Result<HttpResponse, TransportError> {
    let mut response = agent.run(request)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REST_BODY)
        .read_to_vec()?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// rustls client configuration with the webpki root store and the ring provider.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, TransportError> {
    tls_config_with_roots(&[])
}

/// [`tls_config`] that also trusts `extra_roots` (a corporate proxy's or a test server's CA).
///
/// # Errors
/// [`TransportError::Tls`] when one of `extra_roots` is not a usable X.509 certificate.
pub fn tls_config_with_roots(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots.add(cert.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where a WebSocket URL points, once checked: TLS unless plain text was explicitly allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsTarget {
    /// Host name or address.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// `wss://`.
    pub secure: bool,
}

impl WsTarget {
    /// Checks `url`: `wss://` always, `ws://` only with `allow_plain` (explicit test URLs).
    pub fn of(url: &Url, allow_plain: bool) -> Result<WsTarget, TransportError> {
        let bad = |why| TransportError::BadUrl {
            url: redact_token(url),
            why,
        };
        let secure = match url.scheme() {
            "wss" => true,
            "ws" if allow_plain => false,
            "ws" => return Err(bad("plain ws:// is only allowed for explicit test URLs")),
            _ => return Err(bad("scheme must be wss:// (or ws:// for tests)")),
        };
        let host = url.host_str().ok_or_else(|| bad("no host"))?.to_owned();
        let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
        Ok(WsTarget { host, port, secure })
    }
}

/// What one read from the WebSocket produced.
#[derive(Debug)]
pub enum ReadOutcome {
    /// A text frame.
    Text(tungstenite::Utf8Bytes),
    /// A binary frame (KuCoin sends none; the core reports it).
    Binary(usize),
    /// The deadline passed with no complete frame.
    Timeout,
    /// The peer closed the connection, or it broke.
    Closed(String),
}

/// One WebSocket connection.
#[derive(Debug)]
pub struct WsConn {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// Most bytes accepted in one WebSocket message (KuCoin frames are a few KB).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

impl WsConn {
    /// Connects (TCP, TLS for `wss`, WebSocket handshake) within `timeout`.
    ///
    /// `ws://` is refused unless `allow_plain` is set (only for explicit test URLs).
    pub fn connect(
        url: &Url,
        tls: &Arc<rustls::ClientConfig>,
        allow_plain: bool,
        timeout: Duration,
    ) -> Result<WsConn, TransportError> {
        let WsTarget { host, port, secure } = WsTarget::of(url, allow_plain)?;
        let addrs: Vec<_> = (host.as_str(), port).to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or(last)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let connector = if secure {
            tungstenite::Connector::Rustls(tls.clone())
        } else {
            tungstenite::Connector::Plain
        };
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let request = handshake_request(url)?;
        let (ws, _response) =
            tungstenite::client_tls_with_config(request, tcp, Some(config), Some(connector))
                .map_err(|e| match e {
                    tungstenite::HandshakeError::Failure(e) => TransportError::from_ws(e),
                    tungstenite::HandshakeError::Interrupted(_) => TransportError::Io(
                        io::Error::new(io::ErrorKind::TimedOut, "WebSocket handshake timed out"),
                    ),
                })?;
        Ok(WsConn { ws })
    }

    fn tcp(&self) -> &TcpStream {
        match self.ws.get_ref() {
            MaybeTlsStream::Plain(s) => s,
            MaybeTlsStream::Rustls(s) => s.get_ref(),
            _ => unreachable_stream(),
        }
    }

    /// Sends one text frame.
    pub fn send_text(&mut self, text: String) -> Result<(), TransportError> {
        self.ws.send(Message::text(text))?;
        Ok(())
    }

    /// Starts a graceful close and flushes it; errors are ignored (the socket is going away).
    pub fn close(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }

    /// Reads one frame, waiting at most until `deadline` (at least 1 ms).
    pub fn read(&mut self, deadline: Option<Instant>, now: Instant) -> ReadOutcome {
        let wait = deadline
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(1));
        if let Err(e) = self.tcp().set_read_timeout(Some(wait)) {
            return ReadOutcome::Closed(format!("setting the read timeout failed: {e}"));
        }
        loop {
            return match self.ws.read() {
                Ok(Message::Text(t)) => ReadOutcome::Text(t),
                Ok(Message::Binary(b)) => ReadOutcome::Binary(b.len()),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Close(frame)) => ReadOutcome::Closed(match frame {
                    Some(f) => format!("server closed the WebSocket: {} {}", f.code, f.reason),
                    None => "server closed the WebSocket".to_owned(),
                }),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    ReadOutcome::Timeout
                }
                Err(e) => ReadOutcome::Closed(e.to_string()),
            };
        }
    }
}

#[cold]
fn unreachable_stream() -> &'static TcpStream {
    unreachable!("only the plain and rustls streams are enabled")
}

/// The URL with its `token` query parameter hidden, for logs and errors.
pub fn redact_token(url: &Url) -> String {
    let mut u = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" {
                "<redacted>".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        return u.to_string();
    }
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted_from_urls() {
        let u = Url::parse("wss://h.example/?token=SECRET&connectId=abc").unwrap();
        let s = redact_token(&u);
        assert!(!s.contains("SECRET"), "{s}");
        assert!(s.contains("connectId=abc"));
    }

    #[test]
    fn socket_errors_carrying_a_rustls_error_are_tls_handshake_errors() {
        let bad_cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = io::Error::new(io::ErrorKind::InvalidData, bad_cert.clone());
        assert!(matches!(
            TransportError::from_io(io),
            TransportError::TlsHandshake(e) if e == bad_cert
        ));
        let io = io::Error::new(io::ErrorKind::InvalidData, bad_cert.clone());
        let err = TransportError::from_ws(tungstenite::Error::Io(io));
        assert!(
            matches!(err, TransportError::TlsHandshake(ref e) if *e == bad_cert),
            "{err}"
        );
        let plain = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(
            TransportError::from_io(plain),
            TransportError::Io(_)
        ));
        let plain = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(
            TransportError::from_ws(tungstenite::Error::Io(plain)),
            TransportError::WebSocket(tungstenite::Error::Io(_))
        ));
    }

    #[test]
    fn extra_roots_must_be_certificates() {
        assert!(tls_config_with_roots(&[]).is_ok());
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(matches!(
            tls_config_with_roots(&[junk]),
            Err(TransportError::Tls(_))
        ));
    }

    #[test]
    fn plain_ws_is_refused_unless_allowed() {
        let u = Url::parse("ws://127.0.0.1:1/").unwrap();
        let err = WsConn::connect(&u, &tls_config().unwrap(), false, Duration::from_millis(50))
            .unwrap_err();
        assert!(matches!(err, TransportError::BadUrl { .. }), "{err}");
    }
}
