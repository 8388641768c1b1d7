-- statussync schema 7: the same rules for updates.state and updates.status, written as OR
-- comparisons instead of `IN ('pending', …)`. SQLite checks a constant IN list of more than two
-- values by building a temporary b-tree of the list (a pager, a page cache and their allocations)
-- every time the constraint runs: twice for every accepted call, and again whenever the delivery
-- loop changes a status. That was about 8 % of the writer's CPU per accepted call (perf), and
-- these comparisons need no b-tree. Every stored row satisfies both forms.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt the documented way
-- (https://www.sqlite.org/lang_altertable.html#otheralter): new table, copy, drop, rename, indexes.
-- The migration runner turns foreign keys off around it and runs `PRAGMA foreign_key_check`
-- before the commit, so dropping the old table does not cascade into calls or attempts.
CREATE TABLE updates_new (
    id                 INTEGER PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    provider           TEXT NOT NULL,
    repo               TEXT NOT NULL,
    sha                TEXT,            -- NULL while a `pr` update waits for its head to be pinned
    pr                 INTEGER,
    ref                TEXT,
    context            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state = 'pending' OR state = 'running' OR state = 'success' OR state = 'failure'
                                            OR state = 'error' OR state = 'cancelled' OR state = 'skipped'),
    description        TEXT NOT NULL,
    target_url         TEXT,
    comment            TEXT,
    workflow_namespace TEXT NOT NULL,
    workflow_name      TEXT NOT NULL,
    workflow_uid       TEXT NOT NULL,
    wait               INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CHECK (status = 'queued' OR status = 'delivering' OR status = 'delivered' OR status = 'duplicate'
                                             OR status = 'superseded' OR status = 'stale' OR status = 'failed' OR status = 'dead'),
    linked_id          INTEGER REFERENCES updates(id) ON DELETE SET NULL,
                                         -- duplicate: the update it repeats; superseded: the newer one;
                                         -- stale: this workflow's final update for the context
    attempts           INTEGER NOT NULL DEFAULT 0,   -- provider calls that count toward maxAttempts
    last_error         TEXT,
    next_attempt_at    INTEGER,                      -- set while queued
    age_from           INTEGER NOT NULL,             -- start of the maxAge clock (reset by `retry`)
    delivered_at       INTEGER,
    finished_at        INTEGER,                      -- when it left queued/delivering for good
    CHECK (sha IS NOT NULL OR pr IS NOT NULL)
) STRICT;

INSERT INTO updates_new SELECT * FROM updates;
DROP TABLE updates;
ALTER TABLE updates_new RENAME TO updates;

-- The indexes of schema 6, unchanged.
CREATE INDEX updates_subject    ON updates(provider, repo, sha, context, id);
CREATE INDEX updates_pr_subject ON updates(provider, repo, pr, workflow_uid, context, id) WHERE pr IS NOT NULL;
CREATE INDEX updates_due        ON updates(next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX updates_in_flight  ON updates(provider, repo, context) WHERE status = 'delivering';
