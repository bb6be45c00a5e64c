-- Destinations and route tables managed at runtime (over the REST API or the embedding
-- API), version 3. The config file's own destinations and routes are not stored here:
-- they are read from the file at every start.
--
-- Every row belongs to a tenant. `config` and `policy` are JSON objects (the adapter's
-- settings and the outbox policy, as a config file would spell them); `routes` is the
-- JSON of a whole route table ({"rules": [...], "default": [...]}), or NULL when the
-- config file's table is in force again. `version` is the tenant's revision at the
-- row's last change: every change of a tenant's destinations or routes takes the next
-- revision, so a version is never reused, even by a row deleted and created again, and
-- a client that read version N can ask for "only if it is still N" (optimistic
-- concurrency).

CREATE TABLE config_revisions (
    tenant TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);

CREATE TABLE destinations (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    adapter TEXT NOT NULL,
    config TEXT NOT NULL,
    policy TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

CREATE TABLE route_tables (
    tenant TEXT PRIMARY KEY,
    routes TEXT,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
