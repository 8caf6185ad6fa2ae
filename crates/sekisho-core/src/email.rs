//! Mail addresses as the login identifier: compared case-insensitively, stored normalised.

/// A mail address, lower-cased: the login identifier and where mail goes.
///
/// The rule is RFC 5321/5322's common form, ASCII only: a dot-atom local part (letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-``, dots only between them, at most 64 characters) and a domain of at least
/// two LDH labels (letters, digits, inner hyphens; at most 63 each), at most 254 characters in
/// all. Everything it accepts the mailer (lettre) accepts too, so no address is stored that mail
/// cannot be sent to (issue 15: `<script>@…`, `a,b@…`, `a:b@…` once got a user row and a 500).
/// Quoted local parts and internationalised addresses are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid mail address")]
pub struct InvalidEmail;

/// The longest address (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

fn atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atom_char))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let s = raw.trim().to_lowercase();
        let (local, domain) = s.split_once('@').ok_or(InvalidEmail)?;
        if s.len() <= MAX_EMAIL_LEN && valid_local(local) && valid_domain(domain) {
            Ok(Self(s))
        } else {
            Err(InvalidEmail)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(
            Email::parse(" Taro@Example.JP ").unwrap().as_str(),
            "taro@example.jp"
        );
        for bad in [
            "",
            "taro",
            "@example.jp",
            "taro@",
            "taro@example",
            "ta ro@example.jp",
            "a@b@c.jp",
            // Issue 15: these once made a user row and a 500 (the mailer refused them).
            "<script>@example.com",
            "a,b@example.jp",
            "a:b@example.jp",
            "\"quoted\"@example.jp",
            ".taro@example.jp",
            "taro.@example.jp",
            "ta..ro@example.jp",
            "taro@-example.jp",
            "taro@example-.jp",
            "taro@exa_mple.jp",
            "太郎@example.jp",
            "taro@例え.jp",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad}");
        }
        for good in [
            "taro+tag@example.jp",
            "o'brien@mail.example.co.jp",
            "a.b.c@x-y.example",
            "1@2.jp",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        let long_local = format!("{}@example.jp", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(InvalidEmail));
    }
}
