//! A client's documents by URL (its public keys at `jwks_uri`, RFC 7591 §2, and its sector's
//! redirect URIs at `sector_identifier_uri`, OpenID Connect Core §8.1; issue 18), fetched as carefully as a
//! server must fetch an address a stranger registered: https only (http only on loopback, and
//! only where the operator allows private addresses), no redirects, a short timeout, a size
//! limit, and never an address on the server's own networks (loopback, private, link-local,
//! unique-local, unspecified) unless the operator allows them. The name is resolved once and the
//! connection made to the address checked, so a name cannot change its answer in between (DNS
//! rebinding).

use crate::http::describe;
use crate::UpstreamError;
use std::net::SocketAddr;
use std::time::Duration;

/// A JWK Set of a few keys is a few KiB, a sector's list of redirect URIs less; 64 KiB is generous.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// A client's key server that takes longer than this fails the client's authentication.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

pub use sekisho_core::net::is_internal;

/// GETs the JSON document at `uri` (a client's `jwks_uri` or `sector_identifier_uri`, named
/// `what` in errors) under the rules above; `allow_internal` lets it reach the server's own
/// networks (and plain http on loopback), for deployments whose clients live there.
pub async fn fetch_client_document(
    uri: &str,
    what: &str,
    allow_internal: bool,
) -> Result<serde_json::Value, UpstreamError> {
    let refuse = |why: String| UpstreamError::Config(format!("{what}: {why}"));
    let url = url::Url::parse(uri).map_err(|_| refuse("not a URL".into()))?;
    let host = url
        .host_str()
        .ok_or_else(|| refuse("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refuse("no port".into()))?;
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        FETCH_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| UpstreamError::Unavailable(format!("{what}: the name did not resolve in time")))?
    .map_err(|e| UpstreamError::Unavailable(format!("{what}: the name did not resolve: {e}")))?
    .collect();
    let Some(addr) = addrs.first().copied() else {
        return Err(UpstreamError::Unavailable(format!(
            "{what}: the name has no address"
        )));
    };
    let internal = addrs.iter().any(|a| is_internal(a.ip()));
    if internal && !allow_internal {
        return Err(refuse(
            "it points at an address on the server's own networks".into(),
        ));
    }
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_internal => {}
        _ => return Err(refuse("it must use https".into())),
    }
    // Connect to the address checked above, whatever the name would answer next.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .resolve(&host, addr)
        .user_agent(concat!("sekisho/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpstreamError::Config(format!("HTTP client: {}", describe(&e))))?;
    let fetch = async {
        let mut response = http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("{what}: {}", describe(&e))))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(UpstreamError::Unavailable(format!(
                "{what}: answered {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("{what}: {}", describe(&e))))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(UpstreamError::Unavailable(format!(
                    "{what}: the answer is larger than {MAX_JWKS_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Unavailable(format!("{what}: the answer is not JSON")))
    };
    // The timeout of the whole exchange, a slow trickle of bytes included.
    tokio::time::timeout(FETCH_TIMEOUT, fetch)
        .await
        .map_err(|_| UpstreamError::Unavailable(format!("{what}: timed out")))?
}
