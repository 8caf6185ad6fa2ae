//! RFC 7591 dynamic client registration, guarded by an initial access token, and RFC 7592 client
//! configuration (read, update, delete with the registration access token), as an integrator's
//! RP sees them: `POST {issuer}/clients`, then `GET | PUT | DELETE` at `registration_client_uri`.

use crate::support::{
    authorize_url, code, error_code, post_basic, redeem, userinfo_status, VERIFIER,
};
use sekisho_core::Clock;
use sekisho_e2e::{
    Browser, TestApp, EMAIL, INITIAL_ACCESS_TOKEN, PASSWORD, POST_LOGOUT_URI, REDIRECT_URI,
};
use serde_json::{json, Value};

/// A second redirect URI an update moves the client to.
const NEW_REDIRECT_URI: &str = "http://127.0.0.1:9/new-callback";

struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    location: Option<String>,
    body: Value,
}

async fn send(req: reqwest::RequestBuilder, token: Option<&str>) -> Answer {
    let req = match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    };
    let res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (www_authenticate, location) = (header("www-authenticate"), header("location"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    Answer {
        status,
        www_authenticate,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs client metadata to the registration endpoint.
async fn register(app: &TestApp, token: Option<&str>, metadata: &Value) -> Answer {
    send(
        http()
            .post(format!("{}/clients", app.issuer()))
            .json(metadata),
        token,
    )
    .await
}

/// A confidential code-flow client at REDIRECT_URI, registered with the initial access token.
async fn register_ok(app: &TestApp) -> Value {
    let a = register(
        app,
        Some(INITIAL_ACCESS_TOKEN),
        &json!({
            "client_name": "統合 RP",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Runs `node tests/rp-node/{script}` and returns its one JSON line, which must say ok.
async fn node(script: &str, env: &[(&str, &str)]) -> Value {
    let dir = sekisho_testkit::workspace_root().join("tests/rp-node");
    assert!(
        dir.join("node_modules/openid-client").exists(),
        "run scripts/test (it installs tests/rp-node's packages)"
    );
    let out = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("{script} printed no JSON: {stdout}\n{stderr}"));
    assert!(
        out.status.success() && v["ok"] == true,
        "{script} failed: {v}\n{stderr}"
    );
    v
}

// REQ-OP-6: an integrator registers its RP with openid-client's RFC 7591 helper (found through
// discovery's registration_endpoint, with the initial access token), and that client then walks
// the whole strict openid-client flow (code + PKCE, ID token, userinfo, refresh, introspection,
// revocation, logout). RFC 7592 read then returns the registration, without the secret.
#[tokio::test]
async fn openid_client_registers_dynamically_then_logs_in() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let meta: Value = http()
        .get(format!("{}/.well-known/openid-configuration", app.issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}/clients", app.issuer())
    );

    let issuer = app.issuer();
    let registered = node(
        "dcr.mjs",
        &[
            ("ISSUER", &issuer),
            ("INITIAL_ACCESS_TOKEN", INITIAL_ACCESS_TOKEN),
            ("REDIRECT_URI", REDIRECT_URI),
            ("POST_LOGOUT_REDIRECT_URI", POST_LOGOUT_URI),
        ],
    )
    .await;
    let client = &registered["client"];
    let client_id = s(client, "client_id");
    let secret = s(client, "client_secret");
    assert_eq!(secret.len(), 43, "a 256-bit secret");
    assert_eq!(client["client_secret_expires_at"], 0);
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(client["id_token_signed_response_alg"], "ES256");
    assert_eq!(client["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(client["response_types"], json!(["code"]));
    let config_uri = s(client, "registration_client_uri");
    assert_eq!(config_uri, format!("{}/clients/{client_id}", app.issuer()));
    let registration_token = s(client, "registration_access_token");

    let flow = node(
        "rp.mjs",
        &[
            ("ISSUER", &issuer),
            ("CLIENT_ID", client_id),
            ("CLIENT_SECRET", secret),
            ("REDIRECT_URI", REDIRECT_URI),
            ("POST_LOGOUT_REDIRECT_URI", POST_LOGOUT_URI),
            ("USER_EMAIL", EMAIL),
            ("USER_PASSWORD", PASSWORD),
            ("ID_TOKEN_ALG", s(client, "id_token_signed_response_alg")),
            // openid-client checks the tokens on the app's (fake) clock.
            ("NOW", &app.clock.now().to_string()),
        ],
    )
    .await;
    assert_eq!(flow["sub"], seed.user_id.as_str());
    assert_eq!(flow["id_token_claims"]["aud"], client_id);
    assert_eq!(flow["refreshed"], true);
    assert_eq!(flow["revoked_refresh_rejected"], true);
    assert!(flow["logout_redirect"]
        .as_str()
        .unwrap()
        .starts_with(POST_LOGOUT_URI));

    let read = send(http().get(config_uri), Some(registration_token)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["client_id"], client_id);
    assert_eq!(read.body["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(
        read.body["post_logout_redirect_uris"],
        json!([POST_LOGOUT_URI])
    );
    assert_eq!(read.body["registration_access_token"], registration_token);
    assert!(
        read.body.get("client_secret").is_none(),
        "the secret is shown once: {}",
        read.body
    );
}

// REQ-OP-6: no open registration: without the initial access token, with a wrong one, or with
// another kind of credential, the endpoint answers 401 with a Bearer challenge and registers
// nothing.
#[tokio::test]
async fn registration_needs_the_initial_access_token() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let metadata = json!({ "redirect_uris": [REDIRECT_URI] });

    let none = register(&app, None, &metadata).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(
        none.www_authenticate.as_deref(),
        Some("Bearer realm=\"sekisho\"")
    );

    for wrong in ["wrong-token", &INITIAL_ACCESS_TOKEN[1..]] {
        let a = register(&app, Some(wrong), &metadata).await;
        assert_eq!(a.status, 401, "{}", a.body);
        assert_eq!(error_code(&a.body), "invalid_token");
        let challenge = a.www_authenticate.unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
    }

    let basic = send(
        http()
            .post(format!("{}/clients", app.issuer()))
            .basic_auth("someone", Some(INITIAL_ACCESS_TOKEN))
            .json(&metadata),
        None,
    )
    .await;
    assert_eq!(basic.status, 401);

    let clients = app.op.store.list_clients("VX5").await.unwrap();
    assert_eq!(clients.len(), 1, "only the seed's client exists");
}

// REQ-OP-6: redirect URIs are checked at registration (https, or http on loopback; no fragment,
// no wildcard), answered with RFC 7591's invalid_redirect_uri; metadata Sekisho does not
// support is refused with invalid_client_metadata. Nothing is registered.
#[tokio::test]
async fn registration_refuses_bad_metadata() {
    let app = TestApp::spawn().await;
    app.seed().await;
    for uris in [
        json!(["http://rp.example/callback"]),
        json!(["https://rp.example/callback#top"]),
        json!(["https://*.rp.example/callback"]),
        json!(["/callback"]),
        json!(["javascript:alert(1)"]),
        json!([]),
    ] {
        let a = register(
            &app,
            Some(INITIAL_ACCESS_TOKEN),
            &json!({ "redirect_uris": uris }),
        )
        .await;
        assert_eq!(a.status, 400, "{uris}: {}", a.body);
        assert_eq!(error_code(&a.body), "invalid_redirect_uri", "{uris}");
        assert!(a.location.is_none());
    }
    for metadata in [
        json!({ "redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"] }),
        json!({ "redirect_uris": [REDIRECT_URI], "response_types": ["token"] }),
        json!({ "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_jwt" }),
        json!({ "redirect_uris": [REDIRECT_URI], "id_token_signed_response_alg": "none" }),
        // Issue 18: keys by URL are accepted, but not beside keys by value, nor over plain http.
        json!({ "redirect_uris": [REDIRECT_URI], "jwks_uri": "https://rp.example/jwks",
                "jwks": { "keys": [{ "kty": "EC", "crv": "P-256", "x": "x", "y": "y" }] } }),
        json!({ "redirect_uris": [REDIRECT_URI], "jwks_uri": "http://rp.example/jwks" }),
        json!({ "redirect_uris": [REDIRECT_URI], "sector_identifier_uri": "https://rp.example/s" }),
        json!({ "redirect_uris": [REDIRECT_URI], "scope": "openid storage.admin" }),
        json!({
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "client_credentials"],
        }),
        json!([REDIRECT_URI]),
    ] {
        let a = register(&app, Some(INITIAL_ACCESS_TOKEN), &metadata).await;
        assert_eq!(a.status, 400, "{metadata}: {}", a.body);
        assert_eq!(error_code(&a.body), "invalid_client_metadata", "{metadata}");
    }
    let clients = app.op.store.list_clients("VX5").await.unwrap();
    assert_eq!(clients.len(), 1, "only the seed's client exists");
}

// REQ-OP-6: RFC 7592 update. The new redirect URI takes effect at once: the old one gets the
// error page at /authorize (never a redirect), the new one completes a login, and the client
// keeps its secret and registration access token. Invalid updates change nothing.
#[tokio::test]
async fn rfc7592_update_moves_the_redirect_uri() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let reg = register_ok(&app).await;
    let (id, secret) = (s(&reg, "client_id"), s(&reg, "client_secret"));
    let (config_uri, token) = (
        s(&reg, "registration_client_uri"),
        s(&reg, "registration_access_token"),
    );
    // The client works (and is now in the OP's client cache).
    let browser = Browser::new();
    let c = code(&app, &browser, id).await;
    assert_eq!(redeem(&app, id, secret, &c, VERIFIER).await.0, 200);

    // An update with a bad redirect URI is refused and changes nothing.
    let mut bad = reg.clone();
    bad["redirect_uris"] = json!(["http://rp.example/callback"]);
    let a = send(http().put(config_uri).json(&bad), Some(token)).await;
    assert_eq!(a.status, 400);
    assert_eq!(error_code(&a.body), "invalid_redirect_uri");
    let mut other_id = reg.clone();
    other_id["client_id"] = json!("cli_someone_else");
    let a = send(http().put(config_uri).json(&other_id), Some(token)).await;
    assert_eq!(a.status, 400);
    assert_eq!(error_code(&a.body), "invalid_client_metadata");
    let mut chosen_secret = reg.clone();
    chosen_secret["client_secret"] = json!("a-secret-the-client-chose");
    let a = send(http().put(config_uri).json(&chosen_secret), Some(token)).await;
    assert_eq!(a.status, 400, "a client cannot choose its secret");
    assert_eq!(error_code(&a.body), "invalid_client_metadata");
    let read = send(http().get(config_uri), Some(token)).await;
    assert_eq!(read.body["redirect_uris"], json!([REDIRECT_URI]));

    // The update, sent as RFC 7592 §2.2 says: everything read, with the change (and the current
    // secret, which must match).
    let mut update = read.body.clone();
    update["redirect_uris"] = json!([NEW_REDIRECT_URI]);
    update["client_secret"] = json!(secret);
    let a = send(http().put(config_uri).json(&update), Some(token)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["redirect_uris"], json!([NEW_REDIRECT_URI]));
    assert_eq!(a.body["registration_access_token"], token, "not rotated");
    assert_eq!(a.body["client_id"], id);
    assert!(a.body.get("client_secret").is_none(), "the secret is kept");

    // The old redirect URI is refused at once: an error page, no redirect.
    let res = Browser::new()
        .get(&authorize_url(&app, id, &[]))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(res.text().await.unwrap().contains("redirect_uri"));

    // The new one completes a login, and the code is redeemed with the same secret.
    let enc = |u: &str| url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>();
    let url = authorize_url(&app, id, &[]).replace(&enc(REDIRECT_URI), &enc(NEW_REDIRECT_URI));
    let back = Browser::new()
        .login(&app.base, &url, EMAIL, PASSWORD)
        .await
        .unwrap();
    assert!(back.as_str().starts_with(NEW_REDIRECT_URI), "{back}");
    let new_code = sekisho_e2e::query(&back)["code"].clone();
    let (status, body) = post_basic(
        &app,
        "token",
        id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &new_code),
            ("redirect_uri", NEW_REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// REQ-OP-6: RFC 7592 delete: 204; the client is then unknown everywhere (configuration endpoint
// 401, /authorize error page, token endpoint invalid_client) and the tokens it had are revoked.
#[tokio::test]
async fn rfc7592_delete_ends_the_client_and_its_tokens() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let reg = register_ok(&app).await;
    let (id, secret) = (s(&reg, "client_id"), s(&reg, "client_secret"));
    let (config_uri, token) = (
        s(&reg, "registration_client_uri"),
        s(&reg, "registration_access_token"),
    );
    let tokens = crate::support::login_tokens(&app, id, secret).await;
    let access = s(&tokens, "access_token");
    let refresh = s(&tokens, "refresh_token");
    assert_eq!(userinfo_status(&app, access).await, 200);

    let a = send(http().delete(config_uri), Some(token)).await;
    assert_eq!(a.status, 204, "{}", a.body);

    let a = send(http().get(config_uri), Some(token)).await;
    assert_eq!(a.status, 401, "the client no longer exists: {}", a.body);
    assert_eq!(error_code(&a.body), "invalid_token");
    let res = Browser::new()
        .get(&authorize_url(&app, id, &[]))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    let (status, body) = post_basic(
        &app,
        "token",
        id,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body), "invalid_client");
    assert_eq!(
        userinfo_status(&app, access).await,
        401,
        "the client's grants are revoked"
    );
}

// REQ-OP-6: the configuration endpoint answers only the client's own registration access token:
// none, a wrong one, another client's, and any token for an operator-registered client get 401,
// and change nothing.
#[tokio::test]
async fn rfc7592_refuses_other_tokens() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let reg = register_ok(&app).await;
    let other = register_ok(&app).await;
    let (config_uri, token) = (
        s(&reg, "registration_client_uri"),
        s(&reg, "registration_access_token"),
    );
    let other_token = s(&other, "registration_access_token");
    for bad in [
        None,
        Some("wrong-token"),
        Some(other_token),
        Some(INITIAL_ACCESS_TOKEN),
    ] {
        for req in [
            http().get(config_uri),
            http().put(config_uri).json(&reg),
            http().delete(config_uri),
        ] {
            let a = send(req, bad).await;
            assert_eq!(a.status, 401, "{bad:?}: {}", a.body);
            assert!(a.www_authenticate.unwrap().starts_with("Bearer"));
        }
    }
    let operator_uri = format!("{}/clients/{}", app.issuer(), seed.client.client_id);
    let a = send(http().get(&operator_uri), Some(token)).await;
    assert_eq!(a.status, 401);
    let a = send(http().delete(&operator_uri), Some(token)).await;
    assert_eq!(a.status, 401);
    assert!(app
        .op
        .store
        .find_client(&seed.client.client_id)
        .await
        .unwrap()
        .is_some());
    let a = send(http().get(config_uri), Some(token)).await;
    assert_eq!(a.status, 200, "still registered: {}", a.body);
}

// ISSUE-15: operator CLI — an initial access token made by `sekisho initial-access-token create`
// (stored as its hash only) registers a client over RFC 7591, in its brand only, until revoked.
#[tokio::test]
async fn a_cli_made_initial_access_token_registers_until_revoked() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let made = sekisho::admin::create_initial_access_token(&app.op, Some("VX5"), "A", None)
        .await
        .unwrap();
    let token = made.token.expose().clone();
    let metadata = json!({ "client_name": "CLI token RP", "redirect_uris": [REDIRECT_URI] });
    let a = register(&app, Some(&token), &metadata).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(app
        .op
        .store
        .revoke_initial_access_token(&made.record.id, app.clock.now())
        .await
        .unwrap());
    let a = register(&app, Some(&token), &metadata).await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(error_code(&a.body), "invalid_token");
}
