//! Operator actions: brands, contracts, users, clients. The CLI calls these; so do tests.

use anyhow::{bail, Context};
use sekisho_app::directory::{self, DirectoryError};
use sekisho_app::{tickets, App};
use sekisho_core::email::Email;
use sekisho_core::model::{
    AccessRoute, Brand, Contract, ContractState, LoginMethod, Plan, Role, TwoFactorSetting, User,
};
use sekisho_core::oauth::Lang;
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::new_id;
use sekisho_oidc::{operator, Op};
use sekisho_store::StoreError;
use serde::Serialize;

/// Adds a brand (`sekisho_oidc::operator::add_brand`, shared with the admin API).
pub async fn add_brand(op: &Op, code: &str, name: &str) -> anyhow::Result<Brand> {
    Ok(operator::add_brand(op, code, name).await?)
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
        status: sekisho_core::model::UserStatus::Active,
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

/// A login-method-change link for the user (REQ-USER-4), for an operator to hand over: valid 14
/// days, used once; the user picks the new method on it. The same rules as the admin console's
/// mail (`sekisho_app::directory`): only a registered, active user, and not while an email change
/// is pending (REQ-USER-7).
pub async fn login_method_change_link(app: &App, user_id: &str) -> anyhow::Result<String> {
    let user = app
        .op
        .store
        .find_user(user_id)
        .await?
        .with_context(|| format!("no user {user_id}"))?;
    let token = directory::login_method_change_ticket(app, &user)
        .await
        .map_err(directory_error)?;
    Ok(tickets::link(
        app,
        user.brand.as_str(),
        TicketPurpose::LoginMethodChange,
        &token,
    ))
}

/// Mails the email-change link 【Brand】メールアドレス変更登録 to `new_email` for the user
/// (REQ-USER-6), by the admin console's rules: an active user, an address not used in the brand,
/// and not while a login-method change is pending (REQ-USER-7). The mail waits in the outbox
/// until the server's worker sends it.
pub async fn request_email_change(
    app: &App,
    user_id: &str,
    new_email: &str,
    lang: Lang,
) -> anyhow::Result<()> {
    let user = app
        .op
        .store
        .find_user(user_id)
        .await?
        .with_context(|| format!("no user {user_id}"))?;
    let brand = app
        .op
        .store
        .find_brand(user.brand.as_str())
        .await?
        .with_context(|| format!("no brand {}", user.brand))?;
    directory::request_email_change(app, &brand, &user, new_email, lang)
        .await
        .map_err(directory_error)
}

/// A directory refusal as the CLI says it (English, the operator's language here).
fn directory_error(e: DirectoryError) -> anyhow::Error {
    match e {
        DirectoryError::Internal(e) => anyhow::anyhow!("{e}"),
        DirectoryError::OtherChangePending => anyhow::anyhow!(
            "another change is pending for this user: a login-method change and an email change \
             are never pending together (REQ-USER-7); wait until it is used or expires"
        ),
        DirectoryError::WrongState => {
            anyhow::anyhow!("the user is not an active, registered user")
        }
        DirectoryError::EmailTaken => anyhow::anyhow!("that address is already used in the brand"),
        DirectoryError::EmailInvalid => anyhow::anyhow!("that is not a mail address"),
        other => anyhow::anyhow!("refused: {}", other.code()),
    }
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

pub use sekisho_oidc::operator::{NewClient, RegisteredClient};

/// Registers a client for the operator (`sekisho_oidc::operator::register_client`, shared with
/// the admin API). The metadata rules are `sekisho_oidc::registration`'s, the same as for RFC 7591
/// dynamic registration.
pub async fn register_client(op: &Op, c: NewClient) -> anyhow::Result<RegisteredClient> {
    Ok(operator::register_client(op, c).await?)
}

/// What `sekisho kek rotate` did, and how the secrets are kept afterwards.
#[derive(Debug, Serialize)]
pub struct KekRotation {
    pub report: sekisho_store::SecretsReport,
    pub status: sekisho_store::SecretsStatus,
}

/// Seals every stored secret again with the primary (first) configured key-encryption key, in
/// one transaction (ISSUE-15: secrets at rest). Values under any other configured key are opened
/// with it; once `status` shows only the primary key, the old keys may be removed.
pub async fn rotate_kek(op: &Op) -> anyhow::Result<KekRotation> {
    anyhow::ensure!(
        op.store.has_cipher(),
        "no key-encryption key is configured: set {}",
        crate::kek::SETTINGS
    );
    let report = op
        .store
        .seal_secrets(true)
        .await
        .map_err(crate::kek::explain)?;
    // The key ring holds keys opened before: read the resealed rows next time.
    op.keys.invalidate();
    Ok(KekRotation {
        report,
        status: op.store.secrets_status().await?,
    })
}
