//! Benchmark data, written straight through the library before the server starts: a brand, a
//! contract with users, a client_credentials client, an RP client, and refresh tokens (each
//! request of the refresh benchmark spends its own, as a real RP would).

use sekisho::admin::{self, NewClient};
use sekisho::config::Config;
use sekisho_core::model::Plan;
use sekisho_core::oauth::{GrantType, ACR_SINGLE_FACTOR};
use sekisho_core::{Secret, SystemClock};
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_oidc::authorize::Authentication;
use sekisho_oidc::grants::GrantPayload;
use sekisho_store::{GrantRecord, RefreshRecord};
use std::path::Path;
use std::sync::Arc;

pub const BRAND: &str = "VX5";
pub const PASSWORD: &str = "Bench-Passw0rd!";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

pub struct Seeded {
    pub cc_id: String,
    pub cc_secret: String,
    pub rp_id: String,
    pub rp_secret: String,
    pub users: Vec<String>,
}

pub fn user_email(i: usize) -> String {
    format!("user{i}@bench.example")
}

pub async fn seed(
    config: &Config,
    users: usize,
    refresh_tokens: usize,
    tokens_file: &Path,
) -> anyhow::Result<Seeded> {
    let op = sekisho::server::build_op(config, Arc::new(SystemClock)).await?;
    op.keys.ensure_keys().await?;
    admin::add_brand(&op, BRAND, "OTクラウド・ストレージ").await?;
    let contract = admin::create_contract(
        &op,
        BRAND,
        "ベンチマーク株式会社",
        &user_email(0),
        PASSWORD,
        Plan::Basic,
    )
    .await?;
    // The login benchmark measures the password step (against raw argon2id); two-step
    // verification is a further page per login, so the bench contract has it off.
    op.store
        .set_contract_two_factor(
            &contract.contract_id,
            sekisho_core::model::TwoFactorSetting::Disabled,
        )
        .await?;
    let mut emails = vec![user_email(0)];
    for i in 1..users {
        admin::add_user(
            &op,
            &contract.contract_id,
            &user_email(i),
            PASSWORD,
            sekisho_core::model::Role::User,
            "",
        )
        .await?;
        emails.push(user_email(i));
    }
    let mut cc = NewClient::confidential(BRAND, "bench client_credentials", REDIRECT_URI);
    cc.redirect_uris.clear();
    cc.grant_types = vec![GrantType::ClientCredentials];
    cc.scope = Some("storage.read".into());
    let cc = admin::register_client(&op, cc).await?;
    let rp = admin::register_client(
        &op,
        NewClient::confidential(BRAND, "bench RP", REDIRECT_URI),
    )
    .await?;

    // One family holding many unspent refresh tokens: each is spent once by the benchmark.
    let now = op.now();
    let grant_id = new_id("grt");
    let auth = Authentication {
        user_id: contract.user_id.clone(),
        sid: new_id("sid"),
        auth_time: now,
        amr: vec![sekisho_core::oauth::Amr::Pwd],
        acr: ACR_SINGLE_FACTOR.into(),
        idp: None,
    };
    let scope = vec![
        "openid".to_string(),
        "email".into(),
        "offline_access".into(),
    ];
    op.store
        .insert_grant(&GrantRecord {
            id: grant_id.clone(),
            brand: BRAND.into(),
            client_id: rp.client_id.clone(),
            user_id: Some(contract.user_id.clone()),
            sid: Some(auth.sid.clone()),
            offline: true,
            payload: serde_json::to_string(&GrantPayload {
                scope,
                auth,
                dpop_jkt: None,
                claims: Default::default(),
            })?,
            created_at: now,
            revoked_at: None,
        })
        .await?;
    let mut lines = String::with_capacity(refresh_tokens * 44);
    for _ in 0..refresh_tokens {
        let token = random_token();
        op.store
            .insert_refresh(&RefreshRecord {
                token_hash: hash_token(&token),
                grant_id: grant_id.clone(),
                created_at: now,
                expires_at: now + 86_400,
                used_at: None,
            })
            .await?;
        lines.push_str(&token);
        lines.push('\n');
    }
    std::fs::write(tokens_file, lines)?;
    op.store.close().await;
    Ok(Seeded {
        cc_id: cc.client_id,
        // The benchmark's own clients: their secrets go to the load generator.
        cc_secret: cc
            .client_secret
            .map(Secret::into_exposed)
            .unwrap_or_default(),
        rp_id: rp.client_id,
        rp_secret: rp
            .client_secret
            .map(Secret::into_exposed)
            .unwrap_or_default(),
        users: emails,
    })
}
