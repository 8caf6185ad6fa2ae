//! What a request that reaches no page gets (ISSUE-15, ISSUE-16): an unknown path, a known path
//! asked with a method it does not answer (405), a brand's bare issuer URL. A person gets a page
//! in their language, under the brand of the path when there is one, with its ways forward; an
//! API caller gets a JSON error. Never an empty answer.

use super::{lang, see_other};
use crate::error::PageError;
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sekisho_core::model::{Brand, BrandCode};

/// The second path segments whose answers are for programs, not people: the admin API and the
/// protocol endpoints (their errors are JSON everywhere else too).
const API_SEGMENTS: &[&str] = &[
    "api",
    ".well-known",
    "jwks",
    "token",
    "userinfo",
    "revoke",
    "introspect",
    "clients",
];

/// Whether the caller is a program: a path under an API segment, or `Accept: application/json`
/// (or any `+json` type).
fn for_program(uri: &Uri, headers: &HeaderMap) -> bool {
    let api = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .is_some_and(|segment| API_SEGMENTS.contains(&segment));
    api || headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.split(';').next().unwrap_or_default().trim();
            t.eq_ignore_ascii_case("application/json") || t.to_ascii_lowercase().ends_with("+json")
        })
}

/// The brand the path is under, if it names one (only a well-formed code is looked up).
async fn brand_of(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Brand> {
    let segment = uri.path().trim_start_matches('/').split('/').next()?;
    let code = BrandCode::parse(segment).ok()?;
    let brand = state.op.brand(code.as_str()).await.ok().flatten()?;
    // Notes whether the visitor is signed in, so that the page offers the menu or the login.
    let _ = crate::session::current(state, code.as_str(), headers).await;
    Some(brand)
}

async fn answer(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    status: StatusCode,
    (error, message_key): (&str, &'static str),
) -> Response {
    if for_program(uri, headers) {
        let description = match status {
            StatusCode::METHOD_NOT_ALLOWED => "this path does not answer this method",
            StatusCode::NOT_FOUND => "no such path",
            _ => "the request is not valid",
        };
        return (
            status,
            axum::Json(serde_json::json!({
                "error": error,
                "error_description": description,
            })),
        )
            .into_response();
    }
    let brand = brand_of(state, uri, headers).await;
    PageError::new(status, lang(None, headers), message_key).render(state, brand.as_ref())
}

/// Any path no route serves (ISSUE-15): a JSON error for API callers, else the "not found" page
/// in the visitor's language, under the path's brand when it names one (ISSUE-16).
pub async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let status = StatusCode::NOT_FOUND;
    answer(
        &state,
        &uri,
        &headers,
        status,
        ("not_found", "error_unknown_brand"),
    )
    .await
}

/// A known path asked with a method it does not answer (ISSUE-16): 405 (axum adds `Allow`) with
/// a page or a JSON error instead of an empty body.
pub async fn method_not_allowed(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    answer(
        &state,
        &uri,
        &headers,
        status,
        ("method_not_allowed", "error_method_not_allowed"),
    )
    .await
}

/// A plain-text refusal (axum's extractor rejections: a path segment that is not UTF-8, a missing
/// query parameter, a body that does not parse or is too large; a handler's own "unknown issuer")
/// becomes a page in the visitor's language, or JSON for programs, like every other answer
/// (ISSUE-16). 401 keeps its challenge as it is.
pub async fn no_plain_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let uri = req.uri().clone();
    // What the answer needs of the request, kept before it moves (three header values).
    let mut kept = HeaderMap::new();
    for name in [header::ACCEPT, header::ACCEPT_LANGUAGE, header::COOKIE] {
        for value in req.headers().get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    let res = next.run(req).await;
    let status = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain || !status.is_client_error() || status == StatusCode::UNAUTHORIZED {
        return res;
    }
    let kind = match status {
        StatusCode::NOT_FOUND => ("not_found", "error_unknown_brand"),
        _ => ("invalid_request", "error_bad_request"),
    };
    let mut out = answer(&state, &uri, &kept, status, kind).await;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// `/{brand}` (the issuer URL, which the manuals give as the login screen's address): the brand's
/// login page; anything else one segment long is not found.
pub async fn brand_root(
    State(state): State<AppState>,
    Path(code): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let known = match BrandCode::parse(&code) {
        Ok(c) => state.op.brand(c.as_str()).await.ok().flatten(),
        Err(_) => None,
    };
    match known {
        Some(b) => see_other(&format!("/{}/login", b.code), &[]),
        None => not_found(State(state), uri, headers).await,
    }
}
