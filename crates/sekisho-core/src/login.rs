//! The login step machine: after every step of a login, the dispatcher asks [`next_step`] what comes next.
//!
//! Today the steps are "authenticate" and "issue the code". Later steps (second factor, enrolment,
//! line authentication) add variants here, so the rule for each stays one table-tested function.

use crate::Timestamp;

/// What the authorization request asked about re-authentication (already validated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthPrompt {
    /// `prompt=none`: never show a page; fail with `login_required` instead.
    pub none: bool,
    /// `prompt=login` or `prompt=select_account`: authenticate again even with a session.
    pub login: bool,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
}

/// The browser's signed-in state, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    pub auth_time: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthReason {
    NoSession,
    PromptLogin,
    MaxAgeExceeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Show the login page.
    Authenticate(AuthReason),
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

    // REQ-OP-2: prompt=none|login and max_age decide between a page, an error and a code.
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
        let old = Some(SignedIn { auth_time: 900 }); // 110 s ago
        let recent = Some(SignedIn { auth_time: 990 }); // 20 s ago
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
        ];
        for (i, (prompt, session, fresh, want)) in rows.iter().enumerate() {
            assert_eq!(next_step(*prompt, *session, *fresh, NOW), *want, "row {i}");
        }
    }
}
