use crate::{col, Result, Store};

/// One line of the audit log: who did what, when. `detail` is a JSON object without secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub brand: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: serde_json::Value,
    /// The contract the event belongs to (the console's audit log shows a contract its own).
    /// `None` when written: the contract of `user_id`, if any, taken in the same statement.
    pub contract_id: Option<String>,
}

const COLUMNS: &str = "id, at, kind, brand_code, user_id, client_id, detail, contract_id";

fn event(r: &sqlx::any::AnyRow) -> Result<(i64, AuditEvent)> {
    let detail: String = col(r, "detail")?;
    Ok((
        col(r, "id")?,
        AuditEvent {
            at: col(r, "at")?,
            kind: col(r, "kind")?,
            brand: col(r, "brand_code")?,
            user_id: col(r, "user_id")?,
            client_id: col(r, "client_id")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            contract_id: col(r, "contract_id")?,
        },
    ))
}

impl Store {
    pub async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, kind, brand_code, user_id, client_id, detail, \
             contract_id) VALUES ($1, $2, $3, $4, $5, $6, \
             COALESCE($7, (SELECT contract_id FROM users WHERE id = $4)))",
        )
        .bind(e.at)
        .bind(&e.kind)
        .bind(e.brand.as_deref())
        .bind(e.user_id.as_deref())
        .bind(e.client_id.as_deref())
        .bind(e.detail.to_string())
        .bind(e.contract_id.as_deref())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The newest events first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_events ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| event(r).map(|(_, e)| e)).collect()
    }

    /// Up to `limit` events after the event `after_id` (0 for the first), oldest first, each with
    /// its id: the audit export pages through the log with it, so a long log is never held in
    /// memory and events appended meanwhile are not skipped.
    pub async fn audit_page(
        &self,
        after_id: i64,
        since: i64,
        limit: i64,
    ) -> Result<Vec<(i64, AuditEvent)>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3"
        ))
        .bind(after_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// How many events belong to `contract_id` (the console's audit log).
    pub async fn count_contract_audit(&self, contract_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM audit_events WHERE contract_id = $1")
            .bind(contract_id)
            .fetch_one(&self.pool)
            .await?;
        col(&row, "n")
    }

    /// The events of `contract_id`, newest first, `limit` of them after skipping `offset`, each
    /// with its id.
    pub async fn contract_audit(
        &self,
        contract_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(i64, AuditEvent)>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE contract_id = $1 \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(contract_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }
}
