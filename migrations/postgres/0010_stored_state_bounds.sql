-- Issue 15, unbounded stored state: anonymous traffic creates sessions and authorization
-- requests. Each browser session keeps at most 16 requests (the insert deletes the oldest by sid),
-- and the purge deletes expired rows by expiry: both look the rows up by index, so their cost
-- stays flat however many rows a flood left behind.
CREATE INDEX auth_requests_sid ON auth_requests (sid);
CREATE INDEX auth_requests_expiry ON auth_requests (expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);
