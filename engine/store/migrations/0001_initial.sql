-- The inbox, version 1.
--
-- Times are integer microseconds since the Unix epoch, UTC (naive datetimes count as
-- UTC); each record's `body` is the whole msgspec Struct as JSON (camelCase keys), so
-- reads decode one column and keep offsets such as sentAt's exactly as given.
--
-- A message id (`msg_` and 32 hex digits) is kept as the 16 bytes the digits stand for:
-- they sort the same way, and every index that ends in the id is half the size, which is
-- most of what a batch of inserts writes.

CREATE TABLE messages (
    id BLOB PRIMARY KEY,
    tenant TEXT NOT NULL,
    number_used TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    has_otp INTEGER NOT NULL,
    body BLOB NOT NULL
);

-- Ids sort by time, so listing and paging walk these indexes in id order.
CREATE INDEX messages_by_tenant ON messages (tenant, id);
CREATE INDEX messages_by_number ON messages (tenant, number_used, id);
CREATE INDEX messages_by_sender ON messages (tenant, sender_id, id);

-- The carrier's payload, kept for audit; read rarely, so out of the messages rows.
CREATE TABLE raw_payloads (
    message_id BLOB PRIMARY KEY,
    data BLOB NOT NULL
);

-- Every carrier id the inbox has seen, of a message or of a part. `message_id` is NULL
-- while the id belongs to a buffered part; completing the set points it at the message,
-- so a carrier's retry of a part still dedupes after its set became a message.
CREATE TABLE carrier_ids (
    carrier TEXT NOT NULL,
    carrier_message_id TEXT NOT NULL,
    message_id BLOB,
    PRIMARY KEY (carrier, carrier_message_id)
) WITHOUT ROWID;

-- Parts of concatenated messages waiting for the rest of their set.
-- `duplicates` counts the repeats of a part that arrived and were ignored, so the message
-- the set makes is flagged `duplicate_parts` even when it completes after a restart.
CREATE TABLE parts (
    set_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    carrier_message_id TEXT,
    expires_at INTEGER NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    PRIMARY KEY (set_key, seq)
) WITHOUT ROWID;

-- `message_id` links a report to the message it is about. A report that arrives before
-- its message keeps `refers_to` (the message's carrier id) and is linked when the message
-- commits; the link lives in this column, not in `body`.
CREATE TABLE status_reports (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    carrier TEXT NOT NULL,
    carrier_message_id TEXT,
    refers_to TEXT,
    message_id BLOB,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL
);

CREATE UNIQUE INDEX status_reports_by_carrier_id
    ON status_reports (carrier, carrier_message_id)
    WHERE carrier_message_id IS NOT NULL;
CREATE INDEX status_reports_by_message
    ON status_reports (message_id, received_at, id)
    WHERE message_id IS NOT NULL;
CREATE INDEX status_reports_waiting
    ON status_reports (carrier, refers_to, tenant)
    WHERE message_id IS NULL AND refers_to IS NOT NULL;
