//! Password sign-in with the account lock (REQ-LOGIN-2, REQ-LOCK-1), and the mailed tickets that
//! undo a lock or reset a password (REQ-LOCK-2, REQ-PW-3, REQ-PW-4, REQ-MAIL-2).
//!
//! Invariant: whatever the address — registered, unknown, or of a user who signs in another way —
//! a visitor sees the same answers after the same work: one argon2id verification, and a lock
//! message after ten consecutive failures (unknown addresses are counted in `login_failures`).
//! The same work includes the same database writes (a failure's audit event and its counter), so
//! that the time of an answer does not tell either (issue 15).

use crate::audit::audit;
use crate::{tickets, App, Result};
use sekisho_core::email::Email;
use sekisho_core::model::{Brand, LoginMethod, User};
use sekisho_core::oauth::Lang;
use sekisho_core::tickets::{TicketPurpose, LOCK_AFTER_FAILURES};
use sekisho_crypto::tokens::hash_token;
use sekisho_notify::templates::MailKind;
use sekisho_oidc::OAuthError;
use sekisho_store::FailureOutcome;

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
    app: &App,
    brand: &Brand,
    email: &str,
    password: &str,
    lang: Lang,
) -> Result<PasswordLogin> {
    let result = check_password(app, brand, email, password, lang).await;
    if let Ok(r) = &result {
        crate::metrics::password_check(r);
    }
    result
}

async fn check_password(
    app: &App,
    brand: &Brand,
    email: &str,
    password: &str,
    lang: Lang,
) -> Result<PasswordLogin> {
    let op = &app.op;
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
    let Some(user) = user else {
        // The same writes as a registered address's failure below (an audit event, then the
        // counter), so the answer takes the same time (issue 15, timing); the event has no user.
        audit(app, "login.password.failed", brand, None).await;
        let key = hash_token(&format!(
            "{}:{}",
            brand.code,
            email.as_ref().map(Email::as_str).unwrap_or("")
        ));
        return Ok(
            match op
                .store
                .record_anonymous_failure(brand.code.as_str(), &key, LOCK_AFTER_FAILURES, app.now())
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
        // (`pipeline::sign_in`): otherwise a known password would give unlimited guesses at the
        // second factor, five per login.
        audit(app, "login.password.ok", brand, Some(&user.id)).await;
        return Ok(PasswordLogin::Success(Box::new(user)));
    }
    audit(app, "login.password.failed", brand, Some(&user.id)).await;
    Ok(match count_failure(app, brand, &user, lang).await? {
        true => PasswordLogin::Locked,
        false => PasswordLogin::Failed,
    })
}

/// Counts one failed login step of `user` (a wrong password or second-factor code) towards the
/// lock; at the tenth, locks and mails the unlock link (REQ-LOCK-1). Returns whether the account
/// is now locked.
pub async fn count_failure(app: &App, brand: &Brand, user: &User, lang: Lang) -> Result<bool> {
    Ok(
        match app
            .op
            .store
            .record_login_failure(&user.id, LOCK_AFTER_FAILURES, app.now())
            .await?
        {
            FailureOutcome::Counted(_) => false,
            FailureOutcome::JustLocked => {
                crate::metrics::account_locked();
                audit(app, "account.locked", brand, Some(&user.id)).await;
                let url = mailed_link(app, user, TicketPurpose::Unlock).await?;
                send(
                    app,
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

/// A ticket of a purpose that excludes nothing (unlock, password reset), as its link.
async fn mailed_link(app: &App, user: &User, purpose: TicketPurpose) -> Result<String> {
    let token = tickets::issue(app, user, purpose, &serde_json::json!({}))
        .await?
        .map_err(|_| OAuthError::server("an unlock or reset ticket excludes nothing"))?;
    Ok(tickets::link(app, user.brand.as_str(), purpose, &token))
}

/// Puts a brand mail for `user` in the outbox (delivery happens in the background).
/// Over the address's hourly cap nothing is queued and the caller goes on as if it had been (the
/// mailer logs it): an answer must not tell whether a mail went out.
pub async fn send(app: &App, brand: &Brand, user: &User, lang: Lang, kind: MailKind) -> Result<()> {
    match app
        .mailer
        .enqueue_kind(brand, user.email.as_str(), &user.name, lang, &kind)
        .await
    {
        Ok(_) | Err(sekisho_notify::Error::OverCap) => Ok(()),
        Err(e) => Err(OAuthError::server(e)),
    }
}

/// Forgot password (REQ-PW-3, REQ-PW-4): mails a reset link if the address belongs to a password
/// user of the brand; does nothing otherwise. The caller answers the same either way.
pub async fn request_password_reset(
    app: &App,
    brand: &Brand,
    email: &Email,
    lang: Lang,
) -> Result<()> {
    let Some(user) = app
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
    let url = mailed_link(app, &user, TicketPurpose::PasswordReset).await?;
    audit(app, "password.reset.requested", brand, Some(&user.id)).await;
    send(
        app,
        brand,
        &user,
        lang,
        MailKind::PasswordReset { reset_url: url },
    )
    .await
}

/// Completes a password reset by its ticket (REQ-PW-3): the password is set, the lock cleared
/// and the 2FA registration reset (REQ-2FA-6) in one transaction. `None` (nothing changed) when
/// the ticket is not a live password-reset ticket of `brand`. The caller checked the password
/// rule; `password` is hashed here.
pub async fn reset_password(
    app: &App,
    brand: &Brand,
    token: &str,
    password: &str,
) -> Result<Option<PasswordReset>> {
    let phc = hash_password(app, password).await?;
    let Some(user_id) = app
        .op
        .store
        .reset_password(&hash_token(token), brand.code.as_str(), &phc, app.now())
        .await?
    else {
        return Ok(None);
    };
    audit(app, "password.reset.done", brand, Some(&user_id)).await;
    audit(app, "2fa.reset", brand, Some(&user_id)).await;
    let enrol_again = match app.op.store.find_user_with_contract(&user_id).await? {
        Some((_, c)) => sekisho_core::two_factor::contract_asks(c.two_factor, c.access_route),
        None => false,
    };
    Ok(Some(PasswordReset { enrol_again }))
}

/// A password reset that was done (REQ-PW-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordReset {
    /// The reset dropped the two-step registration (REQ-2FA-6) and the user's contract asks for
    /// two-step verification: the next login enrols again, which the completion page says.
    pub enrol_again: bool,
}

/// The lock mail's link, confirmed by its page's button, unlocks the account (REQ-LOCK-1; opening
/// the link only shows the button, so a mail scanner that fetches links spends nothing). False when the ticket is not a
/// live unlock ticket of `brand` (then nothing is spent).
pub async fn unlock(app: &App, brand: &Brand, token: &str) -> Result<bool> {
    let Some(ticket) =
        tickets::spend(app, brand.code.as_str(), TicketPurpose::Unlock, token).await?
    else {
        return Ok(false);
    };
    app.op.store.unlock_user(&ticket.user_id).await?;
    audit(app, "account.unlocked", brand, Some(&ticket.user_id)).await;
    Ok(true)
}

/// A password change from the account menu (REQ-PW-2), after the current password was checked.
pub async fn change_password(app: &App, brand: &Brand, user: &User, password: &str) -> Result<()> {
    let phc = hash_password(app, password).await?;
    app.op.store.set_password(&user.id, &phc, false).await?;
    audit(app, "password.changed", brand, Some(&user.id)).await;
    Ok(())
}

/// The argon2id hash of a new password (on the hashing threads).
pub async fn hash_password(app: &App, password: &str) -> Result<String> {
    app.op
        .passwords
        .hash(password)
        .await
        .map_err(OAuthError::server)
}
