//! Operator actions: brands, contracts, users, clients. The CLI calls these; so do tests.

use anyhow::{bail, Context};
use sekisho_app::directory::{self, DirectoryError};
use sekisho_app::{tickets, App};
use sekisho_core::email::Email;
use sekisho_core::model::{
    AccessRoute, Brand, Contract, ContractState, LoginMethod, Plan, Role, TwoFactorSetting, User,
};
use sekisho_core::name::check_name;
use sekisho_core::oauth::Lang;
use sekisho_core::service_url::ServiceUrl;
use sekisho_core::tickets::TicketPurpose;
use sekisho_crypto::tokens::new_id;
use sekisho_oidc::{operator, Op};
use sekisho_store::StoreError;
use serde::Serialize;

/// Adds a brand (`sekisho_oidc::operator::add_brand`, shared with the admin API).
pub async fn add_brand(op: &Op, code: &str, name: &str) -> anyhow::Result<Brand> {
    Ok(operator::add_brand(op, code, name).await?)
}

/// Adds a brand whose pages lead to its service at `service_url` (ISSUE-16; `None` or empty:
/// none). The URL is checked here, before anything is written.
pub async fn add_brand_with_service(
    op: &Op,
    code: &str,
    name: &str,
    service_url: Option<&str>,
) -> anyhow::Result<Brand> {
    let service_url = parse_service_url(service_url.unwrap_or_default())?;
    Ok(operator::add_brand_with_service(op, code, name, service_url).await?)
}

/// `--service-url`: empty for none, else an https URL (http on loopback), at most 512 bytes.
fn parse_service_url(given: &str) -> anyhow::Result<Option<ServiceUrl>> {
    if given.trim().is_empty() {
        return Ok(None);
    }
    ServiceUrl::parse(given)
        .map(Some)
        .with_context(|| format!("--service-url {given:?}"))
}

/// What `brand update` may change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct BrandChanges {
    pub name: Option<String>,
    pub mail_from: Option<String>,
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
    /// The brand's service (ISSUE-16); `Some("")` removes it.
    pub service_url: Option<String>,
}

pub async fn update_brand(op: &Op, code: &str, c: BrandChanges) -> anyhow::Result<Brand> {
    let mut brand = brand_named(op, code).await?;
    if let Some(name) = c.name {
        brand.name = check_name(&name, true)
            .map_err(|e| anyhow::anyhow!("brand name: {e}"))?
            .to_owned();
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
            // https only: the pages' policy loads images from https origins (and this site).
            anyhow::ensure!(url.scheme() == "https", "--logo-url must be an https URL");
            Some(logo)
        };
    }
    if let Some(url) = c.service_url {
        brand.service_url = parse_service_url(&url)?;
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
    let brand = brand_named(op, brand).await?;
    let name = check_name(name, true).map_err(|e| anyhow::anyhow!("contract name: {e}"))?;
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
    let brand = brand_named(&app.op, user.brand.as_str()).await?;
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
        DirectoryError::NameInvalid => anyhow::anyhow!(
            "the name must be at most {} characters, without control characters",
            sekisho_core::name::MAX_NAME_CHARS
        ),
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

// ---- ISSUE-15: the operator's CLI covers what the admin API does ----

/// Who the operator's CLI acts as towards `sekisho_app::directory` and `lines`: the contract's
/// contractor (so the same rules hold: nobody acts on the contractor, another contract's users
/// are not found), with this id as the client in the audit trail, so an operator's action is
/// told apart from the contractor's own.
pub const OPERATOR_CLI: &str = "sekisho-cli";

async fn operator_actor(app: &App, contract_id: &str) -> anyhow::Result<(Brand, directory::Actor)> {
    let contract = app
        .op
        .store
        .find_contract(contract_id)
        .await?
        .with_context(|| format!("no contract {contract_id}"))?;
    let brand = brand_named(&app.op, contract.brand.as_str()).await?;
    let actor = directory::Actor::for_client(app, contract_id, OPERATOR_CLI)
        .await
        .map_err(|e| match e {
            DirectoryError::NotAllowed => anyhow::anyhow!(
                "contract {contract_id} has no active contractor (cancelled, or a trial past its \
                 length): its users cannot be managed"
            ),
            other => directory_error(other),
        })?;
    Ok((brand, actor))
}

/// A contract as `contract list` and `contract show` print it.
#[derive(Debug, Serialize)]
pub struct ContractView {
    #[serde(flatten)]
    pub contract: Contract,
    pub users: usize,
    pub lines: Vec<String>,
}

pub async fn list_contracts(op: &Op, brand: &str) -> anyhow::Result<Vec<Contract>> {
    brand_named(op, brand).await?;
    Ok(op.store.list_contracts(brand).await?)
}

pub async fn show_contract(op: &Op, contract_id: &str) -> anyhow::Result<ContractView> {
    let contract = op
        .store
        .find_contract(contract_id)
        .await?
        .with_context(|| format!("no contract {contract_id}"))?;
    let users = op.store.list_users(contract_id).await?.len();
    let lines = op
        .store
        .list_lines(contract_id)
        .await?
        .into_iter()
        .map(|l| l.number.as_str().to_owned())
        .collect();
    Ok(ContractView {
        contract,
        users,
        lines,
    })
}

/// What `contract set` changes; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct ContractSettings {
    pub two_factor: Option<TwoFactorSetting>,
    pub plan: Option<Plan>,
    pub access_route: Option<AccessRoute>,
}

/// Changes a contract's settings as its contractor could (2段階認証設定, the plan, アクセス経路設定),
/// each change audited with the operator's CLI as the client.
pub async fn set_contract(
    app: &App,
    contract_id: &str,
    s: ContractSettings,
) -> anyhow::Result<ContractView> {
    let contract = app
        .op
        .store
        .find_contract(contract_id)
        .await?
        .with_context(|| format!("no contract {contract_id}"))?;
    let brand = brand_named(&app.op, contract.brand.as_str()).await?;
    let audit = |kind: &'static str, detail: serde_json::Value| {
        let event = sekisho_store::AuditEvent {
            at: app.op.now(),
            kind: kind.to_owned(),
            brand: Some(brand.code.to_string()),
            user_id: None,
            client_id: Some(OPERATOR_CLI.to_owned()),
            detail,
            contract_id: Some(contract_id.to_owned()),
        };
        async move { app.op.store.append_audit(&event).await }
    };
    if let Some(new) = s.two_factor {
        app.op
            .store
            .set_contract_two_factor(contract_id, new)
            .await?;
        audit(
            "contract.two_factor.changed",
            serde_json::json!({ "contract_id": contract_id, "from": contract.two_factor.as_str(), "to": new.as_str() }),
        )
        .await?;
    }
    if let Some(plan) = s.plan {
        app.op.store.set_contract_plan(contract_id, plan).await?;
        audit(
            "contract.plan.changed",
            serde_json::json!({ "contract_id": contract_id, "from": contract.plan.as_str(), "to": plan.as_str() }),
        )
        .await?;
    }
    if let Some(route) = s.access_route {
        let (brand, actor) = operator_actor(app, contract_id).await?;
        sekisho_app::lines::set_access_route(app, &brand, &actor, route)
            .await
            .map_err(|e| anyhow::anyhow!("access route: {}", e.code()))?;
    }
    show_contract(&app.op, contract_id).await
}

/// Disables (sessions end, tokens stop) or re-enables a user, by the admin API's rules
/// (`sekisho_app::directory::set_enabled`: never the contractor, never an invited user).
pub async fn set_user_enabled(
    app: &App,
    user_id: &str,
    enabled: bool,
) -> anyhow::Result<directory::UserView> {
    let user = app
        .op
        .store
        .find_user(user_id)
        .await?
        .with_context(|| format!("no user {user_id}"))?;
    let (brand, actor) = operator_actor(app, &user.contract_id).await?;
    directory::set_enabled(app, &brand, &actor, user_id, enabled)
        .await
        .map_err(|e| match e {
            DirectoryError::NotAllowed => {
                anyhow::anyhow!("the contractor is never disabled (nor by the admin API)")
            }
            DirectoryError::WrongState => anyhow::anyhow!(
                "the user has not registered yet (invited): there is nothing to disable"
            ),
            other => directory_error(other),
        })
}

/// Invites a user by mail (REQ-USER-1), as the admin API's `inviteUser`: an invited user and the
/// registration mail, which waits in the outbox until the server's worker sends it.
pub async fn invite_user(
    app: &App,
    contract_id: &str,
    email: &str,
    name: &str,
    role: Role,
    lang: Lang,
) -> anyhow::Result<directory::UserView> {
    let (brand, actor) = operator_actor(app, contract_id).await?;
    directory::invite(app, &brand, &actor, email, name, role, lang)
        .await
        .map_err(directory_error)
}

/// Writes the audit log as JSON lines (one event per line, oldest first) to `out`, from time
/// `since`, reading it in pages. Returns how many events were written.
pub async fn export_audit(
    op: &Op,
    since: i64,
    out: &mut impl std::io::Write,
) -> anyhow::Result<u64> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = op.store.audit_page(after, since, 500).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        for (id, e) in page {
            let line = serde_json::json!({
                "id": id,
                "at": e.at,
                "kind": e.kind,
                "brand": e.brand,
                "user_id": e.user_id,
                "client_id": e.client_id,
                "contract_id": e.contract_id,
                "detail": e.detail,
            });
            writeln!(out, "{line}")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

/// `sekisho backup PATH`: an online copy of the SQLite database (`Store::backup_sqlite`).
pub async fn backup(op: &Op, path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let target = path
        .to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    op.store.backup_sqlite(target).await?;
    let bytes = std::fs::metadata(path)?.len();
    Ok(serde_json::json!({ "backup": target, "bytes": bytes }))
}

/// A new RFC 7591 initial access token: the token is in this answer only; the store keeps its
/// SHA-256 (`Store::insert_initial_access_token`).
#[derive(Debug, Serialize)]
pub struct CreatedInitialToken {
    #[serde(flatten)]
    pub record: sekisho_store::InitialTokenRecord,
    /// Shown once: give it to the integrator, who sends it as a bearer token to
    /// `{issuer}/clients`.
    #[serde(serialize_with = "sekisho_core::secret::serialize_exposed")]
    pub token: sekisho_core::Secret<String>,
}

/// Creates an initial access token for `brand` (every brand when `None`), valid `ttl` seconds
/// (until revoked when `None`).
pub async fn create_initial_access_token(
    op: &Op,
    brand: Option<&str>,
    label: &str,
    ttl: Option<i64>,
) -> anyhow::Result<CreatedInitialToken> {
    if let Some(code) = brand {
        brand_named(op, code).await?;
    }
    anyhow::ensure!(ttl.is_none_or(|t| t > 0), "--ttl must be positive");
    let token = sekisho_core::Secret::new(sekisho_crypto::tokens::random_token());
    let now = op.now();
    let record = sekisho_store::InitialTokenRecord {
        id: new_id("iat"),
        token_hash: sekisho_crypto::tokens::hash_token(token.expose()),
        brand: brand.map(str::to_owned),
        label: label.to_owned(),
        created_at: now,
        expires_at: ttl.map(|t| now + t),
        revoked_at: None,
    };
    op.store.insert_initial_access_token(&record).await?;
    op.forget_registration_open(brand);
    Ok(CreatedInitialToken { record, token })
}

/// The brand `code`, or an error naming it (every command that takes a brand).
async fn brand_named(op: &Op, code: &str) -> anyhow::Result<Brand> {
    op.store
        .find_brand(code)
        .await?
        .with_context(|| format!("no brand {code}"))
}
