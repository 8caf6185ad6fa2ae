//! Device authorizations (RFC 8628, issue 18).
//!
//! Invariants: a device code is redeemed once (`redeem_device` moves `approved` to `used` in the
//! transaction that stores the grant); the user's approval spends the login's authorization code
//! in the same transaction that records it (`approve_device`); polling faster than the interval
//! is counted in one statement per poll (`poll_device`), so parallel polls cannot both pass.

use crate::grants::{insert_grant, insert_refresh};
use crate::{col, GrantRecord, RefreshRecord, Result, Store};

/// A device authorization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub device_code_hash: String,
    pub user_code: String,
    pub brand: String,
    pub client_id: String,
    /// The scope asked, space-separated.
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub poll_interval: i64,
    pub status: DeviceStatus,
    /// Once approved: the login's authorization code payload (JSON).
    pub approval: Option<String>,
}

sekisho_core::model::text_enum_like!(DeviceStatus {
    Pending = "pending",
    Approved = "approved",
    Denied = "denied",
    Used = "used",
});

impl DeviceStatus {
    fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Used]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What a poll finds (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code for this client, or already redeemed.
    Unknown,
    Expired,
    /// Polled before the interval passed: the interval grows by 5 s.
    SlowDown,
    Pending,
    Denied,
    /// Approved: the login's code payload, to redeem with `redeem_device`.
    Approved(DeviceRecord),
}

const COLUMNS: &str = "id, device_code_hash, user_code, brand_code, client_id, scope, created_at, \
                       expires_at, poll_interval, status, approval";

fn device(r: &sqlx::any::AnyRow) -> Result<DeviceRecord> {
    let status: String = col(r, "status")?;
    Ok(DeviceRecord {
        id: col(r, "id")?,
        device_code_hash: col(r, "device_code_hash")?,
        user_code: col(r, "user_code")?,
        brand: col(r, "brand_code")?,
        client_id: col(r, "client_id")?,
        scope: col(r, "scope")?,
        created_at: col(r, "created_at")?,
        expires_at: col(r, "expires_at")?,
        poll_interval: col(r, "poll_interval")?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("device status {status}")))?,
        approval: col(r, "approval")?,
    })
}

impl Store {
    /// Stores a new device authorization; `Conflict` if its user code is taken (make another).
    pub async fn insert_device(&self, d: &DeviceRecord) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO device_authorizations ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&d.id)
        .bind(&d.device_code_hash)
        .bind(&d.user_code)
        .bind(&d.brand)
        .bind(&d.client_id)
        .bind(&d.scope)
        .bind(d.created_at)
        .bind(d.expires_at)
        .bind(d.poll_interval)
        .bind(d.status.as_str())
        .bind(d.approval.as_deref())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The pending, unexpired device authorization of `user_code` in `brand`.
    pub async fn find_pending_device(
        &self,
        brand: &str,
        user_code: &str,
        now: i64,
    ) -> Result<Option<DeviceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM device_authorizations WHERE user_code = $1 AND brand_code = $2 \
             AND status = 'pending' AND expires_at > $3"
        ))
        .bind(user_code)
        .bind(brand)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device).transpose()
    }

    /// The user approved device authorization `id` by logging in: the login's authorization code
    /// (unused, unexpired, of the device's client) is spent and its payload kept, in one
    /// transaction. False (nothing changed) if either is no longer live.
    pub async fn approve_device(&self, id: &str, code_hash: &str, now: i64) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let Some(code) = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
             AND expires_at > $1 RETURNING client_id, payload",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        let client_id: String = col(&code, "client_id")?;
        let payload: String = col(&code, "payload")?;
        let done = sqlx::query(
            "UPDATE device_authorizations SET status = 'approved', approval = $1 \
             WHERE id = $2 AND client_id = $3 AND status = 'pending' AND expires_at > $4",
        )
        .bind(&payload)
        .bind(id)
        .bind(&client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The user declined device authorization `id`.
    pub async fn deny_device(&self, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE device_authorizations SET status = 'denied' WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A poll of `device_code_hash` by `client_id` at `now` (RFC 8628 §3.4, §3.5). The poll is
    /// recorded in the same statement that checks the interval.
    pub async fn poll_device(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<DevicePoll> {
        // Too early: the interval grows by 5 s (and this poll counts as the last one).
        let slowed = sqlx::query(
            "UPDATE device_authorizations SET poll_interval = poll_interval + 5, last_polled_at = $1 \
             WHERE device_code_hash = $2 AND client_id = $3 AND status <> 'used' \
             AND expires_at > $1 AND last_polled_at IS NOT NULL \
             AND last_polled_at + poll_interval > $1",
        )
        .bind(now)
        .bind(device_code_hash)
        .bind(client_id)
        .execute(&self.writer)
        .await?;
        if slowed.rows_affected() == 1 {
            return Ok(DevicePoll::SlowDown);
        }
        let Some(row) = sqlx::query(&format!(
            "UPDATE device_authorizations SET last_polled_at = $1 \
             WHERE device_code_hash = $2 AND client_id = $3 AND status <> 'used' \
             RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(device_code_hash)
        .bind(client_id)
        .fetch_optional(&self.writer)
        .await?
        else {
            return Ok(DevicePoll::Unknown);
        };
        let d = device(&row)?;
        Ok(if d.expires_at <= now {
            DevicePoll::Expired
        } else {
            match d.status {
                DeviceStatus::Pending => DevicePoll::Pending,
                DeviceStatus::Denied => DevicePoll::Denied,
                DeviceStatus::Approved => DevicePoll::Approved(d),
                DeviceStatus::Used => DevicePoll::Unknown,
            }
        })
    }

    /// Redeems an approved device authorization: `used`, and the grant (and refresh token)
    /// stored, in one transaction. False if it was redeemed meanwhile.
    pub async fn redeem_device(
        &self,
        id: &str,
        grant: &GrantRecord,
        refresh: Option<&RefreshRecord>,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE device_authorizations SET status = 'used' WHERE id = $1 AND status = 'approved'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_grant(&mut *tx, grant).await?;
        if let Some(r) = refresh {
            insert_refresh(&mut *tx, r).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
