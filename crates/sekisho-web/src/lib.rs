//! HTTP for Sekisho: routes, extractors (session, CSRF, client credentials) and hosted pages.
//!
//! Boundary: the only crate that knows axum. Handlers parse requests into the types of
//! `sekisho-oidc`, call it, and map the results to responses in one place ([`error`]).

mod directory;
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
    /// The upstream logins of this deployment (Google, Microsoft, d アカウント, Facebook).
    pub upstreams: Arc<Vec<sekisho_upstream::Connector>>,
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
            upstreams: Arc::new(Vec::new()),
            secure_cookies,
        }
    }

    /// With these upstream logins (in the order of the login page's buttons).
    pub fn with_upstreams(mut self, upstreams: Vec<sekisho_upstream::Connector>) -> Self {
        self.upstreams = Arc::new(upstreams);
        self
    }

    /// The upstream connector named `name` (the path segment), if configured.
    pub fn upstream(&self, name: &str) -> Option<&sekisho_upstream::Connector> {
        self.upstreams.iter().find(|c| c.name() == name)
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
