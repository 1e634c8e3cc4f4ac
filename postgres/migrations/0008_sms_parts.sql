-- Long SMS delivered in parts (issue 18). A gateway that forwards each part of
-- a concatenated SMS separately sends its reference, index and count; the parts
-- wait here, keyed by (gateway, sender, the number or device slot they arrived
-- at, reference), each part once (and each gateway message id once), until the
-- last one arrives or the time limit passes. Then the joined text is stored and
-- routed as one message, and every part of it keeps that message's id (NULL
-- while waiting; 'parts:<group_id>' when the joined message was kept as
-- unmatched): the parts stay beside the message they made, for the admins'
-- inbound log.
CREATE TABLE sms_parts (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id       TEXT    NOT NULL,
    gateway_id     TEXT    NOT NULL REFERENCES gateways (id),
    sender         TEXT    NOT NULL,
    to_number      TEXT    NOT NULL DEFAULT '',
    device_id      TEXT    NOT NULL DEFAULT '',
    sim_slot       INTEGER NOT NULL DEFAULT 0,
    ref            TEXT    NOT NULL,
    part_index     INTEGER NOT NULL CHECK (part_index >= 1 AND part_index <= part_count),
    part_count     INTEGER NOT NULL CHECK (part_count >= 2 AND part_count <= 255),
    gateway_msg_id TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    received_at    BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    message_id     TEXT,
    UNIQUE (gateway_id, gateway_msg_id),
    UNIQUE (group_id, part_index)
);
CREATE INDEX sms_parts_waiting_key ON sms_parts (gateway_id, sender, to_number, device_id, sim_slot, ref) WHERE message_id IS NULL;
CREATE INDEX sms_parts_waiting_since ON sms_parts (created_at) WHERE message_id IS NULL;
CREATE INDEX sms_parts_message ON sms_parts (message_id) WHERE message_id IS NOT NULL;
