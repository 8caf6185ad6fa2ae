//! What the operator does to brands and clients, without HTTP: the CLI (`sekisho::admin`) and the
//! admin REST API (`sekisho-web`, scope `sekisho:operator`, issue 6 item 6) both call these, so a
//! brand or client made either way passes the same checks. The client metadata rules themselves
//! are [`crate::registration`]'s, shared with RFC 7591 dynamic registration.
//!
//! Errors are typed so that the API can answer 400, 404 or 409 and the CLI can print the message.

use crate::error::OAuthError;
use crate::registration::{self, ClientSpec, MetadataError};
use crate::Op;
use sekisho_core::model::{Brand, BrandCode, Client, ClientRequirements, SubjectType};
use sekisho_core::name::check_name;
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::secret::{serialize_exposed_option, Secret};
use sekisho_core::service_url::ServiceUrl;
use sekisho_crypto::tokens::hash_token;
use sekisho_store::StoreError;
use serde::Serialize;

/// Why an operator action was refused.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Bad input (a brand code, an empty or overlong name, a contract of another brand).
    #[error("{0}")]
    Invalid(String),
    /// Client metadata the registration rules refuse (RFC 7591 error codes).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// No such brand, client or contract.
    #[error("{0}")]
    NotFound(String),
    /// The brand code or client id is taken.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] OAuthError),
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        OperatorError::Internal(e.into())
    }
}

type Result<T> = std::result::Result<T, OperatorError>;

pub async fn add_brand(op: &Op, code: &str, name: &str) -> Result<Brand> {
    add_brand_with_service(op, code, name, None).await
}

/// [`add_brand`] with the brand's service URL (ISSUE-16), already parsed where the operator
/// gave it.
pub async fn add_brand_with_service(
    op: &Op,
    code: &str,
    name: &str,
    service_url: Option<ServiceUrl>,
) -> Result<Brand> {
    let code = BrandCode::parse(code).map_err(|e| OperatorError::Invalid(e.to_string()))?;
    let name =
        check_name(name, true).map_err(|e| OperatorError::Invalid(format!("brand name: {e}")))?;
    let brand = Brand {
        code,
        name: name.to_owned(),
        mail_from: String::new(),
        theme: Default::default(),
        service_url,
        created_at: op.now(),
    };
    match op.store.insert_brand(&brand).await {
        Err(StoreError::Conflict) => {
            return Err(OperatorError::Conflict(format!(
                "brand {} already exists",
                brand.code
            )))
        }
        other => other?,
    }
    Ok(brand)
}

/// What `client register` (and the API's client creation) takes.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub brand: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `None` picks `client_secret_basic` (or `none` for public clients).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub id_token_alg: SigningAlg,
    pub jwks: Option<serde_json::Value>,
    /// Or where they are fetched (issue 18).
    pub jwks_uri: Option<String>,
    pub scope: Option<String>,
    /// The contract whose users the client manages with scope `sekisho:admin` (a contract of the
    /// same brand); stored outside the metadata (`Store::client_contract`).
    pub contract_id: Option<String>,
    /// Fixed id and secret (demo data only); normally both are generated.
    pub fixed_credentials: Option<(String, Secret<String>)>,
    /// PAR and DPoP required of the client (issue 18).
    pub requires: ClientRequirements,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Public (default) or pairwise subjects.
    pub subject_type: SubjectType,
}

impl NewClient {
    /// A confidential code-flow client with defaults, for `brand`.
    pub fn confidential(brand: &str, name: &str, redirect_uri: &str) -> Self {
        Self {
            brand: brand.into(),
            name: name.into(),
            redirect_uris: vec![redirect_uri.into()],
            post_logout_redirect_uris: Vec::new(),
            auth_method: None,
            public: false,
            grant_types: Vec::new(),
            id_token_alg: SigningAlg::Es256,
            jwks: None,
            jwks_uri: None,
            scope: None,
            contract_id: None,
            fixed_credentials: None,
            requires: ClientRequirements::default(),
            backchannel_logout_uri: None,
            subject_type: SubjectType::Public,
        }
    }
}

/// A registered client's credentials: the secret appears here once and is stored only hashed.
/// `Debug` masks it; serializing (the CLI's output) shows it, as is the point.
#[derive(Debug, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(
        serialize_with = "serialize_exposed_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<Secret<String>>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
}

pub async fn register_client(op: &Op, c: NewClient) -> Result<RegisteredClient> {
    let brand = op
        .store
        .find_brand(&c.brand)
        .await?
        .ok_or_else(|| OperatorError::NotFound(format!("no brand {}", c.brand)))?;
    if let Some(id) = &c.contract_id {
        // Only a contract of the client's own brand: a brand's client never manages another's users.
        let same_brand = op
            .store
            .find_contract(id)
            .await?
            .is_some_and(|k| k.brand == brand.code);
        if !same_brand {
            return Err(OperatorError::Invalid(format!(
                "no contract {id} in brand {}",
                brand.code
            )));
        }
    }
    let metadata = registration::client_metadata(ClientSpec {
        // Operators give a pairwise client one redirect URI (its host is the sector).
        sector_identifier_uri: None,
        name: c.name,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        auth_method: c.auth_method,
        public: c.public,
        grant_types: c.grant_types,
        id_token_alg: c.id_token_alg,
        jwks: c.jwks,
        jwks_uri: c.jwks_uri,
        scope: c.scope,
        requires: c.requires,
        backchannel_logout_uri: c.backchannel_logout_uri,
        subject_type: c.subject_type,
    })?;
    let method = metadata.token_endpoint_auth_method;
    let (client_id, secret) = registration::issue_credentials(method, c.fixed_credentials);
    let client = Client {
        client_id: client_id.clone(),
        brand: brand.code,
        secret_hash: secret.as_ref().map(|s| hash_token(s.expose())),
        metadata,
        created_at: op.now(),
    };
    match op
        .store
        .insert_client_for(&client, c.contract_id.as_deref())
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(OperatorError::Conflict(format!(
                "client {client_id} already exists"
            )))
        }
        other => other?,
    }
    // Its redirect URIs' origins are admitted by CORS from now on (issue 18).
    op.forget_client(&client_id);
    Ok(RegisteredClient {
        client_id,
        client_secret: secret,
        token_endpoint_auth_method: method,
    })
}

/// Deletes a client of `brand` (its grants are revoked with it) and drops it from this process's
/// cache, so its tokens stop at once here.
pub async fn delete_client(op: &Op, brand: &str, client_id: &str) -> Result<()> {
    let not_found = || OperatorError::NotFound(format!("no client {client_id} in brand {brand}"));
    let found = op.store.find_client(client_id).await?;
    if found.is_none_or(|c| c.brand.as_str() != brand) {
        return Err(not_found());
    }
    if !op.store.delete_client(client_id, op.now()).await? {
        return Err(not_found());
    }
    op.forget_client(client_id);
    Ok(())
}

/// Registers a client of `brand` as a resource server, or withdraws it (ISSUE-15: introspection
/// scope). A resource server may introspect every token of its brand; any other client only its
/// own. An operator decision, kept outside the RFC 7591 metadata a client writes itself.
pub async fn set_resource_server(op: &Op, brand: &str, client_id: &str, on: bool) -> Result<()> {
    let not_found = || OperatorError::NotFound(format!("no client {client_id} in brand {brand}"));
    let found = op.store.find_client(client_id).await?;
    if found.is_none_or(|c| c.brand.as_str() != brand) {
        return Err(not_found());
    }
    if !op.store.set_client_resource_server(client_id, on).await? {
        return Err(not_found());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-OP-6 (issue 12): the client secret shown once at registration never reaches `Debug`
    // output, so no log can hold it; the answer itself (CLI output, API body) still carries it.
    #[test]
    fn debug_hides_the_client_secret() {
        let registered = RegisteredClient {
            client_id: "cli_1".into(),
            client_secret: Some("s3cret-value".into()),
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        };
        let shown = format!("{registered:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        let json = serde_json::to_value(&registered).unwrap();
        assert_eq!(json["client_secret"], "s3cret-value");

        let mut new = NewClient::confidential("VX5", "RP", "https://rp.example/cb");
        new.fixed_credentials = Some(("cli_1".into(), "s3cret-value".into()));
        let shown = format!("{new:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
    }
}
