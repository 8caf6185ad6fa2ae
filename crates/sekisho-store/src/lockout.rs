//! Failed-login counters and the account lock (REQ-LOCK-1).
//!
//! Invariant: counting is one conditional UPDATE (or UPSERT) per failure, so parallel wrong
//! guesses cannot go past the limit, and exactly one of them is told "you just locked it".

use crate::{col, Result, Store};

/// What one more failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; still below the limit.
    Counted(i64),
    /// This failure reached the limit and locked the account (send the lock mail now).
    JustLocked,
    /// The account was already locked; nothing was counted.
    AlreadyLocked,
}

fn outcome(row: Option<sqlx::any::AnyRow>) -> Result<FailureOutcome> {
    let Some(row) = row else {
        return Ok(FailureOutcome::AlreadyLocked);
    };
    let failures: i64 = col(&row, "failures")?;
    let locked: Option<i64> = col(&row, "locked_at")?;
    Ok(if locked.is_some() {
        FailureOutcome::JustLocked
    } else {
        FailureOutcome::Counted(failures)
    })
}

impl Store {
    /// Counts a wrong password for a user; the `limit`-th consecutive one locks the account.
    pub async fn record_login_failure(
        &self,
        user_id: &str,
        limit: i64,
        now: i64,
    ) -> Result<FailureOutcome> {
        let row = sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_at = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE NULL END \
             WHERE id = $3 AND locked_at IS NULL RETURNING failed_logins AS failures, locked_at",
        )
        .bind(limit)
        .bind(now)
        .bind(user_id)
        .fetch_optional(&self.writer)
        .await?;
        outcome(row)
    }

    /// The same counting for an address with no password login (unknown, or another login
    /// method), so that what a visitor sees never depends on whether the address is registered.
    pub async fn record_anonymous_failure(
        &self,
        brand: &str,
        email_hash: &str,
        limit: i64,
        now: i64,
    ) -> Result<FailureOutcome> {
        let row = sqlx::query(
            "INSERT INTO login_failures (brand_code, email_hash, failures, locked_at, last_failed_at) \
             VALUES ($1, $2, 1, NULL, $4) \
             ON CONFLICT (brand_code, email_hash) DO UPDATE SET failures = login_failures.failures + 1, \
             locked_at = CASE WHEN login_failures.failures + 1 >= $3 THEN $4 ELSE NULL END, \
             last_failed_at = $4 \
             WHERE login_failures.locked_at IS NULL RETURNING failures, locked_at",
        )
        .bind(brand)
        .bind(email_hash)
        .bind(limit)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        outcome(row)
    }

    /// Whether the anonymous counter of this address is locked.
    pub async fn anonymous_locked(&self, brand: &str, email_hash: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT locked_at FROM login_failures WHERE brand_code = $1 AND email_hash = $2",
        )
        .bind(brand)
        .bind(email_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => col::<Option<i64>>(&r, "locked_at")?.is_some(),
            None => false,
        })
    }

    /// A successful login: the consecutive-failure count starts again (no write when already 0).
    pub async fn reset_login_failures(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn unlock_user(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Sets a new password hash; with `unlock`, also clears the lock (a password reset does).
    pub async fn set_password(&self, user_id: &str, phc: &str, unlock: bool) -> Result<()> {
        let sql = if unlock {
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_at = NULL WHERE id = $2"
        } else {
            "UPDATE users SET password_hash = $1 WHERE id = $2"
        };
        let mut tx = self.writer.begin().await?;
        sqlx::query(sql)
            .bind(phc)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A second step started with the old password must not finish after the change.
        sqlx::query("DELETE FROM second_factor_challenges WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
