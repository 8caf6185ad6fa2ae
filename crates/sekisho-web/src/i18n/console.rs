//! The admin console: navigation, the user table, badges, confirmations, the audit log (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[];
