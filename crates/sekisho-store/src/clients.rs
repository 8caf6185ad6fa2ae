use crate::{col, Result, Store, StoreError};
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
            "INSERT INTO clients (client_id, brand_code, secret_hash, metadata, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.client_id)
        .bind(c.brand.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(metadata)
        .bind(c.created_at)
        .execute(&self.writer)
        .await?;
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
