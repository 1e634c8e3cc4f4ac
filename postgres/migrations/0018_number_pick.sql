-- The pick (PickNumber) walks the free numbers in its own order: a number never
-- used first, then the one released longest ago. numbers_free (area_code,
-- released_at, seq) matched neither that order nor a pick without an area code,
-- so every purchase read and sorted the whole free pool (0.3 ms with 300
-- numbers, growing with the pool). These are SQLite's pick indexes (its 0013):
-- the pick reads the first entry that is not locked and not used for the
-- service, and stops.
DROP INDEX numbers_free;
CREATE INDEX numbers_pick ON numbers ((used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL AND NOT withdrawn;
CREATE INDEX numbers_pick_area ON numbers (area_code, (used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL AND NOT withdrawn;
CREATE INDEX numbers_pristine ON numbers (seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND NOT withdrawn;
CREATE INDEX numbers_pristine_area ON numbers (area_code, seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL AND NOT withdrawn;
