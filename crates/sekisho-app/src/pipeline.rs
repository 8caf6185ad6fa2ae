//! The one end of every login. Each identity source — a password, an upstream OpenID/OAuth
//! account, a session stepping up for a client's `acr_values`, and later SAML and the line
//! gateway — identifies a user and then calls [`complete`], which decides in one place:
//!
//! 1. the user and their contract may use the service (`User::may_use_service`; the account menu
//!    also lets an ended trial's contractor in for the plan change, `User::may_open_menu`);
//! 2. the two-step policy (`sekisho_core::two_factor::decide`: contract setting, access route,
//!    the browser's trust) and the client's `acr_values`;
//! 3. and answers one [`LoginOutcome`]: signed in, a second step begun, or refused.
//!
//! The refusals are the same whichever source authenticated ([`Refusal`]); the web crate maps
//! them to one page or redirect each. [`resume`] is the step machine of an authorization request
//! (`sekisho_core::login::next_step`) that comes back here after every step.
//!
//! Invariant: a session holds a user only once every step the policy asked for is done; a login
//! replaces the session (new value and `sid`).

use crate::audit::audit;
use crate::login::sign_in;
pub use crate::login::{LoginContext, SignedIn};
use crate::second_step;
use crate::session::SessionToken;
use crate::{App, Result};
use sekisho_core::line::{Entry, LineArea};
use sekisho_core::login::{next_step, AuthReason, Continuation, NextStep, SignedIn as Session};
use sekisho_core::model::{AccessRoute, Role, User};
use sekisho_core::oauth::{Amr, ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR};
use sekisho_core::two_factor::{
    decide, is_multi_factor, BrowserTrust, Decision, Facts, Network, Waived,
};
use sekisho_crypto::tokens::hash_token;
use sekisho_oidc::authorize::{self, Authentication, Pending};
use sekisho_oidc::{ErrorCode, OAuthError};
use sekisho_store::SessionRecord;
use url::Url;

/// Which identity source identified the user: it says what the first factor was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Password,
    /// An upstream OpenID Connect or OAuth 2.0 account (Google, Microsoft, d アカウント, Facebook).
    Upstream,
    /// An Active Directory account through the contract's ADFS (SAML 2.0).
    Saml,
    /// A signed-in session whose client now requires two factors: its factors so far count.
    StepUp,
}

impl Source {
    fn amr(self, session: &SessionRecord) -> Vec<Amr> {
        match self {
            Source::Password => vec![Amr::Pwd],
            Source::Upstream => vec![Amr::Fed],
            Source::Saml => vec![Amr::Saml],
            Source::StepUp => session.amr.clone(),
        }
    }
}

/// Why a login was refused. The same on every identity source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user is not active (disabled) or their contract has ended (cancelled, or a trial past
    /// its 30 days): no login, and the page says why.
    NoService,
    /// The client requires two factors that this user's login method cannot give
    /// (`unmet_authentication_requirements`): the RP's error redirect when the login belongs to
    /// an authorization request, else `None` (a page).
    Unmet { rp_error_url: Option<String> },
    /// The contract's access route is 回線認証のみ and the login did not come over a line
    /// (REQ-LINE-4).
    LineOnly,
    /// The login came over the line entry, from a line not registered to the user's contract
    /// (or the gateway asserted no valid line): the line-auth error page (REQ-LINE-3).
    LineNotRegistered,
    /// The 回線認証のみ contractor's internet recovery: no factor is registered, so a single-use
    /// link was mailed to them as the second proof (REQ-LINE-4). Not an error: the page says so.
    RecoveryMailed,
}

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(SignedIn),
    /// A second step began, in a new session (the value to set).
    SecondStep {
        session: SessionToken,
    },
    Refused(Refusal),
}

/// The end of every identity source: `user` was identified by `source` in `ctx`.
pub async fn complete(
    app: &App,
    ctx: &LoginContext<'_>,
    user: &User,
    source: Source,
) -> Result<LoginOutcome> {
    let outcome = decide_login(app, ctx, user, source).await;
    if let Ok(o) = &outcome {
        crate::metrics::login(source, o);
    }
    outcome
}

async fn decide_login(
    app: &App,
    ctx: &LoginContext<'_>,
    user: &User,
    source: Source,
) -> Result<LoginOutcome> {
    let op = &app.op;
    let code = ctx.brand.code.as_str();
    let pending = match &ctx.then {
        Continuation::Authorize(ar) => authorize::find(op, code, ar, &ctx.session.sid).await?,
        _ => None,
    };
    let contract = op
        .store
        .find_contract(&user.contract_id)
        .await?
        .ok_or_else(|| OAuthError::server("user without contract"))?;
    // The account menu (and the console, whose login it shares) stays open to an ended trial's
    // contractor for the plan change.
    let may = if ctx.then.is_own_pages() {
        user.may_open_menu(&contract, app.now())
    } else {
        user.may_use_service(&contract, app.now())
    };
    if !may {
        audit(
            app,
            "login.refused.contract_ended",
            ctx.brand,
            Some(&user.id),
        )
        .await;
        return Ok(LoginOutcome::Refused(Refusal::NoService));
    }
    // The entry the login came by, against the contract's lines and access route (REQ-LINE-3,
    // REQ-LINE-4). The one way in from the internet to a line-only contract is the contractor's
    // own account menu, to switch back (the recovery of a wrong line number).
    let network = match &ctx.entry {
        Entry::Line(assertion) => {
            let registered = match assertion {
                Some(a) => op
                    .store
                    .find_line(&a.number)
                    .await?
                    .is_some_and(|line| line.contract_id == user.contract_id),
                None => false,
            };
            if !registered {
                audit(
                    app,
                    "login.refused.line_not_registered",
                    ctx.brand,
                    Some(&user.id),
                )
                .await;
                return Ok(LoginOutcome::Refused(Refusal::LineNotRegistered));
            }
            Network::Line
        }
        Entry::Internet => {
            if contract.access_route == AccessRoute::LineOnly {
                // Begun at the menu or the console: either way the recovery lands on the menu,
                // which is all a recovery session reaches.
                let recovery = ctx.then.is_own_pages() && user.role == Role::Contractor;
                if recovery {
                    return crate::line_recovery::begin(app, ctx, user).await;
                }
                audit(app, "login.refused.line_only", ctx.brand, Some(&user.id)).await;
                return Ok(LoginOutcome::Refused(Refusal::LineOnly));
            }
            Network::Internet
        }
    };
    let factor = op.store.find_second_factor(&user.id).await?;
    let browser = ctx.browser.map(hash_token);
    let trust = match &browser {
        Some(h) => op.store.browser_last_login(h, &user.id).await?,
        None => None,
    }
    .map_or(BrowserTrust::Never, |last_login| BrowserTrust::Remembered {
        last_login,
    });
    let decision = decide(Facts {
        login_method: user.login_method,
        setting: contract.two_factor,
        route: contract.access_route,
        network,
        trust,
        enrolled: factor.is_some(),
        client_requires_two_factors: pending
            .as_ref()
            .is_some_and(|p| p.params.requires_two_factors()),
        now: app.now(),
    });
    let mut amr = source.amr(ctx.session);
    // A login over a registered line says so (`amr` `line`): it stands in for the second factor
    // of password users (REQ-LINE-6) and tells the RP the route.
    if network == Network::Line && !amr.contains(&Amr::Line) {
        amr.push(Amr::Line);
    }
    let step = match decision {
        Decision::Skip(waived) => {
            if let (Waived::BrowserRemembered, Some(h)) = (waived, &browser) {
                op.store.remember_browser(h, &user.id, app.now()).await?;
            }
            let mut done = sign_in(app, code, ctx.session, &user.id, &amr, &ctx.then).await?;
            done.ask_line_consent = asks_line_consent(app, &ctx.entry, &user.id).await?;
            return Ok(LoginOutcome::SignedIn(done));
        }
        Decision::Unmet => {
            let err = OAuthError::new(
                ErrorCode::UnmetAuthenticationRequirements,
                "the client requires two factors, which this user's login method cannot give",
            );
            let rp_error_url = match pending {
                Some(p) => Some(authorize::fail(op, &p, &err).await?.to_string()),
                None => None,
            };
            audit(app, "login.refused.unmet", ctx.brand, Some(&user.id)).await;
            return Ok(LoginOutcome::Refused(Refusal::Unmet { rp_error_url }));
        }
        Decision::Enrol(ask) => second_step::Begin::Enrol(ask),
        Decision::Verify(ask) => second_step::Begin::Verify(ask),
    };
    let session = second_step::begin(app, ctx, user, amr, step, factor).await?;
    Ok(LoginOutcome::SecondStep { session })
}

/// Whether this login is the user's first from a West Japan line (REQ-LINE-5: 回線情報通知設定 is
/// shown once, and the decision recorded with [`record_line_consent`]).
async fn asks_line_consent(app: &App, entry: &Entry, user_id: &str) -> Result<bool> {
    let Entry::Line(Some(line)) = entry else {
        return Ok(false);
    };
    if line.area != LineArea::West {
        return Ok(false);
    }
    Ok(app
        .op
        .store
        .line_consent(user_id, &line.number)
        .await?
        .is_none())
}

/// Records the user's 回線情報通知設定 for the line they came over (once; audited).
pub async fn record_line_consent(
    app: &App,
    brand: &sekisho_core::model::Brand,
    user_id: &str,
    line: &sekisho_core::line::LineAssertion,
    notify: bool,
) -> Result<()> {
    app.op
        .store
        .record_line_consent(user_id, &line.number, notify, app.now())
        .await?;
    crate::audit::audit_with(
        app,
        "line.consent",
        brand,
        Some(user_id),
        serde_json::json!({ "line": line.number.as_str(), "notify": notify }),
    )
    .await;
    Ok(())
}

/// The next step of an authorization request.
#[derive(Debug)]
pub enum Resume {
    /// Show the login page for the request.
    ShowLogin,
    /// Back to the relying party (a code, or an error such as `login_required`).
    ToRp(Url),
    /// The signed-in user must step up: the pipeline's outcome.
    Login(LoginOutcome),
}

/// Asks the step machine what comes next for `pending` in `ctx.session`, and does it.
pub async fn resume(app: &App, ctx: &LoginContext<'_>, pending: &Pending) -> Result<Resume> {
    let op = &app.op;
    let session = ctx.session;
    let signed_in = match (&session.user_id, session.auth_time) {
        (Some(_), Some(t)) => Some(Session {
            auth_time: t,
            multi_factor: is_multi_factor(&session.amr),
        }),
        _ => None,
    };
    let fresh = pending.record.authenticated_at.is_some();
    let fail = |code: ErrorCode, why: &'static str| async move {
        let url = authorize::fail(op, pending, &OAuthError::new(code, why)).await?;
        Ok(Resume::ToRp(url))
    };
    match next_step(pending.params.prompt(), signed_in, fresh, app.now()) {
        NextStep::Authenticate(_) => Ok(Resume::ShowLogin),
        NextStep::LoginRequired(AuthReason::TwoFactorsRequired) => {
            fail(
                ErrorCode::InteractionRequired,
                "the client requires two factors: the user must verify the second one",
            )
            .await
        }
        NextStep::LoginRequired(_) => fail(ErrorCode::LoginRequired, "the user must log in").await,
        NextStep::StepUp => {
            let Some(user) = op
                .store
                .find_user(session.user_id.as_deref().unwrap_or_default())
                .await?
            else {
                return Err(OAuthError::server("session of a deleted user"));
            };
            let outcome = complete(app, ctx, &user, Source::StepUp).await?;
            Ok(Resume::Login(outcome))
        }
        NextStep::IssueCode => {
            let Some(user_id) = &session.user_id else {
                return Err(OAuthError::server("a code for a session without a user"));
            };
            // A signed-in session of a user who was disabled or whose contract has ended gets no
            // more codes.
            let Some((user, contract)) = op.store.find_user_with_contract(user_id).await? else {
                return fail(ErrorCode::AccessDenied, "the contract has ended").await;
            };
            if !user.may_use_service(&contract, app.now()) {
                return fail(ErrorCode::AccessDenied, "the contract has ended").await;
            }
            // An upstream login names its upstream (`idp`), from the user's login method; an AD
            // login names the contract's ADFS (its entity ID).
            let idp = if session.amr.contains(&Amr::Fed) {
                Some(user.login_method.as_str().to_owned())
            } else if session.amr.contains(&Amr::Saml) {
                op.store
                    .find_contract_ad_connection(&user.contract_id)
                    .await?
                    .map(|c| c.idp_entity_id)
            } else {
                None
            };
            let auth = Authentication {
                user_id: user_id.clone(),
                sid: session.sid.clone(),
                auth_time: session.auth_time.unwrap_or_default(),
                amr: session.amr.clone(),
                acr: if is_multi_factor(&session.amr) {
                    ACR_MULTI_FACTOR
                } else {
                    ACR_SINGLE_FACTOR
                }
                .to_owned(),
                idp,
            };
            match authorize::issue_code(op, pending, auth).await? {
                Some(url) => Ok(Resume::ToRp(url)),
                None => Err(OAuthError::server("authorization request completed twice")),
            }
        }
    }
}
