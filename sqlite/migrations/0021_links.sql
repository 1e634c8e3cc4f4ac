-- Login links (issue 26): the sign-in or verification link a message carried
-- (detect.ExtractLink), kept beside its code. A verification's link is that of
-- the message that released it last; NULL when that message had none.
ALTER TABLE verifications ADD COLUMN link TEXT;
ALTER TABLE messages ADD COLUMN link TEXT;

-- Reliability figures (issue 26): the verifications that ended in the last
-- days, read by one aggregate query a minute (VerificationOutcomes).
CREATE INDEX verifications_ended ON verifications (ended_at) WHERE ended_at IS NOT NULL;
