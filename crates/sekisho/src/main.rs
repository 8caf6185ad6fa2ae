//! `sekisho`: the OpenID provider's command line. Data commands print JSON when `--json` is given
//! or when standard output is not a terminal (so scripts always get JSON).

/// jemalloc returns the memory of closed connections to the OS (its background threads purge
/// freed pages); glibc's malloc kept it (docs/PERFORMANCE.md, "Slow clients").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sekisho::admin::{self, NewClient};
use sekisho::config::Config;
use sekisho::server;
use sekisho_core::model::{AccessRoute, Plan, Role, TwoFactorSetting};
use sekisho_core::oauth::{GrantType, SigningAlg, TokenEndpointAuthMethod};
use sekisho_core::SystemClock;
use sekisho_crypto::Rotation;
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "sekisho",
    version,
    about = "Sekisho (関所): an OpenID Connect provider for white-label storage brands"
)]
struct Cli {
    /// TOML configuration file (see sekisho.example.toml); SEKISHO_* variables override it.
    #[arg(long, global = true, env = "SEKISHO_CONFIG")]
    config: Option<PathBuf>,
    /// Print results as JSON (the default when stdout is not a terminal).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates first, generates missing signing keys).
    Serve {
        /// Create and print demo data (brand VX5, a contract, a user, the storage-rp client). Development only.
        #[arg(long)]
        demo: bool,
    },
    /// Every other command: one operation on the database, then exit.
    #[command(flatten)]
    Data(DataCommand),
}

/// The commands that open the database, do one thing and print its result.
#[derive(Subcommand)]
enum DataCommand {
    /// Apply database migrations.
    Migrate,
    /// Brands (white-label storefronts).
    #[command(subcommand)]
    Brand(BrandCmd),
    /// Contracts (customer organisations).
    #[command(subcommand)]
    Contract(ContractCmd),
    /// Users of a contract.
    #[command(subcommand)]
    User(UserCmd),
    /// Relying parties.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The key-encryption key that seals the secrets stored in the database.
    #[command(subcommand)]
    Kek(KekCmd),
    /// RFC 7591 initial access tokens (dynamic client registration).
    #[command(subcommand)]
    InitialAccessToken(InitialTokenCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Copy the SQLite database to a new file while the server runs (VACUUM INTO). PostgreSQL:
    /// use pg_dump.
    Backup {
        /// The new file (must not exist).
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum InitialTokenCmd {
    /// Make a token; it is printed once and only its SHA-256 is stored.
    Create {
        /// The brand it registers clients in (default: every brand).
        #[arg(long)]
        brand: Option<String>,
        /// A note for the listing (who it was given to).
        #[arg(long, default_value = "")]
        label: String,
        /// Seconds it stays valid (default: until revoked).
        #[arg(long)]
        ttl: Option<i64>,
    },
    /// List the tokens made here (never the tokens themselves).
    List,
    /// Revoke a token by its id.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Write the audit log to stdout as JSON lines, oldest first.
    Export {
        /// Only events at or after this Unix time.
        #[arg(long, default_value_t = 0)]
        since: i64,
    },
}

#[derive(Subcommand)]
enum KekCmd {
    /// Print a new random key-encryption key (base64, 32 bytes) for kek_file / SEKISHO_KEY_ENCRYPTION_KEY.
    /// Opens no database.
    Generate,
    /// How the stored secrets are kept: how many in clear, how many sealed by each key id.
    Status,
    /// Seal every stored secret again with the first configured key, in one transaction
    /// (list the new key first and the old one after it, run this, then drop the old one).
    Rotate,
}

#[derive(Subcommand)]
enum BrandCmd {
    /// Add a brand: `sekisho brand add --code VX5 --name 'OTクラウド・ストレージ'`.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Where the brand's service lives (the storage frontend), e.g. 'https://storage.vx5.example/':
        /// pages that end without an application to return to lead there. https only (http on
        /// loopback), at most 512 bytes.
        #[arg(long)]
        service_url: Option<String>,
    },
    List,
    /// Change a brand's display name, mail sender or theme (a running server sees it within 30 s).
    Update {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: Option<String>,
        /// Sender of the brand's mails, e.g. 'noreply@vx5.example'.
        #[arg(long)]
        mail_from: Option<String>,
        /// CSS colour of the header and buttons, e.g. '#c8102e'.
        #[arg(long)]
        primary_color: Option<String>,
        /// https URL of the logo in the page header ('' removes it; without one the header shows
        /// the brand's mark, its colour and initial, also its favicon).
        #[arg(long)]
        logo_url: Option<String>,
        /// Where the brand's service lives ('' removes it); see `brand add`.
        #[arg(long)]
        service_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum ContractCmd {
    /// List a brand's contracts.
    List {
        #[arg(long)]
        brand: String,
    },
    /// Show a contract: settings, number of users, registered lines.
    Show {
        #[arg(long)]
        contract: String,
    },
    /// Change a contract's settings (each change is audited).
    Set {
        #[arg(long)]
        contract: String,
        /// Two-step verification for the contract's users.
        #[arg(long, value_enum)]
        two_factor: Option<OnOff>,
        #[arg(long, value_enum)]
        plan: Option<PlanArg>,
        /// アクセス経路設定: line_and_internet, or line_only (回線認証のみ).
        #[arg(long, value_enum)]
        access_route: Option<RouteArg>,
    },
    /// Create a contract and its contractor (a password user).
    Create {
        #[arg(long)]
        brand: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        contractor_email: String,
        #[arg(long, env = "SEKISHO_CONTRACTOR_PASSWORD", hide_env_values = true)]
        contractor_password: String,
        #[arg(long, value_enum, default_value = "basic")]
        plan: PlanArg,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a password user to a contract.
    Add {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "SEKISHO_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List a contract's users.
    List {
        #[arg(long)]
        contract: String,
    },
    /// Invite a user by mail (REQ-USER-1); the mail waits in the outbox until `serve` sends it.
    Invite {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
        #[arg(long, value_enum, default_value = "ja")]
        lang: LangArg,
    },
    /// Disable a user: their sessions end and their tokens stop.
    Disable {
        #[arg(long)]
        user: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        user: String,
    },
    /// Print a login-method-change link for a user (REQ-USER-4), valid 14 days, used once.
    /// Refused while an email change is pending for the user (REQ-USER-7).
    LoginMethodChange {
        #[arg(long)]
        user: String,
    },
    /// Mail an email-change link to the user's new address (REQ-USER-6). Refused while a
    /// login-method change is pending for the user (REQ-USER-7). The mail waits in the outbox
    /// until `serve` sends it.
    EmailChange {
        #[arg(long)]
        user: String,
        #[arg(long)]
        email: String,
        /// The mail's language.
        #[arg(long, value_enum, default_value = "ja")]
        lang: LangArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Ja,
    En,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Register a relying party. Prints client_id (and client_secret, shown only now).
    Register(Box<RegisterArgs>),
    /// List a brand's clients (never their secrets).
    List {
        #[arg(long)]
        brand: String,
    },
    /// Register a client as a resource server, which may introspect every token of its brand
    /// (other clients learn only about their own tokens); `--off` withdraws it.
    ResourceServer {
        #[arg(long)]
        brand: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Args)]
struct RegisterArgs {
    #[arg(long)]
    brand: String,
    #[arg(long)]
    name: String,
    /// Exact redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    public: bool,
    /// Grant types (repeatable); default authorization_code and refresh_token.
    #[arg(long = "grant-type", value_enum)]
    grant_types: Vec<GrantArg>,
    /// ID token signing algorithm.
    #[arg(long, value_enum, default_value = "ES256")]
    id_token_alg: AlgArg,
    /// Client authentication at the token endpoint (default client_secret_basic; private_key_jwt with --jwks-file).
    #[arg(long, value_enum)]
    auth_method: Option<AuthArg>,
    /// A JWK Set file with the client's public keys, for private_key_jwt.
    #[arg(long)]
    jwks_file: Option<PathBuf>,
    /// Or the https URL where the client's public keys are fetched (rotated by the client).
    #[arg(long, conflicts_with = "jwks_file")]
    jwks_uri: Option<String>,
    /// Authorization requests only through the pushed authorization request endpoint (RFC 9126).
    #[arg(long)]
    require_par: bool,
    /// Every token request must carry a DPoP proof: access tokens bound to the client's key (RFC 9449).
    #[arg(long)]
    require_dpop: bool,
    /// Where logout tokens are POSTed when a session that gave the client tokens ends
    /// (OpenID Connect Back-Channel Logout 1.0).
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Pairwise subject identifiers: the client sees a `sub` of its own sector (the host of its
    /// redirect URIs), unrelated to other sectors' (OpenID Connect Core §8).
    #[arg(long)]
    pairwise: bool,
    /// Scopes the client may ask for with client_credentials (space-separated); `sekisho:admin`
    /// (with --contract) and `sekisho:operator` open the admin API.
    #[arg(long)]
    scope: Option<String>,
    /// The contract (of the same brand) whose users the client manages through the admin API with
    /// client_credentials and scope `sekisho:admin`.
    #[arg(long)]
    contract: Option<String>,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create a key for every algorithm that has none.
    Generate,
    /// Replace the active key of each algorithm (or one): the new key is published at once and
    /// signs 10 minutes later, on every node (so relying parties' cached JWKS have it first);
    /// old keys verify until their tokens expire.
    Rotate {
        #[arg(long, value_enum)]
        alg: Option<AlgArg>,
        /// Sign with the new key at once (a key that must stop now, e.g. compromised); relying
        /// parties refetch the JWKS when they meet its kid.
        #[arg(long)]
        now: bool,
    },
    /// List keys (never the private parts).
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RouteArg {
    LineAndInternet,
    LineOnly,
}
#[derive(Clone, Copy, ValueEnum)]
enum PlanArg {
    Basic,
    Trial,
}
#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    User,
}
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum GrantArg {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628: desktop and command-line clients.
    DeviceCode,
}
#[derive(Clone, Copy, ValueEnum)]
enum AlgArg {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "EdDSA")]
    EdDsa,
}
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum AuthArg {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl From<PlanArg> for Plan {
    fn from(p: PlanArg) -> Self {
        match p {
            PlanArg::Basic => Plan::Basic,
            PlanArg::Trial => Plan::Trial,
        }
    }
}

impl From<LangArg> for sekisho_core::oauth::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Ja => sekisho_core::oauth::Lang::Ja,
            LangArg::En => sekisho_core::oauth::Lang::En,
        }
    }
}

impl From<AlgArg> for SigningAlg {
    fn from(a: AlgArg) -> Self {
        match a {
            AlgArg::Es256 => SigningAlg::Es256,
            AlgArg::Rs256 => SigningAlg::Rs256,
            AlgArg::EdDsa => SigningAlg::EdDsa,
        }
    }
}

/// Prints `value` as JSON, or as `key: value` lines for a person at a terminal.
fn emit(json: bool, value: &impl Serialize) -> anyhow::Result<()> {
    let v = serde_json::to_value(value)?;
    if json || !std::io::stdout().is_terminal() {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if let Some(obj) = v.as_object() {
        for (k, val) in obj {
            println!(
                "{k}: {}",
                val.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| val.to_string())
            );
        }
    } else {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    let telemetry = sekisho::logging::init(&config)?;
    let command = match cli.command {
        Command::Serve { demo } => {
            let served = server::serve(&config, demo).await;
            telemetry.shutdown();
            return served;
        }
        Command::Data(command) => command,
    };
    telemetry.shutdown();
    if let DataCommand::Kek(KekCmd::Generate) = command {
        // A key is printed, not logged, and no database is needed to make one.
        println!("{}", sekisho_crypto::kek::Kek::generate());
        return Ok(());
    }
    let op = server::build_op(&config, Arc::new(SystemClock)).await?;
    let json = cli.json;
    match command {
        DataCommand::Migrate => emit(
            json,
            &serde_json::json!({ "migrated": true, "database_url": redact(config.database_url.expose()) }),
        )?,
        DataCommand::Brand(BrandCmd::Add {
            code,
            name,
            service_url,
        }) => emit(
            json,
            &admin::add_brand_with_service(&op, &code, &name, service_url.as_deref()).await?,
        )?,
        DataCommand::Brand(BrandCmd::List) => emit(json, &op.store.list_brands().await?)?,
        DataCommand::Brand(BrandCmd::Update {
            code,
            name,
            mail_from,
            primary_color,
            logo_url,
            service_url,
        }) => {
            let changes = admin::BrandChanges {
                name,
                mail_from,
                primary_color,
                logo_url,
                service_url,
            };
            emit(json, &admin::update_brand(&op, &code, changes).await?)?
        }
        DataCommand::Contract(ContractCmd::Create {
            brand,
            name,
            contractor_email,
            contractor_password,
            plan,
        }) => {
            let plan = Plan::from(plan);
            emit(
                json,
                &admin::create_contract(
                    &op,
                    &brand,
                    &name,
                    &contractor_email,
                    &contractor_password,
                    plan,
                )
                .await?,
            )?
        }
        DataCommand::User(UserCmd::Add {
            contract,
            email,
            password,
            role,
            name,
        }) => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::User => Role::User,
            };
            let user_id = admin::add_user(&op, &contract, &email, &password, role, &name).await?;
            emit(json, &serde_json::json!({ "user_id": user_id }))?
        }
        DataCommand::User(UserCmd::List { contract }) => {
            emit(json, &op.store.list_users(&contract).await?)?
        }
        DataCommand::User(UserCmd::Invite {
            contract,
            email,
            name,
            role,
            lang,
        }) => {
            let app = server::build_app(&config, op.clone())?;
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::User => Role::User,
            };
            emit(
                json,
                &admin::invite_user(&app, &contract, &email, &name, role, lang.into()).await?,
            )?
        }
        DataCommand::User(UserCmd::Disable { user }) => {
            let app = server::build_app(&config, op.clone())?;
            emit(json, &admin::set_user_enabled(&app, &user, false).await?)?
        }
        DataCommand::User(UserCmd::Enable { user }) => {
            let app = server::build_app(&config, op.clone())?;
            emit(json, &admin::set_user_enabled(&app, &user, true).await?)?
        }
        DataCommand::Contract(ContractCmd::List { brand }) => {
            emit(json, &admin::list_contracts(&op, &brand).await?)?
        }
        DataCommand::Contract(ContractCmd::Show { contract }) => {
            emit(json, &admin::show_contract(&op, &contract).await?)?
        }
        DataCommand::Contract(ContractCmd::Set {
            contract,
            two_factor,
            plan,
            access_route,
        }) => {
            let app = server::build_app(&config, op.clone())?;
            let settings = admin::ContractSettings {
                two_factor: two_factor.map(|t| match t {
                    OnOff::On => TwoFactorSetting::Enabled,
                    OnOff::Off => TwoFactorSetting::Disabled,
                }),
                plan: plan.map(Plan::from),
                access_route: access_route.map(|r| match r {
                    RouteArg::LineAndInternet => AccessRoute::LineAndInternet,
                    RouteArg::LineOnly => AccessRoute::LineOnly,
                }),
            };
            emit(json, &admin::set_contract(&app, &contract, settings).await?)?
        }
        DataCommand::InitialAccessToken(InitialTokenCmd::Create { brand, label, ttl }) => emit(
            json,
            &admin::create_initial_access_token(&op, brand.as_deref(), &label, ttl).await?,
        )?,
        DataCommand::InitialAccessToken(InitialTokenCmd::List) => {
            emit(json, &op.store.list_initial_access_tokens().await?)?
        }
        DataCommand::InitialAccessToken(InitialTokenCmd::Revoke { id }) => {
            anyhow::ensure!(
                op.store.revoke_initial_access_token(&id, op.now()).await?,
                "no live initial access token {id}"
            );
            emit(json, &serde_json::json!({ "revoked": id }))?
        }
        DataCommand::Audit(AuditCmd::Export { since }) => {
            let stdout = std::io::stdout();
            let n = admin::export_audit(&op, since, &mut stdout.lock()).await?;
            tracing::info!(events = n, "audit log exported");
        }
        DataCommand::Backup { path } => emit(json, &admin::backup(&op, &path).await?)?,
        DataCommand::User(UserCmd::LoginMethodChange { user }) => {
            let app = server::build_app(&config, op.clone())?;
            let url = admin::login_method_change_link(&app, &user).await?;
            emit(json, &serde_json::json!({ "url": url }))?
        }
        DataCommand::User(UserCmd::EmailChange { user, email, lang }) => {
            let app = server::build_app(&config, op.clone())?;
            let lang = match lang {
                LangArg::Ja => sekisho_core::oauth::Lang::Ja,
                LangArg::En => sekisho_core::oauth::Lang::En,
            };
            admin::request_email_change(&app, &user, &email, lang).await?;
            emit(json, &serde_json::json!({ "mailed_to": email }))?
        }
        DataCommand::Client(ClientCmd::Register(a)) => {
            let jwks = match &a.jwks_file {
                Some(f) => Some(
                    serde_json::from_str(
                        &std::fs::read_to_string(f)
                            .with_context(|| format!("reading {}", f.display()))?,
                    )
                    .context("the JWKS file is not JSON")?,
                ),
                None => None,
            };
            let client = NewClient {
                brand: a.brand,
                name: a.name,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                auth_method: a.auth_method.map(|m| match m {
                    AuthArg::ClientSecretBasic => TokenEndpointAuthMethod::ClientSecretBasic,
                    AuthArg::ClientSecretPost => TokenEndpointAuthMethod::ClientSecretPost,
                    AuthArg::PrivateKeyJwt => TokenEndpointAuthMethod::PrivateKeyJwt,
                    AuthArg::None => TokenEndpointAuthMethod::None,
                }),
                public: a.public,
                grant_types: a
                    .grant_types
                    .iter()
                    .map(|g| match g {
                        GrantArg::AuthorizationCode => GrantType::AuthorizationCode,
                        GrantArg::RefreshToken => GrantType::RefreshToken,
                        GrantArg::ClientCredentials => GrantType::ClientCredentials,
                        GrantArg::DeviceCode => GrantType::DeviceCode,
                    })
                    .collect(),
                id_token_alg: a.id_token_alg.into(),
                jwks,
                jwks_uri: a.jwks_uri,
                scope: a.scope,
                contract_id: a.contract,
                fixed_credentials: None,
                requires: sekisho_core::model::ClientRequirements {
                    require_pushed_authorization_requests: a.require_par,
                    dpop_bound_access_tokens: a.require_dpop,
                },
                backchannel_logout_uri: a.backchannel_logout_uri,
                subject_type: if a.pairwise {
                    sekisho_core::model::SubjectType::Pairwise
                } else {
                    sekisho_core::model::SubjectType::Public
                },
            };
            emit(json, &admin::register_client(&op, client).await?)?
        }
        DataCommand::Client(ClientCmd::List { brand }) => {
            let bound: std::collections::HashMap<String, String> = op
                .store
                .client_contracts(&brand)
                .await?
                .into_iter()
                .collect();
            let resource_servers = op.store.resource_servers(&brand).await?;
            let list: Vec<_> = op
                .store
                .list_clients(&brand)
                .await?
                .into_iter()
                .map(|c| {
                    let contract = bound.get(&c.client_id);
                    serde_json::json!({
                        "client_id": c.client_id,
                        "contract_id": contract,
                        "resource_server": resource_servers.contains(&c.client_id),
                        "metadata": c.metadata,
                    })
                })
                .collect();
            emit(json, &list)?
        }
        DataCommand::Client(ClientCmd::ResourceServer {
            brand,
            client_id,
            off,
        }) => {
            sekisho_oidc::operator::set_resource_server(&op, &brand, &client_id, !off).await?;
            emit(
                json,
                &serde_json::json!({ "client_id": client_id, "resource_server": !off }),
            )?
        }
        DataCommand::Keys(KeysCmd::Generate) => emit(
            json,
            &serde_json::json!({ "generated": op.keys.ensure_keys().await? }),
        )?,
        DataCommand::Keys(KeysCmd::Rotate { alg, now }) => {
            let algs: Vec<SigningAlg> = match alg {
                Some(a) => vec![a.into()],
                None => SigningAlg::ALL.to_vec(),
            };
            let when = if now {
                Rotation::Immediate
            } else {
                Rotation::Staged
            };
            let mut rotated = op.keys.rotate(&algs, when).await?;
            // The SAML SP key (AD login) turns over with the OIDC keys when all are rotated.
            if alg.is_none() {
                let app = server::build_app(&config, op.clone())?;
                rotated.push(
                    sekisho_app::active_directory::sp_keys::rotate(&app)
                        .await
                        .map_err(|e| anyhow::anyhow!("SAML SP key: {e}"))?,
                );
            }
            emit(json, &serde_json::json!({ "rotated": rotated }))?
        }
        DataCommand::Keys(KeysCmd::List) => emit(json, &op.keys.list().await?)?,
        DataCommand::Kek(KekCmd::Generate) => {}
        DataCommand::Kek(KekCmd::Status) => emit(json, &op.store.secrets_status().await?)?,
        DataCommand::Kek(KekCmd::Rotate) => emit(json, &admin::rotate_kek(&op).await?)?,
    }
    op.store.close().await;
    Ok(())
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
