//! Tickets: the single-use links mailed to users (unlock, password reset, and later invitation,
//! email change, login-method change).
//!
//! Invariant: only the hash of a ticket is stored; consuming one is a single conditional UPDATE,
//! so a ticket works once even when two requests race.

use crate::{col, Result, Store};
use sekisho_core::tickets::TicketPurpose;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRecord {
    pub token_hash: String,
    /// What the ticket may be used for (`unlock`, `password_reset`, …): a ticket of one purpose
    /// never works for another.
    pub purpose: String,
    pub brand: String,
    pub user_id: String,
    /// Purpose-specific data as JSON (for example a new email address).
    pub payload: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

fn ticket(row: &AnyRow) -> Result<TicketRecord> {
    Ok(TicketRecord {
        token_hash: col(row, "token_hash")?,
        purpose: col(row, "purpose")?,
        brand: col(row, "brand_code")?,
        user_id: col(row, "user_id")?,
        payload: col(row, "payload")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        used_at: col(row, "used_at")?,
    })
}

const TICKET_COLUMNS: &str =
    "token_hash, purpose, brand_code, user_id, payload, created_at, expires_at, used_at";

/// Retires the user's earlier unused tickets of the same purpose and inserts `t`, inside `tx`.
pub(crate) async fn insert_ticket(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    t: &TicketRecord,
) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
    )
    .bind(t.created_at)
    .bind(&t.user_id)
    .bind(&t.purpose)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
    ))
    .bind(&t.token_hash)
    .bind(&t.purpose)
    .bind(&t.brand)
    .bind(&t.user_id)
    .bind(&t.payload)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Stores a new ticket and retires the user's earlier unused tickets of the same purpose, so
    /// only the newest mail's link works.
    pub async fn issue_ticket(&self, t: &TicketRecord) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        insert_ticket(&mut tx, t).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live (unused, unexpired) ticket of this purpose and brand, without using it (to show
    /// its form). A ticket of another purpose or brand is not found.
    pub async fn find_live_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        brand: &str,
        now: i64,
    ) -> Result<Option<TicketRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE token_hash = $1 AND purpose = $2 \
             AND brand_code = $3 AND used_at IS NULL AND expires_at > $4"
        ))
        .bind(token_hash)
        .bind(purpose)
        .bind(brand)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ticket).transpose()
    }

    /// Uses a live ticket: returns it if this call spent it, `None` if it was unknown, of another
    /// purpose or brand, expired or already used (a refused ticket is not spent).
    pub async fn consume_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        brand: &str,
        now: i64,
    ) -> Result<Option<TicketRecord>> {
        let done = sqlx::query(
            "UPDATE tickets SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
             AND brand_code = $4 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose)
        .bind(brand)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await?;
        ticket(&row).map(Some)
    }
}

impl Store {
    /// A password reset by mailed link (REQ-PW-3), all or nothing in one transaction: the
    /// `password_reset` ticket of `brand` is spent, the password replaced, the lock and failure
    /// count cleared, and the 2FA registration, remembered browsers and steps in progress dropped
    /// (REQ-2FA-6). Returns the user's id, or `None` (nothing changed) when the ticket was not
    /// live. A crash part-way leaves the ticket live and the old password in place.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        brand: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<String>> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT user_id FROM tickets WHERE token_hash = $1 AND purpose = $2 \
             AND brand_code = $3 AND used_at IS NULL AND expires_at > $4",
        )
        .bind(token_hash)
        .bind(TicketPurpose::PasswordReset.as_str())
        .bind(brand)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let user_id: String = col(&row, "user_id")?;
        if !crate::users::spend_ticket(
            &mut tx,
            token_hash,
            &user_id,
            TicketPurpose::PasswordReset.as_str(),
            now,
        )
        .await?
        {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_at = NULL WHERE id = $2",
        )
        .bind(password_hash)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        crate::users::clear_second_factor(&mut tx, &user_id).await?;
        // A new password ends every session of the account (whoever knew the old one is signed
        // out), and the clients they signed in to are told (back-channel logout).
        crate::backchannel::enqueue_logouts(
            &mut tx,
            crate::backchannel::Ended::User(&user_id),
            now,
        )
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// The user's live tickets of `purpose`, inside `tx`.
async fn live_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> Result<Vec<TicketRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3"
    ))
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(ticket).collect()
}

/// Spends every live ticket of the user of one of `purposes`, inside `tx`; how many.
async fn spend_live(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purposes: &[&str],
    now: i64,
) -> Result<u64> {
    let mut spent = 0;
    for purpose in purposes {
        spent += sqlx::query(
            "UPDATE tickets SET used_at = $1 WHERE user_id = $2 AND purpose = $3 \
             AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(user_id)
        .bind(*purpose)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(spent)
}

/// The newest of the user's live tickets of `purposes`, inside `tx`.
async fn newest_live(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purposes: &[&str],
    now: i64,
) -> Result<Option<TicketRecord>> {
    let mut newest: Option<TicketRecord> = None;
    for purpose in purposes {
        for t in live_of(tx, user_id, purpose, now).await? {
            if newest.as_ref().is_none_or(|n| t.created_at > n.created_at) {
                newest = Some(t);
            }
        }
    }
    Ok(newest)
}

/// Pending changes (ISSUE-16, REQ-USER-7): what is waiting for the user's mailed link, its
/// cancellation and its new mail. Each is one transaction, so a link that is being opened either
/// did its change before the cancellation or is refused after it.
impl Store {
    /// The newest of the user's live tickets of `purposes` (what is pending), if any.
    pub async fn pending_ticket(
        &self,
        user_id: &str,
        purposes: &[&str],
        now: i64,
    ) -> Result<Option<TicketRecord>> {
        let mut newest: Option<TicketRecord> = None;
        for purpose in purposes {
            let rows = sqlx::query(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE user_id = $1 AND purpose = $2 \
                 AND used_at IS NULL AND expires_at > $3"
            ))
            .bind(user_id)
            .bind(*purpose)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let t = ticket(row)?;
                if newest.as_ref().is_none_or(|n| t.created_at > n.created_at) {
                    newest = Some(t);
                }
            }
        }
        Ok(newest)
    }

    /// Cancels what is pending: spends every live ticket of the user of one of `purposes` (their
    /// links then answer "not valid"). Returns the newest one cancelled, `None` when nothing was
    /// pending.
    pub async fn cancel_pending_tickets(
        &self,
        user_id: &str,
        purposes: &[&str],
        now: i64,
    ) -> Result<Option<TicketRecord>> {
        let mut tx = self.writer.begin().await?;
        let Some(newest) = newest_live(&mut tx, user_id, purposes, now).await? else {
            return Ok(None);
        };
        spend_live(&mut tx, user_id, purposes, now).await?;
        tx.commit().await?;
        Ok(Some(newest))
    }

    /// Mails a pending change again: the newest live ticket of the user of one of `purposes` is
    /// replaced by a new one (`token_hash`, valid until `expires_at`) with the same purpose, brand
    /// and payload, and every other live ticket of those purposes is spent, so only the new link
    /// works. Returns the new ticket, `None` (nothing done) when nothing was pending.
    pub async fn reissue_pending_ticket(
        &self,
        user_id: &str,
        purposes: &[&str],
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<TicketRecord>> {
        let mut tx = self.writer.begin().await?;
        let Some(old) = newest_live(&mut tx, user_id, purposes, now).await? else {
            return Ok(None);
        };
        spend_live(&mut tx, user_id, purposes, now).await?;
        let new = TicketRecord {
            token_hash: token_hash.to_owned(),
            created_at: now,
            expires_at,
            used_at: None,
            ..old
        };
        insert_ticket(&mut tx, &new).await?;
        tx.commit().await?;
        Ok(Some(new))
    }
}
