//! Where a visit goes on: the service link, the language switch, the not-found and error pages' ways forward (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[];
