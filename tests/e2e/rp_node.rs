//! The OpenID-certified `openid-client` (npm, panva) in strict mode walks the whole flow against
//! Sekisho: a second, independent relying party (tests/rp-node/rp.mjs).

use sekisho_core::oauth::SigningAlg;
use sekisho_core::Clock;
use sekisho_e2e::{TestApp, EMAIL, PASSWORD, POST_LOGOUT_URI, REDIRECT_URI};
use serde_json::Value;

async fn run_node_rp(alg: SigningAlg) -> Value {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let client = app.client(|c| c.id_token_alg = alg).await;
    let v = node_rp(&app, &client, alg, &[]).await;
    assert_eq!(v["sub"], seed.user_id.as_str());
    v
}

/// Runs rp.mjs for `client` with `env` added (PAR, DPOP); its JSON line, which must say ok.
async fn node_rp(
    app: &TestApp,
    client: &sekisho_e2e::RegisteredClient,
    alg: SigningAlg,
    env: &[(&str, &str)],
) -> Value {
    let dir = sekisho_testkit::workspace_root().join("tests/rp-node");
    assert!(
        dir.join("node_modules/openid-client").exists(),
        "run scripts/test (it installs tests/rp-node's packages)"
    );
    let out = tokio::process::Command::new("node")
        .arg("rp.mjs")
        .current_dir(&dir)
        .env("ISSUER", app.issuer())
        .env("CLIENT_ID", &client.client_id)
        .env(
            "CLIENT_SECRET",
            client.client_secret.as_deref().unwrap_or(""),
        )
        .envs(env.iter().copied())
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("POST_LOGOUT_REDIRECT_URI", POST_LOGOUT_URI)
        .env("USER_EMAIL", EMAIL)
        .env("USER_PASSWORD", PASSWORD)
        .env("ID_TOKEN_ALG", alg.as_str())
        // openid-client checks the tokens on the app's (fake) clock.
        .env("NOW", app.clock.now().to_string())
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "rp.mjs printed no JSON: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success() && v["ok"] == true,
        "openid-client failed: {v}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

// REQ-OP-1 REQ-OP-2 REQ-OP-3 REQ-OP-4 REQ-OP-5: a strict certified RP accepts Sekisho's flow.
#[tokio::test]
async fn openid_client_strict_full_flow() {
    let v = run_node_rp(SigningAlg::Es256).await;
    assert_eq!(v["email"], EMAIL);
    assert_eq!(v["refreshed"], true);
    assert_eq!(v["introspection_active"], true);
    assert_eq!(v["revoked_refresh_rejected"], true);
    assert_eq!(v["at_hash_verified"], true);
    assert!(v["logout_redirect"]
        .as_str()
        .unwrap()
        .starts_with(POST_LOGOUT_URI));
    assert_eq!(v["userinfo"]["email"], EMAIL);
}

// REQ-OP-4: the same with an RS256 client.
#[tokio::test]
async fn openid_client_strict_full_flow_rs256() {
    run_node_rp(SigningAlg::Rs256).await;
}

/// A 401 of userinfo whose DPoP challenge names `error`.
fn refused_with(v: &Value, error: &str) {
    assert_eq!(v["status"], 401, "{v}");
    let challenge = v["challenge"].as_str().unwrap();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains(&format!("error=\"{error}\"")),
        "{v}"
    );
}

// ISSUE-18 (RFC 9126, RFC 9449 §5, §7, §8): openid-client pushes its request, binds its tokens
// to a DPoP key and answers the server's nonce; the thefts it then tries are refused: a replayed
// proof, the bound token as a bearer token or with another key's proof, and (a public client) a
// refresh with another key, which leaves the refresh token to its owner.
#[tokio::test]
async fn openid_client_pushes_and_binds_with_dpop_and_nonces() {
    let app = TestApp::spawn_configured(&sekisho_testkit::fresh_sqlite_url().unwrap(), |c| {
        c.dpop_require_nonce = true
    })
    .await;
    app.seed().await;
    let public = app
        .client(|c| {
            c.public = true;
            c.requires.dpop_bound_access_tokens = true;
            c.requires.require_pushed_authorization_requests = true;
        })
        .await;
    let v = node_rp(
        &app,
        &public,
        SigningAlg::Es256,
        &[("PAR", "1"), ("DPOP", "1")],
    )
    .await;
    assert_eq!(v["par"], true);
    assert_eq!(v["token_type"], "dpop");
    // PAR, then the code exchange's and userinfo's first proofs, at least, met use_dpop_nonce.
    assert!(v["nonce_rounds"].as_u64().unwrap() >= 1, "{v}");
    refused_with(&v["thefts"]["replayed_proof"], "invalid_dpop_proof");
    refused_with(&v["thefts"]["as_bearer"], "invalid_token");
    assert_eq!(v["thefts"]["another_key_refused"], true, "{v}");
    assert_eq!(v["wrong_key_refresh_refused"], true, "{v}");
    assert_eq!(v["revoked_refresh_rejected"], true);
}

// ISSUE-18 (RFC 9449 §6.2): a confidential client's DPoP-bound token introspects as DPoP with
// the key's thumbprint in cnf; no nonce asked, none given.
#[tokio::test]
async fn openid_client_dpop_tokens_introspect_as_bound() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let v = node_rp(&app, &seed.client, SigningAlg::Es256, &[("DPOP", "1")]).await;
    assert_eq!(v["token_type"], "dpop");
    assert_eq!(v["nonce_rounds"], 0);
    assert_eq!(v["introspection_token_type"], "DPoP", "{v}");
    assert_eq!(
        v["introspection_cnf"]["jkt"].as_str().map(str::len),
        Some(43),
        "{v}"
    );
    refused_with(&v["thefts"]["replayed_proof"], "invalid_dpop_proof");
}

// ISSUE-18 (RFC 8628): openid-client as a command-line client of the device grant: it asks for
// the codes, polls as it does (waiting the interval), and gets validated tokens once the user
// approved on the verification page and logged in (here while it waits).
#[tokio::test]
async fn openid_client_device_grant() {
    use sekisho_core::oauth::GrantType;
    use tokio::io::AsyncBufReadExt;
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let cli = app
        .client(|c| {
            c.public = true;
            c.name = "OTクラウド・ストレージ CLI".into();
            c.redirect_uris.clear();
            c.post_logout_redirect_uris.clear();
            c.grant_types = vec![GrantType::DeviceCode, GrantType::RefreshToken];
        })
        .await;
    let dir = sekisho_testkit::workspace_root().join("tests/rp-node");
    let mut child = tokio::process::Command::new("node")
        .arg("device.mjs")
        .current_dir(&dir)
        .env("ISSUER", app.issuer())
        .env("CLIENT_ID", &cli.client_id)
        .env("NOW", app.clock.now().to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value =
        serde_json::from_str(&lines.next_line().await.unwrap().expect("codes")).unwrap();
    let complete = first["verification_uri_complete"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"));
    crate::device_grant::approve_and_log_in(&app, &sekisho_e2e::Browser::new(), complete).await;
    // A poll that came before the approval counts on the server's clock: move it past any
    // interval, well within the code's 10 minutes.
    app.clock.advance(60);
    let last: Value =
        serde_json::from_str(&lines.next_line().await.unwrap().expect("result")).unwrap();
    assert!(child.wait().await.unwrap().success(), "{last}");
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["sub"], seed.user_id.as_str());
    assert_eq!(last["email"], EMAIL);
    assert_eq!(last["has_refresh_token"], true);
}
