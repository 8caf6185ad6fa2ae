//! Brand theming (ISSUE-16): two brands look like two brands: their colour on the header, the
//! buttons, links and accents (kept readable), their mark as the favicon, their logo when one is
//! configured; and the one style sheet every page shares.

use sekisho::admin::{add_brand, update_brand, BrandChanges};
use sekisho_e2e::{Browser, TestApp, BRAND, OTHER_BRAND};

async fn page(app: &TestApp, path: &str) -> String {
    let res = Browser::new()
        .get(&format!("{}{path}", app.base))
        .await
        .expect("page");
    assert_eq!(res.status(), 200, "{path}");
    // minijinja escapes `/` in attributes; a browser reads the entity as the character.
    res.text().await.expect("body").replace("&#x2f;", "/")
}

// ISSUE-16 (brand theming): each brand's login page carries its own colour, mark and logo.
#[tokio::test]
async fn two_brands_look_like_two_brands() {
    let app = TestApp::spawn().await;
    app.seed().await;
    add_brand(&app.op, OTHER_BRAND, "M-Drive")
        .await
        .expect("brand");
    update_brand(
        &app.op,
        OTHER_BRAND,
        BrandChanges {
            primary_color: Some("#ffd500".into()),
            logo_url: Some("https://cdn.example.jp/m-drive.png".into()),
            ..BrandChanges::default()
        },
    )
    .await
    .expect("theme");
    update_brand(
        &app.op,
        BRAND,
        BrandChanges {
            primary_color: Some("#c8102e".into()),
            ..BrandChanges::default()
        },
    )
    .await
    .expect("theme");

    let first = page(&app, &format!("/{BRAND}/login")).await;
    let second = page(&app, &format!("/{OTHER_BRAND}/login")).await;
    // The brand's colour drives the header, buttons and accents.
    assert!(first.contains("--primary: #c8102e"), "{first}");
    assert!(second.contains("--primary: #ffd500"), "{second}");
    // A light colour gets dark text on it and a darkened accent, so both still read.
    assert!(second.contains("--on-primary: #111827"), "{second}");
    assert!(!second.contains("--accent: #ffd500"), "{second}");
    assert!(first.contains("--on-primary: #ffffff"), "{first}");
    // Each brand's favicon, and its logo (configured) or mark (not configured) in the header.
    assert!(first.contains(&format!(r#"<link rel="icon" href="/{BRAND}/favicon.svg""#)));
    assert!(second.contains(&format!(
        r#"<link rel="icon" href="/{OTHER_BRAND}/favicon.svg""#
    )));
    assert!(
        second.contains(r#"<img src="https://cdn.example.jp/m-drive.png""#),
        "{second}"
    );
    assert!(
        first.contains(&format!(r#"src="/{BRAND}/favicon.svg""#)),
        "{first}"
    );

    for (code, colour, initial) in [(BRAND, "#c8102e", ">O<"), (OTHER_BRAND, "#ffd500", ">M<")] {
        let res = Browser::new()
            .get(&format!("{}/{code}/favicon.svg", app.base))
            .await
            .expect("favicon");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        let svg = res.text().await.expect("svg");
        assert!(svg.contains(colour) && svg.contains(initial), "{svg}");
    }
    let res = Browser::new()
        .get(&format!("{}/NOPE/favicon.svg", app.base))
        .await
        .expect("favicon");
    assert_eq!(res.status(), 404);
}

// ISSUE-16: every page links the shared style sheet, which is served, cacheable, and lays the
// pages out for phones as well as desktops.
#[tokio::test]
async fn the_style_sheet_is_served_and_covers_phone_width() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let login = page(&app, &format!("/{BRAND}/login")).await;
    let href = login
        .split(r#"<link rel="stylesheet" href=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a style sheet link");
    let res = Browser::new()
        .get(&format!("{}{href}", app.base))
        .await
        .expect("css");
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let css = res.text().await.expect("css");
    assert!(css.contains("@media (max-width: 640px)"), "phone layout");
    assert!(css.contains("var(--primary)") && css.contains("var(--accent)"));
}
