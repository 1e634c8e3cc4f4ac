-- Deposits take the statuses of SPEC §6 (completed is now succeeded; refunded and
-- disputed are new). SQLite cannot change a CHECK in place: the table is rebuilt
-- (nothing references it by key; the ledger names deposits by id).
CREATE TABLE deposits_v2 (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'disputed')),
    provider     TEXT    NOT NULL,
    provider_ref TEXT    NOT NULL DEFAULT '',
    checkout_url TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    completed_at INTEGER
);
INSERT INTO deposits_v2 (seq, id, user_id, amount_cents, status, provider, provider_ref, checkout_url, created_at, completed_at)
    SELECT seq, id, user_id, amount_cents, CASE status WHEN 'completed' THEN 'succeeded' ELSE status END,
           provider, provider_ref, checkout_url, created_at, completed_at FROM deposits;
DROP TABLE deposits;
ALTER TABLE deposits_v2 RENAME TO deposits;
CREATE INDEX deposits_user ON deposits (user_id, seq);

-- Every event a payment provider sends, kept for audit whatever became of it; the
-- UNIQUE key makes a repeated event change nothing.
CREATE TABLE payment_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider     TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    deposit_id   TEXT    NOT NULL DEFAULT '',
    amount_cents INTEGER NOT NULL DEFAULT 0,
    currency     TEXT    NOT NULL DEFAULT '',
    payload      TEXT    NOT NULL,
    result       TEXT    NOT NULL DEFAULT '',
    received_at  INTEGER NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX payment_events_deposit ON payment_events (deposit_id) WHERE deposit_id <> '';
