-- Retention and privacy, version 7: bodies purged after a tenant's retention period, and
-- how far the purge has come.
--
-- A purged message keeps its row and its metadata (number, sender, times, carrier and
-- carrier id, encoding, parts, flags, routing tag); its text and code are gone from
-- `body` (the record says `purgedAt`), its raw payload is deleted, and `purged_at` is
-- the time (integer microseconds, UTC) it was purged. The column is NULL for every new
-- message: adding it rewrites no row, and the ingest path never names it.
--
-- `retention_policies` holds a tenant's own period: `body_days` NULL keeps its bodies
-- forever; no row means the config's `[retention] default_days`. Every change is
-- audited in `audit_log`.
--
-- `retention_progress` is where the purge of a tenant resumes: every message of the
-- tenant whose id sorts below `purged_below` was purged. Ids sort by the time the
-- message was stored, so each run reads only what was stored since the last one ended.

ALTER TABLE messages ADD COLUMN purged_at INTEGER;

CREATE TABLE retention_policies (
    tenant TEXT PRIMARY KEY,
    body_days INTEGER,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE retention_progress (
    tenant TEXT PRIMARY KEY,
    purged_below BLOB NOT NULL
) WITHOUT ROWID;
