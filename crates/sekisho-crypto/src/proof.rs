//! The cryptography of DPoP proofs (RFC 9449): the signature by the key a proof carries in its
//! header, the key's thumbprint (RFC 7638), and the keyed hash of server nonces. The protocol
//! rules (method, URL, time, replay) are `sekisho_oidc::dpop`'s.

use crate::keyring::verifier_for;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why a proof's signature or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofError(pub String);

fn bad(why: impl Into<String>) -> ProofError {
    ProofError(why.into())
}

/// The members of a JWK only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof whose signature verified with the public key in its own header.
#[derive(Debug, Clone)]
pub struct SignedProof {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// RFC 7638 thumbprint (SHA-256, base64url) of the header's `jwk`: the key tokens bind to.
    pub jkt: String,
}

/// The verifiers of the keys proofs came with, by thumbprint and algorithm: a client signs every
/// proof with one key, and making a verifier from a JWK (OpenSSL checks the point) costs twice
/// the signature check itself. Bounded: past [`VerifierCache::CAPACITY`] keys it starts over, so
/// a stream of new keys costs each its own construction and no memory.
#[derive(Default)]
pub struct VerifierCache {
    verifiers: Mutex<HashMap<String, Arc<dyn JwsVerifier>>>,
}

impl std::fmt::Debug for VerifierCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifierCache")
    }
}

impl VerifierCache {
    pub const CAPACITY: usize = 4096;

    fn get_or_make(
        &self,
        id: String,
        make: impl FnOnce() -> Result<Box<dyn JwsVerifier>, ProofError>,
    ) -> Result<Arc<dyn JwsVerifier>, ProofError> {
        if let Some(v) = self.lock().get(&id) {
            return Ok(v.clone());
        }
        let made: Arc<dyn JwsVerifier> = Arc::from(make()?);
        let mut map = self.lock();
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(id, made.clone());
        Ok(made)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn JwsVerifier>>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.verifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn b64_json(part: &str) -> Option<Map<String, Value>> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
}

/// Checks the JOSE header (`typ` `dpop+jwt`, an asymmetric `alg` of `algs`, a public `jwk`) and
/// the signature by that key.
pub fn verify_self_signed(
    jwt_text: &str,
    typ: &str,
    algs: &[&str],
    cache: &VerifierCache,
) -> Result<SignedProof, ProofError> {
    let mut parts = jwt_text.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the proof is not a signed JWT (three parts)"));
    };
    let header = b64_json(header_part).ok_or_else(|| bad("the proof's header is not JSON"))?;
    if header.get("typ").and_then(Value::as_str) != Some(typ) {
        return Err(bad(format!("the proof's typ must be {typ}")));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|a| algs.contains(a))
        .ok_or_else(|| {
            bad(format!(
                "the proof's alg must be one of {}",
                algs.join(", ")
            ))
        })?;
    let Some(Value::Object(key)) = header.get("jwk") else {
        return Err(bad("the proof's header has no jwk"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| key.contains_key(*m)) {
        return Err(bad("the proof's jwk must be a public key"));
    }
    let jkt = thumbprint(key).ok_or_else(|| bad("the proof's jwk is not a usable key"))?;
    // The thumbprint names the key by its required members; an `alg` or `use` in the JWK that
    // forbids this algorithm is checked when the verifier is made, hence them in the name.
    let verifier = cache.get_or_make(format!("{alg}:{jkt}:{}", jwk_extras(key)), || {
        let jwk = Jwk::from_map(key.clone()).map_err(|e| bad(format!("the proof's jwk: {e}")))?;
        verifier_for(alg, &jwk).map_err(|e| bad(format!("the proof's jwk: {e}")))
    })?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| bad("the proof's signature is not base64url"))?;
    let signed = &jwt_text[..header_part.len() + 1 + payload_part.len()];
    verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| bad("the proof's signature does not verify"))?;
    let claims = b64_json(payload_part).ok_or_else(|| bad("the proof's claims are not JSON"))?;
    Ok(SignedProof {
        header,
        claims,
        jkt,
    })
}

/// The JWK's members beyond the thumbprint's that change what the key may verify.
fn jwk_extras(jwk: &Map<String, Value>) -> String {
    ["alg", "use", "key_ops"]
        .iter()
        .filter_map(|m| jwk.get(*m).map(|v| format!("{m}={v}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexical order.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = match s("kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            json_str(s("crv")?),
            json_str(s("x")?),
            json_str(s("y")?)
        ),
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            json_str(s("e")?),
            json_str(s("n")?)
        ),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            json_str(s("crv")?),
            json_str(s("x")?)
        ),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

fn json_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// base64url(SHA-256(`token`)): a proof's `ath` for an access token.
pub fn token_hash_b64(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA-256 of `data` under `key`, base64url: a value only the key's holders can make.
pub fn keyed_tag(key: &[u8], data: &str) -> Result<String, ProofError> {
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    let key = PKey::hmac(key).map_err(|e| bad(e.to_string()))?;
    let mut signer = Signer::new(openssl::hash::MessageDigest::sha256(), &key)
        .map_err(|e| bad(e.to_string()))?;
    let tag = signer
        .sign_oneshot_to_vec(data.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7638 §3.1's example: the thumbprint of its RSA key.
    #[test]
    fn thumbprint_matches_rfc_7638() {
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }
}
