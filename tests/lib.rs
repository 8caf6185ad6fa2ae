//! Test support for the end-to-end suite: a real Sekisho HTTP server on an ephemeral loopback port
//! (fresh SQLite or PostgreSQL database, fake clock), seed data, and a cookie-keeping "browser".
//!
//! Time: every app starts its clock at [`TEST_EPOCH`] (2030-01-01T00:00:00Z), never at the real
//! time. The real peers that check or stamp times keep to it: the upstream providers start there
//! and follow [`TestClock::advance`]; the relying parties of the suite verify tokens against
//! [`TestClock`] (the `openidconnect` RP through its time function, openid-client through its
//! clock skew, given the clock's "now").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the end-to-end harness, used only by tests: a failed harness step is a test failure"
)]

use anyhow::{anyhow, bail, Context};
use sekisho::admin::{self, NewClient};
use sekisho::config::Config;
use sekisho_core::model::Plan;
use sekisho_core::model::TwoFactorSetting;
use sekisho_core::oauth::TokenEndpointAuthMethod;
use sekisho_core::{Clock, FakeClock, Timestamp, TEST_EPOCH};
use sekisho_notify::{HttpSmsSettings, SmsGateway};
use sekisho_notify::{Mailer, Transport};
use sekisho_oidc::Op;
use sekisho_testkit::{
    Profile, ReceivedMail, SmsGatewayDouble, SmtpSink, UpstreamClock, UpstreamOp,
};
use sekisho_upstream::{Connector, ConnectorSettings};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

pub const BRAND: &str = "VX5";
/// A second brand, for tests of what must stay inside one brand. The server does not create it;
/// every test upstream accepts its callback too, so a round trip can also start there.
pub const OTHER_BRAND: &str = "MDR";
pub const EMAIL: &str = "taro@example.jp";
pub const PASSWORD: &str = "Tokyo-Tower-333";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/bye";
/// The client secret Sekisho has at every test upstream.
pub const UPSTREAM_SECRET: &str = "upstream-secret";
/// The RFC 7591 initial access token every test server accepts (configured as its hash).
pub const INITIAL_ACCESS_TOKEN: &str = "test-initial-access-token-for-dynamic-registration";

/// The connector name (URL segment, login method) a test upstream plays.
pub fn upstream_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Google => "google",
        Profile::Microsoft => "microsoft",
        Profile::DAccount => "daccount",
        Profile::Facebook => "facebook",
    }
}

/// The credentials the test SMS gateway expects from Sekisho.
pub const SMS_GATEWAY_AUTHORIZATION: &str = "Bearer sms-gateway-test-key";

/// The clock of a test and of the server it drives: a [`FakeClock`] started at [`TEST_EPOCH`],
/// which the app's upstream providers follow.
#[derive(Debug)]
pub struct TestClock {
    fake: FakeClock,
    /// The upstream providers' clocks, moved with this one.
    followers: Vec<UpstreamClock>,
}

impl TestClock {
    fn new(followers: Vec<UpstreamClock>) -> Self {
        Self {
            fake: FakeClock::new(TEST_EPOCH),
            followers,
        }
    }

    /// Moves the server's time, and every upstream provider's with it (so the ID tokens they
    /// stamp afterwards agree with the server's "now"). Returns once all have taken it.
    pub fn advance(&self, seconds: i64) {
        self.fake.advance(seconds);
        let now = self.fake.now();
        for upstream in &self.followers {
            upstream
                .set_now(now)
                .unwrap_or_else(|e| panic!("moving an upstream provider's clock: {e:#}"));
        }
    }

    /// Now, as the `SystemTime` that libraries signing tokens take (josekit).
    pub fn system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.now()).expect("after 1970"))
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        self.fake.now()
    }
}

pub struct TestApp {
    pub base: String,
    pub op: Arc<Op>,
    /// The use cases the server runs on (`sekisho_app::App`), for tests that act as the CLI does.
    pub services: sekisho_app::App,
    pub clock: Arc<TestClock>,
    /// The outbox; tests deliver it explicitly with [`TestApp::deliver_mail`] (time is a parameter).
    pub mailer: Mailer,
    /// A real SMTP server (aiosmtpd) the mailer delivers to.
    pub smtp: SmtpSink,
    /// A real HTTP server on loopback playing the SMS gateway; it records each message.
    pub sms: SmsGatewayDouble,
    /// Real upstream OpenID providers (oidc-provider) playing Google, Microsoft, d アカウント and
    /// Facebook, when the test asked for them ([`TestApp::spawn_with_upstreams`]).
    pub upstreams: Vec<UpstreamOp>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A running line entry ([`TestApp::line_entry`]).
pub struct LineEntry {
    pub addr: std::net::SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LineEntry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A registered client as the tests use it: they send the secret, so it is a plain `String`
/// here (the server's `sekisho::admin::RegisteredClient` keeps it in a `Secret`).
#[derive(Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
}

impl From<admin::RegisteredClient> for RegisteredClient {
    fn from(c: admin::RegisteredClient) -> Self {
        Self {
            client_id: c.client_id,
            client_secret: c.client_secret.map(sekisho_core::Secret::into_exposed),
            token_endpoint_auth_method: c.token_endpoint_auth_method,
        }
    }
}

/// The seed every test starts from: brand VX5, one contract with its contractor, one client.
pub struct Seed {
    pub contract_id: String,
    pub user_id: String,
    pub client: RegisteredClient,
}

/// What a test may set on the server beyond the defaults (the production defaults otherwise).
#[derive(Clone)]
pub struct Limits {
    pub rate_limits: sekisho_web::rate_limit::RateLimits,
    /// CIDRs whose `X-Forwarded-For` the server believes.
    pub trusted_proxies: Vec<String>,
    /// Mails per address per hour; 0 = no cap.
    pub mail_per_address_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        let config = Config::default();
        Self {
            rate_limits: config.rate_limits,
            trusted_proxies: config.trusted_proxies,
            mail_per_address_per_hour: config.mail_per_address_per_hour,
        }
    }
}

impl TestApp {
    /// A server on a fresh SQLite database.
    pub async fn spawn() -> Self {
        Self::spawn_on(&sekisho_testkit::fresh_sqlite_url().expect("sqlite")).await
    }

    pub async fn spawn_on(database_url: &str) -> Self {
        Self::spawn_full(database_url, &[], Vec::new(), |_| {}).await
    }

    /// A server on `database_url` whose configuration `edit` adjusts (grace periods, timeouts).
    pub async fn spawn_configured(database_url: &str, edit: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_full(database_url, &[], Vec::new(), edit).await
    }

    /// A server on a fresh SQLite database with these rate limits, trusted proxies and mail cap.
    pub async fn spawn_with_limits(limits: Limits) -> Self {
        let url = sekisho_testkit::fresh_sqlite_url().expect("sqlite");
        Self::spawn_full(&url, &[], Vec::new(), |c| {
            c.rate_limits = limits.rate_limits;
            c.trusted_proxies = limits.trusted_proxies;
            c.mail_per_address_per_hour = limits.mail_per_address_per_hour;
        })
        .await
    }

    /// A server whose login page offers these upstreams, each a real provider on loopback whose
    /// client is `sekisho-<name>` / `upstream-secret` (name: google, microsoft, daccount, facebook).
    pub async fn spawn_with_upstreams(profiles: &[Profile]) -> Self {
        let url = sekisho_testkit::fresh_sqlite_url().expect("sqlite");
        Self::spawn_full(&url, profiles, Vec::new(), |_| {}).await
    }

    /// A server with these connectors (for upstreams a test plays itself).
    pub async fn spawn_with_connectors(connectors: Vec<ConnectorSettings>) -> Self {
        let url = sekisho_testkit::fresh_sqlite_url().expect("sqlite");
        Self::spawn_full(&url, &[], connectors, |_| {}).await
    }

    async fn spawn_full(
        database_url: &str,
        profiles: &[Profile],
        extra: Vec<ConnectorSettings>,
        edit: impl FnOnce(&mut Config),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = Config {
            public_url: base.clone(),
            database_url: database_url.into(),
            // Cheap hashes keep the suite fast; the production parameters have their own tests.
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            hash_pool_size: 2,
            initial_access_token_hashes: vec![sekisho_crypto::tokens::hash_token(
                INITIAL_ACCESS_TOKEN,
            )],
            // Every suite runs with the stored secrets sealed, on SQLite and PostgreSQL alike.
            key_encryption_key: sekisho_crypto::kek::Kek::generate().into(),
            ..Config::default()
        };
        edit(&mut config);
        // The upstream providers first: the clock moves them.
        let callbacks = [BRAND, OTHER_BRAND].map(|b| format!("{base}/{b}/upstream/callback"));
        let mut upstreams = Vec::new();
        for profile in profiles {
            let name = upstream_name(*profile);
            upstreams.push(
                UpstreamOp::start_at(
                    *profile,
                    &format!("sekisho-{name}"),
                    UPSTREAM_SECRET,
                    &callbacks,
                    TEST_EPOCH,
                )
                .expect("upstream provider (scripts/test installs tests/upstream)"),
            );
        }
        let clock = Arc::new(TestClock::new(
            upstreams.iter().map(UpstreamOp::clock).collect(),
        ));
        let op = sekisho::server::build_op(&config, clock.clone())
            .await
            .expect("op");
        op.keys.ensure_keys().await.expect("keys");
        // As the server does: this node forgets what any node (or process) changed.
        sekisho::server::spawn_change_follower(op.clone())
            .await
            .expect("change feed");
        let smtp = SmtpSink::start().expect("aiosmtpd (scripts/test installs it)");
        let transport = Transport::smtp(&smtp.url()).expect("smtp transport");
        let mailer = Mailer::new(
            op.store.clone(),
            clock.clone(),
            transport,
            "noreply@sekisho.test".into(),
        )
        .with_hourly_cap(config.mail_per_address_per_hour);
        let sms = SmsGatewayDouble::start().expect("SMS gateway double (python3)");
        let gateway = SmsGateway::http(HttpSmsSettings {
            url: sms.url(),
            authorization: Some(SMS_GATEWAY_AUTHORIZATION.into()),
            body_template: r#"{"to": {{ to }}, "text": {{ text }}}"#.into(),
            content_type: "application/json".into(),
        })
        .expect("SMS gateway");
        let mut connectors = Vec::new();
        for (profile, op_up) in profiles.iter().zip(&upstreams) {
            let name = upstream_name(*profile);
            let mut settings = ConnectorSettings {
                name: name.into(),
                kind: name.into(),
                client_id: format!("sekisho-{name}"),
                client_secret: UPSTREAM_SECRET.into(),
                ..ConnectorSettings::default()
            };
            match profile {
                Profile::Facebook => {
                    settings.authorization_url = op_up.authorization_endpoint();
                    settings.token_url = op_up.token_endpoint();
                    settings.graph_url = op_up.graph_url().expect("graph").to_owned();
                    settings.issuer = "https://www.facebook.com".into();
                }
                Profile::Microsoft => {
                    settings.discovery_url =
                        op_up.discovery_common_url().expect("common").to_owned();
                }
                _ => settings.discovery_url = op_up.discovery_url().to_owned(),
            }
            connectors.push(Connector::new(settings, clock.clone()).expect("connector"));
        }
        for settings in extra {
            connectors.push(Connector::new(settings, clock.clone()).expect("connector"));
        }
        let services = sekisho_app::App::new(op.clone(), mailer.clone(), gateway)
            .with_upstreams(connectors)
            .with_ad(sekisho_app::active_directory::AdSettings {
                // The test IdP (pysaml2 playing ADFS) serves plain http on loopback.
                allow_loopback: true,
                ..Default::default()
            })
            // The back-channel receivers of the tests listen on loopback; whether the server
            // may reach loopback at all follows the configuration (default: no).
            .with_rp_logout(sekisho_notify::rp_logout::RpNotifier::new(
                config.client_urls_allow_internal,
            ));
        let state = sekisho_web::AppState::new(services.clone(), None).with_rate_limits(
            &config.rate_limits,
            config.trusted_proxies().expect("trusted proxies"),
        );
        let app = sekisho_web::router(state);
        // The binary's own accept loop, with its default limits (timeouts, connection cap) and
        // the peer address as `ConnectInfo`; it serves until the task is aborted.
        let server = tokio::spawn(sekisho::serving::serve(
            "public",
            listener,
            sekisho::serving::Tls::Plain,
            app,
            Config::default().limits(),
            sekisho::serving::stop_signal().1,
        ));
        Self {
            base,
            op,
            services,
            clock,
            mailer,
            smtp,
            sms,
            upstreams,
            server,
        }
    }

    /// Delivers every due mail to the SMTP sink now and returns what the sink holds.
    pub async fn deliver_mail(&self) -> Vec<ReceivedMail> {
        // Mail that requests queue after their answer (forgot-password) is queued first.
        self.services.settled().await;
        self.mailer.deliver_due().await.expect("deliver");
        self.smtp.messages().expect("maildir")
    }

    /// Delivers the back-channel logouts due on the test clock (the server's worker runs every
    /// 10 s of wall time; tests call this instead); returns how many were delivered.
    pub async fn deliver_logouts(&self) -> usize {
        self.services.settled().await;
        sekisho_app::backchannel::deliver_due(&self.services)
            .await
            .expect("deliver logouts")
    }

    /// Starts the line entry (回線認証): Sekisho's mutual-TLS listener with `pki`'s server
    /// certificate, accepting only clients signed by `pki`'s CA (the carrier gateway), serving the
    /// same app. Stops when the returned value is dropped.
    pub async fn line_entry(&self, pki: &sekisho_testkit::TestPki) -> LineEntry {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        self.line_entry_with(pki, tcp, self.services.clone())
    }

    /// [`TestApp::line_entry`] on a listener bound beforehand (so the gateway and the upstream
    /// providers can be told its address first), serving `services` (this app's, possibly with
    /// other upstream connectors: the same store and clock).
    pub fn line_entry_with(
        &self,
        pki: &sekisho_testkit::TestPki,
        tcp: tokio::net::TcpListener,
        services: sekisho_app::App,
    ) -> LineEntry {
        let tls = sekisho::line_entry::LineTls {
            cert_file: pki.server_cert.display().to_string(),
            key_file: pki.server_key.display().to_string(),
            client_ca_file: pki.ca_cert.display().to_string(),
        };
        let acceptor = sekisho::line_entry::acceptor(&tls).expect("line entry TLS");
        let addr = tcp.local_addr().expect("addr");
        let router = sekisho_web::line_entry_router(sekisho_web::AppState::new(services, None));
        let server = tokio::spawn(sekisho::serving::serve(
            "line entry",
            tcp,
            sekisho::serving::Tls::Fixed(std::sync::Arc::new(acceptor)),
            router,
            Config::default().limits(),
            sekisho::serving::stop_signal().1,
        ));
        LineEntry { addr, server }
    }

    pub fn issuer(&self) -> String {
        format!("{}/{BRAND}", self.base)
    }

    /// Brand VX5, a contract whose contractor is EMAIL/PASSWORD, and a confidential client.
    /// The contract has two-step verification off, so that tests of other features log in with
    /// the password alone; [`TestApp::seed_two_factor`] is the default contract (2FA on).
    pub async fn seed(&self) -> Seed {
        let seed = self.seed_two_factor().await;
        self.op
            .store
            .set_contract_two_factor(&seed.contract_id, TwoFactorSetting::Disabled)
            .await
            .expect("2FA off");
        seed
    }

    /// [`TestApp::seed`] with the contract as created: two-step verification enabled.
    pub async fn seed_two_factor(&self) -> Seed {
        admin::add_brand(&self.op, BRAND, "OTクラウド・ストレージ")
            .await
            .expect("brand");
        let c = admin::create_contract(
            &self.op,
            BRAND,
            "テスト株式会社",
            EMAIL,
            PASSWORD,
            Plan::Basic,
        )
        .await
        .expect("contract");
        let client = self.client(|_| {}).await;
        Seed {
            contract_id: c.contract_id,
            user_id: c.user_id,
            client,
        }
    }

    /// Registers a client with REDIRECT_URI and POST_LOGOUT_URI, adjusted by `edit`.
    pub async fn client(&self, edit: impl FnOnce(&mut NewClient)) -> RegisteredClient {
        let mut c = NewClient::confidential(BRAND, "Test RP", REDIRECT_URI);
        c.post_logout_redirect_uris = vec![POST_LOGOUT_URI.into()];
        edit(&mut c);
        admin::register_client(&self.op, c)
            .await
            .expect("client")
            .into()
    }
}

/// A browser: keeps cookies, never follows redirects by itself (tests look at each hop).
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { http }
    }

    pub async fn get(&self, url: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.http.get(url).send().await?)
    }

    /// Follows redirects from `url` until one leaves `base` (the OP), or a page answers.
    /// Returns the last response and the URL it came from.
    pub async fn follow(&self, base: &str, url: &str) -> anyhow::Result<Hop> {
        let mut url = url.to_owned();
        for _ in 0..10 {
            let res = self.get(&url).await?;
            if let Some(next) = location(&res, &url)? {
                if !under(&next, base) {
                    return Ok(Hop::LeftOp(Url::parse(&next)?));
                }
                url = next;
                continue;
            }
            let status = res.status();
            return Ok(Hop::Page {
                url,
                status,
                body: res.text().await?,
            });
        }
        bail!("too many redirects")
    }

    /// Walks a whole login: authorize URL → login page → POST credentials → back at the RP.
    /// Returns the URL the OP sent the browser to (the RP's redirect URI with code or error).
    pub async fn login(
        &self,
        base: &str,
        authorize_url: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<Url> {
        match self.follow(base, authorize_url).await? {
            Hop::LeftOp(url) => Ok(url),
            Hop::Page { body, .. } => {
                let after = self.submit_login(base, &body, email, password).await?;
                match after {
                    Hop::LeftOp(url) => Ok(url),
                    Hop::Page { status, body, .. } => Err(anyhow!(
                        "login did not complete: {status}: {}",
                        excerpt(&body)
                    )),
                }
            }
        }
    }

    /// Submits the login form found in `page` with these credentials, then follows redirects.
    pub async fn submit_login(
        &self,
        base: &str,
        page: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<Hop> {
        let action = form_action(page).context("no form on the page")?;
        let mut fields = hidden_inputs(page);
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        self.post(base, &action, &fields).await
    }

    /// POSTs a form to `path` (on `base`), then follows redirects as a browser would.
    pub async fn post(
        &self,
        base: &str,
        path: &str,
        fields: &[(String, String)],
    ) -> anyhow::Result<Hop> {
        let post_url = format!("{base}{path}");
        let res = self.http.post(&post_url).form(fields).send().await?;
        match location(&res, &post_url)? {
            Some(next) if under(&next, base) => self.follow(base, &next).await,
            Some(next) => Ok(Hop::LeftOp(Url::parse(&next)?)),
            None => {
                let status = res.status();
                Ok(Hop::Page {
                    url: post_url,
                    status,
                    body: res.text().await?,
                })
            }
        }
    }

    /// Walks a login at an upstream provider (oidc-provider) from `start` as `sub`
    /// (`sekisho_testkit::upstream_login`); returns the first URL that leads back under `back`
    /// (Sekisho's callback with `code` and `state`, or an error).
    pub async fn upstream_login(
        &self,
        start: &str,
        sub: &str,
        back: &str,
    ) -> anyhow::Result<String> {
        let done =
            sekisho_testkit::upstream_login::login(&self.http, Url::parse(start)?, back, sub).await;
        Ok(done.callback.to_string())
    }

    /// Presses the button `label` of `html` as a browser would: posts its form (on `base`) with
    /// the form's hidden fields (CSRF token, ticket), then follows redirects.
    pub async fn press(&self, base: &str, html: &str, label: &str) -> anyhow::Result<Hop> {
        let at = html
            .find(&format!(">{label}</button>"))
            .with_context(|| format!("no button {label} in {}", excerpt(html)))?;
        let start = html[..at].rfind("<form").context("the button's form")?;
        let end = at + html[at..].find("</form>").context("the form's end")?;
        let form = &html[start..end];
        let action = form_action(form).context("the form's action")?;
        self.post(base, &action, &hidden_inputs(form)).await
    }

    /// A browser whose cookie jar the test can also write to.
    pub fn with_jar(jar: Arc<reqwest::cookie::Jar>) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { http }
    }
}

#[derive(Debug)]
pub enum Hop {
    /// The OP redirected the browser away (to an RP).
    LeftOp(Url),
    /// The OP answered with a page.
    Page {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

fn location(res: &reqwest::Response, from: &str) -> anyhow::Result<Option<String>> {
    if !res.status().is_redirection() {
        return Ok(None);
    }
    let loc = res
        .headers()
        .get("location")
        .context("redirect without Location")?
        .to_str()?;
    Ok(Some(Url::parse(from)?.join(loc)?.to_string()))
}

/// Whether `url` is `base` or below it (`http://127.0.0.1:4521` is not under `…:452`).
fn under(url: &str, base: &str) -> bool {
    url == base || url.starts_with(&format!("{}/", base.trim_end_matches('/')))
}

fn excerpt(body: &str) -> String {
    body.chars().take(400).collect()
}

/// The `action` of the first form (HTML-unescaped).
pub fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    Some(unescape(attr(&form[..form.find('>')?], "action")?))
}

/// Every `<input type="hidden" name=… value=…>` of the page, in order.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|chunk| {
            let tag = &chunk[..chunk.find('>')?];
            (attr(tag, "type")? == "hidden").then(|| {
                Some((
                    unescape(attr(tag, "name")?),
                    unescape(attr(tag, "value").unwrap_or("")),
                ))
            })?
        })
        .collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(&tag[start..start + tag[start..].find('"')?])
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The text of the element with `id` (`<code id="x">text</code>`).
///
/// # Panics
/// When the page has no such element.
pub fn element_text(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", excerpt(html)));
    let rest = &html[start..];
    let open = rest.find('>').expect("the element's tag ends") + 1;
    let close = rest.find("</").expect("the element ends");
    rest[open..close].to_owned()
}

/// The page's CSRF token field, then `more`: the fields of a form post.
///
/// # Panics
/// When the page has no `csrf_token`.
pub fn fields(html: &str, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let csrf = hidden_inputs(html)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v)
        .expect("a csrf_token");
    let mut f = vec![("csrf_token".to_owned(), csrf)];
    f.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    f
}

/// The `href` of the link or button whose text is `label` (HTML-unescaped).
///
/// # Panics
/// When the page has no such link.
pub fn href_of(html: &str, label: &str) -> String {
    let at = html
        .find(&format!(">{label}<"))
        .unwrap_or_else(|| panic!("no {label} in {}", excerpt(html)));
    let tag = &html[html[..at].rfind("<a").expect("a link")..at];
    let start = tag.find("href=\"").expect("an href") + 6;
    unescape(&tag[start..start + tag[start..].find('"').expect("the href ends")])
}

/// The first link in a mail body that starts with `prefix`.
pub fn link_in(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(prefix)?;
    let rest = &body[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// The PKCE verifier of the suites' code flows (its S256 challenge is in [`code_flow_url`]).
pub const PKCE_VERIFIER: &str = "a-long-enough-pkce-code-verifier-of-at-least-43-characters-0123";

/// An authorization URL at `issuer` for `client_id` asking `scope`, with PKCE S256 (from
/// [`PKCE_VERIFIER`]), state `st`, nonce `n` and [`REDIRECT_URI`], plus `extra` parameters.
pub fn code_flow_url(issuer: &str, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&format!("{issuer}/authorize")).expect("an issuer URL");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope)
            .append_pair("state", "st")
            .append_pair("nonce", "n")
            .append_pair(
                "code_challenge",
                &sekisho_crypto::tokens::pkce_s256(PKCE_VERIFIER),
            )
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// The query parameters of a URL as a map.
pub fn query(url: &Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}
