-- Issue 15: RFC 7591 initial access tokens made by the operator's CLI (`sekisho
-- initial-access-token create`), beside those of the configuration. Only the token's SHA-256 is
-- kept; the token is printed once. brand_code NULL: any brand.
CREATE TABLE initial_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    brand_code  TEXT REFERENCES brands(code),
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);
