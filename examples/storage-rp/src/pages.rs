//! The HTML. Japanese first, English underneath. Plain `format!` with every dynamic value passed
//! through `esc`, because much of what we show (claims, error descriptions) comes from outside.

use crate::oidc::{seconds_left, show_time, unix_of, SignedIn};
use axum::response::Html;
use std::fmt::Write;

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — ストレージ (storage-rp)</title>
<style>
  body {{ font-family: system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
  h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
  .en {{ color: #777; font-size: 0.85em; font-weight: normal; }}
  table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ text-align: left; border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; vertical-align: top; }}
  th {{ width: 10rem; white-space: nowrap; }}
  td {{ word-break: break-all; }}
  pre {{ background: #f5f5f5; padding: 0.8rem; overflow-x: auto; }}
  .flash {{ background: #eef6ee; border: 1px solid #9c9; padding: 0.6rem; }}
  .error {{ background: #fbeeee; border: 1px solid #c99; padding: 0.6rem; white-space: pre-wrap; word-break: break-all; }}
  .actions {{ display: flex; gap: 1rem; align-items: center; margin-top: 1rem; }}
  .button, button {{ display: inline-block; padding: 0.4rem 1rem; border: 1px solid #357; border-radius: 4px; background: #468; color: #fff; text-decoration: none; font: inherit; cursor: pointer; }}
</style>
</head>
<body>
<h1>ストレージ <span class="en">Storage — an example relying party of Sekisho</span></h1>
{body}
</body>
</html>
"#,
        title = esc(title),
    ))
}

fn flash_html(flash: Option<&str>) -> String {
    flash
        .map(|f| format!(r#"<p class="flash">{}</p>"#, esc(f)))
        .unwrap_or_default()
}

pub fn signed_out(issuer: &str, flash: Option<&str>) -> Html<String> {
    let body = format!(
        r#"{flash}
<p>ログインしていません。<br><span class="en">You are not signed in.</span></p>
<p class="actions"><a class="button" href="/login">ログイン</a> <span class="en">Sign in with {issuer}</span></p>
"#,
        flash = flash_html(flash),
        issuer = esc(issuer),
    );
    layout("ログイン", &body)
}

pub fn signed_in(issuer: &str, s: &SignedIn, flash: Option<&str>) -> Html<String> {
    let c = &s.claims;
    let mut rows = String::new();
    let mut row = |name: &str, value: Option<String>| {
        let value = value.unwrap_or_else(|| "—".to_string());
        let _ = writeln!(
            rows,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(name),
            esc(&value)
        );
    };
    let joined = |v: &[String]| (!v.is_empty()).then(|| v.join(" "));
    row("iss", Some(c.iss.clone()));
    row("sub", Some(c.sub.clone()));
    row("aud", joined(&c.aud));
    row("email", c.email.clone());
    row("auth_time", c.auth_time.clone());
    row("amr", joined(&c.amr));
    row("acr", c.acr.clone());
    row("sid", c.sid.clone());
    row("iat", Some(c.iat.clone()));
    row("exp", Some(c.exp.clone()));
    row("alg (header)", Some(c.alg.clone()));
    row(
        "at_hash",
        Some(if c.at_hash_checked {
            "一致を確認 / verified".to_string()
        } else {
            "なし / not present".to_string()
        }),
    );

    let expiry = match s.expires_at {
        Some(t) => format!(
            "{} — 残り {} 秒 <span class=\"en\">({} s left)</span>",
            esc(&show_time(unix_of(t))),
            seconds_left(t),
            seconds_left(t)
        ),
        None => "不明 <span class=\"en\">(no expires_in)</span>".to_string(),
    };
    let refresh_note = if s.refresh_token.is_some() {
        "あり <span class=\"en\">(present)</span>"
    } else {
        "なし — offline_access が許可されていません <span class=\"en\">(none: offline_access not granted)</span>"
    };
    let userinfo = match &s.userinfo {
        Ok(json) => format!("<pre>{}</pre>", esc(json)),
        Err(e) => format!(r#"<p class="error">{}</p>"#, esc(e)),
    };

    let body = format!(
        r#"{flash}
<p>ログイン中: <strong>{who}</strong><br><span class="en">Signed in at {issuer}</span></p>
<div class="actions">
  <form method="post" action="/refresh"><button type="submit">トークンを更新</button></form>
  <a class="button" href="/logout">ログアウト</a>
</div>

<h2>ID トークン <span class="en">Verified ID token claims</span></h2>
<table>
{rows}</table>

<h2>アクセストークン <span class="en">Access token</span></h2>
<table>
<tr><th>有効期限 <span class="en">expires</span></th><td>{expiry}</td></tr>
<tr><th>scope</th><td>{scopes}</td></tr>
<tr><th>リフレッシュトークン <span class="en">refresh token</span></th><td>{refresh_note}</td></tr>
<tr><th>更新回数 <span class="en">refreshes</span></th><td>{refreshed}</td></tr>
</table>

<h2>UserInfo <span class="en">Userinfo response</span></h2>
{userinfo}
"#,
        flash = flash_html(flash),
        who = esc(c.email.as_deref().unwrap_or(&c.sub)),
        issuer = esc(issuer),
        scopes = esc(s.scopes.as_deref().unwrap_or("—")),
        refreshed = s.refreshed_times,
    );
    layout("ホーム", &body)
}

pub fn error(title: &str, detail: &str) -> Html<String> {
    let body = format!(
        r#"<h2>エラー <span class="en">Error</span></h2>
<p><strong>{title}</strong></p>
<p class="error">{detail}</p>
<p class="actions"><a class="button" href="/">トップへ戻る</a> <span class="en">Back to the start</span></p>
"#,
        title = esc(title),
        detail = esc(detail),
    );
    layout("エラー", &body)
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
