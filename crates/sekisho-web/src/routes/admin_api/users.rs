//! The contract admins' operations on their users (issue 6 item 6; REQ-USER-1 … REQ-USER-7):
//! the JSON face of [`crate::directory`], which holds every rule. Each handler authenticates
//! ([`auth::admin`]), calls the directory once and maps the answer.

use super::auth;
use super::error::ApiError;
use super::schema::{
    ApiErrorBody, ApiUser, EmailChangeRequest, EnabledRequest, InviteRequest, RoleRequest,
};
use super::{json_body, lang};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_app::directory::{self, Actor};
use sekisho_core::model::Brand;

type ApiResult = Result<Response, ApiError>;

/// What every user operation starts from: the brand, the caller's language and the actor.
struct Call {
    brand: Brand,
    lang: crate::i18n::Lang,
    actor: Actor,
}

async fn call(state: &AppState, brand: &str, headers: &HeaderMap) -> Result<Call, ApiError> {
    let brand = auth::brand(state, brand).await?;
    let lang = lang(headers);
    let actor = auth::admin(state, &brand, headers, lang).await?;
    Ok(Call { brand, lang, actor })
}

impl Call {
    fn fail(&self, e: directory::DirectoryError) -> ApiError {
        ApiError::directory(e, self.lang)
    }
}

fn user(v: directory::UserView) -> Response {
    Json(ApiUser::from(v)).into_response()
}

#[utoipa::path(get, path = "/users", operation_id = "listUsers", tag = "users",
    summary = "The users of the caller's contract",
    security(("sekisho" = ["sekisho:admin"])),
    responses((status = 200, description = "Every user of the contract", body = [ApiUser])))]
pub async fn list_users(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let users = directory::list_users(&state, &c.actor)
        .await
        .map_err(|e| c.fail(e))?;
    let users: Vec<ApiUser> = users.into_iter().map(ApiUser::from).collect();
    Ok(Json(users).into_response())
}

#[utoipa::path(post, path = "/users", operation_id = "inviteUser", tag = "users",
    summary = "Invite a user (REQ-USER-1): mails 利用者登録のご案内 with a 14-day link",
    security(("sekisho" = ["sekisho:admin"])),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited; the mail is queued", body = ApiUser,
            headers(("Location" = String, description = "The new user"))),
        (status = 400, description = "Not an email address, a role that cannot be given, or a malformed body", body = ApiErrorBody),
        (status = 409, description = "The address is already used in the brand (`email_taken`)", body = ApiErrorBody)))]
pub async fn invite_user(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: InviteRequest = json_body(&body)?;
    let v = directory::invite(
        &state, &c.brand, &c.actor, &req.email, &req.name, req.role, c.lang,
    )
    .await
    .map_err(|e| c.fail(e))?;
    let location = format!(
        "{}/api/v1/users/{}",
        state.op.issuer(c.brand.code.as_str()),
        v.id
    );
    let mut res = (StatusCode::CREATED, Json(ApiUser::from(v))).into_response();
    if let Ok(l) = location.parse() {
        res.headers_mut().insert(header::LOCATION, l);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/users/{user_id}", operation_id = "getUser", tag = "users",
    summary = "One user of the caller's contract",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id (the `sub` of their tokens)")),
    responses(
        (status = 200, description = "The user", body = ApiUser),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let v = directory::get_user(&state, &c.actor, &user_id)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(user(v))
}

#[utoipa::path(delete, path = "/users/{user_id}", operation_id = "deleteUser", tag = "users",
    summary = "Delete a user: their tokens stop and their data goes",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The contractor and the caller themselves cannot be deleted", body = ApiErrorBody),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    directory::delete(&state, &c.brand, &c.actor, &user_id)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/users/{user_id}/login-method-change", operation_id = "sendLoginMethodChange",
    tag = "users",
    summary = "Mail the login-method-change link ログイン方法の設定変更 (REQ-USER-4)",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Mailed; the user with the change pending", body = ApiUser),
        (status = 403, description = "The contractor changes their own from the account menu", body = ApiErrorBody),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody),
        (status = 409, description = "An email change is pending (`change_pending`), or the user has not registered (`wrong_state`)", body = ApiErrorBody)))]
pub async fn send_login_method_change(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let v = directory::send_login_method_change(&state, &c.brand, &c.actor, &user_id, c.lang)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(user(v))
}

#[utoipa::path(post, path = "/users/{user_id}/email-change", operation_id = "sendEmailChange",
    tag = "users",
    summary = "Mail the email-change link メールアドレス変更登録 to the new address (REQ-USER-6)",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id")),
    request_body = EmailChangeRequest,
    responses(
        (status = 200, description = "Mailed; the user with the change pending", body = ApiUser),
        (status = 400, description = "Not an email address, or a malformed body", body = ApiErrorBody),
        (status = 403, description = "The contractor changes their own from the account menu", body = ApiErrorBody),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody),
        (status = 409, description = "The address is taken (`email_taken`), a login-method change is pending (`change_pending`), or the user has not registered (`wrong_state`)", body = ApiErrorBody)))]
pub async fn send_email_change(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: EmailChangeRequest = json_body(&body)?;
    let v =
        directory::send_email_change(&state, &c.brand, &c.actor, &user_id, &req.new_email, c.lang)
            .await
            .map_err(|e| c.fail(e))?;
    Ok(user(v))
}

#[utoipa::path(put, path = "/users/{user_id}/role", operation_id = "setUserRole", tag = "users",
    summary = "Make a user an admin or a plain user",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The user with the new role", body = ApiUser),
        (status = 400, description = "A role that cannot be given, or a malformed body", body = ApiErrorBody),
        (status = 403, description = "The contractor's role never changes", body = ApiErrorBody),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody)))]
pub async fn set_user_role(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: RoleRequest = json_body(&body)?;
    let v = directory::set_role(&state, &c.brand, &c.actor, &user_id, req.role)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(user(v))
}

#[utoipa::path(put, path = "/users/{user_id}/enabled", operation_id = "setUserEnabled", tag = "users",
    summary = "Disable a user (sessions end, tokens stop) or enable them again",
    security(("sekisho" = ["sekisho:admin"])),
    params(("user_id" = String, Path, description = "The user's id")),
    request_body = EnabledRequest,
    responses(
        (status = 200, description = "The user with the new status", body = ApiUser),
        (status = 400, description = "A malformed body", body = ApiErrorBody),
        (status = 403, description = "The contractor and the caller themselves cannot be disabled", body = ApiErrorBody),
        (status = 404, description = "No such user in the caller's contract", body = ApiErrorBody),
        (status = 409, description = "The user has not registered yet (`wrong_state`)", body = ApiErrorBody)))]
pub async fn set_user_enabled(
    State(state): State<AppState>,
    Path((brand, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: EnabledRequest = json_body(&body)?;
    let v = directory::set_enabled(&state, &c.brand, &c.actor, &user_id, req.enabled)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(user(v))
}
