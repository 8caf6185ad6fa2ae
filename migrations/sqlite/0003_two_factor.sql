-- Two-step verification (REQ-2FA-*) and the contract-wide settings it reads.

ALTER TABLE contracts ADD COLUMN two_factor TEXT NOT NULL DEFAULT 'enabled';
ALTER TABLE contracts ADD COLUMN access_route TEXT NOT NULL DEFAULT 'line_and_internet';

-- The user's registered second factor (at most one). Deleting the row resets the registration:
-- the next login enrols again (REQ-2FA-6).
CREATE TABLE second_factors (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    method          TEXT NOT NULL,            -- sms | totp
    phone           TEXT,                     -- E.164, for sms
    totp_secret     TEXT,                     -- base32, for totp
    last_totp_step  INTEGER,                  -- a TOTP code is accepted once: steps only grow
    recovery_hash   TEXT NOT NULL,            -- SHA-256 of the normalised recovery code
    created_at      INTEGER NOT NULL
);

-- A second step in progress in one browser session (enrolment or verification).
CREATE TABLE second_factor_challenges (
    sid              TEXT PRIMARY KEY,        -- the browser session's public id
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amr              TEXT NOT NULL,           -- factors already proven, space-separated
    next             TEXT NOT NULL,           -- where the login continues: ar:ID | account | ''
    mode             TEXT NOT NULL,           -- enrol | verify
    reason           TEXT NOT NULL,           -- why it is asked: new_browser | not_used_30_days | client
    stage            TEXT NOT NULL,           -- code | recovery (code shown, waiting for the tick)
    method           TEXT,                    -- the factor being enrolled or verified
    phone            TEXT,
    totp_secret      TEXT,
    code_hash        TEXT,                    -- the SMS code sent, hashed
    code_expires_at  INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    sends            INTEGER NOT NULL DEFAULT 0,
    send_failed      INTEGER NOT NULL DEFAULT 0,
    remember         INTEGER NOT NULL DEFAULT 0,
    proven           TEXT,                    -- amr of the factor proven at this step
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX second_factor_challenges_user ON second_factor_challenges(user_id);

-- Browsers where the user ticked "remember this browser" (REQ-2FA-2), by a cookie's hash.
CREATE TABLE trusted_browsers (
    browser_hash    TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    trusted_at      INTEGER NOT NULL,
    last_login_at   INTEGER NOT NULL,
    PRIMARY KEY (browser_hash, user_id)
);
CREATE INDEX trusted_browsers_user ON trusted_browsers(user_id);

-- SMS codes sent per user, for a cap across logins (against SMS pumping and flooding a phone).
CREATE TABLE sms_sends (
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sent_at         INTEGER NOT NULL
);
CREATE INDEX sms_sends_user ON sms_sends(user_id, sent_at);
