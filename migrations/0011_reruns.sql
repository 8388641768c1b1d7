-- statussync schema 11: re-runs requested from GitHub check runs (docs/design.md#re-run).
--
-- A row per webhook delivery that asked to re-run a workflow whose check run statussync made:
-- delivery_id is GitHub's X-GitHub-Delivery, so a redelivery of the same request adds nothing.
-- update_id is the newest update of that workflow's run when the request came: `show` of it
-- lists the request. The delivery loop resubmits the workflow through the Argo Server and
-- records each try in rerun_attempts, with the same retries and give-up rules as an update.
CREATE TABLE reruns (
    id                 INTEGER PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    delivery_id        TEXT NOT NULL UNIQUE,
    provider           TEXT NOT NULL,
    check_run          INTEGER NOT NULL,      -- check_runs.id: the run whose button was pressed
    update_id          INTEGER NOT NULL REFERENCES updates(id) ON DELETE CASCADE,
    action             TEXT NOT NULL CHECK (action IN ('requested_action', 'rerequested')),
    sender             TEXT,                  -- the GitHub login that asked
    workflow_namespace TEXT NOT NULL,
    workflow_name      TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('queued', 'delivering', 'delivered', 'failed', 'dead')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER,
    last_error         TEXT,
    finished_at        INTEGER,
    new_workflow       TEXT                   -- the resubmitted workflow's name, from the Argo Server's answer
) STRICT;

CREATE INDEX reruns_update ON reruns(update_id);
CREATE INDEX reruns_due ON reruns(next_attempt_at) WHERE status = 'queued';
CREATE INDEX reruns_delivering ON reruns(status) WHERE status = 'delivering';

CREATE TABLE rerun_attempts (
    id          INTEGER PRIMARY KEY,
    rerun_id    INTEGER NOT NULL REFERENCES reruns(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    error_class TEXT NOT NULL,     -- ok | transient | rate-limited | permanent | interrupted
    error       TEXT
) STRICT;

CREATE INDEX rerun_attempts_rerun ON rerun_attempts(rerun_id, id);
