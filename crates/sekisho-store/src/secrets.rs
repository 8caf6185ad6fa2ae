//! Secrets at rest (ISSUE-15): the columns that hold secrets the server must read back in clear
//! (signing keys' private parts, the SAML SP key among them, and TOTP secrets, registered or
//! being enrolled) are sealed with the operator's key-encryption key when the store has a cipher.
//!
//! Invariant: with a cipher, every write of these columns seals (`seal_secret`), every read opens
//! (`open_secret`); the place of the value (table, column, row id) is the AEAD's associated data,
//! so a value copied into another row does not open. Without a cipher, clear values are written
//! and read as before, and a sealed value is an error naming its key, never passed on.

use crate::{col, Result, Store, StoreError};
use sekisho_core::sealing::{is_sealed, sealed_key_id, SealError, SecretCipher};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every column that holds a sealed secret: (table, column, row id column).
const SECRET_COLUMNS: [(&str, &str, &str); 4] = [
    ("signing_keys", "private_jwk", "kid"),
    ("server_secrets", "value", "name"),
    ("second_factors", "totp_secret", "user_id"),
    ("second_factor_challenges", "totp_secret", "sid"),
];

/// The associated data of a value: where it lives.
pub(crate) fn place(table: &str, column: &str, id: &str) -> String {
    format!("{table}.{column}:{id}")
}

/// How the stored secrets are kept: clear, or sealed by which KEK.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SecretsStatus {
    pub clear: u64,
    pub sealed_by_key: BTreeMap<String, u64>,
}

/// What `seal_secrets` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SecretsReport {
    /// Every stored secret, each opened (sealed ones) to prove the configured KEK opens it.
    pub checked: u64,
    /// Clear values sealed now (the first start with a KEK).
    pub sealed: u64,
    /// Values sealed by another configured KEK, sealed again with the primary one (rotation).
    pub resealed: u64,
    /// The KEK every value is now sealed with (none without a cipher).
    pub key_id: Option<String>,
}

impl Store {
    /// This store seals and opens secrets with `cipher` from now on. Call before cloning the
    /// store into the rest of the server.
    pub fn with_cipher(mut self, cipher: Arc<dyn SecretCipher>) -> Self {
        self.cipher = Some(cipher);
        self
    }

    pub fn has_cipher(&self) -> bool {
        self.cipher.is_some()
    }

    /// The stored form of a secret at `what` (see [`place`]).
    pub(crate) fn seal_secret(&self, what: &str, clear: &str) -> Result<String> {
        match &self.cipher {
            Some(c) => c.seal(what, clear).map_err(|error| StoreError::Sealed {
                what: what.to_owned(),
                error,
            }),
            None => Ok(clear.to_owned()),
        }
    }

    /// The clear secret from its stored form: a clear value from before a KEK was configured is
    /// returned as it is (the next start seals it).
    pub(crate) fn open_secret(&self, what: &str, stored: String) -> Result<String> {
        if !is_sealed(&stored) {
            return Ok(stored);
        }
        let opened = match &self.cipher {
            Some(c) => c.open(what, &stored),
            None => Err(SealError::UnknownKey(
                sealed_key_id(&stored).unwrap_or("?").to_owned(),
            )),
        };
        opened.map_err(|error| StoreError::Sealed {
            what: what.to_owned(),
            error,
        })
    }

    /// Counts the stored secrets: clear, and sealed per KEK id. Opens nothing.
    pub async fn secrets_status(&self) -> Result<SecretsStatus> {
        let mut status = SecretsStatus::default();
        for (table, column, _) in SECRET_COLUMNS {
            let rows = sqlx::query(&format!(
                "SELECT {column} AS v FROM {table} WHERE {column} IS NOT NULL"
            ))
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                let v: String = col(&row, "v")?;
                match sealed_key_id(&v) {
                    Some(kid) => *status.sealed_by_key.entry(kid.to_owned()).or_default() += 1,
                    None => status.clear += 1,
                }
            }
        }
        Ok(status)
    }

    /// At start-up and for a KEK rotation, in one transaction: opens every sealed secret (so a
    /// missing or wrong KEK stops start-up here, not at the first login), seals the clear ones
    /// when a cipher is set, and with `reseal` seals again every value not under the primary KEK.
    /// Without a cipher, any sealed value is an error (`StoreError::Sealed`, naming its key).
    pub async fn seal_secrets(&self, reseal: bool) -> Result<SecretsReport> {
        let mut report = SecretsReport {
            key_id: self.cipher.as_ref().map(|c| c.primary_id().to_owned()),
            ..SecretsReport::default()
        };
        let mut tx = self.writer.begin().await?;
        for (table, column, id_col) in SECRET_COLUMNS {
            let rows = sqlx::query(&format!(
                "SELECT {id_col} AS id, {column} AS v FROM {table} WHERE {column} IS NOT NULL"
            ))
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let id: String = col(&row, "id")?;
                let stored: String = col(&row, "v")?;
                let what = place(table, column, &id);
                report.checked += 1;
                let clear = self.open_secret(&what, stored.clone())?;
                let Some(cipher) = &self.cipher else { continue };
                let fresh = if !is_sealed(&stored) {
                    report.sealed += 1;
                    true
                } else if reseal && sealed_key_id(&stored) != Some(cipher.primary_id()) {
                    report.resealed += 1;
                    true
                } else {
                    false
                };
                if fresh {
                    let sealed = self.seal_secret(&what, &clear)?;
                    // Conditional: a value another node changed meanwhile is left to it.
                    sqlx::query(&format!(
                        "UPDATE {table} SET {column} = $1 WHERE {id_col} = $2 AND {column} = $3"
                    ))
                    .bind(sealed)
                    .bind(&id)
                    .bind(&stored)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}
