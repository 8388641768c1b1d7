-- statussync schema 9: what the dashboard and the CLI count and list without reading every row.
-- updates_status lets the overview count updates per delivery status from a small index instead
-- of the table (about 60 ms for 100,000 updates without it). calls_rejected holds only rejected
-- calls, so `calls --rejected` and the dashboard's rejected list read just those; an accepted
-- call, which has no error, is not written into it.
CREATE INDEX updates_status ON updates(status);
CREATE INDEX calls_rejected ON calls(id) WHERE error IS NOT NULL;
