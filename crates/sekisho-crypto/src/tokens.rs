//! Opaque tokens: codes, refresh tokens, session cookies, client secrets, ids.
//!
//! Invariant: the database holds only [`hash_token`] of a token, never the token itself. Tokens are
//! 256-bit random values, so a fast hash is enough (no salt or stretching needed, unlike passwords).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS, base64url: 43 characters.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A uniformly random index below `n` (`n` > 0) from the OS's random source: a character of a
/// code's alphabet.
pub fn random_index(n: usize) -> usize {
    use rand::Rng;
    rand::rngs::OsRng.gen_range(0..n.max(1))
}

/// A shorter random identifier with a readable prefix (`usr_…`, `ctr_…`): 128 bits.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The at-rest form of a token: SHA-256, base64url.
pub fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `token` hashes to `stored_hash`, compared in constant time.
pub fn verify_token(token: &str, stored_hash: &str) -> bool {
    constant_time_eq(&hash_token(token), stored_hash)
}

/// PKCE S256 (RFC 7636 §4.2): base64url(SHA-256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_verifies() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(verify_token(&a, &hash_token(&a)));
        assert!(!verify_token(&random_token(), &hash_token(&a)));
        assert!(new_id("usr").starts_with("usr_"));
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
