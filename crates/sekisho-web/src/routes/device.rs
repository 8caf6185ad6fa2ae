//! The device verification page (RFC 8628 §3.3, issue 18), in the brand's style, Japanese first:
//! the user types the code their desktop or command-line client shows (or arrives with it in the
//! URL), sees which application asks, approves, and logs in through the same login pipeline and
//! policies as any browser login (`authorize::begin`); the login ends at the done page, which
//! approves the device with the login's code (or the user declines before logging in).
//!
//! `GET /{brand}/device` and `GET /{brand}/device/done` show pages; every change is a POST with
//! the session's CSRF token, except the done page's approval: the OP's own redirect at the end of
//! the login (a protocol GET like `/authorize/continue`), which acts only for the browser session
//! that logged in.

use super::login::csrf_failure;
use super::{page_or_error, with_cookies, BrandPage};
use crate::i18n::{message, Lang};
use crate::line_entry::Route;
use crate::session;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_core::model::{Brand, Client};
use sekisho_oidc::device;
use sekisho_store::{DeviceRecord, SessionRecord};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Field {
    name: &'static str,
    label: String,
    kind: &'static str,
    value: String,
    autocomplete: Option<&'static str>,
    maxlength: usize,
    invalid: bool,
}

/// The longest user code accepted as typed (with hyphens, spaces, full-width characters).
const MAX_TYPED_CODE: usize = 32;

/// The code page (`found` none) or the approval page of a pending device authorization.
fn code_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    session: &SessionRecord,
    typed: &str,
    found: Option<&str>,
    error: Option<&str>,
) -> Response {
    let m = |k: &str| message(lang, k);
    let code = brand.code.as_str();
    let (title, intro, submit, action) = match found {
        None => (
            m("device_title"),
            vec![m("device_intro").to_owned()],
            m("device_next"),
            format!("/{code}/device"),
        ),
        Some(client_name) => (
            m("device_confirm_title"),
            vec![
                m("device_confirm_intro").replace("{client}", client_name),
                m("device_confirm_check").to_owned(),
            ],
            m("device_approve"),
            format!("/{code}/device/approve"),
        ),
    };
    let echo = if typed.len() <= MAX_TYPED_CODE {
        typed
    } else {
        ""
    };
    // The approval page also offers to decline (the device is then told access_denied).
    let decline = found.map(|_| {
        context! {
            action => format!("/{code}/device/deny"),
            hidden => vec![context! { name => "user_code", value => echo }],
            label => m("device_deny"),
        }
    });
    let fields = vec![Field {
        name: "user_code",
        label: m("device_code_label").to_owned(),
        kind: "text",
        value: echo.to_owned(),
        autocomplete: Some("off"),
        maxlength: MAX_TYPED_CODE,
        invalid: error.is_some(),
    }];
    state.pages.render(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "account_form.html",
        lang,
        Some(brand),
        context! {
            title => title,
            intro => intro,
            fields => fields,
            focus => error.map(|_| "user_code"),
            submit => submit,
            action => action,
            error => error.map(m),
            csrf_token => session.csrf_token,
            decline => decline,
        },
    )
}

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    user_code: String,
}

/// `GET /{brand}/device[?user_code=…]`: the code form, or (with a live code in the URL, as
/// `verification_uri_complete` gives it) the approval page.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let (session, cookie) = session::ensure(&state, code, &headers).await?;
        let found = if q.user_code.is_empty() {
            None
        } else {
            device::pending(&state.op, code, &q.user_code).await?
        };
        let page = code_page(
            &state,
            &brand,
            lang,
            &session,
            &q.user_code,
            found.as_ref().map(|(_, c)| c.metadata.client_name.as_str()),
            None,
        );
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    #[serde(default)]
    user_code: String,
}

/// A form's pending device authorization, behind the session's CSRF check: the record, its
/// client and the session, or the page to answer instead (the CSRF failure, or the code form
/// again saying the code is unknown or spent).
async fn pending_of_form(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    form: &CodeForm,
) -> Result<Result<(DeviceRecord, Client, SessionRecord), Response>, sekisho_oidc::OAuthError> {
    let code = brand.code.as_str();
    let Some(session) =
        session::with_csrf(state, code, headers, form.csrf_token.as_deref()).await?
    else {
        return Ok(Err(csrf_failure(state, lang, brand)));
    };
    Ok(
        match device::pending(&state.op, code, &form.user_code).await? {
            Some((d, client)) => Ok((d, client, session)),
            None => Err(code_page(
                state,
                brand,
                lang,
                &session,
                &form.user_code,
                None,
                Some("device_code_invalid"),
            )),
        },
    )
}

/// `POST /{brand}/device`: the typed code → the approval page, or the form again with why not.
pub async fn submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        Ok(
            match pending_of_form(&state, &brand, lang, &headers, &form).await? {
                Ok((_, client, session)) => code_page(
                    &state,
                    &brand,
                    lang,
                    &session,
                    &form.user_code,
                    Some(&client.metadata.client_name),
                    None,
                ),
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/device/approve`: the user approves the application; the login follows.
pub async fn approve(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Route(entry): Route,
    Form(form): Form<CodeForm>,
) -> Response {
    match pending_of_form(&state, &brand, lang, &headers, &form).await {
        Ok(Ok((d, _, _))) => {
            let params = device::login_request(&state.op, &d);
            super::authorize::begin(&state, &brand, lang, &headers, &entry, params).await
        }
        Ok(Err(page)) => page,
        Err(e) => page_or_error(&state, lang, &brand, Err(e)),
    }
}

/// `POST /{brand}/device/deny`: the user declines; the device's next poll is `access_denied`.
pub async fn deny(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        Ok(
            match pending_of_form(&state, &brand, lang, &headers, &form).await? {
                Ok((d, _, _)) => {
                    state.op.store.deny_device(&d.id).await?;
                    state.pages.message(
                        StatusCode::OK,
                        lang,
                        Some(&brand),
                        "device_denied_title",
                        "device_denied",
                        None,
                    )
                }
                Err(page) => page,
            },
        )
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

/// `GET /{brand}/device/done?code=…&state=…`: the end of the device login. The login's code
/// approves the device authorization `state`, for the browser session that logged in only.
pub async fn done(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let session = session::current(&state, code, &headers).await?;
        let approved = match session {
            Some(s) => device::approve(&state.op, code, &q.state, &q.code, &s.sid).await?,
            None => false,
        };
        Ok(if approved {
            state.pages.message(
                StatusCode::OK,
                lang,
                Some(&brand),
                "device_done_title",
                "device_done",
                None,
            )
        } else {
            state.pages.message(
                StatusCode::BAD_REQUEST,
                lang,
                Some(&brand),
                "device_failed_title",
                "device_failed",
                Some(&format!("/{code}/device")),
            )
        })
    };
    page_or_error(&state, lang, &brand, result.await)
}
