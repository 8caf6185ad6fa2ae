//! Who is calling the admin API, from `Authorization: Bearer <access token>` (RFC 6750 §2.1).
//!
//! Only Sekisho's own access tokens count, of the path's brand (the issuer must be the brand's),
//! not revoked, not of an ended contract or a disabled user (`verify_access_token` →
//! `Store::access_token_active`). The token's client must still be registered in that brand and
//! still have the scope in its registered `scope`, so deleting a client or taking a scope away
//! takes effect for tokens already issued.
//!
//! - `sekisho:admin` manages the users of one contract:
//!   - a user's token (authorization-code flow, through a client registered for the scope) acts
//!     as that user: `Actor::load` checks on every call that they are an active contractor or
//!     admin of a live contract;
//!   - a client's own token (`client_credentials`) acts for the contract the operator bound the
//!     client to (`Store::client_contract`), as `Actor::for_client`.
//! - `sekisho:operator` manages brands and clients deployment-wide, with `client_credentials` only.

use super::error::ApiError;
use crate::i18n::Lang;
use crate::AppState;
use axum::http::HeaderMap;
use sekisho_app::directory::Actor;
use sekisho_core::model::{Brand, Client};
use sekisho_core::oauth::{scope_listed, ADMIN_SCOPE, OPERATOR_SCOPE};
use sekisho_oidc::mint::{verify_access_token, VerifiedAccess};

/// The brand of the path; unknown brands are a JSON 404.
pub async fn brand(state: &AppState, code: &str) -> Result<Brand, ApiError> {
    state
        .op
        .brand(code)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no brand {code}")))
}

/// A verified token of `brand` and its (still registered) client, holding `scope`.
async fn bearer(
    state: &AppState,
    brand: &Brand,
    headers: &HeaderMap,
    scope: &str,
) -> Result<(VerifiedAccess, Client), ApiError> {
    let token = super::super::protocol::bearer(headers).ok_or_else(ApiError::missing_token)?;
    let access = verify_access_token(&state.op, brand.code.as_str(), token).await?;
    let client = state
        .op
        .client(&access.client_id)
        .await?
        .filter(|c| c.brand == brand.code)
        .ok_or_else(|| ApiError::invalid_token("the token's client is no longer registered"))?;
    let granted = access.scope.iter().any(|s| s == scope);
    if !granted || !scope_listed(client.metadata.scope.as_deref(), scope) {
        return Err(ApiError::insufficient_scope(scope));
    }
    Ok((access, client))
}

/// A contractor or admin (or a client bound to a contract) acting on their contract's users.
pub async fn admin(
    state: &AppState,
    brand: &Brand,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Actor, ApiError> {
    let (access, client) = bearer(state, brand, headers, ADMIN_SCOPE).await?;
    let actor = if access.for_user() {
        // A pairwise client's token names its user by the pairwise `sub`: the grant says who.
        let user = state
            .op
            .user_of_access(&access)
            .await?
            .ok_or_else(|| ApiError::invalid_token("the token's user no longer exists"))?;
        Actor::load(state, &user).await
    } else {
        let contract = state
            .op
            .store
            .client_contract(&client.client_id)
            .await?
            .ok_or_else(|| ApiError::forbidden("this client is not bound to a contract"))?;
        Actor::for_client(state, &contract, &client.client_id).await
    }
    .map_err(|e| ApiError::directory(e, lang))?;
    // Users and bindings live in one brand; this holds by construction and is checked anyway.
    if actor.contract.brand != brand.code {
        return Err(ApiError::forbidden("the contract belongs to another brand"));
    }
    Ok(actor)
}

/// An operator's client (`client_credentials` with `sekisho:operator`); returns its id.
pub async fn operator(
    state: &AppState,
    brand: &Brand,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let (access, client) = bearer(state, brand, headers, OPERATOR_SCOPE).await?;
    // A person's token never carries this scope (the code flow drops it); refuse one anyway.
    if access.for_user() {
        return Err(ApiError::insufficient_scope(OPERATOR_SCOPE));
    }
    Ok(client.client_id)
}
