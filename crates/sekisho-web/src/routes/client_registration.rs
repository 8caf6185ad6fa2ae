//! RFC 7591 dynamic client registration (`POST /{brand}/clients`, with an initial access token)
//! and RFC 7592 client configuration (`GET | PUT | DELETE /{brand}/clients/{client_id}`, with the
//! registration access token), over `sekisho_oidc::registration` (REQ-OP-6).
//!
//! Errors: a missing token is a 401 with a bare `WWW-Authenticate: Bearer` challenge, a wrong one
//! a 401 with `error="invalid_token"` (RFC 6750 §3.1); refused metadata is a 400 with
//! `invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2).

use super::api_brand;
use crate::error::{BearerError, JsonError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_oidc::registration::{self as reg, RegistrationError};
use sekisho_oidc::OAuthError;
use serde_json::{json, Value};

/// Client metadata is small: a larger body is refused before it is read whole.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(64 * 1024)
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if there is one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The JSON body; anything else becomes `null`, which the metadata rules refuse, after the token
/// has been checked (an unauthenticated caller learns nothing about the rules).
fn json_body(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn failure(e: RegistrationError) -> Response {
    match e {
        RegistrationError::MissingToken => {
            let mut res = (
                StatusCode::UNAUTHORIZED,
                Json(json!({
                    "error": "invalid_request",
                    "error_description": "a bearer token is required",
                })),
            )
                .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sekisho\""),
            );
            res
        }
        RegistrationError::InvalidToken(d) => {
            BearerError(OAuthError::invalid_token(d)).into_response()
        }
        RegistrationError::Metadata(m) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": m.code(), "error_description": m.description() })),
        )
            .into_response(),
        RegistrationError::Server(e) => JsonError::from(e).into_response(),
    }
}

/// RFC 7591 §3: 201 with the client information, including the secret and the registration
/// access token (shown this once).
pub async fn register(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let brand = match api_brand(&state, &brand).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match reg::register(&state.op, &brand, bearer(&headers), &json_body(&body)).await {
        Ok(info) => (StatusCode::CREATED, Json(info)).into_response(),
        Err(e) => failure(e),
    }
}

/// RFC 7592 §2.1.
pub async fn read(
    State(state): State<AppState>,
    Path((brand, client_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let brand = match api_brand(&state, &brand).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match reg::read(&state.op, brand.code.as_str(), &client_id, bearer(&headers)).await {
        Ok(info) => Json(info).into_response(),
        Err(e) => failure(e),
    }
}

/// RFC 7592 §2.2.
pub async fn update(
    State(state): State<AppState>,
    Path((brand, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let brand = match api_brand(&state, &brand).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let token = bearer(&headers);
    match reg::update(
        &state.op,
        brand.code.as_str(),
        &client_id,
        token,
        &json_body(&body),
    )
    .await
    {
        Ok(info) => Json(info).into_response(),
        Err(e) => failure(e),
    }
}

/// RFC 7592 §2.3: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path((brand, client_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let brand = match api_brand(&state, &brand).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match reg::delete(&state.op, brand.code.as_str(), &client_id, bearer(&headers)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failure(e),
    }
}
