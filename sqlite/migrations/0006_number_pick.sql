-- Indexes that hand out a number without sorting the free pool: the purchase
-- queries name them (INDEXED BY), because the planner otherwise prefers the UNIQUE
-- index on holder, where every free number shares the key NULL.
CREATE INDEX numbers_pick ON numbers ((used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL;
CREATE INDEX numbers_pick_area ON numbers (area_code, (used_at IS NULL), released_at, seq) WHERE status = 'active' AND holder IS NULL;
CREATE INDEX numbers_pristine ON numbers (seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL;
CREATE INDEX numbers_pristine_area ON numbers (area_code, seq) WHERE status = 'active' AND holder IS NULL AND used_at IS NULL;
