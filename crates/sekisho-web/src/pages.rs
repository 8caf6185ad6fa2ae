//! Hosted pages, rendered with minijinja.
//!
//! minijinja (rather than askama) because templates are data: an operator can override any page
//! of one brand (`{templates_dir}/{BRAND}/login.html`) or of all brands
//! (`{templates_dir}/login.html`) without rebuilding; otherwise the embedded default is used.
//! Templates extend `layout`, a variable naming the brand's layout, so a brand can restyle every
//! page by overriding `layout.html` alone.

use crate::i18n::{messages, Lang};
use crate::navigation::{self, Way};
use crate::theme::{Palette, STYLESHEET_PATH};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use sekisho_core::model::Brand;
use std::path::PathBuf;

pub(crate) const EMBEDDED: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "logout_confirm.html",
        include_str!("../templates/logout_confirm.html"),
    ),
    ("forgot.html", include_str!("../templates/forgot.html")),
    (
        "set_password.html",
        include_str!("../templates/set_password.html"),
    ),
    (
        "password_change.html",
        include_str!("../templates/password_change.html"),
    ),
    (
        "account_menu.html",
        include_str!("../templates/account_menu.html"),
    ),
    (
        "two_factor_phone.html",
        include_str!("../templates/two_factor_phone.html"),
    ),
    (
        "two_factor_totp.html",
        include_str!("../templates/two_factor_totp.html"),
    ),
    (
        "two_factor_code.html",
        include_str!("../templates/two_factor_code.html"),
    ),
    (
        "two_factor_lost_device.html",
        include_str!("../templates/two_factor_lost_device.html"),
    ),
    (
        "two_factor_recovery.html",
        include_str!("../templates/two_factor_recovery.html"),
    ),
    (
        "two_factor_done.html",
        include_str!("../templates/two_factor_done.html"),
    ),
    (
        "two_factor_setting.html",
        include_str!("../templates/two_factor_setting.html"),
    ),
    (
        "two_factor_setting_confirm.html",
        include_str!("../templates/two_factor_setting_confirm.html"),
    ),
    (
        "two_factor_recovery_again.html",
        include_str!("../templates/two_factor_recovery_again.html"),
    ),
    (
        "login_method.html",
        include_str!("../templates/login_method.html"),
    ),
    (
        "registration_confirm.html",
        include_str!("../templates/registration_confirm.html"),
    ),
    (
        "account_form.html",
        include_str!("../templates/account_form.html"),
    ),
    ("console.html", include_str!("../templates/console.html")),
    (
        "admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    (
        "admin_badges.html",
        include_str!("../templates/admin_badges.html"),
    ),
    (
        "admin_pager.html",
        include_str!("../templates/admin_pager.html"),
    ),
    (
        "admin_confirm.html",
        include_str!("../templates/admin_confirm.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../templates/admin_audit.html"),
    ),
    (
        "admin_user.html",
        include_str!("../templates/admin_user.html"),
    ),
    (
        "ad_settings.html",
        include_str!("../templates/ad_settings.html"),
    ),
    (
        "ad_connection.html",
        include_str!("../templates/ad_connection.html"),
    ),
    ("ad_post.html", include_str!("../templates/ad_post.html")),
    (
        "line_recovery.html",
        include_str!("../templates/line_recovery.html"),
    ),
    (
        "line_consent.html",
        include_str!("../templates/line_consent.html"),
    ),
    (
        "access_route.html",
        include_str!("../templates/access_route.html"),
    ),
    (
        "access_route_confirm.html",
        include_str!("../templates/access_route_confirm.html"),
    ),
    (
        "admin_lines.html",
        include_str!("../templates/admin_lines.html"),
    ),
    // ISSUE-16: pending changes, and the pages whose buttons do what their links used to.
    (
        "login_method_start.html",
        include_str!("../templates/login_method_start.html"),
    ),
    (
        "pending_change.html",
        include_str!("../templates/pending_change.html"),
    ),
    (
        "admin_pending.html",
        include_str!("../templates/admin_pending.html"),
    ),
    (
        "unlock_confirm.html",
        include_str!("../templates/unlock_confirm.html"),
    ),
    (
        "email_change_confirm.html",
        include_str!("../templates/email_change_confirm.html"),
    ),
];

/// The colour of pages outside any brand (the default brand theme's).
const DEFAULT_COLOUR: &str = "#1d4f91";

/// The names of the embedded templates (`login.html`, …; `layout.html` among them, which is no
/// page of its own): the browser tour (tests/e2e/pages_a11y.rs, ISSUE-16) must have seen every
/// other one.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(name, _)| *name)
}

pub struct Pages {
    env: Environment<'static>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new(None)
    }
}

/// Finds `name` (`BRAND/file.html` or `file.html`): the brand's override, the shared override,
/// then the embedded default.
fn load(dir: Option<&PathBuf>, name: &str) -> Option<String> {
    if name.contains("..") || name.starts_with('/') {
        return None;
    }
    let file = name.rsplit('/').next().unwrap_or(name);
    if let Some(dir) = dir {
        for candidate in [name, file] {
            if let Ok(text) = std::fs::read_to_string(dir.join(candidate)) {
                return Some(text);
            }
        }
    }
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == file)
        .map(|(_, t)| (*t).to_owned())
}

impl Pages {
    /// `templates_dir`: the operator's override directory, if any.
    pub fn new(templates_dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        env.set_loader(move |name| Ok(load(templates_dir.as_ref(), name)));
        Self { env }
    }

    /// Renders page `name` for `brand` with the common context (language, strings, brand) plus `extra`.
    pub fn render(
        &self,
        status: StatusCode,
        name: &str,
        lang: Lang,
        brand: Option<&Brand>,
        extra: Value,
    ) -> Response {
        let prefix = brand.map(|b| format!("{}/", b.code)).unwrap_or_default();
        let palette = Palette::of(brand.map_or(DEFAULT_COLOUR, |b| b.theme.primary_color.as_str()));
        let ctx = context! {
            lang => lang.as_str(),
            t => messages(lang),
            layout => format!("{prefix}layout.html"),
            brand_name => brand.map(|b| b.name.as_str()),
            brand_code => brand.map(|b| b.code.as_str()),
            primary_color => palette.primary,
            on_primary => palette.on_primary,
            accent_color => palette.accent,
            favicon_href => brand.map(|b| format!("/{}/favicon.svg", b.code)),
            stylesheet => STYLESHEET_PATH,
            logo_url => brand.and_then(|b| b.theme.logo_url.as_deref()),
            // The template's name, on <body data-page>: the browser suite knows each page by it.
            page => name.trim_end_matches(".html"),
            // ISSUE-16: the brand's service (its URL, or none), and the same page in the other
            // language (`{href, lang, label}`, or none when the page has no address to ask again).
            service_url => brand.and_then(|b| b.service_url.as_ref()).map(|u| u.as_str()),
            lang_switch => crate::visit::switch(lang),
            ..extra
        };
        match self
            .env
            .get_template(&format!("{prefix}{name}"))
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// A page with a title, a message and an optional link, in the user's language. It also
    /// leads on (ISSUE-16): to the service, then the account menu (signed in) or the login page.
    pub fn message(
        &self,
        status: StatusCode,
        lang: Lang,
        brand: Option<&Brand>,
        title_key: &str,
        body_key: &str,
        link: Option<&str>,
    ) -> Response {
        let ways = navigation::links(
            brand,
            lang,
            link,
            &navigation::onward(crate::visit::signed_in()),
        );
        self.message_leading(status, lang, brand, (title_key, body_key), link, ways)
    }

    /// A page that ends a flow and leads on to exactly `ways` (in that order).
    pub fn ending(
        &self,
        status: StatusCode,
        lang: Lang,
        brand: Option<&Brand>,
        (title_key, body_key): (&str, &str),
        ways: &[Way],
    ) -> Response {
        let links = navigation::links(brand, lang, None, ways);
        self.message_leading(status, lang, brand, (title_key, body_key), None, links)
    }

    fn message_leading(
        &self,
        status: StatusCode,
        lang: Lang,
        brand: Option<&Brand>,
        (title_key, body_key): (&str, &str),
        link: Option<&str>,
        ways: Vec<navigation::Link>,
    ) -> Response {
        let m = messages(lang);
        self.render(
            status,
            "message.html",
            lang,
            brand,
            // `link` stays for operators' own message.html from before `ways`.
            context! { title => m.get(title_key), body => m.get(body_key), link => link, ways => ways },
        )
    }

    pub fn error(
        &self,
        status: StatusCode,
        lang: Lang,
        brand: Option<&Brand>,
        message_key: &str,
        detail: Option<&str>,
    ) -> Response {
        let m = messages(lang);
        // ISSUE-16: an error leads on like any ending page (never to an address the request
        // named: the bad-client page included, REQ-OP-6).
        let ways = navigation::links(
            brand,
            lang,
            None,
            &navigation::onward(crate::visit::signed_in()),
        );
        self.render(
            status,
            "message.html",
            lang,
            brand,
            context! { title => m.get("error_title"), body => m.get(message_key), detail => detail, is_error => true, ways => ways },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every template in templates/ is embedded (a page missing here fails only at run time).
    #[test]
    fn every_template_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                EMBEDDED.iter().any(|(n, _)| *n == name),
                "{name} is not in EMBEDDED"
            );
        }
    }

    #[test]
    fn brand_override_then_shared_override_then_embedded() {
        let dir = std::env::temp_dir().join(format!("sekisho-pages-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("VX4")).unwrap();
        std::fs::write(dir.join("VX4/login.html"), "brand login").unwrap();
        std::fs::write(dir.join("message.html"), "shared message").unwrap();
        let d = Some(dir.clone());
        assert_eq!(
            load(d.as_ref(), "VX4/login.html").as_deref(),
            Some("brand login")
        );
        assert_eq!(
            load(d.as_ref(), "VX5/login.html").as_deref(),
            Some(include_str!("../templates/login.html"))
        );
        assert_eq!(
            load(d.as_ref(), "VX5/message.html").as_deref(),
            Some("shared message")
        );
        assert_eq!(load(d.as_ref(), "../secret"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// A Unix time as Japanese office workers read it: `2030/01/01 09:00 (JST)`.
pub fn date(t: i64) -> String {
    // Days to civil date (Howard Hinnant's algorithm), in JST (UTC+9, no daylight saving).
    let t = t + 9 * 3600;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02} (JST)",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn dates_are_shown_in_japan_time() {
        // 2030-01-01T00:00:00Z is 09:00 in Tokyo.
        assert_eq!(super::date(1_893_456_000), "2030/01/01 09:00 (JST)");
        assert_eq!(
            super::date(1_893_456_000 - 9 * 3600 - 60),
            "2029/12/31 23:59 (JST)"
        );
    }
}
