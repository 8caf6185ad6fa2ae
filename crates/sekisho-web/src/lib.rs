//! HTTP for Sekisho: routes, extractors (session, CSRF, client credentials) and hosted pages.
//!
//! Boundary: the only crate that knows axum. Handlers parse requests into the types of
//! `sekisho-oidc`, call it, and map the results to responses in one place ([`error`]).

mod error;
mod i18n;
mod pages;
mod routes;
mod second_step;
mod security;
mod session;
mod signin;

pub use pages::Pages;

use axum::Router;
use sekisho_notify::{Mailer, SmsGateway};
use sekisho_oidc::Op;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub op: Arc<Op>,
    pub pages: Arc<Pages>,
    pub mailer: Mailer,
    /// Where two-step verification codes go by SMS.
    pub sms: SmsGateway,
    /// `Secure` on cookies when the public URL is https.
    pub secure_cookies: bool,
}

/// A button on the login page that starts an upstream login.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UpstreamButton {
    pub href: String,
    pub label: String,
}

impl AppState {
    /// `templates_dir`: where an operator overrides pages (see [`Pages`]).
    pub fn new(
        op: Arc<Op>,
        mailer: Mailer,
        sms: SmsGateway,
        templates_dir: Option<PathBuf>,
    ) -> Self {
        let secure_cookies = op.config.public_url.starts_with("https://");
        Self {
            op,
            pages: Arc::new(Pages::new(templates_dir)),
            mailer,
            sms,
            secure_cookies,
        }
    }

    /// The upstream logins configured for this deployment, as login-page buttons. There are none
    /// yet: a button appears only for a connector that works (brokered login is its own issue).
    pub fn upstream_buttons(
        &self,
        _brand: &sekisho_core::model::Brand,
        _lang: i18n::Lang,
    ) -> Vec<UpstreamButton> {
        Vec::new()
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}
