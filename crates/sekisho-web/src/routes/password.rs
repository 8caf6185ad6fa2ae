//! Unlock links (REQ-LOCK-1, -2: a page whose button unlocks), forgot password and reset (REQ-PW-3, -4), and password change
//! from the account menu (REQ-PW-2). Every form carries the session's CSRF token.

use super::registration::ticket_invalid;
use super::{page_or_error, with_cookies, BrandPage, TicketQuery};
use crate::error::PageError;
use crate::i18n::{message, messages, Lang};
use crate::routes::login::csrf_failure;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::signin;
use sekisho_app::tickets;
use sekisho_core::email::{Email, MAX_EMAIL_LEN};
use sekisho_core::model::{Brand, LoginMethod};
use sekisho_core::password;
use sekisho_core::tickets::TicketPurpose;
use sekisho_oidc::OAuthError;
use serde::{Deserialize, Serialize};

/// The lock mail's link (REQ-LOCK-1) is not valid: a password reset also unlocks (REQ-LOCK-2).
fn unlock_invalid(state: &AppState, brand: &Brand, lang: Lang) -> Response {
    let link = format!("/{}/password/forgot", brand.code);
    state.pages.message(
        StatusCode::BAD_REQUEST,
        lang,
        Some(brand),
        "ticket_invalid_title",
        "unlock_ticket_invalid",
        Some(&link),
    )
}

/// `GET /{brand}/unlock?ticket=…`: the lock mail's link shows the account and the button that
/// unlocks it. Opening it changes nothing (ISSUE-16: a mail scanner that fetches every link
/// must not spend the ticket). A spent or expired link explains that a password reset also
/// unlocks (REQ-LOCK-2).
pub async fn unlock_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        let Some((_, user)) =
            tickets::open(&state, &code, TicketPurpose::Unlock, &q.ticket).await?
        else {
            return Ok(unlock_invalid(&state, &brand, lang));
        };
        let (s, cookie) = session::ensure(&state, &code, &headers).await?;
        let page = state.pages.render(
            StatusCode::OK,
            "unlock_confirm.html",
            lang,
            Some(&brand),
            context! {
                email => user.email.as_str(),
                action => format!("/{code}/unlock"),
                csrf_token => s.csrf_token,
                ticket => q.ticket,
            },
        );
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct UnlockForm {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
}

/// `POST /{brand}/unlock`: the button of the lock mail's page unlocks the account (REQ-LOCK-1).
pub async fn unlock(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    // Asking this address again finds the mailed link spent: the page offers no language switch.
    crate::visit::no_switch();
    let result = async {
        if session::with_csrf(&state, &code, &headers, form.csrf_token.as_deref())
            .await?
            .is_none()
        {
            return Ok(csrf_failure(&state, lang, &brand));
        }
        if !signin::unlock(&state, &brand, &form.ticket).await? {
            return Ok(unlock_invalid(&state, &brand, lang));
        }
        let link = format!("/{code}/login");
        Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(&brand),
            "unlocked_title",
            "unlocked_body",
            Some(&link),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct ForgotQuery {
    email: Option<String>,
}

pub async fn forgot_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<ForgotQuery>,
) -> Response {
    // ISSUE-16: the address typed at the login page comes along, if it is one (size-limited by
    // the parser); anything else leaves the field empty. Nothing is looked up.
    let email = q.email.as_deref().and_then(|e| Email::parse(e).ok());
    match session::ensure(&state, &code, &headers).await {
        Ok((s, cookie)) => {
            let res = state.pages.render(
                StatusCode::OK,
                "forgot.html",
                lang,
                Some(&brand),
                context! {
                    csrf_token => s.csrf_token,
                    email => email.as_ref().map(Email::as_str),
                    email_max => MAX_EMAIL_LEN,
                },
            );
            with_cookies(res, &cookie.into_iter().collect::<Vec<_>>())
        }
        Err(e) => PageError::internal(lang, e).render(&state, Some(&brand)),
    }
}

#[derive(Deserialize)]
pub struct ForgotForm {
    csrf_token: Option<String>,
    #[serde(default)]
    email: String,
}

/// The answer is the same page, with the same status and after the same work, whether or not the
/// address is registered (REQ-PW-4); only a registered password user gets a mail, queued after
/// the answer.
pub async fn forgot_submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    let result = async {
        let Some(s) =
            session::with_csrf(&state, &code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let Ok(email) = Email::parse(&form.email) else {
            return Ok(state.pages.render(
                StatusCode::OK,
                "forgot.html",
                lang,
                Some(&brand),
                context! {
                    csrf_token => s.csrf_token,
                    email => super::login::echoed_email(Some(&form.email)),
                    email_max => MAX_EMAIL_LEN,
                    error => message(lang, "email_invalid"),
                },
            ));
        };
        // After the answer: looking the address up is all the request does, so a registered
        // address (ticket, audit, mail) answers as fast as an unknown one (issue 15, timing).
        let (app, for_brand) = (state.app.clone(), brand.clone());
        state.spawn_background(async move {
            if let Err(e) = signin::request_password_reset(&app, &for_brand, &email, lang).await {
                tracing::error!(error = %e, brand = %for_brand.code, "password reset request failed");
            }
        });
        let link = format!("/{code}/login");
        Ok(state.pages.message(
            StatusCode::OK,
            lang,
            Some(&brand),
            "forgot_sent_title",
            "forgot_sent_body",
            Some(&link),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// What was wrong with a password form, each message beside its field (ISSUE-16: the wrong field
/// is marked `aria-invalid`, described by its message, and has the focus).
#[derive(Debug, Default, Serialize)]
struct PasswordErrors {
    current: Vec<&'static str>,
    new: Vec<&'static str>,
    confirm: Vec<&'static str>,
}

impl PasswordErrors {
    /// The broken parts of the password rule: the confirmation's mismatch is the confirmation
    /// field's, the rest the new password's.
    fn check(lang: Lang, new: &str, confirmation: &str) -> Self {
        let mut errors = Self::default();
        for v in password::check(new, confirmation) {
            let text = message(lang, v.message_key());
            match v {
                password::Violation::Mismatch => errors.confirm.push(text),
                _ => errors.new.push(text),
            }
        }
        errors
    }

    fn is_empty(&self) -> bool {
        self.current.is_empty() && self.new.is_empty() && self.confirm.is_empty()
    }

    /// The first wrong field, in the form's order; the first field when nothing is wrong.
    fn focus(&self, first: &'static str) -> &'static str {
        if !self.current.is_empty() {
            "current"
        } else if !self.new.is_empty() {
            "new"
        } else if !self.confirm.is_empty() {
            "confirm"
        } else {
            first
        }
    }
}

/// The reset form (its ticket carried along).
fn reset_form(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    csrf: &str,
    ticket: &str,
    errors: PasswordErrors,
) -> Response {
    state.pages.render(
        StatusCode::OK,
        "set_password.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, "reset_title"),
            action => format!("/{}/password/reset", brand.code),
            csrf_token => csrf,
            ticket => ticket,
            ask_current => false,
            focus => errors.focus("new"),
            errors => errors,
        },
    )
}

/// パスワード変更 from the account menu, with 戻る to the menu (ISSUE-16).
fn change_form(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    csrf: &str,
    errors: PasswordErrors,
) -> Response {
    state.pages.render(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        "password_change.html",
        lang,
        Some(brand),
        context! { csrf_token => csrf, focus => errors.focus("current"), errors => errors },
    )
}

pub async fn reset_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        if tickets::open(&state, &code, TicketPurpose::PasswordReset, &q.ticket)
            .await?
            .is_none()
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        let (s, cookie) = session::ensure(&state, &code, &headers).await?;
        Ok(with_cookies(
            reset_form(
                &state,
                &brand,
                lang,
                &s.csrf_token,
                &q.ticket,
                PasswordErrors::default(),
            ),
            &cookie.into_iter().collect::<Vec<_>>(),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: Option<String>,
    ticket: Option<String>,
    current_password: Option<String>,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// The messages of every broken part of the password rule; empty when the password is good.
pub(super) fn violations(lang: Lang, new: &str, confirmation: &str) -> Vec<&'static str> {
    password::check(new, confirmation)
        .into_iter()
        .map(|v| message(lang, v.message_key()))
        .collect()
}

pub async fn reset_submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let result = async {
        let Some(s) =
            session::with_csrf(&state, &code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let ticket = form.ticket.clone().unwrap_or_default();
        let errors = PasswordErrors::check(lang, &form.new_password, &form.confirm_password);
        if !errors.is_empty() {
            // The ticket is not spent by a rejected password: the user corrects it and sends again.
            return Ok(reset_form(
                &state,
                &brand,
                lang,
                &s.csrf_token,
                &ticket,
                errors,
            ));
        }
        let Some(done) =
            signin::reset_password(&state, &brand, &ticket, &form.new_password).await?
        else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        // REQ-2FA-6: the reset dropped the two-step registration; where the contract asks for
        // two-step verification, the next login enrols again, and the page says so.
        let m = messages(lang);
        Ok(state.pages.render(
            StatusCode::OK,
            "message.html",
            lang,
            Some(&brand),
            context! {
                title => m.get("reset_done_title"),
                body => m.get("reset_done"),
                detail => m.get("reset_done_2fa").filter(|_| done.enrol_again),
                link => format!("/{code}/login"),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

pub async fn change_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    super::account::for_password_user(&state, &code, &headers, |state, brand, lang, session, _| {
        change_form(
            state,
            brand,
            lang,
            &session.csrf_token,
            PasswordErrors::default(),
        )
    })
    .await
}

pub async fn change_submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let result = async {
        let Some((session, user)) = super::account::signed_in(&state, &code, &headers).await?
        else {
            return Ok(super::account::to_account_login(&code));
        };
        if !session::csrf_ok(&session, form.csrf_token.as_deref()) {
            return Ok(csrf_failure(&state, lang, &brand));
        }
        if user.login_method != LoginMethod::Password {
            return Ok(
                PageError::new(StatusCode::FORBIDDEN, lang, "error_not_allowed")
                    .render(&state, Some(&brand)),
            );
        }
        let current_ok = state
            .op
            .passwords
            .verify(
                form.current_password.as_deref().unwrap_or(""),
                user.password_hash.as_deref(),
            )
            .await
            .map_err(OAuthError::server)?;
        let mut errors = PasswordErrors::check(lang, &form.new_password, &form.confirm_password);
        if !current_ok {
            errors.current.push(message(lang, "current_password_wrong"));
        }
        if !errors.is_empty() {
            return Ok(change_form(
                &state,
                &brand,
                lang,
                &session.csrf_token,
                errors,
            ));
        }
        signin::change_password(&state, &brand, &user, &form.new_password).await?;
        // パスワード変更完了, with the manual's way back to the menu.
        Ok(state.pages.render(
            StatusCode::OK,
            "account_form.html",
            lang,
            Some(&brand),
            context! {
                title => message(lang, "pw_change_done_title"),
                intro => vec![message(lang, "password_changed")],
                back => format!("/{code}/account"),
                back_label => message(lang, "ar_back_to_menu"),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
