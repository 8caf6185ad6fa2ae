//! Line authentication (回線認証, issue 14) end to end: a real reverse proxy (Debian's nginx,
//! `sekisho_testkit::CarrierGateway`) plays the carrier gateway, one listener per simulated line,
//! and authenticates to Sekisho's line entry with a client certificate of the test CA (mutual
//! TLS); an `openidconnect` RP verifies the tokens. The forgery attempts are each their own test.

use crate::support::rp_for;
use crate::two_factor::{excerpt, page};
use sekisho_core::line::LineNumber;
use sekisho_core::model::{AccessRoute, TwoFactorSetting};
use sekisho_e2e::{Browser, Hop, LineEntry, Seed, TestApp, BRAND, EMAIL, PASSWORD};
use sekisho_testkit::{CarrierGateway, TestPki};

const EAST: &str = "CAF0123456789";
const WEST: &str = "COP11111111";
const UNREGISTERED: &str = "CAF9999999999";
const OTHER_CONTRACTS: &str = "COP22222222";
/// How a careless gateway (or a forger) might write EAST: not the same number.
const LOWER_CASE: &str = "caf0123456789";
/// EAST padded with one more digit.
const PADDED: &str = "CAF01234567890";

/// A contract with 2FA on whose lines are EAST and WEST, another contract owning
/// OTHER_CONTRACTS, the line entry, and the gateway with a listener for each line.
struct Lines {
    app: TestApp,
    seed: Seed,
    gateway: CarrierGateway,
    _entry: LineEntry,
    _pki: TestPki,
}

async fn lines() -> Lines {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let store = &app.op.store;
    store
        .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Enabled)
        .await
        .unwrap();
    let now = sekisho_core::Clock::now(&*app.clock);
    for number in [EAST, WEST] {
        store
            .add_line(&seed.contract_id, &LineNumber::parse(number).unwrap(), now)
            .await
            .unwrap();
    }
    let other = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "他社株式会社",
        "other@example.jp",
        PASSWORD,
        sekisho_core::model::Plan::Basic,
    )
    .await
    .unwrap();
    store
        .add_line(
            &other.contract_id,
            &LineNumber::parse(OTHER_CONTRACTS).unwrap(),
            now,
        )
        .await
        .unwrap();
    let pki = TestPki::create().unwrap();
    let entry = app.line_entry(&pki).await;
    let gateway = CarrierGateway::start(
        entry.addr,
        &[
            (EAST, "east"),
            (WEST, "west"),
            (UNREGISTERED, "east"),
            (OTHER_CONTRACTS, "east"),
            (LOWER_CASE, "east"),
            (PADDED, "east"),
        ],
        &pki,
        "https://line.sekisho.test",
    )
    .unwrap();
    Lines {
        app,
        seed,
        gateway,
        _entry: entry,
        _pki: pki,
    }
}

/// The RP's authorization URL sent through `line`'s gateway listener instead of the internet
/// (the README's configuration: the line host's authorization endpoint, the rest from
/// discovery).
fn via(l: &Lines, line: &str, url: &str) -> String {
    url.replacen(&l.app.base, &l.gateway.url(line), 1)
}

/// A password login of EMAIL at `base` starting from `authorize`; what followed the password.
async fn password_login(browser: &Browser, base: &str, authorize: &str) -> Hop {
    let (_, login) = page(browser.follow(base, authorize).await.unwrap());
    browser
        .submit_login(base, &login, EMAIL, PASSWORD)
        .await
        .unwrap()
}

fn refused(hop: Hop, status: u16, text: &str) {
    match hop {
        Hop::Page {
            status: got, body, ..
        } => {
            assert_eq!(got.as_u16(), status, "{}", excerpt(&body));
            assert!(body.contains(text), "{text}: {}", excerpt(&body));
        }
        Hop::LeftOp(url) => panic!("expected a refusal page, the browser went to {url}"),
    }
}

// REQ-LOGIN-5 REQ-LINE-3 REQ-LINE-6 REQ-2FA-8: a password user logs in at an RP over a registered
// line through the gateway: no 2FA page although the contract has 2FA on, and the ID token's amr
// holds `line`. The same login from the internet asks the second factor.
#[tokio::test]
async fn a_password_login_over_a_registered_line_needs_no_second_factor() {
    let l = lines().await;
    let rp = rp_for(&l.app, &l.seed).await;
    let req = rp.start(None, None);
    let base = l.gateway.url(EAST);
    let browser = Browser::new();
    let hop = password_login(&browser, &base, &via(&l, EAST, &req.url)).await;
    let Hop::LeftOp(back) = hop else {
        panic!("expected the RP, got {hop:?}")
    };
    let (amr, _) = rp.finish(req, &back).await;
    assert_eq!(amr, ["pwd", "line"], "REQ-LINE-6: line replaces 2FA");

    let internet = Browser::new();
    let req = rp.start(None, None);
    let (at, _) = page(password_login(&internet, &l.app.base, &req.url).await);
    assert!(at.ends_with("/2fa"), "from the internet, 2FA: {at}");
}

// REQ-LINE-3: a line not registered to the user's contract (unknown, or another contract's) gets
// the line-auth error page of the manual.
#[tokio::test]
async fn an_unregistered_or_other_contracts_line_gets_the_line_auth_error() {
    let l = lines().await;
    for line in [UNREGISTERED, OTHER_CONTRACTS] {
        let browser = Browser::new();
        let url = via(&l, line, &format!("{}/{BRAND}/login", l.app.base));
        let hop = password_login(&browser, &l.gateway.url(line), &url).await;
        refused(hop, 403, "回線認証エラー");
    }
}

// REQ-LINE-3 (forgery): a lower-case or padded line number from the gateway is not the registered
// number.
#[tokio::test]
async fn a_lower_case_or_padded_line_number_is_not_a_registered_line() {
    let l = lines().await;
    for line in [LOWER_CASE, PADDED] {
        let browser = Browser::new();
        let base = l.gateway.url(line);
        let hop = password_login(&browser, &base, &format!("{base}/{BRAND}/login")).await;
        refused(hop, 403, "回線認証エラー");
    }
}

// REQ-LINE-3 (forgery): the line header sent to the internet entry means nothing: the login is
// an internet login (2FA asked), and with 回線認証のみ it is refused.
#[tokio::test]
async fn the_line_header_on_the_internet_entry_means_nothing() {
    let l = lines().await;
    let forged = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [("x-line-number", EAST), ("x-line-area", "east")]
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                .collect(),
        )
        .build()
        .unwrap();
    let browser = Browser { http: forged };
    let login = format!("{}/{BRAND}/login", l.app.base);
    let (at, _) = page(password_login(&browser, &l.app.base, &login).await);
    assert!(at.ends_with("/2fa"), "an internet login: {at}");
    l.app
        .op
        .store
        .set_contract_access_route(&l.seed.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    let browser = Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(
                [("x-line-number", EAST), ("x-line-area", "east")]
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                    .collect(),
            )
            .build()
            .unwrap(),
    };
    let hop = password_login(&browser, &l.app.base, &login).await;
    refused(hop, 403, "回線認証のみ");
}

/// A TLS handshake with the line entry presenting `identity` (certificate, key), or none.
fn handshake(
    addr: std::net::SocketAddr,
    pki: Option<(&std::path::Path, &std::path::Path)>,
) -> Result<(), String> {
    use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    if let Some((cert, key)) = pki {
        b.set_certificate_file(cert, SslFiletype::PEM).unwrap();
        b.set_private_key_file(key, SslFiletype::PEM).unwrap();
    }
    let connector = b.build();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut tls = connector
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())?;
    // TLS 1.3 reports a refused client certificate only on the first read.
    use std::io::{Read, Write};
    tls.write_all(b"GET /VX5/login HTTP/1.1\r\nHost: localhost\r\nX-Line-Number: CAF0123456789\r\nX-Line-Area: east\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) if !answer.is_empty() => Ok(()),
        Ok(_) => Err("closed".into()),
        Err(e) => Err(e.to_string()),
    }
}

// REQ-LINE-3 (forgery): the line header sent straight to the line entry without the gateway's
// client certificate, or with a certificate of another CA, gets no answer at all; the gateway's
// own certificate is answered (the control).
#[tokio::test]
async fn the_line_entry_answers_only_the_gateways_certificate() {
    let l = lines().await;
    let rogue = (
        l._pki.rogue_client_cert.clone(),
        l._pki.rogue_client_key.clone(),
    );
    let ours = (l._pki.gateway_cert.clone(), l._pki.gateway_key.clone());
    let addr = l._entry.addr;
    // The handshakes block: on their own thread, while this one serves the line entry.
    let (none, rogue, gateway) = tokio::task::spawn_blocking(move || {
        (
            handshake(addr, None),
            handshake(addr, Some((&rogue.0, &rogue.1))),
            handshake(addr, Some((&ours.0, &ours.1))),
        )
    })
    .await
    .unwrap();
    assert!(none.is_err(), "no client certificate: refused");
    assert!(rogue.is_err(), "another CA's certificate: refused");
    assert!(
        gateway.is_ok(),
        "the gateway's certificate: answered ({gateway:?})"
    );
}

// REQ-LINE-4: with 回線認証のみ the internet is refused (the login page's password, for every user,
// the contractor's RP login included); a registered line still works; the contractor reaches the
// account menu from the internet with a second proof (a single-use mailed link, as no factor is
// registered), is mailed that the way back was used, and the menu then offers アクセス経路設定 and
// nothing else.
#[tokio::test]
async fn line_only_refuses_the_internet_except_the_contractors_way_back() {
    let l = lines().await;
    l.app
        .op
        .store
        .set_contract_access_route(&l.seed.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    let rp = rp_for(&l.app, &l.seed).await;
    let req = rp.start(None, None);
    let hop = password_login(&Browser::new(), &l.app.base, &req.url).await;
    refused(hop, 403, "回線認証のみ");

    let req = rp.start(None, None);
    let hop = password_login(
        &Browser::new(),
        &l.gateway.url(EAST),
        &via(&l, EAST, &req.url),
    )
    .await;
    let Hop::LeftOp(back) = hop else {
        panic!("over the line: the RP, got {hop:?}")
    };
    let (amr, _) = rp.finish(req, &back).await;
    assert_eq!(amr, ["pwd", "line"], "REQ-2FA-8: no 2FA while line-only");

    // The contractor's way back: the password, then (no factor registered) a mailed link.
    let menu = Browser::new();
    let (_, mailed) = page(
        password_login(
            &menu,
            &l.app.base,
            &format!("{}/{BRAND}/account/login", l.app.base),
        )
        .await,
    );
    assert!(
        mailed.contains("確認用のURLを送信しました"),
        "the password alone is not enough: {}",
        excerpt(&mailed)
    );
    let (link, _) = crate::user_lifecycle::mailed_link(
        &l.app,
        EMAIL,
        "インターネットからのアクセス経路設定の確認",
        "line-recovery",
    )
    .await;
    let (_, confirm) = page(menu.follow(&l.app.base, &link).await.unwrap());
    let (at, body) = page(crate::user_lifecycle::submit(&l.app, &menu, &confirm, &[]).await);
    assert!(at.ends_with("/account"), "{at}: {}", excerpt(&body));
    let again = menu.follow(&l.app.base, &link).await.unwrap();
    refused(again, 400, "");
    let mails = l.app.deliver_mail().await;
    assert!(
        mails.iter().any(|m| m.to.contains(EMAIL)
            && m.subject
                .ends_with("インターネットからのアクセス経路設定へのアクセス")),
        "the contractor is told the way back was used"
    );
    let body = body.replace("&#x2f;", "/");
    assert!(body.contains("アクセス経路設定"), "{}", excerpt(&body));
    for other in [
        "パスワード変更",
        "2段階認証設定",
        "管理コンソール",
        "Active Directory設定",
    ] {
        assert!(
            !body.contains(other),
            "{other} must not be offered: {}",
            excerpt(&body)
        );
    }
    let console = menu
        .get(&format!("{}/{BRAND}/admin", l.app.base))
        .await
        .unwrap();
    assert_eq!(
        console.status(),
        403,
        "the console is not reachable that way"
    );
}

// REQ-LINE-5: the first line login from a West Japan line shows 回線情報通知設定 once; the choice
// is recorded and the login goes on; the next login from that line goes straight through.
#[tokio::test]
async fn a_west_japan_line_asks_the_consent_once() {
    let l = lines().await;
    let base = l.gateway.url(WEST);
    let login = format!("{base}/{BRAND}/login");
    let browser = Browser::new();
    let (at, consent) = page(password_login(&browser, &base, &login).await);
    assert!(at.contains("/line-consent"), "{at}");
    assert!(
        consent.contains("回線情報通知設定")
            && consent.contains("通知する")
            && consent.contains("決定"),
        "{}",
        excerpt(&consent)
    );
    let mut fields = sekisho_e2e::hidden_inputs(&consent);
    fields.push(("notify".into(), "yes".into()));
    let action = sekisho_e2e::form_action(&consent).unwrap();
    let (at, done) = page(browser.post(&base, &action, &fields).await.unwrap());
    assert!(at.ends_with("/signed-in"), "{at}: {}", excerpt(&done));
    let user = l
        .app
        .op
        .store
        .find_user_by_email(BRAND, &sekisho_core::email::Email::parse(EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        l.app
            .op
            .store
            .line_consent(&user.id, &LineNumber::parse(WEST).unwrap())
            .await
            .unwrap(),
        Some(true)
    );
    let again = Browser::new();
    let (at, _) = page(password_login(&again, &base, &login).await);
    assert!(at.ends_with("/signed-in"), "once only: {at}");
    // An East Japan line never asks.
    let east = l.gateway.url(EAST);
    let (at, _) =
        page(password_login(&Browser::new(), &east, &format!("{east}/{BRAND}/login")).await);
    assert!(at.ends_with("/signed-in"), "{at}");
}

// REQ-LINE-6 REQ-LOGIN-5: an upstream (Google) user logs in at an RP over a registered line: the
// upstream sends the browser back to the line host (through the gateway), no second factor
// although the contract has 2FA on, and amr is ["fed", "line"].
#[tokio::test]
async fn an_upstream_user_logs_in_over_a_registered_line() {
    use sekisho_app::federation::{self, CallbackOutcome};
    use sekisho_core::model::{LoginMethod, Role};
    use sekisho_testkit::{Profile, UpstreamOp};
    use sekisho_upstream::{Connector, ConnectorSettings, UpstreamIdentity};

    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let store = &app.op.store;
    store
        .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Enabled)
        .await
        .unwrap();
    let now = sekisho_core::Clock::now(&*app.clock);
    store
        .add_line(&seed.contract_id, &LineNumber::parse(EAST).unwrap(), now)
        .await
        .unwrap();
    // The line entry's address first, then the gateway, then the upstream that redirects to the
    // line host, then the line entry serving with that upstream.
    let pki = TestPki::create().unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = CarrierGateway::start(
        tcp.local_addr().unwrap(),
        &[(EAST, "east")],
        &pki,
        "https://line.sekisho.test",
    )
    .unwrap();
    let line_base = gateway.url(EAST);
    let google = UpstreamOp::start_at(
        Profile::Google,
        "sekisho-google",
        sekisho_e2e::UPSTREAM_SECRET,
        &[format!("{line_base}/{BRAND}/upstream/callback")],
        sekisho_core::TEST_EPOCH,
    )
    .unwrap();
    let connector = Connector::new(
        ConnectorSettings {
            name: "google".into(),
            kind: "google".into(),
            client_id: "sekisho-google".into(),
            client_secret: sekisho_e2e::UPSTREAM_SECRET.into(),
            discovery_url: google.discovery_url().to_owned(),
            ..ConnectorSettings::default()
        },
        app.clock.clone(),
    )
    .unwrap();
    let services = app.services.clone().with_upstreams(vec![connector]);
    let _entry = app.line_entry_with(&pki, tcp, services.clone());

    // Hanako's login method is the Google account "line-hanako".
    let user_id = sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        "hanako@example.jp",
        PASSWORD,
        Role::User,
        "花子",
    )
    .await
    .unwrap();
    let link = sekisho::admin::login_method_change_link(&app.services, &user_id)
        .await
        .unwrap();
    let ticket = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let brand = app.op.brand(BRAND).await.unwrap().unwrap();
    let identity = UpstreamIdentity {
        issuer: google.issuer().to_owned(),
        subject: "line-hanako".into(),
        email: None,
        email_verified: false,
        name: None,
    };
    let bound = federation::bind(
        &services,
        &brand,
        LoginMethod::Google,
        &identity,
        &sekisho_crypto::tokens::hash_token(&ticket),
    )
    .await
    .unwrap();
    assert!(matches!(bound, CallbackOutcome::Bound { .. }), "{bound:?}");

    let rp = rp_for(&app, &seed).await;
    let req = rp.start(None, None);
    let browser = Browser::new();
    let (_, login) = page(
        browser
            .follow(&line_base, &req.url.replacen(&app.base, &line_base, 1))
            .await
            .unwrap(),
    );
    let start = format!(
        "{line_base}{}",
        crate::upstream::href_of(&login, "Googleアカウントでログイン")
    );
    let back = browser
        .upstream_login(&start, "line-hanako", &line_base)
        .await
        .unwrap();
    assert!(back.starts_with(&line_base), "back over the line: {back}");
    let hop = browser.follow(&line_base, &back).await.unwrap();
    let Hop::LeftOp(at_rp) = hop else {
        panic!("expected the RP, got {hop:?}")
    };
    let (amr, _, claims) = rp.finish_with_claims(req, &at_rp).await;
    assert_eq!(amr, ["fed", "line"], "REQ-LINE-6: no 2FA over the line");
    assert_eq!(claims["sub"], user_id.as_str());
}

// REQ-LINE-6 REQ-LOGIN-5 REQ-AD-5: an AD user logs in at an RP over a registered line: the
// AuthnRequest names the line host's ACS (listed in the SP metadata when the deployment has a line
// host), ADFS posts the response back over the line, no second factor, amr ["saml", "line"].
#[tokio::test]
async fn an_ad_user_logs_in_over_a_registered_line() {
    use crate::active_directory::{adfs, connect, left, register_taro, through_adfs_at};

    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let store = &app.op.store;
    store
        .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Enabled)
        .await
        .unwrap();
    let now = sekisho_core::Clock::now(&*app.clock);
    store
        .add_line(&seed.contract_id, &LineNumber::parse(EAST).unwrap(), now)
        .await
        .unwrap();
    let pki = TestPki::create().unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = CarrierGateway::start(
        tcp.local_addr().unwrap(),
        &[(EAST, "east")],
        &pki,
        "https://line.sekisho.test",
    )
    .unwrap();
    let line_base = gateway.url(EAST);
    let services = app
        .services
        .clone()
        .with_ad(sekisho_app::active_directory::AdSettings {
            allow_loopback: true,
            line_base_url: Some(line_base.clone()),
            ..Default::default()
        });
    let _entry = app.line_entry_with(&pki, tcp, services);
    // ADFS refreshes the relying-party trust: the SP metadata now lists the line host's ACS.
    let xml = reqwest::get(format!("{line_base}/{BRAND}/saml/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line_acs = format!("{line_base}/{BRAND}/saml/{id}/acs");
    assert!(xml.contains(&line_acs), "{xml}");
    idp.register_sp_metadata(&xml).unwrap();

    let rp = rp_for(&app, &seed).await;
    let req = rp.start(None, None);
    let browser = Browser::new();
    let (_, login) = page(
        browser
            .follow(&line_base, &req.url.replacen(&app.base, &line_base, 1))
            .await
            .unwrap(),
    );
    let button = crate::upstream::href_of(&login, "Active Directoryアカウントでログイン");
    let (_, enter) = page(
        browser
            .follow(&line_base, &format!("{line_base}{button}"))
            .await
            .unwrap(),
    );
    let mut fields = sekisho_e2e::hidden_inputs(&enter);
    fields.push(("connection_id".into(), id.clone()));
    let action = sekisho_e2e::form_action(&enter).unwrap();
    let at_adfs = left(browser.post(&line_base, &action, &fields).await.unwrap());
    let back = left(through_adfs_at(&line_base, &browser, &at_adfs).await);
    let (amr, _) = rp.finish(req, &back).await;
    assert_eq!(amr, ["saml", "line"]);

    // REQ-LINE-4: with 回線認証のみ the same AD login from the internet is refused.
    store
        .set_contract_access_route(&seed.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    let internet = Browser::new();
    let (_, auto) = page(
        internet
            .follow(&app.base, &format!("{}/ad/{id}", app.issuer()))
            .await
            .unwrap(),
    );
    let fields = sekisho_e2e::hidden_inputs(&auto);
    let action = sekisho_e2e::form_action(&auto).unwrap();
    let at_adfs = left(internet.post(&app.base, &action, &fields).await.unwrap());
    refused(
        through_adfs_at(&app.base, &internet, &at_adfs).await,
        403,
        "回線認証のみ",
    );
}

// REQ-LINE-4: with 回線認証のみ an upstream (Google) login from the internet is refused too, after
// the round trip, with the page that says why.
#[tokio::test]
async fn line_only_refuses_an_upstream_login_from_the_internet() {
    use sekisho_app::federation::{self, CallbackOutcome};
    use sekisho_core::model::{LoginMethod, Role};
    use sekisho_testkit::Profile;
    use sekisho_upstream::UpstreamIdentity;

    let app = TestApp::spawn_with_upstreams(&[Profile::Google]).await;
    let seed = app.seed().await;
    let user_id = sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        "hanako@example.jp",
        PASSWORD,
        Role::User,
        "花子",
    )
    .await
    .unwrap();
    let link = sekisho::admin::login_method_change_link(&app.services, &user_id)
        .await
        .unwrap();
    let ticket = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let brand = app.op.brand(BRAND).await.unwrap().unwrap();
    let identity = UpstreamIdentity {
        issuer: app.upstreams[0].issuer().to_owned(),
        subject: "internet-hanako".into(),
        email: None,
        email_verified: false,
        name: None,
    };
    let bound = federation::bind(
        &app.services,
        &brand,
        LoginMethod::Google,
        &identity,
        &sekisho_crypto::tokens::hash_token(&ticket),
    )
    .await
    .unwrap();
    assert!(matches!(bound, CallbackOutcome::Bound { .. }), "{bound:?}");
    app.op
        .store
        .set_contract_access_route(&seed.contract_id, AccessRoute::LineOnly)
        .await
        .unwrap();
    let rp = rp_for(&app, &seed).await;
    let req = rp.start(None, None);
    let hop = crate::upstream::login(
        &app,
        &Browser::new(),
        &req.url,
        Profile::Google,
        "internet-hanako",
    )
    .await;
    refused(hop, 403, "回線認証のみ");
}
