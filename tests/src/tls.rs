//! TLS for the fake exchange: a self-signed certificate made at test time and a small
//! TLS-terminating proxy in front of the fake's plain WebSocket port, so that clients can be
//! tested over `wss://` offline.
//!
//! ```
//! use kucoin_tests::tls::{TestCert, TlsFront};
//! use kucoin_tests::{FakeConfig, FakeKucoin};
//!
//! let fake = FakeKucoin::start(FakeConfig::spot())?;
//! let cert = TestCert::localhost()?;
//! let front = TlsFront::start(&fake, &cert)?; // bullets now name wss://localhost:PORT/
//! assert_eq!(fake.bullet_endpoint(), front.wss_url());
//! // give `cert.der()` to the client as a trusted root, and `fake.rest_url()` as its REST base
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::FakeHandle;

/// A self-signed certificate and its key, for `localhost` and `127.0.0.1`.
///
/// Trust [`TestCert::der`] in the client; a different `TestCert` is a certificate the client
/// does not trust.
pub struct TestCert {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for TestCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of Debug output.
        f.debug_struct("TestCert")
            .field("cert_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl TestCert {
    /// A fresh key pair (ECDSA P-256) and a self-signed certificate naming `localhost` and
    /// `127.0.0.1`, with a subject of its own.
    ///
    /// # Errors
    /// When rcgen cannot generate the key or sign the certificate.
    pub fn localhost() -> Result<Self, rcgen::Error> {
        // A distinct subject per certificate, so that another TestCert is an unknown issuer
        // (with equal subjects a client would find the wrong anchor and report a bad signature).
        static SERIAL: AtomicU64 = AtomicU64::new(1);
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("kucoin-tests localhost {} #{n}", std::process::id()),
        );
        let signing_key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&signing_key)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(signing_key.serialize_der()),
        })
    }

    /// The certificate (DER), to add to a client's trusted roots.
    #[must_use]
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// A rustls server configuration (ring provider) presenting this certificate.
    ///
    /// # Errors
    /// When rustls refuses the certificate or key.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        Ok(Arc::new(config))
    }
}

/// Counters of a [`TlsProxy`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// TCP connections accepted.
    pub accepted: u64,
    /// TLS handshakes completed (then bytes were forwarded).
    pub handshakes: u64,
    /// Connections that ended in a TLS error (a client refusing the certificate sends an alert).
    pub tls_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    handshakes: AtomicU64,
    tls_errors: AtomicU64,
}

#[derive(Debug)]
struct ProxyShared {
    stop: AtomicBool,
    counters: Counters,
    conns: Mutex<Vec<JoinHandle<()>>>,
}

/// A TLS-terminating proxy on 127.0.0.1: each accepted connection gets a thread that completes a
/// rustls server handshake and forwards bytes both ways to `backend` over plain TCP.
/// Stops (and joins its threads, bounded to about 2 s) on drop.
#[derive(Debug)]
pub struct TlsProxy {
    port: u16,
    shared: Arc<ProxyShared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Longest idle wait of the proxy threads (they poll non-blocking sockets).
const IDLE: Duration = Duration::from_millis(1);

impl TlsProxy {
    /// Binds a random 127.0.0.1 port and forwards TLS connections to `backend` in plain text.
    ///
    /// # Errors
    /// When the listener cannot be bound or the acceptor thread cannot be spawned.
    pub fn start(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(ProxyShared {
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            conns: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tls-proxy-accept".into())
                .spawn(move || accept_loop(&shared, &listener, &config, backend))?
        };
        Ok(Self {
            port,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `wss://localhost:PORT/` (the name the test certificate carries).
    #[must_use]
    pub fn wss_url(&self) -> String {
        format!("wss://localhost:{}/", self.port)
    }

    /// Counters since start.
    #[must_use]
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            accepted: c.accepted.load(Ordering::SeqCst),
            handshakes: c.handshakes.load(Ordering::SeqCst),
            tls_errors: c.tls_errors.load(Ordering::SeqCst),
        }
    }

    /// Stops accepting, ends every connection and joins the threads (bounded to about 2 s).
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut threads: Vec<JoinHandle<()>> = self.acceptor.take().into_iter().collect();
        join_until(&mut threads, deadline);
        let mut conns = std::mem::take(
            &mut *self
                .shared
                .conns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        join_until(&mut conns, deadline);
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn join_until(threads: &mut Vec<JoinHandle<()>>, deadline: Instant) {
    for thread in threads.drain(..) {
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(IDLE);
        }
        if !thread.is_finished() {
            log::warn!("a TLS proxy thread did not stop in time; detached");
        } else if thread.join().is_err() {
            log::warn!("a TLS proxy thread panicked");
        }
    }
}

fn accept_loop(
    shared: &Arc<ProxyShared>,
    listener: &TcpListener,
    config: &Arc<rustls::ServerConfig>,
    backend: SocketAddr,
) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.counters.accepted.fetch_add(1, Ordering::SeqCst);
                let (shared2, config) = (Arc::clone(shared), Arc::clone(config));
                let spawned = std::thread::Builder::new()
                    .name("tls-proxy-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve(&shared2, client, config, backend) {
                            log::debug!("TLS proxy connection ended: {e}");
                        }
                    });
                match spawned {
                    Ok(t) => shared
                        .conns
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(t),
                    Err(e) => log::warn!("TLS proxy could not spawn a connection thread: {e}"),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(IDLE),
            Err(e) => {
                log::warn!("TLS proxy accept failed: {e}");
                std::thread::sleep(IDLE);
            }
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// One connection: TLS from the client, plain TCP to the backend, both sockets non-blocking,
/// polled in one loop (sleeping [`IDLE`] when nothing moved).
fn serve(
    shared: &ProxyShared,
    mut client: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend: SocketAddr,
) -> io::Result<()> {
    let mut tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    client.set_nodelay(true)?;
    client.set_nonblocking(true)?;
    let mut upstream: Option<TcpStream> = None;
    let mut to_backend: Vec<u8> = Vec::new();
    let mut to_client: Vec<u8> = Vec::new();
    let mut buf = vec![0_u8; 64 * 1024];
    let mut handshaken = false;
    let result = loop {
        if shared.stop.load(Ordering::SeqCst) {
            break Ok(());
        }
        let mut moved = false;
        // Client → TLS records in.
        match tls.read_tls(&mut client) {
            Ok(0) => break Ok(()),
            Ok(_) => {
                moved = true;
                if let Err(e) = tls.process_new_packets() {
                    shared.counters.tls_errors.fetch_add(1, Ordering::SeqCst);
                    // Send our alert, best effort.
                    while tls.wants_write() && tls.write_tls(&mut client).is_ok_and(|n| n > 0) {}
                    break Err(io::Error::other(e));
                }
            }
            Err(e) if would_block(&e) => {}
            Err(e) => break Err(e),
        }
        if !handshaken && !tls.is_handshaking() {
            handshaken = true;
            shared.counters.handshakes.fetch_add(1, Ordering::SeqCst);
            let up = TcpStream::connect(backend)?;
            up.set_nodelay(true)?;
            up.set_nonblocking(true)?;
            upstream = Some(up);
        }
        // Plain text from the client, queued for the backend.
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    to_backend.extend_from_slice(buf.get(..n).unwrap_or_default());
                    moved = true;
                }
                Err(e) if would_block(&e) => break,
                Err(e) => return finish(&mut client, &mut tls, upstream.as_ref(), Err(e)),
            }
        }
        if let Some(up) = upstream.as_mut() {
            // Queued plain text to the backend.
            while !to_backend.is_empty() {
                match up.write(&to_backend) {
                    Ok(0) => return finish(&mut client, &mut tls, Some(up), Ok(())),
                    Ok(n) => {
                        to_backend.drain(..n);
                        moved = true;
                    }
                    Err(e) if would_block(&e) => break,
                    Err(e) => return finish(&mut client, &mut tls, Some(up), Err(e)),
                }
            }
            // Backend → client (read only once the previous chunk went into rustls).
            if to_client.is_empty() {
                match up.read(&mut buf) {
                    Ok(0) => {
                        tls.send_close_notify();
                        while tls.wants_write() && tls.write_tls(&mut client).is_ok_and(|n| n > 0) {
                        }
                        break Ok(());
                    }
                    Ok(n) => {
                        to_client.extend_from_slice(buf.get(..n).unwrap_or_default());
                        moved = true;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => break Err(e),
                }
            }
            if !to_client.is_empty() {
                let n = tls.writer().write(&to_client)?;
                to_client.drain(..n);
            }
        }
        // TLS records out.
        while tls.wants_write() {
            match tls.write_tls(&mut client) {
                Ok(0) => break,
                Ok(_) => moved = true,
                Err(e) if would_block(&e) => break,
                Err(e) => return finish(&mut client, &mut tls, upstream.as_ref(), Err(e)),
            }
        }
        if !moved {
            std::thread::sleep(IDLE);
        }
    };
    finish(&mut client, &mut tls, upstream.as_ref(), result)
}

fn finish(
    client: &mut TcpStream,
    _tls: &mut rustls::ServerConnection,
    upstream: Option<&TcpStream>,
    result: io::Result<()>,
) -> io::Result<()> {
    let _ = client.shutdown(Shutdown::Both);
    if let Some(up) = upstream {
        let _ = up.shutdown(Shutdown::Both);
    }
    result
}

/// A [`TlsProxy`] in front of a fake's WebSocket port, with the fake's bullets pointing at it
/// (`wss://localhost:PORT/`). Dropping it stops the proxy and points bullets back at `ws://`.
#[derive(Debug)]
pub struct TlsFront {
    proxy: TlsProxy,
    fake: FakeHandle,
}

impl TlsFront {
    /// Starts a proxy presenting `cert` and makes `fake`'s bullets name it.
    ///
    /// # Errors
    /// When rustls refuses the certificate, or the proxy cannot start.
    pub fn start(fake: &FakeHandle, cert: &TestCert) -> io::Result<Self> {
        let config = cert.server_config().map_err(io::Error::other)?;
        let backend = SocketAddr::from(([127, 0, 0, 1], fake.ws_port()));
        let proxy = TlsProxy::start(config, backend)?;
        fake.set_ws_endpoint_override(Some(proxy.wss_url()));
        Ok(Self {
            proxy,
            fake: fake.clone(),
        })
    }

    /// `wss://localhost:PORT/`, what bullets now name.
    #[must_use]
    pub fn wss_url(&self) -> String {
        self.proxy.wss_url()
    }

    /// The proxy's counters.
    #[must_use]
    pub fn stats(&self) -> ProxyStats {
        self.proxy.stats()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.fake.set_ws_endpoint_override(None);
        self.proxy.stop();
    }
}
