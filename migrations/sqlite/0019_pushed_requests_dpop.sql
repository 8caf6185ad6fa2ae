-- Issue 18: pushed authorization requests (RFC 9126) and DPoP (RFC 9449).
--
-- A pushed request waits here, under the hash of its request_uri, until the browser brings the
-- request_uri to /authorize (once: the row is deleted as it is read) or it expires (the purge).
CREATE TABLE pushed_requests (
    uri_hash    TEXT PRIMARY KEY,
    brand_code  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    params      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX pushed_requests_expires ON pushed_requests(expires_at);
-- Secrets the nodes share and make themselves (the DPoP nonce key): made by the first node that
-- needs one, sealed with the KEK like the other stored secrets.
CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
