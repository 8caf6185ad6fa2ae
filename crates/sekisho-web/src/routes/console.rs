//! The admin console's frame (issue 16). Every console page extends `console.html` (itself the
//! brand's `layout` with a wide `main.console`), which shows the console's navigation: ユーザー,
//! 回線認証, Active Directory設定 (to whom the account menu's table allows it), 監査ログ, and the way
//! back to the account menu. Also what the console's tables share: the counts and page links.

use crate::i18n::{message, Lang};
use crate::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use sekisho_app::directory::Actor;
use sekisho_core::menu::{allowed, MenuItem, MenuSubject};
use sekisho_core::model::Brand;
use sekisho_core::paging::Paging;
use serde::Serialize;

/// The console page a request is on (its navigation entry is `aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Users,
    Lines,
    Audit,
}

impl Section {
    fn as_str(self) -> &'static str {
        match self {
            Section::Users => "users",
            Section::Lines => "lines",
            Section::Audit => "audit",
        }
    }
}

/// Whether the navigation offers Active Directory設定: to whom the account menu's table allows it.
fn offers_active_directory(state: &AppState, actor: &Actor) -> bool {
    // The console refuses the 回線認証のみ recovery session, so this is never it.
    let who = MenuSubject {
        role: actor.user.role,
        plan: actor.contract.plan,
        login_method: actor.user.login_method,
        contract_created_at: actor.contract.created_at,
        recovery_only: false,
    };
    allowed(MenuItem::ActiveDirectory, who, state.op.now())
}

/// Who is on a console page, for the frame.
#[derive(Clone, Copy)]
pub(super) struct Frame<'a> {
    pub state: &'a AppState,
    pub brand: &'a Brand,
    pub lang: Lang,
    pub actor: &'a Actor,
}

impl Frame<'_> {
    /// Renders the console page `template` with the frame's context (navigation, contract, the
    /// brand's `console.html`) and `extra`.
    pub fn render(
        &self,
        section: Section,
        status: StatusCode,
        template: &str,
        extra: Value,
    ) -> Response {
        let code = self.brand.code.as_str();
        self.state.pages.render(
            status,
            template,
            self.lang,
            Some(self.brand),
            context! {
                // Like `layout`: a brand may override the console's frame alone.
                console_layout => format!("{code}/console.html"),
                console_section => section.as_str(),
                console_ad => offers_active_directory(self.state, self.actor),
                contract => self.actor.contract.name,
                ..extra
            },
        )
    }
}

/// `n` with thousands separators (`1,234`), as both languages write counts.
pub(super) fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

#[derive(Serialize)]
struct PageLink {
    /// `None` for a gap (an ellipsis).
    number: Option<i64>,
    href: String,
    label: String,
    current: bool,
}

/// The count line (「1,234件中 1–50件」, from `count_key`) and the page links of a table, each
/// page's URL made by `href`.
pub(super) fn pager(
    lang: Lang,
    paging: &Paging,
    count_key: &str,
    href: impl Fn(i64) -> String,
) -> Value {
    let (first, last) = paging.shown();
    let count = message(lang, count_key)
        .replace("{total}", &grouped(paging.total))
        .replace("{first}", &grouped(first))
        .replace("{last}", &grouped(last));
    let links: Vec<PageLink> = paging
        .links(2)
        .into_iter()
        .map(|n| PageLink {
            number: n,
            href: n.map(&href).unwrap_or_default(),
            label: n
                .map(|n| message(lang, "console_page_n").replace("{n}", &n.to_string()))
                .unwrap_or_default(),
            current: n == Some(paging.page),
        })
        .collect();
    context! {
        count => count,
        empty => paging.total == 0,
        many => paging.pages > 1,
        links => links,
        previous => (paging.page > 1).then(|| href(paging.page - 1)),
        next => (paging.page < paging.pages).then(|| href(paging.page + 1)),
    }
}

/// A `page` query value: a number, else the first page.
pub(super) fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1234), "1,234");
        assert_eq!(super::grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn page_numbers_are_lenient() {
        assert_eq!(super::page_number(Some("3")), 3);
        assert_eq!(super::page_number(Some("x")), 1);
        assert_eq!(super::page_number(None), 1);
    }
}
