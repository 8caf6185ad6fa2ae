//! The durable mail outbox. A request that needs a mail only inserts a row; a worker delivers it
//! and retries with back-off, so a mail-server outage delays mail but loses none.

use crate::{col, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    pub id: String,
    pub brand: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

const MAIL_COLUMNS: &str = "id, brand_code, to_addr, subject, body, created_at, attempts, next_attempt_at, sent_at, last_error";

fn mail(r: &sqlx::any::AnyRow) -> Result<MailRecord> {
    Ok(MailRecord {
        id: col(r, "id")?,
        brand: col(r, "brand_code")?,
        to: col(r, "to_addr")?,
        subject: col(r, "subject")?,
        body: col(r, "body")?,
        created_at: col(r, "created_at")?,
        attempts: col(r, "attempts")?,
        next_attempt_at: col(r, "next_attempt_at")?,
        sent_at: col(r, "sent_at")?,
        last_error: col(r, "last_error")?,
    })
}

impl Store {
    pub async fn enqueue_mail(&self, m: &MailRecord) -> Result<()> {
        sqlx::query(&format!("INSERT INTO mail_outbox ({MAIL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(&m.id)
            .bind(&m.brand)
            .bind(&m.to)
            .bind(&m.subject)
            .bind(&m.body)
            .bind(m.created_at)
            .bind(m.attempts)
            .bind(m.next_attempt_at)
            .bind(m.sent_at)
            .bind(m.last_error.as_deref())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Queues `m` unless `cap` mails to its address were already queued in this clock hour (mail
    /// bombing, issue 15). One transaction: the hour's counter goes up only while under the cap
    /// (a conditional upsert, which PostgreSQL serializes on the row, so parallel requests on
    /// several nodes never pass the cap together), and the mail is inserted only if it did.
    /// Returns whether the mail was queued.
    pub async fn enqueue_mail_capped(&self, m: &MailRecord, cap: i64) -> Result<bool> {
        let window_start = m.created_at - m.created_at.rem_euclid(3600);
        let mut tx = self.writer.begin().await?;
        let counted = sqlx::query(
            "INSERT INTO mail_quota (to_addr, window_start, queued) VALUES ($1, $2, 1) \
             ON CONFLICT (to_addr, window_start) DO UPDATE SET queued = mail_quota.queued + 1 \
             WHERE mail_quota.queued < $3",
        )
        .bind(m.to.to_lowercase())
        .bind(window_start)
        .bind(cap)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if counted {
            sqlx::query(&format!("INSERT INTO mail_outbox ({MAIL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
                .bind(&m.id)
                .bind(&m.brand)
                .bind(&m.to)
                .bind(&m.subject)
                .bind(&m.body)
                .bind(m.created_at)
                .bind(m.attempts)
                .bind(m.next_attempt_at)
                .bind(m.sent_at)
                .bind(m.last_error.as_deref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(counted)
    }

    /// Unsent mails whose next attempt is due, oldest first.
    pub async fn due_mail(&self, now: i64, limit: i64) -> Result<Vec<MailRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, created_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mail).collect()
    }

    /// Takes a due mail for one delivery attempt, pushing its next attempt to `lease_until` so that
    /// another worker (another node) does not send it at the same time. False if someone else has it.
    pub async fn claim_mail(&self, id: &str, now: i64, lease_until: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id = $2 AND sent_at IS NULL AND next_attempt_at <= $3",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn mark_mail_sent(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn mark_mail_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3")
            .bind(next_attempt_at)
            .bind(error)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Every mail, newest first (for operators and tests).
    pub async fn list_mail(&self, limit: i64) -> Result<Vec<MailRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox ORDER BY created_at DESC, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mail).collect()
    }
}
