-- statussync schema 5: no indexes on the creation times. Every accepted call wrote an entry in
-- updates_created and calls_received, and with them the accept path wrote twice the bytes per
-- call (BenchCeiling store: 31.8 KB → 21.9 KB, 6,400 → 8,100–8,700 calls/s). Ids grow with time,
-- so pruning and `--since` find the time boundary by a binary search over ids instead
-- (SQLiteStore.firstID).
DROP INDEX updates_created;
DROP INDEX calls_received;
