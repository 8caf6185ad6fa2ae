//! The manuals' screen texts, key by key (ISSUE-16, REQ-LOGIN-6): a page that an office worker
//! compares with the manual's screenshot reads the same.
//!
//! The manuals are the five user manuals in `../shared/seeds/` (one per brand, the same text):
//!
//! | id  | brand                      | file                         |
//! |-----|----------------------------|------------------------------|
//! | 000 | OTクラウド・ストレージ 12.2版  | `000_a9c61ceb3273acf9.txt`   |
//! | 001 | おまかせ クラウドストレージ 1.5版 | `001_a2036beddb7a8b0f.txt` |
//! | 002 | どこでもBOX 6.0版           | `002_e0188bb3912aea23.txt`   |
//! | 003 | M-Drive 4.0版              | `003_fd08031d31c8d12c.txt`   |
//! | 004 | コーデックストレージ 6.0版     | `004_63b111e52771714d.txt`   |
//!
//! Sources are given as `manual §chapter-section`. Where the manuals disagree with each other or
//! carry an evident slip, the table holds the corrected text and a comment quotes the manuals'
//! forms. The mails are checked the same way in `sekisho-notify` (`templates/manual.rs`).

use super::{message, Lang};

/// How the manual's text appears in the product's string.
#[derive(Clone, Copy, Debug)]
enum Shown {
    /// The string is the manual's text (a title, a label, a button).
    Exactly,
    /// The manual's text is part of the string (one sentence of a paragraph the page shows whole,
    /// or a label followed by its value).
    Within,
}
use Shown::{Exactly, Within};

/// (key, how, the manual's text, source).
const MANUAL: &[(&str, Shown, &str, &str)] = &[
    // The login page (ログイン画面).
    ("login_title", Exactly, "ログイン", "000–004 §1-1"),
    ("login_button", Exactly, "ログイン", "000–004 §1-1"),
    ("email", Exactly, "メールアドレス", "000–004 §1-1"),
    ("password", Exactly, "パスワード", "000–004 §1-1"),
    // The screens read 認証・契約情報; the steps of 001, 003, 004 say 「その他契約情報の変更は」.
    ("account_menu_link", Exactly, "パスワード変更、その他認証・契約情報の変更はこちら", "000–004 §1-1"),
    ("forgot_password", Exactly, "パスワードを忘れた方はこちら", "000–004 §1-1, §6-2"),
    // Shown as 「---または---」.
    ("or", Exactly, "または", "000–004 §1-1"),
    ("up_login_google", Exactly, "Googleアカウントでログイン", "000–004 §1-2"),
    ("up_login_facebook", Exactly, "Facebookアカウントでログイン", "000–004 §1-2"),
    ("up_login_microsoft", Exactly, "Microsoftアカウントでログイン", "000–004 §1-2"),
    ("up_login_daccount", Exactly, "dアカウントでログイン", "000–004 §1-2"),
    ("ad_login_button", Exactly, "Active Directoryアカウントでログイン", "000–004 §1-1"),
    // Lockout: the login page after the tenth wrong password.
    ("account_locked", Exactly, "ログインを複数回連続して試行したため、アカウントがブロックされました。ブロック解除の旨のメールをお送りしましたのでご確認ください。", "003 §6-1"),
    // The account menu's own login page and the menu.
    ("account_login_title", Exactly, "認証・契約情報変更ログイン", "000–004 §2-1 (2)"),
    ("account_title", Exactly, "認証・契約情報変更メニュー", "000–004 §2-1 (3)"),
    ("account_login_lead", Exactly, "ログインの方はこちらからログインしてください。", "000–004 §2-1 (2)"),
    // 認証・契約情報変更メニュー. The manuals write サポートセンタ (000–004 §2-1 (3)); one screen
    // of 001 says 全てのサービス for 全てのユーザー.
    ("menu_permitted_note", Exactly, "あなたに許可されたメニューのみ表示しております。ご不明点がございましたら、サポートセンターまでお問い合わせください。", "000–004 §2-1 (3)"),
    ("menu_group_credentials", Exactly, "認証情報の変更", "000–004 §2-1 (3)"),
    ("menu_group_credentials_intro", Exactly, "あなたの認証情報を変更できます。", "000–004 §2-1 (3)"),
    ("menu_group_credentials_note", Exactly, "※メールアドレス変更では本サービスで登録しているメールアドレスを変更できます。", "000–004 §2-1 (3)"),
    ("menu_group_settings", Exactly, "認証情報の設定", "000–004 §2-1 (3)"),
    ("menu_group_settings_intro", Exactly, "ご契約している本サービスにおける設定の確認・変更が行えます。", "000–004 §2-1 (3)"),
    ("menu_group_settings_note", Exactly, "※認証方法は登録されている全てのユーザーに適用されます。", "000–004 §2-1 (3)"),
    ("menu_group_contract", Exactly, "契約情報の変更", "000–004 §2-1 (3)"),
    ("menu_group_contract_intro", Exactly, "ご契約している本サービスの契約情報を変更できます。", "000–004 §2-1 (3)"),
    ("menu_group_contract_trial_note", Exactly, "※無料トライアルの解約は不可となります。30日経過後自動的に解約となります。", "000–004 §1-1 ※2"),
    ("menu_to_top", Exactly, "トップ画面へ", "000–004 §2-1 (3)"),
    ("menu_login_method", Exactly, "ログイン方法の設定", "000–004 §2-1 (3)"),
    ("menu_email_change", Exactly, "メールアドレス変更", "000–004 §2-1 (3)"),
    ("menu_password_change", Exactly, "パスワード変更", "000–004 §2-1 (3)"),
    ("menu_access_route", Exactly, "アクセス経路設定", "000–004 §2-1 (3)"),
    ("menu_two_factor", Exactly, "2段階認証設定", "000–004 §2-1 (3)"),
    ("menu_active_directory", Exactly, "Active Directory設定", "000–004 §2-1 (3)"),
    ("menu_contract_info", Exactly, "契約情報変更", "000–004 §2-1 (3)"),
    ("menu_plan_change", Exactly, "プラン変更", "000–004 §2-1 (3)"),
    ("menu_cancellation", Exactly, "解約", "000–004 §2-1 (3)"),
    // The way back to the menu. The manuals' link 「認証・契約者情報メニューへ」 (000, 002–004) and
    // 「認証・契約情報メニューへ」 (001) misname the menu, which is 認証・契約情報変更メニュー.
    ("ar_back_to_menu", Within, "認証・契約情報変更メニューへ", "000–004 §3 (5)"),
    // Plans (the table of §0).
    ("plan_basic", Exactly, "基本プラン", "000–004 §0"),
    ("plan_trial", Exactly, "無料トライアル", "000–004 §0"),
    ("plan_to_basic", Within, "トライアル期間終了後15日以内であれば、基本プランへのプラン変更が可能です。", "000–004 §0 ※1"),
    // Login method (ログイン方法の設定).
    ("up_method_title", Exactly, "ログイン方法の設定", "000–004 §2-1 (1)"),
    ("up_method_intro", Exactly, "新しく利用するログイン方法を選択してください。", "001 §2-2 (1)"),
    // The screen shows 「ご利用中のログイン方法: メールアドレス・パスワード」.
    ("method_current", Within, "ご利用中のログイン方法", "001 §2-2 (1)"),
    ("method_password", Exactly, "メールアドレス・パスワード", "000–004 §2-1 (1)"),
    ("method_google", Exactly, "Googleアカウント", "001 §2-2 (1)"),
    ("method_facebook", Exactly, "Facebookアカウント", "001 §2-2 (1)"),
    ("method_microsoft", Exactly, "Microsoftアカウント", "001 §2-2 (1)"),
    ("method_daccount", Exactly, "dアカウント", "001 §2-2 (1)"),
    ("method_ad", Exactly, "Active Directoryアカウント", "001 §2-2 (1)"),
    // The change page's choices are the methods' names.
    ("up_bind_google", Exactly, "Googleアカウント", "001 §2-2 (1)"),
    ("up_bind_facebook", Exactly, "Facebookアカウント", "001 §2-2 (1)"),
    ("up_bind_microsoft", Exactly, "Microsoftアカウント", "001 §2-2 (1)"),
    ("up_bind_daccount", Exactly, "dアカウント", "001 §2-2 (1)"),
    ("method_facebook_note", Exactly, "※登録済みの「Facebookアカウント」から異なるFacebookアカウントへは切り替えできません。異なるFacebookアカウントに変更したい場合は、一度別のログイン方法に変更してください。", "000 §2-1 (1)"),
    ("method_password_heading", Exactly, "メールアドレス・パスワード認証の設定", "000–004 §2-1 (1)"),
    ("reg_submit", Exactly, "登録", "000–004 §1-5, §2-1 (1)"),
    ("back", Exactly, "戻る", "000–004 §2-1 (1)"),
    // 001 writes 「パスワード（確認用）」, the method page 「パスワード(確認用)」.
    ("password_confirm", Exactly, "パスワード (確認用)", "000, 002, 003 §1-5"),
    // Registration (利用者ログイン登録).
    ("reg_title", Exactly, "利用者ログイン登録", "000–004 §1-5"),
    // The product adds its maximum after the manual's sentence. 002's invitation screenshot reads
    // 「パスワードを6-30文字、英大文字…」 and 003's 「…3種類以上を最低8文字以上で…」; the other screens
    // all read as below.
    ("pw_rule", Within, "パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上で設定してください", "000–004 §1-5, §3, §6-2"),
    ("up_register_google", Exactly, "Googleアカウントで登録", "000–004 §1-5"),
    ("up_register_facebook", Exactly, "Facebookアカウントで登録", "000–004 §1-5"),
    ("up_register_microsoft", Exactly, "Microsoftアカウントで登録", "000–004 §1-5"),
    ("up_register_daccount", Exactly, "dアカウントで登録", "000–004 §1-5"),
    ("ad_register_button", Exactly, "Active Directoryアカウントで登録", "000–004 §1-5"),
    ("reg_confirm_title", Exactly, "申込確認", "000–003 §1-5 (3)"),
    // The manuals disagree: 「お間違えはないでしょうか？」 (000, 003), 「お間違えありませんでしょうか？」
    // (002), 「お間違えないで下さい？」 (001); the standard form is 003's on its 2FA confirmation.
    ("reg_confirm_question", Exactly, "以下の内容でお間違いないでしょうか？", "003 §5-1 (5)"),
    ("reg_method_label", Exactly, "登録方法", "000–003 §1-5 (3)"),
    ("reg_method_password", Exactly, "メールアドレス・パスワードで登録", "000–003 §1-5 (3)"),
    ("reg_password_hidden", Exactly, "(非表示)", "000–003 §1-5 (3)"),
    ("reg_cancel", Exactly, "キャンセル", "000–003 §1-5 (3)"),
    ("reg_confirm", Exactly, "確認", "000–003 §1-5 (3)"),
    ("reg_done_title", Exactly, "申込完了", "000–004 §1-5 (5)"),
    // Email change (メールアドレス変更). 003 and 004 show the older 「新しくログインに使用する
    // メールアドレスを入力してください。」.
    ("email_change_intro", Exactly, "本サービスに新しく登録するメールアドレスを入力してください。", "000, 002 §2-1 (2)"),
    ("email_change_send", Exactly, "メール送信", "000–004 §2-1 (2)"),
    ("email_change_confirm_title", Exactly, "メールアドレス変更確認", "001 §2-2 (2)"),
    ("email_change_confirm_heading", Exactly, "新しくログインに使用するパスワードを入力してください。", "001 §2-2 (2)"),
    ("email_changed_body", Exactly, "メールアドレス変更が完了しました。", "001 §2-2 (2)"),
    ("email_changed_password", Within, "メールアドレス変更が完了しました。", "001 §2-2 (2)"),
    ("admin_not_both", Exactly, "ログイン方法の変更とメールアドレス変更は同時に実施できません。メールアドレス変更実施後、ログイン方法の変更を実施してください。", "000–004 §2-2 (4)"),
    // Password change and reset.
    ("password_change_title", Exactly, "パスワード変更", "000–004 §3 (4)"),
    ("current_password", Exactly, "現在のパスワード", "000–004 §3 (4)"),
    ("new_password", Exactly, "新しいパスワード", "000–004 §3 (4), §6-2"),
    ("new_password_confirm", Exactly, "新しいパスワード (確認用)", "000, 002–004 §3 (4)"),
    ("reset_title", Exactly, "リセットパスワード", "000–004 §6-2"),
    ("send", Exactly, "送信", "000–004 §6-2"),
    ("reset_done", Exactly, "リセットパスワードの手続きが完了いたしました。", "000, 002–004 §6-2 (3)"),
    // Two-step verification at login (2段階認証).
    ("tf_title", Exactly, "2段階認証", "000–004 §5-2 参考"),
    ("tf_sms_intro", Within, "SMSが受信できる携帯電話、スマートフォンの電話番号を入力", "000–004 §1-1 (1)"),
    ("tf_remember", Exactly, "このブラウザを一定期間、記憶する", "000–004 §1-1 (1)"),
    ("tf_recovery_title", Exactly, "リカバリーコード", "000–004 §1-1 (1)"),
    ("tf_recovery_intro", Within, "携帯電話を紛失した場合など登録する電話番号を変更する際に必要となりますので、忘れないようにテキストファイル等に保存", "000–004 §1-1 (1)"),
    // The manuals also write 「リカバリコードを保存しました」 (000–004 in places).
    ("tf_recovery_saved", Exactly, "リカバリーコードを保存しました", "000 §1-1 (1); 002, 004 §5-2 参考"),
    ("tf_done_title", Exactly, "2段階認証完了", "000–004 §1-1 (1)"),
    ("tf_login", Exactly, "ログインする", "000–004 §1-1 (1)"),
    ("tf_use_totp", Exactly, "QRコードでの認証はこちら", "000–004 §1-1 (2)"),
    ("tf_totp_step1", Within, "Google Authenticator、またはMicrosoft Authenticatorを起動し、QRコードを読み込みます。", "000–004 §1-1 (2)"),
    // 001 says パスコード.
    ("tf_totp_step2", Within, "6桁のパスワードを入力し", "000, 002–004 §1-1 (2)"),
    ("tf_sms_filter_hint", Within, "SMSを受信できなかった場合、", "000–004 §1-1 (1)"),
    ("tf_sms_filter_hint", Within, "SMSの受信設定が影響している可能性があります。", "000, 002–004 §1-1 (1)"),
    // The manuals: 「…SMSの受信拒否する設定」 (を missing).
    ("tf_sms_filter_hint", Within, "国際SMSや海外事業者からのSMSの受信を拒否する設定", "000–004 §1-1 (1)"),
    ("tf_sms_filter_hint", Within, "特定の番号のみ許可する設定", "000–004 §1-1 (1)"),
    ("tf_sms_filter_hint", Within, "再度ログイン画面からログインをお試しください。", "000–004 §1-1 (1)"),
    // A link on こちら: 「デバイスを紛失した場合は[こちら]」.
    ("tf_lost_device", Exactly, "デバイスを紛失した場合はこちら", "000–004 §5-2 参考"),
    ("tf_recovery_entry_intro", Within, "コピーした状態（半角スペースや「-」が含まれている値）のまま入力してください。", "000–002, 004 §5-2 参考"),
    // 001: 「新たなりカバリーコード」.
    ("tf_recovery_new", Within, "新たなリカバリーコードが発行", "000, 002, 004 §5-2 参考"),
    // The contract's 2FA setting (2段階認証設定).
    ("tf_setting_title", Exactly, "2段階認証設定", "000–004 §5-1 (4)"),
    ("tf_setting_enable", Exactly, "2段階認証を有効にする", "000, 002, 003 §5-1 (4)"),
    ("tf_setting_disable", Exactly, "2段階認証を無効にする", "000–004 §5-1 (4)"),
    // The manuals: 「アクセス経路設定を「回線認証のみ」を選択されている場合」 (を doubled).
    ("tf_setting_line_only", Exactly, "※アクセス経路設定で「回線認証のみ」を選択されている場合、2段階認証の設定は自動的に無効となります。", "000, 002, 003 §5-1 (4)"),
    ("tf_setting_warning", Exactly, "2段階認証を無効にする場合、第三者による不正ログインのリスクが高まります。2段階認証を無効にする設定の前に、社内の情報セキュリティ責任者等にご相談のうえ、設定してください。", "000–004 §5-1 (4)"),
    ("tf_setting_applies", Exactly, "本設定は、ログイン方法に「メールアドレス・パスワード」を設定している契約内のすべてのユーザに適用されます。", "000–004 §5-1"),
    ("tf_setting_submit", Exactly, "設定", "000–004 §4-1 (4), §5-1 (4)"),
    ("tf_setting_back", Exactly, "戻る", "000, 002, 003 §5-1 (4)"),
    ("tf_confirm_title", Exactly, "設定確認", "000, 002, 003 §5-1 (5)"),
    // The manuals: 「お間違えいませんか？」 (000), 「お間違えはないでしょうか？」 (002).
    ("tf_confirm_question", Exactly, "以下の内容でお間違いないでしょうか？", "003 §5-1 (5)"),
    ("tf_confirm_other_methods", Exactly, "※メールアドレス・パスワード認証以外をご利用する場合、ご利用のアカウントにて多要素認証の設定をお願いします。", "000, 002, 003 §5-1 (5)"),
    ("tf_confirm_checkbox", Exactly, "上記の説明を確認しました。", "000–004 §5-1 (5)"),
    ("tf_current", Exactly, "現在の設定", "000, 002, 003 §5-1 (5)"),
    ("tf_after", Exactly, "変更後の設定", "000, 002, 003 §5-1 (5)"),
    ("tf_setting_cancel", Exactly, "キャンセル", "000, 002, 003 §5-1 (5)"),
    // Access route (アクセス経路設定).
    ("ar_title", Exactly, "アクセス経路設定", "000–004 §4-1 (4)"),
    ("ar_choose", Within, "変更する通信経路を選択し、設定をクリック", "000–004 §4-1 (4)"),
    // 000 and 003 write ユーザー once here; every other occurrence is ユーザ.
    ("ar_applies", Exactly, "※ご契約内のユーザすべての設定が変更されます。", "000–004 §4-1 (4), §4-2 (1)"),
    ("ar_line_and_internet", Exactly, "回線認証+インターネット", "000–004 §4-1 (4)"),
    ("ar_line_and_internet_detail", Within, "回線認証及びインターネット接続の両方でサービスを利用する場合", "000–004 §4-1 (4)"),
    ("ar_line_and_internet_detail", Within, "※初期設定", "000–004 §4-1 (4)"),
    ("ar_line_only", Exactly, "回線認証のみ", "000–004 §4-1 (4)"),
    ("ar_line_only_detail", Exactly, "指定した回線環境のみから本サービスをご利用する場合", "001–004 §4-1 (4)"),
    // The manuals: 「※指定したい回線以外から…」.
    ("ar_line_only_refused", Within, "指定した回線以外からの本サービスへのアクセスはすべて拒否されます。", "001–004 §4-1 (4)"),
    ("ar_confirm_title", Exactly, "アクセス経路変更確認", "000–004 §4-1 (5)"),
    ("ar_confirm_question", Within, "変更内容を確認し、変更をクリック", "000–004 §4-1 (5)"),
    ("ar_change", Exactly, "変更", "000–004 §4-1 (5)"),
    // 000 and the §4-2 notes name the old screen 「プラン変更および通信経路設定」 and the menu
    // 「認証・契約者情報変更メニュー」.
    ("ar_warn_recovery", Within, "「アクセス経路設定」から「回線認証+インターネット」に", "001–004 §4-1 (6)"),
    // Line authentication in the admin console (回線認証) and at login.
    ("lines_title", Exactly, "回線認証", "000–004 §4-2"),
    // 000: 「① アクセス経路選択」 (a stray space).
    ("lines_route_heading", Exactly, "①アクセス経路選択", "001–004 §4-2 (1)"),
    ("lines_numbers_heading", Exactly, "②回線番号登録", "001–004 §4-2 (2)"),
    ("lines_numbers_intro", Within, "ご契約のNTT東日本・NTT西日本のフレッツ光回線※の回線番号（CAFで始まる英数13桁の番号またはCOPで始まる英数11桁の番号）", "000–004 §4-2 (2)"),
    ("lines_numbers_intro", Within, "※光コラボレーション事業者様が提供する「光アクセスサービス」を含む", "000–004 §4-2 (2)"),
    ("lines_save", Exactly, "保存", "000–004 §4-2 (2)"),
    ("error_line_not_registered", Within, "回線認証エラー", "000–004 §1-4"),
    ("error_line_not_registered_check", Within, "契約者様または管理者権限を持つ利用者様に", "000–004 §1-4"),
    ("error_line_not_registered_check", Within, "ご利用の回線番号を正しく登録しているか", "000–004 §1-4"),
    ("line_consent_title", Exactly, "回線情報通知設定", "000–004 §1-4 参考"),
    ("line_consent_notify", Exactly, "通知する", "000–004 §1-4 参考"),
    ("line_consent_decide", Exactly, "決定", "000–004 §1-4 参考"),
    // Active Directory (Active Directory接続設定, 接続ID確認画面).
    ("ad_bind_title", Exactly, "Active Directory接続設定", "000–004 §2-2 (1) ③"),
    ("ad_connection_id", Exactly, "接続ID", "000–004 §1-3"),
    ("ad_confirm_intro", Within, "契約者から周知された接続IDとなっているかご確認のうえ、「確認」をクリック", "000–004 §2-2 (1) ③"),
    ("ad_confirm_note", Exactly, "※接続IDは、ログインの際に必要となりますので、メモを取り安全な場所に保管してください。", "000–004 §2-2 (1) ③"),
    ("ad_confirm_button", Exactly, "確認", "000–004 §2-2 (1) ③"),
    // The admin console (管理コンソール).
    ("admin_title", Exactly, "管理コンソール", "000–004 §4-2"),
    ("admin_users", Exactly, "ユーザー一覧", "001–004 §2-2 (3)"),
    ("admin_detail", Exactly, "詳細", "001–004 §2-2 (3)"),
    ("role_contractor", Exactly, "契約者", "000–004 §0"),
    ("role_user", Exactly, "利用者", "000–004 §1-5"),
];

// ISSUE-16 REQ-LOGIN-6: every page string the manuals show reads as in the manuals.
#[test]
fn page_texts_match_the_manuals() {
    let mut wrong = Vec::new();
    for (key, how, text, source) in MANUAL {
        let ja = message(Lang::Ja, key);
        let ok = match how {
            Exactly => ja == *text,
            Within => ja.contains(text),
        };
        if !ok {
            wrong.push(format!("{key} ({source}): {how:?} 「{text}」, is 「{ja}」"));
        }
    }
    assert!(
        wrong.is_empty(),
        "not as in the manuals:\n{}",
        wrong.join("\n")
    );
}
