//! Every user-facing string in Japanese (the default) and English.

pub use sekisho_core::oauth::Lang;
use std::collections::BTreeMap;

/// (key, Japanese, English).
const MESSAGES: &[(&str, &str, &str)] = &[
    ("login_title", "ログイン", "Log in"),
    ("email", "メールアドレス", "Email address"),
    ("password", "パスワード", "Password"),
    ("login_button", "ログイン", "Log in"),
    ("login_failed", "メールアドレスまたはパスワードが正しくありません。", "The email address or password is incorrect."),
    ("forgot_password", "パスワードを忘れた方はこちら", "Forgot your password?"),
    ("account_menu_link", "パスワード変更、その他認証・契約情報の変更はこちら", "Change your password or other sign-in and contract settings"),
    ("signed_in_title", "ログインしました", "You are signed in"),
    ("signed_in_body", "このウィンドウを閉じて、ご利用のサービスに戻ってください。", "You can close this window and return to your service."),
    ("logout_title", "ログアウト", "Log out"),
    ("logout_confirm", "ログアウトしますか?", "Do you want to log out?"),
    ("logout_button", "ログアウトする", "Log out"),
    ("logged_out_title", "ログアウトしました", "You have logged out"),
    ("logged_out_body", "ご利用ありがとうございました。", "Thank you for using the service."),
    ("error_title", "エラー", "Error"),
    ("error_internal", "一時的なエラーが発生しました。しばらくしてからもう一度お試しください。", "A temporary error occurred. Please try again later."),
    ("error_unknown_brand", "ページが見つかりません。URLをご確認ください。", "Page not found. Please check the URL."),
    ("error_unknown_client", "ログインを要求したアプリケーションが登録されていません(client_id が不正です)。", "The application that asked for this login is not registered (invalid client_id)."),
    ("error_bad_redirect_uri", "ログイン後の戻り先(redirect_uri)が登録されたものと一致しません。", "The return address (redirect_uri) does not match a registered one."),
    ("error_request_expired", "ログインの要求が期限切れか、すでに完了しています。ご利用のサービスから、もう一度ログインしてください。", "This login request has expired or was already completed. Please start again from your service."),
    ("error_csrf", "ページの有効期限が切れました。もう一度お試しください。", "This page has expired. Please try again."),
    ("error_logout", "ログアウトの要求が正しくありません。", "The logout request is not valid."),
    ("back_to_login", "ログイン画面へ戻る", "Back to the login page"),
];

/// The strings of one language, for templates (`t.login_title`).
pub fn messages(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    MESSAGES
        .iter()
        .map(|(k, ja, en)| (*k, if lang == Lang::En { *en } else { *ja }))
        .collect()
}

pub fn message(lang: Lang, key: &str) -> &'static str {
    MESSAGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, ja, en)| if lang == Lang::En { *en } else { *ja })
        .unwrap_or("")
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
        for (key, ja, en) in MESSAGES {
            assert!(!ja.is_empty() && !en.is_empty(), "{key}");
            assert_ne!(ja, en, "{key} is not translated");
        }
        assert_eq!(pick(None, None), Lang::Ja);
        assert_eq!(pick(Some("en"), Some("ja")), Lang::En);
        assert_eq!(pick(None, Some("en-US,en;q=0.9")), Lang::En);
    }
}
