-- wrk script for bench_serve.py: GET each line of $WRK_PATHS in turn ("PATH" or "PATH<TAB>ETAG": then sent as
-- If-None-Match), and at the end print the latency percentiles and the count of each status as one JSON line.
local lines = {}
for line in io.lines(os.getenv("WRK_PATHS")) do lines[#lines + 1] = line end
local threads = {}
local n = 0

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  n = offset or 0
end

function request()
  n = n + 1
  local line = lines[(n % #lines) + 1]
  local path, tag = line:match("^([^\t]+)\t?(.*)$")
  local headers = {}
  if tag ~= nil and tag ~= "" then headers["If-None-Match"] = tag end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do parts[#parts + 1] = string.format('"%s": %d', status, count) end
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "p50": %.3f, "p95": %.3f, "p99": %.3f, ' ..
    '"max": %.3f, "errors": %d, "statuses": {%s}}\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(parts, ", ")))
end
