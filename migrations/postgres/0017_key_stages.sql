-- Staged signing keys (issue 17): a new key is published (JWKS) before any node signs with it.
-- A key signs from activates_at until retired_at (the next key's activates_at, set when that key
-- is added); before activates_at it is "next": listed in the JWKS only. NULL: active from
-- created_at (keys made before this migration, and keys made with no lead). Added, never
-- required, so nodes of the previous release keep working beside this one during an upgrade.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT;
