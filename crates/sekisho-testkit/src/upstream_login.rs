//! A browser for the upstream's login pages, over HTTP, as [`crate::upstream`]'s module doc
//! describes: keep cookies, follow each redirect by hand until it leads back to the caller, and on
//! a page POST its first form's hidden inputs (plus `login=<sub>&password=x` on the login form).
//! One driver for the testkit's own tests, `sekisho-upstream`'s tests and the end-to-end suite.

use std::time::Duration;

use reqwest::Url;
use reqwest::{redirect::Policy, Client, StatusCode};

/// RFC 7636 appendix B: a verifier and its S256 challenge.
pub const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A cookie jar that follows no redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a browser")
}

/// What a login went through and where it ended.
#[derive(Debug)]
pub struct Login {
    /// The pages answered, in order: `login`, `consent`, `logout` (the auto-submitting form).
    pub pages: Vec<String>,
    /// The redirect to the redirect_uri.
    pub callback: Url,
}

impl Login {
    pub fn param(&self, name: &str) -> Option<String> {
        param(&self.callback, name)
    }

    pub fn code(&self) -> String {
        self.param("code")
            .unwrap_or_else(|| panic!("no code in {}", self.callback))
    }
}

/// The first value of the query parameter `name`.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Whether `url` is `back` or below it (`…:4521/x` is not below `…:452`).
fn leads_to(url: &str, back: &str) -> bool {
    let back = back.trim_end_matches('/');
    url == back || url.starts_with(&format!("{back}/")) || url.starts_with(&format!("{back}?"))
}

/// Logs in at the upstream as `sub`, starting at `authorize`, until a redirect leads to
/// `redirect_uri` (or anything below it, such as the OP under test).
pub async fn login(client: &Client, authorize: Url, redirect_uri: &str, sub: &str) -> Login {
    let mut pages = Vec::new();
    let mut next = authorize;
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        let response = match form.take() {
            Some(fields) => client.post(next.clone()).form(&fields).send().await,
            None => client.get(next.clone()).send().await,
        }
        .unwrap_or_else(|e| panic!("at {next}: {e}"));
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()["location"].to_str().unwrap();
            let target = next.join(location).unwrap();
            if leads_to(target.as_str(), redirect_uri) {
                return Login {
                    pages,
                    callback: target,
                };
            }
            next = target;
            continue;
        }
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "at {next}: {body}");
        let form_html = body
            .split("<form")
            .nth(1)
            .and_then(|rest| rest.split("</form>").next())
            .unwrap_or_else(|| panic!("no form at {next}: {body}"));
        let form_tag = form_html.split('>').next().unwrap_or_default();
        let action = attribute(form_tag, "action").expect("form action");
        let mut fields: Vec<(String, String)> = form_html
            .split("<input")
            .skip(1)
            .filter(|tag| attribute(tag, "type") == Some("hidden"))
            .filter_map(|tag| {
                Some((
                    attribute(tag, "name")?.to_owned(),
                    attribute(tag, "value")?.to_owned(),
                ))
            })
            .collect();
        let prompt = fields
            .iter()
            .find(|(k, _)| k == "prompt")
            .map(|(_, v)| v.clone());
        match prompt.as_deref() {
            Some("login") => {
                fields.push(("login".to_owned(), sub.to_owned()));
                fields.push(("password".to_owned(), "x".to_owned()));
            }
            Some("consent") => {}
            Some(other) => panic!("unexpected prompt {other} at {next}"),
            // The auto-submitting form that ends the previous account's session.
            None => assert!(fields.iter().any(|(k, _)| k == "xsrf"), "at {next}: {body}"),
        }
        pages.push(prompt.unwrap_or_else(|| "logout".to_owned()));
        next = next.join(action).unwrap();
        form = Some(fields);
    }
    panic!("no redirect to {redirect_uri} after 20 steps");
}
