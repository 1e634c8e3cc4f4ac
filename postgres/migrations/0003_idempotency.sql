-- Idempotency keys for purchases and cancels. A row is inserted before the request
-- runs (INSERT … ON CONFLICT DO NOTHING: of two requests with one key, one inserts
-- and runs, the other finds the row); the purchase or cancel transaction itself
-- records the resource it touched, so after a crash we know whether the request
-- committed; the answer is stored when the request ends.
CREATE TABLE idempotency_keys (
    user_id      TEXT    NOT NULL REFERENCES users (id),
    key          TEXT    NOT NULL,
    request_hash BYTEA   NOT NULL,
    resource_id  TEXT,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BYTEA,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
