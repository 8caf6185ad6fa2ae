//! Line authentication settings (回線認証設定, REQ-LINE-1, REQ-LINE-2): the contract's access
//! route and the NTT FLET'S line numbers it registered. No HTTP here: the account menu
//! (アクセス経路設定), the admin console's 回線認証 page and the admin API call these, so each rule
//! is written once.
//!
//! Who may act: the same [`Actor`] as user management, an active contractor or admin of a live
//! contract, or an integrator's client bound to it (REQ-LINE-1: "changed by the contractor from
//! the account menu … or by an admin in the admin console"). The account menu narrows it to the
//! contractor with the permission table (REQ-MENU-2) before calling here.
//!
//! Rules:
//! - a line number is exactly `CAF` + 10 or `COP` + 8 upper-case letters or digits
//!   ([`LineNumber::parse`]); anything else is refused, never normalised;
//! - a number belongs to one contract: another contract's number is refused with the same
//!   answer whichever contract holds it, so a caller learns nothing about who does;
//! - the access route is read by the login at each user's next login (REQ-MENU-3): nothing here
//!   touches sessions;
//! - every change is audited with its actor.

use crate::audit::audit_in;
use crate::directory::Actor;
use crate::App;
use sekisho_core::line::LineNumber;
use sekisho_core::model::{AccessRoute, Brand};
use sekisho_oidc::OAuthError;
use sekisho_store::{LineAdded, LineRecord, StoreError};
use serde::Serialize;
use serde_json::json;

/// Why a line operation was refused. Each has a message in both languages
/// ([`LineError::message_key`]) and a stable code for the REST API ([`LineError::code`]).
#[derive(Debug)]
pub enum LineError {
    /// Not `CAF` + 10 or `COP` + 8 upper-case letters or digits (REQ-LINE-2).
    Invalid,
    /// Registered to another contract (which one is not said).
    Taken,
    /// The contract has no such line.
    NotFound,
    Internal(OAuthError),
}

impl LineError {
    pub fn message_key(&self) -> &'static str {
        match self {
            LineError::Invalid => "line_number_invalid",
            LineError::Taken => "line_number_taken",
            LineError::NotFound => "line_not_found",
            LineError::Internal(_) => "error_internal",
        }
    }

    /// The API's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            LineError::Invalid => "invalid_line_number",
            LineError::Taken => "line_taken",
            LineError::NotFound => "not_found",
            LineError::Internal(_) => "server_error",
        }
    }
}

impl From<OAuthError> for LineError {
    fn from(e: OAuthError) -> Self {
        LineError::Internal(e)
    }
}

impl From<StoreError> for LineError {
    fn from(e: StoreError) -> Self {
        LineError::Internal(e.into())
    }
}

type Result<T> = std::result::Result<T, LineError>;

/// A registered line as the console and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    pub number: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<LineRecord> for LineView {
    fn from(r: LineRecord) -> Self {
        Self {
            number: r.number,
            created_at: r.created_at,
        }
    }
}

/// What registering did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Added(LineView),
    /// Already registered to this contract: nothing changed (registering is idempotent).
    AlreadyRegistered(LineView),
}

/// The contract's access route as stored now (not as the actor was loaded).
pub async fn access_route(app: &App, actor: &Actor) -> Result<AccessRoute> {
    Ok(app
        .op
        .store
        .find_contract(&actor.contract.id)
        .await?
        .map(|c| c.access_route)
        .unwrap_or(actor.contract.access_route))
}

/// Sets the contract's access route (REQ-LINE-1). It applies to every user of the contract at
/// their next login (REQ-MENU-3); with `line_only` two-step verification is off (REQ-2FA-8),
/// which the login reads from the route itself. Audited, also when nothing changes.
pub async fn set_access_route(
    app: &App,
    brand: &Brand,
    actor: &Actor,
    route: AccessRoute,
) -> Result<AccessRoute> {
    let from = access_route(app, actor).await?;
    app.op
        .store
        .set_contract_access_route(&actor.contract.id, route)
        .await?;
    audit(
        app,
        brand,
        actor,
        "contract.access_route.changed",
        json!({ "from": from.as_str(), "to": route.as_str() }),
    )
    .await;
    Ok(route)
}

/// The contract's lines, by number.
pub async fn list(app: &App, actor: &Actor) -> Result<Vec<LineView>> {
    Ok(app
        .op
        .store
        .list_lines(&actor.contract.id)
        .await?
        .into_iter()
        .map(LineView::from)
        .collect())
}

/// Registers a line number for the contract (REQ-LINE-2).
pub async fn add(app: &App, brand: &Brand, actor: &Actor, number: &str) -> Result<Registered> {
    let number = LineNumber::parse(number).map_err(|_| LineError::Invalid)?;
    let added = app
        .op
        .store
        .add_line(&actor.contract.id, &number, app.op.now())
        .await?;
    let found = || async {
        app.op
            .store
            .find_line(&number)
            .await?
            .filter(|l| l.contract_id == actor.contract.id)
            .map(LineView::from)
            .ok_or_else(|| LineError::Internal(OAuthError::server("registered line not found")))
    };
    match added {
        LineAdded::Added => {
            audit(
                app,
                brand,
                actor,
                "contract.line.added",
                json!({ "number": number.as_str() }),
            )
            .await;
            Ok(Registered::Added(found().await?))
        }
        LineAdded::AlreadyOurs => Ok(Registered::AlreadyRegistered(found().await?)),
        LineAdded::OtherContract => {
            // Audited (without the other contract): repeated attempts at others' numbers show.
            audit(
                app,
                brand,
                actor,
                "contract.line.refused",
                json!({ "number": number.as_str(), "reason": "taken" }),
            )
            .await;
            Err(LineError::Taken)
        }
    }
}

/// Removes one of the contract's lines; another contract's line, or none, is [`LineError::NotFound`].
pub async fn remove(app: &App, brand: &Brand, actor: &Actor, number: &str) -> Result<()> {
    let number = LineNumber::parse(number).map_err(|_| LineError::NotFound)?;
    if !app
        .op
        .store
        .remove_line(&actor.contract.id, &number)
        .await?
    {
        return Err(LineError::NotFound);
    }
    audit(
        app,
        brand,
        actor,
        "contract.line.removed",
        json!({ "number": number.as_str() }),
    )
    .await;
    Ok(())
}

/// Audits a contract-wide change (the event's user is the acting person, or the contractor in
/// whose name an integrator's client acts; the client is in the detail).
async fn audit(app: &App, brand: &Brand, actor: &Actor, kind: &str, mut detail: serde_json::Value) {
    detail["contract_id"] = json!(actor.contract.id);
    detail["by"] = match &actor.client_id {
        Some(client) => json!({ "client_id": client }),
        None => json!(actor.user.id),
    };
    audit_in(
        app,
        kind,
        brand,
        &actor.contract.id,
        Some(&actor.user.id),
        detail,
    )
    .await;
}
