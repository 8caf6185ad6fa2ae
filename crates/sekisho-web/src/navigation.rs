//! Ways forward from the pages that end a flow (ISSUE-16): a direct login, a logout, an error, a
//! page not found. Each leads somewhere sensible: the brand's service when the operator configured
//! one (`Brand::service_url`), the account menu for a signed-in visitor, else the login page.
//!
//! Only these known internal destinations and the brand's configured URL: no page leads to an
//! address a request named (an unknown client's `redirect_uri` never becomes a link, REQ-OP-6).

use crate::i18n::{message, Lang};
use sekisho_core::model::Brand;
use serde::Serialize;

/// A place a page may lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// The brand's service (only when configured).
    Service,
    /// The account menu (`/{brand}/account`; its own login page when not signed in).
    AccountMenu,
    /// The brand's login page (a direct login).
    Login,
}

/// A link as the templates render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub href: String,
    pub label: &'static str,
}

impl Way {
    fn link(self, brand: &Brand, lang: Lang) -> Option<Link> {
        let code = brand.code.as_str();
        let (href, key) = match self {
            Way::Service => (brand.service_url.as_ref()?.to_string(), "way_service"),
            Way::AccountMenu => (format!("/{code}/account"), "way_account_menu"),
            Way::Login => (format!("/{code}/login"), "way_login"),
        };
        Some(Link {
            href,
            label: message(lang, key),
        })
    }
}

/// Where a page that ends a flow leads on by default: the service, then the account menu for a
/// signed-in visitor, else the login page.
pub fn onward(signed_in: bool) -> [Way; 2] {
    [
        Way::Service,
        if signed_in {
            Way::AccountMenu
        } else {
            Way::Login
        },
    ]
}

/// The label of a page's own link (one its handler chose: always a path of this brand), by
/// where it leads: the menu, the console, the forgot-password page, else a login page.
fn own_label(brand: &Brand, lang: Lang, href: &str) -> &'static str {
    let path = href.split('?').next().unwrap_or_default();
    let rest = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(brand.code.as_str()))
        .unwrap_or_default();
    let key = match rest {
        "/account" => "way_back_to_menu",
        "/admin" => "way_back_to_console",
        r if r.starts_with("/admin/") => "way_back_to_console",
        "/password/forgot" => "way_forgot_password",
        _ => "back_to_login",
    };
    message(lang, key)
}

/// The links of a page: its own link first (if its handler gave one), then `ways`, each once.
/// Without a brand (an unknown one) there is nowhere of its own to lead.
pub fn links(brand: Option<&Brand>, lang: Lang, own: Option<&str>, ways: &[Way]) -> Vec<Link> {
    let Some(brand) = brand else {
        return Vec::new();
    };
    let mut out: Vec<Link> = Vec::new();
    if let Some(href) = own {
        out.push(Link {
            href: href.to_owned(),
            label: own_label(brand, lang, href),
        });
    }
    for link in ways.iter().filter_map(|w| w.link(brand, lang)) {
        // A login page with a query (`?ar=…`) is the more specific form of the plain one.
        let path = |h: &str| h.split('?').next().unwrap_or_default().to_owned();
        if !out.iter().any(|l| path(&l.href) == path(&link.href)) {
            out.push(link);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekisho_core::model::BrandCode;
    use sekisho_core::service_url::ServiceUrl;

    fn brand(service: Option<&str>) -> Brand {
        Brand {
            code: BrandCode::parse("VX5").unwrap(),
            name: "OTクラウド・ストレージ".into(),
            mail_from: String::new(),
            theme: Default::default(),
            service_url: service.map(|s| ServiceUrl::parse(s).unwrap()),
            created_at: 0,
        }
    }

    fn hrefs(links: &[Link]) -> Vec<&str> {
        links.iter().map(|l| l.href.as_str()).collect()
    }

    // ISSUE-16: an ending page leads to the service when there is one, then to the menu (signed
    // in) or the login page; a handler's own link comes first and is not repeated.
    #[test]
    fn ways_forward_lead_to_the_service_menu_or_login() {
        let with = brand(Some("https://storage.vx5.example/"));
        let without = brand(None);
        assert_eq!(
            hrefs(&links(Some(&with), Lang::Ja, None, &onward(false))),
            ["https://storage.vx5.example/", "/VX5/login"]
        );
        assert_eq!(
            hrefs(&links(Some(&without), Lang::Ja, None, &onward(true))),
            ["/VX5/account"]
        );
        let own = links(
            Some(&without),
            Lang::Ja,
            Some("/VX5/login?ar=x"),
            &onward(false),
        );
        assert_eq!(hrefs(&own), ["/VX5/login?ar=x"]);
        assert_eq!(own[0].label, "ログイン画面へ戻る");
        let menu = links(Some(&with), Lang::En, Some("/VX5/account"), &onward(true));
        assert_eq!(
            hrefs(&menu),
            ["/VX5/account", "https://storage.vx5.example/"]
        );
        assert_eq!(menu[0].label, "Back to the menu");
        assert!(links(None, Lang::Ja, Some("/x"), &onward(true)).is_empty());
    }
}
