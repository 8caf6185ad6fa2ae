//! Line authentication records (REQ-LINE-1 … REQ-LINE-5): the lines each contract registered,
//! the contract's access route, and the West Japan consents.
//!
//! Invariant: a line number belongs to at most one contract (primary key): registering another
//! contract's number is a `Conflict`, never a move.

use crate::{col, Result, Store, StoreError};
use sekisho_core::line::LineNumber;
use sekisho_core::model::AccessRoute;

/// A registered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub number: String,
    pub contract_id: String,
    pub created_at: i64,
}

/// What registering a line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAdded {
    Added,
    /// Already registered to this contract: nothing changed.
    AlreadyOurs,
    /// Registered to another contract: refused.
    OtherContract,
}

impl Store {
    /// The contract the line is registered to, if any.
    pub async fn find_line(&self, number: &LineNumber) -> Result<Option<LineRecord>> {
        let row = sqlx::query(
            "SELECT number, contract_id, created_at FROM contract_lines WHERE number = $1",
        )
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LineRecord {
                number: col(&r, "number")?,
                contract_id: col(&r, "contract_id")?,
                created_at: col(&r, "created_at")?,
            })
        })
        .transpose()
    }

    pub async fn list_lines(&self, contract_id: &str) -> Result<Vec<LineRecord>> {
        let rows = sqlx::query(
            "SELECT number, contract_id, created_at FROM contract_lines \
             WHERE contract_id = $1 ORDER BY number",
        )
        .bind(contract_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LineRecord {
                    number: col(r, "number")?,
                    contract_id: col(r, "contract_id")?,
                    created_at: col(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Registers `number` for the contract (REQ-LINE-2).
    pub async fn add_line(
        &self,
        contract_id: &str,
        number: &LineNumber,
        now: i64,
    ) -> Result<LineAdded> {
        let done = sqlx::query(
            "INSERT INTO contract_lines (number, contract_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(number.as_str())
        .bind(contract_id)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(StoreError::from);
        match done {
            Ok(_) => Ok(LineAdded::Added),
            Err(StoreError::Conflict) => Ok(match self.find_line(number).await? {
                Some(l) if l.contract_id == contract_id => LineAdded::AlreadyOurs,
                _ => LineAdded::OtherContract,
            }),
            Err(e) => Err(e),
        }
    }

    /// Removes the contract's line; false when it had no such line.
    pub async fn remove_line(&self, contract_id: &str, number: &LineNumber) -> Result<bool> {
        let done = sqlx::query("DELETE FROM contract_lines WHERE number = $1 AND contract_id = $2")
            .bind(number.as_str())
            .bind(contract_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the contract's access route (REQ-LINE-1).
    pub async fn set_contract_access_route(
        &self,
        contract_id: &str,
        route: AccessRoute,
    ) -> Result<()> {
        sqlx::query("UPDATE contracts SET access_route = $1 WHERE id = $2")
            .bind(route.as_str())
            .bind(contract_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The user's decision on the West Japan consent for `number`, if made (REQ-LINE-5).
    pub async fn line_consent(&self, user_id: &str, number: &LineNumber) -> Result<Option<bool>> {
        let row =
            sqlx::query("SELECT notify FROM line_consents WHERE user_id = $1 AND number = $2")
                .bind(user_id)
                .bind(number.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok(col::<i64>(&r, "notify")? == 1)).transpose()
    }

    /// Records the consent decision once; a second decision keeps the first.
    pub async fn record_line_consent(
        &self,
        user_id: &str,
        number: &LineNumber,
        notify: bool,
        now: i64,
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO line_consents (user_id, number, notify, decided_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(number.as_str())
        .bind(i64::from(notify))
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(StoreError::from);
        match done {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
