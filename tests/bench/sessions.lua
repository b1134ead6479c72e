-- wrk script of the page benchmark (tests/bench/bench_pages.py):
--
--   wrk -t2 -c16 -d5s -s tests/bench/sessions.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- REQUESTS_FILE holds one request per line: the path, then tab-separated "Name: value" headers
-- (the Cookie header of one logged-in session, the User-Agent it logged in with). Each wrk
-- thread sends the lines round-robin, starting at a different line, so all sessions take turns.
-- Every answer that is not 2xx is counted by status (a redirect to /login or a 429 would make
-- the figures worthless), and done() prints one line for the runner to parse:
--
--   wrk-result requests=N duration_us=N p50_us=X p99_us=X failed=N statuses=302:4,429:1
--              connect_errors=N read_errors=N write_errors=N timeouts=N

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local function parse(line)
   local fields = {}
   for field in line:gmatch("[^\t]+") do
      table.insert(fields, field)
   end
   local headers = {}
   for i = 2, #fields do
      local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
      assert(name, "not a header: " .. fields[i])
      headers[name] = value
   end
   return wrk.format("GET", fields[1], headers)
end

function init(args)
   local file = assert(io.open(assert(args[1], "no requests file given"), "r"))
   lines = {}
   for line in file:lines() do
      if line ~= "" then
         table.insert(lines, parse(line))
      end
   end
   file:close()
   assert(#lines > 0, "no requests in " .. args[1])
   position = id % #lines
   failed = 0
   statuses = {}
end

function request()
   position = position % #lines + 1
   return lines[position]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      failed = failed + 1
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function done(summary, latency, _)
   local failures, by_status = 0, {}
   for _, thread in ipairs(threads) do
      failures = failures + thread:get("failed")
      for status, count in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + count
      end
   end
   local listed = {}
   for status, count in pairs(by_status) do
      table.insert(listed, status .. ":" .. count)
   end
   table.sort(listed)
   local errors = summary.errors
   io.write(string.format(
      "wrk-result requests=%d duration_us=%d p50_us=%.1f p99_us=%.1f failed=%d statuses=%s " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failures,
      #listed > 0 and table.concat(listed, ",") or "-",
      errors.connect, errors.read, errors.write, errors.timeout))
end
