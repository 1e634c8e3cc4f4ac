-- Issue 20: another code on the same number, reports of numbers a service
-- refused, and longer rentals.

-- Every code a verification received, oldest first, one per line ("" or NULL
-- before the first). code stays the newest; a verification with a code was
-- charged, whatever its status (a resend waits again without a refund).
ALTER TABLE verifications ADD COLUMN codes TEXT;
UPDATE verifications SET codes = code WHERE code IS NOT NULL;

-- A customer's report that a service refused a verification's number. One per
-- verification (it is refunded once); the number is then never sold for that
-- service (number_services_used), and a number reported often is disabled
-- (docs/DECISIONS.md, Reports of refused numbers).
CREATE TABLE number_reports (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verification_id TEXT    NOT NULL UNIQUE REFERENCES verifications (id),
    replacement_id  TEXT    REFERENCES verifications (id),
    number_id       TEXT    NOT NULL REFERENCES numbers (id),
    gateway_id      TEXT    NOT NULL REFERENCES gateways (id),
    service_id      INTEGER NOT NULL REFERENCES services (id),
    user_id         TEXT    NOT NULL REFERENCES users (id),
    reason          TEXT    NOT NULL,
    -- Why there is no replacement (replacement_id NULL): an error code and its
    -- detail, as the report's first answer gave them; '' when there is one.
    replacement_code   TEXT NOT NULL DEFAULT '',
    replacement_detail TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX number_reports_number ON number_reports (number_id);
CREATE INDEX number_reports_gateway ON number_reports (gateway_id);
-- Verifications per number, for the report rate.
CREATE INDEX verifications_number ON verifications (number_id);

-- A rental's term can be extended: the days added after the first term (its
-- duration_days stays the term it was bought for; cost_cents is all it cost),
-- and when its expiry reminder was queued (once per end: an extension clears it).
ALTER TABLE rentals ADD COLUMN extended_days INTEGER NOT NULL DEFAULT 0 CHECK (extended_days >= 0);
ALTER TABLE rentals ADD COLUMN reminded_at BIGINT;
-- Each extension is a purchase entry of its own (reason 'extension'); the first
-- purchase stays one per rental.
DROP INDEX ledger_one_purchase_rental;
CREATE UNIQUE INDEX ledger_one_purchase_rental ON ledger (rental_id) WHERE kind = 'purchase' AND rental_id IS NOT NULL AND reason <> 'extension';
