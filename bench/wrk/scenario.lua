-- wrk script for bench/run.sh. Configured through the environment:
--   BENCH_SCENARIO  get | list | post (business partners);
--                   opp-get | opp-list | opp-red | opp-post | opp-stage (opportunities)
--   BENCH_TOKEN     bearer token sent with every request
--   BENCH_IDS_FILE  (get, opp-get, opp-stage) file with one id per line; each request picks one
--                   at random
--   BENCH_LIST_PATH (list, opp-list, opp-red) path and query of the list request
--   BENCH_OPP_BODY  (opp-post) JSON body of the new opportunity; %d is replaced by a counter
--   BENCH_STAGES    (opp-stage) comma-separated open stage ids; each move picks one at random
-- done() prints one parseable line:
--   RESULT requests=<n> duration_s=<s> rps=<r> p50_ms=.. p99_ms=.. p999_ms=.. max_ms=..
--          mean_ms=.. non2xx=<n> connect=<n> read=<n> write=<n> timeout=<n>

local scenario = os.getenv("BENCH_SCENARIO") or "get"
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local ids = {}
local counter = 0

local stages = {}

if scenario == "get" or scenario == "opp-get" or scenario == "opp-stage" then
   local path = os.getenv("BENCH_IDS_FILE") or error("BENCH_IDS_FILE is not set")
   local file = io.open(path, "r") or error("cannot open " .. path)
   for line in file:lines() do
      if #line > 0 then ids[#ids + 1] = line end
   end
   file:close()
   if #ids == 0 then error("no ids in " .. path) end
   if scenario == "opp-stage" then
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/json"
      for id in string.gmatch(os.getenv("BENCH_STAGES") or error("BENCH_STAGES is not set"), "[^,]+") do
         stages[#stages + 1] = id
      end
   end
elseif scenario == "list" or scenario == "opp-list" or scenario == "opp-red" then
   wrk.path = os.getenv("BENCH_LIST_PATH") or error("BENCH_LIST_PATH is not set")
elseif scenario == "post" or scenario == "opp-post" then
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
else
   error("unknown BENCH_SCENARIO " .. scenario)
end

function init(args)
   -- Different random sequences per thread and per run.
   math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end

if scenario == "get" then
   function request()
      return wrk.format(nil, "/api/v1/business-partners/" .. ids[math.random(#ids)])
   end
elseif scenario == "opp-get" then
   function request()
      return wrk.format(nil, "/api/v1/opportunities/" .. ids[math.random(#ids)])
   end
elseif scenario == "post" then
   function request()
      counter = counter + 1
      local body = string.format(
         '{"kind":"lead","name":"Bench %d","city":"Berlin","country":"DE"}', counter)
      return wrk.format("POST", "/api/v1/business-partners", nil, body)
   end
elseif scenario == "opp-post" then
   local template = os.getenv("BENCH_OPP_BODY") or error("BENCH_OPP_BODY is not set")
   function request()
      counter = counter + 1
      return wrk.format("POST", "/api/v1/opportunities", nil, string.format(template, counter))
   end
elseif scenario == "opp-stage" then
   function request()
      local body = string.format('{"stage_id":"%s"}', stages[math.random(#stages)])
      return wrk.format("POST", "/api/v1/opportunities/" .. ids[math.random(#ids)] .. "/stage", nil, body)
   end
end

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f mean_ms=%.3f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000,
      e.status, e.connect, e.read, e.write, e.timeout))
end
