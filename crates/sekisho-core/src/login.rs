//! The login step machine: after every step of a login, the dispatcher asks [`next_step`] what comes next.
//!
//! The steps are "authenticate", "step up to two factors" and "issue the code". Which second
//! factor step a login needs is `two_factor::decide`; line authentication will add variants here,
//! so the rule for each stays one table-tested function.

use crate::Timestamp;

/// Where a login continues once every step is done. Kept with the steps in progress (a second
/// step, an upstream round trip), so the stored form is text: `ar:ID`, `account`, `console` or
/// empty. Only these known destinations: a login never continues to a URL it was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Continuation {
    /// Back into the authorization request with this id (it issues the code).
    Authorize(String),
    /// The account menu, which has its own login page (REQ-MENU-1).
    Account,
    /// The admin console (a login begun at `/{brand}/admin`, ISSUE-16): like the account menu,
    /// whose login page it shares, but it lands on the console.
    Console,
    /// A direct visit to the login page: a "signed in" page.
    Direct,
}

impl Continuation {
    const AUTHORIZE_PREFIX: &'static str = "ar:";
    const ACCOUNT: &'static str = "account";
    const CONSOLE: &'static str = "console";

    pub fn to_stored(&self) -> String {
        match self {
            Continuation::Authorize(id) => format!("{}{id}", Self::AUTHORIZE_PREFIX),
            Continuation::Account => Self::ACCOUNT.to_owned(),
            Continuation::Console => Self::CONSOLE.to_owned(),
            Continuation::Direct => String::new(),
        }
    }

    /// Reads [`Continuation::to_stored`]'s form back; anything else is a direct visit.
    pub fn from_stored(stored: &str) -> Self {
        match stored.strip_prefix(Self::AUTHORIZE_PREFIX) {
            Some(id) if !id.is_empty() => Continuation::Authorize(id.to_owned()),
            _ if stored == Self::ACCOUNT => Continuation::Account,
            _ if stored == Self::CONSOLE => Continuation::Console,
            _ => Continuation::Direct,
        }
    }

    /// From a login page's fields: the pending request `ar`, or `next=account` / `next=console`.
    pub fn from_page(ar: Option<&str>, next: Option<&str>) -> Self {
        match (ar, next) {
            (Some(ar), _) if !ar.is_empty() => Continuation::Authorize(ar.to_owned()),
            (_, Some(Self::ACCOUNT)) => Continuation::Account,
            (_, Some(Self::CONSOLE)) => Continuation::Console,
            _ => Continuation::Direct,
        }
    }

    /// The `next` field a login page carries for this continuation (`ar` carries a request).
    pub fn next_field(&self) -> Option<&'static str> {
        match self {
            Continuation::Account => Some(Self::ACCOUNT),
            Continuation::Console => Some(Self::CONSOLE),
            Continuation::Authorize(_) | Continuation::Direct => None,
        }
    }

    /// Whether the login is for the signed-in pages of the brand itself (the account menu or the
    /// console), which an ended trial's contractor may still open and the recovery path of a
    /// 回線認証のみ contract starts from (REQ-LINE-4).
    pub fn is_own_pages(&self) -> bool {
        matches!(self, Continuation::Account | Continuation::Console)
    }

    /// The authorization request's id, when the login belongs to one.
    pub fn authorization_request(&self) -> Option<&str> {
        match self {
            Continuation::Authorize(id) => Some(id),
            _ => None,
        }
    }
}

/// What an upstream round trip is for: a login that continues somewhere, or binding the
/// identity to the user of a mailed ticket (registration, REQ-USER-2; login-method change,
/// REQ-USER-4). Stored as two text columns, `purpose` and `next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTrip {
    Login(Continuation),
    Bind { ticket_hash: String },
}

impl RoundTrip {
    const LOGIN: &'static str = "login";
    const BIND: &'static str = "bind";

    /// `(purpose, next)` as stored.
    pub fn to_stored(&self) -> (&'static str, String) {
        match self {
            RoundTrip::Login(then) => (Self::LOGIN, then.to_stored()),
            RoundTrip::Bind { ticket_hash } => (Self::BIND, ticket_hash.clone()),
        }
    }

    pub fn from_stored(purpose: &str, next: &str) -> Option<Self> {
        match purpose {
            Self::LOGIN => Some(RoundTrip::Login(Continuation::from_stored(next))),
            Self::BIND => Some(RoundTrip::Bind {
                ticket_hash: next.to_owned(),
            }),
            _ => None,
        }
    }
}

/// What the authorization request asked about re-authentication (already validated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthPrompt {
    /// `prompt=none`: never show a page; fail with `login_required` instead.
    pub none: bool,
    /// `prompt=login` or `prompt=select_account`: authenticate again even with a session.
    pub login: bool,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `acr_values` asks for two factors only: a session with one must step up.
    pub two_factors: bool,
}

/// The browser's signed-in state, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    pub auth_time: Timestamp,
    /// The session's authentication used two factors (`sekisho_core::two_factor::is_multi_factor`).
    pub multi_factor: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthReason {
    NoSession,
    PromptLogin,
    MaxAgeExceeded,
    /// Signed in with one factor, and the client requires two (`acr_values`).
    TwoFactorsRequired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Show the login page.
    Authenticate(AuthReason),
    /// Signed in, but the client requires a second factor: ask it of the signed-in user
    /// (the two-step policy, `two_factor::decide`, says which step or that it cannot be met).
    StepUp,
    /// `prompt=none` and a page would be needed: back to the RP with `login_required`.
    LoginRequired(AuthReason),
    /// All requirements met: issue the authorization code.
    IssueCode,
}

/// Decides the next step of an authorization request.
///
/// `authenticated_for_request` says the user logged in for this very request: that satisfies
/// `prompt=login` and `max_age`, otherwise the user would be sent round the login page forever.
/// (It is a recorded fact, not a comparison of timestamps, which cannot tell apart two events in
/// the same second.)
pub fn next_step(
    prompt: AuthPrompt,
    session: Option<SignedIn>,
    authenticated_for_request: bool,
    now: Timestamp,
) -> NextStep {
    let need = match session {
        None => Some(AuthReason::NoSession),
        Some(_) if authenticated_for_request => None,
        Some(_) if prompt.login => Some(AuthReason::PromptLogin),
        Some(s) if prompt.max_age.is_some_and(|max| now - s.auth_time > max) => {
            Some(AuthReason::MaxAgeExceeded)
        }
        Some(_) => None,
    };
    let need = match (need, session) {
        (None, Some(s)) if prompt.two_factors && !s.multi_factor => {
            return match prompt.none {
                true => NextStep::LoginRequired(AuthReason::TwoFactorsRequired),
                false => NextStep::StepUp,
            };
        }
        (need, _) => need,
    };
    match need {
        None => NextStep::IssueCode,
        Some(reason) if prompt.none => NextStep::LoginRequired(reason),
        Some(reason) => NextStep::Authenticate(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthReason::*;
    use NextStep::*;

    const NOW: Timestamp = 1_010;

    // REQ-LOGIN-1: a login continues where it began (the request, the account menu, or nowhere).
    #[test]
    fn continuation_round_trips_through_its_stored_form() {
        for c in [
            Continuation::Authorize("ar_123".into()),
            Continuation::Account,
            Continuation::Console,
            Continuation::Direct,
        ] {
            assert_eq!(Continuation::from_stored(&c.to_stored()), c);
        }
        assert_eq!(Continuation::from_stored("ar:"), Continuation::Direct);
        assert_eq!(Continuation::from_stored("junk"), Continuation::Direct);
        assert_eq!(
            Continuation::from_page(Some("x"), Some("account")),
            Continuation::Authorize("x".into())
        );
        assert_eq!(
            Continuation::from_page(None, Some("account")),
            Continuation::Account
        );
        // ISSUE-16: a login begun at the console goes back to it; `next` names only known places.
        assert_eq!(
            Continuation::from_page(None, Some("console")),
            Continuation::Console
        );
        for other in ["https://evil.example/", "/VX5/admin", "Console", ""] {
            assert_eq!(
                Continuation::from_page(None, Some(other)),
                Continuation::Direct,
                "{other}"
            );
        }
        for c in [Continuation::Account, Continuation::Console] {
            assert_eq!(Continuation::from_page(None, c.next_field()), c);
        }
    }

    // REQ-OP-2: prompt=none|login, max_age and acr_values decide between a page, an error and a code.
    #[test]
    fn table() {
        let none = AuthPrompt {
            none: true,
            ..Default::default()
        };
        let login = AuthPrompt {
            login: true,
            ..Default::default()
        };
        let max60 = AuthPrompt {
            max_age: Some(60),
            ..Default::default()
        };
        let max60_none = AuthPrompt {
            none: true,
            max_age: Some(60),
            ..Default::default()
        };
        let old = Some(SignedIn {
            auth_time: 900, // 110 s ago
            multi_factor: false,
        });
        let recent = Some(SignedIn {
            auth_time: 990, // 20 s ago
            multi_factor: false,
        });
        let recent_2fa = Some(SignedIn {
            auth_time: 990,
            multi_factor: true,
        });
        let two = AuthPrompt {
            two_factors: true,
            ..Default::default()
        };
        let two_none = AuthPrompt {
            two_factors: true,
            none: true,
            ..Default::default()
        };
        // (prompt, session, logged in for this request, expected)
        let rows: &[(AuthPrompt, Option<SignedIn>, bool, NextStep)] = &[
            (AuthPrompt::default(), None, false, Authenticate(NoSession)),
            (AuthPrompt::default(), old, false, IssueCode),
            (none, None, false, LoginRequired(NoSession)),
            (none, old, false, IssueCode),
            (login, old, false, Authenticate(PromptLogin)),
            (login, recent, false, Authenticate(PromptLogin)),
            (login, recent, true, IssueCode),
            (login, None, false, Authenticate(NoSession)),
            (max60, old, false, Authenticate(MaxAgeExceeded)),
            (max60, old, true, IssueCode),
            (max60, recent, false, IssueCode),
            (max60_none, old, false, LoginRequired(MaxAgeExceeded)),
            (max60_none, recent, false, IssueCode),
            (two, None, false, Authenticate(NoSession)),
            (two, recent, false, StepUp),
            (two, recent, true, StepUp),
            (two, recent_2fa, false, IssueCode),
            (two_none, recent, false, LoginRequired(TwoFactorsRequired)),
            (two_none, recent_2fa, false, IssueCode),
        ];
        for (i, (prompt, session, fresh, want)) in rows.iter().enumerate() {
            assert_eq!(next_step(*prompt, *session, *fresh, NOW), *want, "row {i}");
        }
    }
}
