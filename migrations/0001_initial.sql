-- statussync schema 1: plugin calls, desired status updates, delivery attempts, pinned PR heads.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC).

-- One row per applied migration; PRAGMA user_version holds the current version.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;

-- A desired commit status (CONTRACT §3). `status` is its delivery state.
CREATE TABLE updates (
    id                 INTEGER PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    provider           TEXT NOT NULL,
    repo               TEXT NOT NULL,
    sha                TEXT,            -- NULL while a `pr` update waits for its head to be pinned
    pr                 INTEGER,
    ref                TEXT,
    context            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending','running','success','failure','error','cancelled','skipped')),
    description        TEXT NOT NULL,
    target_url         TEXT,
    comment            TEXT,
    workflow_namespace TEXT NOT NULL,
    workflow_name      TEXT NOT NULL,
    workflow_uid       TEXT NOT NULL,
    wait               INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CHECK (status IN ('queued','delivering','delivered','duplicate','superseded','stale','failed','dead')),
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

CREATE INDEX updates_subject    ON updates(provider, repo, sha, context, id);
CREATE INDEX updates_pr_subject ON updates(provider, repo, pr, workflow_uid, context, id) WHERE pr IS NOT NULL;
CREATE INDEX updates_due        ON updates(next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX updates_in_flight  ON updates(provider, repo, context) WHERE status = 'delivering';
CREATE INDEX updates_created    ON updates(created_at);
CREATE INDEX updates_workflow   ON updates(workflow_uid);

-- Every plugin call of our key, as received, with its reply or validation error.
CREATE TABLE calls (
    id                 INTEGER PRIMARY KEY,
    received_at        INTEGER NOT NULL,
    workflow_namespace TEXT NOT NULL,
    workflow_name      TEXT NOT NULL,
    workflow_uid       TEXT NOT NULL,
    template_name      TEXT NOT NULL,
    plugin_key         TEXT NOT NULL,
    key                TEXT,             -- the explicit idempotency key, as given
    idem_key           TEXT,             -- the effective key; only accepted calls carry one
    body               TEXT NOT NULL,    -- the plugin body, canonical JSON
    args               TEXT NOT NULL,    -- the ExecuteTemplateArgs exactly as received
    reply              TEXT,             -- the reply sent (JSON)
    error              TEXT,             -- why the call was rejected
    update_id          INTEGER REFERENCES updates(id) ON DELETE CASCADE,
    repeats            INTEGER NOT NULL DEFAULT 0,   -- identical calls answered from this row
    last_received_at   INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX calls_idem_key ON calls(idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX calls_update   ON calls(update_id);
CREATE INDEX calls_received ON calls(received_at);

-- Each provider call made for an update (and each interruption found at start-up).
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    update_id   INTEGER NOT NULL REFERENCES updates(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    operation   TEXT NOT NULL,     -- status | resolve-pr | recovery
    http_status INTEGER,
    error_class TEXT NOT NULL,     -- ok | transient | rate-limited | permanent | interrupted
    error       TEXT               -- the provider's message or a response excerpt; never a token
) STRICT;

CREATE INDEX attempts_update ON attempts(update_id, id);

-- A pull request's head, resolved once per workflow and used for all its later updates.
CREATE TABLE pr_heads (
    provider     TEXT NOT NULL,
    repo         TEXT NOT NULL,
    pr           INTEGER NOT NULL,
    workflow_uid TEXT NOT NULL,
    sha          TEXT NOT NULL,
    resolved_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, repo, pr, workflow_uid)
) STRICT, WITHOUT ROWID;
