//! Abuse (issue 15): rate limits per client and per account, the client address behind trusted
//! proxies only, the mail cap per address per hour, and the lock's semantics under throttling.
//! Every limit takes its time from the server's `Clock`: the tests move it, never sleep.

use crate::support::authorize_url;
use crate::two_factor::{enrol_totp, fields, page};
use sekisho::admin;
use sekisho_core::model::Role;
use sekisho_e2e::{hidden_inputs, query, Browser, Hop, Limits, TestApp, BRAND, EMAIL, PASSWORD};
use sekisho_web::rate_limit::{Rate, RateLimits};
use std::net::IpAddr;

const FAILED: &str = "メールアドレスまたはパスワードが正しくありません。";
const LOCKED: &str = "ログインを複数回連続して試行したため、アカウントがブロックされました。";
const RETRY_LATER: &str = "しばらく時間をおいてから、もう一度お試しください。";
const WRONG: &str = "wrong-Password-1";

/// A browser whose connections come from `ip` (any 127.0.0.0/8 address reaches the loopback
/// server): the server sees another client.
fn browser_from(ip: &str) -> Browser {
    let ip: IpAddr = ip.parse().unwrap();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip)
        .build()
        .unwrap();
    Browser { http }
}

/// Limits with only `edit` applied to "everything off", so a test sees one limit at a time.
fn only(edit: impl FnOnce(&mut RateLimits)) -> Limits {
    let mut rate_limits = RateLimits::off();
    edit(&mut rate_limits);
    Limits {
        rate_limits,
        ..Limits::default()
    }
}

/// The direct login page's form fields (session cookie and CSRF token) for `browser`.
async fn login_form(app: &TestApp, browser: &Browser) -> Vec<(String, String)> {
    let res = browser
        .get(&format!("{}/{BRAND}/login", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    hidden_inputs(&res.text().await.unwrap())
}

/// One login POST; the status, `Retry-After` and body.
async fn post_login(
    app: &TestApp,
    browser: &Browser,
    form: &[(String, String)],
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<u64>, String) {
    let mut fields = form.to_vec();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    let mut req = browser
        .http
        .post(format!("{}/{BRAND}/login", app.base))
        .form(&fields);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (status, retry, res.text().await.unwrap())
}

async fn locked(app: &TestApp, email: &str) -> (bool, i64) {
    let user = app
        .op
        .store
        .find_user_by_email(BRAND, &sekisho_core::email::Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    (user.locked_at.is_some(), user.failed_logins)
}

// ISSUE-15: credential stuffing. One client guessing across many accounts is throttled (429 with
// Retry-After and the retry-later page) before it locks them all; the throttled guesses are not
// failures (REQ-LOCK-1 unchanged), the accounts not reached stay unlocked, another client is
// unaffected, and after Retry-After (on the server's clock) the client may try again.
#[tokio::test]
async fn credential_stuffing_is_throttled_before_it_locks_every_account() {
    let app = TestApp::spawn_with_limits(only(|l| l.login_per_ip = Rate::per_minute(25))).await;
    let seed = app.seed().await;
    let accounts = members(&app, &seed, 5).await;
    let attacker = browser_from("127.0.0.1");
    let form = login_form(&app, &attacker).await;
    let mut answers = Vec::new();
    for email in &accounts {
        for _ in 0..10 {
            answers.push(post_login(&app, &attacker, &form, email, WRONG, None).await);
        }
    }
    for (i, (status, _, body)) in answers.iter().enumerate() {
        if i < 25 {
            assert_eq!(*status, 200, "guess {i} is answered");
            assert!(body.contains(FAILED) || body.contains(LOCKED), "guess {i}");
        } else {
            assert_eq!(*status, 429, "guess {i} is throttled");
            assert!(
                body.contains(RETRY_LATER),
                "guess {i}: the retry-later page"
            );
            assert!(!body.contains(FAILED) && !body.contains(LOCKED));
        }
    }
    let retry_after = answers[25].1.expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // The first two accounts took ten failures each; the third only the five before the limit.
    assert_eq!(locked(&app, &accounts[0]).await, (true, 10));
    assert_eq!(locked(&app, &accounts[1]).await, (true, 10));
    assert_eq!(
        locked(&app, &accounts[2]).await,
        (false, 5),
        "throttled guesses are no failures"
    );
    assert_eq!(locked(&app, &accounts[3]).await, (false, 0));
    assert_eq!(locked(&app, &accounts[4]).await, (false, 0));

    // Another client logs in to an account the attacker did not reach.
    let user = browser_from("127.0.0.2");
    let back = user
        .login(
            &app.base,
            &authorize_url(&app, &seed.client.client_id, &[]),
            &accounts[3],
            PASSWORD,
        )
        .await
        .unwrap();
    assert!(query(&back).contains_key("code"), "{back}");

    // Once Retry-After has passed on the server's clock, the attacker's next guess is answered
    // (and counted) again.
    assert_eq!(
        post_login(&app, &attacker, &form, &accounts[2], WRONG, None)
            .await
            .0,
        429
    );
    app.clock.advance(i64::try_from(retry_after).unwrap());
    let (status, _, body) = post_login(&app, &attacker, &form, &accounts[2], WRONG, None).await;
    assert_eq!(status, 200);
    assert!(body.contains(FAILED));
    assert_eq!(locked(&app, &accounts[2]).await, (false, 6));
}

// ISSUE-15: the limit per account holds whichever clients the guesses come from, and is not the
// lock: a throttled guess changes no counter.
#[tokio::test]
async fn guesses_at_one_account_from_many_clients_are_throttled_per_account() {
    let app = TestApp::spawn_with_limits(only(|l| l.login_per_account = Rate::per_hour(4))).await;
    app.seed().await;
    let mut statuses = Vec::new();
    for i in 1..=6 {
        let b = browser_from(&format!("127.0.1.{i}"));
        let form = login_form(&app, &b).await;
        statuses.push(post_login(&app, &b, &form, EMAIL, WRONG, None).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    assert_eq!(locked(&app, EMAIL).await, (false, 4));
    // Another account is not affected, and the address is the same whatever its case.
    let b = browser_from("127.0.1.9");
    let form = login_form(&app, &b).await;
    let upper = EMAIL.to_uppercase();
    assert_eq!(
        post_login(&app, &b, &form, &upper, WRONG, None).await.0,
        429
    );
    assert_eq!(
        post_login(&app, &b, &form, "someone@example.jp", WRONG, None)
            .await
            .0,
        200
    );
}

// ISSUE-15: X-Forwarded-For is believed only from a configured trusted proxy: through the proxy
// each forwarded client has its own limit; from an untrusted peer the header is ignored, so
// changing it cannot evade the limit.
#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let mut limits = only(|l| l.login_per_ip = Rate::per_minute(3));
    limits.trusted_proxies = vec!["127.0.0.3/32".into()];
    let app = TestApp::spawn_with_limits(limits).await;
    app.seed().await;
    let proxy = browser_from("127.0.0.3");
    let form = login_form(&app, &proxy).await;
    let mut n = 0;
    let mut guess = |xff: &'static str| {
        n += 1;
        let (app, proxy, form) = (&app, &proxy, &form);
        async move {
            let email = format!("nobody{n}@example.jp");
            post_login(app, proxy, form, &email, WRONG, Some(xff))
                .await
                .0
        }
    };
    let mut through_proxy = Vec::new();
    for xff in ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.1"] {
        through_proxy.push(guess(xff).await);
    }
    assert_eq!(through_proxy, [200, 200, 200, 429]);
    // The client the proxy names is the right-most address that is not the proxy's own.
    assert_eq!(guess("198.51.100.7, 203.0.113.2").await, 200);
    assert_eq!(guess("203.0.113.2, 127.0.0.3").await, 200);
    assert_eq!(guess("10.9.9.9, 203.0.113.1").await, 429);

    let direct = browser_from("127.0.0.4");
    let form = login_form(&app, &direct).await;
    let mut from_untrusted = Vec::new();
    for (i, xff) in [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ]
    .iter()
    .enumerate()
    {
        let email = format!("other{i}@example.jp");
        from_untrusted.push(
            post_login(&app, &direct, &form, &email, WRONG, Some(xff))
                .await
                .0,
        );
    }
    assert_eq!(from_untrusted, [200, 200, 200, 429, 429]);
}

/// A token request (a code that does not exist) from `ip` as `client_id`.
async fn token_request(
    app: &TestApp,
    ip: &str,
    client_id: &str,
) -> (u16, Option<String>, Option<String>, serde_json::Value) {
    let res = browser_from(ip)
        .http
        .post(format!("{}/{BRAND}/token", app.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "not-a-code"),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (retry, cache) = (header("retry-after"), header("cache-control"));
    let status = res.status().as_u16();
    (status, retry, cache, res.json().await.unwrap())
}

// ISSUE-15: the token endpoint answers 429 with the OAuth JSON error `slow_down` and
// Retry-After, per client address and per client_id.
#[tokio::test]
async fn token_endpoint_throttles_with_slow_down() {
    let app = TestApp::spawn_with_limits(only(|l| {
        l.token_per_ip = Rate::per_minute(3);
        l.token_per_account = Rate::per_minute(2);
    }))
    .await;
    let seed = app.seed().await;
    let client = seed.client.client_id.as_str();
    // Per client_id: two, whichever address.
    assert_eq!(token_request(&app, "127.0.2.1", client).await.0, 401);
    assert_eq!(token_request(&app, "127.0.2.2", client).await.0, 401);
    let (status, retry, cache, body) = token_request(&app, "127.0.2.3", client).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "slow_down", "{body}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(cache.unwrap(), "no-store");
    // Per address: three, whichever client_id.
    for id in ["a", "b"] {
        assert_ne!(token_request(&app, "127.0.2.4", id).await.0, 429);
    }
    assert_ne!(token_request(&app, "127.0.2.4", "c").await.0, 429);
    assert_eq!(token_request(&app, "127.0.2.4", "d").await.0, 429);
}

// ISSUE-15 (2FA) and REQ-LOCK-1: wrong second-factor codes from one client are throttled; the
// throttled ones are neither counted towards the lock nor towards the step's attempts.
#[tokio::test]
async fn second_factor_guesses_are_throttled_and_not_counted() {
    let app = TestApp::spawn_with_limits(only(|l| l.two_factor_per_ip = Rate::per_minute(5))).await;
    let seed = app.seed_two_factor().await;
    let browser = Browser::new();
    let url = authorize_url(&app, &seed.client.client_id, &[]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let (_, setup) = page(
        browser
            .submit_login(&app.base, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    // Enrolment takes two of the five (method, code).
    let (_, _, done) = enrol_totp(&app, &browser, &setup, false).await;
    assert!(matches!(done, Hop::LeftOp(_)), "{done:?}");

    let later = Browser::new();
    let (_, login) = page(later.follow(&app.base, &url).await.unwrap());
    let (_, code_page) = page(
        later
            .submit_login(&app.base, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    let path = format!("/{BRAND}/2fa/code");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = later
            .http
            .post(format!("{}{path}", app.base))
            .form(&fields(&code_page, &[("code", "000000")]))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(
        locked(&app, EMAIL).await,
        (false, 3),
        "three failures counted, not five"
    );
}

/// A forgot-password POST for `email` from `browser` (after its form page); the status and body.
async fn forgot(
    app: &TestApp,
    browser: &Browser,
    csrf: &[(String, String)],
    email: &str,
) -> (u16, String) {
    let mut fields = csrf.to_vec();
    fields.push(("email".into(), email.into()));
    let res = browser
        .http
        .post(format!("{}/{BRAND}/password/forgot", app.base))
        .form(&fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn forgot_form(app: &TestApp, browser: &Browser) -> Vec<(String, String)> {
    let res = browser
        .get(&format!("{}/{BRAND}/password/forgot", app.base))
        .await
        .unwrap();
    hidden_inputs(&res.text().await.unwrap())
}

/// Fifty password users (the contractor and 49 more); their addresses.
async fn fifty_users(app: &TestApp) -> Vec<String> {
    let seed = app.seed().await;
    members(app, &seed, 50).await
}

/// The seed user and `count - 1` more users of its contract, all with [`PASSWORD`]: their
/// addresses, the seed's first.
async fn members(app: &TestApp, seed: &sekisho_e2e::Seed, count: usize) -> Vec<String> {
    let mut emails = vec![EMAIL.to_owned()];
    for i in 1..count {
        let email = format!("member{i:02}@example.jp");
        admin::add_user(
            &app.op,
            &seed.contract_id,
            &email,
            PASSWORD,
            Role::User,
            "利用者",
        )
        .await
        .unwrap();
        emails.push(email);
    }
    emails
}

// ISSUE-15: mail bombing. 200 forgot-password requests for 50 addresses queue at most the cap
// per address and hour; every answer is the same page (nothing tells whether a mail went, or
// whether the address is registered); the next hour the address gets mail again.
#[tokio::test]
async fn forgot_password_mail_is_capped_per_address_per_hour() {
    let mut limits = only(|_| {});
    limits.mail_per_address_per_hour = 3;
    let app = TestApp::spawn_with_limits(limits).await;
    let emails = fifty_users(&app).await;
    let browser = Browser::new();
    let csrf = forgot_form(&app, &browser).await;
    let (_, first) = forgot(&app, &browser, &csrf, &emails[0]).await;
    assert!(first.contains("メールを送信しました"), "{first}");
    for i in 1..200 {
        let (status, body) = forgot(&app, &browser, &csrf, &emails[i % 50]).await;
        assert_eq!((status, &body), (200, &first), "request {i}");
    }
    let (status, body) = forgot(&app, &browser, &csrf, "unknown@example.jp").await;
    assert_eq!((status, &body), (200, &first));
    app.services.settled().await;
    let mails = app.op.store.list_mail(1000).await.unwrap();
    assert_eq!(mails.len(), 150, "three per address, not four");
    for email in &emails {
        assert_eq!(
            mails.iter().filter(|m| &m.to == email).count(),
            3,
            "{email}"
        );
    }
    app.clock.advance(3600);
    // An hour later the anonymous session has expired (issue 15, stored state): a fresh form.
    let csrf = forgot_form(&app, &browser).await;
    forgot(&app, &browser, &csrf, &emails[7]).await;
    app.services.settled().await;
    assert_eq!(app.op.store.list_mail(1000).await.unwrap().len(), 151);
}

// ISSUE-15: with the default settings, the issue's 200 forgot-password requests from one client
// for 50 addresses do not queue 200 mails: the client is throttled (429, the retry-later page)
// and each address is capped.
#[tokio::test]
async fn default_settings_stop_the_issues_mail_bombing() {
    let app = TestApp::spawn().await;
    let emails = fifty_users(&app).await;
    let browser = Browser::new();
    let csrf = forgot_form(&app, &browser).await;
    let mut throttled = 0;
    for i in 0..200 {
        let (status, body) = forgot(&app, &browser, &csrf, &emails[i % 50]).await;
        if status == 429 {
            assert!(body.contains(RETRY_LATER));
            throttled += 1;
        }
    }
    app.services.settled().await;
    let queued = app.op.store.list_mail(1000).await.unwrap().len();
    assert!(
        throttled > 0 && queued < 100,
        "{throttled} throttled, {queued} queued"
    );
}

/// The median of `samples` in microseconds.
fn median(mut samples: Vec<u128>) -> u128 {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// How long `request` takes to be answered (status and body read), in microseconds of wall time.
#[allow(
    clippy::disallowed_methods,
    reason = "measures how long the server takes to answer, in wall time, as an attacker would; \
              the server itself still runs on the test's FakeClock"
)]
async fn answer_time(request: reqwest::RequestBuilder) -> (u128, u16) {
    let start = std::time::Instant::now();
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    res.bytes().await.unwrap();
    (start.elapsed().as_micros(), status)
}

/// Alternating requests of two kinds (after a warm-up of each): the median answer time of each
/// kind, and the median of the differences of each pair, which a change of the machine's load
/// during the run moves less (both of a pair see the same load), in microseconds.
async fn alternating_medians(
    rounds: usize,
    mut make: impl FnMut(usize, bool) -> reqwest::RequestBuilder,
) -> (u128, u128, i128) {
    for i in 0..10 {
        answer_time(make(i, true)).await;
        answer_time(make(i, false)).await;
    }
    let (mut known, mut unknown, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 10..10 + rounds {
        // Which kind goes first alternates too, so neither always follows the other's work.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        let mut times = [0u128; 2];
        for kind in order {
            let (t, status) = answer_time(make(i, kind)).await;
            assert_eq!(status, 200);
            times[usize::from(!kind)] = t;
        }
        known.push(times[0]);
        unknown.push(times[1]);
        pairs.push(times[0] as i128 - times[1] as i128);
    }
    pairs.sort_unstable();
    (median(known), median(unknown), pairs[pairs.len() / 2])
}

/// The largest median difference allowed between the two kinds of a pair, in microseconds.
/// Measured on the test server (debug build, SQLite, 2 shared cores), pairs' median difference:
/// before issue 15 a registered address was answered 425–1250 µs slower at forgot-password;
/// after it, -32–60 µs.
const FORGOT_TOLERANCE_MICROS: i128 = 200;
/// Pairs measured at forgot-password. 150 pairs once failed under the whole suite's load (a
/// median of 210 µs, a registered address answered *faster*) while passing alone (-21–23 µs);
/// the median's noise falls with the square root of the pairs, and 450 pairs take ~3 s.
const FORGOT_ROUNDS: usize = 450;

// ISSUE-15: timing. A wrong password costs the same work for a registered address and for an
// unknown one: the same argon2 verification (a dummy hash for the unknown), one failure counted,
// and the same audit write (before issue 15 the unknown address wrote none: 98–364 µs less, and
// the issue's 1.2 ms in production). Checked by what the work leaves, because a wall-time
// tolerance as tight as that difference flakes on a loaded 2-core CI machine; the measured times
// before and after are in docs/PERFORMANCE.md.
#[tokio::test]
async fn a_wrong_password_costs_the_same_work_for_any_address() {
    let app = TestApp::spawn_with_limits(only(|_| {})).await;
    let seed = app.seed().await;
    let user = admin::add_user(
        &app.op,
        &seed.contract_id,
        "timing00@example.jp",
        PASSWORD,
        Role::User,
        "利用者",
    )
    .await
    .unwrap();
    let browser = Browser::new();
    let form = login_form(&app, &browser).await;
    let url = format!("{}/{BRAND}/login", app.base);
    let mut answers = Vec::new();
    for email in ["timing00@example.jp", "nobody00@example.jp"] {
        let mut fields = form.clone();
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), WRONG.into()));
        let res = browser.http.post(&url).form(&fields).send().await.unwrap();
        // The page echoes the address typed (in the field, and in the forgot-password link,
        // ISSUE-16); everything else is the same.
        let status = res.status().as_u16();
        let page = res
            .text()
            .await
            .unwrap()
            .replace(email, "ADDRESS")
            .replace(&email.replace('@', "%40"), "ADDRESS");
        answers.push((status, page));
    }
    assert_eq!(answers[0], answers[1], "the same page for both");
    let failed: Vec<_> = app
        .op
        .store
        .recent_audit(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "login.password.failed")
        .collect();
    assert_eq!(failed.len(), 2, "one audit write each: {failed:?}");
    assert!(failed
        .iter()
        .any(|e| e.user_id.as_deref() == Some(user.as_str())));
    assert!(failed.iter().any(|e| e.user_id.is_none()));
}

// ISSUE-15: timing. Forgot-password answers a registered and an unknown address in the same
// time: the ticket and the mail are made after the answer. Several worker threads, as the server
// has: on one thread the work after a registered address's answer would delay this client's
// reading of it, which a remote client does not see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_time_does_not_tell_whether_an_address_is_registered() {
    let app = TestApp::spawn_with_limits(only(|_| {})).await;
    let emails = fifty_users(&app).await;
    let browser = Browser::new();
    let csrf = forgot_form(&app, &browser).await;
    let url = format!("{}/{BRAND}/password/forgot", app.base);
    let (known, unknown, diff) = alternating_medians(FORGOT_ROUNDS, |i, known| {
        let email = match known {
            true => emails[i % 50].clone(),
            false => format!("nobody{:02}@example.jp", i % 50),
        };
        let mut fields = csrf.clone();
        fields.push(("email".into(), email));
        browser.http.post(&url).form(&fields)
    })
    .await;
    println!(
        "forgot-password medians: registered {known} µs, unknown {unknown} µs, pairs {diff} µs"
    );
    assert!(
        diff.abs() < FORGOT_TOLERANCE_MICROS,
        "registered {known} µs, unknown {unknown} µs, pairs {diff} µs"
    );
    app.services.settled().await;
    assert_eq!(
        app.op.store.list_mail(1000).await.unwrap().len(),
        10 + FORGOT_ROUNDS,
        "every request for a registered address queued its mail"
    );
}

// ISSUE-15 (SMS sending): a client over its SMS limit gets the retry-later page and no SMS is
// sent; the step's own limits (REQ-2FA-9) are not touched by the refused request.
#[tokio::test]
async fn sms_sending_is_throttled_and_sends_nothing() {
    let app = TestApp::spawn_with_limits(only(|l| l.sms_per_ip = Rate::per_minute(1))).await;
    let seed = app.seed_two_factor().await;
    let browser = Browser::new();
    let url = authorize_url(&app, &seed.client.client_id, &[]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let (_, setup) = page(
        browser
            .submit_login(&app.base, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    let (_, code_page) = page(
        browser
            .post(
                &app.base,
                &format!("/{BRAND}/2fa/phone"),
                &fields(&setup, &[("phone", "090-1234-5678")]),
            )
            .await
            .unwrap(),
    );
    assert_eq!(
        app.sms.requests().unwrap().len(),
        1,
        "the first code is sent"
    );
    let res = browser
        .http
        .post(format!("{}/{BRAND}/2fa/resend", app.base))
        .form(&fields(&code_page, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains(RETRY_LATER));
    assert_eq!(app.sms.requests().unwrap().len(), 1, "nothing sent");
    // A minute later (on the server's clock) the client may ask again.
    app.clock.advance(60);
    let (_, again) = page(
        browser
            .post(
                &app.base,
                &format!("/{BRAND}/2fa/resend"),
                &fields(&code_page, &[]),
            )
            .await
            .unwrap(),
    );
    assert!(!again.contains(RETRY_LATER));
    assert_eq!(app.sms.requests().unwrap().len(), 2, "sent again");
}

// ISSUE-15 (registration): the registration form of one mailed link is limited per ticket,
// whichever client posts it: over the limit, 429 and the retry-later page, and the ticket still
// works once the limit has passed.
#[tokio::test]
async fn registration_is_throttled_per_ticket() {
    use crate::user_lifecycle::{contractor, invite};
    let app =
        TestApp::spawn_with_limits(only(|l| l.registration_per_account = Rate::per_hour(3))).await;
    app.seed().await;
    let console = contractor(&app).await;
    let link = invite(&app, &console, "hanako@example.jp", "花子").await;
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let visitor = browser_from(&format!("127.0.3.{i}"));
        let (_, form) = page(visitor.follow(&app.base, &link).await.unwrap());
        let mut fields = hidden_inputs(&form);
        fields.push(("new_password".into(), "Hanako-Pass-1".into()));
        fields.push(("confirm_password".into(), "Hanako-Pass-2".into()));
        let res = visitor
            .http
            .post(format!("{}/{BRAND}/registration/password", app.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    app.clock.advance(1200);
    let visitor = browser_from("127.0.3.9");
    let (_, form) = page(visitor.follow(&app.base, &link).await.unwrap());
    let mut fields = hidden_inputs(&form);
    fields.push(("new_password".into(), "Hanako-Pass-1".into()));
    fields.push(("confirm_password".into(), "Hanako-Pass-1".into()));
    let (_, confirm) = page(
        visitor
            .post(
                &app.base,
                &format!("/{BRAND}/registration/password"),
                &fields,
            )
            .await
            .unwrap(),
    );
    assert!(
        confirm.contains("申込確認") && confirm.contains("メールアドレス・パスワードで登録"),
        "the ticket works again: the confirmation page"
    );
}
