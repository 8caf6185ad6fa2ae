//! What a mailed link (ticket) may do, and for how long (REQ-MAIL-2: 14 days, single use).

use crate::model::text_enum;

text_enum!(
    TicketPurpose {
        Unlock = "unlock",
        PasswordReset = "password_reset",
        Invitation = "invitation",
        EmailChange = "email_change",
        LoginMethodChange = "login_method_change",
        // line_recovery: the second proof of a 回線認証のみ contractor coming back from the
        // internet (REQ-LINE-4) when they have no registered factor.
        LineRecovery = "line_recovery",
    }
);

/// The changes a user can have pending (REQ-USER-7): each excludes the other, and either can be
/// cancelled (by the user in the account menu, or by the contractor or an admin in the console)
/// or mailed again (ISSUE-16).
pub const PENDING_CHANGES: [TicketPurpose; 2] =
    [TicketPurpose::EmailChange, TicketPurpose::LoginMethodChange];

impl TicketPurpose {
    /// The purposes that may not be pending at the same time as this one (REQ-USER-7: a
    /// login-method change and an email change are never pending together).
    pub fn conflicting(self) -> &'static [TicketPurpose] {
        match self {
            TicketPurpose::EmailChange => &[TicketPurpose::LoginMethodChange],
            TicketPurpose::LoginMethodChange => &[TicketPurpose::EmailChange],
            _ => &[],
        }
    }
}

/// Every mailed link is valid for 14 days (本メール受領後14日間).
pub const TICKET_TTL: i64 = 14 * 86_400;

/// Consecutive wrong passwords that lock an account (REQ-LOCK-1).
pub const LOCK_AFTER_FAILURES: i64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-USER-7: the exclusion is symmetric and concerns only the two changes.
    #[test]
    fn only_the_two_changes_exclude_each_other() {
        for p in TicketPurpose::ALL {
            for q in p.conflicting() {
                assert!(q.conflicting().contains(p), "{p} / {q}");
            }
        }
        assert_eq!(
            TicketPurpose::EmailChange.conflicting(),
            &[TicketPurpose::LoginMethodChange]
        );
        assert!(TicketPurpose::PasswordReset.conflicting().is_empty());
        // ISSUE-16: the pending changes are exactly the purposes that exclude each other.
        for p in TicketPurpose::ALL {
            assert_eq!(
                PENDING_CHANGES.contains(p),
                !p.conflicting().is_empty(),
                "{p}"
            );
        }
    }
}
