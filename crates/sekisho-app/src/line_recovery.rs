//! The internet recovery path of a 回線認証のみ contract (REQ-LINE-4): its contractor may still
//! come from the internet to the account menu to switch the access route back (the way out of a
//! wrong line number). Two-step verification is off while the contract is line-only, so the
//! password alone is not enough here: a second proof is asked, the contractor's registered factor
//! (the ordinary second step, `Ask::LineOnlyRecovery`), else a single-use link mailed to them.
//! When the path is used the contractor is mailed and the use audited. The session it opens
//! reaches アクセス経路設定 only (the web's `recovery_only`).

use crate::audit::audit;
use crate::login::{sign_in, LoginContext, SignedIn};
use crate::pipeline::{LoginOutcome, Refusal};
use crate::second_step::{self, Begin};
use crate::signin::send;
use crate::{tickets, App, Result};
use sekisho_core::login::Continuation;
use sekisho_core::model::{Brand, Role, User};
use sekisho_core::oauth::{Amr, Lang};
use sekisho_core::tickets::TicketPurpose;
use sekisho_core::two_factor::Ask;
use sekisho_notify::MailKind;
use sekisho_oidc::OAuthError;

/// The contractor's password was right: ask the second proof.
pub(crate) async fn begin(app: &App, ctx: &LoginContext<'_>, user: &User) -> Result<LoginOutcome> {
    let factor = app.op.store.find_second_factor(&user.id).await?;
    if factor.is_some() {
        audit(app, "line.recovery.second_step", ctx.brand, Some(&user.id)).await;
        let begin = Begin::Verify(Ask::LineOnlyRecovery);
        let session = second_step::begin(app, ctx, user, vec![Amr::Pwd], begin, factor).await?;
        return Ok(LoginOutcome::SecondStep { session });
    }
    let token = tickets::issue(
        app,
        user,
        TicketPurpose::LineRecovery,
        &serde_json::json!({}),
    )
    .await?
    .map_err(|_| OAuthError::server("a recovery ticket excludes nothing"))?;
    let url = tickets::link(
        app,
        user.brand.as_str(),
        TicketPurpose::LineRecovery,
        &token,
    );
    send(
        app,
        ctx.brand,
        user,
        ctx.lang,
        MailKind::LineRecovery { url },
    )
    .await?;
    audit(app, "line.recovery.mailed", ctx.brand, Some(&user.id)).await;
    Ok(LoginOutcome::Refused(Refusal::RecoveryMailed))
}

/// The contractor a live recovery link belongs to (for the page; spends nothing).
pub async fn open(app: &App, brand: &str, token: &str) -> Result<Option<User>> {
    Ok(
        tickets::open_any(app, brand, &[TicketPurpose::LineRecovery], token)
            .await?
            .map(|(_, user)| user)
            .filter(|u| u.role == Role::Contractor),
    )
}

/// The mailed link was confirmed: spends it and signs the browser `session` in to the account
/// menu (reaching アクセス経路設定 only). `None` when the link is no longer live.
pub async fn complete(
    app: &App,
    brand: &Brand,
    lang: Lang,
    session: &sekisho_store::SessionRecord,
    token: &str,
) -> Result<Option<SignedIn>> {
    let code = brand.code.as_str();
    let Some(ticket) = tickets::spend(app, code, TicketPurpose::LineRecovery, token).await? else {
        return Ok(None);
    };
    let Some(user) = app
        .op
        .store
        .find_user(&ticket.user_id)
        .await?
        .filter(|u| u.role == Role::Contractor)
    else {
        return Ok(None);
    };
    let done = sign_in(
        app,
        code,
        session,
        &user.id,
        &[Amr::Pwd],
        &Continuation::Account,
    )
    .await?;
    used(app, brand, &user, lang).await?;
    Ok(Some(done))
}

/// The path was used: the contractor is mailed, and it is audited.
pub(crate) async fn used(app: &App, brand: &Brand, user: &User, lang: Lang) -> Result<()> {
    send(app, brand, user, lang, MailKind::LineRecoveryUsed).await?;
    audit(app, "line.recovery.used", brand, Some(&user.id)).await;
    Ok(())
}
