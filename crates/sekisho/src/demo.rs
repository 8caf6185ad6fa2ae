//! `serve --demo`: a brand, a contract with its contractor, and a client for examples/storage-rp,
//! created on first run so a fresh checkout has something to log in to. Development only: the
//! credentials are fixed and printed.

use crate::admin::{self, NewClient};
use sekisho_core::model::Plan;
use sekisho_oidc::Op;

pub const BRAND: &str = "VX5";
pub const BRAND_NAME: &str = "OTクラウド・ストレージ";
pub const EMAIL: &str = "demo@example.com";
pub const PASSWORD: &str = "Demo-Passw0rd!";
pub const CLIENT_ID: &str = "storage-rp";
pub const CLIENT_SECRET: &str = "storage-rp-dev-secret";
pub const RP_URL: &str = "http://127.0.0.1:8081";

pub async fn seed(op: &Op) -> anyhow::Result<()> {
    // The demo brand's service is the demo RP: a direct login or a logout leads there (ISSUE-16).
    let service_url = format!("{RP_URL}/");
    if let Some(brand) = op.store.find_brand(BRAND).await? {
        if brand.service_url.is_none() {
            // A demo database from before the setting existed.
            let changes = admin::BrandChanges {
                service_url: Some(service_url),
                ..Default::default()
            };
            admin::update_brand(op, BRAND, changes).await?;
        }
    } else {
        admin::add_brand_with_service(op, BRAND, BRAND_NAME, Some(&service_url)).await?;
        admin::create_contract(op, BRAND, "デモ株式会社", EMAIL, PASSWORD, Plan::Basic).await?;
        let mut client =
            NewClient::confidential(BRAND, "ストレージ (demo RP)", &format!("{RP_URL}/callback"));
        client.post_logout_redirect_uris = vec![format!("{RP_URL}/")];
        client.fixed_credentials = Some((CLIENT_ID.into(), CLIENT_SECRET.into()));
        admin::register_client(op, client).await?;
    }
    let issuer = op.issuer(BRAND);
    tracing::warn!("DEMO MODE: fixed demo credentials are active; never use --demo in production");
    println!(
        "\n  Sekisho demo\n  issuer:    {issuer}\n  discovery: {issuer}/.well-known/openid-configuration\n  \
         user:      {EMAIL} / {PASSWORD}\n  client:    {CLIENT_ID} / {CLIENT_SECRET} (redirect {RP_URL}/callback)\n  \
         RP:        cargo run -p storage-rp, then open {RP_URL}/\n  \
         2FA:       on (the default); the first login enrols SMS or an authenticator app;\n  \
         \x20          SMS codes are written to the SMS outbox folder (sms_outbox_dir)\n"
    );
    Ok(())
}
