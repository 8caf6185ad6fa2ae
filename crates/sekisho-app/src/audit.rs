//! The audit trail: who did what, when (never secrets). A failure to write is logged and never
//! stops the action or shows on a page.

use crate::directory::Actor;
use crate::App;
use sekisho_core::model::Brand;
use sekisho_core::paging::Paging;
use sekisho_store::{AuditEvent, StoreError};
use std::collections::HashMap;

/// Writes an audit event.
pub async fn audit(app: &App, kind: &str, brand: &Brand, user_id: Option<&str>) {
    audit_with(app, kind, brand, user_id, serde_json::json!({})).await
}

/// [`audit`] with details (never secrets). The event belongs to the user's contract.
pub async fn audit_with(
    app: &App,
    kind: &str,
    brand: &Brand,
    user_id: Option<&str>,
    detail: serde_json::Value,
) {
    write(app, kind, brand, user_id, detail, None).await
}

/// [`audit_with`] for an action on `contract_id`'s users or settings: the event belongs to that
/// contract even when its user is gone (a deletion is written after the user's row went).
pub async fn audit_in(
    app: &App,
    kind: &str,
    brand: &Brand,
    contract_id: &str,
    user_id: Option<&str>,
    detail: serde_json::Value,
) {
    write(app, kind, brand, user_id, detail, Some(contract_id)).await
}

async fn write(
    app: &App,
    kind: &str,
    brand: &Brand,
    user_id: Option<&str>,
    detail: serde_json::Value,
    contract_id: Option<&str>,
) {
    let event = AuditEvent {
        at: app.now(),
        kind: kind.to_owned(),
        brand: Some(brand.code.to_string()),
        user_id: user_id.map(str::to_owned),
        client_id: None,
        detail,
        // Without a contract, the store takes the user's.
        contract_id: contract_id.map(str::to_owned),
    };
    if let Err(e) = app.op.store.append_audit(&event).await {
        tracing::warn!(error = %e, kind, "audit event not written");
    }
}

/// The console's audit log shows this many events a page.
pub const EVENTS_PER_PAGE: i64 = 50;

/// Someone an event names, as the console shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    /// A user of the contract, by address.
    User { email: String },
    /// A user who has since been deleted (only the id remains).
    DeletedUser { id: String },
    /// An integrator's client (the admin API), or the operator's CLI (`sekisho-cli`).
    Client { client_id: String },
}

/// One event of the contract's log: who did it, to whom, and the event's details.
#[derive(Debug, Clone)]
pub struct ContractEvent {
    pub at: i64,
    pub kind: String,
    pub actor: Option<Party>,
    /// The user acted on, when not the actor.
    pub target: Option<Party>,
    pub detail: serde_json::Value,
}

/// One page of a contract's audit log, newest first.
#[derive(Debug, Clone)]
pub struct ContractLog {
    pub events: Vec<ContractEvent>,
    pub paging: Paging,
}

/// Page `page` of the actor's contract's events, newest first (issue 16's audit log view): only
/// events that belong to the contract (`audit_events.contract_id`), people named by their
/// current address.
pub async fn contract_log(app: &App, actor: &Actor, page: i64) -> Result<ContractLog, StoreError> {
    let store = &app.op.store;
    let contract = actor.contract.id.as_str();
    let total = store.count_contract_audit(contract).await?;
    let paging = Paging::new(page, EVENTS_PER_PAGE, total);
    let rows = store
        .contract_audit(contract, paging.offset(), paging.size)
        .await?;
    let mut ids: Vec<String> = Vec::new();
    for (_, e) in &rows {
        ids.extend(e.user_id.clone());
        ids.extend(by_user(&e.detail).map(str::to_owned));
    }
    ids.sort();
    ids.dedup();
    let emails: HashMap<String, String> = store
        .user_emails(contract, &ids)
        .await?
        .into_iter()
        .collect();
    let person = |id: &str| match emails.get(id) {
        Some(email) => Party::User {
            email: email.clone(),
        },
        None => Party::DeletedUser { id: id.to_owned() },
    };
    let events =
        rows.into_iter()
            .map(|(_, e)| {
                let by = match &e.detail["by"] {
                    serde_json::Value::String(id) => Some(person(id)),
                    serde_json::Value::Object(o) => o
                        .get("client_id")
                        .and_then(|c| c.as_str())
                        .map(|c| Party::Client {
                            client_id: c.to_owned(),
                        }),
                    _ => None,
                };
                let subject = e.user_id.as_deref().map(person);
                let client = e
                    .client_id
                    .clone()
                    .map(|client_id| Party::Client { client_id });
                // Actions on users name the actor in `detail.by` and the user acted on as the event's
                // user; everything else was done by its user (or by the client that wrote it).
                let (actor, target) = match by {
                    Some(by) if Some(&by) == subject.as_ref() => (Some(by), None),
                    Some(by) => (Some(by), subject),
                    None => (subject.or(client), None),
                };
                ContractEvent {
                    at: e.at,
                    kind: e.kind,
                    actor,
                    target,
                    detail: e.detail,
                }
            })
            .collect();
    Ok(ContractLog { events, paging })
}

/// The user id in an event's `detail.by`, when a person acted.
fn by_user(detail: &serde_json::Value) -> Option<&str> {
    detail.get("by").and_then(|b| b.as_str())
}
