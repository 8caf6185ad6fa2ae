use crate::{col, Result, Store, StoreError};
use sekisho_core::model::{Brand, BrandCode};
use sqlx::any::AnyRow;

fn brand(row: &AnyRow) -> Result<Brand> {
    let code: String = col(row, "code")?;
    let theme: String = col(row, "theme")?;
    Ok(Brand {
        code: BrandCode::parse(&code).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: col(row, "name")?,
        mail_from: col(row, "mail_from")?,
        theme: serde_json::from_str(&theme)
            .map_err(|e| StoreError::Corrupt(format!("column theme: {e}")))?,
        created_at: col(row, "created_at")?,
    })
}

impl Store {
    pub async fn insert_brand(&self, b: &Brand) -> Result<()> {
        sqlx::query("INSERT INTO brands (code, name, mail_from, theme, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(b.code.as_str())
            .bind(&b.name)
            .bind(&b.mail_from)
            .bind(serde_json::to_string(&b.theme).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(b.created_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn find_brand(&self, code: &str) -> Result<Option<Brand>> {
        let row = sqlx::query(
            "SELECT code, name, mail_from, theme, created_at FROM brands WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(brand).transpose()
    }

    pub async fn list_brands(&self) -> Result<Vec<Brand>> {
        let rows = sqlx::query(
            "SELECT code, name, mail_from, theme, created_at FROM brands ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(brand).collect()
    }
}

impl Store {
    /// Changes a brand's display name, sender and theme (the code never changes).
    pub async fn update_brand(&self, b: &Brand) -> Result<()> {
        let done =
            sqlx::query("UPDATE brands SET name = $1, mail_from = $2, theme = $3 WHERE code = $4")
                .bind(&b.name)
                .bind(&b.mail_from)
                .bind(
                    serde_json::to_string(&b.theme)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                )
                .bind(b.code.as_str())
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
