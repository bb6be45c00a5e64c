-- Destinations per tenant, version 8: every tenant has its own destinations, so a
-- destination is named by its tenant and its name together, and two tenants may both
-- have one called "hooks".
--
-- A worker claims the open deliveries of its tenant's destination only: the claim
-- indexes lead with the destination (as before, so a lookup by name alone still uses
-- them) and then the tenant.
--
-- `disabled_destinations` gains the tenant. The receiving tenant's (the one messages
-- are filed under by default, whose destinations were the only ones before this
-- version) are kept under the empty tenant, as every existing row is: a tenant id is
-- never empty.

DROP INDEX deliveries_open;
DROP INDEX deliveries_open_in_order;

CREATE INDEX deliveries_open
    ON deliveries (destination, tenant, due_at, id)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX deliveries_open_in_order
    ON deliveries (destination, tenant, created_at, id)
    WHERE status IN ('pending', 'delivering');

CREATE TABLE disabled_destinations_by_tenant (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    disabled_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

INSERT INTO disabled_destinations_by_tenant (tenant, name, disabled_at, reason)
    SELECT '', name, disabled_at, reason FROM disabled_destinations;

DROP TABLE disabled_destinations;

ALTER TABLE disabled_destinations_by_tenant RENAME TO disabled_destinations;
