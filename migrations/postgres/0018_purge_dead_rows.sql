-- Background work done once across nodes, and the purge of rows of no use (issue 17).
--
-- login_failures counts failed logins for addresses with no password login (unknown ones among
-- them) so that a visitor sees the same as for a registered address; anyone can add rows by
-- trying addresses, so the purge forgets a counter 30 days after its last failure. The column is
-- added nullable (rows written by a node of the previous release during an upgrade have none and
-- are kept); rows from before the migration count from now.
ALTER TABLE login_failures ADD COLUMN last_failed_at BIGINT;
UPDATE login_failures SET last_failed_at = CAST(extract(epoch FROM now()) AS BIGINT);
-- Grants (token families) are purged once nothing of theirs can still work: the purge finds
-- old grants by creation time, and asks whether a code of theirs is still kept.
CREATE INDEX grants_created ON grants(created_at);
CREATE INDEX authorization_codes_grant ON authorization_codes(grant_id);
-- The AD metadata refresh runs on every node; a node claims a connection's refresh for a few
-- minutes before it reads the metadata, so one node reads it (NULL: never claimed).
ALTER TABLE ad_connections ADD COLUMN refresh_claimed_at BIGINT;
