//! The contract's line authentication settings (REQ-LINE-1, REQ-LINE-2): the access route and the
//! registered line numbers, the JSON face of [`sekisho_app::lines`], which holds every rule. The
//! caller is the same as for `users` ([`auth::admin`]: the contractor, an admin, or a client
//! bound to the contract).
//!
//! Registering is idempotent: a number already registered to the caller's contract answers 200
//! with the line; one registered to another contract is a 409 that does not say which.

use super::auth;
use super::error::ApiError;
use super::schema::{AccessRouteBody, ApiErrorBody, ApiLine, NewLineRequest};
use super::{json_body, lang};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_app::directory::Actor;
use sekisho_app::lines::{self, Registered};
use sekisho_core::model::Brand;

type ApiResult = Result<Response, ApiError>;

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
    fn fail(&self, e: lines::LineError) -> ApiError {
        ApiError::line(e, self.lang)
    }
}

#[utoipa::path(get, path = "/lines", operation_id = "listLines", tag = "lines",
    summary = "The line numbers registered to the caller's contract (REQ-LINE-2)",
    security(("sekisho" = ["sekisho:admin"])),
    responses((status = 200, description = "Every line of the contract, by number", body = [ApiLine])))]
pub async fn list_lines(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let lines = lines::list(&state, &c.actor).await.map_err(|e| c.fail(e))?;
    let lines: Vec<ApiLine> = lines.into_iter().map(ApiLine::from).collect();
    Ok(Json(lines).into_response())
}

#[utoipa::path(post, path = "/lines", operation_id = "addLine", tag = "lines",
    summary = "Register a line number for the caller's contract (REQ-LINE-2)",
    security(("sekisho" = ["sekisho:admin"])),
    request_body = NewLineRequest,
    responses(
        (status = 201, description = "Registered", body = ApiLine,
            headers(("Location" = String, description = "The new line"))),
        (status = 200, description = "Already registered to the caller's contract: nothing changed", body = ApiLine),
        (status = 400, description = "Not a line number (`invalid_line_number`: `CAF` and 10 upper-case letters or digits, or `COP` and 8), or a malformed body", body = ApiErrorBody),
        (status = 409, description = "Already registered to another contract (`line_taken`); which one is not said", body = ApiErrorBody)))]
pub async fn add_line(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: NewLineRequest = json_body(&body)?;
    match lines::add(&state, &c.brand, &c.actor, &req.number)
        .await
        .map_err(|e| c.fail(e))?
    {
        Registered::Added(v) => {
            let location = format!(
                "{}/api/v1/lines/{}",
                state.op.issuer(c.brand.code.as_str()),
                v.number
            );
            let mut res = (StatusCode::CREATED, Json(ApiLine::from(v))).into_response();
            if let Ok(l) = location.parse() {
                res.headers_mut().insert(header::LOCATION, l);
            }
            Ok(res)
        }
        Registered::AlreadyRegistered(v) => Ok(Json(ApiLine::from(v)).into_response()),
    }
}

#[utoipa::path(delete, path = "/lines/{number}", operation_id = "deleteLine", tag = "lines",
    summary = "Remove a line number from the caller's contract",
    security(("sekisho" = ["sekisho:admin"])),
    params(("number" = String, Path, description = "The line number",
        pattern = "^(CAF[A-Z0-9]{10}|COP[A-Z0-9]{8})$")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such line in the caller's contract", body = ApiErrorBody)))]
pub async fn delete_line(
    State(state): State<AppState>,
    Path((brand, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    lines::remove(&state, &c.brand, &c.actor, &number)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/access-route", operation_id = "getAccessRoute", tag = "lines",
    summary = "The contract's access route (アクセス経路設定, REQ-LINE-1)",
    security(("sekisho" = ["sekisho:admin"])),
    responses((status = 200, description = "The current setting", body = AccessRouteBody)))]
pub async fn get_access_route(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let access_route = lines::access_route(&state, &c.actor)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(Json(AccessRouteBody { access_route }).into_response())
}

#[utoipa::path(put, path = "/access-route", operation_id = "setAccessRoute", tag = "lines",
    summary = "Set the contract's access route (REQ-LINE-1); it applies to every user at their next login",
    security(("sekisho" = ["sekisho:admin"])),
    request_body = AccessRouteBody,
    responses(
        (status = 200, description = "The new setting", body = AccessRouteBody),
        (status = 400, description = "Not one of the two routes, or a malformed body", body = ApiErrorBody)))]
pub async fn set_access_route(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let c = call(&state, &brand, &headers).await?;
    let req: AccessRouteBody = json_body(&body)?;
    let access_route = lines::set_access_route(&state, &c.brand, &c.actor, req.access_route)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(Json(AccessRouteBody { access_route }).into_response())
}
