//! Brokered login (REQ-LOGIN-3) and binding an upstream account as the login method (REQ-USER-2,
//! -3, -4, -5): `/{brand}/upstream/{name}/start` (GET) and `/bind` (POST) send the browser to the upstream,
//! `/{brand}/upstream/callback` comes back. The round trip and the binding are
//! `sekisho_app::federation`; this maps them to pages.

use super::registration::ticket_invalid;
use super::{lang, outcome, page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::line_entry::LineOrigin;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::federation::{
    self, CallbackOutcome, Failure, LoginStart, Reply, UnknownConnector, BINDING_TICKETS,
};
use sekisho_app::tickets;
use sekisho_core::login::{Continuation, RoundTrip};
use sekisho_core::model::Brand;
use sekisho_crypto::tokens::hash_token;
use sekisho_oidc::OAuthError;
use sekisho_upstream::IdTokenProblem;
use serde::Deserialize;

/// The message (and the detail line, for an ID token) of each failure.
fn failure_keys(why: &Failure) -> (&'static str, Option<&'static str>) {
    match why {
        Failure::NoState | Failure::UnknownState | Failure::OtherBrowser => {
            ("up_error_state", None)
        }
        Failure::Replay => ("up_error_replay", None),
        Failure::Expired => ("up_error_expired", None),
        Failure::Cancelled => ("up_error_cancelled", None),
        Failure::UpstreamError(_) | Failure::ConnectorGone | Failure::NoCode => {
            ("up_error_upstream", None)
        }
        Failure::CodeRefused => ("up_error_upstream", None),
        Failure::Unavailable => ("up_error_unavailable", None),
        Failure::NotBound => ("up_error_not_bound", None),
        Failure::SecondFacebook => ("up_error_second_facebook", None),
        Failure::BoundElsewhere => ("up_error_bound_elsewhere", None),
        Failure::AssertionReplay => ("ad_error_replay", None),
        Failure::Saml(r) => (super::ad_login::rejection_key(*r), None),
        Failure::IdToken(p) => (
            "up_error_id_token",
            Some(match p {
                IdTokenProblem::Signature => "up_why_signature",
                IdTokenProblem::UnknownKey => "up_why_unknown_key",
                IdTokenProblem::Issuer => "up_why_issuer",
                IdTokenProblem::Audience => "up_why_audience",
                IdTokenProblem::Expired => "up_why_expired",
                IdTokenProblem::Nonce => "up_why_nonce",
                IdTokenProblem::Missing => "up_why_missing",
                IdTokenProblem::Other => "up_why_other",
            }),
        ),
    }
}

/// A page saying why the upstream step failed, with the way on (already audited).
fn failure(state: &AppState, brand: &Brand, lang: Lang, why: &Failure) -> Response {
    let (key, detail) = failure_keys(why);
    let login = format!("/{}/login", brand.code);
    state.pages.render(
        StatusCode::BAD_REQUEST,
        "message.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, "up_error_title"),
            body => message(lang, key),
            detail => detail.map(|d| message(lang, d)),
            link => login,
            is_error => true,
        },
    )
}

#[derive(Deserialize)]
pub struct StartQuery {
    ar: Option<String>,
    next: Option<String>,
}

/// `GET /{brand}/upstream/{name}/start`: a login with an upstream account, from the login page's
/// buttons (links).
///
/// Why a GET may do this (ISSUE-16, "no GET changes state"): it changes no account, ticket or
/// session of anyone. It keeps one anonymous round-trip row (state, nonce, PKCE verifier), bound
/// to this browser's session, single use, expiring in 10 minutes and purged — the same kind of
/// row `/authorize` keeps for every visit, and rate-limited per client like it
/// (`rate_limit::Action::Authorize`). A forged visit only sends the browser to the upstream's
/// account chooser (`prompt=select_account`), and what comes back logs in whoever the person
/// chooses there, in their own browser: nothing an attacker can plant.
pub async fn start(
    State(state): State<AppState>,
    Path((code, name)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    LineOrigin(origin): LineOrigin,
    Query(q): Query<StartQuery>,
) -> Response {
    // An upstream this deployment does not have is a page not found (ISSUE-16), not an internal
    // error, and no session is made for it.
    if state.upstream(&name).is_none() {
        return crate::error::PageError::new(StatusCode::NOT_FOUND, lang, "error_unknown_brand")
            .render(&state, Some(&brand));
    }
    let then = Continuation::from_page(q.ar.as_deref(), q.next.as_deref());
    let visit = Visit {
        headers: &headers,
        line_origin: origin.as_deref(),
    };
    let result = go_upstream(&state, &code, visit, &name, RoundTrip::Login(then)).await;
    page_or_error(&state, lang, &brand, result)
}

#[derive(Deserialize)]
pub struct BindForm {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
}

/// `POST /{brand}/upstream/{name}/bind` (ticket and CSRF token): binding an upstream account,
/// allowed by an invitation (REQ-USER-2) or a login-method-change ticket (REQ-USER-4) of this
/// brand, from the buttons of the login-method page and of 申込確認. A POST (ISSUE-16): the
/// binding that follows replaces the account's login method, so it starts only from this
/// browser's own page, never from a link another site makes the browser open.
pub async fn bind(
    State(state): State<AppState>,
    Path((code, name)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    LineOrigin(origin): LineOrigin,
    Form(form): Form<BindForm>,
) -> Response {
    if state.upstream(&name).is_none() {
        return crate::error::PageError::new(StatusCode::NOT_FOUND, lang, "error_unknown_brand")
            .render(&state, Some(&brand));
    }
    let result = async {
        if session::with_csrf(&state, &code, &headers, form.csrf_token.as_deref())
            .await?
            .is_none()
        {
            return Ok(super::login::csrf_failure(&state, lang, &brand));
        }
        if tickets::open_any(&state, &code, &BINDING_TICKETS, &form.ticket)
            .await?
            .is_none()
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        let purpose = RoundTrip::Bind {
            ticket_hash: hash_token(&form.ticket),
        };
        let visit = Visit {
            headers: &headers,
            line_origin: origin.as_deref(),
        };
        go_upstream(&state, &code, visit, &name, purpose).await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// The request's headers and, on the line entry, the line host's origin.
struct Visit<'a> {
    headers: &'a HeaderMap,
    line_origin: Option<&'a str>,
}

/// Keeps the round trip's state and sends the browser to the upstream.
async fn go_upstream(
    state: &AppState,
    code: &str,
    visit: Visit<'_>,
    name: &str,
    purpose: RoundTrip,
) -> Result<Response, OAuthError> {
    let (session, cookie) = session::ensure(state, code, visit.headers).await?;
    let cookies: Vec<_> = cookie.into_iter().collect();
    match federation::start(state, code, &session, name, purpose, visit.line_origin).await? {
        Err(UnknownConnector) => Err(OAuthError::invalid_request("unknown upstream")),
        Ok(LoginStart::Redirect(url)) => Ok(see_other(url.as_str(), &cookies)),
        Ok(LoginStart::AutoPost { .. }) => Err(OAuthError::server(
            "an auto-posted login start needs its page (the SAML work)",
        )),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// `GET /{brand}/upstream/callback`: the upstream sends the browser back here.
pub async fn callback(
    State(state): State<AppState>,
    BrandPage { brand, lang: lang0 }: BrandPage,
    headers: HeaderMap,
    crate::line_entry::Route(entry): crate::line_entry::Route,
    LineOrigin(origin): LineOrigin,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let lang = lang(None, &headers);
    let result = async {
        let code = brand.code.as_str();
        let session = session::current(&state, code, &headers).await?;
        let browser = outcome::browser_value(&headers);
        let reply = Reply {
            line_origin: origin.as_deref(),
            state: q.state.as_deref(),
            code: q.code.as_deref(),
            error: q.error.as_deref(),
        };
        let outcome = federation::callback(
            &state,
            &brand,
            lang,
            session,
            browser.as_deref(),
            &entry,
            reply,
        )
        .await?;
        Ok(callback_page(&state, &brand, lang, outcome))
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// The page (or redirect) for what a callback did: shared by the upstream callback and the AD
/// (SAML) response.
pub(super) fn callback_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    outcome: CallbackOutcome,
) -> Response {
    let code = brand.code.as_str();
    match outcome {
        CallbackOutcome::Failed(why) => failure(state, brand, lang, &why),
        CallbackOutcome::Login(done) => outcome::login(state, brand, lang, done, &[]),
        CallbackOutcome::TicketInvalid => ticket_invalid(state, brand, lang),
        CallbackOutcome::Bound { registration } => {
            let login = format!("/{code}/login");
            let (title, body) = match registration {
                true => ("reg_done_title", "up_registered_body"),
                false => ("up_bound_title", "up_bound_body"),
            };
            state
                .pages
                .message(StatusCode::OK, lang, Some(brand), title, body, Some(&login))
        }
    }
}
