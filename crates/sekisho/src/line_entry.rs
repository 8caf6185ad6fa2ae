//! The line entry's listener (回線認証, REQ-LINE-3): HTTPS that accepts only clients presenting a
//! certificate signed by the configured carrier-gateway CA (mutual TLS). Only requests that came
//! through it are served with `sekisho_web::line_entry_router`, which reads the gateway's line
//! assertion; without `line_listen` configured there is no line entry at all and nothing is ever
//! trusted as a line.
//!
//! Handshakes run concurrently (one task each, 10 s at most): a slow or failing client never
//! holds up the others.

use axum::serve::Listener;
use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_openssl::SslStream;

/// The line entry's TLS files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTls {
    /// The line entry's server certificate (chain) and key.
    pub cert_file: String,
    pub key_file: String,
    /// The CA that signs the carrier gateway's client certificate: the only clients accepted.
    pub client_ca_file: String,
}

/// The TLS settings: Mozilla's intermediate profile, a client certificate required and verified
/// against `client_ca_file` only (not the system store).
pub fn acceptor(tls: &LineTls) -> anyhow::Result<SslAcceptor> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    b.set_certificate_chain_file(&tls.cert_file)?;
    b.set_private_key_file(&tls.key_file, SslFiletype::PEM)?;
    b.check_private_key()?;
    b.set_ca_file(&tls.client_ca_file)?;
    let names = openssl::x509::X509::stack_from_pem(&std::fs::read(&tls.client_ca_file)?)?;
    let mut list = openssl::stack::Stack::new()?;
    for ca in names {
        list.push(ca.subject_name().to_owned()?)?;
    }
    b.set_client_ca_list(list);
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    // The gateway resumes TLS sessions (as nginx does with its upstreams); with client
    // certificates verified, OpenSSL resumes only sessions of a named context.
    b.set_session_id_context(b"sekisho-line-entry")?;
    Ok(b.build())
}

/// A listener of authenticated TLS connections, for `axum::serve`.
pub struct TlsListener {
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

/// Longest a client may take to complete the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: SslAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "line entry: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(ssl) = Ssl::new(acceptor.context()) else {
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = SslStream::new(ssl, stream) else {
                        return;
                    };
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, Pin::new(&mut tls).accept()).await
                    {
                        Ok(Ok(())) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "line entry: refused a TLS client")
                        }
                        Err(_) => tracing::info!(%peer, "line entry: handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop never ends while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
