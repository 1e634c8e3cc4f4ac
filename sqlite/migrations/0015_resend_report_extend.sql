-- Issue 20: another code on the same number.

-- Every code a verification received, oldest first, one per line ("" or NULL
-- before the first). code stays the newest; a verification with a code was
-- charged, whatever its status (a resend waits again without a refund).
ALTER TABLE verifications ADD COLUMN codes TEXT;
UPDATE verifications SET codes = code WHERE code IS NOT NULL;
