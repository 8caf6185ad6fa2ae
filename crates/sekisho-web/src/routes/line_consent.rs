//! 回線情報通知設定 (REQ-LINE-5): the first login of a user from a West Japan line shows this once,
//! after the login and before the browser goes on; the choice (通知する or not) is recorded.
//! The line is the one the request came over (the gateway's assertion), never a form field.

use super::login::csrf_failure;
use super::outcome::continuation_url;
use super::{account::signed_in, page_or_error, see_other, BrandPage};
use crate::line_entry::Route;
use crate::session;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::pipeline;
use sekisho_core::line::{Entry, LineArea, LineAssertion};
use sekisho_core::login::Continuation;
use serde::Deserialize;

/// Where the login goes on: `ar` (an authorization request) or `next=account`.
#[derive(Deserialize, Default)]
pub struct Then {
    ar: Option<String>,
    next: Option<String>,
}

impl Then {
    fn continuation(&self) -> Continuation {
        Continuation::from_page(self.ar.as_deref(), self.next.as_deref())
    }
}

/// The path of the consent page for a login continuing to `then`.
pub fn page_path(code: &str, then: &Continuation) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    match then {
        Continuation::Authorize(ar) => format!("/{code}/line-consent?ar={}", enc(ar)),
        Continuation::Account => format!("/{code}/line-consent?next=account"),
        Continuation::Console => format!("/{code}/line-consent?next=console"),
        Continuation::Direct => format!("/{code}/line-consent"),
    }
}

fn west_line(entry: &Entry) -> Option<&LineAssertion> {
    match entry {
        Entry::Line(Some(line)) if line.area == LineArea::West => Some(line),
        _ => None,
    }
}

/// `GET /{brand}/line-consent`: the page, for a signed-in session on a West Japan line.
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Route(entry): Route,
    Query(then): Query<Then>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let next = continuation_url(code, &then.continuation());
        let Some((session, _)) = signed_in(&state, code, &headers).await? else {
            return Ok(see_other(&next, &[]));
        };
        if west_line(&entry).is_none() {
            return Ok(see_other(&next, &[]));
        }
        let mut hidden = Vec::new();
        if let Some(ar) = &then.ar {
            hidden.push(context! { name => "ar", value => ar });
        }
        if let Some(n) = &then.next {
            hidden.push(context! { name => "next", value => n });
        }
        Ok(state.pages.render(
            StatusCode::OK,
            "line_consent.html",
            lang,
            Some(&brand),
            context! {
                action => format!("/{code}/line-consent"),
                csrf_token => session.csrf_token,
                hidden => hidden,
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf_token: Option<String>,
    notify: Option<String>,
    ar: Option<String>,
    next: Option<String>,
}

/// `POST /{brand}/line-consent`: records the decision, then the login goes on.
pub async fn decide(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Route(entry): Route,
    Form(form): Form<ConsentForm>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let then = Then {
            ar: form.ar.clone(),
            next: form.next.clone(),
        };
        let next = continuation_url(code, &then.continuation());
        let Some(session) =
            session::with_csrf(&state, code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let (Some(user_id), Some(line)) = (session.user_id.as_deref(), west_line(&entry)) else {
            return Ok(see_other(&next, &[]));
        };
        let notify = form.notify.as_deref() != Some("no");
        pipeline::record_line_consent(&state, &brand, user_id, line, notify).await?;
        Ok(see_other(&next, &[]))
    };
    page_or_error(&state, lang, &brand, result.await)
}
