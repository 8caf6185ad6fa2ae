//! Token introspection (RFC 7662), for authenticated clients (resource servers).
//!
//! Anything not active — unknown, expired, revoked, another brand's — is `{"active": false}` with
//! no reason, as §2.2 requires.
//!
//! Invariant (ISSUE-15): a client learns about its own tokens only; a client the operator
//! registered as a resource server (`Store::client_is_resource_server`) about every token of its
//! brand. Another client's token is `{"active": false}` to anyone else (RFC 7662 §4: the server
//! decides who may ask, and must not tell a client about tokens it has no business with).

use crate::client_auth::{self, Presented};
use crate::error::OAuthError;
use crate::mint::verify_access_token;
use crate::Op;
use sekisho_crypto::tokens::hash_token;
use serde_json::{json, Value};
use std::collections::HashMap;

pub async fn introspect(
    op: &Op,
    brand: &str,
    presented: &Presented,
    form: &HashMap<String, String>,
) -> Result<Value, OAuthError> {
    let caller = client_auth::authenticate(
        op,
        brand,
        presented,
        &op.endpoint(brand, "introspect"),
        false,
    )
    .await?;
    let token = form
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let hint = form.get("token_type_hint").map(String::as_str);
    let inactive = json!({ "active": false });

    let as_access = || async {
        verify_access_token(op, brand, token).await.ok().map(|a| {
            let mut out = a.claims.clone();
            out.insert("active".into(), json!(true));
            // RFC 9449 §6.2: a bound token says so, and `cnf` names its key.
            let kind = crate::grants::token_type(crate::dpop::bound_key(&a.claims));
            out.insert("token_type".into(), json!(kind));
            out.remove("gid");
            out.remove("uic");
            Value::Object(out)
        })
    };
    let as_refresh = || async {
        let (r, g) = op.store.find_refresh(&hash_token(token)).await.ok()??;
        let now = op.now();
        let live =
            r.used_at.is_none() && r.expires_at > now && g.revoked_at.is_none() && g.brand == brand;
        // The user as the token's client sees them (pairwise clients: their own `sub`).
        let sub = match (&g.user_id, op.client(&g.client_id).await.ok().flatten()) {
            (Some(user), Some(client)) => Some(op.subject(&client, user).await.ok()?),
            (user, _) => user.clone(),
        };
        live.then(|| {
            let scope = serde_json::from_str::<crate::grants::GrantPayload>(&g.payload)
                .map(|p| p.scope.join(" "))
                .unwrap_or_default();
            json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": g.client_id,
                "sub": sub,
                "scope": scope,
                "iss": op.issuer(brand),
                "exp": r.expires_at,
                "iat": r.created_at,
            })
        })
    };
    let found = if hint == Some("refresh_token") {
        match as_refresh().await {
            Some(v) => Some(v),
            None => as_access().await,
        }
    } else {
        match as_access().await {
            Some(v) => Some(v),
            None => as_refresh().await,
        }
    };
    let Some(found) = found else {
        return Ok(inactive);
    };
    let own = found.get("client_id").and_then(Value::as_str) == Some(caller.client_id.as_str());
    if own
        || op
            .store
            .client_is_resource_server(&caller.client_id)
            .await?
    {
        Ok(found)
    } else {
        Ok(inactive)
    }
}
