//! One mapping from failures to HTTP, so internals are logged and never leak.

use crate::i18n::Lang;
use crate::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_oidc::{ErrorCode, OAuthError};
use serde_json::json;

/// An OAuth error as JSON (token, introspection, revocation endpoints).
pub struct JsonError {
    pub error: OAuthError,
    /// The client used HTTP Basic: a 401 then carries `WWW-Authenticate: Basic`.
    pub basic: bool,
}

impl From<OAuthError> for JsonError {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            basic: false,
        }
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut res = (
            status,
            Json(json!({ "error": self.error.code.as_str(), "error_description": self.error.description })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED && self.basic {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sekisho\""),
            );
        }
        res
    }
}

/// A bearer-token failure (RFC 6750 §3): 401 with the error in `WWW-Authenticate`.
pub struct BearerError(pub OAuthError);

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        TokenError {
            error: self.0,
            dpop: false,
        }
        .into_response()
    }
}

/// A protected resource's refusal of an access token: 401 with the error in `WWW-Authenticate`,
/// under the scheme the token was (or must be) presented with: `Bearer` (RFC 6750 §3) or `DPoP`
/// (RFC 9449 §7.1, with the proof algorithms accepted).
pub struct TokenError {
    pub error: OAuthError,
    pub dpop: bool,
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        if self.error.code == ErrorCode::ServerError {
            return JsonError::from(self.error).into_response();
        }
        let scheme = if self.dpop {
            format!("DPoP algs=\"{}\"", sekisho_oidc::dpop::DPOP_ALGS.join(" "))
        } else {
            "Bearer realm=\"sekisho\"".to_owned()
        };
        let value = format!(
            "{scheme}, error=\"{}\", error_description=\"{}\"",
            self.error.code.as_str(),
            self.error.description.replace(['"', '\\'], "'")
        );
        let mut res = (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": self.error.code.as_str(), "error_description": self.error.description })),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// A failure shown to a person as a page in their language.
pub struct PageError {
    pub status: StatusCode,
    pub lang: Lang,
    pub message_key: &'static str,
    pub detail: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, lang: Lang, message_key: &'static str) -> Self {
        Self {
            status,
            lang,
            message_key,
            detail: None,
        }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn internal(lang: Lang, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error while serving a page");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error_internal")
    }
    pub fn render(self, state: &AppState, brand: Option<&sekisho_core::model::Brand>) -> Response {
        state.pages.error(
            self.status,
            self.lang,
            brand,
            self.message_key,
            self.detail.as_deref(),
        )
    }
}
