-- Verification refs stop being random (sqlite/refperm.go): a new ref is a keyed
-- permutation of the row's seq, unique by construction. The UNIQUE index moves to
-- ref_key, which keeps what it held for the rows before this migration (their
-- refs, so a new ref is never one of them) and, for new rows, the counter in seq
-- order: a purchase appends to the index instead of writing a random page of it.
-- The public ref is the new column ref; readers are unchanged.
ALTER TABLE verifications RENAME COLUMN ref TO ref_key;
ALTER TABLE verifications ADD COLUMN ref TEXT NOT NULL DEFAULT '';
UPDATE verifications SET ref = ref_key;
-- The permutation's key: the database's own secret, so refs reveal neither the
-- order nor the count of purchases.
INSERT OR IGNORE INTO settings (key, value) VALUES ('verification_ref_key', lower(hex(randomblob(16))));
