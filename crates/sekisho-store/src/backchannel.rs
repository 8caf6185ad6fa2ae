//! The back-channel logout queue (OpenID Connect Back-Channel Logout 1.0, issue 18).
//!
//! Invariant: a logout is queued in the same transaction that ends the session (logout, a user
//! disabled or deleted, a password reset, a contract cancelled), so an ended session is never
//! left untold, whatever crashes; one row per (client, session). A worker on every node claims
//! due rows for a minute (`claim_logouts`), delivers them and records the outcome; a failed
//! delivery is retried with back-off for three days, like mail.

use crate::{col, Result, Store};
use sqlx::any::Any;
use sqlx::Transaction;

/// How long a claimed delivery is left to the node that claimed it, seconds.
pub const CLAIM_SECONDS: i64 = 60;
/// After this long undelivered, a logout is given up (and purged), seconds.
pub const GIVE_UP_AFTER: i64 = 3 * 86_400;

/// What ended, whose sessions' RPs are told.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ended<'a> {
    /// One session (RP-initiated logout), by its `sid`.
    Session(&'a str),
    /// Every session of a user (disabled, deleted, password reset).
    User(&'a str),
    /// Every session of a contract's users (cancelled).
    Contract(&'a str),
}

/// Queues a logout for every client with a `backchannel_logout_uri` that got tokens in a session
/// that `ended` names. Run before the sessions are deleted, in the same transaction.
pub(crate) async fn enqueue_logouts(
    tx: &mut Transaction<'static, Any>,
    ended: Ended<'_>,
    now: i64,
) -> Result<u64> {
    let (sids, key) = match ended {
        Ended::Session(sid) => ("$2", sid),
        Ended::User(user) => ("SELECT s.sid FROM sessions s WHERE s.user_id = $2", user),
        Ended::Contract(contract) => (
            "SELECT s.sid FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.contract_id = $2",
            contract,
        ),
    };
    let sql = format!(
        "INSERT INTO backchannel_logouts \
         (id, client_id, user_id, sid, brand_code, created_at, next_attempt_at, attempts) \
         SELECT DISTINCT g.client_id || ':' || g.sid, g.client_id, g.user_id, g.sid, \
                g.brand_code, $1, $1, 0 \
         FROM grants g JOIN clients c ON c.client_id = g.client_id \
         WHERE c.backchannel_logout_uri IS NOT NULL AND g.user_id IS NOT NULL \
           AND g.sid IN ({sids}) \
         ON CONFLICT (id) DO NOTHING"
    );
    let done = sqlx::query(&sql)
        .bind(now)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// A logout to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRecord {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub brand: String,
    pub attempts: i64,
}

impl Store {
    /// Claims up to `limit` logouts due at `now` for [`CLAIM_SECONDS`]: no other node takes them
    /// meanwhile (the outer condition is checked again on the row a concurrent claim updated).
    pub async fn claim_logouts(&self, now: i64, limit: i64) -> Result<Vec<LogoutRecord>> {
        let rows = sqlx::query(
            "UPDATE backchannel_logouts SET next_attempt_at = $2 \
             WHERE next_attempt_at <= $1 AND delivered_at IS NULL AND id IN \
               (SELECT id FROM backchannel_logouts WHERE delivered_at IS NULL \
                AND next_attempt_at <= $1 AND created_at > $1 - $3 \
                ORDER BY next_attempt_at LIMIT $4) \
             RETURNING id, client_id, user_id, sid, brand_code, attempts",
        )
        .bind(now)
        .bind(now + CLAIM_SECONDS)
        .bind(GIVE_UP_AFTER)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogoutRecord {
                    id: col(r, "id")?,
                    client_id: col(r, "client_id")?,
                    user_id: col(r, "user_id")?,
                    sid: col(r, "sid")?,
                    brand: col(r, "brand_code")?,
                    attempts: col(r, "attempts")?,
                })
            })
            .collect()
    }

    /// Records a delivery: done at `now`, or failed (`error`) and due again at `retry_at`.
    pub async fn finish_logout(
        &self,
        id: &str,
        now: i64,
        outcome: std::result::Result<(), (&str, i64)>,
    ) -> Result<()> {
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE backchannel_logouts SET delivered_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&self.writer)
                    .await?;
            }
            Err((error, retry_at)) => {
                sqlx::query(
                    "UPDATE backchannel_logouts SET attempts = attempts + 1, \
                     next_attempt_at = $2, last_error = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(retry_at)
                .bind(error)
                .execute(&self.writer)
                .await?;
            }
        }
        Ok(())
    }

    /// Logouts queued and not yet delivered (for `/metrics` and tests).
    pub async fn pending_logouts(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM backchannel_logouts WHERE delivered_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
