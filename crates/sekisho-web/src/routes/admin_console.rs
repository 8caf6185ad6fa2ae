//! The admin console (管理コンソール) for contractors and admins, server-rendered (issue 16): the
//! user list (search, paging, status badges) with the invitation form, and a user's page with
//! the ordinary actions (the mails, role, enable) apart from the destructive ones (disable,
//! delete), each of which asks for a confirmation first. The rules are in
//! `sekisho_app::directory`, shared with the admin REST API; the frame is `console.rs`.
//!
//! Every change is a CSRF-protected POST answered with a redirect (303) to a page that says what
//! happened, so a reload does not repeat it. A refused change is shown on the page that asked for
//! it, the typed values kept and the message beside the field (400, 403 or 409).

use super::account::{signed_in, to_console_login};
use super::console::{page_number, pager, Frame, Section};
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
use sekisho_app::directory::{self, Actor, DirectoryError, UserView, MAX_SEARCH_CHARS};
use sekisho_core::model::{Brand, Role, UserStatus};
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

/// The actor of a console form: [`actor`], and the form's CSRF token must be the session's
/// (else the refusal page, nothing done).
pub(super) async fn posting_actor(
    state: &AppState,
    brand: &Brand,
    lang: Lang,
    headers: &HeaderMap,
    csrf_token: Option<&str>,
) -> Result<Result<(SessionRecord, Actor), Response>, OAuthError> {
    let found = actor(state, brand, lang, headers).await?;
    Ok(match found {
        Ok((session, _)) if !session::csrf_ok(&session, csrf_token) => {
            Err(csrf_failure(state, lang, brand))
        }
        other => other,
    })
}

/// The HTTP status of a refusal (internal errors stay errors).
fn refusal_status(e: &DirectoryError) -> StatusCode {
    match e {
        DirectoryError::NotFound => StatusCode::NOT_FOUND,
        DirectoryError::NotAllowed => StatusCode::FORBIDDEN,
        DirectoryError::EmailTaken | DirectoryError::OtherChangePending => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A user that is not (or no longer) in the contract: the "not found" page, leading back to the
/// list.
fn not_found(state: &AppState, brand: &Brand, lang: Lang) -> Response {
    let back = format!("/{}/admin", brand.code);
    state.pages.message(
        StatusCode::NOT_FOUND,
        lang,
        Some(brand),
        "error_title",
        "dir_not_found",
        Some(&back),
    )
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    /// The search (email or name); cut to `MAX_SEARCH_CHARS`.
    q: Option<String>,
    page: Option<String>,
}

/// The notice of a finished action (`?done=invited` …), from a closed list.
fn notice(lang: Lang, done: Option<&str>) -> Option<&'static str> {
    let key = match done? {
        "invited" => "admin_done_invited",
        "login-method" => "admin_done_login_method",
        "email" => "admin_done_email",
        "role" => "console_done_role",
        "enabled" => "console_done_enabled",
        "disabled" => "console_done_disabled",
        "deleted" => "admin_done_deleted",
        _ => return None,
    };
    Some(message(lang, key))
}

/// The invitation form as typed, and what was wrong with it.
#[derive(Default)]
struct InviteShown<'a> {
    email: &'a str,
    name: &'a str,
    role: &'a str,
    /// `email`, `name`, `role`, or `form` (not one field's fault).
    field: Option<&'static str>,
    error: Option<&'static str>,
}

/// Renders the user list: page `page` of the users matching `search`, and the invitation form.
async fn render_users(
    frame: &Frame<'_>,
    session: &SessionRecord,
    status: StatusCode,
    (search, page): (&str, i64),
    notice: Option<&str>,
    invite: InviteShown<'_>,
) -> Result<Response, OAuthError> {
    let Frame {
        state,
        brand,
        lang,
        actor,
    } = *frame;
    let list = match directory::list_page(state, actor, search, page).await {
        Ok(list) => list,
        Err(DirectoryError::Internal(e)) => return Err(e),
        Err(e) => return Err(OAuthError::server(e.code())),
    };
    let code = brand.code.as_str();
    let q = list.search.clone();
    let href = |n: i64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            query.append_pair("q", &q);
        }
        query.append_pair("page", &n.to_string());
        format!("/{code}/admin?{}", query.finish())
    };
    Ok(frame.render(
        Section::Users,
        status,
        "admin_users.html",
        context! {
            users => list.users,
            pager => pager(lang, &list.paging, "console_count", href),
            q => list.search,
            max_search => MAX_SEARCH_CHARS,
            csrf_token => session.csrf_token,
            notice => notice,
            invite => context! {
                email => invite.email,
                name => invite.name,
                role => invite.role,
                field => invite.field,
                error => invite.error,
            },
        },
    ))
}

/// `GET /{brand}/admin`: the users of the contract (`?q=` searches, `?page=` pages) and the
/// invitation form.
pub async fn users(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        render_users(
            &frame,
            &session,
            StatusCode::OK,
            (q.q.as_deref().unwrap_or(""), page_number(q.page.as_deref())),
            notice(lang, q.done.as_deref()),
            InviteShown::default(),
        )
        .await
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

/// `POST /{brand}/admin/invite`: registers a user and mails the invitation (REQ-USER-1); a
/// refusal shows the list again with the typed values and the message beside the field.
pub async fn invite(
    State(state): State<AppState>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        let role = Role::parse(&form.role).unwrap_or(Role::User);
        let e = match directory::invite(&state, &brand, &actor, &form.email, &form.name, role, lang)
            .await
        {
            Ok(_) => {
                return Ok(see_other(
                    &format!("/{}/admin?done=invited", brand.code),
                    &[],
                ))
            }
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(e) => e,
        };
        let field = match e {
            DirectoryError::EmailInvalid | DirectoryError::EmailTaken => "email",
            DirectoryError::NameInvalid => "name",
            DirectoryError::BadRole => "role",
            _ => "form",
        };
        // What was typed goes back into the fields, within the fields' own limits.
        let email: String = form.email.chars().take(254).collect();
        let name: String = form.name.chars().take(200).collect();
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        render_users(
            &frame,
            &session,
            refusal_status(&e),
            ("", 1),
            None,
            InviteShown {
                email: &email,
                name: &name,
                role: role.as_str(),
                field: Some(field),
                error: Some(message(lang, e.message_key())),
            },
        )
        .await
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// What the user's page shows besides the user: a notice, or a refusal beside the form that
/// caused it (`error_for`: `login-method`, `email`, `role`, `status`, `danger`) and the typed
/// address.
#[derive(Default)]
struct UserShown<'a> {
    notice: Option<&'static str>,
    error_for: Option<&'static str>,
    error: Option<&'static str>,
    new_email: &'a str,
    /// The pending login-method or email change with its cancel and resend (`admin_pending`).
    pending_change: minijinja::Value,
}

fn render_user(
    frame: &Frame<'_>,
    session: &SessionRecord,
    user: &UserView,
    status: StatusCode,
    shown: UserShown<'_>,
) -> Response {
    let (brand, lang) = (frame.brand, frame.lang);
    let contractor = user.role == Role::Contractor;
    let is_self = user.id == frame.actor.user.id;
    frame.render(
        Section::Users,
        status,
        "admin_user.html",
        context! {
            user => user,
            method => message(lang, &format!("method_{}", user.login_method)),
            role_label => message(lang, &format!("role_{}", user.role)),
            created_at => crate::pages::date(user.created_at),
            manageable => !contractor,
            removable => !contractor && !is_self,
            base => format!("/{}/admin/users/{}", brand.code, user.id),
            csrf_token => session.csrf_token,
            notice => shown.notice,
            error_for => shown.error_for,
            error => shown.error,
            new_email => shown.new_email,
            pending_change => shown.pending_change,
        },
    )
}

/// `GET /{brand}/admin/users/{id}`: one user, with the actions.
pub async fn user(
    State(state): State<AppState>,
    Path((_code, id)): Path<(String, String)>,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        let user = match directory::get_user(&state, &actor, &id).await {
            Ok(u) => u,
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(_) => return Ok(not_found(&state, &brand, lang)),
        };
        let pending_change =
            super::admin_pending::block(&state, &brand, lang, &actor, &user, q.done.as_deref())
                .await?;
        let shown = UserShown {
            notice: notice(lang, q.done.as_deref()),
            pending_change,
            ..UserShown::default()
        };
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        Ok(render_user(&frame, &session, &user, StatusCode::OK, shown))
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

/// `POST /{brand}/admin/users/{id}/{action}`: `login-method`, `email`, `role`, `status`.
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

/// What a POST on a user asks for.
enum Action {
    LoginMethod,
    Email,
    Role,
    Enable,
    /// Disabling and deleting act only with `confirmed=on`, sent by their confirmation pages;
    /// without it the browser is sent to that page and nothing changes (ISSUE-16).
    Disable {
        confirmed: bool,
    },
    Delete {
        confirmed: bool,
    },
}

impl Action {
    fn parse(action: &str, form: &ActionForm) -> Option<Action> {
        let confirmed = form.confirmed.as_deref() == Some("on");
        Some(match action {
            "login-method" => Action::LoginMethod,
            "email" => Action::Email,
            "role" => Action::Role,
            "status" if form.enabled.as_deref() == Some("true") => Action::Enable,
            "status" => Action::Disable { confirmed },
            "delete" => Action::Delete { confirmed },
            _ => return None,
        })
    }

    /// Which form a refusal is shown beside.
    fn form(&self) -> &'static str {
        match self {
            Action::LoginMethod => "login-method",
            Action::Email => "email",
            Action::Role => "role",
            Action::Enable => "status",
            Action::Disable { .. } | Action::Delete { .. } => "danger",
        }
    }
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
        let (session, actor) = or_page!(
            posting_actor(&state, &brand, lang, &headers, form.csrf_token.as_deref()).await?
        );
        let page = format!("/{code}/admin/users/{id}");
        let Some(what) = Action::parse(&action, &form) else {
            return Ok(not_found(&state, &brand, lang));
        };
        let new_email = form.new_email.as_deref().unwrap_or("");
        let done = match what {
            Action::LoginMethod => {
                directory::send_login_method_change(&state, &brand, &actor, &id, lang)
                    .await
                    .map(|_| "login-method")
            }
            Action::Email => {
                directory::send_email_change(&state, &brand, &actor, &id, new_email, lang)
                    .await
                    .map(|_| "email")
            }
            Action::Role => match form.role.as_deref().and_then(Role::parse) {
                Some(role) => directory::set_role(&state, &brand, &actor, &id, role)
                    .await
                    .map(|_| "role"),
                None => Err(DirectoryError::BadRole),
            },
            Action::Enable => directory::set_enabled(&state, &brand, &actor, &id, true)
                .await
                .map(|_| "enabled"),
            Action::Disable { confirmed: false } => {
                return Ok(see_other(&format!("{page}/disable"), &[]))
            }
            Action::Disable { confirmed: true } => {
                directory::set_enabled(&state, &brand, &actor, &id, false)
                    .await
                    .map(|_| "disabled")
            }
            Action::Delete { confirmed: false } => {
                return Ok(see_other(&format!("{page}/delete"), &[]))
            }
            Action::Delete { confirmed: true } => {
                match directory::delete(&state, &brand, &actor, &id).await {
                    Ok(()) => return Ok(see_other(&format!("/{code}/admin?done=deleted"), &[])),
                    Err(e) => Err(e),
                }
            }
        };
        let e = match done {
            Ok(done) => return Ok(see_other(&format!("{page}?done={done}"), &[])),
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(DirectoryError::NotFound) => return Ok(not_found(&state, &brand, lang)),
            Err(e) => e,
        };
        // The refusal, on the user's page beside the form that asked.
        let user = match directory::get_user(&state, &actor, &id).await {
            Ok(u) => u,
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(_) => return Ok(not_found(&state, &brand, lang)),
        };
        let typed: String = new_email.chars().take(254).collect();
        let pending_change =
            super::admin_pending::block(&state, &brand, lang, &actor, &user, None).await?;
        let shown = UserShown {
            notice: None,
            error_for: Some(what.form()),
            error: Some(message(lang, e.message_key())),
            new_email: &typed,
            pending_change,
        };
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        Ok(render_user(
            &frame,
            &session,
            &user,
            refusal_status(&e),
            shown,
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// Which destructive action a confirmation page is for.
#[derive(Clone, Copy)]
enum Destructive {
    Disable,
    Delete,
}

async fn confirm_page(
    state: AppState,
    code: String,
    id: String,
    BrandPage { brand, lang }: BrandPage,
    headers: HeaderMap,
    what: Destructive,
) -> Response {
    let result = async {
        let (session, actor) = or_page!(actor(&state, &brand, lang, &headers).await?);
        let user = match directory::get_user(&state, &actor, &id).await {
            Ok(u) => u,
            Err(DirectoryError::Internal(e)) => return Err(e),
            Err(_) => return Ok(not_found(&state, &brand, lang)),
        };
        let page = format!("/{code}/admin/users/{id}");
        // Only what the user's page offers is confirmed; anything else goes back to that page.
        let removable = user.role != Role::Contractor && user.id != actor.user.id;
        let (title, question, checkbox, submit, action, hidden) = match what {
            Destructive::Disable if removable && user.status == UserStatus::Active => (
                "console_disable_title",
                "console_disable_question",
                "console_disable_checkbox",
                "admin_disable",
                format!("{page}/status"),
                vec![context! { name => "enabled", value => "false" }],
            ),
            Destructive::Delete if removable => (
                "console_delete_title",
                "admin_delete_question",
                "admin_delete_checkbox",
                "admin_delete",
                format!("{page}/delete"),
                vec![],
            ),
            _ => return Ok(see_other(&page, &[])),
        };
        let frame = Frame {
            state: &state,
            brand: &brand,
            lang,
            actor: &actor,
        };
        Ok(frame.render(
            Section::Users,
            StatusCode::OK,
            "admin_confirm.html",
            context! {
                title => message(lang, title),
                intro => vec![message(lang, question).replace("{email}", &user.email)],
                checkbox => message(lang, checkbox),
                submit => message(lang, submit),
                action => action,
                hidden => hidden,
                csrf_token => session.csrf_token,
                cancel => page,
            },
        ))
    };
    page_or_error(&state, lang, &brand, result.await)
}

/// `GET /{brand}/admin/users/{id}/delete`: the confirmation before deleting.
pub async fn delete_page(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    page: BrandPage,
    headers: HeaderMap,
) -> Response {
    confirm_page(state, code, id, page, headers, Destructive::Delete).await
}

/// `GET /{brand}/admin/users/{id}/disable`: the confirmation before disabling (ISSUE-16).
pub async fn disable_page(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, String)>,
    page: BrandPage,
    headers: HeaderMap,
) -> Response {
    confirm_page(state, code, id, page, headers, Destructive::Disable).await
}
