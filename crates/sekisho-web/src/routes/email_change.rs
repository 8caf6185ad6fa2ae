//! The email-change mail's link (メールアドレス変更登録, REQ-USER-6): a password user sets their
//! password on the confirmation page (and their 2FA registration is reset, REQ-2FA-6); anyone
//! else confirms the new address with 登録 on the same page. Opening the link changes nothing
//! (ISSUE-16: no GET changes state, and a mail scanner that fetches links must not spend it).
//!
//! The ticket's payload holds the new address; the change and the spending of the ticket are one
//! transaction (`Store::change_email`), and an address taken meanwhile is refused there.

use super::login::csrf_failure;
use super::registration::ticket_invalid;
use super::{page_or_error, BrandPage, TicketQuery};
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::audit;
use sekisho_app::tickets;
use sekisho_core::model::{Brand, LoginMethod, User};
use sekisho_core::tickets::TicketPurpose;
use sekisho_oidc::OAuthError;
use sekisho_store::{StoreError, TicketRecord};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// The live email-change ticket, its user and the new address.
async fn pending(
    state: &AppState,
    brand: &Brand,
    ticket: &str,
) -> Result<Option<(TicketRecord, User, String)>, OAuthError> {
    let code = brand.code.as_str();
    let Some((t, user)) = tickets::open(state, code, TicketPurpose::EmailChange, ticket).await?
    else {
        return Ok(None);
    };
    let payload: serde_json::Value = serde_json::from_str(&t.payload).unwrap_or_default();
    let Some(email) = payload["email"].as_str().map(str::to_owned) else {
        return Ok(None);
    };
    Ok(Some((t, user, email)))
}

fn password_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    csrf: &str,
    ticket: &str,
    email: &str,
    errors: Vec<&'static str>,
) -> Response {
    state.pages.render(
        StatusCode::OK,
        "login_method.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, "email_change_confirm_title"),
            heading => message(lang, "email_change_confirm_heading"),
            submit => message(lang, "reg_submit"),
            email => email,
            action => format!("/{}/email-change", brand.code),
            csrf_token => csrf,
            ticket => ticket,
            errors => errors,
        },
    )
}

/// Applies the change; the page the user sees.
async fn apply(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    ticket: &TicketRecord,
    user: &User,
    email: &str,
    password_hash: Option<&str>,
) -> Result<Response, OAuthError> {
    let now = state.op.now();
    match state
        .op
        .store
        .change_email(&user.id, &ticket.token_hash, email, password_hash, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Ok(ticket_invalid(state, brand, lang)),
        Err(StoreError::Conflict) => {
            return Ok(state.pages.error(
                StatusCode::CONFLICT,
                lang,
                Some(brand),
                "dir_email_taken",
                None,
            ))
        }
        Err(e) => return Err(e.into()),
    }
    audit::audit(state, "email.changed", brand, Some(&user.id)).await;
    if password_hash.is_some() {
        audit::audit(state, "2fa.reset", brand, Some(&user.id)).await;
    }
    let login = format!("/{}/login", brand.code);
    Ok(state.pages.message(
        StatusCode::OK,
        lang,
        Some(brand),
        "email_changed_title",
        if password_hash.is_some() {
            "email_changed_password"
        } else {
            "email_changed_body"
        },
        Some(&login),
    ))
}

/// `GET /{brand}/email-change?ticket=…`.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        let (session, cookie) = session::ensure(&state, brand.code.as_str(), &headers).await?;
        let Some((_, user, email)) = pending(&state, &brand, &q.ticket).await? else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        let page = if user.login_method != LoginMethod::Password {
            state.pages.render(
                StatusCode::OK,
                "email_change_confirm.html",
                lang,
                Some(&brand),
                context! {
                    email => email,
                    action => format!("/{}/email-change", brand.code),
                    csrf_token => session.csrf_token,
                    ticket => q.ticket,
                },
            )
        } else {
            password_page(
                &state,
                &brand,
                lang,
                &session.csrf_token,
                &q.ticket,
                &email,
                vec![],
            )
        };
        Ok(super::with_cookies(
            page,
            &cookie.into_iter().collect::<Vec<_>>(),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/email-change`: 登録 of the new address (with a password user's new password).
pub async fn submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let Some(s) =
            session::with_csrf(&state, code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let Some((ticket, user, email)) = pending(&state, &brand, &form.ticket).await? else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        if user.login_method != LoginMethod::Password {
            // 登録 of a user who logs in another way: no password to set.
            return apply(&state, &brand, lang, &ticket, &user, &email, None).await;
        }
        let errors = super::password::violations(lang, &form.new_password, &form.confirm_password);
        if !errors.is_empty() {
            return Ok(password_page(
                &state,
                &brand,
                lang,
                &s.csrf_token,
                &form.ticket,
                &email,
                errors,
            ));
        }
        let phc = sekisho_app::signin::hash_password(&state, &form.new_password).await?;
        apply(&state, &brand, lang, &ticket, &user, &email, Some(&phc)).await
    };
    page_or_error(&state, lang, &brand, result.await)
}
