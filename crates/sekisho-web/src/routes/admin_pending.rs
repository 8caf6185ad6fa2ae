//! A user's pending change in the admin console (ISSUE-16, REQ-USER-7): the user's page shows
//! which change is pending, to which address and until when (`admin_pending.html`, included by
//! `admin_user.html`), with 再送信 (a new link, the old one stops working) and 取り消す (the link
//! stops working; the other change may be sent). The rules are `sekisho_app::directory`'s: an
//! admin or the contractor of the same contract, never on the contractor (whose own changes are
//! the account menu's).
//!
//! Each action is a CSRF-protected POST answered with a redirect (303) to the user's page, which
//! says what happened (`?done=pending-…`), so a reload does not repeat it.

use super::admin_console::posting_actor;
use super::{page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use sekisho_app::directory::{self, Actor, DirectoryError, UserView};
use sekisho_core::model::{Brand, Role};
use sekisho_oidc::OAuthError;
use serde::Deserialize;

/// The notice of a finished pending-change action (`?done=pending-…`), from a closed list.
fn notice(lang: Lang, done: Option<&str>) -> Option<&'static str> {
    let key = match done? {
        "pending-cancelled" => "pc_cancelled",
        "pending-resent" => "pc_resent",
        "pending-not-mailed" => "pc_not_mailed",
        "pending-none" => "pc_none",
        _ => return None,
    };
    Some(message(lang, key))
}

/// The context `admin_pending.html` reads (as `pending_change`) on `user`'s page: the notice of
/// the last action, the change pending (if any), and whether the actor may act on it.
pub(super) async fn block(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    actor: &Actor,
    user: &UserView,
    done: Option<&str>,
) -> Result<Value, OAuthError> {
    let change = match directory::pending_change(state, actor, &user.id).await {
        Ok(change) => change,
        Err(DirectoryError::Internal(e)) => return Err(e),
        // The page was found a moment ago; if the user went meanwhile, there is nothing to show.
        Err(_) => None,
    };
    let base = format!("/{}/admin/users/{}/pending", brand.code, user.id);
    Ok(context! {
        notice => notice(lang, done),
        change => change.map(|c| super::account_pending::PendingView::new(lang, &c)),
        actions => user.role != Role::Contractor,
        cancel => format!("{base}/cancel"),
        resend => format!("{base}/resend"),
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: Option<String>,
}

/// What a console action does to the pending change.
#[derive(Clone, Copy)]
enum Action {
    Cancel,
    Resend,
}

/// `POST /{brand}/admin/users/{id}/pending/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    page: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    perform(state, id, Action::Cancel, page, headers, form).await
}

/// `POST /{brand}/admin/users/{id}/pending/resend`.
pub async fn resend(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    page: BrandPage,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    perform(state, id, Action::Resend, page, headers, form).await
}

async fn perform(
    state: AppState,
    id: String,
    action: Action,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    form: CsrfForm,
) -> Response {
    let result = async {
        let (_, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        let done = match action {
            Action::Cancel => directory::cancel_pending_change(&state, &brand, &actor, &id)
                .await
                .map(|c| match c {
                    Some(_) => "pending-cancelled",
                    None => "pending-none",
                }),
            Action::Resend => directory::resend_pending_change(&state, &brand, &actor, &id, lang)
                .await
                .map(|r| match r {
                    Some(r) if r.mailed => "pending-resent",
                    Some(_) => "pending-not-mailed",
                    None => "pending-none",
                }),
        };
        let page = format!("/{}/admin/users/{id}", brand.code);
        match done {
            Ok(done) => Ok(see_other(&format!("{page}?done={done}"), &[])),
            Err(DirectoryError::Internal(e)) => Err(e),
            Err(e) => {
                // Another contract's user is "not found", as everywhere in the console.
                let status = match e {
                    DirectoryError::NotFound => StatusCode::NOT_FOUND,
                    _ => StatusCode::FORBIDDEN,
                };
                let back = format!("/{}/admin", brand.code);
                Ok(state.pages.message(
                    status,
                    lang,
                    Some(&brand),
                    "error_title",
                    e.message_key(),
                    Some(&back),
                ))
            }
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}
