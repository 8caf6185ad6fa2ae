-- Active Directory login through ADFS over SAML 2.0 (REQ-AD-1 … REQ-AD-5).
--
-- The SP's signing key lives in signing_keys (alg 'SAML-RS256', PKCS#8 and certificate DER in
-- base64), so it rotates and is pruned like the OIDC keys. Round trips use upstream_states
-- (connector = the connection ID, nonce = the AuthnRequest's ID) and bindings use
-- upstream_identities (issuer = the IdP's entity ID, connector = 'ad').

-- One connection per contract (Active Directory設定).
CREATE TABLE ad_connections (
    id             TEXT PRIMARY KEY,          -- adfs- + 16 alphanumerics (REQ-AD-2)
    brand_code     TEXT NOT NULL,
    contract_id    TEXT NOT NULL UNIQUE REFERENCES contracts(id) ON DELETE CASCADE,
    metadata_url   TEXT,                      -- NULL when the XML was pasted
    metadata_xml   TEXT NOT NULL,             -- as last pasted or fetched (at most 1 MB)
    idp_entity_id  TEXT NOT NULL,
    subject_claim  TEXT,                      -- NULL: the persistent NameID
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    refreshed_at   BIGINT NOT NULL,          -- last successful read of the metadata
    refresh_error  TEXT                       -- why the last scheduled refresh failed, if it did
);

-- Each assertion is accepted once: its ID is kept until it expires (shared by every node).
CREATE TABLE saml_assertions_used (
    issuer        TEXT NOT NULL,
    assertion_id  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX saml_assertions_used_expiry ON saml_assertions_used (expires_at);
