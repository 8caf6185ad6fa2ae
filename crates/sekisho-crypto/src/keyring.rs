//! The signing key ring: one active key per algorithm, plus retired keys that still verify.
//!
//! Keys live in the database (shared by every node). The ring caches them in memory and reloads
//! after `reload_after` seconds or when it meets an unknown `kid`, so a rotation made by the CLI in
//! another process reaches a running server without a restart.
//!
//! Invariant: a retired key stays in the JWKS for `overlap` seconds (at least the longest token
//! lifetime), so every token it signed verifies until that token expires.
//!
//! Invariant (issue 17, staged rotation): a rotated-in key is published before it signs. It is
//! "next" for [`PUBLISH_LEAD`] seconds (listed in the JWKS, signing nothing), then every node
//! signs with it from the same moment, by its own clock (nodes keep time in sync), without a
//! reload: the ring holds both keys and picks by time.

use crate::tokens::new_id;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, RS256};
use josekit::jwt::{self, JwtPayload};
use sekisho_core::oauth::SigningAlg;
use sekisho_core::Clock;
use sekisho_store::{SigningKeyRecord, Store, StoreError};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("no active {0} signing key (run `sekisho keys generate`)")]
    NoActiveKey(SigningAlg),
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("key material: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `keys list` shows: never the private part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub state: KeyStage,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStage {
    /// Published in the JWKS, not signing yet.
    Next,
    /// Signing (one per algorithm at a time).
    Active,
    /// Replaced; still published (it verifies what it signed) until pruned.
    Retired,
}

impl KeyStage {
    /// The stage at `now` of a key active from `activates_at` until `retired_at`.
    pub fn at(activates_at: i64, retired_at: Option<i64>, now: i64) -> Self {
        // A next key that an immediate rotation replaced retires without ever signing.
        if retired_at.is_some_and(|r| r <= now) {
            KeyStage::Retired
        } else if now < activates_at {
            KeyStage::Next
        } else {
            KeyStage::Active
        }
    }
}

/// How long a rotated-in key is published before it signs (seconds): longer than the JWKS's
/// cache lifetime for relying parties (`max-age=300`, `sekisho_web::security`) plus a node's key
/// reload when it missed the change feed (30 s), with a margin for clocks a little apart.
pub const PUBLISH_LEAD: i64 = 600;

/// When a rotation takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Published now, signing after [`PUBLISH_LEAD`]: the planned turn-over.
    Staged,
    /// Signing now: for a key that must stop at once (compromised); relying parties that cached
    /// the JWKS refetch it on the unknown `kid`.
    Immediate,
}

impl Rotation {
    fn lead(self) -> i64 {
        match self {
            Rotation::Staged => PUBLISH_LEAD,
            Rotation::Immediate => 0,
        }
    }
}

struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    activates_at: i64,
    retired_at: Option<i64>,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public: Jwk,
}

struct Loaded {
    at: i64,
    keys: Vec<LoadedKey>,
}

pub struct KeyRing {
    store: Store,
    clock: Arc<dyn Clock>,
    overlap: i64,
    reload_after: i64,
    cache: RwLock<Option<Arc<Loaded>>>,
    /// Counts invalidations: keys read before one are not cached after it (issue 17: the read
    /// may predate a rotation another node announced meanwhile).
    invalidated: AtomicU64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("overlap", &self.overlap)
            .finish()
    }
}

fn generate(alg: SigningAlg) -> Result<Box<dyn KeyPair>, KeyRingError> {
    Ok(match alg {
        SigningAlg::Es256 => Box::new(ES256.generate_key_pair()?),
        SigningAlg::Rs256 => Box::new(RS256.generate_key_pair(2048)?),
        SigningAlg::EdDsa => {
            Box::new(EdDSA.generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)?)
        }
    })
}

/// The two halves of a loaded key.
type SignerVerifier = (Box<dyn JwsSigner>, Box<dyn JwsVerifier>);

/// A signer and verifier for `jwk` under `alg`.
fn signer_verifier(alg: SigningAlg, jwk: &Jwk) -> Result<SignerVerifier, KeyRingError> {
    Ok(match alg {
        SigningAlg::Es256 => (
            Box::new(ES256.signer_from_jwk(jwk)?),
            Box::new(ES256.verifier_from_jwk(jwk)?),
        ),
        SigningAlg::Rs256 => (
            Box::new(RS256.signer_from_jwk(jwk)?),
            Box::new(RS256.verifier_from_jwk(jwk)?),
        ),
        SigningAlg::EdDsa => (
            Box::new(EdDSA.signer_from_jwk(jwk)?),
            Box::new(EdDSA.verifier_from_jwk(jwk)?),
        ),
    })
}

/// A verifier for a public JWK of an algorithm a client may sign its assertions with.
pub fn verifier_for(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, KeyRingError> {
    use josekit::jws::{ES384, PS256, RS384, RS512};
    Ok(match alg {
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk)?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk)?),
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk)?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk)?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk)?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        other => {
            return Err(KeyRingError::InvalidToken(format!(
                "algorithm {other} is not accepted"
            )))
        }
    })
}

/// Algorithms accepted for `private_key_jwt` client assertions (advertised in discovery).
pub const CLIENT_ASSERTION_ALGS: &[&str] = &[
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "EdDSA",
];

/// Verifies a JWS against a JWK Set document (a client's `jwks`): the key is chosen by `kid`, or,
/// without one, the first key whose `alg`/`kty` fits. Returns the claims; checks nothing else.
pub fn verify_with_jwk_set(token: &str, jwks: &Value) -> Result<Map<String, Value>, KeyRingError> {
    let header =
        jwt::decode_header(token).map_err(|e| KeyRingError::InvalidToken(e.to_string()))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| KeyRingError::InvalidToken("no alg".into()))?
        .to_owned();
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in keys {
        let Value::Object(map) = key else { continue };
        let jwk = Jwk::from_map(map)?;
        if kid.is_some() && jwk.key_id() != kid.as_deref() {
            continue;
        }
        if jwk.algorithm().is_some_and(|a| a != alg) {
            continue;
        }
        let Ok(verifier) = verifier_for(&alg, &jwk) else {
            continue;
        };
        if let Ok((payload, _)) = jwt::decode_with_verifier(token, &*verifier) {
            return Ok(payload.claims_set().clone());
        }
    }
    Err(KeyRingError::InvalidToken(
        "no registered key verifies the signature".into(),
    ))
}

impl KeyRing {
    pub fn new(store: Store, clock: Arc<dyn Clock>, overlap: i64) -> Self {
        Self {
            store,
            clock,
            overlap,
            reload_after: 30,
            cache: RwLock::new(None),
            invalidated: AtomicU64::new(0),
        }
    }

    /// Creates a key for every algorithm that has none (signing at once: there is nothing to
    /// publish it before). Returns the new kids.
    pub async fn ensure_keys(&self) -> Result<Vec<String>, KeyRingError> {
        let existing = self.store.list_signing_keys().await?;
        let mut made = Vec::new();
        for alg in SigningAlg::ALL {
            if !existing
                .iter()
                .any(|k| k.alg == alg.as_str() && k.retired_at.is_none())
            {
                // Nodes started together on an empty database each find no key: under the
                // rotation's lock only the first makes one (made at or after the beginning of
                // time: any key of the alg is one), the others load it.
                let key = self.new_key(*alg, Rotation::Immediate)?;
                if self.store.rotate_signing_key_if_due(&key, i64::MIN).await? {
                    made.push(key.kid);
                }
            }
        }
        if !made.is_empty() {
            self.invalidate();
        }
        Ok(made)
    }

    /// A new key for each of `algs`, signing from now ([`Rotation::Immediate`]) or after
    /// [`PUBLISH_LEAD`] ([`Rotation::Staged`]); the previous ones retire then but still verify.
    pub async fn rotate(
        &self,
        algs: &[SigningAlg],
        when: Rotation,
    ) -> Result<Vec<String>, KeyRingError> {
        let mut made = Vec::new();
        for alg in algs {
            made.push(self.rotate_one(*alg, when).await?);
        }
        // Keys retired longer ago than the overlap can verify nothing still valid.
        self.store
            .prune_signing_keys(self.clock.now() - self.overlap)
            .await?;
        self.invalidate();
        Ok(made)
    }

    /// The scheduled rotation (issue 17): a staged rotation of each algorithm whose newest key
    /// is older than `every` seconds. Every node runs it; the store lets one rotate. Returns the
    /// new kids (none when nothing was due or another node rotated first).
    pub async fn rotate_due(&self, every: i64) -> Result<Vec<String>, KeyRingError> {
        let now = self.clock.now();
        let mut made = Vec::new();
        for alg in SigningAlg::ALL {
            // Generating a key pair (RSA above all) is the costly part of the hourly check.
            if self
                .store
                .signing_key_made_since(alg.as_str(), now - every)
                .await?
            {
                continue;
            }
            let key = self.new_key(*alg, Rotation::Staged)?;
            if self
                .store
                .rotate_signing_key_if_due(&key, now - every)
                .await?
            {
                made.push(key.kid);
            }
        }
        if !made.is_empty() {
            self.store.prune_signing_keys(now - self.overlap).await?;
            self.invalidate();
        }
        Ok(made)
    }

    async fn rotate_one(&self, alg: SigningAlg, when: Rotation) -> Result<String, KeyRingError> {
        let key = self.new_key(alg, when)?;
        let kid = key.kid.clone();
        self.store.rotate_signing_key(&key).await?;
        self.invalidate();
        Ok(kid)
    }

    /// A fresh key pair of `alg`, signing from now or after the lead.
    fn new_key(&self, alg: SigningAlg, when: Rotation) -> Result<SigningKeyRecord, KeyRingError> {
        let kid = new_id(&alg.as_str().to_ascii_lowercase());
        let pair = generate(alg)?;
        let mut private = pair.to_jwk_key_pair();
        let mut public = pair.to_jwk_public_key();
        for jwk in [&mut private, &mut public] {
            jwk.set_key_id(&kid);
            jwk.set_algorithm(alg.as_str());
            jwk.set_key_use("sig");
        }
        let now = self.clock.now();
        Ok(SigningKeyRecord {
            kid,
            alg: alg.as_str().to_owned(),
            private_jwk: private.to_string(),
            public_jwk: public.to_string(),
            created_at: now,
            activates_at: now + when.lead(),
            retired_at: None,
        })
    }

    pub async fn list(&self) -> Result<Vec<KeyInfo>, KeyRingError> {
        let now = self.clock.now();
        Ok(self
            .store
            .list_signing_keys()
            .await?
            .into_iter()
            .map(|k| KeyInfo {
                state: KeyStage::at(k.activates_at, k.retired_at, now),
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retired_at: k.retired_at,
            })
            .collect())
    }

    /// Forget the cache; the next use reloads from the database.
    pub fn invalidate(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        *cache = None;
        self.invalidated.fetch_add(1, Ordering::AcqRel);
    }

    async fn loaded(&self, force: bool) -> Result<Arc<Loaded>, KeyRingError> {
        let now = self.clock.now();
        if !force {
            let cached = self.cache.read().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(l) = cached.filter(|l| now - l.at < self.reload_after && now >= l.at) {
                return Ok(l);
            }
        }
        let generation = self.invalidated.load(Ordering::Acquire);
        let mut keys = Vec::new();
        for rec in self.store.list_signing_keys().await? {
            if rec.retired_at.is_some_and(|r| now - r > self.overlap) {
                continue;
            }
            let Some(alg) = SigningAlg::parse(&rec.alg) else {
                continue;
            };
            let private = Jwk::from_bytes(rec.private_jwk.as_bytes())?;
            let (signer, verifier) = signer_verifier(alg, &private)?;
            keys.push(LoadedKey {
                kid: rec.kid,
                alg,
                activates_at: rec.activates_at,
                retired_at: rec.retired_at,
                signer,
                verifier,
                public: Jwk::from_bytes(rec.public_jwk.as_bytes())?,
            });
        }
        let loaded = Arc::new(Loaded { at: now, keys });
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock invalidate takes: a read older than an invalidation serves
        // this call only, and the next one reads again.
        if self.invalidated.load(Ordering::Acquire) == generation {
            *cache = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// The public JWK Set: active keys and retired keys still inside the overlap.
    pub async fn jwks(&self) -> Result<Value, KeyRingError> {
        let loaded = self.loaded(false).await?;
        let keys: Vec<Value> = loaded
            .keys
            .iter()
            .map(|k| Value::Object(k.public.as_ref().clone()))
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Signs `claims` with the active key of `alg`; `typ` goes in the header (`JWT`, `at+jwt`, …).
    pub async fn sign(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, KeyRingError> {
        let loaded = self.loaded(false).await?;
        let now = self.clock.now();
        let key = loaded
            .keys
            .iter()
            .find(|k| {
                k.alg == alg && KeyStage::at(k.activates_at, k.retired_at, now) == KeyStage::Active
            })
            .ok_or(KeyRingError::NoActiveKey(alg))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        let payload = JwtPayload::from_map(claims)?;
        Ok(jwt::encode_with_signer(&payload, &header, &*key.signer)?)
    }

    /// Verifies a token this ring signed (any of its live keys). Returns claims and the header's
    /// `typ`. Checks only the signature: expiry and audience are the caller's.
    pub async fn verify(
        &self,
        token: &str,
    ) -> Result<(Map<String, Value>, Option<String>), KeyRingError> {
        let header =
            jwt::decode_header(token).map_err(|e| KeyRingError::InvalidToken(e.to_string()))?;
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| KeyRingError::InvalidToken("no kid".into()))?
            .to_owned();
        let mut loaded = self.loaded(false).await?;
        if !loaded.keys.iter().any(|k| k.kid == kid) {
            loaded = self.loaded(true).await?;
        }
        let key = loaded
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| KeyRingError::UnknownKey(kid.clone()))?;
        if header.claim("alg").and_then(Value::as_str) != Some(key.alg.as_str()) {
            return Err(KeyRingError::InvalidToken(
                "alg does not match the key".into(),
            ));
        }
        let (payload, header) = jwt::decode_with_verifier(token, &*key.verifier)
            .map_err(|e| KeyRingError::InvalidToken(e.to_string()))?;
        Ok((
            payload.claims_set().clone(),
            header.token_type().map(str::to_owned),
        ))
    }
}

#[cfg(test)]
mod stage_tests {
    use super::KeyStage;

    // Issue 17: a key is next before it activates, active until it retires, then retired; a
    // next key retired before it activated never signs.
    #[test]
    fn a_key_is_next_then_active_then_retired() {
        assert_eq!(KeyStage::at(100, None, 99), KeyStage::Next);
        assert_eq!(KeyStage::at(100, None, 100), KeyStage::Active);
        assert_eq!(KeyStage::at(100, Some(200), 199), KeyStage::Active);
        assert_eq!(KeyStage::at(100, Some(200), 200), KeyStage::Retired);
        assert_eq!(KeyStage::at(100, Some(50), 60), KeyStage::Retired);
    }
}
