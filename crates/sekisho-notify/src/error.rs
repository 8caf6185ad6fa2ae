use sekisho_store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A recipient or sender that is not a mail address; caught when the mail is queued.
    #[error("not a usable mail address ({what}): {reason}")]
    Address { what: &'static str, reason: String },
    /// The SMTP URL or the outbox folder is unusable; caught at start-up.
    #[error("mail transport configuration: {0}")]
    Config(String),
    /// The message could not be built (should not happen once the addresses are valid).
    #[error("building the message: {0}")]
    Build(String),
    /// The mail server refused or could not be reached; the outbox retries later.
    #[error("sending: {0}")]
    Send(String),
    #[error("writing to the file outbox: {0}")]
    Io(#[from] std::io::Error),
    /// The address already had its mails of this hour (mail bombing cap): nothing was queued.
    /// Callers answer as if it had been, so the answer tells nothing about the address.
    #[error("the recipient's hourly mail cap is reached; not queued")]
    OverCap,
}
