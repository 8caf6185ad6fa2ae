//! One conformance suite, run against both backends: every store operation behaves the same on
//! SQLite (embedded default) and PostgreSQL (production). The PostgreSQL server is a real one,
//! started by sekisho-testkit (or given by SEKISHO_TEST_POSTGRES_URL).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use sekisho_core::email::Email;
use sekisho_core::login::{Continuation, RoundTrip};
use sekisho_core::model::*;
use sekisho_core::oauth::Amr;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::secret::Secret;
use sekisho_core::two_factor::{Ask, ChallengeMode, ChallengeStage, SecondFactorMethod};
use sekisho_store::*;

const T: i64 = 1_700_000_000;

fn brand() -> Brand {
    Brand {
        code: BrandCode::parse("VX5").unwrap(),
        name: "OTクラウド・ストレージ".into(),
        mail_from: "noreply@vx5.example".into(),
        theme: BrandTheme {
            primary_color: "#c00".into(),
            logo_url: None,
        },
        service_url: None,
        created_at: T,
    }
}

fn user(id: &str, contract: &str, email: &str, role: Role) -> User {
    User {
        id: id.into(),
        contract_id: contract.into(),
        brand: BrandCode::parse("VX5").unwrap(),
        email: Email::parse(email).unwrap(),
        name: "山田 太郎".into(),
        role,
        login_method: LoginMethod::Password,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        failed_logins: 0,
        locked_at: None,
        status: sekisho_core::model::UserStatus::Active,
        created_at: T,
    }
}

fn grant(id: &str, sid: &str, offline: bool) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        brand: "VX5".into(),
        client_id: "cli_1".into(),
        user_id: Some("usr_1".into()),
        sid: Some(sid.into()),
        offline,
        payload: "{}".into(),
        created_at: T,
        revoked_at: None,
    }
}

fn refresh(hash: &str, grant: &str) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        grant_id: grant.into(),
        created_at: T,
        expires_at: T + 100,
        used_at: None,
    }
}

fn session(hash: &str, sid: &str, user: Option<&str>) -> SessionRecord {
    SessionRecord {
        id_hash: hash.into(),
        sid: sid.into(),
        brand: "VX5".into(),
        user_id: user.map(String::from),
        auth_time: user.map(|_| T),
        amr: vec![Amr::Pwd],
        csrf_token: "csrf".into(),
        created_at: T,
        expires_at: T + 100,
    }
}

async fn suite(store: Store) {
    // Brands, contracts, users.
    store.insert_brand(&brand()).await.unwrap();
    assert!(matches!(
        store.insert_brand(&brand()).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.find_brand("VX5").await.unwrap(), Some(brand()));
    assert_eq!(store.find_brand("VX9").await.unwrap(), None);
    // ISSUE-16: the brand's service URL is kept, changed and removed on both backends.
    let mut with_service = brand();
    with_service.service_url =
        Some(sekisho_core::service_url::ServiceUrl::parse("https://storage.vx5.example/").unwrap());
    store.update_brand(&with_service).await.unwrap();
    assert_eq!(store.find_brand("VX5").await.unwrap(), Some(with_service));
    store.update_brand(&brand()).await.unwrap();
    assert_eq!(store.find_brand("VX5").await.unwrap(), Some(brand()));
    let contract = Contract {
        id: "ctr_1".into(),
        brand: brand().code,
        name: "テスト株式会社".into(),
        plan: Plan::Basic,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    let contractor = user("usr_1", "ctr_1", "Taro@Example.jp", Role::Contractor);
    store.create_contract(&contract, &contractor).await.unwrap();
    assert_eq!(
        store.find_contract("ctr_1").await.unwrap(),
        Some(contract.clone())
    );
    let found = store
        .find_user_by_email("VX5", &Email::parse("TARO@example.jp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found, contractor,
        "emails match case-insensitively, Japanese text round-trips"
    );
    // The same email cannot be registered twice in a brand (and a failed contract leaves nothing).
    let dup = Contract {
        id: "ctr_2".into(),
        ..contract.clone()
    };
    assert!(matches!(
        store
            .create_contract(
                &dup,
                &user("usr_2", "ctr_2", "taro@example.jp", Role::Contractor)
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.find_contract("ctr_2").await.unwrap(),
        None,
        "the contract insert was rolled back"
    );
    store
        .insert_user(&user("usr_3", "ctr_1", "hanako@example.jp", Role::Admin))
        .await
        .unwrap();
    assert_eq!(store.list_users("ctr_1").await.unwrap().len(), 2);

    // Clients keep their RFC 7591 metadata.
    let client = Client {
        client_id: "cli_1".into(),
        brand: brand().code,
        secret_hash: Some("hash".into()),
        metadata: ClientMetadata {
            client_name: "ストレージ".into(),
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
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
        created_at: T,
    };
    store.insert_client(&client).await.unwrap();
    assert_eq!(
        store.find_client("cli_1").await.unwrap(),
        Some(client.clone())
    );
    assert_eq!(store.list_clients("VX5").await.unwrap(), vec![client]);

    // Signing keys: rotation retires the previous key of the alg, atomically.
    let key = |kid: &str, at: i64| SigningKeyRecord {
        kid: kid.into(),
        alg: "ES256".into(),
        private_jwk: "{}".into(),
        public_jwk: "{}".into(),
        created_at: at,
        activates_at: at,
        retired_at: None,
    };
    store.rotate_signing_key(&key("k1", T)).await.unwrap();
    store.rotate_signing_key(&key("k2", T + 10)).await.unwrap();
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.kid.as_str(), k.retired_at))
            .collect::<Vec<_>>(),
        vec![("k2", None), ("k1", Some(T + 10))]
    );
    assert_eq!(store.prune_signing_keys(T + 11).await.unwrap(), 1);
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);

    // Sessions: expired ones are invisible; a login replaces the session and stamps the request.
    store
        .insert_session(&session("h1", "sid1", None))
        .await
        .unwrap();
    assert!(store.find_session("h1", T).await.unwrap().is_some());
    assert!(
        store.find_session("h1", T + 100).await.unwrap().is_none(),
        "expired"
    );
    let ar = AuthRequestRecord {
        id: "ar_1".into(),
        brand: "VX5".into(),
        client_id: "cli_1".into(),
        sid: "sid1".into(),
        params: "{}".into(),
        authenticated_at: None,
        created_at: T,
        expires_at: T + 50,
    };
    store.insert_auth_request(&ar).await.unwrap();
    store
        .replace_session("h1", &session("h2", "sid2", Some("usr_1")), Some("ar_1"))
        .await
        .unwrap();
    assert!(store.find_session("h1", T).await.unwrap().is_none());
    let moved = store.find_auth_request("ar_1", T).await.unwrap().unwrap();
    assert_eq!(
        (moved.sid.as_str(), moved.authenticated_at),
        ("sid2", Some(T))
    );
    assert!(
        store
            .find_auth_request("ar_1", T + 50)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    // A request yields exactly one code.
    let code = CodeRecord {
        code_hash: "c1".into(),
        grant_id: "g1".into(),
        client_id: "cli_1".into(),
        payload: "{}".into(),
        created_at: T,
        expires_at: T + 60,
        used_at: None,
    };
    assert!(store.complete_auth_request("ar_1", &code).await.unwrap());
    assert!(!store
        .complete_auth_request(
            "ar_1",
            &CodeRecord {
                code_hash: "c2".into(),
                ..code.clone()
            }
        )
        .await
        .unwrap());
    assert!(store.find_code("c2").await.unwrap().is_none());

    // A code is redeemed once; the replay revokes the grant the first use created.
    assert_eq!(
        store
            .exchange_code(
                "c1",
                T + 1,
                &grant("g1", "sid2", false),
                Some(&refresh("r1", "g1"))
            )
            .await
            .unwrap(),
        CodeExchange::Redeemed
    );
    assert_eq!(
        store.find_code("c1").await.unwrap().unwrap().used_at,
        Some(T + 1)
    );
    assert_eq!(
        store
            .exchange_code("c1", T + 2, &grant("g1", "sid2", false), None)
            .await
            .unwrap(),
        CodeExchange::Replayed
    );
    assert_eq!(
        store.find_grant("g1").await.unwrap().unwrap().revoked_at,
        Some(T + 2)
    );

    // Refresh rotation and reuse detection.
    store
        .insert_grant(&grant("g2", "sid2", true))
        .await
        .unwrap();
    store
        .insert_grant(&grant("g3", "sid2", false))
        .await
        .unwrap();
    // (insert the first refresh of g2 through a redeemed code)
    let code2 = CodeRecord {
        code_hash: "c3".into(),
        grant_id: "g2b".into(),
        ..code.clone()
    };
    let ar2 = AuthRequestRecord {
        id: "ar_2".into(),
        ..ar.clone()
    };
    store.insert_auth_request(&ar2).await.unwrap();
    assert!(store.complete_auth_request("ar_2", &code2).await.unwrap());
    store
        .exchange_code(
            "c3",
            T,
            &grant("g2b", "sid9", true),
            Some(&refresh("ra", "g2b")),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh("ra", T + 1, &refresh("rb", "g2b"))
            .await
            .unwrap(),
        RefreshRotation::Rotated
    );
    let (rb, g) = store.find_refresh("rb").await.unwrap().unwrap();
    assert_eq!((rb.used_at, g.id.as_str()), (None, "g2b"));
    assert_eq!(
        store
            .rotate_refresh("ra", T + 2, &refresh("rc", "g2b"))
            .await
            .unwrap(),
        RefreshRotation::Reused
    );
    assert!(
        store
            .find_grant("g2b")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "reuse revokes the family"
    );
    assert_eq!(
        store
            .rotate_refresh("rb", T + 3, &refresh("rd", "g2b"))
            .await
            .unwrap(),
        RefreshRotation::Inactive
    );
    assert!(
        store.find_refresh("rc").await.unwrap().is_none(),
        "nothing stored on reuse"
    );
    assert_eq!(
        store
            .rotate_refresh("nope", T, &refresh("re", "g2b"))
            .await
            .unwrap(),
        RefreshRotation::Inactive
    );

    // Access tokens: jti revocation and family revocation, in one lookup.
    assert!(store
        .access_token_active("jti1", Some("g3"), T)
        .await
        .unwrap());
    assert!(store.access_token_active("jti1", None, T).await.unwrap());
    store.revoke_access_token("jti1", T + 100).await.unwrap();
    store.revoke_access_token("jti1", T + 100).await.unwrap(); // idempotent
    assert!(!store.access_token_active("jti1", None, T).await.unwrap());
    assert!(
        !store
            .access_token_active("jti2", Some("g1"), T)
            .await
            .unwrap(),
        "revoked family"
    );
    assert!(
        !store
            .access_token_active("jti2", Some("missing"), T)
            .await
            .unwrap(),
        "unknown family"
    );

    // Logout ends the session and its online grants; offline grants survive.
    store
        .insert_grant(&grant("g4", "sid2", true))
        .await
        .unwrap();
    assert!(store.end_session("sid2", T + 5).await.unwrap());
    assert!(store.find_session("h2", T).await.unwrap().is_none());
    assert_eq!(
        store.find_grant("g3").await.unwrap().unwrap().revoked_at,
        Some(T + 5)
    );
    assert_eq!(
        store.find_grant("g4").await.unwrap().unwrap().revoked_at,
        None
    );
    assert!(!store.end_session("sid2", T + 6).await.unwrap());

    // Client assertions are single use.
    assert!(store.use_client_assertion("a1", T + 60).await.unwrap());
    assert!(!store.use_client_assertion("a1", T + 60).await.unwrap());

    // Audit log, newest first.
    for kind in ["login.ok", "login.failed"] {
        store
            .append_audit(&AuditEvent {
                at: T,
                kind: kind.into(),
                brand: Some("VX5".into()),
                user_id: None,
                client_id: None,
                detail: serde_json::json!({"ip": "127.0.0.1"}),
                contract_id: None,
            })
            .await
            .unwrap();
    }
    let events = store.recent_audit(10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec!["login.failed", "login.ok"]
    );

    // Housekeeping removes what expired.
    assert!(store.purge_expired(T + 1_000_000).await.unwrap() > 0);
    assert!(store.find_refresh("rb").await.unwrap().is_none());
}

/// REQ-2FA-*: the registered factor, a step in progress and the remembered browsers; each
/// once-only check holds under a race.
async fn second_factors(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    let contract = Contract {
        id: "ctr_1".into(),
        brand: brand().code,
        name: "x".into(),
        plan: Plan::Basic,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    store
        .create_contract(
            &contract,
            &user("usr_1", "ctr_1", "a@example.jp", Role::Contractor),
        )
        .await
        .unwrap();
    store
        .set_contract_two_factor("ctr_1", TwoFactorSetting::Disabled)
        .await
        .unwrap();
    let found = store.find_contract("ctr_1").await.unwrap().unwrap();
    assert_eq!(found.two_factor, TwoFactorSetting::Disabled);
    assert_eq!(found.access_route, AccessRoute::LineAndInternet);

    let factor = SecondFactorRecord {
        user_id: "usr_1".into(),
        method: SecondFactorMethod::Totp,
        phone: None,
        totp_secret: Some(Secret::new("JBSWY3DPEHPK3PXP".into())),
        last_totp_step: Some(10),
        recovery_hash: "r1".into(),
        created_at: T,
    };
    store.enrol_second_factor(&factor).await.unwrap();
    assert_eq!(
        store.find_second_factor("usr_1").await.unwrap(),
        Some(factor.clone())
    );
    // A TOTP step is used once, and never an older one; racing uses of one step: one wins.
    assert!(!store.use_totp_step("usr_1", 10).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_totp_step("usr_1", 11).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += i32::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one TOTP use per step");
    assert!(!store.use_totp_step("usr_1", 9).await.unwrap());
    // The recovery code rotates only from the current one.
    assert!(!store
        .rotate_recovery_code("usr_1", "wrong", "r2")
        .await
        .unwrap());
    assert!(store
        .rotate_recovery_code("usr_1", "r1", "r2")
        .await
        .unwrap());
    assert!(!store
        .rotate_recovery_code("usr_1", "r1", "r3")
        .await
        .unwrap());
    // Re-enrolling replaces the registration.
    let sms = SecondFactorRecord {
        method: SecondFactorMethod::Sms,
        phone: Some("+819012345678".into()),
        totp_secret: None,
        last_totp_step: None,
        ..factor.clone()
    };
    store.enrol_second_factor(&sms).await.unwrap();
    assert_eq!(store.find_second_factor("usr_1").await.unwrap(), Some(sms));

    // A challenge: attempts count atomically, the SMS code is taken once and only while valid.
    let ch = ChallengeRecord {
        sid: "sid_1".into(),
        user_id: "usr_1".into(),
        amr: vec![Amr::Pwd],
        next: Continuation::Authorize("ar_1".into()),
        mode: ChallengeMode::Verify,
        reason: Ask::NewBrowser,
        stage: ChallengeStage::Code,
        method: Some(SecondFactorMethod::Sms),
        phone: Some("+819012345678".into()),
        totp_secret: None,
        code_hash: Some("c1".into()),
        code_expires_at: Some(T + 300),
        attempts: 0,
        sends: 1,
        send_failed: false,
        remember: true,
        proven: None,
        created_at: T,
        expires_at: T + 1800,
    };
    store.save_challenge(&ch).await.unwrap();
    assert_eq!(
        store.find_challenge("sid_1", T).await.unwrap(),
        Some(ch.clone())
    );
    assert_eq!(
        store.find_challenge("sid_1", T + 1800).await.unwrap(),
        None,
        "expired"
    );
    // Attempts are taken before a code is tested: parallel takes stop at the limit.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .take_challenge_attempt("sid_1", 5)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += i32::from(t.await.unwrap());
    }
    assert_eq!(taken, 5, "five attempts per challenge, however parallel");
    // The SMS cap counts sends within the window only.
    assert_eq!(store.record_sms_send("usr_1", T, T - 100).await.unwrap(), 1);
    assert_eq!(
        store
            .record_sms_send("usr_1", T + 1, T - 100)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .record_sms_send("usr_1", T + 200, T + 100)
            .await
            .unwrap(),
        1
    );
    assert!(
        !store
            .consume_challenge_code("sid_1", "c1", T + 300)
            .await
            .unwrap(),
        "expired code"
    );
    assert!(
        !store
            .consume_challenge_code("sid_1", "c2", T)
            .await
            .unwrap(),
        "wrong code"
    );
    assert!(store
        .consume_challenge_code("sid_1", "c1", T)
        .await
        .unwrap());
    assert!(
        !store
            .consume_challenge_code("sid_1", "c1", T)
            .await
            .unwrap(),
        "single use"
    );
    // Saving again replaces the step.
    let enrol = ChallengeRecord {
        mode: ChallengeMode::Enrol,
        attempts: 0,
        code_hash: None,
        ..ch.clone()
    };
    store.save_challenge(&enrol).await.unwrap();
    assert_eq!(store.find_challenge("sid_1", T).await.unwrap(), Some(enrol));

    // Remembered browsers: per (browser, user); a later login moves last_login_at.
    assert_eq!(store.browser_last_login("b1", "usr_1").await.unwrap(), None);
    store.remember_browser("b1", "usr_1", T).await.unwrap();
    store.remember_browser("b1", "usr_1", T + 50).await.unwrap();
    assert_eq!(
        store.browser_last_login("b1", "usr_1").await.unwrap(),
        Some(T + 50)
    );
    assert_eq!(store.browser_last_login("b2", "usr_1").await.unwrap(), None);

    // REQ-2FA-6: a reset removes the factor, the remembered browsers and the step in progress.
    store.reset_second_factor("usr_1").await.unwrap();
    assert_eq!(store.find_second_factor("usr_1").await.unwrap(), None);
    assert_eq!(store.browser_last_login("b1", "usr_1").await.unwrap(), None);
    assert_eq!(store.find_challenge("sid_1", T).await.unwrap(), None);
}

/// REQ-LOGIN-3 REQ-USER-4: an upstream round trip's state is taken once; a binding needs the
/// live ticket, is unique per upstream identity, and replaces the user's login method.
async fn upstream_bindings(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    let contract = Contract {
        id: "ctr_1".into(),
        brand: brand().code,
        name: "x".into(),
        plan: Plan::Basic,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    store
        .create_contract(
            &contract,
            &user("usr_1", "ctr_1", "a@example.jp", Role::Contractor),
        )
        .await
        .unwrap();
    store
        .insert_user(&user("usr_2", "ctr_1", "b@example.jp", Role::User))
        .await
        .unwrap();
    // The refresh grant reads a user and their contract in one query.
    let (u, c) = store
        .find_user_with_contract("usr_2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.id.as_str(), &c), ("usr_2", &contract));
    assert_eq!(
        store.find_user_contract("usr_2").await.unwrap(),
        Some(contract.clone())
    );
    store
        .set_contract_state("ctr_1", ContractState::Cancelled, 0)
        .await
        .unwrap();
    assert_eq!(
        store
            .find_user_contract("usr_2")
            .await
            .unwrap()
            .map(|c| c.state),
        Some(ContractState::Cancelled)
    );
    store
        .set_contract_state("ctr_1", ContractState::Active, 0)
        .await
        .unwrap();
    let st = UpstreamStateRecord {
        state_hash: "st1".into(),
        sid: "sid_1".into(),
        brand: "VX5".into(),
        connector: "google".into(),
        nonce: Secret::new("n".into()),
        pkce_verifier: Secret::new("v".into()),
        purpose: RoundTrip::Login(Continuation::Direct),
        created_at: T,
        expires_at: T + 600,
    };
    store.insert_upstream_state(&st).await.unwrap();
    assert_eq!(
        store.take_upstream_state("st1", T + 1).await.unwrap(),
        TakenState::Taken(Box::new(st.clone()))
    );
    assert_eq!(
        store.take_upstream_state("st1", T + 2).await.unwrap(),
        TakenState::Used
    );
    assert_eq!(
        store.take_upstream_state("nope", T).await.unwrap(),
        TakenState::Unknown
    );
    store
        .insert_upstream_state(&UpstreamStateRecord {
            state_hash: "st2".into(),
            ..st.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.take_upstream_state("st2", T + 600).await.unwrap(),
        TakenState::Expired
    );

    let ticket = |hash: &str, user: &str| TicketRecord {
        token_hash: hash.into(),
        purpose: "login_method_change".into(),
        brand: "VX5".into(),
        user_id: user.into(),
        payload: "{}".into(),
        created_at: T,
        expires_at: T + 100,
        used_at: None,
    };
    store.issue_ticket(&ticket("t1", "usr_1")).await.unwrap();
    store.issue_ticket(&ticket("t2", "usr_2")).await.unwrap();
    let binding = UpstreamBinding {
        brand: "VX5".into(),
        issuer: "https://accounts.google.com".into(),
        subject: "g-1".into(),
        user_id: "usr_1".into(),
        connector: "google".into(),
        email: Some("a@gmail.example".into()),
        created_at: T,
    };
    assert!(
        !store
            .bind_upstream(&binding, "t1", "password_reset", T)
            .await
            .unwrap(),
        "purpose"
    );
    assert!(
        !store
            .bind_upstream(&binding, "t2", "login_method_change", T)
            .await
            .unwrap(),
        "another user's ticket"
    );
    assert!(store
        .bind_upstream(&binding, "t1", "login_method_change", T)
        .await
        .unwrap());
    assert!(
        !store
            .bind_upstream(&binding, "t1", "login_method_change", T)
            .await
            .unwrap(),
        "ticket used"
    );
    let u = store.find_user("usr_1").await.unwrap().unwrap();
    assert_eq!(u.login_method, LoginMethod::Google);
    assert_eq!(u.password_hash, None);
    assert_eq!(
        store
            .find_upstream_binding("VX5", "https://accounts.google.com", "g-1")
            .await
            .unwrap(),
        Some(binding.clone())
    );
    // The same identity for another user: refused, and that user's ticket is not spent.
    let other = UpstreamBinding {
        user_id: "usr_2".into(),
        ..binding.clone()
    };
    assert!(matches!(
        store
            .bind_upstream(&other, "t2", "login_method_change", T)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(store
        .find_live_ticket("t2", "login_method_change", "VX5", T)
        .await
        .unwrap()
        .is_some());
}

/// Racing redemptions of one code: exactly one wins (the store's atomicity, not the caller's).
async fn racing_code_redemptions(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    let ar = AuthRequestRecord {
        id: "ar".into(),
        brand: "VX5".into(),
        client_id: "cli".into(),
        sid: "s".into(),
        params: "{}".into(),
        authenticated_at: None,
        created_at: T,
        expires_at: T + 50,
    };
    // auth_requests references clients: register one.
    let client = Client {
        client_id: "cli".into(),
        brand: brand().code,
        secret_hash: None,
        metadata: ClientMetadata {
            client_name: "x".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            id_token_signed_response_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: Default::default(),
            backchannel_logout_uri: None,
            subject_type: Default::default(),
            sector_identifier_uri: None,
        },
        created_at: T,
    };
    store.insert_client(&client).await.unwrap();
    store.insert_auth_request(&ar).await.unwrap();
    let code = CodeRecord {
        code_hash: "c".into(),
        grant_id: "g".into(),
        client_id: "cli".into(),
        payload: "{}".into(),
        created_at: T,
        expires_at: T + 60,
        used_at: None,
    };
    assert!(store.complete_auth_request("ar", &code).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .exchange_code(
                        "c",
                        T + 1,
                        &grant("g", "s", false),
                        Some(&refresh(&format!("r{i}"), "g")),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut redeemed = 0;
    for t in tasks {
        if t.await.unwrap() == CodeExchange::Redeemed {
            redeemed += 1;
        }
    }
    assert_eq!(redeemed, 1, "exactly one redemption wins");
    assert!(
        store
            .find_grant("g")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "the losers revoked it"
    );
}

// REQ-OP-3: the store's guarantees hold on the embedded backend…
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_conformance() {
    suite(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    racing_code_redemptions(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    second_factors(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    upstream_bindings(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

// …and on PostgreSQL, a real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_conformance() {
    suite(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    racing_code_redemptions(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    second_factors(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    upstream_bindings(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn unknown_database_scheme_is_a_clear_error() {
    let err = Store::open("mysql://x", 1).await.unwrap_err();
    assert!(
        err.to_string().contains("sqlite:// or postgres://"),
        "{err}"
    );
}

// REQ-OP-6: dynamically registered clients (RFC 7591 / RFC 7592). The registration access token
// is kept as its hash; an update ends the client's logins in progress and unredeemed codes but
// keeps its grants; deleting the client revokes its grants, in one transaction.
async fn client_registrations(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    let client = Client {
        client_id: "cli_dyn".into(),
        brand: brand().code,
        secret_hash: Some("secret-hash".into()),
        metadata: ClientMetadata {
            client_name: "動的 RP".into(),
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            id_token_signed_response_alg: SigningAlg::Rs256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            requires: Default::default(),
            backchannel_logout_uri: None,
            subject_type: Default::default(),
            sector_identifier_uri: None,
        },
        created_at: T,
    };
    store
        .insert_registered_client(&client, "rat-hash")
        .await
        .unwrap();
    assert!(matches!(
        store.insert_registered_client(&client, "other").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.find_registered_client("cli_dyn").await.unwrap(),
        Some((client.clone(), "rat-hash".to_owned()))
    );
    assert_eq!(
        store.find_client("cli_dyn").await.unwrap(),
        Some(client.clone()),
        "a registered client is an ordinary client to the protocol"
    );
    let operator = Client {
        client_id: "cli_op".into(),
        ..client.clone()
    };
    store.insert_client(&operator).await.unwrap();
    assert_eq!(
        store.find_registered_client("cli_op").await.unwrap(),
        None,
        "operator clients have no registration access token"
    );
    assert_eq!(
        store.find_registered_client("cli_none").await.unwrap(),
        None
    );

    let request = |id: &str, client_id: &str| AuthRequestRecord {
        id: id.into(),
        brand: "VX5".into(),
        client_id: client_id.into(),
        sid: "sid_1".into(),
        params: "{}".into(),
        authenticated_at: None,
        created_at: T,
        expires_at: T + 100,
    };
    let code = |hash: &str, grant_id: &str| CodeRecord {
        code_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "cli_dyn".into(),
        payload: "{}".into(),
        created_at: T,
        expires_at: T + 60,
        used_at: None,
    };
    for (id, client_id) in [
        ("ar_pending", "cli_dyn"),
        ("ar_coded", "cli_dyn"),
        ("ar_redeemed", "cli_dyn"),
        ("ar_op", "cli_op"),
    ] {
        store
            .insert_auth_request(&request(id, client_id))
            .await
            .unwrap();
    }
    assert!(store
        .complete_auth_request("ar_coded", &code("code_unused", "grt_later"))
        .await
        .unwrap());
    assert!(store
        .complete_auth_request("ar_redeemed", &code("code_used", "grt_dyn"))
        .await
        .unwrap());
    let dyn_grant = GrantRecord {
        client_id: "cli_dyn".into(),
        ..grant("grt_dyn", "sid_1", false)
    };
    assert_eq!(
        store
            .exchange_code("code_used", T + 1, &dyn_grant, None)
            .await
            .unwrap(),
        CodeExchange::Redeemed
    );
    store
        .insert_grant(&GrantRecord {
            client_id: "cli_op".into(),
            ..grant("grt_op", "sid_1", false)
        })
        .await
        .unwrap();

    // Update: new metadata and secret; the token stays; what was validated against the old
    // registration ends.
    let mut changed = client.clone();
    changed.metadata.redirect_uris = vec!["https://rp.example/new".into()];
    changed.metadata.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
    changed.secret_hash = None;
    assert!(store.update_client(&changed).await.unwrap());
    assert_eq!(
        store.find_registered_client("cli_dyn").await.unwrap(),
        Some((changed.clone(), "rat-hash".to_owned()))
    );
    assert!(store
        .find_auth_request("ar_pending", T)
        .await
        .unwrap()
        .is_none());
    assert!(store.find_code("code_unused").await.unwrap().is_none());
    assert!(
        store.find_code("code_used").await.unwrap().is_some(),
        "a redeemed code stays, so a replay is still seen"
    );
    assert!(store.find_auth_request("ar_op", T).await.unwrap().is_some());
    assert_eq!(
        store
            .find_grant("grt_dyn")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None,
        "an update keeps the client's grants"
    );
    let ghost = Client {
        client_id: "cli_none".into(),
        ..client.clone()
    };
    assert!(!store.update_client(&ghost).await.unwrap());

    // Delete: the client, its codes and logins in progress go; its grants are revoked; other
    // clients are untouched.
    store
        .insert_auth_request(&request("ar_late", "cli_dyn"))
        .await
        .unwrap();
    assert!(store.delete_client("cli_dyn", T + 5).await.unwrap());
    assert_eq!(store.find_client("cli_dyn").await.unwrap(), None);
    assert_eq!(store.find_registered_client("cli_dyn").await.unwrap(), None);
    assert_eq!(
        store
            .find_grant("grt_dyn")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(T + 5)
    );
    assert!(store.find_code("code_used").await.unwrap().is_none());
    assert!(store
        .find_auth_request("ar_late", T)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .find_grant("grt_op")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert!(store.find_auth_request("ar_op", T).await.unwrap().is_some());
    assert_eq!(store.find_client("cli_op").await.unwrap(), Some(operator));
    assert!(!store.delete_client("cli_dyn", T + 6).await.unwrap());
}

#[tokio::test]
async fn sqlite_client_registration_conformance() {
    client_registrations(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_client_registration_conformance() {
    client_registrations(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

fn ticket(hash: &str, purpose: &str, user: &str, payload: &str) -> TicketRecord {
    TicketRecord {
        token_hash: hash.into(),
        purpose: purpose.into(),
        brand: "VX5".into(),
        user_id: user.into(),
        payload: payload.into(),
        created_at: T,
        expires_at: T + 100,
        used_at: None,
    }
}

// Issue 6: the user life cycle's transactions behave the same on both backends.
async fn user_lifecycle(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    let contract = Contract {
        id: "ctr_1".into(),
        brand: brand().code,
        name: "x".into(),
        plan: Plan::Trial,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    store
        .create_contract(
            &contract,
            &user("usr_1", "ctr_1", "a@example.jp", Role::Contractor),
        )
        .await
        .unwrap();
    let mut invited = user("usr_2", "ctr_1", "b@example.jp", Role::User);
    invited.status = UserStatus::Invited;
    invited.password_hash = None;
    store.insert_user(&invited).await.unwrap();
    assert_eq!(
        store.find_user("usr_2").await.unwrap().unwrap().status,
        UserStatus::Invited
    );

    // Registration with a password: the ticket is spent and the user becomes active, once.
    store
        .issue_ticket(&ticket("inv", "invitation", "usr_2", "{}"))
        .await
        .unwrap();
    assert!(store
        .set_ticket_payload("inv", "invitation", r#"{"password_hash":"h"}"#, T + 1)
        .await
        .unwrap());
    assert_eq!(
        store
            .find_live_ticket("inv", "invitation", "VX5", T + 1)
            .await
            .unwrap()
            .unwrap()
            .payload,
        r#"{"password_hash":"h"}"#
    );
    assert!(store
        .set_password_login("usr_2", "inv", "invitation", "phc", T + 2)
        .await
        .unwrap());
    assert!(!store
        .set_password_login("usr_2", "inv", "invitation", "phc2", T + 3)
        .await
        .unwrap());
    let u = store.find_user("usr_2").await.unwrap().unwrap();
    assert_eq!(
        (u.status, u.password_hash.as_deref()),
        (UserStatus::Active, Some("phc"))
    );

    // REQ-USER-7: an email change and a login-method change are never pending together.
    let issued = store
        .issue_exclusive_ticket(
            &ticket("ec", "email_change", "usr_2", r#"{"email":"c@example.jp"}"#),
            &["login_method_change"],
        )
        .await
        .unwrap();
    assert_eq!(issued, ExclusiveTicket::Issued);
    let refused = store
        .issue_exclusive_ticket(
            &ticket("lm", "login_method_change", "usr_2", "{}"),
            &["email_change"],
        )
        .await
        .unwrap();
    assert_eq!(refused, ExclusiveTicket::OtherPending);
    assert_eq!(
        store.pending_ticket_purposes("usr_2", T + 4).await.unwrap(),
        vec!["email_change".to_owned()]
    );
    // An address taken meanwhile is refused and the ticket stays unspent.
    store
        .insert_user(&user("usr_3", "ctr_1", "c@example.jp", Role::User))
        .await
        .unwrap();
    assert!(matches!(
        store
            .change_email("usr_2", "ec", "c@example.jp", Some("new"), T + 5)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(store
        .find_live_ticket("ec", "email_change", "VX5", T + 5)
        .await
        .unwrap()
        .is_some());
    store.delete_user("usr_3", T + 6).await.unwrap();
    assert!(store
        .change_email("usr_2", "ec", "c@example.jp", Some("new"), T + 6)
        .await
        .unwrap());
    let u = store.find_user("usr_2").await.unwrap().unwrap();
    assert_eq!(
        (u.email.as_str(), u.password_hash.as_deref()),
        ("c@example.jp", Some("new"))
    );

    // ISSUE-16: a pending change is found, mailed again (only the new link works, with the same
    // payload) and cancelled (nothing live is left, and the other change may be issued).
    let changes = ["email_change", "login_method_change"];
    assert!(store
        .pending_ticket("usr_2", &changes, T + 6)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .reissue_pending_ticket("usr_2", &changes, "none", T + 6, T + 200)
        .await
        .unwrap()
        .is_none());
    let payload = r#"{"email":"d@example.jp"}"#;
    store
        .issue_exclusive_ticket(
            &ticket("ec2", "email_change", "usr_2", payload),
            &["login_method_change"],
        )
        .await
        .unwrap();
    let pending = store
        .pending_ticket("usr_2", &changes, T + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.token_hash, "ec2");
    let new = store
        .reissue_pending_ticket("usr_2", &changes, "ec3", T + 6, T + 200)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.purpose.as_str(), new.payload.as_str(), new.expires_at),
        ("email_change", payload, T + 200)
    );
    let live = |hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .find_live_ticket(hash, "email_change", "VX5", T + 6)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(!live("ec2").await && live("ec3").await);
    let cancelled = store
        .cancel_pending_tickets("usr_2", &changes, T + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.token_hash, "ec3");
    assert!(!live("ec3").await);
    assert!(store
        .cancel_pending_tickets("usr_2", &changes, T + 6)
        .await
        .unwrap()
        .is_none());
    let issued = store
        .issue_exclusive_ticket(
            &ticket("lm2", "login_method_change", "usr_2", "{}"),
            &["email_change"],
        )
        .await
        .unwrap();
    assert_eq!(issued, ExclusiveTicket::Issued);

    // Role, status, plan and name; deleting revokes the user's grants.
    store.set_user_role("usr_2", Role::Admin).await.unwrap();
    store
        .set_user_status("usr_2", UserStatus::Disabled, 0)
        .await
        .unwrap();
    let u = store.find_user("usr_2").await.unwrap().unwrap();
    assert_eq!((u.role, u.status), (Role::Admin, UserStatus::Disabled));
    store.set_contract_plan("ctr_1", Plan::Basic).await.unwrap();
    store.rename_contract("ctr_1", "y").await.unwrap();
    let c = store.find_contract("ctr_1").await.unwrap().unwrap();
    assert_eq!((c.plan, c.name.as_str()), (Plan::Basic, "y"));
    store.delete_user("usr_2", T + 7).await.unwrap();
    assert!(store.find_user("usr_2").await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_user_lifecycle_conformance() {
    user_lifecycle(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_user_lifecycle_conformance() {
    user_lifecycle(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

/// A store whose brand VX5 has a contract with a locked password user `usr_1` (with a 2FA
/// registration) and a password-reset ticket `reset` for them.
async fn reset_fixture(store: &Store) {
    store.insert_brand(&brand()).await.unwrap();
    let contract = Contract {
        id: "ctr_1".into(),
        brand: brand().code,
        name: "x".into(),
        plan: Plan::Basic,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: T,
    };
    let mut locked = user("usr_1", "ctr_1", "a@example.jp", Role::Contractor);
    locked.password_hash = Some("old".into());
    store.create_contract(&contract, &locked).await.unwrap();
    for _ in 0..10 {
        store.record_login_failure("usr_1", 10, T).await.unwrap();
    }
    store
        .enrol_second_factor(&SecondFactorRecord {
            user_id: "usr_1".into(),
            method: SecondFactorMethod::Sms,
            phone: Some("+819012345678".into()),
            totp_secret: None,
            last_totp_step: None,
            recovery_hash: "r".into(),
            created_at: T,
        })
        .await
        .unwrap();
    store
        .issue_ticket(&ticket("reset", "password_reset", "usr_1", "{}"))
        .await
        .unwrap();
}

/// REQ-PW-3, REQ-2FA-6, REQ-MAIL-2: a password reset spends its ticket, sets the password, clears
/// the lock and the 2FA registration, all at once; a ticket of another brand or purpose does
/// nothing and stays live.
async fn password_reset(store: Store) {
    reset_fixture(&store).await;
    // Another brand's page, or another purpose's ticket: nothing happens.
    assert_eq!(
        store
            .reset_password("reset", "VX9", "new", T + 1)
            .await
            .unwrap(),
        None
    );
    store
        .issue_ticket(&ticket("unlock", "unlock", "usr_1", "{}"))
        .await
        .unwrap();
    assert_eq!(
        store
            .reset_password("unlock", "VX5", "new", T + 1)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .consume_ticket("reset", "password_reset", "VX9", T + 1)
        .await
        .unwrap()
        .is_none());
    let before = store.find_user("usr_1").await.unwrap().unwrap();
    assert_eq!(before.password_hash.as_deref(), Some("old"));
    assert!(before.locked_at.is_some());
    // The reset itself.
    assert_eq!(
        store
            .reset_password("reset", "VX5", "new", T + 2)
            .await
            .unwrap(),
        Some("usr_1".to_owned())
    );
    let after = store.find_user("usr_1").await.unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("new"));
    assert_eq!((after.locked_at, after.failed_logins), (None, 0));
    assert_eq!(store.find_second_factor("usr_1").await.unwrap(), None);
    // Once.
    assert_eq!(
        store
            .reset_password("reset", "VX5", "newer", T + 3)
            .await
            .unwrap(),
        None
    );
    // An expired ticket does nothing.
    store
        .issue_ticket(&ticket("late", "password_reset", "usr_1", "{}"))
        .await
        .unwrap();
    assert_eq!(
        store
            .reset_password("late", "VX5", "newer", T + 100)
            .await
            .unwrap(),
        None
    );
}

/// Issue 12: a crash between the steps of a password reset cannot leave a spent ticket with the
/// old password. The last step is made to fail (its table is gone); the whole reset must be
/// undone: the ticket still live, the old password and the lock still there.
async fn password_reset_failing_midway(store: Store, url: &str) {
    reset_fixture(&store).await;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query("DROP TABLE trusted_browsers")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        store
            .reset_password("reset", "VX5", "new", T + 1)
            .await
            .is_err(),
        "the failing step fails the reset"
    );
    let user = store.find_user("usr_1").await.unwrap().unwrap();
    assert_eq!(
        user.password_hash.as_deref(),
        Some("old"),
        "password unchanged"
    );
    assert!(user.locked_at.is_some(), "still locked");
    assert!(
        store
            .find_live_ticket("reset", "password_reset", "VX5", T + 1)
            .await
            .unwrap()
            .is_some(),
        "the ticket is still live"
    );
}

#[tokio::test]
async fn sqlite_password_reset_conformance() {
    let open = || async {
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap()
    };
    password_reset(open().await).await;
    let url = sekisho_testkit::fresh_sqlite_url().unwrap();
    let store = Store::open(&url, 4).await.unwrap();
    password_reset_failing_midway(store, &url).await;
}

#[tokio::test]
async fn postgres_password_reset_conformance() {
    password_reset(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
    let url = sekisho_testkit::fresh_postgres_database().unwrap();
    let store = Store::open(&url, 4).await.unwrap();
    password_reset_failing_midway(store, &url).await;
}

// REQ-LINE-1 REQ-LINE-2 REQ-LINE-5: line records behave the same on both backends: a number
// belongs to one contract (registering it again is "already ours" for its owner and refused for
// another, never moved), removal only by the owner, the access route, and a consent decided once.
async fn lines(store: Store) {
    use sekisho_core::line::LineNumber;
    store.insert_brand(&brand()).await.unwrap();
    for (id, email) in [("ctr_1", "a@example.jp"), ("ctr_2", "b@example.jp")] {
        let contract = Contract {
            id: id.into(),
            brand: brand().code,
            name: id.into(),
            plan: Plan::Basic,
            state: ContractState::Active,
            two_factor: TwoFactorSetting::Enabled,
            access_route: AccessRoute::LineAndInternet,
            created_at: T,
        };
        let contractor = user(&format!("usr_{id}"), id, email, Role::Contractor);
        store.create_contract(&contract, &contractor).await.unwrap();
    }
    let caf = LineNumber::parse("CAF0123456789").unwrap();
    let cop = LineNumber::parse("COPA1B2C3D4").unwrap();
    assert_eq!(
        store.add_line("ctr_1", &cop, T).await.unwrap(),
        LineAdded::Added
    );
    assert_eq!(
        store.add_line("ctr_1", &caf, T + 1).await.unwrap(),
        LineAdded::Added
    );
    assert_eq!(
        store.add_line("ctr_1", &caf, T + 2).await.unwrap(),
        LineAdded::AlreadyOurs
    );
    assert_eq!(
        store.add_line("ctr_2", &caf, T + 3).await.unwrap(),
        LineAdded::OtherContract
    );
    let found = store.find_line(&caf).await.unwrap().unwrap();
    assert_eq!(
        (found.contract_id.as_str(), found.created_at),
        ("ctr_1", T + 1),
        "neither moved nor re-dated"
    );
    let listed: Vec<String> = store
        .list_lines("ctr_1")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.number)
        .collect();
    assert_eq!(listed, vec!["CAF0123456789", "COPA1B2C3D4"]);
    assert!(store.list_lines("ctr_2").await.unwrap().is_empty());

    assert!(!store.remove_line("ctr_2", &caf).await.unwrap());
    assert!(store.find_line(&caf).await.unwrap().is_some());
    assert!(store.remove_line("ctr_1", &caf).await.unwrap());
    assert!(!store.remove_line("ctr_1", &caf).await.unwrap());
    assert!(store.find_line(&caf).await.unwrap().is_none());
    assert_eq!(
        store.add_line("ctr_2", &caf, T + 4).await.unwrap(),
        LineAdded::Added,
        "a removed number is free again"
    );

    store
        .set_contract_access_route("ctr_1", AccessRoute::LineOnly)
        .await
        .unwrap();
    let route = |id: &'static str| {
        let store = store.clone();
        async move { store.find_contract(id).await.unwrap().unwrap().access_route }
    };
    assert_eq!(route("ctr_1").await, AccessRoute::LineOnly);
    assert_eq!(route("ctr_2").await, AccessRoute::LineAndInternet);

    assert_eq!(store.line_consent("usr_ctr_1", &cop).await.unwrap(), None);
    store
        .record_line_consent("usr_ctr_1", &cop, true, T)
        .await
        .unwrap();
    store
        .record_line_consent("usr_ctr_1", &cop, false, T + 1)
        .await
        .unwrap();
    assert_eq!(
        store.line_consent("usr_ctr_1", &cop).await.unwrap(),
        Some(true),
        "the first decision stands"
    );
}

#[tokio::test]
async fn sqlite_lines_conformance() {
    lines(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_lines_conformance() {
    lines(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

fn mail_to(id: &str, to: &str, at: i64) -> MailRecord {
    MailRecord {
        id: id.into(),
        brand: "VX5".into(),
        to: to.into(),
        subject: "s".into(),
        body: "b".into(),
        created_at: at,
        attempts: 0,
        next_attempt_at: at,
        sent_at: None,
        last_error: None,
    }
}

// ISSUE-15 (mail bombing): the hourly cap per address holds on both backends, whatever the case
// of the address, under parallel requests (as on several nodes); the next hour starts again and
// the purge forgets old hours.
async fn mail_cap(store: Store) {
    let hour = T - T.rem_euclid(3600);
    let tries = (0..12).map(|i| {
        let store = store.clone();
        let to = if i % 2 == 0 {
            "Bomb@Example.jp"
        } else {
            "bomb@example.jp"
        };
        tokio::spawn(async move {
            store
                .enqueue_mail_capped(&mail_to(&format!("m{i}"), to, hour + 10), 3)
                .await
                .unwrap()
        })
    });
    let mut queued = 0;
    for t in tries.collect::<Vec<_>>() {
        queued += usize::from(t.await.unwrap());
    }
    assert_eq!(queued, 3, "exactly the cap, in parallel");
    assert_eq!(store.list_mail(100).await.unwrap().len(), 3);
    assert!(store
        .enqueue_mail_capped(&mail_to("other", "other@example.jp", hour + 20), 3)
        .await
        .unwrap());
    for i in 0..3 {
        let next = mail_to(&format!("next{i}"), "bomb@example.jp", hour + 3600 + i);
        assert!(
            store.enqueue_mail_capped(&next, 3).await.unwrap(),
            "a new hour"
        );
    }
    let over = mail_to("over", "bomb@example.jp", hour + 3605);
    assert!(!store.enqueue_mail_capped(&over, 3).await.unwrap());
    assert!(store.purge_expired(hour + 3 * 3600).await.unwrap() >= 3);
    assert!(store
        .enqueue_mail_capped(&mail_to("later", "bomb@example.jp", hour + 3610), 3)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_mail_cap_conformance() {
    mail_cap(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_mail_cap_conformance() {
    mail_cap(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

// ISSUE-16: the console's user list (search, count, paging by email), the pending tickets of a
// page in one query, and the audit log of one contract only, the same on both backends.
async fn console_reads(store: Store) {
    store.insert_brand(&brand()).await.unwrap();
    for c in ["ctr_1", "ctr_2"] {
        let contract = Contract {
            id: c.into(),
            brand: brand().code,
            name: c.into(),
            plan: Plan::Basic,
            state: ContractState::Active,
            two_factor: TwoFactorSetting::Enabled,
            access_route: AccessRoute::LineAndInternet,
            created_at: T,
        };
        store
            .create_contract(
                &contract,
                &user(
                    &format!("{c}_owner"),
                    c,
                    &format!("owner@{}.example", c.replace('_', "-")),
                    Role::Contractor,
                ),
            )
            .await
            .unwrap();
    }
    // 120 more users in ctr_1, inserted out of order; every tenth is named "Suzuki_%".
    for i in (0..120).rev() {
        let mut u = user(
            &format!("usr_{i:03}"),
            "ctr_1",
            &format!("u{i:03}@a.example"),
            Role::User,
        );
        if i % 10 == 0 {
            u.name = format!("Suzuki_% {i}");
        }
        store.insert_user(&u).await.unwrap();
    }
    store
        .insert_user(&user("usr_other", "ctr_2", "u001@b.example", Role::User))
        .await
        .unwrap();

    assert_eq!(store.count_users("ctr_1", "").await.unwrap(), 121);
    let first = store.users_page("ctr_1", "", 0, 50).await.unwrap();
    assert_eq!(first.len(), 50);
    assert_eq!(first[0].email.as_str(), "owner@ctr-1.example");
    assert_eq!(first[1].email.as_str(), "u000@a.example");
    let last = store.users_page("ctr_1", "", 100, 50).await.unwrap();
    assert_eq!(
        last.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        (99..120)
            .map(|i| format!("u{i:03}@a.example"))
            .collect::<Vec<_>>(),
        "ordered by email, paged"
    );
    // Search: email or name, any case, within the contract only; `%` and `_` are literal.
    assert_eq!(store.count_users("ctr_1", "u001").await.unwrap(), 1);
    assert_eq!(
        store.count_users("ctr_1", "U001@A").await.unwrap(),
        1,
        "any case"
    );
    assert_eq!(store.count_users("ctr_1", "suzuki").await.unwrap(), 12);
    assert_eq!(store.count_users("ctr_1", "SUZUKI_%").await.unwrap(), 12);
    assert_eq!(store.count_users("ctr_1", "zuki%x").await.unwrap(), 0);
    assert_eq!(store.count_users("ctr_1", "u0_1").await.unwrap(), 0);
    let found = store.users_page("ctr_1", "suzuki", 10, 50).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["usr_100", "usr_110"]
    );

    // The pending tickets of a page, in one query (used and expired ones are not pending).
    for (hash, purpose, user_id) in [
        ("p1", "invitation", "usr_001"),
        ("p2", "email_change", "usr_002"),
        ("p3", "login_method_change", "usr_002"),
        ("p4", "invitation", "usr_003"),
    ] {
        store
            .issue_ticket(&ticket(hash, purpose, user_id, "{}"))
            .await
            .unwrap();
    }
    store
        .consume_ticket("p4", "invitation", "VX5", T + 1)
        .await
        .unwrap();
    let ids: Vec<String> = ["usr_001", "usr_002", "usr_003", "usr_004"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        store.pending_ticket_purposes_of(&ids, T + 2).await.unwrap(),
        vec![
            ("usr_001".to_owned(), "invitation".to_owned()),
            ("usr_002".to_owned(), "email_change".to_owned()),
            ("usr_002".to_owned(), "login_method_change".to_owned()),
        ]
    );
    assert!(store
        .pending_ticket_purposes_of(&ids, T + 1000)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .pending_ticket_purposes_of(&[], T)
        .await
        .unwrap()
        .is_empty());

    // Audit events belong to their user's contract (taken when written, kept after deletion), or
    // to the contract given; the log of a contract is its own, newest first.
    let event = |kind: &str, user_id: Option<&str>, contract_id: Option<&str>| AuditEvent {
        at: T,
        kind: kind.into(),
        brand: Some("VX5".into()),
        user_id: user_id.map(str::to_owned),
        client_id: None,
        detail: serde_json::json!({}),
        contract_id: contract_id.map(str::to_owned),
    };
    for e in [
        event("a.login", Some("usr_001"), None),
        event("b.other", Some("usr_other"), None),
        event("c.unknown", None, None),
        event("d.operator", None, Some("ctr_1")),
    ] {
        store.append_audit(&e).await.unwrap();
    }
    store.delete_user("usr_001", T + 3).await.unwrap();
    store
        .append_audit(&event("e.deleted", Some("usr_001"), Some("ctr_1")))
        .await
        .unwrap();
    assert_eq!(store.count_contract_audit("ctr_1").await.unwrap(), 3);
    let log = store.contract_audit("ctr_1", 0, 50).await.unwrap();
    assert_eq!(
        log.iter().map(|(_, e)| e.kind.as_str()).collect::<Vec<_>>(),
        ["e.deleted", "d.operator", "a.login"]
    );
    assert!(log[0].0 > log[1].0 && log[1].0 > log[2].0);
    assert_eq!(log[2].1.contract_id.as_deref(), Some("ctr_1"));
    let paged = store.contract_audit("ctr_1", 1, 1).await.unwrap();
    assert_eq!(paged[0].1.kind, "d.operator");
    assert_eq!(
        store
            .contract_audit("ctr_2", 0, 50)
            .await
            .unwrap()
            .iter()
            .map(|(_, e)| e.kind.as_str())
            .collect::<Vec<_>>(),
        ["b.other"]
    );

    // Addresses of the contract's users only.
    let asked: Vec<String> = ["usr_002", "usr_001", "usr_other"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        store.user_emails("ctr_1", &asked).await.unwrap(),
        vec![("usr_002".to_owned(), "u002@a.example".to_owned())]
    );
}

#[tokio::test]
async fn sqlite_console_conformance() {
    console_reads(
        Store::open(&sekisho_testkit::fresh_sqlite_url().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_console_conformance() {
    console_reads(
        Store::open(&sekisho_testkit::fresh_postgres_database().unwrap(), 4)
            .await
            .unwrap(),
    )
    .await;
}
