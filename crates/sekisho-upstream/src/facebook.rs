//! Facebook: OAuth 2.0 (the `oauth2` crate) for the code, then Graph `/me` for who it is.
//! There is no ID token: the identity is the Graph `id` (app-scoped) under the configured
//! issuer.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse as _, TokenUrl,
};
use reqwest::StatusCode;
use url::Url;

use crate::settings::Valid;
use crate::{graph_error, http, redirect_url, token_error, UpstreamError, UpstreamIdentity};

pub(crate) struct Facebook {
    client_id: ClientId,
    client_secret: ClientSecret,
    authorization: AuthUrl,
    token: TokenUrl,
    /// `{graph_url}/me?fields=id,name,email`.
    me: Url,
    issuer: String,
    scopes: Vec<Scope>,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl Facebook {
    pub(crate) fn new(valid: &Valid) -> Result<Self, UpstreamError> {
        let s = &valid.settings;
        let bad =
            |field: &str| UpstreamError::Config(format!("upstream {:?}: bad {field}", s.name));
        let mut me = Url::parse(&format!("{}/me", s.graph_url.trim_end_matches('/')))
            .map_err(|_| bad("graph_url"))?;
        me.query_pairs_mut().append_pair("fields", "id,name,email");
        Ok(Self {
            client_id: ClientId::new(s.client_id.clone()),
            client_secret: ClientSecret::new(s.client_secret.expose().clone()),
            authorization: AuthUrl::new(s.authorization_url.clone())
                .map_err(|_| bad("authorization_url"))?,
            token: TokenUrl::new(s.token_url.clone()).map_err(|_| bad("token_url"))?,
            me,
            issuer: s.issuer.clone(),
            scopes: s.scopes.iter().map(|x| Scope::new(x.clone())).collect(),
        })
    }

    fn client(&self, redirect_uri: &str) -> Result<Client, UpstreamError> {
        Ok(BasicClient::new(self.client_id.clone())
            .set_client_secret(self.client_secret.clone())
            .set_auth_uri(self.authorization.clone())
            .set_token_uri(self.token.clone())
            .set_redirect_uri(redirect_url(redirect_uri)?)
            // Facebook documents client_id and client_secret as parameters, not HTTP Basic.
            .set_auth_type(AuthType::RequestBody))
    }

    /// The login dialog's URL (without the request's parameters).
    pub(crate) fn authorization_endpoint(&self) -> Url {
        self.authorization.url().clone()
    }

    /// The plain login dialog (no `auth_type=reauthenticate`), with PKCE `S256`.
    pub(crate) fn login_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce_verifier: &str,
    ) -> Result<Url, UpstreamError> {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.to_owned(),
        ));
        let state = CsrfToken::new(state.to_owned());
        let (url, _) = self
            .client(redirect_uri)?
            .authorize_url(move || state)
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        Ok(url)
    }

    pub(crate) async fn handle_callback(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let response = self
            .client(redirect_uri)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|e| token_error(&http::show(self.token.url()), e))?;
        self.me(http, response.access_token().secret()).await
    }

    /// `GET {graph_url}/me?fields=id,name,email` with the token in the `Authorization` header
    /// (never in the URL, which ends up in logs).
    async fn me(
        &self,
        http: &reqwest::Client,
        access_token: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let what = format!("Graph {}", http::show(&self.me));
        let response = http
            .get(self.me.clone())
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("{what}: {}", http::describe(&e))))?;
        let status = response.status();
        let body = http::body(response, &what).await?;
        if matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            let why = graph_error(&body).unwrap_or_else(|| status.to_string());
            return Err(UpstreamError::Profile(format!(
                "{what} refused the token ({why})"
            )));
        }
        if status != StatusCode::OK {
            return Err(UpstreamError::Unavailable(format!(
                "{what}: answered {status}"
            )));
        }
        let me: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Unavailable(format!("{what}: not JSON")))?;
        let subject = match me.get("id") {
            Some(serde_json::Value::String(id)) if !id.is_empty() => id.clone(),
            Some(serde_json::Value::Number(id)) => id.to_string(),
            _ => return Err(UpstreamError::Profile(format!("{what}: no id"))),
        };
        let text = |key: &str| {
            me.get(key)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let email = text("email");
        Ok(UpstreamIdentity {
            issuer: self.issuer.clone(),
            subject,
            // Graph returns only a confirmed address (none when the account has only a phone).
            email_verified: email.is_some(),
            email,
            name: text("name"),
        })
    }
}
