-- Central mode: which tenant made a call (NULL for the agent token or no auth). Idempotency keys
-- are scoped per tenant, so the effective key in calls.idem_key already carries the tenant.
ALTER TABLE calls ADD COLUMN tenant TEXT;
