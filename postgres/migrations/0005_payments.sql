-- Deposits take the statuses of SPEC §6 (completed is now succeeded; refunded and
-- disputed are new).
ALTER TABLE deposits DROP CONSTRAINT deposits_status_check;
UPDATE deposits SET status = 'succeeded' WHERE status = 'completed';
ALTER TABLE deposits ADD CONSTRAINT deposits_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'disputed'));
CREATE INDEX deposits_user ON deposits (user_id, seq);

-- Every event a payment provider sends, kept for audit whatever became of it; the
-- UNIQUE key makes a repeated event change nothing.
CREATE TABLE payment_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider     TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    type         TEXT   NOT NULL,
    deposit_id   TEXT   NOT NULL DEFAULT '',
    amount_cents BIGINT NOT NULL DEFAULT 0,
    currency     TEXT   NOT NULL DEFAULT '',
    payload      TEXT   NOT NULL,
    result       TEXT   NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX payment_events_deposit ON payment_events (deposit_id) WHERE deposit_id <> '';
