-- The outbox, version 2: one delivery per message and destination, written in the
-- message's own transaction, and the log of every attempt.
--
-- A delivery is `pending` (waiting until `due_at`), `delivering` (claimed by a worker
-- until `due_at`, its lease: a worker that dies leaves it to be claimed again),
-- `delivered`, or `failed` (retries exhausted or refused for good: the dead letter,
-- kept for replay). `attempts` counts every attempt; `retry_step` is the place in the
-- retry schedule, back to 0 when a delivery is replayed.

CREATE TABLE deliveries (
    id BLOB PRIMARY KEY,
    message_id BLOB NOT NULL,
    tenant TEXT NOT NULL,
    destination TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_step INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_error TEXT
);

-- What a worker claims: the open deliveries of its destination, the most overdue first.
CREATE INDEX deliveries_open
    ON deliveries (destination, due_at, id)
    WHERE status IN ('pending', 'delivering');
-- What an ordered destination claims: its oldest open delivery.
CREATE INDEX deliveries_open_in_order
    ON deliveries (destination, created_at, id)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX deliveries_by_destination ON deliveries (tenant, destination, id);

CREATE TABLE delivery_attempts (
    delivery_id BLOB NOT NULL,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    response TEXT,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

-- Destinations switched off (a 410 Gone, or an operator): their deliveries wait.
CREATE TABLE disabled_destinations (
    name TEXT PRIMARY KEY,
    disabled_at INTEGER NOT NULL,
    reason TEXT NOT NULL
);
