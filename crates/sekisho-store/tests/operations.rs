//! ISSUE-15 on both backends: a deleted client's tokens end, the resource-server flag, the
//! operator's initial access tokens, contract listing, the audit export's pages, and the backup
//! (SQLite copies, PostgreSQL refuses).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_core::email::Email;
use sekisho_core::model::*;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_store::{AuditEvent, Backend, InitialTokenRecord, Store, StoreError};

const T: i64 = 1_700_000_000;

fn client(id: &str, created_at: i64) -> Client {
    Client {
        client_id: id.into(),
        brand: BrandCode::parse("VX5").unwrap(),
        secret_hash: Some("hash".into()),
        metadata: ClientMetadata {
            client_name: id.into(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::ClientCredentials],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: Default::default(),
            backchannel_logout_uri: None,
            subject_type: Default::default(),
            sector_identifier_uri: None,
        },
        created_at,
    }
}

async fn seed(store: &Store) {
    store
        .insert_brand(&Brand {
            code: BrandCode::parse("VX5").unwrap(),
            name: "x".into(),
            mail_from: String::new(),
            theme: BrandTheme::default(),
            service_url: None,
            created_at: T,
        })
        .await
        .unwrap();
    let contract = Contract {
        id: "ctr_1".into(),
        brand: BrandCode::parse("VX5").unwrap(),
        name: "x".into(),
        plan: Plan::Basic,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    let contractor = User {
        id: "usr_1".into(),
        contract_id: "ctr_1".into(),
        brand: BrandCode::parse("VX5").unwrap(),
        email: Email::parse("taro@example.jp").unwrap(),
        name: String::new(),
        role: Role::Contractor,
        login_method: LoginMethod::Password,
        password_hash: None,
        failed_logins: 0,
        locked_at: None,
        status: UserStatus::Active,
        created_at: T,
    };
    store.create_contract(&contract, &contractor).await.unwrap();
}

async fn operations(store: Store, backup_to: Option<String>) {
    seed(&store).await;

    // Tokens of a deleted client: honoured while the client exists since before their iat.
    store
        .insert_client_for(&client("cli_a", T), None)
        .await
        .unwrap();
    assert!(store
        .client_access_token_active("jti_a", None, "cli_a", T + 5, T + 10)
        .await
        .unwrap());
    assert!(store.delete_client("cli_a", T + 20).await.unwrap());
    assert!(!store
        .client_access_token_active("jti_a", None, "cli_a", T + 5, T + 30)
        .await
        .unwrap());
    // The same id registered again later does not revive the old token; new ones work.
    store
        .insert_client_for(&client("cli_a", T + 40), None)
        .await
        .unwrap();
    assert!(!store
        .client_access_token_active("jti_a", None, "cli_a", T + 5, T + 50)
        .await
        .unwrap());
    assert!(store
        .client_access_token_active("jti_b", None, "cli_a", T + 45, T + 50)
        .await
        .unwrap());

    // Resource servers: set and withdrawn by the operator; unknown clients are not.
    assert!(!store.client_is_resource_server("cli_a").await.unwrap());
    assert!(store
        .set_client_resource_server("cli_a", true)
        .await
        .unwrap());
    assert!(store.client_is_resource_server("cli_a").await.unwrap());
    assert_eq!(store.resource_servers("VX5").await.unwrap(), ["cli_a"]);
    assert!(store
        .set_client_resource_server("cli_a", false)
        .await
        .unwrap());
    assert!(store.resource_servers("VX5").await.unwrap().is_empty());
    assert!(!store
        .set_client_resource_server("cli_nope", true)
        .await
        .unwrap());

    // Initial access tokens: valid in their brand until they expire or are revoked.
    let token =
        |id: &str, hash: &str, brand: Option<&str>, expires_at: Option<i64>| InitialTokenRecord {
            id: id.into(),
            token_hash: hash.into(),
            brand: brand.map(str::to_owned),
            label: String::new(),
            created_at: T,
            expires_at,
            revoked_at: None,
        };
    assert!(!store.initial_access_tokens_open("VX5", T).await.unwrap());
    store
        .insert_initial_access_token(&token("iat_1", "h1", Some("VX5"), Some(T + 100)))
        .await
        .unwrap();
    store
        .insert_initial_access_token(&token("iat_2", "h2", None, None))
        .await
        .unwrap();
    assert!(store
        .initial_access_token_valid("h1", "VX5", T + 50)
        .await
        .unwrap());
    assert!(!store
        .initial_access_token_valid("h1", "OTHER", T + 50)
        .await
        .unwrap());
    assert!(!store
        .initial_access_token_valid("h1", "VX5", T + 100)
        .await
        .unwrap());
    assert!(store
        .initial_access_token_valid("h2", "OTHER", T + 1000)
        .await
        .unwrap());
    assert!(!store
        .initial_access_token_valid("nope", "VX5", T)
        .await
        .unwrap());
    assert!(store.revoke_initial_access_token("iat_2", T).await.unwrap());
    assert!(!store.revoke_initial_access_token("iat_2", T).await.unwrap());
    assert!(!store
        .initial_access_token_valid("h2", "VX5", T + 1)
        .await
        .unwrap());
    assert!(store
        .initial_access_tokens_open("VX5", T + 50)
        .await
        .unwrap());
    assert!(!store
        .initial_access_tokens_open("VX5", T + 100)
        .await
        .unwrap());
    assert_eq!(store.list_initial_access_tokens().await.unwrap().len(), 2);

    // Contracts of a brand.
    let contracts = store.list_contracts("VX5").await.unwrap();
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0].id, "ctr_1");
    assert!(store.list_contracts("OTHER").await.unwrap().is_empty());

    // The audit export pages through the log, oldest first, from a time.
    for at in 0..5 {
        store
            .append_audit(&AuditEvent {
                at: T + at,
                kind: format!("k{at}"),
                brand: Some("VX5".into()),
                user_id: None,
                client_id: None,
                detail: serde_json::json!({ "n": at }),
                contract_id: None,
            })
            .await
            .unwrap();
    }
    let first = store.audit_page(0, T + 1, 2).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|(_, e)| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["k1", "k2"]
    );
    let rest = store.audit_page(first[1].0, T + 1, 10).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|(_, e)| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["k3", "k4"]
    );
    assert_eq!(rest[1].1.detail["n"], 4);

    // Backup: SQLite writes a copy; PostgreSQL refuses, pointing to pg_dump.
    match (store.backend(), backup_to) {
        (Backend::Sqlite, Some(path)) => {
            store.backup_sqlite(&path).await.unwrap();
            let copy = Store::open(&format!("sqlite://{path}"), 1).await.unwrap();
            assert_eq!(copy.list_contracts("VX5").await.unwrap().len(), 1);
            assert!(matches!(
                store.backup_sqlite(&path).await,
                Err(StoreError::Config(m)) if m.contains("exists")
            ));
        }
        (Backend::Postgres, _) => {
            assert!(matches!(
                store.backup_sqlite("/tmp/never.db").await,
                Err(StoreError::Config(m)) if m.contains("pg_dump")
            ));
        }
        other => panic!("{other:?}"),
    }
}

// ISSUE-15: on the embedded backend…
#[tokio::test]
async fn sqlite_operations() {
    let url = sekisho_testkit::fresh_sqlite_url().unwrap();
    let path = url
        .strip_prefix("sqlite://")
        .and_then(|r| r.strip_suffix("?mode=rwc"))
        .unwrap();
    let backup = format!("{path}.backup");
    operations(Store::open(&url, 2).await.unwrap(), Some(backup)).await;
}

// …and on PostgreSQL.
#[tokio::test]
async fn postgres_operations() {
    operations(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 2)
            .await
            .unwrap(),
        None,
    )
    .await;
}
