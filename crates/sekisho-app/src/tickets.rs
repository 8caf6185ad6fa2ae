//! Tickets: the single-use links mailed to users (REQ-MAIL-2). One module issues and opens them
//! all, for the web and the CLI alike.
//!
//! Invariant: a ticket works only for its purpose, on its brand's pages, once, within 14 days;
//! only its hash is stored. A ticket presented on the wrong brand's or purpose's page is "not
//! valid" and stays unspent. A login-method change and an email change are never pending
//! together (REQ-USER-7): the exclusion is checked and the ticket issued in one transaction.

use crate::{App, Result};
use sekisho_core::model::User;
use sekisho_core::secret::Secret;
use sekisho_core::tickets::{TicketPurpose, PENDING_CHANGES, TICKET_TTL};
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_store::{ExclusiveTicket, TicketRecord};

/// A conflicting change is pending for the user (REQ-USER-7): nothing was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherChangePending;

/// The path of the page that opens a ticket of `purpose` (under the brand's issuer).
pub fn page_path(purpose: TicketPurpose) -> &'static str {
    match purpose {
        TicketPurpose::Unlock => "unlock",
        TicketPurpose::PasswordReset => "password/reset",
        TicketPurpose::Invitation => "registration",
        TicketPurpose::EmailChange => "email-change",
        TicketPurpose::LoginMethodChange => "login-method",
        TicketPurpose::LineRecovery => "line-recovery",
    }
}

/// The token of an issued ticket: the only copy (its hash is stored), for the mailed link.
pub type TicketToken = Secret<String>;

/// The mailed link that opens `token`.
pub fn link(app: &App, brand: &str, purpose: TicketPurpose, token: &TicketToken) -> String {
    format!(
        "{}/{}?ticket={}",
        app.op.issuer(brand),
        page_path(purpose),
        url::form_urlencoded::byte_serialize(token.expose().as_bytes()).collect::<String>()
    )
}

/// Issues a ticket of `purpose` for `user` in the user's brand, with `payload` (JSON), retiring
/// the user's earlier unused one of the same purpose; refused while a conflicting change is
/// pending. Returns the token for the link (only its hash is kept).
pub async fn issue(
    app: &App,
    user: &User,
    purpose: TicketPurpose,
    payload: &serde_json::Value,
) -> Result<std::result::Result<TicketToken, OtherChangePending>> {
    let token = random_token();
    let now = app.now();
    let record = TicketRecord {
        token_hash: hash_token(&token),
        purpose: purpose.as_str().to_owned(),
        brand: user.brand.to_string(),
        user_id: user.id.clone(),
        payload: payload.to_string(),
        created_at: now,
        expires_at: now + TICKET_TTL,
        used_at: None,
    };
    let conflicting: Vec<&str> = purpose.conflicting().iter().map(|p| p.as_str()).collect();
    Ok(
        match app
            .op
            .store
            .issue_exclusive_ticket(&record, &conflicting)
            .await?
        {
            ExclusiveTicket::Issued => Ok(Secret::new(token)),
            ExclusiveTicket::OtherPending => Err(OtherChangePending),
        },
    )
}

/// A live ticket of `purpose` for `brand`, and its user, without spending it (to show a form).
/// `None` for an unknown, spent or expired ticket, or one of another purpose or brand.
pub async fn open(
    app: &App,
    brand: &str,
    purpose: TicketPurpose,
    token: &str,
) -> Result<Option<(TicketRecord, User)>> {
    open_hashed(app, brand, &[purpose], &hash_token(token)).await
}

/// [`open`] for the first of `purposes` the token is live for.
pub async fn open_any(
    app: &App,
    brand: &str,
    purposes: &[TicketPurpose],
    token: &str,
) -> Result<Option<(TicketRecord, User)>> {
    open_hashed(app, brand, purposes, &hash_token(token)).await
}

/// [`open_any`] by the token's hash (kept by a flow that outlives the request, such as an
/// upstream round trip that binds).
pub async fn open_hashed(
    app: &App,
    brand: &str,
    purposes: &[TicketPurpose],
    token_hash: &str,
) -> Result<Option<(TicketRecord, User)>> {
    for purpose in purposes {
        let found = app
            .op
            .store
            .find_live_ticket(token_hash, purpose.as_str(), brand, app.now())
            .await?;
        let Some(ticket) = found else { continue };
        let user = app.op.store.find_user(&ticket.user_id).await?;
        return Ok(user
            .filter(|u| u.brand.as_str() == brand)
            .map(|u| (ticket, u)));
    }
    Ok(None)
}

/// Spends a live ticket of `purpose` for `brand`: the ticket if this call spent it, `None`
/// otherwise (unknown, spent, expired, or of another purpose or brand: then nothing is spent).
pub async fn spend(
    app: &App,
    brand: &str,
    purpose: TicketPurpose,
    token: &str,
) -> Result<Option<TicketRecord>> {
    Ok(app
        .op
        .store
        .consume_ticket(&hash_token(token), purpose.as_str(), brand, app.now())
        .await?)
}

/// The purpose a stored ticket was issued for.
pub fn purpose_of(ticket: &TicketRecord) -> Option<TicketPurpose> {
    TicketPurpose::parse(&ticket.purpose)
}

/// A change waiting for the user to open its mailed link (REQ-USER-7: at most one at a time).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PendingChange {
    pub purpose: TicketPurpose,
    /// The new address, for an email change.
    pub new_email: Option<String>,
    /// Until when the link works.
    pub expires_at: i64,
}

impl PendingChange {
    fn of(ticket: &TicketRecord) -> Option<Self> {
        let purpose = purpose_of(ticket)?;
        let payload: serde_json::Value = serde_json::from_str(&ticket.payload).unwrap_or_default();
        Some(Self {
            purpose,
            new_email: payload["email"].as_str().map(str::to_owned),
            expires_at: ticket.expires_at,
        })
    }
}

fn change_purposes() -> [&'static str; 2] {
    PENDING_CHANGES.map(TicketPurpose::as_str)
}

/// The change pending for `user_id` (an email change or a login-method change), if any.
pub async fn pending_change(app: &App, user_id: &str) -> Result<Option<PendingChange>> {
    let found = app
        .op
        .store
        .pending_ticket(user_id, &change_purposes(), app.now())
        .await?;
    Ok(found.as_ref().and_then(PendingChange::of))
}

/// Cancels the change pending for `user_id`: its link stops working and the other change is
/// allowed again (REQ-USER-7). The change cancelled, `None` when nothing was pending.
pub async fn cancel_change(app: &App, user_id: &str) -> Result<Option<PendingChange>> {
    let cancelled = app
        .op
        .store
        .cancel_pending_tickets(user_id, &change_purposes(), app.now())
        .await?;
    Ok(cancelled.as_ref().and_then(PendingChange::of))
}

/// A new link for the change pending for `user_id` (same change, same new address): the old link
/// stops working. The change and the new token, `None` when nothing was pending.
pub async fn reissue_change(
    app: &App,
    user_id: &str,
) -> Result<Option<(PendingChange, TicketToken)>> {
    let token = random_token();
    let now = app.now();
    let issued = app
        .op
        .store
        .reissue_pending_ticket(
            user_id,
            &change_purposes(),
            &hash_token(&token),
            now,
            now + TICKET_TTL,
        )
        .await?;
    Ok(issued
        .as_ref()
        .and_then(PendingChange::of)
        .map(|change| (change, Secret::new(token))))
}
