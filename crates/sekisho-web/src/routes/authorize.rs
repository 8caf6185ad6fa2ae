//! `/{brand}/authorize` and its continuation after each login step.
//!
//! The request is validated once and kept (bound to the browser session); every step of the login
//! comes back to [`resume`], which asks the login pipeline (`sekisho_app::pipeline::resume`, over
//! the pure `sekisho_core::login::next_step`) what next.

use super::{brand, lang, outcome, page_or_error, see_other, BrandPage};
use crate::error::PageError;
use crate::i18n::Lang;
use crate::line_entry::Route;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use sekisho_app::pipeline::{self, LoginContext, Resume};
use sekisho_core::login::Continuation;
use sekisho_core::model::Brand;
use sekisho_oidc::authorize::{self, AuthorizeError, Pending};
use sekisho_oidc::{ErrorCode, OAuthError};
use sekisho_store::SessionRecord;
use std::collections::HashMap;

pub async fn authorize_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Route(entry): Route,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    // RFC 6749 §3.1: a parameter sent twice (two redirect_uri, say) is refused, never "last wins".
    let mut q = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if q.insert(name.to_string(), value.into_owned()).is_some() {
            let lang = lang(None, &headers);
            let brand = state.op.brand(&code).await.ok().flatten();
            return PageError::new(StatusCode::BAD_REQUEST, lang, "error_repeated_parameter")
                .render(&state, brand.as_ref());
        }
    }
    start(&state, &code, &headers, &entry, q).await
}

/// OpenID Connect Core §3.1.2.1: the request may also come as a form POST.
pub async fn authorize_post(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Route(entry): Route,
    Form(q): Form<HashMap<String, String>>,
) -> Response {
    start(&state, &code, &headers, &entry, q).await
}

async fn start(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    entry: &sekisho_core::line::Entry,
    q: HashMap<String, String>,
) -> Response {
    // The RP's ui_locales wins for this request and is kept for the visit (ISSUE-16).
    let lang = super::request_lang(q.get("ui_locales").map(String::as_str), headers);
    let brand = match brand(state, code, lang).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = Some(&brand);
    let params = match authorize::request(&state.op, code, &q).await {
        Ok((_, p)) => p,
        Err(AuthorizeError::UnknownRequestUri) => {
            return PageError::new(StatusCode::BAD_REQUEST, lang, "error_request_expired")
                .render(state, name)
        }
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
            return match authorize::error_url(
                &redirect_uri,
                &error,
                st.as_deref(),
                &state.op.issuer(code),
            ) {
                Ok(url) => see_other(url.as_str(), &[]),
                Err(e) => PageError::internal(lang, e).render(state, name),
            };
        }
    };
    begin(state, &brand, lang, headers, entry, params).await
}

/// Keeps a validated authorization request for this browser (its session, made if needed) and
/// takes its first login step: `/authorize`'s, and the device verification page's (RFC 8628),
/// whose request the OP makes.
pub(super) async fn begin(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    entry: &sekisho_core::line::Entry,
    params: sekisho_oidc::authorize::AuthParams,
) -> Response {
    let code = brand.code.as_str();
    let name = Some(brand);
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
                )?;
                return Ok(see_other(url.as_str(), &[]));
            }
            None => session::ensure(state, code, headers).await?,
        };
        let pending = authorize::keep(&state.op, code, &params, &session.sid).await?;
        // The pages of this login post forms whose redirects end at the RP.
        crate::security::allow_form_target(&pending.params.redirect_uri);
        dispatch(
            state,
            brand,
            lang,
            Visit { headers, entry },
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
    Route(entry): Route,
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
        crate::security::allow_form_target(&pending.params.redirect_uri);
        let lang = lang(pending.params.ui_locales.as_deref(), &headers);
        dispatch(
            &state,
            &brand,
            lang,
            Visit {
                headers: &headers,
                entry: &entry,
            },
            &session,
            &pending,
            Vec::new(),
        )
        .await
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// What the request itself says about the visitor: its headers (cookies) and its entry.
struct Visit<'a> {
    headers: &'a HeaderMap,
    entry: &'a sekisho_core::line::Entry,
}

/// One step of the login: the pipeline asks the step machine what comes next (the login page,
/// the RP, or a step-up), and this answers it.
async fn dispatch(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    visit: Visit<'_>,
    session: &SessionRecord,
    pending: &Pending,
    cookies: Vec<axum_extra::extract::cookie::Cookie<'static>>,
) -> Result<Response, OAuthError> {
    let code = brand.code.as_str();
    let (headers, entry) = (visit.headers, visit.entry);
    let browser = outcome::browser_value(headers);
    let ctx = LoginContext {
        entry: entry.clone(),
        brand,
        lang,
        session,
        browser: browser.as_deref(),
        then: Continuation::Authorize(pending.record.id.clone()),
    };
    Ok(match pipeline::resume(state, &ctx, pending).await? {
        Resume::ShowLogin => {
            let login = format!("/{code}/login?ar={}", pending.record.id);
            see_other(&login, &cookies)
        }
        Resume::ToRp(url) => see_other(url.as_str(), &cookies),
        Resume::Login(done) => outcome::login(state, brand, lang, done, &cookies),
    })
}
