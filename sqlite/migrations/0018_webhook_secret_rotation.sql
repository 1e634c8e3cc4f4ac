-- Webhook secret rotation with an overlap (issue 22). While previous_until (ms)
-- is ahead, deliveries are also signed with previous_secret (stored sealed like
-- secret), so a receiver can switch to the new secret at its own pace.
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_until INTEGER NOT NULL DEFAULT 0;
