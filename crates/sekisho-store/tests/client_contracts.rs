//! The client ↔ contract binding of the admin API (issue 6 item 6, migration 0007) behaves the same
//! on SQLite and PostgreSQL: set at insertion, read back, listed per brand, gone with the client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_core::email::Email;
use sekisho_core::model::*;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_store::Store;

const T: i64 = 1_700_000_000;

fn client(id: &str) -> Client {
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
            scope: Some("sekisho:admin".into()),
            requires: Default::default(),
            backchannel_logout_uri: None,
            subject_type: Default::default(),
            sector_identifier_uri: None,
        },
        created_at: T,
    }
}

async fn binding(store: Store) {
    store
        .insert_brand(&Brand {
            code: BrandCode::parse("VX5").unwrap(),
            name: "OTクラウド・ストレージ".into(),
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
        name: "テスト株式会社".into(),
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

    store
        .insert_client_for(&client("cli_bound"), Some("ctr_1"))
        .await
        .unwrap();
    store
        .insert_client_for(&client("cli_free"), None)
        .await
        .unwrap();
    // The binding is outside the metadata: the client reads back as it was given.
    assert_eq!(
        store.find_client("cli_bound").await.unwrap(),
        Some(client("cli_bound"))
    );
    assert_eq!(
        store.client_contract("cli_bound").await.unwrap().as_deref(),
        Some("ctr_1")
    );
    assert_eq!(store.client_contract("cli_free").await.unwrap(), None);
    assert_eq!(store.client_contract("cli_unknown").await.unwrap(), None);
    assert_eq!(
        store.client_contracts("VX5").await.unwrap(),
        vec![("cli_bound".to_owned(), "ctr_1".to_owned())]
    );
    // A binding to an unknown contract is refused by the foreign key (on both backends).
    assert!(store
        .insert_client_for(&client("cli_stray"), Some("ctr_nope"))
        .await
        .is_err());
    assert_eq!(store.find_client("cli_stray").await.unwrap(), None);
    assert!(store.delete_client("cli_bound", T).await.unwrap());
    assert_eq!(store.client_contract("cli_bound").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_client_contracts() {
    binding(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 2)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_client_contracts() {
    binding(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 2)
            .await
            .unwrap(),
    )
    .await;
}
