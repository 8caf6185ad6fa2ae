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
    ("or", "または", "or"),
    ("send", "送信", "Send"),
    ("account_locked", "ログインを複数回連続して試行したため、アカウントがブロックされました。ブロック解除の旨のメールをお送りしましたのでご確認ください。", "Because of repeated failed login attempts, the account has been blocked. We have sent you an email about unblocking it; please check it."),
    ("unlocked_title", "アカウントロックを解除しました", "Your account is unlocked"),
    ("unlocked_body", "ログイン画面からログインしてください。", "Please log in from the login page."),
    ("ticket_invalid_title", "URLが無効です", "This link is not valid"),
    ("ticket_invalid", "このURLは有効期限(14日間)が切れているか、すでに使用されています。", "This link has expired (links are valid for 14 days) or has already been used."),
    ("unlock_ticket_invalid", "このURLは有効期限(14日間)が切れているか、すでに使用されています。ログイン画面の「パスワードを忘れた方はこちら」からパスワードを再設定すると、アカウントロックを解除できます。", "This link has expired (links are valid for 14 days) or has already been used. You can unlock your account by resetting your password from \"Forgot your password?\" on the login page."),
    ("forgot_title", "パスワードを忘れた方", "Forgot your password"),
    ("forgot_intro", "ご登録のメールアドレスを入力してください。パスワードリセットのご案内をメールでお送りします。", "Enter your registered email address. We will send you an email to reset your password."),
    ("forgot_sent_title", "メールを送信しました", "Email sent"),
    ("forgot_sent_body", "入力されたメールアドレスがログイン方法「メールアドレス・パスワード」で登録されている場合、パスワードリセットのご案内をお送りしました。メールに記載のURLから14日以内に新しいパスワードを登録してください。", "If the address you entered is registered to log in with an email address and password, we have sent it instructions to reset the password. Set a new password from the link in the email within 14 days."),
    ("email_invalid", "メールアドレスの形式が正しくありません。", "The email address is not valid."),
    ("reset_title", "リセットパスワード", "Reset your password"),
    ("reset_done_title", "パスワードを再設定しました", "Your password is reset"),
    ("reset_done", "リセットパスワードの手続きが完了いたしました。", "Your password has been reset. Your account is unlocked."),
    ("pw_rule", "パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上(64文字以内)で設定してください", "Use 8 to 64 characters, with at least three of: upper-case letters, lower-case letters, digits, symbols."),
    ("pw_too_short", "パスワードが短すぎます。8文字以上で設定してください。", "The password is too short: use at least 8 characters."),
    ("pw_too_long", "パスワードが長すぎます。64文字以内で設定してください。", "The password is too long: use at most 64 characters."),
    ("pw_too_few_kinds", "英大文字、英小文字、数字、記号のうち3種類以上を含めてください。", "Use at least three of: upper-case letters, lower-case letters, digits, symbols."),
    ("pw_surrounding_space", "パスワードの先頭と末尾に空白は使えません。", "The password cannot start or end with a space."),
    ("pw_mismatch", "新しいパスワードと確認用パスワードが一致しません。", "The new password and its confirmation do not match."),
    ("new_password", "新しいパスワード", "New password"),
    ("new_password_confirm", "新しいパスワード (確認用)", "New password (confirmation)"),
    ("current_password", "現在のパスワード", "Current password"),
    ("current_password_wrong", "現在のパスワードが正しくありません。", "The current password is not correct."),
    ("password_change_title", "パスワード変更", "Change your password"),
    ("password_changed", "パスワードを変更しました。", "Your password has been changed."),
    ("account_title", "認証・契約情報変更メニュー", "Sign-in and contract settings"),
    ("account_login_title", "認証・契約情報変更メニュー ログイン", "Log in to sign-in and contract settings"),
    ("menu_login_method", "ログイン方法の設定", "Login method"),
    ("menu_email_change", "メールアドレス変更", "Change email address"),
    ("menu_password_change", "パスワード変更", "Change password"),
    ("menu_access_route", "アクセス経路設定", "Access route"),
    ("menu_two_factor", "2段階認証設定", "Two-step verification"),
    ("menu_active_directory", "Active Directory設定", "Active Directory"),
    ("menu_contract_info", "契約情報変更", "Contract information"),
    ("menu_plan_change", "プラン変更", "Change plan"),
    ("menu_cancellation", "解約", "Cancel the contract"),
    ("menu_item_later_title", "準備中", "Coming soon"),
    ("menu_item_later", "この設定はまだこの画面から変更できません。変更が必要な場合はサポートセンターまでお問い合わせください。", "This setting cannot be changed here yet. Please contact the support center if you need to change it."),
    ("error_not_signed_in", "ログインしていないか、ログインの有効期限が切れました。もう一度ログインしてください。", "You are not logged in, or your login has expired. Please log in again."),
    ("error_not_allowed", "このメニューを利用する権限がありません。", "You are not allowed to use this item."),
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
