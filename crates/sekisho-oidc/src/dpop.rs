//! DPoP (RFC 9449): access tokens bound to a key the client proves it holds on every request.
//!
//! A proof is a JWT the client signs for one request: its header carries the public key (`jwk`),
//! its claims the method (`htm`), the URL (`htu`), the time (`iat`), a unique `jti`, at a
//! resource the hash of the access token (`ath`), and the server's `nonce` when asked.
//!
//! Invariants: a proof is accepted once (its `jti` is stored in the database, beside client
//! assertions' `jti`s, so a proof replayed at another node is refused too); a token bound to a
//! key (`cnf.jkt`) is honoured only with a proof by that key, never as a bearer token; a
//! public client's refresh token is bound to the key of the proof that obtained it.

use crate::error::{ErrorCode, OAuthError};
use crate::Op;
use sekisho_crypto::proof::{keyed_tag, token_hash_b64, verify_self_signed};
use sekisho_crypto::tokens::{constant_time_eq, hash_token, random_token};
use serde_json::Value;

/// The signature algorithms accepted in proofs (advertised as `dpop_signing_alg_values_supported`).
pub const DPOP_ALGS: &[&str] = &["ES256", "ES384", "RS256", "PS256", "EdDSA"];
/// The JOSE `typ` of a proof.
pub const PROOF_TYP: &str = "dpop+jwt";
/// The longest proof accepted, in bytes (a proof with a 4096-bit RSA key is about 1.5 KB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The longest `jti` accepted, in bytes (it is stored, hashed, until the proof is too old).
pub const MAX_JTI_BYTES: usize = 256;
/// A proof is accepted from `iat` until this many seconds after it...
pub const PROOF_MAX_AGE: i64 = 300;
/// ...and this many seconds before it (the client's clock ahead of the server's).
pub const PROOF_MAX_AHEAD: i64 = 60;
/// A server nonce is made per period of this many seconds and accepted for two.
pub const NONCE_PERIOD: i64 = 300;

fn invalid(why: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, why)
}

/// What the request is, as the proof must name it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The URL of the endpoint, as the server publishes it (`Op::endpoint`).
    pub url: &'a str,
    /// At a protected resource: the access token the proof goes with (`ath`).
    pub access_token: Option<&'a str>,
}

/// Checks `proof` for `request`; returns the thumbprint of its key (`jkt`).
pub async fn verify(op: &Op, proof: &str, request: Request<'_>) -> Result<String, OAuthError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(invalid(format!(
            "the DPoP proof is longer than {MAX_PROOF_BYTES} bytes"
        )));
    }
    let signed = verify_self_signed(proof, PROOF_TYP, DPOP_ALGS, &op.dpop_verifiers)
        .map_err(|e| invalid(e.0))?;
    let c = &signed.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("htm") != Some(request.method) {
        return Err(invalid("the DPoP proof is for another HTTP method (htm)"));
    }
    if !same_url(s("htu").unwrap_or_default(), request.url) {
        return Err(invalid("the DPoP proof is for another URL (htu)"));
    }
    let now = op.now();
    let iat = c
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the DPoP proof has no iat"))?;
    if iat < now - PROOF_MAX_AGE || iat > now + PROOF_MAX_AHEAD {
        return Err(invalid(
            "the DPoP proof's iat is too far from the server's time",
        ));
    }
    match (request.access_token, s("ath")) {
        (None, _) => {}
        (Some(token), Some(ath)) if constant_time_eq(&token_hash_b64(token), ath) => {}
        (Some(_), _) => {
            return Err(invalid(
                "the DPoP proof's ath is not the hash of the access token",
            ))
        }
    }
    if op.config.dpop_require_nonce && !nonce_is_fresh(op, s("nonce")).await? {
        return Err(OAuthError::new(
            ErrorCode::UseDpopNonce,
            "the DPoP proof must carry the nonce of the DPoP-Nonce header",
        ));
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or_else(|| {
            invalid(format!(
                "the DPoP proof needs a jti of 1 to {MAX_JTI_BYTES} bytes"
            ))
        })?;
    // Keyed by the key too: one client cannot spend another's jti.
    let key = hash_token(&format!("dpop:{}:{jti}", signed.jkt));
    if !op.store.use_once(&key, iat + PROOF_MAX_AGE).await? {
        return Err(invalid("the DPoP proof was already used"));
    }
    Ok(signed.jkt)
}

/// RFC 9449 §4.3: `htu` is compared without query and fragment, as URLs (scheme and host case,
/// default port).
fn same_url(htu: &str, endpoint: &str) -> bool {
    let strip = |u: &str| {
        url::Url::parse(u).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    matches!((strip(htu), strip(endpoint)), (Some(a), Some(b)) if a == b)
}

/// The nonce to send in `DPoP-Nonce` now (RFC 9449 §8): a keyed hash of the current period, the
/// same on every node, so nothing is stored per nonce.
pub async fn nonce(op: &Op) -> Result<String, OAuthError> {
    nonce_of(op, op.now() / NONCE_PERIOD).await
}

async fn nonce_of(op: &Op, period: i64) -> Result<String, OAuthError> {
    let key = op
        .dpop_nonce_key
        .get_or_try_init(|| async {
            op.store
                .server_secret("dpop_nonce", &random_token())
                .await
                .map(String::into_bytes)
        })
        .await?;
    keyed_tag(key, &format!("dpop-nonce:{period}")).map_err(OAuthError::server)
}

/// Whether `nonce` is this period's or the last one's.
async fn nonce_is_fresh(op: &Op, nonce: Option<&str>) -> Result<bool, OAuthError> {
    let Some(nonce) = nonce else {
        return Ok(false);
    };
    let period = op.now() / NONCE_PERIOD;
    for p in [period, period - 1] {
        if constant_time_eq(&nonce_of(op, p).await?, nonce) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How a client presented an access token at a protected resource.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer` (or the form body).
    Bearer(&'a str),
    /// `Authorization: DPoP`, with the `DPoP` header's proof if there was exactly one.
    Dpop {
        token: &'a str,
        proof: Option<&'a str>,
    },
}

impl<'a> Presented<'a> {
    pub fn token(&self) -> &'a str {
        match self {
            Presented::Bearer(t) | Presented::Dpop { token: t, .. } => t,
        }
    }
}

/// The key an access token is bound to (`cnf.jkt`), if any.
pub fn bound_key(claims: &serde_json::Map<String, Value>) -> Option<&str> {
    claims.get("cnf")?.get("jkt")?.as_str()
}

/// RFC 9449 §7: a bound token only with a proof by its key (never as a bearer token); an unbound
/// token not under the DPoP scheme.
pub async fn check_presentation(
    op: &Op,
    claims: &serde_json::Map<String, Value>,
    presented: Presented<'_>,
    method: &str,
    url: &str,
) -> Result<(), OAuthError> {
    match (bound_key(claims), presented) {
        (None, Presented::Bearer(_)) => Ok(()),
        (Some(_), Presented::Bearer(_)) => Err(OAuthError::invalid_token(
            "the access token is DPoP-bound: present it with the DPoP scheme and a proof",
        )),
        (None, Presented::Dpop { .. }) => Err(OAuthError::invalid_token(
            "the access token is not DPoP-bound: present it as a bearer token",
        )),
        (Some(jkt), Presented::Dpop { token, proof }) => {
            let proof = proof.ok_or_else(|| invalid("a DPoP proof is required"))?;
            let key = verify(
                op,
                proof,
                Request {
                    method,
                    url,
                    access_token: Some(token),
                },
            )
            .await?;
            if key == jkt {
                Ok(())
            } else {
                Err(invalid(
                    "the DPoP proof is signed by another key than the token's",
                ))
            }
        }
    }
}
