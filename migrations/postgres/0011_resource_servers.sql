-- Issue 15: clients the operator registered as resource servers may introspect any token of
-- their brand; every other client only its own (RFC 7662 §4 leaves who may ask to the server).
-- A column of its own, outside the RFC 7591 metadata a dynamically registered client writes
-- (RFC 7591 defines no such metadata): only the operator grants it.
ALTER TABLE clients ADD COLUMN resource_server INTEGER NOT NULL DEFAULT 0;
