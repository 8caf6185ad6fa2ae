//! Pushed authorization requests (RFC 9126) and the secrets the nodes share (issue 18).

use crate::{col, Result, Store};

/// A pushed authorization request, waiting for the browser to bring its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequestRecord {
    pub brand: String,
    pub client_id: String,
    /// The request's parameters, as JSON (only the authorization request's own, each within its
    /// size limit: `sekisho_oidc::par`).
    pub params: String,
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_pushed_request(
        &self,
        uri_hash: &str,
        r: &PushedRequestRecord,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pushed_requests (uri_hash, brand_code, client_id, params, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uri_hash)
        .bind(&r.brand)
        .bind(&r.client_id)
        .bind(&r.params)
        .bind(r.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The pushed request `uri_hash`, deleted in the same statement: a `request_uri` works once,
    /// on every node. Expired ones are returned too (and gone): the caller compares `expires_at`.
    pub async fn take_pushed_request(&self, uri_hash: &str) -> Result<Option<PushedRequestRecord>> {
        let row = sqlx::query(
            "DELETE FROM pushed_requests WHERE uri_hash = $1 \
             RETURNING brand_code, client_id, params, expires_at",
        )
        .bind(uri_hash)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| {
            Ok(PushedRequestRecord {
                brand: col(&r, "brand_code")?,
                client_id: col(&r, "client_id")?,
                params: col(&r, "params")?,
                expires_at: col(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    /// The shared secret `name`: the stored one, or `fresh` stored (sealed) if there was none.
    /// Nodes that ask at once all get the one value the first of them stored.
    pub async fn server_secret(&self, name: &str, fresh: &str) -> Result<String> {
        let place = crate::secrets::place("server_secrets", "value", name);
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(self.seal_secret(&place, fresh)?)
        .execute(&self.writer)
        .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        self.open_secret(&place, stored)
    }
}
