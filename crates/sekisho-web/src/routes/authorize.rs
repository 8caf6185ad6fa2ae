//! `/{brand}/authorize` and its continuation after each login step.
//!
//! The request is validated once and kept (bound to the browser session); every step of the login
//! comes back to [`resume`], which asks the pure policy (`sekisho_core::login::next_step`) what next.

use super::{brand, lang, page_or_error, see_other, BrandPage};
use crate::error::PageError;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use sekisho_core::login::{next_step, NextStep, SignedIn};
use sekisho_core::oauth::{Amr, ACR_SINGLE_FACTOR};
use sekisho_oidc::authorize::{self, Authentication, AuthorizeError, Pending};
use sekisho_oidc::{ErrorCode, OAuthError};
use sekisho_store::SessionRecord;
use std::collections::HashMap;

pub async fn authorize_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    start(&state, &code, &headers, q).await
}

/// OpenID Connect Core §3.1.2.1: the request may also come as a form POST.
pub async fn authorize_post(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(q): Form<HashMap<String, String>>,
) -> Response {
    start(&state, &code, &headers, q).await
}

async fn start(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    q: HashMap<String, String>,
) -> Response {
    let lang = lang(q.get("ui_locales").map(String::as_str), headers);
    let brand = match brand(state, code, lang).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = Some(&brand);
    let params = match authorize::validate(&state.op, code, &q).await {
        Ok((_, p)) => p,
        Err(AuthorizeError::UnknownClient) => {
            return PageError::new(StatusCode::BAD_REQUEST, lang, "error_unknown_client")
                .render(state, name)
        }
        Err(AuthorizeError::BadRedirectUri) => {
            return PageError::new(StatusCode::BAD_REQUEST, lang, "error_bad_redirect_uri")
                .render(state, name)
        }
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state: st,
            error,
        }) => {
            let url =
                authorize::error_url(&redirect_uri, &error, st.as_deref(), &state.op.issuer(code));
            return see_other(url.as_str(), &[]);
        }
    };
    let result = async {
        // prompt=none must not create anything when it is going to fail.
        let existing = session::current(state, code, headers).await?;
        let (session, cookie) = match existing {
            Some(s) => (s, None),
            None if params.prompt_none => {
                let err = OAuthError::new(ErrorCode::LoginRequired, "no session");
                let url = authorize::error_url(
                    &params.redirect_uri,
                    &err,
                    params.state.as_deref(),
                    &state.op.issuer(code),
                );
                return Ok(see_other(url.as_str(), &[]));
            }
            None => session::ensure(state, code, headers).await?,
        };
        let id = authorize::keep(&state.op, code, &params, &session.sid).await?;
        let pending = authorize::find(&state.op, code, &id, &session.sid)
            .await?
            .ok_or_else(|| OAuthError::server("request vanished"))?;
        dispatch(
            state,
            code,
            &session,
            &pending,
            cookie.into_iter().collect(),
        )
        .await
    };
    result
        .await
        .unwrap_or_else(|e: OAuthError| PageError::internal(lang, e).render(state, name))
}

#[derive(serde::Deserialize)]
pub struct ResumeQuery {
    ar: String,
}

pub async fn resume(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang: lang0 }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<ResumeQuery>,
) -> Response {
    let name = Some(&brand);
    let result = async {
        let expired = || {
            PageError::new(StatusCode::BAD_REQUEST, lang0, "error_request_expired")
                .render(&state, name)
        };
        let Some(session) = session::current(&state, &code, &headers).await? else {
            return Ok(expired());
        };
        let Some(pending) = authorize::find(&state.op, &code, &q.ar, &session.sid).await? else {
            return Ok(expired());
        };
        dispatch(&state, &code, &session, &pending, Vec::new()).await
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// One step of the login: asks the policy what comes next and goes there.
async fn dispatch(
    state: &AppState,
    code: &str,
    session: &SessionRecord,
    pending: &Pending,
    cookies: Vec<axum_extra::extract::cookie::Cookie<'static>>,
) -> Result<Response, OAuthError> {
    let signed_in = match (&session.user_id, session.auth_time) {
        (Some(_), Some(t)) => Some(SignedIn { auth_time: t }),
        _ => None,
    };
    let fresh = pending.record.authenticated_at.is_some();
    match next_step(pending.params.prompt(), signed_in, fresh, state.op.now()) {
        NextStep::Authenticate(_) => {
            let login = format!("/{code}/login?ar={}", pending.record.id);
            Ok(see_other(&login, &cookies))
        }
        NextStep::LoginRequired(_) => {
            let err = OAuthError::new(ErrorCode::LoginRequired, "the user must log in");
            let url = authorize::fail(&state.op, pending, &err).await?;
            Ok(see_other(url.as_str(), &cookies))
        }
        NextStep::IssueCode => {
            let auth = Authentication {
                user_id: session.user_id.clone().unwrap_or_default(),
                sid: session.sid.clone(),
                auth_time: session.auth_time.unwrap_or_default(),
                amr: session
                    .amr
                    .split(' ')
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>(),
                acr: ACR_SINGLE_FACTOR.to_owned(),
            };
            debug_assert!(auth.amr.iter().all(|a| Amr::parse(a).is_some()));
            match authorize::issue_code(&state.op, pending, auth).await? {
                Some(url) => Ok(see_other(url.as_str(), &cookies)),
                None => Err(OAuthError::server("authorization request completed twice")),
            }
        }
    }
}
