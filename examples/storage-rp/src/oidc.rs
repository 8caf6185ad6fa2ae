//! Everything that talks OpenID Connect: discovery, the authorization request, the code exchange,
//! ID-token checks, userinfo, refresh and RP-initiated logout. All of it goes through the
//! `openidconnect` crate; this module only adds what the crate leaves to the RP (remembering the
//! state, nonce and PKCE verifier, the RFC 9207 `iss` check, key rotation, the refresh rules of
//! OpenID Connect Core §12.2).

use crate::config::Config;
use anyhow::{anyhow, bail, Context};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthType,
    AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, NonceVerifier, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, SubjectIdentifier, TokenResponse, UserInfoClaims, UserInfoError,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use url::Url;

// ---------------------------------------------------------------------------------------------
// Types. The `Core*` aliases cover plain OpenID Connect Core; two things Sekisho sends are outside
// it, so the aliases are rebuilt with our own extension structs in their place.
// ---------------------------------------------------------------------------------------------

/// Discovery fields beyond OpenID Connect Discovery 1.0 that this RP uses. `CoreProviderMetadata`
/// carries `EmptyAdditionalProviderMetadata`, which drops them.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SekishoProviderExtras {
    /// OpenID Connect RP-Initiated Logout 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 9207: when true, every authorization response must carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for SekishoProviderExtras {}

/// `sid` (OpenID Connect Front-/Back-Channel Logout) is not among the claims `IdTokenClaims` knows;
/// it has to be declared as an additional claim to survive deserialization.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SekishoIdTokenClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}
impl AdditionalClaims for SekishoIdTokenClaims {}

/// Userinfo is shown as the OP sent it, so every non-standard member is kept in a map.
/// (The crate filters the standard claims out before this is filled, so nothing is doubled.)
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub rest: BTreeMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type SekishoProviderMetadata = ProviderMetadata<
    SekishoProviderExtras,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub type RpIdToken = openidconnect::IdToken<
    SekishoIdTokenClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type RpIdTokenClaims = openidconnect::IdTokenClaims<SekishoIdTokenClaims, CoreGenderClaim>;

type RpTokenResponse = StandardTokenResponse<
    IdTokenFields<
        SekishoIdTokenClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// The client. The last two parameters say whether the token and userinfo endpoints are known;
/// after discovery they are `EndpointMaybeSet`, and we turn them into `EndpointSet` once we have
/// checked they exist, so the request builders below cannot fail for a missing URL.
type RpClient<HasTokenUrl = EndpointSet, HasUserInfoUrl = EndpointSet> = Client<
    SekishoIdTokenClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RpTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
    HasUserInfoUrl,
>;

/// The ID-token signature algorithms this RP trusts, decided here rather than taken from the OP's
/// discovery document. ES256 is Sekisho's default; RS256 and EdDSA are what it can be configured
/// to use per client. Never `none`, never HMAC.
const ALLOWED_ID_TOKEN_ALGS: [CoreJwsSigningAlgorithm; 3] = [
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

// ---------------------------------------------------------------------------------------------
// What the rest of the app keeps between requests.
// ---------------------------------------------------------------------------------------------

/// Everything needed to finish one authorization request, kept server-side until the callback.
pub struct PendingLogin {
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub pkce_verifier: PkceCodeVerifier,
    pub started: Instant,
}

/// The ID-token claims the home page shows, already verified, as display strings.
#[derive(Clone, Debug)]
pub struct ClaimsView {
    pub alg: String,
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub email: Option<String>,
    pub auth_time: Option<String>,
    pub auth_time_unix: Option<i64>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub sid: Option<String>,
    pub iat: String,
    pub exp: String,
    pub at_hash_checked: bool,
}

/// A signed-in browser session.
pub struct SignedIn {
    pub id_token: RpIdToken,
    /// The nonce of the original authentication; a refreshed ID token may repeat it (Core §12.2).
    pub nonce: Nonce,
    pub claims: ClaimsView,
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: Option<SystemTime>,
    pub scopes: Option<String>,
    /// Pretty JSON of the userinfo response, or why there is none.
    pub userinfo: Result<String, String>,
    pub refreshed_times: u32,
}

/// The result of a refresh, applied to the session by the caller (no lock is held while we talk
/// to the OP).
pub struct Refreshed {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: Option<SystemTime>,
    pub scopes: Option<String>,
    pub id_token: Option<(RpIdToken, ClaimsView)>,
    pub userinfo: Result<String, String>,
}

// ---------------------------------------------------------------------------------------------
// The discovered provider, cached.
// ---------------------------------------------------------------------------------------------

/// One discovery result: the configured client plus the extra metadata we use.
pub struct Provider {
    client: RpClient,
    issuer: IssuerUrl,
    extras: SekishoProviderExtras,
}

pub struct Oidc {
    http: reqwest::Client,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_uri: RedirectUrl,
    post_logout_redirect_uri: PostLogoutRedirectUrl,
    /// Discovery is done lazily and cached, so the RP can start before the OP is up; the cache is
    /// replaced when an ID token names a key we don't have (the OP rotated its keys).
    current: RwLock<Option<Arc<Provider>>>,
}

impl Oidc {
    pub fn new(cfg: &Config) -> anyhow::Result<Self> {
        // openidconnect's docs: the HTTP client must not follow redirects, or a hostile
        // discovery document / OP could point our server-side requests anywhere (SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .context("building the HTTP client")?;
        Ok(Oidc {
            http,
            issuer: IssuerUrl::new(cfg.issuer.clone()).context("SEKISHO_ISSUER")?,
            client_id: ClientId::new(cfg.client_id.clone()),
            client_secret: cfg.client_secret.clone(),
            redirect_uri: RedirectUrl::new(cfg.redirect_uri.clone()).context("redirect URI")?,
            post_logout_redirect_uri: PostLogoutRedirectUrl::new(
                cfg.post_logout_redirect_uri.clone(),
            )
            .context("post-logout redirect URI")?,
            current: RwLock::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The cached provider, discovering it first if needed.
    pub async fn provider(&self) -> anyhow::Result<Arc<Provider>> {
        // A poisoned lock only means another request panicked mid-write of an `Option<Arc>`;
        // the value itself is still whole, so keep using it.
        let cached = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match cached {
            Some(p) => Ok(p),
            None => self.rediscover().await,
        }
    }

    /// Fetch discovery and the JWKS again and replace the cache.
    pub async fn rediscover(&self) -> anyhow::Result<Arc<Provider>> {
        let provider = Arc::new(self.discover().await?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(provider.clone());
        Ok(provider)
    }

    async fn discover(&self) -> anyhow::Result<Provider> {
        // `discover_async` fetches `{issuer}/.well-known/openid-configuration`, checks that its
        // `issuer` is exactly ours, then fetches `jwks_uri`.
        let metadata = SekishoProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Response(status, body, msg) => {
                    anyhow!("{msg} (HTTP {status}): {}", snippet(&body))
                }
                other => anyhow::Error::new(other),
            })
            .with_context(|| {
                format!(
                    "OP のディスカバリに失敗しました / discovery of {} failed",
                    self.issuer.as_str()
                )
            })?;

        let token_url = metadata
            .token_endpoint()
            .cloned()
            .ok_or_else(|| anyhow!("discovery has no token_endpoint"))?;
        let userinfo_url = metadata
            .userinfo_endpoint()
            .cloned()
            .ok_or_else(|| anyhow!("discovery has no userinfo_endpoint"))?;
        let extras = metadata.additional_metadata().clone();
        tracing::info!(
            issuer = metadata.issuer().as_str(),
            id_token_algs = ?metadata.id_token_signing_alg_values_supported(),
            end_session = ?extras.end_session_endpoint.as_ref().map(|u| u.as_str()),
            keys = metadata.jwks().keys().len(),
            "discovered the OP"
        );

        let client = RpClient::<EndpointMaybeSet, EndpointMaybeSet>::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        // client_secret_basic (the crate's default too; said out loud because the OP's demo
        // client is registered with it).
        .set_auth_type(AuthType::BasicAuth)
        .set_redirect_uri(self.redirect_uri.clone())
        .set_token_uri(token_url)
        .set_user_info_url(userinfo_url);

        Ok(Provider {
            client,
            issuer: self.issuer.clone(),
            extras,
        })
    }

    /// Step 1: the URL to send the browser to, and what to remember until it comes back.
    #[allow(
        clippy::disallowed_methods,
        reason = "the example RP is an independent program on the wall clock, not Sekisho code"
    )]
    pub async fn start_login(&self) -> anyhow::Result<(Url, PendingLogin)> {
        let provider = self.provider().await?;
        let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        // `openid` is added by the crate itself.
        let (url, state, nonce) = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_string()))
            .add_scope(Scope::new("profile".to_string()))
            .add_scope(Scope::new("offline_access".to_string()))
            .set_pkce_challenge(pkce_challenge)
            .url();
        Ok((
            url,
            PendingLogin {
                state,
                nonce,
                pkce_verifier,
                started: Instant::now(),
            },
        ))
    }

    /// RFC 9207 mix-up defence: an `iss` in the authorization response must be our issuer, and
    /// when the OP advertises the parameter its absence is an error too.
    pub async fn check_response_iss(&self, iss: Option<&str>) -> anyhow::Result<()> {
        let provider = self.provider().await?;
        match iss {
            Some(iss) if iss == provider.issuer.as_str() => Ok(()),
            Some(iss) => bail!(
                "認可応答の iss が違います / authorization response iss {iss:?} is not {:?}",
                provider.issuer.as_str()
            ),
            None if provider
                .extras
                .authorization_response_iss_parameter_supported =>
            {
                bail!(
                    "認可応答に iss がありません / authorization response lacks iss, \
                 although discovery says authorization_response_iss_parameter_supported"
                )
            }
            None => Ok(()),
        }
    }

    /// Step 2: code → tokens, then every check the RP owes before trusting them.
    #[allow(
        clippy::disallowed_methods,
        reason = "the example RP is an independent program on the wall clock, not Sekisho code"
    )]
    pub async fn finish_login(
        &self,
        code: String,
        pending: PendingLogin,
    ) -> anyhow::Result<SignedIn> {
        let provider = self.provider().await?;
        let PendingLogin {
            nonce,
            pkce_verifier,
            ..
        } = pending;

        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(pkce_verifier)
            .request_async(&self.http)
            .await
            .map_err(token_error)
            .context("トークン交換に失敗しました / code exchange at the token endpoint failed")?;

        let id_token = response
            .id_token()
            .cloned()
            .ok_or_else(|| anyhow!("トークン応答に ID トークンがありません / no id_token"))?;
        let access_token = response.access_token().clone();

        // The nonce must be the one we sent (the crate compares it for us).
        let claims = self
            .verify_id_token(provider, &id_token, &nonce, Some(&access_token))
            .await
            .context("ID トークンの検証に失敗しました / ID token rejected")?;

        let userinfo = self.userinfo(&access_token, &claims.sub).await;
        Ok(SignedIn {
            id_token,
            nonce,
            claims,
            access_token,
            refresh_token: response.refresh_token().cloned(),
            expires_at: response.expires_in().map(|d| SystemTime::now() + d),
            scopes: scopes_of(&response),
            userinfo,
            refreshed_times: 0,
        })
    }

    /// `POST /refresh`: trade the refresh token for new tokens. A new ID token, if the OP sends
    /// one, must describe the same authentication (Core §12.2): same iss, sub and auth_time; its
    /// nonce, if any, the original one.
    #[allow(
        clippy::disallowed_methods,
        reason = "the example RP is an independent program on the wall clock, not Sekisho code"
    )]
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        original: &ClaimsView,
        original_nonce: &Nonce,
    ) -> anyhow::Result<Refreshed> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_refresh_token(refresh_token)
            .request_async(&self.http)
            .await
            .map_err(token_error)
            .context("トークンの更新に失敗しました / refresh_token grant failed")?;
        let access_token = response.access_token().clone();

        let id_token = match response.id_token() {
            None => None,
            Some(id_token) => {
                let nonce_check = |got: Option<&Nonce>| match got {
                    None => Ok(()),
                    Some(n) if n.secret() == original_nonce.secret() => Ok(()),
                    Some(_) => Err("nonce differs from the original ID token's".to_string()),
                };
                let claims = self
                    .verify_id_token(provider, id_token, nonce_check, Some(&access_token))
                    .await
                    .context(
                        "更新された ID トークンを検証できません / refreshed ID token rejected",
                    )?;
                if claims.sub != original.sub || claims.iss != original.iss {
                    bail!("更新された ID トークンの iss/sub が元と違います / refreshed ID token names someone else");
                }
                if claims.auth_time_unix.is_some()
                    && claims.auth_time_unix != original.auth_time_unix
                {
                    bail!("更新された ID トークンの auth_time が元と違います / refreshed ID token changed auth_time");
                }
                Some((id_token.clone(), claims))
            }
        };

        let userinfo = self.userinfo(&access_token, &original.sub).await;
        Ok(Refreshed {
            refresh_token: response.refresh_token().cloned(),
            expires_at: response.expires_in().map(|d| SystemTime::now() + d),
            scopes: scopes_of(&response),
            access_token,
            id_token,
            userinfo,
        })
    }

    /// Verify an ID token's signature and claims. If it names a key we don't know, fetch the
    /// JWKS again (the OP may have rotated keys since discovery) and try once more.
    async fn verify_id_token<N>(
        &self,
        provider: Arc<Provider>,
        id_token: &RpIdToken,
        nonce: N,
        access_token: Option<&AccessToken>,
    ) -> anyhow::Result<ClaimsView>
    where
        N: NonceVerifier + Clone,
    {
        match verify_with(&provider, id_token, nonce.clone(), access_token) {
            Err(VerifyError::UnknownKey) => {
                tracing::info!("ID token names an unknown key; fetching the JWKS again");
                let provider = self.rediscover().await?;
                match verify_with(&provider, id_token, nonce, access_token) {
                    Ok(v) => Ok(v),
                    Err(VerifyError::UnknownKey) => Err(anyhow!(
                        "ID トークンの署名鍵が JWKS にありません / no key in the JWKS matches the ID token"
                    )),
                    Err(VerifyError::Other(e)) => Err(e),
                }
            }
            Err(VerifyError::Other(e)) => Err(e),
            Ok(v) => Ok(v),
        }
    }

    /// The userinfo response as pretty JSON. Its `sub` must equal the ID token's (Core §5.3.2);
    /// the crate checks that when given the expected subject. A failure here doesn't undo the
    /// login: it is shown on the page instead.
    async fn userinfo(&self, access_token: &AccessToken, sub: &str) -> Result<String, String> {
        let result: anyhow::Result<String> = async {
            let provider = self.provider().await?;
            let claims: UserInfoClaims<OtherClaims, CoreGenderClaim> = provider
                .client
                .user_info(
                    access_token.clone(),
                    Some(SubjectIdentifier::new(sub.to_string())),
                )
                .request_async(&self.http)
                .await
                .map_err(|e| match e {
                    UserInfoError::Response(status, body, msg) => {
                        anyhow!("{msg} (HTTP {status}): {}", snippet(&body))
                    }
                    other => anyhow::Error::new(other),
                })?;
            Ok(serde_json::to_string_pretty(&claims)?)
        }
        .await;
        result.map_err(|e| format!("userinfo に失敗しました / userinfo failed: {e:#}"))
    }

    /// The end-session URL for RP-initiated logout, with a fresh `state` to check on return;
    /// `None` when the OP advertises no `end_session_endpoint`.
    pub async fn logout_url(
        &self,
        id_token: &RpIdToken,
    ) -> anyhow::Result<Option<(Url, CsrfToken)>> {
        let provider = self.provider().await?;
        let Some(endpoint) = provider.extras.end_session_endpoint.clone() else {
            return Ok(None);
        };
        let state = CsrfToken::new_random();
        let url = LogoutRequest::from(endpoint)
            .set_id_token_hint(id_token)
            .set_post_logout_redirect_uri(self.post_logout_redirect_uri.clone())
            .set_state(state.clone())
            .http_get_url();
        Ok(Some((url, state)))
    }
}

enum VerifyError {
    /// The token's `kid`/alg matches no key we have: worth re-fetching the JWKS.
    UnknownKey,
    Other(anyhow::Error),
}

fn verify_with<N: NonceVerifier>(
    provider: &Provider,
    id_token: &RpIdToken,
    nonce: N,
    access_token: Option<&AccessToken>,
) -> Result<ClaimsView, VerifyError> {
    // `id_token_verifier()` checks iss, aud (our client_id, and no untrusted extra audiences),
    // exp, the signature against the discovered JWKS, and restricts the algorithms to what
    // discovery advertised. We narrow that to our own allow-list: the RP, not the OP, decides
    // which algorithms it trusts.
    let verifier = provider
        .client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ID_TOKEN_ALGS);

    let claims: &RpIdTokenClaims = id_token.claims(&verifier, nonce).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => VerifyError::UnknownKey,
        other => VerifyError::Other(anyhow::Error::new(other)),
    })?;

    let alg = id_token
        .signing_alg()
        .map_err(|e| VerifyError::Other(anyhow::Error::new(e)))?;

    // at_hash (Core §3.1.3.6): optional in the code flow, but when present it must bind the ID
    // token to the access token we got with it. The hash uses the ID token's own alg and key
    // (for EdDSA the crate picks SHA-512 from the key's curve).
    let mut at_hash_checked = false;
    if let (Some(expected), Some(access_token)) = (claims.access_token_hash(), access_token) {
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| VerifyError::Other(anyhow::Error::new(e)))?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|e| VerifyError::Other(anyhow::Error::new(e)))?;
        if actual != *expected {
            return Err(VerifyError::Other(anyhow!(
                "at_hash がアクセストークンと一致しません / at_hash does not match the access token"
            )));
        }
        at_hash_checked = true;
    }

    Ok(ClaimsView {
        alg: serde_json::to_value(alg)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{alg:?}")),
        iss: claims.issuer().as_str().to_string(),
        sub: claims.subject().as_str().to_string(),
        aud: claims.audiences().iter().map(|a| a.to_string()).collect(),
        email: claims.email().map(|e| e.as_str().to_string()),
        auth_time: claims.auth_time().map(|t| show_time(t.timestamp())),
        auth_time_unix: claims.auth_time().map(|t| t.timestamp()),
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
        acr: claims.auth_context_ref().map(|a| a.to_string()),
        sid: claims.additional_claims().sid.clone(),
        iat: show_time(claims.issue_time().timestamp()),
        exp: show_time(claims.expiration().timestamp()),
        at_hash_checked,
    })
}

fn scopes_of(response: &RpTokenResponse) -> Option<String> {
    response
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
}

/// Token-endpoint errors: the crate's `Display` hides a body it couldn't parse, which is exactly
/// what one wants to see when talking to an OP under construction.
fn token_error<RE>(
    e: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> anyhow::Error
where
    RE: std::error::Error + Send + Sync + 'static,
{
    match e {
        RequestTokenError::Parse(err, body) => {
            anyhow!("unparsable token response ({err}): {}", snippet(&body))
        }
        other => anyhow::Error::new(other),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(400).collect();
    if text.chars().count() > 400 {
        s.push('…');
    }
    s
}

/// Unix seconds → `1970-01-01 00:00:00 UTC (0)`, without pulling in a date crate.
pub fn show_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC ({unix})",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Seconds from now until `t` (negative once past).
#[allow(
    clippy::disallowed_methods,
    reason = "the example RP is an independent program on the wall clock, not Sekisho code"
)]
pub fn seconds_left(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

pub fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::show_time;

    #[test]
    fn show_time_is_civil_utc() {
        assert_eq!(show_time(0), "1970-01-01 00:00:00 UTC (0)");
        assert_eq!(
            show_time(1_709_210_096),
            "2024-02-29 12:34:56 UTC (1709210096)"
        );
    }
}
