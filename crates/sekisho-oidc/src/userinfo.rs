//! The UserInfo endpoint (OpenID Connect Core §5.3): claims about the user of a bearer token.

use crate::dpop::{self, Presented};
use crate::error::OAuthError;
use crate::mint::{user_claims, verify_access_token};
use crate::Op;
use serde_json::{Map, Value};

/// `method` is the request's (GET or POST), which a DPoP proof names.
pub async fn userinfo(
    op: &Op,
    brand: &str,
    presented: Presented<'_>,
    method: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let access = verify_access_token(op, brand, presented.token()).await?;
    let url = op.endpoint(brand, "userinfo");
    dpop::check_presentation(op, &access.claims, presented, method, &url).await?;
    if !access.for_user() || !access.scope.iter().any(|s| s == "openid") {
        return Err(OAuthError::invalid_token(
            "the access token is not for a user's OpenID request",
        ));
    }
    let user_id = op
        .user_of_access(&access)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the user no longer exists"))?;
    let user = op
        .store
        .find_user(&user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the user no longer exists"))?;
    // The token's `sub` is already the one this client sees (public or pairwise).
    // The claims the `claims` parameter asked for userinfo travel in the token (`uic`).
    let requested: Vec<String> = access
        .claims
        .get("uic")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(user_claims(&user, &access.scope, &access.sub, &requested))
}
