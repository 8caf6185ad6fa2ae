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
        .env("CLIENT_SECRET", client.client_secret.as_deref().unwrap())
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
    assert_eq!(v["sub"], seed.user_id.as_str());
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
