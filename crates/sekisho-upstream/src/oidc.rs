//! The OpenID kinds (Google, Microsoft, d アカウント) on the `openidconnect` crate.
//!
//! Discovery and the JWKS are fetched here (the connector's own client: no redirects, 10 s),
//! cached together, and refetched on demand when the copy is 5 minutes old, or at once (once per
//! callback) when an ID token names a key the copy lacks: the provider rotated its keys.
//!
//! Time comes from the connector's [`Clock`]: the copy's age and the ID token's `exp` are
//! measured on it (openidconnect's verifier would read the wall clock by itself), so tests move
//! both with their fake clock.
//!
//! Issuers: Google and d アカウント publish their discovery at
//! `{issuer}/.well-known/openid-configuration`, so the document's issuer must be the discovery
//! URL without that suffix, and the ID token's `iss` must equal it. Microsoft's `common` and
//! `organizations` documents carry the template `https://login.microsoftonline.com/{tenantid}/v2.0`:
//! the token's `iss` must be the template with `{tenantid}` replaced by the token's own `tid`;
//! a tenant's own document names the tenant's issuer, which the token must match exactly.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    JwsSigningAlgorithm as _, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope,
    SignatureVerificationError, TokenResponse as _,
};
use sekisho_core::{Clock, Timestamp};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use crate::settings::{Valid, DISCOVERY_SUFFIX};
use crate::{
    http, redirect_url, token_error, IdTokenProblem, Kind, UpstreamError, UpstreamIdentity,
};

/// A cached discovery document and JWKS is used this long (seconds) before it is refetched.
const REFRESH_AFTER: i64 = 5 * 60;
/// Microsoft's placeholder in the multi-tenant issuer.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

pub(crate) struct OpenId {
    kind: Kind,
    client_id: ClientId,
    client_secret: ClientSecret,
    discovery: Url,
    scopes: Vec<Scope>,
    cache: RwLock<Option<Cached>>,
    /// One refetch at a time; the others wait and take its result.
    refetching: Mutex<()>,
    clock: Arc<dyn Clock>,
}

#[derive(Clone)]
struct Cached {
    provider: Arc<Provider>,
    /// When the copy may be refetched on demand (5 minutes after the last attempt).
    refresh_at: Timestamp,
}

/// A provider as discovered: metadata with its JWKS set in.
pub(crate) struct Provider {
    metadata: CoreProviderMetadata,
    issuer: IssuerRule,
    /// The asymmetric algorithms the provider lists for ID tokens (never `none` or HMAC).
    algs: Vec<CoreJwsSigningAlgorithm>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IssuerRule {
    /// `iss` must equal the metadata issuer.
    Exact,
    /// Microsoft multi-tenant: `iss` must equal this template with `{tenantid}` = the token's `tid`.
    TenantTemplate(String),
}

impl OpenId {
    pub(crate) fn new(valid: &Valid, clock: Arc<dyn Clock>) -> Result<Self, UpstreamError> {
        let discovery = valid
            .discovery
            .clone()
            .ok_or_else(|| UpstreamError::Config("no discovery_url".into()))?;
        Ok(Self {
            kind: valid.kind,
            client_id: ClientId::new(valid.settings.client_id.clone()),
            client_secret: ClientSecret::new(valid.settings.client_secret.expose().clone()),
            discovery,
            // openidconnect puts `openid` first by itself.
            scopes: valid
                .settings
                .scopes
                .iter()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.clone()))
                .collect(),
            cache: RwLock::new(None),
            refetching: Mutex::new(()),
            clock,
        })
    }

    fn client(
        &self,
        provider: &Provider,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        UpstreamError,
    > {
        Ok(CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(redirect_url(redirect_uri)?))
    }

    /// The provider's authorization endpoint, from the (cached) discovery document.
    pub(crate) async fn authorization_endpoint(
        &self,
        http: &reqwest::Client,
    ) -> Result<Url, UpstreamError> {
        let provider = self.provider(http).await?;
        Ok(provider.metadata.authorization_endpoint().url().clone())
    }

    pub(crate) async fn login_url(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Url, UpstreamError> {
        if nonce.is_empty() {
            return Err(UpstreamError::Config("the nonce is empty".into()));
        }
        let provider = self.provider(http).await?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.to_owned(),
        ));
        let state = CsrfToken::new(state.to_owned());
        let nonce = Nonce::new(nonce.to_owned());
        let (url, _, _) = self
            .client(&provider, redirect_uri)?
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || state,
                move || nonce,
            )
            .add_scopes(self.scopes.iter().cloned())
            .add_prompt(CoreAuthPrompt::SelectAccount)
            .set_pkce_challenge(challenge)
            .url();
        Ok(url)
    }

    pub(crate) async fn handle_callback(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let provider = self.provider(http).await?;
        let client = self.client(&provider, redirect_uri)?;
        let token_url = client
            .token_uri()
            .map(|u| http::show(u.url()))
            .unwrap_or_default();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| {
                UpstreamError::Unavailable(format!(
                    "discovery {} has no token_endpoint",
                    http::show(&self.discovery)
                ))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|e| token_error(&token_url, e))?;
        let id_token = response
            .id_token()
            .ok_or(UpstreamError::InvalidIdToken(IdTokenProblem::Missing))?;
        let nonce = Nonce::new(nonce.to_owned());
        match self.verify(&provider, id_token, &nonce) {
            Err(UpstreamError::InvalidIdToken(IdTokenProblem::UnknownKey)) => {
                // The provider may have rotated its keys since the copy was made.
                tracing::info!(
                    connector = %self.kind,
                    "ID token signed with a key not in the cached JWKS: refetching"
                );
                let fresh = self.refetch_after(http, &provider).await?;
                self.verify(&fresh, id_token, &nonce)
            }
            other => other,
        }
    }

    /// Verifies the ID token against `provider` and reads the identity.
    fn verify(
        &self,
        provider: &Provider,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        // A public-client verifier: HMAC signatures (keyed with the client secret) are refused,
        // and only the asymmetric algorithms of the discovery document are allowed. `exp` is
        // checked against the clock (openidconnect's default reads the wall clock); a time the
        // clock cannot express as a date leaves nothing unexpired.
        let clock = self.clock.clone();
        let verifier: CoreIdTokenVerifier<'static> = CoreIdTokenVerifier::new_public_client(
            self.client_id.clone(),
            provider.metadata.issuer().clone(),
            provider.metadata.jwks().clone(),
        )
        .set_allowed_algs(provider.algs.iter().cloned())
        .require_issuer_match(provider.issuer == IssuerRule::Exact)
        .set_time_fn(move || {
            chrono::DateTime::from_timestamp(clock.now(), 0)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        });
        let claims = id_token
            .claims(&verifier, nonce)
            .map_err(|e| UpstreamError::InvalidIdToken(problem(&e)))?;
        let issuer = match &provider.issuer {
            IssuerRule::Exact => claims.issuer().as_str().to_owned(),
            IssuerRule::TenantTemplate(template) => {
                // The signature is verified: the payload (and its `tid`) is the provider's.
                let tid = payload_claim(&id_token.to_string(), "tid")
                    .filter(|tid| is_tenant_id(tid))
                    .ok_or(UpstreamError::InvalidIdToken(IdTokenProblem::Issuer))?;
                let expected = template.replace(TENANT_PLACEHOLDER, &tid);
                if claims.issuer().as_str() != expected {
                    return Err(UpstreamError::InvalidIdToken(IdTokenProblem::Issuer));
                }
                expected
            }
        };
        let email = claims.email().map(|e| e.as_str().to_owned());
        Ok(UpstreamIdentity {
            issuer,
            subject: claims.subject().as_str().to_owned(),
            email_verified: email.is_some() && claims.email_verified().unwrap_or(false),
            email,
            name: claims.name().and_then(|n| {
                n.get(None)
                    .or_else(|| n.iter().next().map(|(_, v)| v))
                    .map(|v| v.as_str().to_owned())
            }),
        })
    }

    /// The cached provider, refetched when the copy is [`REFRESH_AFTER`] old. If that refetch
    /// fails, the old copy serves for another period (its keys still verify current tokens; a
    /// rotated key leads to [`Self::refetch_after`]).
    async fn provider(&self, http: &reqwest::Client) -> Result<Arc<Provider>, UpstreamError> {
        if let Some(cached) = self.fresh().await {
            return Ok(cached);
        }
        let _one = self.refetching.lock().await;
        if let Some(cached) = self.fresh().await {
            return Ok(cached);
        }
        let stale = self.cache.read().await.clone();
        match self.fetch(http).await {
            Ok(provider) => Ok(self.store(provider).await),
            Err(e) => match stale {
                Some(stale) => {
                    tracing::warn!(
                        connector = %self.kind,
                        error = %e,
                        "refetching discovery and JWKS failed; using the copy fetched before"
                    );
                    *self.cache.write().await = Some(Cached {
                        provider: stale.provider.clone(),
                        refresh_at: self.clock.now() + REFRESH_AFTER,
                    });
                    Ok(stale.provider)
                }
                None => Err(e),
            },
        }
    }

    /// A refetch because `seen` lacked a key; if another task refetched meanwhile, its copy.
    async fn refetch_after(
        &self,
        http: &reqwest::Client,
        seen: &Arc<Provider>,
    ) -> Result<Arc<Provider>, UpstreamError> {
        let _one = self.refetching.lock().await;
        if let Some(current) = self.cache.read().await.as_ref() {
            if !Arc::ptr_eq(&current.provider, seen) {
                return Ok(current.provider.clone());
            }
        }
        let provider = self.fetch(http).await?;
        Ok(self.store(provider).await)
    }

    async fn fresh(&self) -> Option<Arc<Provider>> {
        self.cache
            .read()
            .await
            .as_ref()
            .filter(|c| self.clock.now() < c.refresh_at)
            .map(|c| c.provider.clone())
    }

    async fn store(&self, provider: Provider) -> Arc<Provider> {
        let provider = Arc::new(provider);
        *self.cache.write().await = Some(Cached {
            provider: provider.clone(),
            refresh_at: self.clock.now() + REFRESH_AFTER,
        });
        provider
    }

    /// Fetches and checks the discovery document, then its JWKS.
    async fn fetch(&self, http: &reqwest::Client) -> Result<Provider, UpstreamError> {
        let shown = http::show(&self.discovery);
        let body = http::get_document(http, &self.discovery, "discovery").await?;
        let metadata: CoreProviderMetadata = serde_path_to_json(&body).map_err(|path| {
            UpstreamError::Unavailable(format!(
                "discovery {shown}: not an OpenID provider configuration (at {path})"
            ))
        })?;
        let issuer = issuer_rule(self.kind, &self.discovery, metadata.issuer().as_str())
            .map_err(|why| UpstreamError::Unavailable(format!("discovery {shown}: {why}")))?;
        let algs: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| !alg.uses_shared_secret() && **alg != CoreJwsSigningAlgorithm::None)
            .cloned()
            .collect();
        if algs.is_empty() {
            return Err(UpstreamError::Unavailable(format!(
                "discovery {shown}: no asymmetric ID token signing algorithm"
            )));
        }
        let jwks_url = metadata.jwks_uri().url().clone();
        let body = http::get_document(http, &jwks_url, "JWKS").await?;
        let jwks: CoreJsonWebKeySet = serde_path_to_json(&body).map_err(|path| {
            UpstreamError::Unavailable(format!(
                "JWKS {}: not a JSON Web Key Set (at {path})",
                http::show(&jwks_url)
            ))
        })?;
        if jwks.keys().is_empty() {
            return Err(UpstreamError::Unavailable(format!(
                "JWKS {}: no usable keys",
                http::show(&jwks_url)
            )));
        }
        tracing::info!(connector = %self.kind, discovery = %shown, keys = jwks.keys().len(), "fetched discovery and JWKS");
        Ok(Provider {
            metadata: metadata.set_jwks(jwks),
            issuer,
            algs,
        })
    }

    #[cfg(test)]
    pub(crate) async fn cached_key_count(&self) -> usize {
        let cache = self.cache.read().await;
        cache
            .as_ref()
            .map_or(0, |c| c.provider.metadata.jwks().keys().len())
    }

    #[cfg(test)]
    pub(crate) async fn replace_cached_jwks(&self, jwks: CoreJsonWebKeySet) {
        let mut cache = self.cache.write().await;
        let cached = cache.as_mut().expect("a cached provider");
        let provider = &cached.provider;
        cached.provider = Arc::new(Provider {
            metadata: provider.metadata.clone().set_jwks(jwks),
            issuer: provider.issuer.clone(),
            algs: provider.algs.clone(),
        });
    }
}

/// Deserializes JSON; on failure only the path where it failed (the messages of serde_json
/// quote values, and an answer may hold a secret).
fn serde_path_to_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserialize::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e: serde_json::Error| format!("line {} column {}", e.line(), e.column()))
}

/// How the ID token's `iss` is checked, from the discovery document's issuer.
fn issuer_rule(kind: Kind, discovery: &Url, issuer: &str) -> Result<IssuerRule, String> {
    if kind == Kind::Microsoft {
        let url = Url::parse(issuer).map_err(|_| format!("issuer {issuer:?} is not a URL"))?;
        if url.origin() != discovery.origin() {
            return Err(format!(
                "issuer {issuer} is not on the discovery document's host"
            ));
        }
        return match issuer.matches(TENANT_PLACEHOLDER).count() {
            0 => Ok(IssuerRule::Exact),
            1 => Ok(IssuerRule::TenantTemplate(issuer.to_owned())),
            _ => Err(format!(
                "issuer {issuer} has more than one {TENANT_PLACEHOLDER}"
            )),
        };
    }
    // OpenID Connect Discovery §4: the document lives at the issuer (without its trailing
    // slash) + /.well-known/openid-configuration; §4.3: its issuer must be that issuer.
    let discovery = discovery.as_str();
    let expected = discovery
        .strip_suffix(DISCOVERY_SUFFIX)
        .unwrap_or(discovery);
    let bare = issuer.strip_suffix('/').unwrap_or(issuer);
    if bare == expected {
        Ok(IssuerRule::Exact)
    } else {
        Err(format!(
            "issuer {issuer} does not match the discovery URL (expected {expected})"
        ))
    }
}

/// Tenant ids are GUIDs; anything else in `tid` is not substituted into an issuer.
fn is_tenant_id(tid: &str) -> bool {
    !tid.is_empty()
        && tid.len() <= 64
        && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A string claim of a compact JWT's payload (no verification here: call after verifying).
fn payload_claim(jwt: &str, name: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

/// openidconnect's verdict as one of our reasons.
fn problem(e: &ClaimsVerificationError) -> IdTokenProblem {
    match e {
        ClaimsVerificationError::Expired(_) => IdTokenProblem::Expired,
        ClaimsVerificationError::InvalidAudience(_) => IdTokenProblem::Audience,
        ClaimsVerificationError::InvalidIssuer(_) => IdTokenProblem::Issuer,
        ClaimsVerificationError::InvalidNonce(_) => IdTokenProblem::Nonce,
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => IdTokenProblem::UnknownKey,
        ClaimsVerificationError::SignatureVerification(_) => IdTokenProblem::Signature,
        _ => IdTokenProblem::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_errors_map_to_problems() {
        use ClaimsVerificationError as E;
        use SignatureVerificationError as S;
        let s = String::new;
        assert_eq!(problem(&E::Expired(s())), IdTokenProblem::Expired);
        assert_eq!(problem(&E::InvalidAudience(s())), IdTokenProblem::Audience);
        assert_eq!(problem(&E::InvalidIssuer(s())), IdTokenProblem::Issuer);
        assert_eq!(problem(&E::InvalidNonce(s())), IdTokenProblem::Nonce);
        assert_eq!(
            problem(&E::SignatureVerification(S::NoMatchingKey)),
            IdTokenProblem::UnknownKey
        );
        for sig in [
            S::CryptoError(s()),
            S::DisallowedAlg(s()),
            S::InvalidKey(s()),
            S::NoSignature,
            S::AmbiguousKeyId(s()),
            S::UnsupportedAlg(s()),
        ] {
            assert_eq!(
                problem(&E::SignatureVerification(sig)),
                IdTokenProblem::Signature
            );
        }
        assert_eq!(problem(&E::Unsupported(s())), IdTokenProblem::Other);
        assert_eq!(problem(&E::InvalidSubject(s())), IdTokenProblem::Other);
    }

    #[test]
    fn issuers_follow_the_discovery_url() {
        let google =
            Url::parse("https://accounts.google.com/.well-known/openid-configuration").unwrap();
        assert_eq!(
            issuer_rule(Kind::Google, &google, "https://accounts.google.com"),
            Ok(IssuerRule::Exact)
        );
        assert!(issuer_rule(Kind::Google, &google, "https://evil.example").is_err());
        let docomo =
            Url::parse("https://id.example/daccount/.well-known/openid-configuration").unwrap();
        // A trailing slash on the issuer is allowed (Discovery §4).
        assert_eq!(
            issuer_rule(Kind::DAccount, &docomo, "https://id.example/daccount/"),
            Ok(IssuerRule::Exact)
        );
        assert!(issuer_rule(Kind::DAccount, &docomo, "https://id.example").is_err());

        let common = Url::parse(
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        )
        .unwrap();
        assert_eq!(
            issuer_rule(
                Kind::Microsoft,
                &common,
                "https://login.microsoftonline.com/{tenantid}/v2.0"
            ),
            Ok(IssuerRule::TenantTemplate(
                "https://login.microsoftonline.com/{tenantid}/v2.0".into()
            ))
        );
        assert_eq!(
            issuer_rule(
                Kind::Microsoft,
                &common,
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
            ),
            Ok(IssuerRule::Exact)
        );
        assert!(issuer_rule(
            Kind::Microsoft,
            &common,
            "https://evil.example/{tenantid}/v2.0"
        )
        .is_err());
    }

    #[test]
    fn tenant_ids_and_payload_claims() {
        assert!(is_tenant_id("9188040d-6c67-4c5b-b112-36a304b66dad"));
        assert!(!is_tenant_id(""));
        assert!(!is_tenant_id("a/b"));
        let payload = URL_SAFE_NO_PAD.encode(br#"{"tid":"t-1","n":1}"#);
        let jwt = format!("e30.{payload}.sig");
        assert_eq!(payload_claim(&jwt, "tid").as_deref(), Some("t-1"));
        assert_eq!(payload_claim(&jwt, "n"), None);
        assert_eq!(payload_claim("garbage", "tid"), None);
    }
}
