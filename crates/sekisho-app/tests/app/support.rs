//! A real `App` on a fresh SQLite file, with mail and SMS to file outboxes: the use cases run
//! without a socket. Time is a `FakeClock` at a fixed instant.

use sekisho_app::session::new_session;
use sekisho_app::App;
use sekisho_core::model::{
    AccessRoute, Brand, Contract, ContractState, LoginMethod, Plan, Role, TwoFactorSetting, User,
    UserStatus,
};
use sekisho_core::oauth::Amr;
use sekisho_core::FakeClock;
use sekisho_crypto::tokens::new_id;
use sekisho_crypto::{KeyRing, PasswordHasher};
use sekisho_notify::{Mailer, SmsGateway, Transport};
use sekisho_oidc::{operator, Op, OpConfig};
use sekisho_store::{SessionRecord, Store};
use sekisho_upstream::{Connector, ConnectorSettings, UpstreamIdentity};
use std::collections::HashMap;
use std::sync::Arc;

/// The tests' clock starts at a fixed instant and never reads the wall clock.
pub const T0: i64 = sekisho_core::TEST_EPOCH;
pub const BRAND: &str = "VX5";
pub const OTHER_BRAND: &str = "MDR";
pub const PASSWORD: &str = "Correct-horse-9";
pub const REDIRECT: &str = "https://rp.example/cb";

pub struct World {
    pub app: App,
    pub clock: Arc<FakeClock>,
    pub brand: Brand,
    pub client_id: String,
    _dir: tempdir::Dir,
}

/// A scratch folder removed at the end of the test.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl World {
    pub async fn new() -> World {
        let clock = Arc::new(FakeClock::new(T0));
        let store = Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap();
        let config = OpConfig::default();
        let keys = Arc::new(KeyRing::new(
            store.clone(),
            clock.clone(),
            config.key_overlap(),
        ));
        let passwords = PasswordHasher::new(1024, 1, 1, 2).unwrap();
        let op = Arc::new(Op::new(store, keys, clock.clone(), passwords, config));
        op.keys.ensure_keys().await.unwrap();
        let dir = std::env::temp_dir().join(new_id("sekisho-app-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let mailer = Mailer::new(
            op.store.clone(),
            clock.clone(),
            Transport::from_settings(&"".into(), &dir.join("mail")).unwrap(),
            "noreply@sekisho.test".into(),
        );
        let sms = SmsGateway::outbox(dir.join("sms"), clock.clone());
        let google = Connector::new(
            ConnectorSettings {
                name: "google".into(),
                kind: "google".into(),
                client_id: "cid".into(),
                client_secret: "secret".into(),
                discovery_url: "http://127.0.0.1:9/.well-known/openid-configuration".into(),
                ..Default::default()
            },
            clock.clone(),
        )
        .unwrap();
        let facebook = Connector::new(
            ConnectorSettings {
                name: "facebook".into(),
                kind: "facebook".into(),
                client_id: "fid".into(),
                client_secret: "secret".into(),
                ..Default::default()
            },
            clock.clone(),
        )
        .unwrap();
        let app = App::new(op.clone(), mailer, sms).with_upstreams(vec![google, facebook]);
        let brand = operator::add_brand(&op, BRAND, "OTクラウド・ストレージ")
            .await
            .unwrap();
        operator::add_brand(&op, OTHER_BRAND, "M-Drive")
            .await
            .unwrap();
        let client = operator::register_client(
            &op,
            operator::NewClient::confidential(BRAND, "rp", REDIRECT),
        )
        .await
        .unwrap();
        World {
            app,
            clock,
            brand,
            client_id: client.client_id,
            _dir: tempdir::Dir(dir),
        }
    }

    /// A contract of `brand` (2FA as given) with its contractor, a password user.
    pub async fn contract(&self, brand: &str, email: &str, two_factor: TwoFactorSetting) -> User {
        let op = &self.app.op;
        let contract = Contract {
            id: new_id("ctr"),
            brand: sekisho_core::model::BrandCode::parse(brand).unwrap(),
            name: "テスト株式会社".into(),
            plan: Plan::Basic,
            state: ContractState::Active,
            two_factor,
            access_route: AccessRoute::LineAndInternet,
            created_at: self.clock_now(),
        };
        let user = self.user_of(&contract, email, Role::Contractor).await;
        op.store.create_contract(&contract, &user).await.unwrap();
        user
    }

    /// A password user of `contract` (not stored).
    pub async fn user_of(&self, contract: &Contract, email: &str, role: Role) -> User {
        User {
            id: new_id("usr"),
            contract_id: contract.id.clone(),
            brand: contract.brand.clone(),
            email: sekisho_core::email::Email::parse(email).unwrap(),
            name: String::new(),
            role,
            login_method: LoginMethod::Password,
            password_hash: Some(self.app.op.passwords.hash(PASSWORD).await.unwrap()),
            failed_logins: 0,
            locked_at: None,
            status: UserStatus::Active,
            created_at: self.clock_now(),
        }
    }

    /// Another user of `of`'s contract, stored.
    pub async fn colleague(&self, of: &User, email: &str, status: UserStatus) -> User {
        let contract = self
            .app
            .op
            .store
            .find_contract(&of.contract_id)
            .await
            .unwrap()
            .unwrap();
        let mut user = self.user_of(&contract, email, Role::User).await;
        user.status = status;
        self.app.op.store.insert_user(&user).await.unwrap();
        user
    }

    pub fn clock_now(&self) -> i64 {
        sekisho_core::Clock::now(self.clock.as_ref())
    }

    /// A stored anonymous browser session of VX5.
    pub async fn browser(&self) -> SessionRecord {
        sekisho_app::session::start(&self.app, BRAND)
            .await
            .unwrap()
            .0
    }

    /// A stored session of VX5 signed in as `user` with `amr`.
    pub async fn signed_in(&self, user: &User, amr: &[Amr]) -> SessionRecord {
        let (s, _) = new_session(&self.app, BRAND, Some((&user.id, amr)));
        self.app.op.store.insert_session(&s).await.unwrap();
        s
    }

    /// An authorization request of the RP kept for `session`; `extra` adds parameters
    /// (`acr_values`, …). Returns its id.
    pub async fn request(&self, session: &SessionRecord, extra: &[(&str, &str)]) -> String {
        let mut q: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "st"),
            ("nonce", "n"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            q.insert((*k).to_owned(), (*v).to_owned());
        }
        let (_, params) = match sekisho_oidc::authorize::request(&self.app.op, BRAND, &q).await {
            Ok(found) => found,
            Err(_) => panic!("the test request is valid"),
        };
        sekisho_oidc::authorize::keep(&self.app.op, BRAND, &params, &session.sid)
            .await
            .unwrap()
            .record
            .id
    }

    /// The upstream identity `sub` at the test Google.
    pub fn google(&self, sub: &str) -> UpstreamIdentity {
        UpstreamIdentity {
            issuer: "https://accounts.google.test".into(),
            subject: sub.into(),
            email: Some(format!("{sub}@gmail.test")),
            email_verified: true,
            name: None,
        }
    }
}
