//! Where a visit goes on: the service link, the language switch, the not-found and error pages' ways forward (ISSUE-16).

/// (key, Japanese, English).
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    // The ways forward of a page that ends a flow (`navigation::Way`).
    ("ways_label", "次の操作", "Where to go next"),
    ("way_service", "サービスへ進む", "Go to the service"),
    (
        "way_account_menu",
        "認証・契約情報変更メニューへ",
        "Go to sign-in and contract settings",
    ),
    ("way_console", "管理コンソールへ", "Go to the admin console"),
    ("way_login", "ログイン画面へ", "Go to the login page"),
    // A page's own link, labelled by where it leads back to.
    ("way_back_to_menu", "メニューへ戻る", "Back to the menu"),
    (
        "way_back_to_console",
        "管理コンソールへ戻る",
        "Back to the admin console",
    ),
    (
        "way_forgot_password",
        "パスワードの再設定へ",
        "Reset your password",
    ),
    // A direct login (at /{brand}/login) with a service to go on to.
    (
        "signed_in_go_on",
        "ご利用のサービスへお進みください。",
        "Please continue to your service.",
    ),
    // The admin console's login page (a login begun at /{brand}/admin).
    (
        "console_login_title",
        "管理コンソール ログイン",
        "Log in to the admin console",
    ),
    // A request a page cannot make sense of (a path segment that is not text, a form that does
    // not parse), answered as a page instead of a line of plain text.
    ("error_bad_request", "リクエストの内容が正しくありません。ページのアドレスをご確認のうえ、もう一度お試しください。", "The request is not valid. Please check the page's address and try again."),
    // A known path asked with a method it does not answer (405).
    (
        "error_method_not_allowed",
        "このページはこの方法では開けません。下のリンクからお進みください。",
        "This page cannot be opened this way. Please use a link below.",
    ),
];
