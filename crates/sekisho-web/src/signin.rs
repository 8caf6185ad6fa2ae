//! Password sign-in with the account lock (REQ-LOGIN-2, REQ-LOCK-1), and the mailed tickets that
//! undo a lock or reset a password (REQ-PW-3, REQ-MAIL-2). No HTTP here: the routes call these.
//!
//! Invariant: whatever the address — registered, unknown, or of a user who signs in another way —
//! a visitor sees the same answers after the same work: one argon2id verification, and a lock
//! message after ten consecutive failures (unknown addresses are counted in `login_failures`).

use crate::i18n::Lang;
use crate::AppState;
use sekisho_core::email::Email;
use sekisho_core::model::{Brand, LoginMethod, User};
use sekisho_core::tickets::{TicketPurpose, LOCK_AFTER_FAILURES, TICKET_TTL};
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_notify::templates::MailKind;
use sekisho_oidc::OAuthError;
use sekisho_store::{AuditEvent, FailureOutcome, TicketRecord};

#[derive(Debug)]
pub enum PasswordLogin {
    Success(Box<User>),
    /// Wrong email or password (indistinguishable on purpose).
    Failed,
    /// Locked by too many failures: the lock message.
    Locked,
}

/// Checks an email and password for `brand`, counting failures and locking at the tenth.
pub async fn password_login(
    state: &AppState,
    brand: &Brand,
    email: &str,
    password: &str,
    lang: Lang,
) -> Result<PasswordLogin, OAuthError> {
    let op = &state.op;
    let email = Email::parse(email).ok();
    let user = match &email {
        Some(e) => op.store.find_user_by_email(brand.code.as_str(), e).await?,
        None => None,
    };
    let user =
        user.filter(|u| u.login_method == LoginMethod::Password && u.password_hash.is_some());
    let ok = op
        .passwords
        .verify(
            password,
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
        )
        .await
        .map_err(OAuthError::server)?;
    let now = op.now();
    let Some(user) = user else {
        let key = hash_token(&format!(
            "{}:{}",
            brand.code,
            email.as_ref().map(Email::as_str).unwrap_or("")
        ));
        return Ok(
            match op
                .store
                .record_anonymous_failure(brand.code.as_str(), &key, LOCK_AFTER_FAILURES, now)
                .await?
            {
                FailureOutcome::Counted(_) => PasswordLogin::Failed,
                FailureOutcome::JustLocked | FailureOutcome::AlreadyLocked => PasswordLogin::Locked,
            },
        );
    };
    if user.locked_at.is_some() {
        return Ok(PasswordLogin::Locked);
    }
    if ok {
        // The failure count is reset only when the whole login completes
        // (`second_step::sign_in`): otherwise a known password would give unlimited guesses at
        // the second factor, five per login.
        audit(state, "login.password.ok", brand, Some(&user.id)).await;
        return Ok(PasswordLogin::Success(Box::new(user)));
    }
    audit(state, "login.password.failed", brand, Some(&user.id)).await;
    Ok(match count_failure(state, brand, &user, lang).await? {
        true => PasswordLogin::Locked,
        false => PasswordLogin::Failed,
    })
}

/// Counts one failed login step of `user` (a wrong password or second-factor code) towards the
/// lock; at the tenth, locks and mails the unlock link (REQ-LOCK-1). Returns whether the account
/// is now locked.
pub async fn count_failure(
    state: &AppState,
    brand: &Brand,
    user: &User,
    lang: Lang,
) -> Result<bool, OAuthError> {
    let op = &state.op;
    Ok(
        match op
            .store
            .record_login_failure(&user.id, LOCK_AFTER_FAILURES, op.now())
            .await?
        {
            FailureOutcome::Counted(_) => false,
            FailureOutcome::JustLocked => {
                audit(state, "account.locked", brand, Some(&user.id)).await;
                let ticket = issue_ticket(state, brand, user, TicketPurpose::Unlock).await?;
                let url = format!("{}/unlock?ticket={ticket}", op.issuer(brand.code.as_str()));
                send(
                    state,
                    brand,
                    user,
                    lang,
                    MailKind::AccountLocked { unlock_url: url },
                )
                .await?;
                true
            }
            FailureOutcome::AlreadyLocked => true,
        },
    )
}

/// A new single-use ticket for `user`; returns the token for the mailed link (only its hash is kept).
pub async fn issue_ticket(
    state: &AppState,
    brand: &Brand,
    user: &User,
    purpose: TicketPurpose,
) -> Result<String, OAuthError> {
    let token = random_token();
    let now = state.op.now();
    state
        .op
        .store
        .issue_ticket(&TicketRecord {
            token_hash: hash_token(&token),
            purpose: purpose.as_str().to_owned(),
            brand: brand.code.to_string(),
            user_id: user.id.clone(),
            payload: "{}".into(),
            created_at: now,
            expires_at: now + TICKET_TTL,
            used_at: None,
        })
        .await?;
    Ok(token)
}

/// Puts a brand mail for `user` in the outbox (delivery happens in the background).
pub async fn send(
    state: &AppState,
    brand: &Brand,
    user: &User,
    lang: Lang,
    kind: MailKind,
) -> Result<(), OAuthError> {
    state
        .mailer
        .enqueue_kind(brand, user.email.as_str(), &user.name, lang, &kind)
        .await
        .map_err(OAuthError::server)?;
    Ok(())
}

/// Forgot password (REQ-PW-3, REQ-PW-4): mails a reset link if the address belongs to a password
/// user of the brand; does nothing otherwise. The caller answers the same either way.
pub async fn request_password_reset(
    state: &AppState,
    brand: &Brand,
    email: &Email,
    lang: Lang,
) -> Result<(), OAuthError> {
    let Some(user) = state
        .op
        .store
        .find_user_by_email(brand.code.as_str(), email)
        .await?
    else {
        return Ok(());
    };
    if user.login_method != LoginMethod::Password {
        return Ok(());
    }
    let ticket = issue_ticket(state, brand, &user, TicketPurpose::PasswordReset).await?;
    let url = format!(
        "{}/password/reset?ticket={ticket}",
        state.op.issuer(brand.code.as_str())
    );
    audit(state, "password.reset.requested", brand, Some(&user.id)).await;
    send(
        state,
        brand,
        &user,
        lang,
        MailKind::PasswordReset { reset_url: url },
    )
    .await
}

/// After a password reset the second factor must be enrolled again (REQ-PW-3, REQ-2FA-6).
pub async fn on_password_reset(
    state: &AppState,
    brand: &Brand,
    user_id: &str,
) -> Result<(), OAuthError> {
    audit(state, "password.reset.done", brand, Some(user_id)).await;
    reset_second_factor(state, brand, user_id).await
}

/// Clears the user's 2FA registration and remembered browsers: the next login enrols again
/// (REQ-2FA-6: password reset; email change and login-method change call this too).
pub async fn reset_second_factor(
    state: &AppState,
    brand: &Brand,
    user_id: &str,
) -> Result<(), OAuthError> {
    state.op.store.reset_second_factor(user_id).await?;
    audit(state, "2fa.reset", brand, Some(user_id)).await;
    Ok(())
}

/// Writes an audit event; a failure to write is logged, never shown to the user.
pub async fn audit(state: &AppState, kind: &str, brand: &Brand, user_id: Option<&str>) {
    audit_with(state, kind, brand, user_id, serde_json::json!({})).await
}

/// [`audit`] with details (never secrets).
pub async fn audit_with(
    state: &AppState,
    kind: &str,
    brand: &Brand,
    user_id: Option<&str>,
    detail: serde_json::Value,
) {
    let event = AuditEvent {
        at: state.op.now(),
        kind: kind.to_owned(),
        brand: Some(brand.code.to_string()),
        user_id: user_id.map(str::to_owned),
        client_id: None,
        detail,
    };
    if let Err(e) = state.op.store.append_audit(&event).await {
        tracing::warn!(error = %e, kind, "audit event not written");
    }
}
