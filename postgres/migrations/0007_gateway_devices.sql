-- Real gateways (issue 18). A gateway's token signs what some gateway software
-- sends (the Android app, Twilio-style posts): besides its hash, it is kept
-- sealed (AES-GCM under the server's secret key; '' when the server has none or
-- the gateway predates this). last_seen_at is the gateway's last message or
-- heartbeat. A number may be tied to where it lives on its gateway: a device and
-- a SIM slot (or a port), unique within the gateway.
ALTER TABLE gateways ADD COLUMN token_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN last_seen_at BIGINT;
ALTER TABLE numbers ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
ALTER TABLE numbers ADD COLUMN sim_slot INTEGER NOT NULL DEFAULT 0 CHECK (sim_slot >= 0);
CREATE UNIQUE INDEX numbers_device_slot ON numbers (gateway_id, device_id, sim_slot) WHERE device_id <> '';

-- Messages a gateway sent for no number of its own (an unknown number, or a
-- device slot that holds none): kept for the admins' inbound log, once per
-- (gateway, message id), and routed nowhere.
CREATE TABLE unmatched_messages (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gateway_id     TEXT    NOT NULL REFERENCES gateways (id),
    gateway_msg_id TEXT    NOT NULL,
    to_number      TEXT    NOT NULL DEFAULT '',
    device_id      TEXT    NOT NULL DEFAULT '',
    sim_slot       INTEGER NOT NULL DEFAULT 0,
    sender         TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    received_at    BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    UNIQUE (gateway_id, gateway_msg_id)
);
