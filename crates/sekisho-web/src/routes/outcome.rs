//! The one mapping from the login pipeline's outcomes (`sekisho_app::pipeline`) to responses:
//! whichever identity source authenticated, a refusal looks the same, and a completed login
//! goes where it began.

use super::see_other;
use crate::i18n::Lang;
use crate::session;
use crate::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sekisho_app::pipeline::{LoginOutcome, Refusal, SignedIn};
use sekisho_core::login::Continuation;
use sekisho_core::model::Brand;

/// The cookie that identifies a browser the user asked to remember (a random value; its hash is
/// the key of `trusted_browsers`). It says nothing by itself: trust is per user, in the database.
pub const BROWSER_COOKIE: &str = "sekisho_browser";
/// Browsers cap cookie lifetimes at 400 days; trust itself ends 30 days after the last login.
const BROWSER_COOKIE_MAX_AGE_DAYS: i64 = 400;

fn encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where a completed login goes on to.
pub fn continuation_url(code: &str, then: &Continuation) -> String {
    match then {
        Continuation::Authorize(ar) => format!("/{code}/authorize/continue?ar={}", encoded(ar)),
        Continuation::Account => format!("/{code}/account"),
        Continuation::Console => format!("/{code}/admin"),
        Continuation::Direct => format!("/{code}/signed-in"),
    }
}

/// Where a login that did not complete starts again (the login page it came from).
pub fn login_again(code: &str, then: &Continuation) -> String {
    match then {
        Continuation::Authorize(ar) => format!("/{code}/login?ar={}", encoded(ar)),
        Continuation::Account => format!("/{code}/account/login"),
        Continuation::Console => super::account::console_login_path(code),
        Continuation::Direct => format!("/{code}/login"),
    }
}

/// The remembered-browser value this browser sent, if any.
pub fn browser_value(headers: &HeaderMap) -> Option<String> {
    session::cookie_named(headers, BROWSER_COOKIE)
}

/// The cookies a completed login sets: the new session, and the remembered browser if asked.
pub fn signed_in_cookies(state: &AppState, code: &str, done: &SignedIn) -> Vec<Cookie<'static>> {
    let mut cookies = Vec::new();
    if let Some(value) = &done.remembered_browser {
        cookies.push(
            Cookie::build((BROWSER_COOKIE, value.expose().clone()))
                .path(format!("/{code}"))
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(BROWSER_COOKIE_MAX_AGE_DAYS))
                .build(),
        );
    }
    cookies.push(session::cookie(state, code, &done.session));
    cookies
}

/// The response to a login's outcome; `cookies` are set too where the browser goes on.
pub fn login(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    outcome: LoginOutcome,
    cookies: &[Cookie<'static>],
) -> Response {
    let code = brand.code.as_str();
    match outcome {
        LoginOutcome::SignedIn(done) => {
            let mut all = cookies.to_vec();
            all.extend(signed_in_cookies(state, code, &done));
            let next = if done.ask_line_consent {
                super::line_consent::page_path(code, &done.then)
            } else {
                continuation_url(code, &done.then)
            };
            see_other(&next, &all)
        }
        LoginOutcome::SecondStep { session } => {
            let mut all = cookies.to_vec();
            all.push(session::cookie(state, code, &session));
            see_other(&format!("/{code}/2fa"), &all)
        }
        LoginOutcome::Refused(refusal) => refused(state, brand, lang, refusal, cookies),
    }
}

/// The one answer to each refusal.
fn refused(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    refusal: Refusal,
    cookies: &[Cookie<'static>],
) -> Response {
    match refusal {
        Refusal::NoService => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_contract_ended",
            None,
        ),
        Refusal::Unmet {
            rp_error_url: Some(url),
        } => see_other(&url, cookies),
        Refusal::Unmet { rp_error_url: None } => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_unmet_two_factors",
            None,
        ),
        Refusal::LineOnly => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_line_only",
            None,
        ),
        Refusal::RecoveryMailed => state.pages.message(
            StatusCode::OK,
            lang,
            Some(brand),
            "line_recovery_mailed_title",
            "line_recovery_mailed",
            None,
        ),
        Refusal::LineNotRegistered => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_line_not_registered",
            Some(crate::i18n::message(
                lang,
                "error_line_not_registered_check",
            )),
        ),
    }
}
