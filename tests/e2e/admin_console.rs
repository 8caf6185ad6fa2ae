//! Issue 16's admin console, through the HTTP server: the console's navigation, the user table
//! with search, paging and status badges, the destructive actions apart and confirmed (無効にする
//! no longer acts at once), refusals shown on the page that caused them, and the audit log view
//! of the contract's own events.

use crate::two_factor::{fields, page};
use crate::user_lifecycle::{browser_get as get, contractor, submit};
use sekisho_core::email::Email;
use sekisho_core::model::{Plan, Role, TwoFactorSetting, User, UserStatus};
use sekisho_e2e::{Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD};

/// The page's main content, for messages (the head's styles are long).
fn main_of(body: &str) -> String {
    let start = body.find("<main").unwrap_or(0);
    body[start..].chars().take(3000).collect()
}

fn status(hop: &Hop) -> u16 {
    match hop {
        Hop::Page { status, .. } => status.as_u16(),
        Hop::LeftOp(_) => 0,
    }
}

/// A user of `contract_id` written straight to the store (no password: the list only shows them).
async fn put_user(
    app: &TestApp,
    contract_id: &str,
    email: &str,
    name: &str,
    edit: impl FnOnce(&mut User),
) -> String {
    let mut u = User {
        id: format!("usr_{}", email.replace(['@', '.'], "_")),
        contract_id: contract_id.into(),
        brand: sekisho_core::model::BrandCode::parse(BRAND).unwrap(),
        email: Email::parse(email).unwrap(),
        name: name.into(),
        role: Role::User,
        login_method: sekisho_core::model::LoginMethod::Password,
        password_hash: None,
        failed_logins: 0,
        locked_at: None,
        status: UserStatus::Active,
        created_at: app.op.now(),
    };
    edit(&mut u);
    app.op.store.insert_user(&u).await.unwrap();
    u.id
}

/// The `data-page` of a page (which template answered).
fn data_page(body: &str) -> &str {
    let start = body.find("data-page=\"").map(|i| i + 11).unwrap_or(0);
    &body[start..start + body[start..].find('"').unwrap_or(0)]
}

/// The first `<tbody>` of the page (the table's rows).
fn rows(body: &str) -> &str {
    let start = body.find("<tbody>").expect("a table");
    &body[start..start + body[start..].find("</tbody>").unwrap()]
}

/// The whole `<form>…</form>` of `html` whose action ends with `action` (its hidden fields only).
fn form_at<'a>(html: &'a str, action: &str) -> &'a str {
    let at = html
        .find(&format!("{action}\""))
        .unwrap_or_else(|| panic!("no form for {action} in {}", main_of(html)));
    let start = html[..at].rfind("<form").unwrap();
    &html[start..at + html[at..].find("</form>").unwrap()]
}

/// Another contract of the brand whose contractor logs in with the password alone; its id.
async fn other_contract(app: &TestApp) -> String {
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
        .set_contract_two_factor(&other.contract_id, TwoFactorSetting::Disabled)
        .await
        .unwrap();
    other.contract_id
}

/// `email` signed in to the account menu (and so to the console).
async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let browser = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    let (at, menu) = page(
        browser
            .submit_login(&app.base, &login, email, PASSWORD)
            .await
            .unwrap(),
    );
    assert!(at.ends_with("/account"), "{at}: {}", main_of(&menu));
    browser
}

// ISSUE-16 (the admin console; REQ-USER-1): the console's pages share a navigation (users, 回線認証,
// Active Directory for the contractor, the audit log, back to the menu) with the current page
// marked; the user list reads a page of 50 with the count 「121件中 1–50件」, pages by links,
// searches email or name in any case within the contract only, and cuts a long search.
#[tokio::test]
async fn the_user_list_searches_and_pages_thousands_of_users() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    for i in 0..120 {
        let name = if i % 10 == 0 {
            format!("鈴木 一郎{i}")
        } else {
            format!("佐藤 {i}")
        };
        put_user(
            &app,
            &seed.contract_id,
            &format!("m{i:03}@bulk.example"),
            &name,
            |_| {},
        )
        .await;
    }
    let other = other_contract(&app).await;
    put_user(&app, &other, "suzuki@other.example.jp", "鈴木 他社", |_| {}).await;
    let console = contractor(&app).await;

    let (_, first) = page(get(&app, &console, "admin").await);
    assert_eq!(data_page(&first), "admin_users");
    let main = main_of(&first);
    assert!(
        first.contains("<main id=\"main\" class=\"console\""),
        "{main}"
    );
    for link in [
        format!("<a href=\"/{BRAND}/admin\" aria-current=\"page\">ユーザー</a>"),
        format!("<a href=\"/{BRAND}/admin/lines\">回線認証</a>"),
        format!("<a href=\"/{BRAND}/account/active-directory\">Active Directory設定</a>"),
        format!("<a href=\"/{BRAND}/admin/audit\">監査ログ</a>"),
        format!("<a href=\"/{BRAND}/account\">"),
    ] {
        assert!(first.contains(&link), "{link}: {main}");
    }
    assert!(first.contains("121件中 1–50件"), "{main}");
    let listed = rows(&first);
    assert_eq!(listed.matches("<tr>").count(), 50);
    assert!(listed.contains("m000@bulk.example") && listed.contains("m049@bulk.example"));
    assert!(!listed.contains("m050@bulk.example"));
    // Each cell names its column, so that a phone can show a row as a card.
    assert!(listed.contains("<td data-label=\"メールアドレス\">m000@bulk.example</td>"));
    assert!(listed.contains("data-label=\"状態\""));
    assert!(first.contains("admin?page=2\" rel=\"next\""), "{main}");

    let (_, last) = page(get(&app, &console, "admin?page=3").await);
    assert!(last.contains("121件中 101–121件"), "{}", main_of(&last));
    assert!(rows(&last).contains(EMAIL), "the contractor sorts last");
    assert!(last.contains("aria-current=\"page\" aria-label=\"3ページ目\">3</a>"));
    let (_, past) = page(get(&app, &console, "admin?page=99").await);
    assert!(
        past.contains("121件中 101–121件"),
        "past the end is the last page"
    );
    let (_, junk) = page(get(&app, &console, "admin?page=abc").await);
    assert!(junk.contains("121件中 1–50件"));

    // Search by name (another contract's 鈴木 is not found), by email in any case.
    let (_, suzuki) = page(get(&app, &console, "admin?q=%E9%88%B4%E6%9C%A8").await);
    assert!(suzuki.contains("12件中 1–12件"), "{}", main_of(&suzuki));
    assert!(!suzuki.contains("suzuki@other.example.jp"));
    assert!(!suzuki.contains("rel=\"next\""), "one page, no page links");
    assert!(
        suzuki.contains("value=\"鈴木\""),
        "the search stays in its field"
    );
    let (_, upper) = page(get(&app, &console, "admin?q=M00").await);
    assert!(upper.contains("10件中 1–10件"), "{}", main_of(&upper));
    let (_, none) = page(get(&app, &console, "admin?q=nobody").await);
    assert!(none.contains("検索条件に一致するユーザーはいません。"));
    // A search's pages keep the search.
    let (_, sato) = page(get(&app, &console, "admin?q=%E4%BD%90%E8%97%A4").await);
    assert!(sato.contains("108件中 1–50件"), "{}", main_of(&sato));
    assert!(
        sato.contains("?q=%E4%BD%90%E8%97%A4&amp;page=2"),
        "{}",
        main_of(&sato)
    );
    // A long search is cut to 100 characters.
    let long = "あ".repeat(300);
    let hop = get(&app, &console, &format!("admin?q={long}")).await;
    assert_eq!(status(&hop), 200);
    let (_, cut) = page(hop);
    assert!(cut.contains(&format!("value=\"{}\"", "あ".repeat(100))));
    assert!(!cut.contains(&"あ".repeat(101)));

    // An admin has the console without the contractor's Active Directory item.
    sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        "admin@example.jp",
        PASSWORD,
        Role::Admin,
        "管理者",
    )
    .await
    .unwrap();
    let admin = signed_in(&app, "admin@example.jp").await;
    let (_, list) = page(get(&app, &admin, "admin").await);
    assert!(list.contains("122件中 1–50件"), "{}", main_of(&list));
    assert!(list.contains(&format!("href=\"/{BRAND}/admin/audit\"")));
    assert!(
        !list.contains("/account/active-directory"),
        "{}",
        main_of(&list)
    );
}

// ISSUE-16: the list's status badges: 有効, 登録待ち, 無効, ロック中, a pending email change, an
// invitation that expired; and the role.
#[tokio::test]
async fn the_user_list_shows_status_badges_and_roles() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let now = app.op.now();
    put_user(&app, &seed.contract_id, "off@example.jp", "", |u| {
        u.status = UserStatus::Disabled
    })
    .await;
    put_user(&app, &seed.contract_id, "locked@example.jp", "", |u| {
        u.locked_at = Some(now)
    })
    .await;
    put_user(&app, &seed.contract_id, "lapsed@example.jp", "", |u| {
        u.status = UserStatus::Invited
    })
    .await;
    let moving = put_user(&app, &seed.contract_id, "moving@example.jp", "", |u| {
        u.role = Role::Admin
    })
    .await;
    let console = contractor(&app).await;
    let (_, list) = page(get(&app, &console, "admin").await);
    let hop = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/invite"),
            &fields(
                &list,
                &[
                    ("email", "new@example.jp"),
                    ("name", "新人"),
                    ("role", "user"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(status(&hop), 200);
    let (_, user) = page(get(&app, &console, &format!("admin/users/{moving}")).await);
    let (at, _) = page(
        console
            .post(
                &app.base,
                &format!("/{BRAND}/admin/users/{moving}/email"),
                &fields(&user, &[("new_email", "moved@example.jp")]),
            )
            .await
            .unwrap(),
    );
    assert!(at.contains("done=email"), "{at}");

    let (_, list) = page(get(&app, &console, "admin").await);
    let table = rows(&list);
    let row = |email: &str| -> String {
        let start = table
            .find(&format!(">{email}<"))
            .unwrap_or_else(|| panic!("{email}"));
        let end = start + table[start..].find("</tr>").unwrap();
        table[start..end].to_owned()
    };
    let badge =
        |class: &str, text: &str| format!("<span class=\"badge badge-{class}\">{text}</span>");
    assert!(
        row(EMAIL).contains(&badge("active", "有効")),
        "{}",
        row(EMAIL)
    );
    assert!(row(EMAIL).contains(">契約者<"));
    assert!(row("off@example.jp").contains(&badge("disabled", "無効")));
    assert!(row("locked@example.jp").contains(&badge("locked", "ロック中")));
    assert!(row("new@example.jp").contains(&badge("invited", "登録待ち")));
    assert!(!row("new@example.jp").contains("badge-expired"));
    assert!(row("lapsed@example.jp").contains(&badge("expired", "招待の期限切れ")));
    assert!(row("moving@example.jp").contains(&badge("pending", "メールアドレス変更手続き中")));
    assert!(row("moving@example.jp").contains(">管理者<"));
}

// ISSUE-16 (broken: destructive actions without confirmation): 無効にする no longer acts at once.
// The user's page keeps it and 削除 apart, under 危険な操作; the first POST only leads to a
// confirmation page and changes nothing; the confirmed POST disables. 有効にする acts directly.
#[tokio::test]
async fn disabling_asks_for_a_confirmation_first() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let jiro = put_user(&app, &seed.contract_id, "jiro@example.jp", "次郎", |_| {}).await;
    let status_of = || async { app.op.store.find_user(&jiro).await.unwrap().unwrap().status };
    let console = contractor(&app).await;
    let (_, user) = page(get(&app, &console, &format!("admin/users/{jiro}")).await);
    assert_eq!(data_page(&user), "admin_user");
    let danger = &user[user.find("危険な操作").expect("a danger zone")..];
    let ordinary = &user[..user.find("危険な操作").unwrap()];
    assert!(danger.contains("無効にする") && danger.contains("/delete\""));
    assert!(!ordinary.contains("無効にする") && !ordinary.contains("/delete\""));

    // The page's 無効にする: a confirmation, nothing changed.
    let (at, ask) = page(submit(&app, &console, form_at(danger, "/status"), &[]).await);
    assert!(
        at.ends_with(&format!("/admin/users/{jiro}/disable")),
        "{at}"
    );
    assert_eq!(data_page(&ask), "admin_confirm");
    assert!(
        ask.contains("jiro@example.jp を無効にします。"),
        "{}",
        main_of(&ask)
    );
    assert_eq!(
        status_of().await,
        UserStatus::Active,
        "nothing changes before the confirmation"
    );
    // Posting the status form directly, without the confirmation, does not disable either.
    let direct = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{jiro}/status"),
            &fields(&user, &[("enabled", "false")]),
        )
        .await
        .unwrap();
    assert_eq!(data_page(&page(direct).1), "admin_confirm");
    assert_eq!(status_of().await, UserStatus::Active);

    // Confirmed: disabled.
    let (at, after) = page(submit(&app, &console, &ask, &[("confirmed", "on")]).await);
    assert!(at.contains("done=disabled"), "{at}");
    assert!(
        after.contains("ユーザーを無効にしました。"),
        "{}",
        main_of(&after)
    );
    assert_eq!(status_of().await, UserStatus::Disabled);

    // Enabling acts at once, from the ordinary actions.
    let ordinary = &after[..after.find("危険な操作").unwrap()];
    assert!(ordinary.contains("有効にする"));
    let (at, _) = page(submit(&app, &console, form_at(ordinary, "/status"), &[]).await);
    assert!(at.contains("done=enabled"), "{at}");
    assert_eq!(status_of().await, UserStatus::Active);

    // Deleting too asks first.
    let (at, ask) = page(submit(&app, &console, form_at(danger, "/delete"), &[]).await);
    assert!(at.ends_with(&format!("/admin/users/{jiro}/delete")), "{at}");
    assert!(
        ask.contains("jiro@example.jp を削除します。"),
        "{}",
        main_of(&ask)
    );
    assert!(app.op.store.find_user(&jiro).await.unwrap().is_some());
}

// ISSUE-16 (REQ-USER-1, REQ-USER-6): a refused invitation or email change is shown on the page
// that caused it, with the typed values and the message beside the field (400 or 409), not on
// a separate error page.
#[tokio::test]
async fn refusals_are_shown_beside_the_field_that_caused_them() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let jiro = put_user(&app, &seed.contract_id, "jiro@example.jp", "次郎", |_| {}).await;
    let console = contractor(&app).await;
    let (_, list) = page(get(&app, &console, "admin").await);
    let invite = |email: &'static str, name: String| {
        let form = fields(
            &list,
            &[("email", email), ("name", &name), ("role", "admin")],
        );
        let console = &console;
        let app = &app;
        async move {
            console
                .post(&app.base, &format!("/{BRAND}/admin/invite"), &form)
                .await
                .unwrap()
        }
    };
    for (email, name, code, field, text) in [
        (
            "not-an-address",
            "山田 花子".to_owned(),
            400,
            "email",
            "メールアドレスの形式が正しくありません。",
        ),
        (
            EMAIL,
            "山田 花子".to_owned(),
            409,
            "email",
            "このメールアドレスはすでに登録されています。",
        ),
        (
            "long@example.jp",
            "あ".repeat(201),
            400,
            "name",
            "氏名は200文字以内",
        ),
    ] {
        let hop = invite(email, name.clone()).await;
        assert_eq!(status(&hop), code, "{email}");
        let (_, body) = page(hop);
        assert_eq!(data_page(&body), "admin_users", "{email}");
        let beside = format!("<p class=\"field-error\" id=\"{field}-error\">{text}");
        assert!(body.contains(&beside), "{email}: {}", main_of(&body));
        assert!(body.contains(&format!("aria-describedby=\"{field}-error\"")));
        assert!(body.contains("aria-invalid=\"true\""));
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "the address stays typed"
        );
        let typed: String = name.chars().take(200).collect();
        assert!(
            body.contains(&format!("value=\"{typed}\"")),
            "the name stays typed"
        );
        assert!(
            body.contains("<option value=\"admin\" selected>"),
            "the role stays chosen"
        );
    }

    // An email change to a taken address, on the user's page.
    let (_, user) = page(get(&app, &console, &format!("admin/users/{jiro}")).await);
    let hop = console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{jiro}/email"),
            &fields(&user, &[("new_email", EMAIL)]),
        )
        .await
        .unwrap();
    assert_eq!(status(&hop), 409);
    let (_, body) = page(hop);
    assert_eq!(data_page(&body), "admin_user");
    assert!(
        body.contains("<p class=\"field-error\" id=\"new-email-error\">このメールアドレスはすでに登録されています。"),
        "{}",
        main_of(&body)
    );
    assert!(body.contains(&format!("value=\"{EMAIL}\"")));
}

// ISSUE-16: the audit log view shows the contract's own events, newest first, with time, actor,
// event and target (a deleted user by id); another contract's events and events of no contract
// (an unknown address's failed login) are not shown. A plain user cannot open it.
#[tokio::test]
async fn the_audit_log_shows_the_contracts_own_events() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let other = other_contract(&app).await;
    put_user(&app, &other, "theirs@other.example.jp", "", |_| {}).await;

    // The other contract: its contractor logs in and invites someone.
    let boss = signed_in(&app, "boss@other.example.jp").await;
    let (_, list) = page(get(&app, &boss, "admin").await);
    boss.post(
        &app.base,
        &format!("/{BRAND}/admin/invite"),
        &fields(
            &list,
            &[
                ("email", "invitee@other.example.jp"),
                ("name", ""),
                ("role", "user"),
            ],
        ),
    )
    .await
    .unwrap();
    // A failed login with an unknown address belongs to no contract.
    let stranger = Browser::new();
    let url = format!("{}/{BRAND}/account/login", app.base);
    let (_, login) = page(stranger.follow(&app.base, &url).await.unwrap());
    stranger
        .submit_login(&app.base, &login, "nobody@example.jp", PASSWORD)
        .await
        .unwrap();

    // Ours: the contractor invites Hanako, makes her an admin, deletes her.
    let console = contractor(&app).await;
    let (_, list) = page(get(&app, &console, "admin").await);
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/invite"),
            &fields(
                &list,
                &[
                    ("email", "hanako@example.jp"),
                    ("name", "花子"),
                    ("role", "user"),
                ],
            ),
        )
        .await
        .unwrap();
    let hanako = app
        .op
        .store
        .find_user_by_email(BRAND, &Email::parse("hanako@example.jp").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, user) = page(get(&app, &console, &format!("admin/users/{hanako}")).await);
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{hanako}/role"),
            &fields(&user, &[("role", "admin")]),
        )
        .await
        .unwrap();
    console
        .post(
            &app.base,
            &format!("/{BRAND}/admin/users/{hanako}/delete"),
            &fields(&user, &[("confirmed", "on")]),
        )
        .await
        .unwrap();

    let (_, log) = page(get(&app, &console, "admin/audit").await);
    assert_eq!(data_page(&log), "admin_audit");
    let main = main_of(&log);
    assert!(log.contains(&format!(
        "<a href=\"/{BRAND}/admin/audit\" aria-current=\"page\">監査ログ</a>"
    )));
    let table = rows(&log);
    for text in [
        "ログイン（パスワード）",
        "利用者登録（案内メール送信）",
        "権限の変更",
        "ユーザーの削除",
        EMAIL,
        &format!("削除されたユーザー（{hanako}）"),
        "(JST)",
        "<td data-label=\"操作者\">",
    ] {
        assert!(table.contains(text), "{text}: {main}");
    }
    let at = |text: &str| table.find(text).unwrap();
    assert!(at("ユーザーの削除") < at("権限の変更"), "newest first");
    assert!(at("権限の変更") < at("利用者登録（案内メール送信）"));
    for theirs in [
        "boss@other.example.jp",
        "invitee@other.example.jp",
        "nobody@example.jp",
        "ログイン失敗",
    ] {
        assert!(!log.contains(theirs), "{theirs}: {main}");
    }

    // The other contractor sees theirs, not ours.
    let (_, log) = page(get(&app, &boss, "admin/audit").await);
    let table = rows(&log);
    assert!(table.contains("boss@other.example.jp"));
    assert!(!table.contains(EMAIL) && !table.contains(&hanako));

    // A plain user cannot open it.
    sekisho::admin::add_user(
        &app.op,
        &seed.contract_id,
        "plain@example.jp",
        PASSWORD,
        Role::User,
        "",
    )
    .await
    .unwrap();
    let plain = signed_in(&app, "plain@example.jp").await;
    assert_eq!(status(&get(&app, &plain, "admin/audit").await), 403);
}
