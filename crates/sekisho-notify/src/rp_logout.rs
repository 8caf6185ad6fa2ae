//! Delivering logout tokens to relying parties (OpenID Connect Back-Channel Logout 1.0 §2.5):
//! an HTTP POST of `logout_token` as a form; the RP answers 200 (or 204) when it logged the
//! session out. The queue, the retries and the token are the application's
//! (`sekisho_app::backchannel`); this is the one request.

use std::time::Duration;

/// How long one delivery may take; an RP slower than this is tried again later.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a delivery did not succeed (kept in the queue row, never the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("the RP answered {0}")]
    Status(u16),
    #[error("the RP could not be reached: {0}")]
    Unreachable(String),
}

/// Logout deliveries: no redirects followed (a logout token goes only where the client
/// registered), a short timeout, and never to an address of the server's own networks unless
/// `allow_internal` (the name is resolved once and the connection pinned to the checked
/// address, as for a client's `jwks_uri`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RpNotifier {
    allow_internal: bool,
}

impl RpNotifier {
    /// `allow_internal`: the deployment's `client_urls_allow_internal` (clients inside its own
    /// network, or development).
    pub fn new(allow_internal: bool) -> Self {
        Self { allow_internal }
    }

    /// POSTs `logout_token` to `uri`.
    pub async fn deliver(&self, uri: &str, logout_token: &str) -> Result<(), DeliveryError> {
        let unreachable = |why: &str| DeliveryError::Unreachable(why.to_owned());
        let url = url::Url::parse(uri).map_err(|_| unreachable("not a URL"))?;
        let host = url
            .host_str()
            .ok_or_else(|| unreachable("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| unreachable("no port"))?;
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| DeliveryError::Unreachable(format!("the name did not resolve: {e}")))?
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| unreachable("the name has no address"))?;
        if !self.allow_internal && addrs.iter().any(|a| sekisho_core::net::is_internal(a.ip())) {
            return Err(unreachable(
                "it points at an address on the server's own networks",
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(DELIVERY_TIMEOUT)
            .resolve(&host, addr)
            .build()
            .map_err(|e| DeliveryError::Unreachable(e.to_string()))?;
        let res = http
            .post(url)
            .header("Cache-Control", "no-store")
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .map_err(|e| DeliveryError::Unreachable(e.without_url().to_string()))?;
        match res.status().as_u16() {
            200 | 204 => Ok(()),
            other => Err(DeliveryError::Status(other)),
        }
    }
}
