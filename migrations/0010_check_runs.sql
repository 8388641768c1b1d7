-- statussync schema 10: GitHub check runs (docs/design.md#check-runs).
--
-- updates.report says how an update is reported: a commit status (every update before this
-- schema) or a check run. It is a column with a default, so the accept path writes it in the
-- same INSERT as before and `report: status` calls cost nothing more.
--
-- check_runs holds one row per (provider, repo, sha, context, workflow uid): the check run that
-- workflow's updates for the context create and then PATCH. Its id is the run's stable
-- external_id (`statussync:<id>`), so a create whose answer was lost can be found again by
-- listing the commit's runs; check_run_id is GitHub's id once the run was created or adopted.
-- The delivery loop writes these rows, never the accept transaction.
ALTER TABLE updates ADD COLUMN report TEXT NOT NULL DEFAULT 'status' CHECK (report = 'status' OR report = 'check');

CREATE TABLE check_runs (
    id                 INTEGER PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    provider           TEXT NOT NULL,
    repo               TEXT NOT NULL,
    sha                TEXT NOT NULL,
    context            TEXT NOT NULL,
    workflow_uid       TEXT NOT NULL,
    workflow_namespace TEXT NOT NULL,
    workflow_name      TEXT NOT NULL,
    check_run_id       INTEGER,          -- GitHub's id; NULL until created or adopted
    status             TEXT,             -- the last status GitHub accepted: queued | in_progress | completed
    conclusion         TEXT,             -- when completed
    superseded_by      INTEGER,          -- the newer workflow's update that completed this run as neutral
                                         -- (no foreign key: pruning updates must not search this table)
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX check_runs_run ON check_runs(provider, repo, sha, context, workflow_uid);
