//! Line authentication's settings (issue 14 item 1), through the HTTP server: アクセス経路設定 in
//! the account menu with its confirmation and completion screens, the admin console's 回線認証
//! page (the route, and line numbers registered, refused and removed), and the admin API's line
//! operations driven by its OpenAPI description. What the settings do at login is the line
//! entry's suite.

use crate::admin_api::{add_user, client_token, service_client, Api, ADMIN};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor, submit};
use sekisho_core::line::LineNumber;
use sekisho_core::model::{AccessRoute, Plan, Role};
use sekisho_e2e::{Browser, Hop, TestApp, BRAND, PASSWORD};
use serde_json::{json, Value};

const CAF: &str = "CAF0123456789";
const COP: &str = "COPA1B2C3D4";
/// Registered by the other contract.
const THEIRS: &str = "CAFZZZZ999999";
const THE_TWO_FORMS: [&str; 2] = ["CAFで始まる英数13桁", "COPで始まる英数11桁"];

fn status(hop: &Hop) -> u16 {
    match hop {
        Hop::Page { status, .. } => status.as_u16(),
        Hop::LeftOp(_) => 0,
    }
}

async fn route(app: &TestApp, contract_id: &str) -> AccessRoute {
    app.op
        .store
        .find_contract(contract_id)
        .await
        .unwrap()
        .unwrap()
        .access_route
}

async fn numbers(app: &TestApp, contract_id: &str) -> Vec<String> {
    app.op
        .store
        .list_lines(contract_id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.number)
        .collect()
}

/// Another contract of the brand, holding the line THEIRS; its id.
async fn other_contract_with_a_line(app: &TestApp) -> String {
    let other = sekisho::admin::create_contract(
        &app.op,
        BRAND,
        "別会社",
        "boss@other.example.jp",
        PASSWORD,
        Plan::Basic,
    )
    .await
    .unwrap();
    app.op
        .store
        .add_line(
            &other.contract_id,
            &LineNumber::parse(THEIRS).unwrap(),
            app.op.now(),
        )
        .await
        .unwrap();
    other.contract_id
}

/// Logs `email` in to the account menu; the menu page.
async fn menu_login(app: &TestApp, email: &str) -> (Browser, String) {
    let browser = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let (at, menu) = page(
        browser
            .submit_login(&app.base, &login, email, PASSWORD)
            .await
            .unwrap(),
    );
    assert!(at.ends_with("/account"), "{at}: {}", excerpt(&menu));
    (browser, menu)
}

// REQ-LINE-1 REQ-MENU-2 REQ-2FA-8: the contractor switches the contract to 回線認証のみ from the
// account menu through the confirmation screen, whose warning must be acknowledged, and back.
#[tokio::test]
async fn contractor_switches_to_line_only_through_confirmation_and_back() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let (menu, menu_page) = menu_login(&app, sekisho_e2e::EMAIL).await;
    assert!(
        menu_page
            .replace("&#x2f;", "/")
            .contains(&format!("href=\"/{BRAND}/account/access-route\""))
            && menu_page.contains("アクセス経路設定"),
        "{}",
        excerpt(&menu_page)
    );

    let (_, setting) = page(get(&app, &menu, "account/access-route").await);
    for text in [
        "アクセス経路設定",
        "回線認証+インターネット",
        "回線認証及びインターネット接続の両方でサービスを利用する場合",
        "※初期設定",
        "回線認証のみ",
        "指定した回線環境のみから本サービスをご利用する場合",
        "ご契約内のユーザすべての設定が変更されます",
    ] {
        assert!(setting.contains(text), "{text}: {}", excerpt(&setting));
    }
    assert!(
        setting.contains("id=\"current-route\">回線認証+インターネット<"),
        "the default: {}",
        excerpt(&setting)
    );

    // A post without the session's CSRF token changes nothing.
    let forged = menu
        .post(
            &app.base,
            &format!("/{BRAND}/account/access-route"),
            &[
                ("route".into(), "line_only".into()),
                ("confirm".into(), "1".into()),
                ("acknowledged".into(), "on".into()),
            ],
        )
        .await
        .unwrap();
    assert_ne!(status(&forged), 303);
    assert_eq!(
        route(&app, &seed.contract_id).await,
        AccessRoute::LineAndInternet
    );

    // 回線認証のみ: the confirmation screen warns, and nothing changes yet.
    let (_, confirm) = page(submit(&app, &menu, &setting, &[("route", "line_only")]).await);
    for text in [
        "アクセス経路変更確認",
        "登録した回線以外(インターネット)からのアクセスはすべて拒否されます",
        "インターネットから認証・契約情報変更メニューにログインし",
        "2段階認証の設定は自動的に無効となります",
        "次回ログインから適用されます",
    ] {
        assert!(confirm.contains(text), "{text}: {}", excerpt(&confirm));
    }
    assert!(
        confirm.contains("id=\"after\">回線認証のみ<"),
        "{}",
        excerpt(&confirm)
    );
    assert_eq!(
        route(&app, &seed.contract_id).await,
        AccessRoute::LineAndInternet
    );

    // Confirmed without acknowledging the warning: refused, unchanged.
    let unticked = submit(&app, &menu, &confirm, &[]).await;
    assert_eq!(status(&unticked), 400);
    let (_, unticked) = page(unticked);
    assert!(
        unticked.contains("「上記の説明を確認しました。」にチェックしてください。"),
        "{}",
        excerpt(&unticked)
    );
    assert_eq!(
        route(&app, &seed.contract_id).await,
        AccessRoute::LineAndInternet
    );

    let (at, done) = page(submit(&app, &menu, &confirm, &[("acknowledged", "on")]).await);
    assert!(at.ends_with("/account/access-route/done"), "{at}");
    assert!(
        done.contains("アクセス経路設定完了") && done.contains("現在の設定: 回線認証のみ"),
        "{}",
        excerpt(&done)
    );
    assert_eq!(route(&app, &seed.contract_id).await, AccessRoute::LineOnly);

    // And back to 回線認証+インターネット: no acknowledgement needed for the safe direction.
    let (_, setting) = page(get(&app, &menu, "account/access-route").await);
    assert!(
        setting.contains("id=\"current-route\">回線認証のみ<"),
        "{}",
        excerpt(&setting)
    );
    let (_, confirm) = page(submit(&app, &menu, &setting, &[("route", "line_and_internet")]).await);
    assert!(
        !confirm.contains("id=\"line-only-warning\"") && !confirm.contains("id=\"acknowledged\""),
        "{}",
        excerpt(&confirm)
    );
    let (_, done) = page(submit(&app, &menu, &confirm, &[]).await);
    assert!(
        done.contains("現在の設定: 回線認証+インターネット"),
        "{}",
        excerpt(&done)
    );
    assert_eq!(
        route(&app, &seed.contract_id).await,
        AccessRoute::LineAndInternet
    );

    let audit = app.op.store.recent_audit(20).await.unwrap();
    let changes: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.kind == "contract.access_route.changed")
        .map(|e| {
            (
                e.detail["from"].as_str().unwrap(),
                e.detail["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes.len(), 2, "{audit:?}");
    assert!(changes.contains(&("line_and_internet", "line_only")));
    assert!(changes.contains(&("line_only", "line_and_internet")));
}

// REQ-MENU-2: only the contractor has アクセス経路設定 in the menu; an admin and a plain user
// neither see it nor can use it by its URL.
#[tokio::test]
async fn a_user_who_is_not_the_contractor_cannot_use_the_access_route_item() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    for (email, role) in [
        ("admin@example.jp", Role::Admin),
        ("user@example.jp", Role::User),
    ] {
        add_user(&app, &seed.contract_id, email, role).await;
        let (browser, menu) = menu_login(&app, email).await;
        assert!(
            !menu.contains("アクセス経路設定") && !menu.contains("access-route"),
            "{role}: {}",
            excerpt(&menu)
        );
        let shown = get(&app, &browser, "account/access-route").await;
        assert_eq!(status(&shown), 403, "{role}");
        let posted = browser
            .post(
                &app.base,
                &format!("/{BRAND}/account/access-route"),
                &fields(
                    &menu,
                    &[
                        ("route", "line_only"),
                        ("confirm", "1"),
                        ("acknowledged", "on"),
                    ],
                ),
            )
            .await
            .unwrap();
        assert_eq!(status(&posted), 403, "{role}");
        assert_eq!(
            route(&app, &seed.contract_id).await,
            AccessRoute::LineAndInternet
        );
    }
}

/// Registers `number` from the console page; the page that followed.
async fn register(app: &TestApp, console: &Browser, lines_page: &str, number: &str) -> Hop {
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/lines/add"),
            &fields(lines_page, &[("number", number)]),
        )
        .await
        .unwrap()
}

// REQ-LINE-2: the console registers CAF and COP numbers, lists them with their dates, refuses
// lower case, padding, wrong lengths and another contract's number (without naming it), each with
// the message that names the two valid forms, and removes a number after a confirmation.
#[tokio::test]
async fn console_registers_refuses_and_removes_line_numbers() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let other = other_contract_with_a_line(&app).await;
    let console = contractor(&app).await;

    let (_, users) = page(get(&app, &console, "admin").await);
    assert!(
        users.contains(&format!("href=\"/{BRAND}/admin/lines\"")),
        "the user list links the page: {}",
        excerpt(&users)
    );
    let (_, lines) = page(get(&app, &console, "admin/lines").await);
    for text in [
        "回線認証",
        "①アクセス経路選択",
        "②回線番号登録",
        "CAFで始まる英数13桁の番号またはCOPで始まる英数11桁の番号",
        "登録された回線番号はありません。",
    ] {
        assert!(lines.contains(text), "{text}: {}", excerpt(&lines));
    }

    for number in [CAF, COP] {
        let (at, after) = page(register(&app, &console, &lines, number).await);
        assert!(at.ends_with("?done=added"), "{at}");
        assert!(
            after.contains("回線番号を登録しました。"),
            "{}",
            excerpt(&after)
        );
        assert!(
            after.contains(&format!(">{number}</td>")),
            "{}",
            excerpt(&after)
        );
        assert!(
            after.contains("(JST)"),
            "the registration date: {}",
            excerpt(&after)
        );
    }
    let (at, again) = page(register(&app, &console, &lines, CAF).await);
    assert!(at.ends_with("?done=already"), "{at}");
    assert!(
        again.contains("この回線番号はすでに登録されています。"),
        "{}",
        excerpt(&again)
    );

    for bad in [
        "caf0123456789",
        "CAF012345678a",
        " CAF0123456789",
        "CAF0123456789 ",
        "CAF012345678",
        "CAF01234567890",
        "COP0123456",
        "COP012345678",
        "",
    ] {
        let refused = register(&app, &console, &lines, bad).await;
        assert_eq!(status(&refused), 400, "{bad:?}");
        let (_, body) = page(refused);
        for form in THE_TWO_FORMS {
            assert!(
                body.contains("回線番号が正しくありません。") && body.contains(form),
                "{bad:?}: {}",
                excerpt(&body)
            );
        }
    }
    let taken = register(&app, &console, &lines, THEIRS).await;
    assert_eq!(status(&taken), 409);
    let (_, body) = page(taken);
    assert!(
        body.contains("この回線番号はすでに登録されているため、登録できません。"),
        "{}",
        excerpt(&body)
    );
    assert!(
        !body.contains("別会社") && !body.contains(&other),
        "not named"
    );
    assert_eq!(numbers(&app, &seed.contract_id).await, vec![CAF, COP]);
    assert_eq!(numbers(&app, &other).await, vec![THEIRS], "not moved");

    // Removal asks first; an unconfirmed post removes nothing.
    let (_, confirm) = page(get(&app, &console, &format!("admin/lines/{CAF}/remove")).await);
    assert!(
        confirm.contains(&format!("回線番号 {CAF} を削除しますか?")),
        "{}",
        excerpt(&confirm)
    );
    let (at, _) = page(submit(&app, &console, &confirm, &[]).await);
    assert!(at.ends_with(&format!("/admin/lines/{CAF}/remove")), "{at}");
    assert_eq!(numbers(&app, &seed.contract_id).await, vec![CAF, COP]);
    let (at, after) = page(submit(&app, &console, &confirm, &[("confirmed", "on")]).await);
    assert!(at.ends_with("?done=removed"), "{at}");
    assert!(
        after.contains("回線番号を削除しました。"),
        "{}",
        excerpt(&after)
    );
    assert!(!after.contains(&format!(">{CAF}</td>")));
    assert_eq!(numbers(&app, &seed.contract_id).await, vec![COP]);

    // Another contract's line cannot be removed from here.
    let shown = get(&app, &console, &format!("admin/lines/{THEIRS}/remove")).await;
    assert_eq!(status(&shown), 404);
    let posted = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/lines/{THEIRS}/remove"),
            &fields(&lines, &[("confirmed", "on")]),
        )
        .await
        .unwrap();
    assert_eq!(status(&posted), 404);
    assert_eq!(numbers(&app, &other).await, vec![THEIRS]);
}

// REQ-LINE-1: an admin of the contract (not the contractor) changes the access route in the
// console's 回線認証 page, through the confirmation; a plain user cannot open the page.
#[tokio::test]
async fn an_admin_changes_the_route_in_the_console() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    add_user(&app, &seed.contract_id, "admin@example.jp", Role::Admin).await;
    // A plain user cannot open the page (checked first: once line-only, they cannot even log in
    // from the internet).
    add_user(&app, &seed.contract_id, "user@example.jp", Role::User).await;
    let (plain, _) = menu_login(&app, "user@example.jp").await;
    assert_eq!(status(&get(&app, &plain, "admin/lines").await), 403);
    let (console, _) = menu_login(&app, "admin@example.jp").await;
    let (_, lines) = page(get(&app, &console, "admin/lines").await);
    assert!(
        lines.contains("id=\"current-route\">回線認証+インターネット<"),
        "{}",
        excerpt(&lines)
    );
    // The page has two forms (route, number): post the route's.
    let posted = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/lines/access-route"),
            &fields(&lines, &[("route", "line_only")]),
        )
        .await
        .unwrap();
    let (_, confirm) = page(posted);
    assert!(
        confirm.contains("アクセス経路変更確認") && confirm.contains("id=\"line-only-warning\""),
        "{}",
        excerpt(&confirm)
    );
    assert_eq!(
        route(&app, &seed.contract_id).await,
        AccessRoute::LineAndInternet
    );
    // Line-only takes effect at once for this internet session (REQ-LINE-4): the completion is
    // shown on the spot, and the console is no longer reachable from here.
    let (_, after) = page(submit(&app, &console, &confirm, &[("acknowledged", "on")]).await);
    assert!(
        after.contains("アクセス経路設定の変更が完了しました。")
            && after.contains("インターネットからは利用できなくなりました"),
        "{}",
        excerpt(&after)
    );
    assert_eq!(route(&app, &seed.contract_id).await, AccessRoute::LineOnly);
    assert_eq!(status(&get(&app, &console, "admin/lines").await), 403);
}

/// The line operations through the description, for a token acting for `contract`; `other`
/// holds THEIRS. Leaves the contract with COP registered and the route `line_only`.
pub(crate) async fn lines_through_the_description(
    app: &TestApp,
    api: &mut Api,
    token: &str,
    contract: &str,
    other: &str,
) {
    if numbers(app, other).await.is_empty() {
        app.op
            .store
            .add_line(other, &LineNumber::parse(THEIRS).unwrap(), app.op.now())
            .await
            .unwrap();
    }
    let t = Some(token);
    let a = api
        .call("addLine", &[], t, Some(json!({ "number": CAF })))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["number"], json!(CAF));
    assert!(a
        .location
        .unwrap()
        .ends_with(&format!("/api/v1/lines/{CAF}")));
    let a = api
        .call("addLine", &[], t, Some(json!({ "number": COP })))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let a = api
        .call("addLine", &[], t, Some(json!({ "number": CAF })))
        .await;
    assert_eq!(a.status, 200, "registering again is idempotent: {}", a.body);
    for bad in [
        "caf0123456789",
        " CAF0123456789",
        "CAF012345678",
        "COP012345678",
    ] {
        let a = api
            .call("addLine", &[], t, Some(json!({ "number": bad })))
            .await;
        assert_eq!(a.status, 400, "{bad:?}");
        assert_eq!(a.body["error"], json!("invalid_line_number"), "{bad:?}");
        let said = a.body["error_description"].as_str().unwrap();
        assert!(
            THE_TWO_FORMS.iter().all(|f| said.contains(f)),
            "{bad:?}: {said}"
        );
    }
    let a = api
        .call("addLine", &[], t, Some(json!({ "number": THEIRS })))
        .await;
    assert_eq!(
        (a.status, a.body["error"].clone()),
        (409, json!("line_taken"))
    );
    assert!(!a.body.to_string().contains(other), "{}", a.body);
    let a = api.call("listLines", &[], t, None).await;
    assert_eq!(a.status, 200);
    let listed: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![CAF, COP]);
    let a = api.call("deleteLine", &[("number", CAF)], t, None).await;
    assert_eq!(a.status, 204);
    let a = api.call("deleteLine", &[("number", CAF)], t, None).await;
    assert_eq!(a.status, 404);
    let a = api.call("deleteLine", &[("number", THEIRS)], t, None).await;
    assert_eq!(a.status, 404, "another contract's line is not found");
    assert_eq!(numbers(app, other).await, vec![THEIRS]);
    assert_eq!(numbers(app, contract).await, vec![COP]);

    let a = api.call("getAccessRoute", &[], t, None).await;
    assert_eq!(a.body, json!({ "access_route": "line_and_internet" }));
    let a = api
        .call(
            "setAccessRoute",
            &[],
            t,
            Some(json!({ "access_route": "internet" })),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(route(app, contract).await, AccessRoute::LineAndInternet);
    let a = api
        .call(
            "setAccessRoute",
            &[],
            t,
            Some(json!({ "access_route": "line_only" })),
        )
        .await;
    assert_eq!(
        (a.status, a.body.clone()),
        (200, json!({ "access_route": "line_only" }))
    );
    assert_eq!(route(app, contract).await, AccessRoute::LineOnly);
    let a = api.call("getAccessRoute", &[], t, None).await;
    assert_eq!(a.body, json!({ "access_route": "line_only" }));
}

// REQ-LINE-1 REQ-LINE-2: the admin API lists the line operations with the number's pattern, and
// does what the console does; an unbound or plain caller is refused.
#[tokio::test]
async fn the_api_registers_lines_and_sets_the_route() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let other = other_contract_with_a_line(&app).await;
    let mut api = Api::load(&app).await;
    let doc: &Value = &api.doc;
    for path in ["/lines", "/lines/{number}", "/access-route"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let pattern = json!("^(CAF[A-Z0-9]{10}|COP[A-Z0-9]{8})$");
    let body_schema = &doc["paths"]["/lines"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    let name = body_schema
        .as_str()
        .unwrap()
        .trim_start_matches("#/components/schemas/");
    assert_eq!(
        doc["components"]["schemas"][name]["properties"]["number"]["pattern"], pattern,
        "{}",
        doc["components"]["schemas"][name]
    );
    let param = &doc["paths"]["/lines/{number}"]["delete"]["parameters"][0];
    assert_eq!(param["schema"]["pattern"], pattern, "{param}");
    assert_eq!(
        doc["components"]["schemas"]["AccessRouteSetting"]["properties"]["access_route"]["enum"],
        json!(["line_and_internet", "line_only"])
    );

    let (id, secret) = service_client(&app, ADMIN, Some(&seed.contract_id)).await;
    let token = client_token(&app, &id, &secret).await;
    let a = api.call("listLines", &[], None, None).await;
    assert_eq!(a.status, 401);
    lines_through_the_description(&app, &mut api, &token, &seed.contract_id, &other).await;

    // A client bound to no contract acts for none.
    let (id, secret) = service_client(&app, ADMIN, None).await;
    let unbound = client_token(&app, &id, &secret).await;
    let a = api
        .call(
            "addLine",
            &[],
            Some(&unbound),
            Some(json!({ "number": CAF })),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(numbers(&app, &seed.contract_id).await, vec![COP]);
}
