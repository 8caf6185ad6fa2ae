//! A visit (ISSUE-16): the language the visitor chose, kept for the whole visit, and what the
//! pages of one request need to know about it (the address for the language switch, whether the
//! browser is signed in) without every handler passing it along.
//!
//! `?lang=ja|en` on any URL chooses the language; the choice is kept in a cookie
//! (`sekisho_lang`: Path=/, a year, HttpOnly, SameSite=Lax, Secure under https) and wins over
//! Accept-Language. The `ui_locales` of a request arriving now (an authorization or logout
//! request) wins for that request and is kept the same way ([`keep_requested`]); the stored
//! `ui_locales` of a login in progress comes after the visitor's choice, so that switching the
//! language on the login page holds for the rest of the login.
//!
//! [`remember`] runs every request inside a tokio task-local (as `sekisho_store::outage` does),
//! which `routes::lang` and `Pages::render` read. Outside it (unit tests) nothing is chosen and
//! pages have no switch.

use crate::i18n::Lang;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use std::cell::{Cell, RefCell};

/// The cookie that keeps the visitor's language.
pub const COOKIE: &str = "sekisho_lang";
/// Browsers keep a cookie at most 400 days; a year is plenty for a language.
const COOKIE_DAYS: i64 = 365;
/// The longest path and query the switch repeats (longer: no switch on that page). Paths and
/// queries are bounded by the server's header limit anyway; this keeps the page small.
const MAX_HERE: usize = 4096;

struct Visit {
    /// `?lang=` of this request: the visitor chose just now.
    asked: Option<Lang>,
    /// The cookie the browser sent.
    remembered: Option<Lang>,
    /// The choice in force: asked, or kept by [`keep_requested`], or remembered.
    chosen: Cell<Option<Lang>>,
    /// Path and query of this page, for the switch: a GET's own, or what a handler set.
    here: RefCell<Option<String>>,
    /// Whether the brand's session of this browser is signed in (`session::current` notes it).
    signed_in: Cell<bool>,
}

tokio::task_local! {
    static VISIT: Visit;
}

/// `ja` or `en`, exactly (what the switch and the cookie carry).
fn parse(value: &str) -> Option<Lang> {
    match value {
        "ja" => Some(Lang::Ja),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The `lang` parameter of a query, if it names a language.
fn asked(query: Option<&str>) -> Option<Lang> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| parse(&v))
}

/// The middleware: reads the choice, runs the request in its visit, and keeps a new choice in the
/// cookie. `secure`: the cookie is `Secure` (the public URL is https).
pub async fn remember(State(secure): State<bool>, req: Request, next: Next) -> Response {
    let asked = asked(req.uri().query());
    let remembered =
        crate::session::cookie_named(req.headers(), COOKIE).and_then(|v| parse(v.trim()));
    // Only a GET (or HEAD) can be asked again at its own address.
    let here = matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| req.uri().path_and_query().map(|pq| pq.as_str().to_owned()))
        .flatten()
        .filter(|h| h.len() <= MAX_HERE);
    let visit = Visit {
        asked,
        remembered,
        chosen: Cell::new(asked.or(remembered)),
        here: RefCell::new(here),
        signed_in: Cell::new(false),
    };
    let (mut res, keep) = VISIT
        .scope(visit, async move {
            let res = next.run(req).await;
            let keep = VISIT
                .try_with(|v| v.chosen.get().filter(|c| Some(*c) != v.remembered))
                .ok()
                .flatten();
            (res, keep)
        })
        .await;
    if let Some(lang) = keep {
        let cookie = Cookie::build((COOKIE, lang.as_str()))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(COOKIE_DAYS))
            .build();
        if let Ok(v) = cookie.encoded().to_string().parse() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The visitor's choice for this request (`?lang=`, or the cookie, or a kept `ui_locales`).
pub fn chosen() -> Option<Lang> {
    VISIT.try_with(|v| v.chosen.get()).ok().flatten()
}

/// The `ui_locales` of a request arriving now (authorization, logout): it wins for this request,
/// unless the visitor asked otherwise in the same URL, and is kept for the visit.
pub fn keep_requested(lang: Lang) {
    let _ = VISIT.try_with(|v| {
        if v.asked.is_none() {
            v.chosen.set(Some(lang));
        }
    });
}

/// The page answering this request stands for `path_and_query` (a GET of it shows the same page):
/// a page rendered after a POST sets it, so that its language switch does not lose the flow.
pub fn set_here(path_and_query: String) {
    let _ = VISIT.try_with(|v| {
        *v.here.borrow_mut() = (path_and_query.len() <= MAX_HERE).then_some(path_and_query);
    });
}

/// This page has no address to ask again (its GET spent a mailed link): no language switch.
pub fn no_switch() {
    let _ = VISIT.try_with(|v| *v.here.borrow_mut() = None);
}

/// Notes whether the brand's session this request found is signed in (`session::current`).
pub fn note_session(signed_in: bool) {
    let _ = VISIT.try_with(|v| v.signed_in.set(signed_in));
}

/// Whether this request found a signed-in session (as far as it looked).
pub fn signed_in() -> bool {
    VISIT.try_with(|v| v.signed_in.get()).unwrap_or(false)
}

/// The layout's language switch: the same page in the other language.
#[derive(Debug, serde::Serialize)]
pub struct Switch {
    pub href: String,
    /// The language it switches to (`hreflang`, `lang`).
    pub lang: &'static str,
    /// That language's own name.
    pub label: &'static str,
}

/// The switch of a page shown in `shown`, if this request has an address to ask again.
pub fn switch(shown: Lang) -> Option<Switch> {
    let here = VISIT.try_with(|v| v.here.borrow().clone()).ok().flatten()?;
    let other = match shown {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    Some(Switch {
        href: with_lang(&here, other),
        lang: other.as_str(),
        // Each language by its own name, whatever the page's language.
        label: match other {
            Lang::Ja => "日本語",
            Lang::En => "English",
        },
    })
}

/// `path_and_query` with `lang` set to `lang` (every other parameter kept, in order).
fn with_lang(path_and_query: &str, lang: Lang) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    // One leading slash: `//evil.example/x` (or `/\evil.example`) asked of this server must not
    // become a link to another host.
    let path = path.trim_start_matches(['/', '\\']);
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "lang" {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair("lang", lang.as_str());
    format!("/{path}?{}", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    // ISSUE-16: the switch repeats the page's address in the other language, keeping the rest of
    // the query (a mailed link's ticket, a login's request) and replacing any earlier choice.
    #[test]
    fn the_switch_keeps_the_query_and_sets_lang() {
        assert_eq!(
            with_lang("/VX5/password/reset?ticket=a%2Bb", Lang::En),
            "/VX5/password/reset?ticket=a%2Bb&lang=en"
        );
        assert_eq!(
            with_lang("/VX5/login?lang=en&ar=ar_1", Lang::Ja),
            "/VX5/login?ar=ar_1&lang=ja"
        );
        assert_eq!(with_lang("/VX5/account", Lang::En), "/VX5/account?lang=en");
        // Never a link to another host.
        assert_eq!(
            with_lang("//evil.example/x", Lang::En),
            "/evil.example/x?lang=en"
        );
        assert_eq!(
            with_lang("/\\evil.example/x", Lang::En),
            "/evil.example/x?lang=en"
        );
        assert_eq!(asked(Some("x=1&lang=en")), Some(Lang::En));
        assert_eq!(asked(Some("lang=fr")), None);
        assert_eq!(asked(None), None);
    }

    #[tokio::test]
    async fn outside_a_visit_nothing_is_chosen() {
        assert_eq!(chosen(), None);
        assert!(switch(Lang::Ja).is_none());
        keep_requested(Lang::En);
        assert!(!signed_in());
    }
}
