//! Two-step verification records: the registered factor, the step in progress in a browser
//! session (a "challenge"), and the browsers a user asked to remember.
//!
//! Invariant: every check that must happen once is one conditional UPDATE (a TOTP step, an SMS
//! code, a recovery code, an attempt counter), so two parallel requests cannot both pass.

use crate::secrets::place;
use crate::{col, parsed, Result, Store};
use sekisho_core::login::Continuation;
use sekisho_core::oauth::Amr;
use sekisho_core::secret::Secret;
use sekisho_core::two_factor::{
    Ask, ChallengeMode, ChallengeStage, SecondFactorMethod, TwoFactorSetting,
};
use sqlx::any::AnyRow;

/// The user's registered second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorRecord {
    pub user_id: String,
    pub method: SecondFactorMethod,
    /// E.164, for SMS.
    pub phone: Option<String>,
    /// Base32, for TOTP.
    pub totp_secret: Option<Secret<String>>,
    pub last_totp_step: Option<i64>,
    pub recovery_hash: String,
    pub created_at: i64,
}

/// A second step in progress in the browser session `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub sid: String,
    pub user_id: String,
    /// Factors already proven (`pwd`, `fed`).
    pub amr: Vec<Amr>,
    /// Where the login continues.
    pub next: Continuation,
    pub mode: ChallengeMode,
    /// Why it is asked (a new browser, 30 days unused, or the client's `acr_values`).
    pub reason: Ask,
    pub stage: ChallengeStage,
    pub method: Option<SecondFactorMethod>,
    pub phone: Option<String>,
    pub totp_secret: Option<Secret<String>>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub attempts: i64,
    pub sends: i64,
    pub send_failed: bool,
    pub remember: bool,
    /// The `amr` of the factor proven at this step (`otp`, `sms`).
    pub proven: Option<Amr>,
    pub created_at: i64,
    pub expires_at: i64,
}

const FACTOR_COLUMNS: &str =
    "user_id, method, phone, totp_secret, last_totp_step, recovery_hash, created_at";
const CHALLENGE_COLUMNS: &str = "sid, user_id, amr, next, mode, reason, stage, method, phone, \
    totp_secret, code_hash, code_expires_at, attempts, sends, send_failed, remember, proven, \
    created_at, expires_at";

fn factor(store: &Store, row: &AnyRow) -> Result<SecondFactorRecord> {
    let user_id: String = col(row, "user_id")?;
    let totp_secret = col::<Option<String>>(row, "totp_secret")?
        .map(|v| store.open_secret(&place("second_factors", "totp_secret", &user_id), v))
        .transpose()?
        .map(Secret::new);
    Ok(SecondFactorRecord {
        user_id,
        method: parsed(col(row, "method")?, "method", SecondFactorMethod::parse)?,
        phone: col(row, "phone")?,
        totp_secret,
        last_totp_step: col(row, "last_totp_step")?,
        recovery_hash: col(row, "recovery_hash")?,
        created_at: col(row, "created_at")?,
    })
}

fn challenge(store: &Store, row: &AnyRow) -> Result<ChallengeRecord> {
    let sid: String = col(row, "sid")?;
    let totp_secret = col::<Option<String>>(row, "totp_secret")?
        .map(|v| store.open_secret(&place("second_factor_challenges", "totp_secret", &sid), v))
        .transpose()?
        .map(Secret::new);
    Ok(ChallengeRecord {
        sid,
        user_id: col(row, "user_id")?,
        amr: Amr::split(&col::<String>(row, "amr")?),
        next: Continuation::from_stored(&col::<String>(row, "next")?),
        mode: parsed(col(row, "mode")?, "mode", ChallengeMode::parse)?,
        reason: parsed(col(row, "reason")?, "reason", Ask::parse)?,
        stage: parsed(col(row, "stage")?, "stage", ChallengeStage::parse)?,
        method: col::<Option<String>>(row, "method")?
            .map(|m| parsed(m, "method", SecondFactorMethod::parse))
            .transpose()?,
        phone: col(row, "phone")?,
        totp_secret,
        code_hash: col(row, "code_hash")?,
        code_expires_at: col(row, "code_expires_at")?,
        attempts: col(row, "attempts")?,
        sends: col(row, "sends")?,
        send_failed: col::<i64>(row, "send_failed")? != 0,
        remember: col::<i64>(row, "remember")? != 0,
        proven: col::<Option<String>>(row, "proven")?
            .map(|p| parsed(p, "proven", Amr::parse))
            .transpose()?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
    })
}

impl Store {
    /// The contractor's 2段階認証設定 (REQ-2FA-7).
    pub async fn set_contract_two_factor(
        &self,
        contract_id: &str,
        setting: TwoFactorSetting,
    ) -> Result<()> {
        sqlx::query("UPDATE contracts SET two_factor = $1 WHERE id = $2")
            .bind(setting.as_str())
            .bind(contract_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn find_second_factor(&self, user_id: &str) -> Result<Option<SecondFactorRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM second_factors WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| factor(self, r)).transpose()
    }

    /// Registers (or replaces) the user's second factor.
    pub async fn enrol_second_factor(&self, f: &SecondFactorRecord) -> Result<()> {
        let totp_secret = f
            .totp_secret
            .as_ref()
            .map(|s| {
                self.seal_secret(
                    &place("second_factors", "totp_secret", &f.user_id),
                    s.expose(),
                )
            })
            .transpose()?;
        sqlx::query(&format!(
            "INSERT INTO second_factors ({FACTOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id) DO UPDATE SET method = excluded.method, \
             phone = excluded.phone, totp_secret = excluded.totp_secret, \
             last_totp_step = excluded.last_totp_step, recovery_hash = excluded.recovery_hash, \
             created_at = excluded.created_at"
        ))
        .bind(&f.user_id)
        .bind(f.method.as_str())
        .bind(f.phone.as_deref())
        .bind(totp_secret)
        .bind(f.last_totp_step)
        .bind(&f.recovery_hash)
        .bind(f.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Accepts the TOTP code of `step` once: false when this step (or a later one) was used.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE second_factors SET last_totp_step = $1 \
             WHERE user_id = $2 AND (last_totp_step IS NULL OR last_totp_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the recovery code if `old_hash` is the current one (single use, REQ-2FA-5).
    pub async fn rotate_recovery_code(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE second_factors SET recovery_hash = $1 WHERE user_id = $2 AND recovery_hash = $3",
        )
        .bind(new_hash)
        .bind(user_id)
        .bind(old_hash)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Resets the registration (REQ-2FA-6): the factor, the remembered browsers and any step in
    /// progress go, so the next login enrols again on every browser.
    pub async fn reset_second_factor(&self, user_id: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        crate::users::clear_second_factor(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts (or restarts) the second step of session `sid`.
    pub async fn save_challenge(&self, c: &ChallengeRecord) -> Result<()> {
        let totp_secret = c
            .totp_secret
            .as_ref()
            .map(|s| {
                self.seal_secret(
                    &place("second_factor_challenges", "totp_secret", &c.sid),
                    s.expose(),
                )
            })
            .transpose()?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM second_factor_challenges WHERE sid = $1")
            .bind(&c.sid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO second_factor_challenges ({CHALLENGE_COLUMNS}) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(&c.sid)
        .bind(&c.user_id)
        .bind(Amr::join(&c.amr))
        .bind(c.next.to_stored())
        .bind(c.mode.as_str())
        .bind(c.reason.as_str())
        .bind(c.stage.as_str())
        .bind(c.method.map(SecondFactorMethod::as_str))
        .bind(c.phone.as_deref())
        .bind(totp_secret)
        .bind(c.code_hash.as_deref())
        .bind(c.code_expires_at)
        .bind(c.attempts)
        .bind(c.sends)
        .bind(i64::from(c.send_failed))
        .bind(i64::from(c.remember))
        .bind(c.proven.map(Amr::as_str))
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live second step of session `sid`.
    pub async fn find_challenge(&self, sid: &str, now: i64) -> Result<Option<ChallengeRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {CHALLENGE_COLUMNS} FROM second_factor_challenges \
             WHERE sid = $1 AND expires_at > $2"
        ))
        .bind(sid)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| challenge(self, r)).transpose()
    }

    /// Takes one of the challenge's `max` attempts before a code is tested (atomic, so parallel
    /// requests cannot test more codes than allowed); returns the attempts used, or `None` when
    /// none was left.
    pub async fn take_challenge_attempt(&self, sid: &str, max: i64) -> Result<Option<i64>> {
        let row = sqlx::query(
            "UPDATE second_factor_challenges SET attempts = attempts + 1 \
             WHERE sid = $1 AND attempts < $2 RETURNING attempts",
        )
        .bind(sid)
        .bind(max)
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(|r| col(r, "attempts")).transpose()
    }

    /// Records one SMS sent for the user, and returns how many were sent since `since`
    /// (this one included): the per-user cap across logins.
    pub async fn record_sms_send(&self, user_id: &str, now: i64, since: i64) -> Result<i64> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM sms_sends WHERE user_id = $1 AND sent_at <= $2")
            .bind(user_id)
            .bind(since)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sms_sends (user_id, sent_at) VALUES ($1, $2)")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sms_sends WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        col(&row, "n")
    }

    /// Takes the SMS code of the challenge if it is `code_hash` and still valid (single use).
    pub async fn consume_challenge_code(
        &self,
        sid: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE second_factor_challenges SET code_hash = NULL \
             WHERE sid = $1 AND code_hash = $2 AND code_expires_at > $3",
        )
        .bind(sid)
        .bind(code_hash)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the recovery code unconditionally (a new one is shown again before the tick).
    pub async fn set_recovery_code(&self, user_id: &str, hash: &str) -> Result<()> {
        sqlx::query("UPDATE second_factors SET recovery_hash = $1 WHERE user_id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn delete_challenge(&self, sid: &str) -> Result<()> {
        sqlx::query("DELETE FROM second_factor_challenges WHERE sid = $1")
            .bind(sid)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// When the browser (its cookie's hash) was last used to log in as `user_id`, if the user
    /// asked to remember it.
    pub async fn browser_last_login(
        &self,
        browser_hash: &str,
        user_id: &str,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT last_login_at FROM trusted_browsers WHERE browser_hash = $1 AND user_id = $2",
        )
        .bind(browser_hash)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| col(r, "last_login_at")).transpose()
    }

    /// Remembers the browser for the user, or records a login from a remembered one.
    pub async fn remember_browser(
        &self,
        browser_hash: &str,
        user_id: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO trusted_browsers (browser_hash, user_id, trusted_at, last_login_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (browser_hash, user_id) \
             DO UPDATE SET last_login_at = excluded.last_login_at",
        )
        .bind(browser_hash)
        .bind(user_id)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
