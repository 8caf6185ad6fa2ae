//! The second step of a login (2段階認証, REQ-2FA-2 … -6, -9): begun by the pipeline when the
//! policy asks for it, kept as a challenge row for the browser session, ended by
//! [`finish`], which signs in.
//!
//! Enrolment and verification are kept apart, as Keycloak keeps an authenticator apart from its
//! required action: [`enrol_with_code`] registers a factor (SMS number or authenticator secret)
//! and shows the recovery code; [`verify_code`] and [`verify_recovery_code`] prove a registered
//! one. Both spend one of the challenge's five attempts and count a failure towards the account
//! lock BEFORE the code is tested ([`take_attempt`]), so parallel guesses stay within both
//! limits; only the completed login resets the count.
//!
//! Invariant: a browser session holds a signed-in user only after every step; until then the
//! user is only in the challenge. The session is rotated when the step begins (a cookie planted
//! before the password cannot watch or finish it) and again when it ends.

use crate::audit::{audit, audit_with};
use crate::login::{sign_in, LoginContext, SignedIn};
use crate::session::{new_session, SessionToken};
use crate::signin::count_failure;
use crate::{App, Result};
use sekisho_core::model::{Brand, User};
use sekisho_core::oauth::{Amr, Lang};
use sekisho_core::phone::{InvalidPhone, PhoneNumber};
use sekisho_core::secret::Secret;
use sekisho_core::two_factor::{
    Ask, ChallengeMode, ChallengeStage, SecondFactorMethod, CHALLENGE_TTL, MAX_CODE_ATTEMPTS,
    MAX_SMS_PER_DAY, MAX_SMS_SENDS, SMS_CODE_TTL,
};
use sekisho_crypto::second_factor::{
    hash_recovery_code, hash_sms_code, new_recovery_code, new_sms_code, new_totp_secret,
    totp_matching_step,
};
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_oidc::OAuthError;
use sekisho_store::{ChallengeRecord, SecondFactorRecord, SessionRecord};

/// The second step the policy asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    Enrol(Ask),
    Verify(Ask),
}

/// A second step in progress: the browser session, its challenge and the user.
#[derive(Debug, Clone)]
pub struct Step {
    pub session: SessionRecord,
    pub challenge: ChallengeRecord,
    pub user: User,
}

/// Starts the second step for `user` in a new session; returns the new session's value.
pub(crate) async fn begin(
    app: &App,
    ctx: &LoginContext<'_>,
    user: &User,
    amr: Vec<Amr>,
    step: Begin,
    factor: Option<SecondFactorRecord>,
) -> Result<SessionToken> {
    let op = &app.op;
    let code = ctx.brand.code.as_str();
    let (mode, ask) = match step {
        Begin::Enrol(ask) => (ChallengeMode::Enrol, ask),
        Begin::Verify(ask) => (ChallengeMode::Verify, ask),
    };
    // The step begins in a new session (cookie value, sid, CSRF token): a cookie planted in the
    // browser before the password was typed can neither watch the enrolment nor finish it.
    let (mut rotated, value) = new_session(app, code, None);
    rotated.user_id = ctx.session.user_id.clone();
    rotated.auth_time = ctx.session.auth_time;
    rotated.amr = ctx.session.amr.clone();
    // A signed-in session stepping up keeps a signed-in session's lifetime.
    rotated.expires_at =
        rotated.created_at + crate::session::lifetime(app, rotated.user_id.is_some());
    op.store.rotate_session(ctx.session, &rotated).await?;
    let now = app.now();
    let mut challenge = ChallengeRecord {
        sid: rotated.sid.clone(),
        user_id: user.id.clone(),
        amr,
        next: ctx.then.clone(),
        mode,
        reason: ask,
        stage: ChallengeStage::Code,
        // Enrolment starts on the SMS screen, as in the manuals (REQ-2FA-3).
        method: factor.as_ref().map(|f| f.method),
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
    if mode == ChallengeMode::Verify && challenge.method == Some(SecondFactorMethod::Sms) {
        send_sms_code(app, ctx.brand, ctx.lang, &mut challenge).await?;
    } else {
        op.store.save_challenge(&challenge).await?;
    }
    audit(
        app,
        &format!("2fa.{mode}.started"),
        ctx.brand,
        Some(&user.id),
    )
    .await;
    Ok(value)
}

/// The step in progress in `session`, if any (it may have expired or been completed).
pub async fn load(app: &App, session: SessionRecord) -> Result<Option<Step>> {
    let op = &app.op;
    let Some(challenge) = op.store.find_challenge(&session.sid, app.now()).await? else {
        return Ok(None);
    };
    let Some(user) = op.store.find_user(&challenge.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Step {
        session,
        challenge,
        user,
    }))
}

/// What sending a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsOutcome {
    Sent,
    /// The gateway refused or could not be reached (REQ-2FA-9): the page says so, with the hint.
    Failed,
    /// The challenge used all its sends, or the user the day's.
    TooManySends,
}

/// Sends a fresh code to the challenge's phone, and saves the challenge.
pub async fn send_sms_code(
    app: &App,
    brand: &Brand,
    lang: Lang,
    challenge: &mut ChallengeRecord,
) -> Result<SmsOutcome> {
    let Some(phone) = challenge.phone.clone() else {
        return Err(OAuthError::server("SMS challenge without a phone"));
    };
    if challenge.sends >= MAX_SMS_SENDS {
        return Ok(SmsOutcome::TooManySends);
    }
    let now = app.now();
    let today = app
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
        app.op.store.save_challenge(challenge).await?;
        return Ok(SmsOutcome::TooManySends);
    }
    let code = new_sms_code();
    challenge.code_hash = Some(hash_sms_code(&code));
    challenge.code_expires_at = Some(now + SMS_CODE_TTL);
    challenge.sends += 1;
    let outcome = match app.sms.send(&phone, &sms_text(brand, lang, &code)).await {
        Ok(()) => SmsOutcome::Sent,
        Err(e) => {
            tracing::warn!(error = %e, "SMS code not delivered");
            SmsOutcome::Failed
        }
    };
    challenge.send_failed = outcome == SmsOutcome::Failed;
    app.op.store.save_challenge(challenge).await?;
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

/// Enrolment by the other factor (the manuals' 「QRコードでの認証はこちら」 and back). Switching
/// clears any code sent; a new authenticator secret is made for TOTP.
pub async fn choose_method(app: &App, step: &mut Step, method: SecondFactorMethod) -> Result<()> {
    let ch = &mut step.challenge;
    if ch.mode != ChallengeMode::Enrol || ch.stage != ChallengeStage::Code {
        return Ok(());
    }
    let current = ch.method.unwrap_or(SecondFactorMethod::Sms);
    if current == method && (method == SecondFactorMethod::Sms || ch.totp_secret.is_some()) {
        return Ok(());
    }
    ch.method = Some(method);
    ch.totp_secret = (method == SecondFactorMethod::Totp).then(|| Secret::new(new_totp_secret()));
    ch.phone = None;
    ch.code_hash = None;
    ch.code_expires_at = None;
    app.op.store.save_challenge(ch).await?;
    Ok(())
}

/// SMS enrolment, back to the number (「電話番号を変更する」 on the code page, ISSUE-16): the number
/// and the code sent to it are forgotten, so that the phone page asks again. The count of codes
/// sent stays with the challenge, so changing the number does not reset the SMS limits. Nothing
/// happens outside SMS enrolment at the code stage.
pub async fn change_phone(app: &App, step: &mut Step) -> Result<()> {
    let ch = &mut step.challenge;
    if ch.mode != ChallengeMode::Enrol
        || ch.stage != ChallengeStage::Code
        || ch.method == Some(SecondFactorMethod::Totp)
        || ch.phone.is_none()
    {
        return Ok(());
    }
    ch.phone = None;
    ch.code_hash = None;
    ch.code_expires_at = None;
    ch.send_failed = false;
    app.op.store.save_challenge(ch).await?;
    Ok(())
}

/// What a number entered at SMS enrolment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneOutcome {
    /// The step is not at SMS enrolment: show the current page.
    NotNow,
    Invalid(InvalidPhone),
    Sms(SmsOutcome),
}

/// SMS enrolment: the number; sends the first code.
pub async fn set_phone(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &mut Step,
    phone: &str,
) -> Result<PhoneOutcome> {
    if step.challenge.mode != ChallengeMode::Enrol || step.challenge.stage != ChallengeStage::Code {
        return Ok(PhoneOutcome::NotNow);
    }
    let number = match PhoneNumber::parse(phone) {
        Ok(n) => n,
        Err(e) => {
            step.challenge.phone = None;
            return Ok(PhoneOutcome::Invalid(e));
        }
    };
    step.challenge.method = Some(SecondFactorMethod::Sms);
    step.challenge.phone = Some(number.as_e164().to_owned());
    step.challenge.totp_secret = None;
    let sent = send_sms_code(app, brand, lang, &mut step.challenge).await?;
    if sent == SmsOutcome::TooManySends {
        app.op.store.delete_challenge(&step.challenge.sid).await?;
    }
    Ok(PhoneOutcome::Sms(sent))
}

/// Another SMS code (limited, REQ-2FA-9). At the limit the step ends. `None` when the step is
/// not waiting for an SMS code.
pub async fn resend(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &mut Step,
) -> Result<Option<SmsOutcome>> {
    if step.challenge.phone.is_none() || step.challenge.stage != ChallengeStage::Code {
        return Ok(None);
    }
    let sent = send_sms_code(app, brand, lang, &mut step.challenge).await?;
    if sent == SmsOutcome::TooManySends {
        app.op.store.delete_challenge(&step.challenge.sid).await?;
    }
    Ok(Some(sent))
}

/// Why a code was not accepted (the page shows it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    Code,
    /// A TOTP code already used (a step at or before the last accepted one).
    Used,
    /// The SMS code expired (no attempt was spent).
    Expired,
    RecoveryCode,
}

/// Why a second step ended without success: the user starts again from the login page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    TooManyAttempts,
    /// The failures locked the account (REQ-LOCK-1).
    Locked,
    TooManySends,
}

/// What a presented code did.
#[derive(Debug)]
pub enum CodeOutcome {
    /// The step is not waiting for this (another stage or mode): show the current page.
    NotNow,
    /// Enrolled: the recovery code, shown once (REQ-2FA-4).
    Enrolled {
        recovery_code: Secret<String>,
    },
    /// The registered factor was proven: signed in.
    Verified(SignedIn),
    Wrong(Wrong),
    Ended(Ended),
}

/// Takes one of the challenge's attempts and counts a failure towards the account lock before a
/// code is tested (the completed login resets it). The attempts used, or why the step ends (the
/// challenge is then gone).
async fn take_attempt(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &Step,
) -> Result<std::result::Result<i64, Ended>> {
    let op = &app.op;
    let Some(attempts) = op
        .store
        .take_challenge_attempt(&step.challenge.sid, MAX_CODE_ATTEMPTS)
        .await?
    else {
        op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(Err(Ended::TooManyAttempts));
    };
    if count_failure(app, brand, &step.user, lang).await? {
        op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(Err(Ended::Locked));
    }
    Ok(Ok(attempts))
}

/// A wrong code (already counted by [`take_attempt`]): after the last attempt the step ends.
async fn wrong(
    app: &App,
    brand: &Brand,
    step: &Step,
    attempts: i64,
    why: Wrong,
) -> Result<CodeOutcome> {
    audit(app, "2fa.failed", brand, Some(&step.user.id)).await;
    if attempts >= MAX_CODE_ATTEMPTS {
        app.op.store.delete_challenge(&step.challenge.sid).await?;
        return Ok(CodeOutcome::Ended(Ended::TooManyAttempts));
    }
    Ok(CodeOutcome::Wrong(why))
}

/// The method the step uses (an SMS enrolment has none until the number is entered).
fn method_of(ch: &ChallengeRecord) -> SecondFactorMethod {
    ch.method.unwrap_or(SecondFactorMethod::Sms)
}

/// Whether the SMS code of the challenge is still valid (a fresh one must be asked for if not).
fn sms_code_live(app: &App, ch: &ChallengeRecord) -> bool {
    ch.code_hash.is_some() && ch.code_expires_at.is_some_and(|at| at > app.now())
}

/// Enrolment (REQ-2FA-3): the code from the SMS or the authenticator app proves the new factor,
/// which is registered with a new recovery code; the step moves to the recovery-code screen.
pub async fn enrol_with_code(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &mut Step,
    code: &str,
    remember: bool,
) -> Result<CodeOutcome> {
    let method = method_of(&step.challenge);
    let ch = &step.challenge;
    let ready = match method {
        SecondFactorMethod::Sms => ch.phone.is_some(),
        SecondFactorMethod::Totp => ch.totp_secret.is_some(),
    };
    if ch.mode != ChallengeMode::Enrol || ch.stage != ChallengeStage::Code || !ready {
        return Ok(CodeOutcome::NotNow);
    }
    if method == SecondFactorMethod::Sms && !sms_code_live(app, ch) {
        return Ok(CodeOutcome::Wrong(Wrong::Expired));
    }
    let attempts = match take_attempt(app, brand, lang, step).await? {
        Ok(n) => n,
        Err(end) => return Ok(CodeOutcome::Ended(end)),
    };
    let now = app.now();
    let ch = &step.challenge;
    let totp_step = match method {
        SecondFactorMethod::Sms => {
            if !app
                .op
                .store
                .consume_challenge_code(&ch.sid, &hash_sms_code(code), now)
                .await?
            {
                return wrong(app, brand, step, attempts, Wrong::Code).await;
            }
            None
        }
        SecondFactorMethod::Totp => {
            let secret = ch.totp_secret.as_ref().map(|s| s.expose().as_str());
            match secret.and_then(|s| totp_matching_step(s, code, now)) {
                Some(step) => Some(step),
                None => return wrong(app, brand, step, attempts, Wrong::Code).await,
            }
        }
    };
    let (shown, hash) = new_recovery_code();
    app.op
        .store
        .enrol_second_factor(&SecondFactorRecord {
            user_id: step.user.id.clone(),
            method,
            phone: step
                .challenge
                .phone
                .clone()
                .filter(|_| method == SecondFactorMethod::Sms),
            totp_secret: step
                .challenge
                .totp_secret
                .clone()
                .filter(|_| method == SecondFactorMethod::Totp),
            last_totp_step: totp_step,
            recovery_hash: hash,
            created_at: now,
        })
        .await?;
    step.challenge.proven = Some(method.amr());
    step.challenge.remember = remember;
    step.challenge.stage = ChallengeStage::Recovery;
    app.op.store.save_challenge(&step.challenge).await?;
    audit_with(
        app,
        "2fa.enrolled",
        brand,
        Some(&step.user.id),
        serde_json::json!({ "method": method }),
    )
    .await;
    Ok(CodeOutcome::Enrolled {
        recovery_code: Secret::new(shown),
    })
}

/// Verification at a later login (REQ-2FA-2): the code of the registered factor; a TOTP code is
/// accepted once. Proven, the login completes.
pub async fn verify_code(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &mut Step,
    code: &str,
    remember: bool,
) -> Result<CodeOutcome> {
    let method = method_of(&step.challenge);
    let ch = &step.challenge;
    if ch.mode != ChallengeMode::Verify || ch.stage != ChallengeStage::Code || ch.method.is_none() {
        return Ok(CodeOutcome::NotNow);
    }
    if method == SecondFactorMethod::Sms && !sms_code_live(app, ch) {
        return Ok(CodeOutcome::Wrong(Wrong::Expired));
    }
    let attempts = match take_attempt(app, brand, lang, step).await? {
        Ok(n) => n,
        Err(end) => return Ok(CodeOutcome::Ended(end)),
    };
    let op = &app.op;
    let now = app.now();
    let ch = &step.challenge;
    let proven = match method {
        SecondFactorMethod::Sms => op
            .store
            .consume_challenge_code(&ch.sid, &hash_sms_code(code), now)
            .await?
            .then_some(())
            .ok_or(Wrong::Code),
        SecondFactorMethod::Totp => {
            let secret = op
                .store
                .find_second_factor(&ch.user_id)
                .await?
                .and_then(|f| f.totp_secret);
            match secret.and_then(|s| totp_matching_step(s.expose(), code, now)) {
                None => Err(Wrong::Code),
                Some(totp_step) => match op.store.use_totp_step(&ch.user_id, totp_step).await? {
                    true => Ok(()),
                    false => Err(Wrong::Used),
                },
            }
        }
    };
    if let Err(why) = proven {
        return wrong(app, brand, step, attempts, why).await;
    }
    step.challenge.proven = Some(method.amr());
    step.challenge.remember = remember;
    audit_with(
        app,
        "2fa.verified",
        brand,
        Some(&step.user.id),
        serde_json::json!({ "method": method }),
    )
    .await;
    Ok(CodeOutcome::Verified(finish(app, brand, step).await?))
}

/// 「デバイスを紛失した場合」 (REQ-2FA-5): the recovery code, as copied, proves the user; a new one
/// replaces it (shown once) and the step moves to the recovery-code screen.
pub async fn verify_recovery_code(
    app: &App,
    brand: &Brand,
    lang: Lang,
    step: &mut Step,
    recovery_code: &str,
) -> Result<CodeOutcome> {
    let ch = &step.challenge;
    if ch.mode != ChallengeMode::Verify || ch.stage != ChallengeStage::Code {
        return Ok(CodeOutcome::NotNow);
    }
    let attempts = match take_attempt(app, brand, lang, step).await? {
        Ok(n) => n,
        Err(end) => return Ok(CodeOutcome::Ended(end)),
    };
    let (shown, new_hash) = new_recovery_code();
    let rotated = app
        .op
        .store
        .rotate_recovery_code(&step.user.id, &hash_recovery_code(recovery_code), &new_hash)
        .await?;
    if !rotated {
        return wrong(app, brand, step, attempts, Wrong::RecoveryCode).await;
    }
    step.challenge.stage = ChallengeStage::Recovery;
    step.challenge.proven = Some(Amr::Otp);
    app.op.store.save_challenge(&step.challenge).await?;
    audit(app, "2fa.recovery_code_used", brand, Some(&step.user.id)).await;
    Ok(CodeOutcome::Enrolled {
        recovery_code: Secret::new(shown),
    })
}

/// A new recovery code replaces the one shown (which is not kept), to be shown once: for a user
/// who left the page that showed it before ticking that it was saved.
pub async fn reissue_recovery_code(app: &App, step: &Step) -> Result<Option<Secret<String>>> {
    if step.challenge.stage != ChallengeStage::Recovery {
        return Ok(None);
    }
    let (shown, hash) = new_recovery_code();
    app.op
        .store
        .set_recovery_code(&step.challenge.user_id, &hash)
        .await?;
    Ok(Some(Secret::new(shown)))
}

/// 「リカバリーコードを保存しました」 ticked: the login completes (REQ-2FA-4). `None` when the step
/// is not at the recovery-code screen.
pub async fn recovery_code_saved(
    app: &App,
    brand: &Brand,
    step: &Step,
) -> Result<Option<SignedIn>> {
    if step.challenge.stage != ChallengeStage::Recovery {
        return Ok(None);
    }
    Ok(Some(finish(app, brand, step).await?))
}

/// Ends the second step: the browser session becomes the user's (with every proven factor), and
/// the browser is remembered if asked (always under a new value: a value planted in the browser
/// must not become trusted).
async fn finish(app: &App, brand: &Brand, step: &Step) -> Result<SignedIn> {
    let ch = &step.challenge;
    let mut amr = ch.amr.clone();
    if let Some(p) = ch.proven {
        if !amr.contains(&p) {
            amr.push(p);
        }
    }
    app.op.store.delete_challenge(&ch.sid).await?;
    // The recovery path of a 回線認証のみ contract never makes a browser trusted.
    let recovery = ch.reason == Ask::LineOnlyRecovery;
    let remembered = if ch.remember && !recovery {
        let value = random_token();
        app.op
            .store
            .remember_browser(&hash_token(&value), &ch.user_id, app.now())
            .await?;
        Some(Secret::new(value))
    } else {
        None
    };
    let mut done = sign_in(
        app,
        brand.code.as_str(),
        &step.session,
        &ch.user_id,
        &amr,
        &ch.next,
    )
    .await?;
    done.remembered_browser = remembered;
    if recovery {
        if let Some(user) = app.op.store.find_user(&ch.user_id).await? {
            crate::line_recovery::used(app, brand, &user, Lang::Ja).await?;
        }
    }
    Ok(done)
}
