//! The one accept loop both listeners run (the public one and the line entry's): HTTP/1 on
//! hyper's connection, plain or over OpenSSL, with the limits a server facing the internet needs
//! (issue 15):
//!
//! - **Header read timeout**: a request's headers must be complete within
//!   [`Limits::header_read_timeout`] of the connection's start or of the previous response (hyper
//!   counts from there), else the connection is closed. A client that sends half a header and
//!   stalls (slowloris) holds a connection for that long at most.
//! - **Idle timeout**: a connection with no request in progress for [`Limits::idle_timeout`] is
//!   closed (gracefully: a request that has begun always gets its answer). Kept-alive connections
//!   cost a task and buffers each; they are returned quickly.
//! - **Body read timeout**: a request's body must arrive within [`Limits::body_read_timeout`]
//!   of its headers, else reading it fails (the handler answers 400 and the connection closes):
//!   a client trickling a body (R.U.D.Y.) cannot hold a connection either.
//! - **Connection cap**: at most [`Limits::max_connections`] connections per listener (TLS
//!   handshakes included). At the cap the loop stops calling `accept`: new connections wait in
//!   the kernel's backlog (then the kernel drops SYNs and clients retry) and are served as soon
//!   as a slot frees, which the two timeouts above guarantee soon. Accepting and closing instead
//!   would turn a burst of legitimate clients into errors, and cost an accept and a close per
//!   attempt to an attacker's benefit.
//! - **Graceful shutdown**: when the stop signal is set, the loop stops accepting and closes its
//!   socket (new connections are refused), idle connections are closed, requests in progress are
//!   answered (their connections then close), and [`serve`] returns when every connection has
//!   ended or [`Limits::drain_timeout`] has passed.
//!
//! Handlers see the peer's address as axum's `ConnectInfo<SocketAddr>` request extension, as
//! `into_make_service_with_connect_info` would give it.
//!
//! TLS is OpenSSL, the one TLS stack of the workspace (see the workspace `Cargo.toml`): the public
//! listener's certificate and key are read again when their files change ([`ReloadingTls`]); the
//! line entry's acceptor is fixed ([`Tls::Fixed`]).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_openssl::SslStream;

/// The limits of one listener; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub drain_timeout: Duration,
}

/// How a listener's connections start.
#[derive(Clone)]
pub enum Tls {
    /// Plain HTTP (behind a TLS-terminating proxy, or in development).
    Plain,
    /// TLS with one acceptor for the process's life (the line entry's mutual TLS).
    Fixed(Arc<SslAcceptor>),
    /// TLS whose certificate and key are read again when their files change.
    Reloading(Arc<ReloadingTls>),
}

impl Tls {
    fn acceptor(&self) -> Option<Arc<SslAcceptor>> {
        match self {
            Tls::Plain => None,
            Tls::Fixed(a) => Some(a.clone()),
            Tls::Reloading(r) => Some(r.current()),
        }
    }
}

/// The stop signal shared by every listener of the process: `true` once shutdown began.
pub fn stop_signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

/// Resolves once `stop` is set. A dropped sender never stops anything (a test that does not keep
/// it serves until it is dropped itself).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Serves `router` on `listener` until `stop` is set, then drains (see the module documentation).
/// `name` labels the logs ("public", "line entry").
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    tls: Tls,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // A free slot before `accept`: at the cap, new connections wait in the kernel's backlog.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break, // never closed
            },
            _ = stopped(&mut stop) => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let acceptor = tls.acceptor();
        let router = router.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = permit;
            match acceptor {
                None => connection(tcp, peer, router, limits, stop).await,
                Some(acceptor) => {
                    if let Some(tls) = handshake(name, &acceptor, tcp, peer, limits).await {
                        connection(tls, peer, router, limits, stop).await;
                    }
                }
            }
        });
    }
    // Closing the socket: from now on connections are refused.
    drop(listener);
    tracing::info!(listener = name, "stopped accepting; draining connections");
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all)).await;
    match drained {
        Ok(_) => tracing::info!(listener = name, "every connection closed"),
        Err(_) => tracing::warn!(
            listener = name,
            open = limits
                .max_connections
                .saturating_sub(slots.available_permits()),
            "drain time over; the remaining connections are dropped"
        ),
    };
}

/// The TLS handshake, within the header read timeout (a handshake that stalls is a slow client
/// too). Failures are the client's (scanners, wrong CA): logged at info, not as errors.
async fn handshake(
    name: &'static str,
    acceptor: &SslAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    limits: Limits,
) -> Option<SslStream<TcpStream>> {
    let ssl = Ssl::new(acceptor.context()).ok()?;
    let mut tls = SslStream::new(ssl, tcp).ok()?;
    match tokio::time::timeout(limits.header_read_timeout, Pin::new(&mut tls).accept()).await {
        Ok(Ok(())) => Some(tls),
        Ok(Err(e)) => {
            tracing::info!(listener = name, %peer, error = %e, "refused a TLS client");
            None
        }
        Err(_) => {
            tracing::info!(listener = name, %peer, "TLS handshake timed out");
            None
        }
    }
}

/// Counts the requests in progress on one connection (for the idle timeout): one is counted from
/// the moment its headers are read until the handler has answered.
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn begin(busy: &Arc<watch::Sender<usize>>) -> Self {
        busy.send_modify(|n| *n += 1);
        Self(busy.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Resolves once the connection has had no request in progress for `limit`.
async fn idle(busy: &mut watch::Receiver<usize>, limit: Duration) {
    loop {
        if *busy.borrow_and_update() == 0 {
            match tokio::time::timeout(limit, busy.changed()).await {
                Err(_) => return,
                Ok(Ok(())) => {}
                Ok(Err(_)) => std::future::pending::<()>().await,
            }
        } else if busy.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves one connection until it ends: the client closes it, a timeout closes it, or shutdown
/// closes it once its request in progress (if any) is answered.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (busy_tx, mut busy) = watch::channel(0usize);
    let busy_tx = Arc::new(busy_tx);
    let body_read_timeout = limits.body_read_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(|body| TimedBody::new(body, body_read_timeout));
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        let in_flight = InFlight::begin(&busy_tx);
        async move {
            // `Router` is always ready: no `poll_ready` needed before `call`.
            let response = tower_service::Service::call(&mut router, req).await;
            drop(in_flight);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    // Timeouts and clients that hang up land here: the client's affair.
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = stopped(&mut stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = idle(&mut busy, limits.idle_timeout), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// A request body that fails once `limit` has passed since the request's headers were read.
struct TimedBody {
    inner: Incoming,
    /// None for a body that is already complete (most GETs): no timer to arm.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        use hyper::body::Body as _;
        let deadline = (!inner.is_end_stream()).then(|| Box::pin(tokio::time::sleep(limit)));
        Self { inner, deadline }
    }
}

/// The error a handler's body extractor sees when the body came too slowly.
#[derive(Debug)]
struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

impl hyper::body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future as _;
        use std::task::Poll;
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Some(Err(Box::new(BodyTimeout))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The public listener's TLS from a certificate (chain) file and a key file (PEM), read again
/// when either file changes (checked at each new connection: two `stat`s). A new pair that does
/// not load (half-written, mismatched) is logged and the previous one stays in use; it is tried
/// again when the files change again.
pub struct ReloadingTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    state: Mutex<Loaded>,
}

struct Loaded {
    /// The files' identity when `acceptor` was built from them.
    stamp: Option<Stamp>,
    /// The identity of a pair that failed to load, not tried again until the files change.
    failed: Option<Stamp>,
    acceptor: Arc<SslAcceptor>,
}

/// What tells that a file changed: modification time, size and inode (a file replaced by a
/// rename has a new inode even within the file system's time resolution).
type Stamp = [(std::time::SystemTime, u64, u64); 2];

fn stamp(files: [&PathBuf; 2]) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let one = |f: &PathBuf| -> Option<(std::time::SystemTime, u64, u64)> {
        let m = std::fs::metadata(f).ok()?;
        Some((m.modified().ok()?, m.len(), m.ino()))
    };
    Some([one(files[0])?, one(files[1])?])
}

/// The public listener's TLS settings: Mozilla's intermediate profile (TLS 1.2 and 1.3), the
/// certificate chain and its key, which must match.
pub fn public_acceptor(cert_file: &PathBuf, key_file: &PathBuf) -> anyhow::Result<SslAcceptor> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_certificate_chain_file(cert_file)?;
    b.set_private_key_file(key_file, SslFiletype::PEM)?;
    b.check_private_key()?;
    Ok(b.build())
}

impl ReloadingTls {
    /// Loads the pair; fails (and start-up with it) when it does not load.
    pub fn new(
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> anyhow::Result<Self> {
        let cert_file = cert_file.into();
        let key_file = key_file.into();
        let stamp = stamp([&cert_file, &key_file]);
        let acceptor = public_acceptor(&cert_file, &key_file).map_err(|e| {
            anyhow::anyhow!(
                "TLS certificate {} and key {}: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
        Ok(Self {
            cert_file,
            key_file,
            state: Mutex::new(Loaded {
                stamp,
                failed: None,
                acceptor: Arc::new(acceptor),
            }),
        })
    }

    /// The acceptor for a new connection: rebuilt first if the files changed since.
    pub fn current(&self) -> Arc<SslAcceptor> {
        let now = stamp([&self.cert_file, &self.key_file]);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now.is_some() && now != state.stamp && now != state.failed {
            match public_acceptor(&self.cert_file, &self.key_file) {
                Ok(acceptor) => {
                    tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
                    state.acceptor = Arc::new(acceptor);
                    state.stamp = now;
                    state.failed = None;
                }
                Err(e) => {
                    tracing::warn!(
                        cert = %self.cert_file.display(),
                        key = %self.key_file.display(),
                        error = %e,
                        "the changed TLS certificate or key does not load; keeping the previous one"
                    );
                    state.failed = now;
                }
            }
        }
        state.acceptor.clone()
    }
}
