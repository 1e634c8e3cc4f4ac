-- Password-reset and email-change tokens (account_settings.go): only the token's
-- hash is kept; a token is used once (used_at) and expires.
CREATE TABLE account_tokens (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    hash       BLOB    NOT NULL UNIQUE,
    new_email  TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
