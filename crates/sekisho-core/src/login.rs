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

/// Decides the next step of an authorization request created at `request_created_at`.
///
/// A login that happened during this request (auth_time at or after its creation) satisfies
/// `prompt=login` and `max_age`, otherwise the user would be sent round the login page forever.
pub fn next_step(
    prompt: AuthPrompt,
    session: Option<SignedIn>,
    request_created_at: Timestamp,
    now: Timestamp,
) -> NextStep {
    let need = match session {
        None => Some(AuthReason::NoSession),
        Some(s) if s.auth_time >= request_created_at => None,
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

    const CREATED: Timestamp = 1_000;
    const NOW: Timestamp = 1_010;

    // REQ-OP-2: prompt=none|login and max_age decide between a page, an error and a code.
    #[test]
    fn table() {
        let none = AuthPrompt { none: true, ..Default::default() };
        let login = AuthPrompt { login: true, ..Default::default() };
        let max60 = AuthPrompt { max_age: Some(60), ..Default::default() };
        let max60_none = AuthPrompt { none: true, max_age: Some(60), ..Default::default() };
        let old = Some(SignedIn { auth_time: 900 }); // 110 s ago, before the request
        let recent = Some(SignedIn { auth_time: 990 }); // 20 s ago, before the request
        let fresh = Some(SignedIn { auth_time: 1_005 }); // during the request
        let rows: &[(AuthPrompt, Option<SignedIn>, NextStep)] = &[
            (AuthPrompt::default(), None, Authenticate(NoSession)),
            (AuthPrompt::default(), old, IssueCode),
            (none, None, LoginRequired(NoSession)),
            (none, old, IssueCode),
            (login, old, Authenticate(PromptLogin)),
            (login, fresh, IssueCode),
            (login, None, Authenticate(NoSession)),
            (max60, old, Authenticate(MaxAgeExceeded)),
            (max60, recent, IssueCode),
            (max60, fresh, IssueCode),
            (max60_none, old, LoginRequired(MaxAgeExceeded)),
            (max60_none, recent, IssueCode),
        ];
        for (i, (prompt, session, want)) in rows.iter().enumerate() {
            assert_eq!(next_step(*prompt, *session, CREATED, NOW), *want, "row {i}");
        }
    }
}
