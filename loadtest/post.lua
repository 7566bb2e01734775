-- wrk script: POST chat request bodies read from a file (one JSON body a line), in turn.
-- Arguments after `--`: BODIES_FILE STREAM(0|1) MAX_REQUESTS_PER_THREAD(0: no limit).
-- An answer counts as bad when its status is not 200, or when a stream lacks `data: [DONE]`.
-- done() prints one line, `LOADTEST {json}`, that loadtest/drive.py reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   requests = {}
   for line in file:lines() do
      if #line > 0 then
         requests[#requests + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, line)
      end
   end
   file:close()
   stream = args[2] == "1"
   limit = tonumber(args[3]) or 0
   index = 0
   answered = 0
   bad = 0
end

function request()
   index = index % #requests + 1
   return requests[index]
end

function response(status, headers, body)
   answered = answered + 1
   if status ~= 200 then
      bad = bad + 1
   elseif stream and not string.find(body, "data: [DONE]", -64, true) then
      bad = bad + 1
   end
   if limit > 0 and answered >= limit then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local bad_total = 0
   for _, thread in ipairs(threads) do
      bad_total = bad_total + (thread:get("bad") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'LOADTEST {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"bad":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, bad_total,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
