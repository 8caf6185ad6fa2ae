-- Line authentication (回線認証, REQ-LINE-1 … REQ-LINE-6). The access route itself is
-- contracts.access_route (since 0001).

-- The NTT line numbers a contract registered (REQ-LINE-2): a number belongs to one contract.
CREATE TABLE contract_lines (
    number       TEXT PRIMARY KEY,          -- CAF + 10 or COP + 8, upper case
    contract_id  TEXT NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX contract_lines_contract ON contract_lines (contract_id);

-- The one-time consent of a West Japan line's first login (回線情報通知設定, REQ-LINE-5), per user
-- and line.
CREATE TABLE line_consents (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    number       TEXT NOT NULL,
    notify       INTEGER NOT NULL,               -- 1: 通知する, 0: not
    decided_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, number)
);
