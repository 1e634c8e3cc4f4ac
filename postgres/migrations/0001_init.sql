-- Fetch SMS schema for PostgreSQL, version 1. Times are BIGINT unix milliseconds
-- (UTC), as on SQLite, so both engines share the Go conversions. Money is BIGINT
-- cents. Every list table has a seq identity for newest-first cursors.

CREATE TABLE users (
    seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'admin')),
    balance_cents BIGINT  NOT NULL DEFAULT 0 CHECK (balance_cents >= 0),
    disabled      BOOLEAN NOT NULL DEFAULT false,
    created_at    BIGINT  NOT NULL
);
-- Emails compare case-insensitively (SQLite: COLLATE NOCASE).
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE gateways (
    seq        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    token_hash BYTEA   NOT NULL UNIQUE,
    disabled   BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT  NOT NULL
);

CREATE TABLE api_keys (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT   NOT NULL UNIQUE,
    user_id      TEXT   NOT NULL REFERENCES users (id),
    name         TEXT   NOT NULL,
    prefix       TEXT   NOT NULL,
    hash         BYTEA  NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, seq);

CREATE TABLE sessions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT   NOT NULL UNIQUE,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    hash       BYTEA  NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE services (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    price_cents BIGINT  NOT NULL CHECK (price_cents >= 0),
    long_prices TEXT    NOT NULL DEFAULT '{}',
    enabled     BOOLEAN NOT NULL DEFAULT true,
    position    INTEGER NOT NULL,
    senders     TEXT    NOT NULL DEFAULT '[]',
    keywords    TEXT    NOT NULL DEFAULT '[]'
);

-- holder is 'v:<verification id>' or 'r:<rental id>' while a reservation is live.
-- used_at is set the first time the number is sold: a number with used_at NULL is pristine.
CREATE TABLE numbers (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    e164        TEXT   NOT NULL UNIQUE,
    area_code   TEXT   NOT NULL,
    gateway_id  TEXT   NOT NULL REFERENCES gateways (id),
    status      TEXT   NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    holder      TEXT   UNIQUE,
    used_at     BIGINT,
    released_at BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX numbers_free ON numbers (area_code, released_at, seq) WHERE status = 'active' AND holder IS NULL;

-- A number that delivered a code for a service is never sold for it again.
CREATE TABLE number_services_used (
    number_id  TEXT    NOT NULL REFERENCES numbers (id),
    service_id INTEGER NOT NULL REFERENCES services (id),
    PRIMARY KEY (number_id, service_id)
);

CREATE TABLE verifications (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT   NOT NULL UNIQUE,
    ref         TEXT   NOT NULL UNIQUE,
    user_id     TEXT   NOT NULL REFERENCES users (id),
    service_id  INTEGER NOT NULL REFERENCES services (id),
    number_id   TEXT   NOT NULL REFERENCES numbers (id),
    number      TEXT   NOT NULL,
    area_code   TEXT   NOT NULL DEFAULT '',
    status      TEXT   NOT NULL CHECK (status IN ('waiting', 'received', 'expired', 'cancelled')),
    code        TEXT,
    cost_cents  BIGINT NOT NULL CHECK (cost_cents >= 0),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    received_at BIGINT,
    ended_at    BIGINT
);
CREATE INDEX verifications_user ON verifications (user_id, seq);
CREATE INDEX verifications_waiting ON verifications (expires_at) WHERE status = 'waiting';

CREATE TABLE rentals (
    seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    ref           TEXT    NOT NULL UNIQUE,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    service_id    INTEGER NOT NULL REFERENCES services (id),
    number_id     TEXT    NOT NULL REFERENCES numbers (id),
    number        TEXT    NOT NULL,
    area_code     TEXT    NOT NULL DEFAULT '',
    duration_days INTEGER NOT NULL CHECK (duration_days IN (1, 7, 30, 90, 365)),
    status        TEXT    NOT NULL CHECK (status IN ('waiting', 'received', 'expired', 'cancelled')),
    last_code     TEXT,
    cost_cents    BIGINT  NOT NULL CHECK (cost_cents >= 0),
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX rentals_user ON rentals (user_id, seq);
CREATE INDEX rentals_live ON rentals (expires_at) WHERE status IN ('waiting', 'received');

CREATE TABLE messages (
    seq              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    gateway_id       TEXT    NOT NULL REFERENCES gateways (id),
    gateway_msg_id   TEXT    NOT NULL,
    to_number        TEXT    NOT NULL,
    number_id        TEXT    NOT NULL REFERENCES numbers (id),
    sender           TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    code             TEXT,
    detected_service INTEGER,
    verification_id  TEXT,
    rental_id        TEXT,
    received_at      BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    UNIQUE (gateway_id, gateway_msg_id)
);
CREATE INDEX messages_rental ON messages (rental_id, seq) WHERE rental_id IS NOT NULL;

CREATE TABLE deposits (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT   NOT NULL UNIQUE,
    user_id      TEXT   NOT NULL REFERENCES users (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    status       TEXT   NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    provider     TEXT   NOT NULL,
    provider_ref TEXT   NOT NULL DEFAULT '',
    checkout_url TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    completed_at BIGINT
);

-- The ledger is append-only: the trigger below refuses updates and deletes, and a
-- purchase can be refunded once at most.
CREATE TABLE ledger (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT   NOT NULL UNIQUE,
    user_id             TEXT   NOT NULL REFERENCES users (id),
    kind                TEXT   NOT NULL CHECK (kind IN ('deposit', 'purchase', 'refund', 'adjustment')),
    amount_cents        BIGINT NOT NULL,
    balance_after_cents BIGINT NOT NULL CHECK (balance_after_cents >= 0),
    verification_id     TEXT,
    rental_id           TEXT,
    deposit_id          TEXT,
    reason              TEXT   NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id, seq);
CREATE UNIQUE INDEX ledger_one_refund_verification ON ledger (verification_id) WHERE kind = 'refund' AND verification_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_refund_rental ON ledger (rental_id) WHERE kind = 'refund' AND rental_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_purchase_verification ON ledger (verification_id) WHERE kind = 'purchase' AND verification_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_purchase_rental ON ledger (rental_id) WHERE kind = 'purchase' AND rental_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_one_deposit ON ledger (deposit_id) WHERE deposit_id IS NOT NULL;

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Small key/value settings shared by every server on the database (the sandbox clock offset).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
