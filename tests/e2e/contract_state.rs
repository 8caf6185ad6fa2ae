//! A contract that ends stops its users (issue 6 item 1): cancelled, or a free trial past its 30
//! days. Their logins are refused, signed-in sessions get no more codes, and their tokens stop
//! working (userinfo, introspection, refresh).

use crate::support::{active, authorize_url, code, post_basic, redeem, userinfo_status, VERIFIER};
use sekisho_core::model::{ContractState, Plan, TwoFactorSetting};
use sekisho_e2e::{query, Browser, Hop, TestApp, BRAND, PASSWORD};

const DAY: i64 = 24 * 3600;

fn refused_login(hop: Hop) {
    match hop {
        Hop::Page { status, body, .. } => {
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("ご契約が解約されているか"), "{body}");
        }
        Hop::LeftOp(url) => panic!("the login went on to {url}"),
    }
}

// Issue 6 (REQ-USER-1): a cancelled contract's tokens stop, its sessions get no codes, and its
// users cannot log in.
#[tokio::test]
async fn a_cancelled_contract_stops_logins_and_tokens() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = (
        seed.client.client_id.clone(),
        seed.client.client_secret.clone().unwrap(),
    );
    let browser = Browser::new();
    let c = code(&app, &browser, &id).await;
    let (status, tokens) = redeem(&app, &id, &secret, &c, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &access).await, 200);
    assert!(active(&app, &id, &secret, &access).await);

    app.op
        .store
        .set_contract_state(&seed.contract_id, ContractState::Cancelled, app.op.now())
        .await
        .unwrap();
    assert_eq!(userinfo_status(&app, &access).await, 401);
    assert!(
        !active(&app, &id, &secret, &access).await,
        "introspection says inactive"
    );
    let (status, body) = post_basic(
        &app,
        "token",
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // The cancellation ended the signed-in browser's session (issue 18: its RPs are told by
    // back-channel logout): it is asked to log in again, and gets no code.
    match browser
        .follow(&app.base, &authorize_url(&app, &id, &[]))
        .await
        .unwrap()
    {
        Hop::Page { body, .. } => assert!(body.contains("name=\"password\""), "{body}"),
        Hop::LeftOp(url) => panic!("the ended session went back to the RP: {url}"),
    }
    // A new login is refused after the password, with a page that says why.
    let fresh = Browser::new();
    let Hop::Page { body, .. } = fresh
        .follow(&app.base, &authorize_url(&app, &id, &[]))
        .await
        .unwrap()
    else {
        panic!("no login page")
    };
    refused_login(
        fresh
            .submit_login(&app.base, &body, sekisho_e2e::EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
}

// Issue 6 (REQ-USER-1): a free trial ends by itself after 30 days.
#[tokio::test]
async fn a_trial_ends_by_itself_after_30_days() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let trial = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "トライアル株式会社",
        "trial@example.jp",
        PASSWORD,
        Plan::Trial,
    )
    .await
    .unwrap();
    app.op
        .store
        .set_contract_two_factor(&trial.contract_id, TwoFactorSetting::Disabled)
        .await
        .unwrap();
    let (id, secret) = (
        seed.client.client_id.clone(),
        seed.client.client_secret.clone().unwrap(),
    );
    // Two minutes before the end of the 30 days: still on trial, logins and tokens work.
    app.clock.advance(30 * DAY - 120);
    let back = Browser::new()
        .login(
            &app.base,
            &authorize_url(&app, &id, &[]),
            "trial@example.jp",
            PASSWORD,
        )
        .await
        .unwrap();
    let (status, tokens) = redeem(&app, &id, &secret, &query(&back)["code"], VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(active(&app, &id, &secret, &access).await, "still on trial");
    // The 30 days are over: the same (unexpired) token stops, and logins are refused.
    app.clock.advance(121);
    assert!(
        !active(&app, &id, &secret, &access).await,
        "the trial ended"
    );
    let fresh = Browser::new();
    let Hop::Page { body, .. } = fresh
        .follow(&app.base, &authorize_url(&app, &id, &[]))
        .await
        .unwrap()
    else {
        panic!("no login page")
    };
    refused_login(
        fresh
            .submit_login(&app.base, &body, "trial@example.jp", PASSWORD)
            .await
            .unwrap(),
    );
    // The basic contract of the same brand is not affected.
    let back = Browser::new()
        .login(
            &app.base,
            &authorize_url(&app, &id, &[]),
            sekisho_e2e::EMAIL,
            PASSWORD,
        )
        .await
        .unwrap();
    assert!(query(&back).contains_key("code"), "{back}");
}
