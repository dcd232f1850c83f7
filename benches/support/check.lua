-- The wrk script of the load harnesses (http_load.sh, compare.sh, reload_load.sh):
--
--   wrk ... -s benches/support/check.lua URL -- IDS_FILE [check|hello] [TOKEN]
--
-- `check` (the default) sends GET /v1/check for each identifier of IDS_FILE in turn
-- (scenario procurement); `hello` sends GET / and does the same Lua work per request, so
-- the bare server is driven by an equally busy client. TOKEN, when given, goes as a Bearer
-- header. At the end one line:
--
--   RESULT requests req/s p50_ms p99_ms errors status connect read write timeout
--
-- where errors is the sum of the five kinds wrk counts (status = non-2xx/3xx answers).
local ids, i, hello, headers = {}, 0, false, nil

init = function(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  hello = args[2] == "hello"
  if args[3] then headers = { ["Authorization"] = "Bearer " .. args[3] } end
end

request = function()
  i = i % #ids + 1
  if hello then return wrk.format("GET", "/", headers) end
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
