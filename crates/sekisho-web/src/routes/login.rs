//! The brand's login page (REQ-LOGIN-1), for an authorization request (`ar`) or for the account
//! menu (`next=account`). The checking itself is `sekisho_app::signin`; what follows a good
//! password is the login pipeline (`sekisho_app::pipeline`).

use super::{brand, lang, outcome, page_or_error, with_cookies, BrandPage};
use crate::error::PageError;
use crate::i18n::{message, Lang};
use crate::navigation::Way;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use axum_extra::extract::cookie::Cookie;
use minijinja::context;
use sekisho_app::pipeline::{self, LoginContext, Source};
use sekisho_app::signin::{self, PasswordLogin};
use sekisho_core::email::{Email, MAX_EMAIL_LEN};
use sekisho_core::login::Continuation;
use sekisho_core::model::Brand;
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
    next: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub struct View<'a> {
    pub brand: &'a Brand,
    pub lang: Lang,
    pub session: &'a SessionRecord,
    /// Where the login continues.
    pub next: &'a Continuation,
    pub email: Option<&'a str>,
    pub error: Option<&'static str>,
    /// The error is about the address and password typed (not, say, a lock): both fields are
    /// marked, and the password (typed again) has the focus.
    pub wrong_credentials: bool,
}

/// The email to show again in a form: only what could be an address (at most
/// `MAX_EMAIL_LEN`), so a page never carries an arbitrary amount of what was sent.
pub(super) fn echoed_email(typed: Option<&str>) -> Option<&str> {
    typed
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= MAX_EMAIL_LEN)
}

/// The forgot-password link, carrying the address the server knows (a failed attempt's, or the
/// request's `login_hint`) when it is a valid one, so that the user need not type it again
/// (ISSUE-16). The link is the same whether or not the address is registered.
pub(super) fn forgot_href(code: &str, email: Option<&str>) -> String {
    match email.and_then(|e| Email::parse(e).ok()) {
        Some(e) => format!(
            "/{code}/password/forgot?email={}",
            url::form_urlencoded::byte_serialize(e.as_str().as_bytes()).collect::<String>()
        ),
        None => format!("/{code}/password/forgot"),
    }
}

pub fn render(state: &AppState, v: View<'_>, cookies: &[Cookie<'static>]) -> Response {
    let account = v.next.is_own_pages();
    let query = match v.next {
        Continuation::Authorize(ar) => format!(
            "?ar={}",
            url::form_urlencoded::byte_serialize(ar.as_bytes()).collect::<String>()
        ),
        Continuation::Account | Continuation::Console => {
            format!("?next={}", v.next.next_field().unwrap_or_default())
        }
        Continuation::Direct => String::new(),
    };
    let heading = match v.next {
        Continuation::Account => Some(message(v.lang, "account_login_title")),
        Continuation::Console => Some(message(v.lang, "console_login_title")),
        Continuation::Authorize(_) | Continuation::Direct => None,
    };
    // The page's language switch asks for this login page again (ISSUE-16), also when it is
    // shown again after the form's POST.
    crate::visit::set_here(super::outcome::login_again(v.brand.code.as_str(), v.next));
    let res = state.pages.render(
        StatusCode::OK,
        "login.html",
        v.lang,
        Some(v.brand),
        context! {
            action => format!("/{}/login", v.brand.code),
            heading => heading,
            account_login => account,
            next => v.next.next_field(),
            csrf_token => v.session.csrf_token,
            ar => v.next.authorization_request(),
            email => echoed_email(v.email),
            email_max => MAX_EMAIL_LEN,
            error => v.error,
            wrong => v.wrong_credentials,
            // The field to type in next: the password once an address is there (ISSUE-16).
            focus => if echoed_email(v.email).is_some() { "password" } else { "email" },
            forgot_href => forgot_href(v.brand.code.as_str(), v.email),
            upstreams => state.upstream_buttons(v.brand, v.lang, &query),
            ad_href => format!("/{}/ad{query}", v.brand.code),
        },
    );
    with_cookies(res, cookies)
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
        Some(p) => {
            // The login form's POST ends, through redirects, at the RP.
            crate::security::allow_form_target(&p.params.redirect_uri);
            (p.params.ui_locales, p.params.login_hint)
        }
        None => (None, None),
    })
}

pub async fn page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    show(
        &state,
        &code,
        &headers,
        Continuation::from_page(q.ar.as_deref(), None),
    )
    .await
}

/// The login page for `next`, with a session (and CSRF token) made if the browser has none.
pub async fn show(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    next: Continuation,
) -> Response {
    let lang0 = lang(None, headers);
    let brand = match brand(state, code, lang0).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = async {
        let (session, cookie) = session::ensure(state, code, headers).await?;
        let ar = next.authorization_request();
        let (ui_locales, hint) = request_context(state, code, ar, &session.sid).await?;
        let lang = lang(ui_locales.as_deref(), headers);
        let view = View {
            brand: &brand,
            lang,
            session: &session,
            next: &next,
            email: hint.as_deref(),
            error: None,
            wrong_credentials: false,
        };
        Ok(render(state, view, &cookie.into_iter().collect::<Vec<_>>()))
    };
    result
        .await
        .unwrap_or_else(|e: OAuthError| PageError::internal(lang0, e).render(state, Some(&brand)))
}

pub async fn submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang: lang0 }: BrandPage,
    headers: HeaderMap,
    crate::line_entry::Route(entry): crate::line_entry::Route,
    Form(form): Form<LoginForm>,
) -> Response {
    let result = async {
        let Some(session) =
            session::with_csrf(&state, &code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang0, &brand));
        };
        let next = Continuation::from_page(form.ar.as_deref(), form.next.as_deref());
        let (ui_locales, _) =
            request_context(&state, &code, form.ar.as_deref(), &session.sid).await?;
        let lang = lang(ui_locales.as_deref(), &headers);
        let again = |error: &'static str| {
            let view = View {
                brand: &brand,
                lang,
                session: &session,
                next: &next,
                email: Some(&form.email),
                error: Some(message(lang, error)),
                wrong_credentials: error == "login_failed",
            };
            render(&state, view, &[])
        };
        let user = match signin::password_login(&state, &brand, &form.email, &form.password, lang)
            .await?
        {
            PasswordLogin::Success(u) => u,
            PasswordLogin::Failed => return Ok(again("login_failed")),
            PasswordLogin::Locked => return Ok(again("account_locked")),
        };
        let browser = outcome::browser_value(&headers);
        let ctx = LoginContext {
            entry: entry.clone(),
            brand: &brand,
            lang,
            session: &session,
            browser: browser.as_deref(),
            then: next.clone(),
        };
        let done = pipeline::complete(&state, &ctx, &user, Source::Password).await?;
        Ok(outcome::login(&state, &brand, lang, done, &[]))
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// Where a login without an authorization request ends (a direct visit to the login page, the
/// URL the manuals give out). ISSUE-16: it leads on, to the brand's service when configured,
/// and to the account menu.
///
/// A link, not a redirect, as Keycloak's pages without a client to return to do ("Back to
/// application", the client's base URL): the person sees that the login worked; the service,
/// an RP, then signs them in through its own authorization request (no password again); and a
/// redirect to another origin at the end of a form's POST would have to be allowed in every
/// login form's `form-action` (password, 2FA, line consent) for a login that has no RP.
pub async fn signed_in_page(
    BrandPage { brand, lang }: BrandPage,
    State(state): State<AppState>,
) -> Response {
    let body = match brand.service_url {
        Some(_) => "signed_in_go_on",
        None => "signed_in_body",
    };
    state.pages.ending(
        StatusCode::OK,
        lang,
        Some(&brand),
        ("signed_in_title", body),
        &[Way::Service, Way::AccountMenu],
    )
}

/// A form without this browser's CSRF token (or after its session expired): refused, nothing done.
pub fn csrf_failure(state: &AppState, lang: Lang, brand: &Brand) -> Response {
    state
        .pages
        .error(StatusCode::FORBIDDEN, lang, Some(brand), "error_csrf", None)
}
