-- statussync schema 8: the order of delivery under a provider's budget (docs/design.md#delivery-order).
-- A claim reads a provider's due updates in two index ranges, final states and pending/running
-- ones, each oldest first, and merges them: finals go first, and a pending or running update older
-- than delivery.maxDeferral ranks among the finals by its accept time. Both indexes hold only
-- queued rows, so they stay as small as the backlog, and neither read sorts anything.
-- The state tests are OR comparisons, written exactly as the claim's queries write them (a partial
-- index is used only when the query repeats its condition).
CREATE INDEX updates_due_final ON updates(provider, id)
    WHERE status = 'queued' AND (state = 'success' OR state = 'failure' OR state = 'error' OR state = 'cancelled' OR state = 'skipped');
CREATE INDEX updates_due_progress ON updates(provider, id)
    WHERE status = 'queued' AND (state = 'pending' OR state = 'running');
