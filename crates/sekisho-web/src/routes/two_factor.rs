//! The pages of two-step verification (2段階認証, REQ-2FA-2 … -5, -9), under `/{brand}/2fa`:
//! enrolment by SMS (the first screen, as in the manuals) or authenticator app, verification at
//! later logins, "lost your device?" with the recovery code, and the recovery-code screen.
//!
//! Each handler loads the browser session's step, calls `sekisho_app::second_step` (which keeps
//! the attempts, the lock and the single use of every code), and shows the step's page again (with
//! a message), moves on, or starts the login again.

use super::outcome::{self, login_again};
use super::{login::csrf_failure, page_or_error, see_other, with_cookies, BrandPage};
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use sekisho_app::second_step::{self, CodeOutcome, Ended, PhoneOutcome, SmsOutcome, Step, Wrong};
use sekisho_core::model::Brand;
use sekisho_core::phone::{InvalidPhone, PhoneNumber, MAX_INPUT_CHARS};
use sekisho_core::two_factor::{ChallengeMode, ChallengeStage, SecondFactorMethod};
use sekisho_crypto::second_factor::totp_uri;
use sekisho_oidc::{authorize, OAuthError};
use serde::Deserialize;

/// The step in progress and the page's language (the request's `ui_locales`, else the browser's).
struct Page {
    step: Step,
    lang: Lang,
}

async fn load(
    state: &AppState,
    brand: &Brand,
    headers: &HeaderMap,
    csrf: Option<Option<&str>>,
) -> Result<Result<Page, Response>, OAuthError> {
    let lang0 = super::lang(None, headers);
    let code = brand.code.as_str();
    let session = match csrf {
        Some(token) => session::with_csrf(state, code, headers, token).await?,
        None => session::current(state, code, headers).await?,
    };
    let Some(session) = session else {
        return Ok(Err(match csrf {
            Some(_) => csrf_failure(state, lang0, brand),
            None => expired(state, lang0, brand),
        }));
    };
    let Some(step) = second_step::load(state, session).await? else {
        return Ok(Err(expired(state, lang0, brand)));
    };
    let ui_locales = match step.challenge.next.authorization_request() {
        Some(ar) => authorize::find(&state.op, code, ar, &step.session.sid)
            .await?
            .and_then(|p| {
                // The step's forms end, once it is done, at the RP.
                crate::security::allow_form_target(&p.params.redirect_uri);
                p.params.ui_locales
            }),
        None => None,
    };
    Ok(Ok(Page {
        lang: super::lang(ui_locales.as_deref(), headers),
        step,
    }))
}

/// No step in progress: it expired, was completed, or the browser never started one.
fn expired(state: &AppState, lang: Lang, brand: &Brand) -> Response {
    let login = format!("/{}/login", brand.code);
    state.pages.message(
        StatusCode::BAD_REQUEST,
        lang,
        Some(brand),
        "tf_title",
        "tf_expired",
        Some(&login),
    )
}

/// What went wrong on the step's page. Each is about one field, which the page marks
/// `aria-invalid`, describes by the message and focuses (ISSUE-16).
#[derive(Debug, Clone, Copy)]
enum Problem<'a> {
    /// The number typed at SMS enrolment, shown back in its field with the reason.
    Phone(InvalidPhone, &'a str),
    /// The code typed.
    Code(Wrong),
}

impl Problem<'_> {
    fn message_key(self) -> &'static str {
        match self {
            Problem::Phone(InvalidPhone::Malformed, _) => "tf_phone_invalid",
            Problem::Phone(InvalidPhone::NotMobile, _) => "tf_phone_not_mobile",
            Problem::Code(why) => wrong_key(why),
        }
    }
}

/// The page of the step's current stage, with an optional problem to point out.
async fn show(
    state: &AppState,
    brand: &Brand,
    page: &Page,
    problem: Option<Problem<'_>>,
) -> Result<Response, OAuthError> {
    let ch = &page.step.challenge;
    let csrf = &page.step.session.csrf_token;
    let lang = page.lang;
    let error = problem.map(Problem::message_key);
    if ch.stage == ChallengeStage::Recovery {
        // The code was shown once and is not kept: seeing one again means a new one, by POST.
        return Ok(state.pages.render(
            StatusCode::OK,
            "two_factor_recovery_again.html",
            lang,
            Some(brand),
            context! { csrf_token => csrf },
        ));
    }
    let enrol = ch.mode == ChallengeMode::Enrol;
    let totp = ch.method == Some(SecondFactorMethod::Totp);
    let common = context! {
        csrf_token => csrf,
        enrol => enrol,
        requested_by_client => ch.reason == sekisho_core::two_factor::Ask::RequestedByClient,
        error => error.map(|k| message(lang, k)),
    };
    if enrol && totp {
        let secret = ch
            .totp_secret
            .as_ref()
            .map(|s| s.expose().as_str())
            .unwrap_or_default();
        let uri = totp_uri(secret, &brand.name, page.step.user.email.as_str())
            .map_err(OAuthError::server)?;
        let svg = qrcode::QrCode::new(uri.as_bytes())
            .map_err(OAuthError::server)?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        return Ok(state.pages.render(
            StatusCode::OK,
            "two_factor_totp.html",
            lang,
            Some(brand),
            context! { qr_svg => Value::from_safe_string(svg), secret => spaced(secret), otpauth_uri => uri, ..common },
        ));
    }
    if enrol && ch.phone.is_none() {
        // A refused number comes back as typed (cut to what the field takes), to be corrected.
        let typed = match problem {
            Some(Problem::Phone(_, typed)) => Some(
                typed
                    .trim()
                    .chars()
                    .take(MAX_INPUT_CHARS)
                    .collect::<String>(),
            ),
            _ => None,
        };
        return Ok(state.pages.render(
            if problem.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            },
            "two_factor_phone.html",
            lang,
            Some(brand),
            context! { phone => typed, phone_max => MAX_INPUT_CHARS, ..common },
        ));
    }
    let phone = ch
        .phone
        .as_deref()
        .and_then(|p| PhoneNumber::parse(p).ok())
        .map(|p| p.masked());
    Ok(state.pages.render(
        StatusCode::OK,
        "two_factor_code.html",
        lang,
        Some(brand),
        context! {
            sms => !totp,
            phone => phone,
            send_failed => ch.send_failed,
            can_resend => ch.sends < sekisho_core::two_factor::MAX_SMS_SENDS,
            lost_device => !enrol,
            ..common
        },
    ))
}

/// The base32 secret in groups of four, as authenticator apps show it.
fn spaced(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The recovery-code screen: the code shown once (`replaced`: it replaced a used one).
fn recovery_page(
    state: &AppState,
    brand: &Brand,
    page: &Page,
    shown: &str,
    replaced: bool,
    error: Option<&str>,
) -> Response {
    state.pages.render(
        StatusCode::OK,
        "two_factor_recovery.html",
        page.lang,
        Some(brand),
        context! {
            csrf_token => page.step.session.csrf_token,
            recovery_code => shown,
            replaced => replaced,
            error => error.map(|k| message(page.lang, k)),
        },
    )
}

/// A new recovery code replaces the one shown (which is not kept), and is shown once.
async fn reissue(
    state: &AppState,
    brand: &Brand,
    page: &Page,
    error: Option<&str>,
) -> Result<Response, OAuthError> {
    match second_step::reissue_recovery_code(state, &page.step).await? {
        Some(shown) => Ok(recovery_page(
            state,
            brand,
            page,
            shown.expose(),
            false,
            error,
        )),
        None => show(state, brand, page, None).await,
    }
}

/// The step is over without success: the user starts again from the login page.
fn restart(state: &AppState, brand: &Brand, page: &Page, why: Ended) -> Response {
    let key = match why {
        Ended::TooManyAttempts => "tf_too_many_attempts",
        Ended::Locked => "account_locked",
        Ended::TooManySends => "tf_too_many_sends",
    };
    let login = login_again(brand.code.as_str(), &page.step.challenge.next);
    state.pages.message(
        StatusCode::FORBIDDEN,
        page.lang,
        Some(brand),
        "tf_title",
        key,
        Some(&login),
    )
}

/// The message of a refused code.
fn wrong_key(why: Wrong) -> &'static str {
    match why {
        Wrong::Code => "tf_code_wrong",
        Wrong::Used => "tf_code_used",
        Wrong::Expired => "tf_code_expired",
        Wrong::RecoveryCode => "tf_recovery_wrong",
    }
}

/// After a code was sent (or not): the code page, or why no code was sent.
async fn after_send(
    state: &AppState,
    brand: &Brand,
    page: &Page,
    sent: SmsOutcome,
) -> Result<Response, OAuthError> {
    match sent {
        SmsOutcome::Sent => Ok(see_other(&format!("/{}/2fa", brand.code), &[])),
        // The page says so from the step's state (`send_failed`).
        SmsOutcome::Failed => show(state, brand, page, None).await,
        SmsOutcome::TooManySends => Ok(restart(state, brand, page, Ended::TooManySends)),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// `POST /{brand}/2fa/recovery-code`: a new recovery code, for a user who left the page that
/// showed it before ticking 「リカバリーコードを保存しました」.
pub async fn recovery_code_again(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        reissue(&state, &brand, &page, None).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/2fa`: the current step.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let page = or_page!(load(&state, &brand, &headers, None).await?);
        show(&state, &brand, &page, None).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct MethodForm {
    csrf_token: Option<String>,
    #[serde(default)]
    method: String,
}

/// `POST /{brand}/2fa/method` with `method=totp|sms`: enrolment by the other factor (the
/// manuals' "QRコードでの認証はこちら" and back). Switching clears any code sent.
pub async fn choose_method(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(q): Form<MethodForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(q.csrf_token.as_deref())).await?);
        if let Some(method) = SecondFactorMethod::parse(&q.method) {
            second_step::choose_method(&state, &mut page.step, method).await?;
        }
        Ok(see_other(&format!("/{}/2fa", brand.code), &[]))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct PhoneForm {
    csrf_token: Option<String>,
    #[serde(default)]
    phone: String,
}

/// `POST /{brand}/2fa/phone`: SMS enrolment, the number; sends the first code.
pub async fn phone(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<PhoneForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        let lang = page.lang;
        match second_step::set_phone(&state, &brand, lang, &mut page.step, &form.phone).await? {
            PhoneOutcome::NotNow => show(&state, &brand, &page, None).await,
            PhoneOutcome::Invalid(e) => {
                show(&state, &brand, &page, Some(Problem::Phone(e, &form.phone))).await
            }
            PhoneOutcome::Sms(sent) => after_send(&state, &brand, &page, sent).await,
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/2fa/phone/change`: 「電話番号を変更する」 on the code page of SMS enrolment: back
/// to the number (a POST: the step forgets the number and its code).
pub async fn change_phone(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        second_step::change_phone(&state, &mut page.step).await?;
        Ok(see_other(&format!("/{}/2fa", brand.code), &[]))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `POST /{brand}/2fa/resend`: another SMS code (limited, REQ-2FA-9).
pub async fn resend(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        let lang = page.lang;
        match second_step::resend(&state, &brand, lang, &mut page.step).await? {
            None => show(&state, &brand, &page, None).await,
            Some(sent) => after_send(&state, &brand, &page, sent).await,
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    #[serde(default)]
    code: String,
    remember: Option<String>,
}

/// The page after a code (or recovery code) was presented.
async fn after_code(
    state: &AppState,
    brand: &Brand,
    page: &Page,
    result: CodeOutcome,
    replaced: bool,
) -> Result<Response, OAuthError> {
    match result {
        CodeOutcome::NotNow => show(state, brand, page, None).await,
        CodeOutcome::Enrolled { recovery_code } => Ok(recovery_page(
            state,
            brand,
            page,
            recovery_code.expose(),
            replaced,
            None,
        )),
        CodeOutcome::Verified(done) => {
            let cookies = outcome::signed_in_cookies(state, brand.code.as_str(), &done);
            Ok(see_other(
                &outcome::continuation_url(brand.code.as_str(), &done.then),
                &cookies,
            ))
        }
        CodeOutcome::Wrong(Wrong::RecoveryCode) => Ok(recovery_entry(
            state,
            brand,
            page,
            Some(wrong_key(Wrong::RecoveryCode)),
        )),
        CodeOutcome::Wrong(why) => show(state, brand, page, Some(Problem::Code(why))).await,
        CodeOutcome::Ended(why) => Ok(restart(state, brand, page, why)),
    }
}

/// `POST /{brand}/2fa/code`: the 6-digit code, at enrolment or verification.
pub async fn code(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        let (lang, remember) = (page.lang, form.remember.is_some());
        let step = &mut page.step;
        let result = match step.challenge.mode {
            ChallengeMode::Enrol => {
                second_step::enrol_with_code(&state, &brand, lang, step, &form.code, remember)
                    .await?
            }
            ChallengeMode::Verify => {
                second_step::verify_code(&state, &brand, lang, step, &form.code, remember).await?
            }
        };
        after_code(&state, &brand, &page, result, false).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

fn recovery_entry(state: &AppState, brand: &Brand, page: &Page, error: Option<&str>) -> Response {
    state.pages.render(
        StatusCode::OK,
        "two_factor_lost_device.html",
        page.lang,
        Some(brand),
        context! {
            csrf_token => page.step.session.csrf_token,
            error => error.map(|k| message(page.lang, k)),
        },
    )
}

/// `GET /{brand}/2fa/lost-device`: デバイスを紛失した場合 (REQ-2FA-5).
pub async fn lost_device_page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let page = or_page!(load(&state, &brand, &headers, None).await?);
        let ch = &page.step.challenge;
        if ch.mode != ChallengeMode::Verify || ch.stage != ChallengeStage::Code {
            return show(&state, &brand, &page, None).await;
        }
        Ok(recovery_entry(&state, &brand, &page, None))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    csrf_token: Option<String>,
    #[serde(default)]
    recovery_code: String,
}

/// `POST /{brand}/2fa/lost-device`: the recovery code, as copied; a new one replaces it.
pub async fn lost_device(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<RecoveryForm>,
) -> Response {
    let result = async {
        let mut page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        let lang = page.lang;
        let result = second_step::verify_recovery_code(
            &state,
            &brand,
            lang,
            &mut page.step,
            &form.recovery_code,
        )
        .await?;
        after_code(&state, &brand, &page, result, true).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct SavedForm {
    csrf_token: Option<String>,
    saved: Option<String>,
}

/// `POST /{brand}/2fa/saved`: 「リカバリーコードを保存しました」 ticked: the login completes, with
/// the completion page and its 「ログインする」 button (REQ-2FA-4).
pub async fn saved(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<SavedForm>,
) -> Response {
    let result = async {
        let page =
            or_page!(load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await?);
        if page.step.challenge.stage != ChallengeStage::Recovery {
            return show(&state, &brand, &page, None).await;
        }
        if form.saved.is_none() {
            return reissue(&state, &brand, &page, Some("tf_recovery_saved_required")).await;
        }
        let Some(done) = second_step::recovery_code_saved(&state, &brand, &page.step).await? else {
            return show(&state, &brand, &page, None).await;
        };
        let code = brand.code.as_str();
        let res = state.pages.render(
            StatusCode::OK,
            "two_factor_done.html",
            page.lang,
            Some(&brand),
            context! { location => outcome::continuation_url(code, &done.then) },
        );
        Ok(with_cookies(
            res,
            &outcome::signed_in_cookies(&state, code, &done),
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
