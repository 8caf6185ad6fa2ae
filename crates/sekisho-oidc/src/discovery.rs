//! OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3). Truthful: every value listed here
//! is implemented and exercised by the end-to-end tests.

use crate::Op;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod, SUPPORTED_SCOPES};
use sekisho_crypto::keyring::CLIENT_ASSERTION_ALGS;
use serde_json::{json, Value};

pub const CLAIMS_SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "sid",
    "at_hash",
    "email",
    "email_verified",
    "name",
    "contract_id",
    "role",
    "brand",
];

pub async fn metadata(op: &Op, brand: &str) -> Value {
    let e = |path: &str| op.endpoint(brand, path);
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let auth_methods: Vec<&str> = TokenEndpointAuthMethod::ALL
        .iter()
        .map(|m| m.as_str())
        .collect();
    let authenticated_methods: Vec<&str> = auth_methods
        .iter()
        .copied()
        .filter(|m| *m != "none")
        .collect();
    let grants: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let mut meta = json!({
        "issuer": op.issuer(brand),
        "authorization_endpoint": e("authorize"),
        "token_endpoint": e("token"),
        "userinfo_endpoint": e("userinfo"),
        "jwks_uri": e("jwks"),
        "revocation_endpoint": e("revoke"),
        "introspection_endpoint": e("introspect"),
        "end_session_endpoint": e("logout"),
        "pushed_authorization_request_endpoint": e("par"),
        "device_authorization_endpoint": e("device_authorization"),
        "require_pushed_authorization_requests": op.config.require_pushed_authorization_requests,
        "dpop_signing_alg_values_supported": crate::dpop::DPOP_ALGS,
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": authenticated_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "acr_values_supported": [sekisho_core::oauth::ACR_SINGLE_FACTOR, sekisho_core::oauth::ACR_MULTI_FACTOR],
        "prompt_values_supported": ["none", "login", "select_account"],
        "ui_locales_supported": ["ja", "en"],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    // RFC 7591 §3 / RFC 8414: only where an initial access token can register clients.
    if crate::registration::enabled(op, brand).await {
        meta["registration_endpoint"] = json!(e("clients"));
    }
    meta
}
