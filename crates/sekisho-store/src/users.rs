//! The user's life cycle after creation (issue 6): registration and login-method change to a
//! password, email change, role, status, deletion, and the contract's plan and name.
//!
//! Invariant: each change that a mailed ticket allows spends the ticket in the same transaction,
//! so a link works once even when two requests race, and a change never happens without it.

use crate::tickets::insert_ticket;
use crate::{Result, Store, TicketRecord};
use sekisho_core::model::{Plan, Role, UserStatus};
use sqlx::{Any, Transaction};

/// Spends the live ticket `token_hash` of `purpose` for `user_id` inside `tx`; false if it was
/// unknown, of someone else, of another purpose, expired or already used.
pub(crate) async fn spend_ticket(
    tx: &mut Transaction<'static, Any>,
    token_hash: &str,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> Result<bool> {
    let taken = sqlx::query(
        "UPDATE tickets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
         AND expires_at > $1 AND user_id = $3 AND purpose = $4",
    )
    .bind(now)
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose)
    .execute(&mut **tx)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Drops the 2FA registration, remembered browsers and steps in progress (REQ-2FA-6).
pub(crate) async fn clear_second_factor(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
) -> Result<()> {
    for table in [
        "second_factors",
        "trusted_browsers",
        "second_factor_challenges",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// What [`Store::issue_exclusive_ticket`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusiveTicket {
    Issued,
    /// A live ticket of a conflicting purpose exists (REQ-USER-7): nothing was issued.
    OtherPending,
}

impl Store {
    /// Issues `t` unless the user has a live ticket of one of the `conflicting` purposes, in one
    /// transaction (REQ-USER-7: a login-method change and an email change are never pending at
    /// once). An earlier unused ticket of the same purpose is retired, as by `issue_ticket`.
    pub async fn issue_exclusive_ticket(
        &self,
        t: &TicketRecord,
        conflicting: &[&str],
    ) -> Result<ExclusiveTicket> {
        let mut tx = self.writer.begin().await?;
        for purpose in conflicting {
            let pending = sqlx::query(
                "SELECT token_hash FROM tickets WHERE user_id = $1 AND purpose = $2 \
                 AND used_at IS NULL AND expires_at > $3",
            )
            .bind(&t.user_id)
            .bind(*purpose)
            .bind(t.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if pending.is_some() {
                return Ok(ExclusiveTicket::OtherPending);
            }
        }
        insert_ticket(&mut tx, t).await?;
        tx.commit().await?;
        Ok(ExclusiveTicket::Issued)
    }

    /// The purposes of the user's live tickets (what is pending for them), sorted.
    pub async fn pending_ticket_purposes(&self, user_id: &str, now: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT purpose FROM tickets WHERE user_id = $1 AND used_at IS NULL \
             AND expires_at > $2 ORDER BY purpose",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| crate::col(r, "purpose")).collect()
    }

    /// Keeps data with a live ticket between two pages of its flow (a registration's password
    /// hash until the confirmation); false if the ticket is no longer live.
    pub async fn set_ticket_payload(
        &self,
        token_hash: &str,
        purpose: &str,
        payload: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET payload = $1 WHERE token_hash = $2 AND purpose = $3 \
             AND used_at IS NULL AND expires_at > $4",
        )
        .bind(payload)
        .bind(token_hash)
        .bind(purpose)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the password the user's login method (registration or login-method change), spending
    /// the ticket: any upstream binding and the 2FA registration go, an invited user becomes
    /// active, and the failure count and lock are cleared. False (nothing done) when the ticket
    /// was not live.
    pub async fn set_password_login(
        &self,
        user_id: &str,
        ticket_hash: &str,
        purpose: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if !spend_ticket(&mut tx, ticket_hash, user_id, purpose, now).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM upstream_identities WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE users SET login_method = 'password', password_hash = $1, failed_logins = 0, \
             locked_at = NULL, status = CASE WHEN status = 'invited' THEN 'active' ELSE status END \
             WHERE id = $2",
        )
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        clear_second_factor(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes the user's email by an email-change ticket (REQ-USER-6). A password user also sets
    /// a new password and loses their 2FA registration. Fails with `StoreError::Conflict` when
    /// the address is now used in the brand; false (nothing done) when the ticket was not live.
    pub async fn change_email(
        &self,
        user_id: &str,
        ticket_hash: &str,
        new_email: &str,
        new_password_hash: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if !spend_ticket(&mut tx, ticket_hash, user_id, "email_change", now).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE users SET email = $1, password_hash = COALESCE($2, password_hash) WHERE id = $3",
        )
        .bind(new_email)
        .bind(new_password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if new_password_hash.is_some() {
            clear_second_factor(&mut tx, user_id).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_user_role(&self, user_id: &str, role: Role) -> Result<()> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Disables or re-enables a user. Disabling also ends their browser sessions; their tokens
    /// stop at once because `access_token_active` and refresh read the status.
    pub async fn set_user_status(&self, user_id: &str, status: UserStatus, now: i64) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE users SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if status == UserStatus::Disabled {
            crate::backchannel::enqueue_logouts(
                &mut tx,
                crate::backchannel::Ended::User(user_id),
                now,
            )
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user: their grants are revoked (tokens and refresh tokens stop) and every row
    /// that belongs to them goes with them.
    pub async fn delete_user(&self, user_id: &str, now: i64) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        crate::backchannel::enqueue_logouts(&mut tx, crate::backchannel::Ended::User(user_id), now)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_contract_plan(&self, contract_id: &str, plan: Plan) -> Result<()> {
        sqlx::query("UPDATE contracts SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(contract_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn rename_contract(&self, contract_id: &str, name: &str) -> Result<()> {
        sqlx::query("UPDATE contracts SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(contract_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
