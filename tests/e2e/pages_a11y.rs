//! The page tour (ISSUE-16, acceptance): Debian's headless Chromium, driven by
//! tests/browser/tour.mjs, visits every hosted page in Japanese and English at desktop and phone
//! width, saves a screenshot of each under `test-artifacts/pages/{lang}-{width}/`, and runs
//! axe-core on it. This test prepares every state a page needs (a contract with two-step
//! verification on and an account per variant that has not enrolled, users invited, locked,
//! disabled and with pending changes, a Google user with an email change to confirm, a contractor
//! whose login-method change is pending, mailed links, an AD connection with the real test IdP, a
//! West Japan line behind the carrier gateway, a second brand in another colour), then checks
//! that every template in `sekisho_web::template_names()` was seen in all four variants, in the
//! variant's language, no wider than the screen, without an axe violation of impact serious or
//! critical. The tour's report is kept beside the screenshots (`report.json`).

use crate::active_directory::{adfs, connect};
use crate::node_driver::Driver;
use crate::support::authorize_url;
use sekisho::admin::{self, BrandChanges, ContractSettings};
use sekisho_core::line::LineNumber;
use sekisho_core::model::{AccessRoute, Plan, Role};
use sekisho_core::oauth::Lang;
use sekisho_core::tickets::TicketPurpose;
use sekisho_core::two_factor::TwoFactorSetting;
use sekisho_core::Clock;
use sekisho_crypto::tokens::hash_token;
use sekisho_e2e::{link_in, TestApp, BRAND, EMAIL, OTHER_BRAND, PASSWORD};
use sekisho_store::UpstreamBinding;
use sekisho_testkit::{CarrierGateway, TestPki};
use sekisho_upstream::ConnectorSettings;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The variants tour.mjs runs, in order (`{lang}-{width}`).
const VARIANTS: [&str; 4] = ["ja-1280", "ja-390", "en-1280", "en-390"];
/// Templates that are no page of their own (each is audited inside the pages that use it).
const NOT_PAGES: [(&str, &str); 6] = [
    ("layout.html", "the frame every page extends"),
    (
        "console.html",
        "the admin console's frame (admin_users, admin_user, …)",
    ),
    (
        "admin_badges.html",
        "status badges (admin_users, admin_user)",
    ),
    ("admin_pager.html", "the pager (admin_users, admin_audit)"),
    (
        "admin_pending.html",
        "a user's pending change (admin_user of goro, rokuro)",
    ),
    (
        "pending_change.html",
        "the menu's pending change (the pending walk)",
    ),
];
/// The contractor of the contract with a pending login-method change.
const PENDING_CONTRACTOR: &str = "horyu@example.jp";
/// A West Japan line of the main contract (回線情報通知設定 is asked over it).
const WEST_LINE: &str = "CAF0123456789";
/// More brands, each in its own colour: the CLI's example (a dark red), and a light yellow under
/// which white text would not read (the pages must choose another).
const OTHER_BRANDS: [(&str, &str, &str); 2] = [
    (OTHER_BRAND, "MDRドライブ", "#c8102e"),
    ("KIB", "きいろ便", "#ffd400"),
];

/// The upstream buttons of the login and login-method pages: real connectors whose providers
/// are never called (the tour does not press them).
fn upstream_buttons() -> Vec<ConnectorSettings> {
    let openid = |name: &str, discovery: &str| ConnectorSettings {
        name: name.into(),
        kind: name.into(),
        client_id: format!("sekisho-{name}"),
        client_secret: "unused".into(),
        discovery_url: discovery.into(),
        ..ConnectorSettings::default()
    };
    vec![
        openid("google", ""),
        openid("microsoft", ""),
        openid(
            "daccount",
            "https://conf.uw.docomo.ne.jp/.well-known/openid-configuration",
        ),
        ConnectorSettings {
            name: "facebook".into(),
            kind: "facebook".into(),
            client_id: "sekisho-facebook".into(),
            client_secret: "unused".into(),
            ..ConnectorSettings::default()
        },
    ]
}

/// A user of `contract` with the password login (role user).
async fn member(app: &TestApp, contract: &str, email: &str, name: &str) -> String {
    admin::add_user(&app.op, contract, email, PASSWORD, Role::User, name)
        .await
        .unwrap_or_else(|e| panic!("{email}: {e:#}"))
}

/// The link starting with `{issuer}/{path}?ticket=` in the mail to `to`.
fn mailed(mails: &[sekisho_testkit::ReceivedMail], to: &str, path: &str, issuer: &str) -> String {
    let prefix = format!("{issuer}/{path}?ticket=");
    mails
        .iter()
        .filter(|m| m.to.contains(to))
        .find_map(|m| link_in(&m.body, &prefix))
        .unwrap_or_else(|| panic!("no {prefix}… mailed to {to}"))
}

/// One axe finding of the report, on one line per node: page, rule, impact, nodes.
fn describe(v: &Value) -> String {
    let nodes: Vec<String> = v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            format!(
                "      {} :: {}",
                n["target"].as_str().unwrap_or_default(),
                n["summary"].as_str().unwrap_or_default()
            )
        })
        .collect();
    format!(
        "  {} #{} {}{} [{}] {} ({}): {}\n{}",
        v["variant"].as_str().unwrap_or_default(),
        v["n"],
        v["page"].as_str().unwrap_or_default(),
        v["note"]
            .as_str()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default(),
        v["impact"].as_str().unwrap_or_default(),
        v["id"].as_str().unwrap_or_default(),
        v["url"].as_str().unwrap_or_default(),
        v["help"].as_str().unwrap_or_default(),
        nodes.join("\n")
    )
}

// ISSUE-16: every hosted page, in Japanese and English, at desktop (1280×800) and phone
// (390×844) width, is reached in headless Chromium, screenshotted, shown in the variant's
// language, fits the width of the screen, and has no axe-core violation of impact serious or
// critical (WCAG 2.0/2.1 A and AA, and axe's best practices).
#[tokio::test]
async fn every_page_in_both_languages_and_widths_passes_axe() {
    let app = TestApp::spawn_with_connectors(upstream_buttons()).await;
    let seed = app.seed().await;
    let store = &app.op.store;
    let services = &app.services;
    let issuer = app.issuer();
    let brand = app.op.brand(BRAND).await.unwrap().unwrap();

    // More brands in other colours: their login pages show the colour on the header and button.
    for (code, name, colour) in OTHER_BRANDS {
        admin::add_brand(&app.op, code, name).await.unwrap();
        let look = BrandChanges {
            primary_color: Some(colour.into()),
            ..BrandChanges::default()
        };
        admin::update_brand(&app.op, code, look).await.unwrap();
    }

    // The main contract (two-step verification off): the console's users in every state.
    let contract = seed.contract_id.as_str();
    let active = member(&app, contract, "jiro@example.jp", "次郎").await;
    let invited = admin::invite_user(
        services,
        contract,
        "hanako@example.jp",
        "花子",
        Role::User,
        Lang::Ja,
    )
    .await
    .unwrap()
    .id;
    let locked = member(&app, contract, "saburo@example.jp", "三郎").await;
    for _ in 0..10 {
        sekisho_app::signin::password_login(
            services,
            &brand,
            "saburo@example.jp",
            "wrong-password",
            Lang::Ja,
        )
        .await
        .unwrap();
    }
    let disabled = member(&app, contract, "shiro@example.jp", "四郎").await;
    admin::set_user_enabled(services, &disabled, false)
        .await
        .unwrap();
    let pending_email = member(&app, contract, "goro@example.jp", "五郎").await;
    admin::request_email_change(services, &pending_email, "goro-new@example.jp", Lang::Ja)
        .await
        .unwrap();
    let pending_method = member(&app, contract, "rokuro@example.jp", "六郎").await;
    let login_method_link = admin::login_method_change_link(services, &pending_method)
        .await
        .unwrap();
    let line_user = "nanami@example.jp";
    member(&app, contract, line_user, "七海").await;
    let forgot = sekisho_core::email::Email::parse("jiro@example.jp").unwrap();
    sekisho_app::signin::request_password_reset(services, &brand, &forgot, Lang::Ja)
        .await
        .unwrap();
    // A user who logs in with Google (bound as the login-method change would), whose email
    // change is confirmed with a button, not a password (email_change_confirm).
    let upstream_user = member(&app, contract, "hachiro@example.jp", "八郎").await;
    let bind_link = admin::login_method_change_link(services, &upstream_user)
        .await
        .unwrap();
    let binding = UpstreamBinding {
        brand: BRAND.into(),
        issuer: "https://accounts.google.com".into(),
        subject: "hachiro-google".into(),
        user_id: upstream_user.clone(),
        connector: "google".into(),
        email: None,
        created_at: app.op.now(),
    };
    let bind_ticket = bind_link.split_once("?ticket=").expect("a ticket link").1;
    assert!(store
        .bind_upstream(
            &binding,
            &hash_token(bind_ticket),
            TicketPurpose::LoginMethodChange.as_str(),
            app.op.now(),
        )
        .await
        .unwrap());
    admin::request_email_change(services, &upstream_user, "hachiro-new@example.jp", Lang::Ja)
        .await
        .unwrap();
    store
        .add_line(
            contract,
            &LineNumber::parse(WEST_LINE).unwrap(),
            app.op.now(),
        )
        .await
        .unwrap();

    // The contract's ADFS (the real test IdP), so the AD pages show a connection.
    let idp = adfs();
    let connection_id = connect(&app, &idp).await;

    // A contract with two-step verification on: one account per variant, not enrolled yet.
    let two_factor = admin::create_contract(
        &app.op,
        BRAND,
        "二段階株式会社",
        "nidan@example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    let mut variants = serde_json::Map::new();
    for variant in VARIANTS {
        let email = format!("tf-{variant}@example.jp");
        member(&app, &two_factor.contract_id, &email, "二段").await;
        variants.insert(variant.into(), json!({ "twoFactor": email }));
    }

    // A contract whose contractor has a login-method change pending: the menu shows it with its
    // cancellation (pending_change.html), and the email change is blocked by it (REQ-USER-7).
    let pending_contract = admin::create_contract(
        &app.op,
        BRAND,
        "保留株式会社",
        PENDING_CONTRACTOR,
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    admin::set_contract(
        services,
        &pending_contract.contract_id,
        ContractSettings {
            two_factor: Some(TwoFactorSetting::Disabled),
            plan: None,
            access_route: None,
        },
    )
    .await
    .unwrap();
    admin::login_method_change_link(services, &pending_contract.user_id)
        .await
        .unwrap();

    // A 回線認証のみ contract, whose contractor has the recovery link from the internet.
    let line_only = admin::create_contract(
        &app.op,
        BRAND,
        "回線専用株式会社",
        "kaisen@example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    admin::set_contract(
        services,
        &line_only.contract_id,
        ContractSettings {
            access_route: Some(AccessRoute::LineOnly),
            two_factor: None,
            plan: None,
        },
    )
    .await
    .unwrap();
    let line_owner = store.find_user(&line_only.user_id).await.unwrap().unwrap();
    let recovery = sekisho_app::tickets::issue(
        services,
        &line_owner,
        TicketPurpose::LineRecovery,
        &json!({}),
    )
    .await
    .unwrap()
    .unwrap();
    let line_recovery_link =
        sekisho_app::tickets::link(services, BRAND, TicketPurpose::LineRecovery, &recovery);

    // The carrier gateway (nginx) in front of the line entry, for the West Japan line.
    let pki = TestPki::create().unwrap();
    let entry = app.line_entry(&pki).await;
    let gateway = CarrierGateway::start(
        entry.addr,
        &[(WEST_LINE, "west")],
        &pki,
        "https://line.sekisho.test",
    )
    .unwrap();

    // A device waiting for its user (RFC 8628): the tour types its user code on /device.
    let device_client = crate::device_grant::cli_client(&app).await;
    let (_, device) = crate::device_grant::post(
        &app,
        "device_authorization",
        &[("client_id", device_client.as_str())],
    )
    .await;
    let device_user_code = device["user_code"]
        .as_str()
        .expect("a user code")
        .to_owned();

    let mails = app.deliver_mail().await;
    let ticket = login_method_link
        .split_once("?ticket=")
        .expect("a ticket link")
        .1;
    let plan = json!({
        "base": app.base,
        "brand": BRAND,
        "password": PASSWORD,
        "now": app.clock.now(),
        "contractor": EMAIL,
        "pendingContractor": PENDING_CONTRACTOR,
        "lineUser": line_user,
        "authorizeUrl": authorize_url(&app, &seed.client.client_id, &[]),
        "otherBrands": OTHER_BRANDS.map(|(code, _, colour)| json!({ "code": code, "colour": colour })),
        "links": {
            "invitation": mailed(&mails, "hanako@example.jp", "registration", &issuer),
            "reset": mailed(&mails, "jiro@example.jp", "password/reset", &issuer),
            "emailChange": mailed(&mails, "goro-new@example.jp", "email-change", &issuer),
            "loginMethod": login_method_link,
            "adBind": format!("{issuer}/ad/bind?ticket={ticket}"),
            "lineRecovery": line_recovery_link,
            // Opening it shows 「ロックを解除する」; only its button unlocks (the tour does not press it).
            "unlock": mailed(&mails, "saburo@example.jp", "unlock", &issuer),
            "emailChangeConfirm": mailed(&mails, "hachiro-new@example.jp", "email-change", &issuer),
        },
        "users": {
            "active": active,
            "invited": invited,
            "locked": locked,
            "disabled": disabled,
            "pendingEmail": pending_email,
            "pendingMethod": pending_method,
            "contractor": seed.user_id,
        },
        "deviceUserCode": device_user_code,
        "lineNumber": WEST_LINE,
        "adConnectionId": connection_id,
        "lineHost": gateway.url(WEST_LINE),
        "variants": variants,
    });

    let artifacts = sekisho_testkit::workspace_root().join("test-artifacts/pages");
    let mut driver = Driver::start(
        "tour.mjs",
        &[
            ("TOUR_PLAN", plan.to_string()),
            ("ARTIFACTS", artifacts.display().to_string()),
        ],
    );
    // One line per page (and per variant): each is awaited for a bounded time, the whole tour not.
    let mut lines = 0;
    while driver.next_line("PAGE, VARIANT or DONE").await != "DONE" {
        lines += 1;
    }
    let report = driver.finish().await;
    println!("the tour printed {lines} progress lines");
    let saved = artifacts.join("report.json");
    std::fs::write(&saved, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("the tour's report: {}", saved.display());
    drop(idp);

    let mut failures = Vec::new();
    // (a) Every page in every variant: the templates of pages.rs, less the frame.
    let pages: Vec<&str> = sekisho_web::template_names()
        .filter(|name| !NOT_PAGES.iter().any(|(n, _)| n == name))
        .map(|name| name.trim_end_matches(".html"))
        .collect();
    for variant in VARIANTS {
        let seen: Vec<&str> = report["variants"][variant]
            .as_array()
            .unwrap_or_else(|| panic!("no pages for {variant}: {report}"))
            .iter()
            .filter_map(|p| p["page"].as_str())
            .collect();
        let missing: Vec<&&str> = pages.iter().filter(|p| !seen.contains(p)).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{variant}: pages never reached: {missing:?} (add a stop to tests/browser/tour.mjs)"
            ));
        }
    }
    for key in ["problems", "skipped"] {
        for p in report[key].as_array().into_iter().flatten() {
            failures.push(format!("{key}: {p}"));
        }
    }
    // The variant's language on every page.
    for p in report["language"].as_array().into_iter().flatten() {
        failures.push(format!("not in the variant's language: {p}"));
    }
    // ISSUE-16 (every page usable at phone width): nothing wider than the viewport (WCAG 1.4.10).
    for p in report["overflow"].as_array().into_iter().flatten() {
        failures.push(format!(
            "{} #{} {} is {} px wide in a {} px viewport (sideways scrolling); sticking out: {} ({})",
            p["variant"].as_str().unwrap_or_default(),
            p["n"],
            p["page"].as_str().unwrap_or_default(),
            p["scrollWidth"],
            p["viewport"],
            p["elements"],
            p["url"].as_str().unwrap_or_default(),
        ));
    }
    // (b) No serious or critical axe violation.
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    if !violations.is_empty() {
        let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
        for v in &violations {
            *by_rule
                .entry(v["id"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        failures.push(format!(
            "{} axe violation(s) of impact serious or critical (by rule: {by_rule:?}):\n{}",
            violations.len(),
            violations
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    let minor = report["minor"].as_array().cloned().unwrap_or_default();
    println!(
        "axe findings of impact minor or moderate (not failures): {}\n{}",
        minor.len(),
        minor.iter().map(describe).collect::<Vec<_>>().join("\n")
    );
    println!(
        "screenshots: {} ({} pages per variant)",
        artifacts.display(),
        report["variants"]["ja-1280"].as_array().map_or(0, Vec::len)
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
