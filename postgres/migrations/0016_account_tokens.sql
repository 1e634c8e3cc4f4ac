-- Password-reset and email-change tokens (account_settings.go): only the token's
-- hash is kept; a token is used once (used_at) and expires.
CREATE TABLE account_tokens (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    hash       BYTEA   NOT NULL UNIQUE,
    new_email  TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
