//! The route table. Every OP path lives under its brand's issuer: `/{brand}/…`.

/// In a handler's `async` block (returning `Result<Response, _>`): the value a guard or loader
/// found (`Ok(value)`), or the page it answered instead (`Err(page)`: signed out, expired, not
/// allowed), which is returned at once. Defined before the modules so that each can use it.
macro_rules! or_page {
    ($found:expr) => {
        match $found {
            Ok(value) => value,
            Err(page) => return Ok(page),
        }
    };
}

mod access_route;
mod account;
mod account_items;
mod account_pending;
mod account_two_factor;
mod ad_login;
mod ad_settings;
mod admin_api;
mod admin_audit;
mod admin_console;
mod admin_lines;
mod admin_pending;
mod authorize;
mod client_registration;
mod console;
mod device;
mod email_change;
mod line_consent;
mod line_recovery;
mod login;
mod logout;
mod nowhere;
pub(crate) use nowhere::not_found;
mod outcome;
mod password;
mod protocol;
mod registration;
mod two_factor;
mod upstream;

use crate::error::PageError;
use crate::i18n::{self, Lang};
use crate::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sekisho_core::model::Brand;

/// The routes. No GET changes state (ISSUE-16): a mailed link's GET shows a page whose button
/// (a CSRF-protected POST) does what the link is for, so a mail scanner that fetches links spends
/// nothing. The GETs that write are the protocol's or anonymous and bounded: `/authorize` and
/// `/authorize/continue` (the authorization request, which RFC 6749 makes a GET, and its
/// continuation after a login step), `/upstream/callback` and `/upstream/{name}/start` (an
/// upstream round trip: see `upstream::start`), `/logout` with an `id_token_hint` (RP-Initiated
/// Logout 1.0's GET), `/device/done` (the end of a device login, RFC 8628: the OP's own redirect
/// spends the login's code to approve the device, only for the browser session that logged in,
/// as `/authorize/continue` continues a request), and the anonymous session (with its CSRF token)
/// that a page with a form starts.
pub fn router(state: AppState) -> Router {
    // The endpoints a browser-based client calls from its own origin (issue 18): CORS for the
    // origins of registered redirect URIs (`crate::cors`).
    let machine = Router::new()
        .route(
            "/{brand}/.well-known/openid-configuration",
            get(protocol::discovery),
        )
        // RFC 8414 §3: the path-inserted form for an issuer with a path, and the suffixed form
        // many clients try; the same document as OpenID discovery.
        .route(
            "/.well-known/oauth-authorization-server/{brand}",
            get(protocol::discovery),
        )
        .route(
            "/{brand}/.well-known/oauth-authorization-server",
            get(protocol::discovery),
        )
        .route("/{brand}/jwks", get(protocol::jwks))
        .route("/{brand}/token", post(protocol::token))
        .route("/{brand}/par", post(protocol::par))
        .route(
            "/{brand}/device_authorization",
            post(protocol::device_authorization),
        )
        .route(
            "/{brand}/userinfo",
            get(protocol::userinfo_get).post(protocol::userinfo_post),
        )
        .route("/{brand}/revoke", post(protocol::revoke))
        .route("/{brand}/introspect", post(protocol::introspect))
        // Before the layer, so that a preflight (OPTIONS) reaches it: the outer router's
        // fallback below replaces only fallbacks left at their default.
        .method_not_allowed_fallback(nowhere::method_not_allowed)
        .layer(crate::cors::layer(state.clone()));
    Router::new()
        .merge(machine)
        .route("/healthz", get(crate::health::healthz))
        .route("/readyz", get(crate::health::readyz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/assets/style.css", get(crate::theme::stylesheet))
        .route("/{brand}/favicon.svg", get(crate::theme::favicon))
        .route(
            "/{brand}/clients",
            post(client_registration::register).layer(client_registration::body_limit()),
        )
        .route(
            "/{brand}/clients/{client_id}",
            get(client_registration::read)
                .put(client_registration::update)
                .delete(client_registration::delete)
                .layer(client_registration::body_limit()),
        )
        .route(
            "/{brand}/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/{brand}/authorize/continue", get(authorize::resume))
        .route("/{brand}/device", get(device::page).post(device::submit))
        .route("/{brand}/device/approve", post(device::approve))
        .route("/{brand}/device/deny", post(device::deny))
        .route("/{brand}/device/done", get(device::done))
        .route("/{brand}/login", get(login::page).post(login::submit))
        .route(
            "/{brand}/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(
            "/{brand}/unlock",
            get(password::unlock_page).post(password::unlock),
        )
        .route(
            "/{brand}/password/forgot",
            get(password::forgot_page).post(password::forgot_submit),
        )
        .route(
            "/{brand}/password/reset",
            get(password::reset_page).post(password::reset_submit),
        )
        .route("/{brand}/account/login", get(account::login_page))
        .route("/{brand}/account", get(account::menu))
        .route(
            "/{brand}/account/password",
            get(password::change_page).post(password::change_submit),
        )
        .route("/{brand}/account/item/{item}", get(account::item))
        .route(
            "/{brand}/account/login-method",
            get(account_pending::page).post(account_pending::start),
        )
        .route(
            "/{brand}/account/pending/cancel",
            post(account_pending::cancel),
        )
        .route(
            "/{brand}/account/email",
            get(account_items::email_page_get).post(account_items::email_submit),
        )
        .route(
            "/{brand}/account/contract",
            get(account_items::contract_get).post(account_items::contract_submit),
        )
        .route(
            "/{brand}/account/plan",
            get(account_items::plan_get).post(account_items::plan_submit),
        )
        .route(
            "/{brand}/account/cancel",
            get(account_items::cancel_get).post(account_items::cancel_submit),
        )
        .route("/{brand}/admin", get(admin_console::users))
        .route("/{brand}/admin/lines", get(admin_lines::page))
        .route(
            "/{brand}/admin/lines/access-route",
            post(admin_lines::access_route),
        )
        .route("/{brand}/admin/lines/add", post(admin_lines::add))
        .route(
            "/{brand}/admin/lines/{number}/remove",
            get(admin_lines::remove_page).post(admin_lines::remove),
        )
        .route(
            "/{brand}/account/access-route",
            get(access_route::page).post(access_route::submit),
        )
        .route(
            "/{brand}/account/access-route/done",
            get(access_route::done),
        )
        .route("/{brand}/admin/audit", get(admin_audit::page))
        .route("/{brand}/admin/invite", post(admin_console::invite))
        .route("/{brand}/admin/users/{id}", get(admin_console::user))
        .route(
            "/{brand}/admin/users/{id}/delete",
            get(admin_console::delete_page).post(admin_console::act_delete),
        )
        .route(
            "/{brand}/admin/users/{id}/disable",
            get(admin_console::disable_page),
        )
        .route(
            "/{brand}/admin/users/{id}/{action}",
            post(admin_console::act),
        )
        .route(
            "/{brand}/admin/users/{id}/pending/cancel",
            post(admin_pending::cancel),
        )
        .route(
            "/{brand}/admin/users/{id}/pending/resend",
            post(admin_pending::resend),
        )
        .route(
            "/{brand}/email-change",
            get(email_change::page).post(email_change::submit),
        )
        .route(
            "/{brand}/account/two-factor",
            get(account_two_factor::page).post(account_two_factor::save),
        )
        .route(
            "/{brand}/account/two-factor/confirm",
            post(account_two_factor::confirm),
        )
        .route("/{brand}/signed-in", get(login::signed_in_page))
        .route("/{brand}/upstream/{name}/start", get(upstream::start))
        .route("/{brand}/upstream/{name}/bind", post(upstream::bind))
        .route("/{brand}/upstream/callback", get(upstream::callback))
        .route(
            "/{brand}/account/active-directory",
            get(ad_settings::show).post(ad_settings::submit),
        )
        .route(
            "/{brand}/account/active-directory/remove",
            post(ad_settings::remove),
        )
        .route(
            "/{brand}/ad",
            get(ad_login::login_page).post(ad_login::login_start),
        )
        .route(
            "/{brand}/ad/bind",
            get(ad_login::bind_page).post(ad_login::bind_submit),
        )
        .route("/{brand}/ad/{id}", get(ad_login::login_url))
        .route(
            "/{brand}/line-recovery",
            get(line_recovery::page).post(line_recovery::confirm),
        )
        .route(
            "/{brand}/line-consent",
            get(line_consent::page).post(line_consent::decide),
        )
        .route("/{brand}/saml/{id}", get(ad_login::sp_metadata))
        .route("/{brand}/saml/{id}/acs", post(ad_login::acs))
        .route("/{brand}/saml/{id}/finish", post(ad_login::finish))
        .route("/{brand}/login-method", get(registration::change_page))
        .route(
            "/{brand}/login-method/password",
            post(registration::change_to_password),
        )
        .route(
            "/{brand}/registration",
            get(registration::registration_page),
        )
        .route(
            "/{brand}/registration/password",
            post(registration::registration_password),
        )
        .route(
            "/{brand}/registration/upstream/{name}",
            get(registration::registration_upstream),
        )
        .route(
            "/{brand}/registration/confirm",
            post(registration::registration_confirm),
        )
        .route("/{brand}/2fa", get(two_factor::page))
        .route("/{brand}/2fa/method", post(two_factor::choose_method))
        .route(
            "/{brand}/2fa/recovery-code",
            post(two_factor::recovery_code_again),
        )
        .route("/{brand}/2fa/phone", post(two_factor::phone))
        .route("/{brand}/2fa/phone/change", post(two_factor::change_phone))
        .route("/{brand}/2fa/resend", post(two_factor::resend))
        .route("/{brand}/2fa/code", post(two_factor::code))
        .route(
            "/{brand}/2fa/lost-device",
            get(two_factor::lost_device_page).post(two_factor::lost_device),
        )
        .route("/{brand}/2fa/saved", post(two_factor::saved))
        // The issuer URL itself, which the manuals give as the login screen's address.
        .route("/{brand}", get(nowhere::brand_root))
        .route("/{brand}/", get(nowhere::brand_root))
        .merge(admin_api::routes())
        // Every route above: a method it does not answer gets a page or JSON, not an empty 405.
        .method_not_allowed_fallback(nowhere::method_not_allowed)
        // Every route above, by its template (unknown paths are not a route to count).
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .fallback(nowhere::not_found)
        // No plain-text refusal reaches a person (ISSUE-16).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            nowhere::no_plain_errors,
        ))
        // Inside the headers: a 503 made from a 500 gets them too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::health::outage,
        ))
        // Inside the security headers, so a 429 page carries them too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limit::limit,
        ))
        // Outside the pages above (the 429 and 503 pages too): the visitor's language and the
        // request's address for the language switch (ISSUE-16).
        .layer(axum::middleware::from_fn_with_state(
            state.secure_cookies,
            crate::visit::remember,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.secure_cookies,
            crate::security::headers,
        ))
        .layer(axum::middleware::from_fn(
            crate::line_entry::strip_line_headers,
        ))
        .with_state(state)
}

/// `?ticket=…`: the token of a mailed link.
#[derive(serde::Deserialize)]
pub struct TicketQuery {
    #[serde(default)]
    pub ticket: String,
}

/// The brand of the path, or a "not found" page (in the visitor's language).
async fn brand(state: &AppState, code: &str, lang: Lang) -> Result<Brand, Response> {
    match state.op.brand(code).await {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(
            PageError::new(StatusCode::NOT_FOUND, lang, "error_unknown_brand").render(state, None),
        ),
        Err(e) => Err(PageError::internal(lang, e).render(state, None)),
    }
}

/// A hosted page's context, extracted once: the brand of the path (a "not found" page when there
/// is none) and the visitor's language from Accept-Language.
pub struct BrandPage {
    pub brand: Brand,
    pub lang: Lang,
}

impl axum::extract::FromRequestParts<AppState> for BrandPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let lang = lang(None, &parts.headers);
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let code = params
            .iter()
            .find(|(k, _)| *k == "brand")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
        Ok(Self {
            brand: brand(state, &code, lang).await?,
            lang,
        })
    }
}

/// A page handler's result: internal errors become the brand's error page (logged, not shown).
fn page_or_error(
    state: &AppState,
    lang: Lang,
    brand: &Brand,
    result: Result<Response, sekisho_oidc::OAuthError>,
) -> Response {
    result.unwrap_or_else(|e| PageError::internal(lang, e).render(state, Some(brand)))
}

/// The brand for a protocol (JSON) endpoint: unknown brands are a plain 404.
async fn api_brand(state: &AppState, code: &str) -> Result<Brand, Response> {
    match state.op.brand(code).await {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err((StatusCode::NOT_FOUND, "unknown issuer").into_response()),
        Err(e) => {
            Err(crate::error::JsonError::from(sekisho_oidc::OAuthError::from(e)).into_response())
        }
    }
}

/// The page language: the visitor's choice (`?lang=`, kept in a cookie for the visit,
/// `crate::visit`), then the `ui_locales` of the login in progress, then the browser's
/// Accept-Language, then Japanese.
pub(crate) fn lang(ui_locales: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(chosen) = crate::visit::chosen() {
        return chosen;
    }
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    i18n::pick(ui_locales, accept)
}

/// The language of a request that carries `ui_locales` itself (an authorization or logout
/// request): the relying party's wish wins for this request over an earlier choice, and is kept
/// for the rest of the visit (ISSUE-16); `?lang=` in the same URL still wins.
pub(crate) fn request_lang(ui_locales: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(wished) = ui_locales.and_then(Lang::pick) {
        crate::visit::keep_requested(wished);
    }
    lang(ui_locales, headers)
}

/// A `303 See Other` to `location`, with optional cookies to set.
fn see_other(location: &str, cookies: &[axum_extra::extract::cookie::Cookie<'static>]) -> Response {
    with_cookies(
        (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, location.to_owned())],
        )
            .into_response(),
        cookies,
    )
}

/// Adds `Set-Cookie` headers to a response.
fn with_cookies(
    mut res: Response,
    cookies: &[axum_extra::extract::cookie::Cookie<'static>],
) -> Response {
    for c in cookies {
        if let Ok(v) = c.encoded().to_string().parse() {
            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    res
}
