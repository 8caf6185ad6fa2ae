//! Issue 17 (acceptance): three `sekisho serve` processes on one PostgreSQL behind a real load
//! balancer (Debian's nginx, round robin, no sticky sessions).
//!
//! Full flows run through the balancer, each request landing on whichever node nginx picks:
//! password login with two-step enrolment, code exchange, refresh, revocation, logout, a login
//! with the upstream provider (bound by the admin API's mailed link), and an operator creating a
//! client. Then changes made through one node are checked on the others at their next request,
//! with no wait for a cache to expire: a client deleted through A is refused by B and C; keys
//! rotated on A's machine sign tokens that B and C verify and publish; the contract's two-step
//! setting changed through A applies at the next login on C.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

mod load;
mod nodes;

use load::{Load, OnLoss, Rp, VERIFIER};
use nodes::{Cluster, HANAKO, JIRO};
use sekisho_crypto::second_factor::totp_code;
use sekisho_e2e::{
    element_text, fields, href_of, query, Browser, Hop, BRAND, EMAIL, PASSWORD, POST_LOGOUT_URI,
    REDIRECT_URI,
};
use serde_json::{json, Value};
use std::sync::Arc;
use url::Url;

fn page(hop: Hop) -> String {
    match hop {
        Hop::Page { body, .. } => body,
        Hop::LeftOp(url) => panic!("expected a page, the browser went to {url}"),
    }
}

fn left(hop: Hop) -> Url {
    match hop {
        Hop::LeftOp(url) => url,
        Hop::Page { url, body, .. } => panic!("expected the RP, stayed at {url}: {}", main(&body)),
    }
}

fn main(body: &str) -> String {
    let start = body.find("<main").unwrap_or(0);
    body[start..].chars().take(600).collect()
}

/// The wall clock in Unix seconds (the nodes and the TOTP codes run on it).
#[allow(
    clippy::disallowed_methods,
    reason = "real server processes run on the wall clock"
)]
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// The RP's authorization URL at `base` (the balancer, or one node).
fn authorize_url(base: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    load::authorize_url(base, BRAND, client_id, extra)
}

fn code_of(back: &Url) -> String {
    query(back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {back}"))
}

/// POSTs a form to `{base}/{BRAND}/{path}` as `(id, secret)`; status and JSON body.
async fn post_as(
    base: &str,
    path: &str,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/{BRAND}/{path}"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn redeem(base: &str, rp: &(String, String), code: &str) -> Value {
    let (status, body) = post_as(
        base,
        "token",
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(base: &str, rp: &(String, String), refresh_token: &str) -> (u16, Value) {
    post_as(
        base,
        "token",
        rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A `client_credentials` token for the client at `base`: the status, and the token on success.
async fn client_token(base: &str, client: &(String, String)) -> (u16, Option<String>) {
    let (status, body) = post_as(
        base,
        "token",
        client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    (status, body["access_token"].as_str().map(String::from))
}

async fn userinfo(base: &str, token: &str) -> u16 {
    load::userinfo(base, BRAND, token).await
}

/// An admin API call with a fresh token of `client` (scope `scope`).
async fn api(
    base: &str,
    client: &(String, String),
    scope: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, token) = post_as(
        base,
        "token",
        client,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}/{BRAND}/api/v1/{path}"))
        .bearer_auth(token["access_token"].as_str().unwrap());
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn published_kids(base: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{base}/{BRAND}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Opens the authorization URL and submits `email`'s password; what followed.
async fn password_step(browser: &Browser, base: &str, authorize: &str, email: &str) -> Hop {
    let login = page(browser.follow(base, authorize).await.unwrap());
    assert!(login.contains("name=\"password\""), "{}", main(&login));
    browser
        .submit_login(base, &login, email, PASSWORD)
        .await
        .unwrap()
}

/// Enrols the authenticator app from the two-step setup page (remembering the browser); where
/// the completion page's 「ログインする」 leads.
async fn enrol_totp(browser: &Browser, base: &str, setup: &str) -> Hop {
    assert!(setup.contains("2段階認証の設定"), "{}", main(setup));
    let path = |p: &str| format!("/{BRAND}/2fa/{p}");
    let totp = page(
        browser
            .post(base, &path("method"), &fields(setup, &[("method", "totp")]))
            .await
            .unwrap(),
    );
    let secret = element_text(&totp, "totp-secret").replace(' ', "");
    let code = totp_code(&secret, now()).unwrap();
    let recovery = page(
        browser
            .post(
                base,
                &path("code"),
                &fields(&totp, &[("code", &code), ("remember", "on")]),
            )
            .await
            .unwrap(),
    );
    let done = page(
        browser
            .post(base, &path("saved"), &fields(&recovery, &[("saved", "on")]))
            .await
            .unwrap(),
    );
    assert!(done.contains("2段階認証完了"), "{}", main(&done));
    let login = href_of(&done, "ログインする");
    browser
        .follow(base, &format!("{base}{login}"))
        .await
        .unwrap()
}

// ISSUE-17: full flows through nginx in front of three nodes, then changes made through one node
// honoured by the others at their next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_behind_a_load_balancer_give_one_answer() {
    let cluster = Cluster::start(3).await;
    let base = cluster.base.clone();
    let s = &cluster.seeded;

    // Password login with two-step enrolment (REQ-2FA-*), every hop through the balancer.
    let taro = Browser::new();
    let setup = page(password_step(&taro, &base, &authorize_url(&base, &s.rp.0, &[]), EMAIL).await);
    let back = left(enrol_totp(&taro, &base, &setup).await);
    let tokens = redeem(&base, &s.rp, &code_of(&back)).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    assert!(published_kids(&base).await.contains(&kid(&id_token)));
    assert_eq!(
        userinfo(&base, tokens["access_token"].as_str().unwrap()).await,
        200
    );

    // Refresh twice, then revoke: the revoked token is refused wherever it lands.
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (status, body) = refresh(&base, &s.rp, &rt).await;
        assert_eq!(status, 200, "{body}");
        rt = body["refresh_token"].as_str().unwrap().to_owned();
    }
    let (status, _) = post_as(&base, "revoke", &s.rp, &[("token", &rt)]).await;
    assert_eq!(status, 200);
    for _ in 0..3 {
        let (status, body) = refresh(&base, &s.rp, &rt).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }

    // The remembered browser logs in with the password alone; then RP-initiated logout ends the
    // session on every node.
    let back = left(
        password_step(
            &taro,
            &base,
            &authorize_url(&base, &s.rp.0, &[("prompt", "login")]),
            EMAIL,
        )
        .await,
    );
    let tokens = redeem(&base, &s.rp, &code_of(&back)).await;
    let mut logout = Url::parse(&format!("{base}/{BRAND}/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
        .append_pair("state", "bye");
    let res = taro.get(logout.as_str()).await.unwrap();
    assert_eq!(res.status(), 303);
    for _ in 0..3 {
        let res = taro
            .get(&authorize_url(&base, &s.rp.0, &[("prompt", "none")]))
            .await
            .unwrap();
        let loc = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(
            query(&loc).get("error").map(String::as_str),
            Some("login_required"),
            "the session ended on every node"
        );
    }

    // An admin change: the contract's admin client mails hanako a login-method-change link; she
    // binds her Google account through it and then logs in with Google.
    let (status, body) = api(
        &base,
        &s.admin,
        "sekisho:admin",
        reqwest::Method::POST,
        &format!("users/{}/login-method-change", s.hanako),
        None,
    )
    .await;
    assert!(status < 300, "{status} {body}");
    let link = cluster
        .link_mailed_to(HANAKO, &format!("{base}/{BRAND}/login-method"))
        .await;
    let hanako = Browser::new();
    let choose = page(hanako.follow(&base, &link).await.unwrap());
    let Hop::LeftOp(google) = hanako
        .press(&base, &choose, "Googleアカウント")
        .await
        .unwrap()
    else {
        panic!("the button leads to Google");
    };
    let callback = hanako
        .upstream_login(google.as_str(), "hanako-google", &base)
        .await
        .unwrap();
    let done = page(hanako.follow(&base, &callback).await.unwrap());
    assert!(
        done.contains("ログイン方法を変更しました"),
        "{}",
        main(&done)
    );
    let login = page(
        hanako
            .follow(&base, &authorize_url(&base, &s.rp.0, &[]))
            .await
            .unwrap(),
    );
    let start = format!("{base}{}", href_of(&login, "Googleアカウントでログイン"));
    let callback = hanako
        .upstream_login(&start, "hanako-google", &base)
        .await
        .unwrap();
    let back = left(hanako.follow(&base, &callback).await.unwrap());
    let tokens = redeem(&base, &s.rp, &code_of(&back)).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], s.hanako.as_str());
    assert_eq!(claims["amr"], json!(["fed"]));

    // An operator change: a client made through the API serves on every node at once.
    let (status, made) = api(
        &base,
        &s.operator,
        "sekisho:operator",
        reqwest::Method::POST,
        &format!("brands/{BRAND}/clients"),
        Some(json!({"client_name": "batch", "grant_types": ["client_credentials"]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let batch = (
        made["client_id"].as_str().unwrap().to_owned(),
        made["client_secret"].as_str().unwrap().to_owned(),
    );
    for node in &cluster.nodes {
        assert_eq!(client_token(&node.url(), &batch).await.0, 200);
    }

    // Every node served part of the flows.
    let served = cluster.lb.requests_per_node();
    for node in &cluster.nodes {
        let n = served
            .get(&format!("127.0.0.1:{}", node.port))
            .copied()
            .unwrap_or(0);
        assert!(n >= 5, "node {} served {n} requests: {served:?}", node.port);
    }

    let [a, b, c] = [0, 1, 2].map(|i| cluster.nodes[i].url());

    // A client deleted through A is refused by B and C at their next request, although both had
    // just served (and cached) it.
    for node in [&b, &c] {
        assert_eq!(client_token(node, &batch).await.0, 200);
    }
    let (status, body) = api(
        &a,
        &s.operator,
        "sekisho:operator",
        reqwest::Method::DELETE,
        &format!("brands/{BRAND}/clients/{}", batch.0),
        None,
    )
    .await;
    assert!(status < 300, "{status} {body}");
    for node in [&b, &c] {
        assert_eq!(
            client_token(node, &batch).await.0,
            401,
            "{node} refuses the deleted client"
        );
    }

    // Keys rotated at once on A's machine (`sekisho keys rotate --now`): B and C publish the new
    // keys and sign with them, and verify what A signs with them.
    let old = kid(&client_token(&b, &s.operator).await.1.unwrap());
    let rotated = cluster.cli(&["keys", "rotate", "--now"]);
    let new_kids: Vec<String> = rotated["rotated"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k.as_str().map(String::from))
        // The SAML SP key turns over too; it is not a JWKS key.
        .filter(|k| !k.starts_with("saml"))
        .collect();
    assert!(!new_kids.is_empty(), "{rotated}");
    for node in [&b, &c] {
        let published = published_kids(node).await;
        for k in &new_kids {
            assert!(published.contains(k), "{node} publishes {k}: {published:?}");
        }
        assert!(published.contains(&old), "the old key still verifies");
        let signed = kid(&client_token(node, &s.operator).await.1.unwrap());
        assert!(new_kids.contains(&signed), "{node} signs with a new key");
    }
    // taro's remembered browser logs in through A with the password alone.
    let back = left(
        password_step(
            &taro,
            &a,
            &authorize_url(&a, &s.rp.0, &[("prompt", "login")]),
            EMAIL,
        )
        .await,
    );
    let from_a = redeem(&a, &s.rp, &code_of(&back)).await;
    assert!(new_kids.contains(&kid(from_a["access_token"].as_str().unwrap())));
    for node in [&b, &c] {
        assert_eq!(
            userinfo(node, from_a["access_token"].as_str().unwrap()).await,
            200
        );
    }

    // The contract's two-step setting changed through A applies at jiro's next login on C.
    let jiro = Browser::new();
    let asked = page(password_step(&jiro, &c, &authorize_url(&c, &s.rp.0, &[]), JIRO).await);
    assert!(asked.contains("2段階認証の設定"), "{}", main(&asked));
    disable_two_factor(&taro, &a).await;
    let jiro = Browser::new();
    let back = left(password_step(&jiro, &c, &authorize_url(&c, &s.rp.0, &[]), JIRO).await);
    assert!(query(&back).contains_key("code"), "{back}");
}

// ISSUE-17: a node killed with `kill -9` in the middle of a login and refresh load behind the
// balancer loses no committed grant (every answered token works exactly once afterwards; only
// answers lost in flight at the dead node may be spent), and the other nodes keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_load_loses_nothing_and_the_others_serve_on() {
    let mut cluster = Cluster::start(3).await;
    let s = &cluster.seeded;
    cluster.cli(&[
        "contract",
        "set",
        "--contract",
        &s.contract_id,
        "--two-factor",
        "off",
    ]);
    let rp = Arc::new(Rp {
        base: cluster.base.clone(),
        brand: BRAND.into(),
        client_id: s.rp.0.clone(),
        secret: s.rp.1.clone(),
        email: EMAIL.into(),
        password: PASSWORD.into(),
    });
    let load = Load::start(rp, 12, 3, 2, OnLoss::GoOn).await;
    load.advance(40, 4).await;
    let victim = format!("127.0.0.1:{}", cluster.nodes[1].port);
    cluster.nodes[1].kill();
    let before = cluster.lb.requests_per_node();
    // The others serve on: as much again is answered after the kill.
    load.advance(40, 4).await;
    let report = load.stop_and_check().await;
    eprintln!("kill -9 of one node of three: {report}");
    let after = cluster.lb.requests_per_node();
    for node in [&cluster.nodes[0], &cluster.nodes[2]] {
        let name = format!("127.0.0.1:{}", node.port);
        assert!(
            after.get(&name) > before.get(&name),
            "{name} served after the kill: {before:?} then {after:?}"
        );
    }
    assert!(
        before.contains_key(&victim),
        "the victim served before: {before:?}"
    );
}

/// The contractor (whose browser is remembered) turns two-step verification off for the contract
/// in the account menu, through `node`.
async fn disable_two_factor(browser: &Browser, node: &str) {
    let login = page(
        browser
            .follow(node, &format!("{node}/{BRAND}/account/login"))
            .await
            .unwrap(),
    );
    let menu = page(
        browser
            .submit_login(node, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    assert!(menu.contains("2段階認証設定"), "{}", main(&menu));
    let setting = page(
        browser
            .follow(node, &format!("{node}/{BRAND}/account/two-factor"))
            .await
            .unwrap(),
    );
    let confirm = page(
        browser
            .post(
                node,
                &format!("/{BRAND}/account/two-factor/confirm"),
                &fields(&setting, &[("setting", "disabled")]),
            )
            .await
            .unwrap(),
    );
    let saved = page(
        browser
            .post(
                node,
                &format!("/{BRAND}/account/two-factor"),
                &fields(&confirm, &[("setting", "disabled"), ("confirmed", "on")]),
            )
            .await
            .unwrap(),
    );
    assert!(
        saved.contains("2段階認証設定を変更しました"),
        "{}",
        main(&saved)
    );
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap()
}
