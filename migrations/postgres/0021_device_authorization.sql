-- Issue 18: the device authorization grant (RFC 8628) for the desktop and command-line clients.
-- One row per device authorization: the device polls with its device_code (kept hashed), the
-- user types the user_code on the verification page; the login's authorization code payload
-- is kept once the user approved (auth), until the device redeems it (status used).
CREATE TABLE device_authorizations (
    id                TEXT PRIMARY KEY,
    device_code_hash  TEXT NOT NULL UNIQUE,
    user_code         TEXT NOT NULL UNIQUE,
    brand_code        TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    scope             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    poll_interval     BIGINT NOT NULL,
    last_polled_at    BIGINT,
    status            TEXT NOT NULL,
    approval          TEXT
);
CREATE INDEX device_authorizations_expires ON device_authorizations(expires_at);
