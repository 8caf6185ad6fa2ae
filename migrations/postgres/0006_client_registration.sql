-- RFC 7591 / RFC 7592 dynamic client registration (REQ-OP-6): the SHA-256 of a dynamically
-- registered client's registration access token (sekisho_crypto::tokens::hash_token). NULL for
-- clients the operator registered: they have no client configuration endpoint.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
