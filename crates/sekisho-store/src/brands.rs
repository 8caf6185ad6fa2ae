use crate::{col, Change, Result, Store, StoreError};
use sekisho_core::model::{Brand, BrandCode};
use sekisho_core::service_url::ServiceUrl;
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
        service_url: col::<Option<String>>(row, "service_url")?
            .map(|u| ServiceUrl::parse(&u))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("column service_url: {e}")))?,
        created_at: col(row, "created_at")?,
    })
}

/// The stored form of a brand's service URL (NULL for none).
fn service_url(b: &Brand) -> Option<&str> {
    b.service_url.as_ref().map(ServiceUrl::as_str)
}

impl Store {
    pub async fn insert_brand(&self, b: &Brand) -> Result<()> {
        sqlx::query("INSERT INTO brands (code, name, mail_from, theme, service_url, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(b.code.as_str())
            .bind(&b.name)
            .bind(&b.mail_from)
            .bind(serde_json::to_string(&b.theme).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(service_url(b))
            .bind(b.created_at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn find_brand(&self, code: &str) -> Result<Option<Brand>> {
        let row = sqlx::query(
            "SELECT code, name, mail_from, theme, service_url, created_at FROM brands WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(brand).transpose()
    }

    pub async fn list_brands(&self) -> Result<Vec<Brand>> {
        let rows = sqlx::query(
            "SELECT code, name, mail_from, theme, service_url, created_at FROM brands ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(brand).collect()
    }
}

impl Store {
    /// Changes a brand's display name, sender, theme and service URL (the code never changes).
    pub async fn update_brand(&self, b: &Brand) -> Result<()> {
        let done = sqlx::query(
            "UPDATE brands SET name = $1, mail_from = $2, theme = $3, service_url = $4 WHERE code = $5",
        )
        .bind(&b.name)
        .bind(&b.mail_from)
        .bind(serde_json::to_string(&b.theme).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(service_url(b))
        .bind(b.code.as_str())
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.announce(Change::Brand(b.code.as_str().to_owned()))
            .await;
        Ok(())
    }
}
