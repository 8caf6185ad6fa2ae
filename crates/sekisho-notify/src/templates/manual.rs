//! The Japanese mails against the manuals' mails, line by line (ISSUE-16, REQ-MAIL-1).
//!
//! The manuals (`../shared/seeds/`, one per brand: 000 OTクラウド・ストレージ, 001 おまかせ
//! クラウドストレージ, 002 どこでもBOX, 003 M-Drive, 004 コーデックストレージ) print each mail as
//! 件名 and 本文. Below, each mail's lines are the manual's for the brand OTクラウド・ストレージ,
//! 〇〇 being the addressee; the product's mail has them as whole lines and in this order (it may
//! add lines between them, as the validity line). Where the manuals slip, the line is corrected
//! and a comment quotes them.

use super::{render, MailKind};
use sekisho_core::model::{Brand, BrandCode, BrandTheme};
use sekisho_core::oauth::Lang;

const URL: &str = "https://login.example/VX5/ticket?t=abc123";
const LINE_URL: &str = "https://line.example/VX5/ad/adfs-0123456789abcdef";

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

/// (the mail, its subject, its lines in the manual, source).
fn mails() -> Vec<(MailKind, &'static str, Vec<String>, &'static str)> {
    vec![
        (
            MailKind::AccountLocked {
                unlock_url: URL.into(),
            },
            // 000: 「【OTクラウド・ストレージ】 アカウントロック」 (a stray space).
            "【OTクラウド・ストレージ】アカウントロック",
            vec![
                "山田太郎様".into(),
                "平素より、OTクラウド・ストレージサービスをご利用いただき誠にありがとうございます。".into(),
                // 001, 002, 004 cut it to 「…アカウントをロックしま」.
                "サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。".into(),
                "下記URLへアクセスすることでロックを解除できます。".into(),
                URL.into(),
                "※有効期限: 本メール受領後14日間".into(),
                "なお、上記URLが有効期限切れの場合、ポータルサイトのログイン画面よりパスワード変更を行うことによりロックを解除できます。".into(),
            ],
            "000, 003 §6-1",
        ),
        (
            MailKind::PasswordReset {
                reset_url: URL.into(),
            },
            "【OTクラウド・ストレージ】パスワードリセット",
            vec![
                "山田太郎様".into(),
                "平素より、OTクラウド・ストレージサービスをご利用いただき誠にありがとうございます。".into(),
                "パスワードリセットについて承りました。".into(),
                "下記URLへアクセスし新しいパスワードを登録ください。".into(),
                URL.into(),
                "本メール受領後、14日間以内に新しいパスワードの登録が完了しない場合は処理がキャンセルとなりますのでご注意ください。".into(),
            ],
            "000, 002, 004 §6-2",
        ),
        (
            MailKind::Invitation {
                inviter_email: "owner@example.jp".into(),
                registration_url: URL.into(),
            },
            "【OTクラウド・ストレージ】利用者登録のご案内",
            vec![
                "山田太郎様".into(),
                "こちらは、OTクラウド・ストレージシステムです。".into(),
                "owner@example.jpより山田太郎様が".into(),
                "本サービスの利用者として登録されました。".into(),
                "本メール受領後、14日以内に下記URLへアクセスして利用者登録を完了してください。".into(),
                // 004: 「■ 利用者登録用URL」.
                "■利用者登録用URL".into(),
                URL.into(),
                "=====".into(),
                "本メールは「OTクラウド・ストレージ」のシステムより自動的に送信しております。".into(),
                "送信専用となっておりますので、ご返信いただきましてもご対応いたしかねますので".into(),
                "予めご了承ください。".into(),
                "=====".into(),
            ],
            "002, 004 §1-5 (003 without the rules)",
        ),
        (
            MailKind::EmailChange {
                confirm_url: URL.into(),
            },
            "【OTクラウド・ストレージ】メールアドレス変更登録",
            vec![
                "山田太郎様".into(),
                "平素より、OTクラウド・ストレージをご利用いただき誠にありがとうございます。".into(),
                "下記URLへアクセスし、ご登録いただきましたメールアドレスへの変更を完了してください。".into(),
                URL.into(),
                // The manuals differ: 「…場合は、変更が」 (000), 「…場合は変更処理が」 (001, 003,
                // 004 §2-1), some with a line break after 「場合は」.
                "本メール受領後、14日間以内にアクセスが完了しない場合は変更がキャンセルとなりますのでご注意ください。".into(),
            ],
            "002, 004 §2-2 (2)",
        ),
        (
            MailKind::LoginMethodChange {
                change_url: URL.into(),
            },
            // The manuals: 「【OTクラウド・ストレージログイン方法の設定変更】」 (000, 004) and
            // 「【…ログイン方法の設定変更」 (001–003): the bracket belongs after the brand.
            "【OTクラウド・ストレージ】ログイン方法の設定変更",
            vec![
                "山田太郎様".into(),
                "平素より、OTクラウド・ストレージをご利用いただき誠にありがとうございます。".into(),
                "下記URLへアクセスし、ログイン方法の設定変更を完了してください。".into(),
                URL.into(),
                // 000 drops the final 「。」; 001: 「…進めるこを推奨しま」.
                "ログイン方法に認証連携しているサービスアカウントを設定する場合は、当該サービスのアカウントからログアウトした後に、本メールに記載のリンクにアクセスし、OTクラウド・ストレージのログイン設定を進めることを推奨します。".into(),
                "※お客さまが意図しない認証連携サービスのアカウントに紐づいてしまうことを防ぐため".into(),
                "本メール受領後、14日間以内にログイン方法の設定変更が完了しない場合は変更処理がキャンセルとなりますのでご注意ください。".into(),
            ],
            "000, 002, 004 §2-2 (1)",
        ),
        (
            MailKind::AdConnection {
                internet_url: URL.into(),
                line_url: Some(LINE_URL.into()),
                connection_id: "adfs-0123456789abcdef".into(),
            },
            "【OTクラウド・ストレージ】Active Directoryアカウントのログイン用URL・接続ID通知",
            vec![
                "山田太郎様".into(),
                "平素より、OTクラウド・ストレージをご利用いただき誠にありがとうございます。".into(),
                "Active Directoryアカウントのログイン用URLおよび接続IDをご連絡いたします。".into(),
                "※契約者の方は、Active Directoryアカウントでログインをする利用者に対して、事前に接続IDを通知してください。".into(),
                "利用者がログイン方法のActive Directoryアカウントに設定する際に、接続IDの入力が必要となります。".into(),
                "■ Active Directoryアカウントのログイン用URL".into(),
                format!("・インターネット用 : {URL}"),
                format!("・回線認証用 : {LINE_URL}"),
                "■ Active Directoryアカウントのログイン設定に必要な接続ID".into(),
                "・Active Directoryの接続ID : adfs-0123456789abcdef".into(),
                "OTクラウド・ストレージへログイン時に、接続IDの入力画面が表示された場合、上記の接続IDを入力してください。".into(),
                "参考".into(),
                "・ご利用のPCがWindowsで、Active DirectoryのユーザでWindowsにサインインしている場合、Active Directory認証画面が表示されず本サービスにログインが可能です。".into(),
                // The manuals: 「・以下のようなActive Directory認証画面が…」, pointing at their
                // screenshot.
                "・Active Directory認証画面が表示された場合、Active Directoryの認証情報を入力してください。".into(),
            ],
            "001, 002, 004 §1-3",
        ),
    ]
}

// ISSUE-16 REQ-MAIL-1 REQ-LOGIN-6: each Japanese mail says what the manuals print, in their order.
#[test]
fn japanese_mails_are_the_manuals_mails() {
    for (kind, subject, lines, source) in mails() {
        let (got_subject, body) = render(&kind, &brand(), Lang::Ja, "山田太郎");
        assert_eq!(got_subject, subject, "{source}");
        let mut rest = body.lines();
        for line in &lines {
            assert!(
                rest.any(|l| l == line),
                "{subject} ({source}): no line 「{line}」 (or out of order) in:\n{body}"
            );
        }
    }
}

// ISSUE-16 REQ-MAIL-1: every mail ends with the manuals' send-only note, naming the brand.
#[test]
fn every_japanese_mail_ends_with_the_manuals_footer() {
    for (kind, subject, ..) in mails() {
        let (_, body) = render(&kind, &brand(), Lang::Ja, "山田太郎");
        assert!(
            body.ends_with(
                "本メールは「OTクラウド・ストレージ」のシステムより自動的に送信しております。\n\
                 送信専用となっておりますので、ご返信いただきましてもご対応いたしかねますので\n\
                 予めご了承ください。\n=====\n"
            ),
            "{subject}:\n{body}"
        );
    }
}
