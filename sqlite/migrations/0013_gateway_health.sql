-- Gateway health (issue 18). A gateway that is disabled, or silent past the
-- server's limit (no message or heartbeat), has its numbers withdrawn from
-- sale until it is enabled and heard from again. withdrawn_at is when that
-- happened (NULL while its numbers are listed); each number carries the flag
-- itself, so that the partial indexes that hand out numbers leave withdrawn
-- ones out and a purchase reads exactly as many index entries as before
-- (docs/DECISIONS.md, Gateway health). The App changes a gateway's mark and
-- its numbers' flags in one transaction.
ALTER TABLE gateways ADD COLUMN withdrawn_at INTEGER;
ALTER TABLE numbers ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1));

-- A gateway's numbers, to withdraw and relist them and to count them.
CREATE INDEX numbers_gateway ON numbers (gateway_id);

-- The indexes of 0006 again, without withdrawn numbers.
DROP INDEX numbers_pick;
DROP INDEX numbers_pick_area;
DROP INDEX numbers_pristine;
DROP INDEX numbers_pristine_area;
CREATE INDEX numbers_pick ON numbers ((used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL AND withdrawn = 0;
CREATE INDEX numbers_pick_area ON numbers (area_code, (used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL AND withdrawn = 0;
CREATE INDEX numbers_pristine ON numbers (seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND withdrawn = 0;
CREATE INDEX numbers_pristine_area ON numbers (area_code, seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND withdrawn = 0;

-- Each gateway's recent traffic, for the admins' gateway page.
CREATE INDEX messages_gateway ON messages (gateway_id, created_at);
CREATE INDEX unmatched_messages_gateway ON unmatched_messages (gateway_id, created_at);
