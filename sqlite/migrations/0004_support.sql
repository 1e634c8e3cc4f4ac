-- Support tickets: a customer opens one (optionally about a verification or a
-- rental) with a first message; staff and the customer add messages to its thread.
CREATE TABLE support_tickets (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    subject         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    verification_id TEXT    REFERENCES verifications (id),
    rental_id       TEXT    REFERENCES rentals (id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (verification_id IS NULL OR rental_id IS NULL)
);
CREATE INDEX support_tickets_user ON support_tickets (user_id, seq);
CREATE INDEX support_tickets_status ON support_tickets (status, seq);

CREATE TABLE support_messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    ticket_id  TEXT    NOT NULL REFERENCES support_tickets (id),
    author_id  TEXT    NOT NULL REFERENCES users (id),
    staff      INTEGER NOT NULL DEFAULT 0,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX support_messages_ticket ON support_messages (ticket_id, seq);
