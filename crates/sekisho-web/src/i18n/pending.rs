//! Pending changes (login method, email) and their cancellation; password reset and 2FA (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    // A pending change: what it is, to which address, until when (the menu and the console).
    ("pc_heading", "手続き中の変更", "Pending change"),
    ("pc_what", "変更内容", "Change"),
    ("pc_email_change", "メールアドレス変更", "Email address change"),
    ("pc_login_method_change", "ログイン方法の変更", "Login method change"),
    ("pc_new_email", "新しいメールアドレス", "New email address"),
    ("pc_until", "URLの有効期限", "Link valid until"),
    ("pc_cancel", "取り消す", "Cancel"),
    ("pc_cancel_note", "取り消すと、メールでお送りしたURLは使用できなくなります。", "If you cancel, the link in the mail no longer works."),
    ("pc_resend", "再送信", "Resend"),
    ("pc_resend_note", "再送信すると、新しいURLをメールでお送りします。以前のURLは使用できなくなります。", "Resending mails a new link; the earlier link no longer works."),
    ("pc_contractor_note", "契約者の手続き中の変更は、契約者ご本人が認証・契約情報変更メニューから取り消せます。", "The contractor cancels their own pending change from their account menu."),
    ("pc_cancelled", "手続き中の変更を取り消しました。", "The pending change is cancelled."),
    ("pc_resent", "新しいURLをメールで送信しました。以前のURLは使用できなくなりました。", "A new link is mailed. The earlier link no longer works."),
    ("pc_not_mailed", "送信数の上限に達したため、メールを送信できませんでした。以前のURLは使用できなくなっています。しばらくしてから再送信してください。", "The mail was not sent: the address has reached its limit of mails for now. The earlier link no longer works; please resend later."),
    ("pc_none", "手続き中の変更はありません。", "There is no pending change."),
    ("pc_blocks_login_method", "メールアドレス変更の手続き中は、ログイン方法を変更できません。変更する場合は、手続き中のメールアドレス変更を取り消してください。", "While an email change is pending, the login method cannot be changed. To change it, cancel the pending email change."),
    // The contractor's ログイン方法の設定 in the account menu: a page first, the change on the button.
    ("lm_intro", "ログイン方法を変更します。「ログイン方法を変更する」をクリックすると、新しいログイン方法を選択する画面が表示されます。", "You are about to change how you log in. Click \"Change the login method\" to choose the new method."),
    ("lm_2fa_note", "※ログイン方法を変更すると、2段階認証の登録はリセットされます。", "* Changing the login method resets your two-step verification registration."),
    ("lm_start", "ログイン方法を変更する", "Change the login method"),
    // The lock mail's link: a page with a button (a mail scanner that opens links unlocks nothing).
    ("unlock_confirm_title", "アカウントロックの解除", "Unlock your account"),
    ("unlock_confirm_body", "「ロックを解除する」をクリックすると、アカウントロックが解除され、ログインできるようになります。", "Click \"Unlock\" to unlock your account; you can then log in."),
    ("unlock_submit", "ロックを解除する", "Unlock"),
    // The email-change link of a user who logs in without a password: confirmed by a button.
    ("ec_confirm_body", "メールアドレスを次のアドレスに変更します。「登録」をクリックすると、変更が完了します。", "Your email address will be changed to the address below. Click \"Register\" to complete the change."),
    // REQ-2FA-6: a password reset resets the two-step registration; the next login enrols again.
    ("reset_done_2fa", "※2段階認証の登録がリセットされました。次回ログイン時に、2段階認証を再登録してください。", "* Your two-step verification registration was reset. Set up two-step verification again at your next login."),
    ("tf_enrol_intro", "2段階認証が登録されていないため、設定が必要です。パスワードリセット、メールアドレス変更、ログイン方法の変更を行うと、それまでの2段階認証の登録はリセットされます。", "Two-step verification is not set up for your account, so it must be set up now. A password reset, an email change or a login-method change resets any earlier registration."),
];
