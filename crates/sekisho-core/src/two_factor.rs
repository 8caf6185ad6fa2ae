//! Two-step verification (2段階認証): whether a login needs a second factor, and which step.
//!
//! [`decide`] is the whole policy (REQ-2FA-1, -2, -8, REQ-LINE-6 and `acr_values` step-up): the
//! routes gather the facts, this function answers, and the table test below covers every
//! combination. Nothing here does I/O; time comes in as `now`.

use crate::model::{text_enum, LoginMethod};
use crate::oauth::Amr;
use crate::Timestamp;

text_enum!(
    /// The contract-wide 2FA setting (2段階認証設定, REQ-2FA-7). New contracts have it enabled.
    TwoFactorSetting { Enabled = "enabled", Disabled = "disabled" }
);
text_enum!(
    /// The contract-wide access route (アクセス経路設定, REQ-LINE-1).
    AccessRoute { LineAndInternet = "line_and_internet", LineOnly = "line_only" }
);
text_enum!(
    /// The second factor a user enrolled: a code by SMS, or an authenticator app (TOTP).
    SecondFactorMethod { Sms = "sms", Totp = "totp" }
);

/// A browser stays trusted this long after its last login (REQ-2FA-2: 30 days without access).
pub const TRUST_WINDOW: i64 = 30 * 24 * 3600;
/// An SMS code is valid this long.
pub const SMS_CODE_TTL: i64 = 5 * 60;
/// Wrong codes allowed per challenge; each also counts towards the account lock.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// SMS messages per challenge (the first and two resends).
pub const MAX_SMS_SENDS: i64 = 3;
/// SMS messages per user per day, across logins (against SMS pumping and flooding a phone).
pub const MAX_SMS_PER_DAY: i64 = 10;
/// How long a started second step (enrolment or verification) waits for the user.
pub const CHALLENGE_TTL: i64 = 30 * 60;

/// How the login reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Over the contract's registered line, asserted by the carrier gateway (回線認証).
    Line,
    Internet,
}

/// What this browser remembers for this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserTrust {
    /// Never completed 2FA here with "remember this browser" ticked.
    Never,
    /// Trusted; `last_login` is the last login from this browser.
    Remembered { last_login: Timestamp },
}

/// Everything the policy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub login_method: LoginMethod,
    pub setting: TwoFactorSetting,
    pub route: AccessRoute,
    pub network: Network,
    pub trust: BrowserTrust,
    /// The user has a second factor registered (otherwise the step is enrolment).
    pub enrolled: bool,
    /// The relying party asked for two factors (`acr_values`).
    pub client_requires_two_factors: bool,
    pub now: Timestamp,
}

/// Why no second factor is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waived {
    /// 2FA applies to `password` users only (REQ-2FA-1).
    NotPasswordUser,
    /// The contractor disabled 2FA (REQ-2FA-7).
    ContractSettingOff,
    /// `line_only` disables 2FA (REQ-2FA-8).
    LineOnlyRoute,
    /// Line authentication replaces 2FA (REQ-2FA-8, REQ-LINE-6); it is itself a second factor.
    LineAuthenticated,
    /// The browser completed 2FA with "remember" ticked and was used within 30 days (REQ-2FA-2).
    BrowserRemembered,
}

text_enum!(
    /// Why a second factor is asked: this browser never completed 2FA for the user (or was not
    /// remembered); the remembered browser was not used for 30 days; or only because the relying
    /// party asked for two factors (`acr_values`).
    Ask {
        NewBrowser = "new_browser",
        NotUsedFor30Days = "not_used_30_days",
        RequestedByClient = "client",
        // line_recovery: the contractor of a 回線認証のみ contract comes from the internet to
        // switch back (REQ-LINE-4); the password alone is not enough.
        LineOnlyRecovery = "line_recovery",
    }
);

text_enum!(
    /// What a second step in progress does: register a factor first (Keycloak's "required
    /// action"), or prove the registered one. The two never share a code path past the page.
    ChallengeMode { Enrol = "enrol", Verify = "verify" }
);

text_enum!(
    /// Where a second step stands: waiting for a code, or a recovery code was shown and the user
    /// must tick 「リカバリーコードを保存しました」.
    ChallengeStage { Code = "code", Recovery = "recovery" }
);

impl SecondFactorMethod {
    /// The `amr` value a proof of this factor adds.
    pub fn amr(self) -> crate::oauth::Amr {
        match self {
            SecondFactorMethod::Sms => crate::oauth::Amr::Sms,
            SecondFactorMethod::Totp => crate::oauth::Amr::Otp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The login is complete without a second factor.
    Skip(Waived),
    /// First the user registers a factor (SMS or authenticator), then the recovery code.
    Enrol(Ask),
    /// The user proves the registered factor (or uses the recovery code).
    Verify(Ask),
    /// The relying party requires two factors and this user has no way to give them:
    /// `unmet_authentication_requirements`.
    Unmet,
}

/// The policy. Order matters and is the reading of the requirements:
/// line authentication counts as the second factor; other login methods have no second factor
/// here; the contract's setting and route and a remembered browser can waive it, unless the
/// relying party requires two factors.
pub fn decide(f: Facts) -> Decision {
    if f.network == Network::Line {
        return Decision::Skip(Waived::LineAuthenticated);
    }
    if f.login_method != LoginMethod::Password {
        return if f.client_requires_two_factors {
            Decision::Unmet
        } else {
            Decision::Skip(Waived::NotPasswordUser)
        };
    }
    let contract_asks = match (f.setting, f.route) {
        (TwoFactorSetting::Disabled, _) => Err(Waived::ContractSettingOff),
        (_, AccessRoute::LineOnly) => Err(Waived::LineOnlyRoute),
        (TwoFactorSetting::Enabled, AccessRoute::LineAndInternet) => match f.trust {
            BrowserTrust::Never => Ok(Ask::NewBrowser),
            BrowserTrust::Remembered { last_login } if f.now - last_login > TRUST_WINDOW => {
                Ok(Ask::NotUsedFor30Days)
            }
            BrowserTrust::Remembered { .. } => Err(Waived::BrowserRemembered),
        },
    };
    let ask = match (contract_asks, f.client_requires_two_factors) {
        (Ok(ask), _) => ask,
        (Err(_), true) => Ask::RequestedByClient,
        (Err(skip), false) => return Decision::Skip(skip),
    };
    if f.enrolled {
        Decision::Verify(ask)
    } else {
        Decision::Enrol(ask)
    }
}

/// Whether the contract asks its password users for a second factor on the internet: its setting
/// is on and its route is not 回線認証のみ (the first rule of [`decide`] after the line and the
/// login method). A password reset's page says the user must enrol again only then (REQ-2FA-6).
pub fn contract_asks(setting: TwoFactorSetting, route: AccessRoute) -> bool {
    setting == TwoFactorSetting::Enabled && route == AccessRoute::LineAndInternet
}

/// Whether these `amr` values are two factors (for `acr` and for `acr_values` step-up).
pub fn is_multi_factor(amr: &[Amr]) -> bool {
    let second = [Amr::Otp, Amr::Sms, Amr::Line];
    amr.len() >= 2 && amr.iter().any(|a| second.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessRoute::*;
    use Ask::*;
    use BrowserTrust::*;
    use Decision::*;
    use Network::*;
    use TwoFactorSetting::*;

    const NOW: Timestamp = 100 * 24 * 3600;
    const DAY: i64 = 24 * 3600;
    const RECENT: BrowserTrust = Remembered {
        last_login: NOW - 10 * DAY,
    };
    const EXPIRED: BrowserTrust = Remembered {
        last_login: NOW - 31 * DAY,
    };

    fn facts(
        login_method: LoginMethod,
        setting: TwoFactorSetting,
        route: AccessRoute,
        network: Network,
        trust: BrowserTrust,
    ) -> Facts {
        Facts {
            login_method,
            setting,
            route,
            network,
            trust,
            enrolled: true,
            client_requires_two_factors: false,
            now: NOW,
        }
    }

    // REQ-2FA-1 REQ-2FA-2 REQ-2FA-8 REQ-LINE-6: the password user's whole table, written out:
    // contract setting × access route × line/internet × browser trust (never / remembered /
    // remembered but unused for 31 days).
    #[rustfmt::skip]
    const PASSWORD_TABLE: &[(TwoFactorSetting, AccessRoute, Network, BrowserTrust, Decision)] = &[
        (Enabled,  LineAndInternet, Internet, Never,   Verify(NewBrowser)),
        (Enabled,  LineAndInternet, Internet, RECENT,  Skip(Waived::BrowserRemembered)),
        (Enabled,  LineAndInternet, Internet, EXPIRED, Verify(NotUsedFor30Days)),
        (Enabled,  LineAndInternet, Line,     Never,   Skip(Waived::LineAuthenticated)),
        (Enabled,  LineAndInternet, Line,     RECENT,  Skip(Waived::LineAuthenticated)),
        (Enabled,  LineAndInternet, Line,     EXPIRED, Skip(Waived::LineAuthenticated)),
        (Enabled,  LineOnly,        Internet, Never,   Skip(Waived::LineOnlyRoute)),
        (Enabled,  LineOnly,        Internet, RECENT,  Skip(Waived::LineOnlyRoute)),
        (Enabled,  LineOnly,        Internet, EXPIRED, Skip(Waived::LineOnlyRoute)),
        (Enabled,  LineOnly,        Line,     Never,   Skip(Waived::LineAuthenticated)),
        (Enabled,  LineOnly,        Line,     RECENT,  Skip(Waived::LineAuthenticated)),
        (Enabled,  LineOnly,        Line,     EXPIRED, Skip(Waived::LineAuthenticated)),
        (Disabled, LineAndInternet, Internet, Never,   Skip(Waived::ContractSettingOff)),
        (Disabled, LineAndInternet, Internet, RECENT,  Skip(Waived::ContractSettingOff)),
        (Disabled, LineAndInternet, Internet, EXPIRED, Skip(Waived::ContractSettingOff)),
        (Disabled, LineAndInternet, Line,     Never,   Skip(Waived::LineAuthenticated)),
        (Disabled, LineAndInternet, Line,     RECENT,  Skip(Waived::LineAuthenticated)),
        (Disabled, LineAndInternet, Line,     EXPIRED, Skip(Waived::LineAuthenticated)),
        (Disabled, LineOnly,        Internet, Never,   Skip(Waived::ContractSettingOff)),
        (Disabled, LineOnly,        Internet, RECENT,  Skip(Waived::ContractSettingOff)),
        (Disabled, LineOnly,        Internet, EXPIRED, Skip(Waived::ContractSettingOff)),
        (Disabled, LineOnly,        Line,     Never,   Skip(Waived::LineAuthenticated)),
        (Disabled, LineOnly,        Line,     RECENT,  Skip(Waived::LineAuthenticated)),
        (Disabled, LineOnly,        Line,     EXPIRED, Skip(Waived::LineAuthenticated)),
    ];

    fn all_settings() -> impl Iterator<Item = (TwoFactorSetting, AccessRoute, Network, BrowserTrust)>
    {
        [Enabled, Disabled].into_iter().flat_map(|s| {
            [LineAndInternet, LineOnly].into_iter().flat_map(move |r| {
                [Internet, Line].into_iter().flat_map(move |n| {
                    [Never, RECENT, EXPIRED]
                        .into_iter()
                        .map(move |t| (s, r, n, t))
                })
            })
        })
    }

    #[test]
    fn password_table_has_every_combination_once() {
        assert_eq!(PASSWORD_TABLE.len(), all_settings().count());
        for (s, r, n, t) in all_settings() {
            let rows = PASSWORD_TABLE
                .iter()
                .filter(|row| (row.0, row.1, row.2, row.3) == (s, r, n, t))
                .count();
            assert_eq!(rows, 1, "{s:?} {r:?} {n:?} {t:?}");
        }
    }

    #[test]
    fn password_users_follow_the_table() {
        for (i, &(s, r, n, t, want)) in PASSWORD_TABLE.iter().enumerate() {
            let got = decide(facts(LoginMethod::Password, s, r, n, t));
            assert_eq!(got, want, "row {i}: {s:?} {r:?} {n:?} {t:?}");
        }
    }

    // REQ-2FA-3: a password user who never enrolled is sent to enrolment where the table verifies.
    #[test]
    fn not_enrolled_means_enrol_for_the_same_reason() {
        for &(s, r, n, t, want) in PASSWORD_TABLE {
            let got = decide(Facts {
                enrolled: false,
                ..facts(LoginMethod::Password, s, r, n, t)
            });
            let want = match want {
                Verify(ask) => Enrol(ask),
                other => other,
            };
            assert_eq!(got, want, "{s:?} {r:?} {n:?} {t:?}");
        }
    }

    // REQ-2FA-1: every other login method × every combination: never a second factor here; over
    // the line, the line is the second factor.
    #[test]
    fn other_login_methods_never_get_a_second_factor() {
        for method in LoginMethod::ALL
            .iter()
            .filter(|m| **m != LoginMethod::Password)
        {
            for (s, r, n, t) in all_settings() {
                let want = match n {
                    Line => Skip(Waived::LineAuthenticated),
                    Internet => Skip(Waived::NotPasswordUser),
                };
                assert_eq!(
                    decide(facts(*method, s, r, n, t)),
                    want,
                    "{method} {s:?} {r:?} {n:?} {t:?}"
                );
            }
        }
    }

    // REQ-OP-2 (acr_values): a relying party that requires two factors gets them even where the
    // contract or a remembered browser would waive them, an error for users who cannot give them,
    // and the line counts as the second factor.
    #[test]
    fn client_required_two_factors() {
        let step_up = |method, s, r, n, t, enrolled| {
            decide(Facts {
                enrolled,
                client_requires_two_factors: true,
                ..facts(method, s, r, n, t)
            })
        };
        use LoginMethod::{Google, Password};
        #[rustfmt::skip]
        let rows = [
            (Password, Disabled, LineAndInternet, Internet, Never,   true,  Verify(RequestedByClient)),
            (Password, Disabled, LineAndInternet, Internet, Never,   false, Enrol(RequestedByClient)),
            (Password, Enabled,  LineOnly,        Internet, Never,   true,  Verify(RequestedByClient)),
            (Password, Enabled,  LineAndInternet, Internet, RECENT,  true,  Verify(RequestedByClient)),
            (Password, Enabled,  LineAndInternet, Internet, Never,   true,  Verify(NewBrowser)),
            (Password, Enabled,  LineAndInternet, Internet, EXPIRED, false, Enrol(NotUsedFor30Days)),
            (Password, Disabled, LineAndInternet, Line,     Never,   false, Skip(Waived::LineAuthenticated)),
            (Google,   Enabled,  LineAndInternet, Internet, Never,   false, Unmet),
            (Google,   Enabled,  LineAndInternet, Line,     Never,   false, Skip(Waived::LineAuthenticated)),
        ];
        for (i, (m, s, r, n, t, enrolled, want)) in rows.into_iter().enumerate() {
            assert_eq!(step_up(m, s, r, n, t, enrolled), want, "row {i}");
        }
    }

    // REQ-2FA-2: the 30 days are counted from the last login on the browser, to the second.
    #[test]
    fn trust_window_edge() {
        let at = |last_login| {
            decide(facts(
                LoginMethod::Password,
                Enabled,
                LineAndInternet,
                Internet,
                Remembered { last_login },
            ))
        };
        assert_eq!(at(NOW - TRUST_WINDOW), Skip(Waived::BrowserRemembered));
        assert_eq!(at(NOW - TRUST_WINDOW - 1), Verify(NotUsedFor30Days));
    }

    // REQ-OP-4: acr says two factors only when a second one is among the amr values.
    #[test]
    fn multi_factor_amr() {
        assert!(!is_multi_factor(&[Amr::Pwd]));
        assert!(is_multi_factor(&[Amr::Pwd, Amr::Otp]));
        assert!(is_multi_factor(&[Amr::Pwd, Amr::Sms]));
        assert!(is_multi_factor(&[Amr::Pwd, Amr::Line]));
        assert!(!is_multi_factor(&[Amr::Fed]));
        assert!(!is_multi_factor(&[Amr::Otp]));
    }

    // REQ-2FA-6 (ISSUE-16): `contract_asks` is what `decide` does for a password user on the
    // internet in a new browser, without acr_values.
    #[test]
    fn contract_asks_agrees_with_decide() {
        for &setting in TwoFactorSetting::ALL {
            for &route in AccessRoute::ALL {
                let f = facts(LoginMethod::Password, setting, route, Internet, Never);
                let asked = matches!(decide(f), Verify(_) | Enrol(_));
                assert_eq!(contract_asks(setting, route), asked, "{setting} {route}");
            }
        }
    }
}
