use crate::{col, Result, Store};
use sekisho_core::oauth::Amr;
use sqlx::any::AnyRow;

/// A browser session. The cookie holds a random value; only its hash (`id_hash`) is stored.
/// `sid` is the public session id put in ID tokens (never the cookie value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub sid: String,
    pub brand: String,
    pub user_id: Option<String>,
    pub auth_time: Option<i64>,
    /// The `amr` values of the last authentication, in order of proof (stored space-separated).
    pub amr: Vec<Amr>,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const SESSION_COLUMNS: &str =
    "id_hash, sid, brand_code, user_id, auth_time, amr, csrf_token, created_at, expires_at";

fn session(row: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: col(row, "id_hash")?,
        sid: col(row, "sid")?,
        brand: col(row, "brand_code")?,
        user_id: col(row, "user_id")?,
        auth_time: col(row, "auth_time")?,
        amr: Amr::split(&col::<String>(row, "amr")?),
        csrf_token: col(row, "csrf_token")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
    })
}

async fn insert_session<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    s: &SessionRecord,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&s.id_hash)
    .bind(&s.sid)
    .bind(&s.brand)
    .bind(s.user_id.as_deref())
    .bind(s.auth_time)
    .bind(Amr::join(&s.amr))
    .bind(&s.csrf_token)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

impl Store {
    pub async fn insert_session(&self, s: &SessionRecord) -> Result<()> {
        insert_session(&self.writer, s).await
    }

    /// The live session whose cookie hashes to `id_hash`; expired ones are not returned.
    pub async fn find_session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1 AND expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session).transpose()
    }

    /// A successful login replaces the browser's session with a new one (new cookie value and new
    /// `sid`, against session fixation) and moves the pending authorization request to it, marking
    /// that the user authenticated for that request.
    pub async fn replace_session(
        &self,
        old_id_hash: &str,
        new: &SessionRecord,
        auth_request_id: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(old_id_hash)
            .execute(&mut *tx)
            .await?;
        insert_session(&mut *tx, new).await?;
        if let Some(id) = auth_request_id {
            sqlx::query("UPDATE auth_requests SET sid = $1, authenticated_at = $2 WHERE id = $3")
                .bind(&new.sid)
                .bind(new.auth_time)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives the browser session a new cookie value, `sid` and CSRF token without changing who is
    /// signed in (against session fixation when a login step begins); the session's pending
    /// authorization requests follow it.
    pub async fn rotate_session(&self, old: &SessionRecord, new: &SessionRecord) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(&old.id_hash)
            .execute(&mut *tx)
            .await?;
        insert_session(&mut *tx, new).await?;
        sqlx::query("UPDATE auth_requests SET sid = $1 WHERE sid = $2")
            .bind(&new.sid)
            .bind(&old.sid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Logout: the session ends, and so do the grants it made that were not for offline use.
    /// Returns whether a session was found.
    pub async fn end_session(&self, sid: &str, now: i64) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        crate::backchannel::enqueue_logouts(&mut tx, crate::backchannel::Ended::Session(sid), now)
            .await?;
        let done = sqlx::query("DELETE FROM sessions WHERE sid = $1")
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE sid = $2 AND offline = 0 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(sid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}

/// How many rows anonymous traffic can grow, and the mail waiting, as stored now (expired rows the
/// purge has not yet removed included): what an operator watches (`/metrics`), and what the
/// bounds of issue 15 keep flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCounts {
    pub sessions: i64,
    pub auth_requests: i64,
    /// Mail not yet delivered (queued or failing and retried).
    pub mail_queue: i64,
}

/// The connection pools: open connections and how many of them are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
}

impl Store {
    pub async fn stored_counts(&self) -> Result<StoredCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM sessions) AS sessions, \
                    (SELECT COUNT(*) FROM auth_requests) AS auth_requests, \
                    (SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL) AS mail_queue",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoredCounts {
            sessions: col(&row, "sessions")?,
            auth_requests: col(&row, "auth_requests")?,
            mail_queue: col(&row, "mail_queue")?,
        })
    }

    /// Open and idle connections of the read pool and, on SQLite, its one writer (on
    /// PostgreSQL the writer is the same pool).
    pub fn pool_stats(&self) -> PoolStats {
        let mut stats = PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
        };
        if self.backend == crate::Backend::Sqlite {
            stats.size += self.writer.size();
            stats.idle += self.writer.num_idle();
        }
        stats
    }
}
