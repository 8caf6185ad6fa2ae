//! Sekisho's use cases, with no HTTP: what happens when someone logs in, proves a second factor,
//! binds an upstream account, opens a mailed link or manages a contract's users.
//!
//! Boundary: no axum, tower or hyper here (`scripts/test` checks the dependency tree). The web
//! crate turns requests into calls of this crate and its outcomes into responses; the CLI calls
//! the same functions, so an operator cannot bypass a rule the web keeps.
//!
//! The shape of a login: every identity source (password, upstream OIDC/OAuth 2.0, and the coming
//! SAML and line gateway) ends in [`pipeline::complete`], which applies the user's and contract's
//! state, the two-step policy and the client's `acr_values`, and answers one [`pipeline::LoginOutcome`].

pub mod active_directory;
pub mod audit;
pub mod backchannel;
pub mod client_keys;
pub mod directory;
pub mod federation;
pub mod line_recovery;
pub mod lines;
mod login;
pub mod metrics;
pub mod pipeline;
pub mod second_step;
pub mod session;
pub mod signin;
pub mod tickets;

use sekisho_notify::{Mailer, SmsGateway};
use sekisho_oidc::{OAuthError, Op};
use sekisho_upstream::Connector;
use std::sync::Arc;

/// An internal failure (database, hashing, mail queue): logged, never shown.
pub type Error = OAuthError;
pub type Result<T> = std::result::Result<T, Error>;

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub op: Arc<Op>,
    pub mailer: Mailer,
    /// Where two-step verification codes go by SMS.
    pub sms: SmsGateway,
    /// The upstream logins of this deployment (Google, Microsoft, d アカウント, Facebook).
    pub upstreams: Arc<Vec<Connector>>,
    /// Active Directory login settings.
    pub ad: Arc<active_directory::AdSettings>,
    /// Delivers logout tokens to relying parties ([`backchannel`]).
    pub rp_logout: sekisho_notify::rp_logout::RpNotifier,
    /// Work handed off by requests ([`App::spawn_background`]).
    background: Arc<Background>,
}

/// The count of background tasks running, and a wake-up for those waiting until none is.
#[derive(Default)]
struct Background {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Counts a background task as finished when dropped, even if it did not run to its end.
struct Running(Arc<Background>);

impl Drop for Running {
    fn drop(&mut self) {
        if self
            .0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}

impl App {
    pub fn new(op: Arc<Op>, mailer: Mailer, sms: SmsGateway) -> Self {
        Self {
            op,
            mailer,
            sms,
            upstreams: Arc::new(Vec::new()),
            ad: Arc::new(active_directory::AdSettings::default()),
            rp_logout: sekisho_notify::rp_logout::RpNotifier::new(false),
            background: Arc::default(),
        }
    }

    /// Delivers back-channel logouts with `notifier` (its `allow_internal` from the config).
    pub fn with_rp_logout(mut self, notifier: sekisho_notify::rp_logout::RpNotifier) -> Self {
        self.rp_logout = notifier;
        self
    }

    /// Runs `work` after the answer instead of before it, for work whose duration would tell a
    /// visitor something (whether an address is registered: the forgot-password mail, issue 15).
    /// `work` logs its own failures.
    pub fn spawn_background<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.background
            .running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let running = Running(self.background.clone());
        tokio::spawn(async move {
            work.await;
            drop(running);
        });
    }

    /// Returns once no background work is running (tests before reading the outbox; shutdown).
    pub async fn settled(&self) {
        loop {
            let idle = self.background.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self
                .background
                .running
                .load(std::sync::atomic::Ordering::SeqCst)
                == 0
            {
                return;
            }
            idle.await;
        }
    }

    /// With these Active Directory login settings.
    pub fn with_ad(mut self, settings: active_directory::AdSettings) -> Self {
        self.ad = Arc::new(settings);
        self
    }

    /// With these upstream logins (in the order of the login page's buttons).
    pub fn with_upstreams(mut self, upstreams: Vec<Connector>) -> Self {
        self.upstreams = Arc::new(upstreams);
        self
    }

    /// The upstream connector named `name` (the path segment), if configured.
    pub fn upstream(&self, name: &str) -> Option<&Connector> {
        self.upstreams.iter().find(|c| c.name() == name)
    }

    pub fn now(&self) -> i64 {
        self.op.now()
    }
}
