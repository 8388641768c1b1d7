-- statussync schema 12: a re-run's tries name their call (docs/design.md#re-run).
--
-- When a resubmit's answer was lost (a timeout, a 5xx from a proxy, a crash), the next try first
-- lists the workflows the Argo Server resubmitted from that one and adopts the new workflow if
-- the lost try made it, so a Re-run never starts the workflow twice. That lookup is a try of its
-- own: `resubmit-list`, beside `resubmit`. Rows from schema 11 were all resubmits.
ALTER TABLE rerun_attempts ADD COLUMN operation TEXT NOT NULL DEFAULT 'resubmit'
    CHECK (operation IN ('resubmit', 'resubmit-list'));
