//! Pending changes (login method, email) and their cancellation; password reset and 2FA (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[];
