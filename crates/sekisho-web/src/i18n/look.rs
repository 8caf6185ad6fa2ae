//! The layout's own strings: the skip link and the footer (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    ("skip_to_content", "本文へ移動", "Skip to the content"),
    ("back_to_service", "サービスへ戻る", "Back to the service"),
];
