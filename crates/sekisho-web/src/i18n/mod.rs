//! Every user-facing string in Japanese (the default) and English.

pub use sekisho_core::oauth::Lang;
use std::collections::BTreeMap;
use std::sync::LazyLock;

// One table per area, so that work on one area does not touch another's lines.
mod base;
mod console;
mod menu;
mod navigation;
mod pending;

/// Every table of (key, Japanese, English).
const TABLES: &[&[(&str, &str, &str)]] = &[
    base::MESSAGES,
    navigation::MESSAGES,
    console::MESSAGES,
    menu::MESSAGES,
    pending::MESSAGES,
];

fn all() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// The strings of each language, built once.
static JA: LazyLock<BTreeMap<&'static str, &'static str>> =
    LazyLock::new(|| all().map(|(k, ja, _)| (*k, *ja)).collect());
static EN: LazyLock<BTreeMap<&'static str, &'static str>> =
    LazyLock::new(|| all().map(|(k, _, en)| (*k, *en)).collect());

/// The strings of one language, for templates (`t.login_title`).
pub fn messages(lang: Lang) -> &'static BTreeMap<&'static str, &'static str> {
    if lang == Lang::En {
        &EN
    } else {
        &JA
    }
}

pub fn message(lang: Lang, key: &str) -> &'static str {
    messages(lang).get(key).copied().unwrap_or("")
}

/// The page language: `ui_locales` first, then `Accept-Language`, then Japanese.
pub fn pick(ui_locales: Option<&str>, accept_language: Option<&str>) -> Lang {
    ui_locales
        .and_then(Lang::pick)
        .or_else(|| accept_language.and_then(Lang::pick))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // REQ-LOGIN-6: every user-facing string exists in Japanese and English.
    #[test]
    fn every_message_has_both_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, ja, en) in all() {
            assert!(seen.insert(*key), "{key} is defined twice");
            assert!(!ja.is_empty() && !en.is_empty(), "{key}");
            assert_ne!(ja, en, "{key} is not translated");
        }
        assert_eq!(pick(None, None), Lang::Ja);
        assert_eq!(pick(Some("en"), Some("ja")), Lang::En);
        assert_eq!(pick(None, Some("en-US,en;q=0.9")), Lang::En);
    }
}
