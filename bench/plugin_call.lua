-- wrk script: every request is a new plugin call (its own context), shaped like the Argo agent's.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- RATE (calls/s over all connections) and CONNECTIONS in the environment pace the load: each
-- connection waits CONNECTIONS*1000/RATE ms between requests (an open-loop approximation).
local rate = tonumber(os.getenv("RATE") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "16")

function init(args)
  n = 0
  accepted = 0
  other = 0
end

function delay()
  if rate > 0 then return connections * 1000 / rate end
  return 0
end

function request()
  n = n + 1
  local body = string.format(
    '{"workflow":{"metadata":{"name":"bench-%d","namespace":"ci","uid":"uid-%d"}},' ..
    '"template":{"name":"report","inputs":{},"outputs":{},"metadata":{},"plugin":{"statussync":' ..
    '{"context":"bench-%d-%d","repo":"my-org/app","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","state":"Succeeded"}}}}',
    tid, tid, tid, n)
  return wrk.format("POST", "/api/v1/template.execute", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"phase":"Succeeded"', 1, true) then
    accepted = accepted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local acc, oth = 0, 0
  for _, t in ipairs(threads) do
    acc = acc + t:get("accepted")
    oth = oth + t:get("other")
  end
  io.write(string.format("accepted=%d other=%d seconds=%.2f rate=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    acc, oth, summary.duration / 1e6, acc / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
