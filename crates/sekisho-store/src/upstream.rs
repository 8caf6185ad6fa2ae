//! Brokered login records: which upstream identity a user is bound to, and the server-side state
//! of each upstream round trip (state, nonce, PKCE verifier).
//!
//! Invariant: a round trip's state is taken once (one conditional UPDATE), so a replayed
//! callback finds nothing.

use crate::{col, Result, Store, StoreError};
use sekisho_core::login::RoundTrip;
use sekisho_core::secret::Secret;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamStateRecord {
    pub state_hash: String,
    pub sid: String,
    pub brand: String,
    pub connector: String,
    pub nonce: Secret<String>,
    pub pkce_verifier: Secret<String>,
    /// A login (and where it continues) or a binding (and the ticket's hash).
    pub purpose: RoundTrip,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamBinding {
    pub brand: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub connector: String,
    pub email: Option<String>,
    pub created_at: i64,
}

const STATE_COLUMNS: &str = "state_hash, sid, brand_code, connector, nonce, pkce_verifier, \
    purpose, next, created_at, expires_at";
const BINDING_COLUMNS: &str = "brand_code, issuer, subject, user_id, connector, email, created_at";

fn state(row: &AnyRow) -> Result<UpstreamStateRecord> {
    Ok(UpstreamStateRecord {
        state_hash: col(row, "state_hash")?,
        sid: col(row, "sid")?,
        brand: col(row, "brand_code")?,
        connector: col(row, "connector")?,
        nonce: Secret::new(col(row, "nonce")?),
        pkce_verifier: Secret::new(col(row, "pkce_verifier")?),
        purpose: {
            let (purpose, next): (String, String) = (col(row, "purpose")?, col(row, "next")?);
            RoundTrip::from_stored(&purpose, &next).ok_or_else(|| {
                StoreError::Corrupt(format!("column purpose: unknown value {purpose:?}"))
            })?
        },
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
    })
}

fn binding(row: &AnyRow) -> Result<UpstreamBinding> {
    Ok(UpstreamBinding {
        brand: col(row, "brand_code")?,
        issuer: col(row, "issuer")?,
        subject: col(row, "subject")?,
        user_id: col(row, "user_id")?,
        connector: col(row, "connector")?,
        email: col(row, "email")?,
        created_at: col(row, "created_at")?,
    })
}

/// What taking a round trip's state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenState {
    Taken(Box<UpstreamStateRecord>),
    /// Known but already used (a replayed callback).
    Used,
    /// Known but expired.
    Expired,
    /// Not ours.
    Unknown,
}

impl Store {
    pub async fn insert_upstream_state(&self, s: &UpstreamStateRecord) -> Result<()> {
        let (purpose, next) = s.purpose.to_stored();
        sqlx::query(&format!(
            "INSERT INTO upstream_states ({STATE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&s.state_hash)
        .bind(&s.sid)
        .bind(&s.brand)
        .bind(&s.connector)
        .bind(s.nonce.expose())
        .bind(s.pkce_verifier.expose())
        .bind(purpose)
        .bind(next)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Takes the round trip's state once: a second callback with it finds `Used`.
    pub async fn take_upstream_state(&self, state_hash: &str, now: i64) -> Result<TakenState> {
        let row = sqlx::query(&format!(
            "UPDATE upstream_states SET used_at = $1 \
             WHERE state_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING {STATE_COLUMNS}"
        ))
        .bind(now)
        .bind(state_hash)
        .fetch_optional(&self.writer)
        .await?;
        if let Some(row) = row {
            return Ok(TakenState::Taken(Box::new(state(&row)?)));
        }
        let row =
            sqlx::query("SELECT used_at, expires_at FROM upstream_states WHERE state_hash = $1")
                .bind(state_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            None => TakenState::Unknown,
            Some(r) if col::<Option<i64>>(&r, "used_at")?.is_some() => TakenState::Used,
            Some(_) => TakenState::Expired,
        })
    }

    /// The user bound to this upstream identity in the brand, if any.
    pub async fn find_upstream_binding(
        &self,
        brand: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UpstreamBinding>> {
        let row = sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM upstream_identities \
             WHERE brand_code = $1 AND issuer = $2 AND subject = $3"
        ))
        .bind(brand)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(binding).transpose()
    }

    pub async fn find_user_binding(&self, user_id: &str) -> Result<Option<UpstreamBinding>> {
        let row = sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM upstream_identities WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(binding).transpose()
    }

    /// Binds the user to the upstream identity as their login method (replacing any earlier
    /// binding and the password), consuming the ticket that allowed it, in one transaction.
    /// Fails with [`StoreError::Conflict`] when the identity is bound to another user, and
    /// returns false (nothing done) when the ticket was already used.
    pub async fn bind_upstream(
        &self,
        b: &UpstreamBinding,
        ticket_hash: &str,
        ticket_purpose: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if !crate::users::spend_ticket(&mut tx, ticket_hash, &b.user_id, ticket_purpose, now)
            .await?
        {
            return Ok(false);
        }
        sqlx::query("DELETE FROM upstream_identities WHERE user_id = $1")
            .bind(&b.user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO upstream_identities ({BINDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&b.brand)
        .bind(&b.issuer)
        .bind(&b.subject)
        .bind(&b.user_id)
        .bind(&b.connector)
        .bind(b.email.as_deref())
        .bind(b.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE users SET login_method = $1, password_hash = NULL, \
             status = CASE WHEN status = 'invited' THEN 'active' ELSE status END WHERE id = $2",
        )
        .bind(&b.connector)
        .bind(&b.user_id)
        .execute(&mut *tx)
        .await?;
        crate::users::clear_second_factor(&mut tx, &b.user_id).await?;
        tx.commit().await?;
        Ok(true)
    }
}
