//! ISSUE-15: secrets at rest. With a key-encryption key the signing keys and TOTP secrets are
//! sealed in the database (read here from the raw tables), open again through the store, are
//! sealed when a KEK is first configured, reseal under a new KEK, and refuse to open without it.
//! On both backends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_core::email::Email;
use sekisho_core::model::*;
use sekisho_core::sealing::SealError;
use sekisho_core::secret::Secret;
use sekisho_core::two_factor::SecondFactorMethod;
use sekisho_crypto::kek::Kek;
use sekisho_store::*;
use sqlx::Row;
use std::sync::Arc;

const T: i64 = 1_700_000_000;
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const JWK: &str = r#"{"kty":"EC","crv":"P-256","d":"private-part-d"}"#;

async fn raw(url: &str, sql: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

async fn fixture(store: &Store) {
    store
        .insert_brand(&Brand {
            code: BrandCode::parse("VX5").unwrap(),
            name: "x".into(),
            mail_from: String::new(),
            theme: BrandTheme {
                primary_color: "#c00".into(),
                logo_url: None,
            },
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
    let user = User {
        id: "usr_1".into(),
        contract_id: "ctr_1".into(),
        brand: BrandCode::parse("VX5").unwrap(),
        email: Email::parse("a@example.jp").unwrap(),
        name: String::new(),
        role: Role::Contractor,
        login_method: LoginMethod::Password,
        password_hash: None,
        failed_logins: 0,
        locked_at: None,
        status: UserStatus::Active,
        created_at: T,
    };
    store.create_contract(&contract, &user).await.unwrap();
}

fn key(kid: &str) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_jwk: JWK.into(),
        public_jwk: r#"{"kty":"EC"}"#.into(),
        created_at: T,
        activates_at: T,
        retired_at: None,
    }
}

fn factor() -> SecondFactorRecord {
    SecondFactorRecord {
        user_id: "usr_1".into(),
        method: SecondFactorMethod::Totp,
        phone: None,
        totp_secret: Some(Secret::new(TOTP.into())),
        last_totp_step: None,
        recovery_hash: "r".into(),
        created_at: T,
    }
}

async fn secrets_at_rest(url: String) {
    let old = Kek::generate();
    let new = Kek::generate();
    let old_kek = Arc::new(Kek::parse(&old).unwrap());
    let old_id = sekisho_core::sealing::SecretCipher::primary_id(&*old_kek).to_owned();

    // Before any KEK: written in clear (the development default of earlier versions).
    let clear = Store::open(&url, 2).await.unwrap();
    fixture(&clear).await;
    clear.rotate_signing_key(&key("es256_a")).await.unwrap();
    clear.enrol_second_factor(&factor()).await.unwrap();
    assert_eq!(
        raw(&url, "SELECT private_jwk FROM signing_keys").await,
        [JWK]
    );
    assert_eq!(clear.secrets_status().await.unwrap().clear, 2);

    // A KEK is configured: the clear rows are sealed at start, in the raw tables too.
    let sealed = Store::open(&url, 2)
        .await
        .unwrap()
        .with_cipher(old_kek.clone());
    let report = sealed.seal_secrets(false).await.unwrap();
    assert_eq!((report.checked, report.sealed), (2, 2));
    let stored_key = raw(&url, "SELECT private_jwk FROM signing_keys").await;
    let stored_totp = raw(&url, "SELECT totp_secret FROM second_factors").await;
    for v in stored_key.iter().chain(&stored_totp) {
        assert!(v.starts_with(&format!("enc1:{old_id}:")), "{v}");
        assert!(!v.contains("private-part-d") && !v.contains(TOTP), "{v}");
    }
    // New writes are sealed too, and every read gives the clear value back.
    sealed.rotate_signing_key(&key("es256_b")).await.unwrap();
    assert!(raw(&url, "SELECT private_jwk FROM signing_keys")
        .await
        .iter()
        .all(|v| v.starts_with("enc1:")));
    let keys = sealed.list_signing_keys().await.unwrap();
    assert!(keys.iter().all(|k| k.private_jwk == JWK));
    assert_eq!(
        sealed.find_second_factor("usr_1").await.unwrap(),
        Some(factor())
    );

    // A sealed value moved to another row does not open there.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "UPDATE signing_keys SET private_jwk = (SELECT private_jwk FROM signing_keys \
         WHERE kid = 'es256_b') WHERE kid = 'es256_a'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(matches!(
        sealed.list_signing_keys().await.unwrap_err(),
        StoreError::Sealed {
            error: SealError::WrongKey(_),
            ..
        }
    ));
    sqlx::query("DELETE FROM signing_keys WHERE kid = 'es256_a'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // Without the KEK, nothing opens: start-up's check names the key.
    let bare = Store::open(&url, 2).await.unwrap();
    match bare.seal_secrets(false).await.unwrap_err() {
        StoreError::Sealed {
            error: SealError::UnknownKey(kid),
            ..
        } => assert_eq!(kid, old_id),
        other => panic!("{other:?}"),
    }
    // With only another key, neither.
    let other = Store::open(&url, 2)
        .await
        .unwrap()
        .with_cipher(Arc::new(Kek::parse(&new).unwrap()));
    assert!(other.seal_secrets(false).await.is_err());

    // Rotation: the new key first, the old one after it; every value is sealed again under the
    // new key, and then opens with the new key alone.
    let both = Store::open(&url, 2)
        .await
        .unwrap()
        .with_cipher(Arc::new(Kek::parse(&format!("{new}\n{old}")).unwrap()));
    let report = both.seal_secrets(true).await.unwrap();
    assert_eq!((report.checked, report.resealed), (2, 2));
    let status = both.secrets_status().await.unwrap();
    assert_eq!(status.clear, 0);
    assert_eq!(status.sealed_by_key.len(), 1);
    assert_eq!(status.sealed_by_key.keys().next(), report.key_id.as_ref());
    assert_ne!(report.key_id.as_deref(), Some(old_id.as_str()));
    other.seal_secrets(false).await.unwrap();
    assert!(other
        .list_signing_keys()
        .await
        .unwrap()
        .iter()
        .all(|k| k.private_jwk == JWK));
    assert_eq!(
        other.find_second_factor("usr_1").await.unwrap(),
        Some(factor())
    );
    let old_only = Store::open(&url, 2).await.unwrap().with_cipher(old_kek);
    assert!(old_only.seal_secrets(false).await.is_err());
}

// ISSUE-15: secrets at rest, on the embedded backend…
#[tokio::test]
async fn sqlite_secrets_at_rest() {
    secrets_at_rest(sekisho_testkit::fresh_sqlite_url().unwrap()).await;
}

// …and on PostgreSQL.
#[tokio::test]
async fn postgres_secrets_at_rest() {
    secrets_at_rest(sekisho_testkit::fresh_postgres_database().unwrap()).await;
}
