-- Idempotency keys for purchases and cancels. A row is written before the request
-- runs (state 'running'); the purchase or cancel transaction itself records the
-- resource it touched, so after a crash we know whether the request committed;
-- the answer is stored when the request ends.
CREATE TABLE idempotency_keys (
    user_id      TEXT    NOT NULL REFERENCES users (id),
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    resource_id  TEXT,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
