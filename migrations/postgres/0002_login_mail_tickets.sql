-- Brands as storefronts, mailed tickets, the durable mail outbox, and failure counters for
-- addresses that have no password login (so lockout behaves the same whether or not they exist).

ALTER TABLE brands ADD COLUMN mail_from TEXT NOT NULL DEFAULT '';
ALTER TABLE brands ADD COLUMN theme TEXT NOT NULL DEFAULT '{}';

CREATE TABLE tickets (
    token_hash  TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    brand_code  TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX tickets_user ON tickets(user_id, purpose);

CREATE TABLE mail_outbox (
    id               TEXT PRIMARY KEY,
    brand_code       TEXT NOT NULL,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(sent_at, next_attempt_at);

CREATE TABLE login_failures (
    brand_code  TEXT NOT NULL,
    email_hash  TEXT NOT NULL,
    failures    BIGINT NOT NULL,
    locked_at   BIGINT,
    PRIMARY KEY (brand_code, email_hash)
);
