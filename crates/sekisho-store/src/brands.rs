use crate::{col, Result, Store, StoreError};
use sekisho_core::model::{Brand, BrandCode};
use sqlx::any::AnyRow;

fn brand(row: &AnyRow) -> Result<Brand> {
    let code: String = col(row, "code")?;
    Ok(Brand {
        code: BrandCode::parse(&code).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: col(row, "name")?,
        created_at: col(row, "created_at")?,
    })
}

impl Store {
    pub async fn insert_brand(&self, b: &Brand) -> Result<()> {
        sqlx::query("INSERT INTO brands (code, name, created_at) VALUES ($1, $2, $3)")
            .bind(b.code.as_str())
            .bind(&b.name)
            .bind(b.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn find_brand(&self, code: &str) -> Result<Option<Brand>> {
        let row = sqlx::query("SELECT code, name, created_at FROM brands WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(brand).transpose()
    }

    pub async fn list_brands(&self) -> Result<Vec<Brand>> {
        let rows = sqlx::query("SELECT code, name, created_at FROM brands ORDER BY code")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(brand).collect()
    }
}
