-- Issue 6 item 6: the contract whose users a client manages through the admin API with
-- `client_credentials` and scope `sekisho:admin`. NULL for clients bound to no contract. A
-- column of its own, outside the RFC 7591 metadata a dynamically registered client writes:
-- only the operator binds a client to a contract.
ALTER TABLE clients ADD COLUMN contract_id TEXT REFERENCES contracts(id);
