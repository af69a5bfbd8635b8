//! Sockets: REST through ureq on a `blocking` thread, WebSocket through async-tungstenite over
//! async-net (plain) or futures-rustls (TLS). Nothing here depends on a particular executor.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::{self, Message};
use futures_lite::{AsyncRead, AsyncWrite, FutureExt, StreamExt};
use url::Url;

pub use kucoin_blocking::transport::{
    HttpResponse, MAX_FRAME, ReadOutcome, TransportError, WsTarget, http_agent,
    http_agent_with_roots, redact_token, tls_config, tls_config_with_roots,
};

/// Sends one request built by `kucoin-proto` on a background thread and awaits the answer.
pub async fn execute(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
) -> Result<HttpResponse, TransportError> {
    let agent = agent.clone();
    blocking::unblock(move || kucoin_blocking::transport::execute(&agent, request)).await
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A boxed byte stream: plain TCP or TLS.
pub struct Stream(Pin<Box<dyn Io>>);

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }
    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_close(cx)
    }
}

/// One async WebSocket connection.
#[derive(Debug)]
pub struct WsConn {
    ws: WebSocketStream<Stream>,
}

async fn timeout<T>(
    d: Duration,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    fut.or(async {
        async_io::Timer::after(d).await;
        Err(TransportError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            what,
        )))
    })
    .await
}

impl WsConn {
    /// Connects (TCP, TLS for `wss`, WebSocket handshake) within `limit`.
    ///
    /// `ws://` is refused unless `allow_plain` is set (only for explicit test URLs).
    pub async fn connect(
        url: &Url,
        tls: &Arc<rustls::ClientConfig>,
        allow_plain: bool,
        limit: Duration,
    ) -> Result<WsConn, TransportError> {
        timeout(limit, "WebSocket connect timed out", async {
            let WsTarget { host, port, secure } = WsTarget::of(url, allow_plain)?;
            let tcp = async_net::TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let stream = if secure {
                let name = rustls::pki_types::ServerName::try_from(host).map_err(|_| {
                    TransportError::BadUrl {
                        url: redact_token(url),
                        why: "host is not a valid TLS server name",
                    }
                })?;
                let tls = futures_rustls::TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(TransportError::from_io)?;
                Stream(Box::pin(tls))
            } else {
                Stream(Box::pin(tcp))
            };
            let config = tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(MAX_FRAME))
                .max_frame_size(Some(MAX_FRAME));
            let (ws, _resp) = async_tungstenite::client_async_with_config(
                kucoin_blocking::transport::handshake_request(url)?,
                stream,
                Some(config),
            )
            .await
            .map_err(TransportError::from_ws)?;
            Ok(WsConn { ws })
        })
        .await
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: String) -> Result<(), TransportError> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Starts a graceful close; errors are ignored (the socket is going away).
    pub async fn close(&mut self) {
        let _ = timeout(Duration::from_secs(2), "close timed out", async {
            self.ws.close(None).await.map_err(TransportError::from)
        })
        .await;
    }

    /// Reads one frame, waiting at most until `deadline`.
    pub async fn read(&mut self, deadline: Option<Instant>) -> ReadOutcome {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let next = async {
            loop {
                return match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => ReadOutcome::Text(t),
                    Some(Ok(Message::Binary(b))) => ReadOutcome::Binary(b.len()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(frame))) => ReadOutcome::Closed(match frame {
                        Some(f) => format!("server closed the WebSocket: {} {}", f.code, f.reason),
                        None => "server closed the WebSocket".to_owned(),
                    }),
                    Some(Err(e)) => ReadOutcome::Closed(e.to_string()),
                    None => ReadOutcome::Closed("WebSocket stream ended".to_owned()),
                };
            }
        };
        next.or(async {
            async_io::Timer::at(deadline).await;
            ReadOutcome::Timeout
        })
        .await
    }
}
