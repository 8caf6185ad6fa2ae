//! The outbox against a real SMTP server (aiosmtpd, see `sekisho_testkit::SmtpSink`) and a fresh
//! SQLite store; time is a `FakeClock`, so retries are driven without sleeping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: helpers outside #[test] functions fail the test that called them"
)]

use std::path::Path;
use std::sync::Arc;

use sekisho_core::model::{Brand, BrandCode, BrandTheme};
use sekisho_core::oauth::Lang;
use sekisho_core::{Clock, FakeClock, TEST_EPOCH};
use sekisho_notify::outbox::{retry_delay, FIRST_RETRY};
use sekisho_notify::{Delivery, MailKind, Mailer, Transport};
use sekisho_store::{MailRecord, Store};
use sekisho_testkit::{fresh_sqlite_url, target_dir, SmtpSink};

const UNLOCK_URL: &str = "https://login.example/VX5/unlock?ticket=Zm9vYmFyYmF6";
const BRAND_FROM: &str = "noreply@vx5.example";

struct Setup {
    store: Store,
    clock: Arc<FakeClock>,
    brand: Brand,
}

async fn setup() -> Setup {
    let store = Store::open(&fresh_sqlite_url().unwrap(), 2).await.unwrap();
    let clock = Arc::new(FakeClock::new(TEST_EPOCH));
    let brand = Brand {
        code: BrandCode::parse("VX5").unwrap(),
        name: "OTクラウド・ストレージ".into(),
        mail_from: BRAND_FROM.into(),
        theme: BrandTheme::default(),
        service_url: None,
        created_at: 0,
    };
    store.insert_brand(&brand).await.unwrap();
    Setup {
        store,
        clock,
        brand,
    }
}

impl Setup {
    fn mailer(&self, transport: Transport) -> Mailer {
        Mailer::new(
            self.store.clone(),
            self.clock.clone(),
            transport,
            "noreply@sekisho.localhost".into(),
        )
    }

    async fn record(&self, id: &str) -> MailRecord {
        let all = self.store.list_mail(100).await.unwrap();
        all.into_iter()
            .find(|m| m.id == id)
            .expect("mail in the outbox")
    }

    async fn queue_lock_mail(&self, mailer: &Mailer) -> String {
        let kind = MailKind::AccountLocked {
            unlock_url: UNLOCK_URL.into(),
        };
        mailer
            .enqueue_kind(&self.brand, "taro@example.jp", "山田太郎", Lang::Ja, &kind)
            .await
            .unwrap()
    }
}

// REQ-MAIL-1, REQ-LOCK-1: the lock mail reaches the mail server with the brand's subject, sender
// and the unlock link.
#[tokio::test]
async fn a_queued_lock_mail_arrives_with_the_brand_subject_sender_and_link() {
    let s = setup().await;
    let sink = SmtpSink::start().unwrap();
    let mailer = s.mailer(Transport::smtp(&sink.url()).unwrap());

    let id = s.queue_lock_mail(&mailer).await;
    assert!(sink.messages().unwrap().is_empty(), "queueing never sends");

    let delivery = mailer.deliver_due().await.unwrap();
    let error = s.record(&id).await.last_error;
    assert_eq!(delivery, Delivery { sent: 1, failed: 0 }, "{error:?}");
    let mails = sink.messages().unwrap();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject, "【OTクラウド・ストレージ】アカウントロック");
    assert_eq!(mail.from, BRAND_FROM);
    assert_eq!(mail.to, "taro@example.jp");
    assert!(
        mail.body.lines().any(|l| l.trim_end() == UNLOCK_URL),
        "{}",
        mail.body
    );
    assert!(mail.body.starts_with("山田太郎様"), "{}", mail.body);
    assert!(mail.body.contains("※有効期限: 本メール受領後14日間"));
    assert!(
        mail.raw
            .contains(&format!("Message-ID: <{id}@vx5.example>")),
        "{}",
        mail.raw
    );

    let record = s.record(&id).await;
    assert_eq!(record.sent_at, Some(s.clock.now()));
    assert_eq!(record.attempts, 1);
    assert_eq!(
        mailer.deliver_due().await.unwrap(),
        Delivery::default(),
        "sent once"
    );
}

// REQ-MAIL-1: "nothing lost": a mail-server outage delays the mail, which goes out exactly once
// after the server is back and the back-off has passed.
#[tokio::test]
async fn an_outage_delays_the_mail_and_it_is_delivered_exactly_once_later() {
    let s = setup().await;
    let mut sink = SmtpSink::start().unwrap();
    let mailer = s.mailer(Transport::smtp(&sink.url()).unwrap());
    sink.stop().unwrap();

    let id = s.queue_lock_mail(&mailer).await;
    assert_eq!(
        mailer.deliver_due().await.unwrap(),
        Delivery { sent: 0, failed: 1 }
    );
    let record = s.record(&id).await;
    assert_eq!(record.attempts, 1);
    assert!(record.sent_at.is_none());
    assert!(record.last_error.is_some());
    assert_eq!(record.next_attempt_at, s.clock.now() + FIRST_RETRY);

    // Not due yet: no attempt, even with the server back.
    sink.restart().unwrap();
    assert_eq!(mailer.deliver_due().await.unwrap(), Delivery::default());
    assert!(sink.messages().unwrap().is_empty());

    s.clock.advance(retry_delay(1) + 1);
    assert_eq!(
        mailer.deliver_due().await.unwrap(),
        Delivery { sent: 1, failed: 0 }
    );
    assert_eq!(mailer.deliver_due().await.unwrap(), Delivery::default());
    let mails = sink.messages().unwrap();
    assert_eq!(mails.len(), 1, "delivered exactly once");
    assert_eq!(
        mails[0].subject,
        "【OTクラウド・ストレージ】アカウントロック"
    );
    let record = s.record(&id).await;
    assert_eq!(record.attempts, 2);
    assert!(record.sent_at.is_some());
    assert!(record.last_error.is_none());
}

// REQ-MAIL-1: repeated failures back off exponentially.
#[tokio::test]
async fn each_failure_doubles_the_wait() {
    let s = setup().await;
    let mut sink = SmtpSink::start().unwrap();
    let mailer = s.mailer(Transport::smtp(&sink.url()).unwrap());
    sink.stop().unwrap();
    let id = s.queue_lock_mail(&mailer).await;
    for attempt in 1..=3 {
        assert_eq!(mailer.deliver_due().await.unwrap().failed, 1);
        let record = s.record(&id).await;
        assert_eq!(record.attempts, attempt);
        let wait = record.next_attempt_at - s.clock.now();
        assert_eq!(wait, retry_delay(attempt));
        assert_eq!(wait, 30 << (attempt - 1));
        s.clock.advance(wait);
    }
}

// REQ-MAIL-1: a brand without its own sender uses the deployment's, named after the brand.
#[tokio::test]
async fn a_brand_without_a_sender_uses_the_default() {
    let s = setup().await;
    let mut brand = s.brand.clone();
    brand.code = BrandCode::parse("NOFROM").unwrap();
    brand.name = "おまかせクラウドストレージ".into();
    brand.mail_from = String::new();
    s.store.insert_brand(&brand).await.unwrap();
    let sink = SmtpSink::start().unwrap();
    let mailer = s.mailer(Transport::smtp(&sink.url()).unwrap());
    mailer
        .enqueue(&brand, "hanako@example.jp", "件名", "本文\n")
        .await
        .unwrap();
    assert_eq!(mailer.deliver_due().await.unwrap().sent, 1);
    let mail = &sink.messages().unwrap()[0];
    assert_eq!(mail.from, "noreply@sekisho.localhost");
    assert_eq!(mail.subject, "件名");
    assert!(
        mail.raw.contains("From: =?utf-8?"),
        "display name encoded: {}",
        mail.raw
    );
}

// REQ-MAIL-1: a request that queues mail fails only on a bad address, never because of the server.
#[tokio::test]
async fn queueing_checks_the_address_and_never_contacts_the_server() {
    let s = setup().await;
    // Nothing listens on port 1: queueing must not care.
    let mailer = s.mailer(Transport::smtp("smtp://127.0.0.1:1").unwrap());
    assert!(mailer
        .enqueue(&s.brand, "not an address", "s", "b")
        .await
        .is_err());
    assert!(mailer
        .enqueue(&s.brand, "taro@example.jp", "s", "b")
        .await
        .is_ok());
    assert_eq!(s.store.list_mail(10).await.unwrap().len(), 1);
}

// REQ-MAIL-1: in development, mail is written as readable .eml files.
#[tokio::test]
async fn the_file_outbox_writes_a_readable_eml() {
    let s = setup().await;
    let dir =
        target_dir()
            .join("test-outbox")
            .join(format!("{}-{}", std::process::id(), s.clock.now()));
    let mailer = s.mailer(Transport::from_settings(&"".into(), &dir).unwrap());
    let id = s.queue_lock_mail(&mailer).await;
    assert_eq!(
        mailer.deliver_due().await.unwrap(),
        Delivery { sent: 1, failed: 0 }
    );

    let files = eml_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().contains(&id));
    let bytes = std::fs::read(&files[0]).unwrap();
    let text = String::from_utf8(bytes.clone()).expect("8bit UTF-8, readable as is");
    assert!(
        text.lines().any(|l| l == UNLOCK_URL),
        "the link is copyable:\n{text}"
    );
    assert!(text.contains("山田太郎様"), "{text}");

    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("【OTクラウド・ストレージ】アカウントロック")
    );
    assert_eq!(
        parsed
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some(BRAND_FROM)
    );
    assert!(parsed.body_text(0).unwrap().contains(UNLOCK_URL));
}

fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

// ISSUE-15: graceful shutdown. Stopping the worker while it is sending a mail waits until that
// mail is sent and recorded, and takes no other: the next one stays queued for the next start.
#[tokio::test]
async fn stopping_the_worker_finishes_the_mail_being_sent_and_takes_no_other() {
    use tokio::net::{TcpListener, TcpStream};
    let s = setup().await;
    let sink = SmtpSink::start().unwrap();
    let sink_port = sink.port();
    // A relay to the SMTP server that passes traffic only once the test opens it: while it holds
    // the connection, the worker is in the middle of a delivery. It relays one connection only.
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
    let (open, open_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut client, _) = relay.accept().await.unwrap();
        accepted_tx.send(()).unwrap();
        open_rx.await.unwrap();
        let mut server = TcpStream::connect(("127.0.0.1", sink_port)).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    let mailer = s.mailer(Transport::smtp(&format!("smtp://127.0.0.1:{relay_port}")).unwrap());
    let ids = [
        s.queue_lock_mail(&mailer).await,
        s.queue_lock_mail(&mailer).await,
    ];

    let worker = mailer.spawn_worker();
    accepted.await.unwrap();
    let stopping = tokio::spawn(worker.stop());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !stopping.is_finished(),
        "stopped in the middle of a delivery"
    );
    open.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), stopping)
        .await
        .expect("the worker stops once its delivery is done")
        .unwrap();

    assert_eq!(sink.messages().unwrap().len(), 1);
    let mut sent = 0;
    for id in &ids {
        let record = s.record(id).await;
        if record.sent_at.is_some() {
            sent += 1;
        } else {
            assert_eq!(record.attempts, 0, "the other mail was not attempted");
        }
    }
    assert_eq!(sent, 1);
}
