-- Issue 18: OpenID Connect Back-Channel Logout 1.0.
--
-- The URI a client registered for logout tokens, beside its metadata, so that ending a session
-- finds the clients to tell in the same statement that queues the telling.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
-- The logout tokens to deliver: one per (client, session), queued in the transaction that ends
-- the session, delivered by a worker with retries (like the mail outbox), signed at delivery so
-- that an RP that was down gets a fresh token.
CREATE TABLE backchannel_logouts (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    sid              TEXT NOT NULL,
    brand_code       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    delivered_at     INTEGER,
    last_error       TEXT
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts(next_attempt_at);
CREATE INDEX sessions_user ON sessions(user_id);
