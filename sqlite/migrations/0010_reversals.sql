-- Money a payment provider takes back (a refund, a dispute) after a deposit was
-- credited. refunded_cents and disputed_cents are what the provider says it took
-- back; owed_cents the part the wallet could not cover yet (an account that owes
-- cannot buy until an admin settles it); forgiven_cents what an admin wrote off.
-- payment_ref is the provider's payment object (Stripe's PaymentIntent), by which
-- its refund and dispute events name the deposit.
ALTER TABLE deposits ADD COLUMN payment_ref    TEXT    NOT NULL DEFAULT '';
ALTER TABLE deposits ADD COLUMN refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0);
ALTER TABLE deposits ADD COLUMN disputed_cents INTEGER NOT NULL DEFAULT 0 CHECK (disputed_cents >= 0);
ALTER TABLE deposits ADD COLUMN owed_cents     INTEGER NOT NULL DEFAULT 0 CHECK (owed_cents >= 0);
ALTER TABLE deposits ADD COLUMN forgiven_cents INTEGER NOT NULL DEFAULT 0 CHECK (forgiven_cents >= 0);
CREATE INDEX deposits_payment_ref ON deposits (provider, payment_ref) WHERE payment_ref <> '';

-- The sum of a user's deposits' owed_cents, beside the balance that a purchase
-- reads anyway.
ALTER TABLE users ADD COLUMN owed_cents INTEGER NOT NULL DEFAULT 0 CHECK (owed_cents >= 0);

-- A deposit is credited once; what is taken back for it is an adjustment that
-- names it, and may come in several parts.
DROP INDEX ledger_one_deposit;
CREATE UNIQUE INDEX ledger_one_deposit ON ledger (deposit_id) WHERE kind = 'deposit' AND deposit_id IS NOT NULL;
