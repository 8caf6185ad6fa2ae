//! Active Directory connections (Active Directory設定, REQ-AD-1/2) and the assertion IDs already
//! accepted (REQ-AD-5 replay). See migration 0008 for where the rest of AD login is kept.
//!
//! Invariant: an assertion ID is accepted once per IdP: the insert is the check (primary key), so
//! two nodes racing with the same assertion cannot both win.

use crate::{col, Result, Store, StoreError};
use sqlx::any::AnyRow;

/// A contract's connection to its ADFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdConnectionRecord {
    /// `adfs-` + 16 alphanumerics.
    pub id: String,
    pub brand: String,
    pub contract_id: String,
    /// Where the metadata is refreshed from; `None` when it was pasted.
    pub metadata_url: Option<String>,
    pub metadata_xml: String,
    pub idp_entity_id: String,
    /// The immutable claim that names the user; `None`: the persistent NameID.
    pub subject_claim: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub refreshed_at: i64,
    pub refresh_error: Option<String>,
}

const COLUMNS: &str = "id, brand_code, contract_id, metadata_url, metadata_xml, idp_entity_id, \
    subject_claim, created_at, updated_at, refreshed_at, refresh_error";

fn connection(row: &AnyRow) -> Result<AdConnectionRecord> {
    Ok(AdConnectionRecord {
        id: col(row, "id")?,
        brand: col(row, "brand_code")?,
        contract_id: col(row, "contract_id")?,
        metadata_url: col(row, "metadata_url")?,
        metadata_xml: col(row, "metadata_xml")?,
        idp_entity_id: col(row, "idp_entity_id")?,
        subject_claim: col(row, "subject_claim")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        refreshed_at: col(row, "refreshed_at")?,
        refresh_error: col(row, "refresh_error")?,
    })
}

impl Store {
    /// Creates the contract's connection. [`StoreError::Conflict`] when the contract already has
    /// one (or, vanishingly, the ID is taken).
    pub async fn insert_ad_connection(&self, c: &AdConnectionRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO ad_connections ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&c.id)
        .bind(&c.brand)
        .bind(&c.contract_id)
        .bind(c.metadata_url.as_deref())
        .bind(&c.metadata_xml)
        .bind(&c.idp_entity_id)
        .bind(c.subject_claim.as_deref())
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.refreshed_at)
        .bind(c.refresh_error.as_deref())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Replaces the metadata (a change by the contractor, or a successful refresh). The ID, the
    /// contract and the bindings stay.
    pub async fn update_ad_metadata(&self, c: &AdConnectionRecord) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ad_connections SET metadata_url = $1, metadata_xml = $2, idp_entity_id = $3, \
             subject_claim = $4, updated_at = $5, refreshed_at = $6, refresh_error = NULL \
             WHERE id = $7",
        )
        .bind(c.metadata_url.as_deref())
        .bind(&c.metadata_xml)
        .bind(&c.idp_entity_id)
        .bind(c.subject_claim.as_deref())
        .bind(c.updated_at)
        .bind(c.refreshed_at)
        .bind(&c.id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Notes why a scheduled refresh failed; the last good metadata stays in use.
    pub async fn note_ad_refresh_error(&self, id: &str, error: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE ad_connections SET refresh_error = $1, refreshed_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn find_ad_connection(&self, id: &str) -> Result<Option<AdConnectionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ad_connections WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(connection).transpose()
    }

    pub async fn find_contract_ad_connection(
        &self,
        contract_id: &str,
    ) -> Result<Option<AdConnectionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ad_connections WHERE contract_id = $1"
        ))
        .bind(contract_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(connection).transpose()
    }

    /// Connections given by URL whose metadata was last read at or before `before`.
    pub async fn ad_connections_to_refresh(&self, before: i64) -> Result<Vec<AdConnectionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ad_connections \
             WHERE metadata_url IS NOT NULL AND refreshed_at <= $1 ORDER BY refreshed_at LIMIT 100"
        ))
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection).collect()
    }

    /// Claims the refresh of connection `id`'s metadata for this node, unless another node
    /// claimed it within `lease` seconds (every node runs the refresh; one reads each
    /// connection's metadata, issue 17). True when this node is to do it.
    pub async fn claim_ad_refresh(&self, id: &str, now: i64, lease: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ad_connections SET refresh_claimed_at = $1 \
             WHERE id = $2 AND (refresh_claimed_at IS NULL OR refresh_claimed_at <= $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - lease)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the connection. The AD users of the contract keep their accounts but can no longer
    /// log in until they choose another login method (their bindings are removed with it), as the
    /// confirmation page says. Returns how many bindings were removed.
    pub async fn delete_ad_connection(&self, id: &str) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT brand_code, idp_entity_id, contract_id FROM ad_connections WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(0);
        };
        let (brand, issuer, contract): (String, String, String) = (
            col(&row, "brand_code")?,
            col(&row, "idp_entity_id")?,
            col(&row, "contract_id")?,
        );
        let removed = sqlx::query(
            "DELETE FROM upstream_identities WHERE brand_code = $1 AND issuer = $2 \
             AND connector = 'ad' AND user_id IN (SELECT id FROM users WHERE contract_id = $3)",
        )
        .bind(&brand)
        .bind(&issuer)
        .bind(&contract)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM ad_connections WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// How many users of the contract log in with AD (for the confirmation pages).
    pub async fn count_ad_users(&self, contract_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE contract_id = $1 AND login_method = 'ad'",
        )
        .bind(contract_id)
        .fetch_one(&self.pool)
        .await?;
        col(&row, "n")
    }

    /// Accepts an assertion ID once: `false` when it was already used (a replay).
    pub async fn use_saml_assertion(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO saml_assertions_used (issuer, assertion_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(issuer)
        .bind(assertion_id)
        .bind(expires_at)
        .execute(&self.writer)
        .await;
        match done.map_err(StoreError::from) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
