//! Browser sessions: a random cookie value whose hash keys a row in the database.
//!
//! Invariant: the cookie holds only a random value (no data); it is HttpOnly, SameSite=Lax, scoped
//! to the brand's path, and Secure under https. Every form carries the session's CSRF token, and a
//! login replaces the session with a new one (new cookie value and new `sid`).

use crate::AppState;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sekisho_app::session::SessionToken;
use sekisho_crypto::tokens::constant_time_eq;
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;

pub const COOKIE: &str = "sekisho_session";

/// The value of our session cookie in the request, if any.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

/// The value of cookie `name` in the request, if any.
pub fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The live session of this browser for `brand`.
pub async fn current(
    state: &AppState,
    brand: &str,
    headers: &HeaderMap,
) -> Result<Option<SessionRecord>, OAuthError> {
    let found = match cookie_value(headers) {
        Some(value) => sekisho_app::session::find(state, brand, &value).await?,
        None => None,
    };
    // The pages that end a flow offer the account menu to a signed-in visitor (ISSUE-16).
    crate::visit::note_session(found.as_ref().is_some_and(|s| s.user_id.is_some()));
    Ok(found)
}

/// The current session, or a new anonymous one (then `Some(cookie)` must be set on the response).
pub async fn ensure(
    state: &AppState,
    brand: &str,
    headers: &HeaderMap,
) -> Result<(SessionRecord, Option<Cookie<'static>>), OAuthError> {
    if let Some(s) = current(state, brand, headers).await? {
        return Ok((s, None));
    }
    let (record, value) = sekisho_app::session::start(state, brand).await?;
    Ok((record, Some(cookie(state, brand, &value))))
}

/// The session cookie that carries `value`.
pub fn cookie(state: &AppState, brand: &str, value: &SessionToken) -> Cookie<'static> {
    Cookie::build((COOKIE, value.expose().clone()))
        .path(format!("/{brand}"))
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .build()
}

/// A cookie that deletes ours.
pub fn removal(state: &AppState, brand: &str) -> Cookie<'static> {
    let mut c = cookie(state, brand, &SessionToken::new(String::new()));
    c.make_removal();
    c
}

/// The browser's session, only if the submitted form carries its CSRF token (`None` refuses the
/// form: no session, an expired one, or a forged request).
pub async fn with_csrf(
    state: &AppState,
    brand: &str,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Option<SessionRecord>, OAuthError> {
    Ok(current(state, brand, headers)
        .await?
        .filter(|s| csrf_ok(s, token)))
}

/// Whether the form's CSRF token is the session's.
pub fn csrf_ok(session: &SessionRecord, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| constant_time_eq(p, &session.csrf_token))
}

/// The `Set-Cookie` header value for a cookie.
pub fn set_cookie_header(c: &Cookie<'static>) -> (axum::http::HeaderName, String) {
    (axum::http::header::SET_COOKIE, c.encoded().to_string())
}
