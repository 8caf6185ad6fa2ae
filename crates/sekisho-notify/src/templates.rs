//! What each brand mail says, in Japanese (the texts of the service manuals) and English.
//!
//! Every mail has the same frame — greeting, thanks for using the brand's service, the kind's own
//! paragraphs, the send-only footer — so a new kind (invitation, email change, login-method change)
//! only adds a [`MailKind`] variant and its paragraphs in [`ja`] and [`en`]. The Japanese texts
//! are the manuals' mails word for word (their slips left out); `manual.rs` checks them.
//!
//! Bodies are plain text with `\n` line ends (the transport turns them into CRLF). A link always
//! stands alone on its own line, so that mail clients make the whole of it clickable.

use sekisho_core::model::Brand;
use sekisho_core::oauth::Lang;
use sekisho_core::tickets::TICKET_TTL;

/// Days a mailed link stays valid, as the texts state it (本メール受領後14日間): the ticket
/// lifetime itself, so the text cannot drift from what the server enforces (REQ-MAIL-2).
pub const LINK_VALID_DAYS: i64 = TICKET_TTL / 86_400;

/// The mails Sekisho sends. Each link is a single-use ticket URL made by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// Too many wrong passwords (REQ-LOCK-1): the link unlocks the account.
    AccountLocked { unlock_url: String },
    /// "Forgot your password": the link opens the page that sets a new one.
    PasswordReset { reset_url: String },
    /// 利用者登録のご案内 (REQ-USER-1): the contractor or an admin (`inviter_email`) registered
    /// the user; the link opens the registration page.
    Invitation {
        inviter_email: String,
        registration_url: String,
    },
    /// メールアドレス変更登録 (REQ-USER-6), sent to the new address: the link confirms it.
    EmailChange { confirm_url: String },
    /// ログイン方法の設定変更 (REQ-USER-4): the link opens the login-method page.
    LoginMethodChange { change_url: String },
    /// Active Directoryアカウントのログイン用URL・接続ID通知 (REQ-AD-2): the AD login URLs (the
    /// internet one, and the line-authentication one when the deployment has a line entry) and
    /// the connection ID the users enter.
    AdConnection {
        internet_url: String,
        line_url: Option<String>,
        connection_id: String,
    },
    /// The contractor of a 回線認証のみ contract logged in from the internet to switch back, and
    /// has no registered factor: this link is the second proof (REQ-LINE-4).
    LineRecovery { url: String },
    /// The internet recovery path was used: the contractor is told (REQ-LINE-4).
    LineRecoveryUsed,
}

/// The subject and body of `kind` for `brand` in `lang`, greeting `recipient_name`.
///
/// Pass the user's display name, or their mail address when they have no name (see
/// [`addressee`]); an empty name falls back to a generic greeting rather than "様" alone.
/// The subject is the brand prefix and the title: `【OTクラウド・ストレージ】アカウントロック`.
pub fn render(
    kind: &MailKind,
    brand: &Brand,
    lang: Lang,
    recipient_name: &str,
) -> (String, String) {
    let text = match lang {
        Lang::Ja => ja(kind),
        Lang::En => en(kind),
    };
    let name = one_line(recipient_name);
    let frame = Frame::of(lang);
    let greeting = if name.is_empty() {
        frame.nameless_greeting.to_owned()
    } else {
        frame.greeting.replace("{name}", &name)
    };
    let opening = text.opening.unwrap_or(frame.thanks);
    let mut blocks = vec![greeting, opening.replace("{brand}", &brand.name)];
    // A kind's paragraphs may name the brand and the addressee too.
    let named = if name.is_empty() {
        frame.nameless_greeting
    } else {
        &name
    };
    blocks.extend(
        text.paragraphs
            .into_iter()
            .map(|p| p.replace("{brand}", &brand.name).replace("{name}", named)),
    );
    blocks.push(frame.footer.replace("{brand}", &brand.name));
    let subject = format!("{}{}", brand.mail_prefix(), text.title);
    (subject, blocks.join("\n\n") + "\n")
}

/// Whom to greet: the display name, or the mail address when the user has no name.
pub fn addressee<'a>(name: &'a str, email: &'a str) -> &'a str {
    if name.trim().is_empty() {
        email
    } else {
        name
    }
}

/// The parts every mail of one language shares; `{brand}` is the brand's name.
struct Frame {
    greeting: &'static str,
    nameless_greeting: &'static str,
    thanks: &'static str,
    footer: &'static str,
}

impl Frame {
    fn of(lang: Lang) -> Self {
        match lang {
            Lang::Ja => Frame {
                greeting: "{name}様",
                nameless_greeting: "お客様",
                // The change and AD mails of all five manuals; the lock and reset mails say
                // 「{brand}サービスを」 (their own `opening`).
                thanks: "平素より、{brand}をご利用いただき誠にありがとうございます。",
                // The manuals show it under the invitation (002, 003, 004 §1-5), the only mail
                // they print whole; line breaks and rules as there (003 prints no rules).
                footer: "=====\n本メールは「{brand}」のシステムより自動的に送信しております。\n送信専用となっておりますので、ご返信いただきましてもご対応いたしかねますので\n予めご了承ください。\n=====",
            },
            Lang::En => Frame {
                greeting: "Dear {name},",
                nameless_greeting: "Dear customer,",
                thanks: "Thank you for using the {brand} service.",
                footer: "=====\nThis mail was sent automatically by the {brand} system.\nIt was sent from a send-only address, so we cannot answer replies.\nThank you for your understanding.\n=====",
            },
        }
    }
}

/// A kind's own part of the mail: the subject title and the paragraphs between frame parts.
struct Text {
    title: &'static str,
    /// Replaces the frame's thanks line (the invitation, the lock and the reset mails open
    /// differently in the manuals).
    opening: Option<&'static str>,
    paragraphs: Vec<String>,
}

/// The thanks line of the lock and reset mails in the manuals.
const THANKS_FOR_THE_SERVICE: &str =
    "平素より、{brand}サービスをご利用いただき誠にありがとうございます。";

fn ja(kind: &MailKind) -> Text {
    let validity = format!("※有効期限: 本メール受領後{LINK_VALID_DAYS}日間");
    match kind {
        MailKind::AccountLocked { unlock_url } => Text {
            title: "アカウントロック",
            // 000, 001, 002, 004 §6-1 (003: 「M-Driveをご利用いただき」).
            opening: Some(THANKS_FOR_THE_SERVICE),
            paragraphs: vec![
                "サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。".into(),
                "下記URLへアクセスすることでロックを解除できます。".into(),
                unlock_url.clone(),
                validity,
                "なお、上記URLが有効期限切れの場合、ポータルサイトのログイン画面よりパスワード変更を行うことによりロックを解除できます。".into(),
            ],
        },
        MailKind::PasswordReset { reset_url } => Text {
            title: "パスワードリセット",
            // 000, 001, 002, 004 §6-2 (003: 「M-Driveをご利用いただき」).
            opening: Some(THANKS_FOR_THE_SERVICE),
            paragraphs: vec![
                "パスワードリセットについて承りました。\n下記URLへアクセスし新しいパスワードを登録ください。".into(),
                reset_url.clone(),
                format!(
                    "{validity}\n本メール受領後、{LINK_VALID_DAYS}日間以内に新しいパスワードの登録が完了しない場合は処理がキャンセルとなりますのでご注意ください。"
                ),
            ],
        },
        MailKind::Invitation {
            inviter_email,
            registration_url,
        } => Text {
            title: "利用者登録のご案内",
            opening: Some("こちらは、{brand}システムです。"),
            paragraphs: vec![
                format!(
                    "{}より{{name}}様が\n本サービスの利用者として登録されました。\n本メール受領後、{LINK_VALID_DAYS}日以内に下記URLへアクセスして利用者登録を完了してください。",
                    one_line(inviter_email)
                ),
                "■利用者登録用URL".into(),
                registration_url.clone(),
            ],
        },
        MailKind::EmailChange { confirm_url } => Text {
            title: "メールアドレス変更登録",
            opening: None,
            paragraphs: vec![
                "下記URLへアクセスし、ご登録いただきましたメールアドレスへの変更を完了してください。".into(),
                confirm_url.clone(),
                format!(
                    "{validity}\n本メール受領後、{LINK_VALID_DAYS}日間以内にアクセスが完了しない場合は変更がキャンセルとなりますのでご注意ください。"
                ),
            ],
        },
        MailKind::LoginMethodChange { change_url } => Text {
            title: "ログイン方法の設定変更",
            opening: None,
            paragraphs: vec![
                "下記URLへアクセスし、ログイン方法の設定変更を完了してください。".into(),
                change_url.clone(),
                "ログイン方法に認証連携しているサービスアカウントを設定する場合は、当該サービスのアカウントからログアウトした後に、本メールに記載のリンクにアクセスし、{brand}のログイン設定を進めることを推奨します。\n※お客さまが意図しない認証連携サービスのアカウントに紐づいてしまうことを防ぐため".into(),
                format!(
                    "{validity}\n本メール受領後、{LINK_VALID_DAYS}日間以内にログイン方法の設定変更が完了しない場合は変更処理がキャンセルとなりますのでご注意ください。"
                ),
            ],
        },
        MailKind::LineRecovery { url } => Text {
            title: "インターネットからのアクセス経路設定の確認",
            opening: None,
            paragraphs: vec![
                "アクセス経路が「回線認証のみ」のご契約に、インターネットから契約者様のアカウントでログインがありました。".into(),
                "アクセス経路設定を変更するには、下記URLへアクセスしてください。お心当たりのない場合は、URLを開かず、パスワードを変更してください。".into(),
                url.clone(),
                validity.clone(),
            ],
        },
        MailKind::LineRecoveryUsed => Text {
            title: "インターネットからのアクセス経路設定へのアクセス",
            opening: None,
            paragraphs: vec![
                "アクセス経路が「回線認証のみ」のご契約に、インターネットから契約者様のアカウントでアクセス経路設定が開かれました。".into(),
                "お心当たりのない場合は、ただちにパスワードを変更し、アクセス経路設定をご確認ください。".into(),
            ],
        },
        MailKind::AdConnection {
            internet_url,
            line_url,
            connection_id,
        } => Text {
            title: "Active Directoryアカウントのログイン用URL・接続ID通知",
            opening: None,
            paragraphs: vec![
                "Active Directoryアカウントのログイン用URLおよび接続IDをご連絡いたします。".into(),
                "※契約者の方は、Active Directoryアカウントでログインをする利用者に対して、事前に接続IDを通知してください。\n利用者がログイン方法のActive Directoryアカウントに設定する際に、接続IDの入力が必要となります。".into(),
                format!(
                    "■ Active Directoryアカウントのログイン用URL\n・インターネット用 : {internet_url}\n・回線認証用 : {}",
                    line_url.as_deref().unwrap_or("（回線認証の提供開始後にご案内します）")
                ),
                format!(
                    "■ Active Directoryアカウントのログイン設定に必要な接続ID\n・Active Directoryの接続ID : {connection_id}\n{{brand}}へログイン時に、接続IDの入力画面が表示された場合、上記の接続IDを入力してください。"
                ),
                "参考\n・ご利用のPCがWindowsで、Active DirectoryのユーザでWindowsにサインインしている場合、Active Directory認証画面が表示されず本サービスにログインが可能です。\n・Active Directory認証画面が表示された場合、Active Directoryの認証情報を入力してください。".into(),
            ],
        },
    }
}

fn en(kind: &MailKind) -> Text {
    let validity = format!("* Valid for {LINK_VALID_DAYS} days after you receive this mail.");
    match kind {
        MailKind::AccountLocked { unlock_url } => Text {
            title: "Account locked",
            opening: None,
            paragraphs: vec![
                "Your account has been locked because signing in failed more times than allowed.".into(),
                "Open the following URL to unlock it:".into(),
                unlock_url.clone(),
                validity,
                "If the URL has expired, you can unlock the account by changing your password from the login page.".into(),
            ],
        },
        MailKind::PasswordReset { reset_url } => Text {
            title: "Password reset",
            opening: None,
            paragraphs: vec![
                "We have received your request to reset your password.\nOpen the following URL and set a new password:".into(),
                reset_url.clone(),
                format!(
                    "{validity}\nIf no new password is set within {LINK_VALID_DAYS} days of receiving this mail, the request is cancelled."
                ),
            ],
        },
        MailKind::Invitation {
            inviter_email,
            registration_url,
        } => Text {
            title: "Invitation to register",
            opening: Some("This is the {brand} system."),
            paragraphs: vec![
                format!(
                    "{} has registered {{name}} as a user of the service.\nOpen the following URL within {LINK_VALID_DAYS} days of receiving this mail to complete your registration.",
                    one_line(inviter_email)
                ),
                "Registration URL:".into(),
                registration_url.clone(),
            ],
        },
        MailKind::EmailChange { confirm_url } => Text {
            title: "Confirm your new mail address",
            opening: None,
            paragraphs: vec![
                "Open the following URL to complete the change to this mail address:".into(),
                confirm_url.clone(),
                format!(
                    "{validity}\nIf the URL is not opened within {LINK_VALID_DAYS} days of receiving this mail, the change is cancelled."
                ),
            ],
        },
        MailKind::LoginMethodChange { change_url } => Text {
            title: "Change of login method",
            opening: None,
            paragraphs: vec![
                "Open the following URL to complete the change of your login method:".into(),
                change_url.clone(),
                "If you will sign in with an account of another service, sign out of that service first and then open the link, so that no account you did not mean is bound to {brand}.".into(),
                format!(
                    "{validity}\nIf the change is not completed within {LINK_VALID_DAYS} days of receiving this mail, it is cancelled."
                ),
            ],
        },
        MailKind::LineRecovery { url } => Text {
            title: "Confirm access to the access route setting from the internet",
            opening: None,
            paragraphs: vec![
                "Your contractor account logged in from the internet to a contract whose access route is line authentication only.".into(),
                "To change the access route, open the following URL. If this was not you, do not open it and change your password.".into(),
                url.clone(),
                validity.clone(),
            ],
        },
        MailKind::LineRecoveryUsed => Text {
            title: "The access route setting was opened from the internet",
            opening: None,
            paragraphs: vec![
                "The access route setting of your line-authentication-only contract was opened from the internet with your contractor account.".into(),
                "If this was not you, change your password at once and check the access route setting.".into(),
            ],
        },
        MailKind::AdConnection {
            internet_url,
            line_url,
            connection_id,
        } => Text {
            title: "Active Directory login URLs and connection ID",
            opening: None,
            paragraphs: vec![
                "Here are the login URLs and the connection ID of Active Directory login.".into(),
                "* Contractors: tell the users who will log in with Active Directory this connection ID beforehand; they enter it when they choose Active Directory as their login method.".into(),
                format!(
                    "Active Directory login URLs\n- Internet: {internet_url}\n- Line authentication: {}",
                    line_url.as_deref().unwrap_or("(announced when line authentication becomes available)")
                ),
                format!(
                    "Connection ID for Active Directory login\n- Connection ID: {connection_id}\nIf {{brand}} asks for a connection ID when you log in, enter the ID above."
                ),
                "Note\n- On a Windows PC signed in as an Active Directory user, you are logged in without the Active Directory sign-in page.\n- If the Active Directory sign-in page appears, enter your Active Directory credentials.".into(),
            ],
        },
    }
}

/// A user-supplied name must not break the layout of the mail: control characters (line breaks
/// included) become spaces.
fn one_line(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod manual;

#[cfg(test)]
mod tests {
    use super::*;
    use sekisho_core::model::{BrandCode, BrandTheme};

    fn brand() -> Brand {
        Brand {
            code: BrandCode::parse("VX5").unwrap(),
            name: "OTクラウド・ストレージ".into(),
            mail_from: "noreply@vx5.example".into(),
            theme: BrandTheme::default(),
            service_url: None,
            created_at: 0,
        }
    }

    const URL: &str = "https://login.example/VX5/ticket?t=abc123";

    fn kinds() -> Vec<MailKind> {
        vec![
            MailKind::AccountLocked {
                unlock_url: URL.into(),
            },
            MailKind::PasswordReset {
                reset_url: URL.into(),
            },
            MailKind::Invitation {
                inviter_email: "owner@example.jp".into(),
                registration_url: URL.into(),
            },
            MailKind::EmailChange {
                confirm_url: URL.into(),
            },
            MailKind::LoginMethodChange {
                change_url: URL.into(),
            },
        ]
    }

    /// Shared by every kind and language: brand, link alone on its line, 14 days, footer. REQ-MAIL-1, REQ-MAIL-2
    fn assert_common(lang: Lang, subject: &str, body: &str) {
        assert!(
            subject.starts_with("【OTクラウド・ストレージ】"),
            "{subject}"
        );
        assert!(body.contains("OTクラウド・ストレージ"), "{body}");
        assert!(
            body.lines().any(|l| l == URL),
            "link on its own line:\n{body}"
        );
        match lang {
            Lang::Ja => {
                assert!(body.starts_with("山田太郎様\n"), "{body}");
                assert!(body.contains("平素より、OTクラウド・ストレージ"), "{body}");
                assert!(body.contains("※有効期限: 本メール受領後14日間"), "{body}");
                assert!(body.contains("送信専用となっておりますので"), "{body}");
            }
            Lang::En => {
                assert!(body.starts_with("Dear 山田太郎,\n"), "{body}");
                assert!(body.contains("Thank you for using the OTクラウド・ストレージ service."));
                assert!(body.contains("14 days"), "{body}");
                assert!(body.contains("send-only address"), "{body}");
            }
        }
    }

    // REQ-MAIL-1, REQ-LOCK-1
    #[test]
    fn lock_mail_in_japanese_is_the_manual_text() {
        let kind = MailKind::AccountLocked {
            unlock_url: URL.into(),
        };
        let (subject, body) = render(&kind, &brand(), Lang::Ja, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】アカウントロック");
        assert_common(Lang::Ja, &subject, &body);
        assert!(body.contains(
            "サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。"
        ));
        assert!(body.contains("下記URLへアクセスすることでロックを解除できます。"));
    }

    // REQ-MAIL-1
    #[test]
    fn reset_mail_in_japanese_is_the_manual_text() {
        let kind = MailKind::PasswordReset {
            reset_url: URL.into(),
        };
        let (subject, body) = render(&kind, &brand(), Lang::Ja, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】パスワードリセット");
        assert_common(Lang::Ja, &subject, &body);
        assert!(body.contains("パスワードリセットについて承りました。"));
        assert!(
            body.contains("14日間以内に新しいパスワードの登録が完了しない場合は処理がキャンセル")
        );
    }

    // REQ-USER-1 REQ-MAIL-1: the invitation opens as in the manual and names who registered the user.
    #[test]
    fn invitation_mail_in_japanese_is_the_manual_text() {
        let (subject, body) = render(&kinds()[2], &brand(), Lang::Ja, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】利用者登録のご案内");
        assert!(
            body.starts_with("山田太郎様\n\nこちらは、OTクラウド・ストレージシステムです。\n"),
            "{body}"
        );
        assert!(body.contains("owner@example.jpより山田太郎様が\n本サービスの利用者として登録されました。\n本メール受領後、14日以内に下記URLへアクセスして利用者登録を完了してください。"), "{body}");
        assert!(body.contains("■利用者登録用URL\n\n"), "{body}");
        assert!(body.lines().any(|l| l == URL));
        assert!(body.ends_with("予めご了承ください。\n=====\n"), "{body}");
    }

    // REQ-USER-6 REQ-USER-4 REQ-MAIL-1
    #[test]
    fn change_mails_in_japanese_are_the_manual_texts() {
        let (subject, body) = render(&kinds()[3], &brand(), Lang::Ja, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】メールアドレス変更登録");
        assert_common(Lang::Ja, &subject, &body);
        assert!(body.contains("ご登録いただきましたメールアドレスへの変更を完了してください。"));
        assert!(body.contains("変更がキャンセルとなりますのでご注意ください。"));
        let (subject, body) = render(&kinds()[4], &brand(), Lang::Ja, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】ログイン方法の設定変更");
        assert_common(Lang::Ja, &subject, &body);
        assert!(body.contains("ログイン方法の設定変更を完了してください。"));
        assert!(
            body.contains("OTクラウド・ストレージのログイン設定を進めることを推奨します。"),
            "{body}"
        );
    }

    // REQ-MAIL-1
    #[test]
    fn english_mails_state_brand_link_validity_and_footer() {
        let (subject, body) = render(&kinds()[0], &brand(), Lang::En, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】Account locked");
        assert_common(Lang::En, &subject, &body);
        assert!(body.contains("locked"), "{body}");
        let (subject, body) = render(&kinds()[1], &brand(), Lang::En, "山田太郎");
        assert_eq!(subject, "【OTクラウド・ストレージ】Password reset");
        assert_common(Lang::En, &subject, &body);
        assert!(body.contains("set a new password"), "{body}");
    }

    // REQ-MAIL-1
    #[test]
    fn a_user_without_a_name_is_greeted_by_address() {
        assert_eq!(addressee("  ", "taro@example.jp"), "taro@example.jp");
        assert_eq!(addressee("山田太郎", "taro@example.jp"), "山田太郎");
        let (_, body) = render(
            &kinds()[0],
            &brand(),
            Lang::Ja,
            addressee("", "taro@example.jp"),
        );
        assert!(body.starts_with("taro@example.jp様\n"), "{body}");
        // Should a caller pass nothing at all, the greeting is still a greeting.
        for (lang, greeting) in [(Lang::Ja, "お客様\n"), (Lang::En, "Dear customer,\n")] {
            let (_, body) = render(&kinds()[1], &brand(), lang, "");
            assert!(body.starts_with(greeting), "{body}");
        }
    }

    #[test]
    fn a_name_cannot_add_lines_to_the_mail() {
        let (_, body) = render(
            &kinds()[0],
            &brand(),
            Lang::Ja,
            "Eve\r\nhttps://evil.example\n",
        );
        assert!(body.starts_with("Eve  https://evil.example様\n"), "{body}");
        assert!(!body.lines().any(|l| l == "https://evil.example"));
    }

    #[test]
    fn every_kind_and_language_ends_with_the_footer() {
        for kind in kinds() {
            for lang in [Lang::Ja, Lang::En] {
                let (_, body) = render(&kind, &brand(), lang, "x");
                let footer = Frame::of(lang)
                    .footer
                    .replace("{brand}", "OTクラウド・ストレージ");
                assert!(body.ends_with(&format!("{footer}\n")), "{body}");
            }
        }
    }
}
