//! The admin API's one error shape, `{ "error": code, "error_description": text }`, and the
//! mapping of every refusal to its status: 400 bad input, 401 no or bad token (with
//! `WWW-Authenticate`, RFC 6750 §3), 403 not allowed, 404 not found (also another contract's
//! users, so their existence is not revealed), 409 a conflict with the current state.
//! Internal failures are logged where they happen and leave as a bare `server_error`.

use super::schema::ApiErrorBody;
use crate::i18n::{self, Lang};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_app::directory::DirectoryError;
use sekisho_app::lines::LineError;
use sekisho_oidc::operator::OperatorError;
use sekisho_oidc::{ErrorCode, OAuthError};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// The `WWW-Authenticate` challenge of a 401 or an `insufficient_scope` 403.
    challenge: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
        }
    }

    /// No credentials at all: RFC 6750 §3.1 says the challenge then carries no error code.
    pub fn missing_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a bearer access token is required",
        );
        e.challenge = Some("Bearer realm=\"sekisho\"".into());
        e
    }

    /// A token that is not valid here (bad signature, expired, revoked, another issuer, its
    /// client gone).
    pub fn invalid_token(description: &str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        e.challenge = Some(format!(
            "Bearer realm=\"sekisho\", error=\"invalid_token\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ));
        e
    }

    /// A valid token without the scope the operation needs (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this operation needs scope {scope}"),
        );
        e.challenge = Some(format!(
            "Bearer realm=\"sekisho\", error=\"insufficient_scope\", scope=\"{scope}\""
        ));
        e
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// A directory refusal, described in the caller's language.
    pub fn directory(e: DirectoryError, lang: Lang) -> Self {
        let status = match &e {
            DirectoryError::NotAllowed => StatusCode::FORBIDDEN,
            DirectoryError::NotFound => StatusCode::NOT_FOUND,
            DirectoryError::EmailInvalid
            | DirectoryError::NameInvalid
            | DirectoryError::BadRole => StatusCode::BAD_REQUEST,
            DirectoryError::EmailTaken
            | DirectoryError::OtherChangePending
            | DirectoryError::WrongState => StatusCode::CONFLICT,
            DirectoryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.code(), i18n::message(lang, e.message_key()))
    }

    /// A line-settings refusal, described in the caller's language.
    pub fn line(e: LineError, lang: Lang) -> Self {
        let status = match &e {
            LineError::Invalid => StatusCode::BAD_REQUEST,
            LineError::Taken => StatusCode::CONFLICT,
            LineError::NotFound => StatusCode::NOT_FOUND,
            LineError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.code(), i18n::message(lang, e.message_key()))
    }

    pub fn operator(e: OperatorError) -> Self {
        match e {
            OperatorError::Invalid(d) => Self::bad_request(d),
            OperatorError::Metadata(m) => {
                Self::new(StatusCode::BAD_REQUEST, m.code(), m.description())
            }
            OperatorError::NotFound(d) => Self::not_found(d),
            OperatorError::Conflict(d) => Self::new(StatusCode::CONFLICT, "conflict", d),
            OperatorError::Internal(e) => e.into(),
        }
    }
}

/// Protocol errors met on the way (token checks, store reads): their own status and code.
impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        match e.code {
            ErrorCode::InvalidToken => Self::invalid_token(&e.description),
            ErrorCode::ServerError => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            ),
            _ => Self::bad_request(e.description),
        }
    }
}

impl From<sekisho_store::StoreError> for ApiError {
    fn from(e: sekisho_store::StoreError) -> Self {
        OAuthError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            error: self.code.to_owned(),
            error_description: self.description,
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(v) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}
