//! Authorization requests, codes, grants (token families), refresh tokens and revocations.
//!
//! Invariant: a code is redeemed and its grant created in one transaction, and a refresh token is
//! rotated in one transaction, so two racing requests can never both succeed.

use crate::{col, Result, Store};
use sekisho_core::model::{Contract, User};
use sqlx::any::AnyRow;

/// A validated authorization request waiting for the user, bound to the browser session `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequestRecord {
    pub id: String,
    pub brand: String,
    pub client_id: String,
    pub sid: String,
    /// The validated parameters as JSON (owned by sekisho-oidc).
    pub params: String,
    /// When the user authenticated for this request, if they did.
    pub authenticated_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub code_hash: String,
    /// The grant the code creates when redeemed (assigned up front so that a replay can revoke it).
    pub grant_id: String,
    pub client_id: String,
    pub payload: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// One token family: everything issued from one authorization (or one client_credentials call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: String,
    pub brand: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub sid: Option<String>,
    /// Survives logout (scope `offline_access`).
    pub offline: bool,
    pub payload: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeExchange {
    /// The code was unused: it is now used, and the grant (with its refresh token) exists.
    Redeemed,
    /// Someone redeemed it before: nothing was created and the grant it made is now revoked.
    Replayed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// The old token is spent and the new one stored, in the same family.
    Rotated,
    /// The old token was spent moments ago (within the grace) and its child never used: the
    /// child is spent and the new token replaces it (a client that lost the answer retried).
    RotatedAgain,
    /// The old token had been used already: the whole family is now revoked.
    Reused,
    /// Expired, or its family was revoked.
    Inactive,
}

const GRANT_COLUMNS: &str =
    "id, brand_code, client_id, user_id, sid, offline, payload, created_at, revoked_at";

fn grant(row: &AnyRow) -> Result<GrantRecord> {
    grant_with(row, "")
}

/// The refresh token of a row joined with its grant (its `created_at` named `r_created_at`).
fn joined_refresh(row: &AnyRow) -> Result<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        created_at: col(row, "r_created_at")?,
        expires_at: col(row, "expires_at")?,
        used_at: col(row, "used_at")?,
    })
}

/// A grant whose columns are named `{prefix}{column}`.
fn grant_with(row: &AnyRow, prefix: &str) -> Result<GrantRecord> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(GrantRecord {
        id: col(row, &c("id"))?,
        brand: col(row, &c("brand_code"))?,
        client_id: col(row, &c("client_id"))?,
        user_id: col(row, &c("user_id"))?,
        sid: col(row, &c("sid"))?,
        offline: col::<i64>(row, &c("offline"))? != 0,
        payload: col(row, &c("payload"))?,
        created_at: col(row, &c("created_at"))?,
        revoked_at: col(row, &c("revoked_at"))?,
    })
}

fn refresh(row: &AnyRow) -> Result<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: col(row, "token_hash")?,
        grant_id: col(row, "grant_id")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        used_at: col(row, "used_at")?,
    })
}

pub(crate) async fn insert_refresh<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    r: &RefreshRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, NULL)",
    )
    .bind(&r.token_hash)
    .bind(&r.grant_id)
    .bind(r.created_at)
    .bind(r.expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

async fn revoke_grant<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// How many authorization requests one browser session keeps in progress at most.
pub const MAX_AUTH_REQUESTS_PER_SESSION: i64 = 16;

impl Store {
    // ---- authorization requests ----

    /// Keeps a request, and at most [`MAX_AUTH_REQUESTS_PER_SESSION`] per browser session: the
    /// oldest others of `r.sid` go (issue 15: one browser re-sending `/authorize` cannot grow the
    /// table; a user's tabs in progress stay well under the bound).
    pub async fn insert_auth_request(&self, r: &AuthRequestRecord) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO auth_requests (id, brand_code, client_id, sid, params, authenticated_at, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(&r.brand)
        .bind(&r.client_id)
        .bind(&r.sid)
        .bind(&r.params)
        .bind(r.authenticated_at)
        .bind(r.created_at)
        .bind(r.expires_at)
        .execute(&mut *tx)
        .await?;
        // Age is known to the second: the new request is kept whatever the order of equal
        // creation times; among older ones of one second, which goes first is arbitrary.
        sqlx::query(
            "DELETE FROM auth_requests WHERE sid = $1 AND id <> $2 AND id NOT IN \
             (SELECT id FROM auth_requests WHERE sid = $1 AND id <> $2 \
              ORDER BY created_at DESC, id DESC LIMIT $3)",
        )
        .bind(&r.sid)
        .bind(&r.id)
        .bind(MAX_AUTH_REQUESTS_PER_SESSION - 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live request with this id; expired ones are not returned.
    pub async fn find_auth_request(&self, id: &str, now: i64) -> Result<Option<AuthRequestRecord>> {
        let row = sqlx::query(
            "SELECT id, brand_code, client_id, sid, params, authenticated_at, created_at, expires_at \
             FROM auth_requests WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AuthRequestRecord {
                id: col(&r, "id")?,
                brand: col(&r, "brand_code")?,
                client_id: col(&r, "client_id")?,
                sid: col(&r, "sid")?,
                params: col(&r, "params")?,
                authenticated_at: col(&r, "authenticated_at")?,
                created_at: col(&r, "created_at")?,
                expires_at: col(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    /// Ends a request and stores the code it produced, atomically: a request yields one code.
    /// Returns false (and stores nothing) when the request was already completed.
    pub async fn complete_auth_request(&self, id: &str, code: &CodeRecord) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM auth_requests WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO authorization_codes \
             (code_hash, grant_id, client_id, payload, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&code.code_hash)
        .bind(&code.grant_id)
        .bind(&code.client_id)
        .bind(&code.payload)
        .bind(code.created_at)
        .bind(code.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a request that can no longer complete (an error was sent back to the RP).
    pub async fn delete_auth_request(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM auth_requests WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // ---- authorization codes ----

    pub async fn find_code(&self, code_hash: &str) -> Result<Option<CodeRecord>> {
        let row = sqlx::query(
            "SELECT code_hash, grant_id, client_id, payload, created_at, expires_at, used_at \
             FROM authorization_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(CodeRecord {
                code_hash: col(&r, "code_hash")?,
                grant_id: col(&r, "grant_id")?,
                client_id: col(&r, "client_id")?,
                payload: col(&r, "payload")?,
                created_at: col(&r, "created_at")?,
                expires_at: col(&r, "expires_at")?,
                used_at: col(&r, "used_at")?,
            })
        })
        .transpose()
    }

    /// Marks the code used and creates its grant and refresh token, or, if it was used before,
    /// revokes the grant it created. One transaction either way.
    pub async fn exchange_code(
        &self,
        code_hash: &str,
        now: i64,
        grant: &GrantRecord,
        refresh: Option<&RefreshRecord>,
    ) -> Result<CodeExchange> {
        let mut tx = self.writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            revoke_grant(&mut *tx, &grant.id, now).await?;
            tx.commit().await?;
            return Ok(CodeExchange::Replayed);
        }
        insert_grant(&mut *tx, grant).await?;
        if let Some(r) = refresh {
            insert_refresh(&mut *tx, r).await?;
        }
        tx.commit().await?;
        Ok(CodeExchange::Redeemed)
    }

    // ---- grants ----

    pub async fn insert_grant(&self, g: &GrantRecord) -> Result<()> {
        insert_grant(&self.writer, g).await
    }

    pub async fn find_grant(&self, id: &str) -> Result<Option<GrantRecord>> {
        let row = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(grant).transpose()
    }

    pub async fn revoke_grant(&self, id: &str, now: i64) -> Result<()> {
        revoke_grant(&self.writer, id, now).await
    }

    // ---- refresh tokens ----

    /// Stores a refresh token of an existing grant (set-up of benchmarks and imports; the
    /// protocol itself issues them through `exchange_code` and `rotate_refresh`).
    pub async fn insert_refresh(&self, r: &RefreshRecord) -> Result<()> {
        insert_refresh(&self.writer, r).await
    }

    /// The refresh token and its family, whatever their state (the caller decides).
    pub async fn find_refresh(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>> {
        let row = sqlx::query(
            "SELECT r.token_hash, r.grant_id, r.created_at AS r_created_at, r.expires_at, r.used_at, \
             g.id, g.brand_code, g.client_id, g.user_id, g.sid, g.offline, g.payload, g.created_at, \
             g.revoked_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let rec = joined_refresh(&r)?;
            Ok((rec, grant(&r)?))
        })
        .transpose()
    }

    /// The refresh token, its family, and the family's user with their contract, in one query:
    /// everything the refresh grant checks before it rotates. None when the token is unknown
    /// or its family has no user.
    pub async fn find_refresh_for_rotation(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshRecord, GrantRecord, User, Contract)>> {
        let row = sqlx::query(&format!(
            "SELECT r.token_hash, r.grant_id, r.created_at AS r_created_at, r.expires_at, \
             r.used_at, g.id AS g_id, g.brand_code AS g_brand_code, g.client_id AS g_client_id, \
             g.user_id AS g_user_id, g.sid AS g_sid, g.offline AS g_offline, \
             g.payload AS g_payload, g.created_at AS g_created_at, g.revoked_at AS g_revoked_at, \
             {} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             JOIN users u ON u.id = g.user_id JOIN contracts c ON c.id = u.contract_id \
             WHERE r.token_hash = $1",
            crate::contracts::user_and_contract_columns()
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let rec = joined_refresh(&r)?;
            let (user, contract) = crate::contracts::user_and_contract(&r)?;
            Ok((rec, grant_with(&r, "g_")?, user, contract))
        })
        .transpose()
    }

    /// Spends `old_hash` and stores `new` in the same family, in one transaction. A token that was
    /// spent before revokes its whole family (RFC 9700 §4.14.2 reuse detection).
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        now: i64,
        new: &RefreshRecord,
    ) -> Result<RefreshRotation> {
        self.rotate_refresh_within(old_hash, now, new, 0).await
    }

    /// [`Store::rotate_refresh`] with a grace of `grace` seconds for a client that lost the
    /// answer of its last rotation (a crash, a network cut).
    ///
    /// Within `grace` seconds of `old_hash`'s first use, presenting it again while the token it
    /// was rotated to is still unused does not revoke the family: that child is spent (it was
    /// never received, or it is now a rival branch) and `new` takes its place, so the family
    /// keeps at most one live refresh token. We store only hashes, so we cannot hand out the
    /// same child again (as Ory Hydra's grace does); a fresh child that replaces it gives the
    /// client the same outcome. Everything else stays fatal and revokes the family: presenting
    /// it after the grace, after the child was used (the client did get it), after the child
    /// was superseded, or losing a race with another retry. The grace runs from the first use
    /// and retries do not extend it. `grace = 0` is strict rotation.
    pub async fn rotate_refresh_within(
        &self,
        old_hash: &str,
        now: i64,
        new: &RefreshRecord,
        grace: i64,
    ) -> Result<RefreshRotation> {
        // The common case, an unused token, is committed together with the rotations of other
        // requests (group commit); what the group did not spend is decided below.
        if self.rotate_in_group(old_hash, now, new).await {
            return Ok(RefreshRotation::Rotated);
        }
        let mut tx = self.writer.begin().await?;
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1, rotated_to = $3 WHERE token_hash = $2 \
             AND used_at IS NULL AND expires_at > $1 \
             AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL)",
        )
        .bind(now)
        .bind(old_hash)
        .bind(&new.token_hash)
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() == 1 {
            insert_refresh(&mut *tx, new).await?;
            tx.commit().await?;
            return Ok(RefreshRotation::Rotated);
        }
        let row = sqlx::query(
            "SELECT r.token_hash, r.grant_id, r.created_at, r.expires_at, r.used_at, r.rotated_to, \
             g.revoked_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(RefreshRotation::Inactive);
        };
        let old = refresh(&row)?;
        let Some(used_at) = old.used_at else {
            // Unused, yet not spendable: expired, or its family revoked.
            tx.commit().await?;
            return Ok(RefreshRotation::Inactive);
        };
        let family_live = col::<Option<i64>>(&row, "revoked_at")?.is_none();
        let child: Option<String> = col(&row, "rotated_to")?;
        let within_grace = grace > 0 && now <= used_at + grace && old.expires_at > now;
        if family_live && within_grace {
            if let Some(child) = child {
                // Spends the child only if nobody used it: the conditional UPDATE is the check,
                // so two retries racing cannot both replace it.
                let superseded = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 \
                     AND used_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(&child)
                .execute(&mut *tx)
                .await?;
                if superseded.rows_affected() == 1 {
                    sqlx::query("UPDATE refresh_tokens SET rotated_to = $1 WHERE token_hash = $2")
                        .bind(&new.token_hash)
                        .bind(old_hash)
                        .execute(&mut *tx)
                        .await?;
                    insert_refresh(&mut *tx, new).await?;
                    tx.commit().await?;
                    return Ok(RefreshRotation::RotatedAgain);
                }
            }
        }
        revoke_grant(&mut *tx, &old.grant_id, now).await?;
        tx.commit().await?;
        Ok(RefreshRotation::Reused)
    }

    // ---- access tokens ----

    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Whether a signature-valid, unexpired access token is still honoured: its own `jti` not
    /// revoked, and its family (if it has one) not revoked. One round trip.
    /// Whether an access token still works: its `jti` is not revoked, and its grant (family) is
    /// live and belongs to no user or to a user whose contract is active at `now` (not
    /// cancelled, not a trial past its length: see `Contract::is_active`). One query.
    pub async fn access_token_active(
        &self,
        jti: &str,
        grant_id: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        self.token_live(jti, grant_id, None, now).await
    }

    /// [`Store::access_token_active`], and the client the token was issued to still registered
    /// since before `issued_at` (ISSUE-15: a deleted client's tokens end with it, those it got for
    /// itself with `client_credentials` too, even when an id is registered again). One query.
    pub async fn client_access_token_active(
        &self,
        jti: &str,
        grant_id: Option<&str>,
        client_id: &str,
        issued_at: i64,
        now: i64,
    ) -> Result<bool> {
        self.token_live(jti, grant_id, Some((client_id, issued_at)), now)
            .await
    }

    async fn token_live(
        &self,
        jti: &str,
        grant_id: Option<&str>,
        client: Option<(&str, i64)>,
        now: i64,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1) AS revoked, \
             (SELECT COUNT(*) FROM clients WHERE client_id = $5 AND created_at <= $6) AS client, \
             (SELECT COUNT(*) FROM grants g \
               LEFT JOIN users u ON u.id = g.user_id \
               LEFT JOIN contracts c ON c.id = u.contract_id \
               WHERE g.id = $2 AND g.revoked_at IS NULL AND (g.user_id IS NULL OR \
                 (u.status = 'active' AND c.state = 'active' AND NOT (c.plan = 'trial' AND c.created_at + $3 <= $4)))) \
             AS live",
        )
        .bind(jti)
        .bind(grant_id.unwrap_or(""))
        .bind(sekisho_core::menu::TRIAL_LENGTH)
        .bind(now)
        .bind(client.map_or("", |c| c.0))
        .bind(client.map_or(0, |c| c.1))
        .fetch_one(&self.pool)
        .await?;
        let revoked: i64 = col(&row, "revoked")?;
        let live: i64 = col(&row, "live")?;
        let client_live: i64 = col(&row, "client")?;
        Ok(revoked == 0
            && (grant_id.is_none() || live == 1)
            && (client.is_none() || client_live == 1))
    }

    /// Records a `private_key_jwt` assertion's (issuer, jti); false if it was seen before (replay).
    pub async fn use_client_assertion(&self, jti_key: &str, expires_at: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO used_client_assertions (jti_key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti_key) DO NOTHING",
        )
        .bind(jti_key)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes what has expired (see [`PURGES`]), in batches of [`PURGE_BATCH`] rows, each in a
    /// transaction of its own, so that the writer (SQLite's one connection, PostgreSQL's row
    /// locks) is never held long enough to stall logins. Every node runs it; on PostgreSQL a
    /// round is done by the node holding the purge's advisory lock, and another node that finds
    /// it taken leaves the round to it (issue 17). Returns the rows deleted by this call.
    pub async fn purge_expired(&self, now: i64) -> Result<u64> {
        let row = match self.backend {
            crate::Backend::Sqlite => "rowid",
            crate::Backend::Postgres => "ctid",
        };
        let mut n = 0;
        for (table, expired) in PURGES {
            let sql = format!(
                "DELETE FROM {table} WHERE {row} IN \
                 (SELECT {row} FROM {table} WHERE {expired} LIMIT {PURGE_BATCH})"
            );
            loop {
                let mut tx = self.writer.begin().await?;
                if self.backend == crate::Backend::Postgres {
                    let ours: bool =
                        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
                            .bind("sekisho:purge")
                            .fetch_one(&mut *tx)
                            .await?;
                    if !ours {
                        return Ok(n);
                    }
                }
                let done = sqlx::query(&sql)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                n += done;
                if done < PURGE_BATCH {
                    break;
                }
            }
        }
        Ok(n)
    }
}

impl Store {
    /// How many rows each table the purge looks after holds, in [`PURGES`] order: what a long
    /// run must keep flat (the bench prints them before and after its loads).
    pub async fn purged_table_sizes(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut sizes = Vec::with_capacity(PURGES.len());
        for (table, _) in PURGES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            sizes.push((*table, n));
        }
        Ok(sizes)
    }
}

/// Rows one purge statement deletes at most.
pub const PURGE_BATCH: u64 = 500;

/// What the purge deletes: (table, the condition on `$1` = now under which a row is of no use).
/// Margins keep a row a little past its expiry where a late request should get the precise
/// refusal (a spent code's replay, a round trip coming back late, a mailed link clicked late).
const PURGES: &[(&str, &str)] = &[
    ("auth_requests", "expires_at <= $1"),
    // A back-channel logout a day after it was delivered, or once it was given up (3 days).
    (
        "backchannel_logouts",
        "delivered_at <= $1 - 86400 OR created_at <= $1 - 259200",
    ),
    ("pushed_requests", "expires_at <= $1"),
    // A device authorization a day after it expired (a late poll is told expired_token).
    ("device_authorizations", "expires_at <= $1 - 86400"),
    ("authorization_codes", "expires_at <= $1 - 86400"),
    ("sessions", "expires_at <= $1"),
    ("refresh_tokens", "expires_at <= $1"),
    ("revoked_access_tokens", "expires_at <= $1"),
    ("used_client_assertions", "expires_at <= $1"),
    ("second_factor_challenges", "expires_at <= $1"),
    ("upstream_states", "expires_at <= $1 - 86400"),
    // Past its expiry (and the clock skew) an assertion is refused anyway.
    ("saml_assertions_used", "expires_at <= $1 - 600"),
    // Browsers forget the cookie after 400 days; the row is of no use after that.
    ("trusted_browsers", "last_login_at <= $1 - 34560000"),
    // The mail cap counts this hour only.
    ("mail_quota", "window_start <= $1 - 7200"),
    // Mailed links (unlock, reset, invitation, changes) a day after they expired.
    ("tickets", "expires_at <= $1 - 86400"),
    // Mail a day after it was sent (its body holds links with tokens), or 30 days after it was
    // queued if it never could be (every link in it has expired by then).
    (
        "mail_outbox",
        "sent_at <= $1 - 86400 OR created_at <= $1 - 2592000",
    ),
    // The counter of an address with no password login (an unknown one, most often), 30 days
    // after its last failure (or its lock): anyone can add such rows by trying addresses.
    ("login_failures", "last_failed_at <= $1 - 2592000"),
    // A grant (token family) once nothing of it can work: revoked a day ago, or made over a day
    // ago with no refresh token left (the last one expired, so did the access tokens issued
    // with it: `access_token_ttl` is at most `refresh_token_ttl` and a day) and no code kept (a
    // replayed code still revokes its grant). After the tables above, whose rows it looks at.
    (
        "grants",
        "created_at <= $1 - 86400 AND (revoked_at <= $1 - 86400 OR (\
         NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id) AND \
         NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.grant_id = grants.id)))",
    ),
];

pub(crate) async fn insert_grant<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    g: &GrantRecord,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&g.id)
    .bind(&g.brand)
    .bind(&g.client_id)
    .bind(g.user_id.as_deref())
    .bind(g.sid.as_deref())
    .bind(i64::from(g.offline))
    .bind(&g.payload)
    .bind(g.created_at)
    .bind(g.revoked_at)
    .execute(ex)
    .await?;
    Ok(())
}
