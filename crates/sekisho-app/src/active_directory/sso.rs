//! SP-initiated single sign-on (REQ-AD-4, REQ-AD-5). [`start`] keeps a round trip (the
//! single-use RelayState, hashed, bound to the browser session; the AuthnRequest's ID) and gives
//! the signed request's URL. ADFS posts the response back cross-site, where the browser sends no
//! `SameSite=Lax` session cookie; the web layer therefore answers the ACS post with a page that
//! posts the same two fields to the same site, and [`finish`] runs there, with the session.
//!
//! [`finish`] refuses, each with its own [`Failure`] and audit reason: no RelayState (an
//! unsolicited, IdP-initiated response), an unknown, used or expired round trip, another
//! browser's round trip, any [`sekisho_saml::Rejection`], and an assertion already used.

use super::connection::{find, idp_of};
use super::{sp_endpoints, sp_keys};
use crate::audit::audit_with;
use crate::federation::{self, CallbackOutcome, Failure, ROUND_TRIP_TTL};
use crate::pipeline::{self, LoginContext, Source};
use crate::{tickets, App, Result};
use sekisho_core::login::RoundTrip;
use sekisho_core::model::{Brand, LoginMethod, Role};
use sekisho_core::oauth::Lang;
use sekisho_core::secret::Secret;
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_oidc::OAuthError;
use sekisho_saml::{authn_request, verify_response, Expected, Rejection, SubjectSource};
use sekisho_store::{AdConnectionRecord, SessionRecord, TakenState, UpstreamStateRecord};
use sekisho_upstream::UpstreamIdentity;

/// Why an AD login or binding cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartProblem {
    /// No connection of this brand has that ID.
    UnknownConnection,
    /// The binding's user may not choose AD (REQ-AD-3: the contractor never; others only with
    /// their own contract's connection).
    NotAllowed,
    /// The connection's metadata no longer validates (for example every certificate expired).
    ConnectionBroken,
}

/// Whether the user of a binding ticket may choose AD with `connection` (REQ-AD-3).
pub fn may_bind(user: &sekisho_core::model::User, connection: &AdConnectionRecord) -> bool {
    user.role != Role::Contractor && user.contract_id == connection.contract_id
}

/// Starts SP-initiated SSO with connection `connection_id` for the browser `session`: a login,
/// or a binding allowed by the ticket in `purpose`. Gives the URL to send the browser to
/// (HTTP-Redirect binding, signed).
pub async fn start(
    app: &App,
    brand: &Brand,
    session: &SessionRecord,
    connection_id: &str,
    purpose: RoundTrip,
    line_origin: Option<&str>,
) -> Result<std::result::Result<url::Url, StartProblem>> {
    let code = brand.code.as_str();
    let Some(connection) = find(app, code, connection_id.trim()).await? else {
        return Ok(Err(StartProblem::UnknownConnection));
    };
    if let RoundTrip::Bind { ticket_hash } = &purpose {
        let user = tickets::open_hashed(app, code, &federation::BINDING_TICKETS, ticket_hash)
            .await?
            .map(|(_, user)| user);
        if !user.is_some_and(|u| may_bind(&u, &connection)) {
            return Ok(Err(StartProblem::NotAllowed));
        }
    }
    let Ok(idp) = idp_of(app, &connection) else {
        return Ok(Err(StartProblem::ConnectionBroken));
    };
    let key = sp_keys::current(app).await?;
    let relay_state = random_token();
    let now = app.now();
    let sp = sp_endpoints(app, code, &connection.id, line_origin);
    let request = authn_request(&sp, &idp, &key, &relay_state, now).map_err(OAuthError::server)?;
    app.op
        .store
        .insert_upstream_state(&UpstreamStateRecord {
            state_hash: hash_token(&relay_state),
            sid: session.sid.clone(),
            brand: code.to_owned(),
            connector: connection.id.clone(),
            nonce: Secret::new(request.id),
            pkce_verifier: Secret::new(String::new()),
            purpose,
            created_at: now,
            expires_at: now + ROUND_TRIP_TTL,
        })
        .await?;
    Ok(Ok(request.url))
}

/// What ADFS posted (and the browser re-posted to [`finish`]).
#[derive(Debug, Clone, Copy)]
pub struct Posted<'a> {
    /// The connection of the ACS it was posted to.
    pub connection_id: &'a str,
    /// The line host's origin when it came back over the line entry.
    pub line_origin: Option<&'a str>,
    pub saml_response: &'a str,
    pub relay_state: Option<&'a str>,
}

async fn failed(app: &App, brand: &Brand, why: Failure) -> CallbackOutcome {
    audit_with(
        app,
        "ad.login.failed",
        brand,
        None,
        serde_json::json!({ "reason": why.reason() }),
    )
    .await;
    CallbackOutcome::Failed(why)
}

/// The response came back for connection `connection_id`. `session` is the browser's current
/// session of `brand`; `browser` its remembered-browser value.
pub async fn finish(
    app: &App,
    brand: &Brand,
    lang: Lang,
    session: Option<SessionRecord>,
    browser: Option<&str>,
    entry: &sekisho_core::line::Entry,
    posted: Posted<'_>,
) -> Result<CallbackOutcome> {
    let code = brand.code.as_str();
    let connection_id = posted.connection_id;
    let Some(relay_state) = posted.relay_state.filter(|r| !r.is_empty()) else {
        return Ok(failed(app, brand, Failure::Saml(Rejection::Unsolicited)).await);
    };
    let round_trip = match app
        .op
        .store
        .take_upstream_state(&hash_token(relay_state), app.now())
        .await?
    {
        TakenState::Taken(r) => r,
        TakenState::Used => return Ok(failed(app, brand, Failure::Replay).await),
        TakenState::Expired => return Ok(failed(app, brand, Failure::Expired).await),
        TakenState::Unknown => return Ok(failed(app, brand, Failure::UnknownState).await),
    };
    if round_trip.brand != code || round_trip.connector != connection_id {
        return Ok(failed(app, brand, Failure::UnknownState).await);
    }
    // The round trip belongs to the browser that started it (login CSRF).
    let Some(session) = session.filter(|s| s.sid == round_trip.sid) else {
        return Ok(failed(app, brand, Failure::OtherBrowser).await);
    };
    let Some(connection) = find(app, code, connection_id).await? else {
        return Ok(failed(app, brand, Failure::ConnectorGone).await);
    };
    let Ok(idp) = idp_of(app, &connection) else {
        return Ok(failed(app, brand, Failure::ConnectorGone).await);
    };
    let sp = sp_endpoints(app, code, &connection.id, posted.line_origin);
    let subject = match &connection.subject_claim {
        Some(claim) => SubjectSource::Attribute(claim.clone()),
        None => SubjectSource::PersistentNameId,
    };
    let expected = Expected {
        idp_entity_id: &idp.entity_id,
        certs: &idp.signing_certs,
        sp: &sp,
        request_id: round_trip.nonce.expose(),
        subject: &subject,
        now: app.now(),
    };
    let verified = match verify_response(posted.saml_response, &expected) {
        Ok(v) => v,
        Err(rejection) => {
            tracing::warn!(connection = %connection.id, reason = rejection.reason(), "SAML response refused");
            return Ok(failed(app, brand, Failure::Saml(rejection)).await);
        }
    };
    // Each assertion once, on every node (the store's primary key decides).
    if !app
        .op
        .store
        .use_saml_assertion(
            &verified.issuer,
            &verified.assertion_id,
            verified.expires_at,
        )
        .await?
    {
        return Ok(failed(app, brand, Failure::AssertionReplay).await);
    }
    let identity = UpstreamIdentity {
        issuer: verified.issuer.clone(),
        subject: verified.subject.clone(),
        email: verified.email.clone(),
        email_verified: false,
        name: verified.name.clone(),
    };
    match round_trip.purpose {
        RoundTrip::Bind { ticket_hash } => {
            // The ticket's user may still choose this connection (checked again: it may have
            // changed during the round trip).
            let user = tickets::open_hashed(app, code, &federation::BINDING_TICKETS, &ticket_hash)
                .await?
                .map(|(_, user)| user);
            if let Some(user) = &user {
                if !may_bind(user, &connection) {
                    return Ok(failed(app, brand, Failure::NotBound).await);
                }
            }
            federation::bind(app, brand, LoginMethod::Ad, &identity, &ticket_hash).await
        }
        RoundTrip::Login(then) => {
            let user = federation::bound_user(app, brand, LoginMethod::Ad, &identity)
                .await?
                .filter(|u| u.contract_id == connection.contract_id);
            let Some(user) = user else {
                return Ok(failed(app, brand, Failure::NotBound).await);
            };
            audit_with(
                app,
                "login.ad.ok",
                brand,
                Some(&user.id),
                serde_json::json!({ "connection": connection.id }),
            )
            .await;
            let ctx = LoginContext {
                entry: entry.clone(),
                brand,
                lang,
                session: &session,
                browser,
                then,
            };
            let outcome = pipeline::complete(app, &ctx, &user, Source::Saml).await?;
            Ok(CallbackOutcome::Login(outcome))
        }
    }
}
