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
    // Two-step verification (REQ-2FA-*); wording as in the manuals.
    ("tf_title", "2段階認証", "Two-step verification"),
    ("tf_intro", "はじめてご利用のブラウザからのログイン、または30日間アクセスがなかったため、2段階認証が必要です。", "Two-step verification is needed because this is a new browser, or you have not used the service for 30 days."),
    ("tf_requested", "ご利用のサービスが2段階認証を求めています。", "The service you are using asks for two-step verification."),
    ("tf_setup_title", "2段階認証の設定", "Set up two-step verification"),
    ("tf_sms_intro", "SMSが受信できる携帯電話、スマートフォンの電話番号を入力してください。入力された電話番号宛に、ショートメッセージで6桁の認証コードをお送りします。", "Enter the number of a mobile phone that can receive SMS. We will send a 6-digit code to it by text message."),
    ("tf_phone", "電話番号", "Phone number"),
    ("tf_phone_example", "例: 090-1234-5678", "For example: 090-1234-5678 or +81 90 1234 5678"),
    ("tf_phone_invalid", "電話番号の形式が正しくありません。例: 090-1234-5678", "The phone number is not valid. For example: 090-1234-5678 or +81 90 1234 5678."),
    ("tf_phone_not_mobile", "SMSを受信できる携帯電話の番号(070/080/090など)を入力してください。", "Enter a mobile number (070/080/090 …) that can receive SMS."),
    ("tf_use_totp", "Google Authenticator、Microsoft Authenticatorをご利用の方はこちら", "Use Google Authenticator or Microsoft Authenticator instead"),
    ("tf_use_sms", "SMS(ショートメッセージ)で設定する場合はこちら", "Use SMS (text message) instead"),
    ("tf_sms_sent", "認証コードをショートメッセージで送信しました。送信先:", "We sent a code by text message to:"),
    ("tf_enter_sms_code", "ショートメッセージに送られてきた6桁の認証コードを入力してください。", "Enter the 6-digit code from the text message."),
    ("tf_enter_totp_code", "認証アプリ(Google Authenticator、Microsoft Authenticator)に表示された6桁のコードを入力してください。", "Enter the 6-digit code shown in your authenticator app (Google Authenticator, Microsoft Authenticator)."),
    ("tf_code", "認証コード(6桁)", "Code (6 digits)"),
    ("tf_remember", "このブラウザを一定期間、記憶する", "Remember this browser for a while"),
    ("tf_resend", "認証コードを再送信する", "Send the code again"),
    ("tf_lost_device", "デバイスを紛失した場合はこちら", "Lost your device? Click here"),
    ("tf_code_wrong", "認証コードが正しくありません。", "The code is not correct."),
    ("tf_code_expired", "認証コードの有効期限(5分)が切れました。認証コードを再送信してください。", "The code has expired (codes are valid for 5 minutes). Please send a new one."),
    ("tf_code_used", "この認証コードはすでに使用されています。次のコードが表示されるまでお待ちください。", "This code was already used. Please wait for the next code."),
    ("tf_too_many_attempts", "認証コードを規定回数以上間違えました。もう一度ログイン画面からログインしてください。", "Too many wrong codes. Please log in again from the login page."),
    ("tf_too_many_sends", "認証コードの送信回数が上限に達しました。もう一度ログイン画面からログインしてください。", "The code was sent too many times. Please log in again from the login page."),
    ("tf_sms_failed", "ショートメッセージを送信できませんでした。電話番号をご確認のうえ、もう一度お試しください。", "The text message could not be sent. Please check the number and try again."),
    ("tf_sms_limit", "認証コードの送信回数が上限に達したため、送信できませんでした。しばらくしてから、もう一度ログイン画面からログインしてください。", "The code was not sent: the number of codes sent has reached its limit. Please log in again from the login page later."),
    ("tf_sms_filter_hint", "SMSを受信できなかった場合、電話番号のSMSの受信設定が影響している可能性があります。「国際SMSや海外事業者からのSMSの受信拒否する設定」「特定の番号のみ許可する設定」がされている場合は解除していただき、再度ログイン画面からログインをお試しください。", "If no text message arrives, the phone's SMS settings may block it. If it refuses international SMS or SMS from overseas carriers, or allows only certain numbers, turn that off and log in again from the login page."),
    ("tf_totp_step1", "①Google Authenticator、またはMicrosoft Authenticatorを起動し、QRコードを読み込みます。", "1. Open Google Authenticator or Microsoft Authenticator and scan the QR code."),
    ("tf_totp_step2", "②表示された6桁のパスワードを入力し、「次へ ＞」をクリックしてください。", "2. Enter the 6-digit code it shows and click \"Next >\"."),
    ("tf_totp_secret", "QRコードを読み込めない場合は、次のキーを入力してください:", "If you cannot scan the QR code, enter this key:"),
    ("tf_recovery_title", "リカバリーコード", "Recovery code"),
    ("tf_recovery_intro", "リカバリーコードが表示されます。携帯電話を紛失した場合など登録する電話番号を変更する際に必要となりますので、忘れないようにテキストファイル等に保存してください。このコードは一度しか表示されません。", "This is your recovery code. You need it if you lose your phone or change the registered number, so save it in a text file or similar. It is shown only once."),
    ("tf_recovery_saved", "リカバリーコードを保存しました", "I saved the recovery code"),
    ("tf_recovery_saved_required", "「リカバリーコードを保存しました」にチェックしてください。", "Please tick \"I saved the recovery code\"."),
    ("tf_recovery_entry_title", "デバイスを紛失した場合", "If you lost your device"),
    ("tf_recovery_entry_intro", "リカバリーコードを入力してください。コピーした状態(半角スペースや「-」が含まれている値)のまま入力できます。リカバリーコードを紛失した場合は、パスワードリセットで2段階認証の登録をリセットしてください。", "Enter your recovery code. You can paste it as copied, with spaces or \"-\". If you lost the recovery code, reset your password to reset two-step verification."),
    ("tf_recovery_wrong", "リカバリーコードが正しくありません。", "The recovery code is not correct."),
    ("tf_recovery_new", "新たなリカバリーコードが発行されました。これまでのリカバリーコードは利用できなくなります。", "A new recovery code was issued. The previous one no longer works."),
    ("tf_recovery_again", "リカバリーコードは一度だけ表示されます。保存していない場合は、新しいリカバリーコードを発行してください(これまでに表示されたコードは使えなくなります)。", "The recovery code is shown only once. If you did not save it, issue a new one (any code shown before stops working)."),
    ("tf_recovery_again_button", "新しいリカバリーコードを発行する", "Issue a new recovery code"),
    ("tf_done_title", "2段階認証完了", "Two-step verification complete"),
    ("tf_done_body", "2段階認証が完了しました。", "Two-step verification is complete."),
    ("tf_login", "ログインする", "Log in"),
    ("tf_expired", "2段階認証の有効期限が切れたか、すでに完了しています。もう一度ログイン画面からログインしてください。", "This verification has expired or is already complete. Please log in again from the login page."),
    ("tf_next", "次へ ＞", "Next >"),
    ("tf_setting_title", "2段階認証設定", "Two-step verification setting"),
    ("tf_setting_applies", "本設定は、ログイン方法に「メールアドレス・パスワード」を設定している契約内のすべてのユーザに適用されます。", "This setting applies to every user of the contract who logs in with an email address and password."),
    ("tf_setting_enable", "2段階認証を有効にする", "Enable two-step verification"),
    ("tf_setting_disable", "2段階認証を無効にする", "Disable two-step verification"),
    ("tf_setting_line_only", "※アクセス経路設定を「回線認証のみ」を選択されている場合、2段階認証の設定は自動的に無効となります。", "* When the access route is \"line authentication only\", two-step verification is disabled automatically."),
    ("tf_setting_warning", "2段階認証を無効にする場合、第三者による不正ログインのリスクが高まります。2段階認証を無効にする設定の前に、社内の情報セキュリティ責任者等にご相談のうえ、設定してください。", "Disabling two-step verification raises the risk of unauthorised logins by third parties. Consult your information security officer before disabling it."),
    ("tf_setting_submit", "設定", "Save"),
    ("tf_setting_back", "戻る", "Back"),
    ("tf_setting_cancel", "キャンセル", "Cancel"),
    ("tf_confirm_title", "設定確認", "Confirm the setting"),
    ("tf_confirm_question", "以下の内容でお間違えいませんか?", "Is the following correct?"),
    ("tf_confirm_other_methods", "※メールアドレス・パスワード認証以外をご利用する場合、ご利用のアカウントにて多要素認証の設定をお願いします。", "* Users who log in another way than email and password should set up multi-factor authentication in the account they use."),
    ("tf_confirm_checkbox", "上記の説明を確認しました。", "I have read the explanation above."),
    ("tf_confirm_required", "「上記の説明を確認しました。」にチェックしてください。", "Please tick \"I have read the explanation above.\""),
    ("tf_current", "現在の設定", "Current setting"),
    ("tf_after", "変更後の設定", "New setting"),
    ("tf_setting_saved", "2段階認証設定を変更しました。契約内の利用者の次回ログインから適用されます。", "The two-step verification setting was changed. It applies to the contract's users from their next login."),
    // Brokered login (REQ-LOGIN-3, REQ-USER-3/5).
    ("up_login_google", "Googleアカウントでログイン", "Log in with Google"),
    ("up_login_facebook", "Facebookアカウントでログイン", "Log in with Facebook"),
    ("up_login_microsoft", "Microsoftアカウントでログイン", "Log in with Microsoft"),
    ("up_login_daccount", "dアカウントでログイン", "Log in with d ACCOUNT"),
    ("up_bind_google", "Googleアカウントを登録する", "Use a Google account"),
    ("up_bind_facebook", "Facebookアカウントを登録する", "Use a Facebook account"),
    ("up_bind_microsoft", "Microsoftアカウントを登録する", "Use a Microsoft account"),
    ("up_bind_daccount", "dアカウントを登録する", "Use a d ACCOUNT"),
    ("up_method_title", "ログイン方法の設定", "Choose how you log in"),
    ("up_method_intro", "ログインに使用するアカウントを選択してください。", "Choose the account you will log in with."),
    ("up_method_advice", "意図しないアカウントが登録されないよう、登録する前に、ご利用のブラウザで各サービス(Google、Facebook、Microsoft、dアカウント)からログアウトしてください。次の画面で、登録するアカウントを選択してください。", "So that no unintended account is registered, log out of the service (Google, Facebook, Microsoft, d ACCOUNT) in this browser before registering. On the next screen, choose the account to register."),
    ("up_bound_title", "ログイン方法を変更しました", "Your login method was changed"),
    ("up_bound_body", "次回から、登録したアカウントでログインしてください。", "From now on, log in with the account you registered."),
    ("up_error_title", "ログインできませんでした", "The login did not complete"),
    ("up_error_cancelled", "ログインがキャンセルされました。もう一度ログインしてください。", "The login was cancelled. Please log in again."),
    ("up_error_state", "ログインの要求が正しくありません。同じブラウザで、ログイン画面からもう一度ログインしてください。", "The login request is not valid. Please log in again from the login page, in the same browser."),
    ("up_error_expired", "ログインの有効期限が切れました。ログイン画面からもう一度ログインしてください。", "The login expired. Please log in again from the login page."),
    ("up_error_replay", "このログインはすでに完了しているか、無効です。ログイン画面からもう一度ログインしてください。", "This login was already completed or is not valid. Please log in again from the login page."),
    ("up_error_id_token", "連携先サービスからの応答を確認できませんでした。ログイン画面からもう一度ログインしてください。", "The answer from the other service could not be verified. Please log in again from the login page."),
    ("up_error_upstream", "連携先サービスでログインできませんでした。もう一度お試しください。", "The login at the other service did not succeed. Please try again."),
    ("up_error_unavailable", "連携先サービスに接続できませんでした。しばらくしてからもう一度お試しください。", "The other service could not be reached. Please try again later."),
    ("up_error_not_bound", "このアカウントは登録されていません。登録したログイン方法でログインしてください。ご不明な場合は、契約者または管理者にお問い合わせください。別のアカウントでログインしている場合は、連携先サービスからログアウトしてからお試しください。", "This account is not registered. Please log in with the method you registered. If unsure, ask your contractor or administrator. If you are signed in to the other service with a different account, log out of it and try again."),
    ("up_error_second_facebook", "登録済みのFacebookアカウントを、別のFacebookアカウントに直接変更することはできません。いったん別のログイン方法に変更してから、もう一度お試しください。", "A registered Facebook account cannot be switched directly to another Facebook account. Change to another login method first, then try again."),
    ("up_error_bound_elsewhere", "このアカウントは別の利用者に登録されています。別のアカウントを選択してください。", "This account is registered to another user. Please choose another account."),
    ("up_why_signature", "理由: IDトークンの署名が正しくありません。", "Reason: the ID token's signature is not valid."),
    ("up_why_unknown_key", "理由: IDトークンが、連携先サービスの公開鍵にない鍵で署名されています。", "Reason: the ID token is signed with a key the service does not publish."),
    ("up_why_issuer", "理由: IDトークンの発行者(iss)が連携先サービスと一致しません。", "Reason: the ID token's issuer (iss) is not the service's."),
    ("up_why_audience", "理由: IDトークンの宛先(aud)が本サービスではありません。", "Reason: the ID token's audience (aud) is not this service."),
    ("up_why_expired", "理由: IDトークンの有効期限が切れています。", "Reason: the ID token has expired."),
    ("up_why_nonce", "理由: IDトークンがこのログインのものではありません(nonceが一致しません)。", "Reason: the ID token is not for this login (the nonce does not match)."),
    ("up_why_missing", "理由: IDトークンがありません。", "Reason: there is no ID token."),
    ("up_why_other", "理由: IDトークンを検証できませんでした。", "Reason: the ID token could not be verified."),
    ("error_contract_ended", "ご契約が解約されているか、無料トライアルの期間が終了しているため、ログインできません。ご不明な点は契約者またはサポートセンターにお問い合わせください。", "You cannot log in: the contract was cancelled or its free trial has ended. Please ask your contractor or the support center."),
    ("error_unmet_two_factors", "ご利用のサービスが2段階認証を求めていますが、このアカウントのログイン方法では2段階認証を行えません。", "The service asks for two-step verification, which this account's login method cannot provide."),
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
