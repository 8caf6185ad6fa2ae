//! The admin console's 監査ログ (issue 16): the contract's audit events, newest first, a page at a
//! time, with when, who, what and to whom. Only the contract's own events
//! (`sekisho_app::audit::contract_log`); the contractor and admins see it.

use super::admin_console::actor;
use super::console::{page_number, pager, Frame, Section};
use super::{page_or_error, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use sekisho_app::audit::{contract_log, ContractEvent, Party};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct AuditQuery {
    page: Option<String>,
}

/// How a party is named on the page.
fn party(lang: Lang, p: &Party) -> String {
    match p {
        Party::User { email } => email.clone(),
        Party::DeletedUser { id } => {
            message(lang, "console_audit_deleted_user").replace("{id}", id)
        }
        Party::Client { client_id } => {
            message(lang, "console_audit_client").replace("{id}", client_id)
        }
    }
}

/// The event's name: its label, or the stored kind when it has none.
fn event_label(lang: Lang, kind: &str) -> String {
    let key = format!("audit_{}", kind.replace('.', "_"));
    match message(lang, &key) {
        "" => kind.to_owned(),
        label => label.to_owned(),
    }
}

/// A detail value in words when the pages have a word for it (a role, a status, a login
/// method, an access route), else as stored.
fn value_text(lang: Lang, key: &str, value: &str) -> String {
    let prefix = match key {
        "role" => "role_",
        "status" => "status_",
        "method" => "method_",
        "from" | "to" => "ar_",
        _ => "",
    };
    if prefix.is_empty() {
        return value.to_owned();
    }
    match message(lang, &format!("{prefix}{value}")) {
        "" => value.to_owned(),
        word => word.to_owned(),
    }
}

/// The parts of an event's detail worth reading (never ids the page already names): a line
/// number, a connection, a role or status, a change `from → to`, a reason.
fn detail_text(lang: Lang, detail: &Value) -> String {
    let text = |key: &str| {
        detail
            .get(key)
            .and_then(Value::as_str)
            .map(|v| value_text(lang, key, v))
    };
    let mut parts: Vec<String> = ["role", "status", "method", "number", "line", "connection"]
        .iter()
        .filter_map(|k| text(k))
        .collect();
    if let (Some(from), Some(to)) = (text("from"), text("to")) {
        parts.push(format!("{from} → {to}"));
    }
    parts.extend(text("reason"));
    parts.join(" / ")
}

fn row(lang: Lang, e: &ContractEvent) -> minijinja::Value {
    context! {
        at => crate::pages::date(e.at),
        actor => e.actor.as_ref().map(|p| party(lang, p)).unwrap_or_default(),
        event => event_label(lang, &e.kind),
        target => e.target.as_ref().map(|p| party(lang, p)).unwrap_or_default(),
        detail => detail_text(lang, &e.detail),
    }
}

/// `GET /{brand}/admin/audit`: the contract's events (`?page=` pages).
pub async fn page(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Response {
    let result = async {
        let (_, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        let log = contract_log(&state, &actor, page_number(q.page.as_deref())).await?;
        let code = brand.code.as_str();
        let href = |n: i64| format!("/{code}/admin/audit?page={n}");
        let rows: Vec<minijinja::Value> = log.events.iter().map(|e| row(lang, e)).collect();
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        Ok(frame.render(
            Section::Audit,
            StatusCode::OK,
            "admin_audit.html",
            context! {
                events => rows,
                pager => pager(lang, &log.paging, "console_audit_count", href),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_named_in_words() {
        assert_eq!(event_label(Lang::Ja, "user.status"), "状態の変更");
        assert_eq!(event_label(Lang::En, "user.status"), "Status changed");
        assert_eq!(event_label(Lang::Ja, "some.new_kind"), "some.new_kind");
        assert_eq!(
            event_label(Lang::Ja, "2fa.enrol.started"),
            "2段階認証の登録開始"
        );
        assert_eq!(
            detail_text(Lang::Ja, &json!({ "status": "disabled", "by": "usr_1" })),
            "無効"
        );
        assert_eq!(
            detail_text(
                Lang::Ja,
                &json!({ "from": "line_and_internet", "to": "line_only", "contract_id": "c" })
            ),
            "回線認証+インターネット → 回線認証のみ"
        );
        assert_eq!(
            detail_text(Lang::En, &json!({ "number": "CAF0123456789" })),
            "CAF0123456789"
        );
    }
}
