//! Issue 15, bad input: the admin API's OpenAPI description states what the server really
//! accepts. Schemathesis (a real, independent OpenAPI fuzzer) generates requests from the
//! description, valid and invalid, and checks every answer: valid data is accepted, invalid data
//! refused with a 4xx, answers match their documented status, headers and schemas, and nothing is
//! a 5xx. A malformed body's answer names no Rust type.

use crate::admin_api::{add_user, client_token, service_client, ADMIN};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor};
use sekisho_core::model::Role;
use sekisho_e2e::{Hop, TestApp, BRAND};
use serde_json::Value;

/// One token for every operation: a client bound to the seed contract (`sekisho:admin`) that is
/// also an operator (`sekisho:operator`).
async fn token_for_all(app: &TestApp) -> (String, String) {
    let seed = app.seed().await;
    let scopes = format!("{ADMIN} sekisho:operator");
    let (id, secret) = service_client(app, &scopes, Some(&seed.contract_id)).await;
    (client_token(app, &id, &secret).await, seed.contract_id)
}

/// A schemathesis configuration that gives `{user_id}` a real, registered user of the seed
/// contract, so that the user operations' bodies reach their rules instead of a 404, and
/// createClient's `contract_id` the seed contract, in its brand (`{code}`): which contracts exist
/// is data, not something a schema can state, and an unknown one, or one of another brand, is a
/// 400 (tests/e2e/admin_api.rs asserts it).
fn config(dir: &std::path::Path, user_id: &str, contract_id: &str) -> std::path::PathBuf {
    let path = dir.join("schemathesis.toml");
    let text = format!(
        "[parameters]\n\"path.user_id\" = \"{user_id}\"\n\"body.contract_id\" = \"{contract_id}\"\n\
         \"path.code\" = \"{BRAND}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

// ISSUE-15: OpenAPI constraints. `schemathesis run --checks all` finds no mismatch between the
// description and the server (REQ-OP-6: the admin API is described by OpenAPI 3).
#[tokio::test]
async fn schemathesis_finds_no_mismatch_with_the_description() {
    let app = TestApp::spawn().await;
    let (token, contract) = token_for_all(&app).await;
    let user = add_user(&app, &contract, "fuzzed@example.jp", Role::User).await;
    let schema = format!("{}/api/v1/openapi.json", app.issuer());
    let workdir = sekisho_testkit::target_dir().join("schemathesis");
    std::fs::create_dir_all(&workdir).unwrap();
    let config = config(&workdir, &user, &contract);
    // The server runs in this process, on this test's runtime: the fuzzer runs as a child process
    // awaited asynchronously, so the server keeps answering it.
    let out = tokio::process::Command::new("python3")
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", &schema])
        .args(["--checks", "all"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Reproducible and bounded: a fixed seed, a fixed number of cases per operation, one
        // worker (2 cores are shared with the server), no example database left behind. No
        // `--max-time`: with it, fuzzing repeats until the time is spent.
        .args(["--seed", "15", "--max-examples", "100", "--workers", "1"])
        // Not the stateful phase: it follows listClients to deleteClient and deletes the very
        // client whose token the run uses, after which every answer is a 401 and nothing more
        // is tested. The other phases cover every operation's inputs and answers.
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "10"])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(&workdir)
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("python3 runs (scripts/test installs schemathesis from tests/requirements.txt)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The whole report stays on disk for reading after the run.
    std::fs::write(workdir.join("output.txt"), format!("{stdout}\n{stderr}")).unwrap();
    assert!(
        !stderr.contains("No module named"),
        "run scripts/test (it installs tests/requirements.txt): {stderr}"
    );
    assert!(
        out.status.success(),
        "schemathesis found mismatches ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Words that would show a Rust type or serde's wording in an answer.
const RUST_WORDS: [&str; 8] = [
    "struct",
    "enum",
    "::",
    "InviteRequest",
    "NewClientRequest",
    "NewBrandRequest",
    "variant",
    "Option<",
];

// ISSUE-15: OpenAPI constraints. A malformed body gets the API's JSON error naming the field and
// what was expected, never a Rust type.
#[tokio::test]
async fn malformed_bodies_are_described_without_rust_types() {
    let app = TestApp::spawn().await;
    let (token, _) = token_for_all(&app).await;
    let http = reqwest::Client::new();
    let cases: [(&str, &str, &str); 7] = [
        ("users", r#"{"email": 5, "role": "user"}"#, "email"),
        (
            "users",
            r#"{"email": "a@example.jp", "role": "king"}"#,
            "role",
        ),
        ("users", r#"{"email": "a@example.jp"}"#, "role"),
        (
            "users",
            r#"{"email": "a@example.jp", "role": "user", "x": 1}"#,
            "x",
        ),
        ("users", r#""a string""#, "expected an object"),
        ("users", "{", "JSON"),
        (
            "brands/{BRAND}/clients",
            r#"{"client_name": "c", "grant_types": ["magic"]}"#,
            "grant_types",
        ),
    ];
    for (path, body, mentions) in cases {
        let res = http
            .post(format!(
                "{}/api/v1/{}",
                app.issuer(),
                path.replace("{BRAND}", BRAND)
            ))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["error"], "invalid_request", "{body}: {answer}");
        let text = answer["error_description"].as_str().unwrap();
        assert!(text.contains(mentions), "{body}: {text}");
        for word in RUST_WORDS {
            assert!(!text.contains(word), "{body}: {text} names {word}");
        }
    }
}

// ISSUE-15: OpenAPI constraints (names are bounded). One rule on both doors: a 201-character name
// is refused by the admin API (400 `invalid_name`) and by the console's invitation (400, with the
// message in Japanese), and nothing is created; 200 characters of Japanese are accepted.
#[tokio::test]
async fn names_longer_than_200_characters_are_refused_on_every_door() {
    let app = TestApp::spawn().await;
    let (token, contract) = token_for_all(&app).await;
    let count = || async { app.op.store.list_users(&contract).await.unwrap().len() };
    let before = count().await;
    let invite = |email: &'static str, name: String| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/users", app.issuer()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "email": email, "name": name, "role": "user" }))
            .send()
    };
    let res = invite("long@example.jp", "あ".repeat(201)).await.unwrap();
    assert_eq!(res.status(), 400);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["error"], "invalid_name", "{answer}");
    let res = invite("ctl@example.jp", "a\nBcc: x@example.jp".into())
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(count().await, before, "nothing created");

    let console = contractor(&app).await;
    let (_, users) = page(get(&app, &console, "admin").await);
    let long = "あ".repeat(201);
    let hop = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/invite"),
            &fields(
                &users,
                &[
                    ("email", "long@example.jp"),
                    ("name", &long),
                    ("role", "user"),
                ],
            ),
        )
        .await
        .unwrap();
    match hop {
        Hop::Page { status, body, .. } => {
            assert_eq!(status.as_u16(), 400, "{}", excerpt(&body));
            assert!(body.contains("氏名は200文字以内"), "{}", excerpt(&body));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count().await, before, "nothing created");

    let res = invite("ok@example.jp", "あ".repeat(200)).await.unwrap();
    assert_eq!(res.status(), 201);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["name"].as_str().unwrap().chars().count(), 200);
}
