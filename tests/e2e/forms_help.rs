//! Issue 16, "forms that help", through the HTTP server: the SMS phone field (sized, typed, a
//! refused number shown back with its reason, a way to change the number), the address typed at
//! the login page carried to forgot-password, and the focus on the field that was wrong.

use crate::support::{authorize_url, rp_for};
use crate::two_factor::{excerpt, fields, page};
use crate::user_lifecycle::{browser_get as get, contractor, submit};
use sekisho_e2e::{link_in, Browser, Hop, TestApp, BRAND, EMAIL, PASSWORD};

/// `s` as the browser reads it: the HTML escapes minijinja writes (`&#x2f;` for `/`) undone.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// The opening tag of the element whose `id` is `id` (attribute values unescaped).
pub(crate) fn tag(html: &str, id: &str) -> String {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", excerpt(html)));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    unescape(&html[start..=end])
}

/// The value of attribute `name` in the opening tag `tag`.
pub(crate) fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(tag[start..start + tag[start..].find('"')?].to_owned())
}

/// The text of the element with `id`, up to its first closing tag.
pub(crate) fn text(html: &str, id: &str) -> String {
    let at = html
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", excerpt(html)));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</").unwrap();
    rest[open..close].to_owned()
}

/// The field `id` is marked as the wrong one: `aria-invalid`, the focus (and no other field has
/// it), and described by an element saying `reason`.
pub(crate) fn assert_wrong_field(html: &str, id: &str, reason: &str) {
    let t = tag(html, id);
    assert_eq!(
        attr(&t, "aria-invalid").as_deref(),
        Some("true"),
        "#{id} marked invalid: {t}"
    );
    assert!(t.contains(" autofocus"), "#{id} has the focus: {t}");
    assert_eq!(
        html.matches(" autofocus").count(),
        1,
        "one field has the focus: {}",
        excerpt(html)
    );
    let described = attr(&t, "aria-describedby").unwrap_or_else(|| panic!("#{id}: {t}"));
    assert!(
        described
            .split_whitespace()
            .any(|d| text(html, d).contains(reason)),
        "#{id} is described by {reason:?}: {described} in {}",
        excerpt(html)
    );
}

fn body(hop: Hop) -> (u16, String) {
    match hop {
        Hop::Page { status, body, .. } => (status.as_u16(), body),
        Hop::LeftOp(url) => panic!("left the OP for {url}"),
    }
}

// ISSUE-16 REQ-2FA-3: the SMS number field is a phone field sized to what the parser accepts,
// with the example under it; a refused number comes back in the field with its own reason
// (not a mobile number, or not a number) beside it and the focus on it; the code page offers
// 「電話番号を変更する」 (a POST), which returns to the number, and the next number gets the code.
#[tokio::test]
async fn the_sms_number_field_helps() {
    let app = TestApp::spawn().await;
    let seed = app.seed_two_factor().await;
    let rp = rp_for(&app, &seed).await;
    let browser = Browser::new();
    let (_, login) = page(
        browser
            .follow(&app.base, &rp.start(None, None).url)
            .await
            .unwrap(),
    );
    let (_, setup) = page(
        browser
            .submit_login(&app.base, &login, EMAIL, PASSWORD)
            .await
            .unwrap(),
    );
    let field = tag(&setup, "phone");
    for (name, want) in [
        ("type", "tel"),
        ("inputmode", "tel"),
        ("autocomplete", "tel"),
        ("maxlength", "24"),
        ("size", "24"),
    ] {
        assert_eq!(attr(&field, name).as_deref(), Some(want), "{name}: {field}");
    }
    let example_id = attr(&field, "aria-describedby").expect("the example describes the field");
    assert!(
        text(&setup, &example_id).contains("090-1234-5678"),
        "the example under the field"
    );
    assert!(attr(&field, "aria-invalid").is_none(), "{field}");

    let post_phone = |html: String, number: &'static str| {
        let browser = &browser;
        let base = app.base.clone();
        async move {
            body(
                browser
                    .post(
                        &base,
                        &format!("/{BRAND}/2fa/phone"),
                        &fields(&html, &[("phone", number)]),
                    )
                    .await
                    .unwrap(),
            )
        }
    };
    let (status, landline) = post_phone(setup.clone(), "03-1234-5678").await;
    assert_eq!(status, 400);
    assert_eq!(
        attr(&tag(&landline, "phone"), "value").as_deref(),
        Some("03-1234-5678"),
        "the number comes back to be corrected"
    );
    assert_wrong_field(&landline, "phone", "SMSを受信できる携帯電話の番号");
    let (_, malformed) = post_phone(landline, "090-1234-56789<b>").await;
    assert_wrong_field(&malformed, "phone", "電話番号の形式が正しくありません");
    assert!(
        !malformed.contains("<b>") && malformed.contains("090-1234-56789&lt;b&gt;"),
        "shown back escaped: {}",
        excerpt(&malformed)
    );
    assert!(app.sms.requests().unwrap().is_empty(), "nothing sent");

    // A number that takes the code, then the way back to change it.
    let (_, code_page) = post_phone(malformed, "090-1111-2222").await;
    assert!(
        code_page.contains("*********2222"),
        "{}",
        excerpt(&code_page)
    );
    let change = tag(&code_page, "change-phone");
    assert!(change.starts_with("<button"), "{change}");
    let form_start = code_page[..code_page.find("id=\"change-phone\"").unwrap()]
        .rfind("<form")
        .unwrap();
    let form = unescape(&code_page[form_start..]);
    assert!(
        form.starts_with(&format!(
            "<form method=\"post\" action=\"/{BRAND}/2fa/phone/change\""
        )),
        "a POST: {}",
        &form[..120]
    );
    let (_, again) = page(
        browser
            .post(
                &app.base,
                &format!("/{BRAND}/2fa/phone/change"),
                &fields(&code_page, &[]),
            )
            .await
            .unwrap(),
    );
    assert!(
        again.contains("name=\"phone\""),
        "back at the number: {}",
        excerpt(&again)
    );
    assert_eq!(attr(&tag(&again, "phone"), "value").as_deref(), Some(""));
    let (_, code_page) = post_phone(again, "080-3333-4444").await;
    assert!(
        code_page.contains("*********4444"),
        "{}",
        excerpt(&code_page)
    );
    let sent = app.sms.requests().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].json().unwrap()["to"], "+818033334444");

    // A wrong code: the code field is the wrong one.
    let (_, wrong) = body(
        browser
            .post(
                &app.base,
                &format!("/{BRAND}/2fa/code"),
                &fields(&code_page, &[("code", "000000")]),
            )
            .await
            .unwrap(),
    );
    assert_wrong_field(&wrong, "code", "認証コードが正しくありません");
}

// ISSUE-16 REQ-PW-4: the address typed at the login page goes with the forgot-password link
// (after a failed attempt, or from the request's login_hint) and fills the forgot page; the link
// and page are the same for a registered and an unknown address, and anything that is not an
// address (too long, or markup) fills nothing.
#[tokio::test]
async fn the_login_email_is_carried_to_forgot_password() {
    let app = TestApp::spawn().await;
    let seed = app.seed().await;
    let login_url = format!("{}/{BRAND}/login", app.base);

    // A failed attempt, for a registered and for an unknown address: the same link but for it.
    let mut links = vec![];
    for email in [EMAIL, "nobody@example.jp"] {
        let browser = Browser::new();
        let (_, login) = page(browser.follow(&app.base, &login_url).await.unwrap());
        assert_eq!(
            attr(&tag(&login, "forgot"), "href").as_deref(),
            Some(format!("/{BRAND}/password/forgot").as_str()),
            "nothing typed yet, nothing carried"
        );
        let (_, failed) = page(
            browser
                .submit_login(&app.base, &login, email, "wrong-Password-1")
                .await
                .unwrap(),
        );
        let href = attr(&tag(&failed, "forgot"), "href").unwrap();
        let (_, forgot) = page(
            browser
                .follow(&app.base, &format!("{}{href}", app.base))
                .await
                .unwrap(),
        );
        assert_eq!(
            attr(&tag(&forgot, "email"), "value").as_deref(),
            Some(email),
            "{}",
            excerpt(&forgot)
        );
        links.push(href.replace(&email.replace('@', "%40"), "ADDRESS"));
    }
    assert_eq!(
        links,
        vec![format!("/{BRAND}/password/forgot?email=ADDRESS"); 2],
        "the link says nothing about registration"
    );

    // The RP's login_hint, before anything is typed.
    let browser = Browser::new();
    let url = authorize_url(&app, &seed.client.client_id, &[("login_hint", EMAIL)]);
    let (_, login) = page(browser.follow(&app.base, &url).await.unwrap());
    assert_eq!(
        attr(&tag(&login, "forgot"), "href"),
        Some(format!("/{BRAND}/password/forgot?email=taro%40example.jp")),
    );
    assert!(
        tag(&login, "password").contains(" autofocus"),
        "the address is there: the password is next"
    );

    // What is not an address fills nothing, and is never written back raw.
    let long = format!("{}@example.jp", "a".repeat(300));
    for (query, shown) in [
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E%40example.jp", ""),
        (long.as_str(), ""),
        ("Taro%40Example.JP", "taro@example.jp"),
    ] {
        let (_, forgot) = page(
            Browser::new()
                .follow(
                    &app.base,
                    &format!("{}/{BRAND}/password/forgot?email={query}", app.base),
                )
                .await
                .unwrap(),
        );
        assert!(!forgot.contains("<script>"), "{query}");
        assert_eq!(
            attr(&tag(&forgot, "email"), "value").as_deref(),
            Some(shown),
            "{query}"
        );
        assert_eq!(
            attr(&tag(&forgot, "email"), "maxlength").as_deref(),
            Some("254")
        );
    }
}

// ISSUE-16: on every form with server-side checks, the wrong field is marked aria-invalid, has
// the focus and is described by the error: login, forgot-password, reset, password change
// (current, new, confirmation), email change, contract information (the SMS number and code in
// the test above).
#[tokio::test]
async fn the_wrong_field_has_the_focus() {
    let app = TestApp::spawn().await;
    app.seed().await;

    // Login: the address and password do not match; the password is typed again.
    let browser = Browser::new();
    let (_, login) = page(
        browser
            .follow(&app.base, &format!("{}/{BRAND}/login", app.base))
            .await
            .unwrap(),
    );
    assert!(tag(&login, "email").contains(" autofocus"));
    let (_, failed) = page(
        browser
            .submit_login(&app.base, &login, EMAIL, "wrong-Password-1")
            .await
            .unwrap(),
    );
    assert_wrong_field(
        &failed,
        "password",
        "メールアドレスまたはパスワードが正しくありません",
    );
    assert_eq!(
        attr(&tag(&failed, "email"), "aria-invalid").as_deref(),
        Some("true"),
        "either may be the wrong one"
    );

    // Forgot password: not an address.
    let (_, forgot) = page(
        browser
            .follow(&app.base, &format!("{}/{BRAND}/password/forgot", app.base))
            .await
            .unwrap(),
    );
    let (_, bad) = page(submit(&app, &browser, &forgot, &[("email", "taro@")]).await);
    assert_wrong_field(&bad, "email", "メールアドレスの形式が正しくありません");

    // Reset by the mailed link: the confirmation differs.
    page(submit(&app, &browser, &bad, &[("email", EMAIL)]).await);
    let mails = app.deliver_mail().await;
    let mail = mails
        .iter()
        .find(|m| m.subject.ends_with("パスワードリセット"))
        .expect("the reset mail");
    let link = link_in(
        &mail.body,
        &format!("{}/{BRAND}/password/reset?ticket=", app.base),
    )
    .expect("the reset link");
    let (_, reset) = page(browser.follow(&app.base, &link).await.unwrap());
    let (_, differs) = page(
        submit(
            &app,
            &browser,
            &reset,
            &[
                ("new_password", "Fuji-San-3776"),
                ("confirm_password", "Fuji-San-3777"),
            ],
        )
        .await,
    );
    assert_wrong_field(&differs, "confirm", "一致しません");

    // Password change from the menu.
    let menu = contractor(&app).await;
    let (_, change) = page(get(&app, &menu, "account/password").await);
    let (status, wrong_current) = body(
        submit(
            &app,
            &menu,
            &change,
            &[
                ("current_password", "not-it-Password-1"),
                ("new_password", "Fuji-San-3776"),
                ("confirm_password", "Fuji-San-3776"),
            ],
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_wrong_field(
        &wrong_current,
        "current",
        "現在のパスワードが正しくありません",
    );
    let (_, short) = body(
        submit(
            &app,
            &menu,
            &change,
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await,
    );
    assert_wrong_field(&short, "new", "8文字以上で設定してください");
    assert!(
        attr(&tag(&short, "new"), "aria-describedby")
            .unwrap()
            .contains("pw-rule"),
        "the rule describes the new password"
    );
    let (_, mismatch) = body(
        submit(
            &app,
            &menu,
            &change,
            &[
                ("current_password", PASSWORD),
                ("new_password", "Fuji-San-3776"),
                ("confirm_password", "Fuji-San-3777"),
            ],
        )
        .await,
    );
    assert_wrong_field(&mismatch, "confirm", "一致しません");
    assert!(attr(&tag(&mismatch, "new"), "aria-invalid").is_none());

    // Email change: the confirmation differs; then an address that is not one.
    let (_, email) = page(get(&app, &menu, "account/email").await);
    let (status, differs) = body(
        submit(
            &app,
            &menu,
            &email,
            &[
                ("new_email", "a@example.jp"),
                ("confirm_email", "b@example.jp"),
            ],
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_wrong_field(&differs, "confirm_email", "一致しません");
    assert_eq!(
        attr(&tag(&differs, "new_email"), "value").as_deref(),
        Some("a@example.jp")
    );
    let (_, invalid) = body(
        submit(
            &app,
            &menu,
            &email,
            &[("new_email", "a@"), ("confirm_email", "a@")],
        )
        .await,
    );
    assert_wrong_field(
        &invalid,
        "new_email",
        "メールアドレスの形式が正しくありません",
    );

    // Contract information: a name the rule refuses comes back, marked.
    let (_, contract) = page(get(&app, &menu, "account/contract").await);
    let (status, refused) = body(submit(&app, &menu, &contract, &[("name", "  ")]).await);
    assert_eq!(status, 400);
    assert_wrong_field(&refused, "name", "契約名を1文字以上200文字以内");
}
