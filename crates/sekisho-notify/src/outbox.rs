//! The mail outbox: requests queue mail, a worker delivers it (REQ-MAIL-1).
//!
//! [`Mailer::enqueue`] only inserts a row in `mail_outbox` and wakes the worker; it never talks to
//! the mail server, so a request that triggers a mail is neither slowed nor broken by it.
//! [`Mailer::deliver_due`] sends every due mail once. Each attempt first *claims* the mail for
//! [`LEASE`] seconds (so another node's worker leaves it alone), then records success, or failure
//! with the next attempt [`retry_delay`] later. Nothing is ever dropped: a failing mail is retried
//! (at most hourly) until it goes out, and its `last_error` tells the operator why it has not.
//!
//! Time comes from the [`Clock`], so tests drive retries with a `FakeClock` and no sleeping.

use std::sync::Arc;
use std::time::Duration;

use sekisho_core::model::Brand;
use sekisho_core::oauth::Lang;
use sekisho_core::Clock;
use sekisho_store::{MailRecord, Store};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::templates::{addressee, render, MailKind};
use crate::transport::{domain_of, is_address, mailbox, Transport};
use crate::{Error, Result};

/// Seconds a claimed mail is reserved for one attempt. Longer than [`SEND_DEADLINE`], so a mail
/// is never handed to a second worker while the first may still be sending it.
pub const LEASE: i64 = 120;
/// A single attempt (connect, dialogue, file write) is abandoned after this.
const SEND_DEADLINE: Duration = Duration::from_secs(90);
/// Delay after the first failure; it doubles with each further failure...
pub const FIRST_RETRY: i64 = 30;
/// ...up to this: an outage of any length costs at most an hour's delay once it is over.
pub const MAX_RETRY: i64 = 3600;
/// Mails read from the queue at once.
const BATCH: i64 = 50;
/// The worker also looks at the queue this often: for mails queued by other nodes, and retries.
const TICK: Duration = Duration::from_secs(15);

/// Seconds to wait before the next attempt, after `attempts` failed ones (1, 2, ...):
/// 30 s, 1 min, 2 min, 4 min, ... capped at 1 h.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

/// What one [`Mailer::deliver_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

/// Queues and delivers mail. Cheap to clone: every clone shares one store, transport and worker
/// wake-up.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    transport: Transport,
    /// Sender of brands that have no `mail_from` of their own.
    default_from: String,
    /// Wakes the worker when a mail is queued. A `Notify` keeps one wake-up for a worker that is
    /// busy sending, so a mail queued meanwhile is not left for the next tick.
    wake: Notify,
    /// Mails queued to one address per clock hour at most; 0 = no cap (issue 15, mail bombing).
    hourly_cap: u32,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.inner.transport)
            .field("default_from", &self.inner.default_from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        transport: Transport,
        default_from: String,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                transport,
                default_from,
                wake: Notify::new(),
                hourly_cap: 0,
            }),
        }
    }

    /// At most `cap` mails queued to one address per clock hour, counted in the database across
    /// nodes; 0 = no cap. Call before the mailer is shared.
    pub fn with_hourly_cap(self, cap: u32) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.hourly_cap = cap;
                Self {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => {
                tracing::warn!("the mail cap was set on a shared mailer; ignored");
                Self { inner }
            }
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Queues a mail of `brand` to `to` and returns its outbox id. Fails only on an unusable
    /// address, a database error, or [`Error::OverCap`] when the address had its mails of this
    /// hour; never on the mail server, which it does not contact.
    pub async fn enqueue(
        &self,
        brand: &Brand,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<String> {
        let to = to.trim();
        if !is_address(to) {
            return Err(Error::Address {
                what: "recipient",
                reason: format!("not an address (domain {})", domain_of(to)),
            });
        }
        let now = self.inner.clock.now();
        let mail = MailRecord {
            id: sekisho_crypto::tokens::new_id("mail"),
            brand: brand.code.as_str().to_owned(),
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            sent_at: None,
            last_error: None,
        };
        if self.inner.hourly_cap == 0 {
            self.inner.store.enqueue_mail(&mail).await?;
        } else if !self
            .inner
            .store
            .enqueue_mail_capped(&mail, i64::from(self.inner.hourly_cap))
            .await?
        {
            tracing::warn!(brand = %mail.brand, to_domain = domain_of(to), cap = self.inner.hourly_cap, "mail not queued: the address reached its hourly cap");
            return Err(Error::OverCap);
        }
        tracing::info!(mail = %mail.id, brand = %mail.brand, to_domain = domain_of(to), "mail queued");
        self.inner.wake.notify_one();
        Ok(mail.id)
    }

    /// Renders `kind` (see [`render`]) for the recipient and queues it. `recipient_name` may be
    /// empty: the mail then greets the address.
    pub async fn enqueue_kind(
        &self,
        brand: &Brand,
        to: &str,
        recipient_name: &str,
        lang: Lang,
        kind: &MailKind,
    ) -> Result<String> {
        let (subject, body) = render(kind, brand, lang, addressee(recipient_name, to.trim()));
        self.enqueue(brand, to, &subject, &body).await
    }

    /// Makes one attempt at every mail that is due now. Errors only when the database fails;
    /// a failed send is counted and rescheduled.
    pub async fn deliver_due(&self) -> Result<Delivery> {
        let (_never, stop) = watch::channel(false);
        self.deliver_due_until(&stop).await
    }

    /// [`Mailer::deliver_due`], but taking no further mail once `stop` is set: the mail being
    /// sent is finished and recorded, the others stay queued for the next start (or another
    /// node).
    async fn deliver_due_until(&self, stop: &watch::Receiver<bool>) -> Result<Delivery> {
        let store = &self.inner.store;
        let clock = &self.inner.clock;
        let mut done = Delivery::default();
        loop {
            let due = store.due_mail(clock.now(), BATCH).await?;
            let mut claimed_any = false;
            for mail in &due {
                if *stop.borrow() {
                    return Ok(done);
                }
                let now = clock.now();
                if !store.claim_mail(&mail.id, now, now + LEASE).await? {
                    continue; // another worker has it
                }
                claimed_any = true;
                match self.attempt(mail).await {
                    Ok(()) => {
                        store.mark_mail_sent(&mail.id, clock.now()).await?;
                        tracing::info!(mail = %mail.id, to_domain = domain_of(&mail.to), "mail sent");
                        metrics::counter!("sekisho_mail_deliveries_total", "outcome" => "sent")
                            .increment(1);
                        done.sent += 1;
                    }
                    Err(e) => {
                        let attempts = mail.attempts + 1;
                        let delay = retry_delay(attempts);
                        let error = e.to_string();
                        store
                            .mark_mail_failed(&mail.id, clock.now() + delay, &error)
                            .await?;
                        tracing::warn!(
                            mail = %mail.id,
                            to_domain = domain_of(&mail.to),
                            attempts,
                            retry_in_s = delay,
                            error = %redact(&error, &mail.to),
                            "mail not delivered; will retry"
                        );
                        metrics::counter!("sekisho_mail_deliveries_total", "outcome" => "failed")
                            .increment(1);
                        done.failed += 1;
                    }
                }
            }
            // A short batch was the whole queue; a batch of nothing but others' mails means they
            // are being handled, and reading again would only find them again.
            if (due.len() as i64) < BATCH || !claimed_any {
                return Ok(done);
            }
        }
    }

    /// Runs the delivery loop: deliver, then wait for a queued mail or the next tick, until
    /// [`MailWorker::stop`]. Call once per process.
    pub fn spawn_worker(&self) -> MailWorker {
        let mailer = self.clone();
        let (stop, mut stopping) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if let Err(e) = mailer.deliver_due_until(&stopping).await {
                    tracing::error!(error = %e, "mail outbox: cannot read or update the queue");
                }
                tokio::select! {
                    _ = mailer.inner.wake.notified() => {}
                    _ = tick.tick() => {}
                    _ = stopping.wait_for(|s| *s) => {}
                }
                if *stopping.borrow() {
                    return;
                }
            }
        });
        MailWorker { stop, task }
    }

    async fn attempt(&self, mail: &MailRecord) -> Result<()> {
        let from = self.sender(&mail.brand).await?;
        match tokio::time::timeout(SEND_DEADLINE, self.inner.transport.send(mail, &from)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Send(format!("no answer within {SEND_DEADLINE:?}"))),
        }
    }

    /// The brand's sender, or the default one, named after the brand when it has no name:
    /// `OTクラウド・ストレージ <noreply@…>`.
    async fn sender(&self, brand_code: &str) -> Result<String> {
        let brand = self.inner.store.find_brand(brand_code).await?;
        let configured = brand
            .as_ref()
            .map(|b| b.mail_from.trim())
            .filter(|f| !f.is_empty())
            .unwrap_or(&self.inner.default_from);
        let mut from = mailbox(configured, "sender")?;
        if from.name.is_none() {
            from.name = brand.map(|b| b.name).filter(|n| !n.trim().is_empty());
        }
        Ok(from.to_string())
    }
}

/// The running delivery loop of [`Mailer::spawn_worker`].
#[derive(Debug)]
pub struct MailWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MailWorker {
    /// Tells the worker to stop and waits until it has: the mail being sent (if any) is finished
    /// and recorded first, which takes at most the send deadline (90 s). A caller that cannot
    /// wait that long drops the future: the mail's claim lapses after [`LEASE`] seconds and it is
    /// sent again by the next worker (sent twice at worst, never lost).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "mail outbox worker ended abnormally");
        }
    }
}

/// Mail servers often quote the recipient in their errors; logs keep only its domain.
fn redact(error: &str, to: &str) -> String {
    if to.is_empty() {
        return error.to_owned();
    }
    error.replace(to, &format!("…@{}", domain_of(to)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let delays: Vec<i64> = (1..=9).map(retry_delay).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(0), 30);
        assert_eq!(retry_delay(i64::MAX), 3600);
    }

    #[test]
    fn logged_errors_keep_only_the_domain() {
        assert_eq!(
            redact("550 <taro@example.jp>: unknown user", "taro@example.jp"),
            "550 <…@example.jp>: unknown user"
        );
    }

    #[test]
    fn the_lease_outlasts_an_attempt() {
        assert!(SEND_DEADLINE.as_secs() < LEASE as u64);
    }
}
