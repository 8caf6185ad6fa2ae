use crate::{col, parsed, Result, Store, StoreError};
use sekisho_core::email::Email;
use sekisho_core::model::{
    AccessRoute, BrandCode, Contract, ContractState, LoginMethod, Plan, Role, TwoFactorSetting,
    User, UserStatus,
};
use sqlx::any::AnyRow;

pub(crate) const USER_COLUMNS: &str =
    "id, contract_id, brand_code, email, name, role, login_method, \
    password_hash, failed_logins, locked_at, status, created_at";

fn brand_code(row: &AnyRow) -> Result<BrandCode> {
    let code: String = col(row, "brand_code")?;
    BrandCode::parse(&code).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn contract(row: &AnyRow) -> Result<Contract> {
    Ok(Contract {
        id: col(row, "id")?,
        brand: brand_code(row)?,
        name: col(row, "name")?,
        plan: parsed(col(row, "plan")?, "plan", Plan::parse)?,
        state: parsed(col(row, "state")?, "state", ContractState::parse)?,
        two_factor: parsed(
            col(row, "two_factor")?,
            "two_factor",
            TwoFactorSetting::parse,
        )?,
        access_route: parsed(
            col(row, "access_route")?,
            "access_route",
            AccessRoute::parse,
        )?,
        created_at: col(row, "created_at")?,
    })
}

/// The select list of a user (`u`, columns as named) and their contract (`c`, columns `c_…`).
pub(crate) fn user_and_contract_columns() -> String {
    let user = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{user}, c.name AS c_name, c.plan AS c_plan, c.state AS c_state, \
         c.two_factor AS c_two_factor, c.access_route AS c_access_route, \
         c.created_at AS c_created_at"
    )
}

/// A row of [`user_and_contract_columns`].
pub(crate) fn user_and_contract(r: &AnyRow) -> Result<(User, Contract)> {
    let u = user(r)?;
    let c = Contract {
        id: u.contract_id.clone(),
        brand: u.brand.clone(),
        name: col(r, "c_name")?,
        plan: parsed(col(r, "c_plan")?, "plan", Plan::parse)?,
        state: parsed(col(r, "c_state")?, "state", ContractState::parse)?,
        two_factor: parsed(
            col(r, "c_two_factor")?,
            "two_factor",
            TwoFactorSetting::parse,
        )?,
        access_route: parsed(
            col(r, "c_access_route")?,
            "access_route",
            AccessRoute::parse,
        )?,
        created_at: col(r, "c_created_at")?,
    };
    Ok((u, c))
}

pub(crate) fn user(row: &AnyRow) -> Result<User> {
    let email: String = col(row, "email")?;
    Ok(User {
        id: col(row, "id")?,
        contract_id: col(row, "contract_id")?,
        brand: brand_code(row)?,
        email: Email::parse(&email).map_err(|_| StoreError::Corrupt("column email".into()))?,
        name: col(row, "name")?,
        role: parsed(col(row, "role")?, "role", Role::parse)?,
        login_method: parsed(
            col(row, "login_method")?,
            "login_method",
            LoginMethod::parse,
        )?,
        password_hash: col(row, "password_hash")?,
        failed_logins: col(row, "failed_logins")?,
        locked_at: col(row, "locked_at")?,
        status: parsed(col(row, "status")?, "status", UserStatus::parse)?,
        created_at: col(row, "created_at")?,
    })
}

async fn insert_user<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    u: &User,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, contract_id, brand_code, email, name, role, login_method, \
         password_hash, failed_logins, locked_at, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&u.id)
    .bind(&u.contract_id)
    .bind(u.brand.as_str())
    .bind(u.email.as_str())
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.login_method.as_str())
    .bind(u.password_hash.as_deref())
    .bind(u.failed_logins)
    .bind(u.locked_at)
    .bind(u.status.as_str())
    .bind(u.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

impl Store {
    /// A contract is never without its contractor: both are written in one transaction.
    pub async fn create_contract(&self, c: &Contract, contractor: &User) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO contracts (id, brand_code, name, plan, state, two_factor, access_route, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(c.brand.as_str())
        .bind(&c.name)
        .bind(c.plan.as_str())
        .bind(c.state.as_str())
        .bind(c.two_factor.as_str())
        .bind(c.access_route.as_str())
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
        insert_user(&mut *tx, contractor).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the contract's state (cancellation; billing is out of scope). Cancelling ends its
    /// users' browser sessions, and the clients they signed in to are told (back-channel logout,
    /// queued in the same transaction); their tokens stop because every check reads the state.
    pub async fn set_contract_state(&self, id: &str, state: ContractState, now: i64) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE contracts SET state = $1 WHERE id = $2")
            .bind(state.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if state == ContractState::Cancelled {
            crate::backchannel::enqueue_logouts(
                &mut tx,
                crate::backchannel::Ended::Contract(id),
                now,
            )
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE contract_id = $1)")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The contract of the user, if the user exists.
    pub async fn find_user_contract(&self, user_id: &str) -> Result<Option<Contract>> {
        let row = sqlx::query(
            "SELECT c.id, c.brand_code, c.name, c.plan, c.state, c.two_factor, c.access_route, \
             c.created_at FROM contracts c JOIN users u ON u.contract_id = c.id WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(contract).transpose()
    }

    /// The user and their contract, in one query.
    pub async fn find_user_with_contract(&self, user_id: &str) -> Result<Option<(User, Contract)>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM users u JOIN contracts c ON c.id = u.contract_id WHERE u.id = $1",
            user_and_contract_columns()
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| user_and_contract(&r)).transpose()
    }

    pub async fn find_contract(&self, id: &str) -> Result<Option<Contract>> {
        let row = sqlx::query(
            "SELECT id, brand_code, name, plan, state, two_factor, access_route, created_at \
             FROM contracts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(contract).transpose()
    }

    /// A brand's contracts, oldest first (the operator's `contract list`).
    pub async fn list_contracts(&self, brand: &str) -> Result<Vec<Contract>> {
        let rows = sqlx::query(
            "SELECT id, brand_code, name, plan, state, two_factor, access_route, created_at \
             FROM contracts WHERE brand_code = $1 ORDER BY created_at, id",
        )
        .bind(brand)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contract).collect()
    }

    /// Fails with [`StoreError::Conflict`] when the email is already used in the brand.
    pub async fn insert_user(&self, u: &User) -> Result<()> {
        insert_user(&self.writer, u).await
    }

    pub async fn find_user(&self, id: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn find_user_by_email(&self, brand: &str, email: &Email) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE brand_code = $1 AND email = $2"
        ))
        .bind(brand)
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn list_users(&self, contract_id: &str) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE contract_id = $1 ORDER BY created_at, id"
        ))
        .bind(contract_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user).collect()
    }
}
