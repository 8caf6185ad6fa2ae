//! HTTP for Sekisho: routes, extractors (session, CSRF, client credentials) and hosted pages.
//!
//! Boundary: the only crate that knows axum. Handlers parse requests, call the use cases of
//! `sekisho-app` (or the protocol of `sekisho-oidc`), and map the outcomes to responses: login
//! outcomes in `routes::outcome`, errors in [`error`].

mod cors;
mod error;
mod health;
mod i18n;
pub mod line_entry;
pub mod metrics;
mod navigation;
mod pages;
pub mod rate_limit;
mod routes;
mod security;
mod session;
mod theme;
mod visit;

pub use pages::{template_names, Pages};

use axum::Router;
use sekisho_app::App;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone: the application (`sekisho_app::App`, which the
/// handlers reach through `Deref`, as `state.op`), the pages, and the cookie policy.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub pages: Arc<Pages>,
    /// `Secure` on cookies when the public URL is https.
    pub secure_cookies: bool,
    /// SHA-256 of the bearer token `/metrics` asks for; `None`: `/metrics` is 404.
    pub metrics_token_hash: Option<String>,
    /// The rate limits' state (issue 15); [`AppState::with_rate_limits`] sets them.
    pub limiters: Arc<rate_limit::Limiters>,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

/// A button on the login page that starts an upstream login.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UpstreamButton {
    pub href: String,
    pub label: String,
}

impl AppState {
    /// `templates_dir`: where an operator overrides pages (see [`Pages`]).
    pub fn new(app: App, templates_dir: Option<PathBuf>) -> Self {
        let secure_cookies = app.op.config.public_url.starts_with("https://");
        let limiters = Arc::new(rate_limit::Limiters::new(
            &rate_limit::RateLimits::default(),
            Vec::new(),
            app.op.clock.clone(),
        ));
        Self {
            app,
            pages: Arc::new(Pages::new(templates_dir)),
            secure_cookies,
            metrics_token_hash: None,
            limiters,
        }
    }

    /// Serves `/metrics` to the scraper whose bearer token hashes (SHA-256, base64url) to
    /// `hash`; an empty one leaves it off. Installs the metrics recorder.
    pub fn with_metrics_token_hash(mut self, hash: &str) -> Self {
        let hash = hash.trim();
        if !hash.is_empty() && metrics::install().is_some() {
            self.metrics_token_hash = Some(hash.to_owned());
        }
        self
    }

    /// These rate limits instead of the defaults, with `X-Forwarded-For` believed from the
    /// `trusted_proxies`. The limiters are per state: build the state once and clone it for every
    /// listener, so that they share them.
    pub fn with_rate_limits(
        mut self,
        limits: &rate_limit::RateLimits,
        trusted_proxies: Vec<rate_limit::IpNet>,
    ) -> Self {
        self.limiters = Arc::new(rate_limit::Limiters::new(
            limits,
            trusted_proxies,
            self.app.op.clock.clone(),
        ));
        self
    }

    /// The login page's buttons, one per configured upstream (REQ-LOGIN-1, REQ-LOGIN-3);
    /// `query` carries the pending request (`ar=…`) or `next=account`.
    pub fn upstream_buttons(
        &self,
        brand: &sekisho_core::model::Brand,
        lang: i18n::Lang,
        query: &str,
    ) -> Vec<UpstreamButton> {
        self.upstreams
            .iter()
            .map(|c| UpstreamButton {
                href: format!("/{}/upstream/{}/start{query}", brand.code, c.name()),
                label: i18n::message(lang, &format!("up_login_{}", c.name())).to_owned(),
            })
            .collect()
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// The application as the line entry's listener serves it: the same routes, with the carrier
/// gateway's assertion read ([`line_entry::from_gateway`]). Only a listener that authenticated
/// the gateway (mutual TLS) may serve this.
pub fn line_entry_router(state: AppState) -> Router {
    routes::router(state).layer(axum::middleware::from_fn(line_entry::from_gateway))
}
