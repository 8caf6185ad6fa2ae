//! The operator's operations (scope `sekisho:operator`): brands and clients, deployment-wide.
//! The operator's client lives in one brand (its token's issuer), yet manages every brand: a new
//! brand has no client of its own to ask for a token with. The rules are
//! `sekisho_oidc::operator`'s, the same as the CLI's.

use super::auth;
use super::error::ApiError;
use super::json_body;
use super::schema::{
    ApiBrand, ApiClient, ApiErrorBody, CreatedClient, NewBrandRequest, NewClientRequest,
    ResourceServer, ResourceServerRequest,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekisho_core::model::Brand;
use sekisho_core::oauth::{SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::Secret;
use sekisho_oidc::operator::{self as op_actions, NewClient};
use std::collections::HashMap;

type ApiResult = Result<Response, ApiError>;

/// Authenticates the operator at the path's brand.
async fn operator(state: &AppState, brand: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let brand = auth::brand(state, brand).await?;
    auth::operator(state, &brand, headers).await?;
    Ok(())
}

/// The brand an operation is about (`{code}` in the path).
async fn target_brand(state: &AppState, code: &str) -> Result<Brand, ApiError> {
    state
        .op
        .store
        .find_brand(code)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no brand {code}")))
}

#[utoipa::path(get, path = "/brands", operation_id = "listBrands", tag = "operators",
    summary = "Every brand of the deployment",
    security(("sekisho" = ["sekisho:operator"])),
    responses((status = 200, description = "The brands", body = [ApiBrand])))]
pub async fn list_brands(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    let brands: Vec<ApiBrand> = state
        .op
        .store
        .list_brands()
        .await?
        .into_iter()
        .map(|b| {
            let issuer = state.op.issuer(b.code.as_str());
            ApiBrand::new(b, issuer)
        })
        .collect();
    Ok(Json(brands).into_response())
}

#[utoipa::path(post, path = "/brands", operation_id = "createBrand", tag = "operators",
    summary = "Add a brand (a new issuer)",
    security(("sekisho" = ["sekisho:operator"])),
    request_body = NewBrandRequest,
    responses(
        (status = 201, description = "The new brand", body = ApiBrand),
        (status = 400, description = "A bad code or an empty name", body = ApiErrorBody),
        (status = 409, description = "The code is taken", body = ApiErrorBody)))]
pub async fn create_brand(
    State(state): State<AppState>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    let req: NewBrandRequest = json_body(&body)?;
    let b = op_actions::add_brand(&state.op, &req.code, &req.name)
        .await
        .map_err(ApiError::operator)?;
    let issuer = state.op.issuer(b.code.as_str());
    Ok((StatusCode::CREATED, Json(ApiBrand::new(b, issuer))).into_response())
}

#[utoipa::path(get, path = "/brands/{code}/clients", operation_id = "listClients", tag = "operators",
    summary = "The clients of a brand (never their secrets)",
    security(("sekisho" = ["sekisho:operator"])),
    params(("code" = String, Path, description = "The brand's code")),
    responses(
        (status = 200, description = "The clients", body = [ApiClient]),
        (status = 404, description = "No such brand", body = ApiErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
    Path((brand, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    let target = target_brand(&state, &code).await?;
    let store = &state.op.store;
    let bound: HashMap<String, String> = store
        .client_contracts(target.code.as_str())
        .await?
        .into_iter()
        .collect();
    let clients: Vec<ApiClient> = store
        .list_clients(target.code.as_str())
        .await?
        .into_iter()
        .map(|c| {
            let contract = bound.get(&c.client_id).cloned();
            ApiClient::new(c, contract)
        })
        .collect();
    Ok(Json(clients).into_response())
}

#[utoipa::path(post, path = "/brands/{code}/clients", operation_id = "createClient", tag = "operators",
    summary = "Register a client; its secret is in this answer only",
    security(("sekisho" = ["sekisho:operator"])),
    params(("code" = String, Path, description = "The brand's code")),
    request_body = NewClientRequest,
    responses(
        (status = 201, description = "The client's credentials", body = CreatedClient),
        (status = 400, description = "Metadata the registration rules refuse (`invalid_redirect_uri`, `invalid_client_metadata`), a contract of another brand, or a malformed body", body = ApiErrorBody),
        (status = 404, description = "No such brand", body = ApiErrorBody)))]
pub async fn create_client(
    State(state): State<AppState>,
    Path((brand, code)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    let req: NewClientRequest = json_body(&body)?;
    let target = target_brand(&state, &code).await?;
    let method = req.token_endpoint_auth_method;
    let pairwise = req.subject_type == Some(sekisho_core::model::SubjectType::Pairwise);
    if pairwise && req.redirect_uris.len() > 1 {
        return Err(ApiError::bad_request(
            "a pairwise client has one redirect URI here (its sector's host); register several \
             on one host with the CLI or RFC 7591",
        ));
    }
    let new = NewClient {
        brand: target.code.to_string(),
        name: req.client_name,
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        auth_method: method,
        // RFC 7591 has no "public" flag: a public client is one that authenticates with `none`.
        public: method == Some(TokenEndpointAuthMethod::None),
        grant_types: req.grant_types,
        id_token_alg: req
            .id_token_signed_response_alg
            .unwrap_or(SigningAlg::Es256),
        jwks: req.jwks,
        jwks_uri: req.jwks_uri,
        scope: req.scope,
        contract_id: req.contract_id,
        fixed_credentials: None,
        requires: sekisho_core::model::ClientRequirements {
            require_pushed_authorization_requests: req.require_pushed_authorization_requests,
            dpop_bound_access_tokens: req.dpop_bound_access_tokens,
        },
        backchannel_logout_uri: req.backchannel_logout_uri,
        subject_type: req.subject_type.unwrap_or_default(),
    };
    let created = op_actions::register_client(&state.op, new)
        .await
        .map_err(ApiError::operator)?;
    let body = CreatedClient {
        client_id: created.client_id,
        // The one place the new secret leaves its wrapper: the answer to its creator.
        client_secret: created.client_secret.map(Secret::into_exposed),
        token_endpoint_auth_method: created.token_endpoint_auth_method,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/brands/{code}/clients/{client_id}", operation_id = "deleteClient",
    tag = "operators",
    summary = "Delete a client: its grants are revoked, its users' tokens for it stop",
    security(("sekisho" = ["sekisho:operator"])),
    params(("code" = String, Path, description = "The brand's code"),
        ("client_id" = String, Path, description = "The client's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client in the brand", body = ApiErrorBody)))]
pub async fn delete_client(
    State(state): State<AppState>,
    Path((brand, code, client_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    op_actions::delete_client(&state.op, &code, &client_id)
        .await
        .map_err(ApiError::operator)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(put, path = "/brands/{code}/clients/{client_id}/resource-server",
    operation_id = "setResourceServer", tag = "operators",
    summary = "Register a client as a resource server (it may introspect every token of its brand), or withdraw it",
    security(("sekisho" = ["sekisho:operator"])),
    params(("code" = String, Path, description = "The brand's code"),
        ("client_id" = String, Path, description = "The client's id")),
    request_body = ResourceServerRequest,
    responses(
        (status = 200, description = "The client's setting", body = ResourceServer),
        (status = 400, description = "A malformed body", body = ApiErrorBody),
        (status = 404, description = "No such client in the brand", body = ApiErrorBody)))]
pub async fn set_resource_server(
    State(state): State<AppState>,
    Path((brand, code, client_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    operator(&state, &brand, &headers).await?;
    let req: ResourceServerRequest = json_body(&body)?;
    op_actions::set_resource_server(&state.op, &code, &client_id, req.resource_server)
        .await
        .map_err(ApiError::operator)?;
    Ok(Json(ResourceServer {
        client_id,
        resource_server: req.resource_server,
    })
    .into_response())
}
