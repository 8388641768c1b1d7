-- statussync schema 6: no index on updates(workflow_uid). Only the stale check used it, and every
-- accepted call wrote an entry in it at a scattered position (one more page per transaction for
-- each workflow in a group commit). The stale check now asks the subject indexes instead: by sha
-- through updates_subject, by pull request through updates_pr_subject (BenchCeiling store:
-- 21.7 → 16.9 KB written per call, about 8 % more calls/s).
DROP INDEX updates_workflow;
