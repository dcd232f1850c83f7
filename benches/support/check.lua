-- The wrk script of the load harnesses (http_load.sh, compare.sh, reload_load.sh):
--
--   wrk ... -s benches/support/check.lua URL -- IDS_FILE [TOKEN]
--
-- Sends GET /v1/check for each identifier of IDS_FILE in turn (scenario procurement), to
-- credgate and to the bare hyper "hello" server alike: hello ignores the path and answers
-- its fixed body. Both servers must get the same requests, because wrk shares the two cores
-- with the server it drives: on 2026-11-29 wrk spent 14-16 us of CPU per request building
-- and sending these requests, against about 10 us when it sent hello a constant "GET /",
-- and the hello server answered a third to a half more "GET /" requests a second than these
-- same requests, for that reason alone (benches/RESULTS.md, "Session 11"). TOKEN, when given, goes as a Bearer
-- header. At the end one line:
--
--   RESULT requests req/s p50_ms p99_ms errors status connect read write timeout
--
-- where errors is the sum of the five kinds wrk counts (status = non-2xx/3xx answers).
local ids, i, headers = {}, 0, nil

init = function(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  if args[2] then headers = { ["Authorization"] = "Bearer " .. args[2] } end
end

request = function()
  i = i % #ids + 1
  return wrk.format("GET", "/v1/check?id=" .. ids[i] .. "&scenario=procurement", headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.0f %.3f %.3f %d %d %d %d %d %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout,
    e.status, e.connect, e.read, e.write, e.timeout))
end
