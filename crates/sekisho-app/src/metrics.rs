//! The login metrics (issue 15, observability), named here once. They go through the `metrics`
//! facade: the web crate installs the Prometheus recorder and serves `/metrics`; without a
//! recorder (the CLI, unit tests) they cost nothing. Labels are closed sets (enums), never user
//! input, so the number of series stays bounded.

use crate::pipeline::{LoginOutcome, Refusal, Source};
use crate::signin::PasswordLogin;

/// One login that reached the pipeline's end, by identity source and outcome.
pub fn login(source: Source, outcome: &LoginOutcome) {
    let source = match source {
        Source::Password => "password",
        Source::Upstream => "upstream",
        Source::Saml => "saml",
        Source::StepUp => "step_up",
    };
    let outcome = match outcome {
        LoginOutcome::SignedIn(_) => "signed_in",
        LoginOutcome::SecondStep { .. } => "second_step",
        LoginOutcome::Refused(Refusal::NoService) => "refused_no_service",
        LoginOutcome::Refused(Refusal::Unmet { .. }) => "refused_unmet",
        LoginOutcome::Refused(Refusal::LineOnly) => "refused_line_only",
        LoginOutcome::Refused(Refusal::LineNotRegistered) => "refused_line_not_registered",
        LoginOutcome::Refused(Refusal::RecoveryMailed) => "recovery_mailed",
    };
    metrics::counter!("sekisho_logins_total", "source" => source, "outcome" => outcome)
        .increment(1);
}

/// One password check on the login page: right, wrong (or unknown address), or locked.
pub fn password_check(result: &PasswordLogin) {
    let outcome = match result {
        PasswordLogin::Success(_) => "ok",
        PasswordLogin::Failed => "failed",
        PasswordLogin::Locked => "locked",
    };
    metrics::counter!("sekisho_password_checks_total", "outcome" => outcome).increment(1);
}

/// An account just locked by too many failures (REQ-LOCK-1).
pub fn account_locked() {
    metrics::counter!("sekisho_account_locks_total").increment(1);
}
