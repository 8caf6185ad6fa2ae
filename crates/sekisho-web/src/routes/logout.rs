//! `/{brand}/logout`: RP-initiated logout.
//!
//! With a valid `id_token_hint` the logout happens at once; without one the user confirms with a
//! CSRF-protected form first, so a third-party page cannot silently sign people out.

use super::{brand, request_lang, see_other};
use crate::error::PageError;
use crate::navigation::Way;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_oidc::{logout, OAuthError};
use std::collections::HashMap;

/// Parameters carried from the confirmation page to its POST.
const CARRIED: &[&str] = &[
    "post_logout_redirect_uri",
    "client_id",
    "state",
    "ui_locales",
];

pub async fn logout_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    handle(&state, &code, &headers, q, false).await
}

pub async fn logout_post(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(q): Form<HashMap<String, String>>,
) -> Response {
    handle(&state, &code, &headers, q, true).await
}

async fn handle(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    q: HashMap<String, String>,
    is_post: bool,
) -> Response {
    let lang = request_lang(q.get("ui_locales").map(String::as_str), headers);
    let brand = match brand(state, code, lang).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = Some(&brand);
    let request = match logout::validate(&state.op, code, &q).await {
        Ok(r) => r,
        Err(e) if e.code == sekisho_oidc::ErrorCode::ServerError => {
            return PageError::internal(lang, e).render(state, name)
        }
        Err(e) => {
            return PageError::new(StatusCode::BAD_REQUEST, lang, "error_logout")
                .detail(e.description)
                .render(state, name)
        }
    };
    let result = async {
        let current = session::current(state, code, headers).await?;
        // A form POST (the user's own confirmation, or an RP's form post) must carry our CSRF token
        // unless an id_token_hint proves which RP asks.
        let confirmed = request.hinted
            || (is_post
                && current
                    .as_ref()
                    .is_some_and(|s| session::csrf_ok(s, q.get("csrf_token").map(String::as_str))));
        if !confirmed {
            let (s, cookie) = session::ensure(state, code, headers).await?;
            let carry: Vec<(&str, &str)> = CARRIED
                .iter()
                .filter_map(|k| q.get(*k).map(|v| (*k, v.as_str())))
                .collect();
            // Confirming ends, through a redirect, at the RP's post_logout_redirect_uri.
            if let Some(url) = &request.redirect {
                crate::security::allow_form_target(url.as_str());
            }
            let mut res = state.pages.render(
                StatusCode::OK,
                "logout_confirm.html",
                lang,
                name,
                context! { action => format!("/{code}/logout"), csrf_token => s.csrf_token, carry => carry },
            );
            if let Some(c) = cookie {
                let (k, v) = session::set_cookie_header(&c);
                if let Ok(v) = v.parse() {
                    res.headers_mut().append(k, v);
                }
            }
            return Ok(res);
        }
        let mut sids: Vec<&str> = Vec::new();
        if let Some(s) = &current {
            sids.push(&s.sid);
        }
        if let Some(h) = &request.hinted_sid {
            sids.push(h);
        }
        logout::end_sessions(&state.op, &sids).await?;
        let removal = session::removal(state, code);
        Ok(match &request.redirect {
            Some(url) => see_other(url.as_str(), &[removal]),
            None => {
                // ISSUE-16: no dead end: on to the service, or to log in again.
                let mut res = state.pages.ending(
                    StatusCode::OK,
                    lang,
                    name,
                    ("logged_out_title", "logged_out_body"),
                    &[Way::Service, Way::Login],
                );
                let (k, v) = session::set_cookie_header(&removal);
                if let Ok(v) = v.parse() {
                    res.headers_mut().append(k, v);
                }
                res
            }
        })
    };
    result
        .await
        .unwrap_or_else(|e: OAuthError| PageError::internal(lang, e).render(state, name))
}
