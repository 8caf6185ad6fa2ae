//! Issue 15, bad input: addresses the mailer cannot send to are refused at the edge, on the admin
//! API and in the console, with a clear answer, and nothing is created.

use crate::admin_api::{client_token, service_client};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor};
use sekisho_e2e::{TestApp, BRAND};

const BAD: [&str; 3] = ["<script>@example.com", "a,b@example.jp", "a:b@example.jp"];

async fn user_count(app: &TestApp, contract: &str) -> usize {
    app.op.store.list_users(contract).await.unwrap().len()
}

// REQ-USER-1: the admin API answers 400 (not 500) to an address the mailer would refuse, and
// creates no user.
#[tokio::test]
async fn the_api_refuses_unmailable_addresses_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (id, secret) = service_client(&app, "sekisho:admin", Some(&seed.contract_id)).await;
    let token = client_token(&app, &id, &secret).await;
    let before = user_count(&app, &seed.contract_id).await;
    for email in BAD {
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v1/users", app.issuer()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "email": email, "name": "x", "role": "user" }))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        assert_eq!(status, 400, "{email}: {body}");
        assert_eq!(user_count(&app, &seed.contract_id).await, before, "{email}");
    }
}

// REQ-USER-1: the console's invitation refuses the same addresses with a message, and creates no
// user.
#[tokio::test]
async fn the_console_refuses_unmailable_addresses_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let console = contractor(&app).await;
    let before = user_count(&app, &seed.contract_id).await;
    for email in BAD {
        let (_, users) = page(get(&app, &console, "admin").await);
        let hop = console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/invite"),
                &fields(&users, &[("email", email), ("name", "x"), ("role", "user")]),
            )
            .await
            .unwrap();
        match hop {
            sekisho_e2e::Hop::Page { status, body, .. } => {
                assert_eq!(status.as_u16(), 400, "{email}: {}", excerpt(&body));
            }
            other => panic!("{email}: {other:?}"),
        }
        assert_eq!(user_count(&app, &seed.contract_id).await, before, "{email}");
    }
}
