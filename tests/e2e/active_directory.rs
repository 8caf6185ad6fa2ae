//! Active Directory login through ADFS over SAML 2.0 (issue 13), end to end through Sekisho's
//! HTTP server with a real SAML IdP playing ADFS (pysaml2 + xmlsec1, `sekisho_testkit::SamlIdp`)
//! and the real SMTP sink: the contractor configures the connection (by metadata URL and by
//! pasted XML) and receives the REQ-AD-2 mail; an invited user registers with AD through the
//! connection-ID confirmation; logs in by the AD login URL and by the login page's button; an
//! `openidconnect` RP verifies the ID token (`amr` `saml`, `idp`). The IdP signs in whoever the
//! test chose with no form, as ADFS does for a browser signed in to Windows.
//!
//! The SAML attack suite (signature wrapping, XXE, …) is in `crates/sekisho-saml/tests`; here are
//! the attacks that need the server: a replayed post, another browser's response, an unsolicited
//! response, an oversized one.

use crate::support::rp_for;
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor, invite, mailed_link, submit};
use sekisho_core::model::{LoginMethod, TwoFactorSetting};
use sekisho_core::TEST_EPOCH;
use sekisho_e2e::{form_action, hidden_inputs, Browser, Hop, TestApp, BRAND, EMAIL};
use sekisho_testkit::SamlIdp;

const TARO: &str = "jiro@example.jp";
const TARO_UPN: &str = "jiro@ad.example.co.jp";
const TARO_IMMUTABLE_ID: &str = "aW1tdXRhYmxlLXRhcm8tMDAx";

/// The IdP playing the contract's ADFS, on the test's clock.
pub(crate) fn adfs() -> SamlIdp {
    SamlIdp::start_at(TEST_EPOCH).expect("the SAML IdP starts")
}

/// A page's text with minijinja's escapes undone (it escapes `/` in URLs).
fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// Moves the server's clock and the IdP's together.
fn advance(app: &TestApp, idp: &SamlIdp, seconds: i64) {
    app.clock.advance(seconds);
    idp.clock()
        .set_now(sekisho_core::Clock::now(&*app.clock))
        .expect("the IdP's clock moves");
}

/// The connection ID in a page or mail: `adfs-` and 16 letters or digits.
fn connection_id_in(text: &str) -> String {
    let start = text
        .find("adfs-")
        .unwrap_or_else(|| panic!("no ID in {text}"));
    let id: String = text[start..].chars().take(21).collect();
    assert!(
        sekisho_app::active_directory::is_connection_id(&id),
        "REQ-AD-2: adfs- + 16 alphanumerics: {id}"
    );
    id
}

/// The contractor sets the connection up by `source` (`url` or `xml`) from the account menu:
/// the form, the confirmation, the completion. Returns the completion page.
async fn configure(app: &TestApp, menu: &Browser, source: &str, value: &str) -> String {
    let (_, form) = page(get(app, menu, "account/active-directory").await);
    assert!(form.contains("Active Directory設定"), "{}", excerpt(&form));
    let field = if source == "url" {
        "metadata_url"
    } else {
        "metadata_xml"
    };
    let (_, confirm) = page(submit(app, menu, &form, &[("source", source), (field, value)]).await);
    assert!(confirm.contains("設定内容の確認"), "{}", excerpt(&confirm));
    let (_, done) = page(submit(app, menu, &confirm, &[]).await);
    unescaped(&done)
}

/// Sets the connection up by metadata URL, has the IdP trust Sekisho's SP metadata (as ADFS's
/// relying-party trust from a URL) and returns the connection ID.
pub(crate) async fn connect(app: &TestApp, idp: &SamlIdp) -> String {
    let menu = contractor(app).await;
    let done = configure(app, &menu, "url", idp.metadata_url()).await;
    let id = connection_id_in(&done);
    // The IdP's control call blocks its thread: fetch the SP metadata here and hand it over
    // (the first test has the IdP fetch it by URL, on a multi-threaded runtime).
    let xml = reqwest::get(format!("{}/saml/{id}", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    idp.register_sp_metadata(&xml)
        .expect("the IdP trusts the SP");
    id
}

/// The IdP's part of the round trip: the browser arrives at ADFS (`at`), which answers its
/// auto-posting form at once; the browser posts it to Sekisho's ACS, whose page posts it on to
/// `/finish` on the same site. Returns what followed.
async fn through_adfs(app: &TestApp, browser: &Browser, at: &url::Url) -> Hop {
    through_adfs_at(&app.base, browser, at).await
}

/// [`through_adfs`] for a round trip whose ACS is under `base` (the internet, or a line host).
pub(crate) async fn through_adfs_at(base: &str, browser: &Browser, at: &url::Url) -> Hop {
    assert!(
        at.query_pairs().any(|(k, _)| k == "Signature")
            && at
                .query_pairs()
                .any(|(k, v)| k == "SigAlg" && v.ends_with("rsa-sha256")),
        "REQ-AD-4: the AuthnRequest is signed (RSA-SHA256): {at}"
    );
    let adfs_page = browser.get(at.as_str()).await.unwrap();
    assert_eq!(adfs_page.status(), 200, "the IdP answers its auto-post");
    let html = adfs_page.text().await.unwrap();
    let acs = form_action(&html).expect("the IdP's form");
    let path = acs.strip_prefix(base).expect("posts to Sekisho");
    let (_, bounce) = page(
        browser
            .post(base, path, &hidden_inputs(&html))
            .await
            .unwrap(),
    );
    let finish = form_action(&bounce).expect("the ACS page posts on");
    assert!(finish.ends_with("/finish"), "{finish}");
    browser
        .post(base, &finish, &hidden_inputs(&bounce))
        .await
        .unwrap()
}

/// A login by the connection's AD login URL (as mailed): its page posts itself, then the round
/// trip through ADFS; what followed.
async fn login_by_url(app: &TestApp, browser: &Browser, id: &str) -> Hop {
    let (_, auto) = page(
        browser
            .follow(&app.base, &format!("{}/ad/{id}", app.issuer()))
            .await
            .unwrap(),
    );
    let at_adfs = left(submit(app, browser, &auto, &[]).await);
    through_adfs(app, browser, &at_adfs).await
}

/// Where the hop left the OP for (ADFS), or a panic with the page.
pub(crate) fn left(hop: Hop) -> url::Url {
    match hop {
        Hop::LeftOp(url) => url,
        Hop::Page { status, body, .. } => panic!("stayed on a page {status}: {}", excerpt(&body)),
    }
}

/// An invited user (Jiro) registers with AD: registration page → AD → connection ID →
/// 接続ID確認画面 → ADFS → registered.
pub(crate) async fn register_taro(app: &TestApp, idp: &SamlIdp, id: &str) -> Browser {
    idp.set_user(TARO_UPN, Some(TARO_IMMUTABLE_ID), Some(TARO))
        .expect("Taro at ADFS");
    let console = contractor(app).await;
    let link = invite(app, &console, TARO, "山田次郎").await;
    let browser = Browser::new();
    let (_, choose) = page(browser.follow(&app.base, &link).await.unwrap());
    assert!(
        choose.contains("Active Directoryアカウントで登録"),
        "REQ-AD-3: offered when the contract has a connection: {}",
        excerpt(&choose)
    );
    let ad = crate::upstream::href_of(&choose, "Active Directoryアカウントで登録");
    let (_, enter) = page(
        browser
            .follow(&app.base, &format!("{}{ad}", app.base))
            .await
            .unwrap(),
    );
    let (_, confirm) = page(submit(app, &browser, &enter, &[("connection_id", id)]).await);
    assert!(
        confirm.contains("接続ID確認画面") && confirm.contains(id),
        "REQ-AD-4: the connection-ID confirmation: {}",
        excerpt(&confirm)
    );
    let at_adfs = left(submit(app, &browser, &confirm, &[]).await);
    let (_, done) = page(through_adfs(app, &browser, &at_adfs).await);
    assert!(
        done.contains("利用者登録が完了しました"),
        "{}",
        excerpt(&done)
    );
    browser
}

// REQ-AD-1 REQ-AD-2 REQ-MENU-2: the contractor configures the connection by metadata URL; the
// page shows what to enter in ADFS; the mail with the login URLs and the connection ID arrives
// at the SMTP sink, worded as in the manual; the SP metadata is published.
// (Multi-threaded: the IdP's blocking control call fetches from this test's server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contractor_configures_ad_by_metadata_url_and_gets_the_mail() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let menu = contractor(&app).await;
    let (_, menu_page) = page(get(&app, &menu, "account").await);
    assert!(
        unescaped(&menu_page).contains("/account/active-directory"),
        "REQ-MENU-2: the contractor's menu has the item: {menu_page}"
    );
    let done = configure(&app, &menu, "url", idp.metadata_url()).await;
    let id = connection_id_in(&done);
    let sp_entity = format!("{}/saml/{id}", app.issuer());
    for shown in [
        sp_entity.clone(),
        format!("{sp_entity}/acs"),
        format!("{}/ad/{id}", app.issuer()),
        idp.entity_id().to_owned(),
    ] {
        assert!(
            done.contains(&shown),
            "the page shows {shown}: {}",
            excerpt(&done)
        );
    }
    let (link, body) = mailed_link(
        &app,
        EMAIL,
        "Active Directoryアカウントのログイン用URL・接続ID通知",
        &format!("ad/{id}"),
    )
    .await;
    assert_eq!(link, format!("{}/ad/{id}", app.issuer()));
    for line in [
        "Active Directoryアカウントのログイン用URLおよび接続IDをご連絡いたします。",
        "■ Active Directoryアカウントのログイン用URL",
        &format!("・インターネット用 : {link}"),
        "・回線認証用 : ",
        &format!("・Active Directoryの接続ID : {id}"),
    ] {
        assert!(body.contains(line), "REQ-AD-2 mail has {line:?}: {body}");
    }
    // The SP metadata: signed AuthnRequests, the ACS, a signing certificate.
    let metadata = reqwest::get(&sp_entity).await.unwrap();
    assert_eq!(metadata.status(), 200);
    let xml = metadata.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("entityID"), Some(sp_entity.as_str()));
    let acs = doc
        .descendants()
        .find(|n| n.has_tag_name("AssertionConsumerService"))
        .expect("an ACS");
    assert_eq!(
        acs.attribute("Location"),
        Some(format!("{sp_entity}/acs").as_str())
    );
    assert!(xml.contains("AuthnRequestsSigned=\"true\"") && xml.contains("X509Certificate"));
    // ADFS (the IdP) accepts it as a relying-party trust from the URL.
    assert_eq!(
        idp.register_sp_metadata_url(&sp_entity).unwrap(),
        sp_entity,
        "the IdP reads the SP metadata"
    );
}

// REQ-AD-1: pasted XML works too; each thing wrong in the metadata gets its own message and
// saves nothing.
#[tokio::test]
async fn contractor_configures_ad_by_pasted_xml_with_a_message_for_each_problem() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let menu = contractor(&app).await;
    let good = idp.metadata().unwrap();
    let cases: [(&str, String, &str); 5] = [
        ("xml", "   ".into(), "メタデータを入力してください"),
        ("xml", "<not-xml".into(), "正しいXMLではありません"),
        (
            "xml",
            format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{good}"),
            "DTDを含むものは受け付けません",
        ),
        (
            "xml",
            good.replace("IDPSSODescriptor", "SPSSODescriptor"),
            "IdP（ADFS）のメタデータではありません",
        ),
        ("url", "http://10.0.0.1/metadata.xml".into(), "httpsで"),
    ];
    for (source, value, message) in cases {
        let (_, form) = page(get(&app, &menu, "account/active-directory").await);
        let field = if source == "url" {
            "metadata_url"
        } else {
            "metadata_xml"
        };
        let (_, refused) =
            page(submit(&app, &menu, &form, &[("source", source), (field, &value)]).await);
        assert!(
            refused.contains(message),
            "{message}: {}",
            excerpt(&refused)
        );
    }
    let no_cert = {
        let doc = roxmltree::Document::parse(&good).unwrap();
        let key = doc
            .descendants()
            .find(|n| n.has_tag_name("KeyDescriptor"))
            .unwrap()
            .range();
        format!("{}{}", &good[..key.start], &good[key.end..])
    };
    let (_, form) = page(get(&app, &menu, "account/active-directory").await);
    let (_, refused) = page(
        submit(
            &app,
            &menu,
            &form,
            &[("source", "xml"), ("metadata_xml", &no_cert)],
        )
        .await,
    );
    assert!(
        refused.contains("トークン署名証明書がありません"),
        "{}",
        excerpt(&refused)
    );
    assert!(
        sekisho_app::active_directory::connection::of_contract(
            &app.services,
            &contract_of(&app).await
        )
        .await
        .unwrap()
        .is_none(),
        "nothing saved"
    );
    let done = configure(&app, &menu, "xml", &good).await;
    let id = connection_id_in(&done);
    let saved = app.op.store.find_ad_connection(&id).await.unwrap().unwrap();
    assert_eq!(saved.metadata_url, None);
    assert_eq!(saved.idp_entity_id, idp.entity_id());
}

async fn contract_of(app: &TestApp) -> String {
    app.op
        .store
        .find_user_by_email(BRAND, &sekisho_core::email::Email::parse(EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap()
        .contract_id
}

// REQ-AD-3 REQ-AD-4 REQ-AD-5 REQ-LOGIN-4 REQ-USER-2: an invited user registers with AD through
// the connection-ID confirmation, then logs in at an RP with the login page's AD button plus the
// connection ID and with the AD login URL; the RP verifies an ID token with amr ["saml"] and the
// IdP named in `idp`. The contract has 2FA on: it does not apply to AD users.
#[tokio::test]
async fn a_user_registers_with_ad_and_logs_in_by_button_and_by_login_url() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    app.op
        .store
        .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Enabled)
        .await
        .unwrap();
    let taro = app
        .op
        .store
        .find_user_by_email(BRAND, &sekisho_core::email::Email::parse(TARO).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taro.login_method, LoginMethod::Ad);
    let rp = rp_for(&app, &seed).await;

    // The login page's button, then the connection ID.
    let browser = Browser::new();
    let req = rp.start(None, None);
    let (_, login) = page(browser.follow(&app.base, &req.url).await.unwrap());
    let button = crate::upstream::href_of(&login, "Active Directoryアカウントでログイン");
    let (_, enter) = page(
        browser
            .follow(&app.base, &format!("{}{button}", app.base))
            .await
            .unwrap(),
    );
    let at_adfs = left(submit(&app, &browser, &enter, &[("connection_id", &id)]).await);
    let back = left(through_adfs(&app, &browser, &at_adfs).await);
    let (amr, _, claims) = rp.finish_with_claims(req, &back).await;
    assert_eq!(amr, ["saml"], "REQ-AD-5: amr saml, no second step");
    assert_eq!(claims["sub"], taro.id.as_str());
    assert_eq!(
        claims["idp"],
        idp.entity_id(),
        "idp names the contract's ADFS"
    );

    // The AD login URL (as mailed): it posts itself, then the same round trip.
    let browser = Browser::new();
    let (_, auto) = page(
        browser
            .follow(&app.base, &format!("{}/ad/{id}", app.issuer()))
            .await
            .unwrap(),
    );
    assert!(auto.contains("document.getElementById('ad-form').submit()"));
    let at_adfs = left(submit(&app, &browser, &auto, &[]).await);
    let (at, signed_in) = page(through_adfs(&app, &browser, &at_adfs).await);
    assert!(at.contains("/signed-in"), "{at}: {}", excerpt(&signed_in));
    // Now signed in: an RP's request completes without any form.
    let req = rp.start(None, None);
    let back = left(browser.follow(&app.base, &req.url).await.unwrap());
    let (amr, _) = rp.finish(req, &back).await;
    assert_eq!(amr, ["saml"]);
}

// REQ-AD-3: the contractor is never offered AD, and cannot bind it by posting the form; a user
// of a contract without a connection is not offered it either.
#[tokio::test]
async fn the_contractor_can_never_choose_ad() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    let menu = contractor(&app).await;
    let (_, start) = page(get(&app, &menu, "account/login-method").await);
    let (_, method_page) = page(submit(&app, &menu, &start, &[]).await);
    assert!(
        method_page.contains("ログイン方法"),
        "{}",
        excerpt(&method_page)
    );
    assert!(
        !method_page.contains("Active Directory"),
        "REQ-AD-3: never offered to the contractor: {}",
        excerpt(&method_page)
    );
    let ticket = method_page
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries its ticket")
        .to_owned();
    let (_, enter) = page(get(&app, &menu, &format!("ad/bind?ticket={ticket}")).await);
    let (_, refused) = page(submit(&app, &menu, &enter, &[("connection_id", &id)]).await);
    assert!(
        refused.contains("契約者のアカウントはActive Directoryでログインできません"),
        "{}",
        excerpt(&refused)
    );
}

// REQ-AD-1: ADFS's token-signing certificate rollover needs no action: the metadata gains a
// second certificate, ADFS switches to it, then drops the first; the scheduled refresh follows
// and logins keep working throughout. A response signed with the dropped certificate is then
// refused.
#[tokio::test]
async fn certificate_rollover_needs_no_action() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let login = |expect_ok: bool| {
        let app = &app;
        let id = id.clone();
        async move {
            let (at, body) = page(login_by_url(app, &Browser::new(), &id).await);
            assert_eq!(
                at.contains("/signed-in"),
                expect_ok,
                "{at}: {}",
                excerpt(&body)
            );
            body
        }
    };
    let refresh = || async {
        advance(&app, &idp, app.services.ad.refresh_every + 1);
        sekisho_app::active_directory::connection::refresh_due(&app.services)
            .await
            .unwrap()
    };
    login(true).await;
    idp.set_signing(&["a", "b"], "a").unwrap();
    assert_eq!(refresh().await, 1, "the metadata is read again on schedule");
    login(true).await;
    idp.set_signing(&["a", "b"], "b").unwrap();
    login(true).await;
    idp.set_signing(&["b"], "b").unwrap();
    assert_eq!(refresh().await, 1);
    login(true).await;
    idp.set_signing(&["b"], "a").unwrap();
    let refused = login(false).await;
    assert!(
        refused.contains("署名を確認できませんでした"),
        "{}",
        excerpt(&refused)
    );
}

// REQ-AD-5: a response posted twice is accepted once; a response carried to another browser
// is refused there (login CSRF) and is then spent; a response with no RelayState (unsolicited,
// IdP-initiated) is refused; a 10 MB response is refused before it is read.
#[tokio::test]
async fn replayed_foreign_unsolicited_and_oversized_responses_are_refused() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let start = |browser: &'static Browser| {
        let app = &app;
        let id = id.clone();
        async move {
            let (_, auto) = page(
                browser
                    .follow(&app.base, &format!("{}/ad/{id}", app.issuer()))
                    .await
                    .unwrap(),
            );
            let at_adfs = left(submit(app, browser, &auto, &[]).await);
            let html = browser
                .get(at_adfs.as_str())
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            hidden_inputs(&html)
        }
    };
    let finish_path = format!("/{BRAND}/saml/{id}/finish");
    let alice: &'static Browser = Box::leak(Box::new(Browser::new()));
    let posted = start(alice).await;
    let (at, _) = page(alice.post(&app.base, &finish_path, &posted).await.unwrap());
    assert!(at.contains("/signed-in"), "the first post logs in: {at}");
    let (_, again) = page(alice.post(&app.base, &finish_path, &posted).await.unwrap());
    assert!(
        again.contains("すでに完了しているか、無効です"),
        "replay: {}",
        excerpt(&again)
    );

    let mallory: &'static Browser = Box::leak(Box::new(Browser::new()));
    let victim = Browser::new();
    let posted = start(mallory).await;
    let hop = victim.post(&app.base, &finish_path, &posted).await.unwrap();
    match hop {
        Hop::Page { status, body, .. } => {
            assert_eq!(status, 400, "{}", excerpt(&body));
            assert!(!body.contains("ログインしました"));
        }
        Hop::LeftOp(url) => panic!("another browser's response logged in: {url}"),
    }

    let unsolicited: Vec<_> = posted
        .iter()
        .filter(|(k, _)| k != "RelayState")
        .cloned()
        .collect();
    let (_, refused) = page(
        alice
            .post(&app.base, &finish_path, &unsolicited)
            .await
            .unwrap(),
    );
    assert!(
        refused.contains("本サービスから開始されたものではありません"),
        "unsolicited: {}",
        excerpt(&refused)
    );

    // Each refusal has its own audit reason.
    let reasons: Vec<String> = app
        .op
        .store
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "ad.login.failed")
        .map(|e| e.detail.to_string())
        .collect();
    for reason in ["replay", "state of another browser", "saml unsolicited"] {
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "audited {reason}: {reasons:?}"
        );
    }

    let huge = vec![("SAMLResponse".to_owned(), "A".repeat(10 * 1024 * 1024))];
    let answer = alice
        .http
        .post(format!("{}/saml/{id}/acs", app.issuer()))
        .form(&huge)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status() == 413 || answer.status() == 400,
        "a 10 MB response is refused: {}",
        answer.status()
    );
}

// REQ-AD-1 REQ-AD-3: removing the connection says on its confirmation page how many AD users
// lose their login; afterwards the connection ID is unknown and AD is no longer offered.
#[tokio::test]
async fn removing_the_connection_is_confirmed_and_ends_ad_logins() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let menu = contractor(&app).await;
    let (_, settings) = page(get(&app, &menu, "account/active-directory").await);
    let remove_path = format!("/{BRAND}/account/active-directory/remove");
    let (_, confirm) = page(
        menu.post(&app.base, &remove_path, &fields(&settings, &[]))
            .await
            .unwrap(),
    );
    assert!(
        confirm.contains("ログインできなくなります") && confirm.contains(": 1)"),
        "the confirmation says what happens to the 1 AD user: {}",
        excerpt(&confirm)
    );
    assert!(
        app.op
            .store
            .find_ad_connection(&id)
            .await
            .unwrap()
            .is_some(),
        "not yet"
    );
    let (_, removed) = page(submit(&app, &menu, &confirm, &[]).await);
    assert!(removed.contains("削除しました"), "{}", excerpt(&removed));
    let browser = Browser::new();
    let (_, unknown) = page(
        browser
            .follow(&app.base, &format!("{}/ad/{id}", app.issuer()))
            .await
            .unwrap(),
    );
    assert!(
        unknown.contains("接続IDが正しくありません"),
        "{}",
        excerpt(&unknown)
    );
}

/// The signing certificates the SP metadata lists, in order.
async fn sp_certificates(app: &TestApp, id: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{}/saml/{id}", app.issuer()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("X509Certificate"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect()
}

// REQ-AD-4: the SP key that signs AuthnRequests rotates like the OIDC keys: after a rotation the
// SP metadata lists the new certificate first and still the old one (ADFS may hold either while
// it refreshes the relying-party trust), and AD logins go on.
#[tokio::test]
async fn the_sp_signing_key_rotates_and_both_certificates_are_published() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let before = sp_certificates(&app, &id).await;
    assert_eq!(before.len(), 1, "one SP key at first");
    sekisho_app::active_directory::sp_keys::rotate(&app.services)
        .await
        .unwrap();
    let after = sp_certificates(&app, &id).await;
    assert_eq!(after.len(), 2, "the new and the retired certificate");
    assert_ne!(after[0], before[0], "the new one first");
    assert_eq!(after[1], before[0]);
    let (at, body) = page(login_by_url(&app, &Browser::new(), &id).await);
    assert!(at.contains("/signed-in"), "{at}: {}", excerpt(&body));
}

// REQ-AD-1: changing the connection (here from the metadata URL to pasted XML) keeps its ID and
// its users' bindings; the confirmation page says what happens to the AD users.
#[tokio::test]
async fn changing_the_connection_keeps_its_id_and_says_what_happens_to_ad_users() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    let id = connect(&app, &idp).await;
    register_taro(&app, &idp, &id).await;
    let menu = contractor(&app).await;
    let (_, form) = page(get(&app, &menu, "account/active-directory").await);
    let xml = idp.metadata().unwrap();
    // The page has two forms (change, remove): post the change form's fields.
    let change = fields(
        &form,
        &[("step", "check"), ("source", "xml"), ("metadata_xml", &xml)],
    );
    let path = format!("/{BRAND}/account/active-directory");
    let (_, confirm) = page(menu.post(&app.base, &path, &change).await.unwrap());
    assert!(
        confirm.contains("ログイン方法の再設定が必要です") && confirm.contains(": 1)"),
        "the confirmation states what happens to the 1 AD user: {}",
        excerpt(&confirm)
    );
    let (_, done) = page(submit(&app, &menu, &confirm, &[]).await);
    assert!(done.contains("変更しました"), "{}", excerpt(&done));
    assert_eq!(connection_id_in(&done), id, "the connection ID stays");
    let saved = app.op.store.find_ad_connection(&id).await.unwrap().unwrap();
    assert_eq!(saved.metadata_url, None, "now pasted XML");
    let (at, body) = page(login_by_url(&app, &Browser::new(), &id).await);
    assert!(
        at.contains("/signed-in"),
        "the AD user still logs in: {at}: {}",
        excerpt(&body)
    );
}

// Issue 17 (background work done once): every node runs the metadata refresh; when two run it
// at the same moment, one reads each due connection's metadata.
#[tokio::test]
async fn the_metadata_refresh_is_done_once_when_nodes_run_it_together() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let idp = adfs();
    connect(&app, &idp).await;
    advance(&app, &idp, app.services.ad.refresh_every + 1);
    let refresh = || sekisho_app::active_directory::connection::refresh_due(&app.services);
    let (a, b) = tokio::join!(refresh(), refresh());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one of the two read it");
    assert_eq!(refresh().await.unwrap(), 0, "no longer due");
}
