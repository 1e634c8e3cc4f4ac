-- The account's event log (GET /v1/events) reads the events table by user in
-- seq order; events older than the retention are pruned by created_at.
CREATE INDEX events_user_seq ON events (user_id, seq);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
