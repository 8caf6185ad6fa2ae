//! The pages of two-step verification (2段階認証, REQ-2FA-2 … -5, -9), under `/{brand}/2fa`:
//! enrolment by SMS (the first screen, as in the manuals) or authenticator app, verification at
//! later logins, "lost your device?" with the recovery code, and the recovery-code screen.
//!
//! Each handler loads the browser session's challenge (`second_step`), acts, and either shows the
//! step's page again (with a message) or moves the challenge on. Wrong codes count per challenge
//! (five, then the login starts again) and towards the account lock.

use super::{login::csrf_failure, page_or_error, see_other, with_cookies, BrandPage};
use crate::i18n::{message, Lang};
use crate::second_step::{self, SmsOutcome};
use crate::session;
use crate::signin;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use sekisho_core::model::{Brand, User};
use sekisho_core::oauth::Amr;
use sekisho_core::phone::{InvalidPhone, PhoneNumber};
use sekisho_core::two_factor::MAX_CODE_ATTEMPTS;
use sekisho_crypto::second_factor::{
    hash_recovery_code, hash_sms_code, new_recovery_code, new_totp_secret, totp_matching_step,
    totp_uri,
};
use sekisho_oidc::{authorize, OAuthError};
use sekisho_store::{ChallengeRecord, SecondFactorRecord, SessionRecord};
use serde::Deserialize;

/// The browser session, its challenge and the user, in the page's language.
struct Step {
    session: SessionRecord,
    challenge: ChallengeRecord,
    user: User,
    lang: Lang,
}

async fn load(
    state: &AppState,
    brand: &Brand,
    headers: &HeaderMap,
    csrf: Option<Option<&str>>,
) -> Result<Result<Step, Response>, OAuthError> {
    let lang0 = super::lang(None, headers);
    let code = brand.code.as_str();
    let session = match csrf {
        Some(token) => session::with_csrf(state, code, headers, token).await?,
        None => session::current(state, code, headers).await?,
    };
    let Some(session) = session else {
        return Ok(Err(match csrf {
            Some(_) => csrf_failure(state, lang0, brand),
            None => expired(state, lang0, brand, ""),
        }));
    };
    let op = &state.op;
    let Some(challenge) = op.store.find_challenge(&session.sid, op.now()).await? else {
        return Ok(Err(expired(state, lang0, brand, "")));
    };
    let Some(user) = op.store.find_user(&challenge.user_id).await? else {
        return Ok(Err(expired(state, lang0, brand, "")));
    };
    let ui_locales = match challenge.next.strip_prefix("ar:") {
        Some(ar) => authorize::find(op, code, ar, &session.sid)
            .await?
            .and_then(|p| p.params.ui_locales),
        None => None,
    };
    Ok(Ok(Step {
        lang: super::lang(ui_locales.as_deref(), headers),
        session,
        challenge,
        user,
    }))
}

/// No step in progress: it expired, was completed, or the browser never started one.
fn expired(state: &AppState, lang: Lang, brand: &Brand, next: &str) -> Response {
    let login = second_step::login_again(brand.code.as_str(), next);
    state.pages.message(
        StatusCode::BAD_REQUEST,
        lang,
        Some(brand),
        "tf_title",
        "tf_expired",
        Some(&login),
    )
}

/// The page of the challenge's current step, with an optional error or notice.
async fn show(
    state: &AppState,
    brand: &Brand,
    step: &Step,
    error: Option<&str>,
) -> Result<Response, OAuthError> {
    let ch = &step.challenge;
    let lang = step.lang;
    if ch.stage == "recovery" {
        // The code was shown once and is not kept: seeing one again means a new one, by POST.
        return Ok(state.pages.render(
            StatusCode::OK,
            "two_factor_recovery_again.html",
            lang,
            Some(brand),
            context! { csrf_token => step.session.csrf_token },
        ));
    }
    let enrol = ch.mode == "enrol";
    let totp = ch.method.as_deref() == Some("totp");
    let common = context! {
        csrf_token => step.session.csrf_token,
        enrol => enrol,
        requested_by_client => ch.reason == "client",
        error => error.map(|k| message(lang, k)),
    };
    if enrol && totp {
        let secret = ch.totp_secret.clone().unwrap_or_default();
        let uri =
            totp_uri(&secret, &brand.name, step.user.email.as_str()).map_err(OAuthError::server)?;
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
            context! { qr_svg => Value::from_safe_string(svg), secret => spaced(&secret), otpauth_uri => uri, ..common },
        ));
    }
    if enrol && ch.phone.is_none() {
        return Ok(state.pages.render(
            StatusCode::OK,
            "two_factor_phone.html",
            lang,
            Some(brand),
            common,
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

fn recovery_page(
    state: &AppState,
    brand: &Brand,
    step: &Step,
    shown: &str,
    replaced: bool,
    error: Option<&str>,
) -> Response {
    state.pages.render(
        StatusCode::OK,
        "two_factor_recovery.html",
        step.lang,
        Some(brand),
        context! {
            csrf_token => step.session.csrf_token,
            recovery_code => shown,
            replaced => replaced,
            error => error.map(|k| message(step.lang, k)),
        },
    )
}

/// A new recovery code replaces the one shown (which is not kept), and is shown once.
async fn reissue(
    state: &AppState,
    brand: &Brand,
    step: &Step,
    error: Option<&str>,
) -> Result<Response, OAuthError> {
    let (shown, hash) = new_recovery_code();
    state
        .op
        .store
        .set_recovery_code(&step.challenge.user_id, &hash)
        .await?;
    Ok(recovery_page(state, brand, step, &shown, false, error))
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
        let step = match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
            Ok(s) => s,
            Err(page) => return Ok(page),
        };
        if step.challenge.stage != "recovery" {
            return show(&state, &brand, &step, None).await;
        }
        reissue(&state, &brand, &step, None).await
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
        let step = match load(&state, &brand, &headers, None).await? {
            Ok(s) => s,
            Err(page) => return Ok(page),
        };
        show(&state, &brand, &step, None).await
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
        let mut step = match load(&state, &brand, &headers, Some(q.csrf_token.as_deref())).await? {
            Ok(s) => s,
            Err(page) => return Ok(page),
        };
        let ch = &mut step.challenge;
        if ch.mode == "enrol" && ch.stage == "code" {
            match q.method.as_str() {
                "totp" if ch.method.as_deref() != Some("totp") => {
                    ch.method = Some("totp".into());
                    ch.totp_secret = Some(new_totp_secret());
                    ch.phone = None;
                    ch.code_hash = None;
                    ch.code_expires_at = None;
                    state.op.store.save_challenge(ch).await?;
                }
                "sms" if ch.method.as_deref() == Some("totp") => {
                    ch.method = Some("sms".into());
                    ch.totp_secret = None;
                    ch.phone = None;
                    ch.code_hash = None;
                    ch.code_expires_at = None;
                    state.op.store.save_challenge(ch).await?;
                }
                _ => {}
            }
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
        let mut step =
            match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
                Ok(s) => s,
                Err(page) => return Ok(page),
            };
        if step.challenge.mode != "enrol" || step.challenge.stage != "code" {
            return show(&state, &brand, &step, None).await;
        }
        let number = match PhoneNumber::parse(&form.phone) {
            Ok(n) => n,
            Err(e) => {
                let key = match e {
                    InvalidPhone::Malformed => "tf_phone_invalid",
                    InvalidPhone::NotMobile => "tf_phone_not_mobile",
                };
                step.challenge.phone = None;
                return show(&state, &brand, &step, Some(key)).await;
            }
        };
        step.challenge.method = Some("sms".into());
        step.challenge.phone = Some(number.as_e164().to_owned());
        step.challenge.totp_secret = None;
        send(&state, &brand, &mut step).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Sends a code and shows the code page (or why no code was sent).
async fn send(state: &AppState, brand: &Brand, step: &mut Step) -> Result<Response, OAuthError> {
    match second_step::send_sms_code(state, brand, step.lang, &mut step.challenge).await? {
        SmsOutcome::Sent => Ok(see_other(&format!("/{}/2fa", brand.code), &[])),
        SmsOutcome::Failed => show(state, brand, step, Some("tf_sms_failed")).await,
        SmsOutcome::TooManySends => {
            state.op.store.delete_challenge(&step.challenge.sid).await?;
            Ok(restart(state, brand, step, "tf_too_many_sends"))
        }
    }
}

/// The step is over without success: the user starts again from the login page.
fn restart(state: &AppState, brand: &Brand, step: &Step, key: &str) -> Response {
    let lang = step.lang;
    let login = second_step::login_again(brand.code.as_str(), &step.challenge.next);
    state.pages.message(
        StatusCode::FORBIDDEN,
        lang,
        Some(brand),
        "tf_title",
        key,
        Some(&login),
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// `POST /{brand}/2fa/resend`: another SMS code (limited, REQ-2FA-9).
pub async fn resend(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        let mut step =
            match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
                Ok(s) => s,
                Err(page) => return Ok(page),
            };
        if step.challenge.phone.is_none() || step.challenge.stage != "code" {
            return show(&state, &brand, &step, None).await;
        }
        send(&state, &brand, &mut step).await
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

/// Whether a presented code proves the factor.
enum Check {
    Ok { totp_step: Option<i64> },
    Wrong(&'static str),
}

/// `POST /{brand}/2fa/code`: the 6-digit code, at enrolment or verification.
pub async fn code(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        let mut step =
            match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
                Ok(s) => s,
                Err(page) => return Ok(page),
            };
        let ch = &step.challenge;
        let sms = ch.method.as_deref() != Some("totp");
        if ch.stage != "code"
            || (ch.mode == "enrol" && (ch.method.is_none() || (sms && ch.phone.is_none())))
        {
            return show(&state, &brand, &step, None).await;
        }
        let op = &state.op;
        let now = op.now();
        if sms && !(ch.code_hash.is_some() && ch.code_expires_at.is_some_and(|at| at > now)) {
            return show(&state, &brand, &step, Some("tf_code_expired")).await;
        }
        let attempts = match before_testing(&state, &brand, &step).await? {
            Ok(n) => n,
            Err(page) => return Ok(page),
        };
        let ch = &step.challenge;
        let check = if sms {
            match op
                .store
                .consume_challenge_code(&ch.sid, &hash_sms_code(&form.code), now)
                .await?
            {
                true => Check::Ok { totp_step: None },
                false => Check::Wrong("tf_code_wrong"),
            }
        } else {
            let secret = match ch.mode.as_str() {
                "enrol" => ch.totp_secret.clone(),
                _ => op
                    .store
                    .find_second_factor(&ch.user_id)
                    .await?
                    .and_then(|f| f.totp_secret),
            };
            match secret.and_then(|s| totp_matching_step(&s, &form.code, now)) {
                None => Check::Wrong("tf_code_wrong"),
                Some(step) if ch.mode == "enrol" => Check::Ok {
                    totp_step: Some(step),
                },
                Some(step) => match op.store.use_totp_step(&ch.user_id, step).await? {
                    true => Check::Ok {
                        totp_step: Some(step),
                    },
                    false => Check::Wrong("tf_code_used"),
                },
            }
        };
        match check {
            Check::Wrong(key) => wrong(&state, &brand, &step, attempts, key).await,
            Check::Ok { totp_step } => {
                let method = step
                    .challenge
                    .method
                    .clone()
                    .unwrap_or_else(|| "sms".into());
                step.challenge.proven = Some(match method.as_str() {
                    "totp" => Amr::Otp.as_str().to_owned(),
                    _ => Amr::Sms.as_str().to_owned(),
                });
                step.challenge.remember = form.remember.is_some();
                if step.challenge.mode == "enrol" {
                    let (shown, hash) = new_recovery_code();
                    op.store
                        .enrol_second_factor(&SecondFactorRecord {
                            user_id: step.user.id.clone(),
                            method: method.clone(),
                            phone: step.challenge.phone.clone().filter(|_| method == "sms"),
                            totp_secret: step
                                .challenge
                                .totp_secret
                                .clone()
                                .filter(|_| method == "totp"),
                            last_totp_step: totp_step,
                            recovery_hash: hash,
                            created_at: now,
                        })
                        .await?;
                    step.challenge.stage = "recovery".into();
                    op.store.save_challenge(&step.challenge).await?;
                    signin::audit_with(
                        &state,
                        "2fa.enrolled",
                        &brand,
                        Some(&step.user.id),
                        serde_json::json!({ "method": method }),
                    )
                    .await;
                    return Ok(recovery_page(&state, &brand, &step, &shown, false, None));
                }
                signin::audit_with(
                    &state,
                    "2fa.verified",
                    &brand,
                    Some(&step.user.id),
                    serde_json::json!({ "method": method }),
                )
                .await;
                let (location, cookies) = second_step::finish(
                    &state,
                    brand.code.as_str(),
                    &step.session,
                    &step.challenge,
                )
                .await?;
                Ok(see_other(&location, &cookies))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Before a code is tested: takes one of the challenge's attempts and counts a failure towards
/// the account lock (the completed login resets it), so that parallel guesses stay within both
/// limits. Returns the attempts used, or the page that ends the step.
async fn before_testing(
    state: &AppState,
    brand: &Brand,
    step: &Step,
) -> Result<Result<i64, Response>, OAuthError> {
    let op = &state.op;
    let Some(attempts) = op
        .store
        .take_challenge_attempt(&step.challenge.sid, MAX_CODE_ATTEMPTS)
        .await?
    else {
        op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(Err(restart(state, brand, step, "tf_too_many_attempts")));
    };
    if signin::count_failure(state, brand, &step.user, step.lang).await? {
        op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(Err(restart(state, brand, step, "account_locked")));
    }
    Ok(Ok(attempts))
}

/// A wrong code or recovery code (already counted by [`before_testing`]): the page again, or the
/// end of the step after the last attempt.
async fn wrong(
    state: &AppState,
    brand: &Brand,
    step: &Step,
    attempts: i64,
    key: &'static str,
) -> Result<Response, OAuthError> {
    signin::audit(state, "2fa.failed", brand, Some(&step.user.id)).await;
    if attempts >= MAX_CODE_ATTEMPTS {
        state.op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(restart(state, brand, step, "tf_too_many_attempts"));
    }
    if key == "tf_recovery_wrong" {
        return Ok(recovery_entry(state, brand, step, Some(key)));
    }
    show(state, brand, step, Some(key)).await
}

fn recovery_entry(state: &AppState, brand: &Brand, step: &Step, error: Option<&str>) -> Response {
    state.pages.render(
        StatusCode::OK,
        "two_factor_lost_device.html",
        step.lang,
        Some(brand),
        context! {
            csrf_token => step.session.csrf_token,
            error => error.map(|k| message(step.lang, k)),
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
        let step = match load(&state, &brand, &headers, None).await? {
            Ok(s) => s,
            Err(page) => return Ok(page),
        };
        if step.challenge.mode != "verify" || step.challenge.stage != "code" {
            return show(&state, &brand, &step, None).await;
        }
        Ok(recovery_entry(&state, &brand, &step, None))
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
        let mut step =
            match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
                Ok(s) => s,
                Err(page) => return Ok(page),
            };
        if step.challenge.mode != "verify" || step.challenge.stage != "code" {
            return show(&state, &brand, &step, None).await;
        }
        let attempts = match before_testing(&state, &brand, &step).await? {
            Ok(n) => n,
            Err(page) => return Ok(page),
        };
        let (shown, new_hash) = new_recovery_code();
        let rotated = state
            .op
            .store
            .rotate_recovery_code(
                &step.user.id,
                &hash_recovery_code(&form.recovery_code),
                &new_hash,
            )
            .await?;
        if !rotated {
            return wrong(&state, &brand, &step, attempts, "tf_recovery_wrong").await;
        }
        step.challenge.stage = "recovery".into();
        step.challenge.proven = Some(Amr::Otp.as_str().to_owned());
        state.op.store.save_challenge(&step.challenge).await?;
        signin::audit(
            &state,
            "2fa.recovery_code_used",
            &brand,
            Some(&step.user.id),
        )
        .await;
        Ok(recovery_page(&state, &brand, &step, &shown, true, None))
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
        let step = match load(&state, &brand, &headers, Some(form.csrf_token.as_deref())).await? {
            Ok(s) => s,
            Err(page) => return Ok(page),
        };
        if step.challenge.stage != "recovery" {
            return show(&state, &brand, &step, None).await;
        }
        if form.saved.is_none() {
            return reissue(&state, &brand, &step, Some("tf_recovery_saved_required")).await;
        }
        let (location, cookies) =
            second_step::finish(&state, brand.code.as_str(), &step.session, &step.challenge)
                .await?;
        let res = state.pages.render(
            StatusCode::OK,
            "two_factor_done.html",
            step.lang,
            Some(&brand),
            context! { location => location },
        );
        Ok(with_cookies(res, &cookies))
    };
    page_or_error(&state, lang, &brand, result.await)
}
