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
    /// `sqlite://FILE` (created when missing) or `postgres://…` (may hold a password). Env: SEKISHO_DATABASE_URL.
    #[serde(skip_serializing)]
    pub database_url: Secret<String>,
    /// Env: SEKISHO_DATABASE_MAX_CONNECTIONS.
    pub database_max_connections: u32,
    /// A file holding the key-encryption key(s) that seal the secrets stored in the database
    /// (signing keys, the SAML SP key, TOTP secrets): base64 keys of 32 bytes, one per line, the
    /// first sealing, every one opening (`sekisho kek generate` makes one). Empty and no `kek`: a
    /// SQLite database gets a generated `FILE.kek` beside it; PostgreSQL refuses to start.
    /// Env: SEKISHO_KEK_FILE.
    pub kek_file: String,
    /// The same keys given directly (comma-separated), for deployments that pass secrets in the
    /// environment; not both this and `kek_file`. A secret. Env: SEKISHO_KEY_ENCRYPTION_KEY.
    #[serde(skip_serializing)]
    pub key_encryption_key: Secret<String>,
    /// Milliseconds a request waits for a database connection before it gives up with 503 and
    /// `Retry-After` (the database is down or overloaded); /readyz uses the same wait.
    /// PostgreSQL only: SQLite, a local file, keeps a 30 s queue.
    /// Env: SEKISHO_DATABASE_ACQUIRE_TIMEOUT_MS.
    pub database_acquire_timeout_ms: u64,
    /// Lifetimes in seconds. Env: SEKISHO_CODE_TTL, SEKISHO_ACCESS_TOKEN_TTL, …
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub auth_request_ttl: i64,
    pub session_ttl: i64,
    /// Seconds in which a client that lost the answer of a refresh may present the spent refresh
    /// token again (its unused successor is replaced) instead of losing the whole family; 0 =
    /// strict rotation. Env: SEKISHO_REFRESH_REUSE_GRACE.
    pub refresh_reuse_grace: i64,
    /// Every client must push its authorization requests (RFC 9126), not only those registered
    /// to. Env: SEKISHO_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS.
    pub require_pushed_authorization_requests: bool,
    /// Every DPoP proof must carry a fresh server nonce (RFC 9449 §8). Env: SEKISHO_DPOP_REQUIRE_NONCE.
    pub dpop_require_nonce: bool,
    /// argon2id parameters (OWASP minimum by default). Env: SEKISHO_ARGON2_MEMORY_KIB, …
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password hashes run at most this many at once; 0 = one per CPU core. Env: SEKISHO_HASH_POOL_SIZE.
    pub hash_pool_size: usize,
    /// Log filter (tracing EnvFilter syntax). Env: SEKISHO_LOG.
    pub log: String,
    /// `text` (one line per event; colours only on a terminal) or `json` (one JSON object per
    /// line, for a log collector). Env: SEKISHO_LOG_FORMAT.
    pub log_format: LogFormat,
    /// OpenTelemetry collector's OTLP/HTTP traces URL (`http://collector:4318/v1/traces`); empty =
    /// no traces. Env: SEKISHO_OTLP_ENDPOINT.
    pub otlp_endpoint: String,
    /// SHA-256 (base64url, no padding) of the bearer token the Prometheus scraper presents at
    /// `/metrics`; empty = `/metrics` answers 404. Env: SEKISHO_METRICS_TOKEN_HASH.
    pub metrics_token_hash: String,
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
    /// Clients' `jwks_uri` and `backchannel_logout_uri` may point at loopback and private
    /// addresses (and a loopback `jwks_uri` may be plain http): for clients inside the operator's
    /// own network, or development. Off, the server never reaches its own networks for a client. Env: SEKISHO_CLIENT_URLS_ALLOW_INTERNAL.
    pub client_urls_allow_internal: bool,
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
    /// Seconds a client has to send a request's headers (and to complete the TLS handshake),
    /// counted from the connection's start or the previous response; then the connection is
    /// closed. Env: SEKISHO_HEADER_READ_TIMEOUT.
    pub header_read_timeout: u64,
    /// Seconds a connection may stay open with no request in progress (keep-alive); capped in
    /// effect by `header_read_timeout`. Env: SEKISHO_IDLE_TIMEOUT.
    pub idle_timeout: u64,
    /// Seconds a client has to send a request's body after its headers; then the request fails
    /// (400) and the connection is closed. Env: SEKISHO_BODY_READ_TIMEOUT.
    pub body_read_timeout: u64,
    /// Connections served at once, per listener; more wait in the kernel's backlog until one
    /// closes. Env: SEKISHO_MAX_CONNECTIONS.
    pub max_connections: usize,
    /// Seconds the server waits, after SIGTERM or Ctrl-C, for requests in progress and the mail
    /// being sent before it exits. Env: SEKISHO_DRAIN_TIMEOUT.
    pub drain_timeout: u64,
    /// Serve the public listener over HTTPS with this certificate chain and key (PEM files, read
    /// again when they change); both empty = plain HTTP (behind a TLS-terminating proxy).
    /// Env: SEKISHO_TLS_CERT, SEKISHO_TLS_KEY.
    pub tls_cert: String,
    pub tls_key: String,
    /// Proxies (CIDRs such as `10.0.0.0/8`, `127.0.0.1/32`) in front of Sekisho whose
    /// `X-Forwarded-For` is believed for the rate limits' client address; empty = the socket's
    /// peer is the client. Env: SEKISHO_TRUSTED_PROXIES (`["10.0.0.0/8"]`).
    pub trusted_proxies: Vec<String>,
    /// Mails queued to one address per hour at most (counted in the database, so across nodes);
    /// the rest are not queued, and logged (mail bombing). 0 = no cap.
    /// Env: SEKISHO_MAIL_PER_ADDRESS_PER_HOUR.
    pub mail_per_address_per_hour: u32,
    /// Days between scheduled signing-key rotations (staged: published 10 minutes before they
    /// sign); every node checks hourly and one rotates. 0 = only `sekisho keys rotate`.
    /// Env: SEKISHO_KEY_ROTATION_DAYS.
    pub key_rotation_days: u32,
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
            database_url: "sqlite://sekisho.db".into(),
            database_max_connections: 8,
            kek_file: String::new(),
            key_encryption_key: Secret::default(),
            database_acquire_timeout_ms: 2500,
            code_ttl: op.code_ttl,
            access_token_ttl: op.access_token_ttl,
            id_token_ttl: op.id_token_ttl,
            refresh_token_ttl: op.refresh_token_ttl,
            auth_request_ttl: op.auth_request_ttl,
            session_ttl: op.session_ttl,
            refresh_reuse_grace: op.refresh_reuse_grace,
            require_pushed_authorization_requests: op.require_pushed_authorization_requests,
            dpop_require_nonce: op.dpop_require_nonce,
            argon2_memory_kib: m,
            argon2_iterations: t,
            argon2_parallelism: p,
            hash_pool_size: 0,
            log: "info".into(),
            log_format: LogFormat::Text,
            metrics_token_hash: String::new(),
            otlp_endpoint: String::new(),
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
            client_urls_allow_internal: false,
            ad_metadata_refresh: 3600,
            ad_line_base_url: String::new(),
            line_listen: String::new(),
            line_tls_cert: String::new(),
            line_tls_key: String::new(),
            line_client_ca: String::new(),
            header_read_timeout: 10,
            idle_timeout: 5,
            body_read_timeout: 30,
            max_connections: 1024,
            drain_timeout: 20,
            tls_cert: String::new(),
            tls_key: String::new(),
            trusted_proxies: Vec::new(),
            mail_per_address_per_hour: 10,
            key_rotation_days: 90,
            rate_limits: sekisho_web::rate_limit::RateLimits::default(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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
        // The purge deletes a token family a day after its last refresh token expired (or, with
        // none, a day after it was made): an access token must not outlive either.
        anyhow::ensure!(
            self.access_token_ttl <= 86_400 && self.access_token_ttl <= self.refresh_token_ttl,
            "access_token_ttl must be at most a day (86400) and at most refresh_token_ttl"
        );
        // Longer would let a stolen, spent token replace the live one long after the theft;
        // Ory Hydra caps its grace at 5 minutes for the same reason.
        anyhow::ensure!(
            (0..=300).contains(&self.refresh_reuse_grace),
            "refresh_reuse_grace must be 0 to 300 seconds"
        );
        anyhow::ensure!(
            self.database_acquire_timeout_ms > 0,
            "database_acquire_timeout_ms must be positive"
        );
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
        for (name, v) in [
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("drain_timeout", self.drain_timeout),
        ] {
            anyhow::ensure!(v > 0, "{name} must be positive");
        }
        // The purge deletes a token family a day after its last refresh token expired (or, with
        // none, a day after it was made): an access token must not outlive either.
        anyhow::ensure!(
            self.access_token_ttl <= 86_400 && self.access_token_ttl <= self.refresh_token_ttl,
            "access_token_ttl must be at most a day (86400) and at most refresh_token_ttl"
        );
        anyhow::ensure!(
            self.max_connections > 0 && u32::try_from(self.max_connections).is_ok(),
            "max_connections must be between 1 and {}",
            u32::MAX
        );
        anyhow::ensure!(
            self.tls_cert.trim().is_empty() == self.tls_key.trim().is_empty(),
            "set both tls_cert and tls_key, or neither"
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

    /// The limits both listeners serve with.
    pub fn limits(&self) -> crate::serving::Limits {
        use std::time::Duration;
        crate::serving::Limits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            body_read_timeout: Duration::from_secs(self.body_read_timeout),
            max_connections: self.max_connections,
            drain_timeout: Duration::from_secs(self.drain_timeout),
        }
    }

    /// Whether the public listener serves HTTPS itself.
    pub fn serves_tls(&self) -> bool {
        !self.tls_cert.trim().is_empty()
    }

    /// The database pool's size and wait for a connection.
    pub fn pool_settings(&self) -> sekisho_store::PoolSettings {
        sekisho_store::PoolSettings {
            max_connections: self.database_max_connections,
            acquire_timeout: std::time::Duration::from_millis(self.database_acquire_timeout_ms),
        }
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
            refresh_reuse_grace: self.refresh_reuse_grace,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            dpop_require_nonce: self.dpop_require_nonce,
            // `check` refused malformed entries when the configuration was loaded.
            initial_access_tokens: self
                .initial_access_token_hashes
                .iter()
                .filter_map(|e| sekisho_oidc::registration::InitialAccessToken::parse(e).ok())
                .collect(),
            ..sekisho_oidc::OpConfig::default()
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

    // ISSUE-15: the refresh grace is bounded (a long one would let a stolen, spent token take a
    // family over long after the theft), and the connection wait is positive.
    #[test]
    fn fault_settings_are_bounded() {
        let with = |edit: fn(&mut Config)| {
            let mut c = Config::default();
            edit(&mut c);
            c.check()
        };
        assert!(with(|c| c.refresh_reuse_grace = 300).is_ok());
        let e = with(|c| c.refresh_reuse_grace = 301).unwrap_err();
        assert!(e.to_string().contains("refresh_reuse_grace"), "{e}");
        assert!(with(|c| c.refresh_reuse_grace = -1).is_err());
        // Issue 17: the purge deletes a family a day after its last refresh token expired, so an
        // access token may outlive neither.
        assert!(with(|c| c.access_token_ttl = 86_400).is_ok());
        let e = with(|c| c.access_token_ttl = 86_401).unwrap_err();
        assert!(e.to_string().contains("access_token_ttl"), "{e}");
        assert!(with(|c| c.refresh_token_ttl = 600).is_err());
        let e = with(|c| c.database_acquire_timeout_ms = 0).unwrap_err();
        assert!(e.to_string().contains("database_acquire_timeout_ms"), "{e}");
        let settings = Config::default().pool_settings();
        assert_eq!(
            settings.acquire_timeout,
            std::time::Duration::from_millis(2500)
        );
    }

    const SECRET_KEYS: [&str; 4] = [
        "database_url",
        "smtp_url",
        "sms_gateway_authorization",
        "key_encryption_key",
    ];

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
