//! Operator actions: brands, contracts, users, clients. The CLI calls these; so do tests.

use anyhow::{bail, Context};
use sekisho_core::email::Email;
use sekisho_core::model::{
    AccessRoute, Brand, BrandCode, Client, ClientMetadata, Contract, ContractState, LoginMethod,
    Plan, Role, TwoFactorSetting, User,
};
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_crypto::tokens::{hash_token, new_id, random_token};
use sekisho_oidc::Op;
use sekisho_store::StoreError;
use serde::Serialize;

pub async fn add_brand(op: &Op, code: &str, name: &str) -> anyhow::Result<Brand> {
    let code = BrandCode::parse(code)?;
    anyhow::ensure!(!name.trim().is_empty(), "the brand name must not be empty");
    let brand = Brand {
        code,
        name: name.trim().to_owned(),
        mail_from: String::new(),
        theme: Default::default(),
        created_at: op.now(),
    };
    match op.store.insert_brand(&brand).await {
        Err(StoreError::Conflict) => bail!("brand {} already exists", brand.code),
        other => other?,
    }
    Ok(brand)
}

/// What `brand update` may change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct BrandChanges {
    pub name: Option<String>,
    pub mail_from: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
}

pub async fn update_brand(op: &Op, code: &str, c: BrandChanges) -> anyhow::Result<Brand> {
    let mut brand = op
        .store
        .find_brand(code)
        .await?
        .with_context(|| format!("no brand {code}"))?;
    if let Some(name) = c.name {
        anyhow::ensure!(!name.trim().is_empty(), "the brand name must not be empty");
        brand.name = name.trim().to_owned();
    }
    if let Some(from) = c.mail_from {
        let from = from.trim().to_owned();
        anyhow::ensure!(
            from.is_empty() || Email::parse(&from).is_ok(),
            "--mail-from {from:?} is not a mail address"
        );
        brand.mail_from = from;
    }
    if let Some(color) = c.primary_color {
        // Only a plain CSS hex colour: the value goes into the pages' style sheet.
        let ok = color.len() <= 7
            && color.starts_with('#')
            && color[1..].chars().all(|ch| ch.is_ascii_hexdigit())
            && matches!(color.len(), 4 | 7);
        anyhow::ensure!(ok, "--primary-color must be a hex colour such as #c8102e");
        brand.theme.primary_color = color;
    }
    if let Some(logo) = c.logo_url {
        brand.theme.logo_url = if logo.is_empty() {
            None
        } else {
            let url = url::Url::parse(&logo).with_context(|| format!("--logo-url {logo:?}"))?;
            anyhow::ensure!(
                matches!(url.scheme(), "https" | "http"),
                "--logo-url must be http(s)"
            );
            Some(logo)
        };
    }
    op.store.update_brand(&brand).await?;
    op.forget_brand(code);
    Ok(brand)
}

#[derive(Debug, Serialize)]
pub struct CreatedContract {
    pub contract_id: String,
    pub user_id: String,
}

async fn new_user(
    op: &Op,
    contract: &Contract,
    email: &str,
    password: &str,
    role: Role,
    name: &str,
) -> anyhow::Result<User> {
    let email = Email::parse(email).with_context(|| format!("{email:?}"))?;
    anyhow::ensure!(!password.is_empty(), "the password must not be empty");
    Ok(User {
        id: new_id("usr"),
        contract_id: contract.id.clone(),
        brand: contract.brand.clone(),
        email,
        name: name.to_owned(),
        role,
        login_method: LoginMethod::Password,
        password_hash: Some(op.passwords.hash(password).await?),
        failed_logins: 0,
        locked_at: None,
        created_at: op.now(),
    })
}

pub async fn create_contract(
    op: &Op,
    brand: &str,
    name: &str,
    contractor_email: &str,
    contractor_password: &str,
    plan: Plan,
) -> anyhow::Result<CreatedContract> {
    let brand = op
        .store
        .find_brand(brand)
        .await?
        .with_context(|| format!("no brand {brand}"))?;
    let contract = Contract {
        id: new_id("ctr"),
        brand: brand.code,
        name: name.to_owned(),
        plan,
        state: ContractState::Active,
        two_factor: TwoFactorSetting::Enabled,
        access_route: AccessRoute::LineAndInternet,
        created_at: op.now(),
    };
    let contractor = new_user(
        op,
        &contract,
        contractor_email,
        contractor_password,
        Role::Contractor,
        "",
    )
    .await?;
    match op.store.create_contract(&contract, &contractor).await {
        Err(StoreError::Conflict) => bail!(
            "{} is already registered in brand {}",
            contractor.email,
            contract.brand
        ),
        other => other?,
    }
    Ok(CreatedContract {
        contract_id: contract.id,
        user_id: contractor.id,
    })
}

/// A login-method-change link for the user (REQ-USER-4): valid 14 days, used once; the user picks
/// the upstream account to bind on it. (Mailing it from the admin console is issue 6; until then
/// the operator hands the link over.)
pub async fn login_method_change_link(op: &Op, user_id: &str) -> anyhow::Result<String> {
    let user = op
        .store
        .find_user(user_id)
        .await?
        .with_context(|| format!("no user {user_id}"))?;
    let token = random_token();
    let now = op.now();
    op.store
        .issue_ticket(&sekisho_store::TicketRecord {
            token_hash: hash_token(&token),
            purpose: sekisho_core::tickets::TicketPurpose::LoginMethodChange
                .as_str()
                .to_owned(),
            brand: user.brand.to_string(),
            user_id: user.id.clone(),
            payload: "{}".into(),
            created_at: now,
            expires_at: now + sekisho_core::tickets::TICKET_TTL,
            used_at: None,
        })
        .await?;
    Ok(format!(
        "{}/login-method?ticket={token}",
        op.issuer(user.brand.as_str())
    ))
}

pub async fn add_user(
    op: &Op,
    contract_id: &str,
    email: &str,
    password: &str,
    role: Role,
    name: &str,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        role != Role::Contractor,
        "a contract has exactly one contractor, made with the contract"
    );
    let contract = op
        .store
        .find_contract(contract_id)
        .await?
        .with_context(|| format!("no contract {contract_id}"))?;
    let user = new_user(op, &contract, email, password, role, name).await?;
    match op.store.insert_user(&user).await {
        Err(StoreError::Conflict) => bail!(
            "{} is already registered in brand {}",
            user.email,
            contract.brand
        ),
        other => other?,
    }
    Ok(user.id)
}

/// What `client register` takes.
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
    pub scope: Option<String>,
    /// Fixed id and secret (demo data only); normally both are generated.
    pub fixed_credentials: Option<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
}

/// A redirect URI must be absolute, without a fragment, and https unless it points at this machine.
fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(uri)
        .with_context(|| format!("redirect URI {uri:?} is not an absolute URL"))?;
    anyhow::ensure!(
        url.fragment().is_none(),
        "redirect URI {uri:?} must not have a fragment"
    );
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    anyhow::ensure!(
        url.scheme() == "https"
            || (url.scheme() == "http" && local)
            || !matches!(url.scheme(), "http" | "https"),
        "redirect URI {uri:?} must use https (http only for loopback)"
    );
    Ok(())
}

pub async fn register_client(op: &Op, c: NewClient) -> anyhow::Result<RegisteredClient> {
    let brand = op
        .store
        .find_brand(&c.brand)
        .await?
        .with_context(|| format!("no brand {}", c.brand))?;
    for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
        check_redirect_uri(uri)?;
    }
    let method = match (c.public, c.auth_method) {
        (true, None | Some(TokenEndpointAuthMethod::None)) => TokenEndpointAuthMethod::None,
        (true, Some(m)) => bail!("a public client cannot use {m}"),
        (false, Some(m)) => m,
        (false, None) if c.jwks.is_some() => TokenEndpointAuthMethod::PrivateKeyJwt,
        (false, None) => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let mut grants = if c.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        c.grant_types.clone()
    };
    grants.dedup();
    if grants.contains(&GrantType::AuthorizationCode) {
        anyhow::ensure!(
            !c.redirect_uris.is_empty(),
            "the authorization code flow needs at least one --redirect-uri"
        );
    }
    if method == TokenEndpointAuthMethod::None {
        anyhow::ensure!(
            !grants.contains(&GrantType::ClientCredentials),
            "a public client cannot use client_credentials"
        );
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt {
        anyhow::ensure!(
            c.jwks.is_some(),
            "private_key_jwt needs the client's public keys (--jwks-file)"
        );
    }
    let uses_secret = matches!(
        method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    );
    let (client_id, secret) = match c.fixed_credentials {
        Some((id, secret)) => (id, uses_secret.then_some(secret)),
        None => (new_id("cli"), uses_secret.then(random_token)),
    };
    let client = Client {
        client_id: client_id.clone(),
        brand: brand.code,
        secret_hash: secret.as_deref().map(hash_token),
        metadata: ClientMetadata {
            client_name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: grants,
            token_endpoint_auth_method: method,
            id_token_signed_response_alg: c.id_token_alg,
            jwks: c.jwks,
            scope: c.scope,
        },
        created_at: op.now(),
    };
    match op.store.insert_client(&client).await {
        Err(StoreError::Conflict) => bail!("client {client_id} already exists"),
        other => other?,
    }
    Ok(RegisteredClient {
        client_id,
        client_secret: secret,
        token_endpoint_auth_method: method,
    })
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
            scope: None,
            fixed_credentials: None,
        }
    }
}
