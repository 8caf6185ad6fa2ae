//! Brokered login (REQ-LOGIN-3) and binding an upstream account as the login method (REQ-USER-2,
//! -3, -4, -5). The server owns the round trip: state (kept hashed, single use, bound to the
//! browser session that started it), nonce and PKCE verifier live in `upstream_states`; the
//! connectors (`sekisho-upstream`) are stateless.
//!
//! Invariant: an upstream identity logs in only the user bound to its (issuer, subject); an email
//! match alone never binds or logs in, and an identity bound to nobody creates nothing.

use crate::audit::audit_with;
use crate::pipeline::{self, LoginContext, LoginOutcome, Source};
use crate::{tickets, App, Result};
use sekisho_core::login::RoundTrip;
use sekisho_core::model::{Brand, LoginMethod, User};
use sekisho_core::oauth::Lang;
use sekisho_core::secret::Secret;
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::{hash_token, random_token};
use sekisho_oidc::OAuthError;
use sekisho_store::{SessionRecord, StoreError, TakenState, UpstreamBinding, UpstreamStateRecord};
use sekisho_upstream::{Connector, IdTokenProblem, UpstreamError, UpstreamIdentity};

/// How long the user may spend at the upstream.
pub const ROUND_TRIP_TTL: i64 = 10 * 60;

/// The tickets that allow a binding: an invitation (registration, REQ-USER-2) or a login-method
/// change (REQ-USER-4).
pub const BINDING_TICKETS: [TicketPurpose; 2] =
    [TicketPurpose::Invitation, TicketPurpose::LoginMethodChange];

/// The login method a connector gives.
pub fn login_method(connector: &Connector) -> LoginMethod {
    match connector.kind() {
        sekisho_upstream::Kind::Google => LoginMethod::Google,
        sekisho_upstream::Kind::Microsoft => LoginMethod::Microsoft,
        sekisho_upstream::Kind::DAccount => LoginMethod::DAccount,
        sekisho_upstream::Kind::Facebook => LoginMethod::Facebook,
    }
}

/// Where the upstream sends the browser back: under the issuer, or, for a round trip begun on
/// the line entry, under the line host's origin (`line_origin`, as the authenticated gateway
/// presents it), so the browser comes back over its line (REQ-LINE-6).
pub fn callback_url(app: &App, brand: &str, line_origin: Option<&str>) -> String {
    match line_origin {
        Some(origin) => format!("{}/{brand}/upstream/callback", origin.trim_end_matches('/')),
        None => format!("{}/upstream/callback", app.op.issuer(brand)),
    }
}

/// Why an upstream step failed. Each has its own page and audit reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    NoState,
    UnknownState,
    /// The state was already used (a replayed callback).
    Replay,
    Expired,
    /// The state belongs to another browser session (login CSRF).
    OtherBrowser,
    /// The user cancelled at the upstream (`error=access_denied`).
    Cancelled,
    /// The upstream answered another error.
    UpstreamError(String),
    ConnectorGone,
    NoCode,
    IdToken(IdTokenProblem),
    CodeRefused,
    Unavailable,
    /// The identity is bound to no user of this brand (or to one with another login method).
    NotBound,
    /// REQ-USER-5: a bound Facebook account is not switched directly to another one.
    SecondFacebook,
    /// The identity is already bound to another user.
    BoundElsewhere,
    /// A SAML response was refused (Active Directory login).
    Saml(sekisho_saml::Rejection),
    /// A SAML assertion already used (a replayed response).
    AssertionReplay,
}

impl Failure {
    /// The audit event's `reason` (never secrets).
    pub fn reason(&self) -> String {
        match self {
            Failure::NoState => "no state".into(),
            Failure::UnknownState => "unknown state".into(),
            Failure::Replay => "replay".into(),
            Failure::Expired => "expired".into(),
            Failure::OtherBrowser => "state of another browser".into(),
            Failure::Cancelled => "access_denied".into(),
            Failure::UpstreamError(e) => e.clone(),
            Failure::ConnectorGone => "connector gone".into(),
            Failure::NoCode => "no code".into(),
            Failure::IdToken(p) => format!("id_token {}", id_token_reason(*p)),
            Failure::CodeRefused => "code refused".into(),
            Failure::Unavailable => "upstream unavailable".into(),
            Failure::NotBound => "not bound".into(),
            Failure::SecondFacebook => "second facebook".into(),
            Failure::BoundElsewhere => "bound to another user".into(),
            Failure::Saml(r) => format!("saml {}", r.reason()),
            Failure::AssertionReplay => "saml assertion replay".into(),
        }
    }
}

fn id_token_reason(p: IdTokenProblem) -> &'static str {
    match p {
        IdTokenProblem::Signature => "signature",
        IdTokenProblem::UnknownKey => "unknown key",
        IdTokenProblem::Issuer => "issuer",
        IdTokenProblem::Audience => "audience",
        IdTokenProblem::Expired => "expired",
        IdTokenProblem::Nonce => "nonce",
        IdTokenProblem::Missing => "missing",
        IdTokenProblem::Other => "invalid",
    }
}

async fn failed(app: &App, brand: &Brand, why: Failure, user_id: Option<&str>) -> Failure {
    audit_with(
        app,
        "upstream.failed",
        brand,
        user_id,
        serde_json::json!({ "reason": why.reason() }),
    )
    .await;
    why
}

/// How the browser goes to the upstream. OpenID Connect and OAuth 2.0 redirect; a SAML
/// AuthnRequest may instead be an auto-posted form (HTTP-POST binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStart {
    Redirect(url::Url),
    AutoPost {
        action: url::Url,
        fields: Vec<(String, String)>,
    },
}

/// Keeps a new round trip's state for the browser `session` and says where to send it.
/// `Err(..)` when no such connector is configured.
pub async fn start(
    app: &App,
    brand: &str,
    session: &SessionRecord,
    connector_name: &str,
    purpose: RoundTrip,
    line_origin: Option<&str>,
) -> Result<std::result::Result<LoginStart, UnknownConnector>> {
    let Some(connector) = app.upstream(connector_name) else {
        return Ok(Err(UnknownConnector));
    };
    let st = random_token();
    let nonce = Secret::new(random_token());
    let verifier = Secret::new(random_token());
    let now = app.now();
    app.op
        .store
        .insert_upstream_state(&UpstreamStateRecord {
            state_hash: hash_token(&st),
            sid: session.sid.clone(),
            brand: brand.to_owned(),
            connector: connector_name.to_owned(),
            nonce: nonce.clone(),
            pkce_verifier: verifier.clone(),
            purpose,
            created_at: now,
            expires_at: now + ROUND_TRIP_TTL,
        })
        .await?;
    let url = connector
        .login_url(
            &callback_url(app, brand, line_origin),
            &st,
            &nonce,
            &verifier,
        )
        .await
        .map_err(OAuthError::server)?;
    Ok(Ok(LoginStart::Redirect(url)))
}

/// No connector of that name is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownConnector;

/// What the upstream sent back (the callback's query).
#[derive(Debug, Clone, Default)]
pub struct Reply<'a> {
    /// The line host's origin when the browser came back over the line entry (see
    /// [`callback_url`]).
    pub line_origin: Option<&'a str>,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What a callback did.
#[derive(Debug)]
pub enum CallbackOutcome {
    Failed(Failure),
    /// A login: the pipeline's outcome.
    Login(LoginOutcome),
    /// A binding by registration (`registration`) or login-method change.
    Bound {
        registration: bool,
    },
    /// The ticket that allowed the binding is no longer live.
    TicketInvalid,
}

/// The browser came back from the upstream. `session` is the browser's current session of
/// `brand`; `browser` its remembered-browser value.
pub async fn callback(
    app: &App,
    brand: &Brand,
    lang: Lang,
    session: Option<SessionRecord>,
    browser: Option<&str>,
    entry: &sekisho_core::line::Entry,
    reply: Reply<'_>,
) -> Result<CallbackOutcome> {
    use CallbackOutcome::Failed;
    let code = brand.code.as_str();
    let Some(st) = reply.state else {
        return Ok(Failed(failed(app, brand, Failure::NoState, None).await));
    };
    let round_trip = match app
        .op
        .store
        .take_upstream_state(&hash_token(st), app.now())
        .await?
    {
        TakenState::Taken(r) => r,
        TakenState::Used => return Ok(Failed(failed(app, brand, Failure::Replay, None).await)),
        TakenState::Expired => return Ok(Failed(failed(app, brand, Failure::Expired, None).await)),
        TakenState::Unknown => {
            return Ok(Failed(
                failed(app, brand, Failure::UnknownState, None).await,
            ))
        }
    };
    // The state belongs to the browser that started the round trip (login CSRF).
    let Some(session) = session.filter(|s| s.sid == round_trip.sid && round_trip.brand == code)
    else {
        return Ok(Failed(
            failed(app, brand, Failure::OtherBrowser, None).await,
        ));
    };
    if let Some(error) = reply.error {
        let why = match error {
            "access_denied" => Failure::Cancelled,
            other => Failure::UpstreamError(other.chars().take(64).collect()),
        };
        return Ok(Failed(failed(app, brand, why, None).await));
    }
    let Some(connector) = app.upstream(&round_trip.connector) else {
        return Ok(Failed(
            failed(app, brand, Failure::ConnectorGone, None).await,
        ));
    };
    let Some(auth_code) = reply.code else {
        return Ok(Failed(failed(app, brand, Failure::NoCode, None).await));
    };
    let identity = match connector
        .handle_callback(
            &callback_url(app, code, reply.line_origin),
            auth_code,
            &round_trip.nonce,
            &round_trip.pkce_verifier,
        )
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(connector = connector.name(), error = %e, "upstream callback failed");
            let why = match e {
                UpstreamError::InvalidIdToken(p) => Failure::IdToken(p),
                UpstreamError::TokenRefused(_) => Failure::CodeRefused,
                _ => Failure::Unavailable,
            };
            return Ok(Failed(failed(app, brand, why, None).await));
        }
    };
    match round_trip.purpose {
        RoundTrip::Bind { ticket_hash } => {
            bind(app, brand, login_method(connector), &identity, &ticket_hash).await
        }
        RoundTrip::Login(then) => {
            let Some(user) = bound_user(app, brand, login_method(connector), &identity).await?
            else {
                return Ok(Failed(failed(app, brand, Failure::NotBound, None).await));
            };
            audit_with(
                app,
                "login.upstream.ok",
                brand,
                Some(&user.id),
                serde_json::json!({ "connector": connector.name() }),
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
            let outcome = pipeline::complete(app, &ctx, &user, Source::Upstream).await?;
            Ok(CallbackOutcome::Login(outcome))
        }
    }
}

/// The user bound to this identity in `brand`, if their login method is still `method`.
pub async fn bound_user(
    app: &App,
    brand: &Brand,
    method: LoginMethod,
    identity: &UpstreamIdentity,
) -> Result<Option<User>> {
    let binding = app
        .op
        .store
        .find_upstream_binding(brand.code.as_str(), &identity.issuer, &identity.subject)
        .await?;
    let user = match binding {
        Some(b) => app.op.store.find_user(&b.user_id).await?,
        None => None,
    };
    Ok(user.filter(|u| u.login_method == method))
}

/// A binding by registration or login-method change: the ticket's user gets this upstream (or
/// AD) identity as login method `method`, and the ticket is spent, in one transaction
/// (`Store::bind_upstream`).
pub async fn bind(
    app: &App,
    brand: &Brand,
    method: LoginMethod,
    identity: &UpstreamIdentity,
    ticket_hash: &str,
) -> Result<CallbackOutcome> {
    let op = &app.op;
    let now = app.now();
    let code = brand.code.as_str();
    let Some((ticket, user)) =
        tickets::open_hashed(app, code, &BINDING_TICKETS, ticket_hash).await?
    else {
        return Ok(CallbackOutcome::TicketInvalid);
    };
    if user.login_method == LoginMethod::Facebook && method == LoginMethod::Facebook {
        let current = op.store.find_user_binding(&user.id).await?;
        if current.is_some_and(|b| b.subject != identity.subject) {
            let why = failed(app, brand, Failure::SecondFacebook, Some(&user.id)).await;
            return Ok(CallbackOutcome::Failed(why));
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
        Ok(false) => return Ok(CallbackOutcome::TicketInvalid),
        Err(StoreError::Conflict) => {
            let why = failed(app, brand, Failure::BoundElsewhere, Some(&user.id)).await;
            return Ok(CallbackOutcome::Failed(why));
        }
        Err(e) => return Err(e.into()),
    }
    let registration = tickets::purpose_of(&ticket) == Some(TicketPurpose::Invitation);
    audit_with(
        app,
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
    Ok(CallbackOutcome::Bound { registration })
}
