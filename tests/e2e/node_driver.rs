//! The Node drivers of Debian's headless Chromium (`tests/browser/*.mjs`, playwright-core) and
//! their line protocol: the script prints one line per milestone (`WORD rest`), reads what the
//! test hands it on stdin, and ends with one JSON report (`{"ok":true,…}`, or `{"ok":false,…}`
//! at any point). Shared by the browser tests, with the checks of a callback they all make.

use crate::support::{redeem, VERIFIER};
use base64::Engine;
use sekisho_e2e::{query, Seed, TestApp, REDIRECT_URI};
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use url::Url;

/// The longest a test waits for any one message from a driver (Chromium's start, and a whole
/// upstream binding, included).
const WAIT: Duration = Duration::from_secs(90);

pub struct Driver {
    script: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Driver {
    /// Starts `node tests/browser/{script}` with these environment variables.
    pub fn start(script: &str, env: &[(&str, String)]) -> Self {
        let dir = sekisho_testkit::workspace_root().join("tests/browser");
        assert!(
            dir.join("node_modules/playwright-core").exists(),
            "tests/browser/node_modules is missing: run scripts/test (it installs tests/browser's \
             packages and Debian's chromium and fonts-noto-cjk)"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .current_dir(&dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            script: script.to_owned(),
            child,
            stdin,
            lines,
        }
    }

    /// The next line; panics with a clear message on silence, exit, or an early failure report.
    pub async fn next_line(&mut self, expected: &str) -> String {
        let script = &self.script;
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{script} printed no {expected} within {WAIT:?}"))
            .expect("read the driver's stdout")
            .unwrap_or_else(|| panic!("{script} exited before printing {expected}"));
        if line.starts_with('{') && expected != "final JSON" {
            panic!("{script} failed before {expected}: {line}");
        }
        line
    }

    /// The rest of the next line, which must be `{tag} rest`.
    pub async fn tagged(&mut self, tag: &str) -> String {
        let line = self.next_line(tag).await;
        line.strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix(' '))
            .unwrap_or_else(|| panic!("expected {tag} from {}, got: {line}", self.script))
            .to_owned()
    }

    /// Hands the driver one line on stdin.
    pub async fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the driver");
        self.stdin.flush().await.expect("flush");
    }

    /// The final report, which must say `ok`; the driver must then exit successfully.
    pub async fn finish(mut self) -> Value {
        let last = self.next_line("final JSON").await;
        let report: Value = serde_json::from_str(&last)
            .unwrap_or_else(|_| panic!("{} printed no JSON: {last}", self.script));
        assert_eq!(report["ok"], true, "the browser walk failed: {report}");
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("node exits after its report")
            .expect("node's status");
        assert!(status.success(), "node exited with {status}");
        report
    }
}

/// The claims of a JWT, read without verification (the token came straight from the token
/// endpoint; signatures have their own tests).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Checks a callback the browser reached (the RP's redirect URI with a code, state `st` and
/// `iss`), redeems its code and returns the ID token's claims.
pub async fn redeem_callback(app: &TestApp, seed: &Seed, callback: &str) -> Value {
    let callback = Url::parse(callback).expect("a URL");
    assert!(
        callback.as_str().starts_with(REDIRECT_URI),
        "back at the RP: {callback}"
    );
    let q = query(&callback);
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{callback}");
    assert_eq!(q.get("iss"), Some(&app.issuer()), "{callback}");
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code in {callback}"));
    let (status, tokens) = redeem(
        app,
        &seed.client.client_id,
        seed.client.client_secret.as_deref().expect("secret"),
        code,
        VERIFIER,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    claims(tokens["id_token"].as_str().expect("an ID token"))
}
