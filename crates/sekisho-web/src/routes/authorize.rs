//! `/{brand}/authorize` and its continuation after each login step.
//!
//! The request is validated once and kept (bound to the browser session); every step of the login
//! comes back to [`resume`], which asks the pure policy (`sekisho_core::login::next_step`) what next.

use super::{brand, lang, page_or_error, see_other, BrandPage};
use crate::error::PageError;
use crate::i18n::Lang;
use crate::second_step::{self, AfterFirstFactor};
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use sekisho_core::login::{next_step, AuthReason, NextStep, SignedIn};
use sekisho_core::model::Brand;
use sekisho_core::oauth::{Amr, ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR};
use sekisho_core::two_factor::is_multi_factor;
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
            &brand,
            lang,
            headers,
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
        let lang = lang(pending.params.ui_locales.as_deref(), &headers);
        dispatch(
            &state,
            &brand,
            lang,
            &headers,
            &session,
            &pending,
            Vec::new(),
        )
        .await
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// One step of the login: asks the policy what comes next and goes there.
async fn dispatch(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    session: &SessionRecord,
    pending: &Pending,
    cookies: Vec<axum_extra::extract::cookie::Cookie<'static>>,
) -> Result<Response, OAuthError> {
    let code = brand.code.as_str();
    let amr: Vec<&str> = session.amr.split(' ').filter(|a| !a.is_empty()).collect();
    let signed_in = match (&session.user_id, session.auth_time) {
        (Some(_), Some(t)) => Some(SignedIn {
            auth_time: t,
            multi_factor: is_multi_factor(&amr),
        }),
        _ => None,
    };
    let fresh = pending.record.authenticated_at.is_some();
    match next_step(pending.params.prompt(), signed_in, fresh, state.op.now()) {
        NextStep::Authenticate(_) => {
            let login = format!("/{code}/login?ar={}", pending.record.id);
            Ok(see_other(&login, &cookies))
        }
        NextStep::StepUp => {
            let Some(user) = state
                .op
                .store
                .find_user(session.user_id.as_deref().unwrap_or_default())
                .await?
            else {
                return Err(OAuthError::server("session of a deleted user"));
            };
            let next = format!("ar:{}", pending.record.id);
            let after = second_step::after_first_factor(
                state, brand, lang, headers, session, &user, &amr, &next,
            )
            .await?;
            Ok(match after {
                AfterFirstFactor::SignedIn { location, cookies } => see_other(&location, &cookies),
                AfterFirstFactor::SecondStep {
                    location,
                    cookies: rotated,
                } => see_other(&location, &rotated),
                AfterFirstFactor::ContractEnded => {
                    let err = OAuthError::new(ErrorCode::AccessDenied, "the contract has ended");
                    let url = authorize::fail(&state.op, pending, &err).await?;
                    see_other(url.as_str(), &cookies)
                }
                AfterFirstFactor::Unmet { rp_error_url } => {
                    let url = rp_error_url
                        .ok_or_else(|| OAuthError::server("step-up without a request"))?;
                    see_other(&url, &cookies)
                }
            })
        }
        NextStep::LoginRequired(AuthReason::TwoFactorsRequired) => {
            let err = OAuthError::new(
                ErrorCode::InteractionRequired,
                "the client requires two factors: the user must verify the second one",
            );
            let url = authorize::fail(&state.op, pending, &err).await?;
            Ok(see_other(url.as_str(), &cookies))
        }
        NextStep::LoginRequired(_) => {
            let err = OAuthError::new(ErrorCode::LoginRequired, "the user must log in");
            let url = authorize::fail(&state.op, pending, &err).await?;
            Ok(see_other(url.as_str(), &cookies))
        }
        NextStep::IssueCode => {
            // A signed-in session of a user who was disabled or whose contract has ended gets no
            // more codes.
            if let Some(id) = &session.user_id {
                let found = state.op.store.find_user_with_contract(id).await?;
                if !found.is_some_and(|(u, c)| u.may_use_service(&c, state.op.now())) {
                    let err = OAuthError::new(ErrorCode::AccessDenied, "the contract has ended");
                    let url = authorize::fail(&state.op, pending, &err).await?;
                    return Ok(see_other(url.as_str(), &cookies));
                }
            }
            // An upstream login names its upstream (`idp`), from the user's login method.
            let idp = match (amr.contains(&Amr::Fed.as_str()), &session.user_id) {
                (true, Some(id)) => state
                    .op
                    .store
                    .find_user(id)
                    .await?
                    .map(|u| u.login_method.as_str().to_owned()),
                _ => None,
            };
            let auth = Authentication {
                user_id: session.user_id.clone().unwrap_or_default(),
                sid: session.sid.clone(),
                auth_time: session.auth_time.unwrap_or_default(),
                amr: amr.iter().map(|a| (*a).to_owned()).collect(),
                acr: if is_multi_factor(&amr) {
                    ACR_MULTI_FACTOR
                } else {
                    ACR_SINGLE_FACTOR
                }
                .to_owned(),
                idp,
            };
            debug_assert!(auth.amr.iter().all(|a| Amr::parse(a).is_some()));
            match authorize::issue_code(&state.op, pending, auth).await? {
                Some(url) => Ok(see_other(url.as_str(), &cookies)),
                None => Err(OAuthError::server("authorization request completed twice")),
            }
        }
    }
}
