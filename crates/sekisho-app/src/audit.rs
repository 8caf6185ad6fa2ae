//! The audit trail: who did what, when (never secrets). A failure to write is logged and never
//! stops the action or shows on a page.

use crate::App;
use sekisho_core::model::Brand;
use sekisho_store::AuditEvent;

/// Writes an audit event.
pub async fn audit(app: &App, kind: &str, brand: &Brand, user_id: Option<&str>) {
    audit_with(app, kind, brand, user_id, serde_json::json!({})).await
}

/// [`audit`] with details (never secrets).
pub async fn audit_with(
    app: &App,
    kind: &str,
    brand: &Brand,
    user_id: Option<&str>,
    detail: serde_json::Value,
) {
    let event = AuditEvent {
        at: app.now(),
        kind: kind.to_owned(),
        brand: Some(brand.code.to_string()),
        user_id: user_id.map(str::to_owned),
        client_id: None,
        detail,
    };
    if let Err(e) = app.op.store.append_audit(&event).await {
        tracing::warn!(error = %e, kind, "audit event not written");
    }
}
