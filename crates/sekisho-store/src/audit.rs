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
}

impl Store {
    pub async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, kind, brand_code, user_id, client_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.at)
        .bind(&e.kind)
        .bind(e.brand.as_deref())
        .bind(e.user_id.as_deref())
        .bind(e.client_id.as_deref())
        .bind(e.detail.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The newest events first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at, kind, brand_code, user_id, client_id, detail FROM audit_events \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let detail: String = col(r, "detail")?;
                Ok(AuditEvent {
                    at: col(r, "at")?,
                    kind: col(r, "kind")?,
                    brand: col(r, "brand_code")?,
                    user_id: col(r, "user_id")?,
                    client_id: col(r, "client_id")?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
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
        let rows = sqlx::query(
            "SELECT id, at, kind, brand_code, user_id, client_id, detail FROM audit_events \
             WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
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
                    },
                ))
            })
            .collect()
    }
}
