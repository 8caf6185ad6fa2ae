//! Brokered login (REQ-LOGIN-3) and binding an upstream account as the login method (REQ-USER-2,
//! -3, -4, -5): `/{brand}/upstream/{name}/start` and `/bind` send the browser to the upstream,
//! `/{brand}/upstream/callback` comes back.
//!
//! The server owns the round trip: state (kept hashed, single use, bound to the browser
//! session), nonce and PKCE verifier live in `upstream_states`; the connectors are stateless.
//! Invariant: an upstream identity logs in only the user bound to its (issuer, subject); an email
//! match alone never binds or logs in, and an identity bound to nobody creates nothing.

use super::registration::ticket_invalid;
use super::{lang, page_or_error, see_other, BrandPage, TicketQuery};
use crate::i18n::{message, Lang};
use crate::second_step::{self, AfterFirstFactor};
use crate::session;
use crate::signin;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use sekisho_core::model::{Brand, LoginMethod};
use sekisho_core::oauth::Amr;
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_oidc::OAuthError;
use sekisho_store::{StoreError, TakenState, UpstreamBinding, UpstreamStateRecord};
use sekisho_upstream::{Connector, IdTokenProblem, UpstreamError};
use serde::Deserialize;

/// How long the user may spend at the upstream.
const ROUND_TRIP_TTL: i64 = 10 * 60;

/// The login method a connector gives.
pub fn login_method(connector: &Connector) -> LoginMethod {
    match connector.kind() {
        sekisho_upstream::Kind::Google => LoginMethod::Google,
        sekisho_upstream::Kind::Microsoft => LoginMethod::Microsoft,
        sekisho_upstream::Kind::DAccount => LoginMethod::DAccount,
        sekisho_upstream::Kind::Facebook => LoginMethod::Facebook,
    }
}

fn callback_url(state: &AppState, code: &str) -> String {
    format!("{}/upstream/callback", state.op.issuer(code))
}

/// A page saying why the upstream step failed, with the way on; audited.
async fn failure(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    key: &'static str,
    audit: &str,
    user_id: Option<&str>,
) -> Response {
    failure_with(state, brand, lang, key, None, audit, user_id).await
}

/// [`failure`] with a detail line (which check failed), for the user and for support.
async fn failure_with(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    key: &'static str,
    detail: Option<&'static str>,
    audit: &str,
    user_id: Option<&str>,
) -> Response {
    signin::audit_with(
        state,
        "upstream.failed",
        brand,
        user_id,
        serde_json::json!({ "reason": audit }),
    )
    .await;
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

/// `GET /{brand}/upstream/{name}/start`: a login with an upstream account.
pub async fn start(
    State(state): State<AppState>,
    Path((code, name)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let next = match (q.ar, q.next.as_deref()) {
        (Some(ar), _) => format!("ar:{ar}"),
        (None, Some("account")) => "account".to_owned(),
        _ => String::new(),
    };
    let result = go_upstream(&state, &code, &headers, &name, "login", next).await;
    page_or_error(&state, lang, &brand, result)
}

/// The live ticket that allows a binding: an invitation (registration, REQ-USER-2) or a
/// login-method change (REQ-USER-4).
async fn binding_ticket(
    state: &AppState,
    ticket_hash: &str,
) -> Result<Option<sekisho_store::TicketRecord>, OAuthError> {
    for purpose in [TicketPurpose::Invitation, TicketPurpose::LoginMethodChange] {
        let found = state
            .op
            .store
            .find_live_ticket(ticket_hash, purpose.as_str(), state.op.now())
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// `GET /{brand}/upstream/{name}/bind?ticket=…`: binding an upstream account.
pub async fn bind(
    State(state): State<AppState>,
    Path((code, name)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Response {
    let result = async {
        if binding_ticket(&state, &hash_token(&q.ticket))
            .await?
            .is_none()
        {
            return Ok(ticket_invalid(&state, &brand, lang));
        }
        go_upstream(
            &state,
            &code,
            &headers,
            &name,
            "bind",
            hash_token(&q.ticket),
        )
        .await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Keeps the round trip's state and sends the browser to the upstream.
async fn go_upstream(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    name: &str,
    purpose: &str,
    next: String,
) -> Result<Response, OAuthError> {
    let Some(connector) = state.upstream(name) else {
        return Err(OAuthError::invalid_request("unknown upstream"));
    };
    let (session, cookie) = session::ensure(state, code, headers).await?;
    let st = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let now = state.op.now();
    state
        .op
        .store
        .insert_upstream_state(&UpstreamStateRecord {
            state_hash: hash_token(&st),
            sid: session.sid.clone(),
            brand: code.to_owned(),
            connector: name.to_owned(),
            nonce: nonce.clone(),
            pkce_verifier: verifier.clone(),
            purpose: purpose.to_owned(),
            next,
            created_at: now,
            expires_at: now + ROUND_TRIP_TTL,
        })
        .await?;
    let url = connector
        .login_url(&callback_url(state, code), &st, &nonce, &verifier)
        .await
        .map_err(OAuthError::server)?;
    Ok(see_other(
        url.as_str(),
        &cookie.into_iter().collect::<Vec<_>>(),
    ))
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
    Query(q): Query<CallbackQuery>,
) -> Response {
    let lang = lang(None, &headers);
    let result = async {
        let code = brand.code.as_str();
        let Some(st) = q.state.as_deref() else {
            return Ok(failure(&state, &brand, lang, "up_error_state", "no state", None).await);
        };
        let round_trip = match state
            .op
            .store
            .take_upstream_state(&hash_token(st), state.op.now())
            .await?
        {
            TakenState::Taken(r) => r,
            TakenState::Used => {
                return Ok(failure(&state, &brand, lang, "up_error_replay", "replay", None).await)
            }
            TakenState::Expired => {
                return Ok(failure(&state, &brand, lang, "up_error_expired", "expired", None).await)
            }
            TakenState::Unknown => {
                return Ok(failure(
                    &state,
                    &brand,
                    lang,
                    "up_error_state",
                    "unknown state",
                    None,
                )
                .await)
            }
        };
        // The state belongs to the browser that started the round trip (login CSRF).
        let session = session::current(&state, code, &headers).await?;
        let Some(session) = session.filter(|s| s.sid == round_trip.sid && round_trip.brand == code)
        else {
            return Ok(failure(
                &state,
                &brand,
                lang,
                "up_error_state",
                "state of another browser",
                None,
            )
            .await);
        };
        if let Some(error) = &q.error {
            let key = match error.as_str() {
                "access_denied" => "up_error_cancelled",
                _ => "up_error_upstream",
            };
            return Ok(failure(&state, &brand, lang, key, error, None).await);
        }
        let Some(connector) = state.upstream(&round_trip.connector) else {
            return Ok(failure(
                &state,
                &brand,
                lang,
                "up_error_upstream",
                "connector gone",
                None,
            )
            .await);
        };
        let Some(auth_code) = q.code.as_deref() else {
            return Ok(failure(&state, &brand, lang, "up_error_upstream", "no code", None).await);
        };
        let identity = match connector
            .handle_callback(
                &callback_url(&state, code),
                auth_code,
                &round_trip.nonce,
                &round_trip.pkce_verifier,
            )
            .await
        {
            Ok(id) => id,
            Err(e) => {
                let (key, detail, reason) = match &e {
                    UpstreamError::InvalidIdToken(p) => {
                        let (detail, reason) = match p {
                            IdTokenProblem::Signature => ("up_why_signature", "id_token signature"),
                            IdTokenProblem::UnknownKey => {
                                ("up_why_unknown_key", "id_token unknown key")
                            }
                            IdTokenProblem::Issuer => ("up_why_issuer", "id_token issuer"),
                            IdTokenProblem::Audience => ("up_why_audience", "id_token audience"),
                            IdTokenProblem::Expired => ("up_why_expired", "id_token expired"),
                            IdTokenProblem::Nonce => ("up_why_nonce", "id_token nonce"),
                            IdTokenProblem::Missing => ("up_why_missing", "id_token missing"),
                            IdTokenProblem::Other => ("up_why_other", "id_token invalid"),
                        };
                        ("up_error_id_token", Some(detail), reason)
                    }
                    UpstreamError::TokenRefused(_) => ("up_error_upstream", None, "code refused"),
                    _ => ("up_error_unavailable", None, "upstream unavailable"),
                };
                tracing::warn!(connector = connector.name(), error = %e, "upstream callback failed");
                return Ok(failure_with(&state, &brand, lang, key, detail, reason, None).await);
            }
        };
        match round_trip.purpose.as_str() {
            "bind" => bound(&state, &brand, lang, connector, &identity, &round_trip.next).await,
            _ => {
                logged_in(
                    &state,
                    &brand,
                    lang,
                    &headers,
                    &session,
                    connector,
                    &identity,
                    &round_trip.next,
                )
                .await
            }
        }
    };
    page_or_error(&state, lang0, &brand, result.await)
}

/// A login: the bound user continues into the same steps as a password login.
#[allow(clippy::too_many_arguments)]
async fn logged_in(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    session: &sekisho_store::SessionRecord,
    connector: &Connector,
    identity: &sekisho_upstream::UpstreamIdentity,
    next: &str,
) -> Result<Response, OAuthError> {
    let op = &state.op;
    let binding = op
        .store
        .find_upstream_binding(brand.code.as_str(), &identity.issuer, &identity.subject)
        .await?;
    let user = match binding {
        Some(b) => op.store.find_user(&b.user_id).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| u.login_method == login_method(connector)) else {
        return Ok(failure(state, brand, lang, "up_error_not_bound", "not bound", None).await);
    };
    signin::audit_with(
        state,
        "login.upstream.ok",
        brand,
        Some(&user.id),
        serde_json::json!({ "connector": connector.name() }),
    )
    .await;
    let after = second_step::after_first_factor(
        state,
        brand,
        lang,
        headers,
        session,
        &user,
        &[Amr::Fed.as_str()],
        next,
    )
    .await?;
    Ok(match after {
        AfterFirstFactor::SignedIn { location, cookies }
        | AfterFirstFactor::SecondStep { location, cookies } => see_other(&location, &cookies),
        AfterFirstFactor::Unmet {
            rp_error_url: Some(url),
        } => see_other(&url, &[]),
        AfterFirstFactor::ContractEnded => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_contract_ended",
            None,
        ),
        AfterFirstFactor::Unmet { rp_error_url: None } => state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_unmet_two_factors",
            None,
        ),
    })
}

/// A binding by registration or login-method change: the ticket's user gets this upstream
/// identity.
async fn bound(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    connector: &Connector,
    identity: &sekisho_upstream::UpstreamIdentity,
    ticket_hash: &str,
) -> Result<Response, OAuthError> {
    let op = &state.op;
    let now = op.now();
    let Some(ticket) = binding_ticket(state, ticket_hash).await? else {
        return Ok(ticket_invalid(state, brand, lang));
    };
    let Some(user) = op.store.find_user(&ticket.user_id).await? else {
        return Ok(ticket_invalid(state, brand, lang));
    };
    let method = login_method(connector);
    // REQ-USER-5: a bound Facebook account is not switched directly to another one.
    if user.login_method == LoginMethod::Facebook && method == LoginMethod::Facebook {
        let current = op.store.find_user_binding(&user.id).await?;
        if current.is_some_and(|b| b.subject != identity.subject) {
            return Ok(failure(
                state,
                brand,
                lang,
                "up_error_second_facebook",
                "second facebook",
                Some(&user.id),
            )
            .await);
        }
    }
    let binding = UpstreamBinding {
        brand: brand.code.to_string(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        user_id: user.id.clone(),
        connector: method.as_str().to_owned(),
        email: identity.email.clone(),
        created_at: now,
    };
    match op
        .store
        .bind_upstream(&binding, ticket_hash, &ticket.purpose, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Ok(ticket_invalid(state, brand, lang)),
        Err(StoreError::Conflict) => {
            return Ok(failure(
                state,
                brand,
                lang,
                "up_error_bound_elsewhere",
                "bound to another user",
                Some(&user.id),
            )
            .await)
        }
        Err(e) => return Err(e.into()),
    }
    let registration = ticket.purpose == TicketPurpose::Invitation.as_str();
    signin::audit_with(
        state,
        if registration {
            "user.registered"
        } else {
            "login_method.changed"
        },
        brand,
        Some(&user.id),
        serde_json::json!({ "to": method.as_str() }),
    )
    .await;
    let login = format!("/{}/login", brand.code);
    Ok(state.pages.message(
        StatusCode::OK,
        lang,
        Some(brand),
        if registration {
            "reg_done_title"
        } else {
            "up_bound_title"
        },
        if registration {
            "up_registered_body"
        } else {
            "up_bound_body"
        },
        Some(&login),
    ))
}
