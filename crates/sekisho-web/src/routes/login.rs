//! The brand's login page: email and password.
//!
//! Invariant: a wrong password, an unknown email and a user of another login method get the same
//! answer after the same work (one argon2id verification), so no answer tells whether an address
//! is registered or how it signs in.

use super::{brand, lang, see_other};
use crate::error::PageError;
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_core::email::Email;
use sekisho_core::model::{Brand, LoginMethod};
use sekisho_core::oauth::Amr;
use sekisho_oidc::authorize;
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    ar: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: Option<String>,
    ar: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

struct View<'a> {
    brand: &'a Brand,
    lang: Lang,
    session: &'a SessionRecord,
    ar: Option<&'a str>,
    email: Option<&'a str>,
    error: Option<&'static str>,
}

fn render(
    state: &AppState,
    v: View<'_>,
    cookies: &[axum_extra::extract::cookie::Cookie<'static>],
) -> Response {
    let mut res = state.pages.render(
        StatusCode::OK,
        "login.html",
        v.lang,
        Some(&v.brand.name),
        context! {
            action => format!("/{}/login", v.brand.code),
            csrf_token => v.session.csrf_token,
            ar => v.ar,
            email => v.email,
            error => v.error,
        },
    );
    for c in cookies {
        let (k, val) = session::set_cookie_header(c);
        if let Ok(val) = val.parse() {
            res.headers_mut().append(k, val);
        }
    }
    res
}

/// The language and login hint of the pending request, if the page belongs to one.
async fn request_context(
    state: &AppState,
    code: &str,
    ar: Option<&str>,
    sid: &str,
) -> Result<(Option<String>, Option<String>), OAuthError> {
    let Some(id) = ar else {
        return Ok((None, None));
    };
    Ok(match authorize::find(&state.op, code, id, sid).await? {
        Some(p) => (p.params.ui_locales, p.params.login_hint),
        None => (None, None),
    })
}

pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang0 = lang(None, &headers);
    let brand = match brand(&state, &code, lang0).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = async {
        let (session, cookie) = session::ensure(&state, &code, &headers).await?;
        let (ui_locales, hint) =
            request_context(&state, &code, q.ar.as_deref(), &session.sid).await?;
        let lang = lang(ui_locales.as_deref(), &headers);
        let view = View {
            brand: &brand,
            lang,
            session: &session,
            ar: q.ar.as_deref(),
            email: hint.as_deref(),
            error: None,
        };
        Ok(render(
            &state,
            view,
            &cookie.into_iter().collect::<Vec<_>>(),
        ))
    };
    result.await.unwrap_or_else(|e: OAuthError| {
        PageError::internal(lang0, e).render(&state, Some(&brand.name))
    })
}

pub async fn submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang0 = lang(None, &headers);
    let brand = match brand(&state, &code, lang0).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name = brand.name.clone();
    let result = async {
        let Some(session) = session::current(&state, &code, &headers).await? else {
            return Ok(csrf_failure(&state, lang0, &name));
        };
        if !session::csrf_ok(&session, form.csrf_token.as_deref()) {
            return Ok(csrf_failure(&state, lang0, &name));
        }
        let (ui_locales, _) =
            request_context(&state, &code, form.ar.as_deref(), &session.sid).await?;
        let lang = lang(ui_locales.as_deref(), &headers);

        let user = match Email::parse(&form.email) {
            Ok(email) => state.op.store.find_user_by_email(&code, &email).await?,
            Err(_) => None,
        };
        // Only password users have a hash to check; everyone else costs the same dummy hash.
        let hash = user
            .as_ref()
            .filter(|u| u.login_method == LoginMethod::Password)
            .and_then(|u| u.password_hash.as_deref());
        let ok = state
            .op
            .passwords
            .verify(&form.password, hash)
            .await
            .map_err(OAuthError::server)?;
        let user = match (ok, user) {
            (true, Some(u)) => u,
            _ => {
                let view = View {
                    brand: &brand,
                    lang,
                    session: &session,
                    ar: form.ar.as_deref(),
                    email: Some(&form.email),
                    error: Some(message(lang, "login_failed")),
                };
                return Ok(render(&state, view, &[]));
            }
        };

        let (new, value) =
            session::new_session(&state, &code, Some((&user.id, &[Amr::Pwd.as_str()])));
        state
            .op
            .store
            .replace_session(&session.id_hash, &new, form.ar.as_deref())
            .await?;
        let cookie = session::cookie(&state, &code, value);
        Ok(match form.ar.as_deref() {
            Some(ar) => see_other(
                &format!("/{code}/authorize/continue?ar={}", urlencode(ar)),
                &[cookie],
            ),
            None => {
                let mut res = state.pages.message(
                    StatusCode::OK,
                    lang,
                    Some(&name),
                    "signed_in_title",
                    "signed_in_body",
                    None,
                );
                let (k, v) = session::set_cookie_header(&cookie);
                if let Ok(v) = v.parse() {
                    res.headers_mut().append(k, v);
                }
                res
            }
        })
    };
    result.await.unwrap_or_else(|e: OAuthError| {
        PageError::internal(lang0, e).render(&state, Some(&brand.name))
    })
}

/// A form without this browser's CSRF token (or after its session expired): refused, nothing done.
fn csrf_failure(state: &AppState, lang: Lang, brand_name: &str) -> Response {
    state.pages.error(
        StatusCode::FORBIDDEN,
        lang,
        Some(brand_name),
        "error_csrf",
        None,
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
