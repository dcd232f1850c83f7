-- The wrk script of the load harnesses (http_load.sh, compare.sh, reload_load.sh,
-- trust_cost.sh):
--
--   wrk ... -s benches/support/check.lua URL -- IDS_FILE [TOKEN]
--
-- Sends GET /v1/check for each identifier of IDS_FILE in turn (scenario procurement), to
-- credgate and to the bare hyper "hello" server alike: hello ignores the path and answers
-- its fixed body. Both servers must get the same requests, because wrk shares the two cores
-- with the server it drives and spends more on these requests than on a constant "GET /"
-- (3.5-4 us more a request on 2026-11-29; benches/RESULTS.md, "Session 11"). TOKEN, when
-- given, goes as a Bearer header. At the end one line:
--
--   RESULT requests req/s p50_ms p99_ms errors status connect read write timeout
--
-- where errors is the sum of the five kinds wrk counts (status = non-2xx/3xx answers).
--
-- IDS_FILE holds one 18-character identifier per line. It is kept as one string and each
-- request cuts its identifier out of it. wrk runs each thread's init in its main thread,
-- one thread after the other, starts each thread as soon as its own init is done, and
-- starts its clock only after the last. A table of 1.38M Lua strings took about a second a
-- thread to make, so the first thread's requests during the second's init were counted
-- without their time; and wrk spent about 4 us more a request with that table than with
-- the one string.
local data, n, i, headers = nil, 0, 0, nil

init = function(args)
  local f = assert(io.open(args[1], "rb"))
  data = f:read("*a")
  f:close()
  if #data == 0 or #data % 19 ~= 0 then
    error(args[1] .. ": expected lines of exactly 18 characters, found " .. #data .. " bytes")
  end
  n = #data / 19
  if args[2] then headers = { ["Authorization"] = "Bearer " .. args[2] } end
end

request = function()
  local at = i * 19 + 1
  i = (i + 1) % n
  return wrk.format("GET", "/v1/check?id=" .. data:sub(at, at + 17) .. "&scenario=procurement", headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.0f %.3f %.3f %d %d %d %d %d %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout,
    e.status, e.connect, e.read, e.write, e.timeout))
end
