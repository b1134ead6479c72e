-- wrk script of the page benchmark (tests/bench/bench_pages.py):
--
--   wrk -t2 -c16 -d5s -s tests/bench/sessions.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- REQUESTS_FILE holds one request per line: the path, then tab-separated "Name: value" headers
-- (the Cookie header of one logged-in session, the User-Agent it logged in with). Each wrk
-- thread sends the lines round-robin, starting at a different line, so all sessions take turns.
-- done() prints one line for the runner to parse, with wrk's own count of 4xx/5xx answers (a 429
-- or an error page would make the figures worthless):
--
--   wrk-result requests=N duration_us=N p50_us=X p99_us=X failed=N statuses=-
--              connect_errors=N read_errors=N write_errors=N timeouts=N
--
-- There is no response() function on purpose: with one, wrk hands every answer's headers and
-- body to Lua – copying a 45 kB module page into a Lua string per answer, on the same two cores
-- as the servers, which made big pages look slower than they are served. A redirect (a session
-- that lost its login) is caught by the runner instead, which asks every session once more after
-- each run: a login does not come back by itself.

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
end

function request()
   position = position % #lines + 1
   return lines[position]
end

function done(summary, latency, _)
   local errors = summary.errors
   io.write(string.format(
      "wrk-result requests=%d duration_us=%d p50_us=%.1f p99_us=%.1f failed=%d statuses=- " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors.status,
      errors.connect, errors.read, errors.write, errors.timeout))
end
