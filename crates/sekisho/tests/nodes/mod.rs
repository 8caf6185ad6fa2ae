//! Several real `sekisho serve` processes on one PostgreSQL behind Debian's nginx (round robin, no
//! sticky sessions), as production runs them (issue 17): the cluster the tests of
//! `three_nodes.rs` drive. Every node has the same configuration (the key-encryption key among
//! it), mail goes to a real SMTP sink (`aiosmtpd`) and the Google login to a real upstream
//! provider (`oidc-provider`), both on the wall clock like the nodes.

use sekisho::admin::{self, NewClient};
use sekisho::config::Config;
use sekisho_core::model::Role;
use sekisho_core::oauth::GrantType;
use sekisho_e2e::{BRAND, PASSWORD, POST_LOGOUT_URI, REDIRECT_URI, UPSTREAM_SECRET};
use sekisho_testkit::{LoadBalancer, Profile, ReceivedMail, SmtpSink, UpstreamOp};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on the waits for a process to start or a mail to arrive (wall time: real processes).
const WITHIN: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(25);

pub const HANAKO: &str = "hanako@example.jp";
pub const JIRO: &str = "jiro@example.jp";

/// A `sekisho serve` process; SIGKILLed on drop.
pub struct Node {
    pub port: u16,
    child: Child,
}

impl Node {
    /// `http://127.0.0.1:PORT`: the node itself, bypassing the load balancer.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the seed made, as an RP and an operator know it.
pub struct Seeded {
    pub contract_id: String,
    /// The storage RP: confidential, code flow with refresh tokens.
    pub rp: (String, String),
    /// A service client with scope `sekisho:operator` (brands and clients).
    pub operator: (String, String),
    /// A service client with scope `sekisho:admin` for the contract's users.
    pub admin: (String, String),
    pub hanako: String,
}

pub struct Cluster {
    dir: PathBuf,
    /// The configuration every node (and the CLI) gets, as environment variables.
    env: Vec<(String, String)>,
    pub lb: LoadBalancer,
    pub nodes: Vec<Node>,
    /// The load balancer's URL: the public URL of every node.
    pub base: String,
    pub smtp: SmtpSink,
    _upstream: UpstreamOp,
    pub seeded: Seeded,
}

impl Cluster {
    /// Seeds a fresh PostgreSQL database, then starts `n` nodes on it behind the load balancer
    /// and waits until each answers.
    pub async fn start(n: usize) -> Self {
        let dir = sekisho_testkit::target_dir()
            .join("test-nodes")
            .join(sekisho_testkit::unique_name("cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let database_url = sekisho_testkit::fresh_postgres_database().expect("PostgreSQL");
        let ports: Vec<u16> = (0..n).map(|_| LoadBalancer::free_port().unwrap()).collect();
        let addrs: Vec<SocketAddr> = ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect();
        let lb = LoadBalancer::start(&addrs).expect("nginx as the load balancer");
        let base = lb.url();
        let smtp = SmtpSink::start().expect("aiosmtpd");
        let upstream = UpstreamOp::start(
            Profile::Google,
            "sekisho-google",
            UPSTREAM_SECRET,
            &[format!("{base}/{BRAND}/upstream/callback")],
        )
        .expect("oidc-provider as Google");
        let kek = sekisho_crypto::kek::Kek::generate();
        let kek: sekisho_core::secret::Secret<String> = kek.into();
        let upstreams = format!(
            "[{{name=\"google\", kind=\"google\", client_id=\"sekisho-google\", \
             client_secret=\"{UPSTREAM_SECRET}\", discovery_url=\"{}\"}}]",
            upstream.discovery_url()
        );
        let env: Vec<(String, String)> = [
            ("SEKISHO_DATABASE_URL", database_url.clone()),
            ("SEKISHO_DATABASE_MAX_CONNECTIONS", "4".into()),
            ("SEKISHO_PUBLIC_URL", base.clone()),
            ("SEKISHO_KEY_ENCRYPTION_KEY", kek.expose().clone()),
            ("SEKISHO_ARGON2_MEMORY_KIB", "1024".into()),
            ("SEKISHO_ARGON2_ITERATIONS", "1".into()),
            ("SEKISHO_LOG", "warn".into()),
            ("SEKISHO_SMTP_URL", smtp.url()),
            (
                "SEKISHO_SMS_OUTBOX_DIR",
                dir.join("sms").display().to_string(),
            ),
            ("SEKISHO_UPSTREAMS", upstreams),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = Config {
            public_url: base.clone(),
            database_url: database_url.into(),
            key_encryption_key: kek,
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Config::default()
        };
        let seeded = seed(&config).await;
        let mut cluster = Self {
            dir,
            env,
            lb,
            nodes: Vec::new(),
            base,
            smtp,
            _upstream: upstream,
            seeded,
        };
        for port in ports {
            let node = cluster.spawn(port);
            cluster.nodes.push(node);
        }
        for node in &cluster.nodes {
            crate::load::wait_until_serving(&node.url(), BRAND).await;
        }
        cluster
    }

    fn spawn(&self, port: u16) -> Node {
        let child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .arg("serve")
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("SEKISHO_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the sekisho binary");
        Node { port, child }
    }

    /// Runs the CLI (`sekisho --json ARGS`) with the nodes' configuration; its JSON answer.
    pub fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .arg("--json")
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("the sekisho binary");
        assert!(
            out.status.success(),
            "sekisho {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    }

    /// The first mail to `to` whose body holds a link starting with `prefix`, waiting (bounded)
    /// for a node's mail worker to deliver it.
    #[allow(
        clippy::disallowed_methods,
        reason = "waits (bounded, in wall time) for another process to deliver a mail"
    )]
    pub async fn link_mailed_to(&self, to: &str, prefix: &str) -> String {
        let deadline = Instant::now() + WITHIN;
        loop {
            let mails: Vec<ReceivedMail> = self.smtp.messages().expect("maildir");
            if let Some(link) = mails
                .iter()
                .filter(|m| m.to.contains(to))
                .find_map(|m| sekisho_e2e::link_in(&m.body, prefix))
            {
                return link;
            }
            assert!(Instant::now() < deadline, "no mail to {to} with {prefix}");
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Brand VX5; a contract (two-step verification on, as created) whose contractor is EMAIL and
/// whose users are hanako and jiro (passwords); the storage RP; the service clients.
async fn seed(config: &Config) -> Seeded {
    let (op, contract) = crate::load::brand_and_contract(config).await;
    let mut hanako = String::new();
    for (email, name) in [(HANAKO, "花子"), (JIRO, "次郎")] {
        let id = admin::add_user(
            &op,
            &contract.contract_id,
            email,
            PASSWORD,
            Role::User,
            name,
        )
        .await
        .unwrap();
        if email == HANAKO {
            hanako = id;
        }
    }
    let mut rp = NewClient::confidential(BRAND, "Storage", REDIRECT_URI);
    rp.post_logout_redirect_uris = vec![POST_LOGOUT_URI.into()];
    let rp = admin::register_client(&op, rp).await.unwrap();
    let service = |scope: &str, contract: Option<&str>| {
        let mut c = NewClient::confidential(BRAND, scope, REDIRECT_URI);
        c.redirect_uris.clear();
        c.grant_types = vec![GrantType::ClientCredentials];
        c.scope = Some(scope.into());
        c.contract_id = contract.map(String::from);
        c
    };
    let operator = admin::register_client(&op, service("sekisho:operator", None))
        .await
        .unwrap();
    let admin_client =
        admin::register_client(&op, service("sekisho:admin", Some(&contract.contract_id)))
            .await
            .unwrap();
    op.store.close().await;
    let pair = |c: admin::RegisteredClient| (c.client_id, c.client_secret.unwrap().into_exposed());
    Seeded {
        contract_id: contract.contract_id,
        rp: pair(rp),
        operator: pair(operator),
        admin: pair(admin_client),
        hanako,
    }
}
