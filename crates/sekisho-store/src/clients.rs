use crate::{col, Change, Result, Store, StoreError};
use sekisho_core::model::{BrandCode, Client};
use sqlx::any::AnyRow;

fn client(row: &AnyRow) -> Result<Client> {
    let brand: String = col(row, "brand_code")?;
    let metadata: String = col(row, "metadata")?;
    Ok(Client {
        client_id: col(row, "client_id")?,
        brand: BrandCode::parse(&brand).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        secret_hash: col(row, "secret_hash")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::Corrupt(format!("column metadata: {e}")))?,
        created_at: col(row, "created_at")?,
    })
}

impl Store {
    pub async fn insert_client(&self, c: &Client) -> Result<()> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO clients (client_id, brand_code, secret_hash, metadata, created_at, \
             backchannel_logout_uri) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.client_id)
        .bind(c.brand.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(metadata)
        .bind(c.created_at)
        .bind(c.metadata.backchannel_logout_uri.as_deref())
        .execute(&self.writer)
        .await?;
        // A new client's redirect URIs are origins CORS admits (cached per brand, issue 18).
        self.announce(Change::Client(c.client_id.clone())).await;
        Ok(())
    }

    pub async fn find_client(&self, client_id: &str) -> Result<Option<Client>> {
        let row = sqlx::query(
            "SELECT client_id, brand_code, secret_hash, metadata, created_at FROM clients \
             WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(client).transpose()
    }

    pub async fn list_clients(&self, brand: &str) -> Result<Vec<Client>> {
        let rows = sqlx::query(
            "SELECT client_id, brand_code, secret_hash, metadata, created_at FROM clients \
             WHERE brand_code = $1 ORDER BY created_at, client_id",
        )
        .bind(brand)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(client).collect()
    }
}

/// Dynamic registration (RFC 7591 / RFC 7592, REQ-OP-6): clients that manage themselves with a
/// registration access token, kept only as its hash (`registration_token_hash`).
impl Store {
    /// Inserts a dynamically registered client with the hash of its registration access token.
    pub async fn insert_registered_client(&self, c: &Client, token_hash: &str) -> Result<()> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO clients (client_id, brand_code, secret_hash, metadata, created_at, \
             registration_token_hash, backchannel_logout_uri) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.client_id)
        .bind(c.brand.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(metadata)
        .bind(c.created_at)
        .bind(token_hash)
        .bind(c.metadata.backchannel_logout_uri.as_deref())
        .execute(&self.writer)
        .await?;
        self.announce(Change::Client(c.client_id.clone())).await;
        Ok(())
    }

    /// A dynamically registered client and its registration token hash; `None` for unknown
    /// clients and for clients the operator registered.
    pub async fn find_registered_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(Client, String)>> {
        let row = sqlx::query(
            "SELECT client_id, brand_code, secret_hash, metadata, created_at, \
             registration_token_hash FROM clients \
             WHERE client_id = $1 AND registration_token_hash IS NOT NULL",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| Ok((client(r)?, col(r, "registration_token_hash")?)))
            .transpose()
    }

    /// Replaces the client's metadata and secret hash (id, brand and creation time stay), and
    /// ends what was validated against the old registration: the client's logins in progress
    /// (auth requests) and its unredeemed codes. One transaction; false if there is no such client.
    pub async fn update_client(&self, c: &Client) -> Result<bool> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE clients SET secret_hash = $2, metadata = $3, backchannel_logout_uri = $4 \
                 WHERE client_id = $1",
        )
        .bind(&c.client_id)
        .bind(c.secret_hash.as_deref())
        .bind(metadata)
        .bind(c.metadata.backchannel_logout_uri.as_deref())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM auth_requests WHERE client_id = $1")
            .bind(&c.client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM authorization_codes WHERE client_id = $1 AND used_at IS NULL")
            .bind(&c.client_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.announce(Change::Client(c.client_id.clone())).await;
        Ok(true)
    }

    /// Deletes the client and revokes every grant it holds (so its refresh tokens and its users'
    /// access tokens stop working), its unredeemed codes and its logins in progress. One
    /// transaction; false if there was no such client.
    pub async fn delete_client(&self, client_id: &str, now: i64) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL",
        )
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM authorization_codes WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_requests WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            self.announce(Change::Client(client_id.to_owned())).await;
        }
        Ok(deleted)
    }
}
