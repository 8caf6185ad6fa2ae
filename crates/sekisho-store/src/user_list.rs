//! The admin console's user list (issue 16): a contract's users a page at a time, optionally
//! filtered by a search, with the count of all that match, and the pending tickets of one page's
//! users in one query. Contracts have thousands of users: nothing here reads them all.

use crate::contracts::{user, USER_COLUMNS};
use crate::{col, Result, Store};
use sekisho_core::model::User;

/// A `LIKE` pattern matching `search` anywhere, lower-cased, with `%`, `_` and `\` taken
/// literally (escaped with `\`).
fn contains_pattern(search: &str) -> String {
    let mut p = String::with_capacity(search.len() + 2);
    p.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The filter of both queries: the contract, and the search over email and name. Emails are
/// stored lower-cased; names are compared with `LOWER` (ASCII on SQLite, Unicode on PostgreSQL;
/// Japanese has no case).
const FILTER: &str = "contract_id = $1 AND ($2 = '' OR email LIKE $3 ESCAPE '\\' \
                      OR LOWER(name) LIKE $3 ESCAPE '\\')";

impl Store {
    /// How many users of `contract_id` match `search` (an empty search matches all).
    pub async fn count_users(&self, contract_id: &str, search: &str) -> Result<i64> {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM users WHERE {FILTER}"))
            .bind(contract_id)
            .bind(search)
            .bind(contains_pattern(search))
            .fetch_one(&self.pool)
            .await?;
        col(&row, "n")
    }

    /// The users of `contract_id` matching `search`, by email, `limit` of them after `offset`.
    pub async fn users_page(
        &self,
        contract_id: &str,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {FILTER} ORDER BY email, id LIMIT $4 OFFSET $5"
        ))
        .bind(contract_id)
        .bind(search)
        .bind(contains_pattern(search))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user).collect()
    }

    /// (user id, purpose) of the live tickets of `user_ids` (what is pending for each), in one
    /// query; sorted by user and purpose.
    pub async fn pending_ticket_purposes_of(
        &self,
        user_ids: &[String],
        now: i64,
    ) -> Result<Vec<(String, String)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..user_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT DISTINCT user_id, purpose FROM tickets WHERE used_at IS NULL \
             AND expires_at > $1 AND user_id IN ({list}) ORDER BY user_id, purpose"
        );
        let mut q = sqlx::query(&sql).bind(now);
        for id in user_ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((col(r, "user_id")?, col(r, "purpose")?)))
            .collect()
    }

    /// (id, email) of those of `user_ids` that are users of `contract_id` (the audit log names
    /// people by address; a deleted user is absent).
    pub async fn user_emails(
        &self,
        contract_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..user_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id, email FROM users WHERE contract_id = $1 AND id IN ({list})");
        let mut q = sqlx::query(&sql).bind(contract_id);
        for id in user_ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((col(r, "id")?, col(r, "email")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_is_literal_and_lower_case() {
        assert_eq!(super::contains_pattern("Taro"), "%taro%");
        assert_eq!(super::contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
