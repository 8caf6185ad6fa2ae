//! Mail (REQ-MAIL-1) and SMS (REQ-2FA-3) for Sekisho: the brand mail texts, a durable outbox,
//! delivery, and the SMS gateway.
//!
//! - [`templates`]: what a mail says, per brand and language (`render`).
//! - [`outbox`]: [`Mailer`], which a request uses to *queue* a mail (one row in `mail_outbox`) and
//!   whose worker delivers the queue with retries. A request never talks to the mail server, so a
//!   slow or broken mail server never slows or breaks a login; an outage delays mail, loses none.
//! - [`transport`]: where mail goes: an SMTP server, or `.eml` files in a folder (development).
//! - [`sms`]: [`SmsGateway`], two-step verification codes by SMS (REQ-2FA-3, REQ-2FA-9): one POST
//!   to the operator's HTTP gateway, or JSON files in a folder (development).
//!
//! Invariant: bodies hold single-use links (secrets): they are never logged; logs name the mail id
//! and the recipient's domain only. Likewise SMS texts hold one-time codes: never logged; logs
//! show the number with all but its last 4 digits masked.

mod error;
pub mod outbox;
pub mod rp_logout;
pub mod sms;
pub mod templates;
pub mod transport;

pub use error::{Error, Result};
pub use outbox::{Delivery, MailWorker, Mailer};
pub use sms::{HttpSmsSettings, SmsError, SmsGateway};
pub use templates::{render, MailKind};
pub use transport::Transport;
