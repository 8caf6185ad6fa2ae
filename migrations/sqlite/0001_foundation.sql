-- Foundation schema. Timestamps are Unix seconds (INTEGER); JSON documents are TEXT.
-- Tokens, codes, tickets and session ids are stored only as SHA-256 hashes (the *_hash columns).

CREATE TABLE brands (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE contracts (
    id          TEXT PRIMARY KEY,
    brand_code  TEXT NOT NULL REFERENCES brands(code),
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    contract_id    TEXT NOT NULL REFERENCES contracts(id),
    brand_code     TEXT NOT NULL REFERENCES brands(code),
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    login_method   TEXT NOT NULL,
    password_hash  TEXT,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_at      INTEGER,
    created_at     INTEGER NOT NULL,
    UNIQUE (brand_code, email)
);
CREATE INDEX users_contract ON users(contract_id);

CREATE TABLE clients (
    client_id    TEXT PRIMARY KEY,
    brand_code   TEXT NOT NULL REFERENCES brands(code),
    secret_hash  TEXT,
    metadata     TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_jwk  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
);

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    sid         TEXT NOT NULL UNIQUE,
    brand_code  TEXT NOT NULL,
    user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time   INTEGER,
    amr         TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE auth_requests (
    id          TEXT PRIMARY KEY,
    brand_code  TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    sid         TEXT NOT NULL,
    params      TEXT NOT NULL,
    -- set when the user authenticated for this request (prompt=login / max_age are then met)
    authenticated_at INTEGER,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    brand_code  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT,
    sid         TEXT,
    offline     INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX grants_sid ON grants(sid);

CREATE TABLE authorization_codes (
    code_hash   TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE used_client_assertions (
    jti_key     TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    brand_code  TEXT,
    user_id     TEXT,
    client_id   TEXT,
    detail      TEXT NOT NULL
);
