//! The account menu's groups and the forms' help (ISSUE-16).
//!
//! The menu's wording is the manuals' (認証・契約情報変更メニュー), without their typos
//! (サポートセンタ → サポートセンター, and the one screen that says 全てのサービス for 全てのユーザー).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    // The menu (REQ-MENU-1, REQ-MENU-2).
    ("menu_permitted_note", "あなたに許可されたメニューのみ表示しております。ご不明点がございましたら、サポートセンターまでお問い合わせください。", "Only the items you may use are shown. If anything is unclear, please contact the support center."),
    ("menu_signed_in_as", "ログイン中のメールアドレス", "Signed in as"),
    ("menu_group_credentials", "認証情報の変更", "Your sign-in details"),
    ("menu_group_credentials_intro", "あなたの認証情報を変更できます。", "You can change your own sign-in details."),
    ("menu_group_credentials_note", "※メールアドレス変更では本サービスで登録しているメールアドレスを変更できます。", "* Change email address changes the address registered with this service."),
    ("menu_group_settings", "認証情報の設定", "Sign-in settings"),
    ("menu_group_settings_intro", "ご契約している本サービスにおける設定の確認・変更が行えます。", "You can check and change the settings of the service you contract."),
    ("menu_group_settings_note", "※認証方法は登録されている全てのユーザーに適用されます。", "* These sign-in settings apply to every registered user."),
    ("menu_group_contract", "契約情報の変更", "Your contract"),
    ("menu_group_contract_intro", "ご契約している本サービスの契約情報を変更できます。", "You can change the information of your contract for the service."),
    ("menu_group_contract_trial_note", "※無料トライアルの解約は不可となります。30日経過後自動的に解約となります。", "* A free trial cannot be cancelled: it ends by itself after 30 days."),
    ("menu_to_top", "トップ画面へ", "To the top page"),
    // The menu's login page (認証・契約情報変更ログイン).
    ("account_login_lead", "ログインの方はこちらからログインしてください。", "Log in here to change your sign-in and contract settings."),
    // パスワード変更完了 (the manual's completion screen).
    ("pw_change_done_title", "パスワード変更完了", "Password changed"),
    // 解約: when the service ends, what becomes of the data, the explicit confirmation.
    ("cancel_when", "解約すると、その時点でご契約は終了し、契約者を含むすべての利用者が本サービスにログインできなくなります。", "Cancelling ends the contract at once: no user of the contract, the contractor included, can log in to the service any more."),
    ("cancel_tokens", "ログイン中の利用者も、次の操作からご利用いただけなくなります(発行済みの認証情報はすべて無効になります)。", "Users who are logged in lose access from their next action (every token issued to them stops working)."),
    ("cancel_data", "解約後は、利用者の登録情報(メールアドレス、ログイン方法、2段階認証の登録)とご契約の設定をご利用いただけなくなります。ご契約中に本サービスに保存したデータの取り扱い(削除の時期)については、サポートセンターまでお問い合わせください。", "After cancellation, the users' registrations (email addresses, login methods, two-step verification) and the contract's settings can no longer be used. For what becomes of the data stored in the service during the contract (and when it is deleted), please contact the support center."),
    ("cancel_irreversible", "解約は取り消すことができません。", "A cancellation cannot be undone."),
    ("cancel_confirm_required", "解約する場合は「上記を確認し、解約します」にチェックしてください。", "To cancel, tick \"I understand, and cancel the contract\"."),
    ("cancelled_at", "解約日時", "Cancelled at"),
    ("plan_confirm_required", "基本プランに変更する場合は「基本プランに変更することに同意します」にチェックしてください。", "To change plan, tick \"I agree to change to the basic plan\"."),
    // SMS enrolment: a way back to the number from the code page.
    ("tf_change_phone", "電話番号を変更する", "Change the phone number"),
];
