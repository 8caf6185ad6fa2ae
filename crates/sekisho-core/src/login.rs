//! The login step machine: after every step of a login, the dispatcher asks [`next_step`] what comes next.
//!
//! The steps are "authenticate", "step up to two factors" and "issue the code". Which second
//! factor step a login needs is `two_factor::decide`; line authentication will add variants here,
//! so the rule for each stays one table-tested function.

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
