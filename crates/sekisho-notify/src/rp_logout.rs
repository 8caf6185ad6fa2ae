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

/// The HTTP client of logout deliveries: no redirects followed (a logout token goes only where
/// the client registered), a short timeout.
#[derive(Debug, Clone)]
pub struct RpNotifier {
    http: reqwest::Client,
}

impl Default for RpNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl RpNotifier {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(DELIVERY_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// POSTs `logout_token` to `uri`.
    pub async fn deliver(&self, uri: &str, logout_token: &str) -> Result<(), DeliveryError> {
        let res = self
            .http
            .post(uri)
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
