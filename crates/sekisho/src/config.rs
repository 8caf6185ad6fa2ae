//! Configuration: defaults, then the TOML file (`--config`), then `SEKISHO_*` environment variables.
//! `sekisho.example.toml` at the repository root documents every key.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use sekisho_core::Secret;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The settings. `Debug` masks the secrets (URLs that may hold a password, the SMS gateway's
/// Authorization); they are `skip_serializing`, so the defaults figment starts from lack them and
/// `#[serde(default)]` fills them from [`Config::default`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server binds. Env: SEKISHO_LISTEN.
    pub listen: String,
    /// The URL browsers and RPs use; issuers are `{public_url}/{brand}`. Env: SEKISHO_PUBLIC_URL.
    pub public_url: String,
    /// `sqlite://FILE?mode=rwc` or `postgres://…` (may hold a password). Env: SEKISHO_DATABASE_URL.
    #[serde(skip_serializing)]
    pub database_url: Secret<String>,
    /// Env: SEKISHO_DATABASE_MAX_CONNECTIONS.
    pub database_max_connections: u32,
    /// Lifetimes in seconds. Env: SEKISHO_CODE_TTL, SEKISHO_ACCESS_TOKEN_TTL, …
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub auth_request_ttl: i64,
    pub session_ttl: i64,
    /// argon2id parameters (OWASP minimum by default). Env: SEKISHO_ARGON2_MEMORY_KIB, …
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password hashes run at most this many at once; 0 = one per CPU core. Env: SEKISHO_HASH_POOL_SIZE.
    pub hash_pool_size: usize,
    /// Log filter (tracing EnvFilter syntax). Env: SEKISHO_LOG.
    pub log: String,
    /// Mail server, `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or
    /// `smtps://host:465`; empty = write mail to `mail_outbox_dir`. Env: SEKISHO_SMTP_URL.
    #[serde(skip_serializing)]
    pub smtp_url: Secret<String>,
    /// Folder of `.eml` files used when `smtp_url` is empty. Env: SEKISHO_MAIL_OUTBOX_DIR.
    pub mail_outbox_dir: String,
    /// Sender of the brands that have no `mail_from` of their own. Env: SEKISHO_MAIL_FROM.
    pub mail_from: String,
    /// Folder whose templates override the built-in pages (`{dir}/{BRAND}/login.html`, then
    /// `{dir}/login.html`); empty = built-in only. Env: SEKISHO_TEMPLATES_DIR.
    pub templates_dir: String,
    /// Upstream logins (Google, Microsoft, d アカウント, Facebook), one table each; see
    /// `sekisho.example.toml`. Env: SEKISHO_UPSTREAMS (an inline TOML array of tables).
    pub upstreams: Vec<sekisho_upstream::ConnectorSettings>,
    /// SMS gateway that two-step verification codes are POSTed to (`https://…`); empty = write
    /// them as JSON files to `sms_outbox_dir`. Env: SEKISHO_SMS_GATEWAY_URL.
    pub sms_gateway_url: String,
    /// The gateway's full `Authorization` header value (`Bearer …`, `Basic …`); empty = none.
    /// A secret. Env: SEKISHO_SMS_GATEWAY_AUTHORIZATION.
    #[serde(skip_serializing)]
    pub sms_gateway_authorization: Secret<String>,
    /// minijinja template of the request body, with `to` (E.164) and `text`; with a JSON content
    /// type the values are JSON-escaped and quoted. Env: SEKISHO_SMS_GATEWAY_BODY.
    pub sms_gateway_body: String,
    /// `Content-Type` of the request. Env: SEKISHO_SMS_GATEWAY_CONTENT_TYPE.
    pub sms_gateway_content_type: String,
    /// Folder of the `.json` messages when `sms_gateway_url` is empty. Env: SEKISHO_SMS_OUTBOX_DIR.
    pub sms_outbox_dir: String,
    /// RFC 7591 initial access tokens that may register clients at `{issuer}/clients`, each as
    /// its SHA-256 (base64url, no padding), or `BRAND:HASH` for one brand; empty = no dynamic
    /// registration. Env: SEKISHO_INITIAL_ACCESS_TOKEN_HASHES.
    pub initial_access_token_hashes: Vec<String>,
    /// Active Directory login: let metadata URLs and ADFS endpoints be plain http on loopback
    /// (development only: the server fetches metadata URLs, and must not be pointed at its own
    /// private services). Env: SEKISHO_AD_ALLOW_LOOPBACK.
    pub ad_allow_loopback: bool,
    /// Seconds between two reads of ADFS metadata given by URL. Env: SEKISHO_AD_METADATA_REFRESH.
    pub ad_metadata_refresh: i64,
    /// Base URL of the line-authentication entry, for the AD line login URL in the REQ-AD-2 mail;
    /// empty until the deployment has one. Env: SEKISHO_AD_LINE_BASE_URL.
    pub ad_line_base_url: String,
    /// Line authentication: the address of the line entry's HTTPS listener, which only the
    /// carrier gateway reaches (mutual TLS); empty = no line entry, nothing is a line login.
    /// Env: SEKISHO_LINE_LISTEN.
    pub line_listen: String,
    /// The line entry's server certificate chain and key (PEM files). Env: SEKISHO_LINE_TLS_CERT,
    /// SEKISHO_LINE_TLS_KEY.
    pub line_tls_cert: String,
    pub line_tls_key: String,
    /// The CA (PEM) that signs the carrier gateway's client certificate: the only clients the line
    /// entry accepts. Env: SEKISHO_LINE_CLIENT_CA.
    pub line_client_ca: String,
    /// Proxies (CIDRs such as `10.0.0.0/8`, `127.0.0.1/32`) in front of Sekisho whose
    /// `X-Forwarded-For` is believed for the rate limits' client address; empty = the socket's
    /// peer is the client. Env: SEKISHO_TRUSTED_PROXIES (`["10.0.0.0/8"]`).
    pub trusted_proxies: Vec<String>,
    /// Mails queued to one address per hour at most (counted in the database, so across nodes);
    /// the rest are not queued, and logged (mail bombing). 0 = no cap.
    /// Env: SEKISHO_MAIL_PER_ADDRESS_PER_HOUR.
    pub mail_per_address_per_hour: u32,
    /// Request rates per client and per account (`[rate_limits]`; see `sekisho.example.toml`).
    /// Env: SEKISHO_RATE_LIMITS (an inline table, `{login_per_ip="30/min"}`).
    pub rate_limits: sekisho_web::rate_limit::RateLimits,
}

impl Default for Config {
    fn default() -> Self {
        let op = sekisho_oidc::OpConfig::default();
        let (m, t, p) = sekisho_crypto::password::DEFAULT_PARAMS;
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: op.public_url,
            database_url: "sqlite://sekisho.db?mode=rwc".into(),
            database_max_connections: 8,
            code_ttl: op.code_ttl,
            access_token_ttl: op.access_token_ttl,
            id_token_ttl: op.id_token_ttl,
            refresh_token_ttl: op.refresh_token_ttl,
            auth_request_ttl: op.auth_request_ttl,
            session_ttl: op.session_ttl,
            argon2_memory_kib: m,
            argon2_iterations: t,
            argon2_parallelism: p,
            hash_pool_size: 0,
            log: "info".into(),
            smtp_url: Secret::default(),
            mail_outbox_dir: "outbox".into(),
            mail_from: "noreply@sekisho.localhost".into(),
            templates_dir: String::new(),
            upstreams: Vec::new(),
            sms_gateway_url: String::new(),
            sms_gateway_authorization: Secret::default(),
            sms_gateway_body: sekisho_notify::sms::DEFAULT_BODY_TEMPLATE.into(),
            sms_gateway_content_type: sekisho_notify::sms::DEFAULT_CONTENT_TYPE.into(),
            sms_outbox_dir: "sms-outbox".into(),
            initial_access_token_hashes: Vec::new(),
            ad_allow_loopback: false,
            ad_metadata_refresh: 3600,
            ad_line_base_url: String::new(),
            line_listen: String::new(),
            line_tls_cert: String::new(),
            line_tls_key: String::new(),
            line_client_ca: String::new(),
            trusted_proxies: Vec::new(),
            mail_per_address_per_hour: 10,
            rate_limits: sekisho_web::rate_limit::RateLimits::default(),
        }
    }
}

impl Config {
    /// Defaults ← file (if given) ← environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            anyhow::ensure!(
                f.exists(),
                "configuration file {} does not exist",
                f.display()
            );
            fig = fig.merge(Toml::file(f));
        }
        let config: Config = fig
            .merge(Env::prefixed("SEKISHO_").ignore(&["test_postgres_url"]))
            .extract()?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        let url = url::Url::parse(&self.public_url)
            .map_err(|e| anyhow::anyhow!("public_url {:?}: {e}", self.public_url))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https"),
            "public_url must be http or https"
        );
        anyhow::ensure!(
            url.query().is_none() && url.fragment().is_none(),
            "public_url must have no query or fragment"
        );
        for (name, v) in [
            ("code_ttl", self.code_ttl),
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
            ("auth_request_ttl", self.auth_request_ttl),
            ("session_ttl", self.session_ttl),
        ] {
            anyhow::ensure!(v > 0, "{name} must be positive");
        }
        // A light check here; the mail transport parses the address fully when it starts.
        anyhow::ensure!(
            matches!(self.mail_from.trim().split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty()),
            "mail_from must be a mail address"
        );
        anyhow::ensure!(
            !self.smtp_url.expose().trim().is_empty() || !self.mail_outbox_dir.trim().is_empty(),
            "set smtp_url, or mail_outbox_dir for the file outbox"
        );
        anyhow::ensure!(
            !self.sms_gateway_url.trim().is_empty() || !self.sms_outbox_dir.trim().is_empty(),
            "set sms_gateway_url, or sms_outbox_dir for the SMS outbox"
        );
        self.trusted_proxies()?;
        for entry in &self.initial_access_token_hashes {
            let token = sekisho_oidc::registration::InitialAccessToken::parse(entry)
                .map_err(|e| anyhow::anyhow!("initial_access_token_hashes: {e}"))?;
            if let Some(brand) = &token.brand {
                sekisho_core::model::BrandCode::parse(brand)
                    .map_err(|e| anyhow::anyhow!("initial_access_token_hashes: {e}"))?;
            }
        }
        Ok(())
    }

    /// The trusted proxies as networks; a bare address is its own /32 or /128.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<sekisho_web::rate_limit::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<sekisho_web::rate_limit::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(Into::into))
                    .map_err(|_| anyhow::anyhow!("trusted_proxies: {p:?} is no CIDR or address"))
            })
            .collect()
    }

    pub fn op_config(&self) -> sekisho_oidc::OpConfig {
        sekisho_oidc::OpConfig {
            public_url: self.public_url.trim_end_matches('/').to_owned(),
            code_ttl: self.code_ttl,
            access_token_ttl: self.access_token_ttl,
            id_token_ttl: self.id_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            auth_request_ttl: self.auth_request_ttl,
            session_ttl: self.session_ttl,
            // `check` refused malformed entries when the configuration was loaded.
            initial_access_tokens: self
                .initial_access_token_hashes
                .iter()
                .filter_map(|e| sekisho_oidc::registration::InitialAccessToken::parse(e).ok())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_documents_exactly_the_defaults() {
        let example = include_str!("../../../sekisho.example.toml");
        let parsed: Config = Figment::from(Toml::string(example)).extract().unwrap();
        assert_eq!(parsed, Config::default());
        let mut keys: Vec<String> = serde_json::to_value(Config::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        // The secrets are never serialized; they are documented all the same.
        keys.extend(SECRET_KEYS.map(String::from));
        for key in &keys {
            assert!(
                example.contains(&format!("SEKISHO_{}", key.to_uppercase())),
                "{key} has no documented env override"
            );
        }
    }

    // ISSUE-15: the rate limits are one inline table in the environment, merged key by key over
    // the defaults; a malformed rate or proxy stops the start.
    #[test]
    fn rate_limits_and_proxies_come_from_the_environment() {
        std::env::set_var(
            "SEKISHO_TEST_RL_RATE_LIMITS",
            r#"{login_per_ip="5/min", sms_per_account="off"}"#,
        );
        std::env::set_var(
            "SEKISHO_TEST_RL_TRUSTED_PROXIES",
            r#"["10.0.0.0/8", "192.0.2.7"]"#,
        );
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Env::prefixed("SEKISHO_TEST_RL_"))
            .extract()
            .unwrap();
        let defaults = sekisho_web::rate_limit::RateLimits::default();
        assert_eq!(config.rate_limits.login_per_ip.count, 5);
        assert_eq!(config.rate_limits.sms_per_account.count, 0);
        assert_eq!(config.rate_limits.token_per_ip, defaults.token_per_ip);
        let proxies = config.trusted_proxies().unwrap();
        assert_eq!(proxies.len(), 2);
        assert_eq!(proxies[1].to_string(), "192.0.2.7/32");
        let bad = Config {
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..Config::default()
        };
        assert!(bad.check().is_err());
        let bad: Result<Config, _> = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(
                "[rate_limits]\nlogin_per_ip = \"ten a minute\"",
            ))
            .extract();
        assert!(bad.is_err());
    }

    const SECRET_KEYS: [&str; 3] = ["database_url", "smtp_url", "sms_gateway_authorization"];

    // Issue 12: the secrets never reach `Debug` output (logs) nor serialization, and the
    // configuration still reads them from the file and the environment.
    #[test]
    fn secrets_are_masked_and_not_serialized() {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(
                r#"
                database_url = "postgres://sekisho:db-pa55@db.example/sekisho"
                smtp_url = "smtp://mailer:smtp-pa55@mail.example:587?tls=required"
                sms_gateway_authorization = "Bearer sms-t0ken"
                [[upstreams]]
                name = "google"
                kind = "google"
                client_id = "id"
                client_secret = "upstream-s3cret"
                "#,
            ))
            .extract()
            .unwrap();
        assert_eq!(
            config.sms_gateway_authorization.expose(),
            "Bearer sms-t0ken"
        );
        assert_eq!(
            config.upstreams[0].client_secret.expose(),
            "upstream-s3cret"
        );
        let secrets = ["db-pa55", "smtp-pa55", "sms-t0ken", "upstream-s3cret"];
        let shown = format!("{config:?}");
        let serialized = serde_json::to_string(&config).unwrap();
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} in {shown}");
            assert!(!serialized.contains(secret), "{secret} in {serialized}");
        }
        for key in SECRET_KEYS {
            assert!(!serialized.contains(key), "{key} in {serialized}");
        }
    }

    // REQ-2FA-3: the defaults give the development outbox; a gateway URL gives the HTTP gateway,
    // whose settings are checked when it is built.
    #[test]
    fn sms_settings_build_the_gateway() {
        let clock = || -> std::sync::Arc<dyn sekisho_core::Clock> {
            std::sync::Arc::new(sekisho_core::FakeClock::new(sekisho_core::TEST_EPOCH))
        };
        let config = Config::default();
        assert!(crate::server::sms_gateway(&config, clock())
            .unwrap()
            .is_outbox());
        let mut config = Config {
            sms_gateway_url: "https://sms.example/v1/messages".into(),
            sms_gateway_authorization: "Bearer abc".into(),
            ..Config::default()
        };
        assert!(!crate::server::sms_gateway(&config, clock())
            .unwrap()
            .is_outbox());
        config.sms_gateway_body = "{{ to ".into();
        let e = crate::server::sms_gateway(&config, clock()).unwrap_err();
        assert!(e.to_string().contains("sms_gateway_body"), "{e}");
    }
}
