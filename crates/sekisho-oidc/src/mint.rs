//! Minting and checking tokens: ID tokens (OpenID Connect Core §2) and JWT access tokens (RFC 9068).
//!
//! Access tokens carry `gid`, the grant (token family) they belong to, so revoking a family — on
//! refresh-token reuse, code replay, logout or revocation — stops its access tokens at once.

use crate::authorize::Authentication;
use crate::error::OAuthError;
use crate::Op;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekisho_core::model::{Client, User};
use sekisho_core::oauth::SigningAlg;
use sekisho_core::Secret;
use sekisho_crypto::tokens::new_id;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Who and what an access token is for.
#[derive(Debug, Clone)]
pub struct AccessGrant<'a> {
    pub brand: &'a str,
    pub client_id: &'a str,
    /// The user as the client sees them (`Op::subject`), or `None` for a client acting for
    /// itself (client_credentials).
    pub subject: Option<&'a str>,
    pub scope: &'a [String],
    pub grant_id: Option<&'a str>,
    pub auth: Option<&'a Authentication>,
    /// The DPoP key the token is bound to (RFC 9449 §6: `cnf.jkt`).
    pub dpop_jkt: Option<&'a str>,
    /// Claims asked for userinfo by the `claims` parameter, carried to userinfo (`uic`).
    pub userinfo_claims: &'a [String],
}

#[derive(Debug, Clone)]
pub struct Minted {
    pub token: Secret<String>,
    pub expires_in: i64,
}

pub async fn access_token(op: &Op, g: &AccessGrant<'_>) -> Result<Minted, OAuthError> {
    let now = op.now();
    let ttl = op.config.access_token_ttl;
    let mut c = Map::new();
    c.insert("iss".into(), json!(op.issuer(g.brand)));
    // RFC 9068 §2.2: for a client acting on its own behalf, sub is the client_id.
    c.insert("sub".into(), json!(g.subject.unwrap_or(g.client_id)));
    c.insert("aud".into(), json!(g.client_id));
    c.insert("client_id".into(), json!(g.client_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + ttl));
    c.insert("jti".into(), json!(new_id("at")));
    c.insert("scope".into(), json!(g.scope.join(" ")));
    if !g.userinfo_claims.is_empty() {
        c.insert("uic".into(), json!(g.userinfo_claims));
    }
    if let Some(jkt) = g.dpop_jkt {
        c.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    if let Some(gid) = g.grant_id {
        c.insert("gid".into(), json!(gid));
    }
    if let Some(a) = g.auth {
        c.insert("auth_time".into(), json!(a.auth_time));
        c.insert("acr".into(), json!(a.acr));
        c.insert("amr".into(), json!(a.amr));
        c.insert("sid".into(), json!(a.sid));
        if let Some(idp) = &a.idp {
            c.insert("idp".into(), json!(idp));
        }
    }
    let token = op.keys.sign(SigningAlg::Es256, ACCESS_TOKEN_TYP, c).await?;
    Ok(Minted {
        token: Secret::new(token),
        expires_in: ttl,
    })
}

/// The claims about a user that `scope` releases, and those `requested` one by one (the `claims`
/// parameter); ID token and UserInfo share them. `sub` as the client sees the user
/// (`Op::subject`).
pub fn user_claims(
    user: &User,
    scope: &[String],
    sub: &str,
    requested: &[String],
) -> Map<String, Value> {
    let has = |s: &str| scope.iter().any(|x| x == s);
    let asked = |c: &str| requested.iter().any(|x| x == c);
    let mut c = Map::new();
    c.insert("sub".into(), json!(sub));
    if has("email") || asked("email") {
        c.insert("email".into(), json!(user.email.as_str()));
    }
    if has("email") || asked("email_verified") {
        // Every address is confirmed by a mailed link before it can sign in.
        c.insert("email_verified".into(), json!(true));
    }
    if has("profile") || asked("name") {
        c.insert("name".into(), json!(user.name));
    }
    c.insert("contract_id".into(), json!(user.contract_id));
    c.insert("role".into(), json!(user.role.as_str()));
    c.insert("brand".into(), json!(user.brand.as_str()));
    c
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash of the access token, with
/// the hash of the ID token's algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::Es256 | SigningAlg::Rs256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[allow(clippy::too_many_arguments)]
pub async fn id_token(
    op: &Op,
    brand: &str,
    client: &Client,
    user: &User,
    scope: &[String],
    auth: &Authentication,
    nonce: Option<&str>,
    access_token: Option<&str>,
    requested: &[String],
) -> Result<String, OAuthError> {
    let now = op.now();
    let alg = client.metadata.id_token_signed_response_alg;
    let mut c = user_claims(user, scope, &op.subject(client, &user.id).await?, requested);
    c.insert("iss".into(), json!(op.issuer(brand)));
    c.insert("aud".into(), json!(client.client_id));
    c.insert("azp".into(), json!(client.client_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + op.config.id_token_ttl));
    c.insert("auth_time".into(), json!(auth.auth_time));
    c.insert("amr".into(), json!(auth.amr));
    c.insert("acr".into(), json!(auth.acr));
    c.insert("sid".into(), json!(auth.sid));
    if let Some(idp) = &auth.idp {
        c.insert("idp".into(), json!(idp));
    }
    if let Some(n) = nonce {
        c.insert("nonce".into(), json!(n));
    }
    if let Some(at) = access_token {
        c.insert("at_hash".into(), json!(at_hash(alg, at)));
    }
    Ok(op.keys.sign(alg, "JWT", c).await?)
}

/// A signature-valid, unexpired, unrevoked access token of this brand.
#[derive(Debug, Clone)]
pub struct VerifiedAccess {
    pub claims: Map<String, Value>,
    pub sub: String,
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
    pub grant_id: Option<String>,
    pub scope: Vec<String>,
}

impl VerifiedAccess {
    /// Whether the token was issued to a user (not to a client for itself).
    pub fn for_user(&self) -> bool {
        self.grant_id.is_some()
    }
}

/// Checks signature, `typ`, issuer and expiry, without the revocation lookup.
pub async fn decode_access_token(
    op: &Op,
    brand: &str,
    token: &str,
) -> Result<VerifiedAccess, OAuthError> {
    let bad = |d: &str| OAuthError::invalid_token(d);
    let (claims, typ) = op
        .keys
        .verify(token)
        .await
        .map_err(|_| bad("the access token is not valid"))?;
    if typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(bad("not an access token"));
    }
    let s = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
    if s("iss").as_deref() != Some(op.issuer(brand).as_str()) {
        return Err(bad("the access token is for another issuer"));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= op.now() {
        return Err(bad("the access token expired"));
    }
    Ok(VerifiedAccess {
        sub: s("sub").unwrap_or_default(),
        client_id: s("client_id").unwrap_or_default(),
        jti: s("jti").unwrap_or_default(),
        grant_id: s("gid"),
        scope: s("scope")
            .unwrap_or_default()
            .split(' ')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect(),
        exp,
        claims,
    })
}

/// [`decode_access_token`] plus the revocation check (its jti and its family).
pub async fn verify_access_token(
    op: &Op,
    brand: &str,
    token: &str,
) -> Result<VerifiedAccess, OAuthError> {
    let v = decode_access_token(op, brand, token).await?;
    let issued_at = v.claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    if !op
        .store
        .client_access_token_active(
            &v.jti,
            v.grant_id.as_deref(),
            &v.client_id,
            issued_at,
            op.now(),
        )
        .await?
    {
        return Err(OAuthError::invalid_token(
            "the access token was revoked, its client deleted, or its contract has ended",
        ));
    }
    Ok(v)
}

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The JOSE `typ` of a logout token (Back-Channel Logout 1.0 §2.4, as the spec recommends).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// How long a logout token is valid after it is signed (at delivery), seconds.
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// A logout token for `client` (Back-Channel Logout 1.0 §2.4): `iss`, `aud`, `iat`, `exp`, `jti`,
/// `sub` and `sid`, and `events`; never a `nonce`. Signed with the client's ID token algorithm.
pub async fn logout_token(
    op: &Op,
    brand: &str,
    client: &Client,
    user_id: &str,
    sid: &str,
) -> Result<String, OAuthError> {
    let now = op.now();
    let mut c = Map::new();
    c.insert("iss".into(), json!(op.issuer(brand)));
    c.insert("aud".into(), json!(client.client_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + LOGOUT_TOKEN_TTL));
    c.insert("jti".into(), json!(new_id("lt")));
    c.insert("sub".into(), json!(op.subject(client, user_id).await?));
    c.insert("sid".into(), json!(sid));
    c.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    Ok(op
        .keys
        .sign(
            client.metadata.id_token_signed_response_alg,
            LOGOUT_TOKEN_TYP,
            c,
        )
        .await?)
}
