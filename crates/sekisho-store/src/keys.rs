use crate::secrets::place;
use crate::{col, Change, Result, Store};

/// A signing key as stored. `private_jwk` never leaves the process: no API prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub private_jwk: String,
    pub public_jwk: String,
    pub created_at: i64,
    /// When the key starts signing (issue 17: later than `created_at` by the publication lead,
    /// so that every node and every relying party's cached JWKS has it first).
    pub activates_at: i64,
    /// When a newer key of the same alg takes over (that key's `activates_at`: it may lie ahead);
    /// the key still verifies until it is pruned.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_jwk", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

impl Store {
    /// Adds `key` as the key of its alg from `key.activates_at` on, and retires at that moment
    /// every key of the alg that would still sign then (the active one, and a next one not yet
    /// active), atomically.
    pub async fn rotate_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        self.add_signing_key(&mut tx, key).await?;
        tx.commit().await?;
        self.announce(Change::SigningKeys).await;
        Ok(())
    }

    /// [`Store::rotate_signing_key`] unless a key of the alg was made at or after `due_before`
    /// (a recent rotation, or a next key waiting): the scheduled rotation, which every node runs
    /// and one does (issue 17). On PostgreSQL the check and the rotation hold an advisory lock
    /// per algorithm, so two nodes cannot both find it due; on SQLite the single writer orders
    /// them. True when this call rotated.
    pub async fn rotate_signing_key_if_due(
        &self,
        key: &SigningKeyRecord,
        due_before: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("sekisho:rotate:{}", key.alg))
                .execute(&mut *tx)
                .await?;
        }
        if made_since(&mut *tx, &key.alg, due_before).await? {
            return Ok(false);
        }
        self.add_signing_key(&mut tx, key).await?;
        tx.commit().await?;
        self.announce(Change::SigningKeys).await;
        Ok(true)
    }

    /// Whether a key of `alg` was made at or after `since` (the scheduled rotation asks before
    /// it generates a key pair, which is the costly part; the rotation asks again under its lock).
    pub async fn signing_key_made_since(&self, alg: &str, since: i64) -> Result<bool> {
        made_since(&self.pool, alg, since).await
    }

    async fn add_signing_key(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        key: &SigningKeyRecord,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 \
             WHERE alg = $2 AND (retired_at IS NULL OR retired_at > $1)",
        )
        .bind(key.activates_at)
        .bind(&key.alg)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, \
             activates_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(self.seal_secret(
            &place("signing_keys", "private_jwk", &key.kid),
            &key.private_jwk,
        )?)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .bind(key.activates_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every key not yet pruned, newest first, private parts opened.
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_jwk, public_jwk, created_at, activates_at, retired_at \
             FROM signing_keys ORDER BY created_at DESC, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kid: String = col(r, "kid")?;
                let private_jwk = self.open_secret(
                    &place("signing_keys", "private_jwk", &kid),
                    col(r, "private_jwk")?,
                )?;
                let created_at = col(r, "created_at")?;
                Ok(SigningKeyRecord {
                    kid,
                    alg: col(r, "alg")?,
                    private_jwk,
                    public_jwk: col(r, "public_jwk")?,
                    created_at,
                    activates_at: col::<Option<i64>>(r, "activates_at")?.unwrap_or(created_at),
                    retired_at: col(r, "retired_at")?,
                })
            })
            .collect()
    }

    /// Deletes keys retired before `cutoff`: nothing they signed can still be valid.
    pub async fn prune_signing_keys(&self, cutoff: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1",
        )
        .bind(cutoff)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() > 0 {
            self.announce(Change::SigningKeys).await;
        }
        Ok(done.rows_affected())
    }
}

async fn made_since<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    alg: &str,
    since: i64,
) -> Result<bool> {
    let recent: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE alg = $1 AND created_at >= $2")
            .bind(alg)
            .bind(since)
            .fetch_one(ex)
            .await?;
    Ok(recent > 0)
}
