//! Wiring: configuration → store, keys, hasher → the OP → the use cases (`sekisho_app::App`) →
//! the HTTP app.

use crate::config::Config;
use crate::serving;
use sekisho_core::{Clock, SystemClock};
use sekisho_crypto::{KeyRing, PasswordHasher};
use sekisho_oidc::Op;
use sekisho_store::Store;
use std::sync::Arc;

/// Opens the database (migrating it), with the key-encryption key, and builds the OP around it.
pub async fn build_op(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<Op>> {
    let store = open_store(config).await?;
    build_op_with(config, store, clock)
}

/// Opens the database (migrating it) with the configured key-encryption key, then checks that
/// the key opens every stored secret and seals those still in clear (ISSUE-15: secrets at rest).
/// A missing or wrong key stops here, with a message naming the setting.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let mut store = Store::open_with(config.database_url.expose(), config.pool_settings()).await?;
    if let Some(kek) = crate::kek::load(config)? {
        store = store.with_cipher(kek);
    }
    let report = store
        .seal_secrets(false)
        .await
        .map_err(crate::kek::explain)?;
    if report.sealed > 0 {
        tracing::warn!(
            sealed = report.sealed,
            kek = ?report.key_id,
            "sealed the secrets stored in clear with the key-encryption key"
        );
    }
    Ok(store)
}

pub fn build_op_with(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<Op>> {
    let op_config = config.op_config();
    let keys = Arc::new(KeyRing::new(
        store.clone(),
        clock.clone(),
        op_config.key_overlap(),
    ));
    let passwords = PasswordHasher::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
        config.hash_pool_size,
    )?;
    let remote_keys = sekisho_app::client_keys::FetchClientKeys {
        allow_internal: config.client_urls_allow_internal,
    };
    Ok(Arc::new(
        Op::new(store, keys, clock, passwords, op_config).with_remote_keys(Arc::new(remote_keys)),
    ))
}

/// Serves until Ctrl-C / SIGTERM, then shuts down gracefully: both listeners stop accepting,
/// requests in progress are answered and the mail being sent is finished, within
/// `drain_timeout`. Keys missing for an algorithm are generated first.
pub async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let op = build_op(config, Arc::new(SystemClock)).await?;
    let made = op.keys.ensure_keys().await?;
    if !made.is_empty() {
        tracing::info!(kids = ?made, "generated signing keys");
    }
    if demo {
        crate::demo::seed(&op).await?;
    }
    spawn_housekeeping(op.clone());
    spawn_change_follower(op.clone()).await?;
    spawn_key_rotation(op.clone(), config.key_rotation_days);
    let limits = config.limits();
    let public_tls = if config.serves_tls() {
        serving::Tls::Reloading(Arc::new(serving::ReloadingTls::new(
            config.tls_cert.trim(),
            config.tls_key.trim(),
        )?))
    } else {
        serving::Tls::Plain
    };
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    tracing::info!(listen = %config.listen, public_url = %config.public_url, tls = config.serves_tls(), "serving");
    let app = build_app(config, op)?;
    let mail = app.mailer.spawn_worker();
    spawn_metadata_refresh(app.clone());
    spawn_backchannel_logouts(app.clone());
    let templates =
        (!config.templates_dir.is_empty()).then(|| std::path::PathBuf::from(&config.templates_dir));
    let state = sekisho_web::AppState::new(app, templates)
        .with_metrics_token_hash(&config.metrics_token_hash)
        .with_rate_limits(&config.rate_limits, config.trusted_proxies()?);
    let (stop, stopping) = serving::stop_signal();
    let mut listeners = Vec::new();
    if !config.line_listen.trim().is_empty() {
        let tls = crate::line_entry::LineTls {
            cert_file: config.line_tls_cert.clone(),
            key_file: config.line_tls_key.clone(),
            client_ca_file: config.line_client_ca.clone(),
        };
        let acceptor = crate::line_entry::acceptor(&tls)
            .map_err(|e| anyhow::anyhow!("line entry TLS ({tls:?}): {e}"))?;
        let tcp = tokio::net::TcpListener::bind(&config.line_listen).await?;
        tracing::info!(listen = %config.line_listen, "line entry (mutual TLS) serving");
        let router = sekisho_web::line_entry_router(state.clone());
        listeners.push(tokio::spawn(serving::serve(
            "line entry",
            tcp,
            serving::Tls::Fixed(Arc::new(acceptor)),
            router,
            limits,
            stopping.clone(),
        )));
    }
    let background = state.app.clone();
    let router = sekisho_web::router(state);
    listeners.push(tokio::spawn(serving::serve(
        "public", listener, public_tls, router, limits, stopping,
    )));
    shutdown().await;
    stop.send_replace(true);
    // The listeners bound their own drain by `drain_timeout`; the work requests handed off (a
    // forgot-password mail to queue) and then the mail being sent get the same time, in
    // parallel. A mail cut off is sent again after its lease (never lost).
    let mail = async {
        let finish = async {
            background.settled().await;
            mail.stop().await;
        };
        if tokio::time::timeout(limits.drain_timeout, finish)
            .await
            .is_err()
        {
            tracing::warn!("drain time over while a mail was being sent; it will be sent again");
        }
    };
    let (_, listeners) = tokio::join!(mail, futures_join_all(listeners));
    for ended in listeners {
        if let Err(e) = ended {
            tracing::error!(error = %e, "a listener ended abnormally");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Awaits every task, in order (they run concurrently regardless).
async fn futures_join_all<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await);
    }
    out
}

/// The use cases around the OP: mail (queued; the server's worker delivers it), SMS and the
/// upstream logins, from the configuration. The server and the CLI build the same one.
pub fn build_app(config: &Config, op: Arc<Op>) -> anyhow::Result<sekisho_app::App> {
    let mailer = mailer(config, &op)?;
    let sms = sms_gateway(config, op.clock.clone())?;
    let upstreams = config
        .upstreams
        .iter()
        .cloned()
        .map(|settings| sekisho_upstream::Connector::new(settings, op.clock.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("upstreams: {e}"))?;
    let ad = sekisho_app::active_directory::AdSettings {
        allow_loopback: config.ad_allow_loopback,
        refresh_every: config.ad_metadata_refresh.max(60),
        line_base_url: Some(config.ad_line_base_url.trim().to_owned()).filter(|u| !u.is_empty()),
    };
    Ok(sekisho_app::App::new(op, mailer, sms)
        .with_upstreams(upstreams)
        .with_ad(ad)
        .with_rp_logout(sekisho_notify::rp_logout::RpNotifier::new(
            config.client_urls_allow_internal,
        )))
}

/// The outbox and where it delivers: SMTP when `smtp_url` is set, else `.eml` files.
pub fn mailer(config: &Config, op: &Op) -> anyhow::Result<sekisho_notify::Mailer> {
    let transport = sekisho_notify::Transport::from_settings(
        &config.smtp_url,
        std::path::Path::new(&config.mail_outbox_dir),
    )?;
    if config.smtp_url.expose().is_empty() {
        tracing::warn!(dir = %config.mail_outbox_dir, "mail goes to a file outbox (development); set SEKISHO_SMTP_URL to send it");
    }
    Ok(sekisho_notify::Mailer::new(
        op.store.clone(),
        op.clock.clone(),
        transport,
        config.mail_from.clone(),
    )
    .with_hourly_cap(config.mail_per_address_per_hour))
}

/// Where two-step verification codes go: the HTTP gateway when `sms_gateway_url` is set, else
/// `.json` files in `sms_outbox_dir` (named by `clock`'s time). Fails on unusable gateway
/// settings (URL, headers, body template), so a mistake stops start-up instead of every code.
pub fn sms_gateway(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<sekisho_notify::SmsGateway> {
    let gateway = sekisho_notify::SmsGateway::from_settings(
        &config.sms_gateway_url,
        &config.sms_gateway_authorization,
        &config.sms_gateway_body,
        &config.sms_gateway_content_type,
        std::path::Path::new(&config.sms_outbox_dir),
        clock,
    )?;
    if gateway.is_outbox() {
        tracing::warn!(dir = %config.sms_outbox_dir, "SMS go to a file outbox (development); set SEKISHO_SMS_GATEWAY_URL to send them");
    }
    Ok(gateway)
}

/// Follows the store's change feed (issue 17): a client, brand, key or registration token
/// changed on any node (or by the CLI on PostgreSQL) is forgotten here at once. The feed is
/// opened before serving, so a node that cannot listen does not start half-informed.
pub async fn spawn_change_follower(op: Arc<Op>) -> anyhow::Result<()> {
    let mut feed = op.store.changes().await?;
    tokio::spawn(async move {
        loop {
            let change = feed.next().await;
            tracing::debug!(change = ?change, "a change reached this node");
            op.apply(&change);
        }
    });
    Ok(())
}

/// The scheduled key rotation (issue 17): every hour each node asks whether a rotation is due;
/// the store lets one node rotate (staged, so every node publishes the key before any signs).
fn spawn_key_rotation(op: Arc<Op>, days: u32) {
    if days == 0 {
        return;
    }
    let every = i64::from(days) * 86_400;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match op.keys.rotate_due(every).await {
                Ok(kids) if !kids.is_empty() => {
                    tracing::info!(kids = ?kids, "scheduled key rotation: published, signing in 10 minutes");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "scheduled key rotation failed"),
            }
        }
    });
}

/// Deletes expired rows every 10 minutes.
fn spawn_housekeeping(op: Arc<Op>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match op.store.purge_expired(op.now()).await {
                Ok(n) if n > 0 => tracing::debug!(rows = n, "purged expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        }
    });
}

/// Reads ADFS metadata given by URL again when due (every minute it looks for due ones), so a
/// token-signing certificate rollover needs no action (REQ-AD-1).
fn spawn_metadata_refresh(app: sekisho_app::App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match sekisho_app::active_directory::connection::refresh_due(&app).await {
                Ok(n) if n > 0 => tracing::info!(connections = n, "refreshed AD metadata"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "refreshing AD metadata failed"),
            }
        }
    });
}

/// Delivers the queued back-channel logouts every 10 seconds (retries wait for their time).
fn spawn_backchannel_logouts(app: sekisho_app::App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tick.tick().await;
            match sekisho_app::backchannel::deliver_due(&app).await {
                Ok(n) if n > 0 => tracing::info!(logouts = n, "delivered back-channel logouts"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivering back-channel logouts failed"),
            }
        }
    });
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
