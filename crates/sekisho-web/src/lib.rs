//! HTTP for Sekisho: routes, extractors (session, CSRF, client credentials) and hosted pages.
//!
//! Boundary: the only crate that knows axum. Handlers parse requests into the types of
//! `sekisho-oidc`, call it, and map the results to responses in one place ([`error`]).

mod error;
mod i18n;
mod pages;
mod routes;
mod security;
mod session;

pub use pages::Pages;

use axum::Router;
use sekisho_oidc::Op;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub op: Arc<Op>,
    pub pages: Arc<Pages>,
    /// `Secure` on cookies when the public URL is https.
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(op: Arc<Op>) -> Self {
        let secure_cookies = op.config.public_url.starts_with("https://");
        Self {
            op,
            pages: Arc::new(Pages::new()),
            secure_cookies,
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}
