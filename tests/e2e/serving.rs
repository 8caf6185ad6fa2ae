//! What the server answers around the routes (ISSUE-15): security headers (HSTS, the CSP's
//! `form-action` and the origins a page's forms may lead to), and the answer to unknown paths.

use crate::support::authorize_url;
use sekisho_e2e::{Browser, TestApp, POST_LOGOUT_URI};

/// GETs `url`, following the OP's redirects while they stay on `base`; the last response.
async fn page(browser: &Browser, base: &str, url: &str) -> reqwest::Response {
    let mut url = url.to_owned();
    for _ in 0..10 {
        let res = browser.get(&url).await.unwrap();
        let Some(next) = res.headers().get("location") else {
            return res;
        };
        let next = res.url().join(next.to_str().unwrap()).unwrap().to_string();
        assert!(next.starts_with(base), "left the OP for {next}");
        url = next;
    }
    panic!("too many redirects");
}

fn csp(res: &reqwest::Response) -> String {
    res.headers()
        .get("content-security-policy")
        .expect("a CSP")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `form-action` directive's sources, if any.
fn form_action(csp: &str) -> Option<Vec<String>> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("form-action "))
        .map(|s| s.split_whitespace().map(String::from).collect())
}

// ISSUE-15: CSP `form-action 'self'`. A page whose forms stay on the site allows only 'self'; the
// login page of an authorization request also allows the RP's origin, since its form's POST ends
// (through redirects, which Chromium checks against form-action) at the RP's redirect_uri; the
// whole login still reaches the RP. The logout confirmation allows its post_logout_redirect_uri.
#[tokio::test]
async fn form_action_is_self_plus_the_rp_a_form_leads_to() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let browser = Browser::new();

    let forgot = page(
        &browser,
        &app.base,
        &format!("{}/password/forgot", app.issuer()),
    )
    .await;
    assert_eq!(forgot.status(), 200);
    assert_eq!(form_action(&csp(&forgot)).unwrap(), ["'self'"]);

    let url = authorize_url(&app, &seed.client.client_id, &[]);
    let login = page(&browser, &app.base, &url).await;
    assert_eq!(login.status(), 200);
    assert_eq!(
        form_action(&csp(&login)).unwrap(),
        ["'self'", "http://127.0.0.1:9"]
    );
    let back = Browser::new()
        .login(&app.base, &url, sekisho_e2e::EMAIL, sekisho_e2e::PASSWORD)
        .await
        .unwrap();
    assert!(
        back.as_str().starts_with(sekisho_e2e::REDIRECT_URI),
        "{back}"
    );

    let mut logout = url::Url::parse(&format!("{}/logout", app.issuer())).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("client_id", &seed.client.client_id)
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI);
    let confirm = page(&browser, &app.base, logout.as_str()).await;
    assert_eq!(confirm.status(), 200);
    assert_eq!(
        form_action(&csp(&confirm)).unwrap(),
        ["'self'", "http://127.0.0.1:9"]
    );
}

// ISSUE-15: HSTS when the public URL is https, for one year without includeSubDomains; none over
// plain http (a browser ignores it there, and a development server must stay reachable).
#[tokio::test]
async fn hsts_only_when_the_public_url_is_https() {
    let app = TestApp::spawn().await;
    let discovery = format!("{}/.well-known/openid-configuration", app.issuer());
    let plain = Browser::new().get(&discovery).await.unwrap();
    assert!(plain.headers().get("strict-transport-security").is_none());

    // The same application as a deployment whose public URL is https serves it (TLS itself is
    // the listener's affair, tested in crates/sekisho/tests/serving.rs).
    let mut state = sekisho_web::AppState::new(app.services.clone(), None);
    state.secure_cookies = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, stopping) = sekisho::serving::stop_signal();
    tokio::spawn(sekisho::serving::serve(
        "https",
        listener,
        sekisho::serving::Tls::Plain,
        sekisho_web::router(state),
        sekisho::config::Config::default().limits(),
        stopping,
    ));
    let path = discovery.trim_start_matches(&app.base);
    for url in [
        format!("http://{addr}{path}"),
        format!("http://{addr}/nowhere"),
    ] {
        let res = Browser::new().get(&url).await.unwrap();
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{url}"
        );
    }
}

// ISSUE-15: unknown paths. A browser gets the "not found" page in its language; an API caller
// (Accept: application/json, or any path under /{brand}/api/) gets a JSON error; both 404, with
// the security headers.
#[tokio::test]
async fn unknown_paths_get_a_page_or_json_404() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let nowhere = format!("{}/no/such/page", app.base);

    let ja = http
        .get(&nowhere)
        .header("accept", "text/html")
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    assert_eq!(ja.status(), 404);
    assert!(ja.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(ja.headers().get("content-security-policy").is_some());
    assert!(ja.text().await.unwrap().contains("ページが見つかりません"));

    let en = http
        .get(&nowhere)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(en.status(), 404);
    assert!(en.text().await.unwrap().contains("Page not found"));

    for (url, accept) in [
        (nowhere.clone(), "application/json"),
        (format!("{}/api/v1/no-such-thing", app.issuer()), "*/*"),
    ] {
        let res = http
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{url}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{url}: {body}");
    }
}
