-- statussync schema 4: calls without an explicit `key` no longer store an automatic idempotency
-- key. A repeated call without `key` (same workflow uid + template name + plugin body) is found
-- through its update's subject instead (updates_subject and calls_update, which every accept
-- writes anyway), so calls_idem_key holds explicit keys only: one index page less written per
-- call, and a smaller calls row.
UPDATE calls SET idem_key = NULL WHERE key IS NULL;
