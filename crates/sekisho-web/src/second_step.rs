//! The second step of a login (REQ-2FA-*). After the first factor (a password today), the policy
//! (`sekisho_core::two_factor::decide`) says whether the login is complete, or which step comes:
//! enrolment or verification, kept as a challenge row for the browser session. The pages of that
//! step are in `routes::two_factor`; this module holds what they and the login share.
//!
//! Invariant: a browser session holds a signed-in user only after every step the policy asked
//! for; until then the user is only in the challenge. Completion replaces the session (new cookie
//! value and `sid`), as a password login does.

use crate::i18n::Lang;
use crate::session;
use crate::AppState;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sekisho_core::model::{Brand, User};
use sekisho_core::oauth::Amr;
use sekisho_core::two_factor::{
    decide, Ask, BrowserTrust, Decision, Facts, Network, Waived, CHALLENGE_TTL, MAX_SMS_PER_DAY,
    MAX_SMS_SENDS, SMS_CODE_TTL,
};
use sekisho_crypto::second_factor::{hash_sms_code, new_sms_code};
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_oidc::{authorize, ErrorCode, OAuthError};
use sekisho_store::{ChallengeRecord, SessionRecord};

/// The cookie that identifies a browser the user asked to remember (a random value; its hash is
/// the key of `trusted_browsers`). It says nothing by itself: trust is per user, in the database.
pub const BROWSER_COOKIE: &str = "sekisho_browser";
/// Browsers cap cookie lifetimes at 400 days; trust itself ends 30 days after the last login.
const BROWSER_COOKIE_MAX_AGE_DAYS: i64 = 400;

/// Where a login that did not complete starts again (the login page it came from).
pub fn login_again(code: &str, next: &str) -> String {
    match next.strip_prefix("ar:") {
        Some(ar) => format!(
            "/{code}/login?ar={}",
            url::form_urlencoded::byte_serialize(ar.as_bytes()).collect::<String>()
        ),
        None if next == "account" => format!("/{code}/account/login"),
        None => format!("/{code}/login"),
    }
}

/// Where a login continues once complete, as kept in the challenge (`ar:ID`, `account`, ``).
pub fn destination(code: &str, next: &str) -> String {
    match next.strip_prefix("ar:") {
        Some(ar) => format!(
            "/{code}/authorize/continue?ar={}",
            url::form_urlencoded::byte_serialize(ar.as_bytes()).collect::<String>()
        ),
        None if next == "account" => format!("/{code}/account"),
        None => format!("/{code}/signed-in"),
    }
}

/// What to do after the first factor.
pub enum AfterFirstFactor {
    /// Signed in: go to `location`, setting `cookies`.
    SignedIn {
        location: String,
        cookies: Vec<Cookie<'static>>,
    },
    /// A second step was started: go to the 2FA page with the session's new cookie.
    SecondStep {
        location: String,
        cookies: Vec<Cookie<'static>>,
    },
    /// The user is disabled or their contract is cancelled or its trial ended: no login (issue 6).
    ContractEnded,
    /// The client requires two factors this user cannot give (`unmet_authentication_requirements`):
    /// the RP's error URL for an authorization request, else `None` (an error page).
    Unmet { rp_error_url: Option<String> },
}

/// The first factor succeeded for `user` in browser session `session`: asks the policy and either
/// signs in or starts the second step. `step_up` is for a signed-in session whose client now
/// requires two factors.
#[allow(clippy::too_many_arguments)]
pub async fn after_first_factor(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    session: &SessionRecord,
    user: &User,
    amr: &[&str],
    next: &str,
) -> Result<AfterFirstFactor, OAuthError> {
    let op = &state.op;
    let code = brand.code.as_str();
    let pending = match next.strip_prefix("ar:") {
        Some(ar) => authorize::find(op, code, ar, &session.sid).await?,
        None => None,
    };
    let client_requires_two_factors = pending
        .as_ref()
        .is_some_and(|p| p.params.requires_two_factors());
    let contract = op
        .store
        .find_contract(&user.contract_id)
        .await?
        .ok_or_else(|| OAuthError::server("user without contract"))?;
    // The account menu stays open to an ended trial's contractor for the plan change.
    let may = if next == "account" {
        user.may_open_menu(&contract, op.now())
    } else {
        user.may_use_service(&contract, op.now())
    };
    if !may {
        crate::signin::audit(state, "login.refused.contract_ended", brand, Some(&user.id)).await;
        return Ok(AfterFirstFactor::ContractEnded);
    }
    let factor = op.store.find_second_factor(&user.id).await?;
    let browser = browser_hash(headers);
    let trust = match &browser {
        Some(h) => op.store.browser_last_login(h, &user.id).await?,
        None => None,
    }
    .map_or(BrowserTrust::Never, |last_login| BrowserTrust::Remembered {
        last_login,
    });
    let decision = decide(Facts {
        login_method: user.login_method,
        setting: contract.two_factor,
        route: contract.access_route,
        network: Network::Internet,
        trust,
        enrolled: factor.is_some(),
        client_requires_two_factors,
        now: op.now(),
    });
    let (mode, ask) = match decision {
        Decision::Skip(waived) => {
            if let (Waived::BrowserRemembered, Some(h)) = (waived, &browser) {
                op.store.remember_browser(h, &user.id, op.now()).await?;
            }
            let amr: Vec<String> = amr.iter().map(|a| (*a).to_owned()).collect();
            let (location, cookies) = sign_in(state, code, session, &user.id, &amr, next).await?;
            return Ok(AfterFirstFactor::SignedIn { location, cookies });
        }
        Decision::Unmet => {
            let err = OAuthError::new(
                ErrorCode::UnmetAuthenticationRequirements,
                "the client requires two factors, which this user's login method cannot give",
            );
            let rp_error_url = match pending {
                Some(p) => Some(authorize::fail(op, &p, &err).await?.to_string()),
                None => None,
            };
            return Ok(AfterFirstFactor::Unmet { rp_error_url });
        }
        Decision::Enrol(ask) => ("enrol", ask),
        Decision::Verify(ask) => ("verify", ask),
    };
    // The step begins in a new session (cookie value, sid, CSRF token): a cookie planted in the
    // browser before the password was typed can neither watch the enrolment nor finish it.
    let (mut rotated, value) = session::new_session(state, code, None);
    rotated.user_id = session.user_id.clone();
    rotated.auth_time = session.auth_time;
    rotated.amr = session.amr.clone();
    op.store.rotate_session(session, &rotated).await?;
    let cookies = vec![session::cookie(state, code, value)];
    let now = op.now();
    let mut challenge = ChallengeRecord {
        sid: rotated.sid.clone(),
        user_id: user.id.clone(),
        amr: amr.join(" "),
        next: next.to_owned(),
        mode: mode.to_owned(),
        reason: match ask {
            Ask::NewBrowser => "new_browser",
            Ask::NotUsedFor30Days => "not_used_30_days",
            Ask::RequestedByClient => "client",
        }
        .to_owned(),
        stage: "code".into(),
        // Enrolment starts on the SMS screen, as in the manuals (REQ-2FA-3).
        method: factor.as_ref().map(|f| f.method.clone()),
        phone: factor.as_ref().and_then(|f| f.phone.clone()),
        totp_secret: None,
        code_hash: None,
        code_expires_at: None,
        attempts: 0,
        sends: 0,
        send_failed: false,
        remember: false,
        proven: None,
        created_at: now,
        expires_at: now + CHALLENGE_TTL,
    };
    if mode == "verify" && challenge.method.as_deref() == Some("sms") {
        send_sms_code(state, brand, lang, &mut challenge).await?;
    } else {
        op.store.save_challenge(&challenge).await?;
    }
    crate::signin::audit(state, &format!("2fa.{mode}.started"), brand, Some(&user.id)).await;
    Ok(AfterFirstFactor::SecondStep {
        location: format!("/{code}/2fa"),
        cookies,
    })
}

/// Why sending a code did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum SmsOutcome {
    Sent,
    /// The gateway refused or could not be reached (REQ-2FA-9): the page says so, with the hint.
    Failed,
    /// The challenge used all its sends, or the user the day's.
    TooManySends,
}

/// Sends a fresh code to the challenge's phone, and saves the challenge.
pub async fn send_sms_code(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    challenge: &mut ChallengeRecord,
) -> Result<SmsOutcome, OAuthError> {
    let Some(phone) = challenge.phone.clone() else {
        return Err(OAuthError::server("SMS challenge without a phone"));
    };
    if challenge.sends >= MAX_SMS_SENDS {
        return Ok(SmsOutcome::TooManySends);
    }
    let now = state.op.now();
    let today = state
        .op
        .store
        .record_sms_send(&challenge.user_id, now, now - 24 * 3600)
        .await?;
    if today > MAX_SMS_PER_DAY {
        tracing::warn!("SMS cap per user reached");
        // No code and no resend: the page says the limit is reached.
        challenge.sends = MAX_SMS_SENDS;
        challenge.send_failed = true;
        challenge.code_hash = None;
        state.op.store.save_challenge(challenge).await?;
        return Ok(SmsOutcome::TooManySends);
    }
    let code = new_sms_code();
    challenge.code_hash = Some(hash_sms_code(&code));
    challenge.code_expires_at = Some(now + SMS_CODE_TTL);
    challenge.sends += 1;
    let text = sms_text(brand, lang, &code);
    let outcome = match state.sms.send(&phone, &text).await {
        Ok(()) => SmsOutcome::Sent,
        Err(e) => {
            tracing::warn!(error = %e, "SMS code not delivered");
            SmsOutcome::Failed
        }
    };
    challenge.send_failed = outcome == SmsOutcome::Failed;
    state.op.store.save_challenge(challenge).await?;
    Ok(outcome)
}

fn sms_text(brand: &Brand, lang: Lang, code: &str) -> String {
    match lang {
        Lang::En => format!(
            "[{}] Your verification code is {code}. It is valid for 5 minutes. Never share it.",
            brand.name
        ),
        Lang::Ja => format!(
            "{}認証コード: {code}\nこのコードの有効期限は5分です。他人に教えないでください。",
            brand.mail_prefix()
        ),
    }
}

/// Ends the second step: the browser session becomes the user's (with every proven factor), the
/// browser is remembered if asked. Returns where to go and the cookies to set.
pub async fn finish(
    state: &AppState,
    code: &str,
    session: &SessionRecord,
    challenge: &ChallengeRecord,
) -> Result<(String, Vec<Cookie<'static>>), OAuthError> {
    let op = &state.op;
    let mut amr: Vec<String> = challenge
        .amr
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(p) = &challenge.proven {
        if !amr.contains(p) {
            amr.push(p.clone());
        }
    }
    op.store.delete_challenge(&challenge.sid).await?;
    let mut cookies = Vec::new();
    if challenge.remember {
        // Always a new value: a value planted in the browser must not become trusted.
        let value = random_token();
        op.store
            .remember_browser(&hash_token(&value), &challenge.user_id, op.now())
            .await?;
        cookies.push(browser_cookie(state, code, value));
    }
    let (location, more) = sign_in(
        state,
        code,
        session,
        &challenge.user_id,
        &amr,
        &challenge.next,
    )
    .await?;
    cookies.extend(more);
    Ok((location, cookies))
}

/// Replaces the browser session with a signed-in one for `user_id` and returns where to go.
async fn sign_in(
    state: &AppState,
    code: &str,
    session: &SessionRecord,
    user_id: &str,
    amr: &[String],
    next: &str,
) -> Result<(String, Vec<Cookie<'static>>), OAuthError> {
    debug_assert!(amr.iter().all(|a| Amr::parse(a).is_some()));
    state.op.store.reset_login_failures(user_id).await?;
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    let (new, value) = session::new_session(state, code, Some((user_id, &amr)));
    state
        .op
        .store
        .replace_session(&session.id_hash, &new, next.strip_prefix("ar:"))
        .await?;
    Ok((
        destination(code, next),
        vec![session::cookie(state, code, value)],
    ))
}

fn browser_hash(headers: &HeaderMap) -> Option<String> {
    session::cookie_named(headers, BROWSER_COOKIE).map(|v| hash_token(&v))
}

fn browser_cookie(state: &AppState, code: &str, value: String) -> Cookie<'static> {
    Cookie::build((BROWSER_COOKIE, value))
        .path(format!("/{code}"))
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(BROWSER_COOKIE_MAX_AGE_DAYS))
        .build()
}
