//! Where mail goes: an SMTP server, or `.eml` files in a folder (the development default).
//!
//! Both take the same MIME message: UTF-8 `text/plain`, the subject RFC 2047-encoded by lettre, a
//! `Date` of when the mail was queued and a `Message-ID` made from the outbox id, so a retry after
//! an unclear failure (the server took the mail but the connection broke before its answer) is
//! recognisably the same message.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{
    self, ContentTransferEncoding, ContentType, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sekisho_core::Secret;
use sekisho_store::MailRecord;

use crate::{Error, Result};

/// Longest wait for one network step of an SMTP conversation. Well inside the outbox lease
/// (`outbox::LEASE`), so a mail is never sent by two workers because one was slow.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Transport {
    /// An SMTP server (relay or submission), one connection per mail.
    Smtp(Smtp),
    /// Each mail written as `{dir}/{created_at}-{mail id}.eml` (development, demos).
    FileOutbox(PathBuf),
}

/// A configured SMTP client, and how to name it in logs (never with its password).
pub struct Smtp {
    client: AsyncSmtpTransport<Tokio1Executor>,
    endpoint: String,
}

impl Transport {
    /// The deployment's choice: SMTP when `smtp_url` is set, otherwise the file outbox. The URL
    /// may hold the server's password: it is read here and kept only inside lettre's client.
    pub fn from_settings(smtp_url: &Secret<String>, outbox_dir: &Path) -> Result<Self> {
        let smtp_url = smtp_url.expose().trim();
        if smtp_url.is_empty() {
            Ok(Transport::FileOutbox(outbox_dir.to_path_buf()))
        } else {
            Self::smtp(smtp_url)
        }
    }

    /// An SMTP transport from one URL:
    /// - `smtp://host:25` plain (a local relay, or a test sink),
    /// - `smtp://user:pass@host:587?tls=required` STARTTLS, refusing to go on without TLS,
    /// - `smtps://user:pass@host:465` TLS from the first byte.
    ///
    /// Percent-encode special characters of the user and password.
    pub fn smtp(url: &str) -> Result<Self> {
        let endpoint = endpoint_of(url);
        let client = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::Config(format!("smtp_url {endpoint}: {e}")))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Transport::Smtp(Smtp { client, endpoint }))
    }

    /// Builds the message of `mail` from `from` (an address, or `Name <address>`) and delivers it.
    pub async fn send(&self, mail: &MailRecord, from: &str) -> Result<()> {
        match self {
            Transport::Smtp(smtp) => {
                let message = build(mail, from, false)?;
                smtp.client
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| Error::Send(e.to_string()))
            }
            Transport::FileOutbox(dir) => {
                // 8bit so that a developer can read the mail, and copy its link, in any editor.
                let message = build(mail, from, true)?;
                write_eml(dir, mail, &message.formatted()).await
            }
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Smtp(smtp) => f.debug_tuple("Smtp").field(&smtp.endpoint).finish(),
            Transport::FileOutbox(dir) => f.debug_tuple("FileOutbox").field(dir).finish(),
        }
    }
}

/// Parses a recipient or sender the way the message builder will.
pub(crate) fn mailbox(value: &str, what: &'static str) -> Result<Mailbox> {
    value.trim().parse::<Mailbox>().map_err(|e| Error::Address {
        what,
        reason: e.to_string(),
    })
}

fn build(mail: &MailRecord, from: &str, eight_bit: bool) -> Result<Message> {
    let from = mailbox(from, "sender")?;
    let to = mailbox(&mail.to, "recipient")?;
    let message_id = format!("<{}@{}>", mail.id, from.email.domain());
    let date = UNIX_EPOCH + Duration::from_secs(u64::try_from(mail.created_at).unwrap_or(0));
    let body = match eight_bit {
        true => eight_bit_body(&mail.body).unwrap_or_else(|| Body::new(mail.body.clone())),
        false => Body::new(mail.body.clone()),
    };
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .date(date)
        .message_id(Some(message_id))
        .header(header::MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        // RFC 3834: an automatic mail, so auto-responders do not answer it.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .body(body)
        .map_err(|e| Error::Build(e.to_string()))
}

/// The body as UTF-8 text, unencoded, when RFC 5322 allows it (no NUL, lines of at most 998
/// bytes). lettre's own 8bit choice wants lines under 76 bytes, which Japanese prose rarely is,
/// and would fall back to base64: unreadable in a file.
fn eight_bit_body(text: &str) -> Option<Body> {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = !crlf.contains('\0') && crlf.split("\r\n").all(|line| line.len() <= 998);
    fits.then(|| Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit))
}

/// Writes through a temporary name and renames, so a reader never sees half a mail; the name is
/// fixed per mail, so a retry overwrites rather than duplicates.
async fn write_eml(dir: &Path, mail: &MailRecord, bytes: &[u8]) -> Result<()> {
    let dir = dir.to_path_buf();
    let name = format!("{}-{}.eml", mail.created_at, mail.id);
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        write_private(&tmp, &bytes)?;
        std::fs::rename(&tmp, dir.join(name))
    })
    .await
    .map_err(|e| Error::Io(std::io::Error::other(e)))??;
    Ok(())
}

/// The files hold live links: readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `scheme://host:port` of an SMTP URL: enough to tell servers apart, without the credentials.
fn endpoint_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

/// The domain of an address, which is all the logs say about a recipient.
pub(crate) fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or("?", |(_, d)| d.trim_end_matches('>'))
}

/// Whether `value` parses as one mail address (used to check addresses before queueing).
pub(crate) fn is_address(value: &str) -> bool {
    value.trim().parse::<Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MailRecord {
        MailRecord {
            id: "mail_abc-_1".into(),
            brand: "VX5".into(),
            to: "taro@example.jp".into(),
            subject: "【OTクラウド・ストレージ】アカウントロック".into(),
            body: "山田様\n\nhttps://login.example/VX5/t?x=1\n".into(),
            created_at: 1_700_000_000,
            attempts: 0,
            next_attempt_at: 1_700_000_000,
            sent_at: None,
            last_error: None,
        }
    }

    #[test]
    fn endpoints_never_show_credentials() {
        assert_eq!(
            endpoint_of("smtp://user:s3cret@mail.example:587?tls=required"),
            "smtp://mail.example:587"
        );
        assert_eq!(endpoint_of("smtps://mail.example"), "smtps://mail.example");
        let t = Transport::smtp("smtp://user:s3cret@mail.example:587?tls=required").unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn the_three_url_forms_are_accepted_and_others_refused() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pass@mail.example:587?tls=required",
            "smtps://mail.example:465",
        ] {
            assert!(
                matches!(Transport::smtp(url), Ok(Transport::Smtp(_))),
                "{url}"
            );
        }
        for url in ["http://mail.example", "smtp://", "not a url"] {
            assert!(
                matches!(Transport::smtp(url), Err(Error::Config(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn empty_settings_mean_the_file_outbox() {
        let t = Transport::from_settings(&" ".into(), Path::new("outbox")).unwrap();
        assert!(matches!(t, Transport::FileOutbox(dir) if dir == Path::new("outbox")));
    }

    #[test]
    fn the_message_is_utf8_text_with_an_encoded_subject() {
        let msg = build(
            &record(),
            "OTクラウド・ストレージ <noreply@vx5.example>",
            false,
        )
        .unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(raw.contains("MIME-Version: 1.0"), "{raw}");
        assert!(
            raw.contains("Message-ID: <mail_abc-_1@vx5.example>"),
            "{raw}"
        );
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.is_ascii(), "SMTP gets 7-bit headers and body:\n{raw}");
    }

    #[test]
    fn bad_addresses_are_refused() {
        let mut r = record();
        r.to = "not an address".into();
        assert!(matches!(
            build(&r, "noreply@x.example", false),
            Err(Error::Address {
                what: "recipient",
                ..
            })
        ));
        assert!(matches!(
            build(&record(), "", false),
            Err(Error::Address { what: "sender", .. })
        ));
        assert!(is_address("a@b.example") && !is_address("a b"));
        assert_eq!(domain_of("Taro <taro@example.jp>"), "example.jp");
    }
}
