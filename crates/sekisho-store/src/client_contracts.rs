//! Which contract a client acts for in the admin API (issue 6 item 6: `client_credentials` with
//! scope `sekisho:admin` manages the users of one contract).
//!
//! The binding is a column of its own (`clients.contract_id`), not a field of the client's
//! metadata: the metadata is RFC 7591's, which a dynamically registered client writes and reads
//! itself, while a binding grants power over a contract's users and is set only by the operator.

use crate::changes::Change;
use crate::{col, Result, Store, StoreError};
use sekisho_core::model::Client;

impl Store {
    /// Inserts an operator-registered client, bound to `contract_id` when given, in one
    /// statement (a client never exists half-bound).
    pub async fn insert_client_for(&self, c: &Client, contract_id: Option<&str>) -> Result<()> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO clients (client_id, brand_code, secret_hash, metadata, created_at, \
             contract_id, backchannel_logout_uri) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.client_id)
        .bind(c.brand.as_str())
        .bind(c.secret_hash.as_deref())
        .bind(metadata)
        .bind(c.created_at)
        .bind(contract_id)
        .bind(c.metadata.backchannel_logout_uri.as_deref())
        .execute(&self.writer)
        .await?;
        // A new client's redirect URIs are origins CORS admits (cached per brand, issue 18).
        self.announce(Change::Client(c.client_id.clone())).await;
        Ok(())
    }

    /// The contract the client is bound to; `None` for unknown or unbound clients. Read on every
    /// admin API call (not cached), so an unbinding or a deletion takes effect at once.
    pub async fn client_contract(&self, client_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT contract_id FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => col::<Option<String>>(&r, "contract_id")?,
            None => None,
        })
    }

    /// The bound clients of a brand: (client_id, contract_id), for listings.
    pub async fn client_contracts(&self, brand: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT client_id, contract_id FROM clients \
             WHERE brand_code = $1 AND contract_id IS NOT NULL ORDER BY client_id",
        )
        .bind(brand)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((col(r, "client_id")?, col(r, "contract_id")?)))
            .collect()
    }
}

impl Store {
    /// Marks the client a resource server (it may introspect every token of its brand) or not.
    /// False when there is no such client.
    pub async fn set_client_resource_server(&self, client_id: &str, on: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE clients SET resource_server = $1 WHERE client_id = $2")
            .bind(i64::from(on))
            .bind(client_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether the operator registered the client as a resource server. Read at every
    /// introspection (not cached), so a change takes effect at once.
    pub async fn client_is_resource_server(&self, client_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT resource_server FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => col::<i64>(&r, "resource_server")? != 0,
            None => false,
        })
    }

    /// The brand's clients registered as resource servers, for listings.
    pub async fn resource_servers(&self, brand: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT client_id FROM clients WHERE brand_code = $1 AND resource_server <> 0 \
             ORDER BY client_id",
        )
        .bind(brand)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| col(r, "client_id")).collect()
    }
}
