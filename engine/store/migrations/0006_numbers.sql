-- Numbers for rent, version 6: the inventory, the leases, the quotes that lead to them
-- and the ledger of what they cost.
--
-- Times are integer microseconds since the Unix epoch, UTC, and amounts are integers in the
-- currency's minor units (cents), never floats.
--
-- `numbers.capabilities` is a bit set (1 sms, 2 mms, 4 voice), so "has all of these" is
-- one AND. A price column left NULL means the unit is not offered. `state` is
-- 'available', 'leased' (then `lease_id` names the active lease) or 'cooling_off' (until
-- `cooling_off_until`).
--
-- A lease is active while `ended_at` is NULL: the partial unique index lets a number
-- hold at most one active lease, whatever the code above it does. `end_reason` is
-- 'released' or 'expired'.
--
-- `number_revision` counts the changes to numbers and leases (one row): a process
-- holding a copy of who leases what reads it to learn that another process changed it.

CREATE TABLE numbers (
    number TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    region TEXT,
    capabilities INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    price_hour INTEGER,
    price_day INTEGER,
    price_month INTEGER,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    lease_id TEXT,
    cooling_off_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX numbers_by_state ON numbers (state, country, number);

CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    number TEXT NOT NULL,
    term_unit TEXT NOT NULL,
    term_count INTEGER NOT NULL,
    auto_renew INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    renewals INTEGER NOT NULL DEFAULT 0,
    ended_at INTEGER,
    end_reason TEXT,
    cooling_off_until INTEGER
) WITHOUT ROWID;

CREATE UNIQUE INDEX leases_active_number ON leases (number) WHERE ended_at IS NULL;
CREATE INDEX leases_by_tenant ON leases (tenant, id);
CREATE INDEX leases_due ON leases (expires_at) WHERE ended_at IS NULL;

CREATE TABLE lease_quotes (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    number TEXT NOT NULL,
    term_unit TEXT NOT NULL,
    term_count INTEGER NOT NULL,
    auto_renew INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    lease_id TEXT
) WITHOUT ROWID;

CREATE INDEX lease_quotes_by_expiry ON lease_quotes (expires_at);

CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    lease_id TEXT NOT NULL,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    term_unit TEXT NOT NULL,
    term_count INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    charged_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A statement reads one tenant's month in order.
CREATE INDEX charges_by_tenant ON charges (tenant, charged_at, id);

CREATE TABLE number_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);

INSERT INTO number_revision (id, revision) VALUES (1, 0);
