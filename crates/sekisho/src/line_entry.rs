//! The line entry's listener (回線認証, REQ-LINE-3): HTTPS that accepts only clients presenting a
//! certificate signed by the configured carrier-gateway CA (mutual TLS). Only requests that came
//! through it are served with `sekisho_web::line_entry_router`, which reads the gateway's line
//! assertion; without `line_listen` configured there is no line entry at all and nothing is ever
//! trusted as a line.
//!
//! It is served by the same accept loop as the public listener (`crate::serving::serve` with
//! `Tls::Fixed`): handshakes run concurrently (one task each, within the header read timeout), so
//! a slow or failing client never holds up the others, and the same timeouts, connection cap and
//! graceful shutdown apply.

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslVerifyMode};

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
