//! What a mailed link (ticket) may do, and for how long (REQ-MAIL-2: 14 days, single use).

use crate::model::text_enum;

text_enum!(
    TicketPurpose {
        Unlock = "unlock",
        PasswordReset = "password_reset",
        Invitation = "invitation",
        EmailChange = "email_change",
        LoginMethodChange = "login_method_change",
    }
);

/// Every mailed link is valid for 14 days (本メール受領後14日間).
pub const TICKET_TTL: i64 = 14 * 86_400;

/// Consecutive wrong passwords that lock an account (REQ-LOCK-1).
pub const LOCK_AFTER_FAILURES: i64 = 10;
