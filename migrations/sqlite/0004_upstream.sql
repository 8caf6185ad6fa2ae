-- Brokered login (REQ-LOGIN-3, REQ-USER-3/5): bindings of users to upstream identities, and the
-- state of each upstream round trip.

-- A user is bound to at most one upstream identity, by (issuer, subject) within the brand; an
-- email match alone never binds or logs in.
CREATE TABLE upstream_identities (
    brand_code   TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    user_id      TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    connector    TEXT NOT NULL,            -- google | microsoft | daccount | facebook
    email        TEXT,                     -- as the upstream said at binding (information only)
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (brand_code, issuer, subject)
);

-- One upstream round trip: the server's state, nonce and PKCE verifier (the connector is
-- stateless). Keyed by the state's hash; used once.
CREATE TABLE upstream_states (
    state_hash    TEXT PRIMARY KEY,
    sid           TEXT NOT NULL,           -- the browser session that started it
    brand_code    TEXT NOT NULL,
    connector     TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    purpose       TEXT NOT NULL,           -- login | bind
    next          TEXT NOT NULL,           -- login: ar:ID | account | ''; bind: the ticket's hash
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
