//! Active Directory login and binding through ADFS (REQ-AD-3, REQ-AD-4, REQ-AD-5): the
//! connection-ID pages, the AD login URL, the ACS and the SP metadata. The SAML and the rules are
//! `sekisho_app::active_directory`; this maps them to pages.
//!
//! The response comes back as a cross-site POST (HTTP-POST binding), which carries no
//! `SameSite=Lax` session cookie. The ACS therefore does nothing but answer a page that posts the
//! same two fields to `/saml/{id}/finish` on this site, where the cookie arrives and the round
//! trip is checked against the browser that started it. Nothing is verified or changed at the ACS.

use super::login::csrf_failure;
use super::registration::ticket_invalid;
use super::upstream::callback_page;
use super::{outcome, page_or_error, see_other, with_cookies, BrandPage, TicketQuery};
use crate::i18n::{message, Lang};
use crate::line_entry::LineOrigin;
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use minijinja::context;
use sekisho_app::active_directory::sso::{self, Posted, StartProblem};
use sekisho_app::active_directory::{self as ad, connection, sp_keys};
use sekisho_app::federation::BINDING_TICKETS;
use sekisho_app::tickets;
use sekisho_core::login::{Continuation, RoundTrip};
use sekisho_core::model::Brand;
use sekisho_crypto::tokens::hash_token;
use sekisho_oidc::OAuthError;
use sekisho_saml::limits::MAX_RESPONSE_BASE64;
use sekisho_saml::Rejection;
use serde::Deserialize;

/// The message of each refusal of a SAML response (its own page, REQ-AD-5).
pub(super) fn rejection_key(r: Rejection) -> &'static str {
    match r {
        Rejection::TooLarge
        | Rejection::NotBase64
        | Rejection::Malformed
        | Rejection::Dtd
        | Rejection::Comment
        | Rejection::NotAResponse => "ad_error_malformed",
        Rejection::Unsigned
        | Rejection::Wrapped
        | Rejection::WeakAlgorithm
        | Rejection::Signature => "ad_error_signature",
        Rejection::Status => "ad_error_status",
        Rejection::Issuer | Rejection::Audience | Rejection::Destination | Rejection::Recipient => {
            "ad_error_audience"
        }
        Rejection::Expired | Rejection::NotYetValid => "ad_error_time",
        Rejection::Unsolicited | Rejection::InResponseTo => "ad_error_unsolicited",
        Rejection::NoSubject => "ad_error_subject",
    }
}

/// The connection-ID page in its three uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdPage {
    /// The login page's AD button: enter the ID.
    Login,
    /// The AD login URL: the ID is known, the form posts itself.
    LoginUrl,
    /// Registration or login-method change: enter the ID.
    Bind,
    /// 接続ID確認画面: the ID entered, to be confirmed before going to ADFS.
    BindConfirm,
}

#[allow(clippy::too_many_arguments)]
fn id_page(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    page: IdPage,
    csrf: &str,
    connection_id: &str,
    hidden: &[(&str, String)],
    error: Option<&'static str>,
) -> Response {
    let code = brand.code.as_str();
    let (title, action) = match page {
        IdPage::Login | IdPage::LoginUrl => ("ad_login_title", format!("/{code}/ad")),
        IdPage::Bind | IdPage::BindConfirm => ("ad_bind_title", format!("/{code}/ad/bind")),
    };
    let hidden: Vec<_> = hidden
        .iter()
        .map(|(k, v)| context! { name => k, value => v })
        .collect();
    // The form leads to the ADFS of the connection ID typed into it, then to the RP.
    crate::security::allow_any_form_target();
    state.pages.render(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "ad_connection.html",
        lang,
        Some(brand),
        context! {
            title => message(lang, title),
            action => action,
            csrf_token => csrf,
            connection_id => connection_id,
            hidden => hidden,
            confirm => page == IdPage::BindConfirm,
            auto => page == IdPage::LoginUrl,
            error => error.map(|e| message(lang, e)),
        },
    )
}

#[derive(Deserialize)]
pub struct StartQuery {
    ar: Option<String>,
    next: Option<String>,
}

fn continuation_fields(ar: Option<&str>, next: Option<&str>) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if let Some(ar) = ar {
        fields.push(("ar", ar.to_owned()));
    }
    if let Some(next) = next {
        fields.push(("next", next.to_owned()));
    }
    fields
}

/// `GET /{brand}/ad`: the login page's Active Directory button: enter the connection ID.
pub async fn login_page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let result = async {
        let (session, cookie) = session::ensure(&state, brand.code.as_str(), &headers).await?;
        let hidden = continuation_fields(q.ar.as_deref(), q.next.as_deref());
        let page = id_page(
            &state,
            &brand,
            lang,
            IdPage::Login,
            &session.csrf_token,
            "",
            &hidden,
            None,
        );
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/ad/{id}`: the AD login URL of the REQ-AD-2 mail. It changes nothing: the page
/// posts the connection ID (with the session's CSRF token) to `/{brand}/ad` by itself.
pub async fn login_url(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, cookie) = session::ensure(&state, &code, &headers).await?;
        let page = if connection::find(&state, &code, &id).await?.is_some() {
            id_page(
                &state,
                &brand,
                lang,
                IdPage::LoginUrl,
                &session.csrf_token,
                &id,
                &[],
                None,
            )
        } else {
            let e = Some("ad_error_unknown_connection");
            id_page(
                &state,
                &brand,
                lang,
                IdPage::Login,
                &session.csrf_token,
                "",
                &[],
                e,
            )
        };
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf_token: Option<String>,
    #[serde(default)]
    connection_id: String,
    ar: Option<String>,
    next: Option<String>,
}

/// `POST /{brand}/ad`: starts an AD login with the connection (REQ-AD-5).
pub async fn login_start(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    LineOrigin(origin): LineOrigin,
    Form(form): Form<StartForm>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let Some(session) =
            session::with_csrf(&state, code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let then = Continuation::from_page(form.ar.as_deref(), form.next.as_deref());
        let id = form.connection_id.trim();
        let login = RoundTrip::Login(then);
        match sso::start(&state, &brand, &session, id, login, origin.as_deref()).await? {
            Ok(url) => Ok(see_other(url.as_str(), &[])),
            Err(problem) => {
                let hidden = continuation_fields(form.ar.as_deref(), form.next.as_deref());
                let e = Some(start_problem_key(problem));
                Ok(id_page(
                    &state,
                    &brand,
                    lang,
                    IdPage::Login,
                    &session.csrf_token,
                    id,
                    &hidden,
                    e,
                ))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

fn start_problem_key(p: StartProblem) -> &'static str {
    match p {
        StartProblem::UnknownConnection => "ad_error_unknown_connection",
        StartProblem::NotAllowed => "ad_error_not_allowed",
        StartProblem::ConnectionBroken => "ad_error_connection_broken",
    }
}

/// `GET /{brand}/ad/bind?ticket=…`: choosing AD at registration or login-method change
/// (REQ-AD-3, REQ-AD-4): enter the connection ID.
pub async fn bind_page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let (session, cookie) = session::ensure(&state, code, &headers).await?;
        if tickets::open_any(&state, code, &BINDING_TICKETS, &q.ticket)
            .await?
            .is_none()
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        let hidden = [("ticket", q.ticket.clone())];
        let page = id_page(
            &state,
            &brand,
            lang,
            IdPage::Bind,
            &session.csrf_token,
            "",
            &hidden,
            None,
        );
        Ok(with_cookies(page, &cookie.into_iter().collect::<Vec<_>>()))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct BindForm {
    csrf_token: Option<String>,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    connection_id: String,
    confirmed: Option<String>,
}

/// `POST /{brand}/ad/bind`: the entered ID is shown for confirmation (接続ID確認画面); once
/// confirmed, the browser goes to ADFS.
pub async fn bind_submit(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    LineOrigin(origin): LineOrigin,
    Form(form): Form<BindForm>,
) -> Response {
    let result = async {
        let code = brand.code.as_str();
        let Some(session) =
            session::with_csrf(&state, code, &headers, form.csrf_token.as_deref()).await?
        else {
            return Ok(csrf_failure(&state, lang, &brand));
        };
        let Some((_, user)) =
            tickets::open_any(&state, code, &BINDING_TICKETS, &form.ticket).await?
        else {
            return Ok(ticket_invalid(&state, &brand, lang));
        };
        let id = form.connection_id.trim();
        let hidden = [("ticket", form.ticket.clone())];
        let csrf = session.csrf_token.as_str();
        let allowed = match connection::find(&state, code, id).await? {
            None => Err(StartProblem::UnknownConnection),
            Some(c) if !sso::may_bind(&user, &c) => Err(StartProblem::NotAllowed),
            Some(_) => Ok(()),
        };
        if let Err(problem) = allowed {
            let e = Some(start_problem_key(problem));
            return Ok(id_page(
                &state,
                &brand,
                lang,
                IdPage::Bind,
                csrf,
                id,
                &hidden,
                e,
            ));
        }
        if form.confirmed.is_none() {
            return Ok(id_page(
                &state,
                &brand,
                lang,
                IdPage::BindConfirm,
                csrf,
                id,
                &hidden,
                None,
            ));
        }
        let purpose = RoundTrip::Bind {
            ticket_hash: hash_token(&form.ticket),
        };
        match sso::start(&state, &brand, &session, id, purpose, origin.as_deref()).await? {
            Ok(url) => Ok(see_other(url.as_str(), &[])),
            Err(problem) => {
                let e = Some(start_problem_key(problem));
                Ok(id_page(
                    &state,
                    &brand,
                    lang,
                    IdPage::Bind,
                    csrf,
                    id,
                    &hidden,
                    e,
                ))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct SamlPost {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /{brand}/saml/{id}/acs`: ADFS posts the response here (cross-site, without the session
/// cookie). Verifies nothing and changes nothing: answers a page that posts the same fields to
/// `/finish` on this site. Oversized responses stop here.
pub async fn acs(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    Form(form): Form<SamlPost>,
) -> Response {
    if form.saml_response.len() > MAX_RESPONSE_BASE64
        || form.relay_state.as_ref().is_some_and(|r| r.len() > 256)
    {
        let why = sekisho_app::federation::Failure::Saml(Rejection::TooLarge);
        let outcome = sekisho_app::federation::CallbackOutcome::Failed(why);
        return callback_page(&state, &brand, lang, outcome);
    }
    // `/finish` ends at the RP of a round trip this page does not read (it verifies nothing).
    crate::security::allow_any_form_target();
    state.pages.render(
        StatusCode::OK,
        "ad_post.html",
        lang,
        Some(&brand),
        context! {
            action => format!("/{code}/saml/{id}/finish"),
            saml_response => form.saml_response,
            relay_state => form.relay_state,
        },
    )
}

/// `POST /{brand}/saml/{id}/finish`: the same fields, now with the session: verify and log in
/// or bind.
pub async fn finish(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    crate::line_entry::Route(entry): crate::line_entry::Route,
    LineOrigin(origin): LineOrigin,
    Form(form): Form<SamlPost>,
) -> Response {
    let result = async {
        let session = session::current(&state, &code, &headers).await?;
        let browser = outcome::browser_value(&headers);
        let posted = Posted {
            connection_id: &id,
            line_origin: origin.as_deref(),
            saml_response: &form.saml_response,
            relay_state: form.relay_state.as_deref(),
        };
        let done = sso::finish(
            &state,
            &brand,
            lang,
            session,
            browser.as_deref(),
            &entry,
            posted,
        )
        .await?;
        Ok(callback_page(&state, &brand, lang, done))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/saml/{id}`: the SP metadata of the connection (its entity ID is this URL), for
/// ADFS's relying-party trust ("import data about the relying party published online").
pub async fn sp_metadata(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        if connection::find(&state, &code, &id).await?.is_none() {
            return Ok((StatusCode::NOT_FOUND, "unknown connection").into_response());
        }
        let certs = sp_keys::published(&state).await?;
        let line_acs: Vec<String> = ad::line_acs_url(&state, &code, &id).into_iter().collect();
        let xml = sekisho_saml::sp_metadata_with_acs(
            &ad::sp_endpoints(&state, &code, &id, None),
            &line_acs,
            &certs,
        );
        Ok((
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response())
    };
    let result: Result<Response, OAuthError> = result.await;
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "SP metadata");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}
