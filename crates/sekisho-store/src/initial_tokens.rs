//! RFC 7591 initial access tokens the operator made with the CLI (ISSUE-15), kept as SHA-256
//! hashes only, like every token here. The configuration's `initial_access_token_hashes` stay
//! valid beside them.

use crate::{col, Change, Result, Store};

/// A stored initial access token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InitialTokenRecord {
    pub id: String,
    #[serde(skip_serializing)]
    pub token_hash: String,
    /// `None`: every brand.
    pub brand: Option<String>,
    pub label: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub async fn insert_initial_access_token(&self, t: &InitialTokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO initial_access_tokens (id, token_hash, brand_code, label, created_at, \
             expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&t.id)
        .bind(&t.token_hash)
        .bind(t.brand.as_deref())
        .bind(&t.label)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.writer)
        .await?;
        // Discovery's cached "registration closed" must open on every node.
        self.announce(Change::RegistrationTokens).await;
        Ok(())
    }

    /// Whether `token_hash` is a live initial access token for `brand` at `now`.
    pub async fn initial_access_token_valid(
        &self,
        token_hash: &str,
        brand: &str,
        now: i64,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM initial_access_tokens WHERE token_hash = $1 \
             AND (brand_code IS NULL OR brand_code = $2) AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(token_hash)
        .bind(brand)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    /// Whether any live initial access token registers clients in `brand` (discovery then
    /// advertises the registration endpoint).
    pub async fn initial_access_tokens_open(&self, brand: &str, now: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM initial_access_tokens \
             WHERE (brand_code IS NULL OR brand_code = $1) AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(brand)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    pub async fn list_initial_access_tokens(&self) -> Result<Vec<InitialTokenRecord>> {
        let rows = sqlx::query(
            "SELECT id, token_hash, brand_code, label, created_at, expires_at, revoked_at \
             FROM initial_access_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InitialTokenRecord {
                    id: col(r, "id")?,
                    token_hash: col(r, "token_hash")?,
                    brand: col(r, "brand_code")?,
                    label: col(r, "label")?,
                    created_at: col(r, "created_at")?,
                    expires_at: col(r, "expires_at")?,
                    revoked_at: col(r, "revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes the token `id`; false if there is no such live token.
    pub async fn revoke_initial_access_token(&self, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE initial_access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            self.announce(Change::RegistrationTokens).await;
        }
        Ok(revoked)
    }
}
