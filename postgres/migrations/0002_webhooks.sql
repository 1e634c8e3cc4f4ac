-- Webhooks: endpoints, a transactional outbox of events, and their deliveries.

-- The secret signs deliveries (HMAC-SHA256), so it must be kept as is: unlike
-- credentials it cannot be stored as a hash.
CREATE TABLE webhook_endpoints (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    events          TEXT    NOT NULL DEFAULT '[]',
    enabled         BOOLEAN NOT NULL DEFAULT true,
    disabled_reason TEXT    NOT NULL DEFAULT '',
    failing_since   BIGINT,
    deleted_at      BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, seq);

-- Events are written in the transaction of the change they announce.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT   NOT NULL UNIQUE,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    type       TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- One delivery per (event, endpoint). status: pending → delivered, or failed after
-- the last retry. Workers claim rows with FOR UPDATE SKIP LOCKED and then hold them
-- by lease_until (wall-clock ms), so two servers never send one delivery at once.
CREATE TABLE deliveries (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    event_id        TEXT    NOT NULL REFERENCES events (id),
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    delivered_at    BIGINT,
    created_at      BIGINT  NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, seq);

CREATE TABLE delivery_attempts (
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  TEXT    NOT NULL REFERENCES deliveries (id),
    attempted_at BIGINT  NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT    NOT NULL DEFAULT '',
    latency_ms   BIGINT  NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, seq);
