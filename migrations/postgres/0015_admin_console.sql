-- Issue 16 (the admin console as a console).
--
-- The user list is read a page at a time, ordered by email within a contract (search and paging
-- for contracts with thousands of users): this index serves both the order and the contract
-- filter. (users_contract stays: migrations only add, so that nodes of the previous release keep
-- working during a rolling upgrade.)
CREATE INDEX users_contract_email ON users (contract_id, email);

-- The audit log view shows a contract its own events. An event belongs to the contract of its
-- user when it was written (Store::append_audit fills it in the same statement, so it stays after
-- the user is deleted), or to the contract the operator acted on; events without either (a login
-- with an unknown address, a client's registration) belong to no contract. Events that nodes of
-- the previous release write during a rolling upgrade have none.
ALTER TABLE audit_events ADD COLUMN contract_id TEXT;
UPDATE audit_events SET contract_id = COALESCE(
    detail::jsonb ->> 'contract_id',
    (SELECT users.contract_id FROM users WHERE users.id = audit_events.user_id)
);
CREATE INDEX audit_events_contract ON audit_events (contract_id, id);
