-- Tenants and access, version 5: the accounts that own data, the people in them, the
-- API keys that act for them, and the audit log of every change to these.
--
-- Tenant ids are what every other table's `tenant` column holds. The tenant the engine
-- files messages under by default ("default", `Config.tenant`) is created here, so its
-- keys can be made at once; another receiving tenant is created like any other.
--
-- An API key is `sk_<32 hex digits of its id>_<secret>`. Only the SHA-256 of the secret
-- is kept (`secret_hash`); `prefix` is the start of the full key, enough to tell keys
-- apart on a screen. `tenant` is NULL for an operator key (it acts on every tenant).
-- `scopes` is a JSON array. `last_used_at` is written lazily (at most about once a
-- minute per process), never on each request.
--
-- Audit rows are never updated or deleted by the engine; `actor` is the key id that made
-- the change, "operator" (the config's admin key) or "embedder" (the embedding API);
-- `details` is a JSON object and never holds a secret.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO tenants (id, name, created_at)
VALUES ('default', 'Default', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX members_by_email ON members (tenant, email);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    rotated_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
) WITHOUT ROWID;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant, id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    tenant TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;

-- Newest first, a page at a time: ids sort by time.
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, id);
