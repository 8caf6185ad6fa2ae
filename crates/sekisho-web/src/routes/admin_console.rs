//! The admin console (管理コンソール) for contractors and admins, server-rendered: the user list
//! with the invitation form, and a user's page with the mails (login-method change, email
//! change), role, disable/enable and deletion (with a confirmation page). The rules are in
//! `crate::directory`, shared with the admin REST API.
//!
//! Every change is a CSRF-protected POST answered with a redirect (303) to a page that says what
//! happened, so a reload does not repeat it.

use super::account::{signed_in, to_console_login};
use super::login::csrf_failure;
use super::{page_or_error, see_other, BrandPage};
use crate::i18n::{message, Lang};
use crate::session;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use sekisho_app::directory::{self, Actor, DirectoryError};
use sekisho_core::model::{Brand, Role};
use sekisho_oidc::OAuthError;
use sekisho_store::SessionRecord;
use serde::Deserialize;

/// The signed-in contractor or admin, or the page to show instead.
pub(super) async fn actor(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
) -> Result<Result<(SessionRecord, Actor), Response>, OAuthError> {
    let code = brand.code.as_str();
    let Some((session, user)) = signed_in(state, code, headers).await? else {
        // ISSUE-16: the login goes back to the console, not to the menu.
        return Ok(Err(to_console_login(code)));
    };
    // The recovery path of a 回線認証のみ contract reaches アクセス経路設定 only (REQ-LINE-4).
    let contract = state.op.store.find_contract(&user.contract_id).await?;
    if contract.is_some_and(|c| super::account::recovery_only(&c, &session)) {
        return Ok(Err(state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_line_only",
            None,
        )));
    }
    match Actor::load(state, &user.id).await {
        Ok(actor) => Ok(Ok((session, actor))),
        Err(DirectoryError::Internal(e)) => Err(e),
        Err(_) => Ok(Err(state.pages.error(
            StatusCode::FORBIDDEN,
            lang,
            Some(brand),
            "error_not_allowed",
            None,
        ))),
    }
}

/// A directory refusal as a page (internal errors stay errors).
fn refusal(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    e: DirectoryError,
    back: &str,
) -> Result<Response, OAuthError> {
    let status = match e {
        DirectoryError::Internal(e) => return Err(e),
        DirectoryError::NotFound => StatusCode::NOT_FOUND,
        DirectoryError::NotAllowed => StatusCode::FORBIDDEN,
        DirectoryError::EmailTaken | DirectoryError::OtherChangePending => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    Ok(state.pages.message(
        status,
        lang,
        Some(brand),
        "error_title",
        e.message_key(),
        Some(back),
    ))
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

/// The notice of a finished action (`?done=invited` …), from a closed list.
fn notice(lang: Lang, done: Option<&str>) -> Option<&'static str> {
    let key = match done? {
        "invited" => "admin_done_invited",
        "login-method" => "admin_done_login_method",
        "email" => "admin_done_email",
        "role" | "status" => "saved_notice",
        "deleted" => "admin_done_deleted",
        _ => return None,
    };
    Some(message(lang, key))
}

/// `GET /{brand}/admin`: the users of the contract and the invitation form.
pub async fn users(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let result = async {
        let (session, actor) = match actor(&state, &brand, lang, &headers).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let users = match directory::list_users(&state, &actor).await {
            Ok(u) => u,
            Err(e) => return refusal(&state, &brand, lang, e, "/"),
        };
        Ok(state.pages.render(
            StatusCode::OK,
            "admin_users.html",
            lang,
            Some(&brand),
            context! {
                users => users,
                contract => actor.contract.name,
                csrf_token => session.csrf_token,
                notice => notice(lang, q.done.as_deref()),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /{brand}/admin/invite`: registers a user and mails the invitation (REQ-USER-1).
pub async fn invite(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let result = async {
        let (session, actor) = match actor(&state, &brand, lang, &headers).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        if !session::csrf_ok(&session, form.csrf_token.as_deref()) {
            return Ok(csrf_failure(&state, lang, &brand));
        }
        let back = format!("/{}/admin", brand.code);
        let role = Role::parse(&form.role).unwrap_or(Role::User);
        match directory::invite(&state, &brand, &actor, &form.email, &form.name, role, lang).await {
            Ok(_) => Ok(see_other(&format!("{back}?done=invited"), &[])),
            Err(e) => refusal(&state, &brand, lang, e, &back),
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/admin/users/{id}`: one user, with the actions.
pub async fn user(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let result = async {
        let (session, actor) = match actor(&state, &brand, lang, &headers).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let user = match directory::get_user(&state, &actor, &id).await {
            Ok(u) => u,
            Err(e) => return refusal(&state, &brand, lang, e, &format!("/{code}/admin")),
        };
        let contractor = user.role == Role::Contractor;
        let is_self = user.id == actor.user.id;
        let done = q.done.as_deref();
        let pending =
            super::admin_pending::block(&state, &brand, lang, &actor, &user, done).await?;
        Ok(state.pages.render(
            StatusCode::OK,
            "admin_user.html",
            lang,
            Some(&brand),
            context! {
                user => user,
                method => message(lang, &format!("method_{}", user.login_method)),
                status => message(lang, &format!("status_{}", user.status)),
                role_label => message(lang, &format!("role_{}", user.role)),
                manageable => !contractor,
                removable => !contractor && !is_self,
                base => format!("/{code}/admin/users/{}", user.id),
                csrf_token => session.csrf_token,
                notice => notice(lang, q.done.as_deref()),
                pending_change => pending,
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf_token: Option<String>,
    new_email: Option<String>,
    role: Option<String>,
    enabled: Option<String>,
    confirmed: Option<String>,
}

/// `POST /{brand}/admin/users/{id}/{action}`: `login-method`, `email`, `role`, `status`,
/// `delete`.
pub async fn act(
    State(state): State<AppState>,
    Path((code, id, action)): Path<(String, String, String)>,
    page: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    perform(state, code, id, action, page, headers, form).await
}

/// `POST /{brand}/admin/users/{id}/delete` (the path also has the confirmation page).
pub async fn act_delete(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    page: BrandPage,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    perform(state, code, id, "delete".into(), page, headers, form).await
}

async fn perform(
    state: AppState,
    code: String,
    id: String,
    action: String,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    form: ActionForm,
) -> Response {
    let result = async {
        let (session, actor) = match actor(&state, &brand, lang, &headers).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        if !session::csrf_ok(&session, form.csrf_token.as_deref()) {
            return Ok(csrf_failure(&state, lang, &brand));
        }
        let page = format!("/{code}/admin/users/{id}");
        let done = match action.as_str() {
            "login-method" => {
                directory::send_login_method_change(&state, &brand, &actor, &id, lang)
                    .await
                    .map(|_| ())
            }
            "email" => {
                let to = form.new_email.as_deref().unwrap_or("");
                directory::send_email_change(&state, &brand, &actor, &id, to, lang)
                    .await
                    .map(|_| ())
            }
            "role" => match form.role.as_deref().and_then(Role::parse) {
                Some(role) => directory::set_role(&state, &brand, &actor, &id, role)
                    .await
                    .map(|_| ()),
                None => Err(DirectoryError::BadRole),
            },
            "status" => {
                let enabled = form.enabled.as_deref() == Some("true");
                directory::set_enabled(&state, &brand, &actor, &id, enabled)
                    .await
                    .map(|_| ())
            }
            "delete" if form.confirmed.as_deref() == Some("on") => {
                match directory::delete(&state, &brand, &actor, &id).await {
                    Ok(()) => return Ok(see_other(&format!("/{code}/admin?done=deleted"), &[])),
                    Err(e) => Err(e),
                }
            }
            "delete" => return Ok(see_other(&format!("{page}/delete"), &[])),
            _ => Err(DirectoryError::NotFound),
        };
        match done {
            Ok(()) => Ok(see_other(&format!("{page}?done={action}"), &[])),
            Err(e) => refusal(&state, &brand, lang, e, &page),
        }
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/admin/users/{id}/delete`: the confirmation before deleting.
pub async fn delete_page(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (session, actor) = match actor(&state, &brand, lang, &headers).await? {
            Ok(found) => found,
            Err(page) => return Ok(page),
        };
        let user = match directory::get_user(&state, &actor, &id).await {
            Ok(u) => u,
            Err(e) => return refusal(&state, &brand, lang, e, &format!("/{code}/admin")),
        };
        let question = message(lang, "admin_delete_question").replace("{email}", &user.email);
        Ok(state.pages.render(
            StatusCode::OK,
            "account_form.html",
            lang,
            Some(&brand),
            context! {
                title => message(lang, "admin_delete"),
                intro => vec![question],
                checkbox => message(lang, "admin_delete_checkbox"),
                submit => message(lang, "admin_delete"),
                action => format!("/{code}/admin/users/{id}/delete"),
                csrf_token => session.csrf_token,
                back => format!("/{code}/admin/users/{id}"),
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}
