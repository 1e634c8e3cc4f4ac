-- Gateway health (issue 18). A gateway that is disabled, or silent past the
-- server's limit (no message or heartbeat), has its numbers withdrawn from
-- sale until it is enabled and heard from again. withdrawn_at is when that
-- happened (NULL while its numbers are listed); each number carries the flag
-- itself, so that the partial index that hands out numbers leaves withdrawn
-- ones out and a purchase reads exactly as many index entries as before
-- (docs/DECISIONS.md, Gateway health). The App changes a gateway's mark and
-- its numbers' flags in one transaction, the gateway's row locked first.
ALTER TABLE gateways ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE numbers ADD COLUMN withdrawn BOOLEAN NOT NULL DEFAULT false;

-- A gateway's numbers, to withdraw and relist them and to count them.
CREATE INDEX numbers_gateway ON numbers (gateway_id);

-- The index of 0001 again, without withdrawn numbers.
DROP INDEX numbers_free;
CREATE INDEX numbers_free ON numbers (area_code, released_at, seq) WHERE status = 'active' AND holder IS NULL AND NOT withdrawn;

-- Each gateway's recent traffic, for the admins' gateway page.
CREATE INDEX messages_gateway ON messages (gateway_id, created_at);
CREATE INDEX unmatched_messages_gateway ON unmatched_messages (gateway_id, created_at);
